//! Mail: a forgotten password is reset by its mailed link (once, within 30 minutes, ending every
//! session), on both databases, through the development mailbox (`.eml` files); and mail goes out
//! over a real SMTP exchange with a sink these tests run, retried after a refusal, sent once.

mod common;

use common::shopping::count;
use common::{signed_up, TestApp, PASSWORD};
use mail_parser::{MessageParser, MimeHeaders};
use reqwest::StatusCode;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

in_both_saga_modes!(
    every_new_status_of_an_order_is_mailed_once,
    a_failed_order_is_mailed_with_its_reason,
);
in_both_shop_modes!(&[("SHOP_TEST_WORKERS", "mail")] =>
    a_new_address_is_verified_by_its_code_before_a_flash_sale,
    a_verification_link_works_once,
    a_forgotten_password_is_reset_once_by_its_mailed_link,
    a_reset_link_dies_after_thirty_minutes,
);

/// The order mails sent for `order`, oldest first: (recipient, subject, text) once every one of
/// `n` is sent.
async fn order_mails(app: &TestApp, order: i64, n: i64) -> Vec<(String, String, String)> {
    let subject = format!("Order #{order} %");
    common::saga::eventually(
        app,
        &format!("SELECT COUNT(*) FROM mail_outbox WHERE kind = 'ORDER' AND subject LIKE '{subject}' AND sent_at IS NOT NULL"),
        n,
    )
    .await;
    sqlx::query_as("SELECT to_addr, subject, text_body FROM mail_outbox WHERE kind = 'ORDER' AND subject LIKE $1 ORDER BY id")
        .bind(subject)
        .fetch_all(app.store().pool())
        .await
        .unwrap()
}

/// Placed, paid, shipped, delivered: one mail each (redeliveries and re-drives add none), to the
/// buyer, with the order's lines and its link, committed with each change.
async fn every_new_status_of_an_order_is_mailed_once(app: &TestApp) {
    let (order, _) = common::saga::order_from_sale(app, 1, "4242424242424242", "12345").await;
    assert_eq!(common::saga::final_status(app, order).await, "DELIVERED");
    let mails = order_mails(app, order, 4).await;
    let subjects: Vec<&str> = mails.iter().map(|m| m.1.as_str()).collect();
    let want = ["placed", "paid", "shipped", "delivered"].map(|s| format!("Order #{order} {s}"));
    assert_eq!(subjects, want.iter().map(String::as_str).collect::<Vec<_>>());
    let buyer: String = sqlx::query_scalar("SELECT u.email FROM orders o JOIN users u ON u.id = o.user_id WHERE o.id = $1")
        .bind(order)
        .fetch_one(app.store().pool())
        .await
        .unwrap();
    for (to, subject, text) in &mails {
        assert_eq!(to, &buyer, "{subject}");
        assert!(text.contains(&format!("/orders/{order}")), "{subject}: a link to the order");
        assert!(text.contains("1 × Limited Lamp at $49.00") && text.contains("Total: $49.00"), "{subject}: {text}");
        assert!(!text.contains("refunded"), "{subject}");
    }
}

/// A declined card: placed, then failed with the reason; nothing was taken, so no refund.
async fn a_failed_order_is_mailed_with_its_reason(app: &TestApp) {
    let (order, _) = common::saga::order_from_sale(app, 1, "4000000000000002", "12345").await;
    assert_eq!(common::saga::final_status(app, order).await, "FAILED");
    let mails = order_mails(app, order, 2).await;
    assert_eq!(mails[0].1, format!("Order #{order} placed"));
    assert_eq!(mails[1].1, format!("Order #{order} could not be completed"));
    assert!(mails[1].2.contains("Payment declined: Your card was declined."), "{}", mails[1].2);
    assert!(!mails[1].2.contains("refunded"));
}

/// The `.eml` files in the development mailbox, oldest first.
fn mailbox(app: &TestApp) -> Vec<std::path::PathBuf> {
    let dir = app.data_dir().join("mail");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "eml")).collect())
        .unwrap_or_default();
    files.sort();
    files
}

