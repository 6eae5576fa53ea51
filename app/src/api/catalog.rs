//! Browsing: home page shelves, search, product and sale pages. All read-only (GET).

#[cfg(feature = "ssr")]
use crate::api::reject;
use crate::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};
use shop_domain::{Page, ProductDetail, ProductQuery, ProductSummary, SaleDetail, SaleSummary};

/// Everything the home page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HomeData {
    pub sales: Vec<SaleSummary>,
    pub new_arrivals: Vec<ProductSummary>,
    pub best_sellers: Vec<ProductSummary>,
}

/// A page of search results with the query that produced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResults {
    pub query: ProductQuery,
    pub page: Page<ProductSummary>,
    pub popular_tags: Vec<(String, i64)>,
}

/// `GET /api/home`
#[server(endpoint = "home", prefix = "/api", input = GetUrl)]
pub async fn home() -> Result<HomeData, AppError> {
    use shop_domain::Sort;
    let state = crate::state::app_state()?;
    let now = state.now();
    let store = &state.store;
    let (sales, new_arrivals, best_sellers) = futures_join3(
        store.featured_sales(now, 6),
        store.product_shelf(Sort::Newest, 8),
        store.product_shelf(Sort::BestSelling, 8),
    )
    .await;
    let mut live = Vec::new();
    for sale in sales.map_err(AppError::internal("home: sales"))? {
        live.push(match state.inventory.available(shop_domain::gate::GateItem::Sale(sale.id)).await {
            Some(left) => sale.with_remaining(left),
            None => sale,
        });
    }
    Ok(HomeData {
        sales: live,
        new_arrivals: new_arrivals.map_err(AppError::internal("home: new arrivals"))?,
        best_sellers: best_sellers.map_err(AppError::internal("home: best sellers"))?,
    })
}

#[cfg(feature = "ssr")]
async fn futures_join3<A, B, C>(
    a: impl std::future::Future<Output = A>,
    b: impl std::future::Future<Output = B>,
    c: impl std::future::Future<Output = C>,
) -> (A, B, C) {
    tokio::join!(a, b, c)
}

/// `GET /api/products?q=&tag=&sort=&page=` — every parameter optional; see [`ProductQuery`].
#[server(endpoint = "products", prefix = "/api", input = GetUrl)]
pub async fn search_products(
    #[server(default)] q: Option<String>,
    #[server(default)] tag: Option<String>,
    #[server(default)] sort: Option<String>,
    #[server(default)] page: Option<String>,
) -> Result<SearchResults, AppError> {
    let query = ProductQuery::parse(q.as_deref(), tag.as_deref(), sort.as_deref(), page.as_deref())
        .map_err(|e| reject(e.into()))?;
    let state = crate::state::app_state()?;
    let page = state.store.search_products(&query).await.map_err(AppError::internal("search products"))?;
    let popular_tags = state.store.popular_tags(16).await.map_err(AppError::internal("popular tags"))?;
    Ok(SearchResults { query, page, popular_tags })
}

/// Parses a path id; anything but a positive integer names nothing, so it is a 404.
pub fn parse_id(raw: &str, what: &str) -> Result<i64, AppError> {
    raw.trim().parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| AppError::NotFound(what.to_string()))
}

/// `GET /api/product?id=`
#[server(endpoint = "product", prefix = "/api", input = GetUrl)]
pub async fn get_product(id: String) -> Result<ProductDetail, AppError> {
    use shop_domain::gate::GateItem;
    let id = parse_id(&id, "Product").map_err(reject)?;
    let state = crate::state::app_state()?;
    let mut product = state
        .store
        .product(id, state.now())
        .await
        .map_err(AppError::internal("product"))?
        .ok_or_else(|| reject(AppError::NotFound("Product".into())))?;
    // The page may be cached; what is left comes from the gate when it holds the item.
    if let Some(left) = state.inventory.available(GateItem::Product(id)).await {
        product.stock = left;
    }
    for sale in &mut product.sales {
        if let Some(left) = state.inventory.available(GateItem::Sale(sale.id)).await {
            *sale = sale.clone().with_remaining(left);
        }
    }
    Ok(product)
}

/// `GET /api/sale?id=`
#[server(endpoint = "sale", prefix = "/api", input = GetUrl)]
pub async fn get_sale(id: String) -> Result<SaleDetail, AppError> {
    let id = parse_id(&id, "Sale").map_err(reject)?;
    let state = crate::state::app_state()?;
    let mut sale = state
        .store
        .sale(id, state.now())
        .await
        .map_err(AppError::internal("sale"))?
        .ok_or_else(|| reject(AppError::NotFound("Sale".into())))?;
    if let Some(left) = state.inventory.available(shop_domain::gate::GateItem::Sale(id)).await {
        sale.summary = sale.summary.with_remaining(left);
    }
    Ok(sale)
}
