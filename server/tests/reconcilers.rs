//! Two reconcilers, as two worker processes run them: each with its own database pool, its own
//! Redis connection and its own memory of earlier passes, over one PostgreSQL database and one
//! Redis gate. The same drift is repaired once, never twice (which would oversell, or strand
//! units), and a stuck order is re-driven once per pass, not once per process.
//!
//! Both see the drift before either repairs it: their gate adapters meet at a barrier before
//! the repair, so the compare-and-set is what decides, every run, not the scheduling.

mod common;

use common::saga::{order_from_sale, timeline};
use common::shopping::count;
use common::{Db, TestApp};
use shop::saga::reconciler::{Pass, Reconciler, GATE_LEAK_SETTLE_MS};
use shop::saga::{SagaDeps, SagaSettings};
use shop_domain::gate::{Decision, GateError, GateItem, GateRules, Holding, ReserveRequest, StockGate};
use shop_domain::Timestamp;
use shop_store::{Inventory, Store};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_reconcilers_repair_the_same_drift_once() {
    use futures::FutureExt;
    let app = common::shopping::spawn(Db::Postgres).await;
    let outcome = std::panic::AssertUnwindSafe(two_reconcilers(&app)).catch_unwind().await;
    app.stop().await;
    if let Err(p) = outcome {
        std::panic::resume_unwind(p)
    }
}

/// A process's gate adapter that, while `lockstep` is on, waits for the other process's
/// adapter before every repair.
#[derive(Debug)]
struct Lockstep {
    inner: Arc<dyn StockGate>,
    barrier: Arc<tokio::sync::Barrier>,
    lockstep: Arc<AtomicBool>,
}

#[async_trait::async_trait]
impl StockGate for Lockstep {
    async fn load(&self, item: GateItem, rules: GateRules, holdings: &[Holding]) -> Result<bool, GateError> {
        self.inner.load(item, rules, holdings).await
    }
    async fn update(&self, item: GateItem, rules: GateRules, delta: i64) -> Result<bool, GateError> {
        self.inner.update(item, rules, delta).await
    }
    async fn reserve(&self, req: &ReserveRequest) -> Result<Decision, GateError> {
        self.inner.reserve(req).await
    }
    async fn release(&self, item: GateItem, buyer: i64, key: &str) -> Result<bool, GateError> {
        self.inner.release(item, buyer, key).await
    }
    async fn tally(&self, sale_id: i64, now: shop_domain::Timestamp) -> Result<shop_domain::activity::Tally, GateError> {
        self.inner.tally(sale_id, now).await
    }
    async fn add_shed(&self, n: i64) -> Result<(), GateError> {
        self.inner.add_shed(n).await
    }
    async fn adjust(&self, item: GateItem, seen: i64, delta: i64) -> Result<Option<i64>, GateError> {
        if self.lockstep.load(Ordering::SeqCst) {
            tokio::time::timeout(Duration::from_secs(20), self.barrier.wait())
                .await
                .expect("the other reconciler never tried to repair the drift it was shown");
        }
        self.inner.adjust(item, seen, delta).await
    }
    async fn available(&self, item: GateItem) -> Result<Option<i64>, GateError> {
        self.inner.available(item).await
    }
}

fn reconciler(app: &TestApp, store: Store, gate: Arc<dyn StockGate>) -> Reconciler {
    let deps = SagaDeps {
        store: store.clone(),
        bus: app.bus().clone(),
        inventory: Inventory::new(store.clone(), gate),
        secrets: common::test_secrets(),
        payments: Arc::new(shop::sim::SimPaymentProvider::new(store, Default::default())),
        carrier: Arc::new(shop::sim::SimCarrier::new(Default::default())),
    };
    Reconciler::new(deps, SagaSettings::default())
}

