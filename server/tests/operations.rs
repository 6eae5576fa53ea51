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
    // Several shops run at once here: none takes the fixed metrics port.
    cmd.env("SHOP_METRICS_ADDR", "127.0.0.1:0");
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
    let mut shop = Killed(
        shop_bin()
            .env("SHOP_ADDR", "127.0.0.1:0")
            .env("SHOP_DATA_DIR", dir.path())
            .env("SHOP_SEED", "false")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let child = &mut shop.0;
    // The binary announces its address once it is listening (logs go to stderr).
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(line.starts_with("Flashmart is open at http://127.0.0.1:"), "{line}");
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    let body = reqwest::blocking_get(&format!("{url}/healthz"));
    assert_eq!(body, "ok");
    assert!(dir.path().join("shop.db").exists(), "embedded database created under SHOP_DATA_DIR");
    drop(stdout);
    assert_eq!(terminate(&mut shop), Some(0), "graceful shutdown exits 0");
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

/// The embedded shop as an operator runs it (`shop`, no configuration) on `dir`, with a slow
/// payment provider so that orders sit between saga steps. Returns the child and its address.
fn embedded_shop(dir: &std::path::Path) -> (Killed, String) {
    use std::io::{BufRead, BufReader};
    let mut child = Killed(
        shop_bin()
            .env("SHOP_ADDR", "127.0.0.1:0")
            .env("SHOP_DATA_DIR", dir)
            .env("SHOP_SEED", "false")
            .env("SHOP_SECRET_KEY", common::TEST_SECRET_KEY)
            .env("SHOP_WRITES_PER_MINUTE_PER_IP", "0")
            .env("SHOP_PAYMENT_LATENCY_MS", "300")
            .env("SHOP_PAYMENT_TIMEOUT_MS", "5000")
            .env("SHOP_CARRIER_IN_TRANSIT_MS", "50")
            .env("SHOP_CARRIER_DELIVERED_MS", "100")
            .env("SHOP_TRACKER_POLL_MS", "20")
            .env("SHOP_SAGA_STUCK_SECS", "1")
            .env("SHOP_RECONCILE_SECS", "1")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.starts_with("Flashmart is open at http://"), "{line}");
    (child, line.trim().rsplit("http://").next().unwrap().to_string())
}

/// Sends SIGTERM and waits (at most 30 s) for the exit status.
fn terminate(child: &mut Killed) -> Option<i32> {
    assert!(Command::new("kill").args(["-TERM", &child.0.id().to_string()]).status().unwrap().success());
    wait_exit(child)
}

fn wait_exit(child: &mut Killed) -> Option<i32> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            return status.code();
        }
        assert!(std::time::Instant::now() < deadline, "still running 30 s after SIGTERM");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// SIGTERM with a purchase half-sent and orders between saga steps: the purchase is answered,
