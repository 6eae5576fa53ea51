//! Races the shop has to win, in both modes: buyers cancelling while the saga's workers move
//! their orders on, and staff editing a live sale's quantity and a product's stock while
//! buyers race for them. Every order ends settled once, and nothing is sold twice or left
//! unsold. (Two reconcilers repairing the same drift: `reconcilers.rs`.)

mod common;

use common::saga::{cancel_as_buyer, eventually, final_status, gate_left, order_from_sale, timeline};
use common::shopping::{buy, count, create_shopper, sale, session_cookie, Buy};
use common::TestApp;
use reqwest::StatusCode;
use shop_domain::admin::input::datetime_value;
use shop_domain::gate::GateItem;
use shop_domain::{Role, Timestamp};
use shop_store::{NewProduct, NewUser};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

in_both_saga_modes!(
    // The payment provider takes a moment, so cancels land while the charge is under way too.
    cancels_racing_every_saga_step_settle_each_order_once(
        "SHOP_PAYMENT_LATENCY_MS" = "40",
        "SHOP_PAYMENT_TIMEOUT_MS" = "2000"
    ),
);

in_both_shop_modes!(&[("SHOP_BUY_CONCURRENCY", "1000"), ("SHOP_BUY_QUEUE_MS", "60000")] =>
    a_live_sale_raised_while_buyers_race_sells_exactly_its_new_quantity,
    stock_raised_and_lowered_while_buyers_race_sells_exactly_the_final_stock,
);

