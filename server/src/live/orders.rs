//! `GET /api/live/orders/{id}`: an order's progress, pushed to its buyer's page while the saga
//! runs, so the timeline grows without a reload.
//!
//! Only the order's buyer may follow it (anyone else gets the same 404 as for an order that
//! does not exist). Events are `data: <version>` ([`OrderProgress::version`], e.g. `PAID:3:1`):
//! the current one as the stream opens, then each change, read every poll; the page renders
//! itself again when the version differs from the one it shows. The stream ends after the
//! order settles (delivered, failed, cancelled), and when the process shuts down.
//!
//! Unlike sale stock (one watcher per sale, shared by every page), each stream reads its own
//! order: an order has one watcher, its buyer, and the read is one indexed row.

use crate::web::WebState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use shop_domain::OrderProgress;
use std::convert::Infallible;
use tower_sessions::Session;

/// `GET /api/live/orders/{id}`.
pub async fn order(State(state): State<WebState>, session: Session, Path(id): Path<String>) -> Response {
    let Some(id) = id.parse::<i64>().ok().filter(|id| *id > 0) else {
        return (StatusCode::BAD_REQUEST, "order ids are positive numbers").into_response();
    };
    let user_id = match session.get::<i64>(app::auth::session::USER_ID_KEY).await {
        Ok(Some(user_id)) => user_id,
        Ok(None) => return (StatusCode::UNAUTHORIZED, "please log in").into_response(),
        Err(e) => {
            tracing::error!(order_id = id, error = %e, "live order: reading the session failed");
            return (StatusCode::SERVICE_UNAVAILABLE, "try again in a moment").into_response();
        }
    };
    let store = state.app.store.clone();
    let first = match store.order_progress(user_id, id).await {
        Ok(Some(progress)) => progress,
        Ok(None) => return (StatusCode::NOT_FOUND, "no such order").into_response(),
        Err(e) => {
            tracing::error!(order_id = id, error = %e, "live order: reading the order failed");
            return (StatusCode::SERVICE_UNAVAILABLE, "try again in a moment").into_response();
        }
    };
    // The first read is the one just made: the next is one poll from now (a plain `interval`
    // would tick at once and read the order twice as the stream opens).
    let poll = state.live.poll();
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + poll, poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let start = Follow { next: Some(first), last: None, tick };
    let versions = futures::stream::unfold(start, move |mut f| {
        let store = store.clone();
        async move {
            if f.last.is_some_and(|last| last.status.is_final()) {
                return None;
            }
            loop {
                let progress = match f.next.take() {
                    Some(progress) => progress,
                    None => {
                        f.tick.tick().await;
                        match store.order_progress(user_id, id).await {
                            Ok(Some(progress)) => progress,
                            Ok(None) => return None,
                            Err(e) => {
                                tracing::warn!(order_id = id, error = %e, "live order: reading the order failed");
                                continue;
                            }
                        }
                    }
                };
                if f.last != Some(progress) {
                    f.last = Some(progress);
                    return Some((progress.version(), f));
                }
            }
        }
    });
    let events = versions
        .map(|version| Ok::<_, Infallible>(Event::default().data(version)))
        .take_until(state.live.stopped().cancelled_owned());
    Sse::new(events).keep_alive(KeepAlive::default()).into_response()
}

struct Follow {
    /// Read before the stream opened (so a missing order is a 404, not an empty stream).
    next: Option<OrderProgress>,
    last: Option<OrderProgress>,
    tick: tokio::time::Interval,
}
