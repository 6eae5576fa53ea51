//! A shopper's own orders.

use crate::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use shop_domain::{OrderDetail, OrderSummary};

/// `GET /api/orders` — the signed-in user's orders, newest first.
#[server(endpoint = "orders", prefix = "/api", input = GetUrl)]
pub async fn my_orders() -> Result<Vec<OrderSummary>, AppError> {
    let user = crate::auth::require_user().await?;
    let state = crate::state::app_state()?;
    state.store.orders_for_user(user.id).await.map_err(AppError::internal("orders"))
}

/// `GET /api/order?id=` — one of the user's orders; anyone else's is a 404.
#[server(endpoint = "order", prefix = "/api", input = GetUrl)]
pub async fn get_order(id: String) -> Result<OrderDetail, AppError> {
    use crate::api::reject;
    let user = crate::auth::require_user().await?;
    let id = crate::api::catalog::parse_id(&id, "Order").map_err(reject)?;
    let state = crate::state::app_state()?;
    let mut order = state
        .store
        .order_detail(user.id, id)
        .await
        .map_err(AppError::internal("order"))?
        .ok_or_else(|| reject(AppError::NotFound("Order".into())))?;
    let existing = order.return_info.as_ref().map(|r| r.status);
    order.return_until = state.returns.check(order.status, order.delivered_at, existing, state.now()).ok();
    Ok(order)
}

/// `POST /api/orders/return` — `id`, `reason`, and `qty[<line id>]` for each line to send back
/// (units; empty or 0 for none). A delivered order, within `SHOP_RETURN_DAYS` of delivery, once.
/// 400 for a form that names nothing or too much, 409 when the order can't be returned.
/// Staff then approve (refund and restock through the saga's workers) or refuse it.
#[server(endpoint = "orders/return", prefix = "/api")]
pub async fn request_return(
    id: String,
    #[server(default)] reason: String,
    #[server(default)] qty: std::collections::BTreeMap<String, String>,
) -> Result<(), AppError> {
    use crate::api::reject;
    use shop_store::RequestReturn;
    let user = crate::auth::require_user().await?;
    let id = crate::api::catalog::parse_id(&id, "Order").map_err(reject)?;
    crate::api::throttle(crate::auth::Write::Order, user.id).await?;
    let state = crate::state::app_state()?;
    let quantities: Vec<(String, String)> = qty.into_iter().collect();
    match state
        .store
        .request_return(user.id, id, &quantities, &reason, state.returns, state.now())
        .await
        .map_err(AppError::internal("request return"))?
    {
        RequestReturn::NotFound => Err(reject(AppError::NotFound("Order".into()))),
        RequestReturn::Refused(why) => Err(reject(AppError::Conflict(why.message()))),
        RequestReturn::Invalid(field, message) => Err(reject(AppError::field(field, message))),
        RequestReturn::Requested { return_id } => {
            tracing::info!(order_id = id, user_id = user.id, return_id, "return requested");
            leptos_axum::redirect(&format!("/orders/{id}?done=return"));
            Ok(())
        }
    }
}

/// `POST /api/orders/cancel` — `id`. Allowed until the order ships; the stock goes back to the
/// gate once, and `order.cancelled` tells the workers to refund and cancel the delivery.
#[server(endpoint = "orders/cancel", prefix = "/api")]
pub async fn cancel_order(id: String) -> Result<(), AppError> {
    use crate::api::reject;
    use shop_store::Cancel;
    let user = crate::auth::require_user().await?;
    let id = crate::api::catalog::parse_id(&id, "Order").map_err(reject)?;
    let state = crate::state::app_state()?;
    match state
        .inventory
        .cancel(user.id, id, shop_store::CancelledBy::Buyer, shop_domain::Timestamp::now())
        .await
        .map_err(AppError::internal("cancel"))?
    {
        Cancel::NotFound => Err(reject(AppError::NotFound("Order".into()))),
        Cancel::TooLate(state) => Err(reject(AppError::Conflict(state.too_late_to_cancel()))),
        Cancel::Cancelled { .. } => {
            tracing::info!(order_id = id, user_id = user.id, "order cancelled");
            leptos_axum::redirect(&format!("/orders/{id}"));
            Ok(())
        }
    }
}
