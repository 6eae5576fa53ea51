//! The order saga end to end, in both modes: embedded (SQLite + in-memory gate + in-process
//! bus) and scale-out (PostgreSQL + Redis gate + Kafka, here librdkafka's in-process mock
//! cluster). Each test places real orders over HTTP and waits for the workers to finish them,
//! then checks what a shopper and the shop's books would show: order status and reason,
//! charges and refunds in the payment provider's ledger, database stock and the stock gate.

mod common;

use common::saga::{
    buyer_cookie, cancel_as_buyer, eventually, final_status, gate_left, order_from_sale, status, text,
    timeline,
};
use common::shopping::{buy, count, sale, shopper, Buy};
use common::TestApp;
use reqwest::StatusCode;
use shop::sim::{TEST_CARD_DECLINED, TEST_CARD_TIMEOUT, UNDELIVERABLE_ZIP};
use shop_domain::gate::{GateItem, GateRules};
use std::time::Duration;

in_both_saga_modes!(
    a_paid_order_is_delivered,
    a_declined_card_fails_the_order_and_returns_the_stock,
    a_provider_that_never_answers_is_given_up_and_voided,
    a_refused_parcel_refunds_the_payment,
    a_stock_shortfall_undoes_delivery_and_payment,
    cancelling_after_payment_refunds_and_returns_the_stock(
        "SHOP_TEST_WORKERS" = "relay,orders,payment,delivery"
    ),
    cancelling_at_the_hand_over_is_refused_and_nothing_is_refunded(
        "SHOP_CARRIER_IN_TRANSIT_MS" = "600000",
        "SHOP_CARRIER_DELIVERED_MS" = "600000"
    ),
    every_event_delivered_twice_and_out_of_order_changes_nothing("SHOP_BUS_DUPLICATES" = "true"),
    stuck_orders_are_redriven_then_failed_and_gate_drift_is_repaired("SHOP_TEST_WORKERS" = ""),
);

async fn a_paid_order_is_delivered(app: &TestApp) {
    let (order, s) = order_from_sale(app, 1, "4242424242424242", "12345").await;
    assert_eq!(final_status(app, order).await, "DELIVERED");
    let kinds = timeline(app, order).await;
    let pos =
        |k: &str| kinds.iter().position(|x| x == k).unwrap_or_else(|| panic!("{k} missing in {kinds:?}"));
    assert!(
        pos("PENDING") < pos("PAID") && pos("PAID") < pos("SHIPPING") && pos("SHIPPING") < pos("DELIVERED")
    );
    assert_eq!(kinds.iter().filter(|k| *k == "PAID").count(), 1);
    assert_eq!(text(app, &format!("SELECT status FROM payments WHERE order_id = {order}")).await, "CAPTURED");
    assert_eq!(
        text(app, &format!("SELECT status FROM deliveries WHERE order_id = {order}")).await,
        "DELIVERED"
    );
    // Charged once, for the sale price; the sale's sold count and the stock moved once.
    assert_eq!(count(app, &format!("SELECT COUNT(*) FROM sim_charges WHERE order_id = {order} AND outcome = 'CAPTURED' AND amount = 4900")).await, 1);
    assert_eq!(count(app, &format!("SELECT sold FROM flash_sales WHERE id = {s}")).await, 1);
    assert_eq!(
        count(
            app,
            &format!(
                "SELECT stock FROM products WHERE id = (SELECT product_id FROM flash_sales WHERE id = {s})"
            )
        )
        .await,
        999
    );
    assert_eq!(gate_left(app, GateItem::Sale(s)).await, 9);
    // The buyer sees it on the order page, with the timeline.
    let res = app
        .another_browser()
        .get(app.url(&format!("/orders/{order}")))
        .header("cookie", buyer_cookie(app, order).await)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let page = common::Page::parse(&res.text().await.unwrap());
    assert_eq!(page.text("[data-testid=order-status]"), "Delivered");
    let entries = page.texts("[data-testid=timeline-entry] strong");
    for step in ["Placed", "Paid", "Shipped", "Delivered"] {
        assert!(entries.iter().any(|e| e == step), "{step} missing from the timeline {entries:?}");
    }
    // A stranger: the order does not exist for them.
    let (_, cookie, _, _) = shopper(app, 100).await;
    let res = app
        .another_browser()
        .get(app.url(&format!("/orders/{order}")))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.store().outbox_unsent().await.unwrap(), 0, "everything was published");
    assert_eq!(app.store().dead_letter_count().await.unwrap(), 0);
}

