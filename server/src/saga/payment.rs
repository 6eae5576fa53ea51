//! The payment worker: charges through the `PaymentProvider` (with a call timeout and a
//! circuit breaker) and refunds. One charge key per order (`order-<id>`), so the provider
//! charges an order at most once however often the command arrives.

use super::{event, parse, SagaDeps, SagaSettings};
use crate::bus::{HandleError, Handler, Message};
use shop_domain::providers::{
    ChargeOutcome, ChargeRequest, CircuitBreaker, Instrument, PaymentProvider, ProviderError,
};
use shop_domain::saga::{Envelope, EventKind};
use shop_domain::{OrderStatus, Timestamp};
use shop_security::SecretBox;
use shop_store::{SagaOrder, Store};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const GROUP: &str = "payment";

pub struct PaymentWorker {
    store: Store,
    secrets: SecretBox,
    provider: Arc<dyn PaymentProvider>,
    breaker: Mutex<CircuitBreaker>,
    timeout: Duration,
    attempts: i64,
}

pub fn charge_key(order_id: i64) -> String {
    format!("order-{order_id}")
}

enum Call<T> {
    Done(T),
    /// Timed out or failed: counts against the breaker.
    Failed(ProviderError),
}

impl PaymentWorker {
    pub fn new(deps: &SagaDeps, settings: &SagaSettings) -> Self {
        PaymentWorker {
            store: deps.store.clone(),
            secrets: deps.secrets.clone(),
            provider: deps.payments.clone(),
            breaker: Mutex::new(CircuitBreaker::new(
                settings.breaker_threshold,
                settings.breaker_cool_down.as_millis() as i64,
            )),
            timeout: settings.payment_timeout,
            attempts: settings.payment_attempts,
        }
    }

    /// Runs one provider call through the breaker and the timeout.
    async fn call<T>(
        &self,
        fut: impl std::future::Future<Output = Result<T, ProviderError>>,
    ) -> Result<Call<T>, HandleError> {
        if !self.breaker.lock().expect("breaker").allow(Timestamp::now()) {
            return Err(HandleError::Retry(ProviderError::CircuitOpen.to_string()));
        }
        let result = match tokio::time::timeout(self.timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(ProviderError::Timeout),
        };
        let mut breaker = self.breaker.lock().expect("breaker");
        Ok(match result {
            Ok(v) => {
                breaker.success();
                Call::Done(v)
            }
            Err(e) => {
                breaker.failure(Timestamp::now());
                Call::Failed(e)
            }
        })
    }

    fn instrument(&self, kind: &str, sealed: &[u8]) -> Result<Instrument, HandleError> {
        let number =
            self.secrets.decrypt(sealed).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(|| {
                HandleError::Poison("cannot decrypt the payment method (wrong SHOP_SECRET_KEY?)".into())
            })?;
        Ok(match kind {
            "card" => Instrument::Card { number },
            _ => Instrument::BankAccount { number },
        })
    }

