//! The admin catalog: every product (archived too), create and edit with tags and images,
//! delete (or archive, when anything references the product), restore, uploaded images.

use super::{audit, for_update, ilike};
use crate::catalog::{sale_from_row, SALE_COLUMNS};
use crate::sql::like_escape;
use crate::{Result, Store, NO_IMAGE};
use shop_domain::search::search_key;
use shop_domain::admin::{
    check_stock, AdminProduct, AdminProductQuery, AdminProductRow, ProductChoice, ProductDraft, ProductImage,
    Removal,
};
use shop_domain::{Money, Page, Timestamp, PAGE_SIZE};
use sqlx::Row;

/// The outcome of saving a product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveProduct {
    /// Written; `stock_delta` is the change to the stock, for the stock gate (which must add
    /// it, not take the new count: buyers may hold units the database does not show yet).
    Saved {
        id: i64,
        stock_delta: i64,
    },
    NotFound,
    /// The new stock is below what orders and sales were promised (field message).
    StockTooLow(String),
}

/// The outcome of "Delete".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoveProduct {
    Done(Removal),
    NotFound,
    /// This sale of the product is live or upcoming: it must end first.
    SaleNotOver(i64),
}

/// Units of a product promised to regular orders not yet committed to stock, plus what its
/// sales that have not ended still set aside — the same sum the stock gate keeps back.
async fn promised_units(conn: &mut sqlx::AnyConnection, product_id: i64, now: Timestamp) -> Result<i64> {
    let held: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(l.quantity), 0) AS BIGINT) FROM order_lines l JOIN orders o ON o.id = l.order_id \
         WHERE l.product_id = $1 AND l.sale_id IS NULL AND l.stock_committed = 0 \
         AND o.status NOT IN ('FAILED', 'CANCELLED')",
    )
    .bind(product_id)
    .fetch_one(&mut *conn)
    .await?;
    let set_aside: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(quantity - sold), 0) AS BIGINT) FROM flash_sales WHERE product_id = $1 AND ends_at > $2",
    )
    .bind(product_id)
    .bind(now.millis())
    .fetch_one(&mut *conn)
    .await?;
    Ok(held + set_aside)
}

