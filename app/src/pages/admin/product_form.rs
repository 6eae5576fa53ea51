//! `/admin/products/new` and `/admin/products/{id}`: create and edit a product, upload its
//! images, delete (or archive) and restore it.

use super::{admin_access, done_notice, multipart_form_error, or_error, staff_resource, AdminShell};
use crate::api::admin::products::{
    admin_product_detail, CreateProduct, DeleteProduct, RestoreProduct, UpdateProduct, UploadProductImage,
};
use crate::components::form::{action_error, Field, FormError, TextArea};
use crate::AppError;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use shop_domain::admin::AdminProduct;
use shop_domain::{SaleStatus, StockLevel};

/// The form's current values: empty for a new product, the stored ones when editing.
#[derive(Clone, Default)]
struct Values {
    name: String,
    description: String,
    price: String,
    stock: String,
    tags: String,
    images: String,
}

impl Values {
    fn of(p: &AdminProduct) -> Values {
        Values {
            name: p.name.clone(),
            description: p.description.clone(),
            price: format!("{}.{:02}", p.price.minor() / 100, p.price.minor() % 100),
            stock: p.stock.to_string(),
            tags: p.tags.join(", "),
            images: p.images.iter().map(|i| i.url.as_str()).collect::<Vec<_>>().join("\n"),
        }
    }
}

/// The product fields, shared by both forms.
#[component]
fn ProductFields(values: Values, error: Signal<Option<AppError>>) -> impl IntoView {
    view! {
        <FormError error=error />
        <Field label="Name" name="name" value=values.name error=error required=true />
        <TextArea label="Description" name="description" value=values.description error=error rows=5 />
        <div class="field-row">
            <Field label="Price" name="price" value=values.price error=error required=true
                hint="In dollars, e.g. 12.50" />
            <Field label="Stock" name="stock" kind="number" value=values.stock error=error required=true
                hint="Units in the warehouse" />
        </div>
        <Field label="Tags" name="tags" value=values.tags error=error hint="Comma-separated, e.g. kitchen, mugs" />
        <TextArea label="Images" name="images" value=values.images error=error rows=3
            hint="One address per line (/media/… or https://…); the first is the main picture. Upload files on the product's page." />
    }
}

#[component]
pub fn NewProductPage() -> impl IntoView {
    let access = admin_access();
    let create = ServerAction::<CreateProduct>::new();
    view! {
        <Title text="New product · Admin" />
        <AdminShell access=access>
            <NewProduct create=create />
        </AdminShell>
    }
}

