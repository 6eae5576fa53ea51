//! Returns after delivery, in both saga modes (embedded; PostgreSQL + Redis + Kafka): the
//! buyer asks, staff approve or refuse on the admin order page, and an approved return is
//! refunded once through the payment provider and its units go back into the product's regular
//! stock (database and gate) once, even when every event arrives twice.

mod common;

use common::saga::{buyer_cookie, eventually, final_status, gate_left, text, timeline};
use common::shopping::{buy, count, sale, shopper, Buy};
use common::TestApp;
use reqwest::StatusCode;
use shop_domain::gate::GateItem;
use std::time::Duration;

in_both_saga_modes!(
    a_return_is_refunded_once_and_restocked_once_with_every_event_twice("SHOP_BUS_DUPLICATES" = "true"),
    returns_are_refused_outside_the_window_for_undelivered_orders_and_twice,
    staff_refuse_with_a_note_and_decide_once,
);

async fn post(app: &TestApp, cookie: &str, path: &str, fields: &[(&str, String)]) -> reqwest::Response {
    app.another_browser()
        .post(app.url(path))
        .header("origin", &app.base)
        .header("cookie", cookie)
        .form(fields)
        .send()
        .await
        .unwrap()
}

/// A delivered order of `quantity` units from a new sale (limit 2): (order, sale, product).
async fn delivered(app: &TestApp, n: i64, quantity: u32) -> (i64, i64, i64) {
    let (order, s, product, _) = delivered_to(app, n, quantity).await;
    (order, s, product)
}

