//! One handler's transaction: claim the message, change the order, queue the events, commit.

use super::{saga_order, Released, SagaOrder, StockCommit, ORDER_COLUMNS};
use crate::orders::{enqueue, record_event};
use crate::{Backend, Result, Store, StoreError};
use shop_domain::gate::GateItem;
use shop_domain::saga::{Envelope, SagaState, Step};
use shop_domain::Timestamp;
use sqlx::Row;

/// One handler's transaction.
pub struct SagaTx {
    pub(crate) tx: sqlx::Transaction<'static, sqlx::Any>,
    backend: Backend,
    now: Timestamp,
    catalog: std::sync::Arc<crate::catalog_cache::CatalogCache>,
    /// Products whose stock this transaction moved: their cached pages go at commit.
    pub(crate) stock_moved: Vec<i64>,
    duplicates: std::sync::Arc<std::sync::atomic::AtomicU64>,
    pub(crate) mail_sender: Option<std::sync::Arc<crate::mail::MailSender>>,
}

impl Store {
    pub async fn begin_saga(&self, now: Timestamp) -> Result<SagaTx> {
        Ok(SagaTx {
            tx: self.begin_write().await?,
            backend: self.backend,
            now,
            catalog: self.catalog.clone(),
            stock_moved: Vec::new(),
            duplicates: self.duplicates.clone(),
            mail_sender: self.mail_sender.clone(),
        })
    }

