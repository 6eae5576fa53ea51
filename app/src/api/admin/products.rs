//! The admin catalog: `/api/admin/products…`.

use crate::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, MultipartData, MultipartFormData};
use serde::{Deserialize, Serialize};
use shop_domain::admin::{AdminProduct, AdminProductQuery, AdminProductRow, ProductChoice};
use shop_domain::Page;

/// A page of the admin product list with the query that produced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminProductList {
    pub query: AdminProductQuery,
    pub page: Page<AdminProductRow>,
}

/// `GET /api/admin/products?q=&page=` — every product, archived too, newest first. `q`
/// matches the name (any case), or `#id`.
#[server(endpoint = "admin/products", prefix = "/api", input = GetUrl)]
pub async fn admin_products(
    #[server(default)] q: Option<String>,
    #[server(default)] page: Option<String>,
) -> Result<AdminProductList, AppError> {
    use crate::api::reject;
    crate::auth::require_admin().await?;
    let query = AdminProductQuery::parse(q.as_deref(), page.as_deref()).map_err(|e| reject(e.into()))?;
    let state = crate::state::app_state()?;
    let page = state.store.admin_products(&query).await.map_err(AppError::internal("admin products"))?;
    Ok(AdminProductList { query, page })
}

/// `GET /api/admin/product?id=` — one product with images, tags, sales and order count.
#[server(endpoint = "admin/product", prefix = "/api", input = GetUrl)]
pub async fn admin_product_detail(id: String) -> Result<AdminProduct, AppError> {
    use crate::api::reject;
    crate::auth::require_admin().await?;
    let id = super::parse_id(&id, "Product")?;
    let state = crate::state::app_state()?;
    state
        .store
        .admin_product(id, state.now())
        .await
        .map_err(AppError::internal("admin product"))?
        .ok_or_else(|| reject(AppError::NotFound("Product".into())))
}

/// What the new-sale form offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleFormOptions {
    /// Products a sale can be created for (not archived), by name.
    pub products: Vec<ProductChoice>,
    /// The server's clock, for the form's default window.
    pub now: shop_domain::Timestamp,
}

/// `GET /api/admin/sale-options` — the products a sale can be created for, and the time.
#[server(endpoint = "admin/sale-options", prefix = "/api", input = GetUrl)]
pub async fn admin_sale_options() -> Result<SaleFormOptions, AppError> {
    crate::auth::require_admin().await?;
    let state = crate::state::app_state()?;
    let products =
        state.store.admin_product_choices().await.map_err(AppError::internal("product choices"))?;
    Ok(SaleFormOptions { products, now: state.now() })
}

#[cfg(feature = "ssr")]
fn draft(
    name: &str,
    description: Option<&str>,
    price: &str,
    stock: &str,
    tags: Option<&str>,
    images: Option<&str>,
) -> Result<shop_domain::admin::ProductDraft, AppError> {
    use shop_domain::admin::{ProductDraft, ProductForm};
    ProductDraft::parse(&ProductForm {
        name,
        description: description.unwrap_or(""),
        price,
        stock,
        tags: tags.unwrap_or(""),
        images: images.unwrap_or(""),
    })
    .map_err(|e| crate::api::reject(AppError::Invalid(e)))
}

/// `POST /api/admin/products/create` — `name`, `description`, `price` (e.g. `12.50`), `stock`,
/// `tags` (comma-separated), `images` (one URL per line). Returns the new id.
#[server(endpoint = "admin/products/create", prefix = "/api")]
pub async fn create_product(
    name: String,
    #[server(default)] description: Option<String>,
    price: String,
    stock: String,
    #[server(default)] tags: Option<String>,
    #[server(default)] images: Option<String>,
) -> Result<i64, AppError> {
    let admin = crate::auth::require_admin().await?;
    let d = draft(&name, description.as_deref(), &price, &stock, tags.as_deref(), images.as_deref())?;
    let state = crate::state::app_state()?;
    let id = state
        .store
        .admin_create_product(&d, admin.id, state.now())
        .await
        .map_err(AppError::internal("create product"))?;
    tracing::info!(admin_id = admin.id, product_id = id, "product created");
    super::done(&format!("/admin/products/{id}?done=created"));
    Ok(id)
}

