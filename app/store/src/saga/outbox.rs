//! The outbox as the relay sees it: claim a batch of unsent rows (in order per message key),
//! mark them sent, and prune what was sent long ago.

use crate::{Backend, Result, Store};
use shop_domain::Timestamp;
use sqlx::Row;

/// One outbox row on its way to the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    pub id: i64,
    pub topic: String,
    pub key: String,
    pub payload: String,
}

impl Store {
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
        Ok(OutboxBatch { tx, store: self.clone(), messages })
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
            .execute(&self.writer)
            .await?
            .rows_affected();
        let b = sqlx::query("DELETE FROM processed_messages WHERE processed_at < $1")
            .bind(before.millis())
            .execute(&self.writer)
            .await?
            .rows_affected();
        Ok(a + b)
    }
}

/// Outbox rows claimed by one relay pass.
pub struct OutboxBatch {
    tx: Option<sqlx::Transaction<'static, sqlx::Any>>,
    store: crate::Store,
    pub messages: Vec<OutboxMessage>,
}

impl OutboxBatch {
    /// Marks the published rows sent and records the error on the first one that failed.
    pub async fn finish(self, sent: &[i64], failed: Option<(i64, &str)>, now: Timestamp) -> Result<()> {
        // The batch's own transaction (PostgreSQL: it holds the row locks), or a new one.
        let mut conn = match self.tx {
            Some(tx) => tx,
            None => self.store.begin_write().await?,
        };
        for id in sent {
            sqlx::query("UPDATE outbox SET sent_at = $1, attempts = attempts + 1 WHERE id = $2")
                .bind(now.millis())
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
        if let Some((id, error)) = failed {
            sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = $1 WHERE id = $2")
                .bind(error)
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
        conn.commit().await?;
        Ok(())
    }
}