    /// Messages this process's consumers received again after handling them, and ignored
    /// (each a failed [`SagaTx::claim`]): how a test sees that redeliveries happened.
    pub fn duplicates_ignored(&self) -> u64 {
        self.duplicates.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl SagaTx {
    pub fn now(&self) -> Timestamp {
        self.now
    }

    fn for_update(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        }
    }

    /// Claims `event_id` for `consumer`: `false` when it was handled before (then roll back).
    pub async fn claim(&mut self, consumer: &str, event_id: &str) -> Result<bool> {
        let first = sqlx::query(
            "INSERT INTO processed_messages (consumer, event_id, processed_at) VALUES ($1, $2, $3) \
             ON CONFLICT (consumer, event_id) DO NOTHING",
        )
        .bind(consumer)
        .bind(event_id)
        .bind(self.now.millis())
        .execute(&mut *self.tx)
        .await?
        .rows_affected()
            == 1;
        if !first {
            self.duplicates.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(first)
    }

    /// The order, locked for this transaction on PostgreSQL.
    pub async fn order(&mut self, order_id: i64) -> Result<Option<SagaOrder>> {
        let sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1{}", self.for_update());
        let row = sqlx::query(&sql).bind(order_id).fetch_optional(&mut *self.tx).await?;
        row.as_ref().map(saga_order).transpose()
    }

    /// Moves the order from `from` to `to` if it is still in `from`; a new status is mailed to
    /// the buyer in the same transaction.
    pub async fn move_order(
        &mut self,
        order_id: i64,
        from: SagaState,
        to: SagaState,
        failure_reason: Option<&str>,
    ) -> Result<bool> {
        let moved = self.move_order_row(order_id, from, to, failure_reason).await?;
        if moved && from.status != to.status {
            if let Some(sender) = self.mail_sender.clone() {
                crate::mail::queue_order_mail(&mut self.tx, &sender, order_id, from.status, to.status, self.now).await?;
            }
        }
        Ok(moved)
    }

    async fn move_order_row(
        &mut self,
        order_id: i64,
        from: SagaState,
        to: SagaState,
        failure_reason: Option<&str>,
    ) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE orders SET status = $1, saga_step = $2, step_since = $3, updated_at = $3, \
             failure_reason = COALESCE($4, failure_reason), \
             delivered_at = CASE WHEN $1 = 'DELIVERED' THEN $3 ELSE delivered_at END \
             WHERE id = $5 AND status = $6 AND saga_step = $7",
        )
        .bind(to.status.as_str())
        .bind(to.step.as_str())
        .bind(self.now.millis())
        .bind(failure_reason)
        .bind(order_id)
        .bind(from.status.as_str())
        .bind(from.step.as_str())
        .execute(&mut *self.tx)
        .await?
        .rows_affected()
            == 1)
    }

    /// Restarts the clock of the order's current step and counts a re-drive.
    pub async fn note_redrive(&mut self, order_id: i64, state: SagaState, step: Step) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE orders SET saga_step = $1, step_since = $2, redrives = redrives + 1, updated_at = $2 \
             WHERE id = $3 AND status = $4 AND saga_step = $5",
        )
        .bind(step.as_str())
        .bind(self.now.millis())
        .bind(order_id)
        .bind(state.status.as_str())
        .bind(state.step.as_str())
        .execute(&mut *self.tx)
        .await?
        .rows_affected()
            == 1)
    }

    pub async fn timeline(&mut self, order_id: i64, kind: &str, detail: &str, payload: &str) -> Result<()> {
        record_event(&mut self.tx, order_id, kind, detail, payload, self.now).await
    }

    /// Writes an event to the outbox, to be published after this transaction commits.
    pub async fn send(&mut self, event: &Envelope) -> Result<()> {
        let kind = event.event_kind().ok_or(StoreError::Corrupt("unknown event type"))?;
        enqueue(
            &mut self.tx,
            &event.event_id,
            kind.topic(),
            &event.order_id.to_string(),
            kind.as_str(),
            &event.to_json(),
            self.now,
        )
        .await
    }

    /// Moves the payment from one status to another (`false` if it was not in `from`).
    pub async fn set_payment(
        &mut self,
        order_id: i64,
        from: &str,
        to: &str,
        provider_ref: Option<&str>,
        error: Option<&str>,
    ) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE payments SET status = $1, provider_ref = COALESCE($2, provider_ref), \
             last_error = COALESCE($3, last_error), updated_at = $4 WHERE order_id = $5 AND status = $6",
        )
        .bind(to)
        .bind(provider_ref)
        .bind(error)
        .bind(self.now.millis())
        .bind(order_id)
        .bind(from)
        .execute(&mut *self.tx)
        .await?
        .rows_affected()
            == 1)
    }

    /// Moves the delivery from one of `from` to `to`.
    pub async fn set_delivery(
        &mut self,
        order_id: i64,
        from: &[&str],
        to: &str,
        carrier_ref: Option<&str>,
        error: Option<&str>,
    ) -> Result<bool> {
        let list = from.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ");
        Ok(sqlx::query(&format!(
            "UPDATE deliveries SET status = $1, carrier_ref = COALESCE($2, carrier_ref), \
             last_error = COALESCE($3, last_error), updated_at = $4 WHERE order_id = $5 AND status IN ({list})"
        ))
        .bind(to)
        .bind(carrier_ref)
        .bind(error)
        .bind(self.now.millis())
        .bind(order_id)
        .execute(&mut *self.tx)
        .await?
        .rows_affected()
            == 1)
    }

    /// Hands a booked parcel to the carrier (starts its clock) once.
    pub async fn dispatch(&mut self, order_id: i64) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE deliveries SET dispatched_at = $1, updated_at = $1 WHERE order_id = $2 \
             AND status = 'REQUESTED' AND dispatched_at IS NULL",
        )
        .bind(self.now.millis())
        .bind(order_id)
        .execute(&mut *self.tx)
        .await?
        .rows_affected()
            == 1)
    }

    /// Moves an active order's uncommitted lines into the database stock (and a sale's sold
    /// count). All lines or none: on a shortfall nothing is written and the caller rolls back.
    pub async fn commit_stock(&mut self, order_id: i64) -> Result<StockCommit> {
        let lines = sqlx::query(
            "SELECT l.id, l.product_id, l.sale_id, l.quantity, l.name FROM order_lines l JOIN orders o ON o.id = l.order_id \
             WHERE l.order_id = $1 AND l.status = 'ACTIVE' AND l.stock_committed = 0 \
             AND o.status IN ('PENDING', 'PAID') ORDER BY l.product_id",
        )
        .bind(order_id)
        .fetch_all(&mut *self.tx)
        .await?;
        if lines.is_empty() {
            return Ok(StockCommit::Nothing);
        }
        for l in &lines {
            let q: i64 = l.try_get("quantity")?;
            let name: String = l.try_get("name")?;
            if let Some(sale) = l.try_get::<Option<i64>, _>("sale_id")? {
                let ok = sqlx::query(
                    "UPDATE flash_sales SET sold = sold + $1, updated_at = $2 WHERE id = $3 AND sold + $1 <= quantity",
                )
                .bind(q)
                .bind(self.now.millis())
                .bind(sale)
                .execute(&mut *self.tx)
                .await?
                .rows_affected();
                if ok == 0 {
                    return Ok(StockCommit::Shortfall(format!("the sale of {name} has no units left")));
                }
            }
            let ok = sqlx::query(
                "UPDATE products SET stock = stock - $1, sold_count = sold_count + $1, updated_at = $2 \
                 WHERE id = $3 AND stock >= $1",
            )
            .bind(q)
            .bind(self.now.millis())
            .bind(l.try_get::<i64, _>("product_id")?)
            .execute(&mut *self.tx)
            .await?
            .rows_affected();
            if ok == 0 {
                return Ok(StockCommit::Shortfall(format!("{name} has fewer than {q} left")));
            }
            self.stock_moved.push(l.try_get("product_id")?);
            sqlx::query("UPDATE order_lines SET stock_committed = 1 WHERE id = $1")
                .bind(l.try_get::<i64, _>("id")?)
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(StockCommit::Committed)
    }

    /// Returns a dead order's committed units to the database stock and lists what the gate
    /// must give back. Lines are marked cancelled; a second call un-commits nothing.
    pub async fn release_stock(&mut self, order_id: i64) -> Result<Option<Released>> {
        let order = sqlx::query(&format!(
            "SELECT user_id, idempotency_key, status FROM orders WHERE id = $1{}",
            self.for_update()
        ))
        .bind(order_id)
        .fetch_optional(&mut *self.tx)
        .await?;
        let Some(order) = order else { return Ok(None) };
        let status: String = order.try_get("status")?;
        if !matches!(status.as_str(), "FAILED" | "CANCELLED") {
            // Only dead orders give their stock back.
            return Ok(None);
        }
        let lines = sqlx::query(
            "SELECT id, product_id, sale_id, quantity, stock_committed FROM order_lines WHERE order_id = $1 ORDER BY id",
        )
        .bind(order_id)
        .fetch_all(&mut *self.tx)
        .await?;
        let mut items = Vec::new();
        let mut units = 0;
        for l in &lines {
            let q: i64 = l.try_get("quantity")?;
            let product: i64 = l.try_get("product_id")?;
            let sale: Option<i64> = l.try_get("sale_id")?;
            items.push(match sale {
                Some(s) => GateItem::Sale(s),
                None => GateItem::Product(product),
            });
            if l.try_get::<i64, _>("stock_committed")? == 1 {
                units += q;
                if let Some(s) = sale {
                    sqlx::query("UPDATE flash_sales SET sold = sold - $1, updated_at = $2 WHERE id = $3 AND sold >= $1")
                        .bind(q)
                        .bind(self.now.millis())
                        .bind(s)
                        .execute(&mut *self.tx)
                        .await?;
                }
                sqlx::query(
                    "UPDATE products SET stock = stock + $1, sold_count = CASE WHEN sold_count >= $1 \
                     THEN sold_count - $1 ELSE 0 END, updated_at = $2 WHERE id = $3",
                )
                .bind(q)
                .bind(self.now.millis())
                .bind(product)
                .execute(&mut *self.tx)
                .await?;
                self.stock_moved.push(product);
            }
        }
        sqlx::query("UPDATE order_lines SET stock_committed = 0, status = 'CANCELLED' WHERE order_id = $1")
            .bind(order_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(Some(Released {
            items,
            buyer: order.try_get("user_id")?,
            idempotency_key: order.try_get("idempotency_key")?,
            units_uncommitted: units,
        }))
    }

    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        for product in self.stock_moved {
            self.catalog.forget_product(product);
        }
        Ok(())
    }
}
