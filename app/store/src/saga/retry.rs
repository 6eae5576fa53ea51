//! An operator's "retry": the command of an order's current step, sent again.

use super::new_event_id;
use crate::{Result, Store};
use shop_domain::saga::{Envelope, EventKind};
use shop_domain::Timestamp;

impl Store {
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
}
