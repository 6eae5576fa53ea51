//! What a shopper sees when browsing: home, search, product and sale pages, 404s.
//! Every test runs on SQLite and on PostgreSQL.

mod common;

use common::TestApp;
use reqwest::StatusCode;
use shop_domain::Timestamp;
use shop_store::{NewProduct, NewSale};

async fn product(
    app: &TestApp,
    name: &str,
    price: i64,
    stock: i64,
    sold: i64,
    tags: &[&str],
    age_h: i64,
) -> i64 {
    app.store()
        .create_product(&NewProduct {
            name: name.into(),
            description: format!("About the {name}."),
            price_minor: price,
            stock,
            sold_count: sold,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            images: vec![format!(
                "/media/placeholder/test-{}.svg",
                if stock > 0 { "slate" } else { "coral" }
            )],
            created_at: Timestamp::now().plus_secs(-3600 * age_h),
        })
        .await
        .expect("insert product")
}

async fn sale(
    app: &TestApp,
    product_id: i64,
    title: &str,
    qty: i64,
    sold: i64,
    start_s: i64,
    end_s: i64,
) -> i64 {
    let now = Timestamp::now();
    app.store()
        .create_sale(
            &NewSale {
                product_id,
                title: title.into(),
                sale_price_minor: 500,
                quantity: qty,
                sold,
                per_buyer_limit: 2,
                starts_at: now.plus_secs(start_s),
                ends_at: now.plus_secs(end_s),
            },
            now,
        )
        .await
        .expect("insert sale")
}

/// A small catalog with known names, prices and tags.
async fn catalog(app: &TestApp) -> Vec<i64> {
    vec![
        product(app, "Blue Ceramic Mug", 1250, 40, 10, &["kitchen", "blue"], 5).await,
        product(app, "Red Enamel MUG", 900, 3, 500, &["kitchen", "red"], 4).await,
        product(app, "Walnut Desk Lamp", 8900, 0, 42, &["home"], 3).await,
        product(app, "Trail Backpack 30L", 12900, 12, 7, &["outdoor"], 2).await,
        product(app, "100% Wool Scarf", 4500, 8, 90, &["fashion", "red"], 1).await,
    ]
}

on_both_databases!(false =>
    search_matches_names_case_insensitively,
    short_and_special_search_text_is_safe,
    tag_filter_and_sort_orders,
    pagination_links_walk_every_product,
    bad_query_parameters_get_400_with_a_reason,
    product_page_shows_price_stock_and_tags,
    unknown_products_and_pages_are_real_404s,
    archived_products_disappear,
    sale_pages_tell_their_status,
    home_puts_sales_first_then_shelves,
    api_answers_json_for_the_same_data,
);

async fn search_matches_names_case_insensitively(app: &TestApp) {
    catalog(app).await;
    let (status, page) = app.page("/products?q=mug").await;
    assert_eq!(status, StatusCode::OK);
    let mut names = page.texts(".product-card .product-name");
    names.sort();
    assert_eq!(names, vec!["Blue Ceramic Mug", "Red Enamel MUG"]);
    assert_eq!(page.text("h1"), "Results for “mug”");
    assert_eq!(page.text(".result-count"), "2 products");
    // The search box keeps what was typed.
    let (_, page) = app.page("/products?q=desk+lamp").await;
    assert_eq!(page.attrs("form.search input[name=q]", "value"), vec!["desk lamp"]);
    assert_eq!(page.texts(".product-card .product-name"), vec!["Walnut Desk Lamp"]);
    let (_, page) = app.page("/products?q=zzzz").await;
    assert_eq!(page.count(".product-card"), 0);
    assert!(page.text(".empty").contains("No products match"));
}

