//! What the stock gate decided about sales, for the admin's live view: decision counts
//! (accepted, sold out, over the limit, shed) and units per second over the last minute. The
//! gate counts its own decisions (`StockGate::tally`); this only asks it.

use crate::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use shop_domain::activity::SaleActivity;

/// `GET /api/admin/sale/activity?id=` — one sale's activity.
#[server(endpoint = "admin/sale/activity", prefix = "/api", input = GetUrl)]
pub async fn admin_sale_activity(id: String) -> Result<SaleActivity, AppError> {
    use crate::api::reject;
    crate::auth::require_admin().await?;
    let id = super::parse_id(&id, "Sale")?;
    let state = crate::state::app_state()?;
    let now = state.now();
    let sale = state
        .store
        .sale(id, now)
        .await
        .map_err(AppError::internal("sale activity"))?
        .ok_or_else(|| reject(AppError::NotFound("Sale".into())))?
        .summary;
    activity(&state, id, sale.quantity, now).await
}

#[cfg(feature = "ssr")]
async fn activity(
    state: &crate::state::AppState,
    sale_id: i64,
    quantity: i64,
    now: shop_domain::Timestamp,
) -> Result<SaleActivity, AppError> {
    state.inventory.activity(sale_id, quantity, now).await.map_err(|e| gate_unavailable(Some(sale_id), e))
}

#[cfg(feature = "ssr")]
fn gate_unavailable(sale_id: Option<i64>, e: shop_domain::gate::GateError) -> AppError {
    tracing::error!(?sale_id, error = %e, "sale activity: the stock gate did not answer");
    crate::api::reject(AppError::Unavailable("The stock gate is not answering; try again in a moment.".into()))
}

/// Each live sale's activity, in the sales' order; each sale's remaining count becomes the
/// gate's where the gate has one.
#[cfg(feature = "ssr")]
pub(crate) async fn live_activity(
    state: &crate::state::AppState,
    sales: &mut [shop_domain::SaleSummary],
    now: shop_domain::Timestamp,
) -> Result<Vec<SaleActivity>, AppError> {
    let all = state.inventory.activities(sales, now).await.map_err(|e| gate_unavailable(None, e))?;
    for (sale, a) in sales.iter_mut().zip(&all) {
        if let Some(left) = a.remaining {
            *sale = sale.clone().with_remaining(left);
        }
    }
    Ok(all)
}