/// Replaces a product's tags and images (keeping the thumbnails of images that stay).
async fn write_tags_and_images(conn: &mut sqlx::AnyConnection, id: i64, d: &ProductDraft) -> Result<()> {
    sqlx::query("DELETE FROM product_tags WHERE product_id = $1").bind(id).execute(&mut *conn).await?;
    for tag in &d.tags {
        sqlx::query("INSERT INTO product_tags (product_id, tag) VALUES ($1, $2)")
            .bind(id)
            .bind(tag)
            .execute(&mut *conn)
            .await?;
    }
    let old: Vec<(String, Option<String>)> =
        sqlx::query("SELECT url, thumb_url FROM product_images WHERE product_id = $1")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("url")?, r.try_get("thumb_url")?)))
            .collect::<Result<_>>()?;
    sqlx::query("DELETE FROM product_images WHERE product_id = $1").bind(id).execute(&mut *conn).await?;
    for (pos, url) in d.images.iter().enumerate() {
        let thumb = old.iter().find(|(u, _)| u == url).and_then(|(_, t)| t.clone());
        sqlx::query(
            "INSERT INTO product_images (product_id, url, thumb_url, alt, position) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(url)
        .bind(thumb)
        .bind(&d.name)
        .bind(pos as i64)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

fn changes(old: &AdminProduct, d: &ProductDraft) -> String {
    let mut out = Vec::new();
    if old.name != d.name {
        out.push(format!("name “{}” → “{}”", old.name, d.name));
    }
    if old.price != d.price {
        out.push(format!("price {} → {}", old.price, d.price));
    }
    if old.stock != d.stock {
        out.push(format!("stock {} → {}", old.stock, d.stock));
    }
    if old.description != d.description {
        out.push("description".into());
    }
    let (mut old_tags, mut new_tags) = (old.tags.clone(), d.tags.clone());
    old_tags.sort();
    new_tags.sort();
    if old_tags != new_tags {
        out.push(format!("tags [{}]", d.tags.join(", ")));
    }
    let old_images: Vec<&String> = old.images.iter().map(|i| &i.url).collect();
    if old_images != d.images.iter().collect::<Vec<_>>() {
        out.push(format!("{} image(s)", d.images.len()));
    }
    if out.is_empty() {
        "no changes".into()
    } else {
        out.join("; ")
    }
}

impl Store {
    /// One page of every product (archived included), newest first; `q` matches the name
    /// (any case) or, as `#12`, the id.
    pub async fn admin_products(&self, q: &AdminProductQuery) -> Result<Page<AdminProductRow>> {
        let (filter, text) = match (q.id(), &q.text) {
            (Some(id), _) => (format!("p.id = {id}"), None),
            (None, Some(t)) => (
                format!("p.name {} $1 ESCAPE '\\'", ilike(self.backend)),
                Some(format!("%{}%", like_escape(t))),
            ),
            (None, None) => ("1 = 1".to_string(), None),
        };
        let count_sql = format!("SELECT COUNT(*) FROM products p WHERE {filter}");
        let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
        if let Some(t) = &text {
            count = count.bind(t);
        }
        let total = count.fetch_one(&self.pool).await?;
        let offset = (q.page.max(1) - 1) * PAGE_SIZE;
        let list_sql = format!(
            "SELECT p.id, p.name, p.price, p.stock, p.sold_count, p.archived_at, \
             (SELECT COALESCE(i.thumb_url, i.url) FROM product_images i WHERE i.product_id = p.id \
              ORDER BY i.position, i.id LIMIT 1) AS image_url \
             FROM products p WHERE {filter} ORDER BY p.id DESC LIMIT {PAGE_SIZE} OFFSET {offset}"
        );
        let mut list = sqlx::query(&list_sql);
        if let Some(t) = &text {
            list = list.bind(t);
        }
        let items = list
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(AdminProductRow {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    price: Money::from_minor(r.try_get("price")?),
                    stock: r.try_get("stock")?,
                    sold_count: r.try_get("sold_count")?,
                    image_url: r
                        .try_get::<Option<String>, _>("image_url")?
                        .unwrap_or_else(|| NO_IMAGE.to_string()),
                    archived: r.try_get::<Option<i64>, _>("archived_at")?.is_some(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::exact(items, q.page, total.max(0) as u64))
    }

    /// A product as the edit page shows it (archived too), with its sales and order count.
    pub async fn admin_product(&self, id: i64, now: Timestamp) -> Result<Option<AdminProduct>> {
        let row = sqlx::query(
            "SELECT id, name, description, price, stock, sold_count, archived_at FROM products WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let tags: Vec<String> =
            sqlx::query_scalar("SELECT tag FROM product_tags WHERE product_id = $1 ORDER BY tag")
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
        let images = sqlx::query(
            "SELECT url, thumb_url FROM product_images WHERE product_id = $1 ORDER BY position, id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|i| Ok(ProductImage { url: i.try_get("url")?, thumb_url: i.try_get("thumb_url")? }))
        .collect::<Result<Vec<_>>>()?;
        let order_lines: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM order_lines WHERE product_id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        let sales = sqlx::query(&format!(
            "SELECT {SALE_COLUMNS} FROM flash_sales s JOIN products p ON p.id = s.product_id \
             WHERE s.product_id = $1 ORDER BY s.starts_at DESC, s.id DESC"
        ))
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|s| sale_from_row(s, now))
        .collect::<Result<Vec<_>>>()?;
        Ok(Some(AdminProduct {
            id: r.try_get("id")?,
            name: r.try_get("name")?,
            description: r.try_get("description")?,
            price: Money::from_minor(r.try_get("price")?),
            stock: r.try_get("stock")?,
            sold_count: r.try_get("sold_count")?,
            tags,
            images,
            archived_at: r.try_get::<Option<i64>, _>("archived_at")?.map(Timestamp::from_millis),
            order_lines,
            sales,
        }))
    }

    /// Creates a product with its tags and images; audited.
    pub async fn admin_create_product(&self, d: &ProductDraft, actor: i64, now: Timestamp) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO products (name, name_key, description, price, stock, sold_count, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 0, $6, $6) RETURNING id",
        )
        .bind(&d.name)
        .bind(search_key(&d.name))
        .bind(&d.description)
        .bind(d.price.minor())
        .bind(d.stock)
        .bind(now.millis())
        .fetch_one(&mut *tx)
        .await?;
        write_tags_and_images(&mut tx, id, d).await?;
        let detail = format!("“{}”, price {}, stock {}", d.name, d.price, d.stock);
        audit(&mut tx, actor, "product.create", &format!("product:{id}"), &detail, now).await?;
        tx.commit().await?;
        self.catalog.forget_all();
        Ok(id)
    }

    /// Saves an edited product; audited with what changed. The stock can't go below what
    /// open orders and running or upcoming sales were promised.
    pub async fn admin_update_product(
        &self,
        id: i64,
        d: &ProductDraft,
        actor: i64,
        now: Timestamp,
    ) -> Result<SaveProduct> {
        let mut tx = self.begin_write().await?;
        let lock = format!("SELECT id FROM products WHERE id = $1{}", for_update(self.backend));
        if sqlx::query(&lock).bind(id).fetch_optional(&mut *tx).await?.is_none() {
            return Ok(SaveProduct::NotFound);
        }
        let Some(old) = self.admin_product(id, now).await? else { return Ok(SaveProduct::NotFound) };
        if d.stock != old.stock {
            if let Err(message) = check_stock(d.stock, promised_units(&mut tx, id, now).await?) {
                return Ok(SaveProduct::StockTooLow(message));
            }
        }
        sqlx::query(
            "UPDATE products SET name = $1, name_key = $2, description = $3, price = $4, stock = $5, \
             updated_at = $6 WHERE id = $7",
        )
        .bind(&d.name)
        .bind(search_key(&d.name))
        .bind(&d.description)
        .bind(d.price.minor())
        .bind(d.stock)
        .bind(now.millis())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        write_tags_and_images(&mut tx, id, d).await?;
        audit(&mut tx, actor, "product.update", &format!("product:{id}"), &changes(&old, d), now).await?;
        tx.commit().await?;
        self.catalog.forget_all();
        Ok(SaveProduct::Saved { id, stock_delta: d.stock - old.stock })
    }

    /// "Delete": a product nothing references is deleted; one that orders or sales reference
    /// is archived (hidden from the shop, kept for them). Refused while one of its sales is
    /// live or upcoming.
    pub async fn admin_remove_product(&self, id: i64, actor: i64, now: Timestamp) -> Result<RemoveProduct> {
        let mut tx = self.begin_write().await?;
        let lock = format!("SELECT name FROM products WHERE id = $1{}", for_update(self.backend));
        let Some(row) = sqlx::query(&lock).bind(id).fetch_optional(&mut *tx).await? else {
            return Ok(RemoveProduct::NotFound);
        };
        let name: String = row.try_get("name")?;
        let running: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM flash_sales WHERE product_id = $1 AND ends_at > $2 ORDER BY starts_at LIMIT 1",
        )
        .bind(id)
        .bind(now.millis())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(sale) = running {
            return Ok(RemoveProduct::SaleNotOver(sale));
        }
        let references: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM order_lines WHERE product_id = $1) \
             + (SELECT COUNT(*) FROM flash_sales WHERE product_id = $1)",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let target = format!("product:{id}");
        let removal = if references > 0 {
            sqlx::query(
                "UPDATE products SET archived_at = COALESCE(archived_at, $1), updated_at = $1 WHERE id = $2",
            )
            .bind(now.millis())
            .bind(id)
            .execute(&mut *tx)
            .await?;
            let detail = format!("“{name}” archived: {references} order line(s) or sale(s) refer to it");
            audit(&mut tx, actor, "product.archive", &target, &detail, now).await?;
            Removal::Archived
        } else {
            for table in ["cart_items", "wishlist_items"] {
                sqlx::query(&format!("DELETE FROM {table} WHERE product_id = $1"))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("DELETE FROM products WHERE id = $1").bind(id).execute(&mut *tx).await?;
            audit(&mut tx, actor, "product.delete", &target, &format!("“{name}” deleted"), now).await?;
            Removal::Deleted
        };
        tx.commit().await?;
        self.catalog.forget_all();
        Ok(RemoveProduct::Done(removal))
    }

    /// Puts an archived product back in the shop. `false` when there is no such product.
    pub async fn admin_restore_product(&self, id: i64, actor: i64, now: Timestamp) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let found = sqlx::query("UPDATE products SET archived_at = NULL, updated_at = $1 WHERE id = $2")
            .bind(now.millis())
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if found == 0 {
            return Ok(false);
        }
        audit(&mut tx, actor, "product.restore", &format!("product:{id}"), "back in the shop", now).await?;
        tx.commit().await?;
        self.catalog.forget_all();
        Ok(true)
    }

    /// Adds an uploaded image (and its thumbnail) as the product's last picture.
    pub async fn admin_add_image(
        &self,
        product_id: i64,
        url: &str,
        thumb_url: &str,
        actor: i64,
        now: Timestamp,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let name: Option<String> = sqlx::query_scalar("SELECT name FROM products WHERE id = $1")
            .bind(product_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(name) = name else { return Ok(false) };
        let next: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(MAX(position) + 1, 0) AS BIGINT) FROM product_images WHERE product_id = $1",
        )
        .bind(product_id)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO product_images (product_id, url, thumb_url, alt, position) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(product_id)
        .bind(url)
        .bind(thumb_url)
        .bind(&name)
        .bind(next)
        .execute(&mut *tx)
        .await?;
        audit(&mut tx, actor, "product.image", &format!("product:{product_id}"), url, now).await?;
        tx.commit().await?;
        self.catalog.forget_all();
        Ok(true)
    }

    /// Products a sale can be created for (not archived), by name.
    pub async fn admin_product_choices(&self) -> Result<Vec<ProductChoice>> {
        sqlx::query("SELECT id, name, price, stock FROM products WHERE archived_at IS NULL ORDER BY name, id LIMIT 2000")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(ProductChoice {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    price: Money::from_minor(r.try_get("price")?),
                    stock: r.try_get("stock")?,
                })
            })
            .collect()
    }
}
