//! The reconciler (periodic): re-drives orders stuck on one step longer than
//! `stuck_after` (sending the step's command again; workers answer repeated commands without
//! repeating their effect), fails and compensates orders re-driven `max_redrives` times, and
//! compares the stock gate with the database, repairing drift.

use super::orchestrator::apply;
use super::{SagaDeps, SagaSettings};
use shop_domain::gate::GateItem;
use shop_domain::saga::{react, EventKind, Reaction, SagaState, Step, Unstick};
use shop_domain::{OrderStatus, Timestamp};
use std::collections::HashMap;
use tokio_util::sync::CancellationToken;

/// What one pass did (for logs and tests).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pass {
    pub redriven: usize,
    pub failed: usize,
    pub gate_repairs: usize,
}

pub struct Reconciler {
    deps: SagaDeps,
    settings: SagaSettings,
    /// Drift seen on earlier passes: item → (gate count, database count, first seen).
    suspected: HashMap<GateItem, Sighting>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sighting {
    gate: i64,
    database: i64,
    since: Timestamp,
}

/// How long a shortfall in the gate must stand still before units are given back: longer
/// than any checkout stays between its gate reservation and its order's commit (the database
/// pool gives up on a connection after 30 s, and the checkout then releases).
pub const GATE_LEAK_SETTLE_MS: i64 = 60_000;

impl Reconciler {
    pub fn new(deps: SagaDeps, settings: SagaSettings) -> Self {
        Reconciler { deps, settings, suspected: HashMap::new() }
    }

    pub async fn pass(&mut self, now: Timestamp) -> Result<Pass, shop_store::StoreError> {
        let mut pass = Pass::default();
        let cutoff = Timestamp::from_millis(now.millis() - self.settings.stuck_after.as_millis() as i64);
        for stuck in self.deps.store.stuck_orders(cutoff, 100).await? {
            match self.redrive(stuck.id, cutoff, now).await {
                Ok(Some(true)) => pass.redriven += 1,
                Ok(Some(false)) => pass.failed += 1,
                Ok(None) => {}
                Err(e) => tracing::warn!(order_id = stuck.id, error = %e, "could not re-drive an order"),
            }
        }
        pass.gate_repairs = self.check_gate(now).await?;
        Ok(pass)
    }

    /// `Some(true)` re-driven, `Some(false)` failed for good, `None` no longer stuck.
    async fn redrive(
        &self,
        order_id: i64,
        cutoff: Timestamp,
        now: Timestamp,
    ) -> Result<Option<bool>, String> {
        let mut tx = self.deps.store.begin_saga(now).await.map_err(|e| e.to_string())?;
        let Some(order) = tx.order(order_id).await.map_err(|e| e.to_string())? else { return Ok(None) };
        if order.step_since >= cutoff || order.state.step == Step::Done {
            return Ok(None); // moved on, or another reconciler got here first
        }
        let cause = format!("reconciler:{}:{}", order.id, order.redrives + 1);
        let command = match order.state.unstick() {
            Unstick::Redrive(command) => command,
            Unstick::Nothing => return Ok(None),
            Unstick::Settle(reaction) => {
                // A cancel whose `order.cancelled` never reached the orders worker: settle it
                // here (a late copy then finds the order done and changes nothing).
                apply(&mut tx, &order, &reaction, &cause, "{}").await.map_err(|e| e.to_string())?;
                tx.commit().await.map_err(|e| e.to_string())?;
                tracing::warn!(order_id, "settled a cancel whose event never arrived");
                return Ok(Some(true));
            }
        };
        if order.redrives >= self.settings.max_redrives {
            if order.state.step.may_give_up() {
                let reaction = give_up(order.state);
                apply(&mut tx, &order, &reaction, &cause, "{}").await.map_err(|e| e.to_string())?;
                tx.commit().await.map_err(|e| e.to_string())?;
                tracing::error!(
                    order_id,
                    step = order.state.step.as_str(),
                    "order failed after repeated re-drives"
                );
                return Ok(Some(false));
            }
            // The parcel may be on its way: failing the order would refund goods that get
            // delivered. Keep asking (the carrier's answer settles it) and tell an operator.
            tracing::error!(
                order_id,
                step = order.state.step.as_str(),
                redrives = order.redrives,
                "order stuck after hand-over to the carrier; still re-driving, needs attention"
            );
        }
        let next = order.state.step.after_redrive();
        if !tx.note_redrive(order.id, order.state, next).await.map_err(|e| e.to_string())? {
            return Ok(None);
        }
        let text = format!(
            "No answer for {} s; asking again ({}).",
            (now.millis() - order.step_since.millis()) / 1000,
            command.as_str()
        );
        tx.timeline(order.id, "REDRIVE", &text, "{}").await.map_err(|e| e.to_string())?;
        let env = super::event(
            command,
            order.id,
            now,
            serde_json::json!({ "generation": order.redrives + 1 }),
            &cause,
        );
        tx.send(&env).await.map_err(|e| e.to_string())?;
        tx.commit().await.map_err(|e| e.to_string())?;
        tracing::info!(order_id, step = order.state.step.as_str(), "re-drove a stuck order");
        Ok(Some(true))
    }

