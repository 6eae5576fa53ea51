//! `/admin/sales?page=`: every flash sale, the latest start first.

use super::{admin_access, or_error, pager, staff_resource, AdminShell};
use crate::api::admin::sales::admin_sales;
use crate::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use shop_domain::{Page, SaleSummary};

#[component]
pub fn AdminSalesPage() -> impl IntoView {
    let access = admin_access();
    let params = use_query_map();
    let list = staff_resource(access, move || params.read().get("page"), admin_sales);
    view! {
        <Title text="Flash sales · Admin" />
        <AdminShell access=access>
            <SaleList list=list />
        </AdminShell>
    }
}

#[component]
fn SaleList(list: Resource<Result<Page<SaleSummary>, AppError>>) -> impl IntoView {
    view! {
        <div class="listing-head">
            <h1>"Flash sales"</h1>
            <a class="button" href="/admin/sales/new">"New flash sale"</a>
        </div>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                or_error(list.await, |page| {
                    let total_pages = page.total_pages();
                    view! {
                        <div class="table-wrap"><table class="admin-table" data-testid="sales">
                            <thead><tr><th>"Sale"</th><th>"Product"</th><th>"Status"</th><th>"Price"</th>
                                <th>"Sold / quantity"</th><th>"Limit"</th><th>"Window (UTC)"</th></tr></thead>
                            <tbody>
                                {page.items.into_iter().map(|s| view! {
                                    <tr class="sale-row">
                                        <td><a href=format!("/admin/sales/{}", s.id)>{s.title.clone()}</a>
                                            <span class="muted small">{format!(" #{}", s.id)}</span></td>
                                        <td><a href=format!("/admin/products/{}", s.product_id)>{s.product_name.clone()}</a></td>
                                        <td><span class=s.status.css_class()>{s.status.to_string()}</span></td>
                                        <td>{s.sale_price.to_string()}</td>
                                        <td>{format!("{} / {}", s.sold, s.quantity)}</td>
                                        <td>{s.per_buyer_limit}</td>
                                        <td class="small">{format!("{} – {}", s.window.starts_at.utc_string(), s.window.ends_at.utc_string())}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table></div>
                        {pager(page.page, total_pages, |n| if n > 1 { format!("/admin/sales?page={n}") } else { "/admin/sales".into() })}
                    }.into_any()
                })
            })}
        </Suspense>
    }
}
