//! Read-mostly catalog data kept in process for a short time: product and sale pages, home
//! shelves, featured sales, tag chips and search result pages (a rush repeats a few searches;
//! one text search over a million products costs milliseconds, its cached page microseconds).
//!
//! - Every admin write through the store forgets everything ([`Store::forget_catalog`]); a
//!   stock commit forgets its product. Other web processes see a change within the time to
//!   live (`SHOP_CATALOG_CACHE_MS`, 2 s by default; 0 turns the cache off).
//! - Live stock never comes from here: pages ask the stock gate for what is left.
//! - Sale statuses are recomputed at each request's clock ([`SaleSummary::seen_at`]).
//! - A read that started before a write does not store its (older) result: each write bumps a
//!   generation, and a load only fills the cache when the generation did not move meanwhile.

use crate::{Result, Store};
use moka::sync::Cache;
use shop_domain::{Page, ProductDetail, ProductQuery, ProductSummary, SaleDetail, SaleSummary, Sort};
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Entries per kind: a few thousand product pages is a few MB.
const CAPACITY: u64 = 10_000;
/// Search pages (24 cards, ~5 KB each): anyone can ask for new ones, so fewer are kept.
const SEARCH_CAPACITY: u64 = 1_000;

pub(crate) struct CatalogCache {
    ttl: Duration,
    generation: AtomicU64,
    pub(crate) products: Cache<i64, Option<ProductDetail>>,
    pub(crate) sales: Cache<i64, Option<SaleDetail>>,
    pub(crate) featured: Cache<u32, Vec<SaleSummary>>,
    pub(crate) shelves: Cache<(Sort, u32), Vec<ProductSummary>>,
    pub(crate) tags: Cache<u32, Vec<(String, i64)>>,
    pub(crate) searches: Cache<ProductQuery, Page<ProductSummary>>,
}

fn cache<K: Hash + Eq + Send + Sync + 'static, V: Clone + Send + Sync + 'static>(ttl: Duration) -> Cache<K, V> {
    sized_cache(ttl, CAPACITY)
}

fn sized_cache<K: Hash + Eq + Send + Sync + 'static, V: Clone + Send + Sync + 'static>(
    ttl: Duration,
    capacity: u64,
) -> Cache<K, V> {
    Cache::builder().max_capacity(capacity).time_to_live(ttl.max(Duration::from_millis(1))).build()
}

impl std::fmt::Debug for CatalogCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CatalogCache").field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

impl CatalogCache {
    pub(crate) fn new(ttl: Duration) -> Arc<CatalogCache> {
        Arc::new(CatalogCache {
            ttl,
            generation: AtomicU64::new(0),
            products: cache(ttl),
            sales: cache(ttl),
            featured: cache(ttl),
            shelves: cache(ttl),
            tags: cache(ttl),
            searches: sized_cache(ttl, SEARCH_CAPACITY),
        })
    }

    fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// The cached value, or `load`'s (stored unless a write happened while it ran).
    pub(crate) async fn get_or_load<K, V, F>(&self, cache: &Cache<K, V>, key: K, load: F) -> Result<V>
    where
        K: Hash + Eq + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
        F: Future<Output = Result<V>>,
    {
        if !self.enabled() {
            return load.await;
        }
        if let Some(v) = cache.get(&key) {
            return Ok(v);
        }
        let before = self.generation.load(Ordering::Acquire);
        let value = load.await?;
        if self.generation.load(Ordering::Acquire) == before {
            cache.insert(key, value.clone());
        }
        Ok(value)
    }

    pub(crate) fn forget_all(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.products.invalidate_all();
        self.sales.invalidate_all();
        self.featured.invalidate_all();
        self.shelves.invalidate_all();
        self.tags.invalidate_all();
        self.searches.invalidate_all();
    }

    /// A product's stock or sold count moved (a stock commit): its page. Shelves and search
    /// pages (ordered by sales, showing stock on cards) follow within the time to live; what is
    /// left of a sale comes from the gate.
    pub(crate) fn forget_product(&self, id: i64) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.products.invalidate(&id);
    }
}

impl Store {
    /// Forgets every cached catalog read of this process. The store's admin writes call it;
    /// call it after changing catalog rows by other means (tests, maintenance).
    pub fn forget_catalog(&self) {
        self.catalog.forget_all();
    }

    /// Keeps catalog reads for `ttl` (zero: no cache).
    pub fn with_catalog_cache(mut self, ttl: Duration) -> Store {
        self.catalog = CatalogCache::new(ttl);
        self
    }
}
