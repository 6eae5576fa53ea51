//! Upgrading: a database created by the first release that shipped (migrations 0001–0005),
//! holding what that release wrote, is migrated by this one at start-up, on SQLite and on
//! PostgreSQL. Its catalog is searchable (names folded, tags counted), its customers sign in
//! with their passwords, its orders show, an order it left half-way is finished once, and the
//! stock gate counts every unit exactly once.

mod common;

use common::saga::{eventually, FAST};
use common::shopping::{buy, count, create_shopper, Buy};
use common::{Db, Options, TestApp};
use reqwest::StatusCode;
use shop_domain::Timestamp;
use sqlx::migrate::Migrator;
use std::borrow::Cow;

/// The migrations of the oldest release whose databases exist: the first that landed.
const FIRST_RELEASE: &str = "0005";
const PW: &str = common::PASSWORD;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    upgrade(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    upgrade(Db::Postgres).await
}

/// What the old release left behind, by id.
struct Old {
    customer: i64,
    torch: i64,
    sale: i64,
    delivered: i64,
    in_flight: i64,
    session_cookie: String,
}

async fn upgrade(db: Db) {
    use futures::FutureExt;
    let mut settings = FAST.to_vec();
    settings.extend([
        ("SHOP_WRITES_PER_MINUTE_PER_IP", "0"),
        // The order the old release left half-way has waited since before the upgrade.
        ("SHOP_SAGA_STUCK_SECS", "1"),
        ("SHOP_RECONCILE_SECS", "1"),
    ]);
    let prepared = TestApp::prepare(db, Options { seed: false }, &settings).await;
    let old = old_release(&prepared.config().database_url).await;
    let app = prepared.start().await;
    let outcome = std::panic::AssertUnwindSafe(after_the_upgrade(&app, &old)).catch_unwind().await;
    app.stop().await;
    if let Err(p) = outcome {
        std::panic::resume_unwind(p)
    }
}

