//! Orders for staff: `/api/admin/orders…` and `/api/admin/dead-letters…`.

use crate::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};
use shop_domain::admin::{AdminOrderDetail, AdminOrderRow, DeadLetter, OrderFilter};
use shop_domain::Page;

/// A page of the admin order list with the filter that produced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminOrderList {
    pub filter: OrderFilter,
    pub page: Page<AdminOrderRow>,
}

/// `GET /api/admin/orders?status=&from=&to=&buyer=&page=` — every order, newest first.
/// `status` is one of PENDING, PAID, SHIPPING, DELIVERED, FAILED, CANCELLED; `from`/`to` are
/// UTC days (`YYYY-MM-DD`, both included); `buyer` matches email, username or name, or `#id`.
#[server(endpoint = "admin/orders", prefix = "/api", input = GetUrl)]
pub async fn admin_orders(
    #[server(default)] status: Option<String>,
    #[server(default)] from: Option<String>,
    #[server(default)] to: Option<String>,
    #[server(default)] buyer: Option<String>,
    #[server(default)] page: Option<String>,
) -> Result<AdminOrderList, AppError> {
    use crate::api::reject;
    crate::auth::require_admin().await?;
    let filter = OrderFilter::parse(
        status.as_deref(),
        from.as_deref(),
        to.as_deref(),
        buyer.as_deref(),
        page.as_deref(),
    )
    .map_err(|m| reject(AppError::BadRequest(m)))?;
    let state = crate::state::app_state()?;
    let page = state.store.admin_orders(&filter).await.map_err(AppError::internal("admin orders"))?;
    Ok(AdminOrderList { filter, page })
}

/// `GET /api/admin/order?id=` — any order: buyer, lines, payment and delivery records, the
/// whole saga timeline with each event's payload, its outbox events and dead letters.
#[server(endpoint = "admin/order", prefix = "/api", input = GetUrl)]
pub async fn admin_order(id: String) -> Result<AdminOrderDetail, AppError> {
    use crate::api::reject;
    crate::auth::require_admin().await?;
    let id = super::parse_id(&id, "Order")?;
    let state = crate::state::app_state()?;
    state
        .store
        .admin_order(id)
        .await
        .map_err(AppError::internal("admin order"))?
        .ok_or_else(|| reject(AppError::NotFound("Order".into())))
}

/// `POST /api/admin/orders/cancel` — `id`: cancels any order that has not shipped, on the
/// buyer's behalf, through the same path as the buyer's own cancel (a paid order's
/// `order.cancelled` event carries `refund: true`; the saga workers refund it). The stock goes
/// back to the gate. 409 once shipped.
#[server(endpoint = "admin/orders/cancel", prefix = "/api")]
pub async fn admin_cancel_order(id: String) -> Result<(), AppError> {
    use crate::api::reject;
    use shop_store::Cancel;
    let admin = crate::auth::require_admin().await?;
    let id = super::parse_id(&id, "Order")?;
    let state = crate::state::app_state()?;
    let now = state.now();
    let buyer = state
        .store
        .order_buyer(id)
        .await
        .map_err(AppError::internal("order buyer"))?
        .ok_or_else(|| reject(AppError::NotFound("Order".into())))?;
    match state
        .inventory
        .cancel(buyer, id, shop_store::CancelledBy::Staff, now)
        .await
        .map_err(AppError::internal("admin cancel"))?
    {
        Cancel::NotFound => Err(reject(AppError::NotFound("Order".into()))),
        Cancel::TooLate(state) => Err(reject(AppError::Conflict(state.too_late_to_cancel()))),
        Cancel::Cancelled { .. } => {
            // The cancel is committed (by the path buyers use too); its audit row follows.
            let detail = "cancelled by staff; a paid order is refunded by the payment worker";
            if let Err(e) =
                state.store.record_audit(admin.id, "order.cancel", &format!("order:{id}"), detail, now).await
            {
                tracing::error!(order_id = id, admin_id = admin.id, error = %e, "order cancelled but not audited");
            }
            tracing::info!(order_id = id, admin_id = admin.id, "order cancelled by staff");
            super::done(&format!("/admin/orders/{id}?done=cancelled"));
            Ok(())
        }
    }
}

/// `POST /api/admin/orders/retry` — `id`: sends the command of the order's current saga step
/// again (for an order stuck on a step; workers answer a repeated command without repeating
/// its effect). 409 when no step is waiting on a worker.
#[server(endpoint = "admin/orders/retry", prefix = "/api")]
pub async fn admin_retry_order(id: String) -> Result<(), AppError> {
    use crate::api::reject;
    let admin = crate::auth::require_admin().await?;
    let id = super::parse_id(&id, "Order")?;
    let state = crate::state::app_state()?;
    match state.store.retry_step(id, admin.id, state.now()).await.map_err(AppError::internal("retry step"))? {
        None => Err(reject(AppError::NotFound("Order".into()))),
        Some(None) => Err(reject(AppError::Conflict(
            "Nothing to retry: no step of this order is waiting on a worker.".into(),
        ))),
        Some(Some(command)) => {
            tracing::info!(
                order_id = id,
                admin_id = admin.id,
                command = command.as_str(),
                "saga step retried by staff"
            );
            super::done(&format!("/admin/orders/{id}?done=retried"));
            Ok(())
        }
    }
}

/// `GET /api/admin/dead-letters?page=` — events consumers gave up on, newest first.
#[server(endpoint = "admin/dead-letters", prefix = "/api", input = GetUrl)]
pub async fn admin_dead_letters(
    #[server(default)] page: Option<String>,
) -> Result<Page<DeadLetter>, AppError> {
    use crate::api::reject;
    crate::auth::require_admin().await?;
    let page = shop_domain::admin::product::parse_page(page.as_deref()).map_err(|e| reject(e.into()))?;
    let state = crate::state::app_state()?;
    state.store.dead_letters(page).await.map_err(AppError::internal("dead letters"))
}

/// `POST /api/admin/dead-letters/replay` — `id`: publishes the event again through the
/// outbox (event id `<original>#replay<id>`) and marks the letter replayed. 409 the second time.
#[server(endpoint = "admin/dead-letters/replay", prefix = "/api")]
pub async fn replay_dead_letter(id: String) -> Result<String, AppError> {
    use crate::api::reject;
    use shop_domain::admin::Replay;
    let admin = crate::auth::require_admin().await?;
    let id = super::parse_id(&id, "Dead letter")?;
    let state = crate::state::app_state()?;
    match state
        .store
        .replay_dead_letter(id, admin.id, state.now())
        .await
        .map_err(AppError::internal("replay"))?
    {
        Replay::Replayed { event_id } => {
            tracing::info!(admin_id = admin.id, dead_letter = id, %event_id, "dead letter replayed");
            super::done(&format!("/admin/dead-letters?done=replayed#dead-letter-{id}"));
            Ok(event_id)
        }
        Replay::AlreadyReplayed(at) => Err(reject(AppError::Conflict(format!(
            "Dead letter #{id} was already replayed ({}).",
            at.utc_string()
        )))),
        Replay::NotAnEvent => Err(reject(AppError::Conflict(format!(
            "Dead letter #{id} can't be replayed: its payload is not an event (no type or event id)."
        )))),
        Replay::NotFound => Err(reject(AppError::NotFound("Dead letter".into()))),
    }
}