async fn short_and_special_search_text_is_safe(app: &TestApp) {
    catalog(app).await;
    // Two characters: the start of a word ("30L"), from the word index.
    let (_, page) = app.page("/products?q=30").await;
    assert_eq!(page.texts(".product-card .product-name"), vec!["Trail Backpack 30L"]);
    // LIKE wildcards are not "match everything": punctuation alone matches nothing, and
    // beside a word it is ignored like any punctuation.
    for wildcard in ["%25", "_", "%25%25%25"] {
        let (status, page) = app.page(&format!("/products?q={wildcard}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page.count(".product-card"), 0, "{wildcard}");
    }
    let (_, page) = app.page("/products?q=100%25").await;
    assert_eq!(page.texts(".product-card .product-name"), vec!["100% Wool Scarf"]);
    // Quotes and SQL-ish text are just text.
    let (status, page) = app.page("/products?q=%22%27%3B+drop+table+products").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page.count(".product-card"), 0);
    let (_, page) = app.page("/products").await;
    assert_eq!(page.count(".product-card"), 5, "the catalog is intact");
}

async fn tag_filter_and_sort_orders(app: &TestApp) {
    catalog(app).await;
    let (_, page) = app.page("/products?tag=red&sort=price_asc").await;
    assert_eq!(page.texts(".product-card .product-name"), vec!["Red Enamel MUG", "100% Wool Scarf"]);
    assert_eq!(page.text("h1"), "#red");
    let (_, page) = app.page("/products?tag=RED&sort=price_desc").await;
    assert_eq!(page.texts(".product-card .product-name"), vec!["100% Wool Scarf", "Red Enamel MUG"]);

    let (_, page) = app.page("/products").await;
    assert_eq!(page.text(".product-card .product-name"), "100% Wool Scarf", "newest first by default");
    let (_, page) = app.page("/products?sort=best").await;
    assert_eq!(page.text(".product-card .product-name"), "Red Enamel MUG");
    let (_, page) = app.page("/products?sort=price_asc").await;
    let prices = page.texts(".product-card .price");
    assert_eq!(prices, vec!["$9.00", "$12.50", "$45.00", "$89.00", "$129.00"]);
    // The sort form keeps the current choice and the tag.
    let (_, page) = app.page("/products?tag=kitchen&sort=best").await;
    assert_eq!(page.attrs(".sort-form option[selected]", "value"), vec!["best"]);
    assert_eq!(page.attrs(".sort-form input[name=tag]", "value"), vec!["kitchen"]);
    // Tag chips link to tag listings, with counts.
    assert!(page.attrs("a.tag", "href").contains(&"/products?tag=kitchen".to_string()));
}

async fn pagination_links_walk_every_product(app: &TestApp) {
    for i in 0..30 {
        product(app, &format!("Pencil No. {i:02}"), 100 + i, 5 + i, 0, &["pencils"], 30 - i).await;
    }
    let (_, first) = app.page("/products?q=pencil").await;
    assert_eq!(first.count(".product-card"), 24);
    assert_eq!(first.text(".result-count"), "30 products");
    assert_eq!(first.text(".pager .current"), "1");
    let next = first.attrs(".pager a[rel=next]", "href");
    assert_eq!(next, vec!["/products?q=pencil&page=2"]);
    let (_, second) = app.page(&next[0]).await;
    assert_eq!(second.count(".product-card"), 6);
    assert_eq!(second.attrs(".pager a[rel=prev]", "href"), vec!["/products?q=pencil"]);
    assert!(second.attrs(".pager a[rel=next]", "href").is_empty());
    let mut seen: Vec<String> = first.texts(".product-name");
    seen.extend(second.texts(".product-name"));
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 30, "the two pages cover every product once");
}

