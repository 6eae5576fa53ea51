//! Writes the generated catalog straight into the shop's database, as a bulk import would:
//! big transactions of multi-row INSERTs (SQLite: `VALUES` lists; PostgreSQL: `unnest` of
//! arrays), only `products`, `product_tags` and `product_images` (the schema's triggers fill
//! the sort keys, tag counters and text indexes), then `ANALYZE`, and one live flash sale.

use super::gen::{Generator, Product, Tally};
use anyhow::{Context as _, Result};
use shop_domain::Timestamp;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, QueryBuilder, Sqlite, SqlitePool};
use std::str::FromStr as _;
use std::time::{Duration, Instant};

/// Products per SQLite transaction (and per chunk handed from the generator).
const CHUNK: usize = 10_000;
/// Products per PostgreSQL transaction. The tag triggers update one `tag_counts` row per tag
/// row, and every version a transaction makes of a row stays in its chain until it commits:
/// 20,000 tag rows on 40 counters in one transaction cost ~10x more per row than 2,000.
const PG_TX: usize = 1_000;
/// Products per SQLite statement (8 parameters each, under SQLite's 32,766).
const SQLITE_ROWS: usize = 1_000;

/// What the generation wrote and how long it took.
pub struct Loaded {
    pub generator: std::sync::Arc<Generator>,
    /// The id of product `i` (in generation order).
    pub ids: Vec<i64>,
    pub tally: Tally,
    pub sale_id: i64,
    pub insert: Duration,
    pub analyze: Duration,
    pub db_mib: f64,
}

enum Db {
    Sqlite(SqlitePool),
    Pg(PgPool),
}

async fn open(url: &str) -> Result<Db> {
    if url.starts_with("sqlite:") {
        let options = SqliteConnectOptions::from_str(url)?
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(60))
            .pragma("cache_size", "-262144")
            .pragma("temp_store", "memory");
        Ok(Db::Sqlite(SqlitePoolOptions::new().max_connections(1).connect_with(options).await?))
    } else {
        Ok(Db::Pg(PgPoolOptions::new().max_connections(2).connect(url).await?))
    }
}

const PRODUCT_COLUMNS: &str =
    "INSERT INTO products (name, name_key, description, price, stock, sold_count, created_at, updated_at) ";

impl Db {
    /// Inserts one chunk in one transaction; returns the new products' ids in row order.
    async fn insert(&self, rows: &[Product]) -> Result<Vec<i64>> {
        match self {
            Db::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                let mut ids = Vec::with_capacity(rows.len());
                for part in rows.chunks(SQLITE_ROWS) {
                    let mut q = QueryBuilder::<Sqlite>::new(PRODUCT_COLUMNS);
                    q.push_values(part, |mut b, p| {
                        b.push_bind(p.name.as_str())
                            .push_bind(p.name_key.as_str())
                            .push_bind(p.description.as_str())
                            .push_bind(p.price)
                            .push_bind(p.stock)
                            .push_bind(p.sold_count)
                            .push_bind(p.created_at)
                            .push_bind(p.updated_at);
                    });
                    q.push(" RETURNING id");
                    let mut got: Vec<i64> = q.build_query_scalar().fetch_all(&mut *tx).await?;
                    // Rowids are handed out in row order; RETURNING's order is not promised.
                    got.sort_unstable();
                    ids.extend(got);
                }
                let pairs: Vec<(i64, &Product)> = ids.iter().copied().zip(rows).collect();
                for part in pairs.chunks(SQLITE_ROWS) {
                    let tags = part.iter().flat_map(|(id, p)| p.tags.iter().map(move |t| (*id, *t)));
                    let mut q = QueryBuilder::<Sqlite>::new("INSERT INTO product_tags (product_id, tag) ");
                    q.push_values(tags, |mut b, (id, tag)| {
                        b.push_bind(id).push_bind(tag);
                    });
                    q.build().execute(&mut *tx).await?;
                    let mut q = QueryBuilder::<Sqlite>::new(
                        "INSERT INTO product_images (product_id, url, alt, position) ",
                    );
                    q.push_values(part, |mut b, (id, p)| {
                        b.push_bind(*id)
                            .push_bind(p.image.as_str())
                            .push_bind(p.name.as_str())
                            .push_bind(0i64);
                    });
                    q.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(ids)
            }
            Db::Pg(pool) => {
                let mut ids = Vec::with_capacity(rows.len());
                for part in rows.chunks(PG_TX) {
                    ids.extend(pg_insert(pool, part).await?);
                }
                Ok(ids)
            }
        }
    }

    /// What a bulk import runs afterwards: fresh planner statistics.
    async fn analyze(&self) -> Result<()> {
        match self {
            Db::Sqlite(pool) => {
                sqlx::query("ANALYZE").execute(pool).await?;
                sqlx::query("PRAGMA optimize").execute(pool).await?;
                // Fold the write-ahead log back into the database file.
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(pool).await?;
            }
            Db::Pg(pool) => {
                // VACUUM too: it empties the GIN indexes' pending lists (without it every text
                // search scans a million pending entries) and sets the visibility map that
                // index-only scans of the sort indexes need.
                sqlx::query("VACUUM ANALYZE").execute(pool).await?;
            }
        }
        Ok(())
    }