#[component]
fn NewProduct(create: ServerAction<CreateProduct>) -> impl IntoView {
    let error = action_error(create);
    view! {
        <nav class="breadcrumbs" aria-label="Breadcrumb"><a href="/admin/products">"Products"</a></nav>
        <h1>"New product"</h1>
        <section class="panel">
            <ActionForm action=create attr:class="stack-form admin-form" attr:novalidate=true>
                <ProductFields values=Values { stock: "0".into(), ..Values::default() } error=error />
                <button type="submit">"Create product"</button>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn EditProductPage() -> impl IntoView {
    let access = admin_access();
    let params = use_params_map();
    let product =
        staff_resource(access, move || params.read().get("id").unwrap_or_default(), admin_product_detail);
    let actions =
        Actions { update: ServerAction::new(), remove: ServerAction::new(), restore: ServerAction::new() };
    view! {
        <Title text="Product · Admin" />
        <AdminShell access=access>
            <EditProduct product=product actions=actions />
        </AdminShell>
    }
}

#[derive(Clone, Copy)]
struct Actions {
    update: ServerAction<UpdateProduct>,
    remove: ServerAction<DeleteProduct>,
    restore: ServerAction<RestoreProduct>,
}

const UPLOAD_PATH: &str = <UploadProductImage as ServerFn>::PATH;

const NOTICES: &[(&str, &str)] = &[
    ("created", "Product created."),
    ("saved", "Product saved."),
    ("archived", "Orders or sales refer to this product, so it was archived instead of deleted: it is hidden from the shop."),
    ("restored", "Product restored: it is back in the shop."),
    ("image", "Image uploaded."),
];

#[component]
fn EditProduct(product: Resource<Result<AdminProduct, AppError>>, actions: Actions) -> impl IntoView {
    let Actions { update, remove, restore } = actions;
    let update_error = action_error(update);
    let state_error =
        Signal::derive(move || action_error(remove).get().or_else(|| action_error(restore).get()));
    let upload_error = multipart_form_error(UPLOAD_PATH);
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                or_error(product.await, |p| {
                    let id = p.id.to_string();
                    let (id_update, id_remove, id_restore, id_upload) = (id.clone(), id.clone(), id.clone(), id.clone());
                    let values = Values::of(&p);
                    let archived = p.archived_at.is_some();
                    view! {
                        <Title text=format!("{} · Admin", p.name) />
                        <nav class="breadcrumbs" aria-label="Breadcrumb"><a href="/admin/products">"Products"</a></nav>
                        <div class="listing-head">
                            <h1>{p.name.clone()}</h1>
                            {if archived {
                                view! { <span class="badge badge-ended" data-testid="product-state">"Archived"</span> }.into_any()
                            } else {
                                view! { <a href=format!("/products/{}", p.id) data-testid="product-state">"View in shop"</a> }.into_any()
                            }}
                        </div>
                        {done_notice(NOTICES)}
                        <dl class="facts">
                            <dt>"Stock"</dt><dd>{StockLevel::of(p.stock).to_string()}</dd>
                            <dt>"Sold"</dt><dd>{p.sold_count}</dd>
                            <dt>"Order lines"</dt><dd>{p.order_lines}</dd>
                            {p.archived_at.map(|t| view! { <dt>"Archived"</dt><dd>{t.utc_string()}</dd> })}
                        </dl>

                        <section class="panel" aria-labelledby="edit-h">
                            <h2 id="edit-h">"Details"</h2>
                            <ActionForm action=update attr:class="stack-form admin-form" attr:novalidate=true>
                                <input type="hidden" name="id" value=id_update />
                                <ProductFields values=values error=update_error />
                                <button type="submit">"Save product"</button>
                            </ActionForm>
                        </section>

                        <section class="panel" aria-labelledby="images-h">
                            <h2 id="images-h">"Images"</h2>
                            {if p.images.is_empty() {
                                view! { <p class="muted">"No images yet."</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="admin-images">
                                        {p.images.iter().map(|i| view! {
                                            <li><a href=i.url.clone()><img src=i.thumb_url.clone().unwrap_or_else(|| i.url.clone())
                                                alt=format!("Image of {}", p.name) width="160" height="120" loading="lazy" /></a></li>
                                        }).collect_view()}
                                    </ul>
                                }.into_any()
                            }}
                            // A plain multipart form: works without JavaScript.
                            <form class="stack-form upload-form" method="post" enctype="multipart/form-data"
                                action=UPLOAD_PATH novalidate>
                                <FormError error=upload_error />
                                <input type="hidden" name="product_id" value=id_upload />
                                <div class="field">
                                    <label for="image">"Upload an image"</label>
                                    <input id="image" name="image" type="file" accept="image/png,image/jpeg,image/webp,image/gif"
                                        aria-invalid=move || upload_error.get().and_then(|e| e.field_message("image")).map(|_| "true")
                                        aria-describedby="image-hint" />
                                    <p class="hint muted small" id="image-hint">"PNG, JPEG, WebP or GIF, at most 5 MiB. A thumbnail is made for listings."</p>
                                    {move || upload_error.get().and_then(|e| e.field_message("image")).map(|m| view! {
                                        <p class="field-error" id="image-error">{m}</p>
                                    })}
                                </div>
                                <button type="submit">"Upload image"</button>
                            </form>
                        </section>

                        <section class="panel" aria-labelledby="sales-h">
                            <h2 id="sales-h">"Flash sales"</h2>
                            {(!archived).then(|| view! {
                                <p><a class="button-secondary button" href=format!("/admin/sales/new?product={}", p.id)>"New flash sale for this product"</a></p>
                            })}
                            {if p.sales.is_empty() {
                                view! { <p class="muted">"No sales of this product."</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="admin-list">
                                        {p.sales.iter().map(|s| view! {
                                            <li><a href=format!("/admin/sales/{}", s.id)>{s.title.clone()}</a> " "
                                                <span class=s.status.css_class()>{s.status.to_string()}</span>
                                                <span class="muted small">{format!(" {} – {}", s.window.starts_at.utc_string(), s.window.ends_at.utc_string())}</span></li>
                                        }).collect_view()}
                                    </ul>
                                }.into_any()
                            }}
                        </section>

                        <section class="panel danger-zone" aria-labelledby="state-h">
                            <h2 id="state-h">{if archived { "Archived" } else { "Remove from the shop" }}</h2>
                            <FormError error=state_error />
                            {if archived {
                                view! {
                                    <ActionForm action=restore attr:class="inline-form">
                                        <input type="hidden" name="id" value=id_restore />
                                        <button type="submit">"Restore to the shop"</button>
                                    </ActionForm>
                                }.into_any()
                            } else {
                                let running = p.sales.iter().any(|s| matches!(s.status, SaleStatus::Live | SaleStatus::Upcoming));
                                view! {
                                    <p class="muted">{if p.order_lines > 0 || !p.sales.is_empty() {
                                        "Orders or sales refer to this product: it will be archived (hidden from the shop, kept for them), not deleted."
                                    } else {
                                        "Nothing refers to this product: it will be deleted."
                                    }}</p>
                                    {running.then(|| view! { <p class="muted">"A sale of this product is live or upcoming; remove the product after it ends."</p> })}
                                    <ActionForm action=remove attr:class="inline-form">
                                        <input type="hidden" name="id" value=id_remove />
                                        <button type="submit" class="button-secondary">"Delete product"</button>
                                    </ActionForm>
                                }.into_any()
                            }}
                        </section>
                    }.into_any()
                })
            })}
        </Suspense>
    }
}
