//! An order's progress for its live page: one indexed read, polled while the page is open.

use crate::{Result, Store, StoreError};
use shop_domain::saga::{SagaState, Step};
use shop_domain::{OrderProgress, OrderStatus};
use sqlx::Row;

impl Store {
    /// How far one of the user's orders has come (`None` for someone else's, as with
    /// [`Store::order_detail`], whose page this summarises).
    pub async fn order_progress(&self, user_id: i64, order_id: i64) -> Result<Option<OrderProgress>> {
        let row = sqlx::query(
            "SELECT status, saga_step, \
             (SELECT COUNT(*) FROM order_events e WHERE e.order_id = o.id) AS steps \
             FROM orders o WHERE o.id = $1 AND o.user_id = $2",
        )
        .bind(order_id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let status: String = r.try_get("status")?;
        let status = OrderStatus::parse(&status).ok_or(StoreError::Corrupt("orders.status"))?;
        let step: String = r.try_get("saga_step")?;
        let step = Step::parse(&step).ok_or(StoreError::Corrupt("orders.saga_step"))?;
        let steps: i64 = r.try_get("steps")?;
        Ok(Some(OrderProgress {
            status,
            steps: usize::try_from(steps).unwrap_or(0),
            cancellable: SagaState { status, step }.may_cancel(),
        }))
    }
}
