//! The stock gate's view of the database: what it may still sell of an item, and what each
//! live order holds, rebuilt from the order lines (gate load, admin sync, drift check).
//!
//! A line holds a gate unit while it is ACTIVE: the transaction that marks it CANCELLED (a
//! buyer's cancel, the stock worker's release) is followed by the gate release of its
//! `(buyer, idempotency key)`, so a failed order whose stock is still to be returned keeps
//! holding its unit here too. `sold` and product `stock` move when units are committed; a
//! cancelled line still committed (its un-commit is the stock worker's, later) was already
//! given back to the gate, so it is added back.

use crate::{Result, Store, StoreError};
use shop_domain::gate::{GateItem, GateRules, Holding};
use shop_domain::{SaleWindow, Timestamp};
use sqlx::Row;

/// The order lines of one gate item: a `WHERE` condition on `order_lines l` binding `$1`.
fn lines_of(item: GateItem) -> (&'static str, i64) {
    match item {
        GateItem::Sale(id) => ("l.sale_id = $1", id),
        GateItem::Product(id) => ("l.product_id = $1 AND l.sale_id IS NULL", id),
    }
}

impl Store {
    /// The gate's rules for an item, rebuilt from the database (`None`: no such sale, or the
    /// product is archived).
    pub async fn gate_rules(&self, item: GateItem, now: Timestamp) -> Result<Option<GateRules>> {
        match item {
            GateItem::Sale(id) => self.sale_gate_rules(id).await,
            GateItem::Product(id) => self.product_gate_rules(id, now).await,
        }
    }

    /// The gate's rules for an item and what each live order holds of it: what a gate that
    /// (re)loads the item installs.
    pub async fn gate_state(
        &self,
        item: GateItem,
        now: Timestamp,
    ) -> Result<Option<(GateRules, Vec<Holding>)>> {
        let Some(rules) = self.gate_rules(item, now).await? else { return Ok(None) };
        Ok(Some((rules, self.live_holdings(item).await?)))
    }

    /// A sale: the quantity less what was sold (committed to stock) and what live lines
    /// hold uncommitted.
    async fn sale_gate_rules(&self, sale_id: i64) -> Result<Option<GateRules>> {
        let row = sqlx::query(
            "SELECT quantity, sold, per_buyer_limit, starts_at, ends_at FROM flash_sales WHERE id = $1",
        )
        .bind(sale_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let (uncommitted, cancelled_committed) = self.line_units(GateItem::Sale(sale_id)).await?;
        let quantity: i64 = r.try_get("quantity")?;
        let sold: i64 = r.try_get("sold")?;
        let window = SaleWindow::new(
            Timestamp::from_millis(r.try_get("starts_at")?),
            Timestamp::from_millis(r.try_get("ends_at")?),
        )
        .map_err(|_| StoreError::Corrupt("flash_sales window"))?;
        Ok(Some(GateRules {
            available: (quantity - sold - uncommitted + cancelled_committed).max(0),
            per_buyer_limit: Some(r.try_get("per_buyer_limit")?),
            window: Some(window),
        }))
    }

    /// A regular product: its stock, less units held by live regular lines not yet committed,
    /// less what flash sales still running have set aside (their quantity not yet committed),
    /// so sale and regular buyers never oversell each other.
    async fn product_gate_rules(&self, product_id: i64, now: Timestamp) -> Result<Option<GateRules>> {
        let stock: Option<i64> =
            sqlx::query_scalar("SELECT stock FROM products WHERE id = $1 AND archived_at IS NULL")
                .bind(product_id)
                .fetch_optional(&self.pool)
                .await?;
        let Some(stock) = stock else { return Ok(None) };
        let (held, cancelled_committed) = self.line_units(GateItem::Product(product_id)).await?;
        // Unsold allotments of sales still running. (A cancelled sale line still committed
        // counts as sold here and as missing from `stock`: the two cancel out.)
        let set_aside: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(quantity - sold), 0) AS BIGINT) FROM flash_sales WHERE product_id = $1 AND ends_at > $2",
        )
        .bind(product_id)
        .bind(now.millis())
        .fetch_one(&self.pool)
        .await?;
        Ok(Some(GateRules {
            available: (stock + cancelled_committed - held - set_aside).max(0),
            per_buyer_limit: None,
            window: None,
        }))
    }

    /// Units of an item's lines: (live and not yet committed, cancelled but still committed).
    async fn line_units(&self, item: GateItem) -> Result<(i64, i64)> {
        let (filter, id) = lines_of(item);
        Ok(sqlx::query_as(&format!(
            "SELECT CAST(COALESCE(SUM(CASE WHEN l.status = 'ACTIVE' AND l.stock_committed = 0 THEN l.quantity ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN l.status = 'CANCELLED' AND l.stock_committed = 1 THEN l.quantity ELSE 0 END), 0) AS BIGINT) \
             FROM order_lines l WHERE {filter}"
        ))
        .bind(id)
        .fetch_one(&self.pool)
        .await?)
    }

    /// What each live order holds of an item, under its idempotency key.
    async fn live_holdings(&self, item: GateItem) -> Result<Vec<Holding>> {
        let (filter, id) = lines_of(item);
        let rows = sqlx::query(&format!(
            "SELECT o.user_id, o.idempotency_key, CAST(SUM(l.quantity) AS BIGINT) AS units FROM order_lines l \
             JOIN orders o ON o.id = l.order_id WHERE {filter} AND l.status = 'ACTIVE' \
             GROUP BY o.user_id, o.idempotency_key ORDER BY o.user_id, o.idempotency_key"
        ))
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Holding {
                    buyer: r.try_get("user_id")?,
                    key: r.try_get("idempotency_key")?,
                    units: r.try_get("units")?,
                })
            })
            .collect()
    }
}
