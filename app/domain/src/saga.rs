//! The order saga: the events that move an order, and the orchestrator's rules.
//!
//! Everything here is plain data and pure functions. The orders worker feeds each reply event
//! to [`react`] together with the order's current state and applies what comes back (a state
//! change, timeline text, commands) in one database transaction with the outbox. Because the
//! reaction depends only on (state, event), a redelivered or out-of-order event is either a
//! no-op or a compensation that is itself idempotent; compensations are issued only on the
//! transition into `FAILED`/`CANCELLED`, which happens once.

use crate::{OrderStatus, Timestamp};
use serde::{Deserialize, Serialize};

/// Topics, one per event family. Every message is keyed by its order id, so one order's
/// events stay in order on every bus.
pub mod topic {
    pub const ORDERS: &str = "orders";
    pub const PAYMENTS: &str = "payments";
    pub const DELIVERIES: &str = "deliveries";
    pub const STOCK: &str = "stock";
    pub const DEAD_LETTERS: &str = "dead-letters";
    /// Every topic the shop publishes to (created at start-up when missing).
    pub const ALL: [&str; 5] = [ORDERS, PAYMENTS, DELIVERIES, STOCK, DEAD_LETTERS];
}

/// The JSON every message carries. `data` depends on `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub event_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub schema_version: u32,
    pub order_id: i64,
    pub occurred_at: Timestamp,
    #[serde(default)]
    pub data: serde_json::Value,
}

pub const SCHEMA_VERSION: u32 = 1;

impl Envelope {
    pub fn new(
        event_id: String,
        kind: EventKind,
        order_id: i64,
        at: Timestamp,
        data: serde_json::Value,
    ) -> Self {
        Envelope {
            event_id,
            kind: kind.as_str().to_string(),
            schema_version: SCHEMA_VERSION,
            order_id,
            occurred_at: at,
            data,
        }
    }

    pub fn parse(payload: &str) -> Result<Envelope, String> {
        let e: Envelope = serde_json::from_str(payload).map_err(|e| format!("not an event envelope: {e}"))?;
        if e.schema_version != SCHEMA_VERSION {
            return Err(format!("unsupported schema_version {}", e.schema_version));
        }
        Ok(e)
    }

    pub fn event_kind(&self) -> Option<EventKind> {
        EventKind::parse(&self.kind)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("envelopes serialize")
    }

    /// A string field of `data` (e.g. a decline reason).
    pub fn text(&self, field: &str) -> Option<&str> {
        self.data.get(field).and_then(|v| v.as_str())
    }
}

macro_rules! kinds {
    ($($variant:ident = $name:literal on $topic:ident,)*) => {
        /// Every event type, with the topic it travels on.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum EventKind { $($variant,)* }

        impl EventKind {
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant,)*];
            pub fn as_str(self) -> &'static str {
                match self { $(EventKind::$variant => $name,)* }
            }
            pub fn topic(self) -> &'static str {
                match self { $(EventKind::$variant => topic::$topic,)* }
            }
            pub fn parse(s: &str) -> Option<EventKind> {
                match s { $($name => Some(EventKind::$variant),)* _ => None }
            }
        }
    };
}

