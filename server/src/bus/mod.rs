//! The event bus: how outbox events reach the workers.
//!
//! Two implementations with the same delivery semantics: at-least-once, and in order for
//! messages with the same key (every saga message is keyed by its order id):
//! - [`LocalBus`]: in-process, for the embedded default (one process runs everything);
//! - [`KafkaBus`]: Kafka through rdkafka, when `KAFKA_BROKERS` is set.
//!
//! Handlers are idempotent (they claim each event id in the same transaction as their effect),
//! so redelivery is harmless. A handler that keeps failing is retried with backoff and then
//! dead-lettered (the `dead_letters` table, plus the `dead-letters` topic on Kafka), and the
//! consumer moves on.

mod chaos;
mod kafka;
mod local;

pub use chaos::DuplicatingBus;
pub use kafka::{KafkaBus, KafkaSettings};
pub use local::LocalBus;

use shop_domain::saga::topic;
use shop_domain::Timestamp;
use shop_store::Store;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// One message: the outbox row's topic, key and JSON payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub topic: String,
    pub key: String,
    pub payload: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("event bus: {0}")]
    Broker(String),
}

/// Why a handler did not finish a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandleError {
    /// Try again later (database or provider trouble).
    #[error("{0}")]
    Retry(String),
    /// The message can never be handled (bad payload): dead-letter it now.
    #[error("{0}")]
    Poison(String),
}

impl From<shop_store::StoreError> for HandleError {
    fn from(e: shop_store::StoreError) -> Self {
        HandleError::Retry(format!("database: {e}"))
    }
}

#[async_trait::async_trait]
pub trait Handler: Send + Sync {
    async fn handle(&self, msg: &Message) -> Result<(), HandleError>;
}

#[async_trait::async_trait]
pub trait EventBus: Send + Sync + fmt::Debug {
    /// Publishes one message; returns once the bus has it (for Kafka: acknowledged).
    async fn publish(&self, msg: &Message) -> Result<(), BusError>;

    /// Publishes messages with distinct keys (the relay's batches); returns how many from
    /// the front were published and the first error.
    async fn publish_all(&self, msgs: &[Message]) -> (usize, Option<BusError>) {
        for (i, m) in msgs.iter().enumerate() {
            if let Err(e) = self.publish(m).await {
                return (i, Some(e));
            }
        }
        (msgs.len(), None)
    }

    /// Feeds every message on `topics` to `handler` as consumer group `group` until `stop`.
    /// Offsets (Kafka) are committed only after the handler has finished a message.
    async fn consume(&self, ctx: ConsumerContext) -> Result<(), BusError>;

    /// Creates missing topics (brokers without auto-create); a no-op in process.
    async fn ensure_topics(&self) -> Result<(), BusError> {
        Ok(())
    }
}

/// Everything a consumer loop needs.
#[derive(Clone)]
pub struct ConsumerContext {
    pub group: &'static str,
    pub topics: Vec<&'static str>,
    pub handler: Arc<dyn Handler>,
    pub retry: RetryPolicy,
    pub dead_letters: DeadLetters,
    pub stop: CancellationToken,
}

/// Retries with exponential backoff before a message is dead-lettered.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub first_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            first_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(16));
        self.first_backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

/// Where messages go that no retry could handle.
#[derive(Clone)]
pub struct DeadLetters {
    pub store: Store,
    /// Also published to the `dead-letters` topic (Kafka).
    pub bus: Option<Arc<dyn EventBus>>,
}

impl DeadLetters {
    async fn record(&self, msg: &Message, error: &str) -> Result<(), String> {
        tracing::error!(topic = %msg.topic, key = %msg.key, error, "dead-lettering a message");
        self.store
            .dead_letter(&msg.topic, &msg.key, &msg.payload, error, Timestamp::now())
            .await
            .map_err(|e| e.to_string())?;
        if let Some(bus) = &self.bus {
            let dl = Message {
                topic: topic::DEAD_LETTERS.to_string(),
                key: msg.key.clone(),
                payload: serde_json::json!({ "topic": msg.topic, "error": error, "payload": msg.payload })
                    .to_string(),
            };
            if let Err(e) = bus.publish(&dl).await {
                // The table row is the record of truth; the topic is for outside consumers.
                tracing::warn!(error = %e, "could not publish to the dead-letter topic");
            }
        }
        Ok(())
    }
}

/// Handles one message with retries; dead-letters it when it cannot be handled. Returns
/// `false` only when stopped before the message was finished (it must then not be acked).
pub async fn deliver(ctx: &ConsumerContext, msg: &Message) -> bool {
    let mut attempt = 0;
    let error = loop {
        attempt += 1;
        match ctx.handler.handle(msg).await {
            Ok(()) => return true,
            Err(HandleError::Poison(e)) => break e,
            Err(HandleError::Retry(e)) if attempt >= ctx.retry.max_attempts => break e,
            Err(HandleError::Retry(e)) => {
                tracing::warn!(group = ctx.group, topic = %msg.topic, key = %msg.key, attempt, error = %e, "handler failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(ctx.retry.backoff(attempt)) => {}
                    _ = ctx.stop.cancelled() => return false,
                }
            }
        }
    };
    let error = format!("{}: {error}", ctx.group);
    let mut wait = ctx.retry.first_backoff;
    loop {
        match ctx.dead_letters.record(msg, &error).await {
            Ok(()) => return true,
            Err(e) => {
                tracing::error!(error = %e, "cannot record a dead letter; will try again");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = ctx.stop.cancelled() => return false,
                }
                wait = (wait * 2).min(ctx.retry.max_backoff);
            }
        }
    }
}

/// The partition a key goes to (stable across processes and runs).
pub fn partition_for(key: &str, partitions: usize) -> usize {
    // FNV-1a: tiny, stable, good enough to spread order ids.
    let mut h: u64 = 0xcbf29ce484222325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    (h % partitions.max(1) as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy {
            max_attempts: 5,
            first_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(350),
        };
        assert_eq!(p.backoff(1), Duration::from_millis(100));
        assert_eq!(p.backoff(2), Duration::from_millis(200));
        assert_eq!(p.backoff(3), Duration::from_millis(350));
        assert_eq!(p.backoff(40), Duration::from_millis(350));
    }

    #[test]
    fn keys_map_to_stable_partitions() {
        assert_eq!(partition_for("42", 8), partition_for("42", 8));
        let used: std::collections::HashSet<_> = (0..100).map(|i| partition_for(&i.to_string(), 4)).collect();
        assert_eq!(used.len(), 4, "order ids spread over every partition");
    }
}
