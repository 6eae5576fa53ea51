use crate::api::cart::{AddToCart, AddToWishlist, BuyProduct};
use crate::api::catalog::get_product;
use crate::api::checkout::checkout_options;
use crate::components::error_view::ErrorView;
use crate::components::form::{action_error, FormError};
use crate::components::live_sale::{Countdown, SaleBadge};
use crate::live::LiveSale;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_params_map;
use shop_domain::catalog::url_encode;
use shop_domain::StockLevel;

#[component]
pub fn ProductPage() -> impl IntoView {
    let params = use_params_map();
    // Resources, not awaits inside the `Suspend`: each resource runs as a task of its own, both
    // at once. Awaiting the two server functions in place made the PostgreSQL product page five
    // times slower (warm p50 10.2 ms against 2.0 ms; docs/catalog.md, "Per-request work").
    let product = Resource::new(move || params.read().get("id").unwrap_or_default(), get_product);
    let options = Resource::new(|| (), |_| checkout_options());
    let add = ServerAction::<AddToCart>::new();
    let wish = ServerAction::<AddToWishlist>::new();
    let buy = ServerAction::<BuyProduct>::new();
    let error = Signal::derive(move || {
        action_error(buy).get().or_else(|| action_error(add).get()).or_else(|| action_error(wish).get())
    });
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let choices = options.await.ok().flatten();
                match product.await {
                    Err(e) => view! { <ErrorView error=e /> }.into_any(),
                    Ok(p) => {
                        let stock = StockLevel::of(p.stock);
                        let main_image = p.image_urls.first().cloned().unwrap_or_default();
                        view! {
                            <Title text=p.name.clone() />
                            <Meta name="description" content=p.description.clone() />
                            <nav class="breadcrumbs" aria-label="Breadcrumb">
                                <a href="/">"Home"</a> " › " <a href="/products">"Products"</a>
                            </nav>
                            <article class="product-detail">
                                <div class="gallery">
                                    <img src=main_image alt=p.name.clone() width="640" height="480" />
                                    {(p.image_urls.len() > 1).then(|| view! {
                                        <ul class="thumbs">
                                            {p.image_urls.iter().skip(1).enumerate().map(|(i, u)| view! {
                                                <li><img src=u.clone() alt=format!("{} — view {}", p.name, i + 2) width="120" height="90" loading="lazy" /></li>
                                            }).collect_view()}
                                        </ul>
                                    })}
                                </div>
                                <div class="buy-box">
                                    <h1>{p.name.clone()}</h1>
                                    <p class="price big" data-testid="price">{p.price.to_string()}</p>
                                    <p class=stock.css_class() data-testid="stock">{stock.to_string()}</p>
                                    {p.sales.iter().map(|s| view! {
                                        <a class="sale-callout" href=format!("/sales/{}", s.id)>
                                            <SaleBadge sale=LiveSale::from(s) />
                                            <span>{format!("{} — {} during the flash sale", s.title, s.sale_price)}</span>
                                            <span class="muted"><Countdown sale=LiveSale::from(s) /></span>
                                        </a>
                                    }).collect_view()}
                                    // The product's forms answer here with JavaScript
                                    // (`data-swap`): the cart's or wishlist's notice, or the
                                    // error; without it they post as pages.
                                    <div id="notices" aria-live="polite"><FormError error=error /></div>
                                    {match choices {
                                        None => view! {
                                            <p class="buy-cta"><a class="button" href=format!("/login?next=%2Fproducts%2F{}", p.id)>"Log in to buy"</a></p>
                                        }.into_any(),
                                        Some(_) if p.stock <= 0 => view! { <p class="muted">"Sold out for now."</p> }.into_any(),
                                        Some(c) => {
                                            let (id1, id2, id3) = (p.id.to_string(), p.id.to_string(), p.id.to_string());
                                            let ready = !c.addresses.is_empty() && !c.payment_methods.is_empty();
                                            view! {
                                                <ActionForm action=add attr:class="inline-form" attr:data-swap="notices">
                                                    <input type="hidden" name="product_id" value=id1 />
                                                    <label for="cart-qty">"Quantity"</label>
                                                    <input id="cart-qty" name="quantity" type="number" min="1" max="99" value="1" />
                                                    <button type="submit">"Add to cart"</button>
                                                </ActionForm>
                                                <ActionForm action=wish attr:class="inline-form" attr:data-swap="notices">
                                                    <input type="hidden" name="product_id" value=id2 />
                                                    <button type="submit" class="button-secondary">"Save to wishlist"</button>
                                                </ActionForm>
                                                {ready.then(|| {
                                                    let address = c.addresses.iter().find(|a| a.is_main).or(c.addresses.first()).map(|a| a.id.to_string()).unwrap_or_default();
                                                    let payment = c.payment_methods.first().map(|m| m.id.to_string()).unwrap_or_default();
                                                    let label = c.payment_methods.first().map(|m| m.masked()).unwrap_or_default();
                                                    view! {
                                                        <ActionForm action=buy attr:class="inline-form" attr:data-swap="notices">
                                                            <input type="hidden" name="product_id" value=id3 />
                                                            <input type="hidden" name="quantity" value="1" />
                                                            <input type="hidden" name="address_id" value=address />
                                                            <input type="hidden" name="payment_method_id" value=payment />
                                                            <input type="hidden" name="idempotency_key" value=c.idempotency_key.clone() />
                                                            <button type="submit" class="buy-now">"Buy now"</button>
                                                            <span class="muted small">{format!(" one, to your main address, with {label}")}</span>
                                                        </ActionForm>
                                                    }
                                                })}
                                            }.into_any()
                                        }
                                    }}
                                    <p class="description">{p.description.clone()}</p>
                                    <ul class="tags" aria-label="Tags">
                                        {p.tags.iter().map(|t| view! {
                                            <li><a class="tag" href=format!("/products?tag={}", url_encode(t))>{format!("#{t}")}</a></li>
                                        }).collect_view()}
                                    </ul>
                                    <p class="muted small">{format!("{} sold", p.sold_count)}</p>
                                </div>
                            </article>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}
