//! Reading the shop's HTML: the product cards of a listing (`app/src/components/product_card.rs`:
//! `<a class="product-card" href="/products/ID">` … `<span class="product-name">NAME</span>`)
//! and the result count (`<p class="muted result-count">N products</p>`, "1,000+" when capped).

use shop_domain::search::{search_key, NameMatch};

/// `(id, name)` of every product card, in page order (attributes in any order).
pub fn cards(html: &str) -> Vec<(i64, String)> {
    html.split("<a ")
        .skip(1)
        .filter_map(|a| {
            let (tag, inside) = a.split_once('>')?;
            if !tag.contains("class=\"product-card\"") {
                return None;
            }
            let href = tag.split_once("href=\"/products/")?.1;
            let id = href[..href.find('"')?].parse().ok()?;
            let name = inside.split_once("class=\"product-name\">")?.1;
            Some((id, unescape(&name[..name.find('<')?])))
        })
        .collect()
}

/// The stated number of results, and whether it is a floor ("1,000+ products").
pub fn result_count(html: &str) -> Option<(u64, bool)> {
    let text = html.split_once("result-count\">")?.1;
    let text = &text[..text.find('<')?];
    let number: String =
        text.chars().take_while(|c| c.is_ascii_digit() || *c == ',').filter(|c| *c != ',').collect();
    Some((number.parse().ok()?, text.contains('+')))
}

/// Whether a listed name is a match for the search, folded as the shop folds it.
pub fn name_matches(m: &NameMatch, name: &str) -> bool {
    let key = search_key(name);
    match m {
        NameMatch::Nothing => false,
        NameMatch::Substring(text) => key.contains(text.as_str()),
        NameMatch::WordPrefix(words) => {
            words.iter().all(|w| key.split(' ').any(|k| k.starts_with(w.as_str())))
        }
    }
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cards_and_counts() {
        let html = r#"<p class="muted result-count">1,000+ products</p><ul class="product-grid">
            <li><a class="product-card" href="/products/12"><img src="/x.svg"/><span class="product-name">Crème Oak Lamp X-0001</span></a></li>
            <li><a href="/products/7" class="product-card"><span class="product-name">A &amp; B</span></a></li></ul>"#;
        assert_eq!(cards(html), vec![(12, "Crème Oak Lamp X-0001".into()), (7, "A & B".into())]);
        assert_eq!(result_count(html), Some((1000, true)));
        assert_eq!(result_count(r#"<p class="muted result-count">1 product</p>"#), Some((1, false)));
        assert!(name_matches(&NameMatch::of("creme"), "Crème Oak Lamp X-0001"));
        assert!(name_matches(&NameMatch::of("la"), "Crème Oak Lamp X-0001"));
        assert!(!name_matches(&NameMatch::of("l"), "Crème Oak Mug X-0001"));
    }
}