/// `POST /api/admin/products/update` — `id` and the fields of `create`. A stock change
/// updates the stock gate in the same call.
#[server(endpoint = "admin/products/update", prefix = "/api")]
pub async fn update_product(
    id: String,
    name: String,
    #[server(default)] description: Option<String>,
    price: String,
    stock: String,
    #[server(default)] tags: Option<String>,
    #[server(default)] images: Option<String>,
) -> Result<(), AppError> {
    use crate::api::reject;
    use shop_domain::gate::GateItem;
    use shop_store::SaveProduct;
    let admin = crate::auth::require_admin().await?;
    let id = super::parse_id(&id, "Product")?;
    let d = draft(&name, description.as_deref(), &price, &stock, tags.as_deref(), images.as_deref())?;
    let state = crate::state::app_state()?;
    match state
        .store
        .admin_update_product(id, &d, admin.id, state.now())
        .await
        .map_err(AppError::internal("update product"))?
    {
        SaveProduct::Saved { stock_delta, .. } => {
            tracing::info!(admin_id = admin.id, product_id = id, "product updated");
            super::sync_gate(&state, GateItem::Product(id), stock_delta).await?;
        }
        SaveProduct::NotFound => return Err(reject(AppError::NotFound("Product".into()))),
        SaveProduct::StockTooLow(message) => return Err(reject(AppError::field("stock", message))),
    }
    super::done(&format!("/admin/products/{id}?done=saved"));
    Ok(())
}

/// `POST /api/admin/products/delete` — `id`. Deletes a product nothing refers to; a product
/// that orders or sales refer to is archived instead (hidden from the shop, kept for them).
/// 409 while one of its sales is live or upcoming.
#[server(endpoint = "admin/products/delete", prefix = "/api")]
pub async fn delete_product(id: String) -> Result<shop_domain::admin::Removal, AppError> {
    use crate::api::reject;
    use shop_domain::admin::Removal;
    use shop_store::RemoveProduct;
    let admin = crate::auth::require_admin().await?;
    let id = super::parse_id(&id, "Product")?;
    let state = crate::state::app_state()?;
    match state
        .store
        .admin_remove_product(id, admin.id, state.now())
        .await
        .map_err(AppError::internal("remove product"))?
    {
        RemoveProduct::Done(Removal::Deleted) => {
            super::done("/admin/products?done=deleted");
            Ok(Removal::Deleted)
        }
        RemoveProduct::Done(Removal::Archived) => {
            super::done(&format!("/admin/products/{id}?done=archived"));
            Ok(Removal::Archived)
        }
        RemoveProduct::NotFound => Err(reject(AppError::NotFound("Product".into()))),
        RemoveProduct::SaleNotOver(sale) => Err(reject(AppError::Conflict(format!(
            "Sale #{sale} of this product is live or upcoming; remove the product after it ends."
        )))),
    }
}

/// `POST /api/admin/products/restore` — `id`: an archived product goes back in the shop.
#[server(endpoint = "admin/products/restore", prefix = "/api")]
pub async fn restore_product(id: String) -> Result<(), AppError> {
    use crate::api::reject;
    let admin = crate::auth::require_admin().await?;
    let id = super::parse_id(&id, "Product")?;
    let state = crate::state::app_state()?;
    if !state
        .store
        .admin_restore_product(id, admin.id, state.now())
        .await
        .map_err(AppError::internal("restore product"))?
    {
        return Err(reject(AppError::NotFound("Product".into())));
    }
    super::done(&format!("/admin/products/{id}?done=restored"));
    Ok(())
}

/// `POST /api/admin/products/image` — `multipart/form-data` with `product_id` and `image`
/// (PNG, JPEG, WebP or GIF, checked by content; at most 5 MiB). Stored under
/// `$SHOP_DATA_DIR/uploads/` with a generated name, with a thumbnail (at most 400×400, JPEG),
/// and added as the product's last picture. Returns the image's URL.
#[server(endpoint = "admin/products/image", prefix = "/api", input = MultipartFormData)]
pub async fn upload_product_image(data: MultipartData) -> Result<String, AppError> {
    use crate::api::reject;
    let admin = crate::auth::require_admin().await?;
    let state = crate::state::app_state()?;
    let form = super::uploads::read_form(data).await?;
    let product_id = super::parse_id(form.product_id.as_deref().unwrap_or(""), "Product")?;
    let stored = super::uploads::store_image(&state.uploads_dir, form.image).await?;
    let added = state
        .store
        .admin_add_image(product_id, &stored.url, &stored.thumb_url, admin.id, state.now())
        .await
        .map_err(AppError::internal("add image"))?;
    if !added {
        stored.discard().await;
        return Err(reject(AppError::NotFound("Product".into())));
    }
    tracing::info!(admin_id = admin.id, product_id, url = %stored.url, bytes = stored.bytes, "image uploaded");
    super::done(&format!("/admin/products/{product_id}?done=image"));
    Ok(stored.url)
}
