//! The order saga's background work. Where each part lives:
//! - `relay.rs`: outbox → bus (the only publisher);
//! - `orchestrator.rs`: the orders worker, applying `shop_domain::saga::react`;
//! - `payment.rs`, `delivery.rs` (with the parcel tracker), `stock.rs`: the step workers;
//! - `reconciler.rs`: re-drives stuck orders and repairs stock-gate drift.
//!
//! Every handler claims its message id in the same transaction as its effect (see
//! `shop_store::SagaTx`), so a redelivered message changes nothing.

mod delivery;
mod orchestrator;
mod payment;
pub mod reconciler;
pub mod relay;
mod stock;

use crate::bus::{ConsumerContext, DeadLetters, EventBus, Handler, RetryPolicy};
use shop_domain::providers::{Carrier, PaymentProvider};
use shop_domain::saga::{topic, Envelope, EventKind};
use shop_domain::Timestamp;
use shop_security::SecretBox;
use shop_store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// One kind of background work; `shop worker <kind>` runs one, `all` runs every one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Relay,
    Orders,
    Payment,
    Delivery,
    Stock,
    Reconciler,
    /// Sends the mail outbox (`crate::mail`; started beside the saga's roles, not by [`spawn`]).
    Mail,
}

impl Role {
    pub const ALL: [Role; 7] =
        [Role::Relay, Role::Orders, Role::Payment, Role::Delivery, Role::Stock, Role::Reconciler, Role::Mail];

    /// `shop worker <name>`: the orders worker also runs the reconciler.
    pub fn parse_worker(name: &str) -> Option<Vec<Role>> {
        Some(match name {
            "all" => Role::ALL.to_vec(),
            "relay" => vec![Role::Relay],
            "orders" => vec![Role::Orders, Role::Reconciler],
            "payment" => vec![Role::Payment],
            "delivery" => vec![Role::Delivery],
            "stock" => vec![Role::Stock],
            "mail" => vec![Role::Mail],
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
pub struct SagaSettings {
    pub retry: RetryPolicy,
    /// How long the payment worker waits for the provider per call.
    pub payment_timeout: Duration,
    /// Calls that time out or fail before a payment is given up (declined, voided).
    pub payment_attempts: i64,
    pub breaker_threshold: u32,
    pub breaker_cool_down: Duration,
    /// How often the relay looks for unsent outbox rows when it found none.
    pub relay_poll: Duration,
    /// How often the delivery worker asks the carrier about parcels.
    pub tracker_poll: Duration,
    /// An order waiting this long on one step is re-driven.
    pub stuck_after: Duration,
    pub reconcile_every: Duration,
    /// Re-drives before an order is failed (and compensated).
    pub max_redrives: i64,
    /// Sent outbox rows and handled-message ids older than this are deleted (hourly, by the
    /// reconciler). Longer than any redelivery: a message older than this is never seen again.
    pub message_retention: Duration,
}

impl Default for SagaSettings {
    fn default() -> Self {
        SagaSettings {
            retry: RetryPolicy::default(),
            payment_timeout: Duration::from_secs(3),
            payment_attempts: 3,
            breaker_threshold: 5,
            breaker_cool_down: Duration::from_secs(10),
            relay_poll: Duration::from_millis(50),
            tracker_poll: Duration::from_millis(500),
            stuck_after: Duration::from_secs(60),
            reconcile_every: Duration::from_secs(10),
            message_retention: Duration::from_secs(7 * 24 * 3600),
            max_redrives: 5,
        }
    }
}

/// What the workers talk to.
#[derive(Clone)]
pub struct SagaDeps {
    pub store: Store,
    pub bus: Arc<dyn EventBus>,
    /// Every stock movement between the database and the gate.
    pub inventory: shop_store::Inventory,
    pub secrets: SecretBox,
    pub payments: Arc<dyn PaymentProvider>,
    pub carrier: Arc<dyn Carrier>,
}

/// Starts the given roles; they run until `stop` is cancelled.
pub fn spawn(
    roles: &[Role],
    deps: &SagaDeps,
    settings: &SagaSettings,
    stop: &CancellationToken,
) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    let consumer = |group: &'static str, topics: Vec<&'static str>, handler: Arc<dyn Handler>| {
        let ctx = ConsumerContext {
            group,
            topics,
            handler,
            retry: settings.retry,
            dead_letters: DeadLetters { store: deps.store.clone(), bus: Some(deps.bus.clone()) },
            stop: stop.clone(),
        };
        let bus = deps.bus.clone();
        tokio::spawn(async move {
            if let Err(e) = bus.consume(ctx).await {
                tracing::error!(group, error = %e, "consumer stopped");
            }
        })
    };
    for role in roles {
        match role {
            Role::Relay => tasks.push(tokio::spawn(relay::run(
                deps.store.clone(),
                deps.bus.clone(),
                settings.clone(),
                stop.clone(),
            ))),
            Role::Orders => tasks.push(consumer(
                orchestrator::GROUP,
                vec![topic::ORDERS, topic::PAYMENTS, topic::DELIVERIES, topic::STOCK],
                Arc::new(orchestrator::Orchestrator::new(deps.store.clone())),
            )),
            Role::Payment => tasks.push(consumer(
                payment::GROUP,
                vec![topic::PAYMENTS],
                Arc::new(payment::PaymentWorker::new(deps, settings)),
            )),
            Role::Delivery => {
                let worker = Arc::new(delivery::DeliveryWorker::new(deps));
                tasks.push(tokio::spawn(delivery::track(
                    worker.clone(),
                    settings.tracker_poll,
                    stop.clone(),
                )));
                tasks.push(consumer(delivery::GROUP, vec![topic::DELIVERIES], worker));
            }
            Role::Stock => tasks.push(consumer(
                stock::GROUP,
                vec![topic::STOCK],
                Arc::new(stock::StockWorker::new(deps.store.clone(), deps.inventory.clone())),
            )),
            Role::Reconciler => {
                tasks.push(tokio::spawn(reconciler::run(deps.clone(), settings.clone(), stop.clone())))
            }
            Role::Mail => {}
        }
    }
    tasks
}

/// A new command or reply about `order_id`, caused by `cause` (an event id).
fn event(
    kind: EventKind,
    order_id: i64,
    now: Timestamp,
    mut data: serde_json::Value,
    cause: &str,
) -> Envelope {
    if let serde_json::Value::Object(map) = &mut data {
        map.insert("cause".into(), cause.into());
    }
    Envelope::new(shop_store::new_event_id(kind, order_id), kind, order_id, now, data)
}

/// Parses a message for a worker; bad payloads are dead-lettered at once.
fn parse(payload: &str) -> Result<(Envelope, EventKind), crate::bus::HandleError> {
    let env = Envelope::parse(payload).map_err(crate::bus::HandleError::Poison)?;
    let kind = env
        .event_kind()
        .ok_or_else(|| crate::bus::HandleError::Poison(format!("unknown event type {}", env.kind)))?;
    Ok((env, kind))
}
