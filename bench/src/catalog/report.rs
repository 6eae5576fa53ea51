//! The catalog section of `docs/BENCHMARKS.md`, kept between two markers so the drill and the
//! catalog benchmark each rewrite only their own part of the file.

use super::pages::Measured;
use super::tput::Rate;
use crate::load::Latency;
use std::fmt::Write as _;
use std::time::Duration;

pub const BEGIN: &str = crate::sections::CATALOG.begin;
pub const END: &str = crate::sections::CATALOG.end;
/// Warm p95 at or above this is flagged.
pub const SLOW_MS: f64 = 20.0;

/// One mode's run.
pub struct ModeRun {
    pub label: String,
    pub products: usize,
    pub generation: Duration,
    pub insert: Duration,
    pub analyze: Duration,
    /// What ran after the inserts (`ANALYZE`, `VACUUM ANALYZE`).
    pub after: &'static str,
    pub db_mib: f64,
    pub restart: Duration,
    pub pages: Vec<Measured>,
    pub rates: Vec<Rate>,
}

#[derive(Default)]
pub struct CatalogReport {
    pub command: String,
    pub machine: String,
    pub conns: usize,
    pub secs: f64,
    pub baseline: Option<(f64, Latency)>,
    pub runs: Vec<ModeRun>,
    pub failures: Vec<String>,
}

pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut groups = Vec::new();
    let mut end = s.len();
    while end > 3 {
        groups.push(&s[end - 3..end]);
        end -= 3;
    }
    groups.push(&s[..end]);
    groups.reverse();
    groups.join(",")
}

fn human(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 60.0 {
        format!("{} min {:02.0} s", (s / 60.0).floor(), s % 60.0)
    } else {
        format!("{s:.1} s")
    }
}

impl CatalogReport {
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "{BEGIN}\n## Catalog: every page kind on a large catalog\n");
        let _ = writeln!(
            s,
            "Written by `shop-bench catalog` (`scripts/bench catalog`, issue 11). Per mode: a fresh shop, a \
             generated catalog written straight into its database (multi-row inserts in big transactions: \
             10,000 products each on SQLite, 1,000 on PostgreSQL; then `ANALYZE` and `PRAGMA optimize` on SQLite, \
             `VACUUM ANALYZE` on PostgreSQL), the shop processes restarted with the catalog cache off \
             (`SHOP_CATALOG_CACHE_MS=0`: the table measures the queries, not the cache), then every page kind \
             requested over HTTP as a browser without cookies would (full SSR HTML, one keep-alive connection, one request at a time). \
             **Cold** is the first request of each kind after the restart, in the order of the table (empty \
             process caches and connection pools; the operating system's page cache and PostgreSQL's shared \
             buffers are not dropped). **Warm** follows a warm-up pass. Every answer must be 200 and list the \
             right products (the rare word's products, the accented names, none for no match, full pages). \
             ⚠ marks a warm p95 of {SLOW_MS:.0} ms or more.\n"
        );
        let _ = writeln!(s, "- Command: `{}`", self.command);
        let _ = writeln!(s, "- Machine: {}", self.machine);
        if let Some((rate, l)) = self.baseline {
            let _ = writeln!(
                s,
                "- Baseline: an axum handler answering `GET /page` with a small constant HTML body, in its own \
                 process, same client, C={}, {:.0} s, best of three: **{rate:.0} req/s** (p50 {:.2} ms, p99 {:.2} ms)",
                self.conns, self.secs, l.p50, l.p99
            );
        }
        for run in &self.runs {
            self.mode(&mut s, run);
        }
        if !self.failures.is_empty() {
            let _ = writeln!(s, "\n### Failed checks\n");
            for f in &self.failures {
                let _ = writeln!(s, "- {f}");
            }
        }
        let _ = writeln!(s, "{END}");
        s
    }

    fn mode(&self, s: &mut String, run: &ModeRun) {
        let _ = writeln!(s, "\n### {}\n", run.label);
        let per_sec = run.products as f64 / run.insert.as_secs_f64().max(1e-9);
        let _ = writeln!(
            s,
            "{} products generated in **{}** (inserts {} at {}/s, {} {}); database {:.0} MiB; \
             restart {}.\n",
            thousands(run.products as u64),
            human(run.generation),
            human(run.insert),
            thousands(per_sec as u64),
            run.after,
            human(run.analyze),
            run.db_mib,
            human(run.restart),
        );
        let _ = writeln!(
            s,
            "| page kind | URL | cold ms | warm n | p50 ms | p95 ms | p99 ms | max ms | errors | |\n\
             |---|---|---:|---:|---:|---:|---:|---:|---:|---|"
        );
        for m in &run.pages {
            let l = m.latency;
            let flag = if l.p95 >= SLOW_MS { format!("⚠ p95 ≥ {SLOW_MS:.0} ms") } else { String::new() };
            let _ = writeln!(
                s,
                "| {} | `{}` | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {flag} |",
                m.name,
                m.url,
                m.cold_ms.map(|c| format!("{c:.1}")).unwrap_or_else(|| "-".into()),
                m.requests,
                l.p50,
                l.p95,
                l.p99,
                l.max,
                m.errors,
            );
        }
        let slow: Vec<&str> =
            run.pages.iter().filter(|m| m.latency.p95 >= SLOW_MS).map(|m| m.name.as_str()).collect();
        let _ = writeln!(
            s,
            "\nWarm p95 ≥ {SLOW_MS:.0} ms: {}.",
            if slow.is_empty() { "none".to_string() } else { slow.join(", ") }
        );
        let _ = writeln!(
            s,
            "\nThroughput, C={} keep-alive connections, {:.0} s per page, after a restart with the default \
             catalog cache (2 s): the product page asks for a different product each request (mostly \
             misses); home, the search (one text, repeated) and the sale page are served from the cache \
             once filled:\n",
            self.conns, self.secs
        );
        let _ = writeln!(
            s,
            "| page | URL | req/s | p50 ms | p99 ms | errors | % of constant | target |\n\
             |---|---|---:|---:|---:|---:|---:|---|"
        );
        if let Some((rate, l)) = self.baseline {
            let _ = writeln!(
                s,
                "| constant handler | `GET /page` | {rate:.0} | {:.2} | {:.2} | 0 | 100 % | |",
                l.p50, l.p99
            );
        }
        for r in &run.rates {
            let ratio = self.baseline.map(|(b, _)| r.rate / b);
            let target = match (r.target, ratio) {
                (Some(t), Some(x)) if x >= t => format!("≥ {:.0} %: met", t * 100.0),
                (Some(t), Some(_)) => format!("≥ {:.0} %: **missed**", t * 100.0),
                _ => String::new(),
            };
            let _ = writeln!(
                s,
                "| {} | `{}` | {:.0} | {:.1} | {:.1} | {} | {} | {target} |",
                r.name,
                r.url,
                r.rate,
                r.latency.p50,
                r.latency.p99,
                r.errors,
                ratio.map(|x| format!("{:.1} %", x * 100.0)).unwrap_or_else(|| "-".into()),
            );
        }
    }
}

/// `doc` with its catalog section replaced by `section` (appended when it has none).
pub fn splice(doc: &str, section: &str) -> String {
    crate::sections::splice(doc, crate::sections::CATALOG, section)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(999), "999");
    }
}
