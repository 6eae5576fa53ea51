//! One suite, two stock gates: the in-memory gate and the Redis (Lua) gate must give the same
//! answers, including under a 1,000-buyer race for 100 units.

use shop::gate::{MemoryGate, RedisGate};
use shop_domain::activity::{Second, Tally, WINDOW_SECS};
use shop_domain::gate::{Decision, GateItem, GateRules, Holding, ReserveRequest, StockGate};
use shop_domain::{SaleWindow, Timestamp};
use std::collections::HashMap;
use std::sync::Arc;

fn redis_url() -> String {
    std::env::var("SHOP_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A fresh key space per test, so tests never see each other's stock.
async fn redis_gate() -> Arc<dyn StockGate> {
    let prefix = format!(
        "test:{}:{}:",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    );
    Arc::new(RedisGate::connect(&redis_url(), &prefix).await.unwrap_or_else(|e| {
        panic!("Redis at {} is needed for the Redis gate tests (run scripts/services): {e}", redis_url())
    }))
}

fn memory_gate() -> Arc<dyn StockGate> {
    Arc::new(MemoryGate::new())
}

const NOW: Timestamp = Timestamp::from_millis(1_800_000_000_000);

fn sale_rules(available: i64, limit: i64) -> GateRules {
    GateRules {
        available,
        per_buyer_limit: Some(limit),
        window: Some(SaleWindow::new(NOW.plus_secs(-60), NOW.plus_secs(3600)).unwrap()),
    }
}

fn req(item: GateItem, buyer: i64, quantity: u32, key: &str) -> ReserveRequest {
    ReserveRequest { item, buyer, quantity, idempotency_key: key.to_string(), now: NOW }
}

macro_rules! on_both_gates {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                // Several worker threads: racing buyers really overlap (the memory gate's
                // `reserve` has no await point, so one thread would run them one by one).
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn memory() { super::$name(super::memory_gate()).await }
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn redis() { super::$name(super::redis_gate().await).await }
            }
        )*
    };
}

on_both_gates!(
    admin_edits_keep_reservations_in_flight,
    rules_are_checked_in_order,
    double_submits_take_stock_once,
    release_happens_exactly_once,
    loading_never_resets_stock,
    regular_products_have_no_window_or_limit,
    holds_loaded_after_a_restart_still_count,
    a_thousand_buyers_race_for_one_hundred,
    drift_repairs_adjust_without_losing_holdings,
    decisions_are_counted_once_each,
);

/// What the admin's live view shows: each decision counted once, units per second with the
/// stock left after them; duplicates, refusals outside the window and products count nothing.
async fn decisions_are_counted_once_each(gate: Arc<dyn StockGate>) {
    let sale = GateItem::Sale(4);
    gate.load(sale, sale_rules(3, 2), &[]).await.unwrap();
    assert_eq!(gate.tally(4, NOW).await.unwrap(), Tally::default());
    assert!(matches!(gate.reserve(&req(sale, 1, 2, "a")).await.unwrap(), Decision::Reserved { remaining: 1 }));
    assert_eq!(gate.reserve(&req(sale, 1, 2, "a")).await.unwrap(), Decision::Duplicate);
    assert!(matches!(gate.reserve(&req(sale, 1, 1, "b")).await.unwrap(), Decision::OverLimit { .. }));
    let later = ReserveRequest { now: NOW.plus_secs(2), ..req(sale, 2, 1, "c") };
    assert!(matches!(gate.reserve(&later).await.unwrap(), Decision::Reserved { remaining: 0 }));
    assert_eq!(gate.reserve(&req(sale, 3, 1, "d")).await.unwrap(), Decision::SoldOut);
    let too_late = ReserveRequest { now: NOW.plus_secs(7200), ..req(sale, 5, 1, "e") };
    assert_eq!(gate.reserve(&too_late).await.unwrap(), Decision::Ended);
    let product = GateItem::Product(4);
    gate.load(product, GateRules { available: 5, per_buyer_limit: None, window: None }, &[]).await.unwrap();
    gate.reserve(&req(product, 1, 1, "p")).await.unwrap();
    gate.add_shed(2).await.unwrap();
    gate.add_shed(1).await.unwrap();

    let sec = NOW.millis() / 1000;
    let tally = gate.tally(4, NOW.plus_secs(3)).await.unwrap();
    assert_eq!(
        tally,
        Tally {
            accepted: 2,
            units: 3,
            sold_out: 1,
            over_limit: 1,
            shed: 3,
            seconds: vec![Second { at: sec, units: 2, remaining: 1 }, Second { at: sec + 2, units: 1, remaining: 0 }],
        }
    );
    // A minute on, the seconds have left the window; the totals stay.
    let later = gate.tally(4, NOW.plus_secs(3 + WINDOW_SECS)).await.unwrap();
    assert_eq!((later.seconds.len(), later.accepted, later.units), (0, 2, 3));
    assert_eq!(gate.tally(99, NOW).await.unwrap().accepted, 0, "a sale the gate never loaded");
}

