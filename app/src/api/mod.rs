//! Server functions by area. Each has a stable endpoint under `/api/` (listed in the README):
//! the pages use them, and so can any HTTP client.

pub mod account;
pub mod admin;
pub mod auth;
pub mod cart;
pub mod catalog;
pub mod checkout;
pub mod orders;

/// Records an error's status on the response, then hands the error back.
#[cfg(feature = "ssr")]
pub(crate) fn reject(err: crate::AppError) -> crate::AppError {
    crate::state::set_status(err.status());
    if let crate::AppError::TooManyRequests(secs) = &err {
        crate::state::set_header("retry-after", secs.to_string());
    }
    err
}

/// Where the no-JS form of each state-changing server function lives, so a failed submit can
/// be shown again on its page (with a 4xx status) instead of a bare error.
pub fn form_page(server_fn_path: &str) -> Option<&'static str> {
    match server_fn_path {
        "/api/signup" => Some("/signup"),
        "/api/login" => Some("/login"),
        p if p.starts_with("/api/account/") => Some("/account"),
        "/api/orders/cancel" => Some("/orders"),
        p if p.starts_with("/api/cart/") => Some("/cart"),
        p if p.starts_with("/api/wishlist/") => Some("/wishlist"),
        _ => None,
    }
}

/// [`form_page`] for forms whose page depends on the record they edit (the admin's
/// `/admin/products/{id}`…): `id` is the form's `id` field.
pub fn form_page_for(server_fn_path: &str, id: Option<&str>) -> Option<String> {
    form_page(server_fn_path).map(str::to_string).or_else(|| admin::form_page(server_fn_path, id))
}

/// A safe place to go back to after login: a local path, never another site.
pub fn safe_next(next: Option<&str>) -> Option<String> {
    let n = next?.trim();
    let ok = n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") && !n.contains(['\r', '\n']);
    ok.then(|| n.to_string())
}
