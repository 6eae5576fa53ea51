//! Orders for staff: the filtered list, one order's whole saga record, dead letters and their
//! replay through the outbox.

use super::{audit, ilike};
use crate::orders::enqueue;
use crate::sql::like_escape;
use crate::{Result, Store, StoreError};
use shop_domain::admin::{
    replay_event_id, AdminOrderDetail, AdminOrderRow, DeadLetter, OrderFilter, OutboxEntry, Replay,
    SagaEvent, StepRecord,
};
use shop_domain::{Money, OrderStatus, Page, Timestamp, PAGE_SIZE};
use sqlx::any::AnyRow;
use sqlx::Row;

fn status_of(r: &AnyRow) -> Result<OrderStatus> {
    let s: String = r.try_get("status")?;
    OrderStatus::parse(&s).ok_or(StoreError::Corrupt("orders.status"))
}

fn dead_letter(r: &AnyRow) -> Result<DeadLetter> {
    Ok(DeadLetter {
        id: r.try_get("id")?,
        topic: r.try_get("topic")?,
        msg_key: r.try_get("msg_key")?,
        payload: r.try_get("payload")?,
        error: r.try_get("error")?,
        failed_at: Timestamp::from_millis(r.try_get("failed_at")?),
        replayed_at: r.try_get::<Option<i64>, _>("replayed_at")?.map(Timestamp::from_millis),
    })
}

fn step(r: Option<AnyRow>, reference: &str) -> Result<Option<StepRecord>> {
    r.map(|r| {
        Ok(StepRecord {
            status: r.try_get("status")?,
            reference: r.try_get(reference)?,
            last_error: r.try_get("last_error")?,
            updated_at: Timestamp::from_millis(r.try_get("updated_at")?),
        })
    })
    .transpose()
}

const DEAD_LETTER_COLUMNS: &str = "id, topic, msg_key, payload, error, failed_at, replayed_at";

