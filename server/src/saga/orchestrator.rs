//! The orders worker: moves each order through the saga by applying the domain's rules
//! (`shop_domain::saga::react`) to every fact the other workers report.

use super::{event, parse};
use crate::bus::{HandleError, Handler, Message};
use shop_domain::saga::{react, Reaction};
use shop_domain::Timestamp;
use shop_store::{SagaOrder, SagaTx, Store};

pub const GROUP: &str = "orders";

pub struct Orchestrator {
    store: Store,
}

impl Orchestrator {
    pub fn new(store: Store) -> Self {
        Orchestrator { store }
    }
}

/// Writes a reaction: the state change (only if the order is still where it was read), the
/// timeline entry and the commands, in the caller's transaction.
pub(super) async fn apply(
    tx: &mut SagaTx,
    order: &SagaOrder,
    reaction: &Reaction,
    cause: &str,
    payload: &str,
) -> Result<(), HandleError> {
    if let Some(next) = reaction.next {
        if next != order.state
            && !tx.move_order(order.id, order.state, next, reaction.failure_reason.as_deref()).await?
        {
            return Err(HandleError::Retry(format!("order {} moved while being handled", order.id)));
        }
    }
    if let Some((kind, text)) = &reaction.timeline {
        tx.timeline(order.id, kind, text, payload).await?;
    }
    for &command in &reaction.commands {
        let data = serde_json::json!({ "generation": order.redrives });
        tx.send(&event(command, order.id, tx.now(), data, cause)).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl Handler for Orchestrator {
    async fn handle(&self, msg: &Message) -> Result<(), HandleError> {
        let (env, kind) = parse(&msg.payload)?;
        if kind.is_command() {
            return Ok(()); // a worker's message on a shared topic
        }
        let mut tx = self.store.begin_saga(Timestamp::now()).await?;
        if !tx.claim(GROUP, &env.event_id).await? {
            return Ok(()); // seen before; dropping the transaction rolls it back
        }
        let Some(order) = tx.order(env.order_id).await? else {
            return Err(HandleError::Poison(format!("order {} does not exist", env.order_id)));
        };
        let reaction = react(order.state, kind, env.text("reason"));
        if !reaction.is_noop() {
            tracing::debug!(order_id = order.id, event = kind.as_str(), ?reaction, "saga step");
        }
        apply(&mut tx, &order, &reaction, &env.event_id, &msg.payload).await?;
        tx.commit().await?;
        Ok(())
    }
}
