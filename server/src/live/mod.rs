//! The live layer's streams (server-sent events): `GET /api/live/stock?sales=1,2,3`, remaining
//! stock pushed to open pages (this file), and `GET /api/live/orders/{id}`, an order's progress
//! pushed to its buyer's page ([`orders`]), and `GET /api/live/admin/sales[/{id}]`, what the
//! stock gate decided about live sales, pushed to staff ([`admin`]).
//!
//! One watcher per sale per process reads the count (the stock gate's, else the database's)
//! every [`POLL`] while anyone listens, and publishes it on a `watch` channel only when it
//! changed; every open page of that process reads the channel. So the backend's work per update
//! is one read per sale per process whatever the number of pages, updates are coalesced to at
//! most one per [`POLL`] (a page that falls behind gets the latest count, never a backlog), and
//! several web processes need nothing between them: each reads the shared gate (Redis).
//!
//! Every stream starts with counts read as it opens, so a reconnect (the browser's own, after a drop)
//! needs no `Last-Event-ID`. Events are `data: <sale id>:<units left>`. Streams end when the
//! process shuts down, so they never hold a graceful shutdown open.

use crate::web::WebState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};
use serde::Deserialize;
use shop_domain::gate::GateItem;
use shop_domain::Timestamp;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

pub mod admin;
mod orders;
mod versions;
pub use orders::order;

/// How often a watched sale's count is read by default (`SHOP_LIVE_POLL_MS`): a page gets at
/// most one update per interval.
pub const POLL: Duration = Duration::from_millis(250);

/// Most sales one stream may watch (a home page shows 6).
pub const MAX_SALES: usize = 24;

/// The per-process registry of watched sales.
#[derive(Clone)]
pub struct StockFeed {
    inner: Arc<Inner>,
}

struct Inner {
    app: app::state::AppState,
    poll: Duration,
    sales: Mutex<HashMap<i64, watch::Sender<Option<i64>>>>,
    stop: CancellationToken,
}

impl StockFeed {
    /// `stop` ends every stream (cancelled when the server shuts down).
    pub fn new(app: app::state::AppState, poll: Duration, stop: CancellationToken) -> StockFeed {
        StockFeed { inner: Arc::new(Inner { app, poll, sales: Mutex::new(HashMap::new()), stop }) }
    }

    /// How often watched values are read.
    pub fn poll(&self) -> Duration {
        self.inner.poll
    }

    /// Cancelled when the process shuts down: every stream ends with it.
    pub fn stopped(&self) -> CancellationToken {
        self.inner.stop.clone()
    }

    /// A receiver of sale `id`'s count, starting its watcher if nobody watched it yet.
    fn subscribe(&self, id: i64) -> watch::Receiver<Option<i64>> {
        let mut sales = self.inner.sales.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = sales.get(&id) {
            return tx.subscribe();
        }
        let (tx, rx) = watch::channel(None);
        sales.insert(id, tx.clone());
        tokio::spawn(watch_sale(self.inner.clone(), id, tx));
        rx
    }
}

/// Reads sale `id`'s count every poll until nobody listens (or the process stops).
async fn watch_sale(inner: Arc<Inner>, id: i64, tx: watch::Sender<Option<i64>>) {
    let mut tick = tokio::time::interval(inner.poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = inner.stop.cancelled() => break,
        }
        {
            // Checked under the registry's lock, so a page subscribing now either finds this
            // watcher still registered or starts a new one.
            let mut sales = inner.sales.lock().unwrap_or_else(|e| e.into_inner());
            if tx.receiver_count() == 0 {
                sales.remove(&id);
                return;
            }
        }
        if let Some(left) = units_left(&inner.app, id).await {
            tx.send_if_modified(|seen| {
                let changed = *seen != Some(left);
                *seen = Some(left);
                changed
            });
        }
    }
    inner.sales.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
}

/// The gate's count when it holds the sale (it moves first), else the database's.
async fn units_left(app: &app::state::AppState, id: i64) -> Option<i64> {
    if let Some(left) = app.inventory.available(GateItem::Sale(id)).await {
        return Some(left.max(0));
    }
    match app.store.sale(id, Timestamp::now()).await {
        Ok(found) => found.map(|s| s.summary.remaining()),
        Err(e) => {
            tracing::warn!(sale = id, error = %e, "live stock: reading the sale failed");
            None
        }
    }
}

