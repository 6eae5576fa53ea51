//! Flash sales for staff: `/api/admin/sales…`. A save checks the sale against the product's
//! stock and other sales in the write transaction, then tells the stock gate in the same call.

use crate::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use shop_domain::{Page, SaleSummary};

/// `GET /api/admin/sales?page=` — every sale, the latest start first.
#[server(endpoint = "admin/sales", prefix = "/api", input = GetUrl)]
pub async fn admin_sales(#[server(default)] page: Option<String>) -> Result<Page<SaleSummary>, AppError> {
    use crate::api::reject;
    crate::auth::require_admin().await?;
    let page = shop_domain::admin::product::parse_page(page.as_deref()).map_err(|e| reject(e.into()))?;
    let state = crate::state::app_state()?;
    let mut sales =
        state.store.admin_sales(page, state.now()).await.map_err(AppError::internal("admin sales"))?;
    for sale in &mut sales.items {
        if let Some(left) = state.inventory.available(shop_domain::gate::GateItem::Sale(sale.id)).await {
            *sale = sale.clone().with_remaining(left);
        }
    }
    Ok(sales)
}

/// `GET /api/admin/sale?id=` — one sale (sold/remaining as the gate counts them).
#[server(endpoint = "admin/sale", prefix = "/api", input = GetUrl)]
pub async fn admin_sale(id: String) -> Result<SaleSummary, AppError> {
    use crate::api::reject;
    crate::auth::require_admin().await?;
    let id = super::parse_id(&id, "Sale")?;
    let state = crate::state::app_state()?;
    let sale = state
        .store
        .sale(id, state.now())
        .await
        .map_err(AppError::internal("admin sale"))?
        .ok_or_else(|| reject(AppError::NotFound("Sale".into())))?
        .summary;
    Ok(match state.inventory.available(shop_domain::gate::GateItem::Sale(id)).await {
        Some(left) => sale.with_remaining(left),
        None => sale,
    })
}

#[cfg(feature = "ssr")]
fn draft(f: &shop_domain::admin::SaleForm<'_>) -> Result<shop_domain::admin::SaleDraft, AppError> {
    shop_domain::admin::SaleDraft::parse(f).map_err(|e| crate::api::reject(AppError::Invalid(e)))
}

/// What a save returned, as the API answers it; the gate is updated on success.
#[cfg(feature = "ssr")]
async fn finish(
    state: &crate::state::AppState,
    saved: shop_store::SaveSale,
    admin_id: i64,
) -> Result<i64, AppError> {
    use crate::api::reject;
    use shop_domain::admin::SaleRejection;
    use shop_domain::gate::GateItem;
    use shop_store::SaveSale;
    match saved {
        SaveSale::Saved { id, product_id, quantity_delta } => {
            tracing::info!(admin_id, sale_id = id, "sale saved");
            // The sale's own rules, then the product's (what the sale sets aside changed).
            super::sync_gate(state, GateItem::Sale(id), quantity_delta).await?;
            super::sync_gate(state, GateItem::Product(product_id), -quantity_delta).await?;
            Ok(id)
        }
        SaveSale::Rejected(SaleRejection::Invalid(errors)) => Err(reject(AppError::Invalid(errors))),
        SaveSale::Rejected(SaleRejection::Ended) => {
            Err(reject(AppError::Conflict("This sale has ended; it can't be changed any more.".into())))
        }
        SaveSale::NotFound => Err(reject(AppError::NotFound("Sale".into()))),
        SaveSale::ProductNotFound => {
            Err(reject(AppError::field("product_id", "Choose a product that is in the shop.")))
        }
    }
}

/// `POST /api/admin/sales/create` — `product_id`, `title`, `sale_price` (e.g. `4.90`),
/// `quantity`, `per_buyer_limit`, `starts_at`, `ends_at` (`YYYY-MM-DDTHH:MM`, UTC). Refused
/// (400, per field) when the window is impossible or overlaps another sale of the product, or
/// the quantity exceeds the free stock. Returns the new sale's id.
#[server(endpoint = "admin/sales/create", prefix = "/api")]
pub async fn create_sale(
    product_id: String,
    title: String,
    sale_price: String,
    quantity: String,
    per_buyer_limit: String,
    starts_at: String,
    ends_at: String,
) -> Result<i64, AppError> {
    use crate::api::reject;
    use shop_domain::admin::{input::parse_choice, SaleForm};
    let admin = crate::auth::require_admin().await?;
    let product = parse_choice(&product_id, "Choose the product on sale.");
    let parsed = draft(&SaleForm {
        title: &title,
        sale_price: &sale_price,
        quantity: &quantity,
        per_buyer_limit: &per_buyer_limit,
        starts_at: &starts_at,
        ends_at: &ends_at,
    });
    let (product, d) = match (product, parsed) {
        (Ok(p), Ok(d)) => (p, d),
        (product, parsed) => {
            let mut errors = match parsed {
                Err(AppError::Invalid(e)) => e,
                Err(other) => return Err(other),
                Ok(_) => shop_domain::FieldErrors::default(),
            };
            if let Err(m) = product {
                errors.0.insert(0, shop_domain::FieldError { field: "product_id".into(), message: m });
            }
            return Err(reject(AppError::Invalid(errors)));
        }
    };
    let state = crate::state::app_state()?;
    let saved = state
        .store
        .admin_save_sale(None, Some(product), &d, admin.id, state.now())
        .await
        .map_err(AppError::internal("create sale"))?;
    let id = finish(&state, saved, admin.id).await?;
    super::done(&format!("/admin/sales/{id}?done=created"));
    Ok(id)
}

/// `POST /api/admin/sales/update` — `id` and the fields of `create` except `product_id`. A
/// live sale's quantity can only be raised and its start can't move; an ended sale is 409.
#[server(endpoint = "admin/sales/update", prefix = "/api")]
pub async fn update_sale(
    id: String,
    title: String,
    sale_price: String,
    quantity: String,
    per_buyer_limit: String,
    starts_at: String,
    ends_at: String,
) -> Result<(), AppError> {
    use shop_domain::admin::SaleForm;
    let admin = crate::auth::require_admin().await?;
    let id = super::parse_id(&id, "Sale")?;
    let d = draft(&SaleForm {
        title: &title,
        sale_price: &sale_price,
        quantity: &quantity,
        per_buyer_limit: &per_buyer_limit,
        starts_at: &starts_at,
        ends_at: &ends_at,
    })?;
    let state = crate::state::app_state()?;
    let saved = state
        .store
        .admin_save_sale(Some(id), None, &d, admin.id, state.now())
        .await
        .map_err(AppError::internal("update sale"))?;
    finish(&state, saved, admin.id).await?;
    super::done(&format!("/admin/sales/{id}?done=saved"));
    Ok(())
}