/// The reconciler's repair: units added or removed atomically, never below zero, holdings
/// and remembered keys untouched; unknown items are left alone.
async fn drift_repairs_adjust_without_losing_holdings(gate: Arc<dyn StockGate>) {
    let item = GateItem::Sale(9);
    assert_eq!(gate.adjust(item, 0, 1).await.unwrap(), None, "not loaded: nothing to repair");
    gate.load(item, sale_rules(3, 1), &[]).await.unwrap();
    gate.reserve(&req(item, 1, 1, "a")).await.unwrap();
    assert_eq!(
        gate.adjust(item, 3, 2).await.unwrap(),
        None,
        "the count moved since it was seen: not applied"
    );
    assert_eq!(gate.available(item).await.unwrap(), Some(2));
    assert_eq!(gate.adjust(item, 2, 2).await.unwrap(), Some(4));
    assert_eq!(
        gate.adjust(item, 2, 2).await.unwrap(),
        None,
        "a second reconciler's same repair: not applied"
    );
    assert_eq!(gate.adjust(item, 4, -10).await.unwrap(), Some(0), "never below zero");
    assert_eq!(gate.reserve(&req(item, 2, 1, "b")).await.unwrap(), Decision::SoldOut);
    assert_eq!(gate.adjust(item, 0, 1).await.unwrap(), Some(1));
    assert_eq!(gate.reserve(&req(item, 1, 1, "a")).await.unwrap(), Decision::Duplicate, "keys kept");
    assert_eq!(gate.reserve(&req(item, 1, 1, "c")).await.unwrap(), Decision::OverLimit { limit: 1, held: 1 });
}

async fn rules_are_checked_in_order(gate: Arc<dyn StockGate>) {
    let item = GateItem::Sale(1);
    assert_eq!(gate.reserve(&req(item, 1, 1, "a")).await.unwrap(), Decision::Unknown, "not loaded yet");
    assert!(gate.load(item, sale_rules(3, 2), &[]).await.unwrap());
    let early = ReserveRequest { now: NOW.plus_secs(-120), ..req(item, 1, 1, "early") };
    assert_eq!(gate.reserve(&early).await.unwrap(), Decision::NotStarted { starts_at: NOW.plus_secs(-60) });
    let late = ReserveRequest { now: NOW.plus_secs(3600), ..req(item, 1, 1, "late") };
    assert_eq!(gate.reserve(&late).await.unwrap(), Decision::Ended);
    assert_eq!(
        gate.reserve(&req(item, 1, 3, "big")).await.unwrap(),
        Decision::OverLimit { limit: 2, held: 0 }
    );
    assert_eq!(gate.reserve(&req(item, 1, 2, "k1")).await.unwrap(), Decision::Reserved { remaining: 1 });
    assert_eq!(
        gate.reserve(&req(item, 1, 1, "k2")).await.unwrap(),
        Decision::OverLimit { limit: 2, held: 2 }
    );
    assert_eq!(gate.reserve(&req(item, 2, 2, "k3")).await.unwrap(), Decision::SoldOut, "only 1 left");
    assert_eq!(gate.reserve(&req(item, 2, 1, "k4")).await.unwrap(), Decision::Reserved { remaining: 0 });
    assert_eq!(gate.reserve(&req(item, 3, 1, "k5")).await.unwrap(), Decision::SoldOut);
    assert_eq!(gate.available(item).await.unwrap(), Some(0));
    assert!(gate.reserve(&req(item, 3, 0, "zero")).await.is_err(), "zero units is a caller bug");
}

async fn double_submits_take_stock_once(gate: Arc<dyn StockGate>) {
    let item = GateItem::Sale(2);
    gate.load(item, sale_rules(10, 5), &[]).await.unwrap();
    assert_eq!(gate.reserve(&req(item, 7, 2, "same")).await.unwrap(), Decision::Reserved { remaining: 8 });
    for _ in 0..3 {
        assert_eq!(gate.reserve(&req(item, 7, 2, "same")).await.unwrap(), Decision::Duplicate);
    }
    assert_eq!(gate.available(item).await.unwrap(), Some(8));
    // The same key from another buyer is another purchase.
    assert_eq!(gate.reserve(&req(item, 8, 2, "same")).await.unwrap(), Decision::Reserved { remaining: 6 });
}

