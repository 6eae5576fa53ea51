//! The admin: every `/api/admin/…` function refuses non-staff (enumerated from the server-fn
//! registry), the pages are staff-only, products and sales are validated and audited, sale and
//! stock edits reach the stock gate at once, archive instead of delete, staff cancel + refund,
//! dead-letter replay, uploads. Each test runs on SQLite + in-memory gate and on
//! PostgreSQL + Redis gate.

mod common;

use common::{Db, Options, Page, TestApp};
use reqwest::StatusCode;
use shop::sessions::DbSessionStore;
use shop_domain::admin::input::datetime_value;
use shop_domain::gate::GateItem;
use shop_domain::{PaymentKind, Role, Timestamp};
use shop_store::{NewAddress, NewPaymentMethod, NewProduct, NewUser};
use std::collections::HashMap;
use tower_sessions::session::{Id, Record};
use tower_sessions::SessionStore;

async fn spawn(db: Db) -> TestApp {
    let prefix = format!("test:admin:{}:{}:", std::process::id(), Timestamp::now().millis());
    let redis = std::env::var("SHOP_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    match db {
        Db::Sqlite => TestApp::spawn_with(db, Options { seed: false }).await,
        Db::Postgres => {
            TestApp::spawn_with_env(
                db,
                Options { seed: false },
                &[("REDIS_URL", &redis), ("SHOP_REDIS_PREFIX", &prefix)],
            )
            .await
        }
    }
}

macro_rules! in_both_modes {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                async fn run(db: super::Db) {
                    use futures::FutureExt;
                    let app = super::spawn(db).await;
                    let outcome = std::panic::AssertUnwindSafe(super::$name(&app)).catch_unwind().await;
                    app.stop().await;
                    if let Err(p) = outcome { std::panic::resume_unwind(p) }
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite_memory_gate() { run(super::Db::Sqlite).await }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres_redis_gate() { run(super::Db::Postgres).await }
            }
        )*
    };
}

in_both_modes!(
    every_admin_function_refuses_non_admins,
    admin_pages_are_for_staff_only,
    products_are_validated_created_edited_and_audited,
    products_with_orders_are_archived_not_deleted,
    sales_refuse_impossible_windows_overlaps_and_quantities_over_stock,
    raising_a_live_sales_quantity_lets_the_next_buyer_buy,
    a_new_sale_is_buyable_at_once_and_holds_back_product_stock,
    a_stock_edit_reaches_the_gate,
    admin_edits_keep_a_reservation_in_flight,
    staff_cancel_refunds_a_paid_order_and_returns_the_stock,
    staff_retry_sends_the_waiting_step_again,
    dead_letters_replay_once_through_the_outbox,
    orders_are_filtered_and_show_their_saga,
    image_uploads_are_checked_stored_and_thumbnailed,
    the_dashboard_counts_sales_orders_and_revenue,
);

// ---------------------------------------------------------------------------------------------
// Helpers

/// A user with a session (as the login would create it, without argon2): `(id, cookie)`.
async fn user(app: &TestApp, name: &str, role: Role) -> (i64, String) {
    let store = app.store();
    let now = Timestamp::now();
    let id = store
        .create_user(
            &NewUser {
                email: format!("{name}@example.com"),
                username: name.to_string(),
                password_hash: "unused-in-this-test".into(),
                name: name.to_string(),
                phone: None,
                role,
                email_verified: true,
            },
            now,
        )
        .await
        .unwrap();
    let record = Record {
        id: Id::default(),
        data: HashMap::from([("user_id".to_string(), serde_json::json!(id))]),
        expiry_date: tower_sessions::cookie::time::OffsetDateTime::now_utc()
            + tower_sessions::cookie::time::Duration::hours(1),
    };
    DbSessionStore::new(store.clone()).save(&record).await.unwrap();
    (id, format!("flashmart_session={}", record.id))
}

struct Buyer {
    cookie: String,
    address: i64,
    card: i64,
}

/// A customer with an address and a card.
async fn buyer(app: &TestApp, name: &str) -> Buyer {
    let (id, cookie) = user(app, name, Role::Customer).await;
    let now = Timestamp::now();
    let address = app
        .store()
        .add_address(
            id,
            &NewAddress {
                receiver: name.into(),
                street: "1 Main St".into(),
                detail: String::new(),
                zip: "12345".into(),
                make_main: true,
            },
            now,
        )
        .await
        .unwrap();
    let card = app
        .store()
        .add_payment_method(
            id,
            &NewPaymentMethod {
                kind: PaymentKind::Card,
                label: "Visa".into(),
                holder: name.into(),
                last4: "4242".into(),
                expiry: Some("12/39".into()),
                secret: vec![1, 2, 3],
            },
            now,
        )
        .await
        .unwrap();
    Buyer { cookie, address, card }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        // A hung request fails the test with its URL instead of hanging the suite.
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .unwrap()
}

/// POST as an API client (JSON answers), with an optional session cookie.
async fn api(
    app: &TestApp,
    cookie: Option<&str>,
    path: &str,
    fields: &[(&str, String)],
) -> reqwest::Response {
    let mut req = client().post(app.url(path)).header("origin", &app.base).form(fields);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    req.send().await.unwrap()
}

/// POST as a browser without JavaScript (a plain form; HTML answers).
async fn browser(app: &TestApp, cookie: &str, path: &str, fields: &[(&str, String)]) -> reqwest::Response {
    client()
        .post(app.url(path))
        .header("origin", &app.base)
        .header("accept", "text/html,application/xhtml+xml")
        .header("cookie", cookie)
        .form(fields)
        .send()
        .await
        .unwrap()
}

