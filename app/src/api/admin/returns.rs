//! Returns for staff: the queue (`/api/admin/returns`) and the decision on one
//! (`/api/admin/returns/approve|refuse`, on the admin order page).

use crate::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};
use shop_domain::returns::{ReturnFilter, ReturnRow};
use shop_domain::Page;

/// A page of the returns queue with the filter that produced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnList {
    pub filter: ReturnFilter,
    pub page: Page<ReturnRow>,
}

/// `GET /api/admin/returns?status=&page=` — returns, newest request first; `status` is one of
/// REQUESTED, APPROVED, REFUNDED, REFUSED.
#[server(endpoint = "admin/returns", prefix = "/api", input = GetUrl)]
pub async fn admin_returns(
    #[server(default)] status: Option<String>,
    #[server(default)] page: Option<String>,
) -> Result<ReturnList, AppError> {
    use crate::api::reject;
    crate::auth::require_admin().await?;
    let filter =
        ReturnFilter::parse(status.as_deref(), page.as_deref()).map_err(|m| reject(AppError::BadRequest(m)))?;
    let state = crate::state::app_state()?;
    let page = state.store.admin_returns(&filter).await.map_err(AppError::internal("admin returns"))?;
    Ok(ReturnList { filter, page })
}

/// Applies staff's decision on order `id`'s return and audits it.
#[cfg(feature = "ssr")]
async fn decide(id: &str, decision: shop_store::ReturnDecision) -> Result<(), AppError> {
    use crate::api::reject;
    use shop_store::{Decided, ReturnDecision};
    let admin = crate::auth::require_admin().await?;
    let id = super::parse_id(id, "Order")?;
    let state = crate::state::app_state()?;
    let now = state.now();
    match state.store.decide_return(id, admin.id, &decision, now).await.map_err(AppError::internal("decide return"))? {
        Decided::NotFound => Err(reject(AppError::NotFound("Return".into()))),
        Decided::Already(status) => Err(reject(AppError::Conflict(format!(
            "This return was already decided: {}.",
            status.label().to_lowercase()
        )))),
        Decided::Done => {
            let (action, detail, done) = match &decision {
                ReturnDecision::Approve => ("return.approve", "approved; refund and restock queued".to_string(), "return-approved"),
                ReturnDecision::Refuse(note) => ("return.refuse", format!("refused: {note}"), "return-refused"),
            };
            if let Err(e) = state.store.record_audit(admin.id, action, &format!("order:{id}"), &detail, now).await {
                tracing::error!(order_id = id, admin_id = admin.id, error = %e, "return decided but not audited");
            }
            tracing::info!(order_id = id, admin_id = admin.id, action, "return decided");
            super::done(&format!("/admin/orders/{id}?done={done}"));
            Ok(())
        }
    }
}

/// `POST /api/admin/returns/approve` — `id` (the order): approves its requested return; the
/// payment worker refunds it (once) and the stock worker puts the units back into the products'
/// regular stock. 409 once decided.
#[server(endpoint = "admin/returns/approve", prefix = "/api")]
pub async fn approve_return(id: String) -> Result<(), AppError> {
    decide(&id, shop_store::ReturnDecision::Approve).await
}

/// `POST /api/admin/returns/refuse` — `id` (the order), `note` (why; the buyer is told).
/// 409 once decided.
#[server(endpoint = "admin/returns/refuse", prefix = "/api")]
pub async fn refuse_return(id: String, #[server(default)] note: String) -> Result<(), AppError> {
    crate::auth::require_admin().await?;
    let note = shop_domain::returns::parse_refusal_note(&note)
        .map_err(|m| crate::api::reject(AppError::field("note", m)))?;
    decide(&id, shop_store::ReturnDecision::Refuse(note)).await
}
