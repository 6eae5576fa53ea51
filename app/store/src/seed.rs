//! The demo catalog written on first start (embedded mode), so the store looks real at once.
//! Idempotent: a marker row in `app_meta` records that it ran.

use crate::{Result, Store};
use shop_domain::Timestamp;
use sqlx::AnyConnection;

pub const DEMO_SEED_KEY: &str = "demo_seed";
/// Bump when the demo data changes shape; an existing store is never re-seeded.
const DEMO_SEED_VERSION: &str = "1";
pub const DEMO_PRODUCT_COUNT: usize = 240;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeedReport {
    AlreadySeeded,
    Seeded { products: usize, sales: usize },
}

/// A product to insert (used by the seed, tests and, later, the admin).
#[derive(Debug, Clone)]
pub struct NewProduct {
    pub name: String,
    pub description: String,
    pub price_minor: i64,
    pub stock: i64,
    pub sold_count: i64,
    pub tags: Vec<String>,
    pub images: Vec<String>,
    pub created_at: Timestamp,
}

/// A flash sale to insert.
#[derive(Debug, Clone)]
pub struct NewSale {
    pub product_id: i64,
    pub title: String,
    pub sale_price_minor: i64,
    pub quantity: i64,
    pub sold: i64,
    pub per_buyer_limit: i64,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
}

pub(crate) async fn insert_product(conn: &mut AnyConnection, p: &NewProduct) -> Result<i64> {
    let at = p.created_at.millis();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO products (name, name_key, description, price, stock, sold_count, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
    )
    .bind(&p.name)
    .bind(shop_domain::search::search_key(&p.name))
    .bind(&p.description)
    .bind(p.price_minor)
    .bind(p.stock)
    .bind(p.sold_count)
    .bind(at)
    .fetch_one(&mut *conn)
    .await?;
    for tag in &p.tags {
        sqlx::query("INSERT INTO product_tags (product_id, tag) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(id)
            .bind(tag)
            .execute(&mut *conn)
            .await?;
    }
    for (pos, url) in p.images.iter().enumerate() {
        sqlx::query("INSERT INTO product_images (product_id, url, alt, position) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(url)
            .bind(&p.name)
            .bind(pos as i64)
            .execute(&mut *conn)
            .await?;
    }
    Ok(id)
}

pub(crate) async fn insert_sale(conn: &mut AnyConnection, s: &NewSale, now: Timestamp) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO flash_sales (product_id, title, sale_price, quantity, sold, per_buyer_limit, \
         starts_at, ends_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
         RETURNING id",
    )
    .bind(s.product_id)
    .bind(&s.title)
    .bind(s.sale_price_minor)
    .bind(s.quantity)
    .bind(s.sold)
    .bind(s.per_buyer_limit)
    .bind(s.starts_at.millis())
    .bind(s.ends_at.millis())
    .bind(now.millis())
    .fetch_one(&mut *conn)
    .await?)
}

impl Store {
    /// Inserts one product with its tags and images; returns its id.
    pub async fn create_product(&self, p: &NewProduct) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        let id = insert_product(&mut tx, p).await?;
        tx.commit().await?;
        self.catalog.forget_all();
        Ok(id)
    }

    /// Inserts one flash sale; returns its id.
    pub async fn create_sale(&self, s: &NewSale, now: Timestamp) -> Result<i64> {
        let mut conn = self.writer.acquire().await?;
        let id = insert_sale(&mut conn, s, now).await?;
        self.catalog.forget_all();
        Ok(id)
    }

    /// Writes the demo catalog unless this database was seeded before. Safe to call from
    /// several processes at once: the marker is claimed first, in the same transaction.
    pub async fn seed_demo(&self, now: Timestamp) -> Result<SeedReport> {
        let mut tx = self.begin_write().await?;
        let claimed =
            sqlx::query("INSERT INTO app_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
                .bind(DEMO_SEED_KEY)
                .bind(DEMO_SEED_VERSION)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if claimed == 0 {
            return Ok(SeedReport::AlreadySeeded);
        }
        let products = demo_products(now);
        let mut ids = Vec::with_capacity(products.len());
        for p in &products {
            ids.push(insert_product(&mut tx, p).await?);
        }
        let sales = demo_sales(&products, &ids, now);
        for s in &sales {
            insert_sale(&mut tx, s, now).await?;
        }
        tx.commit().await?;
        self.catalog.forget_all();
        Ok(SeedReport::Seeded { products: products.len(), sales: sales.len() })
    }
}

