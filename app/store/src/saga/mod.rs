//! What the saga workers persist. Every handler runs in one [`SagaTx`]: it first claims the
//! message (a `processed_messages` row, unique per consumer and event id), then makes its
//! change and writes its outgoing events to the outbox, and commits all of it together. A
//! redelivered message finds its claim taken and changes nothing.

mod dead_letters;
mod outbox;
mod retry;
mod tx;

pub use outbox::{OutboxBatch, OutboxMessage};
pub use tx::SagaTx;

use crate::{Result, Store, StoreError};
use shop_domain::gate::GateItem;
use shop_domain::saga::{EventKind, SagaState, Step};
use shop_domain::{Money, OrderStatus, Timestamp};
use sqlx::Row;

/// An order as the workers need it.
#[derive(Debug, Clone)]
pub struct SagaOrder {
    pub id: i64,
    pub user_id: i64,
    pub state: SagaState,
    pub total: Money,
    pub idempotency_key: String,
    pub payment_method_id: Option<i64>,
    pub ship_receiver: String,
    pub ship_street: String,
    pub ship_zip: String,
    pub step_since: Timestamp,
    pub redrives: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRow {
    pub status: String,
    pub amount: Money,
    pub provider_ref: Option<String>,
    pub attempts: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    pub status: String,
    pub carrier_ref: Option<String>,
    pub dispatched_at: Option<Timestamp>,
}

/// A parcel the tracker follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedParcel {
    pub order_id: i64,
    pub status: String,
    pub carrier_ref: String,
    pub dispatched_at: Timestamp,
}

/// The stock worker's outcome for one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StockCommit {
    Committed,
    /// Nothing to do: already committed, or the order is no longer active.
    Nothing,
    /// A product or sale did not have the units left.
    Shortfall(String),
}

/// What a stock release gave back, for the gate: (item, buyer, idempotency key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Released {
    pub items: Vec<GateItem>,
    pub buyer: i64,
    pub idempotency_key: String,
    /// Units moved back into the database stock (0 when nothing had been committed).
    pub units_uncommitted: i64,
}

/// A new, unique id for a command or reply about `order_id`.
pub fn new_event_id(kind: EventKind, order_id: i64) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{}:{order_id}:{}", kind.as_str(), &id[..12])
}

fn parse_state(status: &str, step: &str) -> Result<SagaState> {
    Ok(SagaState {
        status: OrderStatus::parse(status).ok_or(StoreError::Corrupt("orders.status"))?,
        step: Step::parse(step).ok_or(StoreError::Corrupt("orders.saga_step"))?,
    })
}

const ORDER_COLUMNS: &str = "id, user_id, status, saga_step, total, idempotency_key, payment_method_id, \
     ship_receiver, ship_street, ship_zip, step_since, redrives";

fn saga_order(r: &sqlx::any::AnyRow) -> Result<SagaOrder> {
    Ok(SagaOrder {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        state: parse_state(&r.try_get::<String, _>("status")?, &r.try_get::<String, _>("saga_step")?)?,
        total: Money::from_minor(r.try_get("total")?),
        idempotency_key: r.try_get("idempotency_key")?,
        payment_method_id: r.try_get("payment_method_id")?,
        ship_receiver: r.try_get("ship_receiver")?,
        ship_street: r.try_get("ship_street")?,
        ship_zip: r.try_get("ship_zip")?,
        step_since: Timestamp::from_millis(r.try_get("step_since")?),
        redrives: r.try_get("redrives")?,
    })
}

