//! How common a searched text is, from PostgreSQL's own statistics: `ANALYZE` keeps, for the
//! word index `products_name_key_words_idx` (a `tsvector` of each folded name), the ~1,000
//! most common words with the share of products holding each (`pg_stats.most_common_elems`).
//! The text search reads them (cached for [`REFRESH`]) to choose its plan before touching an
//! index: a text well under a page per walk budget gathers at once instead of first walking
//! 50,000 sort-index entries in vain (docs/catalog.md).

use crate::{Result, Store};
use shop_domain::search::NameMatch;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long one reading of the statistics is used (autovacuum re-analyzes after ~10 % change).
const REFRESH: Duration = Duration::from_secs(600);
/// A word missing from the list counts as rare only when it is at least this long: a short
/// piece ("ab") may sit inside many rare words that together are common.
const TRUSTED_ABSENT_LEN: usize = 4;

/// The most common words and their shares of products; empty when nothing was analyzed yet.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct WordStats {
    words: Vec<(String, f64)>,
    /// The smallest listed share: every word not listed is rarer than about this.
    floor: f64,
}

impl WordStats {
    /// From `pg_stats`' two arrays as space-separated text: the words, and their shares followed
    /// by the minimum and maximum share (and, in newer releases, the null share).
    pub fn parse(words: &str, shares: &str) -> WordStats {
        let words: Vec<&str> = words.split(' ').filter(|w| !w.is_empty()).collect();
        let shares: Vec<f64> = shares.split(' ').filter_map(|s| s.parse().ok()).collect();
        if words.is_empty() || shares.len() < words.len() + 2 {
            return WordStats::default();
        }
        let floor = shares[words.len()];
        WordStats { words: words.into_iter().map(str::to_string).zip(shares).collect(), floor }
    }

    /// The estimated share of products whose name matches `name` (an upper bound for the
    /// listed words), or `None` when the statistics cannot tell.
    pub fn share(&self, name: &NameMatch) -> Option<f64> {
        if self.words.is_empty() {
            return None;
        }
        let (pieces, prefix): (Vec<&str>, bool) = match name {
            NameMatch::Substring(k) => (k.split(' ').filter(|w| !w.is_empty()).collect(), false),
            NameMatch::WordPrefix(words) => (words.iter().map(String::as_str).collect(), true),
            NameMatch::Nothing => return Some(0.0),
        };
        // Every piece must match: the rarest known piece bounds the whole.
        pieces
            .iter()
            .filter_map(|piece| {
                let listed: f64 = self
                    .words
                    .iter()
                    .filter(|(w, _)| if prefix { w.starts_with(piece) } else { w.contains(piece) })
                    .map(|(_, s)| s)
                    .sum();
                if listed > 0.0 {
                    Some(listed.min(1.0))
                } else if piece.chars().count() >= TRUSTED_ABSENT_LEN {
                    Some(self.floor)
                } else {
                    None
                }
            })
            .reduce(f64::min)
    }
}

/// The statistics as last read, and when.
#[derive(Debug, Default)]
pub(crate) struct WordStatsCell(Mutex<Option<(Instant, Arc<WordStats>)>>);

impl Store {
    /// PostgreSQL's word statistics, read at most every [`REFRESH`].
    pub(crate) async fn word_stats(&self) -> Result<Arc<WordStats>> {
        if let Some((at, stats)) = self.word_stats.0.lock().expect("word stats lock").as_ref() {
            if at.elapsed() < REFRESH {
                return Ok(stats.clone());
            }
        }
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT array_to_string(most_common_elems::text::text[], ' '), \
             array_to_string(most_common_elem_freqs, ' ') FROM pg_stats \
             WHERE schemaname = current_schema() AND tablename = 'products_name_key_words_idx' \
             AND most_common_elems IS NOT NULL LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        let stats = Arc::new(row.map(|(w, s)| WordStats::parse(&w, &s)).unwrap_or_default());
        *self.word_stats.0.lock().expect("word stats lock") = Some((Instant::now(), stats.clone()));
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: Option<f64>, want: f64) -> bool {
        got.is_some_and(|g| (g - want).abs() < 1e-9)
    }

    fn stats() -> WordStats {
        // Shares as pg_stats gives them, then the minimum and maximum.
        WordStats::parse("lamp desk creme cremerie oak", "0.025 0.02 0.006 0.001 0.3 0.001 0.3")
    }

    #[test]
    fn a_listed_word_counts_every_listed_word_holding_it() {
        assert!(close(stats().share(&NameMatch::Substring("creme".into())), 0.007));
        assert!(close(stats().share(&NameMatch::Substring("lamp".into())), 0.025));
    }

    #[test]
    fn the_rarest_piece_bounds_a_phrase() {
        assert!(close(stats().share(&NameMatch::Substring("oak lamp".into())), 0.025));
        assert!(close(stats().share(&NameMatch::Substring("zeppelin lamp".into())), 0.001));
    }

    #[test]
    fn a_long_unlisted_word_is_rarer_than_the_list_but_a_short_one_is_unknown() {
        assert!(close(stats().share(&NameMatch::Substring("zeppelin".into())), 0.001), "the floor");
        assert_eq!(stats().share(&NameMatch::Substring("zq".into())), None);
        assert!(close(stats().share(&NameMatch::WordPrefix(vec!["cr".into()])), 0.007), "creme, cremerie");
        assert_eq!(stats().share(&NameMatch::WordPrefix(vec!["re".into()])), None, "no word starts so");
    }

    #[test]
    fn without_statistics_nothing_is_known() {
        assert_eq!(WordStats::default().share(&NameMatch::Substring("lamp".into())), None);
        assert_eq!(WordStats::parse("lamp desk", "0.5"), WordStats::default(), "malformed");
    }
}
