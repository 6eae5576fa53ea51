//! Request guards that sit in front of every route.
//!
//! - `same_origin_only`: a state-changing request (anything but GET/HEAD/OPTIONS) whose
//!   `Origin` (or, without one, `Referer`) names another site is refused with 403. Browsers send
//!   `Origin` on every cross-site POST, so a forged form on another site cannot act for a user.
//! - `no_js_forms`: when a browser without JavaScript posts a form to a server function and it
//!   fails, Leptos answers with a redirect carrying the error. This turns that into the form's
//!   page rendered directly, with the error's 4xx status and the values the user typed (never
//!   passwords), so nothing typed lands in a URL. File uploads (`multipart/form-data`) are
//!   streamed through unread: their page comes from the Referer and nothing is echoed.
//! - `multipart_only`: the upload functions take only `multipart/form-data`; anything else is
//!   answered 415 before the function runs (its decoder would otherwise fail without a reason).
//! - `well_formed`: a query string or form body that is not UTF-8 or holds a control character
//!   (NUL above all: PostgreSQL refuses it in text, SQLite's FTS5 chokes on it) is answered 400;
//!   a form endpoint sent anything but a form (JSON, multipart) 415; a form over 64 KiB 413.
//!   Nothing runs, so nothing changes.
//! - `error_status`: a server function that fails before its body runs (its arguments could not
//!   be read) answers with Leptos' default 500; the status is set from the error instead, so a
//!   client's mistake is never reported as the shop's.

use app::auth::FormEcho;
use app::AppError;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine;
use std::collections::HashMap;
use std::net::SocketAddr;
use tower::ServiceExt;

/// Largest form a browser may post (file uploads are streamed, not read here).
const MAX_FORM_BYTES: usize = 64 * 1024;
/// How much of a too-large form is read and dropped before answering 413.
const DRAIN_BYTES: usize = 8 * 1024 * 1024;

/// Whether the request's `Content-Type` is `media_type` (any parameters, any case).
fn has_content_type(req: &Request, media_type: &str) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with(media_type))
}

fn is_multipart(req: &Request) -> bool {
    has_content_type(req, "multipart/form-data")
}

pub async fn multipart_only(req: Request, next: Next) -> Response {
    if req.method() == Method::POST
        && app::api::admin::MULTIPART_ENDPOINTS.contains(&req.uri().path())
        && !is_multipart(&req)
    {
        let body =
            serde_json::to_string(&AppError::BadRequest("Send this form as multipart/form-data.".into()))
                .unwrap_or_default();
        return (StatusCode::UNSUPPORTED_MEDIA_TYPE, [(header::CONTENT_TYPE, "application/json")], body)
            .into_response();
    }
    next.run(req).await
}

fn json_error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::to_string(&AppError::BadRequest(message.into())).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Whether every name and value of a `application/x-www-form-urlencoded` text (a query string
/// or a form body) decodes to UTF-8 without control characters (tab and line breaks allowed).
fn check_urlencoded(raw: &[u8]) -> Result<(), &'static str> {
    for part in raw.split(|b| *b == b'&' || *b == b'=') {
        let plus_as_space: Vec<u8> = part.iter().map(|b| if *b == b'+' { b' ' } else { *b }).collect();
        let decoded: Vec<u8> = percent_encoding::percent_decode(&plus_as_space).collect();
        let text = std::str::from_utf8(&decoded).map_err(|_| "The request is not valid UTF-8 text.")?;
        if text.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) {
            return Err("The request contains a control character.");
        }
    }
    Ok(())
}

fn is_form(req: &Request) -> bool {
    has_content_type(req, "application/x-www-form-urlencoded")
}

