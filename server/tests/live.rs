//! The live stock stream (`GET /api/live/stock?sales=…`), as an open sale page sees it: the
//! current count first, then the counts purchases leave, coalesced; a reconnect starts from
//! the current count; bad lists are 4xx; a shutdown ends the stream cleanly. And the live
//! order stream (`GET /api/live/orders/{id}`), as the buyer's order page sees it: each step of
//! the saga until the order settles, for its buyer only. And the staff's streams
//! (`GET /api/live/admin/sales[/{id}]`): the gate's decisions on live sales, for admins only.

mod common;

use common::saga::{buyer_cookie, cancel_as_buyer, order_from_sale, timeline};
use common::shopping::{buy, sale, session_cookie, shopper, Buy};
use common::TestApp;
use reqwest::StatusCode;
use std::time::Duration;

in_both_shop_modes!(&[("SHOP_LIVE_POLL_MS", "1500")] =>
    an_open_page_hears_each_purchase_coalesced,
    a_reconnect_starts_from_the_current_count,
    one_stream_carries_every_sale_of_a_page,
);
in_both_shop_modes!(&[] =>
    a_bad_sale_list_is_a_client_error,
    only_the_buyer_may_follow_an_order,
    staff_watch_the_gate_decide,
);
in_both_saga_modes!(
    an_order_page_hears_each_step_until_delivered(
        "SHOP_LIVE_POLL_MS" = "50",
        "SHOP_PAYMENT_LATENCY_MS" = "500",
        "SHOP_PAYMENT_TIMEOUT_MS" = "5000",
        "SHOP_CARRIER_IN_TRANSIT_MS" = "700",
        "SHOP_CARRIER_DELIVERED_MS" = "1400"
    ),
    an_order_page_hears_its_cancellation("SHOP_PAYMENT_LATENCY_MS" = "3000", "SHOP_PAYMENT_TIMEOUT_MS" = "20000"),
);

/// An open `text/event-stream` answer, read event by event.
struct Events {
    res: reqwest::Response,
    buf: String,
}

impl Events {
    async fn open(app: &TestApp, sales: &str) -> Events {
        let res = app
            .another_browser()
            .get(app.url(&format!("/api/live/stock?sales={sales}")))
            .send()
            .await
            .unwrap();
        Events::from(res)
    }

    /// `path` as the browser holding `cookie`.
    async fn open_as(app: &TestApp, path: &str, cookie: &str) -> Events {
        let res = app.another_browser().get(app.url(path)).header("cookie", cookie).send().await.unwrap();
        Events::from(res)
    }

    fn from(res: reqwest::Response) -> Events {
        assert_eq!(res.status(), StatusCode::OK);
        let kind = res.headers()["content-type"].to_str().unwrap().to_string();
        assert!(kind.starts_with("text/event-stream"), "{kind}");
        Events { res, buf: String::new() }
    }

    /// Every event until the stream ends by itself.
    async fn to_end(&mut self) -> Vec<String> {
        let mut seen = Vec::new();
        while let Some(e) = self.next().await {
            seen.push(e);
        }
        seen
    }

    /// The next `data:` payload (keep-alive comments skipped); `None` when the stream ended
    /// cleanly. Gives up after 20 s (a stream that says nothing is a failure, not a hang).
    async fn next(&mut self) -> Option<String> {
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let event: String = self.buf.drain(..end + 2).collect();
                let data: Vec<&str> =
                    event.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim).collect();
                if !data.is_empty() {
                    return Some(data.join("\n"));
                }
            }
            let chunk = tokio::time::timeout(Duration::from_secs(20), self.res.chunk())
                .await
                .expect("no event within 20 s")
                .expect("the stream broke instead of ending")?;
            self.buf.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// Events until (and including) `want`; panics if the stream ends first.
    async fn until(&mut self, want: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let e = self.next().await.unwrap_or_else(|| panic!("stream ended before {want}; saw {seen:?}"));
            seen.push(e.clone());
            if e == want {
                return seen;
            }
        }
    }
}

