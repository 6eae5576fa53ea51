//! Products as staff edit them: the rules for a valid product, and what the admin lists show.

use super::input::{parse_money, parse_units, MAX_UNITS};
use crate::catalog::{normalize_tag, url_encode, MAX_PAGE, MAX_TAG_CHARS};
use crate::{FieldErrors, Money, QueryError, SaleSummary, Timestamp};
use serde::{Deserialize, Serialize};

pub const MAX_NAME_CHARS: usize = 120;
pub const MAX_DESCRIPTION_CHARS: usize = 5_000;
pub const MAX_TAGS: usize = 10;
pub const MAX_IMAGES: usize = 10;
pub const MAX_IMAGE_URL_CHARS: usize = 500;

/// A product as submitted by the create/edit form, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductDraft {
    pub name: String,
    pub description: String,
    pub price: Money,
    pub stock: i64,
    /// Normalised (lowercase letters, digits, dashes), unique, in the order typed.
    pub tags: Vec<String>,
    /// Image URLs in display order: the first is the product's main picture.
    pub images: Vec<String>,
}

/// The raw text of the product form.
#[derive(Debug, Clone, Default)]
pub struct ProductForm<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub price: &'a str,
    pub stock: &'a str,
    /// Comma- or space-separated.
    pub tags: &'a str,
    /// One URL per line.
    pub images: &'a str,
}

impl ProductDraft {
    /// Every problem of the form at once, each against its field.
    pub fn parse(f: &ProductForm<'_>) -> Result<ProductDraft, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = errors.check("name", parse_product_name(f.name));
        let description = errors.check("description", parse_description(f.description));
        let price = errors.check("price", parse_money(f.price, "a price"));
        let stock = errors.check("stock", parse_units(f.stock, "the stock", 0, MAX_UNITS));
        let tags = errors.check("tags", parse_tags(f.tags));
        let images = errors.check("images", parse_image_urls(f.images));
        match (name, description, price, stock, tags, images) {
            (Some(name), Some(description), Some(price), Some(stock), Some(tags), Some(images))
                if errors.is_empty() =>
            {
                Ok(ProductDraft { name, description, price, stock, tags, images })
            }
            _ => Err(errors),
        }
    }
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

fn parse_product_name(raw: &str) -> Result<String, String> {
    let s = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.is_empty() {
        return Err("Enter the product's name.".into());
    }
    if s.chars().count() > MAX_NAME_CHARS || has_control(&s) {
        return Err(format!("The name can be at most {MAX_NAME_CHARS} characters."));
    }
    Ok(s)
}

/// Free text with line breaks.
fn parse_description(raw: &str) -> Result<String, String> {
    let s = raw.trim().replace("\r\n", "\n");
    if s.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(format!("The description can be at most {MAX_DESCRIPTION_CHARS} characters."));
    }
    if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err("The description contains characters that can't be shown.".into());
    }
    Ok(s)
}

/// `Kitchen, mugs  gift-ideas` → `["kitchen", "mugs", "gift-ideas"]`.
pub fn parse_tags(raw: &str) -> Result<Vec<String>, String> {
    let mut tags: Vec<String> = Vec::new();
    for t in raw.split([',', ' ', '\n', '\r', '\t']).filter(|t| !t.is_empty()) {
        let tag = normalize_tag(t.trim_start_matches('#')).ok_or_else(|| {
            format!("“{t}” is not a tag: use letters, digits and dashes (at most {MAX_TAG_CHARS}).")
        })?;
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(format!("Use at most {MAX_TAGS} tags."));
    }
    Ok(tags)
}

/// One image per line: a path on this shop (`/media/…`) or an `https://` address.
pub fn parse_image_urls(raw: &str) -> Result<Vec<String>, String> {
    let mut urls: Vec<String> = Vec::new();
    for line in raw.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let local = line.starts_with("/media/") && !line.contains("..");
        let remote = line.starts_with("https://") && line.len() > "https://".len();
        let clean = !line.chars().any(|c| c.is_whitespace() || c.is_control() || "\"'<>\\`".contains(c));
        if !(local || remote) || !clean || line.len() > MAX_IMAGE_URL_CHARS {
            return Err(format!(
                "“{}” is not an image address: use /media/… or https://…, one per line.",
                line.chars().take(60).collect::<String>()
            ));
        }
        if !urls.iter().any(|u| u == line) {
            urls.push(line.to_string());
        }
    }
    if urls.len() > MAX_IMAGES {
        return Err(format!("Use at most {MAX_IMAGES} images."));
    }
    Ok(urls)
}

/// `/admin/products?q=&page=`: a name (or `#id`) search over every product, archived too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AdminProductQuery {
    pub text: Option<String>,
    pub page: u32,
}

impl AdminProductQuery {
    pub fn parse(q: Option<&str>, page: Option<&str>) -> Result<AdminProductQuery, QueryError> {
        let text = q.map(|s| s.split_whitespace().collect::<Vec<_>>().join(" ")).filter(|s| !s.is_empty());
        if text.as_ref().is_some_and(|t| t.chars().count() > crate::catalog::MAX_QUERY_CHARS) {
            return Err(QueryError::QueryTooLong);
        }
        Ok(AdminProductQuery { text, page: parse_page(page)? })
    }

