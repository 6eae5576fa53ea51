//! Every page kind of the catalog, requested like a browser without cookies: one keep-alive
//! connection, one request after another, full SSR HTML. Cold: the first request of each kind
//! after a restart; warm: many, after a warm-up pass. Every answer must be 200 and pass its
//! kind's check (the right products, or none).

use super::gen::{Generator, Tally, ACCENTED, COMMON, RARE, TAG};
use super::html;
use crate::load::{self, Latency, Outcome, Sample};
use anyhow::Result;
use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1::SendRequest;
use hyper::Request;
use shop_domain::catalog::MAX_TEXT_PAGE;
use shop_domain::search::NameMatch;
use shop_domain::PAGE_SIZE;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the generation wrote, for building URLs and checking answers.
pub struct Facts {
    pub generator: Arc<Generator>,
    pub ids: Arc<Vec<i64>>,
    pub tally: Tally,
    pub rare_ids: Vec<i64>,
    pub sale_id: i64,
}

/// A product id for request `seed` (spread over the whole catalog) and its index.
pub fn pick_product(ids: &[i64], seed: u64) -> (i64, usize) {
    let i = (super::gen::Rng::new(seed ^ 0xA11C_E5ED).next_u64() % ids.len() as u64) as usize;
    (ids[i], i)
}

/// Builds the URL of request `seed`.
pub type Urls = Arc<dyn Fn(u64) -> String + Send + Sync>;
type Check = Box<dyn Fn(u64, &str) -> Result<(), String> + Send + Sync>;

pub struct Kind {
    pub name: String,
    /// The URL as the report shows it.
    pub url: String,
    pub urls: Urls,
    check: Check,
}

fn fixed(url: String) -> Urls {
    Arc::new(move |_: u64| url.clone())
}

/// A page deep in a listing: the nominal page on a million products, scaled down with the
/// catalog (at least page 2), and never past the last page.
fn deep(nominal: u64, products: u64, matching: u64) -> u64 {
    (nominal * products / 1_000_000).max(2).min(matching.div_ceil(u64::from(PAGE_SIZE)).max(1))
}

/// A listing page's check: how many cards it must show, the count it must state, and (with
/// text) that every listed name matches.
fn listing(total: u64, page: u64, text: Option<&str>) -> Check {
    let m = text.map(NameMatch::of);
    let offset = (page - 1) * u64::from(PAGE_SIZE);
    let cards = total.saturating_sub(offset).min(u64::from(PAGE_SIZE)) as usize;
    Box::new(move |_: u64, body: &str| {
        let found = html::cards(body);
        if found.len() != cards {
            return Err(format!("{} product cards, expected {cards} ({total} products match)", found.len()));
        }
        match html::result_count(body) {
            Some((n, false)) if n != total => {
                return Err(format!("says {n} products, the catalog has {total}"))
            }
            Some((n, true)) if n > total => {
                return Err(format!("says {n}+ products, the catalog has {total}"))
            }
            Some(_) => {}
            None => return Err("no result count".into()),
        }
        if let Some(m) = &m {
            if let Some((_, name)) = found.iter().find(|(_, name)| !html::name_matches(m, name)) {
                return Err(format!("lists “{name}”, which does not match"));
            }
        }
        Ok(())
    })
}

