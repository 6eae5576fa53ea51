//! Staff-only functions, all under `/api/admin/`. Every one starts with `require_admin()`:
//! an anonymous caller or a customer gets 403 and nothing changes. The integration test
//! `server/tests/admin.rs::every_admin_function_refuses_non_admins` enumerates every
//! registered `/api/admin/…` function and holds each to that, so a new one without the check
//! fails it. Every state change writes an audit-log row (see `shop_store` admin module).
//!
//! - `products`: list, detail, create, edit, delete-or-archive, restore, image upload
//! - `sales`: list, detail, create, edit (the stock gate is updated in the same call)
//! - `orders`: list with filters, detail with the saga record, cancel + refund, dead letters
//! - `overview`: dashboard and audit log
//! - `activity`: a sale's decision counts and units per second (the live view)
//! - `returns`: the returns queue, approve (refund + restock through the workers) or refuse

pub mod activity;
pub mod orders;
pub mod overview;
pub mod products;
pub mod returns;
pub mod sales;
#[cfg(feature = "ssr")]
pub(crate) mod uploads;

use crate::AppError;
use leptos::prelude::*;

/// Admin functions that take `multipart/form-data` (file uploads). The server answers any
/// other content type on these paths with 415 before the function runs.
pub const MULTIPART_ENDPOINTS: &[&str] = &["/api/admin/products/image"];

/// The page that shows the form of an admin function, for re-rendering a failed no-JS post.
/// Forms that edit one record live on that record's page (`id` is the form's `id` field).
pub fn form_page(server_fn_path: &str, id: Option<&str>) -> Option<String> {
    let id = id.map(str::trim).filter(|i| !i.is_empty() && i.chars().all(|c| c.is_ascii_digit()));
    let on = |prefix: &str| id.map(|i| format!("{prefix}/{i}"));
    match server_fn_path.strip_prefix("/api/admin/")? {
        "products/create" => Some("/admin/products/new".into()),
        "products/update" | "products/delete" | "products/restore" => on("/admin/products"),
        "sales/create" => Some("/admin/sales/new".into()),
        "sales/update" => on("/admin/sales"),
        "orders/cancel" | "orders/retry" | "returns/approve" | "returns/refuse" => on("/admin/orders"),
        "dead-letters/replay" => Some("/admin/dead-letters".into()),
        // The upload form posts multipart (not read by the guard): its page is the Referer.
        _ => None,
    }
}

/// Parses an id from a form or query; anything but a positive integer names nothing: 404.
#[cfg(feature = "ssr")]
pub(crate) fn parse_id(raw: &str, what: &str) -> Result<i64, AppError> {
    crate::api::catalog::parse_id(raw, what).map_err(crate::api::reject)
}

/// A redirect after a successful form post (a no-JS browser follows it; the JSON API ignores it).
#[cfg(feature = "ssr")]
pub(crate) fn done(path: &str) {
    leptos_axum::redirect(path);
}

/// Tells the stock gate, through the inventory, about a committed admin change that moved
/// `item`'s units by `delta` ([`shop_store::Inventory::admin_changed`]).
#[cfg(feature = "ssr")]
pub(crate) async fn sync_gate(
    state: &crate::state::AppState,
    item: shop_domain::gate::GateItem,
    delta: i64,
) -> Result<(), AppError> {
    state.inventory.admin_changed(item, delta, shop_domain::Timestamp::now()).await.map_err(|e| match e {
        shop_store::InventoryError::Gate(e) => {
            tracing::error!(%item, error = %e, "admin change saved but the stock gate was not updated");
            crate::api::reject(AppError::Unavailable(
                "Saved, but the stock gate did not answer, so buyers may still see the old numbers. Save again in a moment."
                    .into(),
            ))
        }
        shop_store::InventoryError::Store(e) => AppError::internal("gate state")(e),
    })
}

/// `POST /api/admin/role` — `email`, `role` (`customer` | `admin`): grant or revoke staff access.
#[server(endpoint = "admin/role", prefix = "/api")]
pub async fn set_user_role(email: String, role: String) -> Result<(), AppError> {
    use crate::api::reject;
    use shop_domain::{Role, Timestamp};
    let admin = crate::auth::require_admin().await?;
    let role = Role::parse(role.trim())
        .ok_or_else(|| reject(AppError::field("role", "Choose customer or admin.")))?;
    let state = crate::state::app_state()?;
    let user = state
        .store
        .user_by_email(&email)
        .await
        .map_err(AppError::internal("find user"))?
        .ok_or_else(|| reject(AppError::NotFound("User".into())))?;
    if user.id == admin.id && role != Role::Admin {
        return Err(reject(AppError::field("role", "You can't remove your own admin access.")));
    }
    state
        .store
        .admin_set_role(user.id, role, admin.id, Timestamp::now())
        .await
        .map_err(AppError::internal("set role"))?;
    state.signed_in.forget(user.id);
    tracing::info!(admin_id = admin.id, user_id = user.id, role = role.as_str(), "role changed");
    Ok(())
}
