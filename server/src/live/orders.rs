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
use axum::response::{IntoResponse, Response};
use shop_domain::OrderProgress;
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
    let read = move || {
        let store = store.clone();
        async move {
            store.order_progress(user_id, id).await.map(|p| p.map(|p| p.version())).map_err(|e| e.to_string())
        }
    };
    super::versions::version_events(
        format!("order {id}"),
        first.version(),
        state.live.poll(),
        OrderProgress::settled,
        state.live.stopped(),
        read,
    )
}