/// GET with an optional session cookie: `(status, body)`.
async fn get(app: &TestApp, cookie: Option<&str>, path: &str) -> (StatusCode, String) {
    let mut req = client().get(app.url(path));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let res = req.send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

async fn page(app: &TestApp, cookie: &str, path: &str) -> (StatusCode, Page) {
    let (s, body) = get(app, Some(cookie), path).await;
    (s, Page::parse(&body))
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(app.store().pool()).await.unwrap()
}

fn location(res: &reqwest::Response) -> String {
    res.headers().get("location").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

fn s(v: impl ToString) -> String {
    v.to_string()
}

async fn product(app: &TestApp, name: &str, price: i64, stock: i64) -> i64 {
    app.store()
        .create_product(&NewProduct {
            name: name.into(),
            description: String::new(),
            price_minor: price,
            stock,
            sold_count: 0,
            tags: vec![],
            images: vec![],
            created_at: Timestamp::now(),
        })
        .await
        .unwrap()
}

/// The current minute (a sale starting "now" from a form) and an hour later.
fn live_window() -> (String, String) {
    let now = Timestamp::now();
    (datetime_value(now), datetime_value(now.plus_secs(3600)))
}

fn sale_fields(
    product_id: i64,
    quantity: i64,
    limit: i64,
    window: &(String, String),
) -> Vec<(&'static str, String)> {
    vec![
        ("product_id", s(product_id)),
        ("title", "Admin drop".into()),
        ("sale_price", "25.00".into()),
        ("quantity", s(quantity)),
        ("per_buyer_limit", s(limit)),
        ("starts_at", window.0.clone()),
        ("ends_at", window.1.clone()),
    ]
}

/// A sale as `GET /api/admin/sale` answers an admin.
async fn admin_sale(app: &TestApp, admin: &str, sale: i64) -> serde_json::Value {
    client()
        .get(app.url(&format!("/api/admin/sale?id={sale}")))
        .header("cookie", admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Creates a sale through the admin API; returns its id.
async fn create_sale(app: &TestApp, admin: &str, fields: &[(&str, String)]) -> i64 {
    let res = api(app, Some(admin), "/api/admin/sales/create", fields).await;
    let status = res.status();
    let body = res.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "create sale: {body}");
    body.parse().unwrap()
}

async fn buy_sale(app: &TestApp, b: &Buyer, sale: i64, key: &str) -> reqwest::Response {
    let fields = [
        ("sale_id", s(sale)),
        ("quantity", "1".into()),
        ("address_id", s(b.address)),
        ("payment_method_id", s(b.card)),
        ("idempotency_key", key.into()),
    ];
    api(app, Some(&b.cookie), "/api/buy", &fields).await
}

async fn buy_product(app: &TestApp, b: &Buyer, product: i64, quantity: u32, key: &str) -> reqwest::Response {
    let fields = [
        ("product_id", s(product)),
        ("quantity", s(quantity)),
        ("address_id", s(b.address)),
        ("payment_method_id", s(b.card)),
        ("idempotency_key", key.into()),
    ];
    api(app, Some(&b.cookie), "/api/buy/product", &fields).await
}

async fn order_id(res: reqwest::Response) -> i64 {
    let status = res.status();
    let body = res.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_str::<serde_json::Value>(&body).unwrap()["order_id"].as_i64().unwrap()
}

/// Every field of a product form.
fn product_fields(name: &str, price: &str, stock: &str) -> Vec<(&'static str, String)> {
    vec![
        ("name", name.into()),
        ("description", "A fine thing.\nMade to last.".into()),
        ("price", price.into()),
        ("stock", stock.into()),
        ("tags", "kitchen, admin-made".into()),
        ("images", String::new()),
    ]
}

/// A small real PNG.
fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbaImage::from_fn(width, height, |x, y| {
        image::Rgba([(x % 256) as u8, (y % 256) as u8, 90, 255])
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgba8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

/// A `multipart/form-data` body: text fields, then one file field `image`.
fn multipart(fields: &[(&str, String)], file_name: &str, file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----flashmart-test-boundary-7d1f";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"{file_name}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Uploads an image for a product, as a browser form post.
async fn upload(
    app: &TestApp,
    cookie: &str,
    product_id: i64,
    file_name: &str,
    file: &[u8],
) -> reqwest::Response {
    let (content_type, body) = multipart(&[("product_id", s(product_id))], file_name, file);
    client()
        .post(app.url("/api/admin/products/image"))
        .header("origin", &app.base)
        .header("referer", app.url(&format!("/admin/products/{product_id}")))
        .header("accept", "text/html")
        .header("cookie", cookie)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

fn uploaded_files(app: &TestApp) -> Vec<String> {
    match std::fs::read_dir(app.data_dir().join("uploads")) {
        Ok(dir) => {
            let mut names: Vec<String> =
                dir.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
            names.sort();
            names
        }
        Err(_) => Vec::new(),
    }
}

/// Everything an admin function could change, as text: compared before and after the
/// refused calls.
async fn digest(app: &TestApp) -> Vec<String> {
    let tables: &[(&str, &[&str])] = &[
        ("users", &["id", "role", "updated_at"]),
        ("products", &["id", "name", "price", "stock", "archived_at", "updated_at"]),
        ("product_tags", &["product_id", "tag"]),
        ("product_images", &["product_id", "url", "position"]),
        (
            "flash_sales",
            &["id", "title", "quantity", "per_buyer_limit", "starts_at", "ends_at", "updated_at"],
        ),
        ("orders", &["id", "status", "updated_at"]),
        ("order_lines", &["id", "status"]),
        ("order_events", &["id"]),
        ("outbox", &["event_id"]),
        ("dead_letters", &["id", "replayed_at"]),
        ("audit_log", &["id"]),
    ];
    let mut out = Vec::new();
    for (table, columns) in tables {
        let expr = columns
            .iter()
            .map(|c| format!("COALESCE(CAST({c} AS TEXT), '-')"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let rows: Vec<String> = sqlx::query_scalar(&format!("SELECT {expr} FROM {table} ORDER BY 1"))
            .fetch_all(app.store().pool())
            .await
            .unwrap();
        out.push(format!("{table}: {}", rows.join("; ")));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Tests

/// Every registered server function under `/api/admin/` (read from the server-fn registry,
/// so a new one is included automatically) answers an anonymous caller and a customer with
/// 403, as a JSON API call and as a browser form, and nothing changes. An admin's identical
/// call gets past the check, which proves the 403s came from it.
async fn every_admin_function_refuses_non_admins(app: &TestApp) {
    let mut functions: Vec<(String, String)> = leptos::server_fn::axum::server_fn_paths()
        .filter(|(path, _)| path.starts_with("/api/admin/"))
        .map(|(path, method)| (path.to_string(), method.to_string()))
        .collect();
    functions.sort();
    let paths: Vec<&str> = functions.iter().map(|(p, _)| p.as_str()).collect();
    for known in [
        "/api/admin/role",
        "/api/admin/products/create",
        "/api/admin/sales/update",
        "/api/admin/orders/cancel",
        "/api/admin/dead-letters/replay",
        "/api/admin/products/image",
        "/api/admin/dashboard",
        "/api/admin/audit",
    ] {
        assert!(paths.contains(&known), "the registry lists {known} (found {paths:?})");
    }
    assert!(functions.len() >= 20, "{} admin functions registered: {paths:?}", functions.len());
    eprintln!("{} admin functions: {functions:?}", functions.len());

    // Something for every function to act on: a product (1), a sale (1), an order (1), a
    // dead letter (1), and the people.
    let (_, admin) = user(app, "boss", Role::Admin).await;
    let (_, customer) = user(app, "carol", Role::Customer).await;
    let lamp = product(app, "Lamp", 10_000, 50).await;
    let sale = create_sale(app, &admin, &sale_fields(lamp, 5, 1, &live_window())).await;
    let b = buyer(app, "bea").await;
    let order = order_id(buy_sale(app, &b, sale, "refusal-key-1").await).await;
    sqlx::query(
        "INSERT INTO dead_letters (topic, msg_key, payload, error, failed_at) \
         SELECT topic, msg_key, payload, 'boom', created_at FROM outbox",
    )
    .execute(app.store().pool())
    .await
    .unwrap();
    assert_eq!((lamp, sale, order), (1, 1, 1));

    let (start, end) = live_window();
    let fields: Vec<(&str, String)> = vec![
        ("id", "1".into()),
        ("email", "carol@example.com".into()),
        ("role", "admin".into()),
        ("name", "Renamed by a stranger".into()),
        ("description", "x".into()),
        ("price", "1.00".into()),
        ("stock", "999".into()),
        ("tags", "hacked".into()),
        ("images", String::new()),
        ("product_id", "1".into()),
        ("title", "Stolen".into()),
        ("sale_price", "0.01".into()),
        ("quantity", "999".into()),
        ("per_buyer_limit", "999".into()),
        ("starts_at", start),
        ("ends_at", end),
        ("q", String::new()),
        ("page", "1".into()),
        ("status", String::new()),
        ("from", String::new()),
        ("to", String::new()),
        ("buyer", String::new()),
    ];
    let image = png(8, 8);
    let call = |cookie: Option<String>, path: String, method: String, as_browser: bool| {
        let fields = fields.clone();
        let image = image.clone();
        async move {
            let mut req = if method == "GET" {
                client().get(app.url(&path)).query(&fields)
            } else {
                client().post(app.url(&path)).header("origin", &app.base).form(&fields)
            };
            if as_browser {
                req = req.header("accept", "text/html");
            }
            if let Some(c) = &cookie {
                req = req.header("cookie", c);
            }
            let mut res = req.send().await.unwrap();
            if res.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE {
                // An upload function: send what it takes.
                let (content_type, body) = multipart(&fields, "x.png", &image);
                let mut req = client()
                    .post(app.url(&path))
                    .header("origin", &app.base)
                    .header("content-type", content_type)
                    .body(body);
                if let Some(c) = &cookie {
                    req = req.header("cookie", c);
                }
                res = req.send().await.unwrap();
            }
            let status = res.status();
            (status, res.text().await.unwrap())
        }
    };

    let before = digest(app).await;
    let gate_state = || app.store().gate_state(GateItem::Sale(1), Timestamp::now());
    let gate_before = gate_state().await.unwrap();
    for (path, method) in &functions {
        for (who, cookie) in [("an anonymous caller", None), ("a customer", Some(customer.clone()))] {
            let (status, body) = call(cookie.clone(), path.clone(), method.clone(), false).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{who} calling {method} {path} got {status}: {body}");
            assert!(body.contains("\"Forbidden\""), "{method} {path} for {who}: {body}");
            if method == "POST" {
                let (status, _) = call(cookie, path.clone(), method.clone(), true).await;
                assert_eq!(status, StatusCode::FORBIDDEN, "{who} posting the form of {path} (no JS)");
            }
        }
    }
    assert_eq!(digest(app).await, before, "a refused call changed something");
    assert_eq!(gate_state().await.unwrap(), gate_before);
    assert!(uploaded_files(app).is_empty(), "nothing was uploaded");
    let (_, page) = get(app, None, "/sales/1").await;
    assert!(Page::parse(&page).text("[data-testid=remaining]") == "4", "the gate still sells the same sale");

    // The same calls by an admin get past the check (whatever the function then decides).
    for (path, method) in &functions {
        let (status, body) = call(Some(admin.clone()), path.clone(), method.clone(), false).await;
        assert!(
            status != StatusCode::FORBIDDEN && status != StatusCode::UNAUTHORIZED,
            "an admin calling {method} {path} got {status}: {body}"
        );
        assert!(
            !body.contains("could not be read") && !body.contains("Missing field"),
            "the test's request does not fit {method} {path}; add the field it needs: {body}"
        );
    }
}

async fn admin_pages_are_for_staff_only(app: &TestApp) {
    let (_, admin) = user(app, "boss", Role::Admin).await;
    let (_, customer) = user(app, "carol", Role::Customer).await;
    let lamp = product(app, "Lamp", 10_000, 50).await;
    let sale = create_sale(app, &admin, &sale_fields(lamp, 5, 1, &live_window())).await;
    let b = buyer(app, "bea").await;
    let order = order_id(buy_sale(app, &b, sale, "pages-key-1").await).await;
    let pages = [
        "/admin".to_string(),
        "/admin/products".into(),
        "/admin/products?q=lamp&page=1".into(),
        "/admin/products/new".into(),
        format!("/admin/products/{lamp}"),
        "/admin/sales".into(),
        "/admin/sales/new".into(),
        format!("/admin/sales/{sale}"),
        "/admin/orders".into(),
        "/admin/orders?status=PENDING&buyer=bea".into(),
        format!("/admin/orders/{order}"),
        "/admin/dead-letters".into(),
        "/admin/audit".into(),
    ];
    for path in &pages {
        // Anonymous: to the login page, and back here afterwards.
        let res = client().get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FOUND, "{path}");
        let next = shop_domain::catalog::url_encode(path);
        assert_eq!(location(&res), format!("/login?next={next}"), "{path}");
        // A customer: 403, and none of the admin's data.
        let (status, body) = get(app, Some(&customer), path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        let p = Page::parse(&body);
        assert_eq!(p.text("h1"), "Staff only", "{path}");
        assert_eq!(p.count(".admin-nav"), 0, "{path}");
        assert!(!body.contains("bea@example.com"), "{path} leaks data to a customer");
        // Staff: the page.
        let (status, p) = page(app, &admin, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(p.count(".admin-nav a[aria-current=page]"), 1, "{path}");
    }
    let (_, p) = page(app, &admin, &format!("/admin/orders/{order}")).await;
    assert!(p.raw.contains("bea@example.com"), "staff see the buyer");
    assert_eq!(page(app, &admin, "/admin/products/999").await.0, StatusCode::NOT_FOUND);
    assert_eq!(page(app, &admin, "/admin/sales/999").await.0, StatusCode::NOT_FOUND);
    assert_eq!(page(app, &admin, "/admin/orders/999").await.0, StatusCode::NOT_FOUND);
    let (status, p) = page(app, &admin, "/admin/orders?status=lost").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(p.text(".error-message").contains("Unknown status"));
    // The header links staff (and only staff) to the admin.
    let (_, home) = page(app, &admin, "/").await;
    assert!(home.attrs("a", "href").contains(&"/admin".to_string()));
    let (_, home) = page(app, &customer, "/").await;
    assert!(!home.attrs("a", "href").contains(&"/admin".to_string()));
}

async fn products_are_validated_created_edited_and_audited(app: &TestApp) {
    let (_, admin) = user(app, "boss", Role::Admin).await;
    // A bad form (no JavaScript): 400, the messages next to their fields, what was typed kept.
    let mut bad = product_fields(" ", "12.345", "lots");
    bad[4].1 = "ok, not ok!".into();
    bad[5].1 = "javascript:alert(1)".into();
    let res = browser(app, &admin, "/api/admin/products/create", &bad).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let p = Page::parse(&res.text().await.unwrap());
    assert_eq!(p.text("h1"), "New product");
    for field in ["name", "price", "stock", "tags", "images"] {
        assert_eq!(p.count(&format!("#{field}-error")), 1, "{field} has its message");
        assert_eq!(p.attrs(&format!("[name={field}]"), "aria-invalid"), vec!["true"], "{field}");
    }
    assert_eq!(p.text("#price-error"), "Enter a price like 12.50 (0 or more).");
    assert_eq!(p.attrs("input[name=price]", "value"), vec!["12.345"], "typed values are kept");
    assert_eq!(p.text("textarea[name=description]"), "A fine thing. Made to last.");
    assert_eq!(count(app, "SELECT COUNT(*) FROM products").await, 0, "nothing was created");
    assert_eq!(count(app, "SELECT COUNT(*) FROM audit_log").await, 0);

    // A good one: created, on its admin page, and in the shop.
    let res =
        browser(app, &admin, "/api/admin/products/create", &product_fields("Enamel Mug", "12.50", "40"))
            .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let id: i64 = count(app, "SELECT MAX(id) FROM products").await;
    assert_eq!(location(&res), format!("/admin/products/{id}?done=created"));
    let (_, p) = page(app, &admin, &location(&res)).await;
    assert_eq!(p.text(".notice"), "Product created.");
    assert_eq!(p.attrs("input[name=price]", "value"), vec!["12.50"]);
    let (status, shop) = app.page(&format!("/products/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shop.text("h1"), "Enamel Mug");
    assert!(shop.raw.contains("$12.50"));
    let (_, tagged) = app.page("/products?tag=admin-made").await;
    assert_eq!(tagged.texts(".product-card .product-name"), vec!["Enamel Mug"]);

    // Edited: the shop shows the change at once.
    let mut edit = product_fields("Enamel Mug", "15", "35");
    edit.push(("id", s(id)));
    let res = browser(app, &admin, "/api/admin/products/update", &edit).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(location(&res), format!("/admin/products/{id}?done=saved"));
    let (_, shop) = app.page(&format!("/products/{id}")).await;
    assert!(shop.raw.contains("$15.00") && !shop.raw.contains("$12.50"));
    // A bad edit re-renders the product's own page (no JS) and changes nothing.
    let mut edit = product_fields("Enamel Mug", "-1", "35");
    edit.push(("id", s(id)));
    let res = browser(app, &admin, "/api/admin/products/update", &edit).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let p = Page::parse(&res.text().await.unwrap());
    assert_eq!(p.text("h1"), "Enamel Mug");
    assert_eq!(p.attrs("input[name=price]", "value"), vec!["-1"]);
    assert_eq!(count(app, &format!("SELECT price FROM products WHERE id = {id}")).await, 1500);

    // Who did what, newest first.
    let (_, p) = page(app, &admin, "/admin/audit").await;
    let rows = p.texts(".audit-row");
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows[0].contains("boss@example.com") && rows[0].contains("product.update"), "{}", rows[0]);
    assert!(rows[0].contains("price $12.50 → $15.00; stock 40 → 35"), "{}", rows[0]);
    assert!(rows[1].contains("product.create") && rows[1].contains("Enamel Mug"), "{}", rows[1]);
    // The list finds it by name (any case) and by #id.
    let (_, p) = page(app, &admin, "/admin/products?q=ENAMEL").await;
    assert_eq!(p.count(".product-row"), 1);
    let (_, p) = page(app, &admin, &format!("/admin/products?q=%23{id}")).await;
    assert_eq!(p.count(".product-row"), 1);
    let (_, p) = page(app, &admin, "/admin/products?q=teapot").await;
    assert_eq!(p.count(".product-row"), 0);
}

async fn products_with_orders_are_archived_not_deleted(app: &TestApp) {
    let (_, admin) = user(app, "boss", Role::Admin).await;
    let sold = product(app, "Sold Stool", 5_000, 10).await;
    let unsold = product(app, "Lonely Lamp", 5_000, 10).await;
    let b = buyer(app, "bea").await;
    order_id(buy_product(app, &b, sold, 1, "archive-key-1").await).await;

    let res = api(app, Some(&admin), "/api/admin/products/delete", &[("id", s(sold))]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap(), "Archived");
    assert_eq!(count(app, &format!("SELECT COUNT(*) FROM products WHERE id = {sold}")).await, 1, "kept");
    // Gone from the shop: its page, search, and buying.
    assert_eq!(app.page(&format!("/products/{sold}")).await.0, StatusCode::NOT_FOUND);
    let (_, list) = app.page("/products?q=stool").await;
    assert_eq!(list.count(".product-card"), 0);
    assert_eq!(buy_product(app, &b, sold, 1, "archive-key-2").await.status(), StatusCode::NOT_FOUND);
    // Still in the admin, marked.
    let (_, p) = page(app, &admin, "/admin/products").await;
    assert!(p.texts(".product-row").iter().any(|r| r.contains("Sold Stool") && r.contains("Archived")));
    let (_, p) = page(app, &admin, &format!("/admin/products/{sold}")).await;
    assert_eq!(p.text("[data-testid=product-state]"), "Archived");
    // Restored: back in the shop.
    let res = browser(app, &admin, "/api/admin/products/restore", &[("id", s(sold))]).await;
    assert_eq!(location(&res), format!("/admin/products/{sold}?done=restored"));
    assert_eq!(app.page(&format!("/products/{sold}")).await.0, StatusCode::OK);

    // Nothing refers to the other one: deleted.
    let res = browser(app, &admin, "/api/admin/products/delete", &[("id", s(unsold))]).await;
    assert_eq!(location(&res), "/admin/products?done=deleted");
    assert_eq!(count(app, &format!("SELECT COUNT(*) FROM products WHERE id = {unsold}")).await, 0);
    assert_eq!(page(app, &admin, &format!("/admin/products/{unsold}")).await.0, StatusCode::NOT_FOUND);

    // A product with a running sale can't go yet.
    let chair = product(app, "Chair", 5_000, 10).await;
    create_sale(app, &admin, &sale_fields(chair, 2, 1, &live_window())).await;
    let res = api(app, Some(&admin), "/api/admin/products/delete", &[("id", s(chair))]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("live or upcoming"));
    let actions: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log ORDER BY id")
        .fetch_all(app.store().pool())
        .await
        .unwrap();
    assert_eq!(actions, vec!["product.archive", "product.restore", "product.delete", "sale.create"]);
}

async fn sales_refuse_impossible_windows_overlaps_and_quantities_over_stock(app: &TestApp) {
    let (_, admin) = user(app, "boss", Role::Admin).await;
    let lamp = product(app, "Lamp", 10_000, 20).await;
    let now = Timestamp::now();
    let at = |mins: i64| datetime_value(now.plus_secs(mins * 60));
    let first = create_sale(app, &admin, &sale_fields(lamp, 5, 1, &(at(60), at(120)))).await;
    let admin_ref = admin.as_str();
    let refusal = |fields: Vec<(&'static str, String)>| async move {
        let res = api(app, Some(admin_ref), "/api/admin/sales/create", &fields).await;
        let status = res.status();
        (status, res.json::<serde_json::Value>().await.unwrap())
    };
    let message = |body: &serde_json::Value, field: &str| {
        body["Invalid"]
            .as_array()
            .and_then(|errors| errors.iter().find(|e| e["field"] == field))
            .map(|e| e["message"].as_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("no {field} error in {body}"))
    };
    let (status, body) = refusal(sale_fields(lamp, 5, 1, &(at(30), at(30)))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(message(&body, "ends_at"), "A sale must end after it starts.");
    let (_, body) = refusal(sale_fields(lamp, 5, 1, &(at(-120), at(-60)))).await;
    assert_eq!(message(&body, "ends_at"), "The end is in the past.");
    let (_, body) = refusal(sale_fields(lamp, 5, 1, &(at(90), at(150)))).await;
    assert!(message(&body, "starts_at").contains(&format!("#{first}")), "overlap names the other sale");
    // 20 in stock, 5 set aside by the first sale: 15 free.
    let (_, body) = refusal(sale_fields(lamp, 16, 1, &(at(120), at(180)))).await;
    assert!(message(&body, "quantity").starts_with("Only 15 units are free"));
    let (_, body) = refusal(sale_fields(lamp, 2, 3, &(at(120), at(180)))).await;
    assert!(message(&body, "per_buyer_limit").contains("more than the quantity"));
    let mut pricey = sale_fields(lamp, 2, 1, &(at(120), at(180)));
    pricey[2].1 = "100.00".into();
    let (_, body) = refusal(pricey).await;
    assert_eq!(message(&body, "sale_price"), "A sale price must be below the regular price ($100.00).");
    let mut nonsense = sale_fields(lamp, 2, 1, &(at(120), at(180)));
    nonsense[0].1 = "".into();
    nonsense[3].1 = "many".into();
    nonsense[5].1 = "tomorrow".into();
    let (_, body) = refusal(nonsense).await;
    for field in ["product_id", "quantity", "starts_at"] {
        message(&body, field);
    }
    assert_eq!(count(app, "SELECT COUNT(*) FROM flash_sales").await, 1, "only the first sale exists");
    // Back to back is fine, and uses exactly the free stock.
    create_sale(app, &admin, &sale_fields(lamp, 15, 1, &(at(120), at(180)))).await;

    // The no-JS form: 400 on the form's page, the messages next to the fields, values kept.
    let res =
        browser(app, &admin, "/api/admin/sales/create", &sale_fields(lamp, 99, 1, &(at(200), at(100)))).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let p = Page::parse(&res.text().await.unwrap());
    assert_eq!(p.text("h1"), "New flash sale");
    assert_eq!(p.text("#ends_at-error"), "A sale must end after it starts.");
    assert_eq!(p.attrs("input[name=quantity]", "value"), vec!["99"]);
    assert_eq!(p.attrs("select[name=product_id] option[selected]", "value"), vec![s(lamp)]);

    // An ended sale is history.
    let ended: i64 = sqlx::query_scalar(
        "INSERT INTO flash_sales (product_id, title, sale_price, quantity, sold, per_buyer_limit, starts_at, ends_at, created_at, updated_at) \
         VALUES ($1, 'Old', 100, 1, 0, 1, $2, $3, $2, $2) RETURNING id",
    )
    .bind(lamp)
    .bind(now.plus_secs(-7200).millis())
    .bind(now.plus_secs(-3600).millis())
    .fetch_one(app.store().pool())
    .await
    .unwrap();
    let mut edit = sale_fields(lamp, 1, 1, &(at(-120), at(60)));
    edit[0] = ("id", s(ended));
    let res = api(app, Some(&admin), "/api/admin/sales/update", &edit).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let (_, p) = page(app, &admin, &format!("/admin/sales/{ended}")).await;
    assert_eq!(p.count("form input[name=quantity]"), 0, "no form for an ended sale");
}

async fn raising_a_live_sales_quantity_lets_the_next_buyer_buy(app: &TestApp) {
    let (_, admin) = user(app, "boss", Role::Admin).await;
    let lamp = product(app, "Lamp", 10_000, 50).await;
    let window = live_window();
    let sale = create_sale(app, &admin, &sale_fields(lamp, 2, 1, &window)).await;
    let (ann, bob, cid) = (buyer(app, "ann").await, buyer(app, "bob").await, buyer(app, "cid").await);
    assert_eq!(buy_sale(app, &ann, sale, "raise-key-ann").await.status(), StatusCode::OK, "bought at once");
    assert_eq!(buy_sale(app, &bob, sale, "raise-key-bob").await.status(), StatusCode::OK);
    assert_eq!(buy_sale(app, &cid, sale, "raise-key-cid-1").await.status(), StatusCode::CONFLICT, "sold out");

    // The form sends the start back as shown (to the minute).
    let stored = admin_sale(app, &admin, sale).await;
    assert_eq!(stored["status"], "SoldOut");
    let start = datetime_value(Timestamp::from_millis(stored["window"]["starts_at"].as_i64().unwrap()));
    let edit = |quantity: i64| {
        let mut f = sale_fields(lamp, quantity, 1, &(start.clone(), window.1.clone()));
        f[0] = ("id", s(sale));
        f
    };
    // Lowering a live sale is refused and changes nothing, in the database or the gate.
    let res = api(app, Some(&admin), "/api/admin/sales/update", &edit(1)).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("its quantity can only be raised (it is 2)"));
    assert_eq!(buy_sale(app, &cid, sale, "raise-key-cid-2").await.status(), StatusCode::CONFLICT);
    // Raising it (no JS): the next buyer gets one immediately.
    let res = browser(app, &admin, "/api/admin/sales/update", &edit(3)).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(location(&res), format!("/admin/sales/{sale}?done=saved"));
    assert_eq!(buy_sale(app, &cid, sale, "raise-key-cid-3").await.status(), StatusCode::OK);
    let (_, shop) = app.page(&format!("/sales/{sale}")).await;
    assert_eq!(shop.text("[data-testid=remaining]"), "0");
    assert_eq!(shop.text("[data-testid=sale-status]"), "Sold out");
    let (_, p) = page(app, &admin, &format!("/admin/sales/{sale}")).await;
    assert_eq!(p.text("[data-testid=sold]"), "3");
    // The per-buyer limit still holds after the change: ann already has her one.
    let res = buy_sale(app, &ann, sale, "raise-key-ann-2").await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let detail: String = sqlx::query_scalar("SELECT detail FROM audit_log WHERE action = 'sale.update'")
        .fetch_one(app.store().pool())
        .await
        .unwrap();
    assert!(detail.starts_with("quantity 2 → 3"), "{detail}");
}

async fn a_new_sale_is_buyable_at_once_and_holds_back_product_stock(app: &TestApp) {
    let (_, admin) = user(app, "boss", Role::Admin).await;
    let lamp = product(app, "Lamp", 10_000, 5).await;
    let (ann, bob) = (buyer(app, "ann").await, buyer(app, "bob").await);
    // A regular order first: the gate now counts the product (4 left).
    order_id(buy_product(app, &ann, lamp, 1, "hold-key-1").await).await;
    // 4 free, the sale takes 3 of them.
    let sale = create_sale(app, &admin, &sale_fields(lamp, 3, 3, &live_window())).await;
    assert_eq!(buy_product(app, &bob, lamp, 2, "hold-key-2").await.status(), StatusCode::CONFLICT);
    assert_eq!(buy_product(app, &bob, lamp, 1, "hold-key-3").await.status(), StatusCode::OK);
    assert_eq!(buy_product(app, &bob, lamp, 1, "hold-key-4").await.status(), StatusCode::CONFLICT);
    // Sale buyers get the three set aside.
    for key in ["sale-key-1", "sale-key-2", "sale-key-3"] {
        let fields = [
            ("sale_id", s(sale)),
            ("quantity", "1".into()),
            ("address_id", s(ann.address)),
            ("payment_method_id", s(ann.card)),
            ("idempotency_key", key.to_string()),
        ];
        assert_eq!(api(app, Some(&ann.cookie), "/api/buy", &fields).await.status(), StatusCode::OK, "{key}");
    }
    assert_eq!(buy_sale(app, &bob, sale, "sale-key-4").await.status(), StatusCode::CONFLICT);
}

async fn a_stock_edit_reaches_the_gate(app: &TestApp) {
    let (_, admin) = user(app, "boss", Role::Admin).await;
    let mug = product(app, "Mug", 1_200, 1).await;
    let (ann, bob) = (buyer(app, "ann").await, buyer(app, "bob").await);
    order_id(buy_product(app, &ann, mug, 1, "stock-key-1").await).await;
    assert_eq!(buy_product(app, &bob, mug, 1, "stock-key-2").await.status(), StatusCode::CONFLICT);
    let edit = |stock: &str| {
        let mut f = product_fields("Mug", "12.00", stock);
        f.push(("id", s(mug)));
        f
    };
    // Below what the open order holds: refused, next to the field.
    let res = api(app, Some(&admin), "/api/admin/products/update", &edit("0")).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["Invalid"][0]["field"], "stock");
    assert!(body["Invalid"][0]["message"].as_str().unwrap().starts_with("1 units are promised"));
    // Restocked to 3: two more can be bought right away, not three.
    assert_eq!(
        api(app, Some(&admin), "/api/admin/products/update", &edit("3")).await.status(),
        StatusCode::OK
    );
    assert_eq!(buy_product(app, &bob, mug, 3, "stock-key-3").await.status(), StatusCode::CONFLICT);
    assert_eq!(buy_product(app, &bob, mug, 2, "stock-key-4").await.status(), StatusCode::OK);
    assert_eq!(buy_product(app, &bob, mug, 1, "stock-key-5").await.status(), StatusCode::CONFLICT);
}

/// A buyer's unit is taken in the gate but their order is not written yet when an admin saves
/// (the hardening issue's race e): the save must add the admin's change to the gate, not
/// overwrite the gate with a count from the database that does not show that unit.
async fn admin_edits_keep_a_reservation_in_flight(app: &TestApp) {
    use shop_domain::gate::{GateItem, ReserveRequest};
    let (_, admin) = user(app, "boss", Role::Admin).await;
    let lamp = product(app, "Lamp", 10_000, 50).await;
    let sale = create_sale(app, &admin, &sale_fields(lamp, 5, 1, &live_window())).await;
    let ann = buyer(app, "ann").await;
    order_id(buy_sale(app, &ann, sale, "flight-key-1").await).await;
    let in_flight = |item, key: &str| ReserveRequest {
        item,
        buyer: 4242,
        quantity: 1,
        idempotency_key: key.into(),
        now: Timestamp::now(),
    };
    app.gate().reserve(&in_flight(GateItem::Sale(sale), "flight-sale")).await.unwrap();
    assert_eq!(app.gate().available(GateItem::Sale(sale)).await.unwrap(), Some(3));
    let stored = admin_sale(app, &admin, sale).await;
    let start = datetime_value(Timestamp::from_millis(stored["window"]["starts_at"].as_i64().unwrap()));
    let mut edit = sale_fields(lamp, 7, 1, &(start, live_window().1));
    edit[0] = ("id", s(sale));
    assert_eq!(api(app, Some(&admin), "/api/admin/sales/update", &edit).await.status(), StatusCode::OK);
    assert_eq!(
        app.gate().available(GateItem::Sale(sale)).await.unwrap(),
        Some(5),
        "3 left + 2 more; the unit in flight stays taken"
    );

    // The same for a product's stock.
    let mug = product(app, "Mug", 1_200, 10).await;
    order_id(buy_product(app, &ann, mug, 1, "flight-key-2").await).await;
    app.gate().reserve(&in_flight(GateItem::Product(mug), "flight-product")).await.unwrap();
    assert_eq!(app.gate().available(GateItem::Product(mug)).await.unwrap(), Some(8));
    let mut f = product_fields("Mug", "12.00", "15");
    f.push(("id", s(mug)));
    assert_eq!(api(app, Some(&admin), "/api/admin/products/update", &f).await.status(), StatusCode::OK);
    assert_eq!(app.gate().available(GateItem::Product(mug)).await.unwrap(), Some(13), "8 + 5");
}

async fn staff_cancel_refunds_a_paid_order_and_returns_the_stock(app: &TestApp) {
    let (_, admin) = user(app, "boss", Role::Admin).await;
    let lamp = product(app, "Lamp", 10_000, 50).await;
    let sale = create_sale(app, &admin, &sale_fields(lamp, 1, 1, &live_window())).await;
    let (ann, bob) = (buyer(app, "ann").await, buyer(app, "bob").await);
    let order = order_id(buy_sale(app, &ann, sale, "cancel-key-1").await).await;
    assert_eq!(buy_sale(app, &bob, sale, "cancel-key-2").await.status(), StatusCode::CONFLICT);
    // The payment worker has taken the money.
    sqlx::query("UPDATE orders SET status = 'PAID' WHERE id = $1")
        .bind(order)
        .execute(app.store().pool())
        .await
        .unwrap();
    let (_, p) = page(app, &admin, &format!("/admin/orders/{order}")).await;
    assert_eq!(p.texts("form[action='/api/admin/orders/cancel'] button"), vec!["Cancel and refund"]);

    let res = browser(app, &admin, "/api/admin/orders/cancel", &[("id", s(order))]).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(location(&res), format!("/admin/orders/{order}?done=cancelled"));
    assert_eq!(
        count(app, &format!("SELECT COUNT(*) FROM orders WHERE id = {order} AND status = 'CANCELLED'")).await,
        1
    );
    let payload: String =
        sqlx::query_scalar("SELECT payload FROM outbox WHERE event_type = 'order.cancelled'")
            .fetch_one(app.store().pool())
            .await
            .unwrap();
    let event: serde_json::Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(event["data"]["refund"], true, "the saga workers refund it");
    assert_eq!(event["data"]["was"], "PAID");
    let (actor, target): (String, String) = {
        let row: (String, String) = sqlx::query_as(
            "SELECT u.email, a.target FROM audit_log a JOIN users u ON u.id = a.actor_id WHERE a.action = 'order.cancel'",
        )
        .fetch_one(app.store().pool())
        .await
        .unwrap();
        row
    };
    assert_eq!((actor.as_str(), target.as_str()), ("boss@example.com", format!("order:{order}").as_str()));
    // The unit is back on sale, once.
    assert_eq!(buy_sale(app, &bob, sale, "cancel-key-3").await.status(), StatusCode::OK);
    let (_, p) = page(app, &admin, &format!("/admin/orders/{order}")).await;
    assert_eq!(p.text("[data-testid=order-status]"), "Cancelled");
    assert_eq!(p.count("form[action='/api/admin/orders/cancel']"), 0);
    assert!(p.texts("[data-testid=timeline] li strong").contains(&"CANCELLED".to_string()));
    // The buyer reads who cancelled it.
    let (_, mine) = page(app, &ann.cookie, &format!("/orders/{order}")).await;
    assert!(
        mine.texts("[data-testid=timeline-entry]")
            .iter()
            .any(|t| t.contains("Cancelled by the shop; the payment will be refunded.")),
        "buyer's timeline: {:?}",
        mine.texts("[data-testid=timeline-entry]")
    );
    assert!(!mine.raw.contains("Cancelled by you"));
    // Too late now.
    let res = api(app, Some(&admin), "/api/admin/orders/cancel", &[("id", s(order))]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(app.store().outbox_count("order.cancelled").await.unwrap(), 1);
}

/// An order stuck on a step (no worker runs in these tests): staff send its command again,
/// once per click, audited and on the timeline; nothing to retry once the order is final.
async fn staff_retry_sends_the_waiting_step_again(app: &TestApp) {
    let (_, admin) = user(app, "boss", Role::Admin).await;
    let lamp = product(app, "Lamp", 10_000, 50).await;
    let b = buyer(app, "bea").await;
    let order = order_id(buy_product(app, &b, lamp, 1, "retry-key-1").await).await;
    let (_, p) = page(app, &admin, &format!("/admin/orders/{order}")).await;
    assert_eq!(p.texts("form[action='/api/admin/orders/retry'] button"), vec!["Retry current step"]);
    let requests =
        format!("SELECT COUNT(*) FROM outbox WHERE event_type = 'payment.requested' AND msg_key = '{order}'");
    assert_eq!(count(app, &requests).await, 0, "no worker has asked for the payment yet");

    let res = browser(app, &admin, "/api/admin/orders/retry", &[("id", s(order))]).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(location(&res), format!("/admin/orders/{order}?done=retried"));
    assert_eq!(count(app, &requests).await, 1, "the payment is asked for");
    let (step, redrives): (String, i64) =
        sqlx::query_as("SELECT saga_step, redrives FROM orders WHERE id = $1")
            .bind(order)
            .fetch_one(app.store().pool())
            .await
            .unwrap();
    assert_eq!((step.as_str(), redrives), ("AWAIT_PAYMENT", 1));
    let (_, p) = page(app, &admin, &location(&res)).await;
    assert_eq!(p.text(".notice"), "The current step was sent again.");
    assert!(p.raw.contains("Retried by staff (payment.requested)."), "on the timeline");
    assert_eq!(
        count(
            app,
            &format!(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'order.retry' AND target = 'order:{order}'"
            )
        )
        .await,
        1
    );
    // A second click is a second, distinct command (workers answer it without charging twice).
    assert_eq!(
        api(app, Some(&admin), "/api/admin/orders/retry", &[("id", s(order))]).await.status(),
        StatusCode::OK
    );
    assert_eq!(count(app, &requests).await, 2);
    let ids: Vec<String> = sqlx::query_scalar(&format!(
        "SELECT event_id FROM outbox WHERE event_type = 'payment.requested' AND msg_key = '{order}' ORDER BY id"
    ))
    .fetch_all(app.store().pool())
    .await
    .unwrap();
    assert_ne!(ids[0], ids[1], "each retry has its own event id");

    // Final orders have nothing to retry; unknown ones are not found.
    sqlx::query("UPDATE orders SET status = 'DELIVERED', saga_step = 'DONE' WHERE id = $1")
        .bind(order)
        .execute(app.store().pool())
        .await
        .unwrap();
    let res = api(app, Some(&admin), "/api/admin/orders/retry", &[("id", s(order))]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("Nothing to retry"));
    assert_eq!(count(app, &requests).await, 2, "nothing sent");
    let res = api(app, Some(&admin), "/api/admin/orders/retry", &[("id", "999".into())]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let (_, p) = page(app, &admin, &format!("/admin/orders/{order}")).await;
    assert_eq!(p.count("form[action='/api/admin/orders/retry']"), 0, "no retry button on a final order");
}

async fn dead_letters_replay_once_through_the_outbox(app: &TestApp) {
    let (_, admin) = user(app, "boss", Role::Admin).await;
    let lamp = product(app, "Lamp", 10_000, 50).await;
    let b = buyer(app, "bea").await;
    let order = order_id(buy_product(app, &b, lamp, 1, "dead-key-1").await).await;
    let now = Timestamp::now().millis();
    let letter: i64 = sqlx::query_scalar(
        "INSERT INTO dead_letters (topic, msg_key, payload, error, failed_at) \
         SELECT topic, msg_key, payload, 'payment provider timed out after 5 attempts', $1 FROM outbox \
         WHERE event_type = 'order.placed' RETURNING id",
    )
    .bind(now)
    .fetch_one(app.store().pool())
    .await
    .unwrap();
    let junk: i64 = sqlx::query_scalar(
        "INSERT INTO dead_letters (topic, msg_key, payload, error, failed_at) VALUES ('orders', 'x', 'not json', 'bad', $1) RETURNING id",
    )
    .bind(now - 1)
    .fetch_one(app.store().pool())
    .await
    .unwrap();

    let (_, p) = page(app, &admin, "/admin/dead-letters").await;
    assert_eq!(p.count("[data-testid=dead-letter]"), 2);
    assert_eq!(p.texts("[data-testid=dead-letter-error]")[0], "payment provider timed out after 5 attempts");
    let (_, p) = page(app, &admin, "/admin").await;
    assert_eq!(p.text("[data-testid=dead-letters-waiting]"), "2");

    let res = browser(app, &admin, "/api/admin/dead-letters/replay", &[("id", s(letter))]).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert!(location(&res).starts_with("/admin/dead-letters?done=replayed"));
    let original = format!("order.placed:{order}");
    let row: (String, String, String, String) =
        sqlx::query_as("SELECT topic, msg_key, event_type, payload FROM outbox WHERE event_id = $1")
            .bind(format!("{original}#replay{letter}"))
            .fetch_one(app.store().pool())
            .await
            .unwrap();
    let first: String = sqlx::query_scalar("SELECT payload FROM outbox WHERE event_id = $1")
        .bind(&original)
        .fetch_one(app.store().pool())
        .await
        .unwrap();
    assert_eq!(
        row,
        ("orders".to_string(), s(order), "order.placed".to_string(), first),
        "the same envelope again"
    );
    let (_, p) = page(app, &admin, "/admin/dead-letters?done=replayed").await;
    assert_eq!(p.text(".notice"), "Replayed: the event is queued in the outbox again.");
    assert_eq!(p.count("[data-testid=replayed]"), 1);
    // Twice: refused, nothing queued again.
    let res = api(app, Some(&admin), "/api/admin/dead-letters/replay", &[("id", s(letter))]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("already replayed"));
    let res = browser(app, &admin, "/api/admin/dead-letters/replay", &[("id", s(letter))]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(Page::parse(&res.text().await.unwrap()).text(".form-error").contains("already replayed"));
    // Not an event: refused, left as it is.
    let res = api(app, Some(&admin), "/api/admin/dead-letters/replay", &[("id", s(junk))]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(count(app, "SELECT COUNT(*) FROM outbox").await, 2);
    assert_eq!(count(app, "SELECT COUNT(*) FROM dead_letters WHERE replayed_at IS NULL").await, 1);
    assert_eq!(count(app, "SELECT COUNT(*) FROM audit_log WHERE action = 'dead_letter.replay'").await, 1);
    // The order page lists it too.
    let (_, p) = page(app, &admin, &format!("/admin/orders/{order}")).await;
    assert_eq!(p.count("[data-testid=dead-letter]"), 1);
}

async fn orders_are_filtered_and_show_their_saga(app: &TestApp) {
    let (_, admin) = user(app, "boss", Role::Admin).await;
    let lamp = product(app, "Lamp", 10_000, 50).await;
    let (ann, bob) = (buyer(app, "ann").await, buyer(app, "bob").await);
    let a1 = order_id(buy_product(app, &ann, lamp, 1, "filter-key-1").await).await;
    let a2 = order_id(buy_product(app, &ann, lamp, 2, "filter-key-2").await).await;
    let b1 = order_id(buy_product(app, &bob, lamp, 1, "filter-key-3").await).await;
    sqlx::query("UPDATE orders SET status = 'PAID' WHERE id = $1")
        .bind(a2)
        .execute(app.store().pool())
        .await
        .unwrap();
    let ids = |p: &Page| p.texts(".order-row td:first-child");
    let (_, p) = page(app, &admin, "/admin/orders").await;
    assert_eq!(ids(&p), vec![format!("#{b1}"), format!("#{a2}"), format!("#{a1}")], "newest first");
    let (_, p) = page(app, &admin, "/admin/orders?buyer=ANN").await;
    assert_eq!(ids(&p), vec![format!("#{a2}"), format!("#{a1}")]);
    let (_, p) = page(app, &admin, "/admin/orders?status=PAID").await;
    assert_eq!(ids(&p), vec![format!("#{a2}")]);
    assert_eq!(
        p.attrs("#f-status option[selected]", "value"),
        vec!["PAID"],
        "the filter shows what was asked"
    );
    let today = shop_domain::admin::input::date_value(Timestamp::now());
    let tomorrow = shop_domain::admin::input::date_value(Timestamp::now().plus_secs(86_400));
    let (_, p) = page(app, &admin, &format!("/admin/orders?from={today}&to={today}")).await;
    assert_eq!(ids(&p).len(), 3);
    let (_, p) = page(app, &admin, &format!("/admin/orders?from={tomorrow}")).await;
    assert_eq!(p.text(".empty"), "No orders match.");
    let list: serde_json::Value = client()
        .get(app.url("/api/admin/orders?status=pending&buyer=bob"))
        .header("cookie", &admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["page"]["items"][0]["id"], b1);
    assert_eq!(list["page"]["total_items"], 1);

    // One order: buyer, lines, the timeline with each event's payload, its outbox events.
    let (_, p) = page(app, &admin, &format!("/admin/orders/{a1}")).await;
    assert!(p.raw.contains("ann@example.com"));
    assert_eq!(p.texts("[data-testid=timeline] li strong"), vec!["PENDING"]);
    assert!(p
        .text("[data-testid=timeline] .payload")
        .contains(&format!("\"event_id\":\"order.placed:{a1}\"")));
    assert!(p.text("[data-testid=outbox]").contains(&format!("order.placed:{a1}")));
    assert_eq!(p.text("[data-testid=payment-status]"), "PENDING");
    assert_eq!(p.text("[data-testid=delivery-status]"), "PENDING");
}

async fn image_uploads_are_checked_stored_and_thumbnailed(app: &TestApp) {
    let (_, admin) = user(app, "boss", Role::Admin).await;
    let lamp = product(app, "Lamp", 10_000, 50).await;
    let picture = png(1200, 900);
    let res = upload(app, &admin, lamp, "lamp.png", &picture).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(location(&res), format!("/admin/products/{lamp}?done=image"));
    let (url, thumb): (String, Option<String>) =
        sqlx::query_as("SELECT url, thumb_url FROM product_images WHERE product_id = $1")
            .bind(lamp)
            .fetch_one(app.store().pool())
            .await
            .unwrap();
    let thumb = thumb.expect("a thumbnail");
    assert!(url.starts_with("/media/uploads/") && url.ends_with(".png") && !url.contains("lamp"), "{url}");
    // Served back byte for byte, and the thumbnail fits in 400×400.
    let res = client().get(app.url(&url)).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(res.bytes().await.unwrap().to_vec(), picture);
    let res = client().get(app.url(&thumb)).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "image/jpeg");
    let small = image::load_from_memory(&res.bytes().await.unwrap()).unwrap();
    assert_eq!((small.width(), small.height()), (400, 300));
    // The shop's cards show the thumbnail, the product page the original.
    let (_, list) = app.page("/products").await;
    assert_eq!(list.attrs(".product-card img", "src"), vec![thumb.clone()]);
    let (_, shop) = app.page(&format!("/products/{lamp}")).await;
    assert!(shop.attrs("img", "src").contains(&url));
    assert_eq!(uploaded_files(app).len(), 2);

    // Not an image (whatever its name says): refused next to the field, nothing stored.
    let res = upload(app, &admin, lamp, "evil.png", b"<svg onload=alert(1)>").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let p = Page::parse(&res.text().await.unwrap());
    assert_eq!(p.text("#image-error"), "That file is not a PNG, JPEG, WebP or GIF image.");
    assert_eq!(p.text("h1"), "Lamp", "shown on the product's page");
    // A PNG header on garbage: refused.
    let res = upload(app, &admin, lamp, "broken.png", b"\x89PNG\r\n\x1a\nnot really").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // Too large: refused with the limit in words.
    let mut huge = picture.clone();
    huge.resize(5 * 1024 * 1024 + 1, 0);
    let started = std::time::Instant::now();
    let res = upload(app, &admin, lamp, "huge.png", &huge).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        Page::parse(&res.text().await.unwrap()).text("#image-error"),
        "The image is larger than 5 MiB."
    );
    eprintln!("a 5 MiB + 1 byte upload was refused in {:?}", started.elapsed());
    // Nothing chosen.
    let res = upload(app, &admin, lamp, "", b"").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        Page::parse(&res.text().await.unwrap()).text("#image-error"),
        "Choose an image file to upload."
    );
    assert_eq!(uploaded_files(app).len(), 2, "refused uploads leave no files");
    assert_eq!(count(app, "SELECT COUNT(*) FROM product_images").await, 1);
    // The JSON API: the form must be multipart.
    let res = api(app, Some(&admin), "/api/admin/products/image", &[("product_id", s(lamp))]).await;
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Unknown names are never served.
    assert_eq!(get(app, None, "/media/uploads/secret.key").await.0, StatusCode::NOT_FOUND);
    let audit: String = sqlx::query_scalar("SELECT detail FROM audit_log WHERE action = 'product.image'")
        .fetch_one(app.store().pool())
        .await
        .unwrap();
    assert_eq!(audit, url);
}

async fn the_dashboard_counts_sales_orders_and_revenue(app: &TestApp) {
    let (_, admin) = user(app, "boss", Role::Admin).await;
    let lamp = product(app, "Lamp", 10_000, 50).await;
    let sale = create_sale(app, &admin, &sale_fields(lamp, 10, 2, &live_window())).await;
    let (ann, bob) = (buyer(app, "ann").await, buyer(app, "bob").await);
    let paid = order_id(buy_sale(app, &ann, sale, "dash-key-1").await).await;
    order_id(buy_sale(app, &bob, sale, "dash-key-2").await).await;
    order_id(buy_product(app, &bob, lamp, 1, "dash-key-3").await).await;
    sqlx::query("UPDATE orders SET status = 'PAID' WHERE id = $1")
        .bind(paid)
        .execute(app.store().pool())
        .await
        .unwrap();
    let (_, p) = page(app, &admin, "/admin").await;
    assert_eq!(p.text("[data-testid=live-count]"), "1");
    assert_eq!(p.text("[data-testid=live-sales] [data-testid=sold]"), "2 / 10", "sold as the gate counts it");
    assert_eq!(p.text("[data-testid=live-sales] [data-testid=remaining]"), "8");
    assert_eq!(p.text("[data-testid=count-PENDING]"), "2");
    assert_eq!(p.text("[data-testid=count-PAID]"), "1");
    assert_eq!(p.text("[data-testid=count-DELIVERED]"), "0");
    assert_eq!(p.text("[data-testid=revenue-today]"), "$25.00");
}