async fn a_declined_card_fails_the_order_and_returns_the_stock(app: &TestApp) {
    let (order, s) = order_from_sale(app, 1, TEST_CARD_DECLINED, "12345").await;
    assert_eq!(final_status(app, order).await, "FAILED");
    let reason = text(app, &format!("SELECT failure_reason FROM orders WHERE id = {order}")).await;
    assert_eq!(reason, "Payment declined: Your card was declined.");
    assert_eq!(text(app, &format!("SELECT status FROM payments WHERE order_id = {order}")).await, "DECLINED");
    eventually(
        app,
        &format!("SELECT COUNT(*) FROM order_events WHERE order_id = {order} AND kind = 'STOCK_RETURNED'"),
        1,
    )
    .await;
    assert_eq!(gate_left(app, GateItem::Sale(s)).await, 10, "the unit is back for the next buyer");
    assert_eq!(count(app, &format!("SELECT sold FROM flash_sales WHERE id = {s}")).await, 0);
    assert_eq!(count(app, "SELECT COUNT(*) FROM sim_charges WHERE outcome = 'CAPTURED'").await, 0);
    assert_eq!(
        count(
            app,
            &format!("SELECT COUNT(*) FROM deliveries WHERE order_id = {order} AND status = 'PENDING'")
        )
        .await,
        1,
        "nothing was booked"
    );
}

async fn a_provider_that_never_answers_is_given_up_and_voided(app: &TestApp) {
    let (order, s) = order_from_sale(app, 1, TEST_CARD_TIMEOUT, "12345").await;
    assert_eq!(final_status(app, order).await, "FAILED");
    let reason = text(app, &format!("SELECT failure_reason FROM orders WHERE id = {order}")).await;
    assert_eq!(reason, "Payment declined: the payment provider did not answer");
    assert_eq!(count(app, &format!("SELECT attempts FROM payments WHERE order_id = {order}")).await, 3);
    eventually(
        app,
        &format!("SELECT COUNT(*) FROM order_events WHERE order_id = {order} AND kind = 'STOCK_RETURNED'"),
        1,
    )
    .await;
    assert_eq!(gate_left(app, GateItem::Sale(s)).await, 10);
    assert_eq!(count(app, "SELECT COUNT(*) FROM sim_charges").await, 0, "nothing was charged");
}

async fn a_refused_parcel_refunds_the_payment(app: &TestApp) {
    let (order, s) = order_from_sale(app, 1, "4242424242424242", UNDELIVERABLE_ZIP).await;
    assert_eq!(final_status(app, order).await, "FAILED");
    let reason = text(app, &format!("SELECT failure_reason FROM orders WHERE id = {order}")).await;
    assert!(reason.starts_with("Delivery could not be booked"), "{reason}");
    eventually(
        app,
        &format!("SELECT COUNT(*) FROM payments WHERE order_id = {order} AND status = 'REFUNDED'"),
        1,
    )
    .await;
    assert_eq!(
        count(
            app,
            &format!("SELECT COUNT(*) FROM sim_charges WHERE order_id = {order} AND refunded_at IS NOT NULL")
        )
        .await,
        1
    );
    eventually(
        app,
        &format!("SELECT COUNT(*) FROM order_events WHERE order_id = {order} AND kind = 'STOCK_RETURNED'"),
        1,
    )
    .await;
    assert_eq!(gate_left(app, GateItem::Sale(s)).await, 10);
    assert_eq!(count(app, &format!("SELECT sold FROM flash_sales WHERE id = {s}")).await, 0);
}