/// Waits (up to 20 s) for the `n`th mail whose subject starts with `subject`; its raw text.
async fn nth_mail(app: &TestApp, subject: &str, n: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let found: Vec<String> = mailbox(app)
            .iter()
            .filter_map(|f| std::fs::read_to_string(f).ok())
            .filter(|raw| MessageParser::default().parse(raw.as_bytes()).and_then(|m| m.subject().map(|s| s.starts_with(subject))).unwrap_or(false))
            .collect();
        if found.len() >= n {
            return found[n - 1].clone();
        }
        assert!(Instant::now() < deadline, "mail {n} '{subject}…' never arrived ({} such)", found.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const RESET: &str = "Reset your Flashmart password";

const CODE: &str = "Your Flashmart code: ";

/// A form post as a browser without JavaScript sends it, with `cookie`.
async fn post(app: &TestApp, cookie: &str, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    app.another_browser()
        .post(app.url(path))
        .header("origin", &app.base)
        .header("accept", "text/html")
        .header("cookie", cookie)
        .form(fields)
        .send()
        .await
        .unwrap()
}

/// The code of the `n`th verification mail (from its subject, checked against the text).
async fn code(app: &TestApp, n: usize) -> String {
    let raw = nth_mail(app, CODE, n).await;
    let msg = MessageParser::default().parse(raw.as_bytes()).unwrap();
    let code = msg.subject().unwrap().trim_start_matches(CODE).to_string();
    assert!(msg.body_text(0).unwrap().contains(&format!("Your code is {code}.")));
    assert!(msg.body_html(0).unwrap().contains("/verify-email?token="));
    code
}

/// A flash-sale purchase by `cookie` with no address or card: 403 until the address is
/// verified, then asked for what is missing (400).
async fn buy_status(app: &TestApp, cookie: &str, sale: i64) -> StatusCode {
    let sale = sale.to_string();
    post(app, cookie, "/api/buy", &[("sale_id", sale.as_str()), ("idempotency_key", "verify-test-key-1")]).await.status()
}

/// Signing up mails a code; until it is entered the account page asks for it and flash sales
/// refuse (browsing, cart, wishlist do not). Five wrong tries kill a code, a new one waits a
/// minute after the last, an expired one is refused, the right one verifies.
async fn a_new_address_is_verified_by_its_code_before_a_flash_sale(app: &TestApp) {
    let sale = common::shopping::sale(app, 5, 1, -60, 3600).await;
    let cookie = signed_up(app, &app.another_browser(), "unverified").await;
    let (_, page) = app.page_as(&cookie, "/account").await;
    assert_eq!(page.count("#account-verify input[name=code]"), 1);
    assert_eq!(buy_status(app, &cookie, sale).await, StatusCode::FORBIDDEN);
    let (_, page) = app.page_as(&cookie, &format!("/sales/{sale}")).await;
    assert!(page.text("[data-testid=verify-to-buy]").contains("Verify your email address"));
    let first = code(app, 1).await;

    let wrong = if first == "000000" { "111111" } else { "000000" };
    let res = post(app, &cookie, "/api/account/verification/check", &[("code", wrong)]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let page = common::Page::parse(&res.text().await.unwrap());
    assert!(page.text("#code-error").contains("4 tries left"), "{}", page.text("#code-error"));
    for _ in 0..4 {
        post(app, &cookie, "/api/account/verification/check", &[("code", wrong)]).await;
    }
    let res = post(app, &cookie, "/api/account/verification/check", &[("code", first.as_str())]).await;
    assert!(common::Page::parse(&res.text().await.unwrap()).text("#code-error").contains("Too many wrong codes"));

    // A new code at most once a minute.
    let res = post(app, &cookie, "/api/account/verification/send", &[]).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    sqlx::query("UPDATE email_verifications SET created_at = created_at - 61000").execute(app.store().pool()).await.unwrap();
    let res = post(app, &cookie, "/api/account/verification/send", &[]).await;
    assert_eq!(res.headers()["location"], "/account?done=code-sent");
    let second = code(app, 2).await;

    // Expired, then (a fresh one) right.
    sqlx::query("UPDATE email_verifications SET expires_at = created_at").execute(app.store().pool()).await.unwrap();
    let res = post(app, &cookie, "/api/account/verification/check", &[("code", second.as_str())]).await;
    assert!(common::Page::parse(&res.text().await.unwrap()).text("#code-error").contains("expired"));
    sqlx::query("UPDATE email_verifications SET created_at = created_at - 61000").execute(app.store().pool()).await.unwrap();
    post(app, &cookie, "/api/account/verification/send", &[]).await;
    let third = code(app, 3).await;
    let res = post(app, &cookie, "/api/account/verification/check", &[("code", &format!(" {} {} ", &third[..3], &third[3..]))]).await;
    assert_eq!(res.headers()["location"], "/account?done=verified");
    let (_, page) = app.page_as(&cookie, "/account").await;
    assert_eq!(page.count("#account-verify"), 0);
    assert_eq!(buy_status(app, &cookie, sale).await, StatusCode::BAD_REQUEST, "past the check: asked for an address");
}

/// The mailed link verifies too, once, from its page (a GET changes nothing: mail scanners
/// open links).
async fn a_verification_link_works_once(app: &TestApp) {
    let cookie = signed_up(app, &app.another_browser(), "linked").await;
    let raw = nth_mail(app, CODE, 1).await;
    let text = MessageParser::default().parse(raw.as_bytes()).unwrap().body_text(0).unwrap().to_string();
    let token = text.split("/verify-email?token=").nth(1).unwrap().split_whitespace().next().unwrap().to_string();
    let (status, page) = app.page(&format!("/verify-email?token={token}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page.attrs("input[name=token]", "value"), vec![token.clone()]);
    let (_, account) = app.page_as(&cookie, "/account").await;
    assert_eq!(account.count("#account-verify"), 1, "opening the link's page verified nothing");
    let res = post(app, &cookie, "/api/verify-email", &[("token", token.as_str())]).await;
    assert_eq!(res.headers()["location"], "/account?done=verified");
    let (_, account) = app.page_as(&cookie, "/account").await;
    assert_eq!(account.count("#account-verify"), 0);
    let again = post(app, &cookie, "/api/verify-email", &[("token", token.as_str())]).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
}

/// The reset link's token, from the mail's plain-text part (checking the HTML part has it too).
fn reset_token(raw: &str) -> String {
    let msg = MessageParser::default().parse(raw.as_bytes()).expect("an RFC 5322 message");
    let text = msg.body_text(0).expect("a plain-text part").to_string();
    let html = msg.body_html(0).expect("an HTML part").to_string();
    let token = text
        .split("/reset-password?token=")
        .nth(1)
        .expect("a reset link")
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert!(html.contains(&format!("/reset-password?token={token}")), "the HTML part has the same link");
    token
}

async fn forgot(app: &TestApp, email: &str) -> reqwest::Response {
    app.another_browser()
        .post(app.url("/api/password/forgot"))
        .header("origin", &app.base)
        .header("accept", "text/html")
        .form(&[("email", email)])
        .send()
        .await
        .unwrap()
}

/// The reset form posted from its page, as a browser without JavaScript does.
async fn reset(app: &TestApp, browser: &reqwest::Client, token: &str, password: &str) -> reqwest::Response {
    browser
        .post(app.url("/api/password/reset"))
        .header("origin", &app.base)
        .header("referer", app.url(&format!("/reset-password?token={token}")))
        .header("accept", "text/html")
        .form(&[("token", token), ("new_password", password)])
        .send()
        .await
        .unwrap()
}

async fn login(app: &TestApp, login: &str, password: &str) -> StatusCode {
    app.another_browser()
        .post(app.url("/api/login"))
        .header("origin", &app.base)
        .form(&[("login", login), ("password", password)])
        .send()
        .await
        .unwrap()
        .status()
}

async fn signed_in_as(app: &TestApp, cookie: &str) -> serde_json::Value {
    let res = app.another_browser().get(app.url("/api/me")).header("cookie", cookie).send().await.unwrap();
    res.json().await.unwrap()
}

async fn a_forgotten_password_is_reset_once_by_its_mailed_link(app: &TestApp) {
    let laptop = app.another_browser();
    let laptop_cookie = signed_up(app, &laptop, "forgetful").await;
    assert_eq!(signed_in_as(app, &laptop_cookie).await["username"], "forgetful");

    // The same answer for an address with an account and one without; only one mail.
    let known = forgot(app, "Forgetful@Example.com").await;
    let unknown = forgot(app, "nobody@example.com").await;
    assert_eq!((known.status(), unknown.status()), (StatusCode::FOUND, StatusCode::FOUND));
    assert_eq!(known.headers()["location"], unknown.headers()["location"]);
    assert_eq!(known.headers()["location"], "/forgot-password?done=sent");
    let raw = nth_mail(app, RESET, 1).await;
    let msg = MessageParser::default().parse(raw.as_bytes()).unwrap();
    assert_eq!(msg.to().and_then(|a| a.first()).and_then(|a| a.address()), Some("forgetful@example.com"));
    assert_eq!(msg.subject(), Some("Reset your Flashmart password"));
    assert!(msg.message_id().is_some_and(|id| id.starts_with("mail-")), "{:?}", msg.message_id());
    assert_eq!(msg.content_type().map(|c| c.subtype()), Some(Some("alternative")));
    let token = reset_token(&raw);
    assert!(!raw.contains(PASSWORD), "no password in a mail");
    let resets = count(app, "SELECT COUNT(*) FROM mail_outbox WHERE kind = 'PASSWORD_RESET'").await;
    assert_eq!(resets, 1, "nothing was sent for the unknown address");

    // The link's page offers the form; a weak password is refused and spends nothing.
    let (status, page) = app.page(&format!("/reset-password?token={token}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page.count("input[name=new_password]"), 1);
    let phone = app.another_browser();
    let res = reset(app, &phone, &token, "short").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let page = common::Page::parse(&res.text().await.unwrap());
    assert!(page.text("#new_password-error").contains("10"), "says why, next to the field");
    assert_eq!(page.attrs("input[name=token]", "value"), vec![token.clone()], "the form is still there");

    let res = reset(app, &phone, &token, "a much better passphrase").await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()["location"], "/account?done=password-reset");
    let phone_cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("flashmart_session="))
        .map(|c| c.split(';').next().unwrap().to_string())
        .expect("signed in afresh");
    assert_eq!(signed_in_as(app, &phone_cookie).await["username"], "forgetful");
    assert!(signed_in_as(app, &laptop_cookie).await.is_null(), "every other session ended");
    assert_eq!(login(app, "forgetful", PASSWORD).await, StatusCode::UNAUTHORIZED);
    assert_eq!(login(app, "forgetful", "a much better passphrase").await, StatusCode::OK);

    // Once only.
    let again = reset(app, &app.another_browser(), &token, "yet another passphrase").await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert!(again.text().await.unwrap().contains("expired or was used"));
    let (_, page) = app.page(&format!("/reset-password?token={token}")).await;
    assert_eq!(page.count("[data-testid=reset-link-dead]"), 1);
    assert_eq!(page.count("input[name=new_password]"), 0);
}

async fn a_reset_link_dies_after_thirty_minutes(app: &TestApp) {
    signed_up(app, &app.another_browser(), "late").await;
    forgot(app, "late@example.com").await;
    let token = reset_token(&nth_mail(app, RESET, 1).await);
    assert_eq!(count(app, "SELECT expires_at - created_at FROM password_resets").await, 30 * 60 * 1000);
    sqlx::query("UPDATE password_resets SET expires_at = created_at").execute(app.store().pool()).await.unwrap();
    let res = reset(app, &app.another_browser(), &token, "a much better passphrase").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(login(app, "late", PASSWORD).await, StatusCode::OK, "the password stayed");
}

/// One message as the sink received it.
#[derive(Debug, Clone)]
struct Received {
    from: String,
    to: Vec<String>,
    data: String,
}

/// A minimal SMTP server on a free port: answers each command, refuses the first `refuse`
/// messages with a temporary 451 at DATA's end, keeps the rest (their DATA unfolded as sent).
async fn smtp_sink(refuse: usize) -> (u16, Arc<Mutex<Vec<Received>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let refusals = Arc::new(Mutex::new(refuse));
    let kept = got.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let (got, refusals) = (kept.clone(), refusals.clone());
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 sink ESMTP\r\n").await;
                let mut msg = Received { from: String::new(), to: vec![], data: String::new() };
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let answer = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        "250-sink\r\n250 8BITMIME\r\n".to_string()
                    } else if upper.starts_with("MAIL FROM:") {
                        msg.from = line[10..].trim().trim_matches(['<', '>']).split('>').next().unwrap().to_string();
                        "250 ok\r\n".into()
                    } else if upper.starts_with("RCPT TO:") {
                        msg.to.push(line[8..].trim().trim_matches(['<', '>']).to_string());
                        "250 ok\r\n".into()
                    } else if upper == "DATA" {
                        let _ = write.write_all(b"354 go on\r\n").await;
                        while let Ok(Some(l)) = lines.next_line().await {
                            if l == "." {
                                break;
                            }
                            msg.data.push_str(l.strip_prefix('.').unwrap_or(&l));
                            msg.data.push_str("\r\n");
                        }
                        let mut left = refusals.lock().unwrap();
                        if *left > 0 {
                            *left -= 1;
                            "451 try again later\r\n".into()
                        } else {
                            got.lock().unwrap().push(std::mem::replace(
                                &mut msg,
                                Received { from: String::new(), to: vec![], data: String::new() },
                            ));
                            "250 queued\r\n".into()
                        }
                    } else if upper == "QUIT" {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        break;
                    } else {
                        "250 ok\r\n".into()
                    };
                    let _ = write.write_all(answer.as_bytes()).await;
                }
            });
        }
    });
    (port, got)
}

