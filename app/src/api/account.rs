//! The signed-in shopper's own data: profile, password, addresses, payment methods.
//! Every function here starts with `require_user()`; other people's rows are never touched
//! (every query is scoped by the user id).

use crate::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};
use shop_domain::{Address, CurrentUser, PaymentMethod};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountData {
    pub user: CurrentUser,
    pub addresses: Vec<Address>,
    pub payment_methods: Vec<PaymentMethod>,
}

#[cfg(feature = "ssr")]
fn done(what: &str) {
    leptos_axum::redirect(&format!("/account?done={what}"));
}

/// Encrypts a card or account number for storage.
#[cfg(feature = "ssr")]
pub(crate) fn seal(state: &crate::state::AppState, digits: &str) -> Result<Vec<u8>, AppError> {
    state.secrets.encrypt(digits.as_bytes()).map_err(|e| {
        tracing::error!(error = %e, "encrypt payment number");
        AppError::Internal
    })
}

/// A validated card, ready to store: the number encrypted, only brand and last four in clear.
#[cfg(feature = "ssr")]
pub(crate) fn card_method(
    state: &crate::state::AppState,
    holder: String,
    number: &shop_domain::account::CardNumber,
    expiry: String,
) -> Result<shop_store::NewPaymentMethod, AppError> {
    Ok(shop_store::NewPaymentMethod {
        kind: shop_domain::PaymentKind::Card,
        label: number.brand().to_string(),
        holder,
        last4: number.last4(),
        expiry: Some(expiry),
        secret: seal(state, number.digits())?,
    })
}

#[cfg(feature = "ssr")]
fn parse_id(raw: &str) -> Result<i64, AppError> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|i| *i > 0)
        .ok_or_else(|| crate::api::reject(AppError::BadRequest("Unknown item.".into())))
}

/// `GET /api/account/overview`
#[server(endpoint = "account/overview", prefix = "/api", input = GetUrl)]
pub async fn account_overview() -> Result<AccountData, AppError> {
    let user = crate::auth::require_user().await?;
    let state = crate::state::app_state()?;
    let addresses = state.store.addresses(user.id).await.map_err(AppError::internal("addresses"))?;
    let payment_methods =
        state.store.payment_methods(user.id).await.map_err(AppError::internal("payment methods"))?;
    Ok(AccountData { user, addresses, payment_methods })
}

/// `POST /api/account/profile` — `name`, `phone` (may be empty).
#[server(endpoint = "account/profile", prefix = "/api")]
pub async fn update_profile(name: String, #[server(default)] phone: Option<String>) -> Result<(), AppError> {
    use shop_domain::account::{parse_name, parse_phone};
    use shop_domain::FieldErrors;
    let user = crate::auth::require_user().await?;
    let mut errors = FieldErrors::default();
    let name = errors.check("name", parse_name(&name, "your name"));
    let phone = errors.check("phone", parse_phone(phone.as_deref().unwrap_or("")));
    let (Some(name), Some(phone), true) = (name, phone, errors.is_empty()) else {
        return Err(crate::api::reject(AppError::Invalid(errors)));
    };
    let state = crate::state::app_state()?;
    state
        .store
        .update_profile(user.id, &name, phone.as_deref(), shop_domain::Timestamp::now())
        .await
        .map_err(AppError::internal("update profile"))?;
    state.signed_in.forget(user.id);
    done("profile");
    Ok(())
}

/// `POST /api/account/password` — `current_password`, `new_password`.
#[server(endpoint = "account/password", prefix = "/api")]
pub async fn change_password(current_password: String, new_password: String) -> Result<(), AppError> {
    use crate::api::reject;
    use crate::auth::password;
    use shop_domain::account::check_password;
    let user = crate::auth::require_user().await?;
    let state = crate::state::app_state()?;
    let ip = crate::state::client_ip().await;
    crate::api::auth::limit(vec![format!("password-ip:{ip}"), format!("password-user:{}", user.id)])?;
    let stored = state.store.password_hash(user.id).await.map_err(AppError::internal("password hash"))?;
    if !password::verify(current_password, stored).await {
        return Err(reject(AppError::field("current_password", "That's not your current password.")));
    }
    check_password(&new_password, &user.email, &user.username)
        .map_err(|m| reject(AppError::field("new_password", m)))?;
    let hash = password::hash(new_password).await.map_err(|_| AppError::Internal)?;
    state
        .store
        .set_password_hash(user.id, &hash, shop_domain::Timestamp::now())
        .await
        .map_err(AppError::internal("set password"))?;
    // Whoever else holds a session of this account (a stolen cookie, a forgotten browser)
    // is signed out; this browser stays signed in under a new session id.
    let ended = crate::auth::session::end_other_sessions(user.id).await?;
    tracing::info!(user_id = user.id, other_sessions_ended = ended, "password changed");
    done("password");
    Ok(())
}

/// `POST /api/account/logout-everywhere` — ends every session of this account, this one too.
#[server(endpoint = "account/logout-everywhere", prefix = "/api")]
pub async fn logout_everywhere() -> Result<(), AppError> {
    let user = crate::auth::require_user().await?;
    crate::auth::session::sign_out_everywhere(user.id).await?;
    tracing::info!(user_id = user.id, "signed out everywhere");
    leptos_axum::redirect("/login?done=signed-out");
    Ok(())
}