/// Every buyer cancels at a different moment after buying (spread over twice a whole saga), while the
/// workers pay, book, commit stock and hand the parcel over. Whatever step each cancel meets,
/// the order ends one way: cancelled with every charge refunded once and its unit back, or
/// (the cancel refused at the hand-over) delivered and charged once.
async fn cancels_racing_every_saga_step_settle_each_order_once(app: &TestApp) {
    const ORDERS: i64 = 24;
    // One order through every step first, so every worker is up (Kafka consumers take a few
    // seconds to join their group) before the cancels are timed against the steps.
    let started = std::time::Instant::now();
    let (first, _) = order_from_sale(app, 1_000, "4242424242424242", "12345").await;
    assert_eq!(final_status(app, first).await, "DELIVERED");
    // The cancels are spread over twice the time one order takes from buying to delivery in
    // this mode on this machine (at least 40 ms apart), so they meet every step.
    let step = (started.elapsed() * 2 / ORDERS as u32).max(Duration::from_millis(40));
    let s = sale(app, ORDERS, 1, -60, 3600).await;
    let mut buyers = Vec::new();
    for n in 0..ORDERS {
        buyers.push(create_shopper(app.store(), n, "4242424242424242", "12345").await);
    }
    let runs = futures::future::join_all(buyers.iter().enumerate().map(|(n, (_, cookie, address, card))| {
        async move {
            let key = format!("cancel-race-{n:04}");
            let b = Buy { sale: s, cookie, address: *address, card: *card, key: &key, quantity: 1 };
            let res = buy(app, &app.another_browser(), &b).await;
            assert_eq!(res.status(), StatusCode::OK);
            let order = res.json::<serde_json::Value>().await.unwrap()["order_id"].as_i64().unwrap();
            // The stagger is the experiment, not a wait for something to happen.
            tokio::time::sleep(step * n as u32).await;
            let cancel = cancel_as_buyer(app, order).await;
            (order, cancel.status())
        }
    }))
    .await;

    eventually(app, &format!("SELECT COUNT(*) FROM orders WHERE sale_id = {s} AND saga_step <> 'DONE'"), 0)
        .await;
    let cancelled: Vec<i64> = runs.iter().filter(|(_, c)| *c == StatusCode::OK).map(|(o, _)| *o).collect();
    let refused: Vec<i64> =
        runs.iter().filter(|(_, c)| *c == StatusCode::CONFLICT).map(|(o, _)| *o).collect();
    assert_eq!(cancelled.len() + refused.len(), runs.len(), "every cancel is accepted or refused: {runs:?}");
    assert!(!cancelled.is_empty(), "a cancel right after buying is accepted");
    assert!(!refused.is_empty(), "the cancels spanned the saga: the last ones came after the hand-over");
    let ids = |v: &[i64]| v.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    // Late answers (a charge that completes after the cancel) are compensated: wait for that.
    if !cancelled.is_empty() {
        eventually(
            app,
            &format!(
                "SELECT COUNT(*) FROM sim_charges WHERE order_id IN ({}) AND outcome = 'CAPTURED' AND refunded_at IS NULL",
                ids(&cancelled)
            ),
            0,
        )
        .await;
    }
    eventually(app, &format!("SELECT sold FROM flash_sales WHERE id = {s}"), refused.len() as i64).await;

    let mut met: BTreeMap<String, usize> = BTreeMap::new();
    for &o in &cancelled {
        let kinds = timeline(app, o).await;
        assert_eq!(
            count(app, &format!("SELECT COUNT(*) FROM orders WHERE id = {o} AND status = 'CANCELLED'")).await,
            1,
            "order {o}: {kinds:?}"
        );
        assert_eq!(kinds.iter().filter(|k| *k == "CANCELLED").count(), 1, "order {o}: {kinds:?}");
        assert!(
            !kinds.iter().any(|k| k == "DELIVERED" || k == "SHIPPING"),
            "order {o} cancelled after the hand-over: {kinds:?}"
        );
        let charged = count(
            app,
            &format!("SELECT COUNT(*) FROM sim_charges WHERE order_id = {o} AND outcome = 'CAPTURED'"),
        )
        .await;
        assert!(charged <= 1, "order {o} charged {charged} times");
        let refunded = count(
            app,
            &format!("SELECT COUNT(*) FROM sim_charges WHERE order_id = {o} AND refunded_at IS NOT NULL"),
        )
        .await;
        assert_eq!(refunded, charged, "order {o}: every charge refunded: {kinds:?}");
        assert_eq!(
            count(
                app,
                &format!("SELECT COUNT(*) FROM order_lines WHERE order_id = {o} AND status = 'ACTIVE'")
            )
            .await,
            0
        );
        let step = kinds.iter().take_while(|k| *k != "CANCELLED").last().cloned().unwrap_or_default();
        *met.entry(if charged == 1 { format!("{step} (charge completed)") } else { step }).or_default() += 1;
    }
    for &o in &refused {
        eventually(app, &format!("SELECT COUNT(*) FROM orders WHERE id = {o} AND status = 'DELIVERED'"), 1)
            .await;
        assert_eq!(count(app, &format!("SELECT COUNT(*) FROM sim_charges WHERE order_id = {o} AND outcome = 'CAPTURED' AND refunded_at IS NULL")).await, 1, "order {o}");
    }
    eprintln!("cancels {step:?} apart met: {met:?}; refused at the hand-over: {}", refused.len());
    // Stock: each delivered unit sold once, every cancelled one back, in the gate and the database.
    let delivered = refused.len() as i64;
    assert_eq!(gate_left(app, GateItem::Sale(s)).await, ORDERS - delivered);
    let product = count(app, &format!("SELECT product_id FROM flash_sales WHERE id = {s}")).await;
    eventually(app, &format!("SELECT stock FROM products WHERE id = {product}"), 1000 - delivered).await;
    assert_eq!(app.store().dead_letter_count().await.unwrap(), 0);
}

// ---------------------------------------------------------------------------------------------
// Staff edits while buyers race

async fn admin(app: &TestApp) -> String {
    let user = NewUser {
        email: "boss@example.com".into(),
        username: "boss".into(),
        password_hash: "unused-in-this-test".into(),
        name: "Boss".into(),
        phone: None,
        role: Role::Admin,
        email_verified: true,
    };
    let id = app.store().create_user(&user, Timestamp::now()).await.unwrap();
    session_cookie(app.store(), id).await
}

