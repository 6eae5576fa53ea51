//! Orders as staff see them: filters for the list, the full saga record of one order, and
//! dead-lettered events.

use super::input::{date_value, parse_date};
use super::product::{parse_page, with_query};
use crate::catalog::url_encode;
use crate::{Money, OrderLine, OrderStatus, Timestamp};
use serde::{Deserialize, Serialize};

/// `/admin/orders?status=&from=&to=&buyer=&page=`, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    /// Placed at or after the start of this UTC day.
    pub from: Option<Timestamp>,
    /// Placed before the end of this UTC day.
    pub to: Option<Timestamp>,
    /// Part of the buyer's email, username or name; or `#id`.
    pub buyer: Option<String>,
    pub page: u32,
}

impl OrderFilter {
    /// Empty values mean "any". Errors are for a 400 page.
    pub fn parse(
        status: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        buyer: Option<&str>,
        page: Option<&str>,
    ) -> Result<OrderFilter, String> {
        let given = |v: Option<&str>| v.map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        let status = match given(status) {
            None => None,
            Some(s) => Some(OrderStatus::parse(&s.to_uppercase()).ok_or_else(|| {
                "Unknown status; choose PENDING, PAID, SHIPPING, DELIVERED, FAILED or CANCELLED.".to_string()
            })?),
        };
        let from = given(from).map(|d| parse_date(&d, "the first day")).transpose()?;
        let to = given(to).map(|d| parse_date(&d, "the last day")).transpose()?;
        if let (Some(f), Some(t)) = (from, to) {
            if t < f {
                return Err("The last day is before the first day.".into());
            }
        }
        let buyer = given(buyer).map(|b| b.split_whitespace().collect::<Vec<_>>().join(" "));
        if buyer.as_ref().is_some_and(|b| b.chars().count() > 80) {
            return Err("The buyer search is too long (at most 80 characters).".into());
        }
        let page = parse_page(page).map_err(|e| e.to_string())?;
        Ok(OrderFilter { status, from, to, buyer, page })
    }

    /// The exclusive upper bound of `to` (the next midnight).
    pub fn before(&self) -> Option<Timestamp> {
        self.to.map(|t| t.plus_secs(86_400))
    }

    /// `#12` or `12` in the buyer box: a user id.
    pub fn buyer_id(&self) -> Option<i64> {
        self.buyer.as_deref().map(|b| b.trim_start_matches('#')).and_then(|b| b.parse().ok())
    }

    pub fn url_for_page(&self, page: u32) -> String {
        let mut parts = Vec::new();
        if let Some(s) = self.status {
            parts.push(format!("status={}", s.as_str()));
        }
        if let Some(f) = self.from {
            parts.push(format!("from={}", date_value(f)));
        }
        if let Some(t) = self.to {
            parts.push(format!("to={}", date_value(t)));
        }
        if let Some(b) = &self.buyer {
            parts.push(format!("buyer={}", url_encode(b)));
        }
        if page > 1 {
            parts.push(format!("page={page}"));
        }
        with_query("/admin/orders", &parts)
    }
}

/// An order row in the admin list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminOrderRow {
    pub id: i64,
    pub status: OrderStatus,
    pub total: Money,
    pub created_at: Timestamp,
    pub buyer_id: i64,
    pub buyer_email: String,
    pub first_item: String,
    pub item_count: i64,
}

/// One step of an order's saga, with the event that caused it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SagaEvent {
    pub kind: String,
    pub detail: String,
    /// The JSON event as recorded.
    pub payload: Option<String>,
    pub at: Timestamp,
}

/// An event this order published (or will publish) through the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub event_id: String,
    pub event_type: String,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
    pub attempts: i64,
    pub last_error: Option<String>,
}

/// The payment or delivery record of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    pub status: String,
    /// Provider or carrier reference.
    pub reference: Option<String>,
    pub last_error: Option<String>,
    pub updated_at: Timestamp,
}

/// Everything staff need to understand (and act on) one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminOrderDetail {
    pub id: i64,
    pub status: OrderStatus,
    pub failure_reason: Option<String>,
    pub total: Money,
    pub sale_id: Option<i64>,
    pub buyer_id: i64,
    pub buyer_email: String,
    pub buyer_name: String,
    pub ship_to: String,
    pub payment_label: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Whether it may still be cancelled ([`crate::saga::SagaState::may_cancel`]).
    pub cancellable: bool,
    pub lines: Vec<OrderLine>,
    pub payment: Option<StepRecord>,
    pub delivery: Option<StepRecord>,
    pub timeline: Vec<SagaEvent>,
    pub outbox: Vec<OutboxEntry>,
    pub dead_letters: Vec<DeadLetter>,
    /// Its return, once the buyer asked for one.
    pub return_info: Option<crate::returns::ReturnInfo>,
}

/// An event a consumer gave up on, kept with the error for an operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub id: i64,
    pub topic: String,
    pub msg_key: String,
    /// The full JSON envelope as it was published.
    pub payload: String,
    pub error: String,
    pub failed_at: Timestamp,
    pub replayed_at: Option<Timestamp>,
}

impl DeadLetter {
    /// The order it concerns, when the key is an order id.
    pub fn order_id(&self) -> Option<i64> {
        self.msg_key.parse().ok()
    }
}

/// The outcome of replaying a dead letter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Replay {
    /// Queued again through the outbox under this event id.
    Replayed {
        event_id: String,
    },
    /// Someone replayed it already, at this time.
    AlreadyReplayed(Timestamp),
    /// Its payload is not an event envelope (no `type` / `event_id`).
    NotAnEvent,
    NotFound,
}

/// The event id a replay is published under: unique per dead letter, so the outbox takes it
/// once, and consumers (which de-duplicate by envelope id) still see the original envelope.
pub fn replay_event_id(original: &str, dead_letter_id: i64) -> String {
    format!("{original}#replay{dead_letter_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_and_link_back() {
        let f = OrderFilter::parse(
            Some("paid"),
            Some("2026-11-01"),
            Some("2026-11-02"),
            Some(" ann "),
            Some("2"),
        )
        .unwrap();
        assert_eq!(f.status, Some(OrderStatus::Paid));
        assert_eq!(f.before().unwrap().utc_string(), "2026-11-03 00:00 UTC");
        assert_eq!(f.url_for_page(1), "/admin/orders?status=PAID&from=2026-11-01&to=2026-11-02&buyer=ann");
        assert_eq!(OrderFilter::parse(None, None, None, Some("#7"), None).unwrap().buyer_id(), Some(7));
        assert_eq!(
            OrderFilter::parse(None, None, None, None, None).unwrap().url_for_page(1),
            "/admin/orders"
        );
    }

    #[test]
    fn bad_filters_say_what_is_wrong() {
        assert!(OrderFilter::parse(Some("lost"), None, None, None, None)
            .unwrap_err()
            .contains("Unknown status"));
        assert!(OrderFilter::parse(None, Some("yesterday"), None, None, None).is_err());
        assert_eq!(
            OrderFilter::parse(None, Some("2026-11-02"), Some("2026-11-01"), None, None),
            Err("The last day is before the first day.".into())
        );
        assert!(OrderFilter::parse(None, None, None, None, Some("0")).is_err());
    }

    #[test]
    fn replays_get_their_own_event_id() {
        assert_eq!(replay_event_id("order.placed:7", 3), "order.placed:7#replay3");
    }
}
