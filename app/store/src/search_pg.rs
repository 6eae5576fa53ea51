//! PostgreSQL's text search: walk a sort index within a budget, else gather the matches.
//!
//! The planner's estimate for a trigram `LIKE` or a prefix tsquery is often far off (it walked
//! 95,000 rows for a 5,000-match phrase, and built a 75,000-row bitmap for "la"), so the store
//! decides, with two bounded plans (docs/catalog.md):
//!
//! 1. *walk*: the first [`WALK_BUDGET`] entries of the sort index (an index-only scan: the key
//!    is included), testing each; up to 481 matches in order. A common text fills it: that
//!    is the page and the "480+" count at once.
//! 2. *gather*: when the budget ran out first, matches are sparse (fewer than ~2 % of rows),
//!    so the GIN index's bitmap is small: every match, sorted, with its exact count.
//!
//! When PostgreSQL's word statistics (`word_stats.rs`) say the text is rarer than a walk
//! could fill a page with, and the walk could not see every candidate anyway, it gathers at
//! once.

use crate::search::tag_order;
use crate::sql::like_escape;
use crate::{Result, Store};
use shop_domain::search::NameMatch;
use shop_domain::{ProductQuery, Sort};
use sqlx::Row;

/// Sort-index entries a walk reads at most (about 10 ms index-only at a million products).
const WALK_BUDGET: i64 = 50_000;
/// Matches a walk collects: one more than a text search shows.
const WALK_MATCHES: i64 = crate::search::TEXT_COUNT_LIMIT as i64 + 1;
/// A text estimated in fewer than this share of products (by `word_stats`) gathers without
/// walking first: a walk of [`WALK_BUDGET`] entries expects to fill a page only above
/// 481 / 50,000 ≈ 0.96 %, so below that it would mostly be read in vain.
const GATHER_FIRST_BELOW: f64 = 0.008;

fn order(sort: Sort, alias: &str) -> String {
    let o = match sort {
        Sort::Newest => "created_at DESC, {a}.id DESC",
        Sort::BestSelling => "sold_count DESC, {a}.id DESC",
        Sort::PriceAsc => "price ASC, {a}.id ASC",
        Sort::PriceDesc => "price DESC, {a}.id DESC",
    };
    format!("{alias}.{}", o.replace("{a}", alias))
}

/// One page of a text search and its count: `(ids after the exact matches, total, more)`.
pub(crate) struct TextPage {
    pub ids: Vec<i64>,
    pub total: i64,
    pub more: bool,
}