    /// `#12` or `12`: a product id.
    pub fn id(&self) -> Option<i64> {
        self.text.as_deref().map(|t| t.trim_start_matches('#')).and_then(|t| t.parse().ok())
    }

    pub fn url_for_page(&self, page: u32) -> String {
        let mut parts = Vec::new();
        if let Some(t) = &self.text {
            parts.push(format!("q={}", url_encode(t)));
        }
        if page > 1 {
            parts.push(format!("page={page}"));
        }
        with_query("/admin/products", &parts)
    }
}

/// `?page=`: 1 when absent, else a whole number from 1 to [`MAX_PAGE`].
pub fn parse_page(page: Option<&str>) -> Result<u32, QueryError> {
    match page.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(1),
        Some(p) => p.parse::<u32>().ok().filter(|p| (1..=MAX_PAGE).contains(p)).ok_or(QueryError::BadPage),
    }
}

pub(crate) fn with_query(path: &str, parts: &[String]) -> String {
    if parts.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", parts.join("&"))
    }
}

/// A product row in the admin list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminProductRow {
    pub id: i64,
    pub name: String,
    pub price: Money,
    pub stock: i64,
    pub sold_count: i64,
    pub image_url: String,
    pub archived: bool,
}

/// One picture of a product: the original and, for uploads, a small copy for listings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductImage {
    pub url: String,
    pub thumb_url: Option<String>,
}

/// A product as the edit page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminProduct {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub price: Money,
    pub stock: i64,
    pub sold_count: i64,
    pub tags: Vec<String>,
    pub images: Vec<ProductImage>,
    pub archived_at: Option<Timestamp>,
    /// Order lines that reference it: such a product is archived, never deleted.
    pub order_lines: i64,
    /// Every flash sale of this product, newest first.
    pub sales: Vec<SaleSummary>,
}

/// A product offered in the sale form's product list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductChoice {
    pub id: i64,
    pub name: String,
    pub price: Money,
    pub stock: i64,
}

/// A new stock level can't go below what orders and sales were already promised.
pub fn check_stock(stock: i64, promised: i64) -> Result<(), String> {
    if stock < promised {
        return Err(format!(
            "{promised} units are promised to open orders and running or upcoming sales; the stock can't go below that."
        ));
    }
    Ok(())
}

/// What "Delete" did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Removal {
    /// Nothing referenced it: gone.
    Deleted,
    /// Orders or sales reference it: hidden from the shop, kept for them.
    Archived,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> ProductForm<'static> {
        ProductForm {
            name: "  Enamel   Mug ",
            description: "Holds tea.\r\nAnd coffee.",
            price: "12.50",
            stock: "40",
            tags: "Kitchen, mugs #gift-ideas mugs",
            images: "/media/uploads/a.jpg\n\nhttps://cdn.example.com/b.png\n",
        }
    }

    #[test]
    fn a_good_product_is_normalised() {
        let d = ProductDraft::parse(&form()).unwrap();
        assert_eq!(d.name, "Enamel Mug");
        assert_eq!(d.description, "Holds tea.\nAnd coffee.");
        assert_eq!(d.price, Money::from_minor(1250));
        assert_eq!(d.stock, 40);
        assert_eq!(d.tags, vec!["kitchen", "mugs", "gift-ideas"]);
        assert_eq!(d.images, vec!["/media/uploads/a.jpg", "https://cdn.example.com/b.png"]);
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let f = ProductForm {
            name: " ",
            price: "-3",
            stock: "lots",
            tags: "ok, not_ok!",
            images: "javascript:alert(1)",
            ..form()
        };
        let errors = ProductDraft::parse(&f).unwrap_err();
        for field in ["name", "price", "stock", "tags", "images"] {
            assert!(errors.get(field).is_some(), "{field}: {errors}");
        }
        assert!(errors.get("description").is_none());
    }

    #[test]
    fn images_must_be_local_or_https() {
        assert!(parse_image_urls("http://example.com/a.png").is_err());
        assert!(parse_image_urls("/media/../secret.key").is_err());
        assert!(parse_image_urls("/media/a b.png").is_err());
        assert!(parse_image_urls("/media/x.png\n").is_ok());
        let many: String = (0..11).map(|i| format!("/media/{i}.png\n")).collect();
        assert_eq!(parse_image_urls(&many), Err("Use at most 10 images.".into()));
    }

    #[test]
    fn admin_search_reads_ids_and_builds_links() {
        let q = AdminProductQuery::parse(Some(" #42 "), Some("2")).unwrap();
        assert_eq!(q.id(), Some(42));
        assert_eq!(q.url_for_page(3), "/admin/products?q=%2342&page=3");
        assert_eq!(AdminProductQuery::parse(None, Some("0")), Err(QueryError::BadPage));
        assert_eq!(AdminProductQuery::parse(None, None).unwrap().url_for_page(1), "/admin/products");
    }
}