/// Creates the first release's schema at `url` and writes what that release wrote: a
/// customer with a card and a session, three products (one archived) with tags, a live sale,
/// an order delivered from it and one paid for nothing yet (its payment request lost).
async fn old_release(url: &str) -> Old {
    let store = shop_store::Store::connect(url, 1).await.expect("old database");
    let dir = match store.backend() {
        shop_store::Backend::Sqlite => "sqlite",
        shop_store::Backend::Postgres => "postgres",
    };
    let all =
        Migrator::new(std::path::Path::new(&format!("{}/../migrations/{dir}", env!("CARGO_MANIFEST_DIR"))))
            .await
            .expect("migrations");
    let first: Vec<_> = all
        .migrations
        .iter()
        .filter(|m| format!("{:04}", m.version).as_str() <= FIRST_RELEASE)
        .cloned()
        .collect();
    assert_eq!(first.len(), 5);
    Migrator { migrations: Cow::Owned(first), ..Migrator::DEFAULT }
        .run(store.pool())
        .await
        .expect("old schema");

    let pool = store.pool();
    let now = Timestamp::now().millis();
    let day_ago = now - 86_400_000;
    let id = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql);
    let hash = shop_security::password::hash(PW.into()).await.unwrap();
    let customer =
        id("INSERT INTO users (email, username, password_hash, name, role, created_at, updated_at) \
         VALUES ('old@example.com', 'old_timer', $1, 'Old Timer', 'customer', $2, $2) RETURNING id")
        .bind(hash)
        .bind(day_ago)
        .fetch_one(pool)
        .await
        .unwrap();
    let card = id("INSERT INTO payment_methods (user_id, kind, holder, last4, expiry, secret, is_default, created_at, label) \
         VALUES ($1, 'card', 'Old Timer', '4242', '12/39', $2, 1, $3, 'Visa') RETURNING id")
    .bind(customer)
    .bind(common::test_secrets().encrypt(b"4242424242424242").unwrap())
    .bind(day_ago)
    .fetch_one(pool)
    .await
    .unwrap();
    let product = |name: &'static str, price: i64, stock: i64, sold: i64, archived: Option<i64>| async move {
        id("INSERT INTO products (name, description, price, stock, sold_count, archived_at, created_at, updated_at) \
             VALUES ($1, 'From the first release.', $2, $3, $4, $5, $6, $6) RETURNING id")
        .bind(name)
        .bind(price)
        .bind(stock)
        .bind(sold)
        .bind(archived)
        .bind(day_ago)
        .fetch_one(pool)
        .await
        .unwrap()
    };
    let torch = product("Crème Brûlée Torch", 2_500, 19, 1, None).await;
    let lamp = product("Desk Lamp", 4_000, 7, 0, None).await;
    let kettle = product("Retired Kettle", 1_000, 3, 0, Some(day_ago)).await;
    for (p, tag) in [(torch, "kitchen"), (lamp, "home"), (lamp, "kitchen"), (kettle, "kitchen")] {
        sqlx::query("INSERT INTO product_tags (product_id, tag) VALUES ($1, $2)")
            .bind(p)
            .bind(tag)
            .execute(pool)
            .await
            .unwrap();
    }
    let sale = id("INSERT INTO flash_sales (product_id, title, sale_price, quantity, sold, per_buyer_limit, \
         starts_at, ends_at, created_at, updated_at) VALUES ($1, 'Torch drop', 1900, 5, 1, 2, $2, $3, $4, $4) RETURNING id")
    .bind(torch)
    .bind(now - 3_600_000)
    .bind(now + 3_600_000)
    .bind(day_ago)
    .fetch_one(pool)
    .await
    .unwrap();
    let order = |status: &'static str, step: &'static str, key: &'static str| async move {
        let order = id("INSERT INTO orders (user_id, status, total, idempotency_key, sale_id, ship_receiver, \
             ship_street, ship_zip, payment_method_id, payment_label, created_at, updated_at, saga_step, step_since) \
             VALUES ($1, $2, 1900, $3, $4, 'Old Timer', '1 Old St', '12345', $5, 'Visa •••• 4242', $6, $6, $7, $6) \
             RETURNING id")
        .bind(customer)
        .bind(status)
        .bind(key)
        .bind(sale)
        .bind(card)
        .bind(now - 3_000_000)
        .bind(step)
        .fetch_one(pool)
        .await
        .unwrap();
        let committed = i64::from(status == "DELIVERED");
        sqlx::query("INSERT INTO order_lines (order_id, product_id, sale_id, name, quantity, unit_price, stock_committed) \
             VALUES ($1, $2, $3, 'Crème Brûlée Torch', 1, 1900, $4)")
        .bind(order)
        .bind(torch)
        .bind(sale)
        .bind(committed)
        .execute(pool)
        .await
        .unwrap();
        order
    };
    let delivered = order("DELIVERED", "DONE", "old-key-1").await;
    let in_flight = order("PENDING", "AWAIT_PAYMENT", "old-key-2").await;
    for (o, payment, delivery) in [(delivered, "CAPTURED", "DELIVERED"), (in_flight, "PENDING", "PENDING")] {
        sqlx::query("INSERT INTO payments (order_id, status, amount, created_at, updated_at) VALUES ($1, $2, 1900, $3, $3)")
            .bind(o)
            .bind(payment)
            .bind(now - 3_000_000)
            .execute(pool)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO deliveries (order_id, status, created_at, updated_at) VALUES ($1, $2, $3, $3)",
        )
        .bind(o)
        .bind(delivery)
        .bind(now - 3_000_000)
        .execute(pool)
        .await
        .unwrap();
    }
    for (o, kind) in [
        (delivered, "PENDING"),
        (delivered, "PAID"),
        (delivered, "SHIPPING"),
        (delivered, "DELIVERED"),
        (in_flight, "PENDING"),
    ] {
        sqlx::query("INSERT INTO order_events (order_id, kind, detail, at) VALUES ($1, $2, '', $3)")
            .bind(o)
            .bind(kind)
            .bind(now - 3_000_000)
            .execute(pool)
            .await
            .unwrap();
    }
    sqlx::query("INSERT INTO sim_charges (charge_key, order_id, amount, outcome, created_at) VALUES ($1, $2, 1900, 'CAPTURED', $3)")
        .bind(format!("charge-{delivered}"))
        .bind(delivered)
        .bind(now - 3_000_000)
        .execute(pool)
        .await
        .unwrap();
    // That release stored sessions under their clear id.
    let session = "old-release-session-id";
    sqlx::query("INSERT INTO sessions (id, data, expires_at) VALUES ($1, $2, $3)")
        .bind(session)
        .bind(
            format!(
                r#"{{"id":"{session}","data":{{"user_id":{customer}}},"expiry_date":[2030,1,0,0,0,0,0,0,0]}}"#
            )
            .into_bytes(),
        )
        .bind(now + 3_600_000)
        .execute(pool)
        .await
        .unwrap();
    store.close().await;
    Old {
        customer,
        torch,
        sale,
        delivered,
        in_flight,
        session_cookie: format!("flashmart_session={session}"),
    }
}