/// `POST /api/account/address` — `receiver`, `street`, `detail`, `zip`, `main` (checkbox).
#[server(endpoint = "account/address", prefix = "/api")]
pub async fn add_address(
    receiver: String,
    street: String,
    #[server(default)] detail: Option<String>,
    zip: String,
    #[server(default)] main: Option<String>,
) -> Result<(), AppError> {
    use shop_domain::account::{parse_name, parse_text, parse_zip};
    use shop_domain::FieldErrors;
    let user = crate::auth::require_user().await?;
    let mut errors = FieldErrors::default();
    let receiver = errors.check("receiver", parse_name(&receiver, "the receiver's name"));
    let street = errors.check("street", parse_text(&street, "the street address", 200, true));
    let detail =
        errors.check("detail", parse_text(detail.as_deref().unwrap_or(""), "the detail", 200, false));
    let zip = errors.check("zip", parse_zip(&zip));
    let (Some(receiver), Some(street), Some(detail), Some(zip), true) =
        (receiver, street, detail, zip, errors.is_empty())
    else {
        return Err(crate::api::reject(AppError::Invalid(errors)));
    };
    let state = crate::state::app_state()?;
    let make_main = matches!(main.as_deref(), Some("true" | "on" | "1"));
    state
        .store
        .add_address(
            user.id,
            &shop_store::NewAddress { receiver, street, detail, zip, make_main },
            shop_domain::Timestamp::now(),
        )
        .await
        .map_err(AppError::internal("add address"))?;
    done("address");
    Ok(())
}

/// `POST /api/account/address/main` — `id`.
#[server(endpoint = "account/address/main", prefix = "/api")]
pub async fn set_main_address(id: String) -> Result<(), AppError> {
    let user = crate::auth::require_user().await?;
    let id = parse_id(&id)?;
    let state = crate::state::app_state()?;
    if !state.store.set_main_address(user.id, id).await.map_err(AppError::internal("main address"))? {
        return Err(crate::api::reject(AppError::NotFound("Address".into())));
    }
    done("main");
    Ok(())
}

/// `POST /api/account/address/delete` — `id`.
#[server(endpoint = "account/address/delete", prefix = "/api")]
pub async fn delete_address(id: String) -> Result<(), AppError> {
    let user = crate::auth::require_user().await?;
    let id = parse_id(&id)?;
    let state = crate::state::app_state()?;
    if !state.store.delete_address(user.id, id).await.map_err(AppError::internal("delete address"))? {
        return Err(crate::api::reject(AppError::NotFound("Address".into())));
    }
    done("address-removed");
    Ok(())
}

/// `POST /api/account/card` — `holder`, `number`, `expiry` (MM/YY). The number is stored
/// encrypted; only the brand and last four digits are ever shown.
#[server(endpoint = "account/card", prefix = "/api")]
pub async fn add_card(holder: String, number: String, expiry: String) -> Result<(), AppError> {
    use shop_domain::account::{parse_expiry, parse_name, CardNumber};
    use shop_domain::{FieldErrors, Timestamp};
    let user = crate::auth::require_user().await?;
    let now = Timestamp::now();
    let mut errors = FieldErrors::default();
    let holder = errors.check("holder", parse_name(&holder, "the card holder's name"));
    let number = errors.check("number", CardNumber::parse(&number));
    let expiry = errors.check("expiry", parse_expiry(&expiry, now));
    let (Some(holder), Some(number), Some(expiry), true) = (holder, number, expiry, errors.is_empty()) else {
        return Err(crate::api::reject(AppError::Invalid(errors)));
    };
    let state = crate::state::app_state()?;
    let method = card_method(&state, holder, &number, expiry)?;
    state.store.add_payment_method(user.id, &method, now).await.map_err(AppError::internal("add card"))?;
    done("card");
    Ok(())
}

/// `POST /api/account/bank` — `bank`, `holder`, `number`.
#[server(endpoint = "account/bank", prefix = "/api")]
pub async fn add_bank_account(bank: String, holder: String, number: String) -> Result<(), AppError> {
    use shop_domain::account::{parse_name, AccountNumber};
    use shop_domain::{FieldErrors, PaymentKind, Timestamp};
    let user = crate::auth::require_user().await?;
    let mut errors = FieldErrors::default();
    let bank = errors.check("bank", parse_name(&bank, "the bank's name"));
    let holder = errors.check("holder", parse_name(&holder, "the account holder's name"));
    let number = errors.check("number", AccountNumber::parse(&number));
    let (Some(bank), Some(holder), Some(number), true) = (bank, holder, number, errors.is_empty()) else {
        return Err(crate::api::reject(AppError::Invalid(errors)));
    };
    let state = crate::state::app_state()?;
    let secret = seal(&state, number.digits())?;
    let method = shop_store::NewPaymentMethod {
        kind: PaymentKind::Bank,
        label: bank,
        holder,
        last4: number.last4(),
        expiry: None,
        secret,
    };
    state
        .store
        .add_payment_method(user.id, &method, Timestamp::now())
        .await
        .map_err(AppError::internal("add bank account"))?;
    done("bank");
    Ok(())
}

/// `POST /api/account/payment/delete` — `id`.
#[server(endpoint = "account/payment/delete", prefix = "/api")]
pub async fn delete_payment_method(id: String) -> Result<(), AppError> {
    let user = crate::auth::require_user().await?;
    let id = parse_id(&id)?;
    let state = crate::state::app_state()?;
    if !state
        .store
        .delete_payment_method(user.id, id)
        .await
        .map_err(AppError::internal("delete payment method"))?
    {
        return Err(crate::api::reject(AppError::NotFound("Payment method".into())));
    }
    done("payment-removed");
    Ok(())
}
