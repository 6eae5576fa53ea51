//! Kafka through rdkafka (librdkafka): an idempotent producer for the relay, one consumer
//! group per worker kind, offsets stored only after a handler finished a message.

use super::{deliver, BusError, ConsumerContext, EventBus, Message};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::Message as _;
use shop_domain::saga::topic;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct KafkaSettings {
    /// `host:port[,host:port…]`
    pub brokers: String,
    /// Partitions for topics the shop creates.
    pub partitions: i32,
    /// Idempotent producer (`enable.idempotence`); on by default. Brokers that lack the
    /// producer-id API (some Kafka-compatible ones) need it off.
    pub idempotence: bool,
    /// Prefix for consumer group ids (several shops on one cluster).
    pub group_prefix: String,
}

pub struct KafkaBus {
    settings: KafkaSettings,
    producer: FutureProducer,
}

impl std::fmt::Debug for KafkaBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaBus").field("brokers", &self.settings.brokers).finish()
    }
}

fn broker_err(e: KafkaError) -> BusError {
    BusError::Broker(e.to_string())
}

/// Receive errors come in bursts while a broker is away: log the first, then a count at most
/// every few seconds.
#[derive(Default)]
struct ErrorLog {
    since_logged: u64,
    logged_at: Option<std::time::Instant>,
}

impl ErrorLog {
    fn note(&mut self, group: &str, e: &KafkaError) {
        self.since_logged += 1;
        if self.logged_at.is_none_or(|t| t.elapsed() >= Duration::from_secs(5)) {
            tracing::warn!(group, error = %e, errors = self.since_logged, "kafka receive failed; librdkafka retries");
            self.since_logged = 0;
            self.logged_at = Some(std::time::Instant::now());
        }
    }
}

impl KafkaBus {
    pub fn connect(settings: KafkaSettings) -> Result<KafkaBus, BusError> {
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", &settings.brokers)
            .set("client.id", "shop-relay")
            .set("enable.idempotence", settings.idempotence.to_string())
            .set("acks", "all")
            // Give up on one message after 30 s; the relay retries it from the outbox.
            .set("message.timeout.ms", "30000")
            .set("linger.ms", "2")
            .create()
            .map_err(broker_err)?;
        Ok(KafkaBus { settings, producer })
    }

    fn consumer(&self, group: &str) -> Result<StreamConsumer, BusError> {
        ClientConfig::new()
            .set("bootstrap.servers", &self.settings.brokers)
            .set("group.id", format!("{}{group}", self.settings.group_prefix))
            .set("client.id", format!("shop-{group}"))
            .set("auto.offset.reset", "earliest")
            // At-least-once: offsets are stored by us after the handler committed its
            // transaction, and committed by librdkafka in the background and on close.
            .set("enable.auto.commit", "true")
            .set("enable.auto.offset.store", "false")
            .set("auto.commit.interval.ms", "500")
            .set("session.timeout.ms", "10000")
            .set("heartbeat.interval.ms", "1000")
            .set("enable.partition.eof", "false")
            .create()
            .map_err(broker_err)
    }
}

#[async_trait::async_trait]
impl EventBus for KafkaBus {
    async fn publish(&self, msg: &Message) -> Result<(), BusError> {
        let record = FutureRecord::to(&msg.topic).key(&msg.key).payload(&msg.payload);
        self.producer.send(record, Duration::from_secs(5)).await.map(|_| ()).map_err(|(e, _)| broker_err(e))
    }

    async fn publish_all(&self, msgs: &[Message]) -> (usize, Option<BusError>) {
        // Queue them all, then wait: one round trip per batch instead of per message. Keys
        // are distinct within a batch, so per-key order is unaffected.
        let futures: Vec<_> = msgs
            .iter()
            .map(|m| {
                let record = FutureRecord::to(&m.topic).key(&m.key).payload(&m.payload);
                self.producer.send(record, Duration::from_secs(5))
            })
            .collect();
        let results = futures::future::join_all(futures).await;
        for (i, r) in results.into_iter().enumerate() {
            if let Err((e, _)) = r {
                return (i, Some(broker_err(e)));
            }
        }
        (msgs.len(), None)
    }

    async fn consume(&self, ctx: ConsumerContext) -> Result<(), BusError> {
        let consumer = self.consumer(ctx.group)?;
        consumer.subscribe(&ctx.topics).map_err(broker_err)?;
        tracing::info!(group = ctx.group, topics = ?ctx.topics, "kafka consumer started");
        let mut errors = ErrorLog::default();
        loop {
            let received = tokio::select! {
                m = consumer.recv() => m,
                _ = ctx.stop.cancelled() => break,
            };
            let borrowed = match received {
                Ok(m) => m,
                Err(e) => {
                    // librdkafka reconnects by itself and reports each failed attempt as an
                    // event in this queue, so take the next one at once: an outage leaves
                    // hundreds queued, and the group's rebalance waits behind them (pausing
                    // per error kept consumers idle for minutes after the broker came back).
                    errors.note(ctx.group, &e);
                    tokio::task::yield_now().await;
                    continue;
                }
            };
            let msg = Message {
                topic: borrowed.topic().to_string(),
                key: borrowed.key().map(|k| String::from_utf8_lossy(k).into_owned()).unwrap_or_default(),
                payload: match borrowed.payload_view::<str>() {
                    Some(Ok(p)) => p.to_string(),
                    Some(Err(_)) => {
                        String::from_utf8_lossy(borrowed.payload().unwrap_or_default()).into_owned()
                    }
                    None => String::new(),
                },
            };
            if !deliver(&ctx, &msg).await {
                break; // stopped mid-message: not stored, so it is delivered again
            }
            if let Err(e) = consumer.store_offset_from_message(&borrowed) {
                tracing::warn!(group = ctx.group, error = %e, "could not store the offset; the message may come again");
            }
        }
        // Dropping the consumer leaves the group and commits the stored offsets.
        Ok(())
    }

    async fn ensure_topics(&self) -> Result<(), BusError> {
        // Which topics exist already (metadata is a blocking call in librdkafka).
        let brokers = self.settings.brokers.clone();
        let existing: Vec<String> = tokio::task::spawn_blocking(move || {
            let probe: BaseConsumer =
                ClientConfig::new().set("bootstrap.servers", &brokers).create().map_err(broker_err)?;
            let metadata = probe.fetch_metadata(None, Duration::from_secs(10)).map_err(broker_err)?;
            Ok::<_, BusError>(metadata.topics().iter().map(|t| t.name().to_string()).collect())
        })
        .await
        .map_err(|e| BusError::Broker(e.to_string()))??;
        let missing: Vec<&str> =
            topic::ALL.iter().copied().filter(|t| !existing.iter().any(|e| e == t)).collect();
        if missing.is_empty() {
            return Ok(());
        }
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", &self.settings.brokers)
            .create()
            .map_err(broker_err)?;
        let topics: Vec<NewTopic> = missing
            .iter()
            .map(|t| NewTopic::new(t, self.settings.partitions, TopicReplication::Fixed(1)))
            .collect();
        let options = AdminOptions::new()
            .operation_timeout(Some(Duration::from_secs(10)))
            .request_timeout(Some(Duration::from_secs(15)));
        let results = admin.create_topics(&topics, &options).await.map_err(broker_err)?;
        for r in results {
            match r {
                Ok(name) => tracing::info!(topic = %name, "created topic"),
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((name, code)) => {
                    return Err(BusError::Broker(format!("cannot create topic {name}: {code}")));
                }
            }
        }
        Ok(())
    }
}