/// Every page kind, in the order they are measured.
pub fn kinds(f: &Facts) -> Vec<Kind> {
    let t = &f.tally;
    let n = t.total;
    let mut out = Vec::new();
    let mut add = |name: &str, url: String, check: Check| {
        out.push(Kind { name: name.into(), url: url.clone(), urls: fixed(url), check });
    };
    add(
        "home",
        "/".into(),
        Box::new(|_: u64, body: &str| {
            let cards = html::cards(body).len();
            if cards == 0 || !body.contains("class=\"sale-card\"") {
                return Err(format!(
                    "{cards} product cards, sale card shown: {}",
                    body.contains("sale-card")
                ));
            }
            Ok(())
        }),
    );
    for sort in ["newest", "best", "price_asc", "price_desc"] {
        add(&format!("listing {sort}"), format!("/products?sort={sort}"), listing(n, 1, None));
    }
    add("search common", format!("/products?q={COMMON}"), listing(t.common, 1, Some(COMMON)));
    let rare = f.rare_ids.clone();
    let rare_check = move |check: Check| -> Check {
        let rare = rare.clone();
        Box::new(move |seed: u64, body: &str| {
            check(seed, body)?;
            let mut shown: Vec<i64> = html::cards(body).iter().map(|c| c.0).collect();
            shown.sort_unstable();
            if rare.len() <= PAGE_SIZE as usize && shown != rare {
                return Err(format!("lists products {shown:?}, the rare ones are {rare:?}"));
            }
            Ok(())
        })
    };
    add("search rare", format!("/products?q={RARE}"), rare_check(listing(t.rare, 1, Some(RARE))));
    add("search 1 char", "/products?q=l".into(), listing(t.prefix_l, 1, Some("l")));
    add("search 2 chars", "/products?q=la".into(), listing(t.prefix_la, 1, Some("la")));
    let accented = listing(t.accented, 1, Some("creme"));
    add(
        "search accent",
        "/products?q=creme".into(),
        Box::new(move |seed: u64, body: &str| {
            accented(seed, body)?;
            match html::cards(body).iter().any(|(_, name)| name.contains(ACCENTED)) {
                true => Ok(()),
                false => Err(format!("no “{ACCENTED}” product listed")),
            }
        }),
    );
    add("search no match", "/products?q=zzzzqx".into(), listing(0, 1, Some("zzzzqx")));
    for sort in ["newest", "best", "price_asc", "price_desc"] {
        add(&format!("tag {sort}"), format!("/products?tag={TAG}&sort={sort}"), listing(t.tag, 1, None));
    }
    add("tag + common", format!("/products?tag={TAG}&q={COMMON}"), listing(t.tag_common, 1, Some(COMMON)));
    add(
        "tag + rare",
        format!("/products?tag={TAG}&q={RARE}"),
        rare_check(listing(t.tag_rare, 1, Some(RARE))),
    );
    let p = deep(500, n, n);
    add("deep listing", format!("/products?page={p}"), listing(n, p, None));
    let p = deep(200, n, t.tag);
    add("deep tag", format!("/products?tag={TAG}&page={p}"), listing(t.tag, p, None));
    // A text search shows at most MAX_TEXT_PAGE pages (beyond: 400): its deepest page.
    let p = deep(100, n, t.common).min(u64::from(MAX_TEXT_PAGE));
    add("deep search", format!("/products?q={COMMON}&page={p}"), listing(t.common, p, Some(COMMON)));

    let (generator, ids) = (f.generator.clone(), f.ids.clone());
    let url_ids = ids.clone();
    out.push(Kind {
        name: "product".into(),
        url: "/products/<id> (a different id each request)".into(),
        urls: Arc::new(move |seed: u64| format!("/products/{}", pick_product(&url_ids, seed).0)),
        check: Box::new(move |seed: u64, body: &str| {
            let name = generator.product(pick_product(&ids, seed).1).name;
            match body.contains("class=\"product-detail\"") && body.contains(&name) {
                true => Ok(()),
                false => Err(format!("no product page for “{name}”")),
            }
        }),
    });
    let url = format!("/sales/{}", f.sale_id);
    out.push(Kind {
        name: "sale".into(),
        url: url.clone(),
        urls: fixed(url),
        check: Box::new(|_: u64, body: &str| match body.contains("sale-detail") && body.contains(">Live<") {
            true => Ok(()),
            false => Err("no live sale page".into()),
        }),
    });
    out
}

/// One page kind's figures.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    pub name: String,
    pub url: String,
    pub cold_ms: Option<f64>,
    pub requests: usize,
    pub latency: Latency,
    pub errors: usize,
    /// Failed checks and unexpected answers (a few).
    pub problems: Vec<String>,
}

