//! Buying from a flash sale: every outcome, idempotency, the outbox, fault injection, and the
//! 1,000-buyer race, on SQLite + in-memory gate and on PostgreSQL + Redis gate.

mod common;

use common::shopping::{buy, count, sale, shopper, Buy};
use common::TestApp;
use reqwest::StatusCode;
use shop_domain::gate::GateItem;
use shop_domain::Timestamp;
use shop_store::{NewProduct, NewSale};
use std::collections::HashMap;

in_both_shop_modes!(&[] =>
    a_live_sale_sells_and_the_order_starts_pending,
    every_refusal_has_its_own_reason,
    a_double_submit_buys_once,
    a_failed_order_transaction_releases_the_reservation,
    cancelling_before_shipping_returns_the_stock_once,
    a_cart_order_takes_every_line_or_none,
    regular_buyers_cannot_take_what_a_running_sale_set_aside,
    the_wishlist_keeps_what_you_save,
    a_first_purchase_can_enter_address_and_card_inline,
);
// Every one of the thousand buyers is worked on (none shed by the buy path's queue, however
// slow the machine): this is about what the gate decides, not about overload
// (server/tests/buy_path.rs has that).
in_both_shop_modes!(&[("SHOP_BUY_CONCURRENCY", "1000"), ("SHOP_BUY_QUEUE_MS", "60000")] => a_thousand_buyers_race_for_one_hundred);

async fn a_first_purchase_can_enter_address_and_card_inline(app: &TestApp) {
    let s = sale(app, 10, 1, -60, 3600).await;
    let (user, cookie, address, card) = shopper(app, 1).await;
    app.store().delete_address(user, address).await.unwrap();
    app.store().delete_payment_method(user, card).await.unwrap();
    let client = app.another_browser();
    let (_, page) = {
        let res = client.get(app.url(&format!("/sales/{s}"))).header("cookie", &cookie).send().await.unwrap();
        (res.status(), common::Page::parse(&res.text().await.unwrap()))
    };
    assert_eq!(page.attrs(".buy-form input[name=street]", "name"), vec!["street"], "address fields inline");
    assert_eq!(page.attrs(".buy-form input[name=number]", "name"), vec!["number"], "card fields inline");
    let form = |number: &str, key: &str| {
        vec![
            ("sale_id", s.to_string()),
            ("quantity", "1".to_string()),
            ("idempotency_key", key.to_string()),
            ("receiver", "Ann".to_string()),
            ("street", "5 Elm Road".to_string()),
            ("zip", "54321".to_string()),
            ("holder", "Ann".to_string()),
            ("number", number.to_string()),
            ("expiry", "11/38".to_string()),
        ]
    };
    // A mistyped card: field error, nothing saved, nothing taken.
    let res = post(app, &client, &cookie, "/api/buy", &form("4242 4242 4242 4241", "inline-key-1")).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["Invalid"][0]["field"], "number");
    assert_eq!(count(app, "SELECT COUNT(*) FROM addresses").await, 0);
    assert_eq!(count(app, "SELECT COUNT(*) FROM orders").await, 0);
    let res = post(app, &client, &cookie, "/api/buy", &form("4242 4242 4242 4242", "inline-key-2")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let order = res.json::<serde_json::Value>().await.unwrap()["order_id"].as_i64().unwrap();
    let detail: serde_json::Value = client
        .get(app.url(&format!("/api/order?id={order}")))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detail["payment_label"], "Visa •••• 4242");
    assert!(detail["ship_to"].as_str().unwrap().contains("5 Elm Road"));
    // Saved for next time (the address as main), the card encrypted.
    assert_eq!(count(app, "SELECT COUNT(*) FROM addresses WHERE is_main = 1").await, 1);
    assert_eq!(count(app, "SELECT COUNT(*) FROM payment_methods WHERE last4 = '4242'").await, 1);
}

