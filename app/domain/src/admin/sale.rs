//! Flash sales as staff create and edit them: what a valid sale is, given the product's stock,
//! its other sales and the clock.
//!
//! The rules, each reported against the form field it concerns:
//! - the window must end after it starts, and in the future;
//! - no two sales of one product may overlap;
//! - the quantity cannot exceed the units free for a sale (stock, less what regular orders
//!   hold and what the product's other sales still set aside);
//! - the per-buyer limit is between 1 and the quantity; the sale price is below the regular price;
//! - once a sale is live its quantity can only be raised and its start can't move;
//! - an ended sale can't be changed.

use super::input::{parse_datetime, parse_money, parse_units, MAX_UNITS};
use crate::{FieldErrors, Money, SaleWindow, Timestamp};
use serde::{Deserialize, Serialize};

pub const MAX_TITLE_CHARS: usize = 80;

/// A sale as submitted by the create/edit form, parsed (not yet checked against the shop).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleDraft {
    pub title: String,
    pub sale_price: Money,
    pub quantity: i64,
    pub per_buyer_limit: i64,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
}

/// The raw text of the sale form.
#[derive(Debug, Clone, Default)]
pub struct SaleForm<'a> {
    pub title: &'a str,
    pub sale_price: &'a str,
    pub quantity: &'a str,
    pub per_buyer_limit: &'a str,
    pub starts_at: &'a str,
    pub ends_at: &'a str,
}

impl SaleDraft {
    /// Field-level parsing: numbers, times, title.
    pub fn parse(f: &SaleForm<'_>) -> Result<SaleDraft, FieldErrors> {
        let mut errors = FieldErrors::default();
        let title = errors.check("title", parse_title(f.title));
        let sale_price = errors.check("sale_price", parse_money(f.sale_price, "a sale price"));
        let quantity = errors.check("quantity", parse_units(f.quantity, "the quantity", 1, MAX_UNITS));
        let per_buyer_limit = errors
            .check("per_buyer_limit", parse_units(f.per_buyer_limit, "the limit per buyer", 1, MAX_UNITS));
        let starts_at = errors.check("starts_at", parse_datetime(f.starts_at, "the start"));
        let ends_at = errors.check("ends_at", parse_datetime(f.ends_at, "the end"));
        match (title, sale_price, quantity, per_buyer_limit, starts_at, ends_at) {
            (
                Some(title),
                Some(sale_price),
                Some(quantity),
                Some(per_buyer_limit),
                Some(starts_at),
                Some(ends_at),
            ) if errors.is_empty() => {
                Ok(SaleDraft { title, sale_price, quantity, per_buyer_limit, starts_at, ends_at })
            }
            _ => Err(errors),
        }
    }
}

fn parse_title(raw: &str) -> Result<String, String> {
    let s = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.is_empty() {
        return Err("Enter a title, e.g. “Midnight drop”.".into());
    }
    if s.chars().count() > MAX_TITLE_CHARS || s.chars().any(char::is_control) {
        return Err(format!("The title can be at most {MAX_TITLE_CHARS} characters."));
    }
    Ok(s)
}

/// The sale being edited, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExistingSale {
    pub quantity: i64,
    /// Units already committed to stock by the saga.
    pub sold: i64,
    pub window: SaleWindow,
}

/// What the shop knows when a sale is saved (read in the same transaction as the write).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleContext {
    pub product_price: Money,
    pub product_stock: i64,
    /// Units regular (non-sale) orders hold and have not yet committed to stock.
    pub held_by_regular_orders: i64,
    /// Units the product's other sales that have not ended still set aside (quantity − sold).
    pub set_aside_by_other_sales: i64,
    /// The product's other sales: `(id, window)`.
    pub other_windows: Vec<(i64, SaleWindow)>,
    /// `None` when creating.
    pub existing: Option<ExistingSale>,
    pub now: Timestamp,
}

/// Why a sale can't be saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SaleRejection {
    /// Fix these fields (400).
    Invalid(FieldErrors),
    /// The sale has ended; it is history now (409).
    Ended,
}

/// Same calendar minute: forms show times to the minute, so an unchanged field comes back
/// with its seconds dropped.
fn same_minute(a: Timestamp, b: Timestamp) -> bool {
    a.millis().div_euclid(60_000) == b.millis().div_euclid(60_000)
}