/// One keep-alive connection, requests one after another.
pub struct Browser {
    addr: SocketAddr,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Browser {
    pub fn new(addr: SocketAddr) -> Browser {
        Browser { addr, sender: None }
    }

    /// GET `path`; the time is from sending to the last byte of the body (connecting excluded).
    pub async fn get(&mut self, path: &str) -> Result<(u16, String, Duration)> {
        if self.sender.is_none() {
            self.sender = Some(load::connect(self.addr).await?);
        }
        let req = Request::get(path)
            .header("host", self.addr.to_string())
            .header("accept", "text/html")
            .body(Full::new(Bytes::new()))?;
        let t0 = Instant::now();
        match load::send(self.sender.as_mut().expect("connected"), req).await {
            Ok((status, body)) => {
                Ok((status.as_u16(), String::from_utf8_lossy(&body).into_owned(), t0.elapsed()))
            }
            Err(e) => {
                self.sender = None;
                Err(e)
            }
        }
    }
}

impl Kind {
    /// Requests `seed`'s URL and checks the answer; `Err` is a problem to report.
    async fn visit(&self, b: &mut Browser, seed: u64) -> (Duration, Result<(), String>) {
        let url = (self.urls)(seed);
        match b.get(&url).await {
            Err(e) => (Duration::ZERO, Err(format!("{url}: {e}"))),
            Ok((200, body, took)) => (took, (self.check)(seed, &body).map_err(|e| format!("{url}: {e}"))),
            Ok((status, body, took)) => {
                (took, Err(format!("{url}: status {status}: {}", body.chars().take(160).collect::<String>())))
            }
        }
    }
}

/// Seeds: the cold request, the warm-up, the measured requests never share a URL where the
/// kind varies its URL (product pages).
const COLD_SEED: u64 = 0;
const WARMUP_SEED: u64 = 1_000;
const WARM_SEED: u64 = 1_000_000;

/// The first request of every kind after a restart, in order, on one new connection.
pub async fn cold(addr: SocketAddr, kinds: &[Kind], out: &mut [Measured]) {
    let mut b = Browser::new(addr);
    for (k, m) in kinds.iter().zip(out.iter_mut()) {
        let (took, result) = k.visit(&mut b, COLD_SEED).await;
        m.cold_ms = Some(took.as_secs_f64() * 1000.0);
        if let Err(e) = result {
            m.errors += 1;
            m.problems.push(format!("cold: {e}"));
        }
    }
}

/// `per_kind` requests of every kind, unmeasured (caches, pools, plans).
pub async fn warm_up(addr: SocketAddr, kinds: &[Kind], per_kind: u64) {
    let mut b = Browser::new(addr);
    for k in kinds {
        for i in 0..per_kind {
            let _ = k.visit(&mut b, WARMUP_SEED + i).await;
        }
    }
}

/// Up to `requests` of each kind, one after another; a kind stops early after `budget` once
/// it has 10 samples.
pub async fn warm(addr: SocketAddr, kinds: &[Kind], requests: usize, budget: Duration, out: &mut [Measured]) {
    let mut b = Browser::new(addr);
    for (k, m) in kinds.iter().zip(out.iter_mut()) {
        let started = Instant::now();
        let mut samples = Vec::with_capacity(requests);
        for i in 0..requests {
            if i >= 10 && started.elapsed() > budget {
                break;
            }
            let (took, result) = k.visit(&mut b, WARM_SEED + i as u64).await;
            let outcome = match result {
                Ok(()) => Outcome::Accepted,
                Err(e) => {
                    if m.problems.len() < 3 {
                        m.problems.push(e);
                    }
                    Outcome::Error
                }
            };
            samples.push(Sample { micros: took.as_micros() as u64, outcome });
        }
        m.requests = samples.len();
        m.errors += load::count(&samples, Outcome::Error);
        m.latency = Latency::of(&samples);
    }
}

/// Empty figures for every kind.
pub fn blank(kinds: &[Kind]) -> Vec<Measured> {
    kinds
        .iter()
        .map(|k| Measured { name: k.name.clone(), url: k.url.clone(), ..Default::default() })
        .collect()
}
