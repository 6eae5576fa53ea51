//! `/admin/orders/{id}`: one order's whole story — buyer, lines, payment and delivery, the saga
//! timeline with each event's payload, its outbox events and dead letters — and what an
//! operator can do about it.

use super::dead_letters::DeadLetterItem;
use super::{admin_access, done_notice, or_error, order_badge, staff_resource, AdminShell};
use crate::api::admin::orders::{admin_order, AdminCancelOrder, AdminRetryOrder, ReplayDeadLetter};
use crate::api::admin::returns::{ApproveReturn, RefuseReturn};
use crate::components::form::{action_error, FormError, TextArea};
use crate::components::returns::ReturnSummary;
use shop_domain::returns::{ReturnInfo, ReturnStatus};
use crate::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use shop_domain::admin::AdminOrderDetail;
use shop_domain::admin::StepRecord;
use shop_domain::OrderStatus;

fn step(title: &'static str, record: Option<StepRecord>) -> impl IntoView {
    view! {
        <div class="step-record">
            <h3>{title}</h3>
            {match record {
                None => view! { <p class="muted">"No record."</p> }.into_any(),
                Some(r) => view! {
                    <dl class="facts">
                        <dt>"Status"</dt><dd data-testid=format!("{}-status", title.to_lowercase())>{r.status}</dd>
                        {r.reference.map(|x| view! { <dt>"Reference"</dt><dd>{x}</dd> })}
                        {r.last_error.map(|x| view! { <dt>"Last error"</dt><dd class="error-text">{x}</dd> })}
                        <dt>"Updated"</dt><dd>{r.updated_at.utc_string()}</dd>
                    </dl>
                }.into_any(),
            }}
        </div>
    }
}

#[component]
pub fn AdminOrderPage() -> impl IntoView {
    let access = admin_access();
    let params = use_params_map();
    let order = staff_resource(access, move || params.read().get("id").unwrap_or_default(), admin_order);
    let cancel = ServerAction::<AdminCancelOrder>::new();
    let replay = ServerAction::<ReplayDeadLetter>::new();
    let retry = ServerAction::<AdminRetryOrder>::new();
    let approve = ServerAction::<ApproveReturn>::new();
    let refuse = ServerAction::<RefuseReturn>::new();
    view! {
        <Title text="Order · Admin" />
        <AdminShell access=access>
            <OrderDetail order=order cancel=cancel replay=replay retry=retry approve=approve refuse=refuse />
        </AdminShell>
    }
}

/// The order's return: what comes back and why, and, while it is requested, approve or refuse.
fn return_panel(
    order_id: i64,
    r: ReturnInfo,
    approve: ServerAction<ApproveReturn>,
    refuse: ServerAction<RefuseReturn>,
) -> impl IntoView {
    let error = Signal::derive(move || action_error(approve).get().or_else(|| action_error(refuse).get()));
    let open = r.status == ReturnStatus::Requested;
    view! {
        <section class="panel" id="return" aria-labelledby="return-h">
            <h2 id="return-h">"Return"</h2>
            <ReturnSummary info=r />
            {open.then(|| view! {
                <FormError error=error />
                <div class="row-actions">
                    <ActionForm action=approve attr:class="inline-form">
                        <input type="hidden" name="id" value=order_id.to_string() />
                        <button type="submit">"Approve: refund and restock"</button>
                    </ActionForm>
                </div>
                <ActionForm action=refuse attr:class="refuse-form">
                    <input type="hidden" name="id" value=order_id.to_string() />
                    <TextArea label="Why refuse? (the buyer is told)" name="note" error=error rows=2 />
                    <button type="submit" class="button-secondary">"Refuse the return"</button>
                </ActionForm>
            })}
        </section>
    }
}

