//! Orders: their states, the saga's allowed moves, and what a buyer is told at checkout.

use crate::gate::Decision;
use crate::{Money, Timestamp};
use serde::{Deserialize, Serialize};
use std::fmt;

/// An order's state. Orders start `Pending` and are never "completed" before they are paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OrderStatus {
    Pending,
    Paid,
    Shipping,
    Delivered,
    Failed,
    Cancelled,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "PENDING",
            OrderStatus::Paid => "PAID",
            OrderStatus::Shipping => "SHIPPING",
            OrderStatus::Delivered => "DELIVERED",
            OrderStatus::Failed => "FAILED",
            OrderStatus::Cancelled => "CANCELLED",
        }
    }

    pub fn parse(s: &str) -> Option<OrderStatus> {
        [Self::Pending, Self::Paid, Self::Shipping, Self::Delivered, Self::Failed, Self::Cancelled]
            .into_iter()
            .find(|v| v.as_str() == s)
    }

    /// A shopper may cancel until the parcel ships.
    pub fn can_cancel(self) -> bool {
        matches!(self, OrderStatus::Pending | OrderStatus::Paid)
    }

    pub fn is_final(self) -> bool {
        matches!(self, OrderStatus::Delivered | OrderStatus::Failed | OrderStatus::Cancelled)
    }

    /// The saga's forward moves and the two ways out.
    pub fn can_become(self, next: OrderStatus) -> bool {
        use OrderStatus::*;
        matches!(
            (self, next),
            (Pending, Paid)
                | (Paid, Shipping)
                | (Shipping, Delivered)
                | (Pending | Paid | Shipping, Failed)
                | (Pending | Paid, Cancelled)
        )
    }

    pub fn label(self) -> &'static str {
        match self {
            OrderStatus::Pending => "Placed",
            OrderStatus::Paid => "Paid",
            OrderStatus::Shipping => "Shipped",
            OrderStatus::Delivered => "Delivered",
            OrderStatus::Failed => "Failed",
            OrderStatus::Cancelled => "Cancelled",
        }
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Why a purchase was refused, in the buyer's words, with the HTTP status the API answers.
pub fn refusal(decision: Decision) -> Option<(u16, String)> {
    Some(match decision {
        Decision::Reserved { .. } | Decision::Duplicate => return None,
        Decision::NotStarted { starts_at } => {
            (409, format!("This sale hasn't started yet. It opens {}.", starts_at.utc_string()))
        }
        Decision::Ended => (409, "This sale has ended.".to_string()),
        Decision::SoldOut => (409, "Sold out: every unit has been taken.".to_string()),
        Decision::OverLimit { limit, held } => (
            409,
            if held > 0 {
                format!("Over your limit: at most {limit} per buyer, and you already have {held}.")
            } else {
                format!("Over your limit: at most {limit} per buyer.")
            },
        ),
        Decision::Unknown => (503, "This item can't be bought right now. Please try again.".to_string()),
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    /// The line's own id (a return names the lines it sends back).
    pub line_id: i64,
    pub product_id: i64,
    pub name: String,
    pub quantity: i64,
    pub unit_price: Money,
}

/// One entry of an order's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderEvent {
    pub kind: String,
    pub detail: String,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderSummary {
    pub id: i64,
    pub status: OrderStatus,
    pub total: Money,
    pub created_at: Timestamp,
    pub first_item: String,
    pub item_count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderDetail {
    pub id: i64,
    pub status: OrderStatus,
    pub failure_reason: Option<String>,
    pub total: Money,
    pub sale_id: Option<i64>,
    pub ship_to: String,
    pub payment_label: String,
    pub created_at: Timestamp,
    pub lines: Vec<OrderLine>,
    pub events: Vec<OrderEvent>,
    /// Whether it may still be cancelled ([`crate::saga::SagaState::may_cancel`]).
    pub cancellable: bool,
    pub delivered_at: Option<Timestamp>,
    /// Its return, once one was requested.
    pub return_info: Option<crate::returns::ReturnInfo>,
    /// Until when the buyer may still ask for a return (`None`: they may not, or not any more).
    pub return_until: Option<Timestamp>,
}

/// How far an order has come, as its page shows it: the status, how many timeline entries it
/// has, and whether the buyer may still cancel. Its [`version`](Self::version) is what the live
/// order page compares: the page is rendered again only when the version moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderProgress {
    pub status: OrderStatus,
    pub steps: usize,
    pub cancellable: bool,
}

impl OrderProgress {
    pub fn of(order: &OrderDetail) -> OrderProgress {
        OrderProgress { status: order.status, steps: order.events.len(), cancellable: order.cancellable }
    }

    /// `PAID:3:1`: status, timeline entries, cancellable.
    pub fn version(&self) -> String {
        format!("{}:{}:{}", self.status.as_str(), self.steps, u8::from(self.cancellable))
    }

    /// Whether the order behind a [`version`](Self::version) has settled (nothing more will
    /// happen to it): the live page stops following it.
    pub fn settled(version: &str) -> bool {
        version.split(':').next().and_then(OrderStatus::parse).is_some_and(OrderStatus::is_final)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_progress_version_says_when_the_order_settled() {
        let p = OrderProgress { status: OrderStatus::Paid, steps: 3, cancellable: true };
        assert_eq!(p.version(), "PAID:3:1");
        assert!(!OrderProgress::settled(&p.version()));
        let done = OrderProgress { status: OrderStatus::Delivered, steps: 6, cancellable: false };
        assert_eq!(done.version(), "DELIVERED:6:0");
        assert!(OrderProgress::settled(&done.version()));
        assert!(!OrderProgress::settled("nonsense"));
    }

    #[test]
    fn saga_moves_forward_or_out_only() {
        use OrderStatus::*;
        assert!(Pending.can_become(Paid));
        assert!(!Pending.can_become(Delivered), "never completed before paid");
        assert!(Shipping.can_become(Failed));
        assert!(!Shipping.can_become(Cancelled), "too late to cancel once shipped");
        assert!(!Delivered.can_become(Failed));
        assert!(Paid.can_cancel() && !Shipping.can_cancel());
        for s in [Pending, Paid, Shipping, Delivered, Failed, Cancelled] {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn refusals_read_like_a_shop() {
        assert_eq!(refusal(Decision::Reserved { remaining: 3 }), None);
        assert_eq!(refusal(Decision::SoldOut).unwrap().1, "Sold out: every unit has been taken.");
        assert!(refusal(Decision::OverLimit { limit: 1, held: 1 }).unwrap().1.contains("already have 1"));
    }
}
