//! The axum router: Leptos pages and server functions, health, metrics, static assets,
//! and the middleware every request passes through.

use crate::guard;
use crate::headers;
use crate::media;
use crate::sessions::DbSessionStore;
use app::state::AppState;
use app::{shell, App};
use axum::extract::{FromRef, State};
use axum::http::{header, HeaderName, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use axum_prometheus::metrics_exporter_prometheus::PrometheusHandle;
use axum_prometheus::PrometheusMetricLayer;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::sync::OnceLock;
use std::time::Duration;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tracing::Level;

/// The stylesheet, embedded so the binary serves it from any working directory.
const STYLESHEET: &str = include_str!("../../style/main.css");

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Router state: what handlers outside Leptos need.
#[derive(Clone)]
pub struct WebState {
    pub leptos_options: LeptosOptions,
    pub app: AppState,
    pub metrics: PrometheusHandle,
    /// Remaining stock pushed to open pages.
    pub live: crate::live::StockFeed,
}

impl FromRef<WebState> for LeptosOptions {
    fn from_ref(s: &WebState) -> Self {
        s.leptos_options.clone()
    }
}

/// The Prometheus recorder is process-global; tests start several apps in one process.
///
/// Requests are labelled by their route (`/products/{id}`), and everything no route matched by
/// one `unmatched` label: a label per raw path would let anyone grow the process's memory.
fn metrics_pair() -> (PrometheusMetricLayer<'static>, PrometheusHandle) {
    static PAIR: OnceLock<(PrometheusMetricLayer<'static>, PrometheusHandle)> = OnceLock::new();
    PAIR.get_or_init(|| {
        axum_prometheus::PrometheusMetricLayerBuilder::new()
            .with_endpoint_label_type(axum_prometheus::EndpointLabel::MatchedPathWithFallbackFn(|_| {
                "unmatched".to_string()
            }))
            .with_default_metrics()
            .build_pair()
    })
    .clone()
}

/// Session cookie settings.
pub struct SessionSettings {
    pub secure: bool,
    pub idle_minutes: i64,
}

/// The app's routes, generated once per process.
///
/// `generate_route_list` renders the app with a *process-global* "suppress resource loads"
/// flag set (leptos_server's `SuppressResourceLoad`). A resource whose future is first polled
/// while that flag is up waits forever (leptos issue #4773), so a second router built while
/// another one already serves pages in the same process (the integration tests start many
/// apps in one process) could hang a page render for good. Generating the list once, before
/// any router of this process exists, means the flag is never up while a page renders.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// The shop's router, and the metrics router (served on its own listener, `SHOP_METRICS_ADDR`).
pub fn router(
    leptos_options: LeptosOptions,
    app_state: AppState,
    sessions: SessionSettings,
    buy_queue: crate::shed::BuyQueue,
    live: crate::live::StockFeed,
) -> (Router, Router) {
    let session_layer = SessionManagerLayer::new(
        DbSessionStore::new(app_state.store.clone()).handing_users_to(app_state.signed_in.clone()),
    )
    .with_name("flashmart_session")
    .with_http_only(true)
    .with_same_site(SameSite::Lax)
    .with_secure(sessions.secure)
    .with_expiry(Expiry::OnInactivity(tower_sessions::cookie::time::Duration::minutes(
        sessions.idle_minutes,
    )));
    let (metric_layer, metrics) = metrics_pair();
    let state = WebState { leptos_options: leptos_options.clone(), app: app_state.clone(), metrics, live };
    let routes = route_list();

    let page_state = app_state.clone();
    let fallback_state = app_state;
    let shell_options = leptos_options.clone();

    // Pages and server functions; `pages` is also what a failed no-JS form re-renders through.
    let pages: Router = Router::new()
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(page_state.clone()),
            move || shell(shell_options.clone()),
        )
        // Files of a built client bundle (`/pkg/…`) if present, else the app's 404 page.
        .fallback(leptos_axum::file_and_error_handler_with_context::<WebState, _>(
            move || provide_context(fallback_state.clone()),
            shell,
        ))
        .with_state(state.clone());

    let metrics = Router::new().route("/metrics", get(metrics_text)).with_state(state.clone());
    let shop = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/api/live/stock", get(crate::live::stock))
        .route("/api/live/orders/{id}", get(crate::live::order))
        .route("/api/live/admin/sales", get(crate::live::admin::live_sales))
        .route("/api/live/admin/sales/{id}", get(crate::live::admin::sale))
        .route("/style/main.css", get(stylesheet))
        .route("/media/favicon.svg", get(media::favicon))
        .route("/media/placeholder/{name}", get(media::placeholder))
        .route("/media/uploads/{name}", get(media::upload))
        .with_state(state)
        .merge(
            pages
                .clone()
                .layer(axum::middleware::from_fn_with_state(pages, guard::no_js_forms))
                .layer(axum::middleware::from_fn(guard::multipart_only))
                .layer(axum::middleware::from_fn(guard::error_status))
                .layer(axum::middleware::from_fn(guard::well_formed))
                .layer(axum::middleware::from_fn_with_state(
                    crate::sessions::renewal_interval(sessions.idle_minutes),
                    crate::sessions::keep_alive,
                ))
                // Outermost: a shed purchase is answered before its body is even read.
                .layer(axum::middleware::from_fn_with_state(buy_queue, crate::shed::buy_queue)),
        )
        .layer(session_layer)
        .layer(axum::middleware::from_fn(guard::same_origin_only))
        .layer(axum::middleware::from_fn(headers::cache_policy))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|req: &Request<_>| {
                            let id = req
                                .headers()
                                .get(&REQUEST_ID)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("-");
                            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
                        })
                        .on_response(DefaultOnResponse::new().level(Level::INFO)),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
                .layer(metric_layer)
                .layer(CompressionLayer::new())
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::X_FRAME_OPTIONS,
                    HeaderValue::from_static("DENY"),
                ))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("strict-origin-when-cross-origin"),
                ))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(headers::CONTENT_SECURITY_POLICY),
                )),
        );
    (shop, metrics)
}

/// `GET /healthz`: the process is up and serving.
async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: the database answers within a second.
async fn readyz(State(state): State<WebState>) -> Response {
    match tokio::time::timeout(Duration::from_secs(1), state.app.store.ping()).await {
        Ok(Ok(())) => "ready".into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database timed out").into_response(),
    }
}

/// `GET /metrics`: Prometheus text format.
async fn metrics_text(State(state): State<WebState>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render()).into_response()
}

async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        STYLESHEET,
    )
        .into_response()
}
