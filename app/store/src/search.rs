//! Catalog search at a million products: which index answers which query. `docs/catalog.md`
//! shows the measured plan of each shape.
//!
//! - No text, no tag: the sort index of `products` (`products_*_idx`), walked.
//! - A tag: the tag's rows carry their product's sort keys (`product_tags_*_idx`), walked;
//!   the count is `tag_counts`, kept by triggers.
//! - Text: the folded name (`name_key`). SQLite counts matches in its text index (trigram for
//!   3+ characters, word prefixes for 1–2); few matches are gathered and sorted, many are
//!   found by walking the sort index (dense matches fill a page in a few hundred rows).
//!   PostgreSQL's planner makes that choice itself from its statistics.
//! - Counts stop at [`count_limit`]: the page says "1,000+ products" ("480+" for a text,
//!   which shows 20 pages).
//! - A product whose whole name is the text comes first.

use crate::catalog::{summary_from_row, SUMMARY_COLUMNS};
use crate::sql::{fts5_phrase, like_escape};
use crate::{Backend, Result, Store};
use shop_domain::search::{search_key, NameMatch};
use shop_domain::catalog::MAX_TEXT_PAGE;
use shop_domain::{Page, ProductQuery, ProductSummary, Sort, PAGE_SIZE};
use sqlx::Row;

/// Counts go at least this far before they stop ("1,000+ products").
pub const COUNT_FLOOR: u32 = 1_000;
/// SQLite: matches counted in the text index before the plan is chosen; beyond this many,
/// walking the sort index is always the cheaper plan.
const MATCHES_PROBE: i64 = 20_000;

/// How far a page's count goes: past the pages a shopper can reach from this one. A text
/// search shows 20 pages, so it counts to 480 ("480+ products").
pub fn count_limit(query: &ProductQuery) -> u32 {
    if query.text.is_some() {
        TEXT_COUNT_LIMIT
    } else {
        COUNT_FLOOR.max(query.offset() + PAGE_SIZE * 10)
    }
}

/// The most a text search counts: every result it can show.
pub(crate) const TEXT_COUNT_LIMIT: u32 = MAX_TEXT_PAGE * PAGE_SIZE;

/// SQLite: gather every match from the text index and sort them, or walk the sort index (the
/// tag's, with a tag) and test each entry? Measured at a million products (docs/catalog.md):
/// a gathered match costs about 1.1 µs (its sort keys from `products_keys_idx`; 1 µs more to
/// check a tag), a walked entry about 0.25 µs (the key is in the index), and a walk reads
/// `(offset + page) × rows / matches` entries, assuming the tag does not change the density.
fn gather_is_cheaper(matches: i64, rows: i64, offset: i64, tagged: bool) -> bool {
    if matches >= MATCHES_PROBE {
        return false;
    }
    let walked = (offset + i64::from(PAGE_SIZE)) as f64 * rows.max(1) as f64 / matches.max(1) as f64;
    let per_match = if tagged { 2.1 } else { 1.1 };
    matches as f64 * per_match < walked * 0.25
}

fn product_order(sort: Sort) -> &'static str {
    match sort {
        Sort::Newest => "p.created_at DESC, p.id DESC",
        Sort::BestSelling => "p.sold_count DESC, p.id DESC",
        Sort::PriceAsc => "p.price ASC, p.id ASC",
        Sort::PriceDesc => "p.price DESC, p.id DESC",
    }
}

pub(crate) fn tag_order(sort: Sort) -> &'static str {
    match sort {
        Sort::Newest => "t.created_at DESC, t.product_id DESC",
        Sort::BestSelling => "t.sold_count DESC, t.product_id DESC",
        Sort::PriceAsc => "t.price ASC, t.product_id ASC",
        Sort::PriceDesc => "t.price DESC, t.product_id DESC",
    }
}

/// A text search, as SQL pieces for one backend. `$1` is the text, `$2` the tag when there is one.
struct TextFilter {
    /// SQLite only: ids of matches from the text index (unordered).
    index_ids: Option<String>,
    /// A condition on `p` that holds exactly for matches.
    condition: String,
    /// The value bound as `$1`.
    value: String,
}

