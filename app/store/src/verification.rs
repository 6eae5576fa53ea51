//! Email verification codes and links (rules: `shop_domain::verification`). A code and its
//! mail are written in one transaction; checking a code counts the try in the same
//! transaction that reads it, so parallel guesses cannot exceed the allowance.

use crate::{Result, Store};
use shop_domain::mail::Mail;
use shop_domain::verification::{may_send, Verify, CODE_MINUTES};
use shop_domain::{CurrentUser, Timestamp};
use sqlx::Row;

impl Store {
    /// Sends a new code (and link) to the user's address, unless one was sent less than a
    /// minute ago or five within the hour: `Ok(Err(seconds to wait))` then, nothing sent.
    pub async fn send_verification(
        &self,
        user_id: i64,
        code_hash: &str,
        token_hash: &str,
        compose: impl FnOnce(&CurrentUser) -> Mail,
        now: Timestamp,
    ) -> Result<std::result::Result<(), i64>> {
        let Some(user) = self.user(user_id).await? else { return Ok(Ok(())) };
        let mut tx = self.begin_write().await?;
        let sent: Vec<Timestamp> =
            sqlx::query_scalar::<_, i64>("SELECT created_at FROM email_verifications WHERE user_id = $1 AND created_at > $2")
                .bind(user_id)
                .bind(now.millis() - 3_600_000)
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .map(Timestamp::from_millis)
                .collect();
        if let Err(wait) = may_send(&sent, now) {
            return Ok(Err(wait));
        }
        sqlx::query(
            "INSERT INTO email_verifications (user_id, email, code_hash, token_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(user_id)
        .bind(&user.email)
        .bind(code_hash)
        .bind(token_hash)
        .bind(now.millis())
        .bind(now.plus_secs(CODE_MINUTES * 60).millis())
        .execute(&mut *tx)
        .await?;
        crate::mail::queue(&mut tx, &compose(&user), now).await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Checks a code against the user's newest unused one, counting the try.
    pub async fn verify_email_code(&self, user_id: i64, code_hash: &str, now: Timestamp) -> Result<Verify> {
        let mut tx = self.begin_write().await?;
        // Locked on PostgreSQL (SQLite's write transaction holds the database): two guesses at
        // once count as two tries.
        let lock = if self.backend == crate::Backend::Postgres { " FOR UPDATE" } else { "" };
        let row = sqlx::query(&format!(
            "SELECT id, code_hash, expires_at, tries FROM email_verifications \
             WHERE user_id = $1 AND used_at IS NULL ORDER BY created_at DESC, id DESC LIMIT 1{lock}"
        ))
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(Verify::NoCode) };
        let id: i64 = row.try_get("id")?;
        let right = row.try_get::<String, _>("code_hash")? == code_hash;
        let outcome = Verify::of(
            Timestamp::from_millis(row.try_get("expires_at")?),
            row.try_get("tries")?,
            right,
            now,
        );
        match outcome {
            Verify::Verified => verified(&mut tx, id, user_id, now).await?,
            Verify::Wrong { .. } => {
                sqlx::query("UPDATE email_verifications SET tries = tries + 1 WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            _ => {}
        }
        tx.commit().await?;
        Ok(outcome)
    }

    /// Follows a mailed link: verifies when it is the newest unused, unexpired one of its user.
    /// The user's id when verified.
    pub async fn verify_email_link(&self, token_hash: &str, now: Timestamp) -> Result<Option<i64>> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "SELECT v.id, v.user_id FROM email_verifications v WHERE v.token_hash = $1 AND v.used_at IS NULL \
             AND v.expires_at > $2 AND v.id = (SELECT MAX(w.id) FROM email_verifications w WHERE w.user_id = v.user_id)",
        )
        .bind(token_hash)
        .bind(now.millis())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let (id, user_id): (i64, i64) = (row.try_get("id")?, row.try_get("user_id")?);
        verified(&mut tx, id, user_id, now).await?;
        tx.commit().await?;
        Ok(Some(user_id))
    }
}

/// Spends the code and marks the address it was sent to verified (the user's address now:
/// a code sent to an address the user has since changed verifies nothing).
async fn verified(tx: &mut sqlx::Transaction<'static, sqlx::Any>, id: i64, user_id: i64, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE email_verifications SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL")
        .bind(now.millis())
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "UPDATE users SET email_verified_at = $1, updated_at = $1 WHERE id = $2 \
         AND email = (SELECT email FROM email_verifications WHERE id = $3)",
    )
    .bind(now.millis())
    .bind(user_id)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
