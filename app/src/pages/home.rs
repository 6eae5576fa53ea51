use crate::api::catalog::home;
use crate::components::error_view::ErrorView;
use crate::components::product_card::ProductGrid;
use crate::components::sale_card::SaleCard;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn HomePage() -> impl IntoView {
    let data = Resource::new(|| (), |_| home());
    view! {
        <Title text="" />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <ErrorView error=e /> }.into_any(),
                    Ok(d) => view! {
                        <section class="hero">
                            <h1>"Limited drops. Fair for everyone."</h1>
                            <p>"Flash sales open on the minute, first come first served — one queue, exact stock, no overselling."</p>
                        </section>
                        <section data-testid="sales" class="shelf" aria-labelledby="sales-h">
                            <h2 id="sales-h">"Flash sales"</h2>
                            {if d.sales.is_empty() {
                                view! { <p class="muted">"No flash sales right now. Check back soon."</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="sale-grid">
                                        {d.sales.into_iter().map(|s| view! { <li><SaleCard sale=s /></li> }).collect_view()}
                                    </ul>
                                }.into_any()
                            }}
                        </section>
                        <section class="shelf" aria-labelledby="new-h">
                            <div class="shelf-head">
                                <h2 id="new-h">"New arrivals"</h2>
                                <a href="/products?sort=newest">"See all"</a>
                            </div>
                            <ProductGrid products=d.new_arrivals />
                        </section>
                        <section class="shelf" aria-labelledby="best-h">
                            <div class="shelf-head">
                                <h2 id="best-h">"Best sellers"</h2>
                                <a href="/products?sort=best">"See all"</a>
                            </div>
                            <ProductGrid products=d.best_sellers />
                        </section>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}
