//! Test harness: the real app on port 0 against a fresh database, SQLite or PostgreSQL.
#![allow(dead_code)]

pub mod saga;
pub mod shopping;

use reqwest::StatusCode;
use scraper::{Html, Selector};
use shop::config::Config;
use shop::Running;
use shop_store::Store;
use sqlx::Connection;
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// Where the PostgreSQL test databases are created (`scripts/test` starts the server).
pub fn pg_admin_url() -> String {
    std::env::var("SHOP_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The key tests use to encrypt card numbers (base64 of 32 bytes), so they can store cards
/// the payment worker can read.
pub const TEST_SECRET_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

pub fn test_secrets() -> app::auth::SecretBox {
    use base64::Engine;
    let key = base64::engine::general_purpose::STANDARD.decode(TEST_SECRET_KEY).unwrap();
    app::auth::SecretBox::new(&key).unwrap()
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub db: Db,
    running: Option<Running>,
    pg_database: Option<String>,
    env: HashMap<String, String>,
    _dir: tempfile::TempDir,
}

/// A test database and data directory, with the settings to start the app on them.
pub struct Prepared {
    db: Db,
    env: HashMap<String, String>,
    pg_database: Option<String>,
    dir: tempfile::TempDir,
}

impl Prepared {
    /// The configuration the app will start with.
    pub fn config(&self) -> Config {
        Config::from_lookup(|k| self.env.get(k).cloned()).expect("test config")
    }

    /// Starts the app (migrating the database to this release).
    pub async fn start(self) -> TestApp {
        let Prepared { db, env, pg_database, dir } = self;
        let mut config = Config::from_lookup(|k| env.get(k).cloned()).expect("test config");
        // Background work runs only where a test asks for it (`SHOP_TEST_WORKERS=all`), so
        // tests of the web tier see orders exactly as checkout left them.
        config.roles = match env.get("SHOP_TEST_WORKERS").map(String::as_str) {
            Some(kinds) if !kinds.is_empty() => kinds
                .split(',')
                .flat_map(|k| shop::saga::Role::parse_worker(k).expect("worker kind"))
                .collect(),
            _ => vec![],
        };
        let running = shop::start(config).await.expect("app starts");
        let base = format!("http://{}", running.addr);
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            // A hung request fails the test with its URL instead of hanging the suite.
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .unwrap();
        TestApp { base, client, db, running: Some(running), pg_database, env, _dir: dir }
    }
}

pub struct Options {
    pub seed: bool,
}

impl TestApp {
    pub async fn spawn(db: Db) -> TestApp {
        Self::spawn_with(db, Options { seed: false }).await
    }

    pub async fn spawn_with(db: Db, opts: Options) -> TestApp {
        Self::spawn_with_env(db, opts, &[]).await
    }

    pub async fn spawn_with_env(db: Db, opts: Options, extra: &[(&str, &str)]) -> TestApp {
        Self::prepare(db, opts, extra).await.start().await
    }

    /// A fresh database and data directory with the app's settings, not started yet (a test
    /// can put an older release's schema and data there first).
    pub async fn prepare(db: Db, opts: Options, extra: &[(&str, &str)]) -> Prepared {
        // `SHOP_TEST_LOG=info` (or any filter) shows the app's logs while debugging a test.
        if let Ok(filter) = std::env::var("SHOP_TEST_LOG") {
            let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let mut env: HashMap<String, String> = HashMap::new();
        for (k, v) in extra {
            env.insert(k.to_string(), v.to_string());
        }
        env.insert("SHOP_ADDR".into(), "127.0.0.1:0".into());
        env.entry("SHOP_METRICS_ADDR".into()).or_insert_with(|| "127.0.0.1:0".into());
        if db == Db::Postgres {
            // A shared database needs the shared stock gate (the shop refuses to start without).
            env.entry("REDIS_URL".into()).or_insert_with(|| {
                std::env::var("SHOP_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
            });
            env.entry("SHOP_REDIS_PREFIX".into()).or_insert_with(|| format!("test:{}:", uuid_like()));
        }
        env.insert("SHOP_DATA_DIR".into(), dir.path().display().to_string());
        env.insert("SHOP_SEED".into(), opts.seed.to_string());
        env.insert("SHOP_DB_MAX_CONNECTIONS".into(), "8".into());
        env.entry("SHOP_SECRET_KEY".into()).or_insert_with(|| TEST_SECRET_KEY.into());
        let mut pg_database = None;
        if db == Db::Postgres {
            let name = format!("shop_test_{}", uuid_like());
            let admin = pg_admin_url();
            let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| {
                panic!("PostgreSQL at {admin} is needed for the postgres tests (run scripts/services): {e}")
            });
            sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                .execute(&mut conn)
                .await
                .expect("create database");
            env.insert("DATABASE_URL".into(), replace_db_name(&admin, &name));
            pg_database = Some(name);
        }
        Prepared { db, env, pg_database, dir }
    }

    /// The settings this app was started with (`DATABASE_URL`, `SHOP_REDIS_PREFIX`, …), so a
    /// test can open a second connection to the same database or gate, as another process would.
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.env.get(key).map(String::as_str)
    }

    /// `SHOP_DATA_DIR` of this app (uploads live under it).
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    pub fn store(&self) -> &Store {
        &self.running.as_ref().expect("running").store
    }

    pub fn gate(&self) -> &std::sync::Arc<dyn shop_domain::gate::StockGate> {
        &self.running.as_ref().expect("running").gate
    }

    /// Where this app serves `/metrics`.
    pub fn metrics_url(&self) -> String {
        let addr = self.running.as_ref().expect("running").metrics_addr.expect("metrics served");
        format!("http://{addr}/metrics")
    }

    /// The buy path's bounded queue (hold its places to see what a shed buyer gets).
    pub fn buy_queue(&self) -> &shop::shed::BuyQueue {
        &self.running.as_ref().expect("running").buy_queue
    }

    pub fn bus(&self) -> &std::sync::Arc<dyn shop::bus::EventBus> {
        &self.running.as_ref().expect("running").bus
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// GET a page; returns the status and the body.
    pub async fn get(&self, path: &str) -> (StatusCode, String) {
        let res = self.client.get(self.url(path)).send().await.expect("request");
        let status = res.status();
        (status, res.text().await.expect("body"))
    }

    /// POST a form as a browser without JavaScript does (same-origin, accepts HTML).
    pub async fn form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("accept", "text/html,application/xhtml+xml")
            .header("origin", &self.base)
            .form(fields)
            .send()
            .await
            .expect("request")
    }

    /// POST a form as an API client (JSON answers).
    pub async fn api(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("origin", &self.base)
            .form(fields)
            .send()
            .await
            .expect("request")
    }

    /// A fresh cookie jar against the same app (another browser).
    pub fn another_browser(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            // A hung request fails the test with its URL instead of hanging the suite.
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .unwrap()
    }

    /// GET a page and parse it.
    /// GET a page as the browser holding `cookie`, and parse it.
    pub async fn page_as(&self, cookie: &str, path: &str) -> (StatusCode, Page) {
        let res = self.another_browser().get(self.url(path)).header("cookie", cookie).send().await.expect("request");
        let status = res.status();
        (status, Page::parse(&res.text().await.expect("body")))
    }

    pub async fn page(&self, path: &str) -> (StatusCode, Page) {
        let (s, body) = self.get(path).await;
        (s, Page::parse(&body))
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await.expect("graceful stop");
        }
        if let Some(name) = self.pg_database.take() {
            if let Ok(mut conn) = sqlx::PgConnection::connect(&pg_admin_url()).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&mut conn)
                    .await;
            }
        }
    }
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let t = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("{:x}_{}_{n}", t, std::process::id())
}

