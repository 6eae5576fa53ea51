//! A simulated card/bank gateway with a ledger in the shop's database (`sim_charges`).
//!
//! Test cards (any future expiry):
//! - `4000 0000 0000 0002`: declined ("Your card was declined.")
//! - `4000 0000 0000 9995`: declined ("Insufficient funds.")
//! - `4000 0000 0000 0119`: never answers (the worker's call timeout fires)
//! - any other valid number, and bank accounts: captured.

use super::chance;
use shop_domain::providers::{ChargeOutcome, ChargeRequest, Instrument, PaymentProvider, ProviderError};
use shop_domain::{Money, Timestamp};
use shop_store::Store;
use std::time::Duration;

pub const TEST_CARD_DECLINED: &str = "4000000000000002";
pub const TEST_CARD_NO_FUNDS: &str = "4000000000009995";
pub const TEST_CARD_TIMEOUT: &str = "4000000000000119";

#[derive(Debug, Clone, Copy)]
pub struct SimPaymentSettings {
    /// Time each call takes.
    pub latency: Duration,
    /// Share of calls (0–1) that fail with a transient outage.
    pub failure_rate: f64,
}

impl Default for SimPaymentSettings {
    fn default() -> Self {
        SimPaymentSettings { latency: Duration::from_millis(150), failure_rate: 0.0 }
    }
}

#[derive(Debug, Clone)]
pub struct SimPaymentProvider {
    store: Store,
    settings: SimPaymentSettings,
}

impl SimPaymentProvider {
    pub fn new(store: Store, settings: SimPaymentSettings) -> Self {
        SimPaymentProvider { store, settings }
    }

    async fn call(&self) -> Result<(), ProviderError> {
        if !self.settings.latency.is_zero() {
            tokio::time::sleep(self.settings.latency).await;
        }
        if self.settings.failure_rate > 0.0 && chance() < self.settings.failure_rate {
            return Err(ProviderError::Unavailable("simulated outage".into()));
        }
        Ok(())
    }
}

fn ledger(e: shop_store::StoreError) -> ProviderError {
    ProviderError::Unavailable(format!("ledger: {e}"))
}

#[async_trait::async_trait]
impl PaymentProvider for SimPaymentProvider {
    async fn charge(&self, req: &ChargeRequest) -> Result<ChargeOutcome, ProviderError> {
        self.call().await?;
        let outcome = match &req.instrument {
            Instrument::Card { number } if number == TEST_CARD_TIMEOUT => {
                // The gateway hangs; the caller's timeout decides.
                std::future::pending::<()>().await;
                unreachable!()
            }
            Instrument::Card { number } if number == TEST_CARD_DECLINED => "DECLINED:Your card was declined.",
            Instrument::Card { number } if number == TEST_CARD_NO_FUNDS => "DECLINED:Insufficient funds.",
            _ => "CAPTURED",
        };
        let stored = self
            .store
            .sim_charge(&req.idempotency_key, req.order_id, req.amount, outcome, Timestamp::now())
            .await
            .map_err(ledger)?;
        Ok(match stored.strip_prefix("DECLINED:") {
            Some(reason) => ChargeOutcome::Declined { reason: reason.to_string() },
            None => ChargeOutcome::Captured { provider_ref: format!("sim_ch_{}", req.idempotency_key) },
        })
    }

    async fn refund(&self, charge_key: &str, amount: Money) -> Result<bool, ProviderError> {
        self.call().await?;
        self.store.sim_refund(charge_key, amount, Timestamp::now()).await.map_err(ledger)
    }
}
