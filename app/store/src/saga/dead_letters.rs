//! Messages a worker gave up on, kept for an operator to inspect and replay.

use crate::{Result, Store};
use shop_domain::Timestamp;

impl Store {
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
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn dead_letter_count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM dead_letters").fetch_one(&self.pool).await?)
    }
}