async fn a_stock_shortfall_undoes_delivery_and_payment(app: &TestApp) {
    // The gate believes 5 are left, the warehouse has none (a miscount the stock worker catches).
    let s = sale(app, 5, 1, -60, 3600).await;
    app.gate()
        .load(
            GateItem::Sale(s),
            GateRules {
                available: 5,
                per_buyer_limit: Some(1),
                window: Some(app.store().sale_offer(s).await.unwrap().unwrap().window),
            },
            &[],
        )
        .await
        .unwrap();
    sqlx::query(
        "UPDATE products SET stock = 0 WHERE id = (SELECT product_id FROM flash_sales WHERE id = $1)",
    )
    .bind(s)
    .execute(app.store().pool())
    .await
    .unwrap();
    let (_, cookie, address, card) = shopper(app, 1).await;
    let res = buy(
        app,
        &app.another_browser(),
        &Buy { sale: s, cookie: &cookie, address, card, key: "shortfall-key-1", quantity: 1 },
    )
    .await;
    let order = res.json::<serde_json::Value>().await.unwrap()["order_id"].as_i64().unwrap();
    assert_eq!(final_status(app, order).await, "FAILED");
    let reason = text(app, &format!("SELECT failure_reason FROM orders WHERE id = {order}")).await;
    assert!(reason.starts_with("Out of stock"), "{reason}");
    eventually(
        app,
        &format!("SELECT COUNT(*) FROM payments WHERE order_id = {order} AND status = 'REFUNDED'"),
        1,
    )
    .await;
    eventually(
        app,
        &format!("SELECT COUNT(*) FROM deliveries WHERE order_id = {order} AND status = 'CANCELLED'"),
        1,
    )
    .await;
    eventually(
        app,
        &format!("SELECT COUNT(*) FROM order_events WHERE order_id = {order} AND kind = 'STOCK_RETURNED'"),
        1,
    )
    .await;
    assert_eq!(gate_left(app, GateItem::Sale(s)).await, 5);
    assert_eq!(
        count(app, &format!("SELECT sold FROM flash_sales WHERE id = {s}")).await,
        0,
        "nothing was committed"
    );
}

/// Paid and booked, the stock not yet committed (no stock worker runs here): the buyer may
/// still cancel, and everything is undone once: refund, delivery cancelled, units back.
async fn cancelling_after_payment_refunds_and_returns_the_stock(app: &TestApp) {
    let (order, s) = order_from_sale(app, 1, "4242424242424242", "12345").await;
    eventually(
        app,
        &format!("SELECT COUNT(*) FROM orders WHERE id = {order} AND status = 'PAID' AND saga_step = 'AWAIT_STOCK'"),
        1,
    )
    .await;
    let res = cancel_as_buyer(app, order).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(final_status(app, order).await, "CANCELLED");
    eventually(
        app,
        &format!("SELECT COUNT(*) FROM payments WHERE order_id = {order} AND status = 'REFUNDED'"),
        1,
    )
    .await;
    eventually(
        app,
        &format!("SELECT COUNT(*) FROM deliveries WHERE order_id = {order} AND status = 'CANCELLED'"),
        1,
    )
    .await;
    assert_eq!(count(app, &format!("SELECT sold FROM flash_sales WHERE id = {s}")).await, 0);
    assert_eq!(gate_left(app, GateItem::Sale(s)).await, 10);
    assert_eq!(
        count(
            app,
            &format!("SELECT COUNT(*) FROM sim_charges WHERE order_id = {order} AND refunded_at IS NOT NULL")
        )
        .await,
        1
    );
}

