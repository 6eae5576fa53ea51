//! `/admin/returns?status=&page=`: the returns queue (requested / approved / refunded /
//! refused); each row opens its order, where staff approve or refuse it.

use super::{admin_access, or_error, pager, staff_resource, AdminShell};
use crate::api::admin::returns::{admin_returns, ReturnList};
use crate::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use shop_domain::returns::ReturnStatus;

#[component]
pub fn AdminReturnsPage() -> impl IntoView {
    let access = admin_access();
    let params = use_query_map();
    let list = staff_resource(
        access,
        move || {
            let p = params.read();
            (p.get("status"), p.get("page"))
        },
        |(status, page)| admin_returns(status, page),
    );
    view! {
        <Title text="Returns · Admin" />
        <AdminShell access=access>
            <ReturnQueue list=list />
        </AdminShell>
    }
}

/// A return's status as a badge.
pub fn return_badge(s: ReturnStatus) -> impl IntoView {
    let class = match s {
        ReturnStatus::Requested => "badge badge-upcoming",
        ReturnStatus::Approved | ReturnStatus::Refunded => "badge badge-live",
        ReturnStatus::Refused => "badge badge-ended",
    };
    view! { <span class=class data-testid="return-status">{s.label()}</span> }
}

#[component]
fn ReturnQueue(list: Resource<Result<ReturnList, AppError>>) -> impl IntoView {
    let params = use_query_map();
    let status = params.read_untracked().get("status").unwrap_or_default().to_uppercase();
    view! {
        <h1>"Returns"</h1>
        <form class="admin-filters" method="get" action="/admin/returns" aria-label="Filter returns">
            <div class="field">
                <label for="r-status">"Status"</label>
                <select id="r-status" name="status">
                    <option value="">"Any"</option>
                    {ReturnStatus::ALL.iter().map(|s| {
                        let selected = status == s.as_str();
                        view! { <option value=s.as_str() selected=selected>{s.label()}</option> }
                    }).collect_view()}
                </select>
            </div>
            <button type="submit">"Filter"</button>
            <a href="/admin/returns">"Clear"</a>
        </form>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                or_error(list.await, |r| {
                    let total_pages = r.page.total_pages();
                    let filter = r.filter;
                    if r.page.items.is_empty() {
                        return view! { <div class="empty"><p><strong>"No returns match."</strong></p></div> }.into_any();
                    }
                    view! {
                        <p class="muted result-count">{format!("{} return(s)", r.page.total_items)}</p>
                        <div class="table-wrap"><table class="admin-table" data-testid="returns">
                            <thead><tr><th>"Order"</th><th>"Requested (UTC)"</th><th>"Buyer"</th><th>"Status"</th><th>"Items"</th><th>"Refund"</th><th>"Reason"</th></tr></thead>
                            <tbody>
                                {r.page.items.into_iter().map(|x| view! {
                                    <tr class="return-row">
                                        <td><a href=format!("/admin/orders/{}#return-h", x.order_id)>{format!("#{}", x.order_id)}</a></td>
                                        <td class="small">{x.requested_at.utc_string()}</td>
                                        <td>{x.buyer.clone()}</td>
                                        <td>{return_badge(x.status)}
                                            {x.restocked.then(|| view! { " " <span class="muted small">"restocked"</span> })}</td>
                                        <td>{x.units}</td>
                                        <td class="price">{x.amount.to_string()}</td>
                                        <td class="small">{x.reason.clone()}</td>
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
