//! Catalog reads: product listings, search, product and sale pages.

use crate::{Result, Store, StoreError};
use shop_domain::{
    Money, ProductDetail, ProductSummary, SaleDetail, SaleStatus, SaleSummary, SaleWindow, Timestamp,
};
use sqlx::any::AnyRow;
use sqlx::Row;

/// The image shown when a product has none.
pub const NO_IMAGE: &str = "/media/placeholder/none.svg";

/// Listings show an upload's thumbnail when it has one.
pub(crate) const SUMMARY_COLUMNS: &str = "p.id, p.name, p.price, p.stock, p.sold_count, \
    (SELECT COALESCE(i.thumb_url, i.url) FROM product_images i WHERE i.product_id = p.id \
     ORDER BY i.position, i.id LIMIT 1) AS image_url";

pub(crate) const SALE_COLUMNS: &str = "s.id, s.title, s.product_id, p.name AS product_name, p.price, \
    s.sale_price, s.quantity, s.sold, s.per_buyer_limit, s.starts_at, s.ends_at, \
    (SELECT COALESCE(i.thumb_url, i.url) FROM product_images i WHERE i.product_id = p.id \
     ORDER BY i.position, i.id LIMIT 1) AS image_url";

pub(crate) fn summary_from_row(row: &AnyRow) -> Result<ProductSummary> {
    Ok(ProductSummary {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        price: Money::from_minor(row.try_get("price")?),
        image_url: row.try_get::<Option<String>, _>("image_url")?.unwrap_or_else(|| NO_IMAGE.to_string()),
        stock: row.try_get("stock")?,
        sold_count: row.try_get("sold_count")?,
    })
}

pub(crate) fn sale_from_row(row: &AnyRow, now: Timestamp) -> Result<SaleSummary> {
    let window = SaleWindow::new(
        Timestamp::from_millis(row.try_get("starts_at")?),
        Timestamp::from_millis(row.try_get("ends_at")?),
    )
    .map_err(|_| StoreError::Corrupt("flash_sales window"))?;
    let quantity: i64 = row.try_get("quantity")?;
    let sold: i64 = row.try_get("sold")?;
    Ok(SaleSummary {
        id: row.try_get("id")?,
        title: row.try_get("title")?,
        product_id: row.try_get("product_id")?,
        product_name: row.try_get("product_name")?,
        image_url: row.try_get::<Option<String>, _>("image_url")?.unwrap_or_else(|| NO_IMAGE.to_string()),
        regular_price: Money::from_minor(row.try_get("price")?),
        sale_price: Money::from_minor(row.try_get("sale_price")?),
        quantity,
        sold,
        per_buyer_limit: row.try_get("per_buyer_limit")?,
        window,
        status: SaleStatus::at(window, quantity - sold, now),
        as_of: now,
    })
}

/// Live first, then upcoming (soonest first), then sold out, then ended.
fn sale_rank(s: &SaleSummary) -> (u8, i64) {
    match s.status {
        SaleStatus::Live => (0, s.window.ends_at.millis()),
        SaleStatus::Upcoming => (1, s.window.starts_at.millis()),
        SaleStatus::SoldOut => (2, -s.window.starts_at.millis()),
        SaleStatus::Ended => (3, -s.window.ends_at.millis()),
    }
}

impl Store {
    /// A product's page, or `None` when it does not exist or is archived (kept for a moment:
    /// `catalog_cache.rs`). Its sales are as seen at `now`.
    pub async fn product(&self, id: i64, now: Timestamp) -> Result<Option<ProductDetail>> {
        let found = self.catalog.get_or_load(&self.catalog.products, id, self.load_product(id, now)).await?;
        Ok(found.map(|mut p| {
            p.sales = p.sales.into_iter().map(|s| s.seen_at(now)).collect();
            p
        }))
    }