async fn after_the_upgrade(app: &TestApp, old: &Old) {
    // The catalog: names folded for search (accents too), tags counted, the archived product hidden.
    let (status, page) = app.page("/products?q=creme").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page.texts(".product-card .product-name"), vec!["Crème Brûlée Torch"]);
    let (_, page) = app.page("/products?tag=kitchen&sort=price_asc").await;
    assert_eq!(page.texts(".product-card .product-name"), vec!["Crème Brûlée Torch", "Desk Lamp"]);
    assert!(
        page.texts(".tag-chips .tag").contains(&"#kitchen2".to_string()),
        "{:?}",
        page.texts(".tag-chips .tag")
    );
    let (_, page) = app.page("/products?tag=kitchen&q=lamp").await;
    assert_eq!(page.texts(".product-card .product-name"), vec!["Desk Lamp"]);
    let (_, page) = app.page(&format!("/products/{}", old.torch)).await;
    assert_eq!(page.text("h1"), "Crème Brûlée Torch");

    // Sessions were stored under clear ids then: they are dropped, and the customer signs in
    // again with the password that release hashed.
    let me = |cookie: String| async move {
        let res =
            app.another_browser().get(app.url("/api/me")).header("cookie", cookie).send().await.unwrap();
        res.json::<serde_json::Value>().await.unwrap()
    };
    assert!(me(old.session_cookie.clone()).await.is_null());
    let res = app.form("/api/login", &[("login", "old_timer"), ("password", PW)]).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let (_, page) = app.page("/orders").await;
    assert_eq!(page.count(&format!("a[href='/orders/{}']", old.delivered)), 1, "the old order is listed");
    let (_, page) = app.page(&format!("/orders/{}", old.delivered)).await;
    assert_eq!(page.text("[data-testid=order-status]"), "Delivered");

    // The order the old release left waiting for its payment is finished by this one, charged
    // once; the delivered one is left alone (nothing re-driven, charged once, long ago).
    let o = old.in_flight;
    eventually(app, &format!("SELECT COUNT(*) FROM orders WHERE id = {o} AND status = 'DELIVERED'"), 1).await;
    assert_eq!(
        count(
            app,
            &format!("SELECT COUNT(*) FROM sim_charges WHERE order_id = {o} AND outcome = 'CAPTURED'")
        )
        .await,
        1
    );
    let d = old.delivered;
    assert_eq!(count(app, &format!("SELECT COUNT(*) FROM sim_charges WHERE order_id = {d}")).await, 1);
    assert_eq!(count(app, &format!("SELECT COUNT(*) FROM order_events WHERE order_id = {d}")).await, 4);

    // Stock counts each unit once: 5 for sale, 1 delivered by the old release, 1 now.
    let s = old.sale;
    assert_eq!(count(app, &format!("SELECT sold FROM flash_sales WHERE id = {s}")).await, 2);
    let (_, page) = app.page(&format!("/sales/{s}")).await;
    assert_eq!(page.text("[data-testid=remaining]"), "3");
    // New orders (new ids beside the old ones) take exactly what is left.
    let mut answers = Vec::new();
    for n in 1..=4 {
        let (_, cookie, address, card) = create_shopper(app.store(), n, "4242424242424242", "12345").await;
        let key = format!("after-upgrade-{n:04}");
        let b = Buy { sale: s, cookie: &cookie, address, card, key: &key, quantity: 1 };
        answers.push(buy(app, &app.another_browser(), &b).await.status());
    }
    assert_eq!(answers, [StatusCode::OK, StatusCode::OK, StatusCode::OK, StatusCode::CONFLICT]);
    assert_eq!(count(app, &format!("SELECT COUNT(*) FROM orders WHERE user_id = {}", old.customer)).await, 2);
}