impl Store {
    /// One page of orders, newest first, filtered by status, day range and buyer.
    pub async fn admin_orders(&self, f: &OrderFilter) -> Result<Page<AdminOrderRow>> {
        let mut conditions = vec!["1 = 1".to_string()];
        let mut text: Option<String> = None;
        if let Some(s) = f.status {
            // A validated enum value, never user text.
            conditions.push(format!("o.status = '{}'", s.as_str()));
        }
        if let Some(from) = f.from {
            conditions.push(format!("o.created_at >= {}", from.millis()));
        }
        if let Some(before) = f.before() {
            conditions.push(format!("o.created_at < {}", before.millis()));
        }
        match (f.buyer_id(), &f.buyer) {
            (Some(id), _) => conditions.push(format!("o.user_id = {id}")),
            (None, Some(b)) => {
                let op = ilike(self.backend);
                conditions.push(format!(
                    "(u.email {op} $1 ESCAPE '\\' OR u.username {op} $1 ESCAPE '\\' OR u.name {op} $1 ESCAPE '\\')"
                ));
                text = Some(format!("%{}%", like_escape(b)));
            }
            (None, None) => {}
        }
        let filter = conditions.join(" AND ");
        let count_sql =
            format!("SELECT COUNT(*) FROM orders o JOIN users u ON u.id = o.user_id WHERE {filter}");
        let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
        if let Some(t) = &text {
            count = count.bind(t);
        }
        let total = count.fetch_one(&self.pool).await?;
        let offset = (f.page.max(1) - 1) * PAGE_SIZE;
        let list_sql = format!(
            "SELECT o.id, o.status, o.total, o.created_at, o.user_id, u.email, \
             (SELECT l.name FROM order_lines l WHERE l.order_id = o.id ORDER BY l.id LIMIT 1) AS first_item, \
             CAST((SELECT COALESCE(SUM(l.quantity), 0) FROM order_lines l WHERE l.order_id = o.id) AS BIGINT) AS item_count \
             FROM orders o JOIN users u ON u.id = o.user_id WHERE {filter} \
             ORDER BY o.created_at DESC, o.id DESC LIMIT {PAGE_SIZE} OFFSET {offset}"
        );
        let mut list = sqlx::query(&list_sql);
        if let Some(t) = &text {
            list = list.bind(t);
        }
        let items = list
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(AdminOrderRow {
                    id: r.try_get("id")?,
                    status: status_of(r)?,
                    total: Money::from_minor(r.try_get("total")?),
                    created_at: Timestamp::from_millis(r.try_get("created_at")?),
                    buyer_id: r.try_get("user_id")?,
                    buyer_email: r.try_get("email")?,
                    first_item: r.try_get::<Option<String>, _>("first_item")?.unwrap_or_default(),
                    item_count: r.try_get("item_count")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::exact(items, f.page, total.max(0) as u64))
    }

    /// Any order, with its buyer, payment and delivery records, every timeline entry with its
    /// event payload, its outbox events and its dead letters.
    pub async fn admin_order(&self, id: i64) -> Result<Option<AdminOrderDetail>> {
        let row = sqlx::query(
            "SELECT o.id, o.status, o.saga_step, o.failure_reason, o.total, o.sale_id, o.user_id, u.email, u.name, \
             o.ship_receiver, o.ship_street, o.ship_detail, o.ship_zip, o.payment_label, o.created_at, o.updated_at \
             FROM orders o JOIN users u ON u.id = o.user_id WHERE o.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let lines = self.order_lines(id).await?;
        let payment = sqlx::query(
            "SELECT status, provider_ref, last_error, updated_at FROM payments WHERE order_id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let delivery = sqlx::query(
            "SELECT status, carrier_ref, last_error, updated_at FROM deliveries WHERE order_id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let timeline =
            sqlx::query("SELECT kind, detail, payload, at FROM order_events WHERE order_id = $1 ORDER BY id")
                .bind(id)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|e| {
                    Ok(SagaEvent {
                        kind: e.try_get("kind")?,
                        detail: e.try_get("detail")?,
                        payload: e.try_get("payload")?,
                        at: Timestamp::from_millis(e.try_get("at")?),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
        let outbox = sqlx::query(
            "SELECT event_id, event_type, created_at, sent_at, attempts, last_error FROM outbox \
             WHERE msg_key = $1 ORDER BY id",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|o| {
            Ok(OutboxEntry {
                event_id: o.try_get("event_id")?,
                event_type: o.try_get("event_type")?,
                created_at: Timestamp::from_millis(o.try_get("created_at")?),
                sent_at: o.try_get::<Option<i64>, _>("sent_at")?.map(Timestamp::from_millis),
                attempts: o.try_get("attempts")?,
                last_error: o.try_get("last_error")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let dead_letters = sqlx::query(&format!(
            "SELECT {DEAD_LETTER_COLUMNS} FROM dead_letters WHERE msg_key = $1 ORDER BY id"
        ))
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(dead_letter)
        .collect::<Result<Vec<_>>>()?;
        let detail: String = r.try_get("ship_detail")?;
        let ship_to = format!(
            "{}, {}{}, {}",
            r.try_get::<String, _>("ship_receiver")?,
            r.try_get::<String, _>("ship_street")?,
            if detail.is_empty() { String::new() } else { format!(" {detail}") },
            r.try_get::<String, _>("ship_zip")?
        );
        let status = status_of(&r)?;
        let saga_step: String = r.try_get("saga_step")?;
        let saga_step =
            shop_domain::saga::Step::parse(&saga_step).ok_or(StoreError::Corrupt("orders.saga_step"))?;
        Ok(Some(AdminOrderDetail {
            id: r.try_get("id")?,
            status,
            cancellable: shop_domain::saga::SagaState { status, step: saga_step }.may_cancel(),
            failure_reason: r.try_get("failure_reason")?,
            total: Money::from_minor(r.try_get("total")?),
            sale_id: r.try_get("sale_id")?,
            buyer_id: r.try_get("user_id")?,
            buyer_email: r.try_get("email")?,
            buyer_name: r.try_get("name")?,
            ship_to,
            payment_label: r.try_get("payment_label")?,
            created_at: Timestamp::from_millis(r.try_get("created_at")?),
            updated_at: Timestamp::from_millis(r.try_get("updated_at")?),
            lines,
            payment: step(payment, "provider_ref")?,
            delivery: step(delivery, "carrier_ref")?,
            timeline,
            outbox,
            dead_letters,
            return_info: self.order_return(id).await?,
        }))
    }

    /// The buyer of an order (to cancel it on their behalf).
    pub async fn order_buyer(&self, order_id: i64) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT user_id FROM orders WHERE id = $1")
            .bind(order_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Dead letters, newest first.
    pub async fn dead_letters(&self, page: u32) -> Result<Page<DeadLetter>> {
        let total: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM dead_letters").fetch_one(&self.pool).await?;
        let offset = (page.max(1) - 1) * PAGE_SIZE;
        let items = sqlx::query(&format!(
            "SELECT {DEAD_LETTER_COLUMNS} FROM dead_letters ORDER BY failed_at DESC, id DESC \
             LIMIT {PAGE_SIZE} OFFSET {offset}"
        ))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(dead_letter)
        .collect::<Result<Vec<_>>>()?;
        Ok(Page::exact(items, page, total.max(0) as u64))
    }

    /// Replays a dead letter: in one transaction, the same envelope goes back into the outbox
    /// (same topic, key, type and payload; event id `<original>#replay<id>`), the dead letter
    /// is marked replayed and the audit log records who did it. A second replay is refused.
    pub async fn replay_dead_letter(&self, id: i64, actor: i64, now: Timestamp) -> Result<Replay> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(&format!("SELECT {DEAD_LETTER_COLUMNS} FROM dead_letters WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else { return Ok(Replay::NotFound) };
        let letter = dead_letter(&row)?;
        if let Some(at) = letter.replayed_at {
            return Ok(Replay::AlreadyReplayed(at));
        }
        let envelope: Option<serde_json::Value> = serde_json::from_str(&letter.payload).ok();
        let field = |name: &str| {
            envelope.as_ref().and_then(|e| e.get(name)).and_then(|v| v.as_str()).map(str::to_string)
        };
        let (Some(event_type), Some(original_id)) = (field("type"), field("event_id")) else {
            return Ok(Replay::NotAnEvent);
        };
        // The conditional update makes two concurrent replays of one letter publish once.
        let claimed =
            sqlx::query("UPDATE dead_letters SET replayed_at = $1 WHERE id = $2 AND replayed_at IS NULL")
                .bind(now.millis())
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if claimed == 0 {
            return Ok(Replay::AlreadyReplayed(now));
        }
        let event_id = replay_event_id(&original_id, id);
        enqueue(&mut tx, &event_id, &letter.topic, &letter.msg_key, &event_type, &letter.payload, now)
            .await?;
        let detail = format!("{event_type} on {} (key {}) as {event_id}", letter.topic, letter.msg_key);
        audit(&mut tx, actor, "dead_letter.replay", &format!("dead_letter:{id}"), &detail, now).await?;
        tx.commit().await?;
        Ok(Replay::Replayed { event_id })
    }

    /// Writes one audit-log row on its own (for actions whose change is made by another
    /// store function, e.g. a staff cancel through [`Store::cancel_order`]).
    pub async fn record_audit(
        &self,
        actor: i64,
        action: &str,
        target: &str,
        detail: &str,
        now: Timestamp,
    ) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        audit(&mut conn, actor, action, target, detail, now).await
    }
}