/// [`delivered`], with the buyer (cookie, address, card) to buy again.
async fn delivered_to(app: &TestApp, n: i64, quantity: u32) -> (i64, i64, i64, (String, i64, i64)) {
    let s = sale(app, 10, 2, -60, 3600).await;
    let (_, cookie, address, card) = shopper(app, n).await;
    let res = buy(
        app,
        &app.another_browser(),
        &Buy { sale: s, cookie: &cookie, address, card, key: &format!("return-key-{n:08}"), quantity },
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let order = res.json::<serde_json::Value>().await.unwrap()["order_id"].as_i64().unwrap();
    assert_eq!(final_status(app, order).await, "DELIVERED");
    let product = count(app, &format!("SELECT product_id FROM flash_sales WHERE id = {s}")).await;
    (order, s, product, (cookie, address, card))
}

async fn line_of(app: &TestApp, order: i64) -> i64 {
    count(app, &format!("SELECT id FROM order_lines WHERE order_id = {order}")).await
}

async fn ask_return(app: &TestApp, order: i64, units: &str, reason: &str) -> reqwest::Response {
    let line = line_of(app, order).await;
    post(
        app,
        &buyer_cookie(app, order).await,
        "/api/orders/return",
        &[("id", order.to_string()), (&format!("qty[{line}]"), units.to_string()), ("reason", reason.to_string())],
    )
    .await
}

async fn staff(app: &TestApp) -> String {
    let (id, cookie, _, _) = shopper(app, 900).await;
    app.store().set_role(id, shop_domain::Role::Admin, shop_domain::Timestamp::now()).await.unwrap();
    cookie
}

async fn returns_mails(app: &TestApp, order: i64) -> i64 {
    count(app, &format!("SELECT COUNT(*) FROM mail_outbox WHERE kind = 'RETURN' AND subject LIKE '%#{order}'")).await
}

fn kinds(list: &[String], kind: &str) -> usize {
    list.iter().filter(|k| *k == kind).count()
}

async fn a_return_is_refunded_once_and_restocked_once_with_every_event_twice(app: &TestApp) {
    let (order, s, product, (cookie, address, card)) = delivered_to(app, 1, 2).await;
    let stock_before = count(app, &format!("SELECT stock FROM products WHERE id = {product}")).await;
    let sold_before = count(app, &format!("SELECT sold_count FROM products WHERE id = {product}")).await;

    // One of the two units comes back.
    let res = ask_return(app, order, "1", "Too   bright for my desk").await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap());
    assert_eq!(text(app, &format!("SELECT status FROM returns WHERE order_id = {order}")).await, "REQUESTED");
    assert_eq!(text(app, &format!("SELECT reason FROM returns WHERE order_id = {order}")).await, "Too bright for my desk");
    assert_eq!(count(app, &format!("SELECT amount FROM returns WHERE order_id = {order}")).await, 4_900);
    assert_eq!(returns_mails(app, order).await, 1, "the buyer hears the request arrived");
    // The buyer's order page shows it, and no second form.
    let (status, page) = app.page_as(&buyer_cookie(app, order).await, &format!("/orders/{order}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page.text("[data-testid=return-status]"), "Return requested");
    assert_eq!(page.count("form.return-form"), 0);

    let admin = staff(app).await;
    let (status, queue) = app.page_as(&admin, "/admin/returns?status=requested").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(queue.count("tr.return-row"), 1);
    let res = post(app, &admin, "/api/admin/returns/approve", &[("id", order.to_string())]).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap());

    eventually(app, &format!("SELECT COUNT(*) FROM returns WHERE order_id = {order} AND status = 'REFUNDED'"), 1).await;
    eventually(app, &format!("SELECT COUNT(*) FROM returns WHERE order_id = {order} AND restocked_at IS NOT NULL"), 1)
        .await;
    // A second approval changes nothing.
    let res = post(app, &admin, "/api/admin/returns/approve", &[("id", order.to_string())]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);

    // Every message arrives at least twice: wait until the repeats were seen and ignored.
    let handled = count(app, "SELECT COUNT(*) FROM processed_messages").await as u64;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while app.store().duplicates_ignored() < handled {
        assert!(std::time::Instant::now() < deadline, "the repeats never arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Refunded once, for the one unit, at the provider; the payment stays captured for the rest.
    assert_eq!(
        count(app, &format!("SELECT COUNT(*) FROM sim_charges WHERE order_id = {order} AND refunded_at IS NOT NULL")).await,
        1
    );
    assert_eq!(count(app, &format!("SELECT refunded_amount FROM sim_charges WHERE order_id = {order}")).await, 4_900);
    assert_eq!(text(app, &format!("SELECT status FROM payments WHERE order_id = {order}")).await, "CAPTURED");
    let t = timeline(app, order).await;
    for k in ["RETURN_REQUESTED", "RETURN_APPROVED", "RETURN_REFUNDED", "RETURN_RESTOCKED"] {
        assert_eq!(kinds(&t, k), 1, "{k} once in {t:?}");
    }
    assert_eq!(returns_mails(app, order).await, 3, "requested, approved, refunded");
    assert_eq!(app.store().outbox_count("return.refund_requested").await.unwrap(), 1);

    // The unit is back in the product's regular stock, in the database and the gate, once; the
    // sale keeps its count.
    assert_eq!(count(app, &format!("SELECT stock FROM products WHERE id = {product}")).await, stock_before + 1);
    assert_eq!(count(app, &format!("SELECT sold_count FROM products WHERE id = {product}")).await, sold_before - 1);
    assert_eq!(count(app, &format!("SELECT sold FROM flash_sales WHERE id = {s}")).await, 2);
    let gate = gate_left(app, GateItem::Product(product)).await;
    assert_eq!(gate, stock_before + 1 - (10 - 2), "the gate has the returned unit (less the sale's unsold allotment)");

    // Returned sale units still count toward the limit: the buyer can't buy two more.
    let again = buy(
        app,
        &app.another_browser(),
        &Buy { sale: s, cookie: &cookie, address, card, key: "return-key-again", quantity: 1 },
    )
    .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert!(again.text().await.unwrap().contains("limit"));

    // The buyer's page says refunded; the admin's order page shows the return, without buttons.
    let (_, page) = app.page_as(&buyer_cookie(app, order).await, &format!("/orders/{order}")).await;
    assert_eq!(page.text("[data-testid=return-status]"), "Refunded");
    let (_, page) = app.page_as(&admin, &format!("/admin/orders/{order}")).await;
    assert_eq!(page.text("[data-testid=return-status]"), "Refunded");
    assert_eq!(page.count("form.refuse-form"), 0);
    assert_eq!(app.store().dead_letter_count().await.unwrap(), 0);
}

async fn returns_are_refused_outside_the_window_for_undelivered_orders_and_twice(app: &TestApp) {
    let (order, _, _) = delivered(app, 2, 1).await;
    // Bad forms: a clear 400 naming the field, and nothing written.
    let res = ask_return(app, order, "2", "broken").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("from 0 to 1"));
    let res = ask_return(app, order, "1", "   ").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("why"));
    let res = ask_return(app, order, "0", "broken").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // Someone else's order does not exist for them.
    let (_, stranger, _, _) = shopper(app, 77).await;
    let line = line_of(app, order).await;
    let fields = [("id", order.to_string()), (&*format!("qty[{line}]"), "1".to_string()), ("reason", "x".into())];
    let res = post(app, &stranger, "/api/orders/return", &fields).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(count(app, "SELECT COUNT(*) FROM returns").await, 0);

    // Outside the window (delivered 15 days ago, 14 allowed): refused, and the page offers no form.
    let cookie = buyer_cookie(app, order).await;
    let (_, page) = app.page_as(&cookie, &format!("/orders/{order}")).await;
    assert_eq!(page.count("form.return-form"), 1, "a delivered order offers a return");
    sqlx::query("UPDATE orders SET delivered_at = delivered_at - $1 WHERE id = $2")
        .bind(15 * 86_400_000i64)
        .bind(order)
        .execute(app.store().pool())
        .await
        .unwrap();
    let res = ask_return(app, order, "1", "changed my mind").await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("return window"));
    let (_, page) = app.page_as(&cookie, &format!("/orders/{order}")).await;
    assert_eq!(page.count("form.return-form"), 0);

    // A cancelled order was never kept: nothing to return.
    let s = sale(app, 10, 2, -60, 3600).await;
    let (_, cookie, address, card) = shopper(app, 3).await;
    let res = buy(app, &app.another_browser(), &Buy { sale: s, cookie: &cookie, address, card, key: "k-cancel", quantity: 1 })
        .await;
    let cancelled = res.json::<serde_json::Value>().await.unwrap()["order_id"].as_i64().unwrap();
    let res = post(app, &cookie, "/api/orders/cancel", &[("id", cancelled.to_string())]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(final_status(app, cancelled).await, "CANCELLED");
    let res = ask_return(app, cancelled, "1", "never came").await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("Only a delivered order"));

    // One return per order.
    let (twice, _, _) = delivered(app, 4, 1).await;
    assert_eq!(ask_return(app, twice, "1", "scratched").await.status(), StatusCode::OK);
    let res = ask_return(app, twice, "1", "scratched").await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("already requested"));
    assert_eq!(count(app, "SELECT COUNT(*) FROM returns").await, 1);
}

