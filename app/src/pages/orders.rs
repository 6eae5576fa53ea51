use crate::api::orders::{get_order, my_orders, CancelOrder, RequestReturn};
use crate::components::error_view::{login_required, ErrorView};
use crate::components::form::{action_error, echoed, FormError, TextArea};
use crate::components::returns::ReturnSummary;
use crate::AppError;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_params_map;
use shop_domain::{OrderProgress, OrderStatus};

fn status_badge(s: OrderStatus) -> impl IntoView {
    let class = match s {
        OrderStatus::Delivered => "badge badge-live",
        OrderStatus::Failed | OrderStatus::Cancelled => "badge badge-ended",
        _ => "badge badge-upcoming",
    };
    view! { <span class=class data-testid="order-status">{s.label()}</span> }
}

#[component]
pub fn OrdersPage() -> impl IntoView {
    let orders = Resource::new(|| (), |_| my_orders());
    view! {
        <Title text="My orders" />
        <h1>"My orders"</h1>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match orders.await {
                    Err(AppError::Unauthorized(_)) => login_required("/orders"),
                    Err(e) => view! { <ErrorView error=e /> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <div class="empty">
                            <p><strong>"No orders yet."</strong></p>
                            <p><a class="button" href="/">"See what's on sale"</a></p>
                        </div>
                    }.into_any(),
                    Ok(list) => view! {
                        <ul class="order-list">
                            {list.into_iter().map(|o| view! {
                                <li class="order-row">
                                    <a href=format!("/orders/{}", o.id)>{format!("Order #{}", o.id)}</a>
                                    " " {status_badge(o.status)}
                                    <span class="muted">{format!(" {} × {}", o.item_count, o.first_item)}</span>
                                    <span class="price">{o.total.to_string()}</span>
                                    <span class="muted small">{o.created_at.utc_string()}</span>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn OrderPage() -> impl IntoView {
    let params = use_params_map();
    let order = Resource::new(move || params.read().get("id").unwrap_or_default(), get_order);
    let cancel = ServerAction::<CancelOrder>::new();
    let cancel_error = action_error(cancel);
    let give_back = ServerAction::<RequestReturn>::new();
    let return_error = action_error(give_back);
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match order.await {
                    Err(AppError::Unauthorized(_)) => login_required(&format!("/orders/{}", params.read_untracked().get("id").unwrap_or_default())),
                    Err(e) => view! { <ErrorView error=e /> }.into_any(),
                    Ok(o) => {
                        let progress = OrderProgress::of(&o);
                        // With the client bundle, an order on its way is followed live
                        // (`live::swap`): this part of the page is rendered again as it moves.
                        let follow = (!o.status.is_final()).then(|| format!("/api/live/orders/{}", o.id));
                        view! {
                        <Title text=format!("Order #{}", o.id) />
                        <nav class="breadcrumbs" aria-label="Breadcrumb"><a href="/orders">"My orders"</a></nav>
                        <div id="order" data-follow=follow data-version=progress.version()>
                        <h1>{format!("Order #{}", o.id)}</h1>
                        <p>{status_badge(o.status)}
                            {o.failure_reason.clone().map(|r| view! { " " <span class="muted">{r}</span> })}
                        </p>
                        <table class="order-lines">
                            <thead><tr><th>"Item"</th><th>"Qty"</th><th>"Price"</th></tr></thead>
                            <tbody>
                                {o.lines.iter().map(|l| view! {
                                    <tr>
                                        <td><a href=format!("/products/{}", l.product_id)>{l.name.clone()}</a></td>
                                        <td>{l.quantity}</td>
                                        <td>{l.unit_price.to_string()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        <dl class="facts">
                            <dt>"Total"</dt><dd data-testid="order-total">{o.total.to_string()}</dd>
                            <dt>"Ship to"</dt><dd>{o.ship_to.clone()}</dd>
                            <dt>"Payment"</dt><dd data-testid="order-payment">{o.payment_label.clone()}</dd>
                            <dt>"Placed"</dt><dd>{o.created_at.utc_string()}</dd>
                        </dl>
                        <h2>"Timeline"</h2>
                        <ol class="timeline">
                            {o.events.iter().map(|e| view! {
                                <li data-testid="timeline-entry"><strong>{shop_domain::saga::timeline_label(&e.kind)}</strong>
                                    " — " {e.detail.clone()} " " <span class="muted small">{e.at.utc_string()}</span></li>
                            }).collect_view()}
                        </ol>
                        <FormError error=cancel_error />
                        {o.cancellable.then(|| view! {
                            <ActionForm action=cancel attr:class="cancel-form" attr:data-swap="order">
                                <input type="hidden" name="id" value=o.id.to_string() />
                                <button type="submit" class="button-secondary">"Cancel order"</button>
                            </ActionForm>
                        })}
                        {(!o.status.is_final()).then(live_note)}
                        {crate::pages::done_notice(&[("return", "Return requested. We will answer it soon; you will get a mail.")])}
                        {o.return_info.clone().map(|r| view! {
                            <section class="panel" id="return" aria-labelledby="return-h">
                                <h2 id="return-h">"Return"</h2>
                                <ReturnSummary info=r />
                            </section>
                        })}
                        {o.return_until.map(|until| return_form(&o, until, give_back, return_error))}
                        </div>
                        // Outside the followed region: a fetched copy of a <noscript> would hold
                        // a live refresh (see `live::swap`).
                        {(!o.status.is_final()).then(refresh_without_js)}
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// "Return items": a quantity per line (all of it to start with), and why.
fn return_form(
    o: &shop_domain::OrderDetail,
    until: shop_domain::Timestamp,
    action: ServerAction<RequestReturn>,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let qty_error = move || error.get().and_then(|e| e.field_message("qty"));
    let order_id = o.id.to_string();
    let rows = o
        .lines
        .iter()
        .map(|l| {
            let name = format!("qty[{}]", l.line_id);
            let value = echoed(&name).unwrap_or_else(|| l.quantity.to_string());
            let id = format!("return-qty-{}", l.line_id);
            view! {
                <tr>
                    <td><label for=id.clone()>{l.name.clone()}</label></td>
                    <td>{l.quantity}</td>
                    <td><input id=id type="number" name=name min="0" max=l.quantity.to_string() value=value
                        aria-describedby=move || qty_error().map(|_| "qty-error") /></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="panel" id="return" aria-labelledby="return-h">
            <h2 id="return-h">"Return items"</h2>
            <p class="muted" data-testid="return-until">{format!("You can return this order until {}.", until.utc_string())}</p>
            <ActionForm action=action attr:class="return-form" attr:data-swap="order">
                <input type="hidden" name="id" value=order_id />
                <FormError error=error />
                <table class="order-lines">
                    <thead><tr><th>"Item"</th><th>"Bought"</th><th>"Return"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
                {move || qty_error().map(|m| view! { <p class="field-error" id="qty-error" role="alert">{m}</p> })}
                <TextArea label="Why are you returning it?" name="reason" error=error rows=3 />
                <button type="submit" class="button-secondary">"Request a return"</button>
            </ActionForm>
        </section>
    }
}

/// What an order page on its way says.
fn live_note() -> impl IntoView {
    let text = if crate::hydration_bundle() {
        "This page follows your order while it is on its way."
    } else {
        "This page refreshes every few seconds while your order is on its way."
    };
    view! { <p class="muted" data-testid="live-note">{text}</p> }
}

/// Without JavaScript an order page on its way reloads itself every 5 s. With the client
/// bundle it follows the order's stream instead, so the refresh is a `<noscript>` one then (a
/// browser running the bundle never reloads).
fn refresh_without_js() -> impl IntoView {
    if crate::hydration_bundle() {
        view! { <noscript><meta http-equiv="refresh" content="5" /></noscript> }.into_any()
    } else {
        view! { <Meta http_equiv="refresh" content="5" /> }.into_any()
    }
}
