//! Orders: placing one (with its outbox event, in one transaction) and reading them back.

use crate::{Result, Store, StoreError};
use shop_domain::gate::GateItem;
use shop_domain::saga::{SagaState, Step};
use shop_domain::{
    Money, OrderDetail, OrderEvent, OrderLine, OrderStatus, OrderSummary, SaleWindow, Timestamp,
};
use sqlx::Row;
#[cfg(feature = "test-hooks")]
use std::sync::atomic::Ordering;

/// What a flash sale sells, as checkout needs it.
#[derive(Debug, Clone)]
pub struct SaleOffer {
    pub sale_id: i64,
    pub product_id: i64,
    pub name: String,
    pub sale_price: Money,
    pub per_buyer_limit: i64,
    pub window: SaleWindow,
}

/// One line of an order to place, with its price snapshot.
#[derive(Debug, Clone)]
pub struct NewLine {
    pub product_id: i64,
    pub sale_id: Option<i64>,
    pub name: String,
    pub unit_price: Money,
    pub quantity: i64,
}

/// An order to place; the stock is already reserved in the gate.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub user_id: i64,
    pub lines: Vec<NewLine>,
    /// Empty the buyer's cart in the same transaction (a cart checkout).
    pub from_cart: bool,
    pub idempotency_key: String,
    pub ship_receiver: String,
    pub ship_street: String,
    pub ship_detail: String,
    pub ship_zip: String,
    pub payment_method_id: i64,
    pub payment_label: String,
}

/// The outcome of a cancel request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cancel {
    /// Cancelled now: give the stock held under this key back to the gate.
    Cancelled {
        items: Vec<GateItem>,
        idempotency_key: String,
    },
    /// Already handed to the carrier, shipped, delivered, failed or cancelled
    /// ([`SagaState::too_late_to_cancel`] says which to the person who asked).
    TooLate(SagaState),
    NotFound,
}

/// Who cancels an order: the buyer, or staff on the buyer's behalf (the timeline says which).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelledBy {
    Buyer,
    Staff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placed {
    /// A new order.
    Created(i64),
    /// This buyer already placed an order with this idempotency key.
    Existing(i64),
}