kinds! {
    // From the web tier.
    OrderPlaced = "order.placed" on ORDERS,
    OrderCancelled = "order.cancelled" on ORDERS,
    // Commands from the orchestrator to the workers.
    PaymentRequested = "payment.requested" on PAYMENTS,
    RefundRequested = "payment.refund_requested" on PAYMENTS,
    DeliveryRequested = "delivery.requested" on DELIVERIES,
    DispatchRequested = "delivery.dispatch_requested" on DELIVERIES,
    DeliveryCancelRequested = "delivery.cancel_requested" on DELIVERIES,
    StockCommitRequested = "stock.commit_requested" on STOCK,
    StockReleaseRequested = "stock.release_requested" on STOCK,
    // An approved return (staff, on the admin order page): refund the returned lines, and put
    // their units back into the product's regular stock.
    ReturnRefundRequested = "return.refund_requested" on PAYMENTS,
    ReturnRestockRequested = "return.restock_requested" on STOCK,
    // Replies from the workers.
    PaymentCaptured = "payment.captured" on PAYMENTS,
    PaymentDeclined = "payment.declined" on PAYMENTS,
    PaymentRefunded = "payment.refunded" on PAYMENTS,
    DeliveryBooked = "delivery.booked" on DELIVERIES,
    DeliveryFailed = "delivery.failed" on DELIVERIES,
    DeliveryInTransit = "delivery.in_transit" on DELIVERIES,
    DeliveryDelivered = "delivery.delivered" on DELIVERIES,
    DeliveryCancelled = "delivery.cancelled" on DELIVERIES,
    StockCommitted = "stock.committed" on STOCK,
    StockShortfall = "stock.shortfall" on STOCK,
    StockReleased = "stock.released" on STOCK,
}

impl EventKind {
    /// Commands are consumed by a worker; everything else is a fact the orchestrator reacts to.
    pub fn is_command(self) -> bool {
        use EventKind::*;
        matches!(
            self,
            PaymentRequested
                | RefundRequested
                | DeliveryRequested
                | DispatchRequested
                | DeliveryCancelRequested
                | StockCommitRequested
                | StockReleaseRequested
                | ReturnRefundRequested
                | ReturnRestockRequested
        )
    }
}

/// Where an order is within the saga (finer than [`OrderStatus`]: `PAID` spans three steps).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Step {
    /// Committed by checkout; `order.placed` not yet handled.
    Placed,
    AwaitPayment,
    AwaitBooking,
    AwaitStock,
    AwaitDispatch,
    InTransit,
    /// Delivered, failed or cancelled: only late replies still cause (compensating) work.
    Done,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Placed => "PLACED",
            Step::AwaitPayment => "AWAIT_PAYMENT",
            Step::AwaitBooking => "AWAIT_BOOKING",
            Step::AwaitStock => "AWAIT_STOCK",
            Step::AwaitDispatch => "AWAIT_DISPATCH",
            Step::InTransit => "IN_TRANSIT",
            Step::Done => "DONE",
        }
    }

    /// Every step, in saga order.
    pub const ALL: [Step; 7] = [
        Step::Placed,
        Step::AwaitPayment,
        Step::AwaitBooking,
        Step::AwaitStock,
        Step::AwaitDispatch,
        Step::InTransit,
        Step::Done,
    ];

    pub fn parse(s: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// The command that (re)starts this step, for the reconciler. `None` where nothing is
    /// waiting on another worker (in transit: the delivery tracker polls the carrier itself).
    pub fn command(self) -> Option<EventKind> {
        match self {
            Step::Placed | Step::AwaitPayment => Some(EventKind::PaymentRequested),
            Step::AwaitBooking => Some(EventKind::DeliveryRequested),
            Step::AwaitStock => Some(EventKind::StockCommitRequested),
            Step::AwaitDispatch => Some(EventKind::DispatchRequested),
            Step::InTransit | Step::Done => None,
        }
    }

    /// Whether an order stuck on this step may be failed (and compensated) for good. Not
    /// once the parcel may have been handed over: from `AWAIT_DISPATCH` on the goods may be
    /// on their way, and refunding them would give them away; such orders are re-driven
    /// until the carrier answers.
    pub fn may_give_up(self) -> bool {
        matches!(self, Step::Placed | Step::AwaitPayment | Step::AwaitBooking | Step::AwaitStock)
    }

    /// The step a re-driven order is in after its command is sent again.
    pub fn after_redrive(self) -> Step {
        match self {
            Step::Placed => Step::AwaitPayment,
            s => s,
        }
    }
}

/// An order's saga state as the orchestrator sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SagaState {
    pub status: OrderStatus,
    pub step: Step,
}

