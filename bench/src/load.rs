//! The load client: C HTTP/1.1 keep-alive connections, each a browser tab sending one request
//! after another; every answer is timed and sorted into what the buyer saw.

use anyhow::Result;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// What one request came to, as the buyer saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Accepted,
    SoldOut,
    OverLimit,
    /// Refused because the sale was not open (would mean the clocks disagree).
    NotOpen,
    /// 503 or 429 with `Retry-After`: shed by overload protection.
    Shed,
    /// Anything else: a 5xx, a connection error, an unexpected status.
    Error,
}

#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub micros: u64,
    pub outcome: Outcome,
}

/// Builds request `i` for a connection to `addr`; `None` when there is no more work.
pub type MakeRequest = Arc<dyn Fn(usize, SocketAddr) -> Option<Request<Full<Bytes>>> + Send + Sync>;
/// Reads an answer.
pub type Classify = Arc<dyn Fn(StatusCode, &[u8]) -> Outcome + Send + Sync>;

pub struct Fire {
    pub addrs: Vec<SocketAddr>,
    pub conns: usize,
    /// When to send the first request (connections are opened before it).
    pub at: Instant,
    /// Overload: each connection is opened at `at` (its time counts) and sends one request.
    pub connect_at_start: bool,
    pub make: MakeRequest,
    pub classify: Classify,
}

pub struct Fired {
    pub samples: Vec<Sample>,
    /// From `at` to the last answer.
    pub elapsed: Duration,
    /// A few unexpected answers, for the report.
    pub odd: Vec<String>,
}

pub async fn connect(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

async fn connect_retrying(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>> {
    let mut tries = 0;
    loop {
        match connect(addr).await {
            Ok(s) => return Ok(s),
            Err(e) if tries >= 50 => return Err(e),
            Err(_) => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

/// Sends every request `make` gives, over `conns` connections, and times each answer.
pub async fn fire(f: Fire) -> Result<Fired> {
    let next = Arc::new(AtomicUsize::new(0));
    let odd = Arc::new(Mutex::new(Vec::new()));
    let ready = Arc::new(tokio::sync::Barrier::new(f.conns + 1));
    let mut tasks = Vec::with_capacity(f.conns);
    for c in 0..f.conns {
        let addr = f.addrs[c % f.addrs.len()];
        let (next, odd, ready) = (next.clone(), odd.clone(), ready.clone());
        let (make, classify) = (f.make.clone(), f.classify.clone());
        let (at, late) = (f.at, f.connect_at_start);
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut sender = if late { None } else { connect_retrying(addr).await.ok() };
            ready.wait().await;
            tokio::time::sleep_until(at.into()).await;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(req) = make(i, addr) else { break };
                let t0 = Instant::now();
                if sender.is_none() {
                    sender = connect(addr).await.ok();
                }
                let outcome = match sender.as_mut() {
                    None => Outcome::Error,
                    Some(s) => match send(s, req).await {
                        Ok((status, body)) => {
                            let o = classify(status, &body);
                            if o == Outcome::Error {
                                let mut odd = odd.lock().unwrap();
                                if odd.len() < 5 {
                                    odd.push(format!(
                                        "{status}: {}",
                                        String::from_utf8_lossy(&body[..body.len().min(200)])
                                    ));
                                }
                            }
                            o
                        }
                        Err(e) => {
                            let mut odd = odd.lock().unwrap();
                            if odd.len() < 5 {
                                odd.push(format!("connection: {e}"));
                            }
                            sender = None;
                            Outcome::Error
                        }
                    },
                };
                samples.push(Sample { micros: t0.elapsed().as_micros() as u64, outcome });
                if late {
                    break;
                }
            }
            samples
        }));
    }
    ready.wait().await;
    let at = f.at;
    let mut samples = Vec::new();
    for t in tasks {
        samples.extend(t.await?);
    }
    let elapsed = at.elapsed();
    let odd = std::mem::take(&mut *odd.lock().unwrap());
    Ok(Fired { samples, elapsed, odd })
}

pub async fn send(
    s: &mut SendRequest<Full<Bytes>>,
    req: Request<Full<Bytes>>,
) -> Result<(StatusCode, Bytes)> {
    s.ready().await?;
    let res = s.send_request(req).await?;
    let status = res.status();
    let body = res.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

/// A plain GET, for readiness checks: `true` on 200.
pub async fn get_ok(addr: SocketAddr, path: &str) -> bool {
    get(addr, path).await.is_some_and(|(s, _)| s == StatusCode::OK)
}

/// A plain GET on a fresh connection.
pub async fn get(addr: SocketAddr, path: &str) -> Option<(StatusCode, Bytes)> {
    let mut s = connect(addr).await.ok()?;
    let req = Request::get(path).header("host", addr.to_string()).body(Full::new(Bytes::new())).ok()?;
    send(&mut s, req).await.ok()
}

/// Latency figures of a set of samples, in milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Latency {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Latency {
    pub fn of(samples: &[Sample]) -> Latency {
        let mut v: Vec<u64> = samples.iter().map(|s| s.micros).collect();
        if v.is_empty() {
            return Latency::default();
        }
        v.sort_unstable();
        let at = |q: f64| v[((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1] as f64 / 1000.0;
        Latency { p50: at(0.50), p95: at(0.95), p99: at(0.99), max: *v.last().unwrap() as f64 / 1000.0 }
    }
}

/// How many samples had `outcome`.
pub fn count(samples: &[Sample], outcome: Outcome) -> usize {
    samples.iter().filter(|s| s.outcome == outcome).count()
}