/// Checks a draft against the shop. Returns the sale to store: an unchanged start or end
/// (same minute as stored) keeps its stored instant.
pub fn check_sale(draft: &SaleDraft, ctx: &SaleContext) -> Result<SaleDraft, SaleRejection> {
    let mut d = draft.clone();
    let now = ctx.now;
    let mut errors = FieldErrors::default();
    if let Some(old) = ctx.existing {
        if now >= old.window.ends_at {
            return Err(SaleRejection::Ended);
        }
        if same_minute(d.starts_at, old.window.starts_at) {
            d.starts_at = old.window.starts_at;
        }
        if same_minute(d.ends_at, old.window.ends_at) {
            d.ends_at = old.window.ends_at;
        }
        let live = old.window.starts_at <= now;
        if live {
            if d.starts_at != old.window.starts_at {
                errors.add("starts_at", "This sale is live: its start can't be moved.");
            }
            if d.quantity < old.quantity {
                errors.add(
                    "quantity",
                    format!("This sale is live: its quantity can only be raised (it is {}).", old.quantity),
                );
            }
        }
        if d.quantity < old.sold {
            errors.add("quantity", format!("{} units are already sold.", old.sold));
        }
    }
    let window = SaleWindow::new(d.starts_at, d.ends_at);
    match window {
        Err(e) => errors.add("ends_at", e.to_string()),
        Ok(_) if d.ends_at <= now => errors.add("ends_at", "The end is in the past."),
        Ok(w) => {
            if let Some((id, other)) =
                ctx.other_windows.iter().find(|(_, o)| o.starts_at < w.ends_at && w.starts_at < o.ends_at)
            {
                errors.add(
                    "starts_at",
                    format!(
                        "This product already has a sale then (#{id}, {} – {}).",
                        other.starts_at.utc_string(),
                        other.ends_at.utc_string()
                    ),
                );
            }
        }
    }
    let sold = ctx.existing.map_or(0, |e| e.sold);
    let free = ctx.product_stock - ctx.held_by_regular_orders - ctx.set_aside_by_other_sales;
    if errors.get("quantity").is_none() && d.quantity - sold > free {
        errors.add(
            "quantity",
            format!(
                "Only {} units are free for a sale (stock {}, {} held by orders, {} set aside for other sales).",
                (free + sold).max(0),
                ctx.product_stock,
                ctx.held_by_regular_orders,
                ctx.set_aside_by_other_sales
            ),
        );
    }
    if d.per_buyer_limit > d.quantity {
        errors.add("per_buyer_limit", "The limit per buyer can't be more than the quantity.");
    }
    if d.sale_price >= ctx.product_price {
        errors.add(
            "sale_price",
            format!("A sale price must be below the regular price ({}).", ctx.product_price),
        );
    }
    if errors.is_empty() {
        Ok(d)
    } else {
        Err(SaleRejection::Invalid(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60;
    fn t(mins: i64) -> Timestamp {
        Timestamp::from_millis(1_800_000_000_000).plus_secs(mins * MIN)
    }
    fn window(a: i64, b: i64) -> SaleWindow {
        SaleWindow::new(t(a), t(b)).unwrap()
    }
    fn draft(q: i64, a: i64, b: i64) -> SaleDraft {
        SaleDraft {
            title: "Drop".into(),
            sale_price: Money::from_minor(500),
            quantity: q,
            per_buyer_limit: 1,
            starts_at: t(a),
            ends_at: t(b),
        }
    }
    fn ctx() -> SaleContext {
        SaleContext {
            product_price: Money::from_minor(1000),
            product_stock: 100,
            held_by_regular_orders: 10,
            set_aside_by_other_sales: 20,
            other_windows: vec![(7, window(120, 180))],
            existing: None,
            now: t(0),
        }
    }
    fn fields(r: Result<SaleDraft, SaleRejection>) -> FieldErrors {
        match r {
            Err(SaleRejection::Invalid(e)) => e,
            other => panic!("expected field errors, got {other:?}"),
        }
    }

    #[test]
    fn the_form_parses_every_field() {
        let f = SaleForm {
            title: " Midnight  drop ",
            sale_price: "4.90",
            quantity: "100",
            per_buyer_limit: "2",
            starts_at: "2026-11-21T14:50",
            ends_at: "2026-11-21T15:50",
        };
        let d = SaleDraft::parse(&f).unwrap();
        assert_eq!((d.title.as_str(), d.sale_price.minor(), d.quantity), ("Midnight drop", 490, 100));
        let bad = SaleForm { quantity: "0", per_buyer_limit: "", starts_at: "soon", ..f };
        let e = SaleDraft::parse(&bad).unwrap_err();
        assert!(
            e.get("quantity").is_some() && e.get("per_buyer_limit").is_some() && e.get("starts_at").is_some()
        );
    }

    #[test]
    fn a_new_sale_within_the_rules_is_accepted() {
        assert_eq!(check_sale(&draft(70, 0, 60), &ctx()), Ok(draft(70, 0, 60)));
    }

    #[test]
    fn impossible_windows_are_refused() {
        let e = fields(check_sale(&draft(5, 60, 60), &ctx()));
        assert_eq!(e.get("ends_at"), Some("A sale must end after it starts."));
        let e = fields(check_sale(&draft(5, -60, -1), &ctx()));
        assert_eq!(e.get("ends_at"), Some("The end is in the past."));
    }

    #[test]
    fn overlapping_sales_of_one_product_are_refused() {
        let e = fields(check_sale(&draft(5, 170, 200), &ctx()));
        assert!(e.get("starts_at").unwrap().contains("#7"));
        // Back to back is fine: windows are [start, end).
        assert!(check_sale(&draft(5, 180, 200), &ctx()).is_ok());
        assert!(check_sale(&draft(5, 60, 120), &ctx()).is_ok());
    }

    #[test]
    fn the_quantity_cannot_exceed_the_free_stock() {
        // 100 in stock − 10 held by orders − 20 set aside elsewhere = 70 free.
        let e = fields(check_sale(&draft(71, 0, 60), &ctx()));
        assert!(e.get("quantity").unwrap().starts_with("Only 70 units are free"));
    }

    #[test]
    fn limit_and_price_must_make_sense() {
        let mut d = draft(3, 0, 60);
        d.per_buyer_limit = 4;
        d.sale_price = Money::from_minor(1000);
        let e = fields(check_sale(&d, &ctx()));
        assert!(e.get("per_buyer_limit").is_some());
        assert_eq!(e.get("sale_price"), Some("A sale price must be below the regular price ($10.00)."));
    }

    #[test]
    fn a_live_sale_can_only_grow() {
        let live = SaleContext {
            existing: Some(ExistingSale { quantity: 10, sold: 4, window: window(-30, 30) }),
            ..ctx()
        };
        let e = fields(check_sale(&draft(9, -30, 30), &live));
        assert_eq!(e.get("quantity"), Some("This sale is live: its quantity can only be raised (it is 10)."));
        let e = fields(check_sale(&draft(10, -20, 30), &live));
        assert_eq!(e.get("starts_at"), Some("This sale is live: its start can't be moved."));
        // Raising it and moving the end are fine; the freed stock counts what it already sold.
        assert!(check_sale(&draft(74, -30, 90), &live).is_ok());
        assert!(check_sale(&draft(75, -30, 90), &live).is_err());
    }

    #[test]
    fn unchanged_times_keep_their_seconds() {
        let start = t(-30).plus_secs(17);
        let live = SaleContext {
            existing: Some(ExistingSale {
                quantity: 10,
                sold: 0,
                window: SaleWindow::new(start, t(30)).unwrap(),
            }),
            ..ctx()
        };
        // The form sends the start back without its seconds.
        let saved = check_sale(&draft(10, -30, 30), &live).unwrap();
        assert_eq!(saved.starts_at, start);
    }

    #[test]
    fn an_upcoming_sale_may_shrink_but_an_ended_one_is_history() {
        let upcoming = SaleContext {
            existing: Some(ExistingSale { quantity: 10, sold: 0, window: window(30, 60) }),
            ..ctx()
        };
        assert!(check_sale(&draft(5, 30, 60), &upcoming).is_ok());
        let ended = SaleContext {
            existing: Some(ExistingSale { quantity: 10, sold: 0, window: window(-60, -1) }),
            ..ctx()
        };
        assert_eq!(check_sale(&draft(20, -60, 60), &ended), Err(SaleRejection::Ended));
    }
}
