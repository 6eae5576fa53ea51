//! Who is signed in: the user id lives in the tower-sessions session; the user is read with the
//! session in one query (see [`super::signed_in`]), so a role change or profile edit shows on the
//! next request.

use crate::state::app_state;
use crate::AppError;
use shop_domain::CurrentUser;
use std::collections::HashMap;
use tower_sessions::Session;

pub const USER_ID_KEY: &str = "user_id";

/// Values a browser without JavaScript submitted in a form that failed validation, so the
/// re-rendered form keeps them. Passwords are never included.
#[derive(Debug, Clone, Default)]
pub struct FormEcho(pub HashMap<String, String>);

pub async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>().await.map_err(|e| {
        tracing::error!(error = %e, "session layer missing");
        AppError::Internal
    })
}

fn session_err(e: tower_sessions::session::Error) -> AppError {
    tracing::error!(error = %e, "session store");
    AppError::Internal
}

/// The signed-in user, if any.
pub async fn current_user() -> Result<Option<CurrentUser>, AppError> {
    let session = session().await?;
    let Some(id) = session.get::<i64>(USER_ID_KEY).await.map_err(session_err)? else {
        return Ok(None);
    };
    let state = app_state()?;
    if let Some(user) = state.signed_in.fresh(id) {
        return Ok(Some(user));
    }
    let user = state.store.user(id).await.map_err(AppError::internal("load current user"))?;
    if user.is_none() {
        // The account is gone: forget it.
        session.flush().await.map_err(session_err)?;
    }
    Ok(user)
}

/// The signed-in user, or 401 "Please log in".
pub async fn require_user() -> Result<CurrentUser, AppError> {
    current_user()
        .await?
        .ok_or_else(|| crate::api::reject(AppError::Unauthorized("Please log in to continue.".into())))
}

/// A signed-in admin, or 403 for everyone else, anonymous callers included (an admin
/// function never tells a stranger more than "not for you"). Every admin server function
/// starts with this. Admin *pages* check the visitor first, so an anonymous visitor is sent
/// to the login page instead.
pub async fn require_admin() -> Result<CurrentUser, AppError> {
    match current_user().await? {
        Some(user) if user.is_admin() => Ok(user),
        _ => Err(crate::api::reject(AppError::Forbidden("This is for shop staff only.".into()))),
    }
}

/// Starts an authenticated session under a new id (no session fixation).
pub async fn sign_in(user_id: i64) -> Result<(), AppError> {
    let session = session().await?;
    session.cycle_id().await.map_err(session_err)?;
    session.insert(USER_ID_KEY, user_id).await.map_err(session_err)?;
    Ok(())
}

/// After a credential change: ends every session of the user, then keeps this one signed in
/// under a new id (it is written again when this response is sent).
pub async fn end_other_sessions(user_id: i64) -> Result<u64, AppError> {
    let ended =
        app_state()?.store.delete_user_sessions(user_id).await.map_err(AppError::internal("end sessions"))?;
    sign_in(user_id).await?;
    Ok(ended.saturating_sub(1))
}

/// Ends every session of the user, this one included.
pub async fn sign_out_everywhere(user_id: i64) -> Result<(), AppError> {
    app_state()?.store.delete_user_sessions(user_id).await.map_err(AppError::internal("end sessions"))?;
    sign_out().await
}

/// Destroys the session, server side and cookie.
pub async fn sign_out() -> Result<(), AppError> {
    session().await?.flush().await.map_err(session_err)
}

/// The form values echoed back to a failed no-JS submit (server side only).
pub fn form_echo() -> Option<FormEcho> {
    leptos::prelude::use_context::<http::request::Parts>()
        .and_then(|p| p.extensions.get::<FormEcho>().cloned())
}