async fn release_happens_exactly_once(gate: Arc<dyn StockGate>) {
    let item = GateItem::Sale(3);
    gate.load(item, sale_rules(5, 1), &[]).await.unwrap();
    gate.reserve(&req(item, 1, 1, "k")).await.unwrap();
    assert_eq!(gate.available(item).await.unwrap(), Some(4));
    assert!(gate.release(item, 1, "k").await.unwrap());
    assert!(!gate.release(item, 1, "k").await.unwrap(), "a second release gives nothing back");
    assert!(!gate.release(item, 1, "never").await.unwrap());
    assert_eq!(gate.available(item).await.unwrap(), Some(5));
    // The buyer's limit is freed too, but the released key stays spent.
    assert_eq!(gate.reserve(&req(item, 1, 1, "k")).await.unwrap(), Decision::Duplicate);
    assert_eq!(gate.reserve(&req(item, 1, 1, "k2")).await.unwrap(), Decision::Reserved { remaining: 4 });
}

async fn loading_never_resets_stock(gate: Arc<dyn StockGate>) {
    let item = GateItem::Sale(4);
    assert!(gate.load(item, sale_rules(2, 2), &[]).await.unwrap());
    gate.reserve(&req(item, 1, 2, "k")).await.unwrap();
    assert!(!gate.load(item, sale_rules(2, 2), &[]).await.unwrap(), "already loaded: untouched");
    assert_eq!(gate.available(item).await.unwrap(), Some(0));
    // An admin raising a live sale's quantity by 3 adds 3 and keeps who holds what.
    assert!(gate.update(item, sale_rules(999, 2), 3).await.unwrap(), "the count is not taken from the rules");
    assert_eq!(gate.available(item).await.unwrap(), Some(3));
    assert_eq!(
        gate.reserve(&req(item, 1, 1, "k2")).await.unwrap(),
        Decision::OverLimit { limit: 2, held: 2 }
    );
    assert_eq!(gate.reserve(&req(item, 2, 1, "k3")).await.unwrap(), Decision::Reserved { remaining: 2 });
    assert!(!gate.update(GateItem::Sale(404), sale_rules(1, 1), 1).await.unwrap(), "not loaded: nothing");
}

/// An admin edit read from the database while a buyer's reservation is in flight (taken in
/// the gate, its order not yet written) must not give that unit out again.
async fn admin_edits_keep_reservations_in_flight(gate: Arc<dyn StockGate>) {
    let item = GateItem::Sale(5);
    gate.load(item, sale_rules(10, 1), &[]).await.unwrap();
    // The admin's save reads the database: 10 left (nobody has ordered yet)…
    let read_by_admin = sale_rules(10 + 5, 3);
    // … meanwhile a buyer reserves one; its order is still being written.
    assert_eq!(gate.reserve(&req(item, 1, 1, "k")).await.unwrap(), Decision::Reserved { remaining: 9 });
    // The admin raised the quantity by 5 and the limit to 3.
    gate.update(item, read_by_admin, 5).await.unwrap();
    assert_eq!(gate.available(item).await.unwrap(), Some(14), "10 + 5 − the one in flight");
    assert_eq!(gate.reserve(&req(item, 1, 2, "k2")).await.unwrap(), Decision::Reserved { remaining: 12 });
    // Lowering never goes below zero.
    gate.update(item, read_by_admin, -100).await.unwrap();
    assert_eq!(gate.available(item).await.unwrap(), Some(0));
}

fn holding(buyer: i64, key: &str, units: i64) -> Holding {
    Holding { buyer, key: key.into(), units }
}

/// After a restart the gate is loaded from the orders in the database: what each buyer
/// already bought still counts against the limit, a live order's key is a duplicate, and a
/// live order that fails later gives its units back exactly once.
async fn holds_loaded_after_a_restart_still_count(gate: Arc<dyn StockGate>) {
    let item = GateItem::Sale(6);
    let held = [holding(41, "p", 1), holding(41, "q", 1), holding(42, "r", 1)];
    assert!(gate.load(item, sale_rules(8, 2), &held).await.unwrap());
    assert_eq!(gate.reserve(&req(item, 41, 1, "p")).await.unwrap(), Decision::Duplicate);
    assert_eq!(
        gate.reserve(&req(item, 41, 1, "x")).await.unwrap(),
        Decision::OverLimit { limit: 2, held: 2 }
    );
    assert_eq!(gate.reserve(&req(item, 42, 1, "y")).await.unwrap(), Decision::Reserved { remaining: 7 });
    assert_eq!(
        gate.reserve(&req(item, 42, 1, "z")).await.unwrap(),
        Decision::OverLimit { limit: 2, held: 2 }
    );
    assert!(
        gate.release(item, 41, "q").await.unwrap(),
        "an order from before the restart gives its unit back"
    );
    assert!(!gate.release(item, 41, "q").await.unwrap(), "once");
    assert_eq!(gate.available(item).await.unwrap(), Some(8));
    assert_eq!(gate.reserve(&req(item, 41, 1, "s")).await.unwrap(), Decision::Reserved { remaining: 7 });
}

