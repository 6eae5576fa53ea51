//! "Forgot your password?": a single-use link by mail, valid [`LINK_MINUTES`]; using it sets a
//! new password, ends every session of the account and signs this browser in fresh. The link's
//! token is stored only as a hash (`shop_security::tokens`), and asking gets the same answer
//! whether or not an account has the address.

use crate::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

/// How long a reset link works.
pub const LINK_MINUTES: i64 = 30;
/// Links one account may be sent per hour (more asks are answered the same, and send nothing).
pub const LINKS_PER_HOUR: i64 = 5;

/// `POST /api/password/forgot` — field `email`. Always answers "if an account uses that
/// address, a link is on its way" (redirects to `/forgot-password?done=sent`).
#[server(endpoint = "password/forgot", prefix = "/api")]
pub async fn forgot_password(email: String) -> Result<(), AppError> {
    use crate::api::reject;
    use shop_domain::account::Email;
    use shop_domain::Timestamp;

    let email = Email::parse(&email).map_err(|m| reject(AppError::field("email", m)))?;
    let ip = crate::state::client_ip().await;
    crate::api::auth::limit(vec![format!("forgot-ip:{ip}"), format!("forgot-email:{}", email.as_str())])?;
    let state = crate::state::app_state()?;
    let (token, hash) = shop_security::tokens::new_token();
    let now = Timestamp::now();
    let sender = state.mail.sender();
    let sent = state
        .store
        .request_password_reset(
            email.as_str(),
            &hash,
            now.plus_secs(LINK_MINUTES * 60),
            LINKS_PER_HOUR,
            |user| sender.password_reset(&user.email, &user.name, &token, LINK_MINUTES),
            now,
        )
        .await
        .map_err(AppError::internal("password reset request"))?;
    // Which addresses have accounts is nobody's business: the log keeps no address either.
    tracing::info!(sent, "password reset asked for");
    leptos_axum::redirect("/forgot-password?done=sent");
    Ok(())
}

/// `GET /api/password/reset-link?token=` — whether a reset link still works (the page shows
/// its form only then).
#[server(endpoint = "password/reset-link", prefix = "/api", input = GetUrl)]
pub async fn reset_link_works(token: String) -> Result<bool, AppError> {
    let state = crate::state::app_state()?;
    let hash = shop_security::tokens::token_hash(token.trim());
    Ok(state
        .store
        .reset_link_user(&hash, shop_domain::Timestamp::now())
        .await
        .map_err(AppError::internal("reset link"))?
        .is_some())
}

/// `POST /api/password/reset` — fields `token`, `new_password`. Sets the password, ends every
/// session of the account, signs this browser in and opens `/account?done=password-reset`.
/// 400 for a link that does not work (unknown, used, expired) or a weak password.
#[server(endpoint = "password/reset", prefix = "/api")]
pub async fn reset_password(token: String, new_password: String) -> Result<(), AppError> {
    use crate::api::reject;
    use crate::auth::{password, session};
    use shop_domain::account::check_password;
    use shop_domain::Timestamp;
    use shop_store::ResetOutcome;

    let ip = crate::state::client_ip().await;
    crate::api::auth::limit(vec![format!("reset-ip:{ip}")])?;
    let state = crate::state::app_state()?;
    let hash = shop_security::tokens::token_hash(token.trim());
    let expired = || reject(AppError::BadRequest("This link has expired or was used already. Ask for a new one.".into()));
    let user = state
        .store
        .reset_link_user(&hash, Timestamp::now())
        .await
        .map_err(AppError::internal("reset link"))?
        .ok_or_else(expired)?;
    check_password(&new_password, &user.email, &user.username)
        .map_err(|m| reject(AppError::field("new_password", m)))?;
    let new_hash = password::hash(new_password).await.map_err(|_| AppError::Internal)?;
    match state.store.reset_password(&hash, &new_hash, Timestamp::now()).await.map_err(AppError::internal("reset password"))? {
        ResetOutcome::Done { user_id } => {
            // Every session of the account ended with the change; this browser starts afresh.
            session::sign_in(user_id).await?;
            tracing::info!(user_id, "password reset by mailed link");
            leptos_axum::redirect("/account?done=password-reset");
            Ok(())
        }
        // Used by a second tab a moment ago.
        ResetOutcome::Invalid => Err(expired()),
    }
}
