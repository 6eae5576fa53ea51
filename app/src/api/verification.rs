//! Email verification: a code (and a link) by mail at signup and on request; the account page
//! takes the code, the link's page confirms it. Flash-sale purchases need a verified address
//! (`checkout::buy` asks [`shop_domain::CurrentUser::email_verified`]).

use crate::AppError;
use leptos::prelude::*;

/// Sends the signed-in user a new code; the same rules as the "Send a new code" button.
#[cfg(feature = "ssr")]
pub(crate) async fn send_code(
    state: &crate::state::AppState,
    user_id: i64,
) -> Result<std::result::Result<(), i64>, AppError> {
    use shop_domain::verification::CODE_MINUTES;
    let (code, code_hash) = shop_security::tokens::new_code();
    let (token, token_hash) = shop_security::tokens::new_token();
    let sender = state.mail.sender();
    state
        .store
        .send_verification(
            user_id,
            &code_hash,
            &token_hash,
            |u| sender.verify_email(&u.email, &u.name, &code, &token, CODE_MINUTES),
            shop_domain::Timestamp::now(),
        )
        .await
        .map_err(AppError::internal("send verification"))
}

/// `POST /api/account/verification/send` — a new code by mail (at most one a minute, five an
/// hour: 429 with the wait otherwise).
#[server(endpoint = "account/verification/send", prefix = "/api")]
pub async fn send_verification() -> Result<(), AppError> {
    let user = crate::auth::require_user().await?;
    if !user.email_verified {
        let state = crate::state::app_state()?;
        if let Err(wait) = send_code(&state, user.id).await? {
            return Err(crate::api::reject(AppError::TooManyRequests(wait as u64)));
        }
    }
    leptos_axum::redirect("/account?done=code-sent");
    Ok(())
}

/// `POST /api/account/verification/check` — field `code` (6 digits). 400 with the reason next
/// to the field: wrong (with the tries left), expired, too many tries.
#[server(endpoint = "account/verification/check", prefix = "/api")]
pub async fn verify_email(code: String) -> Result<(), AppError> {
    use crate::api::reject;
    use shop_domain::verification::{parse_code, Verify};
    let user = crate::auth::require_user().await?;
    let code = parse_code(&code).map_err(|m| reject(AppError::field("code", m)))?;
    let state = crate::state::app_state()?;
    let hash = shop_security::tokens::token_hash(&code);
    match state
        .store
        .verify_email_code(user.id, &hash, shop_domain::Timestamp::now())
        .await
        .map_err(AppError::internal("verify email"))?
    {
        Verify::Verified => {
            tracing::info!(user_id = user.id, "email verified by code");
            leptos_axum::redirect("/account?done=verified");
            Ok(())
        }
        other => Err(reject(AppError::field("code", other.message()))),
    }
}

/// `POST /api/verify-email` — field `token` (from the mailed link's page). Verifies the address
/// when the link is the newest and still works; 400 otherwise.
#[server(endpoint = "verify-email", prefix = "/api")]
pub async fn confirm_email_link(token: String) -> Result<(), AppError> {
    let state = crate::state::app_state()?;
    let hash = shop_security::tokens::token_hash(token.trim());
    match state.store.verify_email_link(&hash, shop_domain::Timestamp::now()).await.map_err(AppError::internal("verify link"))? {
        Some(user_id) => {
            tracing::info!(user_id, "email verified by link");
            let signed_in = crate::auth::current_user().await?.is_some();
            leptos_axum::redirect(if signed_in { "/account?done=verified" } else { "/login?done=verified" });
            Ok(())
        }
        None => Err(crate::api::reject(AppError::BadRequest(
            "This link has expired or a newer code was sent: use the newest mail, or send a new code from your account page.".into(),
        ))),
    }
}
