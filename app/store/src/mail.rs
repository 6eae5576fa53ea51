//! The mail outbox, and password-reset links.
//!
//! A mail is written in the same transaction as the change it reports (a reset link and its
//! mail, an order and its mail), so there is never a mail without its cause nor a cause whose
//! mail is lost. The mail worker claims due rows (moving `next_attempt_at` past its send
//! timeout: two workers never hold the same row), sends, and marks each sent, or schedules the
//! next try, or gives up.

use crate::{Result, Store};
use shop_domain::mail::{Mail, OrderMail, Sender};
use shop_domain::{CurrentUser, Money, OrderStatus, Timestamp};
use sqlx::Row;

/// Who order mails come from and where their links point (set by the shop at start-up;
/// without it the store writes no order mails: the drill's and tools' stores).
#[derive(Debug, Clone)]
pub struct MailSender {
    pub shop: String,
    /// `SHOP_PUBLIC_URL`, without a trailing `/`.
    pub public_url: String,
}

impl MailSender {
    /// The domain's composer for this shop (the web tier writes its own mails with it too).
    pub fn sender(&self) -> Sender<'_> {
        Sender { shop: &self.shop, public_url: &self.public_url }
    }
}

/// Queues the mail for order `order_id`, moved from status `from` to `status`, in `tx` (the
/// transaction that moved it; a new order is PENDING to PENDING). The mail says a refund is on
/// its way when a payment had been taken (PAID or SHIPPING) and the order failed or was
/// cancelled.
pub(crate) async fn queue_order_mail(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    sender: &MailSender,
    order_id: i64,
    from: OrderStatus,
    status: OrderStatus,
    now: Timestamp,
) -> Result<()> {
    use OrderStatus as S;
    let refund = matches!(from, S::Paid | S::Shipping) && matches!(status, S::Failed | S::Cancelled);
    let row = sqlx::query(
        "SELECT u.email, u.name, o.total, o.failure_reason FROM orders o JOIN users u ON u.id = o.user_id          WHERE o.id = $1",
    )
    .bind(order_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else { return Ok(()) };
    let lines = sqlx::query("SELECT name, quantity, unit_price FROM order_lines WHERE order_id = $1 ORDER BY id")
        .bind(order_id)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|l| Ok((l.try_get("name")?, l.try_get("quantity")?, Money::from_minor(l.try_get("unit_price")?))))
        .collect::<Result<Vec<(String, i64, Money)>>>()?;
    let order = OrderMail {
        order_id,
        status,
        lines,
        total: Money::from_minor(row.try_get("total")?),
        reason: row.try_get("failure_reason")?,
        refund,
    };
    let to: String = row.try_get("email")?;
    let name: String = row.try_get("name")?;
    let mail = sender.sender().order_update(&to, &name, &order);
    queue(tx, &mail, now).await?;
    Ok(())
}

/// A mail claimed for sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    pub id: i64,
    pub kind: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Tries so far, this one included.
    pub attempts: i64,
}

/// What using a reset link came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetOutcome {
    /// The password is changed and every session of the user ended.
    Done { user_id: i64 },
    /// No such link, used already, or expired (the user is told the same for each).
    Invalid,
}

pub(crate) async fn queue(tx: &mut sqlx::AnyConnection, mail: &Mail, now: Timestamp) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO mail_outbox (kind, to_addr, subject, text_body, html_body, created_at, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
    )
    .bind(mail.kind.as_str())
    .bind(&mail.to)
    .bind(&mail.subject)
    .bind(&mail.text)
    .bind(&mail.html)
    .bind(now.millis())
    .fetch_one(&mut *tx)
    .await?)
}

impl Store {
    /// Order mails from now on come from `sender` (the shop's name and public address).
    pub fn with_mail_sender(mut self, sender: MailSender) -> Store {
        self.mail_sender = Some(std::sync::Arc::new(sender));
        self
    }