/// One pass of each at the same moment, side by side; what they did together.
async fn both(one: &mut Reconciler, two: &mut Reconciler, at: Timestamp) -> Pass {
    let (a, b) = tokio::join!(one.pass(at), two.pass(at));
    let (a, b) = (a.unwrap(), b.unwrap());
    Pass {
        redriven: a.redriven + b.redriven,
        failed: a.failed + b.failed,
        gate_repairs: a.gate_repairs + b.gate_repairs,
    }
}

async fn two_reconcilers(app: &TestApp) {
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let lockstep = Arc::new(AtomicBool::new(false));
    let adapter = |inner: Arc<dyn StockGate>| -> Arc<dyn StockGate> {
        Arc::new(Lockstep { inner, barrier: barrier.clone(), lockstep: lockstep.clone() })
    };
    // Process one shares the app's connections; process two opens its own.
    let mut one = reconciler(app, app.store().clone(), adapter(app.gate().clone()));
    let other_store = Store::connect(app.setting("DATABASE_URL").unwrap(), 4).await.unwrap();
    let other_gate = shop::gate::RedisGate::connect(
        app.setting("REDIS_URL").unwrap(),
        app.setting("SHOP_REDIS_PREFIX").unwrap(),
    )
    .await
    .unwrap();
    let mut two = reconciler(app, other_store.clone(), adapter(Arc::new(other_gate)));
    // A live sale of 10 with no orders, loaded in the gate.
    let s = common::shopping::sale(app, 10, 1, -60, 3600).await;
    let offer = app.store().sale_offer(s).await.unwrap().unwrap();
    let rules = GateRules { available: 10, per_buyer_limit: Some(1), window: Some(offer.window) };
    app.gate().load(GateItem::Sale(s), rules, &[]).await.unwrap();
    let item = GateItem::Sale(s);
    let left = || async { app.gate().available(item).await.unwrap().unwrap() };
    let t = Timestamp::now();

    // The gate could sell 3 more than the database holds: lowered by 3, once.
    app.gate().adjust(item, 10, 3).await.unwrap();
    assert_eq!(both(&mut one, &mut two, t).await, Pass::default(), "a first sighting proves nothing");
    lockstep.store(true, Ordering::SeqCst);
    let p = both(&mut one, &mut two, t.plus_secs(1)).await;
    lockstep.store(false, Ordering::SeqCst);
    assert_eq!(p.gate_repairs, 1, "one repair between the two");
    assert_eq!(left().await, 10, "lowered once (twice would strand 3 units)");

    // A leak (units a dead process never gave back): raised by 1 once it has stood still, once.
    app.gate().adjust(item, 10, -1).await.unwrap();
    assert_eq!(both(&mut one, &mut two, t.plus_secs(2)).await.gate_repairs, 0);
    let settled = Timestamp::from_millis(t.plus_secs(2).millis() + GATE_LEAK_SETTLE_MS);
    lockstep.store(true, Ordering::SeqCst);
    let p = both(&mut one, &mut two, settled).await;
    lockstep.store(false, Ordering::SeqCst);
    assert_eq!(p.gate_repairs, 1);
    assert_eq!(left().await, 10, "raised once (twice would oversell by one)");

    // A stuck order, seen by both in the same pass: re-driven once, its command sent once.
    let (order, _) = order_from_sale(app, 1, "4242424242424242", "12345").await;
    let sent_before = count(app, &format!("SELECT COUNT(*) FROM outbox WHERE msg_key = '{order}'")).await;
    let p = both(&mut one, &mut two, Timestamp::now().plus_secs(120)).await;
    assert_eq!((p.redriven, p.failed), (1, 0), "{p:?}");
    assert_eq!(count(app, &format!("SELECT redrives FROM orders WHERE id = {order}")).await, 1);
    assert_eq!(timeline(app, order).await.iter().filter(|k| *k == "REDRIVE").count(), 1);
    assert_eq!(
        count(app, &format!("SELECT COUNT(*) FROM outbox WHERE msg_key = '{order}'")).await,
        sent_before + 1
    );
    other_store.close().await;
}
