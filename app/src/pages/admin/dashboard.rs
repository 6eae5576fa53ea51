//! `/admin`: what is happening now.

use super::{admin_access, or_error, staff_resource, AdminShell};
use crate::api::admin::overview::admin_dashboard;
use crate::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use crate::components::activity::ActivityView;
use shop_domain::activity::SaleActivity;
use shop_domain::admin::Dashboard;
use shop_domain::time::human_duration;

#[component]
pub fn DashboardPage() -> impl IntoView {
    let access = admin_access();
    let board = staff_resource(access, || (), |_| admin_dashboard());
    view! {
        <Title text="Admin" />
        <AdminShell access=access>
            <DashboardView board=board />
        </AdminShell>
    }
}

#[component]
fn DashboardView(board: Resource<Result<Dashboard, AppError>>) -> impl IntoView {
    view! {
        <h1>"Dashboard"</h1>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                or_error(board.await, |b| view! {
                    <section class="admin-stats" aria-label="Today">
                        <div class="stat">
                            <span class="stat-label">"Revenue today (UTC)"</span>
                            <span class="stat-value" data-testid="revenue-today">{b.revenue_today.to_string()}</span>
                            <span class="muted small">{format!("{} paid order(s)", b.paid_orders_today)}</span>
                        </div>
                        <div class="stat">
                            <span class="stat-label">"Live sales"</span>
                            <span class="stat-value" data-testid="live-count">{b.live_sales.len()}</span>
                        </div>
                        <div class="stat">
                            <span class="stat-label">"Dead letters waiting"</span>
                            <a class="stat-value" href="/admin/dead-letters" data-testid="dead-letters-waiting">{b.dead_letters_waiting}</a>
                        </div>
                    </section>

                    <section class="panel" id="live-sales" aria-labelledby="live-h"
                        data-follow="/api/live/admin/sales" data-version=SaleActivity::versions(&b.activity)>
                        <h2 id="live-h">"Sales running now"</h2>
                        {if b.live_sales.is_empty() {
                            view! { <p class="muted">"No sale is live right now. " <a href="/admin/sales/new">"Create one"</a></p> }.into_any()
                        } else {
                            view! {
                                <div class="table-wrap"><table data-testid="live-sales">
                                    <thead><tr><th>"Sale"</th><th>"Product"</th><th>"Sold"</th><th>"Remaining"</th><th>"Ends in"</th></tr></thead>
                                    <tbody>
                                        {b.live_sales.iter().map(|s| view! {
                                            <tr>
                                                <td><a href=format!("/admin/sales/{}", s.id)>{s.title.clone()}</a></td>
                                                <td>{s.product_name.clone()}</td>
                                                <td data-testid="sold">{format!("{} / {}", s.sold, s.quantity)}</td>
                                                <td data-testid="remaining">{s.remaining()}</td>
                                                <td>{human_duration(s.as_of.secs_until(s.window.ends_at))}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table></div>
                                {b.live_sales.iter().zip(b.activity.iter()).map(|(s, a)| view! {
                                    <h3>{format!("Activity: {}", s.title)}</h3>
                                    <ActivityView activity=a.clone() />
                                }).collect_view()}
                            }.into_any()
                        }}
                    </section>

                    <section class="panel" aria-labelledby="status-h">
                        <h2 id="status-h">"Orders by status"</h2>
                        <dl class="facts status-counts">
                            {b.orders_by_status.iter().map(|(status, n)| view! {
                                <dt><a href=format!("/admin/orders?status={}", status.as_str())>{status.label()}</a></dt>
                                <dd data-testid=format!("count-{}", status.as_str())>{*n}</dd>
                            }).collect_view()}
                        </dl>
                    </section>
                    <p class="muted small">{format!("As of {}. Sales running now follow the stock gate live (with JavaScript); reload for the rest.", b.as_of.utc_string())}</p>
                }.into_any())
            })}
        </Suspense>
    }
}
