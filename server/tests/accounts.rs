//! Accounts and their security rules, each on SQLite and PostgreSQL.

mod common;

use common::TestApp;
use reqwest::StatusCode;

const PW: &str = "correct horse battery";

async fn sign_up(app: &TestApp, email: &str, username: &str, name: &str) -> reqwest::Response {
    app.form("/api/signup", &[("email", email), ("username", username), ("password", PW), ("name", name)])
        .await
}

fn location(res: &reqwest::Response) -> String {
    res.headers().get("location").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("flashmart_session="))
        .map(|c| c.split(';').next().unwrap().to_string())
}

async fn me(app: &TestApp) -> serde_json::Value {
    app.client.get(app.url("/api/me")).send().await.unwrap().json().await.unwrap()
}

/// Who `/api/me` says is signed in for a bare session cookie.
async fn me_with_cookie(app: &TestApp, cookie: &str) -> serde_json::Value {
    app.another_browser()
        .get(app.url("/api/me"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn user_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'customer'")
        .fetch_one(app.store().pool())
        .await
        .unwrap()
}

on_both_databases!(false =>
    signup_signs_in_and_shows_the_name,
    signup_validation_keeps_values_but_never_the_password,
    duplicate_email_or_username_is_already_registered,
    login_by_email_or_username_and_one_message_for_failures,
    login_rotates_the_session_id,
    logout_destroys_the_session_and_is_post_only,
    cross_site_posts_are_refused_and_change_nothing,
    account_pages_need_login_and_come_back_after,
    profile_and_password_changes,
    addresses_keep_exactly_one_main,
    cards_are_encrypted_and_only_ever_shown_masked,
    admin_functions_refuse_customers,
    session_cookie_is_http_only_and_lax,
);

async fn signup_signs_in_and_shows_the_name(app: &TestApp) {
    let res = sign_up(app, "Ann@Example.com", "ann_1", "Ann Lee").await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(location(&res), "/account");
    let (_, page) = app.page("/").await;
    assert_eq!(page.text("[data-testid=user-name]"), "Ann Lee");
    assert_eq!(page.attrs("form[action='/api/logout']", "method"), vec!["post"]);
    assert!(page.attrs("a", "href").contains(&"/orders".to_string()));
    assert_eq!(me(app).await["email"], "ann@example.com", "email stored lowercased");
    assert_eq!(me(app).await["role"], "Customer");
}

async fn signup_validation_keeps_values_but_never_the_password(app: &TestApp) {
    let res = app
        .form(
            "/api/signup",
            &[
                ("email", "not-an-email"),
                ("username", "x!"),
                ("password", "short"),
                ("name", "Ann"),
                ("phone", "call me"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let page = common::Page::parse(&res.text().await.unwrap());
    assert_eq!(page.text("h1"), "Create your account");
    assert!(page.text("#email-error").contains("name@example.com"));
    assert!(page.text("#username-error").contains("3 to 30"));
    assert!(page.text("#password-error").contains("at least 10"));
    assert!(page.text("#phone-error").contains("phone number"));
    assert_eq!(page.attrs("input[name=email]", "value"), vec!["not-an-email"]);
    assert_eq!(page.attrs("input[name=username]", "value"), vec!["x!"]);
    assert_eq!(page.attrs("input[name=name]", "value"), vec!["Ann"]);
    assert!(page.attrs("input[name=password]", "value").is_empty(), "password never echoed");
    assert!(!page.raw.contains("short"), "the typed password appears nowhere");
    assert_eq!(page.attrs("input[name=email]", "aria-invalid"), vec!["true"]);
    // Password equal to the username is refused too.
    let res = app
        .api(
            "/api/signup",
            &[
                ("email", "a@b.co"),
                ("username", "ann_the_shopper"),
                ("password", "ann_the_shopper"),
                ("name", "Ann"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let json: serde_json::Value = res.json().await.unwrap();
    assert_eq!(json["Invalid"][0]["field"], "password");
    assert_eq!(user_count(app).await, 0, "nothing was created");
}

async fn duplicate_email_or_username_is_already_registered(app: &TestApp) {
    assert_eq!(sign_up(app, "ann@example.com", "ann_1", "Ann").await.status(), StatusCode::FOUND);
    let other = TestApp::another_browser(app);
    let res = other
        .post(app.url("/api/signup"))
        .header("origin", &app.base)
        .form(&[("email", "ANN@example.com"), ("username", "someone"), ("password", PW), ("name", "B")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("already registered"));
    let res = other
        .post(app.url("/api/signup"))
        .header("origin", &app.base)
        .form(&[("email", "b@example.com"), ("username", "ANN_1"), ("password", PW), ("name", "B")])
        .send()
        .await
        .unwrap();
    let json: serde_json::Value = res.json().await.unwrap();
    assert_eq!(json["Invalid"][0]["field"], "username");
    assert!(json["Invalid"][0]["message"].as_str().unwrap().contains("already registered"));
    assert_eq!(user_count(app).await, 1);
}

async fn login_by_email_or_username_and_one_message_for_failures(app: &TestApp) {
    sign_up(app, "ann@example.com", "ann_1", "Ann").await;
    app.api("/api/logout", &[]).await;
    let fresh = app.another_browser();
    let login = |login: &'static str, password: &'static str| {
        let fresh = fresh.clone();
        let url = app.url("/api/login");
        let origin = app.base.clone();
        async move {
            fresh
                .post(url)
                .header("origin", origin)
                .form(&[("login", login), ("password", password)])
                .send()
                .await
                .unwrap()
        }
    };
    let wrong_pw = login("ann_1", "wrong password!").await;
    assert_eq!(wrong_pw.status(), StatusCode::UNAUTHORIZED);
    let wrong_pw = wrong_pw.text().await.unwrap();
    let no_user = login("nobody_here", "wrong password!").await;
    assert_eq!(no_user.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(no_user.text().await.unwrap(), wrong_pw, "the same answer whether or not the account exists");
    assert!(wrong_pw.contains("Wrong email/username or password"));
    for l in ["ann_1", "ANN_1", "Ann@Example.com"] {
        assert_eq!(login(l, PW).await.status(), StatusCode::OK, "{l}");
    }
    // A no-JS login failure re-renders the form with 401, keeping the login but not the password.
    let res = app.form("/api/login", &[("login", "ann_1"), ("password", "nope nope nope")]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let page = common::Page::parse(&res.text().await.unwrap());
    assert_eq!(page.text(".form-error"), "Wrong email/username or password.");
    assert_eq!(page.attrs("input[name=login]", "value"), vec!["ann_1"]);
    assert!(page.attrs("input[name=password]", "value").is_empty());
}

async fn login_rotates_the_session_id(app: &TestApp) {
    let res = sign_up(app, "ann@example.com", "ann_1", "Ann").await;
    let first = session_cookie(&res).expect("signup sets a session");
    let res = app.form("/api/login", &[("login", "ann_1"), ("password", PW)]).await;
    let second = session_cookie(&res).expect("login sets a session");
    assert_ne!(first, second, "a new session id on login");
    // The old id is dead: a client presenting it is anonymous.
    let stale = me_with_cookie(app, &first).await;
    assert!(stale.is_null());
    let live = me_with_cookie(app, &second).await;
    assert_eq!(live["username"], "ann_1");
}

async fn logout_destroys_the_session_and_is_post_only(app: &TestApp) {
    let res = sign_up(app, "ann@example.com", "ann_1", "Ann").await;
    let cookie = session_cookie(&res).unwrap();
    let get = app.client.get(app.url("/api/logout")).send().await.unwrap();
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED, "state changes are POST only");
    assert_eq!(me(app).await["username"], "ann_1", "GET changed nothing");
    let res = app.form("/api/logout", &[]).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(location(&res), "/");
    assert!(me(app).await.is_null());
    // Replaying the old cookie does not bring the session back.
    let replay = me_with_cookie(app, &cookie).await;
    assert!(replay.is_null());
    let (_, page) = app.page("/").await;
    assert_eq!(page.attrs("a[href='/login']", "href").len(), 1);
}

async fn cross_site_posts_are_refused_and_change_nothing(app: &TestApp) {
    sign_up(app, "ann@example.com", "ann_1", "Ann").await;
    for (path, fields) in [
        ("/api/account/profile", vec![("name", "Hacked")]),
        ("/api/logout", vec![]),
        (
            "/api/signup",
            vec![("email", "x@evil.example"), ("username", "evil_1"), ("password", PW), ("name", "E")],
        ),
    ] {
        let res = app
            .client
            .post(app.url(path))
            .header("origin", "http://evil.example")
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
        let res = app
            .client
            .post(app.url(path))
            .header("referer", "https://evil.example/page")
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path} by referer");
    }
    assert_eq!(me(app).await["name"], "Ann", "profile unchanged and still signed in");
    assert_eq!(user_count(app).await, 1);
}

/// A small budget (2 a minute: one attempt back every 30 s) so the test never depends on how
/// fast argon2 runs on a busy machine.
const LIMIT: usize = 2;

// Each mode is its own test: a failure on SQLite does not hide PostgreSQL's result.
in_both_shop_modes!(&[("SHOP_AUTH_ATTEMPTS_PER_MINUTE", "2")] => login_attempts_are_rate_limited);
in_both_shop_modes!(&[("SHOP_AUTH_ATTEMPTS_PER_MINUTE", "1000")] => concurrent_duplicate_signups_exactly_one_wins);

async fn login_attempts_are_rate_limited(app: &TestApp) {
    sign_up(app, "ann@example.com", "ann_1", "Ann").await;
    let fresh = app.another_browser();
    let mut statuses = Vec::new();
    for _ in 0..LIMIT {
        let res = fresh
            .post(app.url("/api/login"))
            .header("origin", &app.base)
            .form(&[("login", "ann_1"), ("password", "wrong password!")])
            .send()
            .await
            .unwrap();
        statuses.push(res.status());
    }
    assert!(statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED), "{statuses:?}");
    let res = fresh
        .post(app.url("/api/login"))
        .header("origin", &app.base)
        .form(&[("login", "ann_1"), ("password", PW)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS, "even the right password waits");
    let wait: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait));
    let json: serde_json::Value = res.json().await.unwrap();
    assert!(json["TooManyRequests"].as_u64().is_some_and(|s| (1..=60).contains(&s)), "{json}");
    // The no-JS form says so too, with 429.
    let res = app.form("/api/login", &[("login", "ann_1"), ("password", PW)]).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let page = common::Page::parse(&res.text().await.unwrap());
    assert!(page.text(".form-error").starts_with("Too many attempts, try again in"));
}

async fn account_pages_need_login_and_come_back_after(app: &TestApp) {
    let res =
        app.another_browser().get(app.url("/account")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(location(&res), "/login?next=%2Faccount");
    let res = app.client.get(app.url("/api/account/overview")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    sign_up(app, "ann@example.com", "ann_1", "Ann").await;
    app.form("/api/logout", &[]).await;
    let res = app.form("/api/login", &[("login", "ann_1"), ("password", PW), ("next", "/account")]).await;
    assert_eq!(location(&res), "/account");
    // Only local paths: never off to another site.
    let res =
        app.form("/api/login", &[("login", "ann_1"), ("password", PW), ("next", "//evil.example/x")]).await;
    assert_eq!(location(&res), "/");
    let (status, page) = app.page("/account").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page.text("h1"), "Your account");
}

async fn profile_and_password_changes(app: &TestApp) {
    sign_up(app, "ann@example.com", "ann_1", "Ann").await;
    let res = app.form("/api/account/profile", &[("name", "Ann Marie"), ("phone", "+1 555 010 2030")]).await;
    assert_eq!(location(&res), "/account?done=profile");
    let (_, page) = app.page("/account?done=profile").await;
    assert_eq!(page.text(".notice"), "Profile saved.");
    assert_eq!(page.attrs("input[name=phone]", "value"), vec!["+1 555 010 2030"]);
    assert_eq!(page.text("[data-testid=user-name]"), "Ann Marie");
    let res = app.form("/api/account/profile", &[("name", ""), ("phone", "12")]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(me(app).await["name"], "Ann Marie", "a bad form changes nothing");

    let res = app
        .form(
            "/api/account/password",
            &[("current_password", "not it at all"), ("new_password", "brand new secret")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let page = common::Page::parse(&res.text().await.unwrap());
    assert!(page.text("#current_password-error").contains("not your current password"));
    let res = app
        .form("/api/account/password", &[("current_password", PW), ("new_password", "brand new secret")])
        .await;
    assert_eq!(location(&res), "/account?done=password");
    app.form("/api/logout", &[]).await;
    assert_eq!(
        app.api("/api/login", &[("login", "ann_1"), ("password", PW)]).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.api("/api/login", &[("login", "ann_1"), ("password", "brand new secret")]).await.status(),
        StatusCode::OK
    );
}

async fn addresses_keep_exactly_one_main(app: &TestApp) {
    sign_up(app, "ann@example.com", "ann_1", "Ann").await;
    let add = |street: &'static str, main: bool| async move {
        let mut f = vec![("receiver", "Ann"), ("street", street), ("zip", "12345")];
        if main {
            f.push(("main", "true"));
        }
        app.form("/api/account/address", &f).await
    };
    assert_eq!(location(&add("1 First St", false).await), "/account?done=address");
    add("2 Second St", false).await;
    let (_, page) = app.page("/account").await;
    assert_eq!(page.count(".address"), 2);
    assert_eq!(page.texts(".address .badge"), vec!["Main"]);
    assert!(page.text(".address").contains("1 First St"), "the first address is main");
    add("3 Third St", true).await;
    let (_, page) = app.page("/account").await;
    assert_eq!(page.texts(".address .badge").len(), 1);
    assert!(page.text(".address").contains("3 Third St"), "main listed first");
    // Removing the main one promotes another; only one main ever.
    let addrs: serde_json::Value =
        app.client.get(app.url("/api/account/overview")).send().await.unwrap().json().await.unwrap();
    let main_id = addrs["addresses"][0]["id"].as_i64().unwrap().to_string();
    app.form("/api/account/address/delete", &[("id", &main_id)]).await;
    let addrs: serde_json::Value =
        app.client.get(app.url("/api/account/overview")).send().await.unwrap().json().await.unwrap();
    let mains = addrs["addresses"].as_array().unwrap().iter().filter(|a| a["is_main"] == true).count();
    assert_eq!(mains, 1);
    // Bad input: clear messages, nothing stored.
    let res = app.form("/api/account/address", &[("receiver", ""), ("street", ""), ("zip", "!")]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let page = common::Page::parse(&res.text().await.unwrap());
    assert!(page.text("#street-error").contains("Enter the street address"));
    // Another user cannot touch Ann's address.
    let other_id = addrs["addresses"][0]["id"].as_i64().unwrap().to_string();
    app.form("/api/logout", &[]).await;
    sign_up(app, "bob@example.com", "bob_1", "Bob").await;
    let res = app.api("/api/account/address/delete", &[("id", &other_id)]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM addresses").fetch_one(app.store().pool()).await.unwrap();
    assert_eq!(n, 2);
}

async fn cards_are_encrypted_and_only_ever_shown_masked(app: &TestApp) {
    sign_up(app, "ann@example.com", "ann_1", "Ann").await;
    let res = app
        .form(
            "/api/account/card",
            &[("holder", "Ann Lee"), ("number", "4242 4242 4242 4242"), ("expiry", "12/39")],
        )
        .await;
    assert_eq!(location(&res), "/account?done=card");
    let res = app
        .form(
            "/api/account/bank",
            &[("bank", "River Bank"), ("holder", "Ann Lee"), ("number", "1234-5678-9012")],
        )
        .await;
    assert_eq!(location(&res), "/account?done=bank");
    let (_, page) = app.page("/account").await;
    assert_eq!(page.texts(".payment-method strong"), vec!["Visa •••• 4242", "River Bank •••• 9012"]);
    let api = app.client.get(app.url("/api/account/overview")).send().await.unwrap().text().await.unwrap();
    for body in [&page.raw, &api] {
        assert!(!body.contains("4242424242424242") && !body.contains("4242 4242 4242 4242"));
        assert!(!body.contains("123456789012"));
    }
    let secrets: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT secret FROM payment_methods").fetch_all(app.store().pool()).await.unwrap();
    assert_eq!(secrets.len(), 2);
    for s in &secrets {
        assert!(!s.windows(4).any(|w| w == b"4242" || w == b"9012"), "numbers are encrypted at rest");
    }
    // A rejected card is not echoed back either.
    let res = app
        .form(
            "/api/account/card",
            &[("holder", "Ann"), ("number", "4242 4242 4242 4241"), ("expiry", "12/39")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body = res.text().await.unwrap();
    assert!(body.contains("check the digits") && !body.contains("4242 4242 4242 4241"));
}

async fn admin_functions_refuse_customers(app: &TestApp) {
    let anon = app.api("/api/admin/role", &[("email", "ann@example.com"), ("role", "admin")]).await;
    assert_eq!(
        anon.status(),
        StatusCode::FORBIDDEN,
        "an admin function tells a stranger only \"not for you\""
    );
    sign_up(app, "ann@example.com", "ann_1", "Ann").await;
    let res = app.api("/api/admin/role", &[("email", "ann@example.com"), ("role", "admin")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(me(app).await["role"], "Customer", "a customer cannot make themselves admin");
    // An admin can.
    let id = me(app).await["id"].as_i64().unwrap();
    app.store().set_role(id, shop_domain::Role::Admin, shop_domain::Timestamp::now()).await.unwrap();
    let admin = app.store().user(id).await.unwrap().unwrap();
    assert!(admin.is_admin());
    let (_, page) = app.page("/").await;
    assert!(page.attrs("a", "href").contains(&"/admin".to_string()), "admins see the Admin link");
    // A separate customer signs up in a fresh browser.
    let bob = app.another_browser();
    bob.post(app.url("/api/signup"))
        .header("origin", &app.base)
        .form(&[("email", "bob@example.com"), ("username", "bob_1"), ("password", PW), ("name", "Bob")])
        .send()
        .await
        .unwrap();
    let res = app.api("/api/admin/role", &[("email", "bob@example.com"), ("role", "admin")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(app.store().user_by_email("bob@example.com").await.unwrap().unwrap().is_admin());
}

async fn session_cookie_is_http_only_and_lax(app: &TestApp) {
    let res = sign_up(app, "ann@example.com", "ann_1", "Ann").await;
    let raw = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("flashmart_session="))
        .unwrap();
    assert!(raw.contains("HttpOnly"));
    assert!(raw.contains("SameSite=Lax"));
    // The cookie lives as long as the idle limit (14 days by default); sessions.rs shows an active
    // session renewed and an idle one ended.
    assert!(raw.contains(&format!("Max-Age={}", 14 * 24 * 60 * 60)), "idle expiry: {raw}");
    assert!(!raw.contains("Secure"), "plain HTTP in development");
    // Anonymous browsing sets no cookie at all.
    let res = app.another_browser().get(app.url("/products")).send().await.unwrap();
    assert!(res.headers().get("set-cookie").is_none());
}

async fn concurrent_duplicate_signups_exactly_one_wins(app: &TestApp) {
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let client = app.another_browser();
            let url = app.url("/api/signup");
            let origin = app.base.clone();
            // Half race for the same email, half for the same username.
            let (email, username) = if i % 2 == 0 {
                ("race@example.com".to_string(), format!("racer_{i}"))
            } else {
                (format!("r{i}@example.com"), "racer_same".to_string())
            };
            tokio::spawn(async move {
                client
                    .post(url)
                    .header("origin", origin)
                    .form(&[
                        ("email", email.as_str()),
                        ("username", username.as_str()),
                        ("password", PW),
                        ("name", "R"),
                    ])
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    let statuses: Vec<StatusCode> =
        futures::future::join_all(tasks).await.into_iter().map(Result::unwrap).collect();
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let dup = statuses.iter().filter(|s| **s == StatusCode::BAD_REQUEST).count();
    let emails: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE email = 'race@example.com'")
        .fetch_one(app.store().pool())
        .await
        .unwrap();
    let names: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE username = 'racer_same'")
        .fetch_one(app.store().pool())
        .await
        .unwrap();
    assert_eq!((emails, names), (1, 1), "exactly one account per email and per username");
    assert_eq!(ok, 2, "one winner per race: {statuses:?}");
    assert_eq!(dup, 14, "everyone else is told it's taken");
}

#[test]
fn admin_create_from_the_command_line() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], stdin: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_shop"))
            .args(args)
            .env_clear()
            .env("SHOP_DATA_DIR", dir.path())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let out = run(
        &["admin", "create", "--email", "boss@example.com", "--username", "boss", "--password-stdin"],
        "a long admin passphrase\n",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("created for boss@example.com"));
    let out = run(
        &["admin", "create", "--email", "boss2@example.com", "--username", "boss2", "--password-stdin"],
        "short\n",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("password"));
    let out = run(&["admin", "create", "--email", "boss3@example.com", "--username", "boss3"], "");
    assert!(!out.status.success(), "no password, no admin");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--password-stdin"));
}