async fn bad_query_parameters_get_400_with_a_reason(app: &TestApp) {
    catalog(app).await;
    for (url, reason) in [
        ("/products?page=0", "page must be a whole number"),
        ("/products?page=abc", "page must be a whole number"),
        ("/products?sort=cheapest", "Unknown sort order"),
        ("/products?tag=a%20b", "Tags are lowercase"),
    ] {
        let (status, page) = app.page(url).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}");
        assert!(page.text(".error-message").contains(reason), "{url}: {}", page.text(".error-message"));
        assert_eq!(page.count("h1"), 1);
    }
    let long = "x".repeat(81);
    let (status, _) = app.get(&format!("/products?q={long}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

async fn product_page_shows_price_stock_and_tags(app: &TestApp) {
    let ids = catalog(app).await;
    let (status, page) = app.page(&format!("/products/{}", ids[0])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page.count("h1"), 1);
    assert_eq!(page.text("h1"), "Blue Ceramic Mug");
    assert_eq!(page.text("[data-testid=price]"), "$12.50");
    assert_eq!(page.text("[data-testid=stock]"), "In stock (40)");
    assert_eq!(page.attrs("a.tag", "href"), vec!["/products?tag=blue", "/products?tag=kitchen"]);
    assert_eq!(page.attrs(".gallery img", "alt"), vec!["Blue Ceramic Mug"]);
    assert_eq!(page.text("title"), "Blue Ceramic Mug · Flashmart");

    let (_, page) = app.page(&format!("/products/{}", ids[1])).await;
    assert_eq!(page.text("[data-testid=stock]"), "Only 3 left");
    let (_, page) = app.page(&format!("/products/{}", ids[2])).await;
    assert_eq!(page.text("[data-testid=stock]"), "Sold out");
}

async fn unknown_products_and_pages_are_real_404s(app: &TestApp) {
    catalog(app).await;
    for url in ["/products/999999999", "/products/abc", "/products/-1", "/products/0"] {
        let (status, page) = app.page(url).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{url}");
        assert_eq!(page.text("h1"), "Product not found", "{url}");
    }
    let (status, page) = app.page("/sales/424242").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(page.text("h1"), "Sale not found");
    let (status, page) = app.page("/no/such/page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(page.text("h1"), "Page not found");
    assert_eq!(page.count("h1"), 1);
}

async fn archived_products_disappear(app: &TestApp) {
    let ids = catalog(app).await;
    sqlx::query("UPDATE products SET archived_at = $1 WHERE id = $2")
        .bind(Timestamp::now().millis())
        .bind(ids[0])
        .execute(app.store().pool())
        .await
        .unwrap();
    let (_, page) = app.page("/products?q=mug").await;
    assert_eq!(page.texts(".product-name"), vec!["Red Enamel MUG"]);
    let (status, _) = app.get(&format!("/products/{}", ids[0])).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn sale_pages_tell_their_status(app: &TestApp) {
    let ids = catalog(app).await;
    let live = sale(app, ids[0], "Live drop", 10, 4, -60, 3600).await;
    let upcoming = sale(app, ids[1], "Soon drop", 10, 0, 600, 4200).await;
    let sold_out = sale(app, ids[3], "Gone drop", 5, 5, -600, 600).await;
    let ended = sale(app, ids[4], "Old drop", 5, 1, -7200, -3600).await;
    for (id, status, remaining, clock) in [
        (live, "Live", "6", "Ends in"),
        (upcoming, "Upcoming", "10", "Starts in"),
        (sold_out, "Sold out", "0", "All gone"),
        (ended, "Ended", "4", "This sale has ended"),
    ] {
        let (code, page) = app.page(&format!("/sales/{id}")).await;
        assert_eq!(code, StatusCode::OK);
        assert_eq!(page.text("[data-testid=sale-status]"), status);
        assert_eq!(page.text("[data-testid=remaining]"), remaining);
        assert_eq!(page.text("[data-testid=limit]"), "2");
        assert!(page.text("[data-testid=countdown]").starts_with(clock), "{status}: {}", page.text("[data-testid=countdown]"));
        assert_eq!(page.count("h1"), 1);
    }
    // The product page points at its live and upcoming sales.
    let (_, page) = app.page(&format!("/products/{}", ids[0])).await;
    assert_eq!(page.attrs("a.sale-callout", "href"), vec![format!("/sales/{live}")]);
}

async fn home_puts_sales_first_then_shelves(app: &TestApp) {
    let ids = catalog(app).await;
    let ended_long_ago = sale(app, ids[4], "Ancient drop", 5, 1, -7 * 86_400, -6 * 86_400).await;
    sale(app, ids[1], "Soon drop", 10, 0, 600, 4200).await;
    sale(app, ids[3], "Gone drop", 5, 5, -600, 600).await;
    sale(app, ids[0], "Live drop", 10, 4, -60, 3600).await;
    let (status, page) = app.page("/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page.count("h1"), 1);
    assert_eq!(page.texts("[data-testid=sales] .sale-title"), vec!["Live drop", "Soon drop", "Gone drop"]);
    assert_eq!(
        page.texts("[data-testid=sales] [data-testid=sale-status]"),
        vec!["Live", "Upcoming", "Sold out"]
    );
    assert!(!page.raw.contains(&format!("/sales/{ended_long_ago}\"")));
    assert_eq!(page.texts("[data-testid=sales] .stock-bar-label")[0], "6 of 10 left");
    let shelves = page.texts(".shelf h2");
    assert_eq!(shelves, vec!["Flash sales", "New arrivals", "Best sellers"]);
    // Best sellers shelf is ordered by units sold.
    let best = page.texts("section[aria-labelledby=best-h] .product-name");
    assert_eq!(best[0], "Red Enamel MUG");
    assert!(page.attrs(".product-card img", "alt").iter().all(|a| !a.is_empty()));
}

async fn api_answers_json_for_the_same_data(app: &TestApp) {
    let ids = catalog(app).await;
    let res = app.client.get(app.url(&format!("/api/product?id={}", ids[0]))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let json: serde_json::Value = res.json().await.unwrap();
    assert_eq!(json["name"], "Blue Ceramic Mug");
    assert_eq!(json["price"], 1250);
    assert_eq!(json["tags"], serde_json::json!(["blue", "kitchen"]));

    let res = app.client.get(app.url("/api/product?id=999999")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let json: serde_json::Value = res.json().await.unwrap();
    assert_eq!(json, serde_json::json!({"NotFound": "Product"}));

    let res = app.client.get(app.url("/api/products?q=mug&sort=price_asc")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let json: serde_json::Value = res.json().await.unwrap();
    assert_eq!(json["page"]["total_items"], 2);
    assert_eq!(json["page"]["items"][0]["name"], "Red Enamel MUG");

    let res = app.client.get(app.url("/api/products?page=-3")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}
