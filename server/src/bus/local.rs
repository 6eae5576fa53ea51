//! The in-process bus: per consumer group, a fixed number of partitions, each an ordered
//! queue served by one task. A message goes to the partition of its key in every group that
//! subscribed to its topic, so one order's messages are handled in order, one at a time, while
//! different orders proceed in parallel. Handlers retry and dead-letter as on Kafka.
//!
//! Durability comes from the outbox: the relay marks a row sent once it is queued here. If the
//! process dies with messages still queued, the reconciler re-drives the orders they belonged
//! to once they have been stuck for `SHOP_SAGA_STUCK_SECS`.

use super::{deliver, partition_for, BusError, ConsumerContext, EventBus, Message};
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::mpsc;

#[derive(Debug)]
pub struct LocalBus {
    partitions: usize,
    subscribers: Mutex<HashMap<String, Vec<Subscriber>>>,
}

#[derive(Debug, Clone)]
struct Subscriber {
    group: &'static str,
    queues: Vec<mpsc::UnboundedSender<Message>>,
}

impl LocalBus {
    pub fn new(partitions: usize) -> Self {
        LocalBus { partitions: partitions.max(1), subscribers: Mutex::new(HashMap::new()) }
    }
}

#[async_trait::async_trait]
impl EventBus for LocalBus {
    async fn publish(&self, msg: &Message) -> Result<(), BusError> {
        let subs = self.subscribers.lock().expect("bus lock").get(&msg.topic).cloned().unwrap_or_default();
        for s in subs {
            let p = partition_for(&msg.key, s.queues.len());
            if s.queues[p].send(msg.clone()).is_err() {
                tracing::debug!(group = s.group, "consumer stopped; message not queued");
            }
        }
        Ok(())
    }

    async fn consume(&self, ctx: ConsumerContext) -> Result<(), BusError> {
        let mut receivers = Vec::with_capacity(self.partitions);
        let mut queues = Vec::with_capacity(self.partitions);
        for _ in 0..self.partitions {
            let (tx, rx) = mpsc::unbounded_channel();
            queues.push(tx);
            receivers.push(rx);
        }
        {
            let mut subs = self.subscribers.lock().expect("bus lock");
            for t in &ctx.topics {
                let list = subs.entry(t.to_string()).or_default();
                if list.iter().any(|s| s.group == ctx.group) {
                    return Err(BusError::Broker(format!(
                        "group {} already consumes {t} in this process",
                        ctx.group
                    )));
                }
                list.push(Subscriber { group: ctx.group, queues: queues.clone() });
            }
        }
        drop(queues);
        let tasks: Vec<_> = receivers
            .into_iter()
            .map(|mut rx| {
                let ctx = ctx.clone();
                tokio::spawn(async move {
                    loop {
                        let msg = tokio::select! {
                            m = rx.recv() => match m { Some(m) => m, None => break },
                            _ = ctx.stop.cancelled() => break,
                        };
                        if !deliver(&ctx, &msg).await {
                            break;
                        }
                    }
                })
            })
            .collect();
        for t in tasks {
            let _ = t.await;
        }
        let mut subs = self.subscribers.lock().expect("bus lock");
        for t in &ctx.topics {
            if let Some(list) = subs.get_mut(*t) {
                list.retain(|s| s.group != ctx.group);
            }
        }
        Ok(())
    }
}
