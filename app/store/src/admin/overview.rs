//! The audit log, role changes, and the numbers on the admin dashboard.

use super::audit;
use crate::{Result, Store};
use shop_domain::admin::{input::start_of_day, AuditEntry, Dashboard, ALL_STATUSES};
use shop_domain::{Money, OrderStatus, Page, Role, Timestamp, PAGE_SIZE};
use sqlx::Row;

impl Store {
    /// The audit log, newest first.
    pub async fn audit_entries(&self, page: u32) -> Result<Page<AuditEntry>> {
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log").fetch_one(&self.pool).await?;
        let offset = (page.max(1) - 1) * PAGE_SIZE;
        let items = sqlx::query(&format!(
            "SELECT a.id, a.actor_id, u.email, a.action, a.target, a.detail, a.at FROM audit_log a \
             LEFT JOIN users u ON u.id = a.actor_id ORDER BY a.id DESC LIMIT {PAGE_SIZE} OFFSET {offset}"
        ))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(AuditEntry {
                id: r.try_get("id")?,
                actor_id: r.try_get("actor_id")?,
                actor: r.try_get("email")?,
                action: r.try_get("action")?,
                target: r.try_get("target")?,
                detail: r.try_get("detail")?,
                at: Timestamp::from_millis(r.try_get("at")?),
            })
        })
        .collect::<Result<Vec<_>>>()?;
        Ok(Page::exact(items, page, total.max(0) as u64))
    }

    /// Grants or revokes staff access; audited in the same transaction.
    pub async fn admin_set_role(&self, user_id: i64, role: Role, actor: i64, now: Timestamp) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE users SET role = $1, updated_at = $2 WHERE id = $3")
            .bind(role.as_str())
            .bind(now.millis())
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        audit(&mut tx, actor, "user.role", &format!("user:{user_id}"), role.as_str(), now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Live sales, orders per status, today's revenue, dead letters waiting.
    pub async fn dashboard(&self, now: Timestamp) -> Result<Dashboard> {
        let counts = sqlx::query("SELECT status, COUNT(*) AS n FROM orders GROUP BY status")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get::<String, _>("status")?, r.try_get::<i64, _>("n")?)))
            .collect::<Result<Vec<_>>>()?;
        let orders_by_status = ALL_STATUSES
            .iter()
            .map(|s| (*s, counts.iter().find(|(name, _)| name == s.as_str()).map_or(0, |(_, n)| *n)))
            .collect();
        let today = sqlx::query(
            "SELECT CAST(COALESCE(SUM(total), 0) AS BIGINT) AS revenue, COUNT(*) AS n FROM orders \
             WHERE created_at >= $1 AND status IN ($2, $3, $4)",
        )
        .bind(start_of_day(now).millis())
        .bind(OrderStatus::Paid.as_str())
        .bind(OrderStatus::Shipping.as_str())
        .bind(OrderStatus::Delivered.as_str())
        .fetch_one(&self.pool)
        .await?;
        let dead_letters_waiting: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM dead_letters WHERE replayed_at IS NULL")
                .fetch_one(&self.pool)
                .await?;
        Ok(Dashboard {
            live_sales: self.admin_live_sales(now).await?,
            activity: Vec::new(),
            orders_by_status,
            revenue_today: Money::from_minor(today.try_get("revenue")?),
            paid_orders_today: today.try_get("n")?,
            dead_letters_waiting,
            as_of: now,
        })
    }
}
