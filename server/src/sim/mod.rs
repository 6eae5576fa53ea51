//! Simulated outside services for the demo and the tests. They behave like the test modes of
//! real providers: deterministic test inputs, configurable latency and failures, and a ledger
//! (for payments) so "charged twice" is something a test can check.

mod carrier;
mod payment;

pub use carrier::{SimCarrier, SimCarrierSettings, UNDELIVERABLE_ZIP};
pub use payment::{
    SimPaymentProvider, SimPaymentSettings, TEST_CARD_DECLINED, TEST_CARD_NO_FUNDS, TEST_CARD_TIMEOUT,
};

/// A uniform number in [0, 1) (no extra crate: v4 UUIDs are random).
fn chance() -> f64 {
    (uuid::Uuid::new_v4().as_u128() % 1_000_000) as f64 / 1_000_000.0
}
