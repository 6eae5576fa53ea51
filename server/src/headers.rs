//! Response headers every answer gets: the Content-Security-Policy and the cache policy.
//!
//! The policy (`app::csp`) allows only this origin's files; a page that loads the client
//! bundle sets its own, with the nonce of its one inline script.
//! Pages and answers that belong to one shopper (account, orders, cart, checkout, admin) are
//! `no-store`: no browser or proxy keeps them. Every other page greets the signed-in visitor by
//! name in its header, so it is `private`: a shared cache never serves it to someone else.

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

pub use app::csp::CONTENT_SECURITY_POLICY;

/// Paths (and everything under them) whose answers belong to one signed-in person.
const PERSONAL: &[&str] = &[
    "/account",
    "/orders",
    "/cart",
    "/wishlist",
    "/admin",
    "/login",
    "/signup",
    // Their URLs carry one-time tokens: never kept by a cache.
    "/forgot-password",
    "/reset-password",
    "/verify-email",
    "/api/password",
    "/api/verify-email",
    "/api/account",
    "/api/orders",
    "/api/order",
    "/api/cart",
    "/api/wishlist",
    "/api/checkout",
    "/api/buy",
    "/api/admin",
    "/api/me",
    "/api/login",
    "/api/signup",
    "/api/logout",
];

fn is_personal(path: &str) -> bool {
    PERSONAL.iter().any(|p| path == *p || path.strip_prefix(p).is_some_and(|rest| rest.starts_with('/')))
}

/// Sets `Cache-Control` where the handler did not.
pub async fn cache_policy(req: Request, next: Next) -> Response {
    let personal = is_personal(req.uri().path());
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    if personal {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    } else if !headers.contains_key(header::CACHE_CONTROL)
        && headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("text/html"))
    {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::is_personal;

    #[test]
    fn personal_paths() {
        for p in
            ["/account", "/orders/7", "/admin", "/admin/products/3", "/api/order", "/api/cart/add", "/api/me", "/reset-password", "/verify-email", "/api/password/reset"]
        {
            assert!(is_personal(p), "{p}");
        }
        for p in ["/", "/products", "/products/7", "/sales/1", "/api/products", "/accounts-x", "/ordersx"] {
            assert!(!is_personal(p), "{p}");
        }
    }
}
