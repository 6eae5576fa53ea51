//! Sessions over time, on SQLite and PostgreSQL: an active shopper stays signed in past the
//! idle limit, an idle one is signed out at it (before the sweeper has run), and the sweeper
//! removes exactly the expired rows. Time is moved by ageing the stored session, the way the
//! clock passing would.

mod common;

use common::{Db, Options, TestApp};
use reqwest::StatusCode;
use shop::sessions::{stored_id, DbSessionStore, RENEWED_KEY};
use shop_domain::Timestamp;
use tower_sessions::cookie::time::Duration;
use tower_sessions::session::Id;
use tower_sessions::SessionStore;

const IDLE_MINUTES: i64 = 30;

async fn spawn(db: Db) -> TestApp {
    let idle = IDLE_MINUTES.to_string();
    TestApp::spawn_with_env(db, Options { seed: false }, &[("SHOP_SESSION_IDLE_MINUTES", &idle)]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    run(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    run(Db::Postgres).await
}

async fn run(db: Db) {
    use futures::FutureExt;
    let app = spawn(db).await;
    let outcome = std::panic::AssertUnwindSafe(active_stays_idle_goes_and_the_sweeper_cleans_up(&app))
        .catch_unwind()
        .await;
    app.stop().await;
    if let Err(p) = outcome {
        std::panic::resume_unwind(p)
    }
}

/// The session cookie a response sets, if any, as `name=value`.
fn set_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("flashmart_session="))
        .map(|c| c.split(';').next().unwrap().to_string())
}

fn session_id(cookie: &str) -> Id {
    cookie.trim_start_matches("flashmart_session=").parse().expect("a session id")
}

/// GET /api/me with `cookie`: who is signed in, and the response's new cookie (if any).
async fn me(app: &TestApp, cookie: &str) -> (serde_json::Value, Option<String>) {
    let res = app.another_browser().get(app.url("/api/me")).header("cookie", cookie).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let renewed = set_cookie(&res);
    (res.json().await.unwrap(), renewed)
}

/// When the stored session expires, in milliseconds.
async fn expires_at(app: &TestApp, cookie: &str) -> i64 {
    sqlx::query_scalar("SELECT expires_at FROM sessions WHERE id = $1")
        .bind(stored_id(&session_id(cookie)))
        .fetch_one(app.store().pool())
        .await
        .unwrap()
}

/// Moves the clock `minutes` forward for this session: its expiry and its last renewal are
/// that much earlier, as if the shopper had been away that long.
async fn age(app: &TestApp, cookie: &str, minutes: i64) {
    let sessions = DbSessionStore::new(app.store().clone());
    let mut record = sessions.load(&session_id(cookie)).await.unwrap().expect("a stored session");
    record.expiry_date -= Duration::minutes(minutes);
    if let Some(at) = record.data.get(RENEWED_KEY).and_then(|v| v.as_i64()) {
        record.data.insert(RENEWED_KEY.into(), serde_json::json!(at - minutes * 60_000));
    }
    sessions.save(&record).await.unwrap();
}

fn near(got: i64, want: i64) -> bool {
    (got - want).abs() < 60_000
}

async fn active_stays_idle_goes_and_the_sweeper_cleans_up(app: &TestApp) {
    let window = IDLE_MINUTES * 60_000;
    let ann = common::signed_up(app, &app.another_browser(), "ann_1").await;
    assert!(near(expires_at(app, &ann).await, Timestamp::now().millis() + window), "idle limit from sign-up");

    // Ann keeps browsing: 20 minutes after her last renewal, a request renews her session
    // (the row and the cookie), so she is still signed in 40 minutes after signing up.
    age(app, &ann, 20).await;
    let (who, renewed) = me(app, &ann).await;
    assert_eq!(who["username"], "ann_1");
    let renewed = renewed.expect("the cookie is sent again");
    assert_eq!(renewed, ann, "the same session, not a new one");
    assert!(near(expires_at(app, &ann).await, Timestamp::now().millis() + window), "renewed for 30 minutes");
    age(app, &ann, 20).await;
    let (who, renewed) = me(app, &ann).await;
    assert_eq!(who["username"], "ann_1", "40 minutes after sign-up, still in");
    assert_eq!(renewed.as_deref(), Some(ann.as_str()), "renewed again");
    assert!(near(expires_at(app, &ann).await, Timestamp::now().millis() + window));
    // Renewal is not a write per request: right after one, nothing is written or sent.
    let before = expires_at(app, &ann).await;
    let (who, renewed) = me(app, &ann).await;
    assert_eq!(who["username"], "ann_1");
    assert_eq!(renewed, None);
    assert_eq!(expires_at(app, &ann).await, before);

    // Bob goes idle past the limit: he is signed out at once, before any sweep has run, and his
    // stale cookie does not bring the session back.
    let bob = common::signed_up(app, &app.another_browser(), "bob_1").await;
    age(app, &bob, IDLE_MINUTES + 1).await;
    let rows = |app: &TestApp| {
        let pool = app.store().pool().clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM sessions").fetch_one(&pool).await.unwrap()
        }
    };
    assert_eq!(rows(app).await, 2, "the row is still there");
    let (who, renewed) = me(app, &bob).await;
    assert!(who.is_null(), "signed out: {who}");
    assert_eq!(renewed.as_deref(), Some("flashmart_session="), "the stale cookie is cleared, not renewed");
    let res = app
        .another_browser()
        .get(app.url("/account"))
        .header("cookie", &bob)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()["location"], "/login?next=%2Faccount");

    // The sweeper removes exactly the expired rows: Bob's now, Ann's once her limit passes.
    let now = Timestamp::now();
    assert_eq!(app.store().delete_expired_sessions(now).await.unwrap(), 1);
    assert_eq!(rows(app).await, 1);
    assert_eq!(me(app, &ann).await.0["username"], "ann_1", "the sweep left the active session alone");
    let ann_expires = expires_at(app, &ann).await;
    assert_eq!(
        app.store().delete_expired_sessions(Timestamp::from_millis(ann_expires - 1)).await.unwrap(),
        0
    );
    assert_eq!(app.store().delete_expired_sessions(Timestamp::from_millis(ann_expires)).await.unwrap(), 1);
    assert!(me(app, &ann).await.0.is_null(), "swept: signed out");
    assert_eq!(rows(app).await, 0);
}
