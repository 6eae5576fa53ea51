//! The buy path under a rush, as buyers see it: the gate decides before anything else about
//! the form is looked up, a form that turns out wrong gives its unit back, who is signed in is
//! read afresh on every request, and a saturated buy path answers 503 with `Retry-After` and
//! takes nothing.

mod common;

use common::shopping::{buy, count, sale, shopper, Buy};
use common::TestApp;
use reqwest::StatusCode;
use shop_domain::{Role, Timestamp};
use shop_store::NewUser;

in_both_shop_modes!(&[] =>
    a_refused_buyer_hears_why_whatever_else_the_form_says,
    a_form_that_turns_out_wrong_gives_its_unit_back,
    a_role_or_profile_change_shows_on_the_very_next_request,
);
in_both_shop_modes!(&[("SHOP_BUY_CONCURRENCY", "1"), ("SHOP_BUY_QUEUE_MS", "50")] =>
    a_saturated_buy_path_sheds_with_503_and_takes_nothing,
);

async fn gate_sold(app: &TestApp, sale: i64) -> i64 {
    let v: serde_json::Value =
        reqwest::get(app.url(&format!("/api/sale?id={sale}"))).await.unwrap().json().await.unwrap();
    v["summary"]["sold"].as_i64().unwrap()
}

/// Sold out is the answer, even when the form also names an address that is not the buyer's:
/// the gate is asked first, so a refused buyer costs the shop nothing more.
async fn a_refused_buyer_hears_why_whatever_else_the_form_says(app: &TestApp) {
    let on_sale = sale(app, 1, 1, -5, 3600).await;
    let (_, first, address, card) = shopper(app, 1).await;
    let client = app.another_browser();
    let res = buy(
        app,
        &client,
        &Buy { sale: on_sale, cookie: &first, address, card, key: "first-buyer-1", quantity: 1 },
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let (_, late, _, late_card) = shopper(app, 2).await;
    // The first buyer's address id: not the late buyer's.
    let res = buy(
        app,
        &client,
        &Buy { sale: on_sale, cookie: &late, address, card: late_card, key: "late-buyer-1", quantity: 1 },
    )
    .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("Sold out"));
    assert_eq!(count(app, "SELECT COUNT(*) FROM orders").await, 1);
}

/// The gate takes the unit, then the address turns out not to be the buyer's: the answer
/// names the field, and the unit is free again for the next buyer.
async fn a_form_that_turns_out_wrong_gives_its_unit_back(app: &TestApp) {
    let on_sale = sale(app, 1, 1, -5, 3600).await;
    let (_, careless, _, card) = shopper(app, 1).await;
    let (_, next, next_address, next_card) = shopper(app, 2).await;
    let client = app.another_browser();
    let res = buy(
        app,
        &client,
        &Buy {
            sale: on_sale,
            cookie: &careless,
            address: next_address,
            card,
            key: "careless-1",
            quantity: 1,
        },
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("address_id"));
    assert_eq!(gate_sold(app, on_sale).await, 0, "the unit went back");
    let res = buy(
        app,
        &client,
        &Buy {
            sale: on_sale,
            cookie: &next,
            address: next_address,
            card: next_card,
            key: "next-buyer-1",
            quantity: 1,
        },
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK, "the next buyer gets it");
    assert_eq!(count(app, "SELECT COUNT(*) FROM orders").await, 1);
}

async fn user(app: &TestApp, name: &str, role: Role) -> String {
    let id = app
        .store()
        .create_user(
            &NewUser {
                email: format!("{name}@example.com"),
                username: name.into(),
                password_hash: "unused".into(),
                name: name.into(),
                phone: None,
                role,
                email_verified: true,
            },
            Timestamp::now(),
        )
        .await
        .unwrap();
    common::shopping::session_cookie(app.store(), id).await
}

async fn get(app: &TestApp, cookie: &str, path: &str) -> reqwest::Response {
    app.another_browser().get(app.url(path)).header("cookie", cookie).send().await.unwrap()
}

async fn post(app: &TestApp, cookie: &str, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    app.another_browser()
        .post(app.url(path))
        .header("origin", &app.base)
        .header("cookie", cookie)
        .form(fields)
        .send()
        .await
        .unwrap()
}

/// Who is asking is read with the session on every request: a demoted admin is refused on the
/// very next request (within the same second), and a new name shows at once.
async fn a_role_or_profile_change_shows_on_the_very_next_request(app: &TestApp) {
    let boss = user(app, "boss", Role::Admin).await;
    let sam = user(app, "sam", Role::Admin).await;
    assert_eq!(get(app, &sam, "/api/admin/dashboard").await.status(), StatusCode::OK);
    let res =
        post(app, &boss, "/api/admin/role", &[("email", "sam@example.com"), ("role", "customer")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(get(app, &sam, "/api/admin/dashboard").await.status(), StatusCode::FORBIDDEN);

    let me: serde_json::Value = get(app, &sam, "/api/me").await.json().await.unwrap();
    assert_eq!(me["name"], "sam");
    let res = post(app, &sam, "/api/account/profile", &[("name", "Samantha"), ("phone", "")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let me: serde_json::Value = get(app, &sam, "/api/me").await.json().await.unwrap();
    assert_eq!(me["name"], "Samantha");
    // A change made outside this process (another web process, `shop admin promote`): the
    // next request reads the user with the session, so it shows too.
    app.store().set_role(me["id"].as_i64().unwrap(), Role::Admin, Timestamp::now()).await.unwrap();
    assert_eq!(get(app, &sam, "/api/admin/dashboard").await.status(), StatusCode::OK);
}

/// Every place on the buy path is taken: a buyer is answered at once with 503, `Retry-After`
/// and a message (JSON for scripts, a page for a browser form), and nothing is taken; once a
/// place is free the same form buys.
async fn a_saturated_buy_path_sheds_with_503_and_takes_nothing(app: &TestApp) {
    let on_sale = sale(app, 5, 1, -5, 3600).await;
    let (_, cookie, address, card) = shopper(app, 1).await;
    let client = app.another_browser();
    let form = Buy { sale: on_sale, cookie: &cookie, address, card, key: "shed-then-buy-1", quantity: 1 };
    let held = app.buy_queue().hold().expect("the only place");
    let res = buy(app, &client, &form).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    assert!(res.text().await.unwrap().contains("very busy"));
    let page = client
        .post(app.url("/api/buy"))
        .header("origin", &app.base)
        .header("cookie", &cookie)
        .header("accept", "text/html")
        .form(&[("sale_id", on_sale.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(page.text().await.unwrap().contains("Nothing was taken"));
    assert_eq!(count(app, "SELECT COUNT(*) FROM orders").await, 0);
    assert_eq!(gate_sold(app, on_sale).await, 0);
    // Staff see both in the shop's shed count (each process reports it once a second).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let shed = app.gate().tally(on_sale, Timestamp::now()).await.unwrap().shed;
        if shed == 2 {
            break;
        }
        assert!(shed < 2 && std::time::Instant::now() < deadline, "shed count {shed}, want 2");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Browsing is never shed.
    assert_eq!(reqwest::get(app.url(&format!("/sales/{on_sale}"))).await.unwrap().status(), StatusCode::OK);

    drop(held);
    let res = buy(app, &client, &form).await;
    assert_eq!(res.status(), StatusCode::OK, "the same form buys once a place is free");
    assert_eq!(gate_sold(app, on_sale).await, 1);
}
