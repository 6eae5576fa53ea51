//! The outbox relay: publishes committed outbox rows in order and marks them sent. Several
//! relays may run at once: on PostgreSQL each batch is claimed with `FOR UPDATE SKIP LOCKED`
//! and holds only the oldest unsent row per order, so no row goes out twice concurrently and
//! one order's events never overtake each other. A broker outage only delays events: the
//! rows stay unsent and are retried with backoff.

use super::SagaSettings;
use crate::bus::{EventBus, Message};
use shop_domain::Timestamp;
use shop_store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const BATCH: i64 = 200;

/// One pass: publishes up to a batch; returns how many went out.
pub async fn relay_once(store: &Store, bus: &dyn EventBus) -> Result<usize, String> {
    let batch = store.outbox_batch(BATCH).await.map_err(|e| e.to_string())?;
    if batch.messages.is_empty() {
        batch.finish(&[], None, Timestamp::now()).await.map_err(|e| e.to_string())?;
        return Ok(0);
    }
    let msgs: Vec<Message> = batch
        .messages
        .iter()
        .map(|m| Message { topic: m.topic.clone(), key: m.key.clone(), payload: m.payload.clone() })
        .collect();
    let (published, error) = bus.publish_all(&msgs).await;
    let sent: Vec<i64> = batch.messages[..published].iter().map(|m| m.id).collect();
    let failed_id = batch.messages.get(published).map(|m| m.id);
    let error_text = error.as_ref().map(|e| e.to_string());
    let failed = failed_id.zip(error_text.as_deref());
    batch.finish(&sent, failed, Timestamp::now()).await.map_err(|e| e.to_string())?;
    match error {
        Some(e) => Err(format!("published {published} of {}: {e}", msgs.len())),
        None => Ok(published),
    }
}

pub async fn run(store: Store, bus: Arc<dyn EventBus>, settings: SagaSettings, stop: CancellationToken) {
    let mut backoff = settings.retry.first_backoff;
    loop {
        let wait = match relay_once(&store, bus.as_ref()).await {
            Ok(n) if n as i64 == BATCH => Duration::ZERO,
            Ok(n) => {
                backoff = settings.retry.first_backoff;
                if n > 0 {
                    Duration::ZERO
                } else {
                    settings.relay_poll
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?backoff, "outbox relay could not publish; events are delayed, not lost");
                let w = backoff;
                backoff = (backoff * 2).min(settings.retry.max_backoff);
                w
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.cancelled() => return,
        }
    }
}
