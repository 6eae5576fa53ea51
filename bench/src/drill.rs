//! One drill: a fresh shop, N prepared buyers, a sale of S units opening now, every buyer's
//! `POST /api/buy` fired over C connections at the opening instant; then the invariants and
//! the time until the last accepted order is DELIVERED.

use crate::deploy::{Deployment, Mode, Services};
use crate::load::{self, Fire, Fired, Latency, Outcome};
use crate::prepare::{self, Buyer};
use anyhow::Result;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, StatusCode};
use shop_domain::Timestamp;
use shop_store::Store;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub buyers: usize,
    pub units: i64,
    pub limit: i64,
    /// Overload: every buyer opens a connection of their own at the opening instant.
    pub overload: bool,
}

impl Scenario {
    /// Requests sent: every buyer once, and one in ten buyers a second time with a new
    /// form (a second tab), which the per-buyer limit must refuse once they hold one.
    pub fn requests(&self) -> usize {
        self.buyers + self.buyers / 10
    }

    /// Units that must be sold.
    pub fn expected_sold(&self) -> i64 {
        self.units.min(self.buyers as i64 * self.limit)
    }
}

/// Everything one drill measured.
#[derive(Debug, Clone)]
pub struct Measured {
    pub mode: Mode,
    pub scenario: String,
    pub conns: usize,
    pub requests: usize,
    pub elapsed: Duration,
    pub latency: Latency,
    pub accepted: usize,
    pub sold_out: usize,
    pub over_limit: usize,
    pub not_open: usize,
    pub shed: usize,
    pub errors: usize,
    /// Share of answers that came within one second (overload).
    pub within_1s: f64,
    /// From the sale's opening to the last accepted order DELIVERED.
    pub delivered_after: Option<Duration>,
    /// Broken invariants (empty = all held).
    pub violations: Vec<String>,
    pub odd: Vec<String>,
    pub peak_rss_mib: f64,
}

impl Measured {
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Where the drill runs its shops.
pub struct Context {
    pub shop_bin: PathBuf,
    pub root: PathBuf,
    pub services: Services,
    pub runs: usize,
}

/// The request buyer `i` sends (the i-th request; past the buyers, a second tab).
pub fn buy_request(buyers: &[Buyer], sale: i64, i: usize, addr: std::net::SocketAddr) -> Request<Full<Bytes>> {
    let n = buyers.len();
    let (b, key) = if i < n {
        (&buyers[i], format!("drill-{i}-first"))
    } else {
        (&buyers[(i - n) * 7 % n], format!("drill-{i}-second"))
    };
    let body = format!(
        "sale_id={sale}&quantity=1&address_id={}&payment_method_id={}&idempotency_key={key}",
        b.address_id, b.card_id
    );
    Request::post("/api/buy")
        .header("host", addr.to_string())
        .header("origin", format!("http://{addr}"))
        .header("cookie", &b.cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(Full::new(Bytes::from(body)))
        .expect("a valid request")
}

pub fn classify(status: StatusCode, body: &[u8]) -> Outcome {
    let text = String::from_utf8_lossy(body);
    match status.as_u16() {
        200 if text.contains("order_id") => Outcome::Accepted,
        409 if text.contains("Sold out") => Outcome::SoldOut,
        409 if text.contains("limit") => Outcome::OverLimit,
        409 if text.contains("not started") || text.contains("has ended") => Outcome::NotOpen,
        429 | 503 => Outcome::Shed,
        _ => Outcome::Error,
    }
}

/// Runs one drill in a fresh shop.
pub async fn run(ctx: &mut Context, mode: Mode, scenario: &Scenario, conns: usize) -> Result<Measured> {
    ctx.runs += 1;
    let shop = Deployment::start(mode, &ctx.shop_bin, &ctx.root, ctx.runs, &ctx.services, &[]).await?;
    let result = drill(&shop, scenario, conns).await;
    let rss = shop.peak_rss_mib();
    shop.stop().await?;
    let mut out = result?;
    out.peak_rss_mib = rss;
    Ok(out)
}

async fn drill(shop: &Deployment, scenario: &Scenario, conns: usize) -> Result<Measured> {
    let store = Store::connect(&shop.database_url, 8).await?;
    let buyers = Arc::new(prepare::buyers(&store, scenario.buyers, 16).await?);
    // Opening time: far enough ahead for every connection to be open when it comes.
    let lead = Duration::from_millis(1_500 + conns as u64 * 2);
    let opens = Timestamp::from_millis(Timestamp::now().millis() + lead.as_millis() as i64);
    let sale = prepare::sale(&store, scenario.units, scenario.limit, opens).await?;
    let at = Instant::now()
        + Duration::from_millis((opens.millis() - Timestamp::now().millis()).max(0) as u64 + 2);
    let total = scenario.requests();
    let make_buyers = buyers.clone();
    let profile = crate::profile::start(shop, &format!("{}-{}-{conns}", shop.mode.name(), scenario.name));
    let fired: Fired = load::fire(Fire {
        addrs: shop.web.clone(),
        conns: if scenario.overload { total } else { conns },
        at,
        connect_at_start: scenario.overload,
        make: Arc::new(move |i, addr| (i < total).then(|| buy_request(&make_buyers, sale, i, addr))),
        classify: Arc::new(classify),
    })
    .await?;
    crate::profile::stop(profile);
    let s = &fired.samples;
    let mut out = Measured {
        mode: shop.mode,
        scenario: scenario.name.clone(),
        conns: if scenario.overload { total } else { conns },
        requests: s.len(),
        elapsed: fired.elapsed,
        latency: Latency::of(s),
        accepted: load::count(s, Outcome::Accepted),
        sold_out: load::count(s, Outcome::SoldOut),
        over_limit: load::count(s, Outcome::OverLimit),
        not_open: load::count(s, Outcome::NotOpen),
        shed: load::count(s, Outcome::Shed),
        errors: load::count(s, Outcome::Error),
        within_1s: s.iter().filter(|x| x.micros <= 1_000_000).count() as f64 / s.len().max(1) as f64,
        delivered_after: None,
        violations: Vec::new(),
        odd: fired.odd,
        peak_rss_mib: 0.0,
    };
    out.violations = crate::check::invariants(shop, &store, scenario, sale, &out).await?;
    out.delivered_after = crate::check::delivered(&store, sale, out.accepted as i64, opens).await?;
    if out.delivered_after.is_none() {
        out.violations.push("not every accepted order was DELIVERED within the time limit".into());
    } else {
        out.violations.extend(crate::check::after_delivery(&store, sale, out.accepted as i64).await?);
    }
    store.close().await;
    Ok(out)
}