impl Store {
    pub async fn saga_order(&self, order_id: i64) -> Result<Option<SagaOrder>> {
        let row = sqlx::query(&format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1"))
            .bind(order_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(saga_order).transpose()
    }

    /// Has `consumer` already handled `event_id`? (A cheap check before calling out.)
    pub async fn was_processed(&self, consumer: &str, event_id: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM processed_messages WHERE consumer = $1 AND event_id = $2",
        )
        .bind(consumer)
        .bind(event_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }

    pub async fn payment(&self, order_id: i64) -> Result<Option<PaymentRow>> {
        let row =
            sqlx::query("SELECT status, amount, provider_ref, attempts FROM payments WHERE order_id = $1")
                .bind(order_id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| {
            Ok(PaymentRow {
                status: r.try_get("status")?,
                amount: Money::from_minor(r.try_get("amount")?),
                provider_ref: r.try_get("provider_ref")?,
                attempts: r.try_get("attempts")?,
            })
        })
        .transpose()
    }

    /// Counts one more failed call to the provider (outside any handler transaction, so the
    /// count survives the handler's retry).
    pub async fn note_payment_attempt(&self, order_id: i64, error: &str, now: Timestamp) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "UPDATE payments SET attempts = attempts + 1, last_error = $1, updated_at = $2 WHERE order_id = $3 \
             RETURNING attempts",
        )
        .bind(error)
        .bind(now.millis())
        .bind(order_id)
        .fetch_one(&self.writer)
        .await?)
    }

    pub async fn delivery(&self, order_id: i64) -> Result<Option<DeliveryRow>> {
        let row =
            sqlx::query("SELECT status, carrier_ref, dispatched_at FROM deliveries WHERE order_id = $1")
                .bind(order_id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| {
            Ok(DeliveryRow {
                status: r.try_get("status")?,
                carrier_ref: r.try_get("carrier_ref")?,
                dispatched_at: r.try_get::<Option<i64>, _>("dispatched_at")?.map(Timestamp::from_millis),
            })
        })
        .transpose()
    }

    /// Card or account number behind an order's payment method, still encrypted.
    pub async fn payment_instrument_secret(
        &self,
        payment_method_id: i64,
    ) -> Result<Option<(String, Vec<u8>)>> {
        let row = sqlx::query("SELECT kind, secret FROM payment_methods WHERE id = $1")
            .bind(payment_method_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.try_get("kind")?, r.try_get("secret")?))).transpose()
    }

    /// Parcels handed to the carrier and not yet delivered, oldest first.
    pub async fn parcels_in_flight(&self, limit: i64) -> Result<Vec<TrackedParcel>> {
        let rows = sqlx::query(
            "SELECT order_id, status, carrier_ref, dispatched_at FROM deliveries \
             WHERE dispatched_at IS NOT NULL AND status IN ('REQUESTED', 'IN_TRANSIT') \
             ORDER BY dispatched_at LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TrackedParcel {
                    order_id: r.try_get("order_id")?,
                    status: r.try_get("status")?,
                    carrier_ref: r.try_get::<Option<String>, _>("carrier_ref")?.unwrap_or_default(),
                    dispatched_at: Timestamp::from_millis(r.try_get("dispatched_at")?),
                })
            })
            .collect()
    }

    /// Orders whose current step started before `before` and still waits on a worker.
    pub async fn stuck_orders(&self, before: Timestamp, limit: i64) -> Result<Vec<SagaOrder>> {
        let rows = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE saga_step NOT IN ('DONE', 'IN_TRANSIT') \
             AND step_since < $1 ORDER BY step_since LIMIT $2"
        ))
        .bind(before.millis())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(saga_order).collect()
    }

    /// Items whose gate count the reconciler compares with the database: sales running now,
    /// and products ordered in the last hour.
    pub async fn gate_items_to_check(&self, now: Timestamp) -> Result<Vec<GateItem>> {
        let sales: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM flash_sales WHERE starts_at <= $1 AND ends_at > $1")
                .bind(now.millis())
                .fetch_all(&self.pool)
                .await?;
        let products: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT l.product_id FROM order_lines l JOIN orders o ON o.id = l.order_id \
             WHERE l.sale_id IS NULL AND o.created_at > $1",
        )
        .bind(now.millis() - 3_600_000)
        .fetch_all(&self.pool)
        .await?;
        Ok(sales.into_iter().map(GateItem::Sale).chain(products.into_iter().map(GateItem::Product)).collect())
    }
}