    /// One query for the product, its tags and images (a product page that misses the cache
    /// pays one round trip, not four); a second only when it has a sale to show.
    async fn load_product(&self, id: i64, now: Timestamp) -> Result<Option<ProductDetail>> {
        // Tags and image URLs are validated on the way in and never hold a control character.
        const SEP: &str = "\u{1f}";
        let row = sqlx::query(
            "SELECT p.id, p.name, p.description, p.price, p.stock, p.sold_count, p.created_at, \
             (SELECT string_agg(t.tag, $2 ORDER BY t.tag) FROM product_tags t WHERE t.product_id = p.id) AS tags, \
             (SELECT string_agg(i.url, $2 ORDER BY i.position, i.id) FROM product_images i \
              WHERE i.product_id = p.id) AS images, \
             (SELECT COUNT(*) FROM flash_sales s WHERE s.product_id = p.id AND s.ends_at > $3) AS sales \
             FROM products p WHERE p.id = $1 AND p.archived_at IS NULL",
        )
        .bind(id)
        .bind(SEP)
        .bind(now.millis())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let split = |column: &str| -> Result<Vec<String>> {
            let joined: Option<String> = row.try_get(column)?;
            Ok(joined.map(|j| j.split(SEP).map(str::to_string).collect()).unwrap_or_default())
        };
        let tags = split("tags")?;
        let mut image_urls = split("images")?;
        if image_urls.is_empty() {
            image_urls.push(NO_IMAGE.to_string());
        }
        let sale_count: i64 = row.try_get("sales")?;
        let sale_rows = if sale_count == 0 {
            Vec::new()
        } else {
            sqlx::query(&format!(
                "SELECT {SALE_COLUMNS} FROM flash_sales s JOIN products p ON p.id = s.product_id \
                 WHERE s.product_id = $1 AND s.ends_at > $2 ORDER BY s.starts_at"
            ))
            .bind(id)
            .bind(now.millis())
            .fetch_all(&self.pool)
            .await?
        };
        let sales = sale_rows.iter().map(|r| sale_from_row(r, now)).collect::<Result<Vec<_>>>()?;

        Ok(Some(ProductDetail {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            description: row.try_get("description")?,
            price: Money::from_minor(row.try_get("price")?),
            stock: row.try_get("stock")?,
            sold_count: row.try_get("sold_count")?,
            tags,
            image_urls,
            created_at: Timestamp::from_millis(row.try_get("created_at")?),
            sales,
        }))
    }

    /// Sales a shopper should see on the home page: live and upcoming first, then those that
    /// sold out or ended within the last day (kept for a moment, ranked at `now`).
    pub async fn featured_sales(&self, now: Timestamp, limit: u32) -> Result<Vec<SaleSummary>> {
        let sales = self.catalog.get_or_load(&self.catalog.featured, limit, self.load_featured_sales(now)).await?;
        let mut sales: Vec<SaleSummary> = sales.into_iter().map(|s| s.seen_at(now)).collect();
        sales.sort_by_key(sale_rank);
        sales.truncate(limit as usize);
        Ok(sales)
    }

    async fn load_featured_sales(&self, now: Timestamp) -> Result<Vec<SaleSummary>> {
        let rows = sqlx::query(&format!(
            "SELECT {SALE_COLUMNS} FROM flash_sales s JOIN products p ON p.id = s.product_id \
             WHERE s.ends_at > $1 ORDER BY s.starts_at LIMIT 200"
        ))
        .bind(now.plus_secs(-86_400).millis())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| sale_from_row(r, now)).collect()
    }

    /// A sale's page, or `None` for an unknown id (kept for a moment, as seen at `now`).
    pub async fn sale(&self, id: i64, now: Timestamp) -> Result<Option<SaleDetail>> {
        let found = self.catalog.get_or_load(&self.catalog.sales, id, self.load_sale(id, now)).await?;
        Ok(found.map(|mut s| {
            s.summary = s.summary.seen_at(now);
            s
        }))
    }

    async fn load_sale(&self, id: i64, now: Timestamp) -> Result<Option<SaleDetail>> {
        let row = sqlx::query(&format!(
            "SELECT {SALE_COLUMNS}, p.description FROM flash_sales s \
             JOIN products p ON p.id = s.product_id WHERE s.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(SaleDetail {
            summary: sale_from_row(&row, now)?,
            product_description: row.try_get("description")?,
        }))
    }
}