/// A form body of at most [`MAX_FORM_BYTES`]; `None` when larger (or unreadable). A larger body
/// is still read (and dropped) up to [`DRAIN_BYTES`], so the client finishes sending and reads
/// the 413 instead of a broken connection.
async fn read_form(body: Body) -> Option<axum::body::Bytes> {
    use futures::StreamExt;
    let mut stream = body.into_data_stream();
    let (mut kept, mut seen) = (Vec::new(), 0usize);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.ok()?;
        seen += chunk.len();
        if seen <= MAX_FORM_BYTES {
            kept.extend_from_slice(&chunk);
        } else if seen > DRAIN_BYTES {
            return None;
        }
    }
    (seen <= MAX_FORM_BYTES).then(|| kept.into())
}

pub async fn well_formed(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    if let Some(q) = req.uri().query() {
        if let Err(message) = check_urlencoded(q.as_bytes()) {
            return if api {
                json_error(StatusCode::BAD_REQUEST, message)
            } else {
                (StatusCode::BAD_REQUEST, message).into_response()
            };
        }
    }
    if req.method() != Method::POST
        || !api
        || app::api::admin::MULTIPART_ENDPOINTS.contains(&req.uri().path())
    {
        return next.run(req).await;
    }
    let has_type = req.headers().contains_key(header::CONTENT_TYPE);
    if has_type && !is_form(&req) {
        return json_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Send this as a form (application/x-www-form-urlencoded).",
        );
    }
    let (parts, body) = req.into_parts();
    let Some(bytes) = read_form(body).await else {
        return json_error(StatusCode::PAYLOAD_TOO_LARGE, "That form is too large.");
    };
    if !has_type && !bytes.is_empty() {
        return json_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Send this as a form (application/x-www-form-urlencoded).",
        );
    }
    if let Err(message) = check_urlencoded(&bytes) {
        return json_error(StatusCode::BAD_REQUEST, message);
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

pub async fn error_status(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let res = next.run(req).await;
    if !api || res.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "Internal error").into_response();
    };
    if let Ok(err) = serde_json::from_slice::<AppError>(&bytes) {
        if let Ok(status) = StatusCode::from_u16(err.status()) {
            parts.status = status;
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn host_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map(|(_, r)| r)?;
    Some(rest.split(['/', '?', '#']).next().unwrap_or(rest))
}

pub async fn same_origin_only(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let headers = req.headers();
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let claimed =
        headers.get(header::ORIGIN).or_else(|| headers.get(header::REFERER)).and_then(|v| v.to_str().ok());
    let cross_site = match claimed {
        Some("null") => true,
        Some(url) => host_of(url).is_none_or(|h| !h.eq_ignore_ascii_case(host)),
        None => headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("cross-site"),
    };
    if cross_site {
        tracing::warn!(origin = claimed.unwrap_or("-"), path = %req.uri().path(), "cross-site request refused");
        return (StatusCode::FORBIDDEN, "Cross-site request refused.").into_response();
    }
    next.run(req).await
}

pub(crate) fn accepts_html(req: &Request) -> bool {
    req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"))
}

/// `(__path, __err)` from a Leptos error redirect.
fn error_params(location: &str) -> Option<(String, String)> {
    let query = location.split_once('?')?.1;
    let mut path = None;
    let mut err = None;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "__path" => path = Some(v.into_owned()),
            "__err" => err = Some(v.into_owned()),
            _ => {}
        }
    }
    Some((path?, err?))
}

