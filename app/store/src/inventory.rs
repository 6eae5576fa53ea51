//! The inventory service: the one piece of code that moves stock between the database and the
//! stock gate. Checkout, the cart, the buyer's and the staff's cancel, admin edits, the stock
//! worker and the reconciler all go through [`Inventory`]; none of them talks to the gate about
//! stock on its own.
//!
//! The rules it owns:
//! - A purchase is decided by the gate; a gate that has not seen an item is loaded from the
//!   database first (with what every live order holds), never overwritten.
//! - A cart's lines are reserved all or none, in item order under one key, and the first line
//!   decides which request places the order, so a second submit of the same form never gives
//!   back what the first one's order holds.
//! - The database change commits first, then the gate moves: an order that is not written gives
//!   its reservations back; a committed cancel or stock release returns its units once (the
//!   gate keeps each `(buyer, key)` and returns it at most once).
//! - An admin change is added to the gate as a delta, never a count read from the database.
//! - A failed gate call after a committed change is logged; the reconciler's drift check
//!   repairs it (without ever letting the gate sell more than the database holds).

use crate::{Cancel, CancelledBy, NewOrder, Placed, Released, Result as StoreResult, Store, StoreError};
use shop_domain::gate::{Decision, GateError, GateItem, ReserveRequest, StockGate};
use shop_domain::activity::SaleActivity;
use shop_domain::{SaleSummary, Timestamp};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// The gate did not answer: nothing was taken.
    #[error(transparent)]
    Gate(#[from] GateError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What reserving a cart's lines came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllOrNone {
    /// Every line is reserved under the key (the items, to give back if the order fails).
    Reserved(Vec<GateItem>),
    /// Another request with this key holds the first line: it places the order; take nothing.
    Follower,
    /// Line `index` (of the lines as given) was refused; nothing is held.
    Refused { index: usize, decision: Decision },
    /// The key was spent by an earlier attempt that gave its units back; nothing is held.
    SpentKey,
}

#[derive(Clone, Debug)]
pub struct Inventory {
    store: Store,
    gate: Arc<dyn StockGate>,
}

impl Inventory {
    pub fn new(store: Store, gate: Arc<dyn StockGate>) -> Inventory {
        Inventory { store, gate }
    }

    /// Units the gate still has of an item, if it has loaded it (for display).
    pub async fn available(&self, item: GateItem) -> Option<i64> {
        self.gate.available(item).await.ok().flatten()
    }

    /// A sale's activity as the gate counted it (the admin's live view), with the units left
    /// where the gate has loaded the sale. `quantity` scales the chart.
    pub async fn activity(&self, sale_id: i64, quantity: i64, now: Timestamp) -> Result<SaleActivity, GateError> {
        let item = GateItem::Sale(sale_id);
        let (tally, remaining) = tokio::try_join!(self.gate.tally(sale_id, now), self.gate.available(item))?;
        Ok(SaleActivity { sale_id, quantity, remaining, tally, now_sec: now.millis().div_euclid(1000) })
    }

    /// [`activity`](Self::activity) of each sale, in the order given (the live sales the
    /// dashboard lists; its live stream compares the same figures).
    pub async fn activities(&self, sales: &[SaleSummary], now: Timestamp) -> Result<Vec<SaleActivity>, GateError> {
        let mut all = Vec::with_capacity(sales.len());
        for sale in sales {
            all.push(self.activity(sale.id, sale.quantity, now).await?);
        }
        Ok(all)
    }

    /// Asks the gate; when it has not seen the item yet, loads it from the database and asks
    /// again.
    pub async fn reserve(&self, req: &ReserveRequest) -> Result<Decision, InventoryError> {
        let first = self.gate.reserve(req).await?;
        if first != Decision::Unknown {
            return Ok(first);
        }
        let Some((rules, held)) = self.store.gate_state(req.item, req.now).await? else {
            return Ok(first);
        };
        self.gate.load(req.item, rules, &held).await?;
        Ok(self.gate.reserve(req).await?)
    }

    /// Reserves `(item, quantity)` lines for one buyer under one key, all or none. Lines are
    /// taken in item order, so every request with the key asks for the same first line, and a
    /// request whose first line is a duplicate is a follower ([`AllOrNone::Follower`]).
    pub async fn reserve_all(
        &self,
        buyer: i64,
        key: &str,
        lines: &[(GateItem, u32)],
        now: Timestamp,
    ) -> Result<AllOrNone, InventoryError> {
        let mut order: Vec<usize> = (0..lines.len()).collect();
        order.sort_by_key(|&i| match lines[i].0 {
            GateItem::Sale(id) => (0, id),
            GateItem::Product(id) => (1, id),
        });
        let mut taken: Vec<GateItem> = Vec::new();
        for (n, &index) in order.iter().enumerate() {
            let (item, quantity) = lines[index];
            let req = ReserveRequest { item, buyer, quantity, idempotency_key: key.to_string(), now };
            let decision = match self.reserve(&req).await {
                Ok(d) => d,
                Err(e) => {
                    self.give_back(&taken, buyer, key).await;
                    return Err(e);
                }
            };
            match decision {
                Decision::Reserved { .. } => taken.push(item),
                Decision::Duplicate if n == 0 => return Ok(AllOrNone::Follower),
                Decision::Duplicate => {
                    self.give_back(&taken, buyer, key).await;
                    return Ok(AllOrNone::SpentKey);
                }
                refused => {
                    self.give_back(&taken, buyer, key).await;
                    return Ok(AllOrNone::Refused { index, decision: refused });
                }
            }
        }
        Ok(AllOrNone::Reserved(taken))
    }