fn text_filter(backend: Backend, m: &NameMatch) -> Option<TextFilter> {
    Some(match (backend, m) {
        (_, NameMatch::Nothing) => return None,
        (Backend::Sqlite, NameMatch::Substring(key)) => TextFilter {
            index_ids: Some("SELECT rowid FROM products_fts WHERE products_fts MATCH $1".into()),
            condition: "p.id IN (SELECT rowid FROM products_fts WHERE products_fts MATCH $1)".into(),
            value: fts5_phrase(key),
        },
        (Backend::Sqlite, NameMatch::WordPrefix(words)) => TextFilter {
            index_ids: Some("SELECT rowid FROM products_words WHERE products_words MATCH $1".into()),
            condition: "p.id IN (SELECT rowid FROM products_words WHERE products_words MATCH $1)".into(),
            value: words.iter().map(|w| format!("{}*", fts5_phrase(w))).collect::<Vec<_>>().join(" "),
        },
        (Backend::Postgres, NameMatch::Substring(key)) => TextFilter {
            index_ids: None,
            condition: "p.name_key LIKE $1 ESCAPE '\\'".into(),
            value: format!("%{}%", like_escape(key)),
        },
        // A 1–2 character key is one word (two words and a space are 3 characters). The GIN
        // index answers the tsquery when the planner gathers; the `LIKE` is the cheap test
        // when it walks a sort index (`to_tsvector` per row is 20x dearer).
        (Backend::Postgres, NameMatch::WordPrefix(words)) => TextFilter {
            index_ids: None,
            condition: "to_tsvector('simple', COALESCE(p.name_key, '')) @@ to_tsquery('simple', quote_literal($1) || ':*') \
                        AND (' ' || p.name_key) LIKE '% ' || $1 || '%'"
                .into(),
            // Letters and digits only: no LIKE wildcard, and quote_literal quotes it for the tsquery.
            value: words.join(" "),
        },
    })
}

