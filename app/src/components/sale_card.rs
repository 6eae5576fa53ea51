use crate::components::live_sale::{Countdown, SaleBadge, StockBar};
use crate::live::LiveSale;
use leptos::prelude::*;
use shop_domain::SaleSummary;

#[component]
pub fn SaleCard(sale: SaleSummary) -> impl IntoView {
    let off = sale.sale_price.percent_off(sale.regular_price);
    let live = LiveSale::from(&sale);
    view! {
        <a class="sale-card" href=format!("/sales/{}", sale.id)>
            <img src=sale.image_url.clone() alt=sale.product_name.clone() width="320" height="240" loading="lazy" />
            <span class="sale-card-body">
                <SaleBadge sale=live />
                <span class="sale-title">{sale.title.clone()}</span>
                <span class="sale-product">{sale.product_name.clone()}</span>
                <span class="sale-prices">
                    <span class="price sale-price">{sale.sale_price.to_string()}</span>
                    <s class="price-was">{sale.regular_price.to_string()}</s>
                    {off.map(|p| view! { <span class="discount">{format!("−{p}%")}</span> })}
                </span>
                <StockBar sale=live />
                <Countdown sale=live />
            </span>
        </a>
    }
}
