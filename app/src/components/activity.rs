//! A live sale's activity for staff: the gate's decision counts and a chart of units sold per
//! second with the stock left, over the last minute. Server-rendered SVG; the page that shows
//! it follows its stream and swaps it in again when a figure changes (`live::swap`).

use leptos::prelude::*;
use shop_domain::activity::{SaleActivity, CHART_HEIGHT, CHART_WIDTH, WINDOW_SECS};

#[component]
pub fn ActivityView(activity: SaleActivity) -> impl IntoView {
    let t = activity.tally.clone();
    let chart = activity.chart();
    let label = format!(
        "Units sold per second (bars, peak {}) and stock left (line, of {}), last {WINDOW_SECS} seconds",
        chart.peak, activity.quantity
    );
    let view_box = format!("0 0 {CHART_WIDTH} {CHART_HEIGHT}");
    let title = label.clone();
    let in_window = activity.units_in_window();
    view! {
        <div class="activity" data-testid="activity">
            <dl class="facts activity-counts">
                <dt>"Accepted"</dt>
                <dd data-testid="accepted">{format!("{} ({} units)", t.accepted, t.units)}</dd>
                <dt>"Sold out"</dt>
                <dd data-testid="refused-sold-out">{t.sold_out}</dd>
                <dt>"Over the limit"</dt>
                <dd data-testid="refused-over-limit">{t.over_limit}</dd>
                <dt>"Shed (whole shop, too busy)"</dt>
                <dd data-testid="shed">{t.shed}</dd>
            </dl>
            <figure class="activity-chart">
                <svg viewBox=view_box role="img" aria-label=label preserveAspectRatio="none">
                    <title>{title}</title>
                    <line class="axis" x1="0" y1=CHART_HEIGHT x2=CHART_WIDTH y2=CHART_HEIGHT />
                    {chart.bars.into_iter().map(|b| view! {
                        <rect class="bar" x=b.x y=b.y width=b.width height=b.height>
                            <title>{format!("{} unit(s), {} s ago", b.units, b.ago)}</title>
                        </rect>
                    }).collect_view()}
                    <polyline class="remaining-line" points=chart.remaining fill="none" />
                </svg>
                <figcaption class="muted small" data-testid="activity-caption">
                    {format!(
                        "{in_window} unit(s) sold in the last {WINDOW_SECS} s (busiest second: {}); {} left.",
                        chart.peak.min(in_window.max(0)),
                        activity.remaining.map_or_else(|| "—".to_string(), |r| r.to_string()),
                    )}
                </figcaption>
            </figure>
        </div>
    }
}

/// A sale's activity as a page region: with `follow` (the sale's stream, while it can still
/// sell) the page swaps it in again whenever the gate's figures change.
#[component]
pub fn SaleActivityPanel(activity: SaleActivity, follow: Option<String>) -> impl IntoView {
    let version = activity.version();
    view! {
        <section class="panel" id="sale-activity" data-follow=follow data-version=version
            aria-labelledby="activity-h">
            <h2 id="activity-h">"Live activity"</h2>
            <ActivityView activity=activity />
        </section>
    }
}
