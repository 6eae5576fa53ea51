//! Returns after delivery: who may return what and when, what a request must say, and the
//! states a return goes through. Plain rules; the store applies them in its transactions and
//! the saga's workers carry out an approved return (the refund, the units back in stock).

use crate::{Money, OrderStatus, Timestamp};
use serde::{Deserialize, Serialize};

/// Days after delivery a return may be requested when `SHOP_RETURN_DAYS` is not set.
pub const DEFAULT_DAYS: i64 = 14;
/// The longest reason a buyer may give.
pub const REASON_MAX_CHARS: usize = 500;

/// Where a return is. `Requested` → `Approved` → `Refunded` (the payment worker's refund),
/// or `Requested` → `Refused` (staff, with a note). The units go back into stock once,
/// independently of the refund (`restocked_at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReturnStatus {
    Requested,
    Approved,
    Refunded,
    Refused,
}

impl ReturnStatus {
    pub const ALL: [ReturnStatus; 4] =
        [ReturnStatus::Requested, ReturnStatus::Approved, ReturnStatus::Refunded, ReturnStatus::Refused];

    pub fn as_str(self) -> &'static str {
        match self {
            ReturnStatus::Requested => "REQUESTED",
            ReturnStatus::Approved => "APPROVED",
            ReturnStatus::Refunded => "REFUNDED",
            ReturnStatus::Refused => "REFUSED",
        }
    }

    pub fn parse(s: &str) -> Option<ReturnStatus> {
        ReturnStatus::ALL.into_iter().find(|v| v.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            ReturnStatus::Requested => "Return requested",
            ReturnStatus::Approved => "Return approved",
            ReturnStatus::Refunded => "Refunded",
            ReturnStatus::Refused => "Return refused",
        }
    }
}

/// How long after delivery a buyer may ask for a return (`SHOP_RETURN_DAYS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnPolicy {
    pub days: i64,
}

impl Default for ReturnPolicy {
    fn default() -> Self {
        ReturnPolicy { days: DEFAULT_DAYS }
    }
}

/// Why a return may not be requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnRefusal {
    /// Only delivered orders come back (a cancelled or failed one was never kept).
    NotDelivered(OrderStatus),
    /// The window closed at this instant.
    WindowClosed(Timestamp),
    /// One return per order: this one exists already.
    AlreadyRequested(ReturnStatus),
}

impl ReturnRefusal {
    pub fn message(self) -> String {
        match self {
            ReturnRefusal::NotDelivered(s) => format!(
                "Only a delivered order can be returned; this one is {}.",
                s.label().to_lowercase()
            ),
            ReturnRefusal::WindowClosed(at) => {
                format!("The return window for this order closed on {}.", at.utc_string())
            }
            ReturnRefusal::AlreadyRequested(s) => {
                format!("A return was already requested for this order ({}).", s.label().to_lowercase())
            }
        }
    }
}

impl ReturnPolicy {
    /// The last instant a return may be requested for an order delivered at `delivered_at`.
    pub fn deadline(self, delivered_at: Timestamp) -> Timestamp {
        delivered_at.plus_secs(self.days * 86_400)
    }

    /// Whether the buyer may request a return now: delivered, within the window, and no return
    /// yet. `Ok(deadline)` when they may.
    pub fn check(
        self,
        status: OrderStatus,
        delivered_at: Option<Timestamp>,
        existing: Option<ReturnStatus>,
        now: Timestamp,
    ) -> Result<Timestamp, ReturnRefusal> {
        if let Some(s) = existing {
            return Err(ReturnRefusal::AlreadyRequested(s));
        }
        let delivered_at = match (status, delivered_at) {
            (OrderStatus::Delivered, Some(at)) => at,
            _ => return Err(ReturnRefusal::NotDelivered(status)),
        };
        let deadline = self.deadline(delivered_at);
        if now >= deadline {
            return Err(ReturnRefusal::WindowClosed(deadline));
        }
        Ok(deadline)
    }
}

/// A line of the order as a return request may name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Returnable {
    pub line_id: i64,
    pub quantity: i64,
    pub unit_price: Money,
}