/// SQLite's walk filter: the same matches as the text index, checked row by row.
fn sqlite_row_condition(m: &NameMatch) -> (String, Vec<String>) {
    match m {
        NameMatch::Substring(key) => {
            ("p.name_key LIKE $1 ESCAPE '\\'".into(), vec![format!("%{}%", like_escape(key))])
        }
        NameMatch::WordPrefix(words) => {
            let conds = (1..=words.len()).map(|i| format!("(' ' || p.name_key) LIKE ${i} ESCAPE '\\'"));
            (conds.collect::<Vec<_>>().join(" AND "), words.iter().map(|w| format!("% {}%", like_escape(w))).collect())
        }
        NameMatch::Nothing => ("0 = 1".into(), vec![]),
    }
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

fn bind_all<'q>(mut q: Query<'q>, values: &'q [String]) -> Query<'q> {
    for v in values {
        q = q.bind(v.as_str());
    }
    q
}

impl Store {
    /// One page of the catalog for a validated query.
    pub async fn search_products(&self, query: &ProductQuery) -> Result<Page<ProductSummary>> {
        self.catalog.get_or_load(&self.catalog.searches, query.clone(), self.find_products(query)).await
    }

    async fn find_products(&self, query: &ProductQuery) -> Result<Page<ProductSummary>> {
        let page = query.page.max(1);
        let offset = i64::from(query.offset());
        let limit = i64::from(count_limit(query));
        let Some(text) = &query.text else {
            let (ids, total, more) = match &query.tag {
                None => {
                    let total: i64 = sqlx::query_scalar(&format!(
                        "SELECT COUNT(*) FROM (SELECT 1 FROM products p WHERE p.archived_at IS NULL LIMIT {}) c",
                        limit + 1
                    ))
                    .fetch_one(&self.pool)
                    .await?;
                    (self.listing_ids(query.sort, offset, i64::from(PAGE_SIZE)).await?, total.min(limit), total > limit)
                }
                Some(tag) => {
                    let total: i64 = sqlx::query_scalar("SELECT products FROM tag_counts WHERE tag = $1")
                        .bind(tag)
                        .fetch_optional(&self.pool)
                        .await?
                        .unwrap_or(0);
                    let sql = format!(
                        "SELECT t.product_id FROM product_tags t WHERE t.tag = $1 AND t.listed = 1 \
                         ORDER BY {} LIMIT {PAGE_SIZE} OFFSET {offset}",
                        tag_order(query.sort)
                    );
                    let ids = sqlx::query_scalar(&sql).bind(tag).fetch_all(&self.pool).await?;
                    (ids, total, false)
                }
            };
            let items = self.summaries(&ids).await?;
            return Ok(Page { items, page, total_items: total.max(0) as u64, more });
        };

        let name = NameMatch::of(text);
        let Some(filter) = text_filter(self.backend, &name) else {
            return Ok(Page::exact(Vec::new(), page, 0));
        };
        let tag_cond = if query.tag.is_some() {
            " AND EXISTS (SELECT 1 FROM product_tags t WHERE t.product_id = p.id AND t.tag = $2)"
        } else {
            ""
        };
        let mut values = vec![filter.value.clone()];
        values.extend(query.tag.clone());

        // SQLite counts in its text index; PostgreSQL's walk counts as it goes (`search_pg.rs`).
        let (total, more) = if self.backend == Backend::Sqlite {
            let ids = filter.index_ids.as_deref().unwrap_or("SELECT id AS rowid FROM products WHERE 0 = 1");
            // With a tag, the matches of a common text are counted on the tag's rows (their
            // index carries the key); probing each text match for the tag costs ~2 µs a match.
            let dense = query.tag.is_some() && {
                let matches: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM ({ids} LIMIT 2000) c"))
                    .bind(filter.value.as_str())
                    .fetch_one(&self.pool)
                    .await?;
                matches >= 2000
            };
            let mut count_values = values.clone();
            let count_sql = if dense {
                let (cond, binds) = sqlite_row_condition(&name);
                count_values = binds;
                count_values.extend(query.tag.clone());
                format!(
                    "SELECT COUNT(*) FROM (SELECT 1 FROM product_tags t WHERE {} AND t.tag = ${} AND t.listed = 1 \
                     LIMIT {}) c",
                    cond.replace("p.name_key", "t.name_key"),
                    count_values.len(),
                    limit + 1
                )
            } else {
                format!(
                    "SELECT COUNT(*) FROM (SELECT 1 FROM ({ids}) m JOIN products p ON p.id = m.rowid \
                     WHERE p.archived_at IS NULL{tag_cond} LIMIT {}) c",
                    limit + 1
                )
            };
            let total: i64 = {
                let mut q = sqlx::query_scalar(&count_sql);
                for v in &count_values {
                    q = q.bind(v.as_str());
                }
                q.fetch_one(&self.pool).await?
            };
            let more = total > limit;
            let total = total.min(limit);
            (total, more)
        } else {
            (0, false)
        };

        // A product named exactly the text comes first, then the rest in the chosen order.
        let key = search_key(text);
        let exact_sql = format!(
            "SELECT p.id FROM products p WHERE p.name_key = $1 AND p.archived_at IS NULL{tag_cond} \
             ORDER BY {} LIMIT {PAGE_SIZE}",
            product_order(query.sort)
        );
        let exact: Vec<i64> = {
            let q = sqlx::query_scalar(&exact_sql).bind(key.as_str());
            let q = match &query.tag {
                Some(tag) => q.bind(tag.as_str()),
                None => q,
            };
            q.fetch_all(&self.pool).await?
        };
        let n_exact = exact.len() as i64;
        let mut ids: Vec<i64> = exact.into_iter().skip(offset as usize).collect();
        let rest_offset = (offset - n_exact).max(0);
        let rest_limit = i64::from(PAGE_SIZE) - ids.len() as i64;

        if self.backend == Backend::Postgres {
            let rest = self.pg_text_page(query, &name, &key, rest_offset, rest_limit.max(0)).await?;
            ids.extend(rest.ids);
            let items = self.summaries(&ids).await?;
            let total = if rest.more { rest.total } else { rest.total + n_exact };
            return Ok(Page { items, page, total_items: total.max(0) as u64, more: rest.more });
        }
        if rest_limit > 0 {
            let key_param = format!("${}", values.len() + 1);
            let order = product_order(query.sort);
            let walk = match &filter.index_ids {
                Some(ids) => {
                    let matches: i64 = sqlx::query_scalar(&format!(
                        "SELECT COUNT(*) FROM ({ids} LIMIT {MATCHES_PROBE}) c"
                    ))
                    .bind(filter.value.as_str())
                    .fetch_one(&self.pool)
                    .await?;
                    let rows: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM products")
                        .fetch_one(&self.pool)
                        .await?;
                    !gather_is_cheaper(matches, rows, rest_offset, query.tag.is_some())
                }
                None => false,
            };
            let (sql, binds) = match (&filter.index_ids, walk) {
                // SQLite, many matches: walk the sort index (or the tag's) and test each row.
                (Some(_), true) => {
                    let (cond, mut binds) = sqlite_row_condition(&name);
                    let key_param = format!("${}", binds.len() + 1);
                    binds.push(key.clone());
                    let sql = match &query.tag {
                        Some(tag) => {
                            let tag_param = format!("${}", binds.len() + 1);
                            binds.push(tag.clone());
                            let cond = cond.replace("p.name_key", "t.name_key");
                            format!(
                                "SELECT t.product_id FROM product_tags t WHERE {cond} AND t.name_key <> {key_param} \
                                 AND t.tag = {tag_param} AND t.listed = 1 \
                                 ORDER BY {} LIMIT {rest_limit} OFFSET {rest_offset}",
                                tag_order(query.sort)
                            )
                        }
                        None => format!(
                            "SELECT p.id FROM products p WHERE p.archived_at IS NULL AND {cond} \
                             AND p.name_key <> {key_param} ORDER BY {order} LIMIT {rest_limit} OFFSET {rest_offset}"
                        ),
                    };
                    (sql, binds)
                }
                (index, _) => {
                    let mut binds = values.clone();
                    binds.push(key.clone());
                    // SQLite's planner would read each match's row for its sort keys.
                    let hint = if index.is_some() { " INDEXED BY products_keys_idx" } else { "" };
                    let sql = format!(
                        "SELECT p.id FROM products p{hint} WHERE {} AND p.archived_at IS NULL{tag_cond} \
                         AND p.name_key <> {key_param} ORDER BY {order} LIMIT {rest_limit} OFFSET {rest_offset}",
                        filter.condition
                    );
                    (sql, binds)
                }
            };
            let rows = bind_all(sqlx::query(&sql), &binds).fetch_all(&self.pool).await?;
            for row in rows {
                ids.push(row.try_get(0)?);
            }
        }
        let items = self.summaries(&ids).await?;
        Ok(Page { items, page, total_items: total.max(0) as u64, more })
    }

    /// Ids of one page of every listed product in `sort` order.
    async fn listing_ids(&self, sort: Sort, offset: i64, limit: i64) -> Result<Vec<i64>> {
        let sql = format!(
            "SELECT p.id FROM products p WHERE p.archived_at IS NULL ORDER BY {} LIMIT {limit} OFFSET {offset}",
            product_order(sort)
        );
        Ok(sqlx::query_scalar(&sql).fetch_all(&self.pool).await?)
    }

    /// The cards for `ids`, in that order.
    async fn summaries(&self, ids: &[i64]) -> Result<Vec<ProductSummary>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let rows = sqlx::query(&format!("SELECT {SUMMARY_COLUMNS} FROM products p WHERE p.id IN ({list})"))
            .fetch_all(&self.pool)
            .await?;
        let mut items = rows.iter().map(summary_from_row).collect::<Result<Vec<_>>>()?;
        items.sort_by_key(|s| ids.iter().position(|id| *id == s.id));
        Ok(items)
    }

    /// The first `limit` products in an order, for home-page shelves (kept for a moment).
    pub async fn product_shelf(&self, sort: Sort, limit: u32) -> Result<Vec<ProductSummary>> {
        let load = async {
            let ids = self.listing_ids(sort, 0, i64::from(limit)).await?;
            self.summaries(&ids).await
        };
        self.catalog.get_or_load(&self.catalog.shelves, (sort, limit), load).await
    }

    /// The most used tags with their listed product counts, for browsing chips (kept for a
    /// moment).
    pub async fn popular_tags(&self, limit: u32) -> Result<Vec<(String, i64)>> {
        self.catalog.get_or_load(&self.catalog.tags, limit, self.load_popular_tags(limit)).await
    }

    async fn load_popular_tags(&self, limit: u32) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT tag, products FROM tag_counts WHERE products > 0 ORDER BY products DESC, tag LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((r.try_get("tag")?, r.try_get("products")?))).collect()
    }
}
