//! What an operator relies on: health and readiness, metrics, request ids, compression,
//! seeding, configuration errors and graceful shutdown of the real binary.

mod common;

use common::{Db, Options, TestApp};
use reqwest::StatusCode;
use shop_domain::Timestamp;
use shop_store::SeedReport;
use std::process::{Command, Stdio};

on_both_databases!(false =>
    health_and_readiness_follow_the_database,
    metrics_count_requests_per_route,
    responses_carry_request_id_and_security_headers,
);

on_both_databases!(true =>
    demo_seed_fills_the_store_once,
);

async fn health_and_readiness_follow_the_database(app: &TestApp) {
    assert_eq!(app.get("/healthz").await, (StatusCode::OK, "ok".to_string()));
    assert_eq!(app.get("/readyz").await, (StatusCode::OK, "ready".to_string()));
    app.store().close().await;
    let (status, body) = app.get("/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body, "database unreachable");
    assert_eq!(app.get("/healthz").await.0, StatusCode::OK, "the process is still up");
}

async fn metrics_count_requests_per_route(app: &TestApp) {
    app.get("/products/12345").await;
    app.get("/products?q=x").await;
    // Unknown paths share one label: a stranger cannot grow the process by inventing paths.
    let junk = format!("/no-such-page-{}", Timestamp::now().millis());
    assert_eq!(app.get(&junk).await.0, StatusCode::NOT_FOUND);
    // Not on the shop's public address; on the metrics listener (loopback by default).
    assert_eq!(app.get("/metrics").await.0, StatusCode::NOT_FOUND);
    let res = app.client.get(app.metrics_url()).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body = res.text().await.unwrap();
    assert!(!body.contains(&junk), "a raw path became a label:\n{body}");
    assert!(body.contains("endpoint=\"unmatched\""), "unknown paths are counted as unmatched:\n{body}");
    let line = body
        .lines()
        .find(|l| {
            l.starts_with("axum_http_requests_total")
                && l.contains("endpoint=\"/products/{id}\"")
                && l.contains("status=\"404\"")
        })
        .unwrap_or_else(|| panic!("no per-route counter for /products/{{id}} in:\n{body}"));
    let count: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(count >= 1.0);
    assert!(body.contains("axum_http_requests_duration_seconds"), "latency histogram exported");
}

async fn responses_carry_request_id_and_security_headers(app: &TestApp) {
    let res = app.client.get(app.url("/products")).send().await.unwrap();
    let id = res.headers().get("x-request-id").expect("request id").to_str().unwrap().to_string();
    assert_eq!(id.len(), 36, "a uuid: {id}");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert_eq!(res.headers()["x-frame-options"], "DENY");
    let csp = res.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(res.headers()["cache-control"], "private, no-cache", "pages greet the visitor by name");
    // A caller's own request id is kept, so logs can be joined across services.
    let res = app.client.get(app.url("/healthz")).header("x-request-id", "abc-123").send().await.unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123");
    // Pages are compressed for clients that accept it.
    let raw =
        reqwest::Client::builder().no_gzip().timeout(std::time::Duration::from_secs(60)).build().unwrap();
    let res = raw.get(app.url("/products")).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(res.headers()["content-encoding"], "gzip");
    let compressed = res.bytes().await.unwrap();
    assert_eq!(&compressed[..2], &[0x1f, 0x8b], "a gzip stream");
    let css = raw.get(app.url("/style/main.css")).send().await.unwrap();
    assert_eq!(css.status(), StatusCode::OK);
    assert!(css.headers()["content-type"].to_str().unwrap().starts_with("text/css"));
    assert!(!css.bytes().await.unwrap().is_empty());
}

async fn demo_seed_fills_the_store_once(app: &TestApp) {
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM products")
            .fetch_one(app.store().pool())
            .await
            .unwrap()
    };
    assert!(count().await >= 200, "at least 200 demo products");
    assert_eq!(app.store().seed_demo(Timestamp::now()).await.unwrap(), SeedReport::AlreadySeeded);
    assert_eq!(count().await, 240, "seeding again adds nothing");
    // The three demo sales: live, upcoming, sold out.
    let (_, page) = app.page("/").await;
    let mut statuses = page.texts("[data-testid=sales] [data-testid=sale-status]");
    statuses.sort();
    assert_eq!(statuses, vec!["Live", "Sold out", "Upcoming"]);
    assert_eq!(page.count(".product-card"), 16);
}

/// Several apps in one process (as in these tests, or an embedder running two shops): pages
/// of a serving app keep rendering while another app starts. Building a router renders the
/// app once with a process-global "suppress resource loads" flag up; a page whose data began
/// loading in that moment used to wait forever (leptos issue #4773).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_keep_rendering_while_other_apps_start() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build().unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut loaders = Vec::new();
    for _ in 0..4 {
        let (client, url, stop) = (client.clone(), app.url("/products?q=lamp"), stop.clone());
        loaders.push(tokio::spawn(async move {
            let mut served = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let res = client.get(&url).send().await.expect("a page while another app starts");
                assert_eq!(res.status(), StatusCode::OK);
                res.text().await.expect("the whole page");
                served += 1;
            }
            served
        }));
    }
    for _ in 0..12 {
        TestApp::spawn(Db::Sqlite).await.stop().await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut served = 0;
    for l in loaders {
        served += l.await.expect("loader");
    }
    assert!(served > 0);
    app.stop().await;
}

#[tokio::test]
async fn seeding_can_be_switched_off() {
    let app = TestApp::spawn_with(Db::Sqlite, Options { seed: false }).await;
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM products").fetch_one(app.store().pool()).await.unwrap();
    let (_, page) = app.page("/products").await;
    app.stop().await;
    assert_eq!(n, 0);
    assert!(page.text(".empty").contains("No products match"));
}

fn shop_bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shop"));
    cmd.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd
}

#[test]
fn a_bad_setting_stops_startup_with_one_line_naming_it() {
    let out = shop_bin().env("SHOP_ADDR", "not-an-address").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains("SHOP_ADDR") && err.contains("not-an-address"), "{err}");

    let out = shop_bin().env("DATABASE_URL", "mysql://root:hunter2@db/shop").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("DATABASE_URL") && !err.contains("hunter2"), "{err}");

    let out = shop_bin().arg("frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_binary_serves_and_stops_cleanly_on_sigterm() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut child = Killed(
        shop_bin()
            .env("SHOP_ADDR", "127.0.0.1:0")
            .env("SHOP_DATA_DIR", dir.path())
            .env("SHOP_SEED", "false")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let child = &mut child.0;
    // The binary announces its address once it is listening (logs go to stderr).
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(line.starts_with("Flashmart is open at http://127.0.0.1:"), "{line}");
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    let body = reqwest::blocking_get(&format!("{url}/healthz"));
    assert_eq!(body, "ok");
    assert!(dir.path().join("shop.db").exists(), "embedded database created under SHOP_DATA_DIR");
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "still running 30 s after SIGTERM");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0), "graceful shutdown exits 0");
    drop(stdout);
}

/// A child process that is killed when the test ends, however it ends.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

mod reqwest {
    pub use ::reqwest::*;
    /// A tiny blocking GET without pulling reqwest's blocking feature.
    pub fn blocking_get(url: &str) -> String {
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(async { ::reqwest::get(url).await.unwrap().text().await.unwrap() })
    }
}
