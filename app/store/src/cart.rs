//! Carts, wishlists, and what checkout reads of a regular product.

use crate::{Result, Store, StoreError};
use shop_domain::{CartLine, Money, Timestamp};
use sqlx::Row;

/// A regular product as checkout needs it.
#[derive(Debug, Clone)]
pub struct ProductOffer {
    pub product_id: i64,
    pub name: String,
    pub price: Money,
}

const LINE_IMAGE: &str =
    "(SELECT i.url FROM product_images i WHERE i.product_id = p.id ORDER BY i.position, i.id LIMIT 1)";

impl Store {
    pub async fn product_offer(&self, product_id: i64) -> Result<Option<ProductOffer>> {
        let row = sqlx::query("SELECT id, name, price FROM products WHERE id = $1 AND archived_at IS NULL")
            .bind(product_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(ProductOffer {
                product_id: r.try_get("id")?,
                name: r.try_get("name")?,
                price: Money::from_minor(r.try_get("price")?),
            })
        })
        .transpose()
    }

    pub async fn cart(&self, user_id: i64) -> Result<Vec<CartLine>> {
        let rows = sqlx::query(&format!(
            "SELECT p.id, p.name, p.price, p.stock, c.quantity, {LINE_IMAGE} AS image_url FROM cart_items c \
             JOIN products p ON p.id = c.product_id WHERE c.user_id = $1 AND p.archived_at IS NULL ORDER BY c.added_at, p.id"
        ))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CartLine {
                    product_id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    price: Money::from_minor(r.try_get("price")?),
                    quantity: r.try_get("quantity")?,
                    stock: r.try_get("stock")?,
                    image_url: r
                        .try_get::<Option<String>, _>("image_url")?
                        .unwrap_or_else(|| crate::NO_IMAGE.into()),
                })
            })
            .collect()
    }

    /// Adds `quantity` to the cart line (created if missing), capped at 99. `false` for an
    /// unknown or archived product.
    pub async fn cart_add(
        &self,
        user_id: i64,
        product_id: i64,
        quantity: i64,
        now: Timestamp,
    ) -> Result<bool> {
        if self.product_offer(product_id).await?.is_none() {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO cart_items (user_id, product_id, quantity, added_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, product_id) DO UPDATE SET quantity = \
             CASE WHEN cart_items.quantity + excluded.quantity > 99 THEN 99 ELSE cart_items.quantity + excluded.quantity END",
        )
        .bind(user_id)
        .bind(product_id)
        .bind(quantity.clamp(1, 99))
        .bind(now.millis())
        .execute(&self.writer)
        .await
        .map(|_| true)
        .map_err(StoreError::from)
    }

    /// Sets a line's quantity (0 removes it). `false` when the line does not exist.
    pub async fn cart_set(&self, user_id: i64, product_id: i64, quantity: i64) -> Result<bool> {
        let q = if quantity <= 0 {
            sqlx::query("DELETE FROM cart_items WHERE user_id = $1 AND product_id = $2")
                .bind(user_id)
                .bind(product_id)
        } else {
            sqlx::query("UPDATE cart_items SET quantity = $3 WHERE user_id = $1 AND product_id = $2")
                .bind(user_id)
                .bind(product_id)
                .bind(quantity.min(99))
        };
        Ok(q.execute(&self.writer).await?.rows_affected() == 1)
    }

    pub async fn wishlist(&self, user_id: i64) -> Result<Vec<shop_domain::ProductSummary>> {
        let rows = sqlx::query(&format!(
            "SELECT p.id, p.name, p.price, p.stock, p.sold_count, {LINE_IMAGE} AS image_url FROM wishlist_items w \
             JOIN products p ON p.id = w.product_id WHERE w.user_id = $1 AND p.archived_at IS NULL ORDER BY w.added_at DESC, p.id"
        ))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(shop_domain::ProductSummary {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    price: Money::from_minor(r.try_get("price")?),
                    image_url: r
                        .try_get::<Option<String>, _>("image_url")?
                        .unwrap_or_else(|| crate::NO_IMAGE.into()),
                    stock: r.try_get("stock")?,
                    sold_count: r.try_get("sold_count")?,
                })
            })
            .collect()
    }

    /// Adds or removes a wishlist entry. `false` for an unknown product.
    pub async fn wishlist_set(
        &self,
        user_id: i64,
        product_id: i64,
        wanted: bool,
        now: Timestamp,
    ) -> Result<bool> {
        if wanted {
            if self.product_offer(product_id).await?.is_none() {
                return Ok(false);
            }
            sqlx::query("INSERT INTO wishlist_items (user_id, product_id, added_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                .bind(user_id)
                .bind(product_id)
                .bind(now.millis())
                .execute(&self.writer)
                .await?;
        } else {
            sqlx::query("DELETE FROM wishlist_items WHERE user_id = $1 AND product_id = $2")
                .bind(user_id)
                .bind(product_id)
                .execute(&self.writer)
                .await?;
        }
        Ok(true)
    }
}
