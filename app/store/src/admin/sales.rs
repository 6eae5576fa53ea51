//! Flash sales as staff manage them. A save reads everything the rules need (the product's
//! price and stock, what orders hold, the product's other sales) and writes in one
//! transaction, with the product row locked, so two admins can't slip overlapping sales past
//! each other.

use super::{audit, for_update};
use crate::catalog::{sale_from_row, SALE_COLUMNS};
use crate::{Result, Store};
use shop_domain::admin::{check_sale, ExistingSale, SaleContext, SaleDraft, SaleRejection};
use shop_domain::{Money, Page, SaleSummary, SaleWindow, Timestamp, PAGE_SIZE};
use sqlx::Row;

/// The outcome of saving a sale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveSale {
    /// Written: the gate must now be told (sale and product). `quantity_delta` is how much
    /// the sale's quantity grew (all of it for a new sale); the product's free stock changes by
    /// the opposite (a sale that has not ended sets its unsold quantity aside).
    Saved {
        id: i64,
        product_id: i64,
        quantity_delta: i64,
    },
    Rejected(SaleRejection),
    /// No such sale (edit).
    NotFound,
    /// No such product, or it is archived (create).
    ProductNotFound,
}

fn window(start: i64, end: i64) -> Option<SaleWindow> {
    SaleWindow::new(Timestamp::from_millis(start), Timestamp::from_millis(end)).ok()
}

fn describe(d: &SaleDraft) -> String {
    format!(
        "“{}”: {} at {}, limit {} per buyer, {} – {}",
        d.title,
        d.quantity,
        d.sale_price,
        d.per_buyer_limit,
        d.starts_at.utc_string(),
        d.ends_at.utc_string()
    )
}

