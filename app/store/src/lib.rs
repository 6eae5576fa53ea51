//! Data access for the shop: one [`Store`] that runs on SQLite (embedded default) or
//! PostgreSQL (`DATABASE_URL=postgres://…`).
//!
//! Both backends go through sqlx's `Any` driver with runtime-checked queries written once in
//! the SQL both databases understand (`$1` placeholders, `RETURNING`, `ON CONFLICT`, partial
//! indexes). The few places where the dialects differ (substring search, row locking) branch
//! on [`Backend`]. Values cross the boundary as integers and text only: ids and money are
//! `i64`, instants are Unix milliseconds, so the two schemas mean the same thing.
//! Why not compile-time checked `query!`: it binds a crate to one database. See
//! `docs/architecture.md`.

mod accounts;
mod admin;
mod cart;
mod catalog;
mod catalog_cache;
mod error;
mod gate;
mod inventory;
mod mail;
mod orders;
mod progress;
mod returns;
mod saga;
mod search;
mod search_pg;
mod seed;
mod sim_ledger;
mod sql;
mod verification;
mod word_stats;

pub use accounts::{CreateUserError, NewAddress, NewPaymentMethod, NewUser};
pub use admin::{RemoveProduct, SaveProduct, SaveSale};
pub use cart::ProductOffer;
pub use catalog::NO_IMAGE;
pub use error::{Result, StoreError};
pub use inventory::{AllOrNone, Inventory, InventoryError};
pub use mail::{MailSender, OutgoingMail, ResetOutcome};
pub use orders::{Cancel, CancelledBy, NewLine, NewOrder, Placed, SaleOffer};
pub use saga::{
    new_event_id, DeliveryRow, OutboxBatch, OutboxMessage, PaymentRow, Released, SagaOrder, SagaTx,
    StockCommit, TrackedParcel,
};
pub use returns::{Decided, RequestReturn, ReturnDecision};
pub use search::COUNT_FLOOR;
pub use seed::{NewProduct, NewSale, SeedReport, DEMO_SEED_KEY};

use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;
use sqlx::Executor;
use std::path::Path;
use std::time::Duration;

/// Which database the store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// The shop's database: cheap to clone (a pool handle).
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    /// Where writes go. SQLite: one connection of its own, so writers queue in this process
    /// (first come, first served, no sleeping) instead of polling SQLite's lock with
    /// `busy_timeout` back-offs of up to 100 ms; readers (WAL) never wait for it.
    /// PostgreSQL: the same pool.
    writer: AnyPool,
    backend: Backend,
    /// Catalog reads kept for a moment (`catalog_cache.rs`).
    catalog: std::sync::Arc<catalog_cache::CatalogCache>,
    /// Messages a consumer of this process had handled before (redeliveries), each ignored.
    duplicates: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// PostgreSQL's statistics of the words in product names, as last read (`word_stats.rs`).
    word_stats: std::sync::Arc<word_stats::WordStatsCell>,
    /// Who order mails come from; `None`: no order mails (`with_mail_sender`).
    mail_sender: Option<std::sync::Arc<mail::MailSender>>,
    /// Fault injection (tests): fail the next order transaction midway.
    #[cfg(feature = "test-hooks")]
    fail_next_order: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// How long catalog reads are kept unless configured (`SHOP_CATALOG_CACHE_MS`).
pub const DEFAULT_CATALOG_TTL: Duration = Duration::from_secs(2);

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