/// Each stream `path`, opened by the browser holding `cookie` (or none), is refused with
/// `want` and a body that says why.
async fn refused(app: &TestApp, cases: &[(&str, Option<&str>, StatusCode)]) {
    for &(path, cookie, want) in cases {
        let mut req = app.another_browser().get(app.url(path));
        if let Some(cookie) = cookie {
            req = req.header("cookie", cookie);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), want, "{path} as {cookie:?}");
        assert!(!res.text().await.unwrap().is_empty(), "{path}: says why");
    }
}

/// One unit each for buyers `buyers` (made first, so the purchases follow each other closely).
async fn buy_units(app: &TestApp, sale_id: i64, buyers: std::ops::Range<i64>) {
    let mut shoppers = Vec::new();
    for n in buyers {
        shoppers.push((n, shopper(app, n).await));
    }
    for (n, (_, cookie, address, card)) in shoppers {
        let key = format!("live-{sale_id}-{n}");
        let res = buy(
            app,
            &app.another_browser(),
            &Buy { sale: sale_id, cookie: &cookie, address, card, key: &key, quantity: 1 },
        )
        .await;
        assert!(res.status().is_success() || res.status().is_redirection(), "buy: {}", res.status());
    }
}

/// Five purchases in quick succession reach the page as the count they leave, in at most two
/// updates (the stream reads the stock every 1.5 s here), not five.
async fn an_open_page_hears_each_purchase_coalesced(app: &TestApp) {
    let on_sale = sale(app, 10, 1, -5, 3600).await;
    let mut events = Events::open(app, &on_sale.to_string()).await;
    assert_eq!(events.next().await.as_deref(), Some(format!("{on_sale}:10").as_str()));
    buy_units(app, on_sale, 1..6).await;
    let updates = events.until(&format!("{on_sale}:5")).await;
    assert!(updates.len() <= 2, "five purchases sent {} updates: {updates:?}", updates.len());
}

async fn a_reconnect_starts_from_the_current_count(app: &TestApp) {
    let on_sale = sale(app, 4, 1, -5, 3600).await;
    let mut first = Events::open(app, &on_sale.to_string()).await;
    assert_eq!(first.next().await, Some(format!("{on_sale}:4")));
    drop(first);
    buy_units(app, on_sale, 1..3).await;
    let mut again = Events::open(app, &on_sale.to_string()).await;
    assert_eq!(again.next().await, Some(format!("{on_sale}:2")), "a reconnect sees the count now");
}

/// A home page shows several sales: one stream carries them all, and names which is which.
async fn one_stream_carries_every_sale_of_a_page(app: &TestApp) {
    let (a, b) = (sale(app, 3, 1, -5, 3600).await, sale(app, 7, 1, 60, 3600).await);
    let mut events = Events::open(app, &format!("{a},{b},{a}")).await;
    let mut first = vec![events.next().await.unwrap(), events.next().await.unwrap()];
    first.sort();
    let mut want = vec![format!("{a}:3"), format!("{b}:7")];
    want.sort();
    assert_eq!(first, want);
    buy_units(app, a, 1..2).await;
    assert_eq!(events.until(&format!("{a}:2")).await.last(), Some(&format!("{a}:2")));
}

async fn a_bad_sale_list_is_a_client_error(app: &TestApp) {
    let many = (1..=25).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    for (query, want) in [
        ("", StatusCode::BAD_REQUEST),
        ("?sales=", StatusCode::BAD_REQUEST),
        ("?sales=abc", StatusCode::BAD_REQUEST),
        ("?sales=0", StatusCode::BAD_REQUEST),
        (&format!("?sales={many}"), StatusCode::BAD_REQUEST),
        ("?sales=987654", StatusCode::NOT_FOUND),
    ] {
        let res = reqwest::get(app.url(&format!("/api/live/stock{query}"))).await.unwrap();
        assert_eq!(res.status(), want, "{query}");
        assert!(!res.text().await.unwrap().is_empty(), "{query}: says why");
    }
}

