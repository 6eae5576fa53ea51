//! The ledger of the simulated payment provider (`server/src/sim`): its own table, written
//! only by the simulator, so a repeated charge answers the first outcome.

use crate::{Result, Store};
use shop_domain::{Money, Timestamp};

impl Store {
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
        .execute(&self.writer)
        .await?;
        Ok(sqlx::query_scalar("SELECT outcome FROM sim_charges WHERE charge_key = $1")
            .bind(key)
            .fetch_one(&self.pool)
            .await?)
    }

    /// Refunds a captured simulated charge once: `true` when this call refunded it.
    /// `amount` may be part of the charge (a return of some lines); never more than was charged.
    pub async fn sim_refund(&self, key: &str, amount: Money, now: Timestamp) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE sim_charges SET refunded_at = $1, refunded_amount = CASE WHEN $3 < amount THEN $3 ELSE amount END \
             WHERE charge_key = $2 AND outcome = 'CAPTURED' AND refunded_at IS NULL",
        )
        .bind(now.millis())
        .bind(key)
        .bind(amount.minor())
        .execute(&self.writer)
        .await?
        .rows_affected()
            == 1)
    }
}
