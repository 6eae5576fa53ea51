//! The delivery worker: books parcels with the `Carrier`, hands them over once the stock is
//! committed, cancels bookings when an order dies, and (the tracker loop) follows handed-over
//! parcels until they are delivered.

use super::{event, parse, SagaDeps};
use crate::bus::{HandleError, Handler, Message};
use shop_domain::providers::{Booking, Carrier, Parcel, ParcelStatus};
use shop_domain::saga::{Envelope, EventKind};
use shop_domain::{OrderStatus, Timestamp};
use shop_store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub const GROUP: &str = "delivery";

pub struct DeliveryWorker {
    store: Store,
    carrier: Arc<dyn Carrier>,
}

fn carrier_err(e: shop_domain::providers::CarrierError) -> HandleError {
    HandleError::Retry(e.to_string())
}

impl DeliveryWorker {
    pub fn new(deps: &SagaDeps) -> Self {
        DeliveryWorker { store: deps.store.clone(), carrier: deps.carrier.clone() }
    }

    async fn finish(
        &self,
        env: &Envelope,
        order_id: i64,
        change: Option<(&[&str], &str, Option<&str>, Option<&str>)>,
        reply: Option<(EventKind, serde_json::Value)>,
    ) -> Result<(), HandleError> {
        let mut tx = self.store.begin_saga(Timestamp::now()).await?;
        if !tx.claim(GROUP, &env.event_id).await? {
            return Ok(());
        }
        if let Some((from, to, carrier_ref, error)) = change {
            tx.set_delivery(order_id, from, to, carrier_ref, error).await?;
        }
        if let Some((kind, data)) = reply {
            tx.send(&event(kind, order_id, tx.now(), data, &env.event_id)).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn book(&self, env: &Envelope) -> Result<(), HandleError> {
        let order = self
            .store
            .saga_order(env.order_id)
            .await?
            .ok_or_else(|| HandleError::Poison("no such order".into()))?;
        let delivery = self
            .store
            .delivery(order.id)
            .await?
            .ok_or_else(|| HandleError::Poison("no delivery row".into()))?;
        if delivery.status != "PENDING" {
            // Booked before: answer again (a re-driven command), book nothing.
            let reply = (delivery.status == "REQUESTED").then(|| {
                (EventKind::DeliveryBooked, serde_json::json!({ "carrier_ref": delivery.carrier_ref }))
            });
            return self.finish(env, order.id, None, reply).await;
        }
        if order.state.status != OrderStatus::Paid {
            return self.finish(env, order.id, None, None).await;
        }
        let parcel = Parcel {
            order_id: order.id,
            receiver: order.ship_receiver.clone(),
            street: order.ship_street.clone(),
            zip: order.ship_zip.clone(),
        };
        match self.carrier.book(&parcel).await.map_err(carrier_err)? {
            Booking::Booked { carrier_ref } => {
                let data = serde_json::json!({ "carrier_ref": carrier_ref });
                self.finish(
                    env,
                    order.id,
                    Some((&["PENDING"], "REQUESTED", Some(&carrier_ref), None)),
                    Some((EventKind::DeliveryBooked, data)),
                )
                .await
            }
            Booking::Refused { reason } => {
                let data = serde_json::json!({ "reason": reason });
                self.finish(
                    env,
                    order.id,
                    Some((&["PENDING"], "FAILED", None, Some(&reason))),
                    Some((EventKind::DeliveryFailed, data)),
                )
                .await
            }
        }
    }

    async fn dispatch(&self, env: &Envelope) -> Result<(), HandleError> {
        let mut tx = self.store.begin_saga(Timestamp::now()).await?;
        if !tx.claim(GROUP, &env.event_id).await? {
            return Ok(());
        }
        tx.dispatch(env.order_id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn cancel(&self, env: &Envelope) -> Result<(), HandleError> {
        let Some(delivery) = self.store.delivery(env.order_id).await? else {
            return self.finish(env, env.order_id, None, None).await;
        };
        match delivery.status.as_str() {
            "PENDING" => {
                self.finish(env, env.order_id, Some((&["PENDING"], "CANCELLED", None, None)), None).await
            }
            "REQUESTED" => {
                if let Some(r) = &delivery.carrier_ref {
                    self.carrier.cancel(r).await.map_err(carrier_err)?;
                }
                self.finish(
                    env,
                    env.order_id,
                    Some((&["REQUESTED"], "CANCELLED", None, None)),
                    Some((EventKind::DeliveryCancelled, serde_json::json!({}))),
                )
                .await
            }
            // Failed, cancelled, or already moving: nothing to cancel.
            _ => self.finish(env, env.order_id, None, None).await,
        }
    }

    /// Asks the carrier about every handed-over parcel and reports the moves.
    pub async fn track_once(&self, now: Timestamp) -> Result<usize, HandleError> {
        let mut moved = 0;
        for parcel in self.store.parcels_in_flight(200).await? {
            let status = self
                .carrier
                .track(&parcel.carrier_ref, parcel.dispatched_at, now)
                .await
                .map_err(carrier_err)?;
            let steps: &[(&str, &str, EventKind)] = match (parcel.status.as_str(), status) {
                ("REQUESTED", ParcelStatus::InTransit) => {
                    &[("REQUESTED", "IN_TRANSIT", EventKind::DeliveryInTransit)]
                }
                ("REQUESTED", ParcelStatus::Delivered) => &[
                    ("REQUESTED", "IN_TRANSIT", EventKind::DeliveryInTransit),
                    ("IN_TRANSIT", "DELIVERED", EventKind::DeliveryDelivered),
                ],
                ("IN_TRANSIT", ParcelStatus::Delivered) => {
                    &[("IN_TRANSIT", "DELIVERED", EventKind::DeliveryDelivered)]
                }
                _ => &[],
            };
            if steps.is_empty() {
                continue;
            }
            let mut tx = self.store.begin_saga(Timestamp::now()).await?;
            let mut changed = true;
            for (from, to, kind) in steps {
                // Conditional: of several trackers, one reports each move.
                changed = changed && tx.set_delivery(parcel.order_id, &[from], to, None, None).await?;
                if changed {
                    let cause = format!("track:{}", parcel.carrier_ref);
                    tx.send(&event(
                        *kind,
                        parcel.order_id,
                        tx.now(),
                        serde_json::json!({ "carrier_ref": parcel.carrier_ref }),
                        &cause,
                    ))
                    .await?;
                }
            }
            tx.commit().await?;
            moved += 1;
        }
        Ok(moved)
    }
}

/// The tracker loop.
pub async fn track(worker: Arc<DeliveryWorker>, every: Duration, stop: CancellationToken) {
    loop {
        if let Err(e) = worker.track_once(Timestamp::now()).await {
            tracing::warn!(error = %e, "parcel tracking failed; will try again");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.cancelled() => return,
        }
    }
}

#[async_trait::async_trait]
impl Handler for DeliveryWorker {
    async fn handle(&self, msg: &Message) -> Result<(), HandleError> {
        let (env, kind) = parse(&msg.payload)?;
        if !matches!(
            kind,
            EventKind::DeliveryRequested | EventKind::DispatchRequested | EventKind::DeliveryCancelRequested
        ) {
            return Ok(());
        }
        if self.store.was_processed(GROUP, &env.event_id).await? {
            return Ok(());
        }
        match kind {
            EventKind::DeliveryRequested => self.book(&env).await,
            EventKind::DispatchRequested => self.dispatch(&env).await,
            _ => self.cancel(&env).await,
        }
    }
}
