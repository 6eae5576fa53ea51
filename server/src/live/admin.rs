//! `GET /api/live/admin/sales` and `GET /api/live/admin/sales/{id}`: what the stock gate decided
//! about the sales running now (the dashboard) or one sale (its admin page), for staff only.
//!
//! Events are `data: <version>` ([`SaleActivity::version`], joined with `,` for the dashboard):
//! the current one as the stream opens, then each change, read at most once a second; the page
//! fetches itself again and swaps the region in when the version differs from the one it shows.
//! Each stream reads for itself (the gate's counts: two Redis reads per sale, plus the live
//! sales for the dashboard): its watchers are the shop's staff, a handful. Streams end when the
//! process shuts down.

use crate::web::WebState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use shop_domain::activity::SaleActivity;
use shop_domain::Timestamp;
use std::time::Duration;
use tower_sessions::Session;

/// Staff see at most one update a second (however short `SHOP_LIVE_POLL_MS` is).
pub const ADMIN_POLL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy)]
enum Watch {
    /// Every sale live now, in the dashboard's order.
    Live,
    Sale(i64),
}

/// `GET /api/live/admin/sales`.
pub async fn live_sales(State(state): State<WebState>, session: Session) -> Response {
    follow(state, session, Watch::Live).await
}

/// `GET /api/live/admin/sales/{id}`.
pub async fn sale(State(state): State<WebState>, session: Session, Path(id): Path<String>) -> Response {
    let Some(id) = id.parse::<i64>().ok().filter(|id| *id > 0) else {
        return (StatusCode::BAD_REQUEST, "sale ids are positive numbers").into_response();
    };
    follow(state, session, Watch::Sale(id)).await
}

async fn follow(state: WebState, session: Session, watch: Watch) -> Response {
    match staff(&state, &session).await {
        Ok(true) => {}
        Ok(false) => return (StatusCode::FORBIDDEN, "This is for shop staff only.").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "live admin: reading the session failed");
            return (StatusCode::SERVICE_UNAVAILABLE, "try again in a moment").into_response();
        }
    }
    let first = match version(&state, watch).await {
        Ok(Some(v)) => v,
        Ok(None) => return (StatusCode::NOT_FOUND, "no such sale").into_response(),
        Err(e) => {
            tracing::error!(?watch, error = %e, "live admin: reading the activity failed");
            return (StatusCode::SERVICE_UNAVAILABLE, "try again in a moment").into_response();
        }
    };
    let (poll, stopped) = (state.live.poll().max(ADMIN_POLL), state.live.stopped());
    let read = move || {
        let state = state.clone();
        async move { version(&state, watch).await }
    };
    // Sales never settle: the stream runs while the page is open.
    super::versions::version_events(format!("{watch:?}"), first, poll, |_| false, stopped, read)
}

/// Whether the session's user is staff (read fresh: a demoted admin stops at once).
async fn staff(state: &WebState, session: &Session) -> Result<bool, String> {
    let Some(user_id) = session.get::<i64>(app::auth::session::USER_ID_KEY).await.map_err(|e| e.to_string())?
    else {
        return Ok(false);
    };
    let user = state.app.store.user(user_id).await.map_err(|e| e.to_string())?;
    Ok(user.is_some_and(|u| u.is_admin()))
}

/// What the page would show now, as its version; `None` for a sale that does not exist.
async fn version(state: &WebState, watch: Watch) -> Result<Option<String>, String> {
    let now = Timestamp::now();
    let app = &state.app;
    match watch {
        Watch::Sale(id) => {
            if app.store.sale(id, now).await.map_err(|e| e.to_string())?.is_none() {
                return Ok(None);
            }
            let activity = app.inventory.activity(id, 0, now).await.map_err(|e| e.to_string())?;
            Ok(Some(activity.version()))
        }
        Watch::Live => {
            let sales = app.store.admin_live_sales(now).await.map_err(|e| e.to_string())?;
            let all = app.inventory.activities(&sales, now).await.map_err(|e| e.to_string())?;
            Ok(Some(SaleActivity::versions(&all)))
        }
    }
}