fn replace_db_name(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map(|(b, q)| (b, Some(q))).unwrap_or((url, None));
    let cut = base.rfind('/').expect("database URL has a path");
    let mut out = format!("{}/{}", &base[..cut], name);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// The password test accounts sign up with.
pub const PASSWORD: &str = "correct horse battery";

/// Signs `username` up (email `<username>@example.com`, [`PASSWORD`]) through the no-JS form in
/// `browser`, which keeps the session; returns the session cookie as `name=value`.
pub async fn signed_up(app: &TestApp, browser: &reqwest::Client, username: &str) -> String {
    let email = format!("{username}@example.com");
    let res = browser
        .post(app.url("/api/signup"))
        .header("accept", "text/html")
        .header("origin", &app.base)
        .form(&[
            ("email", email.as_str()),
            ("username", username),
            ("password", PASSWORD),
            ("name", username),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::FOUND, "signed up {username}");
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("flashmart_session="))
        .map(|c| c.split(';').next().unwrap().to_string())
        .expect("a session cookie")
}

/// A parsed HTML page with small helpers for assertions.
pub struct Page {
    pub html: Html,
    pub raw: String,
}

impl Page {
    pub fn parse(body: &str) -> Page {
        Page { html: Html::parse_document(body), raw: body.to_string() }
    }

    /// Trimmed text of every element matching `css`.
    pub fn texts(&self, css: &str) -> Vec<String> {
        let sel = Selector::parse(css).expect("selector");
        self.html
            .select(&sel)
            .map(|e| e.text().collect::<String>().split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    }

    pub fn text(&self, css: &str) -> String {
        self.texts(css).into_iter().next().unwrap_or_else(|| panic!("no element matches {css}"))
    }

    pub fn count(&self, css: &str) -> usize {
        self.texts(css).len()
    }

    pub fn attrs(&self, css: &str, attr: &str) -> Vec<String> {
        let sel = Selector::parse(css).expect("selector");
        self.html.select(&sel).filter_map(|e| e.value().attr(attr).map(str::to_string)).collect()
    }
}

/// Runs each named `async fn(&TestApp)` twice: on SQLite and on PostgreSQL, each against a
/// fresh database; the app is stopped (and the PostgreSQL database dropped) even on failure.
#[macro_export]
macro_rules! on_both_databases {
    ($seed:expr => $($name:ident),* $(,)?) => {
        $(
            mod $name {
                use super::*;
                async fn run(db: common::Db) {
                    use futures::FutureExt;
                    let app = common::TestApp::spawn_with(db, common::Options { seed: $seed }).await;
                    let outcome = std::panic::AssertUnwindSafe(super::$name(&app)).catch_unwind().await;
                    app.stop().await;
                    if let Err(panic) = outcome {
                        std::panic::resume_unwind(panic);
                    }
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() { run(common::Db::Sqlite).await }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() { run(common::Db::Postgres).await }
            }
        )*
    };
}

/// Runs each named `async fn(&TestApp)` in both shop modes, with extra settings: embedded
/// (SQLite, in-memory gate) and scale-out (PostgreSQL + Redis gate), each on a fresh database;
/// the app is stopped (and the PostgreSQL database dropped) even on failure.
#[macro_export]
macro_rules! in_both_shop_modes {
    ($extra:expr => $($name:ident),* $(,)?) => {
        $(
            mod $name {
                async fn run(db: $crate::common::Db) {
                    use futures::FutureExt;
                    let app = $crate::common::shopping::spawn_with(db, $extra).await;
                    let outcome = std::panic::AssertUnwindSafe(super::$name(&app)).catch_unwind().await;
                    app.stop().await;
                    if let Err(p) = outcome { std::panic::resume_unwind(p) }
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite_memory_gate() { run($crate::common::Db::Sqlite).await }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres_redis_gate() { run($crate::common::Db::Postgres).await }
            }
        )*
    };
}
