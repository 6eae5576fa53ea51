//! Signing up, in and out. All POST (form-encoded), except `me`.

use crate::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use shop_domain::CurrentUser;

/// Counts an attempt against each key of the sign-in budget (sign-up, login, password
/// reset); 429 with the wait when over budget.
#[cfg(feature = "ssr")]
pub(crate) fn limit(keys: Vec<String>) -> Result<(), AppError> {
    let state = crate::state::app_state()?;
    state.limits.auth.attempt(&keys).map_err(|secs| crate::api::reject(AppError::TooManyRequests(secs)))
}

/// `POST /api/signup` — fields `email`, `username`, `password`, `name`, optional `phone`, `next`.
/// Signed up means signed in; redirects to `next` or `/account`.
#[server(endpoint = "signup", prefix = "/api")]
pub async fn signup(
    email: String,
    username: String,
    password: String,
    name: String,
    #[server(default)] phone: Option<String>,
    #[server(default)] next: Option<String>,
) -> Result<(), AppError> {
    use crate::api::{reject, safe_next};
    use crate::auth::{password, session};
    use shop_domain::account::{check_password, parse_name, parse_phone, Email, Username};
    use shop_domain::{FieldErrors, Role, Timestamp};
    use shop_store::{CreateUserError, NewUser};

    let ip = crate::state::client_ip().await;
    limit(vec![format!("signup-ip:{ip}"), format!("signup-email:{}", email.trim().to_lowercase())])?;

    let mut errors = FieldErrors::default();
    let email_v = errors.check("email", Email::parse(&email));
    let username_v = errors.check("username", Username::parse(&username));
    errors.check("password", check_password(&password, &email, &username));
    let name_v = errors.check("name", parse_name(&name, "your name"));
    let phone_v = errors.check("phone", parse_phone(phone.as_deref().unwrap_or("")));
    let (Some(email), Some(username), Some(name), Some(phone), true) =
        (email_v, username_v, name_v, phone_v, errors.is_empty())
    else {
        return Err(reject(AppError::Invalid(errors)));
    };

    let state = crate::state::app_state()?;
    let hash = password::hash(password).await.map_err(|_| AppError::Internal)?;
    let user = NewUser {
        email: email.as_str().to_string(),
        username: username.as_str().to_string(),
        password_hash: hash,
        name,
        phone,
        role: Role::Customer,
        email_verified: false,
    };
    let id = match state.store.create_user(&user, Timestamp::now()).await {
        Ok(id) => id,
        Err(CreateUserError::DuplicateEmail) => {
            return Err(reject(AppError::field("email", "This email is already registered. Log in instead?")))
        }
        Err(CreateUserError::DuplicateUsername) => {
            return Err(reject(AppError::field(
                "username",
                "This username is already registered. Pick another.",
            )))
        }
        Err(CreateUserError::Store(e)) => return Err(AppError::internal("signup")(e)),
    };
    session::sign_in(id).await?;
    tracing::info!(user_id = id, "signed up");
    // The address is verified by the code this mails (committed with its own row; a failure
    // here leaves the account page's "Send a new code").
    if let Err(e) = crate::api::verification::send_code(&state, id).await {
        tracing::warn!(user_id = id, error = %e, "signup: the verification mail was not queued");
    }
    leptos_axum::redirect(&safe_next(next.as_deref()).unwrap_or_else(|| "/account".to_string()));
    Ok(())
}

/// `POST /api/login` — fields `login` (email or username), `password`, optional `next`.
/// The same message, and the same work, whether the account exists or not.
#[server(endpoint = "login", prefix = "/api")]
pub async fn login(
    login: String,
    password: String,
    #[server(default)] next: Option<String>,
) -> Result<(), AppError> {
    use crate::api::{reject, safe_next};
    use crate::auth::{password as pw, session};

    let ip = crate::state::client_ip().await;
    limit(vec![format!("login-ip:{ip}")])?;
    if login.trim().is_empty() || password.is_empty() {
        return Err(reject(AppError::Unauthorized("Enter your email or username and your password.".into())));
    }
    let state = crate::state::app_state()?;
    let found = state.store.credentials(&login).await.map_err(AppError::internal("login lookup"))?;
    // One budget per account, whichever of its names was typed; an unknown name has its own.
    limit(vec![match &found {
        Some((id, _)) => format!("login-account:#{id}"),
        None => format!("login-name:{}", login.trim().to_lowercase()),
    }])?;
    let (id, hash) = match found {
        Some((id, hash)) => (Some(id), Some(hash)),
        None => (None, None),
    };
    if !pw::verify(password, hash).await {
        return Err(reject(AppError::Unauthorized("Wrong email/username or password.".into())));
    }
    let id = id.ok_or(AppError::Internal)?;
    session::sign_in(id).await?;
    tracing::info!(user_id = id, "logged in");
    leptos_axum::redirect(&safe_next(next.as_deref()).unwrap_or_else(|| "/".to_string()));
    Ok(())
}

/// `POST /api/logout` — ends the session (server side and cookie), back to the home page.
#[server(endpoint = "logout", prefix = "/api")]
pub async fn logout() -> Result<(), AppError> {
    crate::auth::session::sign_out().await?;
    leptos_axum::redirect("/");
    Ok(())
}

/// `GET /api/me` — the signed-in user, or `null`.
#[server(endpoint = "me", prefix = "/api", input = GetUrl)]
pub async fn me() -> Result<Option<CurrentUser>, AppError> {
    crate::auth::current_user().await
}
