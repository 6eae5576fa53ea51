//! Server functions by area. Each has a stable endpoint under `/api/` (listed in the README):
//! the pages use them, and so can any HTTP client.

pub mod account;
pub mod admin;
pub mod auth;
pub mod cart;
pub mod catalog;
pub mod checkout;
pub mod orders;
pub mod password_reset;
pub mod verification;

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
        "/api/password/forgot" => Some("/forgot-password"),
        "/api/verify-email" => Some("/verify-email"),
        // Product pages hold these forms (and the reset page its link's token): the Referer.
        "/api/cart/add" | "/api/wishlist/add" | "/api/buy/product" | "/api/password/reset" => None,
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

/// A safe place to go back to after login: a path on this site, never another one.
///
/// Only a plain absolute path is taken: it starts with one `/`, and every character is
/// printable ASCII other than `\`. Browsers drop tabs and newlines from URLs and read `\` as
/// `/`, so `/\t/evil.example` or `/\evil.example` would become `//evil.example`, another site.
pub fn safe_next(next: Option<&str>) -> Option<String> {
    let n = next?;
    let printable = n.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    let path_only = n.starts_with('/') && !n.starts_with("//");
    (printable && path_only).then(|| n.to_string())
}

/// Counts one order or cart write by this shopper against their budgets (per account and per
/// client IP); 429 with `Retry-After` when over.
#[cfg(feature = "ssr")]
pub(crate) async fn throttle(kind: crate::auth::Write, user_id: i64) -> Result<(), crate::AppError> {
    let state = crate::state::app_state()?;
    let ip = crate::state::client_ip().await;
    state.limits.write(kind, user_id, &ip).map_err(|secs| reject(crate::AppError::TooManyRequests(secs)))
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_is_a_local_path_only() {
        for ok in ["/", "/account", "/products?q=tea&page=2", "/orders/7#top", "/a%2F%2Fb"] {
            assert_eq!(safe_next(Some(ok)).as_deref(), Some(ok), "{ok}");
        }
        for bad in [
            "//evil.example/x",
            "/\\evil.example",
            "/\t/evil.example/x",
            "/\n/evil.example",
            "/ /evil.example",
            "\\\\evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "evil.example",
            "/caf\u{e9}",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), None, "{bad:?}");
        }
        assert_eq!(safe_next(None), None);
    }
}
