//! The admin's domain: the rules for what staff may save (products, flash sales), the filters
//! of the admin lists, and the records the admin pages show. Plain Rust, like the rest of the
//! crate: the server functions validate with it and the store persists what it accepted.

pub mod input;
pub mod order;
pub mod product;
pub mod sale;

pub use order::{
    replay_event_id, AdminOrderDetail, AdminOrderRow, DeadLetter, OrderFilter, OutboxEntry, Replay,
    SagaEvent, StepRecord,
};
pub use product::{
    check_stock, AdminProduct, AdminProductQuery, AdminProductRow, ProductChoice, ProductDraft, ProductForm,
    ProductImage, Removal,
};
pub use sale::{check_sale, ExistingSale, SaleContext, SaleDraft, SaleForm, SaleRejection};

use crate::{Money, OrderStatus, SaleSummary, Timestamp};
use serde::{Deserialize, Serialize};

/// One line of the audit log: who did what, to what, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub actor_id: Option<i64>,
    /// The actor's email at the time of reading (`None` for the system).
    pub actor: Option<String>,
    /// e.g. `product.create`, `sale.update`, `order.cancel`, `dead_letter.replay`.
    pub action: String,
    /// e.g. `product:12`.
    pub target: String,
    pub detail: String,
    pub at: Timestamp,
}

/// The admin home page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    /// Sales running now, with sold/remaining (the gate's live count where it has one).
    pub live_sales: Vec<SaleSummary>,
    /// What the gate decided about each live sale, in the same order (filled by the web tier,
    /// which asks the gate).
    #[serde(default)]
    pub activity: Vec<crate::activity::SaleActivity>,
    /// Orders per status, every status listed (zero included), in saga order.
    pub orders_by_status: Vec<(OrderStatus, i64)>,
    /// Paid orders placed today (UTC): paid, shipping or delivered.
    pub revenue_today: Money,
    pub paid_orders_today: i64,
    /// Dead letters nobody has replayed yet.
    pub dead_letters_waiting: i64,
    pub as_of: Timestamp,
}

/// Every order status in saga order.
pub const ALL_STATUSES: [OrderStatus; 6] = [
    OrderStatus::Pending,
    OrderStatus::Paid,
    OrderStatus::Shipping,
    OrderStatus::Delivered,
    OrderStatus::Failed,
    OrderStatus::Cancelled,
];
