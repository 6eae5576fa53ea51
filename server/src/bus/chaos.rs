//! A bus decorator for fault tests (`SHOP_BUS_DUPLICATES=true`): every message is published
//! twice, and after each message the previous message with the same key is published again,
//! so consumers see duplicates and out-of-order redeliveries on either bus.

use super::{BusError, ConsumerContext, EventBus, Message};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Debug)]
pub struct DuplicatingBus {
    inner: Arc<dyn EventBus>,
    previous: Mutex<HashMap<String, Message>>,
}

impl DuplicatingBus {
    pub fn new(inner: Arc<dyn EventBus>) -> Self {
        DuplicatingBus { inner, previous: Mutex::new(HashMap::new()) }
    }
}

#[async_trait::async_trait]
impl EventBus for DuplicatingBus {
    async fn publish(&self, msg: &Message) -> Result<(), BusError> {
        self.inner.publish(msg).await?;
        self.inner.publish(msg).await?;
        let earlier = self.previous.lock().expect("lock").insert(msg.key.clone(), msg.clone());
        if let Some(earlier) = earlier {
            // An old message again, after a newer one: out-of-order redelivery.
            self.inner.publish(&earlier).await?;
        }
        Ok(())
    }

    async fn consume(&self, ctx: ConsumerContext) -> Result<(), BusError> {
        self.inner.consume(ctx).await
    }

    async fn ensure_topics(&self) -> Result<(), BusError> {
        self.inner.ensure_topics().await
    }
}
