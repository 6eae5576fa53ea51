//! Shared shopping helpers: the two modes, signed-in shoppers, sales, and buying.

use super::{test_secrets, Db, Options, TestApp};
use shop::sessions::DbSessionStore;
use shop_domain::{PaymentKind, Role, Timestamp};
use shop_store::{NewAddress, NewPaymentMethod, NewProduct, NewSale, NewUser};
use std::collections::HashMap;
use tower_sessions::session::{Id, Record};
use tower_sessions::SessionStore;

/// Each mode the shop runs in: embedded, and scale-out (PostgreSQL + Redis).
pub async fn spawn(db: Db) -> TestApp {
    spawn_with(db, &[]).await
}

/// The same, with extra settings (e.g. `SHOP_TEST_WORKERS=all` to run the saga workers).
pub async fn spawn_with(db: Db, extra: &[(&str, &str)]) -> TestApp {
    let prefix = format!("test:{}:{}:", std::process::id(), Timestamp::now().millis());
    let redis = std::env::var("SHOP_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let mut env: Vec<(&str, &str)> = extra.to_vec();
    // Every test buyer connects from 127.0.0.1; in a real rush each has an address of their
    // own, so the per-IP budget is off unless a test sets it.
    if !extra.iter().any(|(k, _)| *k == "SHOP_WRITES_PER_MINUTE_PER_IP") {
        env.push(("SHOP_WRITES_PER_MINUTE_PER_IP", "0"));
    }
    if db == Db::Postgres {
        env.push(("REDIS_URL", &redis));
        env.push(("SHOP_REDIS_PREFIX", &prefix));
    }
    TestApp::spawn_with_env(db, Options { seed: false }, &env).await
}

/// A shopper with an address and a card, signed in: returns their session cookie.
pub async fn shopper(app: &TestApp, n: i64) -> (i64, String, i64, i64) {
    shopper_with(app, n, "4242424242424242", "12345").await
}

/// A shopper paying with `card_number`, shipping to `zip` (test cards and postcodes steer
/// the simulated payment provider and carrier).
pub async fn shopper_with(app: &TestApp, n: i64, card_number: &str, zip: &str) -> (i64, String, i64, i64) {
    create_shopper(app.store(), n, card_number, zip).await
}

/// The same against any store (e.g. a database shared by several shop processes).
pub async fn create_shopper(
    store: &shop_store::Store,
    n: i64,
    card_number: &str,
    zip: &str,
) -> (i64, String, i64, i64) {
    let now = Timestamp::now();
    let id = store
        .create_user(
            &NewUser {
                email: format!("buyer{n}@example.com"),
                username: format!("buyer_{n}"),
                password_hash: "unused-in-this-test".into(),
                name: format!("Buyer {n}"),
                phone: None,
                role: Role::Customer,
                email_verified: true,
            },
            now,
        )
        .await
        .unwrap();
    let address = store
        .add_address(
            id,
            &NewAddress {
                receiver: "B".into(),
                street: "1 Main St".into(),
                detail: String::new(),
                zip: zip.into(),
                make_main: true,
            },
            now,
        )
        .await
        .unwrap();
    let card = store
        .add_payment_method(
            id,
            &NewPaymentMethod {
                kind: PaymentKind::Card,
                label: "Visa".into(),
                holder: "B".into(),
                last4: card_number[card_number.len() - 4..].into(),
                expiry: Some("12/39".into()),
                secret: test_secrets().encrypt(card_number.as_bytes()).unwrap(),
            },
            now,
        )
        .await
        .unwrap();
    (id, session_cookie(store, id).await, address, card)
}

/// A signed-in session for `user_id`, as the login creates it (without paying for argon2).
pub async fn session_cookie(store: &shop_store::Store, user_id: i64) -> String {
    let record = Record {
        id: Id::default(),
        data: HashMap::from([("user_id".to_string(), serde_json::json!(user_id))]),
        expiry_date: tower_sessions::cookie::time::OffsetDateTime::now_utc()
            + tower_sessions::cookie::time::Duration::hours(1),
    };
    DbSessionStore::new(store.clone()).save(&record).await.unwrap();
    format!("flashmart_session={}", record.id)
}

pub async fn sale(app: &TestApp, quantity: i64, limit: i64, start_s: i64, end_s: i64) -> i64 {
    let now = Timestamp::now();
    let product = app
        .store()
        .create_product(&NewProduct {
            name: "Limited Lamp".into(),
            description: String::new(),
            price_minor: 10_000,
            stock: quantity.max(1000),
            sold_count: 0,
            tags: vec![],
            images: vec![],
            created_at: now,
        })
        .await
        .unwrap();
    app.store()
        .create_sale(
            &NewSale {
                product_id: product,
                title: "Drop".into(),
                sale_price_minor: 4_900,
                quantity,
                sold: 0,
                per_buyer_limit: limit,
                starts_at: now.plus_secs(start_s),
                ends_at: now.plus_secs(end_s),
            },
            now,
        )
        .await
        .unwrap()
}

pub struct Buy<'a> {
    pub sale: i64,
    pub cookie: &'a str,
    pub address: i64,
    pub card: i64,
    pub key: &'a str,
    pub quantity: u32,
}

pub async fn buy(app: &TestApp, client: &reqwest::Client, b: &Buy<'_>) -> reqwest::Response {
    client
        .post(app.url("/api/buy"))
        .header("origin", &app.base)
        .header("cookie", b.cookie)
        .form(&[
            ("sale_id", b.sale.to_string()),
            ("quantity", b.quantity.to_string()),
            ("address_id", b.address.to_string()),
            ("payment_method_id", b.card.to_string()),
            ("idempotency_key", b.key.to_string()),
        ])
        .send()
        .await
        .unwrap()
}

pub async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(app.store().pool()).await.unwrap()
}