/// Paid, the stock committed, the parcel handed to the carrier's pickup (its clock is stopped
/// here): the carrier may take it at any moment, so a cancel is refused and nothing is
/// refunded (the hardening issue's race: a refund for goods that are on their way).
async fn cancelling_at_the_hand_over_is_refused_and_nothing_is_refunded(app: &TestApp) {
    let (order, s) = order_from_sale(app, 1, "4242424242424242", "12345").await;
    eventually(
        app,
        &format!("SELECT COUNT(*) FROM deliveries WHERE order_id = {order} AND dispatched_at IS NOT NULL"),
        1,
    )
    .await;
    assert_eq!(
        count(app, &format!("SELECT sold FROM flash_sales WHERE id = {s}")).await,
        1,
        "stock committed"
    );
    let res = cancel_as_buyer(app, order).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("carrier"));
    assert_eq!(status(app, order).await, "PAID");
    assert_eq!(app.store().outbox_count("payment.refund_requested").await.unwrap(), 0);
    assert_eq!(count(app, &format!("SELECT sold FROM flash_sales WHERE id = {s}")).await, 1);
}

async fn every_event_delivered_twice_and_out_of_order_changes_nothing(app: &TestApp) {
    // Every message arrives at least twice, and older ones come again after newer ones.
    let (ok, s1) = order_from_sale(app, 1, "4242424242424242", "12345").await;
    let (declined, s2) = order_from_sale(app, 2, TEST_CARD_DECLINED, "12345").await;
    let (refused, s3) = order_from_sale(app, 3, "4242424242424242", UNDELIVERABLE_ZIP).await;
    assert_eq!(final_status(app, ok).await, "DELIVERED");
    assert_eq!(final_status(app, declined).await, "FAILED");
    assert_eq!(final_status(app, refused).await, "FAILED");
    eventually(
        app,
        &format!("SELECT COUNT(*) FROM payments WHERE order_id = {refused} AND status = 'REFUNDED'"),
        1,
    )
    .await;
    for o in [declined, refused] {
        eventually(
            app,
            &format!("SELECT COUNT(*) FROM order_events WHERE order_id = {o} AND kind = 'STOCK_RETURNED'"),
            1,
        )
        .await;
    }
    // Each transition and each compensation happened once.
    for (o, k) in [
        (ok, "PAID"),
        (ok, "SHIPPING"),
        (ok, "DELIVERED"),
        (declined, "FAILED"),
        (refused, "FAILED"),
        (refused, "REFUNDED"),
    ] {
        assert_eq!(
            count(app, &format!("SELECT COUNT(*) FROM order_events WHERE order_id = {o} AND kind = '{k}'"))
                .await,
            1,
            "order {o}: {k} recorded once; timeline {:?}",
            timeline(app, o).await
        );
    }
    // Money: one charge per paying order, the refused one refunded once, nothing for the decline.
    assert_eq!(count(app, "SELECT COUNT(*) FROM sim_charges WHERE outcome = 'CAPTURED'").await, 2);
    assert_eq!(count(app, "SELECT COUNT(*) FROM sim_charges WHERE refunded_at IS NOT NULL").await, 1);
    // Stock: the delivered unit is sold once, the failed ones are back.
    assert_eq!(count(app, &format!("SELECT sold FROM flash_sales WHERE id = {s1}")).await, 1);
    assert_eq!(gate_left(app, GateItem::Sale(s1)).await, 9);
    assert_eq!(gate_left(app, GateItem::Sale(s2)).await, 10);
    assert_eq!(gate_left(app, GateItem::Sale(s3)).await, 10);
    assert_eq!(
        count(app, &format!("SELECT CAST(SUM(sold) AS BIGINT) FROM flash_sales WHERE id IN ({s2}, {s3})"))
            .await,
        0
    );
    assert_eq!(app.store().dead_letter_count().await.unwrap(), 0);
    // The repeats did arrive, and each was recognised and ignored: every handled message
    // comes at least once more (the last repeats may still be on their way).
    let handled = count(app, "SELECT COUNT(*) FROM processed_messages").await as u64;
    assert!(handled >= 6, "only {handled} messages handled");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while app.store().duplicates_ignored() < handled {
        assert!(
            std::time::Instant::now() < deadline,
            "{} repeats ignored for {handled} messages handled: duplicates were not delivered",
            app.store().duplicates_ignored()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// No workers run here, so nothing answers: the reconciler (driven with a clock in the future)
/// must re-drive the order, give up after `max_redrives` with every compensation queued, and
/// find and repair the stock gate's drift in both directions.
async fn stuck_orders_are_redriven_then_failed_and_gate_drift_is_repaired(app: &TestApp) {
    use shop::saga::reconciler::{Pass, Reconciler};
    use shop::saga::{SagaDeps, SagaSettings};
    use std::sync::Arc;
    let (order, s) = order_from_sale(app, 1, "4242424242424242", "12345").await;
    let deps = SagaDeps {
        store: app.store().clone(),
        bus: app.bus().clone(),
        inventory: shop_store::Inventory::new(app.store().clone(), app.gate().clone()),
        secrets: common::test_secrets(),
        payments: Arc::new(shop::sim::SimPaymentProvider::new(app.store().clone(), Default::default())),
        carrier: Arc::new(shop::sim::SimCarrier::new(Default::default())),
    };
    let settings = SagaSettings { max_redrives: 2, ..SagaSettings::default() };
    let mut reconciler = Reconciler::new(deps, settings);
    let minutes =
        |m: i64| shop_domain::Timestamp::from_millis(shop_domain::Timestamp::now().millis() + m * 60_000);
    assert_eq!(reconciler.pass(minutes(0)).await.unwrap(), Pass::default(), "nothing is stuck yet");
    let p = reconciler.pass(minutes(2)).await.unwrap();
    assert_eq!(p.redriven, 1);
    assert_eq!(text(app, &format!("SELECT saga_step FROM orders WHERE id = {order}")).await, "AWAIT_PAYMENT");
    assert_eq!(
        app.store().outbox_count("payment.requested").await.unwrap(),
        1,
        "the step's command, sent again"
    );
    assert_eq!(reconciler.pass(minutes(4)).await.unwrap().redriven, 1);
    assert_eq!(count(app, &format!("SELECT redrives FROM orders WHERE id = {order}")).await, 2);
    let p = reconciler.pass(minutes(6)).await.unwrap();
    assert_eq!(p.failed, 1, "given up after two re-drives");
    assert_eq!(status(app, order).await, "FAILED");
    for compensation in ["payment.refund_requested", "delivery.cancel_requested", "stock.release_requested"] {
        assert_eq!(app.store().outbox_count(compensation).await.unwrap(), 1, "{compensation} queued once");
    }
    assert!(timeline(app, order).await.iter().filter(|k| *k == "REDRIVE").count() == 2);
    // No stock worker runs here, so the failed order still holds its unit: that is not drift.
    assert_eq!(p.gate_repairs, 0);
    assert_eq!(gate_left(app, GateItem::Sale(s)).await, 9);
    assert_eq!(reconciler.pass(minutes(8)).await.unwrap().gate_repairs, 0, "the stock release is queued");
    // A stock worker that died between committing the release and telling the gate: the
    // line is cancelled, the gate never got the unit back. A leak, repaired once it has stood
    // still long enough not to be an in-flight checkout.
    sqlx::query("UPDATE order_lines SET status = 'CANCELLED' WHERE order_id = $1")
        .bind(order)
        .execute(app.store().pool())
        .await
        .unwrap();
    assert_eq!(reconciler.pass(minutes(9)).await.unwrap().gate_repairs, 0, "first sighting");
    assert_eq!(reconciler.pass(minutes(9).plus_secs(30)).await.unwrap().gate_repairs, 0, "not settled yet");
    assert_eq!(gate_left(app, GateItem::Sale(s)).await, 9);
    assert_eq!(reconciler.pass(minutes(10)).await.unwrap().gate_repairs, 1);
    assert_eq!(gate_left(app, GateItem::Sale(s)).await, 10);
    assert_eq!(reconciler.pass(minutes(11)).await.unwrap().gate_repairs, 0, "repaired once");
    // A gate that could sell more than the database holds is lowered on the next sighting.
    app.gate().adjust(GateItem::Sale(s), 10, 3).await.unwrap();
    assert_eq!(reconciler.pass(minutes(12)).await.unwrap().gate_repairs, 0, "first sighting");
    assert_eq!(gate_left(app, GateItem::Sale(s)).await, 13);
    assert_eq!(reconciler.pass(minutes(12).plus_secs(1)).await.unwrap().gate_repairs, 1);
    assert_eq!(gate_left(app, GateItem::Sale(s)).await, 10);

    // A buyer cancels, and the `order.cancelled` event never reaches the orders worker (no
    // worker runs here): the reconciler settles the cancel instead of asking for the payment
    // again and, after its re-drives, failing an order the buyer cancelled.
    let (cancelled, _) = order_from_sale(app, 2, "4242424242424242", "12345").await;
    let owner: i64 = count(app, &format!("SELECT user_id FROM orders WHERE id = {cancelled}")).await;
    let cancel = app
        .store()
        .cancel_order(owner, cancelled, shop_store::CancelledBy::Buyer, shop_domain::Timestamp::now())
        .await
        .unwrap();
    assert!(matches!(cancel, shop_store::Cancel::Cancelled { .. }));
    let requested = app.store().outbox_count("payment.requested").await.unwrap();
    for m in [20, 22, 24, 26] {
        reconciler.pass(minutes(m)).await.unwrap();
    }
    assert_eq!(status(app, cancelled).await, "CANCELLED", "not failed");
    assert_eq!(text(app, &format!("SELECT saga_step FROM orders WHERE id = {cancelled}")).await, "DONE");
    assert_eq!(
        app.store().outbox_count("payment.requested").await.unwrap(),
        requested,
        "never driven forward"
    );
    assert_eq!(
        count(app, &format!("SELECT COUNT(*) FROM outbox WHERE event_type = 'payment.refund_requested' AND msg_key = '{cancelled}'")).await,
        1,
        "the cancel's compensations, once"
    );

    // From AWAIT_DISPATCH on the parcel may be on its way: the reconciler keeps asking the
    // carrier past `max_redrives` and never fails (refunds) the order.
    let (dispatching, _) = order_from_sale(app, 3, "4242424242424242", "12345").await;
    sqlx::query("UPDATE orders SET status = 'PAID', saga_step = 'AWAIT_DISPATCH', redrives = 0, step_since = $1 WHERE id = $2")
        .bind(minutes(30).millis())
        .bind(dispatching)
        .execute(app.store().pool())
        .await
        .unwrap();
    let asked = app.store().outbox_count("delivery.dispatch_requested").await.unwrap();
    for m in [32, 34, 36, 38, 40] {
        let p = reconciler.pass(minutes(m)).await.unwrap();
        assert_eq!(p.failed, 0, "never given up (pass at +{m} min)");
    }
    assert_eq!(status(app, dispatching).await, "PAID");
    assert_eq!(
        text(app, &format!("SELECT saga_step FROM orders WHERE id = {dispatching}")).await,
        "AWAIT_DISPATCH"
    );
    assert_eq!(count(app, &format!("SELECT redrives FROM orders WHERE id = {dispatching}")).await, 5);
    assert_eq!(
        app.store().outbox_count("delivery.dispatch_requested").await.unwrap(),
        asked + 5,
        "the carrier asked again on every pass"
    );
    assert_eq!(
        count(app, &format!("SELECT COUNT(*) FROM outbox WHERE event_type = 'payment.refund_requested' AND msg_key = '{dispatching}'")).await,
        0,
        "nothing refunded"
    );
}
