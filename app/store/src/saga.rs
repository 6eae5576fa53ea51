//! What the saga workers persist. Every handler runs in one [`SagaTx`]: it first claims the
//! message (a `processed_messages` row, unique per consumer and event id), then makes its
//! change and writes its outgoing events to the outbox, and commits all of it together. A
//! redelivered message finds its claim taken and changes nothing.

use crate::orders::{enqueue, record_event};
use crate::{Backend, Result, Store, StoreError};
use shop_domain::gate::GateItem;
use shop_domain::saga::{Envelope, EventKind, SagaState, Step};
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

/// One outbox row on its way to the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    pub id: i64,
    pub topic: String,
    pub key: String,
    pub payload: String,
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

/// One handler's transaction.
pub struct SagaTx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    backend: Backend,
    now: Timestamp,
}

impl Store {
    pub async fn begin_saga(&self, now: Timestamp) -> Result<SagaTx> {
        Ok(SagaTx { tx: self.begin_write().await?, backend: self.backend, now })
    }

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
        .fetch_one(&self.pool)
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

    /// Records a message that could not be handled, for the admin to inspect and replay.
    pub async fn dead_letter(
        &self,
        topic: &str,
        key: &str,
        payload: &str,
        error: &str,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO dead_letters (topic, msg_key, payload, error, failed_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(topic)
        .bind(key)
        .bind(payload)
        .bind(error)
        .bind(now.millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn dead_letter_count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM dead_letters").fetch_one(&self.pool).await?)
    }

    /// The simulated payment provider's ledger: records the charge under its key once and
    /// answers the outcome stored first (so a repeated charge returns the original result).
    pub async fn sim_charge(
        &self,
        key: &str,
        order_id: i64,
        amount: Money,
        outcome: &str,
        now: Timestamp,
    ) -> Result<String> {
        sqlx::query(
            "INSERT INTO sim_charges (charge_key, order_id, amount, outcome, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (charge_key) DO NOTHING",
        )
        .bind(key)
        .bind(order_id)
        .bind(amount.minor())
        .bind(outcome)
        .bind(now.millis())
        .execute(&self.pool)
        .await?;
        Ok(sqlx::query_scalar("SELECT outcome FROM sim_charges WHERE charge_key = $1")
            .bind(key)
            .fetch_one(&self.pool)
            .await?)
    }

    /// Refunds a captured simulated charge once: `true` when this call refunded it.
    pub async fn sim_refund(&self, key: &str, now: Timestamp) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE sim_charges SET refunded_at = $1 WHERE charge_key = $2 AND outcome = 'CAPTURED' \
             AND refunded_at IS NULL",
        )
        .bind(now.millis())
        .bind(key)
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1)
    }

    /// Unsent outbox rows, at most one per message key (the oldest), in id order. On
    /// PostgreSQL the rows stay locked (`FOR UPDATE SKIP LOCKED`) until [`OutboxBatch::finish`],
    /// so several relays share the work without sending a row twice or out of order.
    pub async fn outbox_batch(&self, limit: i64) -> Result<OutboxBatch> {
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(&format!(
            "SELECT o.id, o.topic, o.msg_key, o.payload FROM outbox o WHERE o.sent_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.msg_key = o.msg_key AND p.sent_at IS NULL AND p.id < o.id) \
             ORDER BY o.id LIMIT $1{lock}"
        ))
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let messages = rows
            .iter()
            .map(|r| {
                Ok(OutboxMessage {
                    id: r.try_get("id")?,
                    topic: r.try_get("topic")?,
                    key: r.try_get("msg_key")?,
                    payload: r.try_get("payload")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        // SQLite has one writer at a time: don't hold it while publishing.
        let tx = match self.backend {
            Backend::Postgres => Some(tx),
            Backend::Sqlite => {
                tx.commit().await?;
                None
            }
        };
        Ok(OutboxBatch { tx, pool: self.pool.clone(), messages })
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

    /// Sends the command of an order's current step again (an operator's "retry"), with the
    /// timeline entry and the audit row, in one transaction. `Ok(None)` when the order does
    /// not exist; `Err`-free `Some(None)` when nothing is waiting on a worker.
    pub async fn retry_step(
        &self,
        order_id: i64,
        actor_id: i64,
        now: Timestamp,
    ) -> Result<Option<Option<EventKind>>> {
        let mut tx = self.begin_saga(now).await?;
        let Some(order) = tx.order(order_id).await? else { return Ok(None) };
        let Some(command) = order.state.step.command() else { return Ok(Some(None)) };
        if !tx.note_redrive(order.id, order.state, order.state.step.after_redrive()).await? {
            return Ok(Some(None));
        }
        let text = format!("Retried by staff ({}).", command.as_str());
        tx.timeline(order.id, "REDRIVE", &text, "{}").await?;
        let data =
            serde_json::json!({ "generation": order.redrives + 1, "cause": format!("staff:{actor_id}") });
        tx.send(&Envelope::new(new_event_id(command, order.id), command, order.id, now, data)).await?;
        crate::admin::audit(
            &mut tx.tx,
            actor_id,
            "order.retry",
            &format!("order:{order_id}"),
            command.as_str(),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Some(Some(command)))
    }

    /// Unsent outbox rows (operations, tests).
    pub async fn outbox_unsent(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Deletes sent outbox rows and processed-message records older than `before`.
    pub async fn prune_messages(&self, before: Timestamp) -> Result<u64> {
        let a = sqlx::query("DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < $1")
            .bind(before.millis())
            .execute(&self.pool)
            .await?
            .rows_affected();
        let b = sqlx::query("DELETE FROM processed_messages WHERE processed_at < $1")
            .bind(before.millis())
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(a + b)
    }
}

/// Outbox rows claimed by one relay pass.
pub struct OutboxBatch {
    tx: Option<sqlx::Transaction<'static, sqlx::Any>>,
    pool: sqlx::AnyPool,
    pub messages: Vec<OutboxMessage>,
}

impl OutboxBatch {
    /// Marks the published rows sent and records the error on the first one that failed.
    pub async fn finish(self, sent: &[i64], failed: Option<(i64, &str)>, now: Timestamp) -> Result<()> {
        let mut conn = match self.tx {
            Some(tx) => Conn::Tx(tx),
            None => Conn::Pool(self.pool.begin().await?),
        };
        for id in sent {
            sqlx::query("UPDATE outbox SET sent_at = $1, attempts = attempts + 1 WHERE id = $2")
                .bind(now.millis())
                .bind(id)
                .execute(conn.as_mut())
                .await?;
        }
        if let Some((id, error)) = failed {
            sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = $1 WHERE id = $2")
                .bind(error)
                .bind(id)
                .execute(conn.as_mut())
                .await?;
        }
        conn.commit().await
    }
}

enum Conn {
    Tx(sqlx::Transaction<'static, sqlx::Any>),
    Pool(sqlx::Transaction<'static, sqlx::Any>),
}

impl Conn {
    fn as_mut(&mut self) -> &mut sqlx::AnyConnection {
        match self {
            Conn::Tx(t) | Conn::Pool(t) => &mut *t,
        }
    }

    async fn commit(self) -> Result<()> {
        match self {
            Conn::Tx(t) | Conn::Pool(t) => t.commit().await?,
        }
        Ok(())
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
        Ok(sqlx::query(
            "INSERT INTO processed_messages (consumer, event_id, processed_at) VALUES ($1, $2, $3) \
             ON CONFLICT (consumer, event_id) DO NOTHING",
        )
        .bind(consumer)
        .bind(event_id)
        .bind(self.now.millis())
        .execute(&mut *self.tx)
        .await?
        .rows_affected()
            == 1)
    }

    /// The order, locked for this transaction on PostgreSQL.
    pub async fn order(&mut self, order_id: i64) -> Result<Option<SagaOrder>> {
        let sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1{}", self.for_update());
        let row = sqlx::query(&sql).bind(order_id).fetch_optional(&mut *self.tx).await?;
        row.as_ref().map(saga_order).transpose()
    }

    /// Moves the order from `from` to `to` if it is still in `from`.
    pub async fn move_order(
        &mut self,
        order_id: i64,
        from: SagaState,
        to: SagaState,
        failure_reason: Option<&str>,
    ) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE orders SET status = $1, saga_step = $2, step_since = $3, updated_at = $3, \
             failure_reason = COALESCE($4, failure_reason) \
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
        Ok(())
    }
}
