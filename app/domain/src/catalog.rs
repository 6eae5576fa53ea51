//! What a shopper browses: products, search queries and pages of results.

use crate::{Money, SaleSummary, Timestamp};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Products per page in listings.
pub const PAGE_SIZE: u32 = 24;
/// Deepest page a listing serves; beyond it a shopper should refine the search.
pub const MAX_PAGE: u32 = 1000;
/// A text search shows at most this many pages (480 results, in the chosen order); a shopper
/// refines it instead of paging on, and every page stays cheap at a million products
/// (docs/catalog.md). Listings and tag pages go to [`MAX_PAGE`].
pub const MAX_TEXT_PAGE: u32 = 20;
pub const MAX_QUERY_CHARS: usize = 80;
pub const MAX_TAG_CHARS: usize = 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Sort {
    #[default]
    Newest,
    BestSelling,
    PriceAsc,
    PriceDesc,
}

impl Sort {
    pub const ALL: [Sort; 4] = [Sort::Newest, Sort::BestSelling, Sort::PriceAsc, Sort::PriceDesc];

    /// The value used in URLs (`?sort=`).
    pub fn as_param(self) -> &'static str {
        match self {
            Sort::Newest => "newest",
            Sort::BestSelling => "best",
            Sort::PriceAsc => "price_asc",
            Sort::PriceDesc => "price_desc",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Sort::Newest => "Newest",
            Sort::BestSelling => "Best selling",
            Sort::PriceAsc => "Price: low to high",
            Sort::PriceDesc => "Price: high to low",
        }
    }

    pub fn from_param(s: &str) -> Option<Sort> {
        Sort::ALL.into_iter().find(|v| v.as_param() == s)
    }
}

/// Why a search URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum QueryError {
    #[error("The search text is too long (at most {MAX_QUERY_CHARS} characters).")]
    QueryTooLong,
    #[error("Tags are lowercase letters, digits and dashes (at most {MAX_TAG_CHARS}).")]
    BadTag,
    #[error("Unknown sort order; choose newest, best, price_asc or price_desc.")]
    BadSort,
    #[error("The page must be a whole number from 1 to {MAX_PAGE}.")]
    BadPage,
    #[error("A search shows its first {MAX_TEXT_PAGE} pages; add a word or choose a tag to narrow it down.")]
    TextTooDeep,
}

/// A validated catalog search: what `/products?q=&tag=&sort=&page=` means.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct ProductQuery {
    /// Case-insensitive text matched anywhere in the product name.
    pub text: Option<String>,
    pub tag: Option<String>,
    pub sort: Sort,
    /// 1-based.
    pub page: u32,
}

impl ProductQuery {
    /// Parses raw URL parameters. Empty values mean "not given".
    pub fn parse(
        q: Option<&str>,
        tag: Option<&str>,
        sort: Option<&str>,
        page: Option<&str>,
    ) -> Result<ProductQuery, QueryError> {
        let text = q.map(str::trim).filter(|s| !s.is_empty()).map(|s| {
            // Collapse inner whitespace so "  red   mug " and "red mug" are one search.
            s.split_whitespace().collect::<Vec<_>>().join(" ")
        });
        if text.as_ref().is_some_and(|t| t.chars().count() > MAX_QUERY_CHARS) {
            return Err(QueryError::QueryTooLong);
        }
        let tag = match tag.map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(t) => Some(normalize_tag(t).ok_or(QueryError::BadTag)?),
        };
        let sort = match sort.map(str::trim).filter(|s| !s.is_empty()) {
            None => Sort::default(),
            Some(s) => Sort::from_param(s).ok_or(QueryError::BadSort)?,
        };
        let page = match page.map(str::trim).filter(|s| !s.is_empty()) {
            None => 1,
            Some(p) => {
                p.parse::<u32>().ok().filter(|p| (1..=MAX_PAGE).contains(p)).ok_or(QueryError::BadPage)?
            }
        };
        if text.is_some() && page > MAX_TEXT_PAGE {
            return Err(QueryError::TextTooDeep);
        }
        Ok(ProductQuery { text, tag, sort, page })
    }

    pub fn offset(&self) -> u32 {
        (self.page.max(1) - 1) * PAGE_SIZE
    }

    /// The URL of this query with another page number (keeps text, tag and sort).
    /// The last page this query can show when `total_pages` pages match.
    pub fn last_page(&self, total_pages: u32) -> u32 {
        if self.text.is_some() {
            total_pages.min(MAX_TEXT_PAGE)
        } else {
            total_pages
        }
    }

    pub fn url_for_page(&self, page: u32) -> String {
        let mut parts = Vec::new();
        if let Some(t) = &self.text {
            parts.push(format!("q={}", url_encode(t)));
        }
        if let Some(t) = &self.tag {
            parts.push(format!("tag={}", url_encode(t)));
        }
        if self.sort != Sort::default() {
            parts.push(format!("sort={}", self.sort.as_param()));
        }
        if page > 1 {
            parts.push(format!("page={page}"));
        }
        if parts.is_empty() {
            "/products".to_string()
        } else {
            format!("/products?{}", parts.join("&"))
        }
    }
}

