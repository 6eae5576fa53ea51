//! `/admin/sales/new?product=` and `/admin/sales/{id}`: create and edit a flash sale.

use super::{admin_access, done_notice, or_error, staff_resource, AdminShell};
use crate::api::admin::products::{admin_sale_options, SaleFormOptions};
use crate::api::admin::activity::admin_sale_activity;
use crate::api::admin::sales::{admin_sale, CreateSale, UpdateSale};
use crate::components::activity::SaleActivityPanel;
use crate::components::form::{action_error, Field, FormError, SelectField};
use crate::components::live_sale::StockBar;
use crate::live::LiveSale;
use crate::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use shop_domain::admin::input::datetime_value;
use shop_domain::activity::SaleActivity;
use shop_domain::{Money, SaleStatus, SaleSummary, Timestamp};

fn money_value(m: Money) -> String {
    format!("{}.{:02}", m.minor() / 100, m.minor() % 100)
}

#[derive(Clone)]
struct Values {
    title: String,
    sale_price: String,
    quantity: String,
    per_buyer_limit: String,
    starts_at: String,
    ends_at: String,
}

/// The sale fields, shared by both forms.
#[component]
fn SaleFields(
    values: Values,
    error: Signal<Option<AppError>>,
    #[prop(default = false)] live: bool,
) -> impl IntoView {
    view! {
        <Field label="Title" name="title" value=values.title error=error required=true hint="Shown to shoppers, e.g. “Midnight drop”" />
        <div class="field-row">
            <Field label="Sale price" name="sale_price" value=values.sale_price error=error required=true
                hint="In dollars, below the regular price" />
            <Field label="Quantity" name="quantity" kind="number" value=values.quantity error=error required=true
                hint=if live { "Live: can only be raised" } else { "Units on sale, at most the free stock" } />
            <Field label="Limit per buyer" name="per_buyer_limit" kind="number" value=values.per_buyer_limit error=error required=true />
        </div>
        <div class="field-row">
            <Field label="Starts (UTC)" name="starts_at" kind="datetime-local" value=values.starts_at error=error required=true
                hint=if live { "Live: the start can't move" } else { "YYYY-MM-DD HH:MM, UTC" } />
            <Field label="Ends (UTC)" name="ends_at" kind="datetime-local" value=values.ends_at error=error required=true
                hint="YYYY-MM-DD HH:MM, UTC" />
        </div>
    }
}

#[component]
pub fn NewSalePage() -> impl IntoView {
    let access = admin_access();
    let options = staff_resource(access, || (), |_| admin_sale_options());
    let create = ServerAction::<CreateSale>::new();
    view! {
        <Title text="New flash sale · Admin" />
        <AdminShell access=access>
            <NewSale options=options create=create />
        </AdminShell>
    }
}

#[component]
fn NewSale(
    options: Resource<Result<SaleFormOptions, AppError>>,
    create: ServerAction<CreateSale>,
) -> impl IntoView {
    let preselected = use_query_map().read_untracked().get("product");
    let error = action_error(create);
    view! {
        <nav class="breadcrumbs" aria-label="Breadcrumb"><a href="/admin/sales">"Flash sales"</a></nav>
        <h1>"New flash sale"</h1>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                let preselected = preselected.clone();
                Suspend::new(async move {
                    or_error(options.await, |o| {
                        // Starts now (to the minute), runs an hour.
                        let start = Timestamp::from_millis(o.now.millis() / 60_000 * 60_000);
                        let values = Values {
                            title: String::new(),
                            sale_price: String::new(),
                            quantity: String::new(),
                            per_buyer_limit: "1".into(),
                            starts_at: datetime_value(start),
                            ends_at: datetime_value(start.plus_secs(3600)),
                        };
                        let products: Vec<(String, String)> = o
                            .products
                            .iter()
                            .map(|p| (p.id.to_string(), format!("{} — {}, {} in stock (#{})", p.name, p.price, p.stock, p.id)))
                            .collect();
                        view! {
                            <section class="panel">
                                <ActionForm action=create attr:class="stack-form admin-form" attr:novalidate=true>
                                    <FormError error=error />
                                    <SelectField label="Product" name="product_id" options=products
                                        selected=preselected.unwrap_or_default() error=error placeholder="Choose a product…" />
                                    <SaleFields values=values error=error />
                                    <button type="submit">"Create flash sale"</button>
                                </ActionForm>
                            </section>
                        }.into_any()
                    })
                })
            }}
        </Suspense>
    }
}