#[derive(Deserialize)]
pub struct StockQuery {
    sales: Option<String>,
}

/// Parses `1,2,3`: positive ids, at least one, at most [`MAX_SALES`], duplicates dropped.
fn parse_sales(raw: Option<&str>) -> Result<Vec<i64>, &'static str> {
    let raw = raw.map(str::trim).filter(|r| !r.is_empty()).ok_or("name at least one sale: ?sales=1,2")?;
    let mut ids = Vec::new();
    for part in raw.split(',') {
        let id =
            part.trim().parse::<i64>().ok().filter(|id| *id > 0).ok_or("sale ids are positive numbers")?;
        if !ids.contains(&id) {
            ids.push(id);
        }
        if ids.len() > MAX_SALES {
            return Err("at most 24 sales per stream");
        }
    }
    Ok(ids)
}

/// `GET /api/live/stock?sales=1,2`.
pub async fn stock(State(state): State<WebState>, Query(q): Query<StockQuery>) -> Response {
    let ids = match parse_sales(q.sales.as_deref()) {
        Ok(ids) => ids,
        Err(message) => return (StatusCode::BAD_REQUEST, message).into_response(),
    };
    // Only sales that exist get a watcher (an unknown id would watch nothing forever).
    let now = Timestamp::now();
    let mut known = Vec::with_capacity(ids.len());
    for id in ids {
        match state.app.store.sale(id, now).await {
            Ok(Some(_)) => known.push(id),
            Ok(None) => {}
            Err(e) => {
                tracing::error!(sale = id, error = %e, "live stock: reading the sale failed");
                return (StatusCode::SERVICE_UNAVAILABLE, "try again in a moment").into_response();
            }
        }
    }
    if known.is_empty() {
        return (StatusCode::NOT_FOUND, "no such sale").into_response();
    }
    let feed = state.live.clone();
    let mut streams = Vec::with_capacity(known.len());
    for id in known {
        // Subscribed before the read, so no change after the read is missed; the read makes
        // the first event current even when the watcher last read up to a poll ago.
        let rx = feed.subscribe(id);
        streams.push(counts(id, units_left(&state.app, id).await, rx).boxed());
    }
    let events = futures::stream::select_all(streams)
        .map(|(id, left)| Ok::<_, Infallible>(Event::default().data(format!("{id}:{left}"))))
        .take_until(feed.inner.stop.clone().cancelled_owned());
    Sse::new(events).keep_alive(KeepAlive::default()).into_response()
}

/// Sale `id`'s counts: `fresh` (read as the stream opened) or else the watcher's latest, then
/// each change the watcher publishes (never the same count twice in a row: the watcher's first
/// read after a fresh one is usually the same count).
fn counts(
    id: i64,
    fresh: Option<i64>,
    mut rx: watch::Receiver<Option<i64>>,
) -> impl Stream<Item = (i64, i64)> + Send {
    if fresh.is_some() {
        rx.mark_unchanged();
    }
    let first = futures::stream::iter(fresh.map(|left| (id, left)));
    let changes = futures::stream::unfold((rx, fresh), move |(mut rx, mut last)| async move {
        if last.is_some() {
            rx.changed().await.ok()?;
        }
        loop {
            let seen = *rx.borrow_and_update();
            if let Some(left) = seen.filter(|left| last != Some(*left)) {
                last = Some(left);
                return Some(((id, left), (rx, last)));
            }
            rx.changed().await.ok()?;
        }
    });
    first.chain(changes)
}

#[cfg(test)]
mod tests {
    use super::parse_sales;

    #[test]
    fn sale_lists_parse_or_say_why_not() {
        assert_eq!(parse_sales(Some("3, 1,3")), Ok(vec![3, 1]));
        assert!(parse_sales(None).is_err());
        assert!(parse_sales(Some(" ")).is_err());
        assert!(parse_sales(Some("1,x")).is_err());
        assert!(parse_sales(Some("0")).is_err());
        assert!(parse_sales(Some("-4")).is_err());
        let many = (1..=25).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
        assert!(parse_sales(Some(&many)).is_err());
    }
}
