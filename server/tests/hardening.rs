//! The attacker's findings of the hardening issue, each as a shopper or admin would see it:
//! script in titles and textareas, open redirects, sessions that outlive a password change,
//! unlimited buying, the login budget, client mistakes answered 500, cache and CSP headers,
//! a shared database without the shared gate, and cancelling a parcel that is leaving.

mod common;

use common::shopping::{buy, count, sale, shopper, spawn_with, Buy};
use common::{Db, Page, TestApp};
use reqwest::StatusCode;
use shop_domain::{Role, Timestamp};
use shop_store::{NewProduct, NewUser};
use std::net::{IpAddr, Ipv4Addr};

const PW: &str = common::PASSWORD;
const XSS: &str = "</title></textarea><img src=x onerror=alert(1)>";

macro_rules! in_both_modes {
    ($extra:expr => $($name:ident),* $(,)?) => {
        $(
            mod $name {
                async fn run(db: super::Db) {
                    use futures::FutureExt;
                    let app = super::spawn_with(db, $extra).await;
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

in_both_modes!(&[] =>
    a_double_click_with_a_typed_in_card_saves_it_once,
    a_cart_double_submit_never_gives_back_what_the_order_holds,
    a_password_change_signs_out_every_other_session,
    client_mistakes_are_4xx_and_change_nothing,
    cancel_is_refused_once_the_parcel_may_be_handed_over,
);
in_both_modes!(&[("SHOP_ORDER_ATTEMPTS_PER_MINUTE", "3"), ("SHOP_CART_WRITES_PER_MINUTE", "4")] =>
    orders_and_cart_writes_have_a_budget_per_account,
);
in_both_modes!(&[("SHOP_WRITES_PER_MINUTE_PER_IP", "3")] =>
    orders_and_cart_writes_have_a_budget_per_ip,
);
in_both_modes!(&[("SHOP_AUTH_ATTEMPTS_PER_MINUTE", "3")] =>
    the_login_budget_is_per_account_whichever_name_is_typed,
    signups_and_password_changes_have_budgets,
);
in_both_modes!(&[] =>
    titles_and_textareas_escape_what_was_typed,
    after_login_next_stays_on_this_site,
    personal_pages_and_answers_are_not_stored,
);

// ---------------------------------------------------------------------------------------------
// Helpers

fn location(res: &reqwest::Response) -> String {
    res.headers().get("location").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

/// A browser (own cookie jar) whose connections come from `ip` (any 127.x address).
fn browser_from(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .local_address(IpAddr::V4(Ipv4Addr::from(ip)))
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .unwrap()
}

async fn form(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    client
        .post(app.url(path))
        .header("accept", "text/html")
        .header("origin", &app.base)
        .form(fields)
        .send()
        .await
        .unwrap()
}

async fn me(app: &TestApp, client: &reqwest::Client) -> serde_json::Value {
    client.get(app.url("/api/me")).send().await.unwrap().json().await.unwrap()
}

async fn admin_cookie(app: &TestApp) -> String {
    let id = app
        .store()
        .create_user(
            &NewUser {
                email: "boss@example.com".into(),
                username: "boss".into(),
                password_hash: "unused".into(),
                name: "Boss".into(),
                phone: None,
                role: Role::Admin,
                email_verified: true,
            },
            Timestamp::now(),
        )
        .await
        .unwrap();
    common::shopping::session_cookie(app.store(), id).await
}

async fn product(app: &TestApp, name: &str, description: &str) -> i64 {
    app.store()
        .create_product(&NewProduct {
            name: name.into(),
            description: description.into(),
            price_minor: 2_500,
            stock: 100,
            sold_count: 0,
            tags: vec![],
            images: vec![],
            created_at: Timestamp::now(),
        })
        .await
        .unwrap()
}

async fn get_with(app: &TestApp, path: &str, cookie: &str) -> (StatusCode, String) {
    let res = app.another_browser().get(app.url(path)).header("cookie", cookie).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

/// No element was injected: the page has no `<img onerror>` and the raw payload never appears.
fn assert_inert(body: &str, what: &str) {
    let page = Page::parse(body);
    assert_eq!(page.count("img[onerror]"), 0, "{what}: an <img onerror> was injected");
    assert!(!body.contains("<img src=x onerror"), "{what}: the payload is in the HTML unescaped");
}

// ---------------------------------------------------------------------------------------------
// Script in titles and textareas (findings 1, 2)

async fn titles_and_textareas_escape_what_was_typed(app: &TestApp) {
    // Reflected: a search link.
    let q: String = form_urlencoded::byte_serialize(XSS.as_bytes()).collect();
    let (status, body) = app.get(&format!("/products?q={q}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_inert(&body, "search page");
    assert!(Page::parse(&body).text("title").contains("</title>"), "the title shows what was searched");

    // Stored: a product name, a description and a sale title written by an admin.
    let p = product(app, XSS, XSS).await;
    let (_, body) = app.get(&format!("/products/{p}")).await;
    assert_inert(&body, "product page");
    let s = sale(app, 5, 1, -60, 3600).await;
    sqlx::query("UPDATE flash_sales SET title = $1 WHERE id = $2")
        .bind(XSS)
        .bind(s)
        .execute(app.store().pool())
        .await
        .unwrap();
    let (_, body) = app.get(&format!("/sales/{s}")).await;
    assert_inert(&body, "sale page");

    let admin = admin_cookie(app).await;
    let (status, body) = get_with(app, &format!("/admin/products/{p}"), &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_inert(&body, "admin product form");
    assert_eq!(
        Page::parse(&body).text("textarea[name=description]"),
        XSS,
        "the admin edits the text as stored"
    );
    let (_, body) = get_with(app, &format!("/admin/sales/{s}"), &admin).await;
    assert_inert(&body, "admin sale form");

    // The no-JS echo of a refused form.
    let res = app
        .another_browser()
        .post(app.url("/api/admin/products/update"))
        .header("accept", "text/html")
        .header("origin", &app.base)
        .header("cookie", &admin)
        .form(&[
            ("id", p.to_string().as_str()),
            ("name", "Lamp"),
            ("description", XSS),
            ("price", "not a price"),
            ("stock", "5"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body = res.text().await.unwrap();
    assert_inert(&body, "refused form echo");
    assert_eq!(Page::parse(&body).text("textarea[name=description]"), XSS, "what was typed is kept");
    // The hidden `next` of the login and signup pages carries a link's parameter as text.
    let next: String = form_urlencoded::byte_serialize(format!("/orders\"'>{XSS}").as_bytes()).collect();
    for path in ["/login", "/signup"] {
        let (status, body) = app.get(&format!("{path}?next={next}")).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_inert(&body, path);
        assert_eq!(Page::parse(&body).attrs("input[name=next]", "value"), vec![format!("/orders\"'>{XSS}")]);
    }
    // A refused signup echoes what was typed into its inputs, escaped.
    let res = app
        .another_browser()
        .post(app.url("/api/signup"))
        .header("accept", "text/html")
        .header("origin", &app.base)
        .form(&[("email", "not an email"), ("username", "x_1"), ("password", PW), ("name", XSS)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body = res.text().await.unwrap();
    assert_inert(&body, "refused signup echo");
    assert_eq!(Page::parse(&body).attrs("input[name=name]", "value"), vec![XSS.to_string()]);
}

// ---------------------------------------------------------------------------------------------
// Open redirect (finding 3)

async fn after_login_next_stays_on_this_site(app: &TestApp) {
    let b = app.another_browser();
    let res = form(
        app,
        &b,
        "/api/signup",
        &[
            ("email", "nx@example.com"),
            ("username", "nx_1"),
            ("password", PW),
            ("name", "N X"),
            ("next", "/\t/evil.example/x"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(location(&res), "/account", "a tab-smuggled host is not a place to go");
    for (next, expected) in
        [("/\\evil.example", "/"), ("//evil.example", "/"), ("/orders?x=1", "/orders?x=1")]
    {
        let res = form(app, &b, "/api/login", &[("login", "nx_1"), ("password", PW), ("next", next)]).await;
        assert_eq!(location(&res), expected, "next={next:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Sessions (findings 4, 10)

async fn a_password_change_signs_out_every_other_session(app: &TestApp) {
    let (laptop, phone) = (app.another_browser(), app.another_browser());
    let cookie = common::signed_up(app, &laptop, "pw_1").await;
    let res = form(app, &phone, "/api/login", &[("login", "pw_1@example.com"), ("password", PW)]).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(me(app, &phone).await["username"], "pw_1");

    // Only a hash of the cookie is stored.
    let id = cookie.trim_start_matches("flashmart_session=");
    let rows = count(app, &format!("SELECT COUNT(*) FROM sessions WHERE id = '{id}'")).await;
    assert_eq!(rows, 0, "the session id is stored in clear");
    assert_eq!(count(app, "SELECT COUNT(*) FROM sessions WHERE user_id IS NOT NULL").await, 2);

    let res = form(
        app,
        &laptop,
        "/api/account/password",
        &[("current_password", PW), ("new_password", "a much newer passphrase")],
    )
    .await;
    assert_eq!(location(&res), "/account?done=password");
    assert_eq!(me(app, &phone).await, serde_json::Value::Null, "the other browser is signed out");
    assert_eq!(me(app, &laptop).await["username"], "pw_1", "the one that changed it stays in");

    // "Log out everywhere" ends every session, this one too.
    let res =
        form(app, &phone, "/api/login", &[("login", "pw_1"), ("password", "a much newer passphrase")]).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let (_, body) = {
        let res = laptop.get(app.url("/account")).send().await.unwrap();
        (res.status(), res.text().await.unwrap())
    };
    assert_eq!(Page::parse(&body).count("form[action='/api/account/logout-everywhere']"), 1);
    let res = form(app, &laptop, "/api/account/logout-everywhere", &[]).await;
    assert_eq!(location(&res), "/login?done=signed-out");
    assert_eq!(me(app, &laptop).await, serde_json::Value::Null);
    assert_eq!(me(app, &phone).await, serde_json::Value::Null);
}

// ---------------------------------------------------------------------------------------------
// Budgets (findings 6, 7)

async fn buy_product(
    app: &TestApp,
    cookie: &str,
    p: i64,
    address: i64,
    card: i64,
    key: &str,
) -> reqwest::Response {
    app.another_browser()
        .post(app.url("/api/buy/product"))
        .header("origin", &app.base)
        .header("cookie", cookie)
        .form(&[
            ("product_id", p.to_string()),
            ("quantity", "1".into()),
            ("address_id", address.to_string()),
            ("payment_method_id", card.to_string()),
            ("idempotency_key", key.to_string()),
        ])
        .send()
        .await
        .unwrap()
}

async fn cart_add(app: &TestApp, cookie: &str, p: i64) -> reqwest::Response {
    app.another_browser()
        .post(app.url("/api/cart/add"))
        .header("origin", &app.base)
        .header("cookie", cookie)
        .form(&[("product_id", p.to_string())])
        .send()
        .await
        .unwrap()
}

async fn orders_and_cart_writes_have_a_budget_per_account(app: &TestApp) {
    let p = product(app, "Kettle", "").await;
    let (_, cookie, address, card) = shopper(app, 1).await;
    let mut statuses = Vec::new();
    for n in 0..5 {
        statuses.push(buy_product(app, &cookie, p, address, card, &format!("budget-key-{n}")).await);
    }
    let codes: Vec<u16> = statuses.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(codes, [200, 200, 200, 429, 429], "three orders a minute for this account");
    let wait: u64 = statuses[3].headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    assert_eq!(count(app, "SELECT COUNT(*) FROM orders").await, 3);
    // Another shopper is not held up.
    let (_, other, a2, c2) = shopper(app, 2).await;
    assert_eq!(buy_product(app, &other, p, a2, c2, "other-key-1").await.status(), StatusCode::OK);

    let mut codes = Vec::new();
    for _ in 0..5 {
        codes.push(cart_add(app, &cookie, p).await.status().as_u16());
    }
    assert_eq!(codes, [200, 200, 200, 200, 429], "four cart writes a minute");
    let line: i64 = count(app, "SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM cart_items").await;
    assert_eq!(line, 4, "the refused write changed nothing");
}

async fn orders_and_cart_writes_have_a_budget_per_ip(app: &TestApp) {
    let p = product(app, "Kettle", "").await;
    let s = sale(app, 10, 1, -60, 3600).await;
    let mut codes = Vec::new();
    for n in 0..4 {
        let (_, cookie, address, card) = shopper(app, n).await;
        let b = Buy { sale: s, cookie: &cookie, address, card, key: &format!("ip-key-{n}"), quantity: 1 };
        codes.push(buy(app, &app.client, &b).await.status().as_u16());
    }
    assert_eq!(codes, [200, 200, 200, 429], "three writes a minute from one address, whoever signs in");
    let (_, cookie, _, _) = shopper(app, 9).await;
    assert_eq!(
        cart_add(app, &cookie, p).await.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "cart writes share it"
    );
    assert_eq!(count(app, "SELECT COUNT(*) FROM orders").await, 3);
}

/// With 3 attempts a minute: one address cannot sign up a fourth time, one email cannot be
/// tried a fourth time from elsewhere, and a fourth password change of one account waits even
/// with the right password (and changes nothing).
async fn signups_and_password_changes_have_budgets(app: &TestApp) {
    let signup = |ip: u8, email: &str, password: &str| {
        let (email, password, username) =
            (email.to_string(), password.to_string(), format!("u_{ip}_{}", email.len()));
        async move {
            let fields = [
                ("email", email.as_str()),
                ("username", username.as_str()),
                ("password", password.as_str()),
                ("name", "B U"),
            ];
            form(app, &browser_from([127, 0, 0, ip]), "/api/signup", &fields).await.status().as_u16()
        }
    };
    // One address: three refused signups (too-short passwords), then even a good one waits.
    let mut codes = Vec::new();
    for (n, email) in ["a@example.com", "bb@example.com", "ccc@example.com"].into_iter().enumerate() {
        codes.push(signup(30, email, &"x".repeat(n + 1)).await);
    }
    codes.push(signup(30, "dddd@example.com", PW).await);
    assert_eq!(codes, [400, 400, 400, 429], "per address");
    // One email from four addresses: the fourth waits.
    let mut codes = Vec::new();
    for ip in 31..=33 {
        codes.push(signup(ip, "same@example.com", "short").await);
    }
    codes.push(signup(34, "same@example.com", PW).await);
    assert_eq!(codes, [400, 400, 400, 429], "per email");
    assert_eq!(count(app, "SELECT COUNT(*) FROM users").await, 0, "no account was made");

    // Password changes: three wrong current passwords, then the right one waits too.
    let pat = browser_from([127, 0, 0, 40]);
    common::signed_up(app, &pat, "pat_1").await;
    let new_password = "a brand new passphrase";
    let mut codes = Vec::new();
    for current in ["wrong one 1", "wrong one 2", "wrong one 3", PW] {
        let fields = [("current_password", current), ("new_password", new_password)];
        codes.push(form(app, &pat, "/api/account/password", &fields).await.status().as_u16());
    }
    assert_eq!(codes, [400, 400, 400, 429], "per account");
    // The password did not change: the old one still signs in (from an address of its own).
    let res =
        form(app, &browser_from([127, 0, 0, 41]), "/api/login", &[("login", "pat_1"), ("password", PW)])
            .await;
    assert_eq!(res.status(), StatusCode::FOUND, "the old password still works");
}

async fn the_login_budget_is_per_account_whichever_name_is_typed(app: &TestApp) {
    // Each attempt from its own address, so only the account's budget (3) can refuse.
    let res = form(
        app,
        &browser_from([127, 0, 0, 9]),
        "/api/signup",
        &[("email", "lim@example.com"), ("username", "lim_1"), ("password", PW), ("name", "L M")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let tries = [("lim@example.com", 10), ("LIM@example.com", 11), ("lim_1", 12), ("lim_1", 13)];
    let mut codes = Vec::new();
    for (login, ip) in tries {
        let res = form(
            app,
            &browser_from([127, 0, 0, ip]),
            "/api/login",
            &[("login", login), ("password", "wrong")],
        )
        .await;
        codes.push(res.status().as_u16());
    }
    assert_eq!(codes, [401, 401, 401, 429], "email and username share the account's budget");
    // Someone else's account is not affected.
    let res =
        form(app, &browser_from([127, 0, 0, 14]), "/api/login", &[("login", "nobody"), ("password", "x")])
            .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

// ---------------------------------------------------------------------------------------------
// Client mistakes (finding 8)

async fn client_mistakes_are_4xx_and_change_nothing(app: &TestApp) {
    let p = product(app, "Teapot", "").await;
    let (user, cookie, _, _) = shopper(app, 1).await;
    for path in ["/products?q=%00", "/products?q=%FF", "/api/products?q=%00", "/api/products?q=a%00b"] {
        let (status, _) = app.get(path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
    }
    let c = app.another_browser();
    let post = |body: reqwest::Body, content_type: &'static str, accept: &'static str| {
        c.post(app.url("/api/cart/add"))
            .header("origin", &app.base)
            .header("cookie", &cookie)
            .header("content-type", content_type)
            .header("accept", accept)
            .body(body)
            .send()
    };
    let json = format!("{{\"product_id\":\"{p}\"}}");
    let cases: Vec<(reqwest::Body, &str, &str, StatusCode)> = vec![
        (json.into(), "application/json", "application/json", StatusCode::UNSUPPORTED_MEDIA_TYPE),
        (
            "--x\r\nContent-Disposition: form-data; name=\"product_id\"\r\n\r\n1\r\n--x--\r\n".into(),
            "multipart/form-data; boundary=x",
            "text/html",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            format!("product_id={p}&pad={}", "a".repeat(3 << 20)).into(),
            "application/x-www-form-urlencoded",
            "application/json",
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            format!("product_id={p}%00").into(),
            "application/x-www-form-urlencoded",
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
        (
            vec![b'p', b'r', b'o', b'd', b'u', b'c', b't', b'_', b'i', b'd', b'=', 0xFF, 0xFE].into(),
            "application/x-www-form-urlencoded",
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
        (
            "quantity=2".into(),
            "application/x-www-form-urlencoded",
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (n, (body, content_type, accept, expected)) in cases.into_iter().enumerate() {
        let res = post(body, content_type, accept).await.unwrap();
        assert_eq!(res.status(), expected, "case {n} ({content_type})");
    }
    // The form cap is 64 KiB: a form of exactly 64 KiB is read (and refused for what it
    // says: no such product), one byte more is a 413, for the API and the no-JS form alike.
    let sized = |len: usize| {
        let head = "product_id=999999999&pad=";
        format!("{head}{}", "a".repeat(len - head.len()))
    };
    for accept in ["application/json", "text/html"] {
        let res = post(sized(64 * 1024).into(), "application/x-www-form-urlencoded", accept).await.unwrap();
        assert!(res.status().is_client_error(), "{accept}: {}", res.status());
        assert_ne!(res.status(), StatusCode::PAYLOAD_TOO_LARGE, "{accept}: 64 KiB fits");
        let res =
            post(sized(64 * 1024 + 1).into(), "application/x-www-form-urlencoded", accept).await.unwrap();
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE, "{accept}: 64 KiB + 1 byte");
    }
    // A signup with a NUL in a field: PostgreSQL refuses NUL in text, which used to be a 500.
    let res = app
        .api(
            "/api/signup",
            &[("email", "z@example.com"), ("username", "z_1"), ("password", PW), ("name", "Z\0Z")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(count(app, "SELECT COUNT(*) FROM users WHERE email = 'z@example.com'").await, 0);
    assert_eq!(count(app, &format!("SELECT COUNT(*) FROM cart_items WHERE user_id = {user}")).await, 0);
}

// ---------------------------------------------------------------------------------------------
// Headers (finding 9)

async fn personal_pages_and_answers_are_not_stored(app: &TestApp) {
    let (_, cookie, _, _) = shopper(app, 1).await;
    for path in ["/account", "/cart", "/orders", "/api/cart", "/api/me", "/api/account/overview", "/admin"] {
        let res = app.another_browser().get(app.url(path)).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(res.headers()["cache-control"], "no-store", "{path}");
        assert!(res.headers().contains_key("content-security-policy"), "{path}");
    }
    let res = app.client.get(app.url("/products")).send().await.unwrap();
    assert_eq!(res.headers()["cache-control"], "private, no-cache");
}

// ---------------------------------------------------------------------------------------------
// A shared database without the shared gate (race b)

#[tokio::test]
async fn a_shared_database_without_the_shared_gate_does_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let env = std::collections::HashMap::from([
        ("DATABASE_URL", "postgres://postgres@127.0.0.1:1/never_reached".to_string()),
        ("SHOP_DATA_DIR", dir.path().display().to_string()),
        ("SHOP_ADDR", "127.0.0.1:0".to_string()),
    ]);
    let config = shop::config::Config::from_lookup(|k| env.get(k).cloned()).unwrap();
    let err = shop::start(config).await.err().expect("refused");
    assert!(err.to_string().contains("REDIS_URL"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Cancel racing the hand-over (race a)

async fn cancel_is_refused_once_the_parcel_may_be_handed_over(app: &TestApp) {
    let s = sale(app, 10, 2, -60, 3600).await;
    let (_, cookie, address, card) = shopper(app, 1).await;
    let mut orders = Vec::new();
    for key in ["handover-1", "handover-2"] {
        let b = Buy { sale: s, cookie: &cookie, address, card, key, quantity: 1 };
        let res = buy(app, &app.client, &b).await;
        assert_eq!(res.status(), StatusCode::OK);
        orders.push(res.json::<serde_json::Value>().await.unwrap()["order_id"].as_i64().unwrap());
    }
    // The stock is committed and the delivery worker may hand the parcel over at any moment.
    sqlx::query("UPDATE orders SET status = 'PAID', saga_step = 'AWAIT_DISPATCH' WHERE id = $1")
        .bind(orders[0])
        .execute(app.store().pool())
        .await
        .unwrap();
    // Still waiting for stock: cancelling is fine.
    sqlx::query("UPDATE orders SET status = 'PAID', saga_step = 'AWAIT_STOCK' WHERE id = $1")
        .bind(orders[1])
        .execute(app.store().pool())
        .await
        .unwrap();
    let cancel = |id: i64| {
        app.another_browser()
            .post(app.url("/api/orders/cancel"))
            .header("origin", &app.base)
            .header("cookie", &cookie)
            .form(&[("id", id.to_string())])
            .send()
    };
    let res = cancel(orders[0]).await.unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("carrier"));
    assert_eq!(
        count(app, &format!("SELECT COUNT(*) FROM orders WHERE id = {} AND status = 'PAID'", orders[0]))
            .await,
        1
    );
    assert_eq!(cancel(orders[1]).await.unwrap().status(), StatusCode::OK);
    assert_eq!(
        app.store().outbox_count("order.cancelled").await.unwrap(),
        1,
        "only the order still cancellable"
    );
}

// ---------------------------------------------------------------------------------------------
// Cart double submit (race c)

/// Two submits of one cart form race: whichever places the order, the other must not give
/// back a unit the order holds. Afterwards the gate must agree with the database exactly.
async fn a_cart_double_submit_never_gives_back_what_the_order_holds(app: &TestApp) {
    use shop_domain::gate::GateItem;
    let products =
        [product(app, "Cup", "").await, product(app, "Saucer", "").await, product(app, "Spoon", "").await];
    let rounds = 25;
    let mut tasks = Vec::new();
    for n in 0..rounds {
        let (user, cookie, address, card) = shopper(app, n).await;
        for p in products {
            app.store().cart_add(user, p, 1, Timestamp::now()).await.unwrap();
        }
        for _ in 0..2 {
            let (client, base, cookie) = (app.another_browser(), app.base.clone(), cookie.clone());
            tasks.push(tokio::spawn(async move {
                client
                    .post(format!("{base}/api/cart/checkout"))
                    .header("origin", &base)
                    .header("cookie", &cookie)
                    .form(&[
                        ("address_id", address.to_string()),
                        ("payment_method_id", card.to_string()),
                        ("idempotency_key", format!("cart-race-{n:04}")),
                    ])
                    .send()
                    .await
                    .unwrap()
                    .status()
            }));
        }
    }
    for t in tasks {
        let status = t.await.unwrap();
        assert!(status == StatusCode::OK || status == StatusCode::CONFLICT, "{status}");
    }
    assert_eq!(count(app, "SELECT COUNT(*) FROM orders").await, rounds, "one order per form");
    for p in products {
        let item = GateItem::Product(p);
        let gate = app.gate().available(item).await.unwrap().unwrap();
        let database = app.store().gate_rules(item, Timestamp::now()).await.unwrap().unwrap().available;
        assert_eq!(gate, database, "product {p}: the gate gave back units that orders hold");
        assert_eq!(database, 100 - rounds);
    }
}

// ---------------------------------------------------------------------------------------------
// A double click on a first purchase (race f)

/// A first purchase types the address and card into the buy form. A double click must save
/// them once (they used to be saved before the idempotency check), and two tabs buying at once
/// must not break "one main address" (a 500 on PostgreSQL).
async fn a_double_click_with_a_typed_in_card_saves_it_once(app: &TestApp) {
    let s = sale(app, 10, 3, -60, 3600).await;
    let user = app
        .store()
        .create_user(
            &NewUser {
                email: "first@example.com".into(),
                username: "first_1".into(),
                password_hash: "unused".into(),
                name: "First Buyer".into(),
                phone: None,
                role: Role::Customer,
                email_verified: true,
            },
            Timestamp::now(),
        )
        .await
        .unwrap();
    let cookie = common::shopping::session_cookie(app.store(), user).await;
    let click = |key: &'static str| {
        let (client, base, cookie) = (app.another_browser(), app.base.clone(), cookie.clone());
        tokio::spawn(async move {
            client
                .post(format!("{base}/api/buy"))
                .header("origin", &base)
                .header("cookie", &cookie)
                .form(&[
                    ("sale_id", s.to_string()),
                    ("quantity", "1".into()),
                    ("idempotency_key", key.to_string()),
                    ("receiver", "First Buyer".into()),
                    ("street", "1 Main St".into()),
                    ("zip", "12345".into()),
                    ("holder", "First Buyer".into()),
                    ("number", "4242 4242 4242 4242".into()),
                    ("expiry", "12/39".into()),
                ])
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    let (a, b) = (click("first-key-1"), click("first-key-1"));
    assert_eq!((a.await.unwrap(), b.await.unwrap()), (StatusCode::OK, StatusCode::OK), "both show the order");
    assert_eq!(count(app, &format!("SELECT COUNT(*) FROM orders WHERE user_id = {user}")).await, 1);
    assert_eq!(count(app, &format!("SELECT COUNT(*) FROM payment_methods WHERE user_id = {user}")).await, 1);
    assert_eq!(count(app, &format!("SELECT COUNT(*) FROM addresses WHERE user_id = {user}")).await, 1);

    // Two tabs, two forms (two keys), both typing the address in: two orders, one main address.
    let (a, b) = (click("first-key-2"), click("first-key-3"));
    let statuses = [a.await.unwrap(), b.await.unwrap()];
    assert_eq!(statuses, [StatusCode::OK, StatusCode::OK]);
    assert_eq!(count(app, &format!("SELECT COUNT(*) FROM addresses WHERE user_id = {user}")).await, 3);
    let main =
        count(app, &format!("SELECT COUNT(*) FROM addresses WHERE user_id = {user} AND is_main = 1")).await;
    assert_eq!(main, 1);
}
