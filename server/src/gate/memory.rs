//! The embedded stock gate: one mutex over a map, the domain's `decide` inside it.
//! Correct for one process; with several web processes use the Redis gate.

use shop_domain::activity::Tally;
use shop_domain::gate::{
    decide, Decision, GateError, GateItem, GateRules, Holding, ReserveRequest, StockGate,
};
use shop_domain::Timestamp;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

#[derive(Debug)]
struct ItemState {
    rules: GateRules,
    held: HashMap<i64, i64>,
    /// (buyer, idempotency key) → units still reserved under it (0 once released).
    keys: HashMap<(i64, String), i64>,
    /// The decisions so far (sales only).
    tally: Tally,
}

#[derive(Debug, Default)]
pub struct MemoryGate {
    items: Mutex<HashMap<GateItem, ItemState>>,
    shed: AtomicI64,
}

impl MemoryGate {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<GateItem, ItemState>> {
        // A panic while holding the lock cannot leave a half-applied reservation (every
        // update below happens after all checks), so a poisoned map is still consistent.
        self.items.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait::async_trait]
impl StockGate for MemoryGate {
    async fn load(&self, item: GateItem, rules: GateRules, holdings: &[Holding]) -> Result<bool, GateError> {
        let mut items = self.lock();
        if items.contains_key(&item) {
            return Ok(false);
        }
        let mut state = ItemState { rules, held: HashMap::new(), keys: HashMap::new(), tally: Tally::default() };
        for h in holdings {
            *state.held.entry(h.buyer).or_insert(0) += h.units;
            *state.keys.entry((h.buyer, h.key.clone())).or_insert(0) += h.units;
        }
        items.insert(item, state);
        Ok(true)
    }

    async fn update(&self, item: GateItem, rules: GateRules, delta: i64) -> Result<bool, GateError> {
        let mut items = self.lock();
        let Some(state) = items.get_mut(&item) else { return Ok(false) };
        state.rules = GateRules { available: (state.rules.available + delta).max(0), ..rules };
        Ok(true)
    }

    async fn reserve(&self, req: &ReserveRequest) -> Result<Decision, GateError> {
        if req.quantity == 0 {
            return Err(GateError::ZeroQuantity);
        }
        let mut items = self.lock();
        let Some(state) = items.get_mut(&req.item) else { return Ok(Decision::Unknown) };
        let key = (req.buyer, req.idempotency_key.clone());
        if state.keys.contains_key(&key) {
            return Ok(Decision::Duplicate);
        }
        let held = state.held.get(&req.buyer).copied().unwrap_or(0);
        let decision = decide(&state.rules, held, req.quantity, req.now);
        let q = i64::from(req.quantity);
        if let Decision::Reserved { remaining } = decision {
            state.rules.available = remaining;
            *state.held.entry(req.buyer).or_insert(0) += q;
            state.keys.insert(key, q);
        }
        if matches!(req.item, GateItem::Sale(_)) {
            match decision {
                Decision::Reserved { remaining } => state.tally.accept(q, remaining, req.now.millis().div_euclid(1000)),
                Decision::SoldOut => state.tally.sold_out += 1,
                Decision::OverLimit { .. } => state.tally.over_limit += 1,
                _ => {}
            }
        }
        Ok(decision)
    }

    async fn release(&self, item: GateItem, buyer: i64, idempotency_key: &str) -> Result<bool, GateError> {
        let mut items = self.lock();
        let Some(state) = items.get_mut(&item) else { return Ok(false) };
        let Some(q) = state.keys.get_mut(&(buyer, idempotency_key.to_string())) else { return Ok(false) };
        if *q <= 0 {
            return Ok(false);
        }
        let units = std::mem::take(q);
        state.rules.available += units;
        if let Some(h) = state.held.get_mut(&buyer) {
            *h -= units;
        }
        Ok(true)
    }

    async fn adjust(&self, item: GateItem, seen: i64, delta: i64) -> Result<Option<i64>, GateError> {
        Ok(self.lock().get_mut(&item).filter(|s| s.rules.available == seen).map(|s| {
            s.rules.available = (s.rules.available + delta).max(0);
            s.rules.available
        }))
    }

    async fn available(&self, item: GateItem) -> Result<Option<i64>, GateError> {
        Ok(self.lock().get(&item).map(|s| s.rules.available))
    }

    async fn tally(&self, sale_id: i64, now: Timestamp) -> Result<Tally, GateError> {
        let mut tally = self.lock().get(&GateItem::Sale(sale_id)).map(|s| s.tally.clone()).unwrap_or_default();
        let from = now.millis().div_euclid(1000) - shop_domain::activity::WINDOW_SECS;
        tally.seconds.retain(|s| s.at > from);
        tally.shed = self.shed.load(Ordering::Relaxed);
        Ok(tally)
    }

    async fn add_shed(&self, n: i64) -> Result<(), GateError> {
        self.shed.fetch_add(n, Ordering::Relaxed);
        Ok(())
    }
}