    /// Claims up to `limit` mails due at `now`, each for `lease_ms` (longer than a send may
    /// take): another worker sees them again only once the lease ran out unfinished.
    pub async fn claim_mails(&self, now: Timestamp, lease_ms: i64, limit: i64) -> Result<Vec<OutgoingMail>> {
        // A read first: an idle worker costs no write (SQLite has one writer, shared with
        // checkout).
        let due: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1 LIMIT 1",
        )
        .bind(now.millis())
        .fetch_optional(&self.pool)
        .await?;
        if due.is_none() {
            return Ok(Vec::new());
        }
        // The outer conditions are checked again on each row as it is updated, so a row another
        // worker claimed meanwhile is skipped, not claimed twice.
        let rows = sqlx::query(
            "UPDATE mail_outbox SET next_attempt_at = $1, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL \
                          AND next_attempt_at <= $2 ORDER BY next_attempt_at LIMIT $3) \
               AND sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $2 \
             RETURNING id, kind, to_addr, subject, text_body, html_body, attempts",
        )
        .bind(now.millis() + lease_ms)
        .bind(now.millis())
        .bind(limit)
        .fetch_all(&self.writer)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OutgoingMail {
                    id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    to: r.try_get("to_addr")?,
                    subject: r.try_get("subject")?,
                    text: r.try_get("text_body")?,
                    html: r.try_get("html_body")?,
                    attempts: r.try_get("attempts")?,
                })
            })
            .collect()
    }

    pub async fn mail_sent(&self, id: i64, now: Timestamp) -> Result<()> {
        sqlx::query("UPDATE mail_outbox SET sent_at = $1, last_error = NULL WHERE id = $2")
            .bind(now.millis())
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// A failed try: tried again at `retry_at`, or given up for good when `None`.
    pub async fn mail_failed(&self, id: i64, error: &str, retry_at: Option<Timestamp>, now: Timestamp) -> Result<()> {
        sqlx::query(
            "UPDATE mail_outbox SET last_error = $1, next_attempt_at = COALESCE($2, next_attempt_at), \
             failed_at = CASE WHEN $2 IS NULL THEN $3 ELSE NULL END WHERE id = $4",
        )
        .bind(error)
        .bind(retry_at.map(|t| t.millis()))
        .bind(now.millis())
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Stores a reset link (its hash) for the account with address `email`, with the mail
    /// that carries it, in one transaction. `false`, with nothing stored, when no account has
    /// that address, or when it asked for `per_hour` links within the last hour already.
    pub async fn request_password_reset(
        &self,
        email: &str,
        token_hash: &str,
        expires_at: Timestamp,
        per_hour: i64,
        compose: impl FnOnce(&CurrentUser) -> Mail,
        now: Timestamp,
    ) -> Result<bool> {
        let Some(user) = self.user_by_email(email).await? else { return Ok(false) };
        let mut tx = self.begin_write().await?;
        let recent: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM password_resets WHERE user_id = $1 AND created_at > $2")
                .bind(user.id)
                .bind(now.millis() - 3_600_000)
                .fetch_one(&mut *tx)
                .await?;
        if recent >= per_hour {
            return Ok(false);
        }
        sqlx::query("INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash)
            .bind(user.id)
            .bind(now.millis())
            .bind(expires_at.millis())
            .execute(&mut *tx)
            .await?;
        queue(&mut tx, &compose(&user), now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The account a reset link would reset, while the link still works (unused, unexpired).
    pub async fn reset_link_user(&self, token_hash: &str, now: Timestamp) -> Result<Option<CurrentUser>> {
        let user_id: Option<i64> = sqlx::query_scalar(
            "SELECT user_id FROM password_resets WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now.millis())
        .fetch_optional(&self.pool)
        .await?;
        match user_id {
            Some(id) => self.user(id).await,
            None => Ok(None),
        }
    }

    /// Uses a reset link: in one transaction the link is spent (once: a second use finds it
    /// used), the password hash replaced, the user's other links spent, and every session of
    /// the user ended.
    pub async fn reset_password(&self, token_hash: &str, new_hash: &str, now: Timestamp) -> Result<ResetOutcome> {
        let mut tx = self.begin_write().await?;
        let user_id: Option<i64> = sqlx::query_scalar(
            "UPDATE password_resets SET used_at = $1 \
             WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING user_id",
        )
        .bind(now.millis())
        .bind(token_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(user_id) = user_id else { return Ok(ResetOutcome::Invalid) };
        sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(new_hash)
            .bind(now.millis())
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE password_resets SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL")
            .bind(now.millis())
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(ResetOutcome::Done { user_id })
    }
}
