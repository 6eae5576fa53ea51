//! The live layer: what a sale looks like *now*, in the browser.
//!
//! The server renders every live widget (badge, stock bar, countdown, the Buy form's gate) as
//! plain HTML, so a page without JavaScript is complete. With the client bundle, those widgets
//! are islands (`components::live_sale`) that read two signals from here: the server's clock,
//! ticking in the browser from the time the page was rendered (never the browser's own clock,
//! which may be wrong), and each sale's remaining stock, pushed by the server over one
//! server-sent-events stream per page (`GET /api/live/stock?sales=1,2`, see
//! `server/src/live.rs`). On the server both signals are the values the page was rendered with.
//! `submit` (browser only) sends the Buy form without a page load; `swap` sends other forms
//! without one and keeps an order's page current (both replace part of the page with the
//! same part of the server's answer).

#[cfg(feature = "hydrate")]
mod client;
#[cfg(feature = "hydrate")]
pub mod submit;
#[cfg(feature = "hydrate")]
pub mod swap;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use shop_domain::time::human_duration;
use shop_domain::{SaleStatus, SaleSummary, SaleWindow, Timestamp};

/// What a live widget knows about a sale (an island's props: small, since every island on a
/// page carries its own copy as JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveSale {
    pub id: i64,
    pub window: SaleWindow,
    pub quantity: i64,
    /// Units left when the page was rendered (the stock gate's count).
    pub remaining: i64,
    /// The server's clock when the page was rendered.
    pub as_of: Timestamp,
}

impl From<&SaleSummary> for LiveSale {
    fn from(s: &SaleSummary) -> LiveSale {
        LiveSale {
            id: s.id,
            window: s.window,
            quantity: s.quantity,
            remaining: s.remaining(),
            as_of: s.as_of,
        }
    }
}

impl LiveSale {
    /// The sale's status with `remaining` units left at `now` (the domain's rule).
    pub fn status(&self, remaining: i64, now: Timestamp) -> SaleStatus {
        SaleStatus::at(self.window, remaining, now)
    }
}

/// "Starts in 9 min 58 s" / "Ends in 1 h 59 min" / "All gone" / "This sale has ended".
pub fn clock_text(status: SaleStatus, window: SaleWindow, now: Timestamp) -> String {
    match status {
        SaleStatus::Upcoming => format!("Starts in {}", human_duration(now.secs_until(window.starts_at))),
        SaleStatus::Live => format!("Ends in {}", human_duration(now.secs_until(window.ends_at))),
        SaleStatus::SoldOut => "All gone".to_string(),
        SaleStatus::Ended => "This sale has ended".to_string(),
    }
}

/// A sale's clock and remaining stock as signals: live in the browser, fixed on the server.
#[derive(Clone, Copy)]
pub struct Watch {
    pub now: Signal<Timestamp>,
    pub remaining: Signal<i64>,
}

impl Watch {
    pub fn status(&self, sale: &LiveSale) -> SaleStatus {
        sale.status(self.remaining.get(), self.now.get())
    }
}

/// The signals a widget for `sale` reads. In the browser every widget of a page shares one
/// clock and one stock signal per sale (and one event stream for all of them).
pub fn watch(sale: &LiveSale) -> Watch {
    #[cfg(feature = "hydrate")]
    {
        Watch { now: client::clock(sale.as_of), remaining: client::stock(sale.id, sale.remaining) }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        Watch { now: Signal::stored(sale.as_of), remaining: Signal::stored(sale.remaining) }
    }
}

/// Where a form sent without a page load stands (the Buy form, with the client bundle).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    Pending,
    Placed { order_id: i64 },
    Failed(String),
}