/// the process exits 0, and nothing is half-written: started again on the same files, the shop
/// finishes every order, each charged once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_answers_requests_in_flight_and_a_restart_finishes_every_order() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const ORDERS: i64 = 8;
    let dir = tempfile::tempdir().unwrap();
    let (mut shop, addr) = embedded_shop(dir.path());
    // The test writes its shoppers and the sale into the shop's database, as another process.
    let url = format!("sqlite://{}", dir.path().join("shop.db").display());
    let store = shop_store::Store::connect(&url, 2).await.unwrap();
    let now = Timestamp::now();
    let product = store
        .create_product(&shop_store::NewProduct {
            name: "Lamp".into(),
            description: String::new(),
            price_minor: 10_000,
            stock: 100,
            sold_count: 0,
            tags: vec![],
            images: vec![],
            created_at: now,
        })
        .await
        .unwrap();
    let sale = store
        .create_sale(
            &shop_store::NewSale {
                product_id: product,
                title: "Drop".into(),
                sale_price_minor: 4_900,
                quantity: 20,
                sold: 0,
                per_buyer_limit: 1,
                starts_at: now.plus_secs(-60),
                ends_at: now.plus_secs(3600),
            },
            now,
        )
        .await
        .unwrap();
    let form = |address: i64, card: i64, n: i64| {
        format!("sale_id={sale}&quantity=1&address_id={address}&payment_method_id={card}&idempotency_key=term-{n:04}")
    };
    let base = format!("http://{addr}");
    let client = ::reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build().unwrap();
    for n in 0..ORDERS {
        let (_, cookie, address, card) =
            common::shopping::create_shopper(&store, n, "4242424242424242", "12345").await;
        let res = client
            .post(format!("{base}/api/buy"))
            .header("origin", &base)
            .header("cookie", cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(address, card, n))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    // One more buyer has sent the headers and half the form when the signal comes.
    let (_, cookie, address, card) =
        common::shopping::create_shopper(&store, ORDERS, "4242424242424242", "12345").await;
    let body = form(address, card, ORDERS);
    let (head, tail) = body.split_at(body.len() / 2);
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let request = format!(
        "POST /api/buy HTTP/1.1\r\nHost: {addr}\r\nOrigin: {base}\r\nCookie: {cookie}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{head}",
        body.len()
    );
    conn.write_all(request.as_bytes()).await.unwrap();
    let placed_before_term = count_in(&store, "SELECT COUNT(*) FROM orders WHERE status = 'DELIVERED'").await;
    assert!(Command::new("kill").args(["-TERM", &shop.0.id().to_string()]).status().unwrap().success());
    // Shutting down: new connections are refused, the one in flight is still being served.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while tokio::net::TcpStream::connect(&addr).await.is_ok() {
        assert!(tokio::time::Instant::now() < deadline, "still accepting 30 s after SIGTERM");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // A slow client: the rest of the form comes 2 s later. The shop waits for it (up to its
    // shutdown grace of 10 s) instead of exiting under it.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert!(shop.0.try_wait().unwrap().is_none(), "exited with a request in flight");
    conn.write_all(tail.as_bytes()).await.unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "the purchase in flight is answered: {answer}");
    assert!(answer.contains("\"order_id\""), "{answer}");
    assert_eq!(tokio::task::block_in_place(|| wait_exit(&mut shop)), Some(0), "graceful shutdown exits 0");

    // Saga steps were in flight (the provider takes 300 ms a charge), and every order is whole.
    let orders = ORDERS + 1;
    assert_eq!(count_in(&store, "SELECT COUNT(*) FROM orders").await, orders);
    let unfinished = count_in(&store, "SELECT COUNT(*) FROM orders WHERE saga_step <> 'DONE'").await;
    assert!(
        unfinished > 0,
        "no order was between steps at the signal ({placed_before_term} delivered before it)"
    );
    for table in ["payments", "deliveries", "order_lines"] {
        assert_eq!(count_in(&store, &format!("SELECT COUNT(*) FROM {table}")).await, orders, "{table}");
    }
    assert_eq!(
        count_in(&store, "SELECT COUNT(*) FROM outbox WHERE event_type = 'order.placed'").await,
        orders
    );

    // Started again on the same files: every order delivered, each charged once.
    let (mut shop, _) = embedded_shop(dir.path());
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let delivered = count_in(&store, "SELECT COUNT(*) FROM orders WHERE status = 'DELIVERED'").await;
        if delivered == orders {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{delivered} of {orders} orders delivered after the restart"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(count_in(&store, "SELECT COUNT(*) FROM sim_charges WHERE outcome = 'CAPTURED'").await, orders);
    assert_eq!(count_in(&store, "SELECT COUNT(DISTINCT order_id) FROM sim_charges").await, orders);
    assert_eq!(count_in(&store, "SELECT COUNT(*) FROM sim_charges WHERE refunded_at IS NOT NULL").await, 0);
    assert_eq!(count_in(&store, &format!("SELECT sold FROM flash_sales WHERE id = {sale}")).await, orders);
    assert_eq!(count_in(&store, "SELECT COUNT(*) FROM dead_letters").await, 0);
    store.close().await;
    assert_eq!(tokio::task::block_in_place(|| terminate(&mut shop)), Some(0));
}

async fn count_in(store: &shop_store::Store, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(store.pool()).await.unwrap()
}
