//! What the admin pages read and write. Every change made here writes its audit-log row in
//! the same transaction as the change itself.
//!
//! - `products`: the admin catalog (archived products too), create/edit, images, delete-or-archive
//! - `sales`: flash sales, checked against the product's stock and other sales in the write
//!   transaction (the product row is locked on PostgreSQL; SQLite's `BEGIN IMMEDIATE` serialises)
//! - `orders`: filtered order list, the full saga record of one order, dead letters and replay
//! - `overview`: the audit log, role changes, the dashboard

mod orders;
mod overview;
mod products;
mod sales;

pub use products::{RemoveProduct, SaveProduct};
pub use sales::SaveSale;

use crate::{Backend, Result};
use shop_domain::Timestamp;

/// Writes one audit-log row in the caller's transaction.
pub(crate) async fn audit(
    conn: &mut sqlx::AnyConnection,
    actor_id: i64,
    action: &str,
    target: &str,
    detail: &str,
    now: Timestamp,
) -> Result<()> {
    sqlx::query("INSERT INTO audit_log (actor_id, action, target, detail, at) VALUES ($1, $2, $3, $4, $5)")
        .bind(actor_id)
        .bind(action)
        .bind(target)
        .bind(detail)
        .bind(now.millis())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// `FOR UPDATE` on PostgreSQL (row lock until commit); nothing on SQLite, where the write
/// transaction (`BEGIN IMMEDIATE`) already excludes other writers.
pub(crate) fn for_update(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    }
}

/// `LIKE` that ignores case on both backends (SQLite's `LIKE` already does, for ASCII).
pub(crate) fn ilike(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "ILIKE",
        Backend::Sqlite => "LIKE",
    }
}