impl Store {
    /// Matches of `name` other than the exact name `key`, `skip` then `take` of them.
    pub(crate) async fn pg_text_page(
        &self,
        query: &ProductQuery,
        name: &NameMatch,
        key: &str,
        skip: i64,
        take: i64,
    ) -> Result<TextPage> {
        let (row_test, index_test, value) = match name {
            NameMatch::Substring(k) => (
                "w.name_key LIKE $1 ESCAPE '\\'",
                "p.name_key LIKE $1 ESCAPE '\\'",
                format!("%{}%", like_escape(k)),
            ),
            NameMatch::WordPrefix(words) => (
                "(' ' || w.name_key) LIKE $1 ESCAPE '\\'",
                "to_tsvector('simple', COALESCE(p.name_key, '')) @@ to_tsquery('simple', quote_literal($4) || ':*') \
                 AND (' ' || p.name_key) LIKE $1 ESCAPE '\\'",
                format!("% {}%", like_escape(&words.join(" "))),
            ),
            NameMatch::Nothing => return Ok(TextPage { ids: vec![], total: 0, more: false }),
        };
        let word = match name {
            NameMatch::WordPrefix(words) => words.join(" "),
            _ => String::new(),
        };
        let tag = query.tag.clone().unwrap_or_default();
        let tag_test = |alias: &str| {
            if query.tag.is_some() {
                format!(" AND EXISTS (SELECT 1 FROM product_tags t WHERE t.product_id = {alias}.id AND t.tag = $3)")
            } else {
                " AND $3 = $3".to_string()
            }
        };
        // The walk reads the sort index, or with a tag the tag's index (both carry the key).
        // The subquery keeps the index order; the outer filter and LIMIT stop the scan early.
        let walk_source = if query.tag.is_some() {
            format!(
                "SELECT t.product_id AS id, t.name_key FROM product_tags t WHERE t.tag = $3 AND t.listed = 1 \
                 ORDER BY {} LIMIT {WALK_BUDGET}",
                tag_order(query.sort)
            )
        } else {
            format!(
                "SELECT p.id, p.name_key FROM products p WHERE p.archived_at IS NULL AND $3 = $3 \
                 ORDER BY {} LIMIT {WALK_BUDGET}",
                order(query.sort, "p")
            )
        };
        let walk_sql = format!(
            "SELECT w.id FROM ({walk_source}) w \
             WHERE {row_test} AND w.name_key <> $2 AND $4 = $4 LIMIT {WALK_MATCHES}"
        );
        // Does a walk see every candidate? A tag's listed products are counted exactly in
        // `tag_counts`; the whole catalog only by the planner's row count, which can lag
        // behind inserts (hence the margin).
        let walk_sees_all = match &query.tag {
            Some(tag) => sqlx::query_scalar::<_, i64>("SELECT products FROM tag_counts WHERE tag = $1")
                .bind(tag)
                .fetch_optional(&self.pool)
                .await?
                .is_none_or(|n| n <= WALK_BUDGET),
            None => sqlx::query_scalar::<_, f64>(
                "SELECT CAST(reltuples AS DOUBLE PRECISION) FROM pg_class WHERE relname = 'products'",
            )
            .fetch_optional(&self.pool)
            .await?
            .is_some_and(|n| (0.0..WALK_BUDGET as f64 * 0.9).contains(&n)),
        };
        // A text too rare to fill a page within the walk's budget gathers at once.
        let sparse = !walk_sees_all
            && self.word_stats().await?.share(name).is_some_and(|share| share < GATHER_FIRST_BELOW);
        if !sparse {
            let walked: Vec<i64> = sqlx::query_scalar(&walk_sql)
                .bind(value.as_str())
                .bind(key)
                .bind(tag.as_str())
                .bind(word.as_str())
                .fetch_all(&self.pool)
                .await?;
            let slice =
                |ids: &[i64]| ids.iter().copied().skip(skip as usize).take(take as usize).collect::<Vec<_>>();
            if walked.len() as i64 >= WALK_MATCHES {
                return Ok(TextPage { ids: slice(&walked), total: WALK_MATCHES - 1, more: true });
            }
            if walk_sees_all {
                return Ok(TextPage { ids: slice(&walked), total: walked.len() as i64, more: false });
            }
        }
        // Sparse: every match from the GIN index (planned apart from the order), sorted.
        let gather_sql = format!(
            "WITH m AS MATERIALIZED (SELECT p.id, p.created_at, p.sold_count, p.price FROM products p \
             WHERE {index_test} AND p.archived_at IS NULL AND p.name_key <> $2{} AND $4 = $4) \
             SELECT m.id, COUNT(*) OVER () AS total FROM m ORDER BY {} LIMIT {take} OFFSET {skip}",
            tag_test("p"),
            order(query.sort, "m"),
        );
        let rows = sqlx::query(&gather_sql)
            .bind(value.as_str())
            .bind(key)
            .bind(tag.as_str())
            .bind(word.as_str())
            .fetch_all(&self.pool)
            .await?;
        let total = match rows.first() {
            Some(r) => r.try_get::<i64, _>("total")?,
            // Past the last match: count them for the page's label.
            None if skip > 0 => {
                let count_sql = format!(
                    "SELECT COUNT(*) FROM products p WHERE {index_test} AND p.archived_at IS NULL \
                     AND p.name_key <> $2{} AND $4 = $4",
                    tag_test("p")
                );
                sqlx::query_scalar(&count_sql)
                    .bind(value.as_str())
                    .bind(key)
                    .bind(tag.as_str())
                    .bind(word.as_str())
                    .fetch_one(&self.pool)
                    .await?
            }
            None => 0,
        };
        let ids = rows.iter().map(|r| r.try_get::<i64, _>("id")).collect::<std::result::Result<_, _>>()?;
        Ok(TextPage { ids, total, more: false })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_name_the_alias() {
        assert_eq!(order(Sort::Newest, "m"), "m.created_at DESC, m.id DESC");
        assert_eq!(order(Sort::PriceAsc, "p"), "p.price ASC, p.id ASC");
    }
}
