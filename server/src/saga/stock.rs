//! The stock worker: commits an order's units to the database stock (and the sale's sold
//! count) all-or-nothing, reports a shortfall, returns a dead order's stock to the
//! database and the stock gate exactly once, and puts an approved return's units back into
//! the products' regular stock (database, then gate) once.

use super::{event, parse};
use crate::bus::{HandleError, Handler, Message};
use shop_domain::saga::EventKind;
use shop_domain::Timestamp;
use shop_store::{StockCommit, Store};

pub const GROUP: &str = "stock";

pub struct StockWorker {
    store: Store,
    inventory: shop_store::Inventory,
}

impl StockWorker {
    pub fn new(store: Store, inventory: shop_store::Inventory) -> Self {
        StockWorker { store, inventory }
    }
}

#[async_trait::async_trait]
impl Handler for StockWorker {
    async fn handle(&self, msg: &Message) -> Result<(), HandleError> {
        let (env, kind) = parse(&msg.payload)?;
        let now = Timestamp::now();
        match kind {
            EventKind::StockCommitRequested => {
                let mut tx = self.store.begin_saga(now).await?;
                if !tx.claim(GROUP, &env.event_id).await? {
                    return Ok(());
                }
                let order = tx
                    .order(env.order_id)
                    .await?
                    .ok_or_else(|| HandleError::Poison("no such order".into()))?;
                match tx.commit_stock(order.id).await? {
                    StockCommit::Committed => {
                        tx.send(&event(
                            EventKind::StockCommitted,
                            order.id,
                            now,
                            serde_json::json!({}),
                            &env.event_id,
                        ))
                        .await?;
                        tx.commit().await?;
                    }
                    StockCommit::Nothing => {
                        // Committed before (a re-driven command): confirm again if it still matters.
                        if order.state.status.can_cancel() {
                            tx.send(&event(
                                EventKind::StockCommitted,
                                order.id,
                                now,
                                serde_json::json!({}),
                                &env.event_id,
                            ))
                            .await?;
                        }
                        tx.commit().await?;
                    }
                    StockCommit::Shortfall(reason) => {
                        drop(tx); // rolls back the lines already moved
                        let mut tx = self.store.begin_saga(now).await?;
                        if !tx.claim(GROUP, &env.event_id).await? {
                            return Ok(());
                        }
                        tracing::warn!(order_id = order.id, %reason, "stock shortfall");
                        let data = serde_json::json!({ "reason": reason });
                        tx.send(&event(EventKind::StockShortfall, order.id, now, data, &env.event_id))
                            .await?;
                        tx.commit().await?;
                    }
                }
                Ok(())
            }
            EventKind::StockReleaseRequested => {
                let mut tx = self.store.begin_saga(now).await?;
                if !tx.claim(GROUP, &env.event_id).await? {
                    return Ok(());
                }
                let released = tx.release_stock(env.order_id).await?;
                if released.is_some() {
                    tx.send(&event(
                        EventKind::StockReleased,
                        env.order_id,
                        now,
                        serde_json::json!({}),
                        &env.event_id,
                    ))
                    .await?;
                }
                tx.commit().await?;
                if let Some(r) = released {
                    self.inventory.released(env.order_id, &r).await;
                }
                Ok(())
            }
            EventKind::ReturnRestockRequested => {
                let mut tx = self.store.begin_saga(now).await?;
                if !tx.claim(GROUP, &env.event_id).await? {
                    return Ok(());
                }
                let back = tx.restock_return(env.order_id).await?;
                tx.commit().await?;
                if let Some(units) = back {
                    self.inventory.returned(env.order_id, &units, now).await;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}
