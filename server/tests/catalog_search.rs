//! Search as a shopper of a big catalog sees it: folded names, exact names first, short texts,
//! counts that stop at "1,000+", tag pages and chip counts kept by the database. Both databases.

mod common;

use common::TestApp;
use reqwest::StatusCode;
use shop_domain::Timestamp;
use shop_store::NewProduct;

async fn product(app: &TestApp, name: &str, price: i64, sold: i64, tags: &[&str], age_h: i64) -> i64 {
    app.store()
        .create_product(&NewProduct {
            name: name.into(),
            description: String::new(),
            price_minor: price,
            stock: 10,
            sold_count: sold,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            images: vec![],
            created_at: Timestamp::now().plus_secs(-3600 * age_h),
        })
        .await
        .expect("insert product")
}

on_both_databases!(false =>
    accents_and_case_fold_on_both_databases,
    an_exact_name_comes_first,
    short_texts_match_the_start_of_words,
    counts_stop_at_a_thousand_and_pages_go_on,
    tag_pages_follow_sales_prices_and_archiving,
    tag_and_text_together,
    admin_edits_show_at_once_on_cached_pages,
);

async fn accents_and_case_fold_on_both_databases(app: &TestApp) {
    product(app, "Crème Brûlée Dish", 1500, 0, &["kitchen"], 3).await;
    product(app, "ÉCOLE Notebook", 300, 0, &["office"], 2).await;
    product(app, "머그컵 Blue", 900, 0, &["kitchen"], 1).await;
    for (q, expect) in [
        ("creme", "Crème Brûlée Dish"),
        ("CRÈME brulee", "Crème Brûlée Dish"),
        ("brûlée", "Crème Brûlée Dish"),
        ("école", "ÉCOLE Notebook"),
        ("ecole", "ÉCOLE Notebook"),
        ("머그컵", "머그컵 Blue"),
        ("머그", "머그컵 Blue"),
    ] {
        let (status, page) = app.page(&format!("/products?q={}", shop_domain::catalog::url_encode(q))).await;
        assert_eq!(status, StatusCode::OK, "{q}");
        assert_eq!(page.texts(".product-card .product-name"), vec![expect], "{q}");
    }
}

async fn an_exact_name_comes_first(app: &TestApp) {
    product(app, "Lamp Shade", 500, 50, &["home"], 1).await;
    product(app, "Desk Lamp", 900, 10, &["home"], 2).await;
    product(app, "Lamp", 700, 0, &["home"], 300).await;
    product(app, "Floor Lamp", 1900, 99, &["home"], 4).await;
    // Newest first, except the product named exactly "lamp".
    let (_, page) = app.page("/products?q=LAMP").await;
    assert_eq!(page.texts(".product-name"), vec!["Lamp", "Lamp Shade", "Desk Lamp", "Floor Lamp"]);
    let (_, page) = app.page("/products?q=lamp&sort=best").await;
    assert_eq!(page.texts(".product-name"), vec!["Lamp", "Floor Lamp", "Lamp Shade", "Desk Lamp"]);
    assert_eq!(page.text(".result-count"), "4 products");
    // Within a tag too; a text that is not a whole name puts nobody first.
    let (_, page) = app.page("/products?q=lamp&tag=home&sort=price_desc").await;
    assert_eq!(page.texts(".product-name"), vec!["Lamp", "Floor Lamp", "Desk Lamp", "Lamp Shade"]);
    let (_, page) = app.page("/products?q=amp&sort=price_asc").await;
    assert_eq!(page.texts(".product-name"), vec!["Lamp Shade", "Lamp", "Desk Lamp", "Floor Lamp"]);
}

async fn short_texts_match_the_start_of_words(app: &TestApp) {
    product(app, "Oak Table", 100, 0, &[], 1).await;
    product(app, "Soak Tub", 200, 0, &[], 2).await;
    product(app, "Écran Oaken", 300, 0, &[], 3).await;
    let (_, page) = app.page("/products?q=oa").await;
    assert_eq!(page.texts(".product-name"), vec!["Oak Table", "Écran Oaken"], "not 'sOAk'");
    let (_, page) = app.page("/products?q=E").await;
    assert_eq!(page.texts(".product-name"), vec!["Écran Oaken"]);
    let (_, page) = app.page("/products?q=t").await;
    assert_eq!(page.texts(".product-name"), vec!["Oak Table", "Soak Tub"]);
}

