//! `/admin/orders?status=&from=&to=&buyer=&page=`: every order, filtered.

use super::{admin_access, or_error, order_badge, pager, staff_resource, AdminShell};
use crate::api::admin::orders::{admin_orders, AdminOrderList};
use crate::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use shop_domain::admin::ALL_STATUSES;

#[component]
pub fn AdminOrdersPage() -> impl IntoView {
    let access = admin_access();
    let params = use_query_map();
    let list = staff_resource(
        access,
        move || {
            let p = params.read();
            (p.get("status"), p.get("from"), p.get("to"), p.get("buyer"), p.get("page"))
        },
        |(status, from, to, buyer, page)| admin_orders(status, from, to, buyer, page),
    );
    view! {
        <Title text="Orders · Admin" />
        <AdminShell access=access>
            <OrderList list=list />
        </AdminShell>
    }
}

#[component]
fn OrderList(list: Resource<Result<AdminOrderList, AppError>>) -> impl IntoView {
    let params = use_query_map();
    // The filter form shows what was asked for, even when it was refused.
    let asked = move |k: &str| params.read_untracked().get(k).unwrap_or_default();
    let status = asked("status").to_uppercase();
    view! {
        <h1>"Orders"</h1>
        <form class="admin-filters" method="get" action="/admin/orders" aria-label="Filter orders">
            <div class="field">
                <label for="f-status">"Status"</label>
                <select id="f-status" name="status">
                    <option value="">"Any"</option>
                    {ALL_STATUSES.iter().map(|s| {
                        let selected = status == s.as_str();
                        view! { <option value=s.as_str() selected=selected>{s.label()}</option> }
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="f-from">"From (UTC)"</label>
                <input id="f-from" name="from" type="date" value=asked("from") />
            </div>
            <div class="field">
                <label for="f-to">"To (UTC)"</label>
                <input id="f-to" name="to" type="date" value=asked("to") />
            </div>
            <div class="field">
                <label for="f-buyer">"Buyer"</label>
                <input id="f-buyer" name="buyer" type="search" maxlength="80" placeholder="email, name or #id" value=asked("buyer") />
            </div>
            <button type="submit">"Filter"</button>
            <a href="/admin/orders">"Clear"</a>
        </form>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                or_error(list.await, |r| {
                    let total_pages = r.page.total_pages();
                    let filter = r.filter.clone();
                    if r.page.items.is_empty() {
                        return view! { <div class="empty"><p><strong>"No orders match."</strong></p></div> }.into_any();
                    }
                    view! {
                        <p class="muted result-count">{format!("{} order(s)", r.page.total_items)}</p>
                        <div class="table-wrap"><table class="admin-table" data-testid="orders">
                            <thead><tr><th>"Order"</th><th>"Placed (UTC)"</th><th>"Buyer"</th><th>"Status"</th><th>"Items"</th><th>"Total"</th></tr></thead>
                            <tbody>
                                {r.page.items.into_iter().map(|o| view! {
                                    <tr class="order-row">
                                        <td><a href=format!("/admin/orders/{}", o.id)>{format!("#{}", o.id)}</a></td>
                                        <td class="small">{o.created_at.utc_string()}</td>
                                        <td>{o.buyer_email.clone()}</td>
                                        <td>{order_badge(o.status)}</td>
                                        <td>{format!("{} × {}", o.item_count, o.first_item)}</td>
                                        <td class="price">{o.total.to_string()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table></div>
                        {pager(r.page.page, total_pages, move |n| filter.url_for_page(n))}
                    }.into_any()
                })
            })}
        </Suspense>
    }
}
