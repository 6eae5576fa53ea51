use leptos::prelude::*;
use shop_domain::time::human_duration;
use shop_domain::{SaleStatus, SaleSummary};

/// "Ends in 1 h 59 min" / "Starts in 9 min 58 s" / "Sold out" / "Ended".
pub fn sale_clock(sale: &SaleSummary) -> String {
    match sale.status {
        SaleStatus::Upcoming => {
            format!("Starts in {}", human_duration(sale.as_of.secs_until(sale.window.starts_at)))
        }
        SaleStatus::Live => format!("Ends in {}", human_duration(sale.as_of.secs_until(sale.window.ends_at))),
        SaleStatus::SoldOut => "All gone".to_string(),
        SaleStatus::Ended => "This sale has ended".to_string(),
    }
}

#[component]
pub fn SaleBadge(status: SaleStatus) -> impl IntoView {
    view! { <span class=status.css_class() data-testid="sale-status">{status.to_string()}</span> }
}

#[component]
pub fn StockBar(sale: SaleSummary) -> impl IntoView {
    let pct = sale.percent_sold();
    view! {
        // A native <progress>: no inline style, so the Content-Security-Policy needs no
        // 'unsafe-inline' for styles.
        <progress class="stock-bar" aria-label="Sold so far" max="100" value=pct.to_string()>
            {format!("{pct}%")}
        </progress>
        <p class="stock-bar-label">{format!("{} of {} left", sale.remaining(), sale.quantity)}</p>
    }
}

#[component]
pub fn SaleCard(sale: SaleSummary) -> impl IntoView {
    let off = sale.sale_price.percent_off(sale.regular_price);
    let countdown_to = match sale.status {
        SaleStatus::Upcoming => Some(sale.window.starts_at.millis()),
        SaleStatus::Live => Some(sale.window.ends_at.millis()),
        _ => None,
    };
    view! {
        <a class="sale-card" href=format!("/sales/{}", sale.id)>
            <img src=sale.image_url.clone() alt=sale.product_name.clone() width="320" height="240" loading="lazy" />
            <span class="sale-card-body">
                <SaleBadge status=sale.status />
                <span class="sale-title">{sale.title.clone()}</span>
                <span class="sale-product">{sale.product_name.clone()}</span>
                <span class="sale-prices">
                    <span class="price sale-price">{sale.sale_price.to_string()}</span>
                    <s class="price-was">{sale.regular_price.to_string()}</s>
                    {off.map(|p| view! { <span class="discount">{format!("−{p}%")}</span> })}
                </span>
                <StockBar sale=sale.clone() />
                <time class="countdown" data-countdown-to=countdown_to.map(|m| m.to_string())>
                    {sale_clock(&sale)}
                </time>
            </span>
        </a>
    }
}