struct Category {
    tag: &'static str,
    nouns: &'static [&'static str],
    /// Price range in whole currency units.
    price: (i64, i64),
    blurb: &'static str,
}

const CATEGORIES: &[Category] = &[
    Category {
        tag: "kitchen",
        nouns: &[
            "Stoneware Mug",
            "Pour-Over Kettle",
            "Chef's Knife",
            "Walnut Cutting Board",
            "Cast-Iron Skillet",
            "Pepper Mill",
        ],
        price: (12, 140),
        blurb: "Made for daily cooking and built to last years of it.",
    },
    Category {
        tag: "audio",
        nouns: &["Wireless Earbuds", "Bluetooth Speaker", "Studio Headphones", "Record Player", "Soundbar"],
        price: (39, 420),
        blurb: "Clear, balanced sound with a battery that keeps up with you.",
    },
    Category {
        tag: "outdoor",
        nouns: &[
            "Two-Person Tent",
            "Down Sleeping Bag",
            "Hiking Backpack",
            "Trekking Poles",
            "Camping Lantern",
            "Insulated Bottle",
        ],
        price: (18, 380),
        blurb: "Light, tough gear for weekends away from the city.",
    },
    Category {
        tag: "home",
        nouns: &[
            "Wool Throw",
            "Ceramic Table Lamp",
            "Soy Candle",
            "Linen Cushion",
            "Wall Clock",
            "Terracotta Planter",
        ],
        price: (15, 160),
        blurb: "Small things that make a room feel lived in.",
    },
    Category {
        tag: "fashion",
        nouns: &[
            "Canvas Sneakers",
            "Merino Scarf",
            "Leather Wallet",
            "Denim Jacket",
            "Polarised Sunglasses",
            "Canvas Tote",
        ],
        price: (19, 220),
        blurb: "Everyday pieces in honest materials.",
    },
    Category {
        tag: "tech",
        nouns: &[
            "Mechanical Keyboard",
            "Wireless Mouse",
            "USB-C Hub",
            "Smartwatch",
            "Aluminium Phone Stand",
            "Power Bank",
        ],
        price: (15, 350),
        blurb: "Well-made accessories for the desk and the road.",
    },
    Category {
        tag: "fitness",
        nouns: &["Yoga Mat", "Cast Kettlebell", "Speed Jump Rope", "Foam Roller", "Resistance Bands"],
        price: (10, 120),
        blurb: "Train at home with kit that stays put.",
    },
    Category {
        tag: "stationery",
        nouns: &["Dot-Grid Notebook", "Fountain Pen", "Desk Organiser", "Weekly Planner", "Brass Ruler"],
        price: (6, 90),
        blurb: "For lists, sketches and the occasional letter.",
    },
];

const BRANDS: &[&str] =
    &["Nordvik", "Aurora", "Summit", "Harbor", "Maple & Co", "Cobalt", "Ember", "Willow", "Atlas", "Lumen"];
const COLOURS: &[&str] = &["slate", "sand", "forest", "coral", "midnight", "ivory"];

