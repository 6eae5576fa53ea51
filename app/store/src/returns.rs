//! Returns after delivery: the buyer's request, the staff's decision, and the two steps the
//! saga's workers take for an approved return (the refund, the units back in stock), each
//! applied once with its timeline entry and its mail in one transaction.
//!
//! What may be returned and when is `shop_domain::returns`'s; this module applies it. The
//! order's lines are left as they were: returned flash-sale units still count toward the
//! sale's per-buyer limit (the gate's holdings are read from the active lines).

use crate::orders::{enqueue, record_event};
use crate::{saga::new_event_id, Result, SagaTx, Store, StoreError};
use shop_domain::mail::ReturnMail;
use shop_domain::returns::{
    ReturnFilter, ReturnInfo, ReturnLine, ReturnPolicy, ReturnRefusal, ReturnRequest, ReturnRow, ReturnStatus,
    Returnable,
};
use shop_domain::saga::{Envelope, EventKind};
use shop_domain::{Money, OrderStatus, Page, Timestamp};
use sqlx::Row;

/// What a buyer's return request came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestReturn {
    Requested { return_id: i64 },
    Refused(ReturnRefusal),
    /// The form named no item, too many units, or no reason: the field and what is wrong.
    Invalid(&'static str, String),
    NotFound,
}

/// Staff's answer to a return request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReturnDecision {
    Approve,
    /// With the note the buyer is told.
    Refuse(String),
}

/// What deciding came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decided {
    Done,
    /// It was decided before (by someone else, or a second click).
    Already(ReturnStatus),
    /// No return was requested for this order.
    NotFound,
}

const RETURN_COLUMNS: &str = "id, order_id, status, reason, amount, staff_note, requested_at, decided_at, \
     refunded_at, restocked_at";

fn status_of(r: &sqlx::any::AnyRow) -> Result<ReturnStatus> {
    ReturnStatus::parse(&r.try_get::<String, _>("status")?).ok_or(StoreError::Corrupt("returns.status"))
}

fn at(r: &sqlx::any::AnyRow, column: &str) -> Result<Option<Timestamp>> {
    Ok(r.try_get::<Option<i64>, _>(column)?.map(Timestamp::from_millis))
}

