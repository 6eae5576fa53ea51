//! Flash sales: a limited quantity of one product at a sale price, inside a time window.

use crate::{Money, Timestamp};
use serde::{Deserialize, Serialize};
use std::fmt;

/// When a sale runs: `[starts_at, ends_at)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleWindow {
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaleWindowError {
    #[error("A sale must end after it starts.")]
    EndsBeforeStart,
}

impl SaleWindow {
    pub fn new(starts_at: Timestamp, ends_at: Timestamp) -> Result<Self, SaleWindowError> {
        if ends_at <= starts_at {
            return Err(SaleWindowError::EndsBeforeStart);
        }
        Ok(SaleWindow { starts_at, ends_at })
    }

    pub fn contains(&self, now: Timestamp) -> bool {
        self.starts_at <= now && now < self.ends_at
    }
}

/// Where a sale stands, as a shopper sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SaleStatus {
    Upcoming,
    Live,
    SoldOut,
    Ended,
}

impl SaleStatus {
    /// Sold out wins over ended: "it sold out" is the more useful thing to say.
    pub fn at(window: SaleWindow, remaining: i64, now: Timestamp) -> SaleStatus {
        if now < window.starts_at {
            SaleStatus::Upcoming
        } else if remaining <= 0 {
            SaleStatus::SoldOut
        } else if now >= window.ends_at {
            SaleStatus::Ended
        } else {
            SaleStatus::Live
        }
    }

    pub fn css_class(self) -> &'static str {
        match self {
            SaleStatus::Upcoming => "badge badge-upcoming",
            SaleStatus::Live => "badge badge-live",
            SaleStatus::SoldOut => "badge badge-soldout",
            SaleStatus::Ended => "badge badge-ended",
        }
    }
}

impl fmt::Display for SaleStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SaleStatus::Upcoming => "Upcoming",
            SaleStatus::Live => "Live",
            SaleStatus::SoldOut => "Sold out",
            SaleStatus::Ended => "Ended",
        })
    }
}

/// A sale as a card (home page, product page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleSummary {
    pub id: i64,
    pub title: String,
    pub product_id: i64,
    pub product_name: String,
    pub image_url: String,
    pub regular_price: Money,
    pub sale_price: Money,
    pub quantity: i64,
    pub sold: i64,
    pub per_buyer_limit: i64,
    pub window: SaleWindow,
    pub status: SaleStatus,
    /// The server's clock when this was read, so pages compute countdowns consistently.
    pub as_of: Timestamp,
}

impl SaleSummary {
    pub fn remaining(&self) -> i64 {
        (self.quantity - self.sold).max(0)
    }

    /// The same sale as seen at `now` (a cached read is re-dated, so the status and the
    /// countdown are never older than the request).
    pub fn seen_at(mut self, now: Timestamp) -> SaleSummary {
        self.as_of = now;
        self.status = SaleStatus::at(self.window, self.remaining(), now);
        self
    }

    /// Uses the stock gate's live count (it moves before the database's sold count does).
    pub fn with_remaining(mut self, remaining: i64) -> SaleSummary {
        self.sold = (self.quantity - remaining).clamp(0, self.quantity);
        self.status = SaleStatus::at(self.window, self.remaining(), self.as_of);
        self
    }

    /// Share sold, 0..=100, for a progress bar.
    pub fn percent_sold(&self) -> u8 {
        percent_sold(self.quantity, self.remaining())
    }
}

/// Share of `quantity` sold while `remaining` are left, 0..=100 (a progress bar).
pub fn percent_sold(quantity: i64, remaining: i64) -> u8 {
    if quantity <= 0 {
        return 100;
    }
    let sold = (quantity - remaining).clamp(0, quantity);
    ((sold * 100) / quantity) as u8
}

/// A sale's own page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleDetail {
    pub summary: SaleSummary,
    pub product_description: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window() -> SaleWindow {
        SaleWindow::new(Timestamp::from_millis(1_000), Timestamp::from_millis(2_000)).unwrap()
    }

    #[test]
    fn status_follows_clock_and_stock() {
        let w = window();
        assert_eq!(SaleStatus::at(w, 10, Timestamp::from_millis(999)), SaleStatus::Upcoming);
        assert_eq!(SaleStatus::at(w, 10, Timestamp::from_millis(1_000)), SaleStatus::Live);
        assert_eq!(SaleStatus::at(w, 0, Timestamp::from_millis(1_500)), SaleStatus::SoldOut);
        assert_eq!(SaleStatus::at(w, 10, Timestamp::from_millis(2_000)), SaleStatus::Ended);
        assert_eq!(SaleStatus::at(w, 0, Timestamp::from_millis(5_000)), SaleStatus::SoldOut);
    }

    #[test]
    fn window_must_end_after_start() {
        let t = Timestamp::from_millis(5);
        assert_eq!(SaleWindow::new(t, t), Err(SaleWindowError::EndsBeforeStart));
        assert!(window().contains(Timestamp::from_millis(1_999)));
        assert!(!window().contains(Timestamp::from_millis(2_000)));
    }
}