async fn post(app: &TestApp, cookie: &str, path: &str, fields: &[(&str, String)]) -> (StatusCode, String) {
    let res = app
        .another_browser()
        .post(app.url(path))
        .header("origin", &app.base)
        .header("cookie", cookie)
        .form(fields)
        .send()
        .await
        .unwrap();
    (res.status(), res.text().await.unwrap())
}

/// `n` buyers, numbered from `first`, each try once at the same moment, through `path` with
/// `item` (`sale_id` or `product_id`). Returns the tasks (each answers its status) and a count
/// of accepted purchases that the test can wait on to act mid-race.
async fn race(
    app: &TestApp,
    path: &'static str,
    item: (&'static str, i64),
    first: i64,
    n: i64,
) -> (Vec<tokio::task::JoinHandle<StatusCode>>, tokio::sync::watch::Receiver<usize>) {
    let (accepted, watch) = tokio::sync::watch::channel(0usize);
    let accepted = Arc::new(accepted);
    let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
    let mut shoppers = Vec::new();
    for b in first..first + n {
        shoppers.push((b, create_shopper(app.store(), b, "4242424242424242", "12345").await));
    }
    // All at once: many purchases are between the gate and their order's commit at any moment.
    let mut tasks = Vec::new();
    for (b, (_, cookie, address, card)) in shoppers {
        let (client, base, accepted) = (client.clone(), app.base.clone(), accepted.clone());
        tasks.push(tokio::spawn(async move {
            let res = client
                .post(format!("{base}{path}"))
                .header("origin", &base)
                .header("cookie", cookie)
                .form(&[
                    (item.0, item.1.to_string()),
                    ("quantity", "1".into()),
                    ("address_id", address.to_string()),
                    ("payment_method_id", card.to_string()),
                    ("idempotency_key", format!("edit-race-{b:06}")),
                ])
                .send()
                .await
                .unwrap();
            let status = res.status();
            let body = res.text().await.unwrap();
            match status {
                StatusCode::OK => accepted.send_modify(|n| *n += 1),
                // A sale's last unit gone, or a product's.
                StatusCode::CONFLICT => {
                    assert!(body.contains("Sold out") || body.contains("left for 1"), "{body}")
                }
                other => panic!("unexpected answer {other}: {body}"),
            }
            status
        }));
    }
    (tasks, watch)
}

async fn accepted_once_all_answer(tasks: Vec<tokio::task::JoinHandle<StatusCode>>) -> i64 {
    let mut accepted = 0;
    for t in tasks {
        accepted += i64::from(t.await.unwrap() == StatusCode::OK);
    }
    accepted
}

async fn until_accepted(watch: &mut tokio::sync::watch::Receiver<usize>, at_least: usize) {
    tokio::time::timeout(Duration::from_secs(60), watch.wait_for(|n| *n >= at_least))
        .await
        .unwrap_or_else(|_| panic!("fewer than {at_least} purchases accepted in 60 s"))
        .unwrap();
}

/// After a race: fresh buyers, one at a time, until one is told "sold out". How many bought.
async fn buy_the_rest(app: &TestApp, path: &'static str, item: (&'static str, i64), first: i64) -> i64 {
    for n in 0..200 {
        let (tasks, _) = race(app, path, item, first + n, 1).await;
        if accepted_once_all_answer(tasks).await == 0 {
            return n;
        }
    }
    panic!("still selling after 200 more buyers")
}

