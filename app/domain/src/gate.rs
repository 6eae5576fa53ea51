//! The stock gate: the one place that decides, atomically, whether a buyer may take stock.
//!
//! Implementations (in-memory for the embedded mode, Redis + Lua for scale-out) live in the
//! server crate; they must give the same answers to the same questions. The rules, in order:
//! 1. the same (buyer, idempotency key) gets the first answer again and takes nothing twice;
//! 2. a sale's window: not started yet / ended;
//! 3. the per-buyer limit, counting what the buyer already holds;
//! 4. the remaining stock: sold out when it cannot cover the quantity;
//! 5. otherwise stock and the buyer's count move together and the key is remembered.

use crate::activity::Tally;
use crate::{SaleWindow, Timestamp};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a gate guards: a flash sale's quantity, or a regular product's stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GateItem {
    Sale(i64),
    Product(i64),
}

impl fmt::Display for GateItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GateItem::Sale(id) => write!(f, "sale:{id}"),
            GateItem::Product(id) => write!(f, "product:{id}"),
        }
    }
}

/// The rules for one item, as loaded from the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateRules {
    /// Units the gate may still hand out.
    pub available: i64,
    /// Most units one buyer may hold (flash sales); `None` for no limit.
    pub per_buyer_limit: Option<i64>,
    /// When buying is allowed (flash sales); `None` for always.
    pub window: Option<SaleWindow>,
}

/// One buyer asking for `quantity` units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReserveRequest {
    pub item: GateItem,
    pub buyer: i64,
    pub quantity: u32,
    /// One per checkout form: a double click or a retry sends the same key.
    pub idempotency_key: String,
    pub now: Timestamp,
}

/// The gate's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Decision {
    /// Stock taken for this buyer.
    Reserved {
        remaining: i64,
    },
    /// This key already reserved: nothing taken again (the first order stands).
    Duplicate,
    NotStarted {
        starts_at: Timestamp,
    },
    Ended,
    SoldOut,
    /// Over the per-buyer limit: they already hold `held` of `limit`.
    OverLimit {
        limit: i64,
        held: i64,
    },
    /// The gate has no rules for this item yet: load them and ask again.
    Unknown,
}

#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error("stock gate unavailable: {0}")]
    Unavailable(String),
    #[error("quantity must be at least 1")]
    ZeroQuantity,
}

/// Units a buyer's order holds under its idempotency key (what `release` gives back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holding {
    pub buyer: i64,
    pub key: String,
    pub units: i64,
}

/// Atomic check-and-reserve of limited stock.
#[async_trait::async_trait]
pub trait StockGate: Send + Sync + fmt::Debug {
    /// Installs rules for an item unless it already has some (so a reload never hands out
    /// stock twice), with what each live order holds (from the database), so limits survive a
    /// restart and a live order's later release gives its units back exactly once. Returns
    /// `true` when it installed them.
    async fn load(&self, item: GateItem, rules: GateRules, holdings: &[Holding]) -> Result<bool, GateError>;

    /// An admin change to a loaded item: its window and per-buyer limit become `rules`', and
    /// `delta` (the change the admin made to the quantity or stock) is added to the units left,
    /// never below 0, atomically with reservations, so units reserved meanwhile stay taken
    /// (`rules.available` is ignored). Held counts and keys are kept. `false` when the item is
    /// not loaded (nothing changed).
    async fn update(&self, item: GateItem, rules: GateRules, delta: i64) -> Result<bool, GateError>;

    async fn reserve(&self, req: &ReserveRequest) -> Result<Decision, GateError>;

    /// Gives back what `(buyer, idempotency_key)` reserved. Exactly once: `false` when there
    /// was nothing (left) to release.
    async fn release(&self, item: GateItem, buyer: i64, idempotency_key: &str) -> Result<bool, GateError>;

    /// Adds `delta` (may be negative) to the units left, never below 0, atomically with
    /// reservations, but only if the units left are still `seen` (compare-and-set, so two
    /// reconcilers repairing the same drift apply it once). The new count, or `None` when the
    /// item is not loaded or its count moved meanwhile. For the reconciler's drift repair.
    async fn adjust(&self, item: GateItem, seen: i64, delta: i64) -> Result<Option<i64>, GateError>;

    /// Units left, or `None` when the item is not loaded.
    async fn available(&self, item: GateItem) -> Result<Option<i64>, GateError>;

    /// What the gate decided about a sale since it loaded it (accepted with units per second,
    /// sold out, over the limit; a duplicate or a refusal outside the window is not a new
    /// decision), with the shop's shed count. Counted by the decision itself, so the figures
    /// never disagree with the decisions. All zero when the sale is not loaded.
    async fn tally(&self, sale_id: i64, now: Timestamp) -> Result<Tally, GateError>;

    /// Adds `n` purchases the web tier turned away while too busy to the shop's shed count.
    async fn add_shed(&self, n: i64) -> Result<(), GateError>;
}

/// The rules applied to one item's state: shared by every implementation's tests and by the
/// in-memory gate itself, so "the same semantics" is one piece of code.
pub fn decide(rules: &GateRules, held_by_buyer: i64, quantity: u32, now: Timestamp) -> Decision {
    let q = i64::from(quantity);
    if let Some(w) = rules.window {
        if now < w.starts_at {
            return Decision::NotStarted { starts_at: w.starts_at };
        }
        if now >= w.ends_at {
            return Decision::Ended;
        }
    }
    if let Some(limit) = rules.per_buyer_limit {
        if held_by_buyer + q > limit {
            return Decision::OverLimit { limit, held: held_by_buyer };
        }
    }
    if rules.available < q {
        return Decision::SoldOut;
    }
    Decision::Reserved { remaining: rules.available - q }
}