/// Appends an entry to an order's timeline (with the event that caused it).
pub(crate) async fn record_event(
    tx: &mut sqlx::AnyConnection,
    order_id: i64,
    kind: &str,
    detail: &str,
    payload: &str,
    now: Timestamp,
) -> Result<()> {
    sqlx::query("INSERT INTO order_events (order_id, kind, detail, payload, at) VALUES ($1, $2, $3, $4, $5)")
        .bind(order_id)
        .bind(kind)
        .bind(detail)
        .bind(payload)
        .bind(now.millis())
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Writes an event to the outbox, in the caller's transaction: it is published only if the
/// change it announces commits.
pub(crate) async fn enqueue(
    tx: &mut sqlx::AnyConnection,
    event_id: &str,
    topic: &str,
    key: &str,
    event_type: &str,
    payload: &str,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO outbox (event_id, topic, msg_key, event_type, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(event_id)
    .bind(topic)
    .bind(key)
    .bind(event_type)
    .bind(payload)
    .bind(now.millis())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

impl Store {
    /// Test hook: the next `place_order` fails mid-transaction (and must roll back).
    #[cfg(feature = "test-hooks")]
    pub fn inject_order_failure(&self) {
        self.fail_next_order.store(true, Ordering::SeqCst);
    }

    pub async fn sale_offer(&self, sale_id: i64) -> Result<Option<SaleOffer>> {
        let row = sqlx::query(
            "SELECT s.id, s.product_id, p.name, s.sale_price, s.per_buyer_limit, s.starts_at, s.ends_at \
             FROM flash_sales s JOIN products p ON p.id = s.product_id WHERE s.id = $1",
        )
        .bind(sale_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let window = SaleWindow::new(
            Timestamp::from_millis(r.try_get("starts_at")?),
            Timestamp::from_millis(r.try_get("ends_at")?),
        )
        .map_err(|_| StoreError::Corrupt("flash_sales window"))?;
        Ok(Some(SaleOffer {
            sale_id: r.try_get("id")?,
            product_id: r.try_get("product_id")?,
            name: r.try_get("name")?,
            sale_price: Money::from_minor(r.try_get("sale_price")?),
            per_buyer_limit: r.try_get("per_buyer_limit")?,
            window,
        }))
    }

    /// Places an order in one transaction: order (PENDING), line with the price snapshot,
    /// payment and delivery placeholders, the first timeline entry, and the `order.placed`
    /// outbox event. A repeated idempotency key returns the existing order instead.
    pub async fn place_order(&self, o: &NewOrder, now: Timestamp) -> Result<Placed> {
        let total: i64 = o.lines.iter().map(|l| l.unit_price.minor() * l.quantity).sum();
        let sale_id = o.lines.iter().find_map(|l| l.sale_id);
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query_scalar::<_, i64>(
            "INSERT INTO orders (user_id, status, total, idempotency_key, sale_id, ship_receiver, \
             ship_street, ship_detail, ship_zip, payment_method_id, payment_label, created_at, updated_at, \
             saga_step, step_since) \
             VALUES ($1, 'PENDING', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, 'PLACED', $11) RETURNING id",
        )
        .bind(o.user_id)
        .bind(total)
        .bind(&o.idempotency_key)
        .bind(sale_id)
        .bind(&o.ship_receiver)
        .bind(&o.ship_street)
        .bind(&o.ship_detail)
        .bind(&o.ship_zip)
        .bind(o.payment_method_id)
        .bind(&o.payment_label)
        .bind(now.millis())
        .fetch_one(&mut *tx)
        .await;
        let order_id = match inserted {
            Ok(id) => id,
            Err(e) => {
                let err = StoreError::from(e);
                if err.unique_violation().as_deref() == Some("orders_idempotency_key") {
                    drop(tx);
                    let existing: i64 = sqlx::query_scalar(
                        "SELECT id FROM orders WHERE user_id = $1 AND idempotency_key = $2",
                    )
                    .bind(o.user_id)
                    .bind(&o.idempotency_key)
                    .fetch_one(&self.pool)
                    .await?;
                    return Ok(Placed::Existing(existing));
                }
                return Err(err);
            }
        };
        #[cfg(feature = "test-hooks")]
        if self.fail_next_order.swap(false, Ordering::SeqCst) {
            return Err(StoreError::Corrupt("injected fault: order transaction aborted"));
        }
        for l in &o.lines {
            sqlx::query(
                "INSERT INTO order_lines (order_id, product_id, sale_id, name, quantity, unit_price) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(order_id)
            .bind(l.product_id)
            .bind(l.sale_id)
            .bind(&l.name)
            .bind(l.quantity)
            .bind(l.unit_price.minor())
            .execute(&mut *tx)
            .await?;
        }
        if o.from_cart {
            sqlx::query("DELETE FROM cart_items WHERE user_id = $1")
                .bind(o.user_id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("INSERT INTO payments (order_id, status, amount, created_at, updated_at) VALUES ($1, 'PENDING', $2, $3, $3)")
            .bind(order_id)
            .bind(total)
            .bind(now.millis())
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO deliveries (order_id, status, created_at, updated_at) VALUES ($1, 'PENDING', $2, $2)")
            .bind(order_id)
            .bind(now.millis())
            .execute(&mut *tx)
            .await?;
        let event_id = format!("order.placed:{order_id}");
        let payload = serde_json::json!({
            "event_id": event_id,
            "type": "order.placed",
            "schema_version": 1,
            "order_id": order_id,
            "occurred_at": now.millis(),
            "data": {
                "user_id": o.user_id,
                "total": total,
                "sale_id": sale_id,
                "lines": o.lines.iter().map(|l| serde_json::json!({
                    "product_id": l.product_id, "sale_id": l.sale_id, "quantity": l.quantity, "unit_price": l.unit_price.minor()
                })).collect::<Vec<_>>(),
                "payment_method_id": o.payment_method_id,
                "idempotency_key": o.idempotency_key,
            }
        })
        .to_string();
        record_event(&mut tx, order_id, "PENDING", "Order placed; waiting for payment.", &payload, now)
            .await?;
        enqueue(&mut tx, &event_id, "orders", &order_id.to_string(), "order.placed", &payload, now).await?;
        if let Some(sender) = &self.mail_sender {
            crate::mail::queue_order_mail(&mut tx, sender, order_id, OrderStatus::Pending, OrderStatus::Pending, now)
                .await?;
        }
        tx.commit().await?;
        Ok(Placed::Created(order_id))
    }

    /// Cancels one of the user's orders if it has not shipped: status, lines, timeline and the
    /// `order.cancelled` outbox event in one transaction. The conditional update makes a second
    /// (or concurrent) cancel a no-op, so compensation runs once.
    pub async fn cancel_order(
        &self,
        user_id: i64,
        order_id: i64,
        by: CancelledBy,
        now: Timestamp,
    ) -> Result<Cancel> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "SELECT status, saga_step, sale_id, idempotency_key, total FROM orders \
             WHERE id = $1 AND user_id = $2",
        )
        .bind(order_id)
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(Cancel::NotFound) };
        let status: String = row.try_get("status")?;
        let status = OrderStatus::parse(&status).ok_or(StoreError::Corrupt("orders.status"))?;
        let step: String = row.try_get("saga_step")?;
        let step = Step::parse(&step).ok_or(StoreError::Corrupt("orders.saga_step"))?;
        let state = SagaState { status, step };
        // The domain decides; the update only applies it if nobody moved the order since.
        if !state.may_cancel() {
            return Ok(Cancel::TooLate(state));
        }
        let changed = sqlx::query(
            "UPDATE orders SET status = 'CANCELLED', failure_reason = $1, updated_at = $2 \
             WHERE id = $3 AND status = $4 AND saga_step = $5",
        )
        .bind(match by {
            CancelledBy::Buyer => "Cancelled by the buyer before shipping.",
            CancelledBy::Staff => "Cancelled by the shop before shipping.",
        })
        .bind(now.millis())
        .bind(order_id)
        .bind(status.as_str())
        .bind(step.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Ok(Cancel::TooLate(state));
        }
        sqlx::query("UPDATE order_lines SET status = 'CANCELLED' WHERE order_id = $1")
            .bind(order_id)
            .execute(&mut *tx)
            .await?;
        let event_id = format!("order.cancelled:{order_id}");
        let payload = serde_json::json!({
            "event_id": event_id,
            "type": "order.cancelled",
            "schema_version": 1,
            "order_id": order_id,
            "occurred_at": now.millis(),
            "data": { "user_id": user_id, "was": status.as_str(), "refund": status == OrderStatus::Paid, "total": row.try_get::<i64, _>("total")? }
        })
        .to_string();
        record_event(
            &mut tx,
            order_id,
            "CANCELLED",
            match (by, status == OrderStatus::Paid) {
                (CancelledBy::Buyer, true) => "Cancelled by you; the payment will be refunded.",
                (CancelledBy::Buyer, false) => "Cancelled by you.",
                (CancelledBy::Staff, true) => "Cancelled by the shop; the payment will be refunded.",
                (CancelledBy::Staff, false) => "Cancelled by the shop.",
            },
            &payload,
            now,
        )
        .await?;
        enqueue(&mut tx, &event_id, "orders", &order_id.to_string(), "order.cancelled", &payload, now)
            .await?;
        if let Some(sender) = &self.mail_sender {
            crate::mail::queue_order_mail(&mut tx, sender, order_id, status, OrderStatus::Cancelled, now).await?;
        }
        let items =
            sqlx::query("SELECT product_id, sale_id FROM order_lines WHERE order_id = $1 ORDER BY id")
                .bind(order_id)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|l| {
                    Ok(match l.try_get::<Option<i64>, _>("sale_id")? {
                        Some(sale) => GateItem::Sale(sale),
                        None => GateItem::Product(l.try_get("product_id")?),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
        tx.commit().await?;
        Ok(Cancel::Cancelled { items, idempotency_key: row.try_get("idempotency_key")? })
    }

    pub async fn order_id_for_key(&self, user_id: i64, key: &str) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT id FROM orders WHERE user_id = $1 AND idempotency_key = $2")
            .bind(user_id)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn orders_for_user(&self, user_id: i64) -> Result<Vec<OrderSummary>> {
        let rows = sqlx::query(
            "SELECT o.id, o.status, o.total, o.created_at, \
             (SELECT l.name FROM order_lines l WHERE l.order_id = o.id ORDER BY l.id LIMIT 1) AS first_item, \
             CAST((SELECT COALESCE(SUM(l.quantity), 0) FROM order_lines l WHERE l.order_id = o.id) AS BIGINT) AS item_count \
             FROM orders o WHERE o.user_id = $1 ORDER BY o.created_at DESC, o.id DESC LIMIT 200",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let status: String = r.try_get("status")?;
                Ok(OrderSummary {
                    id: r.try_get("id")?,
                    status: OrderStatus::parse(&status).ok_or(StoreError::Corrupt("orders.status"))?,
                    total: Money::from_minor(r.try_get("total")?),
                    created_at: Timestamp::from_millis(r.try_get("created_at")?),
                    first_item: r.try_get::<Option<String>, _>("first_item")?.unwrap_or_default(),
                    item_count: r.try_get("item_count")?,
                })
            })
            .collect()
    }

    /// An order's lines, in the order they were placed.
    pub(crate) async fn order_lines(&self, order_id: i64) -> Result<Vec<OrderLine>> {
        sqlx::query("SELECT id, product_id, name, quantity, unit_price FROM order_lines WHERE order_id = $1 ORDER BY id")
            .bind(order_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|l| {
                Ok(OrderLine {
                    line_id: l.try_get("id")?,
                    product_id: l.try_get("product_id")?,
                    name: l.try_get("name")?,
                    quantity: l.try_get("quantity")?,
                    unit_price: Money::from_minor(l.try_get("unit_price")?),
                })
            })
            .collect()
    }

    /// One of the user's orders (`None` for someone else's: it does not exist for them).
    /// `return_until` is left for the caller, who knows the return policy.
    pub async fn order_detail(&self, user_id: i64, order_id: i64) -> Result<Option<OrderDetail>> {
        let row = sqlx::query(
            "SELECT id, status, saga_step, failure_reason, total, sale_id, ship_receiver, ship_street, \
             ship_detail, ship_zip, payment_label, created_at, delivered_at FROM orders WHERE id = $1 AND user_id = $2",
        )
        .bind(order_id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let lines = self.order_lines(order_id).await?;
        let events = sqlx::query("SELECT kind, detail, at FROM order_events WHERE order_id = $1 ORDER BY id")
            .bind(order_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|e| {
                Ok(OrderEvent {
                    kind: e.try_get("kind")?,
                    detail: e.try_get("detail")?,
                    at: Timestamp::from_millis(e.try_get("at")?),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let status: String = r.try_get("status")?;
        let detail: String = r.try_get("ship_detail")?;
        let street: String = r.try_get("ship_street")?;
        let ship_to = format!(
            "{}, {}{}, {}",
            r.try_get::<String, _>("ship_receiver")?,
            street,
            if detail.is_empty() { String::new() } else { format!(" {detail}") },
            r.try_get::<String, _>("ship_zip")?
        );
        let status = OrderStatus::parse(&status).ok_or(StoreError::Corrupt("orders.status"))?;
        let step: String = r.try_get("saga_step")?;
        let step = Step::parse(&step).ok_or(StoreError::Corrupt("orders.saga_step"))?;
        Ok(Some(OrderDetail {
            id: r.try_get("id")?,
            status,
            cancellable: SagaState { status, step }.may_cancel(),
            failure_reason: r.try_get("failure_reason")?,
            total: Money::from_minor(r.try_get("total")?),
            sale_id: r.try_get("sale_id")?,
            ship_to,
            payment_label: r.try_get("payment_label")?,
            created_at: Timestamp::from_millis(r.try_get("created_at")?),
            lines,
            events,
            delivered_at: r.try_get::<Option<i64>, _>("delivered_at")?.map(Timestamp::from_millis),
            return_info: self.order_return(order_id).await?,
            return_until: None,
        }))
    }

    /// Count of outbox rows for one event type (operations and tests).
    pub async fn outbox_count(&self, event_type: &str) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE event_type = $1")
            .bind(event_type)
            .fetch_one(&self.pool)
            .await?)
    }
}