/// An order's return with its lines, read on `conn`.
async fn read_return(conn: &mut sqlx::AnyConnection, order_id: i64) -> Result<Option<ReturnInfo>> {
    let row = sqlx::query(&format!("SELECT {RETURN_COLUMNS} FROM returns WHERE order_id = $1"))
        .bind(order_id)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(r) = row else { return Ok(None) };
    let id: i64 = r.try_get("id")?;
    let lines = sqlx::query(
        "SELECT l.product_id, l.name, rl.quantity FROM return_lines rl JOIN order_lines l ON l.id = rl.order_line_id \
         WHERE rl.return_id = $1 ORDER BY l.id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|l| Ok(ReturnLine { product_id: l.try_get("product_id")?, name: l.try_get("name")?, quantity: l.try_get("quantity")? }))
    .collect::<Result<Vec<_>>>()?;
    Ok(Some(ReturnInfo {
        id,
        order_id,
        status: status_of(&r)?,
        reason: r.try_get("reason")?,
        amount: Money::from_minor(r.try_get("amount")?),
        staff_note: r.try_get("staff_note")?,
        lines,
        requested_at: Timestamp::from_millis(r.try_get("requested_at")?),
        decided_at: at(&r, "decided_at")?,
        refunded_at: at(&r, "refunded_at")?,
        restocked_at: at(&r, "restocked_at")?,
    }))
}

/// Queues the buyer's mail about the order's return, as it now stands, in `tx`.
async fn queue_return_mail(
    tx: &mut sqlx::AnyConnection,
    sender: &crate::MailSender,
    order_id: i64,
    now: Timestamp,
) -> Result<()> {
    let Some(r) = read_return(tx, order_id).await? else { return Ok(()) };
    let row = sqlx::query(
        "SELECT u.email, u.name, o.payment_label FROM orders o JOIN users u ON u.id = o.user_id WHERE o.id = $1",
    )
    .bind(order_id)
    .fetch_one(&mut *tx)
    .await?;
    let mail = ReturnMail {
        order_id,
        status: r.status,
        lines: r.lines.iter().map(|l| (l.name.clone(), l.quantity)).collect(),
        amount: r.amount,
        note: r.staff_note,
        payment_label: row.try_get("payment_label")?,
    };
    let to: String = row.try_get("email")?;
    let name: String = row.try_get("name")?;
    crate::mail::queue(tx, &sender.sender().return_update(&to, &name, &mail), now).await?;
    Ok(())
}

impl Store {
    /// The buyer asks to return some or all of a delivered order (`quantities`: line id →
    /// units, as the form sent them). The request, its timeline entry and its mail in one
    /// transaction; one return per order (a second request is refused, also when two race).
    pub async fn request_return(
        &self,
        user_id: i64,
        order_id: i64,
        quantities: &[(String, String)],
        reason: &str,
        policy: ReturnPolicy,
        now: Timestamp,
    ) -> Result<RequestReturn> {
        let mut tx = self.begin_write().await?;
        let order = sqlx::query("SELECT status, delivered_at FROM orders WHERE id = $1 AND user_id = $2")
            .bind(order_id)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(order) = order else { return Ok(RequestReturn::NotFound) };
        let status = OrderStatus::parse(&order.try_get::<String, _>("status")?)
            .ok_or(StoreError::Corrupt("orders.status"))?;
        let existing = sqlx::query("SELECT status FROM returns WHERE order_id = $1")
            .bind(order_id)
            .fetch_optional(&mut *tx)
            .await?
            .as_ref()
            .map(status_of)
            .transpose()?;
        if let Err(refusal) = policy.check(status, at(&order, "delivered_at")?, existing, now) {
            return Ok(RequestReturn::Refused(refusal));
        }
        let lines = sqlx::query(
            "SELECT id, quantity, unit_price FROM order_lines WHERE order_id = $1 AND status = 'ACTIVE' ORDER BY id",
        )
        .bind(order_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|l| {
            Ok(Returnable {
                line_id: l.try_get("id")?,
                quantity: l.try_get("quantity")?,
                unit_price: Money::from_minor(l.try_get("unit_price")?),
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let request = match ReturnRequest::parse(&lines, quantities, reason) {
            Ok(r) => r,
            Err((field, message)) => return Ok(RequestReturn::Invalid(field, message)),
        };
        let amount = request.amount(&lines);
        let inserted = sqlx::query_scalar::<_, i64>(
            "INSERT INTO returns (order_id, user_id, status, reason, amount, requested_at, updated_at) \
             VALUES ($1, $2, 'REQUESTED', $3, $4, $5, $5) RETURNING id",
        )
        .bind(order_id)
        .bind(user_id)
        .bind(&request.reason)
        .bind(amount.minor())
        .bind(now.millis())
        .fetch_one(&mut *tx)
        .await;
        let return_id = match inserted {
            Ok(id) => id,
            Err(e) => {
                let e = StoreError::from(e);
                if e.unique_violation().as_deref() == Some("returns_order_key") {
                    return Ok(RequestReturn::Refused(ReturnRefusal::AlreadyRequested(ReturnStatus::Requested)));
                }
                return Err(e);
            }
        };
        let mut units = 0;
        for (line, quantity) in &request.lines {
            units += quantity;
            sqlx::query("INSERT INTO return_lines (return_id, order_line_id, quantity) VALUES ($1, $2, $3)")
                .bind(return_id)
                .bind(line)
                .bind(quantity)
                .execute(&mut *tx)
                .await?;
        }
        let detail = format!(
            "Return of {units} item{} ({amount}) requested: {}",
            if units == 1 { "" } else { "s" },
            request.reason
        );
        record_event(&mut tx, order_id, "RETURN_REQUESTED", &detail, "", now).await?;
        if let Some(sender) = &self.mail_sender {
            queue_return_mail(&mut tx, sender, order_id, now).await?;
        }
        tx.commit().await?;
        Ok(RequestReturn::Requested { return_id })
    }

    /// The order's return, if one was requested.
    pub async fn order_return(&self, order_id: i64) -> Result<Option<ReturnInfo>> {
        let mut conn = self.pool.acquire().await?;
        read_return(&mut conn, order_id).await
    }

    /// Staff approve or refuse the order's requested return. Approving queues the refund (to
    /// the payment worker) and the restock (to the stock worker) in the same transaction as
    /// the decision, its timeline entry and its mail; deciding twice changes nothing.
    pub async fn decide_return(
        &self,
        order_id: i64,
        staff_id: i64,
        decision: &ReturnDecision,
        now: Timestamp,
    ) -> Result<Decided> {
        let (to, note) = match decision {
            ReturnDecision::Approve => (ReturnStatus::Approved, None),
            ReturnDecision::Refuse(note) => (ReturnStatus::Refused, Some(note.as_str())),
        };
        let mut tx = self.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE returns SET status = $1, staff_note = $2, decided_by = $3, decided_at = $4, updated_at = $4 \
             WHERE order_id = $5 AND status = 'REQUESTED'",
        )
        .bind(to.as_str())
        .bind(note)
        .bind(staff_id)
        .bind(now.millis())
        .bind(order_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            let current = sqlx::query("SELECT status FROM returns WHERE order_id = $1")
                .bind(order_id)
                .fetch_optional(&mut *tx)
                .await?;
            return Ok(match current {
                Some(r) => Decided::Already(status_of(&r)?),
                None => Decided::NotFound,
            });
        }
        let r = read_return(&mut tx, order_id).await?.ok_or(StoreError::Corrupt("returns row"))?;
        match decision {
            ReturnDecision::Approve => {
                let detail = format!("Return approved by the shop; refunding {} and restocking.", r.amount);
                record_event(&mut tx, order_id, "RETURN_APPROVED", &detail, "", now).await?;
                for kind in [EventKind::ReturnRefundRequested, EventKind::ReturnRestockRequested] {
                    let data = serde_json::json!({ "return_id": r.id, "amount": r.amount.minor() });
                    let event = Envelope::new(new_event_id(kind, order_id), kind, order_id, now, data);
                    let key = order_id.to_string();
                    enqueue(&mut tx, &event.event_id, kind.topic(), &key, kind.as_str(), &event.to_json(), now)
                        .await?;
                }
            }
            ReturnDecision::Refuse(note) => {
                record_event(&mut tx, order_id, "RETURN_REFUSED", &format!("Return refused: {note}"), "", now)
                    .await?;
            }
        }
        if let Some(sender) = &self.mail_sender {
            queue_return_mail(&mut tx, sender, order_id, now).await?;
        }
        tx.commit().await?;
        Ok(Decided::Done)
    }

    /// The approved return of an order still to be refunded: (return id, amount).
    pub async fn return_to_refund(&self, order_id: i64) -> Result<Option<(i64, Money)>> {
        let row = sqlx::query("SELECT id, amount FROM returns WHERE order_id = $1 AND status = 'APPROVED'")
            .bind(order_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.try_get("id")?, Money::from_minor(r.try_get("amount")?)))).transpose()
    }

    /// The staff's returns queue, oldest request first within a status, newest first overall.
    pub async fn admin_returns(&self, filter: &ReturnFilter) -> Result<Page<ReturnRow>> {
        let per_page = i64::from(shop_domain::PAGE_SIZE);
        // A status is one of four constants, never the request's text.
        let only = filter.status.map(|s| format!("WHERE r.status = '{}'", s.as_str())).unwrap_or_default();
        let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM returns r {only}"))
            .fetch_one(&self.pool)
            .await?;
        let rows = sqlx::query(&format!(
            "SELECT r.id, r.order_id, r.status, r.reason, r.amount, r.requested_at, r.restocked_at, \
             u.email, CAST((SELECT COALESCE(SUM(rl.quantity), 0) FROM return_lines rl WHERE rl.return_id = r.id) AS BIGINT) AS units \
             FROM returns r JOIN users u ON u.id = r.user_id {only} \
             ORDER BY r.requested_at DESC, r.id DESC LIMIT $1 OFFSET $2"
        ))
        .bind(per_page)
        .bind((i64::from(filter.page.max(1)) - 1) * per_page)
        .fetch_all(&self.pool)
        .await?;
        let items = rows
            .iter()
            .map(|r| {
                Ok(ReturnRow {
                    id: r.try_get("id")?,
                    order_id: r.try_get("order_id")?,
                    status: status_of(r)?,
                    buyer: r.try_get("email")?,
                    reason: r.try_get("reason")?,
                    amount: Money::from_minor(r.try_get("amount")?),
                    units: r.try_get("units")?,
                    requested_at: Timestamp::from_millis(r.try_get("requested_at")?),
                    restocked: r.try_get::<Option<i64>, _>("restocked_at")?.is_some(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::exact(items, filter.page.max(1), total.max(0) as u64))
    }
}

impl SagaTx {
    /// The payment worker refunded the order's approved return: it becomes `REFUNDED` (once;
    /// `false` when it was not approved and unrefunded), the payment `REFUNDED` when all of it
    /// came back, with the timeline entry and the buyer's mail.
    pub async fn return_refunded(&mut self, order_id: i64) -> Result<bool> {
        let now = self.now();
        let changed = sqlx::query(
            "UPDATE returns SET status = 'REFUNDED', refunded_at = $1, updated_at = $1 \
             WHERE order_id = $2 AND status = 'APPROVED'",
        )
        .bind(now.millis())
        .bind(order_id)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Ok(false);
        }
        let r = read_return(&mut self.tx, order_id).await?.ok_or(StoreError::Corrupt("returns row"))?;
        sqlx::query(
            "UPDATE payments SET status = 'REFUNDED', updated_at = $1 WHERE order_id = $2 AND status = 'CAPTURED' \
             AND amount = $3",
        )
        .bind(now.millis())
        .bind(order_id)
        .bind(r.amount.minor())
        .execute(&mut *self.tx)
        .await?;
        let detail = format!("Refunded {} for the returned items.", r.amount);
        record_event(&mut self.tx, order_id, "RETURN_REFUNDED", &detail, "", now).await?;
        if let Some(sender) = self.mail_sender.clone() {
            queue_return_mail(&mut self.tx, &sender, order_id, now).await?;
        }
        Ok(true)
    }

    /// The stock worker puts an approved return's units back into each product's regular
    /// stock (never into the flash sale they came from, which has ended or keeps its count),
    /// once. `(product id, units)` for the gate, or `None` when there is nothing (left) to do.
    pub async fn restock_return(&mut self, order_id: i64) -> Result<Option<Vec<(i64, i64)>>> {
        let now = self.now();
        let changed = sqlx::query(
            "UPDATE returns SET restocked_at = $1, updated_at = $1 WHERE order_id = $2 \
             AND status IN ('APPROVED', 'REFUNDED') AND restocked_at IS NULL",
        )
        .bind(now.millis())
        .bind(order_id)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Ok(None);
        }
        let rows = sqlx::query(
            "SELECT l.product_id, CAST(SUM(rl.quantity) AS BIGINT) AS units FROM return_lines rl \
             JOIN returns r ON r.id = rl.return_id JOIN order_lines l ON l.id = rl.order_line_id \
             WHERE r.order_id = $1 GROUP BY l.product_id ORDER BY l.product_id",
        )
        .bind(order_id)
        .fetch_all(&mut *self.tx)
        .await?;
        let mut back = Vec::with_capacity(rows.len());
        for r in &rows {
            let (product, units): (i64, i64) = (r.try_get("product_id")?, r.try_get("units")?);
            sqlx::query(
                "UPDATE products SET stock = stock + $1, sold_count = CASE WHEN sold_count >= $1 \
                 THEN sold_count - $1 ELSE 0 END, updated_at = $2 WHERE id = $3",
            )
            .bind(units)
            .bind(now.millis())
            .bind(product)
            .execute(&mut *self.tx)
            .await?;
            self.stock_moved.push(product);
            back.push((product, units));
        }
        let units: i64 = back.iter().map(|(_, u)| u).sum();
        let detail = format!("{units} returned item{} back in stock.", if units == 1 { "" } else { "s" });
        record_event(&mut self.tx, order_id, "RETURN_RESTOCKED", &detail, "", now).await?;
        Ok(Some(back))
    }
}