    /// Writes the order for stock reserved under its key (`taken`). When the order is not
    /// written (its key's order already exists, e.g. the gate forgot the key after a restart,
    /// or the transaction failed) the reservations are given back.
    pub async fn place(&self, order: &NewOrder, taken: &[GateItem], now: Timestamp) -> StoreResult<Placed> {
        match self.store.place_order(order, now).await {
            Ok(Placed::Created(id)) => Ok(Placed::Created(id)),
            Ok(Placed::Existing(id)) => {
                self.give_back(taken, order.user_id, &order.idempotency_key).await;
                Ok(Placed::Existing(id))
            }
            Err(e) => {
                self.give_back(taken, order.user_id, &order.idempotency_key).await;
                Err(e)
            }
        }
    }

    /// Gives back reservations taken under `key` (an order that will not be written).
    pub async fn give_back(&self, items: &[GateItem], buyer: i64, key: &str) {
        for item in items {
            match self.gate.release(*item, buyer, key).await {
                Ok(_) => tracing::warn!(%item, buyer, "reservation released"),
                Err(e) => {
                    tracing::error!(%item, buyer, error = %e, "could not release a reservation; the reconciler must fix the drift")
                }
            }
        }
    }

    /// Cancels an order (by its buyer or the staff) if the saga still allows it, then returns
    /// its units to the gate once.
    pub async fn cancel(
        &self,
        user_id: i64,
        order_id: i64,
        by: CancelledBy,
        now: Timestamp,
    ) -> StoreResult<Cancel> {
        let outcome = self.store.cancel_order(user_id, order_id, by, now).await?;
        if let Cancel::Cancelled { items, idempotency_key } = &outcome {
            self.return_units(order_id, items, user_id, idempotency_key).await;
        }
        Ok(outcome)
    }

    /// After the stock worker committed a release: the units back to the gate, once.
    pub async fn released(&self, order_id: i64, r: &Released) {
        self.return_units(order_id, &r.items, r.buyer, &r.idempotency_key).await;
    }

    /// A committed change freed what `(buyer, key)` holds of `items`.
    async fn return_units(&self, order_id: i64, items: &[GateItem], buyer: i64, key: &str) {
        let mut items = items.to_vec();
        items.sort_by_key(|i| i.to_string());
        items.dedup();
        for item in items {
            // Exactly once per (buyer, key) in the gate itself; a failure here is repaired by
            // the reconciler's drift check.
            if let Err(e) = self.gate.release(item, buyer, key).await {
                tracing::error!(order_id, %item, error = %e, "could not return stock to the gate");
            }
        }
    }

    /// An admin change moved `item`'s units by `delta` (committed already).
    ///
    /// A loaded item gets the new window and limit and `delta` added to what it has left: a
    /// buyer may hold a unit the database does not show yet (the order is being written), and
    /// overwriting the count would sell that unit again. An item the gate has not loaded is
    /// loaded from the database, which already includes the change. (If another request loads
    /// it at the same moment, from before or after the change, only a decrease is applied
    /// again: the safe direction; the reconciler repairs the rest.)
    pub async fn admin_changed(
        &self,
        item: GateItem,
        delta: i64,
        now: Timestamp,
    ) -> Result<(), InventoryError> {
        // An archived product has no rules: nobody can buy it, so there is nothing to update.
        let Some((rules, held)) = self.store.gate_state(item, now).await? else { return Ok(()) };
        if !self.gate.update(item, rules, delta).await?
            && !self.gate.load(item, rules, &held).await?
            && delta < 0
        {
            self.gate.update(item, rules, delta).await?;
        }
        tracing::info!(%item, delta, "stock gate updated");
        Ok(())
    }

    /// After the stock worker committed a return's units to the products' regular stock:
    /// the same units added to each product's gate (as an admin's change would be), so they
    /// can be bought again. A failure is logged; the reconciler's drift check repairs it.
    pub async fn returned(&self, order_id: i64, units: &[(i64, i64)], now: Timestamp) {
        for &(product, delta) in units {
            if let Err(e) = self.admin_changed(GateItem::Product(product), delta, now).await {
                tracing::error!(order_id, product, delta, error = %e, "returned units not added to the gate");
            }
        }
    }

    /// The reconciler's drift repair: add `delta` if the gate still has `seen` left
    /// (compare-and-set). The new count, or `None` when it moved meanwhile.
    pub async fn repair(&self, item: GateItem, seen: i64, delta: i64) -> Result<Option<i64>, GateError> {
        self.gate.adjust(item, seen, delta).await
    }

    /// The gate's count for the reconciler's comparison (`None`: not loaded).
    pub async fn gate_count(&self, item: GateItem) -> Result<Option<i64>, GateError> {
        self.gate.available(item).await
    }
}
