//! The saga harness: an app with the workers on and fast clocks, in both modes, and what
//! the saga tests read back (status, timeline, gate counts).

use super::shopping::{buy, count, sale, session_cookie, shopper_with, spawn_with, Buy};
use super::{Db, TestApp};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use reqwest::StatusCode;
use shop_domain::gate::GateItem;
use shop_domain::saga::topic;
use std::time::Duration;

/// Fast clocks for tests: no provider latency, parcels move in tens of milliseconds.
pub const FAST: &[(&str, &str)] = &[
    ("SHOP_TEST_WORKERS", "all"),
    ("SHOP_PAYMENT_LATENCY_MS", "0"),
    ("SHOP_PAYMENT_TIMEOUT_MS", "300"),
    ("SHOP_CARRIER_IN_TRANSIT_MS", "50"),
    ("SHOP_CARRIER_DELIVERED_MS", "100"),
    ("SHOP_TRACKER_POLL_MS", "20"),
    ("SHOP_SAGA_RETRY_MS", "10"),
];

pub struct SagaApp {
    pub app: TestApp,
    /// Kafka for the scale-out mode; dropped after the app has stopped.
    pub _kafka: Option<MockCluster<'static, DefaultProducerContext>>,
}

pub async fn saga_app(db: Db, extra: &[(&str, &str)]) -> SagaApp {
    let mut env: Vec<(&str, &str)> = FAST.to_vec();
    env.extend_from_slice(extra);
    let kafka = (db == Db::Postgres).then(|| {
        let cluster = MockCluster::new(1).expect("mock Kafka cluster");
        for t in topic::ALL {
            cluster.create_topic(t, 4, 1).expect("topic");
        }
        cluster
    });
    let brokers = kafka.as_ref().map(|k| k.bootstrap_servers());
    if let Some(b) = &brokers {
        env.push(("KAFKA_BROKERS", b));
    }
    SagaApp { app: spawn_with(db, &env).await, _kafka: kafka }
}

/// Runs each named `async fn(&TestApp)` in both saga modes with the workers on (extra settings
/// in parentheses): embedded, and PostgreSQL + Redis + Kafka (librdkafka's mock cluster).
#[macro_export]
macro_rules! in_both_saga_modes {
    ($($name:ident $( ( $($k:literal = $v:literal),* ) )? ),* $(,)?) => {
        $(
            mod $name {
                async fn run(db: $crate::common::Db) {
                    use futures::FutureExt;
                    let extra: &[(&str, &str)] = &[$($(($k, $v)),*)?];
                    let s = $crate::common::saga::saga_app(db, extra).await;
                    let outcome = std::panic::AssertUnwindSafe(super::$name(&s.app)).catch_unwind().await;
                    s.app.stop().await;
                    drop(s._kafka);
                    if let Err(p) = outcome { std::panic::resume_unwind(p) }
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn embedded() { run($crate::common::Db::Sqlite).await }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres_redis_kafka() { run($crate::common::Db::Postgres).await }
            }
        )*
    };
}

/// Waits until `sql` (a single number) equals `want`, or fails after 60 s with the last value.
pub async fn eventually(app: &TestApp, sql: &str, want: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let got = count(app, sql).await;
        if got == want {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out: `{sql}` is {got}, expected {want}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn status(app: &TestApp, order: i64) -> String {
    sqlx::query_scalar("SELECT status FROM orders WHERE id = $1")
        .bind(order)
        .fetch_one(app.store().pool())
        .await
        .unwrap()
}

pub async fn final_status(app: &TestApp, order: i64) -> String {
    eventually(app, &format!("SELECT COUNT(*) FROM orders WHERE id = {order} AND saga_step = 'DONE'"), 1)
        .await;
    status(app, order).await
}

pub async fn text(app: &TestApp, sql: &str) -> String {
    sqlx::query_scalar(sql).fetch_one(app.store().pool()).await.unwrap()
}

/// Places one sale order and returns (order id, sale id).
pub async fn order_from_sale(app: &TestApp, n: i64, card: &str, zip: &str) -> (i64, i64) {
    let s = sale(app, 10, 2, -60, 3600).await;
    let (_, cookie, address, card) = shopper_with(app, n, card, zip).await;
    let res = buy(
        app,
        &app.another_browser(),
        &Buy { sale: s, cookie: &cookie, address, card, key: &format!("saga-key-{n:08}"), quantity: 1 },
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    (res.json::<serde_json::Value>().await.unwrap()["order_id"].as_i64().unwrap(), s)
}

pub async fn timeline(app: &TestApp, order: i64) -> Vec<String> {
    sqlx::query_scalar("SELECT kind FROM order_events WHERE order_id = $1 ORDER BY id")
        .bind(order)
        .fetch_all(app.store().pool())
        .await
        .unwrap()
}

pub async fn gate_left(app: &TestApp, item: GateItem) -> i64 {
    app.gate().available(item).await.unwrap().expect("item loaded in the gate")
}

/// A signed-in session of `order`'s buyer.
pub async fn buyer_cookie(app: &TestApp, order: i64) -> String {
    let buyer = count(app, &format!("SELECT user_id FROM orders WHERE id = {order}")).await;
    session_cookie(app.store(), buyer).await
}

/// The buyer of `order` presses "Cancel order".
pub async fn cancel_as_buyer(app: &TestApp, order: i64) -> reqwest::Response {
    let cookie = buyer_cookie(app, order).await;
    app.another_browser()
        .post(app.url("/api/orders/cancel"))
        .header("origin", &app.base)
        .header("cookie", &cookie)
        .form(&[("id", order.to_string())])
        .send()
        .await
        .unwrap()
}