async fn staff_refuse_with_a_note_and_decide_once(app: &TestApp) {
    let (order, _, product) = delivered(app, 5, 1).await;
    let stock = count(app, &format!("SELECT stock FROM products WHERE id = {product}")).await;
    assert_eq!(ask_return(app, order, "1", "<b>worn</b> once").await.status(), StatusCode::OK);
    let admin = staff(app).await;
    // The admin order page escapes the buyer's reason and offers both answers.
    let (_, page) = app.page_as(&admin, &format!("/admin/orders/{order}")).await;
    assert_eq!(page.text("[data-testid=return-reason]"), "<b>worn</b> once");
    assert_eq!(page.count("form.refuse-form"), 1);
    // Customers can't decide.
    let res = post(app, &buyer_cookie(app, order).await, "/api/admin/returns/approve", &[("id", order.to_string())]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // A refusal needs a note.
    let res = post(app, &admin, "/api/admin/returns/refuse", &[("id", order.to_string()), ("note", " ".into())]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let note = "Worn items can't be returned.";
    let res = post(app, &admin, "/api/admin/returns/refuse", &[("id", order.to_string()), ("note", note.into())]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(text(app, &format!("SELECT status FROM returns WHERE order_id = {order}")).await, "REFUSED");
    let res = post(app, &admin, "/api/admin/returns/approve", &[("id", order.to_string())]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("refused"));
    // No refund and no restock were queued; the buyer is told why.
    assert_eq!(app.store().outbox_count("return.refund_requested").await.unwrap(), 0);
    assert_eq!(count(app, &format!("SELECT stock FROM products WHERE id = {product}")).await, stock);
    let body = text(app, &format!("SELECT text_body FROM mail_outbox WHERE subject = 'Return refused for order #{order}'")).await;
    assert!(body.contains(note.trim_end_matches('.')), "{body}");
    let (_, page) = app.page_as(&buyer_cookie(app, order).await, &format!("/orders/{order}")).await;
    assert!(page.text("[data-testid=return-explain]").contains("Worn items"));
    // The queue filters by status; an unknown one is a 400.
    let (_, queue) = app.page_as(&admin, "/admin/returns?status=REFUSED").await;
    assert_eq!(queue.count("tr.return-row"), 1);
    let (_, queue) = app.page_as(&admin, "/admin/returns?status=REQUESTED").await;
    assert_eq!(queue.count("tr.return-row"), 0);
    let (status, _) = app.page_as(&admin, "/admin/returns?status=lost").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let audit = count(app, &format!("SELECT COUNT(*) FROM audit_log WHERE action = 'return.refuse' AND target = 'order:{order}'")).await;
    assert_eq!(audit, 1);
}