async fn product(app: &TestApp, name: &str, price: i64, stock: i64) -> i64 {
    app.store()
        .create_product(&NewProduct {
            name: name.into(),
            description: String::new(),
            price_minor: price,
            stock,
            sold_count: 0,
            tags: vec![],
            images: vec![],
            created_at: Timestamp::now(),
        })
        .await
        .unwrap()
}

async fn post(
    app: &TestApp,
    client: &reqwest::Client,
    cookie: &str,
    path: &str,
    fields: &[(&str, String)],
) -> reqwest::Response {
    client
        .post(app.url(path))
        .header("origin", &app.base)
        .header("cookie", cookie)
        .form(fields)
        .send()
        .await
        .unwrap()
}

/// `POST /api/buy/product` for one buyer: `(address, card)` are their saved ids.
async fn buy_product(
    app: &TestApp,
    client: &reqwest::Client,
    cookie: &str,
    product: i64,
    quantity: u32,
    (address, card): (i64, i64),
    key: &str,
) -> reqwest::Response {
    let fields = [
        ("product_id", product.to_string()),
        ("quantity", quantity.to_string()),
        ("address_id", address.to_string()),
        ("payment_method_id", card.to_string()),
        ("idempotency_key", key.to_string()),
    ];
    post(app, client, cookie, "/api/buy/product", &fields).await
}

