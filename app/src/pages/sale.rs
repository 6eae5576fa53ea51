use crate::api::catalog::get_sale;
use crate::api::checkout::{checkout_options, Buy};
use crate::components::error_view::ErrorView;
use crate::components::form::{action_error, AddressSelect, Field, FormError, PaymentSelect};
use crate::components::live_sale::{BuyGate, Countdown, Remaining, SaleBadge, StockBar};
use crate::live::LiveSale;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use shop_domain::SaleStatus;

#[component]
pub fn SalePage() -> impl IntoView {
    let params = use_params_map();
    let sale = Resource::new(move || params.read().get("id").unwrap_or_default(), get_sale);
    let options = Resource::new(|| (), |_| checkout_options());
    let buy = ServerAction::<Buy>::new();
    let buy_error = action_error(buy);
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let choices = options.await.ok().flatten();
                match sale.await {
                    Err(e) => view! { <ErrorView error=e /> }.into_any(),
                    Ok(d) => {
                        let s = d.summary;
                        let live = LiveSale::from(&s);
                        let off = s.sale_price.percent_off(s.regular_price);
                        let note = match s.status {
                            SaleStatus::Upcoming => format!("Opens {} — be here on time: stock is first come, first served.", s.window.starts_at.utc_string()),
                            SaleStatus::Live => "Live now. Stock is reserved the moment you buy.".to_string(),
                            SaleStatus::SoldOut => "Every unit has been sold. Follow the shop for the next drop.".to_string(),
                            SaleStatus::Ended => format!("Ended {}.", s.window.ends_at.utc_string()),
                        };
                        view! {
                            <Title text=s.title.clone() />
                            <nav class="breadcrumbs" aria-label="Breadcrumb">
                                <a href="/">"Home"</a> " › " "Flash sale"
                            </nav>
                            <article class="product-detail sale-detail">
                                <div class="gallery">
                                    <img src=s.image_url.clone() alt=s.product_name.clone() width="640" height="480" />
                                </div>
                                <div class="buy-box">
                                    <SaleBadge sale=live />
                                    <h1>{s.title.clone()}</h1>
                                    <p class="sale-product">
                                        <a href=format!("/products/{}", s.product_id)>{s.product_name.clone()}</a>
                                    </p>
                                    <p class="sale-prices">
                                        <span class="price big sale-price" data-testid="price">{s.sale_price.to_string()}</span>
                                        <s class="price-was">{s.regular_price.to_string()}</s>
                                        {off.map(|p| view! { <span class="discount">{format!("−{p}%")}</span> })}
                                    </p>
                                    <StockBar sale=live />
                                    <dl class="facts">
                                        <dt>"Remaining"</dt><dd data-testid="remaining"><Remaining sale=live /></dd>
                                        <dt>"Limit per buyer"</dt><dd data-testid="limit">{s.per_buyer_limit}</dd>
                                        <dt>"Window"</dt>
                                        <dd>{format!("{} – {}", s.window.starts_at.utc_string(), s.window.ends_at.utc_string())}</dd>
                                    </dl>
                                    <p><Countdown sale=live /></p>
                                    <BuyBox sale=live status=s.status limit=s.per_buyer_limit choices=choices buy=buy error=buy_error />
                                    <p class="muted">{note}</p>
                                    <p class="description">{d.product_description.clone()}</p>
                                </div>
                            </article>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn BuyBox(
    sale: LiveSale,
    status: SaleStatus,
    limit: i64,
    choices: Option<crate::api::checkout::CheckoutChoices>,
    buy: ServerAction<Buy>,
    error: Signal<Option<crate::AppError>>,
) -> impl IntoView {
    let Some(c) = choices else {
        return view! {
            <p class="buy-cta"><a class="button" href=format!("/login?next=%2Fsales%2F{}", sale.id)>"Log in to buy"</a></p>
        }
        .into_any();
    };
    // An upcoming sale shows its form disabled: the Buy button enables itself at the start
    // time (with JavaScript; without, a reload at the start time shows it enabled).
    if !matches!(status, SaleStatus::Live | SaleStatus::Upcoming) {
        return view! { <FormError error=error /> }.into_any();
    }
    if !c.email_verified {
        return view! {
            <p class="notice" data-testid="verify-to-buy">
                {crate::api::checkout::VERIFY_TO_BUY} " " <a href="/account#account-verify">"Open your account"</a>
            </p>
        }
        .into_any();
    }
    let key = c.idempotency_key.clone();
    let (need_address, need_card) = (c.addresses.is_empty(), c.payment_methods.is_empty());
    view! {
        <ActionForm action=buy attr:class="stack-form buy-form">
            <BuyGate sale=sale>
            <FormError error=error />
            <input type="hidden" name="sale_id" value=sale.id.to_string() />
            <input type="hidden" name="idempotency_key" value=key />
            <div class="field">
                <label for="quantity">"Quantity"</label>
                <select id="quantity" name="quantity">
                    {(1..=limit.clamp(1, 99)).map(|q| view! { <option value=q.to_string()>{q}</option> }).collect_view()}
                </select>
            </div>
            {if need_address {
                view! {
                    <fieldset class="inline-entry">
                        <legend>"Deliver to"</legend>
                        <Field label="Receiver" name="receiver" error=error autocomplete="name" required=true />
                        <Field label="Street" name="street" error=error autocomplete="address-line1" required=true />
                        <Field label="ZIP code" name="zip" error=error autocomplete="postal-code" required=true />
                    </fieldset>
                }.into_any()
            } else {
                view! {
                    <AddressSelect addresses=c.addresses />
                }.into_any()
            }}
            {if need_card {
                view! {
                    <fieldset class="inline-entry">
                        <legend>"Pay with a card"</legend>
                        <Field label="Card holder" name="holder" error=error autocomplete="cc-name" required=true />
                        <Field label="Card number" name="number" error=error autocomplete="cc-number" required=true />
                        <Field label="Expiry (MM/YY)" name="expiry" error=error autocomplete="cc-exp" required=true />
                    </fieldset>
                }.into_any()
            } else {
                view! {
                    <PaymentSelect methods=c.payment_methods />
                }.into_any()
            }}
            <button type="submit" class="buy-now">"Buy now"</button>
            </BuyGate>
        </ActionForm>
    }
    .into_any()
}
