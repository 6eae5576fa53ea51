//! The outside world the workers talk to: a payment provider and a carrier. Real adapters
//! would call HTTP APIs; the server ships simulated ones that behave like test gateways.

use crate::{Money, Timestamp};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What the buyer pays with, as the provider receives it.
#[derive(Clone, PartialEq, Eq)]
pub enum Instrument {
    Card { number: String },
    BankAccount { number: String },
}

impl fmt::Debug for Instrument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print a full card or account number.
        match self {
            Instrument::Card { number } => write!(f, "Card(•••• {})", last4(number)),
            Instrument::BankAccount { number } => write!(f, "BankAccount(•••• {})", last4(number)),
        }
    }
}

fn last4(n: &str) -> &str {
    &n[n.len().saturating_sub(4)..]
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeRequest {
    /// The provider charges each key at most once, however often it is asked.
    pub idempotency_key: String,
    pub order_id: i64,
    pub amount: Money,
    pub instrument: Instrument,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChargeOutcome {
    Captured { provider_ref: String },
    Declined { reason: String },
}

/// Failures that say nothing about the charge itself: try again later.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    #[error("the provider did not answer in time")]
    Timeout,
    #[error("the provider is unavailable: {0}")]
    Unavailable(String),
    #[error("the circuit breaker is open: not calling the provider for now")]
    CircuitOpen,
}

#[async_trait::async_trait]
pub trait PaymentProvider: Send + Sync + fmt::Debug {
    async fn charge(&self, req: &ChargeRequest) -> Result<ChargeOutcome, ProviderError>;
    /// Refunds what `charge_key` captured. Refunding twice, or a charge that never happened,
    /// is a no-op that answers `Ok(false)`.
    async fn refund(&self, charge_key: &str, amount: Money) -> Result<bool, ProviderError>;
}

/// A parcel to book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parcel {
    pub order_id: i64,
    pub receiver: String,
    pub street: String,
    pub zip: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Booking {
    Booked { carrier_ref: String },
    Refused { reason: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ParcelStatus {
    Requested,
    InTransit,
    Delivered,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CarrierError {
    #[error("the carrier is unavailable: {0}")]
    Unavailable(String),
}

#[async_trait::async_trait]
pub trait Carrier: Send + Sync + fmt::Debug {
    /// Books a pickup. Booking the same order again returns the same booking.
    async fn book(&self, parcel: &Parcel) -> Result<Booking, CarrierError>;
    /// Where a parcel handed over at `dispatched_at` is `now`.
    async fn track(
        &self,
        carrier_ref: &str,
        dispatched_at: Timestamp,
        now: Timestamp,
    ) -> Result<ParcelStatus, CarrierError>;
    /// Cancels a booking not yet in transit; cancelling twice is a no-op.
    async fn cancel(&self, carrier_ref: &str) -> Result<(), CarrierError>;
}

/// A circuit breaker: after `threshold` failures in a row it opens for `cool_down_ms`, then
/// lets one trial call through (half-open); a success closes it. Time is passed in, so the
/// rules are tested without sleeping.
#[derive(Debug, Clone)]
pub struct CircuitBreaker {
    threshold: u32,
    cool_down_ms: i64,
    failures: u32,
    open_until: Option<Timestamp>,
    trial_in_flight: bool,
}

impl CircuitBreaker {
    pub fn new(threshold: u32, cool_down_ms: i64) -> Self {
        CircuitBreaker {
            threshold: threshold.max(1),
            cool_down_ms,
            failures: 0,
            open_until: None,
            trial_in_flight: false,
        }
    }

    /// May a call go out now?
    pub fn allow(&mut self, now: Timestamp) -> bool {
        match self.open_until {
            None => true,
            Some(until) if now < until => false,
            Some(_) if self.trial_in_flight => false,
            Some(_) => {
                self.trial_in_flight = true;
                true
            }
        }
    }

    pub fn success(&mut self) {
        self.failures = 0;
        self.open_until = None;
        self.trial_in_flight = false;
    }

    pub fn failure(&mut self, now: Timestamp) {
        self.failures += 1;
        self.trial_in_flight = false;
        if self.failures >= self.threshold || self.open_until.is_some() {
            self.open_until = Some(Timestamp::from_millis(now.millis() + self.cool_down_ms));
        }
    }

    pub fn is_open(&self, now: Timestamp) -> bool {
        self.open_until.is_some_and(|u| now < u)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_breaker_opens_cools_down_and_closes() {
        let t = Timestamp::from_millis;
        let mut b = CircuitBreaker::new(3, 1000);
        for _ in 0..2 {
            assert!(b.allow(t(0)));
            b.failure(t(0));
        }
        assert!(b.allow(t(0)), "two failures: still closed");
        b.failure(t(0));
        assert!(!b.allow(t(500)), "three in a row: open");
        assert!(b.allow(t(1000)), "after the cool-down one trial goes through");
        assert!(!b.allow(t(1001)), "only one trial at a time");
        b.failure(t(1001));
        assert!(!b.allow(t(1500)), "a failed trial re-opens it");
        assert!(b.allow(t(2001)));
        b.success();
        assert!(b.allow(t(2002)) && b.allow(t(2002)), "closed again");
    }

    #[test]
    fn instruments_never_print_their_numbers() {
        let card = Instrument::Card { number: "4242424242424242".into() };
        assert_eq!(format!("{card:?}"), "Card(•••• 4242)");
    }
}