pub async fn no_js_forms(State(pages): State<Router>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST || !req.uri().path().starts_with("/api/") || !accepts_html(&req) {
        return next.run(req).await;
    }
    let multipart = is_multipart(&req);
    let (mut parts, body) = req.into_parts();
    let (body, echo) = if multipart {
        (body, HashMap::new())
    } else {
        let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
            return (StatusCode::PAYLOAD_TOO_LARGE, "That form is too large.").into_response();
        };
        let echo: HashMap<String, String> = form_urlencoded::parse(&bytes)
            // Never sent back into a page: passwords and card or account numbers.
            .filter(|(k, _)| !k.contains("password") && !k.contains("number"))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        (Body::from(bytes), echo)
    };
    let fn_path = parts.uri.path().to_string();
    let referer_path = parts
        .headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.split_once("://").map(|(_, rest)| rest))
        .and_then(|rest| {
            rest.find('/').map(|i| rest[i..].split(['?', '#']).next().unwrap_or("/").to_string())
        })
        .filter(|p| !p.starts_with("/api/"));
    // Leptos builds its error redirect from the Referer and drops the error without one, so
    // always hand it an absolute URL of the form's page.
    let page = app::api::form_page_for(&fn_path, echo.get("id").map(String::as_str))
        .or(referer_path.clone())
        .unwrap_or_else(|| "/".into());
    if referer_path.is_none() {
        if let Some(host) = parts.headers.get(header::HOST).and_then(|v| v.to_str().ok()) {
            if let Ok(v) = header::HeaderValue::from_str(&format!("http://{host}{page}")) {
                parts.headers.insert(header::REFERER, v);
            }
        }
    }
    let mut page_req = Request::builder().method(Method::GET);
    for name in [header::COOKIE, header::HOST, header::ACCEPT_LANGUAGE, header::USER_AGENT] {
        if let Some(v) = parts.headers.get(&name) {
            page_req = page_req.header(name, v.clone());
        }
    }
    page_req = page_req.header(header::ACCEPT, "text/html");
    let session = parts.extensions.get::<tower_sessions::Session>().cloned();
    let connect = parts.extensions.get::<ConnectInfo<SocketAddr>>().cloned();

    let res = next.run(Request::from_parts(parts, body)).await;

    let Some(location) = res.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()) else {
        return res;
    };
    let Some((err_path, err)) = error_params(location) else {
        return res;
    };
    let status = base64::engine::general_purpose::URL_SAFE
        .decode(err.as_bytes())
        .ok()
        .and_then(|b| serde_json::from_slice::<AppError>(&b).ok())
        .map(|e| e.status())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::BAD_REQUEST);
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("__path", &err_path)
        .append_pair("__err", &err)
        .finish();
    let Ok(mut page_req) = page_req.uri(format!("{page}?{query}")).body(Body::empty()) else {
        return res;
    };
    page_req.extensions_mut().insert(FormEcho(echo));
    if let Some(s) = session {
        page_req.extensions_mut().insert(s);
    }
    if let Some(c) = connect {
        page_req.extensions_mut().insert(c);
    }
    let mut page_res = match pages.oneshot(page_req).await {
        Ok(r) => r.into_response(),
        Err(never) => match never {},
    };
    *page_res.status_mut() = status;
    if let Some(v) = res.headers().get(header::RETRY_AFTER) {
        page_res.headers_mut().insert(header::RETRY_AFTER, v.clone());
    }
    page_res.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    page_res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_and_queries_must_be_text() {
        assert!(check_urlencoded(b"q=red+mug&page=2&name=Caf%C3%A9&note=a%0Ab").is_ok());
        assert!(check_urlencoded(b"").is_ok());
        assert!(check_urlencoded(b"q=%00").is_err(), "NUL");
        assert!(check_urlencoded(b"q=a%1Bb").is_err(), "escape");
        assert!(check_urlencoded(b"q=%FF").is_err(), "not UTF-8");
        assert!(check_urlencoded(b"%00=x").is_err(), "names too");
        assert!(check_urlencoded(&[b'q', b'=', 0xC3]).is_err(), "raw bytes too");
    }

    #[test]
    fn reads_hosts_and_error_params() {
        assert_eq!(host_of("https://shop.example:8443/x?y"), Some("shop.example:8443"));
        assert_eq!(host_of("garbage"), None);
        assert_eq!(
            error_params("/signup?__path=%2Fapi%2Fsignup&__err=eyJ9"),
            Some(("/api/signup".to_string(), "eyJ9".to_string()))
        );
        assert_eq!(error_params("/account?done=profile"), None);
    }
}