/// A small deterministic mixer so the demo looks varied yet is the same on every machine.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn demo_products(now: Timestamp) -> Vec<NewProduct> {
    (0..DEMO_PRODUCT_COUNT)
        .map(|k| {
            let cat = &CATEGORIES[k % CATEGORIES.len()];
            let j = k / CATEGORIES.len();
            let noun = cat.nouns[j % cat.nouns.len()];
            let brand = BRANDS[(j / cat.nouns.len() + k % CATEGORIES.len()) % BRANDS.len()];
            let colour = COLOURS[(k * 7 + j) % COLOURS.len()];
            let r = mix(k as u64);
            let (lo, hi) = cat.price;
            // Prices end in .00, .50 or .99 as shops do.
            let units = lo + (r % (hi - lo + 1) as u64) as i64;
            let cents = [0, 50, 99][(r >> 16) as usize % 3];
            let stock = match k {
                k if k % 37 == 5 => 0,
                k if k % 11 == 3 => 1 + (r >> 20) as i64 % 5,
                _ => 20 + (r >> 24) as i64 % 480,
            };
            let sold_count = (r >> 32) as i64 % 5_000;
            let mut tags = vec![cat.tag.to_string(), colour.to_string()];
            if sold_count > 4_000 {
                tags.push("bestseller".to_string());
            }
            if k % 5 == 0 {
                tags.push("eco".to_string());
            }
            NewProduct {
                name: format!("{brand} {noun}"),
                description: format!(
                    "The {brand} {noun} in {colour}. {} Ships within two working days; \
                     free returns for 30 days.",
                    cat.blurb
                ),
                price_minor: units * 100 + cents,
                stock,
                sold_count,
                tags,
                images: vec![format!("/media/placeholder/{}-{colour}.svg", cat.tag)],
                // One product an hour, newest last: the catalog has a history.
                created_at: now.plus_secs(-3_600 * (DEMO_PRODUCT_COUNT - k) as i64),
            }
        })
        .collect()
}

/// Three sales: one live now, one starting in 10 minutes, one already sold out.
fn demo_sales(products: &[NewProduct], ids: &[i64], now: Timestamp) -> Vec<NewSale> {
    let pick = |k: usize| (ids[k], &products[k]);
    let sale =
        |k: usize, title: &str, pct_off: i64, qty: i64, sold: i64, limit: i64, start: i64, end: i64| {
            let (id, p) = pick(k);
            NewSale {
                product_id: id,
                title: title.to_string(),
                sale_price_minor: p.price_minor * (100 - pct_off) / 100,
                quantity: qty.min(p.stock.max(qty)),
                sold,
                per_buyer_limit: limit,
                starts_at: now.plus_secs(start),
                ends_at: now.plus_secs(end),
            }
        };
    // Products with plenty of stock (index chosen away from the stock-0/low patterns).
    vec![
        sale(9, "Midnight Flash: studio sound", 40, 100, 0, 2, -300, 2 * 3_600),
        sale(18, "Coming up: outdoor weekend", 35, 50, 0, 1, 600, 600 + 3_600),
        sale(28, "Gone in 60 seconds", 50, 30, 30, 1, -3_600, 3_600),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_catalog_is_varied_and_valid() {
        let now = Timestamp::from_millis(1_800_000_000_000);
        let products = demo_products(now);
        assert!(products.len() >= 200);
        let names: std::collections::HashSet<_> = products.iter().map(|p| &p.name).collect();
        assert_eq!(names.len(), products.len(), "product names are unique");
        assert!(products.iter().all(|p| p.price_minor > 0 && p.stock >= 0 && !p.tags.is_empty()));
        assert!(products.iter().any(|p| p.stock == 0));
        assert!(products.iter().any(|p| (1..=5).contains(&p.stock)));
        let ids: Vec<i64> = (1..=products.len() as i64).collect();
        let sales = demo_sales(&products, &ids, now);
        for s in &sales {
            let p = &products[(s.product_id - 1) as usize];
            assert!(s.quantity <= p.stock, "sale quantity within stock for {}", p.name);
            assert!(s.sale_price_minor < p.price_minor);
        }
    }
}