async fn regular_products_have_no_window_or_limit(gate: Arc<dyn StockGate>) {
    let item = GateItem::Product(9);
    gate.load(item, GateRules { available: 100, per_buyer_limit: None, window: None }, &[]).await.unwrap();
    let far_future =
        ReserveRequest { now: Timestamp::from_millis(4_000_000_000_000), ..req(item, 1, 60, "a") };
    assert_eq!(gate.reserve(&far_future).await.unwrap(), Decision::Reserved { remaining: 40 });
    assert_eq!(gate.reserve(&req(item, 1, 41, "b")).await.unwrap(), Decision::SoldOut);
    assert_eq!(gate.reserve(&req(item, 1, 40, "c")).await.unwrap(), Decision::Reserved { remaining: 0 });
}

/// 1,000 buyers (limit 1) race for 100 units; every fifth buyer double-submits with the same
/// key and every seventh also tries a second key. Exactly 100 are sold, one per buyer.
async fn a_thousand_buyers_race_for_one_hundred(gate: Arc<dyn StockGate>) {
    let item = GateItem::Sale(5);
    gate.load(item, sale_rules(100, 1), &[]).await.unwrap();
    let mut attempts = Vec::new();
    for buyer in 1..=1000i64 {
        attempts.push((buyer, format!("buy-{buyer}")));
        if buyer % 5 == 0 {
            attempts.push((buyer, format!("buy-{buyer}")));
        }
        if buyer % 7 == 0 {
            attempts.push((buyer, format!("again-{buyer}")));
        }
    }
    // Every buyer waits at the line until all are there, then all go at once.
    let start = Arc::new(tokio::sync::Barrier::new(attempts.len()));
    let mut tasks = Vec::new();
    for (buyer, key) in attempts {
        let (gate, start) = (gate.clone(), start.clone());
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            (buyer, gate.reserve(&req(item, buyer, 1, &key)).await.unwrap())
        }));
    }
    let mut reserved: HashMap<i64, usize> = HashMap::new();
    let mut other = HashMap::new();
    for t in tasks {
        let (buyer, d) = t.await.unwrap();
        match d {
            Decision::Reserved { .. } => *reserved.entry(buyer).or_default() += 1,
            Decision::SoldOut | Decision::OverLimit { .. } | Decision::Duplicate => {
                *other.entry(format!("{d:?}").split([' ', '{']).next().unwrap().to_string()).or_insert(0) += 1
            }
            unexpected => panic!("unexpected answer {unexpected:?}"),
        }
    }
    assert_eq!(reserved.values().sum::<usize>(), 100, "exactly the sale quantity is sold");
    assert!(reserved.values().all(|n| *n == 1), "no buyer holds two");
    assert_eq!(gate.available(item).await.unwrap(), Some(0));
    assert!(other.get("SoldOut").copied().unwrap_or(0) > 0, "{other:?}");
}

/// A sale's keys expire a day after it ends; a product's never do.
#[tokio::test]
async fn redis_keys_of_a_sale_expire_after_it_ends() {
    let prefix = format!("test:ttl:{}:{}:", std::process::id(), Timestamp::now().millis());
    let gate = RedisGate::connect(&redis_url(), &prefix).await.unwrap();
    let now = Timestamp::now();
    let ended_an_hour_ago = GateRules {
        available: 5,
        per_buyer_limit: Some(1),
        window: Some(SaleWindow::new(now.plus_secs(-7200), now.plus_secs(-3600)).unwrap()),
    };
    gate.load(GateItem::Sale(1), ended_an_hour_ago, &[holding(1, "k", 1)]).await.unwrap();
    gate.load(GateItem::Product(1), GateRules { available: 5, per_buyer_limit: None, window: None }, &[])
        .await
        .unwrap();
    let mut conn =
        redis::Client::open(redis_url()).unwrap().get_multiplexed_async_connection().await.unwrap();
    for suffix in ["rules", "held", "keys"] {
        let ttl: i64 = redis::cmd("PTTL")
            .arg(format!("{prefix}{{sale:1}}:{suffix}"))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!((0..=23 * 3600 * 1000).contains(&ttl), "sale {suffix}: {ttl} ms");
    }
    let ttl: i64 =
        redis::cmd("PTTL").arg(format!("{prefix}{{product:1}}:rules")).query_async(&mut conn).await.unwrap();
    assert_eq!(ttl, -1, "a product's keys stay");
}
