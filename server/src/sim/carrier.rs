//! A simulated carrier: books parcels (refusing one test postcode), and moves a handed-over
//! parcel REQUESTED → IN_TRANSIT → DELIVERED on a configurable clock. Tracking is computed
//! from the hand-over time, so any worker process can track any parcel.

use shop_domain::providers::{Booking, Carrier, CarrierError, Parcel, ParcelStatus};
use shop_domain::Timestamp;
use std::time::Duration;

/// Parcels to this postcode are refused ("the carrier does not deliver there").
pub const UNDELIVERABLE_ZIP: &str = "00000";

#[derive(Debug, Clone, Copy)]
pub struct SimCarrierSettings {
    pub latency: Duration,
    /// From hand-over to "in transit".
    pub in_transit_after: Duration,
    /// From hand-over to "delivered".
    pub delivered_after: Duration,
}

impl Default for SimCarrierSettings {
    fn default() -> Self {
        SimCarrierSettings {
            latency: Duration::from_millis(50),
            in_transit_after: Duration::from_secs(3),
            delivered_after: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Clone)]
pub struct SimCarrier {
    settings: SimCarrierSettings,
}

impl SimCarrier {
    pub fn new(settings: SimCarrierSettings) -> Self {
        SimCarrier { settings }
    }

    async fn call(&self) {
        if !self.settings.latency.is_zero() {
            tokio::time::sleep(self.settings.latency).await;
        }
    }
}

#[async_trait::async_trait]
impl Carrier for SimCarrier {
    async fn book(&self, parcel: &Parcel) -> Result<Booking, CarrierError> {
        self.call().await;
        if parcel.zip.trim() == UNDELIVERABLE_ZIP {
            return Ok(Booking::Refused { reason: "the carrier does not deliver to this postcode".into() });
        }
        Ok(Booking::Booked { carrier_ref: format!("PCL-{:08}", parcel.order_id) })
    }

    async fn track(
        &self,
        _carrier_ref: &str,
        dispatched_at: Timestamp,
        now: Timestamp,
    ) -> Result<ParcelStatus, CarrierError> {
        let elapsed = now.millis() - dispatched_at.millis();
        Ok(if elapsed >= self.settings.delivered_after.as_millis() as i64 {
            ParcelStatus::Delivered
        } else if elapsed >= self.settings.in_transit_after.as_millis() as i64 {
            ParcelStatus::InTransit
        } else {
            ParcelStatus::Requested
        })
    }

    async fn cancel(&self, _carrier_ref: &str) -> Result<(), CarrierError> {
        self.call().await;
        Ok(())
    }
}