    /// Writes the outcome with the claim, and the reply for the orchestrator.
    async fn finish(
        &self,
        env: &Envelope,
        order_id: i64,
        change: Option<(&str, &str, Option<&str>, Option<&str>)>,
        reply: Option<(EventKind, serde_json::Value)>,
    ) -> Result<(), HandleError> {
        let mut tx = self.store.begin_saga(Timestamp::now()).await?;
        if !tx.claim(GROUP, &env.event_id).await? {
            return Ok(());
        }
        if let Some((from, to, provider_ref, error)) = change {
            tx.set_payment(order_id, from, to, provider_ref, error).await?;
        }
        if let Some((kind, data)) = reply {
            tx.send(&event(kind, order_id, tx.now(), data, &env.event_id)).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn charge(&self, env: &Envelope, order: &SagaOrder) -> Result<(), HandleError> {
        let payment = self
            .store
            .payment(order.id)
            .await?
            .ok_or_else(|| HandleError::Poison("no payment row".into()))?;
        match payment.status.as_str() {
            // Charged before (the command came again): answer again, charge nothing.
            "CAPTURED" => {
                let data = serde_json::json!({ "provider_ref": payment.provider_ref, "amount": payment.amount.minor() });
                return self.finish(env, order.id, None, Some((EventKind::PaymentCaptured, data))).await;
            }
            "DECLINED" => {
                let data = serde_json::json!({ "reason": "the payment was declined" });
                return self.finish(env, order.id, None, Some((EventKind::PaymentDeclined, data))).await;
            }
            "REFUNDED" => return self.finish(env, order.id, None, None).await,
            _ => {}
        }
        if !matches!(order.state.status, OrderStatus::Pending) {
            // Cancelled (or failed) before we got to it: charge nothing.
            return self.finish(env, order.id, None, None).await;
        }
        let method = match order.payment_method_id {
            Some(id) => self.store.payment_instrument_secret(id).await?,
            None => None,
        };
        let Some((kind, sealed)) = method else {
            let reason = "the payment method was removed";
            let data = serde_json::json!({ "reason": reason });
            return self
                .finish(
                    env,
                    order.id,
                    Some(("PENDING", "DECLINED", None, Some(reason))),
                    Some((EventKind::PaymentDeclined, data)),
                )
                .await;
        };
        let req = ChargeRequest {
            idempotency_key: charge_key(order.id),
            order_id: order.id,
            amount: order.total,
            instrument: self.instrument(&kind, &sealed)?,
        };
        match self.call(self.provider.charge(&req)).await? {
            Call::Done(ChargeOutcome::Captured { provider_ref }) => {
                let data = serde_json::json!({ "provider_ref": provider_ref, "amount": order.total.minor() });
                self.finish(
                    env,
                    order.id,
                    Some(("PENDING", "CAPTURED", Some(&provider_ref), None)),
                    Some((EventKind::PaymentCaptured, data)),
                )
                .await
            }
            Call::Done(ChargeOutcome::Declined { reason }) => {
                let data = serde_json::json!({ "reason": reason });
                self.finish(
                    env,
                    order.id,
                    Some(("PENDING", "DECLINED", None, Some(&reason))),
                    Some((EventKind::PaymentDeclined, data)),
                )
                .await
            }
            Call::Failed(e) => {
                let attempts =
                    self.store.note_payment_attempt(order.id, &e.to_string(), Timestamp::now()).await?;
                if attempts < self.attempts {
                    return Err(HandleError::Retry(format!("charging order {}: {e}", order.id)));
                }
                // Give up: void whatever the provider may have done, then decline.
                if let Call::Failed(e) =
                    self.call(self.provider.refund(&req.idempotency_key, order.total)).await?
                {
                    return Err(HandleError::Retry(format!("voiding order {}: {e}", order.id)));
                }
                let reason = "the payment provider did not answer";
                tracing::warn!(order_id = order.id, attempts, "payment given up: {e}");
                let data = serde_json::json!({ "reason": reason });
                self.finish(
                    env,
                    order.id,
                    Some(("PENDING", "DECLINED", None, Some(reason))),
                    Some((EventKind::PaymentDeclined, data)),
                )
                .await
            }
        }
    }

    async fn refund(&self, env: &Envelope, order: &SagaOrder) -> Result<(), HandleError> {
        let payment = self
            .store
            .payment(order.id)
            .await?
            .ok_or_else(|| HandleError::Poison("no payment row".into()))?;
        if payment.status != "CAPTURED" {
            // Nothing was taken (or it was refunded already).
            return self.finish(env, order.id, None, None).await;
        }
        match self.call(self.provider.refund(&charge_key(order.id), payment.amount)).await? {
            Call::Done(_) => {
                let data = serde_json::json!({ "amount": payment.amount.minor() });
                self.finish(
                    env,
                    order.id,
                    Some(("CAPTURED", "REFUNDED", None, None)),
                    Some((EventKind::PaymentRefunded, data)),
                )
                .await
            }
            Call::Failed(e) => Err(HandleError::Retry(format!("refunding order {}: {e}", order.id))),
        }
    }
}

impl PaymentWorker {
    /// Refunds an approved return's amount, once: the provider is asked under the order's
    /// charge key (a repeated refund is refused there), and the return moves to `REFUNDED` with
    /// the claim, so a redelivered or repeated command refunds nothing more.
    async fn refund_return(&self, env: &Envelope, order: &SagaOrder) -> Result<(), HandleError> {
        let Some((return_id, amount)) = self.store.return_to_refund(order.id).await? else {
            return self.finish(env, order.id, None, None).await; // refunded before, or not approved
        };
        if let Call::Failed(e) = self.call(self.provider.refund(&charge_key(order.id), amount)).await? {
            return Err(HandleError::Retry(format!("refunding return {return_id} of order {}: {e}", order.id)));
        }
        let mut tx = self.store.begin_saga(Timestamp::now()).await?;
        if !tx.claim(GROUP, &env.event_id).await? {
            return Ok(());
        }
        if tx.return_refunded(order.id).await? {
            tracing::info!(order_id = order.id, return_id, amount = %amount, "return refunded");
        }
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl Handler for PaymentWorker {
    async fn handle(&self, msg: &Message) -> Result<(), HandleError> {
        let (env, kind) = parse(&msg.payload)?;
        if !matches!(
            kind,
            EventKind::PaymentRequested | EventKind::RefundRequested | EventKind::ReturnRefundRequested
        ) {
            return Ok(());
        }
        if self.store.was_processed(GROUP, &env.event_id).await? {
            return Ok(());
        }
        let order = self
            .store
            .saga_order(env.order_id)
            .await?
            .ok_or_else(|| HandleError::Poison(format!("order {} does not exist", env.order_id)))?;
        match kind {
            EventKind::PaymentRequested => self.charge(&env, &order).await,
            EventKind::ReturnRefundRequested => self.refund_return(&env, &order).await,
            _ => self.refund(&env, &order).await,
        }
    }
}