async fn a_live_sale_raised_while_buyers_race_sells_exactly_its_new_quantity(app: &TestApp) {
    let boss = admin(app).await;
    let lamp = app
        .store()
        .create_product(&NewProduct {
            name: "Lamp".into(),
            description: String::new(),
            price_minor: 10_000,
            stock: 1_000,
            sold_count: 0,
            tags: vec![],
            images: vec![],
            created_at: Timestamp::now(),
        })
        .await
        .unwrap();
    let now = Timestamp::now();
    let window = (datetime_value(now), datetime_value(now.plus_secs(3600)));
    let fields = |key: &'static str, id: i64, quantity: i64| {
        vec![
            (key, id.to_string()),
            ("title", "Racing drop".into()),
            ("sale_price", "25.00".into()),
            ("quantity", quantity.to_string()),
            ("per_buyer_limit", "1".into()),
            ("starts_at", window.0.clone()),
            ("ends_at", window.1.clone()),
        ]
    };
    let (status, body) = post(app, &boss, "/api/admin/sales/create", &fields("product_id", lamp, 300)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let s: i64 = body.parse().unwrap();

    let (tasks, mut accepted) = race(app, "/api/buy", ("sale_id", s), 0, 600).await;
    until_accepted(&mut accepted, 50).await;
    let (status, body) = post(app, &boss, "/api/admin/sales/update", &fields("id", s, 400)).await;
    assert_eq!(status, StatusCode::OK, "raised mid-race: {body}");
    until_accepted(&mut accepted, 100).await;
    let (status, body) = post(app, &boss, "/api/admin/sales/update", &fields("id", s, 350)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a live sale is never lowered: {body}");
    let raced = accepted_once_all_answer(tasks).await;
    let after = buy_the_rest(app, "/api/buy", ("sale_id", s), 1_000).await;

    assert_eq!(raced + after, 400, "sold exactly the raised quantity ({raced} in the race, {after} after)");
    assert_eq!(count(app, &format!("SELECT quantity FROM flash_sales WHERE id = {s}")).await, 400);
    assert_eq!(count(app, &format!("SELECT COUNT(*) FROM order_lines WHERE sale_id = {s}")).await, 400);
    assert_eq!(
        count(app, &format!("SELECT COUNT(*) FROM (SELECT o.user_id FROM orders o WHERE o.sale_id = {s} GROUP BY o.user_id HAVING COUNT(*) > 1) t")).await,
        0,
        "nobody over the limit of one"
    );
    assert_eq!(gate_left(app, GateItem::Sale(s)).await, 0);
    let (_, page) = app.page(&format!("/sales/{s}")).await;
    assert_eq!(page.text("[data-testid=remaining]"), "0");
}

async fn stock_raised_and_lowered_while_buyers_race_sells_exactly_the_final_stock(app: &TestApp) {
    let boss = admin(app).await;
    let mug = app
        .store()
        .create_product(&NewProduct {
            name: "Mug".into(),
            description: String::new(),
            price_minor: 1_200,
            stock: 300,
            sold_count: 0,
            tags: vec![],
            images: vec![],
            created_at: Timestamp::now(),
        })
        .await
        .unwrap();
    let edit = |stock: i64| {
        vec![
            ("id", mug.to_string()),
            ("name", "Mug".to_string()),
            ("description", String::new()),
            ("price", "12.00".into()),
            ("stock", stock.to_string()),
            ("tags", String::new()),
            ("images", String::new()),
        ]
    };
    let (tasks, mut accepted) = race(app, "/api/buy/product", ("product_id", mug), 0, 600).await;
    until_accepted(&mut accepted, 50).await;
    let (status, body) = post(app, &boss, "/api/admin/products/update", &edit(450)).await;
    assert_eq!(status, StatusCode::OK, "restocked mid-race: {body}");
    until_accepted(&mut accepted, 100).await;
    // Lowered while buyers hold units: accepted unless more than 400 are promised by now.
    let (status, body) = post(app, &boss, "/api/admin/products/update", &edit(400)).await;
    let stock = match status {
        StatusCode::OK => 400,
        StatusCode::BAD_REQUEST if body.contains("units are promised") => 450,
        other => panic!("lowering answered {other}: {body}"),
    };
    let raced = accepted_once_all_answer(tasks).await;
    let after = buy_the_rest(app, "/api/buy/product", ("product_id", mug), 1_000).await;

    assert_eq!(raced + after, stock, "sold exactly the final stock ({raced} in the race, {after} after)");
    assert_eq!(count(app, &format!("SELECT stock FROM products WHERE id = {mug}")).await, stock);
    assert_eq!(
        count(app, &format!("SELECT COUNT(*) FROM order_lines WHERE product_id = {mug}")).await,
        stock
    );
    assert_eq!(gate_left(app, GateItem::Product(mug)).await, 0);
}
