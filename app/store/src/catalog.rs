//! Catalog reads: product listings, search, product and sale pages.

use crate::sql::{fts5_phrase, like_escape, Param, Params};
use crate::{Backend, Result, Store, StoreError};
use shop_domain::{
    Money, Page, ProductDetail, ProductQuery, ProductSummary, SaleDetail, SaleStatus, SaleSummary,
    SaleWindow, Sort, Timestamp, PAGE_SIZE,
};
use sqlx::any::AnyRow;
use sqlx::Row;

/// The image shown when a product has none.
pub const NO_IMAGE: &str = "/media/placeholder/none.svg";

/// Listings show an upload's thumbnail when it has one.
const SUMMARY_COLUMNS: &str = "p.id, p.name, p.price, p.stock, p.sold_count, \
    (SELECT COALESCE(i.thumb_url, i.url) FROM product_images i WHERE i.product_id = p.id \
     ORDER BY i.position, i.id LIMIT 1) AS image_url";

pub(crate) const SALE_COLUMNS: &str = "s.id, s.title, s.product_id, p.name AS product_name, p.price, \
    s.sale_price, s.quantity, s.sold, s.per_buyer_limit, s.starts_at, s.ends_at, \
    (SELECT COALESCE(i.thumb_url, i.url) FROM product_images i WHERE i.product_id = p.id \
     ORDER BY i.position, i.id LIMIT 1) AS image_url";

fn summary_from_row(row: &AnyRow) -> Result<ProductSummary> {
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
    /// One page of the catalog for a validated query.
    pub async fn search_products(&self, query: &ProductQuery) -> Result<Page<ProductSummary>> {
        let mut params = Params::default();
        let mut filter = String::from("p.archived_at IS NULL");
        if let Some(text) = &query.text {
            match self.backend {
                // Trigram FTS answers substrings of 3+ characters from the index.
                Backend::Sqlite if text.chars().count() >= 3 => {
                    let p = params.push(Param::Text(fts5_phrase(text)));
                    filter.push_str(&format!(
                        " AND p.id IN (SELECT rowid FROM products_fts WHERE products_fts MATCH {p})"
                    ));
                }
                Backend::Sqlite => {
                    let p = params.push(Param::Text(format!("%{}%", like_escape(text))));
                    filter.push_str(&format!(" AND p.name LIKE {p} ESCAPE '\\'"));
                }
                Backend::Postgres => {
                    let p = params.push(Param::Text(format!("%{}%", like_escape(text))));
                    filter.push_str(&format!(" AND p.name ILIKE {p} ESCAPE '\\'"));
                }
            }
        }
        if let Some(tag) = &query.tag {
            let p = params.push(Param::Text(tag.clone()));
            filter.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM product_tags t WHERE t.product_id = p.id AND t.tag = {p})"
            ));
        }
        let order = match query.sort {
            Sort::Newest => "p.created_at DESC, p.id DESC",
            Sort::BestSelling => "p.sold_count DESC, p.id DESC",
            Sort::PriceAsc => "p.price ASC, p.id ASC",
            Sort::PriceDesc => "p.price DESC, p.id DESC",
        };

        let count_sql = format!("SELECT COUNT(*) FROM products p WHERE {filter}");
        let total: i64 = params.bind_scalar(sqlx::query_scalar(&count_sql)).fetch_one(&self.pool).await?;

        let list_sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM products p WHERE {filter} ORDER BY {order} LIMIT {PAGE_SIZE} OFFSET {}",
            query.offset()
        );
        let rows = params.bind(sqlx::query(&list_sql)).fetch_all(&self.pool).await?;
        let items = rows.iter().map(summary_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page { items, page: query.page, total_items: total.max(0) as u64 })
    }

    /// The first `limit` products in an order, for home-page shelves.
    pub async fn product_shelf(&self, sort: Sort, limit: u32) -> Result<Vec<ProductSummary>> {
        let query = ProductQuery { sort, ..ProductQuery::default() };
        let mut page = self.search_products(&ProductQuery { page: 1, ..query }).await?;
        page.items.truncate(limit as usize);
        Ok(page.items)
    }

    /// A product's page, or `None` when it does not exist or is archived.
    pub async fn product(&self, id: i64, now: Timestamp) -> Result<Option<ProductDetail>> {
        let row = sqlx::query(
            "SELECT p.id, p.name, p.description, p.price, p.stock, p.sold_count, p.created_at \
             FROM products p WHERE p.id = $1 AND p.archived_at IS NULL",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };

        let tags: Vec<String> =
            sqlx::query_scalar("SELECT tag FROM product_tags WHERE product_id = $1 ORDER BY tag")
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
        let mut image_urls: Vec<String> =
            sqlx::query_scalar("SELECT url FROM product_images WHERE product_id = $1 ORDER BY position, id")
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
        if image_urls.is_empty() {
            image_urls.push(NO_IMAGE.to_string());
        }
        let sale_rows = sqlx::query(&format!(
            "SELECT {SALE_COLUMNS} FROM flash_sales s JOIN products p ON p.id = s.product_id \
             WHERE s.product_id = $1 AND s.ends_at > $2 ORDER BY s.starts_at"
        ))
        .bind(id)
        .bind(now.millis())
        .fetch_all(&self.pool)
        .await?;
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
    /// sold out or ended within the last day.
    pub async fn featured_sales(&self, now: Timestamp, limit: u32) -> Result<Vec<SaleSummary>> {
        let rows = sqlx::query(&format!(
            "SELECT {SALE_COLUMNS} FROM flash_sales s JOIN products p ON p.id = s.product_id \
             WHERE s.ends_at > $1 ORDER BY s.starts_at LIMIT 200"
        ))
        .bind(now.plus_secs(-86_400).millis())
        .fetch_all(&self.pool)
        .await?;
        let mut sales = rows.iter().map(|r| sale_from_row(r, now)).collect::<Result<Vec<_>>>()?;
        sales.sort_by_key(sale_rank);
        sales.truncate(limit as usize);
        Ok(sales)
    }

    /// A sale's page, or `None` for an unknown id.
    pub async fn sale(&self, id: i64, now: Timestamp) -> Result<Option<SaleDetail>> {
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

    /// The most used tags with their product counts, for browsing chips.
    pub async fn popular_tags(&self, limit: u32) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT tag, COUNT(*) AS n FROM product_tags GROUP BY tag ORDER BY n DESC, tag LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((r.try_get("tag")?, r.try_get("n")?))).collect()
    }
}