#[component]
fn OrderDetail(
    order: Resource<Result<AdminOrderDetail, AppError>>,
    cancel: ServerAction<AdminCancelOrder>,
    replay: ServerAction<ReplayDeadLetter>,
    retry: ServerAction<AdminRetryOrder>,
    approve: ServerAction<ApproveReturn>,
    refuse: ServerAction<RefuseReturn>,
) -> impl IntoView {
    let action_err = Signal::derive(move || {
        action_error(cancel)
            .get()
            .or_else(|| action_error(replay).get())
            .or_else(|| action_error(retry).get())
    });
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                or_error(order.await, |o| {
                    let id = o.id.to_string();
                    view! {
                        <Title text=format!("Order #{} · Admin", o.id) />
                        <nav class="breadcrumbs" aria-label="Breadcrumb"><a href="/admin/orders">"Orders"</a></nav>
                        <div class="listing-head">
                            <h1>{format!("Order #{}", o.id)}</h1>
                            {order_badge(o.status)}
                        </div>
                        {done_notice(&[
                            ("cancelled", "Order cancelled. A paid order is refunded by the payment worker; the stock is back on sale."),
                            ("retried", "The current step was sent again."),
                            ("return-approved", "Return approved. The payment worker refunds it and the units go back into stock."),
                            ("return-refused", "Return refused. The buyer gets a mail with your note."),
                        ])}
                        <FormError error=action_err />
                        {o.failure_reason.clone().map(|r| view! { <p class="muted" data-testid="failure-reason">{r}</p> })}
                        <dl class="facts">
                            <dt>"Buyer"</dt>
                            <dd><a href=format!("/admin/orders?buyer=%23{}", o.buyer_id)>{format!("{} <{}>", o.buyer_name, o.buyer_email)}</a></dd>
                            <dt>"Total"</dt><dd data-testid="order-total">{o.total.to_string()}</dd>
                            <dt>"Ship to"</dt><dd>{o.ship_to.clone()}</dd>
                            <dt>"Payment"</dt><dd>{o.payment_label.clone()}</dd>
                            {o.sale_id.map(|s| view! { <dt>"Flash sale"</dt><dd><a href=format!("/admin/sales/{s}")>{format!("#{s}")}</a></dd> })}
                            <dt>"Placed"</dt><dd>{o.created_at.utc_string()}</dd>
                            <dt>"Last change"</dt><dd>{o.updated_at.utc_string()}</dd>
                        </dl>

                        <section class="panel" aria-labelledby="actions-h">
                            <h2 id="actions-h">"Actions"</h2>
                            <div class="row-actions">
                                {o.cancellable.then(|| {
                                    let id = id.clone();
                                    view! {
                                        <ActionForm action=cancel attr:class="inline-form">
                                            <input type="hidden" name="id" value=id />
                                            <button type="submit" class="button-secondary">
                                                {if o.status == OrderStatus::Paid { "Cancel and refund" } else { "Cancel order" }}
                                            </button>
                                        </ActionForm>
                                    }
                                })}
                                {(!o.status.is_final()).then(|| {
                                    let id = o.id.to_string();
                                    view! {
                                        <ActionForm action=retry attr:class="inline-form">
                                            <input type="hidden" name="id" value=id />
                                            <button type="submit" class="button-secondary">"Retry current step"</button>
                                        </ActionForm>
                                    }
                                })}
                            </div>
                            {(!o.cancellable).then(|| view! {
                                <p class="muted small">{if o.status.can_cancel() {
                                    "No cancel: the parcel is being handed to the carrier.".to_string()
                                } else {
                                    format!("No cancel: the order is {}.", o.status.label().to_lowercase())
                                }}</p>
                            })}
                        </section>

                        {o.return_info.clone().map(|r| return_panel(o.id, r, approve, refuse))}

                        <section class="panel" aria-labelledby="lines-h">
                            <h2 id="lines-h">"Lines"</h2>
                            <table class="order-lines">
                                <thead><tr><th>"Item"</th><th>"Qty"</th><th>"Unit price"</th></tr></thead>
                                <tbody>
                                    {o.lines.iter().map(|l| view! {
                                        <tr>
                                            <td><a href=format!("/admin/products/{}", l.product_id)>{l.name.clone()}</a></td>
                                            <td>{l.quantity}</td>
                                            <td>{l.unit_price.to_string()}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </section>

                        <section class="panel steps" aria-label="Payment and delivery">
                            {step("Payment", o.payment.clone())}
                            {step("Delivery", o.delivery.clone())}
                        </section>

                        <section class="panel" aria-labelledby="timeline-h">
                            <h2 id="timeline-h">"Saga timeline"</h2>
                            <ol class="timeline admin-timeline" data-testid="timeline">
                                {o.timeline.iter().map(|e| view! {
                                    <li>
                                        <strong>{e.kind.clone()}</strong> " — " {e.detail.clone()} " "
                                        <span class="muted small">{e.at.utc_string()}</span>
                                        {e.payload.clone().map(|p| view! {
                                            <details><summary>"Event payload"</summary><pre class="payload">{p}</pre></details>
                                        })}
                                    </li>
                                }).collect_view()}
                            </ol>
                        </section>

                        <section class="panel" aria-labelledby="outbox-h">
                            <h2 id="outbox-h">"Published events"</h2>
                            {if o.outbox.is_empty() {
                                view! { <p class="muted">"None."</p> }.into_any()
                            } else {
                                view! {
                                    <div class="table-wrap"><table class="admin-table" data-testid="outbox">
                                        <thead><tr><th>"Event"</th><th>"Type"</th><th>"Queued"</th><th>"Sent"</th><th>"Attempts"</th><th>"Last error"</th></tr></thead>
                                        <tbody>
                                            {o.outbox.iter().map(|e| view! {
                                                <tr>
                                                    <td class="small"><code>{e.event_id.clone()}</code></td>
                                                    <td>{e.event_type.clone()}</td>
                                                    <td class="small">{e.created_at.utc_string()}</td>
                                                    <td class="small">{e.sent_at.map(|t| t.utc_string()).unwrap_or_else(|| "waiting".into())}</td>
                                                    <td>{e.attempts}</td>
                                                    <td class="small">{e.last_error.clone().unwrap_or_default()}</td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table></div>
                                }.into_any()
                            }}
                        </section>

                        {(!o.dead_letters.is_empty()).then(|| view! {
                            <section class="panel" aria-labelledby="dead-h">
                                <h2 id="dead-h">"Dead letters"</h2>
                                <ul class="dead-letters">
                                    {o.dead_letters.iter().cloned().map(|d| view! { <DeadLetterItem letter=d replay=replay /> }).collect_view()}
                                </ul>
                            </section>
                        })}
                    }.into_any()
                })
            })}
        </Suspense>
    }
}