/// A valid request: `(line id, units)` with at least one unit, and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnRequest {
    pub lines: Vec<(i64, i64)>,
    pub reason: String,
}

impl ReturnRequest {
    /// Checks a form against the order's lines: `quantities` maps a line id (as the form names
    /// it) to the units to send back (empty or `0`: none of that line). An error names the
    /// field (`qty` or `reason`) and what is wrong with it, for the buyer.
    pub fn parse(
        lines: &[Returnable],
        quantities: &[(String, String)],
        reason: &str,
    ) -> Result<ReturnRequest, (&'static str, String)> {
        let qty = |m: String| ("qty", m);
        let mut chosen = Vec::new();
        for (key, value) in quantities {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            let line = key
                .trim()
                .parse::<i64>()
                .ok()
                .and_then(|id| lines.iter().find(|l| l.line_id == id))
                .ok_or_else(|| qty("That item is not part of this order.".to_string()))?;
            let units: i64 = value.parse().map_err(|_| qty("Choose how many of each item to return.".to_string()))?;
            if units < 0 || units > line.quantity {
                return Err(qty(format!("You can return from 0 to {} of that item.", line.quantity)));
            }
            if units > 0 && !chosen.iter().any(|(id, _)| *id == line.line_id) {
                chosen.push((line.line_id, units));
            }
        }
        if chosen.is_empty() {
            return Err(qty("Choose at least one item to return.".into()));
        }
        let reason = reason.split_whitespace().collect::<Vec<_>>().join(" ");
        if reason.is_empty() {
            return Err(("reason", "Tell us why you are returning it.".into()));
        }
        if reason.chars().count() > REASON_MAX_CHARS {
            return Err(("reason", format!("The reason is too long (at most {REASON_MAX_CHARS} characters).")));
        }
        chosen.sort_unstable();
        Ok(ReturnRequest { lines: chosen, reason })
    }

    /// What the buyer gets back: the returned units at the prices paid.
    pub fn amount(&self, lines: &[Returnable]) -> Money {
        Money::from_minor(
            self.lines
                .iter()
                .filter_map(|(id, units)| lines.iter().find(|l| l.line_id == *id).map(|l| l.unit_price.minor() * units))
                .sum(),
        )
    }
}

/// Staff's note when refusing: required, so the buyer learns why.
pub fn parse_refusal_note(note: &str) -> Result<String, String> {
    let note = note.split_whitespace().collect::<Vec<_>>().join(" ");
    if note.is_empty() {
        return Err("Say why the return is refused (the buyer is told).".into());
    }
    if note.chars().count() > REASON_MAX_CHARS {
        return Err(format!("The note is too long (at most {REASON_MAX_CHARS} characters)."));
    }
    Ok(note)
}

/// One returned line, as the order pages show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnLine {
    pub product_id: i64,
    pub name: String,
    pub quantity: i64,
}

/// A return, as the buyer's and the staff's order pages show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnInfo {
    pub id: i64,
    pub order_id: i64,
    pub status: ReturnStatus,
    pub reason: String,
    /// What is (or was) refunded.
    pub amount: Money,
    /// Why staff refused it.
    pub staff_note: Option<String>,
    pub lines: Vec<ReturnLine>,
    pub requested_at: Timestamp,
    pub decided_at: Option<Timestamp>,
    pub refunded_at: Option<Timestamp>,
    pub restocked_at: Option<Timestamp>,
}

/// A row of the staff's returns queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnRow {
    pub id: i64,
    pub order_id: i64,
    pub status: ReturnStatus,
    pub buyer: String,
    pub reason: String,
    pub amount: Money,
    pub units: i64,
    pub requested_at: Timestamp,
    pub restocked: bool,
}

/// `/admin/returns?status=&page=`, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ReturnFilter {
    pub status: Option<ReturnStatus>,
    pub page: u32,
}