/// Adds `n` products named "Pencil {i}" with one SQL statement (the store's writer would take
/// a while for a thousand).
async fn many_pencils(app: &TestApp, n: i64) {
    sqlx::query(&format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) \
         INSERT INTO products (name, name_key, description, price, stock, sold_count, created_at, updated_at) \
         SELECT 'Pencil ' || i, 'pencil ' || i, '', 100 + i, 5, 0, 1000 + i, 1000 + i FROM n"
    ))
    .execute(app.store().pool())
    .await
    .unwrap();
}

async fn counts_stop_at_a_thousand_and_pages_go_on(app: &TestApp) {
    many_pencils(app, 1_030).await;
    for (url, count) in
        [("/products", "1,000+ products"), ("/products?q=pencil", "480+ products"), ("/products?q=pe", "480+ products")]
    {
        let (status, page) = app.page(url).await;
        assert_eq!(status, StatusCode::OK, "{url}");
        assert_eq!(page.text(".result-count"), count, "{url}");
        assert_eq!(page.count(".product-card"), 24, "{url}");
    }
    // A text search shows 20 pages: the newest pencil is 1030, page 20 ends at 1030 - 479.
    let (_, page) = app.page("/products?q=pencil&page=20").await;
    let names = page.texts(".product-name");
    assert_eq!(names.first().map(String::as_str), Some("Pencil 574"));
    assert_eq!(names.last().map(String::as_str), Some("Pencil 551"));
    assert!(page.attrs(".pager a[rel=next]", "href").is_empty());
    assert!(page.text("[data-testid=search-end]").contains("first 20 pages"));
    let (status, page) = app.page("/products?q=pencil&page=21").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.text(".error-message").contains("add a word or choose a tag"));
    // Listings go deeper, and the count is exact once a page reaches it.
    let (_, page) = app.page("/products?page=42").await;
    assert_eq!(page.text(".result-count"), "1,030 products");
    assert_eq!(page.attrs(".pager a[rel=next]", "href"), vec!["/products?page=43"]);
    let (_, page) = app.page("/products?page=43").await;
    assert_eq!(page.count(".product-card"), 22);
    assert_eq!(page.texts(".product-name").last().map(String::as_str), Some("Pencil 1"));
    // A rare text counts exactly.
    let (_, page) = app.page("/products?q=pencil+1029").await;
    assert_eq!(page.text(".result-count"), "1 product");
}

async fn tag_pages_follow_sales_prices_and_archiving(app: &TestApp) {
    let mug = product(app, "Mug", 900, 5, &["kitchen", "blue"], 3).await;
    let pan = product(app, "Pan", 2500, 50, &["kitchen"], 2).await;
    let cup = product(app, "Cup", 400, 20, &["kitchen", "blue"], 1).await;
    let (_, page) = app.page("/products?tag=kitchen&sort=best").await;
    assert_eq!(page.texts(".product-name"), vec!["Pan", "Cup", "Mug"]);
    assert_eq!(page.text(".result-count"), "3 products");
    let pool = app.store().pool();
    // A sale moves the sold count, an edit the price: the tag page follows without a rebuild.
    sqlx::query("UPDATE products SET sold_count = 80 WHERE id = $1").bind(mug).execute(pool).await.unwrap();
    sqlx::query("UPDATE products SET price = 5000 WHERE id = $1").bind(cup).execute(pool).await.unwrap();
    // Pages are cached for a moment; the store's own writes forget them, as this does.
    app.store().forget_catalog();
    let (_, page) = app.page("/products?tag=kitchen&sort=best").await;
    assert_eq!(page.texts(".product-name"), vec!["Mug", "Pan", "Cup"]);
    let (_, page) = app.page("/products?tag=kitchen&sort=price_desc").await;
    assert_eq!(page.texts(".product-name"), vec!["Cup", "Pan", "Mug"]);
    // Archiving takes a product off its tag pages and out of the chip counts.
    sqlx::query("UPDATE products SET archived_at = 1 WHERE id = $1").bind(pan).execute(pool).await.unwrap();
    // Chips are cached for a moment; the store's own writes forget them, as this does.
    app.store().forget_catalog();
    let (_, page) = app.page("/products?tag=kitchen").await;
    assert_eq!(page.texts(".product-name"), vec!["Cup", "Mug"]);
    assert_eq!(page.text(".result-count"), "2 products");
    let chips = page.texts("a.tag");
    assert!(chips.iter().any(|c| c.contains("kitchen") && c.contains('2')), "{chips:?}");
    let tags: Vec<(String, i64)> = sqlx::query_as("SELECT tag, products FROM tag_counts ORDER BY tag")
        .fetch_all(pool)
        .await
        .unwrap();
    assert_eq!(tags, vec![("blue".to_string(), 2), ("kitchen".to_string(), 2)]);
    sqlx::query("UPDATE products SET archived_at = NULL WHERE id = $1").bind(pan).execute(pool).await.unwrap();
    sqlx::query("DELETE FROM product_tags WHERE product_id = $1 AND tag = 'blue'").bind(cup).execute(pool).await.unwrap();
    let tags: Vec<(String, i64)> = sqlx::query_as("SELECT tag, products FROM tag_counts ORDER BY tag")
        .fetch_all(pool)
        .await
        .unwrap();
    assert_eq!(tags, vec![("blue".to_string(), 1), ("kitchen".to_string(), 3)]);
}

