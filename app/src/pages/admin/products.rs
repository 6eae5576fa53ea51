//! `/admin/products?q=&page=`: every product, archived too, with search and paging.

use super::{admin_access, done_notice, or_error, pager, staff_resource, AdminShell};
use crate::api::admin::products::{admin_products, AdminProductList};
use crate::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AdminProductsPage() -> impl IntoView {
    let access = admin_access();
    let params = use_query_map();
    let list = staff_resource(
        access,
        move || {
            let p = params.read();
            (p.get("q"), p.get("page"))
        },
        |(q, page)| admin_products(q, page),
    );
    view! {
        <Title text="Products · Admin" />
        <AdminShell access=access>
            <ProductList list=list />
        </AdminShell>
    }
}

#[component]
fn ProductList(list: Resource<Result<AdminProductList, AppError>>) -> impl IntoView {
    let params = use_query_map();
    let typed = move || params.read().get("q").unwrap_or_default();
    view! {
        <div class="listing-head">
            <h1>"Products"</h1>
            <a class="button" href="/admin/products/new">"New product"</a>
        </div>
        {done_notice(&[("deleted", "Product deleted.")])}
        <form class="admin-filters" method="get" action="/admin/products" role="search">
            <label for="admin-q">"Name or #id"</label>
            <input id="admin-q" name="q" type="search" maxlength="80" value=typed />
            <button type="submit">"Search"</button>
        </form>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                or_error(list.await, |r| {
                    let total_pages = r.page.total_pages();
                    let query = r.query.clone();
                    view! {
                        <p class="muted result-count">{format!("{} product(s)", r.page.total_items)}</p>
                        <div class="table-wrap"><table class="admin-table" data-testid="products">
                            <thead><tr><th></th><th>"Name"</th><th>"Price"</th><th>"Stock"</th><th>"Sold"</th><th>"State"</th></tr></thead>
                            <tbody>
                                {r.page.items.into_iter().map(|p| view! {
                                    <tr class="product-row">
                                        <td><img class="admin-thumb" src=p.image_url.clone() alt="" width="48" height="36" loading="lazy" /></td>
                                        <td><a href=format!("/admin/products/{}", p.id)>{p.name.clone()}</a>
                                            <span class="muted small">{format!(" #{}", p.id)}</span></td>
                                        <td>{p.price.to_string()}</td>
                                        <td>{p.stock}</td>
                                        <td>{p.sold_count}</td>
                                        <td>{if p.archived {
                                            view! { <span class="badge badge-ended">"Archived"</span> }.into_any()
                                        } else {
                                            view! { <span class="badge badge-live">"In shop"</span> }.into_any()
                                        }}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table></div>
                        {pager(r.page.page, total_pages, move |n| query.url_for_page(n))}
                    }.into_any()
                })
            })}
        </Suspense>
    }
}
