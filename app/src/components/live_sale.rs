//! A sale's live widgets. Each is an island: rendered as HTML on the server, then (with the
//! client bundle) kept current in the browser from the server's clock and the stock stream
//! (`crate::live`).

use crate::live::{clock_text, watch, LiveSale, Submitted};
use leptos::prelude::*;
use shop_domain::sale::percent_sold;
use shop_domain::SaleStatus;

/// "Upcoming" / "Live" / "Sold out" / "Ended".
#[island]
pub fn SaleBadge(sale: LiveSale) -> impl IntoView {
    let w = watch(&sale);
    view! {
        <span class=move || w.status(&sale).css_class() data-testid="sale-status">
            {move || w.status(&sale).to_string()}
        </span>
    }
}

/// How much is sold, as a bar, and "N of M left".
#[island]
pub fn StockBar(sale: LiveSale) -> impl IntoView {
    let w = watch(&sale);
    let pct = move || percent_sold(sale.quantity, w.remaining.get());
    view! {
        // A native <progress>: no inline style, so the Content-Security-Policy needs no
        // 'unsafe-inline' for styles.
        <progress class="stock-bar" aria-label="Sold so far" max="100" value=move || pct().to_string()>
            {move || format!("{}%", pct())}
        </progress>
        <p class="stock-bar-label" data-testid="stock-left">
            {move || format!("{} of {} left", w.remaining.get().max(0), sale.quantity)}
        </p>
    }
}

/// Units left, as a bare number.
#[island]
pub fn Remaining(sale: LiveSale) -> impl IntoView {
    let w = watch(&sale);
    view! { {move || w.remaining.get().max(0)} }
}

/// "Starts in 9 min 58 s", ticking.
#[island]
pub fn Countdown(sale: LiveSale) -> impl IntoView {
    let w = watch(&sale);
    view! {
        <span class="countdown" data-testid="countdown">
            {move || clock_text(w.status(&sale), sale.window, w.now.get())}
        </span>
    }
}

/// The Buy form's controls, usable only while the sale is live: disabled before it opens (and
/// enabled at the start time without a reload), disabled again when it sells out or ends. The
/// server refuses a purchase outside the window anyway; this is what the shopper sees. With
/// the client bundle the form is sent without a page load, once (a double click sends one
/// request), and the answer shows below it: the order, or why not.
#[island]
pub fn BuyGate(sale: LiveSale, children: Children) -> impl IntoView {
    let w = watch(&sale);
    let state = RwSignal::new(None::<Submitted>);
    let fieldset = NodeRef::<leptos::html::Fieldset>::new();
    #[cfg(feature = "hydrate")]
    crate::live::submit::enhance(fieldset, state);
    let busy = move || state.with(|s| matches!(s, Some(Submitted::Pending | Submitted::Placed { .. })));
    view! {
        <fieldset
            node_ref=fieldset
            class="buy-gate"
            data-testid="buy-gate"
            disabled=move || w.status(&sale) != SaleStatus::Live || busy()
        >
            {children()}
        </fieldset>
        // One fixed shape whatever the state (no type-erased views: they cost the bundle more
        // than the rest of this island).
        <p class="buy-result" role="status" data-testid="buy-result" hidden=move || state.with(Option::is_none)>
            <span class=move || {
                state.with(|s| match s {
                    Some(Submitted::Failed(_)) => "form-error",
                    Some(Submitted::Placed { .. }) => "notice",
                    _ => "muted",
                })
            }>
                {move || {
                    state.with(|s| match s {
                        None => String::new(),
                        Some(Submitted::Pending) => "Placing your order…".to_string(),
                        Some(Submitted::Placed { order_id }) => format!("Order #{order_id} placed. "),
                        Some(Submitted::Failed(message)) => message.clone(),
                    })
                }}
                <a
                    href=move || state.with(|s| match s {
                        Some(Submitted::Placed { order_id }) => format!("/orders/{order_id}"),
                        _ => String::new(),
                    })
                    hidden=move || !state.with(|s| matches!(s, Some(Submitted::Placed { .. })))
                >
                    "See your order"
                </a>
            </span>
        </p>
    }
}