/// Over SMTP: the sink refuses the first try (451); the mail comes again after the retry
/// delay and is kept once, with the envelope and headers a mail server would check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_goes_out_over_smtp_and_a_refusal_is_tried_again() {
    let (port, got) = smtp_sink(1).await;
    let url = format!("smtp://127.0.0.1:{port}?tls=none");
    let app = common::TestApp::spawn_with_env(
        common::Db::Sqlite,
        common::Options { seed: false },
        &[
            ("SHOP_SMTP_URL", url.as_str()),
            ("SHOP_MAIL_FROM", "Flashmart <shop@flashmart.test>"),
            ("SHOP_PUBLIC_URL", "https://shop.example"),
            ("SHOP_MAIL_RETRY_MS", "100"),
            ("SHOP_TEST_WORKERS", "mail"),
        ],
    )
    .await;
    signed_up(&app, &app.another_browser(), "smtpuser").await;
    assert_eq!(forgot(&app, "smtpuser@example.com").await.status(), StatusCode::FOUND);
    // Signing up mailed a verification code first; the reset mail is the one with its link.
    let is_reset = |m: &Received| m.data.contains("Subject: Reset your Flashmart password");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !got.lock().unwrap().iter().any(is_reset) {
        assert!(Instant::now() < deadline, "no reset mail reached the sink");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let received: Vec<Received> = got.lock().unwrap().iter().filter(|m| is_reset(m)).cloned().collect();
    assert_eq!(received.len(), 1, "kept once");
    let m = &received[0];
    assert_eq!(m.from, "shop@flashmart.test");
    assert_eq!(m.to, vec!["smtpuser@example.com".to_string()]);
    assert!(!reset_token(&m.data).is_empty());
    let parsed = MessageParser::default().parse(m.data.as_bytes()).unwrap();
    assert!(parsed.body_text(0).unwrap().contains("https://shop.example/reset-password?token="), "links point at SHOP_PUBLIC_URL");
    assert_eq!(parsed.from().and_then(|a| a.first()).and_then(|a| a.address()), Some("shop@flashmart.test"));
    assert!(Path::new(&app.data_dir().join("mail")).read_dir().map_or(true, |mut d| d.next().is_none()), "no files with SMTP");
    // Both mails (the code, the reset) end up sent, the refused one after one more try, and
    // the sink keeps each once.
    common::saga::eventually(&app, "SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NOT NULL", 2).await;
    assert_eq!(count(&app, "SELECT SUM(attempts) FROM mail_outbox").await, 3);
    assert_eq!(got.lock().unwrap().len(), 2);
    app.stop().await;
}