async fn tag_and_text_together(app: &TestApp) {
    product(app, "Garden Lamp", 900, 0, &["garden"], 3).await;
    product(app, "Desk Lamp", 900, 0, &["office"], 2).await;
    product(app, "Garden Hose", 900, 0, &["garden"], 1).await;
    let (_, page) = app.page("/products?tag=garden&q=lamp").await;
    assert_eq!(page.texts(".product-name"), vec!["Garden Lamp"]);
    assert_eq!(page.text("h1"), "“lamp” in #garden");
    let (_, page) = app.page("/products?tag=garden&q=ga").await;
    assert_eq!(page.texts(".product-name"), vec!["Garden Hose", "Garden Lamp"]);
}

/// Search pages, tag pages, chips and product pages are kept for a moment
/// (`SHOP_CATALOG_CACHE_MS`, 2 s here): an admin's edit still shows on the next request.
async fn admin_edits_show_at_once_on_cached_pages(app: &TestApp) {
    use shop_domain::admin::ProductDraft;
    let teapot = product(app, "Teapot", 1200, 0, &["kitchen"], 1).await;
    let visit = |path: &'static str| async move { app.page(path).await.1 };
    assert_eq!(visit("/products?q=teapot").await.texts(".product-name"), vec!["Teapot"]);
    assert_eq!(visit("/products?tag=kitchen").await.texts(".product-name"), vec!["Teapot"]);
    let (_, before) = app.page(&format!("/products/{teapot}")).await;
    assert_eq!(before.text("h1"), "Teapot");
    // The same pages again come from the cache: a write behind the store's back is not seen.
    sqlx::query("UPDATE products SET name = 'Hidden', name_key = 'hidden' WHERE id = $1")
        .bind(teapot)
        .execute(app.store().pool())
        .await
        .unwrap();
    assert_eq!(visit("/products?q=teapot").await.texts(".product-name"), vec!["Teapot"]);
    // A page not seen before reads the database: the tag's rows took the new search key from
    // the product (a trigger; tag + text walks the tag's index, which carries the key).
    assert_eq!(visit("/products?tag=kitchen&q=hidden").await.texts(".product-name").len(), 1);
    assert!(visit("/products?tag=kitchen&q=teap").await.texts(".product-name").is_empty());

    let admin = app
        .store()
        .create_user(
            &shop_store::NewUser {
                email: "ada@example.com".into(),
                username: "ada_1".into(),
                password_hash: "x".into(),
                name: "Ada".into(),
                phone: None,
                role: shop_domain::Role::Admin,
                email_verified: true,
            },
            Timestamp::now(),
        )
        .await
        .unwrap();
    let draft = ProductDraft {
        name: "Kettle".into(),
        description: String::new(),
        price: shop_domain::Money::from_minor(1500),
        stock: 10,
        tags: vec!["kitchen".into(), "tea".into()],
        images: vec![],
    };
    app.store().admin_update_product(teapot, &draft, admin, Timestamp::now()).await.unwrap();
    assert!(visit("/products?q=teapot").await.texts(".product-name").is_empty(), "the old name is gone");
    assert_eq!(visit("/products?q=kettle").await.texts(".product-name"), vec!["Kettle"]);
    assert_eq!(visit("/products?tag=kitchen").await.texts(".product-name"), vec!["Kettle"]);
    assert_eq!(visit("/products?tag=tea").await.texts(".product-name"), vec!["Kettle"]);
    assert_eq!(visit("/products?tag=tea&q=kettle").await.texts(".product-name"), vec!["Kettle"]);
    assert!(visit("/products?tag=kitchen&q=teapot").await.texts(".product-name").is_empty());
    let (_, after) = app.page(&format!("/products/{teapot}")).await;
    assert_eq!(after.text("h1"), "Kettle");
}
