//! `/admin/audit?page=`: every admin action — who, what, when — newest first.

use super::{admin_access, or_error, pager, staff_resource, AdminShell};
use crate::api::admin::overview::admin_audit_log;
use crate::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use shop_domain::admin::AuditEntry;
use shop_domain::Page;

/// `product:12` → a link to that record's admin page, when it has one.
fn target_link(target: &str) -> Option<String> {
    let (kind, id) = target.split_once(':')?;
    let section = match kind {
        "product" => "products",
        "sale" => "sales",
        "order" => "orders",
        "dead_letter" => return Some(format!("/admin/dead-letters#dead-letter-{id}")),
        _ => return None,
    };
    Some(format!("/admin/{section}/{id}"))
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let access = admin_access();
    let params = use_query_map();
    let log = staff_resource(access, move || params.read().get("page"), admin_audit_log);
    view! {
        <Title text="Audit log · Admin" />
        <AdminShell access=access>
            <AuditLog log=log />
        </AdminShell>
    }
}

#[component]
fn AuditLog(log: Resource<Result<Page<AuditEntry>, AppError>>) -> impl IntoView {
    view! {
        <h1>"Audit log"</h1>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                or_error(log.await, |page| {
                    let total_pages = page.total_pages();
                    if page.items.is_empty() {
                        return view! { <div class="empty"><p><strong>"Nothing recorded yet."</strong></p></div> }.into_any();
                    }
                    view! {
                        <div class="table-wrap"><table class="admin-table" data-testid="audit">
                            <thead><tr><th>"When (UTC)"</th><th>"Who"</th><th>"Action"</th><th>"Target"</th><th>"Detail"</th></tr></thead>
                            <tbody>
                                {page.items.into_iter().map(|e| view! {
                                    <tr class="audit-row">
                                        <td class="small">{e.at.utc_string()}</td>
                                        <td>{e.actor.clone().unwrap_or_else(|| "system".into())}</td>
                                        <td><code>{e.action.clone()}</code></td>
                                        <td>{match target_link(&e.target) {
                                            Some(href) => view! { <a href=href>{e.target.clone()}</a> }.into_any(),
                                            None => view! { <span>{e.target.clone()}</span> }.into_any(),
                                        }}</td>
                                        <td class="small">{e.detail.clone()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table></div>
                        {pager(page.page, total_pages, |n| if n > 1 { format!("/admin/audit?page={n}") } else { "/admin/audit".into() })}
                    }.into_any()
                })
            })}
        </Suspense>
    }
}