#[component]
pub fn EditSalePage() -> impl IntoView {
    let access = admin_access();
    let params = use_params_map();
    let sale = staff_resource(access, move || params.read().get("id").unwrap_or_default(), admin_sale);
    let activity =
        staff_resource(access, move || params.read().get("id").unwrap_or_default(), admin_sale_activity);
    let update = ServerAction::<UpdateSale>::new();
    view! {
        <Title text="Flash sale · Admin" />
        <AdminShell access=access>
            <EditSale sale=sale activity=activity update=update />
        </AdminShell>
    }
}

#[component]
fn EditSale(
    sale: Resource<Result<SaleSummary, AppError>>,
    activity: Resource<Result<SaleActivity, AppError>>,
    update: ServerAction<UpdateSale>,
) -> impl IntoView {
    let error = action_error(update);
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                // Without the gate's figures the page still edits the sale.
                let activity = activity.await.ok();
                or_error(sale.await, |s| {
                    let values = Values {
                        title: s.title.clone(),
                        sale_price: money_value(s.sale_price),
                        quantity: s.quantity.to_string(),
                        per_buyer_limit: s.per_buyer_limit.to_string(),
                        starts_at: datetime_value(s.window.starts_at),
                        ends_at: datetime_value(s.window.ends_at),
                    };
                    let ended = s.as_of >= s.window.ends_at;
                    let live = !ended && s.as_of >= s.window.starts_at;
                    let id = s.id.to_string();
                    view! {
                        <Title text=format!("{} · Admin", s.title) />
                        <nav class="breadcrumbs" aria-label="Breadcrumb"><a href="/admin/sales">"Flash sales"</a></nav>
                        <div class="listing-head">
                            <h1>{s.title.clone()}</h1>
                            <span class=s.status.css_class() data-testid="sale-status">{s.status.to_string()}</span>
                        </div>
                        {done_notice(&[("created", "Flash sale created; the stock gate has it."), ("saved", "Flash sale saved; the stock gate has the new numbers.")])}
                        <dl class="facts">
                            <dt>"Product"</dt><dd><a href=format!("/admin/products/{}", s.product_id)>{s.product_name.clone()}</a>
                                {format!(" (regular {})", s.regular_price)}</dd>
                            <dt>"Sold"</dt><dd data-testid="sold">{s.sold}</dd>
                            <dt>"Remaining"</dt><dd data-testid="remaining">{s.remaining()}</dd>
                            <dt>"In the shop"</dt><dd><a href=format!("/sales/{}", s.id)>{format!("/sales/{}", s.id)}</a></dd>
                        </dl>
                        <StockBar sale=LiveSale::from(&s) />
                        {activity.map(|a| view! {
                            <SaleActivityPanel activity=a follow=(!ended).then(|| format!("/api/live/admin/sales/{}", s.id)) />
                        })}
                        {if ended {
                            view! { <p class="notice">"This sale has ended; it can't be changed any more."</p> }.into_any()
                        } else {
                            view! {
                                <section class="panel">
                                    <h2>"Edit"</h2>
                                    <ActionForm action=update attr:class="stack-form admin-form" attr:novalidate=true>
                                        <FormError error=error />
                                        <input type="hidden" name="id" value=id />
                                        <SaleFields values=values error=error live=live />
                                        <button type="submit">"Save flash sale"</button>
                                    </ActionForm>
                                </section>
                            }.into_any()
                        }}
                        {(s.status == SaleStatus::SoldOut && !ended).then(|| view! {
                            <p class="muted">"Sold out while live: raise the quantity to sell more (if the stock allows)."</p>
                        })}
                    }.into_any()
                })
            })}
        </Suspense>
    }
}