    async fn size_mib(&self) -> Result<f64> {
        let bytes: i64 = match self {
            Db::Sqlite(pool) => {
                sqlx::query_scalar(
                    "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
                )
                .fetch_one(pool)
                .await?
            }
            Db::Pg(pool) => {
                sqlx::query_scalar("SELECT pg_database_size(current_database())").fetch_one(pool).await?
            }
        };
        Ok(bytes as f64 / 1024.0 / 1024.0)
    }

    async fn close(self) {
        match self {
            Db::Sqlite(p) => p.close().await,
            Db::Pg(p) => p.close().await,
        }
    }
}

/// One PostgreSQL transaction: the products, then their tags and images by the new ids.
async fn pg_insert(pool: &PgPool, rows: &[Product]) -> Result<Vec<i64>> {
    let mut tx = pool.begin().await?;
    let col = |f: fn(&Product) -> &str| rows.iter().map(f).collect::<Vec<&str>>();
    let num = |f: fn(&Product) -> i64| rows.iter().map(f).collect::<Vec<i64>>();
    let mut ids: Vec<i64> = sqlx::query_scalar(&format!(
        "{PRODUCT_COLUMNS} SELECT * FROM unnest($1::text[], $2::text[], $3::text[], \
         $4::int8[], $5::int8[], $6::int8[], $7::int8[], $8::int8[]) RETURNING id"
    ))
    .bind(col(|p| &p.name))
    .bind(col(|p| &p.name_key))
    .bind(col(|p| &p.description))
    .bind(num(|p| p.price))
    .bind(num(|p| p.stock))
    .bind(num(|p| p.sold_count))
    .bind(num(|p| p.created_at))
    .bind(num(|p| p.updated_at))
    .fetch_all(&mut *tx)
    .await?;
    // The identity column hands out ids in row order.
    ids.sort_unstable();
    let (tag_ids, tags): (Vec<i64>, Vec<&str>) =
        ids.iter().zip(rows).flat_map(|(id, p)| p.tags.iter().map(move |t| (*id, *t))).unzip();
    sqlx::query("INSERT INTO product_tags (product_id, tag) SELECT * FROM unnest($1::int8[], $2::text[])")
        .bind(tag_ids)
        .bind(tags)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO product_images (product_id, url, alt, position) \
         SELECT i, u, a, 0 FROM unnest($1::int8[], $2::text[], $3::text[]) AS x (i, u, a)",
    )
    .bind(&ids)
    .bind(col(|p| &p.image))
    .bind(col(|p| &p.name))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(ids)
}

/// Generates `total` products into the database at `url` and opens one live flash sale.
pub async fn generate(url: &str, total: usize) -> Result<Loaded> {
    let db = open(url).await.context("opening the shop's database")?;
    let now = Timestamp::now();
    let generator = std::sync::Arc::new(Generator::new(total, now.millis()));
    // Generating runs on a thread of its own, a chunk or two ahead of the inserts.
    let (send, mut chunks) = tokio::sync::mpsc::channel::<Vec<Product>>(2);
    let producer = {
        let generator = generator.clone();
        tokio::task::spawn_blocking(move || {
            for start in (0..total).step_by(CHUNK) {
                let chunk = (start..(start + CHUNK).min(total)).map(|i| generator.product(i)).collect();
                if send.blocking_send(chunk).is_err() {
                    break;
                }
            }
        })
    };
    let started = Instant::now();
    let mut ids = Vec::with_capacity(total);
    let mut tally = Tally::default();
    let mut reported = 0;
    while let Some(chunk) = chunks.recv().await {
        let got = db.insert(&chunk).await.with_context(|| format!("inserting products {}…", ids.len()))?;
        anyhow::ensure!(got.len() == chunk.len(), "{} ids for {} products", got.len(), chunk.len());
        chunk.iter().for_each(|p| tally.add(p));
        ids.extend(got);
        if ids.len() - reported >= (total / 10).max(CHUNK) || ids.len() == total {
            reported = ids.len();
            let secs = started.elapsed().as_secs_f64();
            println!(
                "    {:>9} products in {secs:>6.1} s ({:.0}/s)",
                ids.len(),
                ids.len() as f64 / secs.max(1e-9)
            );
        }
    }
    producer.await?;
    anyhow::ensure!(ids.len() == total, "generated {} of {total} products", ids.len());
    let insert = started.elapsed();
    let t = Instant::now();
    db.analyze().await.context("ANALYZE")?;
    let analyze = t.elapsed();
    let db_mib = db.size_mib().await.unwrap_or(0.0);
    db.close().await;

    let store = shop_store::Store::connect(url, 1).await?;
    let i = generator.sale_index.min(total - 1);
    let product = generator.product(i);
    let sale_id = store
        .create_sale(
            &shop_store::NewSale {
                product_id: ids[i],
                title: "Catalog drop".into(),
                sale_price_minor: (product.price / 2).max(1),
                quantity: 100,
                sold: 0,
                per_buyer_limit: 2,
                starts_at: now.plus_secs(-600),
                ends_at: now.plus_secs(2 * 86_400),
            },
            now,
        )
        .await
        .context("creating the flash sale")?;
    store.close().await;
    Ok(Loaded { generator, ids, tally, sale_id, insert, analyze, db_mib })
}