impl Store {
    /// Every sale, the latest start first.
    pub async fn admin_sales(&self, page: u32, now: Timestamp) -> Result<Page<SaleSummary>> {
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM flash_sales").fetch_one(&self.pool).await?;
        let offset = (page.max(1) - 1) * PAGE_SIZE;
        let items = sqlx::query(&format!(
            "SELECT {SALE_COLUMNS} FROM flash_sales s JOIN products p ON p.id = s.product_id \
             ORDER BY s.starts_at DESC, s.id DESC LIMIT {PAGE_SIZE} OFFSET {offset}"
        ))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| sale_from_row(r, now))
        .collect::<Result<Vec<_>>>()?;
        Ok(Page::exact(items, page, total.max(0) as u64))
    }

    /// Sales running at `now` (started, not ended), soonest to end first.
    pub async fn admin_live_sales(&self, now: Timestamp) -> Result<Vec<SaleSummary>> {
        sqlx::query(&format!(
            "SELECT {SALE_COLUMNS} FROM flash_sales s JOIN products p ON p.id = s.product_id \
             WHERE s.starts_at <= $1 AND s.ends_at > $1 ORDER BY s.ends_at, s.id LIMIT 100"
        ))
        .bind(now.millis())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| sale_from_row(r, now))
        .collect()
    }

    /// Creates (`id: None`, with `product_id`) or edits a sale after checking it against the
    /// shop's rules ([`check_sale`]); audited. The product of an existing sale never changes.
    pub async fn admin_save_sale(
        &self,
        id: Option<i64>,
        product_id: Option<i64>,
        draft: &SaleDraft,
        actor: i64,
        now: Timestamp,
    ) -> Result<SaveSale> {
        let mut tx = self.begin_write().await?;
        let lock = for_update(self.backend);
        let (product_id, existing, old) = match id {
            Some(id) => {
                let row = sqlx::query(&format!(
                    "SELECT product_id, title, sale_price, quantity, sold, per_buyer_limit, starts_at, ends_at \
                     FROM flash_sales WHERE id = $1{lock}"
                ))
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(r) = row else { return Ok(SaveSale::NotFound) };
                let w = window(r.try_get("starts_at")?, r.try_get("ends_at")?)
                    .ok_or(crate::StoreError::Corrupt("flash_sales window"))?;
                let old = SaleDraft {
                    title: r.try_get("title")?,
                    sale_price: Money::from_minor(r.try_get("sale_price")?),
                    quantity: r.try_get("quantity")?,
                    per_buyer_limit: r.try_get("per_buyer_limit")?,
                    starts_at: w.starts_at,
                    ends_at: w.ends_at,
                };
                let existing = ExistingSale { quantity: old.quantity, sold: r.try_get("sold")?, window: w };
                (r.try_get::<i64, _>("product_id")?, Some(existing), Some(old))
            }
            None => match product_id {
                Some(p) => (p, None, None),
                None => return Ok(SaveSale::ProductNotFound),
            },
        };
        let product =
            sqlx::query(&format!("SELECT price, stock, archived_at FROM products WHERE id = $1{lock}"))
                .bind(product_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(product) = product else { return Ok(SaveSale::ProductNotFound) };
        if id.is_none() && product.try_get::<Option<i64>, _>("archived_at")?.is_some() {
            return Ok(SaveSale::ProductNotFound);
        }
        let held_by_regular_orders: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(l.quantity), 0) AS BIGINT) FROM order_lines l JOIN orders o ON o.id = l.order_id \
             WHERE l.product_id = $1 AND l.sale_id IS NULL AND l.stock_committed = 0 \
             AND o.status NOT IN ('FAILED', 'CANCELLED')",
        )
        .bind(product_id)
        .fetch_one(&mut *tx)
        .await?;
        let others = sqlx::query(
            "SELECT id, quantity, sold, starts_at, ends_at FROM flash_sales WHERE product_id = $1 AND id <> $2",
        )
        .bind(product_id)
        .bind(id.unwrap_or(0))
        .fetch_all(&mut *tx)
        .await?;
        let mut other_windows = Vec::new();
        let mut set_aside_by_other_sales = 0;
        for r in &others {
            let (start, end): (i64, i64) = (r.try_get("starts_at")?, r.try_get("ends_at")?);
            if let Some(w) = window(start, end) {
                other_windows.push((r.try_get("id")?, w));
            }
            if end > now.millis() {
                set_aside_by_other_sales += r.try_get::<i64, _>("quantity")? - r.try_get::<i64, _>("sold")?;
            }
        }
        let ctx = SaleContext {
            product_price: Money::from_minor(product.try_get("price")?),
            product_stock: product.try_get("stock")?,
            held_by_regular_orders,
            set_aside_by_other_sales,
            other_windows,
            existing,
            now,
        };
        let d = match check_sale(draft, &ctx) {
            Ok(d) => d,
            Err(rejection) => return Ok(SaveSale::Rejected(rejection)),
        };
        let sale_id = match id {
            None => {
                let new_id: i64 = sqlx::query_scalar(
                    "INSERT INTO flash_sales (product_id, title, sale_price, quantity, sold, per_buyer_limit, \
                     starts_at, ends_at, created_at, updated_at) VALUES ($1, $2, $3, $4, 0, $5, $6, $7, $8, $8) \
                     RETURNING id",
                )
                .bind(product_id)
                .bind(&d.title)
                .bind(d.sale_price.minor())
                .bind(d.quantity)
                .bind(d.per_buyer_limit)
                .bind(d.starts_at.millis())
                .bind(d.ends_at.millis())
                .bind(now.millis())
                .fetch_one(&mut *tx)
                .await?;
                let detail = format!("product:{product_id} {}", describe(&d));
                audit(&mut tx, actor, "sale.create", &format!("sale:{new_id}"), &detail, now).await?;
                new_id
            }
            Some(id) => {
                sqlx::query(
                    "UPDATE flash_sales SET title = $1, sale_price = $2, quantity = $3, per_buyer_limit = $4, \
                     starts_at = $5, ends_at = $6, updated_at = $7 WHERE id = $8",
                )
                .bind(&d.title)
                .bind(d.sale_price.minor())
                .bind(d.quantity)
                .bind(d.per_buyer_limit)
                .bind(d.starts_at.millis())
                .bind(d.ends_at.millis())
                .bind(now.millis())
                .bind(id)
                .execute(&mut *tx)
                .await?;
                let detail = match &old {
                    Some(old) if old.quantity != d.quantity => {
                        format!("quantity {} → {}; now {}", old.quantity, d.quantity, describe(&d))
                    }
                    _ => format!("now {}", describe(&d)),
                };
                audit(&mut tx, actor, "sale.update", &format!("sale:{id}"), &detail, now).await?;
                id
            }
        };
        tx.commit().await?;
        self.catalog.forget_all();
        let quantity_delta = d.quantity - old.as_ref().map_or(0, |o| o.quantity);
        Ok(SaveSale::Saved { id: sale_id, product_id, quantity_delta })
    }
}
