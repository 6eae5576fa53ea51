//! A return as both order pages show it (the buyer's and the staff's): where it is, what goes
//! back, why, and what the shop answered.

use leptos::prelude::*;
use shop_domain::returns::{ReturnInfo, ReturnStatus};

/// What the buyer is told about each status.
fn explain(r: &ReturnInfo) -> String {
    match r.status {
        ReturnStatus::Requested => "We have your request and will answer it soon.".into(),
        ReturnStatus::Approved => format!("Approved: {} is being refunded.", r.amount),
        ReturnStatus::Refunded => format!("{} was refunded to your payment method.", r.amount),
        ReturnStatus::Refused => match &r.staff_note {
            Some(note) => format!("Refused: {note}"),
            None => "Refused.".into(),
        },
    }
}

#[component]
pub fn ReturnSummary(info: ReturnInfo) -> impl IntoView {
    let class = match info.status {
        ReturnStatus::Refused => "badge badge-ended",
        ReturnStatus::Requested => "badge badge-upcoming",
        _ => "badge badge-live",
    };
    view! {
        <div class="return-summary" data-testid="return">
            <p><span class=class data-testid="return-status">{info.status.label()}</span> " "
                <span data-testid="return-explain">{explain(&info)}</span></p>
            <dl class="facts">
                <dt>"Items"</dt>
                <dd>{info.lines.iter().map(|l| format!("{} × {}", l.quantity, l.name)).collect::<Vec<_>>().join(", ")}</dd>
                <dt>"Refund"</dt><dd data-testid="return-amount">{info.amount.to_string()}</dd>
                <dt>"Reason"</dt><dd data-testid="return-reason">{info.reason.clone()}</dd>
                <dt>"Requested"</dt><dd>{info.requested_at.utc_string()}</dd>
                {info.restocked_at.map(|t| view! { <dt>"Back in stock"</dt><dd>{t.utc_string()}</dd> })}
            </dl>
        </div>
    }
}