impl SagaState {
    /// Whether the buyer or the shop may still cancel: not yet shipped, *and* the saga has
    /// not reached the hand-over to the carrier. A `PAID` order whose stock is committed waits
    /// for dispatch, and the carrier may take the parcel at any moment; cancelling then would
    /// refund goods that are on their way (the rule is [`Step::may_give_up`]'s).
    pub fn may_cancel(self) -> bool {
        self.status.can_cancel() && self.step.may_give_up()
    }

    /// What the reconciler does for an order stuck on its step: an order already cancelled
    /// (its `order.cancelled` came late or was lost) is settled as the orders worker would
    /// have settled it, never driven forward or failed; any other order has its step's
    /// command sent again.
    pub fn unstick(self) -> Unstick {
        if self.status == OrderStatus::Cancelled && self.step != Step::Done {
            return Unstick::Settle(react(self, EventKind::OrderCancelled, None));
        }
        match self.step.command() {
            Some(command) => Unstick::Redrive(command),
            None => Unstick::Nothing,
        }
    }

    /// Why a cancel was refused, for the person who asked.
    pub fn too_late_to_cancel(self) -> String {
        if self.status.can_cancel() {
            "This order can't be cancelled any more: it is being handed to the carrier.".to_string()
        } else {
            format!("This order can't be cancelled any more: it is {}.", self.status.label().to_lowercase())
        }
    }
}

/// The reconciler's move for a stuck order ([`SagaState::unstick`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unstick {
    /// Send the step's command again.
    Redrive(EventKind),
    /// Apply this reaction (a cancel that was never settled).
    Settle(Reaction),
    /// Nothing is waiting on another worker.
    Nothing,
}

/// What the orchestrator does about one event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reaction {
    /// The new state, when it changes (applied only if the state is still the one read).
    pub next: Option<SagaState>,
    /// Why an order failed, shown to the buyer.
    pub failure_reason: Option<String>,
    /// A timeline entry for the buyer and the admin (kind, text).
    pub timeline: Option<(String, String)>,
    /// Commands to send, in this order.
    pub commands: Vec<EventKind>,
}

impl Reaction {
    fn ignore() -> Reaction {
        Reaction::default()
    }

    fn to(status: OrderStatus, step: Step, text: &str) -> Reaction {
        Reaction {
            next: Some(SagaState { status, step }),
            failure_reason: None,
            timeline: Some((status.as_str().to_string(), text.to_string())),
            commands: vec![],
        }
    }

    fn then(mut self, command: EventKind) -> Reaction {
        self.commands.push(command);
        self
    }

    fn note(kind: &str, text: &str) -> Reaction {
        Reaction { timeline: Some((kind.to_string(), text.to_string())), ..Reaction::default() }
    }

    fn fail(reason: String, compensate: &[EventKind]) -> Reaction {
        Reaction {
            next: Some(SagaState { status: OrderStatus::Failed, step: Step::Done }),
            timeline: Some(("FAILED".into(), reason.clone())),
            failure_reason: Some(reason),
            commands: compensate.to_vec(),
        }
    }

    pub fn is_noop(&self) -> bool {
        self.next.is_none() && self.timeline.is_none() && self.commands.is_empty()
    }
}