/// A tag is stored lowercase: letters, digits and dashes.
pub fn normalize_tag(raw: &str) -> Option<String> {
    let t = raw.trim().to_lowercase();
    let ok = !t.is_empty()
        && t.chars().count() <= MAX_TAG_CHARS
        && t.chars().all(|c| c.is_alphanumeric() || c == '-');
    ok.then_some(t)
}

/// Percent-encodes a query-string value (RFC 3986 unreserved characters pass through).
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// 1234567 → "1,234,567".
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One page of results plus what is needed to draw page links.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub total_items: u64,
    /// The count stopped at `total_items` and there are more ("1,000+ products"): counting
    /// every match of a search over a million products costs more than the page itself.
    pub more: bool,
}

impl<T> Page<T> {
    /// A page whose total is exact.
    pub fn exact(items: Vec<T>, page: u32, total_items: u64) -> Page<T> {
        Page { items, page, total_items, more: false }
    }

    /// "24 products", "1 product", "1,000+ products".
    pub fn count_label(&self, one: &str, many: &str) -> String {
        let n = group_thousands(self.total_items);
        match (self.total_items, self.more) {
            (1, false) => format!("1 {one}"),
            (_, false) => format!("{n} {many}"),
            (_, true) => format!("{n}+ {many}"),
        }
    }

    pub fn total_pages(&self) -> u32 {
        let pages = self.total_items.div_ceil(u64::from(PAGE_SIZE));
        u32::try_from(pages).unwrap_or(u32::MAX).clamp(1, MAX_PAGE)
    }
}

/// How much of a product is left, as a shopper reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StockLevel {
    SoldOut,
    /// Few left: worth saying how many.
    Low(i64),
    InStock(i64),
}

/// At or below this many, the page says "only N left".
pub const LOW_STOCK: i64 = 5;

impl StockLevel {
    pub fn of(stock: i64) -> StockLevel {
        match stock {
            s if s <= 0 => StockLevel::SoldOut,
            s if s <= LOW_STOCK => StockLevel::Low(s),
            s => StockLevel::InStock(s),
        }
    }

    pub fn css_class(self) -> &'static str {
        match self {
            StockLevel::SoldOut => "stock stock-out",
            StockLevel::Low(_) => "stock stock-low",
            StockLevel::InStock(_) => "stock stock-ok",
        }
    }
}

impl fmt::Display for StockLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StockLevel::SoldOut => write!(f, "Sold out"),
            StockLevel::Low(n) => write!(f, "Only {n} left"),
            StockLevel::InStock(n) => write!(f, "In stock ({n})"),
        }
    }
}

/// A product as a card in a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductSummary {
    pub id: i64,
    pub name: String,
    pub price: Money,
    pub image_url: String,
    pub stock: i64,
    pub sold_count: i64,
}

