//! SSR throughput: C keep-alive connections asking for one page kind as fast as the shop
//! answers, for a few seconds, beside the constant handler (`GET /page`, a small fixed HTML
//! body) driven by the same client in the same run.

use super::pages::{pick_product, Urls};
use crate::load::{self, Fire, Latency, Outcome};
use anyhow::Result;
use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One page kind under load.
#[derive(Debug, Clone)]
pub struct Rate {
    pub name: String,
    pub url: String,
    pub rate: f64,
    pub latency: Latency,
    pub requests: usize,
    pub errors: usize,
    pub odd: Vec<String>,
    /// The share of the constant handler's rate this kind must reach.
    pub target: Option<f64>,
}

/// `conns` connections sending `urls(i)` until `secs` have passed.
pub async fn fire(
    addr: SocketAddr,
    conns: usize,
    secs: f64,
    urls: Urls,
) -> Result<(f64, Latency, usize, usize, Vec<String>)> {
    let at = Instant::now() + Duration::from_millis(200 + conns as u64);
    let until = at + Duration::from_secs_f64(secs);
    let make: load::MakeRequest = Arc::new(move |i, addr| {
        (Instant::now() < until).then(|| {
            Request::get(urls(i as u64))
                .header("host", addr.to_string())
                .header("accept", "text/html")
                .body(Full::new(Bytes::new()))
                .expect("request")
        })
    });
    let fired = load::fire(Fire {
        addrs: vec![addr],
        conns,
        at,
        connect_at_start: false,
        make,
        classify: Arc::new(|s, _| if s.as_u16() == 200 { Outcome::Accepted } else { Outcome::Error }),
    })
    .await?;
    let s = &fired.samples;
    let rate = s.len() as f64 / fired.elapsed.as_secs_f64().max(1e-9);
    Ok((rate, Latency::of(s), s.len(), load::count(s, Outcome::Error), fired.odd))
}

/// The constant handler: the best of `passes` (a noisy neighbour must not make the shop look
/// better than it is).
pub async fn baseline(addr: SocketAddr, conns: usize, secs: f64, passes: usize) -> Result<(f64, Latency)> {
    let mut best: Option<(f64, Latency)> = None;
    for _ in 0..passes.max(1) {
        let (rate, latency, _, errors, odd) =
            fire(addr, conns, secs, Arc::new(|_: u64| "/page".to_string())).await?;
        anyhow::ensure!(errors == 0, "the constant handler failed: {odd:?}");
        if best.is_none_or(|b| rate > b.0) {
            best = Some((rate, latency));
        }
    }
    Ok(best.expect("one pass"))
}

/// The shop's product page (ids varying), home, a search and the sale page, one after another.
pub async fn shop(
    addr: SocketAddr,
    conns: usize,
    secs: f64,
    ids: Arc<Vec<i64>>,
    sale_id: i64,
) -> Result<Vec<Rate>> {
    fn urls(f: impl Fn(u64) -> String + Send + Sync + 'static) -> Urls {
        Arc::new(f)
    }
    let kinds: Vec<(&str, String, Urls, Option<f64>)> = vec![
        (
            "product",
            "/products/<id>".into(),
            urls(move |i| format!("/products/{}", pick_product(&ids, 7_000_000 + i).0)),
            Some(0.10),
        ),
        ("home", "/".into(), urls(|_| "/".to_string()), Some(0.05)),
        ("search", "/products?q=lamp".into(), urls(|_| "/products?q=lamp".to_string()), Some(0.05)),
        ("sale", format!("/sales/{sale_id}"), urls(move |_| format!("/sales/{sale_id}")), None),
    ];
    let mut out = Vec::new();
    for (name, url, urls, target) in kinds {
        let (rate, latency, requests, errors, odd) = fire(addr, conns, secs, urls).await?;
        println!(
            "    {name:<8} C={conns}: {rate:>7.0}/s p50 {:>6.1} p99 {:>6.1} ms, {requests} requests, {errors} errors",
            latency.p50, latency.p99
        );
        out.push(Rate { name: name.into(), url, rate, latency, requests, errors, odd, target });
    }
    Ok(out)
}