/// The orchestrator's rules. `reason` is the worker's explanation for failures.
pub fn react(state: SagaState, event: EventKind, reason: Option<&str>) -> Reaction {
    use EventKind::*;
    use OrderStatus as S;
    // Ended without being delivered: whatever a late reply did is undone. A delivered order
    // is not dead: it kept its payment, parcel and stock, and a late duplicate (the second
    // answer to a re-driven step) changes nothing.
    let dead = matches!(state.status, S::Failed | S::Cancelled);
    let why = |default: &str| reason.filter(|r| !r.is_empty()).unwrap_or(default).to_string();
    match (event, state.step) {
        (OrderPlaced, Step::Placed) if state.status == S::Pending => Reaction {
            next: Some(SagaState { status: S::Pending, step: Step::AwaitPayment }),
            ..Reaction::ignore()
        }
        .then(PaymentRequested),
        // The buyer (or an admin) cancelled before shipping: undo whatever may have happened.
        // Each worker knows whether there is anything to undo, so sending all three is safe.
        (OrderCancelled, step) if state.status == S::Cancelled && step != Step::Done => Reaction {
            next: Some(SagaState { status: S::Cancelled, step: Step::Done }),
            ..Reaction::ignore()
        }
        .then(RefundRequested)
        .then(DeliveryCancelRequested)
        .then(StockReleaseRequested),

        (PaymentCaptured, Step::AwaitPayment) if state.status == S::Pending => {
            Reaction::to(S::Paid, Step::AwaitBooking, "Payment captured; booking the delivery.")
                .then(DeliveryRequested)
        }
        // A capture that arrives after the order died is refunded.
        (PaymentCaptured, _) if dead => {
            Reaction::note("REFUND", "A late payment arrived after the order ended; refunding it.")
                .then(RefundRequested)
        }
        (PaymentDeclined, Step::AwaitPayment) if state.status == S::Pending => Reaction::fail(
            format!("Payment declined: {}", why("the card was declined")),
            &[StockReleaseRequested],
        ),

        (DeliveryBooked, Step::AwaitBooking) if state.status == S::Paid => {
            Reaction::note("BOOKED", "Delivery booked with the carrier; committing the stock.")
                .then(StockCommitRequested)
                .with_step(S::Paid, Step::AwaitStock)
        }
        (DeliveryBooked, _) if dead => {
            Reaction::note("DELIVERY_CANCEL", "A late booking arrived after the order ended; cancelling it.")
                .then(DeliveryCancelRequested)
        }
        (DeliveryFailed, Step::AwaitBooking) if state.status == S::Paid => Reaction::fail(
            format!("Delivery could not be booked: {}", why("the carrier refused the parcel")),
            &[RefundRequested, StockReleaseRequested],
        ),

        (StockCommitted, Step::AwaitStock) if state.status == S::Paid => {
            Reaction::note("PACKED", "Stock committed; handing the parcel to the carrier.")
                .then(DispatchRequested)
                .with_step(S::Paid, Step::AwaitDispatch)
        }
        (StockCommitted, _) if dead => {
            Reaction::note("STOCK_RETURN", "Stock committed after the order ended; returning it.")
                .then(StockReleaseRequested)
        }
        (StockShortfall, Step::AwaitStock) if state.status == S::Paid => Reaction::fail(
            format!("Out of stock: {}", why("not enough units left in the warehouse")),
            &[DeliveryCancelRequested, RefundRequested, StockReleaseRequested],
        ),

        (DeliveryInTransit, Step::AwaitDispatch) if state.status == S::Paid => {
            Reaction::to(S::Shipping, Step::InTransit, "Shipped: the parcel is on its way.")
        }
        (DeliveryDelivered, Step::InTransit) if state.status == S::Shipping => {
            Reaction::to(S::Delivered, Step::Done, "Delivered.")
        }

        // Confirmations of compensations: timeline only.
        (PaymentRefunded, _) => Reaction::note("REFUNDED", "The payment was refunded."),
        (DeliveryCancelled, _) => Reaction::note("DELIVERY_CANCELLED", "The delivery was cancelled."),
        (StockReleased, _) => Reaction::note("STOCK_RETURNED", "The stock was returned."),

        // Duplicates, stale replies, and commands (not the orchestrator's to handle).
        _ => Reaction::ignore(),
    }
}

impl Reaction {
    fn with_step(mut self, status: OrderStatus, step: Step) -> Reaction {
        self.next = Some(SagaState { status, step });
        self
    }
}