/// An order's progress is its buyer's business: anyone else is told it does not exist.
async fn only_the_buyer_may_follow_an_order(app: &TestApp) {
    let (order, _) = order_from_sale(app, 1, "4242424242424242", "12345").await;
    let buyer = buyer_cookie(app, order).await;
    let (_, stranger, _, _) = shopper(app, 2).await;
    let path = format!("/api/live/orders/{order}");
    refused(
        app,
        &[
            (path.as_str(), None, StatusCode::UNAUTHORIZED),
            (path.as_str(), Some(stranger.as_str()), StatusCode::NOT_FOUND),
            ("/api/live/orders/987654", Some(buyer.as_str()), StatusCode::NOT_FOUND),
            ("/api/live/orders/abc", Some(buyer.as_str()), StatusCode::BAD_REQUEST),
            ("/api/live/orders/0", Some(buyer.as_str()), StatusCode::BAD_REQUEST),
        ],
    )
    .await;
    // No workers run here: the order stays placed, one timeline entry, cancellable.
    let mut events = Events::open_as(app, &path, &buyer).await;
    assert_eq!(events.next().await.as_deref(), Some("PENDING:1:1"));
}

/// The buyer's open order page hears the saga move, never the same version twice, and the
/// stream ends once the order is delivered, on the version the page renders then.
async fn an_order_page_hears_each_step_until_delivered(app: &TestApp) {
    let (order, _) = order_from_sale(app, 1, "4242424242424242", "12345").await;
    let mut events = Events::open_as(app, &format!("/api/live/orders/{order}"), &buyer_cookie(app, order).await).await;
    let seen = events.to_end().await;
    let steps = timeline(app, order).await.len();
    assert_eq!(seen.last(), Some(&format!("DELIVERED:{steps}:0")), "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0] != w[1]), "a version repeated: {seen:?}");
    let order_of = |v: &String| {
        ["PENDING", "PAID", "SHIPPING", "DELIVERED"].iter().position(|s| v.starts_with(&format!("{s}:"))).unwrap()
    };
    let statuses: Vec<usize> = seen.iter().map(order_of).collect();
    assert!(statuses.windows(2).all(|w| w[0] <= w[1]), "the saga went backwards: {seen:?}");
    assert!(seen.len() >= 2, "the page heard only the end: {seen:?}");
}

/// Cancelling while payment is pending: the open page hears the cancellation, and the stream
/// ends with it.
async fn an_order_page_hears_its_cancellation(app: &TestApp) {
    let (order, _) = order_from_sale(app, 1, "4242424242424242", "12345").await;
    let mut events = Events::open_as(app, &format!("/api/live/orders/{order}"), &buyer_cookie(app, order).await).await;
    assert_eq!(events.next().await.as_deref(), Some("PENDING:1:1"));
    let res = cancel_as_buyer(app, order).await;
    assert!(res.status().is_success() || res.status().is_redirection(), "cancel: {}", res.status());
    let rest = events.to_end().await;
    let last = rest.last().unwrap_or_else(|| panic!("no event after the cancellation"));
    assert!(last.starts_with("CANCELLED:") && last.ends_with(":0"), "{rest:?}");
}

/// Staff watch a live sale: the streams are theirs only; the version moves with the gate's
/// decisions, and the sale's admin page and the dashboard show the figures it stands for (the
/// page swaps itself in again when they differ).
async fn staff_watch_the_gate_decide(app: &TestApp) {
    let on_sale = sale(app, 2, 1, -60, 3600).await;
    let (_, customer, _, _) = shopper(app, 1).await;
    let (admin_id, _, _, _) = shopper(app, 9).await;
    app.store().set_role(admin_id, shop_domain::Role::Admin, shop_domain::Timestamp::now()).await.unwrap();
    let admin = session_cookie(app.store(), admin_id).await;
    let path = format!("/api/live/admin/sales/{on_sale}");
    refused(
        app,
        &[
            (path.as_str(), None, StatusCode::FORBIDDEN),
            (path.as_str(), Some(customer.as_str()), StatusCode::FORBIDDEN),
            ("/api/live/admin/sales", Some(customer.as_str()), StatusCode::FORBIDDEN),
            ("/api/live/admin/sales/987654", Some(admin.as_str()), StatusCode::NOT_FOUND),
            ("/api/live/admin/sales/abc", Some(admin.as_str()), StatusCode::BAD_REQUEST),
        ],
    )
    .await;
    let mut events = Events::open_as(app, &path, &admin).await;
    assert_eq!(events.next().await, Some(format!("{on_sale}:0:0:0:0:-")), "nothing decided, not loaded yet");

    // Buyer 1 takes a unit, then asks again (over the limit of 1); buyer 2 takes the last;
    // buyer 3 finds it sold out.
    let mut buyers = Vec::new();
    for n in 1..=3 {
        buyers.push(shopper(app, 10 + n).await);
    }
    for (buyer, key) in [(0, "staff-watch-1"), (0, "staff-watch-2"), (1, "staff-watch-3"), (2, "staff-watch-4")] {
        let (_, cookie, address, card) = &buyers[buyer];
        let form = Buy { sale: on_sale, cookie, address: *address, card: *card, key, quantity: 1 };
        let res = buy(app, &app.another_browser(), &form).await;
        assert!(res.status().is_success() || res.status() == StatusCode::CONFLICT, "{key}: {}", res.status());
    }
    let version = format!("{on_sale}:2:1:1:0:0");
    events.until(&version).await;

    let cookie = admin.as_str();
    let page = |path: String| async move {
        let res = app.another_browser().get(app.url(&path)).header("cookie", cookie).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        common::Page::parse(&res.text().await.unwrap())
    };
    let sale_page = page(format!("/admin/sales/{on_sale}")).await;
    assert_eq!(sale_page.attrs("#sale-activity", "data-version"), vec![version.clone()]);
    assert_eq!(sale_page.attrs("#sale-activity", "data-follow"), vec![path.clone()]);
    assert_eq!(sale_page.text("[data-testid=accepted]"), "2 (2 units)");
    assert_eq!(sale_page.text("[data-testid=refused-sold-out]"), "1");
    assert_eq!(sale_page.text("[data-testid=refused-over-limit]"), "1");
    assert!((1..=2).contains(&sale_page.count("#sale-activity svg rect.bar")), "a bar per second with a sale");
    assert!(sale_page.text("[data-testid=activity-caption]").starts_with("2 unit(s) sold in the last 60 s"));

    let dashboard = page("/admin".to_string()).await;
    let all = dashboard.attrs("#live-sales", "data-version");
    assert!(all.len() == 1 && all[0].split(',').any(|v| v == version), "{all:?}");
    let mut live = Events::open_as(app, "/api/live/admin/sales", &admin).await;
    assert_eq!(live.next().await.as_ref(), all.first(), "the stream opens on what the dashboard shows");
}

/// Open streams never hold a shutdown: they end cleanly when the server stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_ends_open_streams_cleanly() {
    let app = common::shopping::spawn(common::Db::Sqlite).await;
    let on_sale = sale(&app, 3, 1, -5, 3600).await;
    let mut events = Events::open(&app, &on_sale.to_string()).await;
    assert_eq!(events.next().await, Some(format!("{on_sale}:3")));
    let stopping = tokio::spawn(app.stop());
    assert_eq!(events.next().await, None, "the stream ends with the server");
    stopping.await.unwrap();
}