impl Store {
    /// Opens a pool. For SQLite the file (and its directory) is created when missing.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url).ok_or(StoreError::UnsupportedUrl)?;
        if backend == Backend::Sqlite {
            if let Some(file) = sqlite_file_path(url) {
                private_sqlite_file(file)?;
            }
        }
        let url = if backend == Backend::Sqlite && !url.contains("mode=") {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}mode=rwc")
        } else {
            url.to_string()
        };
        let pool = Self::pool_options(backend, max_connections).connect(&url).await?;
        let writer = match backend {
            Backend::Sqlite => Self::pool_options(backend, 1).connect(&url).await?,
            Backend::Postgres => pool.clone(),
        };
        Ok(Store {
            pool,
            writer,
            backend,
            catalog: catalog_cache::CatalogCache::new(DEFAULT_CATALOG_TTL),
            duplicates: Default::default(),
            word_stats: Default::default(),
            mail_sender: None,
            #[cfg(feature = "test-hooks")]
            fail_next_order: Default::default(),
        })
    }

    fn pool_options(backend: Backend, max_connections: u32) -> AnyPoolOptions {
        let options = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(10));
        if backend == Backend::Sqlite {
            // A ping before each acquire is a round trip to the connection's thread and can
            // find nothing wrong with a local file; PostgreSQL keeps it (a server may restart).
            options.test_before_acquire(false).after_connect(|conn, _meta| {
                Box::pin(async move {
                    // WAL lets readers run beside the single writer; busy_timeout makes
                    // writers queue instead of failing with SQLITE_BUSY.
                    for pragma in [
                        "PRAGMA journal_mode = WAL",
                        "PRAGMA synchronous = NORMAL",
                        "PRAGMA foreign_keys = ON",
                        "PRAGMA busy_timeout = 10000",
                    ] {
                        conn.execute(pragma).await?;
                    }
                    Ok(())
                })
            })
        } else {
            options
        }
    }

    /// Applies the backend's migrations (idempotent).
    pub async fn migrate(&self) -> Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATOR,
            Backend::Postgres => &POSTGRES_MIGRATOR,
        };
        migrator.run(&self.pool).await?;
        self.fill_search_keys().await
    }

    /// Gives products written before search keys existed their `name_key` (migration 0008
    /// adds the column; the folding lives in Rust, so SQL cannot fill it). A no-op afterwards.
    async fn fill_search_keys(&self) -> Result<()> {
        loop {
            let rows: Vec<(i64, String)> =
                sqlx::query_as("SELECT id, name FROM products WHERE name_key IS NULL ORDER BY id LIMIT 1000")
                    .fetch_all(&self.pool)
                    .await?;
            if rows.is_empty() {
                return Ok(());
            }
            let mut tx = self.begin_write().await?;
            for (id, name) in &rows {
                sqlx::query("UPDATE products SET name_key = $1 WHERE id = $2")
                    .bind(shop_domain::search::search_key(name))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }
    }

    /// A transaction that writes. On SQLite it runs on the writer connection and takes the
    /// write lock at `BEGIN IMMEDIATE`, so it never has to upgrade a read lock (which fails
    /// with "database is locked" when another writer got there first).
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.writer.begin().await?,
        })
    }

    /// A round trip to the database, for readiness checks.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The raw pool, for adapters that live outside this crate (and tests).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
    }
}

/// The file behind a `sqlite:` URL, if it names one.
/// The SQLite file holds password hashes, sessions and encrypted card numbers: its directory
/// is created owner-only (0700) and the file and its WAL/SHM companions are made owner-only
/// (0600). An existing directory is left as it is (it may be shared, like /tmp).
fn private_sqlite_file(file: &Path) -> Result<()> {
    let io = |p: &Path| {
        let p = p.display().to_string();
        move |e| StoreError::Io(p, e)
    };
    let dir = file.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir.filter(|d| !d.exists()) {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(io(dir))?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        if !file.exists() {
            let created = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(file);
            match created {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io(file)(e)),
            }
        }
        for suffix in ["", "-wal", "-shm"] {
            let mut name = file.as_os_str().to_owned();
            name.push(suffix);
            let path = Path::new(&name);
            if let Ok(meta) = std::fs::metadata(path) {
                if meta.permissions().mode() & 0o077 != 0 {
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                        .map_err(io(path))?;
                }
            }
        }
    }
    Ok(())
}

pub fn sqlite_file_path(url: &str) -> Option<&Path> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    (!path.is_empty() && path != ":memory:").then(|| Path::new(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[tokio::test]
    async fn the_database_file_and_its_directory_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = std::env::temp_dir().join(format!("shop-perm-{}", std::process::id()));
        let dir = tmp.join("data");
        let store = Store::connect(&format!("sqlite://{}/shop.db", dir.display()), 1).await.unwrap();
        store.migrate().await.unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("shop.db")), 0o600);
        assert_eq!(mode(&dir.join("shop.db-wal")), 0o600, "SQLite gives the WAL the file's mode");
        store.close().await;
        // A file left world-readable by an older version is tightened on the next start.
        std::fs::set_permissions(dir.join("shop.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
        Store::connect(&format!("sqlite://{}/shop.db", dir.display()), 1).await.unwrap().close().await;
        assert_eq!(mode(&dir.join("shop.db")), 0o600);
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    #[test]
    fn recognises_backends_and_files() {
        assert_eq!(Backend::from_url("sqlite://data/shop.db"), Some(Backend::Sqlite));
        assert_eq!(Backend::from_url("postgres://u@h/db"), Some(Backend::Postgres));
        assert_eq!(Backend::from_url("mysql://x"), None);
        assert_eq!(sqlite_file_path("sqlite://data/shop.db?mode=rwc"), Some(Path::new("data/shop.db")));
        assert_eq!(sqlite_file_path("sqlite::memory:"), None);
    }
}