impl ReturnFilter {
    pub fn parse(status: Option<&str>, page: Option<&str>) -> Result<ReturnFilter, String> {
        let status = match status.map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(ReturnStatus::parse(&s.to_uppercase()).ok_or_else(|| {
                "Unknown status; choose REQUESTED, APPROVED, REFUNDED or REFUSED.".to_string()
            })?),
        };
        let page = crate::admin::product::parse_page(page).map_err(|e| e.to_string())?;
        Ok(ReturnFilter { status, page })
    }

    pub fn url_for_page(&self, page: u32) -> String {
        match self.status {
            Some(s) => format!("/admin/returns?status={}&page={page}", s.as_str()),
            None => format!("/admin/returns?page={page}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    fn lines() -> Vec<Returnable> {
        vec![
            Returnable { line_id: 7, quantity: 2, unit_price: Money::from_minor(1000) },
            Returnable { line_id: 9, quantity: 1, unit_price: Money::from_minor(250) },
        ]
    }

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn only_a_delivered_order_within_the_window_without_a_return_may_be_returned() {
        let policy = ReturnPolicy { days: 14 };
        let delivered = Timestamp::from_millis(10 * DAY);
        let now = Timestamp::from_millis(12 * DAY);
        assert_eq!(
            policy.check(OrderStatus::Delivered, Some(delivered), None, now),
            Ok(Timestamp::from_millis(24 * DAY))
        );
        let late = Timestamp::from_millis(24 * DAY);
        assert_eq!(
            policy.check(OrderStatus::Delivered, Some(delivered), None, late),
            Err(ReturnRefusal::WindowClosed(Timestamp::from_millis(24 * DAY)))
        );
        for s in [OrderStatus::Cancelled, OrderStatus::Failed, OrderStatus::Shipping, OrderStatus::Paid] {
            let refused = policy.check(s, None, None, now).unwrap_err();
            assert_eq!(refused, ReturnRefusal::NotDelivered(s));
            assert!(refused.message().contains(&s.label().to_lowercase()));
        }
        assert_eq!(
            policy.check(OrderStatus::Delivered, Some(delivered), Some(ReturnStatus::Refused), now),
            Err(ReturnRefusal::AlreadyRequested(ReturnStatus::Refused))
        );
        // A zero-day window: nothing can be returned.
        assert!(ReturnPolicy { days: 0 }.check(OrderStatus::Delivered, Some(delivered), None, delivered).is_err());
    }

    #[test]
    fn a_request_names_real_lines_within_their_quantities_and_a_reason() {
        let l = lines();
        let r = ReturnRequest::parse(&l, &q(&[("7", "1"), ("9", "0")]), "  too   small ").unwrap();
        assert_eq!(r.lines, vec![(7, 1)]);
        assert_eq!(r.reason, "too small");
        assert_eq!(r.amount(&l), Money::from_minor(1000));
        let all = ReturnRequest::parse(&l, &q(&[("9", "1"), ("7", "2")]), "broken").unwrap();
        assert_eq!(all.lines, vec![(7, 2), (9, 1)]);
        assert_eq!(all.amount(&l), Money::from_minor(2250));

        let err = |pairs: &[(&str, &str)], reason: &str| ReturnRequest::parse(&l, &q(pairs), reason).unwrap_err();
        assert!(err(&[("7", "3")], "x").1.contains("from 0 to 2"));
        assert_eq!(err(&[("7", "-1")], "x").0, "qty");
        assert!(err(&[("8", "1")], "x").1.contains("not part"));
        assert_eq!(err(&[("7", "one")], "x").0, "qty");
        assert!(err(&[("7", "0")], "x").1.contains("at least one"));
        assert_eq!(err(&[("7", "1")], "   "), ("reason", "Tell us why you are returning it.".to_string()));
        assert!(err(&[("7", "1")], &"a".repeat(501)).1.contains("too long"));
    }

    #[test]
    fn a_refusal_says_why_and_filters_parse() {
        assert!(parse_refusal_note(" ").is_err());
        assert_eq!(parse_refusal_note(" worn  out ").unwrap(), "worn out");
        assert_eq!(ReturnFilter::parse(Some("requested"), None).unwrap().status, Some(ReturnStatus::Requested));
        assert!(ReturnFilter::parse(Some("lost"), None).is_err());
        for s in ReturnStatus::ALL {
            assert_eq!(ReturnStatus::parse(s.as_str()), Some(s));
        }
    }
}
