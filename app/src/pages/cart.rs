use crate::api::cart::{my_cart, my_wishlist, CheckoutCart, RemoveFromCart, RemoveFromWishlist, UpdateCart};
use crate::api::checkout::checkout_options;
use crate::components::error_view::{login_required, ErrorView};
use crate::components::form::{action_error, AddressSelect, FormError, PaymentSelect};
use crate::components::product_card::ProductCard;
use crate::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use shop_domain::Money;

#[component]
pub fn CartPage() -> impl IntoView {
    let cart = Resource::new(|| (), |_| my_cart());
    let options = Resource::new(|| (), |_| checkout_options());
    let update = ServerAction::<UpdateCart>::new();
    let remove = ServerAction::<RemoveFromCart>::new();
    let checkout = ServerAction::<CheckoutCart>::new();
    let checkout_error = action_error(checkout);
    let line_error =
        Signal::derive(move || action_error(update).get().or_else(|| action_error(remove).get()));
    view! {
        <Title text="Your cart" />
        <h1>"Your cart"</h1>
        // A product page's Add to cart swaps this in (`data-swap="notices"`).
        <div id="notices">{super::done_notice(&[("added", "Added to your cart.")])}</div>
        // Forms marked `data-swap` replace this part of the page with the server's answer
        // when the client bundle runs (`live::swap`); without it they post as pages.
        <div id="cart">
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let choices = options.await.ok().flatten();
                match cart.await {
                    Err(AppError::Unauthorized(_)) => login_required("/cart"),
                    Err(e) => view! { <ErrorView error=e /> }.into_any(),
                    Ok(lines) if lines.is_empty() => view! {
                        <FormError error=checkout_error />
                        <div class="empty"><p><strong>"Your cart is empty."</strong></p>
                            <p><a class="button" href="/products">"Browse products"</a></p></div>
                    }.into_any(),
                    Ok(lines) => {
                        let total = lines.iter().fold(Money::ZERO, |acc, l| {
                            acc.checked_add(l.price.times(l.quantity as u32).unwrap_or(Money::ZERO)).unwrap_or(acc)
                        });
                        view! {
                            <FormError error=line_error />
                            <ul class="cart-lines">
                                {lines.into_iter().map(|l| {
                                    let (id1, id2) = (l.product_id.to_string(), l.product_id.to_string());
                                    let qty = l.quantity.to_string();
                                    view! {
                                        <li class="cart-line">
                                            <a href=format!("/products/{}", l.product_id)><span class="product-name">{l.name.clone()}</span></a>
                                            <span class="price">{l.price.to_string()}</span>
                                            <ActionForm action=update attr:data-swap="cart" attr:class="inline-form">
                                                <input type="hidden" name="product_id" value=id1 />
                                                <label for=format!("qty-{}", l.product_id) class="visually-hidden">{format!("Quantity of {}", l.name)}</label>
                                                <input id=format!("qty-{}", l.product_id) name="quantity" type="number" min="0" max="99" value=qty />
                                                <button type="submit" class="button-secondary">"Update"</button>
                                            </ActionForm>
                                            <ActionForm action=remove attr:data-swap="cart" attr:class="inline-form">
                                                <input type="hidden" name="product_id" value=id2 />
                                                <button type="submit" class="button-secondary">"Remove"</button>
                                            </ActionForm>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                            <p class="cart-total">"Total: " <strong data-testid="cart-total">{total.to_string()}</strong></p>
                            {match choices {
                                Some(c) if !c.addresses.is_empty() && !c.payment_methods.is_empty() => view! {
                                    <ActionForm action=checkout attr:data-swap="cart" attr:class="stack-form">
                                        <FormError error=checkout_error />
                                        <input type="hidden" name="idempotency_key" value=c.idempotency_key.clone() />
                                        <AddressSelect addresses=c.addresses />
                                        <PaymentSelect methods=c.payment_methods />
                                        <button type="submit">"Place order"</button>
                                    </ActionForm>
                                }.into_any(),
                                _ => view! {
                                    <p class="notice">"Add a delivery address and a payment method to order: " <a href="/account">"open your account"</a>"."</p>
                                }.into_any(),
                            }}
                        }.into_any()
                    }
                }
            })}
        </Suspense>
        </div>
    }
}

#[component]
pub fn WishlistPage() -> impl IntoView {
    let list = Resource::new(|| (), |_| my_wishlist());
    let remove = ServerAction::<RemoveFromWishlist>::new();
    view! {
        <Title text="Wishlist" />
        <h1>"Wishlist"</h1>
        <div id="notices">{super::done_notice(&[("saved", "Saved to your wishlist.")])}</div>
        <div id="wishlist">
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(AppError::Unauthorized(_)) => login_required("/wishlist"),
                    Err(e) => view! { <ErrorView error=e /> }.into_any(),
                    Ok(items) if items.is_empty() => view! {
                        <div class="empty"><p><strong>"Nothing saved yet."</strong></p>
                            <p class="muted">"Save products from their pages to find them here."</p></div>
                    }.into_any(),
                    Ok(items) => view! {
                        <ul class="product-grid">
                            {items.into_iter().map(|p| {
                                let id = p.id.to_string();
                                view! {
                                    <li class="wish">
                                        <ProductCard product=p />
                                        <ActionForm action=remove attr:data-swap="wishlist">
                                            <input type="hidden" name="product_id" value=id />
                                            <button type="submit" class="button-secondary">"Remove"</button>
                                        </ActionForm>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                }
            })}
        </Suspense>
        </div>
    }
}
