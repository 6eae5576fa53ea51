//! Server-side state handed to every server function through Leptos context.

use crate::auth::{Limits, SecretBox};
use leptos::prelude::*;
use shop_domain::Timestamp;
use shop_store::Store;
use std::sync::Arc;

/// Cheap to clone (one reference count): every page render and server function takes a copy
/// from context, several times a request.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Services>);

/// What [`AppState`] holds.
#[derive(Debug)]
pub struct Services {
    pub store: Store,
    /// Encrypts card and account numbers at rest.
    pub secrets: SecretBox,
    /// Attempt budgets: sign-in/up per IP and account; orders and cart writes per account and IP.
    pub limits: Limits,
    /// Moves stock between the database and the stock gate (in-memory, or Redis when
    /// `REDIS_URL` is set): every purchase, cancel and admin change goes through it.
    pub inventory: shop_store::Inventory,
    /// Where uploaded product images are stored (`$SHOP_DATA_DIR/uploads`).
    pub uploads_dir: std::path::PathBuf,
    /// Users read with their session this instant (one query resolves who is asking).
    pub signed_in: crate::auth::SignedIn,
    /// Who the shop's mails come from and where their links point (the same the store
    /// signs order mails with).
    pub mail: shop_store::MailSender,
    /// How long after delivery a return may be requested (`SHOP_RETURN_DAYS`).
    pub returns: shop_domain::returns::ReturnPolicy,
}

impl From<Services> for AppState {
    fn from(services: Services) -> AppState {
        AppState(Arc::new(services))
    }
}

impl std::ops::Deref for AppState {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.0
    }
}

impl AppState {
    pub fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// The state provided by the server; its absence is a wiring bug, reported as Internal.
pub fn app_state() -> Result<AppState, crate::AppError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from context");
        crate::AppError::Internal
    })
}

/// The client's IP address (the TCP peer).
pub async fn client_ip() -> String {
    leptos_axum::extract::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .await
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|_| "unknown".to_string())
}

/// Sets a response header (e.g. `Retry-After`).
pub fn set_header(name: &'static str, value: String) {
    if let (Some(res), Ok(v)) =
        (use_context::<leptos_axum::ResponseOptions>(), http::HeaderValue::from_str(&value))
    {
        res.insert_header(http::HeaderName::from_static(name), v);
    }
}

/// Sets the HTTP status of the current response (page or API call).
pub fn set_status(code: u16) {
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        if let Ok(status) = http::StatusCode::from_u16(code) {
            res.set_status(status);
        }
    }
}

/// A real redirect for a page render, whatever the client accepts.
pub fn page_redirect(path: &str) {
    leptos_axum::redirect(path);
    set_status(302);
}