    /// Compares each live item's gate count with the database's and repairs drift, never in
    /// a way that could oversell:
    /// - Each count is read while other processes sell and give back units, so one sighting
    ///   proves nothing. Drift is acted on only when the same pair of counts (gate, database)
    ///   is seen again on a later pass, i.e. nothing moved on that item in between.
    /// - A gate that could sell more than the database allows is then lowered.
    /// - A gate that lost units (a process died between a committed cancel and its gate
    ///   release) is raised only once that pair has stood still for
    ///   [`GATE_LEAK_SETTLE_MS`]: an in-flight checkout looks the same for a moment.
    /// - Repairs are compare-and-set on the count seen, so two reconcilers (one per worker
    ///   process) apply a repair once.
    async fn check_gate(&mut self, now: Timestamp) -> Result<usize, shop_store::StoreError> {
        let mut repairs = 0;
        let mut seen = HashMap::new();
        for item in self.deps.store.gate_items_to_check(now).await? {
            let actual = match self.deps.inventory.gate_count(item).await {
                Ok(Some(a)) => a,
                Ok(None) => continue, // not loaded: it will load from the database
                Err(e) => {
                    tracing::warn!(%item, error = %e, "gate unavailable for the drift check");
                    continue;
                }
            };
            let Some(expected) = self.deps.store.gate_rules(item, now).await?.map(|r| r.available) else {
                continue;
            };
            let gap = expected - actual;
            if gap == 0 {
                continue;
            }
            let sighting = match self.suspected.get(&item) {
                Some(s) if s.gate == actual && s.database == expected => *s,
                _ => Sighting { gate: actual, database: expected, since: now },
            };
            let repeated = sighting.since < now;
            let settled = now.millis() - sighting.since.millis() >= GATE_LEAK_SETTLE_MS;
            if (gap < 0 && repeated) || (gap > 0 && settled) {
                tracing::warn!(%item, gate = actual, database = expected, "stock gate drift; repairing");
                match self.deps.inventory.repair(item, actual, gap).await {
                    Ok(Some(_)) => repairs += 1,
                    Ok(None) => {} // moved meanwhile (or another reconciler repaired it)
                    Err(e) => tracing::warn!(%item, error = %e, "could not repair the gate"),
                }
            } else {
                seen.insert(item, sighting);
            }
        }
        self.suspected = seen;
        Ok(repairs)
    }
}

/// Failing an order that never finished its step: undo everything that may have happened.
fn give_up(state: SagaState) -> Reaction {
    let mut r = react(
        SagaState { status: OrderStatus::Paid, step: Step::AwaitStock },
        EventKind::StockShortfall,
        None,
    );
    let reason = format!("The order could not be completed (no answer at step {}).", state.step.as_str());
    r.failure_reason = Some(reason.clone());
    r.timeline = Some(("FAILED".into(), reason));
    r
}

/// How often old messages are pruned.
const PRUNE_EVERY_MS: i64 = 3_600_000;

pub async fn run(deps: SagaDeps, settings: SagaSettings, stop: CancellationToken) {
    let every = settings.reconcile_every;
    let retention = settings.message_retention.as_millis() as i64;
    let store = deps.store.clone();
    let mut pruned_at = Timestamp::from_millis(0);
    let mut reconciler = Reconciler::new(deps, settings);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.cancelled() => return,
        }
        let now = Timestamp::now();
        if now.millis() - pruned_at.millis() >= PRUNE_EVERY_MS {
            pruned_at = now;
            match store.prune_messages(Timestamp::from_millis(now.millis() - retention)).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(rows = n, "pruned old outbox rows and message ids"),
                Err(e) => tracing::warn!(error = %e, "pruning old messages failed"),
            }
        }
        match reconciler.pass(Timestamp::now()).await {
            Ok(p) if p != Pass::default() => tracing::info!(?p, "reconciler pass"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "reconciler pass failed"),
        }
    }
}
