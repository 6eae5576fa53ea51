//! The one application error that crosses the server-function boundary.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

pub type Result<T, E = AppError> = std::result::Result<T, E>;

/// What a shopper (or an API client) is told when something cannot be done. Messages are
/// written for people; internals are logged on the server and never put in here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// The request itself is wrong (bad parameter, malformed body): 400.
    #[error("{0}")]
    BadRequest(String),
    /// A submitted form has problems, listed per field: 400.
    #[error("Please correct the highlighted fields.")]
    Invalid(shop_domain::FieldErrors),
    /// Not signed in, or wrong credentials: 401.
    #[error("{0}")]
    Unauthorized(String),
    /// Signed in, but not allowed (or a cross-site request): 403.
    #[error("{0}")]
    Forbidden(String),
    /// The request is fine but the shop's state refuses it (sold out, over the limit, sale not
    /// live, order already shipped): 409.
    #[error("{0}")]
    Conflict(String),
    /// A dependency (the stock gate) is down: 503. Nothing was taken.
    #[error("{0}")]
    Unavailable(String),
    /// Too many attempts: 429.
    #[error("Too many attempts, try again in {0} s.")]
    TooManyRequests(u64),
    /// The thing asked for does not exist: 404. The string names it ("Product").
    #[error("{0} not found")]
    NotFound(String),
    /// Our fault: 500. Details are in the server log, tagged with the request id.
    #[error("Something went wrong on our side. Please try again in a moment.")]
    Internal,
    /// The browser could not reach the server or understand its answer.
    #[error("Could not reach the shop. Check your connection and try again.")]
    Unreachable,
}

impl AppError {
    pub fn status(&self) -> u16 {
        match self {
            AppError::BadRequest(_) | AppError::Invalid(_) => 400,
            AppError::Unauthorized(_) => 401,
            AppError::Forbidden(_) => 403,
            AppError::TooManyRequests(_) => 429,
            AppError::Conflict(_) => 409,
            AppError::Unavailable(_) => 503,
            AppError::NotFound(_) => 404,
            AppError::Internal => 500,
            AppError::Unreachable => 503,
        }
    }

    /// One field's problem, as a form error.
    pub fn field(field: &str, message: impl Into<String>) -> AppError {
        AppError::Invalid(shop_domain::FieldErrors::single(field, message))
    }

    /// The message for one field, when this is a form error.
    pub fn field_message(&self, field: &str) -> Option<String> {
        match self {
            AppError::Invalid(errors) => errors.get(field).map(str::to_string),
            _ => None,
        }
    }

    /// Logs a server-side failure with its context and returns the opaque [`AppError::Internal`].
    #[cfg(feature = "ssr")]
    pub fn internal(context: &'static str) -> impl FnOnce(shop_store::StoreError) -> AppError {
        move |err| {
            tracing::error!(error = %err, context, "internal error");
            AppError::Internal
        }
    }
}

impl From<shop_domain::QueryError> for AppError {
    fn from(e: shop_domain::QueryError) -> Self {
        AppError::BadRequest(e.to_string())
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // The caller sent something we could not parse: their mistake, say what it was.
            ServerFnErrorErr::Args(msg) | ServerFnErrorErr::Deserialization(msg) => {
                AppError::BadRequest(format!("The request could not be read: {msg}"))
            }
            ServerFnErrorErr::MissingArg(arg) => AppError::BadRequest(format!("Missing field: {arg}")),
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => AppError::Unreachable,
            _ => AppError::Internal,
        }
    }
}