async fn a_cart_order_takes_every_line_or_none(app: &TestApp) {
    let mug = product(app, "Mug", 1_200, 5).await;
    let pen = product(app, "Pen", 300, 2).await;
    let (_, cookie, address, card) = shopper(app, 1).await;
    let client = app.another_browser();
    for (p, q) in [(mug, "2"), (pen, "2"), (mug, "1")] {
        let res = post(
            app,
            &client,
            &cookie,
            "/api/cart/add",
            &[("product_id", p.to_string()), ("quantity", q.into())],
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    let lines: serde_json::Value = client
        .get(app.url("/api/cart"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(lines[0]["quantity"], 3, "adding again adds up");
    // Someone else buys one pen first: the cart's 2 pens no longer fit, so nothing is ordered.
    let (_, other, a2, c2) = shopper(app, 2).await;
    let res = buy_product(app, &client, &other, pen, 1, (a2, c2), "pen-buyer-1").await;
    assert_eq!(res.status(), StatusCode::OK);
    let (client_ref, cookie_ref) = (&client, &cookie);
    let checkout = |key: &'static str| async move {
        post(
            app,
            client_ref,
            cookie_ref,
            "/api/cart/checkout",
            &[
                ("address_id", address.to_string()),
                ("payment_method_id", card.to_string()),
                ("idempotency_key", key.into()),
            ],
        )
        .await
    };
    let res = checkout("cart-key-001").await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("Not enough Pen left"));
    assert_eq!(count(app, "SELECT COUNT(*) FROM orders").await, 1, "only the other buyer's order");
    // The mugs reserved before the pen was refused went back: 5 are still available.
    let res = buy_product(app, &client, &other, mug, 5, (a2, c2), "mug-buyer-1").await;
    assert_eq!(res.status(), StatusCode::OK, "all five mugs were given back");
    // Shrink the cart to what exists (one pen) and order it.
    post(app, &client, &cookie, "/api/cart/remove", &[("product_id", mug.to_string())]).await;
    post(
        app,
        &client,
        &cookie,
        "/api/cart/update",
        &[("product_id", pen.to_string()), ("quantity", "1".into())],
    )
    .await;
    let res = checkout("cart-key-002").await;
    assert_eq!(res.status(), StatusCode::OK);
    let order_id = res.json::<serde_json::Value>().await.unwrap()["order_id"].as_i64().unwrap();
    assert_eq!(count(app, &format!("SELECT COUNT(*) FROM order_lines WHERE order_id = {order_id}")).await, 1);
    assert_eq!(count(app, "SELECT COUNT(*) FROM cart_items").await, 0, "the cart is emptied with the order");
    // Pens are gone now: the product page says so, and buying one is refused.
    let (_, page) = app.page(&format!("/products/{pen}")).await;
    assert_eq!(page.text("[data-testid=stock]"), "Sold out");
    let res = buy_product(app, &client, &other, pen, 1, (a2, c2), "pen-buyer-2").await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    // Cancelling the cart order returns its pen.
    post(app, &client, &cookie, "/api/orders/cancel", &[("id", order_id.to_string())]).await;
    let res = buy_product(app, &client, &other, pen, 1, (a2, c2), "pen-buyer-3").await;
    assert_eq!(res.status(), StatusCode::OK);
}

async fn regular_buyers_cannot_take_what_a_running_sale_set_aside(app: &TestApp) {
    let now = Timestamp::now();
    let lamp = product(app, "Lamp", 5_000, 10).await;
    app.store()
        .create_sale(
            &NewSale {
                product_id: lamp,
                title: "Lamp drop".into(),
                sale_price_minor: 2_500,
                quantity: 4,
                sold: 0,
                per_buyer_limit: 4,
                starts_at: now.plus_secs(600),
                ends_at: now.plus_secs(3600),
            },
            now,
        )
        .await
        .unwrap();
    let (_, cookie, address, card) = shopper(app, 1).await;
    let client = app.another_browser();
    let buy_lamps =
        |q: u32, key: &'static str| buy_product(app, &client, &cookie, lamp, q, (address, card), key);
    assert_eq!(
        buy_lamps(7, "lamps-7-key").await.status(),
        StatusCode::CONFLICT,
        "4 of 10 are set aside for the sale"
    );
    let res = buy_lamps(6, "lamps-6-key").await;
    let status = res.status();
    assert_eq!(status, StatusCode::OK, "{}", res.text().await.unwrap());
}

async fn the_wishlist_keeps_what_you_save(app: &TestApp) {
    let mug = product(app, "Wish Mug", 1_200, 5).await;
    let (_, cookie, _, _) = shopper(app, 1).await;
    let client = app.another_browser();
    assert_eq!(
        post(app, &client, &cookie, "/api/wishlist/add", &[("product_id", mug.to_string())]).await.status(),
        StatusCode::OK
    );
    post(app, &client, &cookie, "/api/wishlist/add", &[("product_id", mug.to_string())]).await;
    let page = client
        .get(app.url("/wishlist"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let page = common::Page::parse(&page);
    assert_eq!(page.texts(".product-card .product-name"), vec!["Wish Mug"], "saved once");
    assert_eq!(
        post(app, &client, &cookie, "/api/wishlist/add", &[("product_id", "999999".into())]).await.status(),
        StatusCode::NOT_FOUND
    );
    post(app, &client, &cookie, "/api/wishlist/remove", &[("product_id", mug.to_string())]).await;
    let list: serde_json::Value = client
        .get(app.url("/api/wishlist"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list, serde_json::json!([]));
    let res = app.another_browser().get(app.url("/api/wishlist")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

async fn cancelling_before_shipping_returns_the_stock_once(app: &TestApp) {
    let s = sale(app, 1, 1, -60, 3600).await;
    let (_, cookie, address, card) = shopper(app, 1).await;
    let client = app.another_browser();
    let res =
        buy(app, &client, &Buy { sale: s, cookie: &cookie, address, card, key: "cancel-me-1", quantity: 1 })
            .await;
    let order_id = res.json::<serde_json::Value>().await.unwrap()["order_id"].as_i64().unwrap();
    let cancel = |cookie: String| {
        let client = client.clone();
        let (url, origin) = (app.url("/api/orders/cancel"), app.base.clone());
        async move {
            client
                .post(url)
                .header("origin", origin)
                .header("cookie", cookie)
                .form(&[("id", order_id.to_string())])
                .send()
                .await
                .unwrap()
        }
    };
    // Someone else cannot cancel it (it does not exist for them).
    let (_, other, a2, c2) = shopper(app, 2).await;
    assert_eq!(cancel(other.clone()).await.status(), StatusCode::NOT_FOUND);
    // Two cancels racing: one wins, one is told it is too late; compensation happens once.
    let (first, second) = tokio::join!(cancel(cookie.clone()), cancel(cookie.clone()));
    let mut statuses = vec![first.status(), second.status()];
    statuses.sort();
    assert_eq!(statuses, vec![StatusCode::OK, StatusCode::CONFLICT]);
    assert_eq!(count(app, "SELECT COUNT(*) FROM orders WHERE status = 'CANCELLED'").await, 1);
    assert_eq!(count(app, "SELECT COUNT(*) FROM order_lines WHERE status = 'CANCELLED'").await, 1);
    assert_eq!(app.store().outbox_count("order.cancelled").await.unwrap(), 1);
    let (_, page) = app.page(&format!("/sales/{s}")).await;
    assert_eq!(page.text("[data-testid=remaining]"), "1", "the unit is back, exactly once");
    let page =
        client.get(app.url(&format!("/orders/{order_id}"))).header("cookie", &cookie).send().await.unwrap();
    let page = common::Page::parse(&page.text().await.unwrap());
    assert_eq!(page.text("[data-testid=order-status]"), "Cancelled");
    assert_eq!(page.count(".cancel-form"), 0, "no cancel button on a cancelled order");
    assert_eq!(page.texts(".timeline strong"), vec!["Placed", "Cancelled"]);
    // The unit can be sold again: the buyer's limit is freed as well.
    let res = buy(
        app,
        &client,
        &Buy { sale: s, cookie: &other, address: a2, card: c2, key: "second-chance", quantity: 1 },
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
}

async fn a_live_sale_sells_and_the_order_starts_pending(app: &TestApp) {
    let s = sale(app, 10, 3, -60, 3600).await;
    let (_, cookie, address, card) = shopper(app, 1).await;
    let client = app.another_browser();
    let res =
        buy(app, &client, &Buy { sale: s, cookie: &cookie, address, card, key: "key-00000001", quantity: 2 })
            .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: serde_json::Value = res.json().await.unwrap();
    let order_id = body["order_id"].as_i64().unwrap();
    assert_eq!(body["repeated"], false);
    // The order, its line, placeholders and the outbox event committed together.
    assert_eq!(count(app, "SELECT COUNT(*) FROM orders WHERE status = 'PENDING'").await, 1);
    assert_eq!(
        count(app, "SELECT COUNT(*) FROM order_lines WHERE unit_price = 4900 AND quantity = 2").await,
        1
    );
    assert_eq!(
        count(app, "SELECT COUNT(*) FROM payments WHERE status = 'PENDING' AND amount = 9800").await,
        1
    );
    assert_eq!(count(app, "SELECT COUNT(*) FROM deliveries WHERE status = 'PENDING'").await, 1);
    assert_eq!(app.store().outbox_count("order.placed").await.unwrap(), 1);
    let payload: String =
        sqlx::query_scalar("SELECT payload FROM outbox").fetch_one(app.store().pool()).await.unwrap();
    let event: serde_json::Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(event["order_id"], order_id);
    assert_eq!(event["schema_version"], 1);
    assert_eq!(event["event_id"], format!("order.placed:{order_id}"));
    // The buyer's order page, and the sale's live remaining count.
    let page =
        client.get(app.url(&format!("/orders/{order_id}"))).header("cookie", &cookie).send().await.unwrap();
    let page = common::Page::parse(&page.text().await.unwrap());
    assert_eq!(page.text("[data-testid=order-status]"), "Placed");
    assert_eq!(page.text("[data-testid=order-total]"), "$98.00");
    assert_eq!(page.text("[data-testid=order-payment]"), "Visa •••• 4242");
    let (_, sale_page) = app.page(&format!("/sales/{s}")).await;
    assert_eq!(sale_page.text("[data-testid=remaining]"), "8");
    // A no-JS buy lands on the order page.
    let res = client
        .post(app.url("/api/buy"))
        .header("origin", &app.base)
        .header("accept", "text/html")
        .header("cookie", &cookie)
        .form(&[
            ("sale_id", s.to_string()),
            ("quantity", "1".into()),
            ("address_id", address.to_string()),
            ("payment_method_id", card.to_string()),
            ("idempotency_key", "key-00000002".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert!(res.headers()["location"].to_str().unwrap().starts_with("/orders/"));
    let (_, sale_page) = app.page(&format!("/sales/{s}")).await;
    assert_eq!(sale_page.text("[data-testid=remaining]"), "7");
    // Someone else's order does not exist for them.
    let (_, other, _, _) = shopper(app, 2).await;
    let res = client
        .get(app.url(&format!("/api/order?id={order_id}")))
        .header("cookie", &other)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

async fn every_refusal_has_its_own_reason(app: &TestApp) {
    let client = app.another_browser();
    let (_, cookie, address, card) = shopper(app, 1).await;
    let cases = [
        (sale(app, 5, 1, 600, 3600).await, 1, "hasn't started yet"),
        (sale(app, 5, 1, -7200, -3600).await, 1, "has ended"),
        (sale(app, 5, 1, -60, 3600).await, 2, "Over your limit"),
    ];
    for (i, (s, q, reason)) in cases.into_iter().enumerate() {
        let key = format!("refusal-key-{i}");
        let res =
            buy(app, &client, &Buy { sale: s, cookie: &cookie, address, card, key: &key, quantity: q }).await;
        assert_eq!(res.status(), StatusCode::CONFLICT, "{reason}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert!(body["Conflict"].as_str().unwrap().contains(reason), "{body}");
    }
    let tiny = sale(app, 1, 1, -60, 3600).await;
    let (_, other, a2, c2) = shopper(app, 2).await;
    assert_eq!(
        buy(
            app,
            &client,
            &Buy { sale: tiny, cookie: &other, address: a2, card: c2, key: "first-buyer", quantity: 1 }
        )
        .await
        .status(),
        StatusCode::OK
    );
    let res = buy(
        app,
        &client,
        &Buy { sale: tiny, cookie: &cookie, address, card, key: "late-buyer", quantity: 1 },
    )
    .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("Sold out"));
    // Not signed in; someone else's address (on a sale with stock: a sold-out sale says sold
    // out first); a missing key.
    let open = sale(app, 5, 1, -60, 3600).await;
    let res = buy(
        app,
        &client,
        &Buy { sale: tiny, cookie: "flashmart_session=nope", address, card, key: "anon-key-1", quantity: 1 },
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = buy(
        app,
        &client,
        &Buy { sale: open, cookie: &cookie, address: a2, card, key: "wrong-address", quantity: 1 },
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res =
        buy(app, &client, &Buy { sale: tiny, cookie: &cookie, address, card, key: "", quantity: 1 }).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(count(app, "SELECT COUNT(*) FROM orders").await, 1, "only the one real purchase");
}

async fn a_double_submit_buys_once(app: &TestApp) {
    let s = sale(app, 10, 3, -60, 3600).await;
    let (_, cookie, address, card) = shopper(app, 1).await;
    let client = app.another_browser();
    let click = Buy { sale: s, cookie: &cookie, address, card, key: "one-click-key", quantity: 1 };
    let clicks = (0..5).map(|_| buy(app, &client, &click));
    let answers = futures::future::join_all(clicks).await;
    let mut ids = Vec::new();
    for res in answers {
        assert_eq!(res.status(), StatusCode::OK);
        let body: serde_json::Value = res.json().await.unwrap();
        ids.push(body["order_id"].as_i64().unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every click lands on the same order");
    assert_eq!(count(app, "SELECT COUNT(*) FROM orders").await, 1);
    assert_eq!(app.store().outbox_count("order.placed").await.unwrap(), 1);
    let (_, page) = app.page(&format!("/sales/{s}")).await;
    assert_eq!(page.text("[data-testid=remaining]"), "9");
}

async fn a_failed_order_transaction_releases_the_reservation(app: &TestApp) {
    let s = sale(app, 1, 1, -60, 3600).await;
    let (_, cookie, address, card) = shopper(app, 1).await;
    let client = app.another_browser();
    app.store().inject_order_failure();
    let res =
        buy(app, &client, &Buy { sale: s, cookie: &cookie, address, card, key: "doomed-key-1", quantity: 1 })
            .await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!("Internal"),
        "no internals leak"
    );
    assert_eq!(count(app, "SELECT COUNT(*) FROM orders").await, 0, "rolled back");
    assert_eq!(app.store().outbox_count("order.placed").await.unwrap(), 0);
    // The single unit went back to the gate: the next buyer gets it.
    let (_, other, a2, c2) = shopper(app, 2).await;
    let res = buy(
        app,
        &client,
        &Buy { sale: s, cookie: &other, address: a2, card: c2, key: "next-buyer-1", quantity: 1 },
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
}

/// 1,000 signed-in buyers race for 100 units (limit 1); every fourth clicks twice with the
/// same key and every ninth also tries with a second key.
async fn a_thousand_buyers_race_for_one_hundred(app: &TestApp) {
    let s = sale(app, 100, 1, -60, 3600).await;
    let mut buyers = Vec::new();
    for n in 0..1000 {
        buyers.push(shopper(app, n).await);
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .unwrap();
    let mut tasks = Vec::new();
    for (n, (_, cookie, address, card)) in buyers.iter().cloned().enumerate() {
        let mut keys = vec![format!("race-{n}-a")];
        if n % 4 == 0 {
            keys.push(format!("race-{n}-a"));
        }
        if n % 9 == 0 {
            keys.push(format!("race-{n}-b"));
        }
        for key in keys {
            let (client, base, cookie) = (client.clone(), app.base.clone(), cookie.clone());
            tasks.push(tokio::spawn(async move {
                let res = client
                    .post(format!("{base}/api/buy"))
                    .header("origin", &base)
                    .header("cookie", &cookie)
                    .form(&[
                        ("sale_id", s.to_string()),
                        ("quantity", "1".into()),
                        ("address_id", address.to_string()),
                        ("payment_method_id", card.to_string()),
                        ("idempotency_key", key),
                    ])
                    .send()
                    .await
                    .unwrap();
                (n, res.status(), res.text().await.unwrap())
            }));
        }
    }
    let mut refused = HashMap::<&str, usize>::new();
    for t in tasks {
        let (_, status, body) = t.await.unwrap();
        match status {
            StatusCode::OK => {}
            StatusCode::CONFLICT if body.contains("Sold out") => *refused.entry("sold out").or_default() += 1,
            StatusCode::CONFLICT if body.contains("Over your limit") => {
                *refused.entry("limit").or_default() += 1
            }
            StatusCode::CONFLICT if body.contains("already being placed") => {
                *refused.entry("in flight").or_default() += 1
            }
            other => panic!("unexpected answer {other}: {body}"),
        }
    }
    assert_eq!(
        count(app, "SELECT COUNT(*) FROM orders").await,
        100,
        "exactly the sale quantity: {refused:?}"
    );
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM (SELECT user_id FROM orders GROUP BY user_id HAVING COUNT(*) > 1) t"
        )
        .await,
        0,
        "nobody has two"
    );
    assert_eq!(app.store().outbox_count("order.placed").await.unwrap(), 100);
    assert!(refused.get("sold out").copied().unwrap_or(0) >= 800, "{refused:?}");
    // Gate and database agree: nothing left, and a reload from the orders says the same.
    let (_, page) = app.page(&format!("/sales/{s}")).await;
    assert_eq!(page.text("[data-testid=remaining]"), "0");
    let (rules, held) = app.store().gate_state(GateItem::Sale(s), Timestamp::now()).await.unwrap().unwrap();
    assert_eq!(rules.available, 0);
    assert_eq!(held.len(), 100);
}