/// How a timeline entry's kind reads to a buyer.
pub fn timeline_label(kind: &str) -> String {
    if let Some(s) = OrderStatus::parse(kind) {
        return s.label().to_string();
    }
    match kind {
        "BOOKED" => "Delivery booked",
        "PACKED" => "Packed",
        "REFUND" | "REFUNDED" => "Refunded",
        "DELIVERY_CANCEL" | "DELIVERY_CANCELLED" => "Delivery cancelled",
        "STOCK_RETURN" | "STOCK_RETURNED" => "Stock returned",
        "REDRIVE" => "Retried",
        "RETURN_REQUESTED" => "Return requested",
        "RETURN_APPROVED" => "Return approved",
        "RETURN_REFUSED" => "Return refused",
        "RETURN_REFUNDED" => "Return refunded",
        "RETURN_RESTOCKED" => "Returned to stock",
        other => other,
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use EventKind::*;
    use OrderStatus as S;

    #[test]
    fn orders_are_never_given_up_once_the_parcel_may_have_left() {
        let may: Vec<&str> = Step::ALL.into_iter().filter(|s| s.may_give_up()).map(Step::as_str).collect();
        assert_eq!(may, ["PLACED", "AWAIT_PAYMENT", "AWAIT_BOOKING", "AWAIT_STOCK"]);
    }

    #[test]
    fn a_stuck_cancelled_order_is_settled_not_driven_forward() {
        match at(S::Cancelled, Step::AwaitPayment).unstick() {
            Unstick::Settle(r) => {
                assert_eq!(r.next, Some(at(S::Cancelled, Step::Done)));
                assert!(r.commands.contains(&EventKind::RefundRequested));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            at(S::Pending, Step::AwaitPayment).unstick(),
            Unstick::Redrive(EventKind::PaymentRequested)
        );
        assert_eq!(at(S::Shipping, Step::InTransit).unstick(), Unstick::Nothing);
    }

    #[test]
    fn cancelling_stops_at_the_hand_over() {
        assert!(at(S::Pending, Step::Placed).may_cancel());
        assert!(at(S::Paid, Step::AwaitBooking).may_cancel());
        assert!(at(S::Paid, Step::AwaitStock).may_cancel());
        assert!(!at(S::Paid, Step::AwaitDispatch).may_cancel(), "the carrier may be taking it");
        assert!(!at(S::Paid, Step::InTransit).may_cancel());
        assert!(!at(S::Shipping, Step::InTransit).may_cancel());
        assert!(at(S::Paid, Step::AwaitDispatch).too_late_to_cancel().contains("carrier"));
        assert!(at(S::Delivered, Step::Done).too_late_to_cancel().contains("delivered"));
    }

    fn at(status: OrderStatus, step: Step) -> SagaState {
        SagaState { status, step }
    }

    /// Runs the happy path through the rules, feeding each command's reply.
    #[test]
    fn the_happy_path_goes_placed_paid_shipping_delivered() {
        let mut state = at(S::Pending, Step::Placed);
        let mut sent = vec![];
        for reply in [
            OrderPlaced,
            PaymentCaptured,
            DeliveryBooked,
            StockCommitted,
            DeliveryInTransit,
            DeliveryDelivered,
        ] {
            let r = react(state, reply, None);
            sent.extend(r.commands.clone());
            state = r.next.expect("every step moves on");
        }
        assert_eq!(state, at(S::Delivered, Step::Done));
        assert_eq!(sent, vec![PaymentRequested, DeliveryRequested, StockCommitRequested, DispatchRequested]);
    }

    #[test]
    fn every_failure_compensates_what_came_before_it() {
        let r = react(at(S::Pending, Step::AwaitPayment), PaymentDeclined, Some("insufficient funds"));
        assert_eq!(r.next, Some(at(S::Failed, Step::Done)));
        assert_eq!(r.failure_reason.as_deref(), Some("Payment declined: insufficient funds"));
        assert_eq!(r.commands, vec![StockReleaseRequested], "nothing was charged");

        let r = react(at(S::Paid, Step::AwaitBooking), DeliveryFailed, None);
        assert_eq!(r.commands, vec![RefundRequested, StockReleaseRequested]);

        let r = react(at(S::Paid, Step::AwaitStock), StockShortfall, None);
        assert_eq!(r.commands, vec![DeliveryCancelRequested, RefundRequested, StockReleaseRequested]);
    }

    #[test]
    fn duplicates_and_stale_replies_change_nothing() {
        // Every (state, event) pair, applied to the state it produces, must be a no-op the
        // second time: that is what makes redelivery harmless.
        let states = [
            at(S::Pending, Step::Placed),
            at(S::Pending, Step::AwaitPayment),
            at(S::Paid, Step::AwaitBooking),
            at(S::Paid, Step::AwaitStock),
            at(S::Paid, Step::AwaitDispatch),
            at(S::Shipping, Step::InTransit),
            at(S::Delivered, Step::Done),
            at(S::Failed, Step::Done),
            at(S::Cancelled, Step::Done),
        ];
        for &s in &states {
            for &e in EventKind::ALL {
                let first = react(s, e, None);
                if let Some(next) = first.next {
                    assert!(
                        s.status == next.status || s.status.can_become(next.status),
                        "{s:?} -{e:?}-> {next:?}"
                    );
                    let again = react(next, e, None);
                    assert!(again.next.is_none(), "{e:?} twice moved {s:?} twice");
                    assert!(
                        again.commands.iter().all(|c| first.commands.contains(c)
                            || *c == RefundRequested
                            || *c == DeliveryCancelRequested
                            || *c == StockReleaseRequested),
                        "{e:?} twice sent new forward commands"
                    );
                }
            }
        }
    }

    #[test]
    fn late_replies_on_a_dead_order_are_undone() {
        let dead = at(S::Cancelled, Step::Done);
        assert_eq!(react(dead, PaymentCaptured, None).commands, vec![RefundRequested]);
        assert_eq!(react(dead, DeliveryBooked, None).commands, vec![DeliveryCancelRequested]);
        assert_eq!(react(dead, StockCommitted, None).commands, vec![StockReleaseRequested]);
        assert!(react(dead, PaymentDeclined, None).is_noop());
        assert!(react(at(S::Delivered, Step::Done), DeliveryDelivered, None).is_noop());
    }

    /// A re-driven step answers twice; with the broker down the second answer can arrive
    /// after the parcel did. A delivered order kept its payment, parcel and stock: a late
    /// duplicate must not refund it, cancel its delivery or put its units back.
    #[test]
    fn late_duplicates_on_a_delivered_order_change_nothing() {
        let delivered = at(S::Delivered, Step::Done);
        for &e in EventKind::ALL.iter().filter(|e| !e.is_command()) {
            let r = react(delivered, e, None);
            assert!(r.next.is_none() && r.commands.is_empty(), "{e:?} on a delivered order: {r:?}");
        }
    }

    #[test]
    fn a_cancel_undoes_everything_once() {
        let r = react(at(S::Cancelled, Step::AwaitStock), OrderCancelled, None);
        assert_eq!(r.next, Some(at(S::Cancelled, Step::Done)));
        assert_eq!(r.commands, vec![RefundRequested, DeliveryCancelRequested, StockReleaseRequested]);
        assert!(react(at(S::Cancelled, Step::Done), OrderCancelled, None).is_noop());
    }

    #[test]
    fn kinds_and_topics_are_stable() {
        for &k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
            assert!(topic::ALL.contains(&k.topic()));
        }
        let e =
            Envelope::new("x".into(), OrderPlaced, 3, Timestamp::from_millis(5), serde_json::json!({"a": 1}));
        assert_eq!(Envelope::parse(&e.to_json()).unwrap(), e);
        assert!(Envelope::parse("{}").is_err());
    }
}
