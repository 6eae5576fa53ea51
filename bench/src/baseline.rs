//! The baselines every figure is divided by, measured in the same run on the same machine:
//! an axum handler that answers a constant (its own process, driven by the same client with
//! the same requests), and `redis-benchmark` of the gate's reserve script.

use anyhow::{bail, Context, Result};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What `GET /page` answers: a small constant HTML page, the floor of the catalog's SSR pages.
const PAGE: &str = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Flashmart</title>\
<link rel=\"stylesheet\" href=\"/style.css\"></head><body><header><a href=\"/\">Flashmart</a></header>\
<main><h1>All products</h1><ul class=\"product-grid\"><li><a class=\"product-card\" href=\"/products/1\">\
<span class=\"product-name\">Classic Oak Lamp X-0001</span><span class=\"price\">$12.00</span></a></li></ul>\
</main></body></html>";

/// `shop-bench baseline-server ADDR`: the constant handler, in a process of its own (as the
/// shop is), on a multi-threaded runtime (as the shop's).
pub async fn serve(addr: SocketAddr) -> Result<()> {
    use axum::routing::{get, post};
    let app = axum::Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/api/buy",
            post(|| async { ([("content-type", "application/json")], r#"{"order_id":1,"repeated":false}"#) }),
        )
        .route("/page", get(|| async { axum::response::Html(PAGE) }));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

/// The constant-handler server, running.
pub struct Constant {
    pub addr: SocketAddr,
    child: Child,
}

impl Constant {
    pub async fn start() -> Result<Constant> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let child = Command::new(std::env::current_exe()?)
            .arg("baseline-server")
            .arg(addr.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .context("starting the baseline server")?;
        let started = Instant::now();
        while !crate::load::get_ok(addr, "/healthz").await {
            if started.elapsed() > Duration::from_secs(10) {
                bail!("the baseline server did not answer within 10 s");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(Constant { addr, child })
    }
}

impl Drop for Constant {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reserve decisions per second that Redis itself sustains for the gate's script (64
/// clients, every call a fresh buyer, so every call is a sale), or `None` without
/// `redis-benchmark`/`redis-cli`.
pub fn redis_gate(redis_url: &str) -> Option<f64> {
    let (host, port) = host_port(redis_url)?;
    let cli = |args: &[&str]| -> Option<String> {
        let out = Command::new("redis-cli").args(["-h", &host, "-p", &port]).args(args).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let sha = cli(&["SCRIPT", "LOAD", shop::gate::RESERVE_LUA])?;
    let rules = format!("bench-baseline:{}:{{sale}}:rules", std::process::id());
    let held = rules.replace(":rules", ":held");
    let keys = rules.replace(":rules", ":keys");
    let tally = rules.replace(":rules", ":tally");
    cli(&["HSET", &rules, "available", "1000000000", "limit", "-1", "starts", "-1", "ends", "-1"])?;
    let out = Command::new("redis-benchmark")
        .args(["-h", &host, "-p", &port, "-c", "64", "-n", "200000", "-r", "100000000", "--csv"])
        .args(["EVALSHA", &sha, "4", &rules, &held, &keys, &tally, "buyer:__rand_int__", "key", "1", "0"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let _ = cli(&["DEL", &rules, &held, &keys, &tally]);
    let text = String::from_utf8_lossy(&out.stdout);
    // CSV: "test","rps",...; the last line holds the figures.
    let line = text.lines().rfind(|l| l.contains("EVALSHA"))?;
    line.split(',').nth(1)?.trim_matches('"').parse::<f64>().ok()
}

fn host_port(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("redis://")?;
    let rest = rest.rsplit('@').next()?;
    let hostport = rest.split('/').next()?;
    match hostport.rsplit_once(':') {
        Some((h, p)) => Some((h.to_string(), p.to_string())),
        None => Some((hostport.to_string(), "6379".to_string())),
    }
}
