//! The admin home page and the audit log.

use crate::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use shop_domain::admin::{AuditEntry, Dashboard};
use shop_domain::Page;

/// `GET /api/admin/dashboard` — sales running now with sold/remaining (the gate's live count)
/// and what the gate decided about each, orders per status, revenue today (UTC), dead letters
/// waiting.
#[server(endpoint = "admin/dashboard", prefix = "/api", input = GetUrl)]
pub async fn admin_dashboard() -> Result<Dashboard, AppError> {
    crate::auth::require_admin().await?;
    let state = crate::state::app_state()?;
    let now = state.now();
    let mut board = state.store.dashboard(now).await.map_err(AppError::internal("dashboard"))?;
    board.activity = super::activity::live_activity(&state, &mut board.live_sales, now).await?;
    Ok(board)
}

/// `GET /api/admin/audit?page=` — every admin action (who, what, when), newest first.
#[server(endpoint = "admin/audit", prefix = "/api", input = GetUrl)]
pub async fn admin_audit_log(#[server(default)] page: Option<String>) -> Result<Page<AuditEntry>, AppError> {
    use crate::api::reject;
    crate::auth::require_admin().await?;
    let page = shop_domain::admin::product::parse_page(page.as_deref()).map_err(|e| reject(e.into()))?;
    let state = crate::state::app_state()?;
    state.store.audit_entries(page).await.map_err(AppError::internal("audit log"))
}