/// A line of a shopper's cart, with what the cart page and checkout need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    pub product_id: i64,
    pub name: String,
    pub price: Money,
    pub quantity: i64,
    pub stock: i64,
    pub image_url: String,
}

/// A product's own page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductDetail {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub price: Money,
    pub stock: i64,
    pub sold_count: i64,
    pub tags: Vec<String>,
    pub image_urls: Vec<String>,
    pub created_at: Timestamp,
    /// Flash sales of this product that are live or upcoming.
    pub sales: Vec<SaleSummary>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_query() {
        let q =
            ProductQuery::parse(Some("  red   mug "), Some("Kitchen"), Some("price_asc"), Some("3")).unwrap();
        assert_eq!(q.text.as_deref(), Some("red mug"));
        assert_eq!(q.tag.as_deref(), Some("kitchen"));
        assert_eq!(q.sort, Sort::PriceAsc);
        assert_eq!(q.page, 3);
        assert_eq!(q.offset(), 48);
        assert_eq!(q.url_for_page(4), "/products?q=red+mug&tag=kitchen&sort=price_asc&page=4");
    }

    #[test]
    fn empty_parameters_mean_defaults() {
        let q = ProductQuery::parse(Some(" "), Some(""), None, Some("")).unwrap();
        assert_eq!(q, ProductQuery { text: None, tag: None, sort: Sort::Newest, page: 1 });
        assert_eq!(q.url_for_page(1), "/products");
    }

    #[test]
    fn refuses_bad_parameters_with_reasons() {
        assert_eq!(ProductQuery::parse(None, None, None, Some("0")), Err(QueryError::BadPage));
        assert_eq!(ProductQuery::parse(None, None, None, Some("abc")), Err(QueryError::BadPage));
        assert_eq!(ProductQuery::parse(None, None, None, Some("1001")), Err(QueryError::BadPage));
        assert!(ProductQuery::parse(Some("lamp"), None, None, Some("20")).is_ok());
        assert_eq!(ProductQuery::parse(Some("lamp"), None, None, Some("21")), Err(QueryError::TextTooDeep));
        assert!(ProductQuery::parse(None, Some("home"), None, Some("21")).is_ok());
        assert_eq!(ProductQuery::parse(None, None, Some("cheap"), None), Err(QueryError::BadSort));
        assert_eq!(ProductQuery::parse(None, Some("a b"), None, None), Err(QueryError::BadTag));
        let long = "x".repeat(81);
        assert_eq!(ProductQuery::parse(Some(&long), None, None, None), Err(QueryError::QueryTooLong));
    }

    #[test]
    fn encodes_query_values() {
        assert_eq!(url_encode("a&b=c ü"), "a%26b%3Dc+%C3%BC");
    }

    #[test]
    fn page_count_rounds_up_and_is_never_zero() {
        let page = |n| Page::<()>::exact(vec![], 1, n).total_pages();
        assert_eq!(page(0), 1);
        assert_eq!(page(24), 1);
        assert_eq!(page(25), 2);
    }

    #[test]
    fn stock_levels_read_like_a_shop() {
        assert_eq!(StockLevel::of(0).to_string(), "Sold out");
        assert_eq!(StockLevel::of(3).to_string(), "Only 3 left");
        assert_eq!(StockLevel::of(40).to_string(), "In stock (40)");
    }

    #[test]
    fn counts_read_like_a_shop() {
        assert_eq!(Page::<()>::exact(vec![], 1, 1).count_label("product", "products"), "1 product");
        assert_eq!(Page::<()>::exact(vec![], 1, 1030).count_label("product", "products"), "1,030 products");
        let capped = Page::<()> { items: vec![], page: 1, total_items: 1000, more: true };
        assert_eq!(capped.count_label("product", "products"), "1,000+ products");
        assert_eq!(group_thousands(1_234_567), "1,234,567");
        assert_eq!(group_thousands(999), "999");
    }

}
