//! Parts of a page that answer in place (browser only): forms marked `data-swap="<id>"`, and
//! the region marked `data-follow="<stream>"` (an order on its way).
//!
//! A marked form is sent with `fetch`, asking for HTML, exactly as the browser would send it
//! without JavaScript; the server answers as it does then (a redirect to the page, with the
//! notice or the field errors and what was typed), and the elements named in `data-swap`
//! (space-separated ids) of that page replace the same elements here; the rest of the page,
//! other forms being typed into included, is left alone. An answer on another page
//! (placing an order opens it, logging out everywhere opens the login page) is opened as a
//! page. While a form is on its way it is marked `aria-busy`, and submitting it again sends
//! nothing (a double click sends one request). Without the bundle the same forms post as pages.
//!
//! A followed region listens to its stream (`server/src/live/orders.rs`): each event is the
//! version the server would render now, and when it differs from the region's `data-version`
//! the page is fetched again and the region replaced. The stream is closed once the order has
//! settled.

use leptos::prelude::document;
use shop_domain::OrderProgress;
use std::cell::{Cell, RefCell};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{HtmlFormElement, UrlSearchParams};

const HTML: &str = "text/html";

thread_local! {
    /// The latest version the followed region's stream announced.
    static LATEST: RefCell<String> = const { RefCell::new(String::new()) };
    /// Whether the followed region is being fetched again.
    static FETCHING: Cell<bool> = const { Cell::new(false) };
}

/// Listens for marked forms' submits (one listener for the whole document, so forms that
/// arrive in a swapped part work too) and follows the page's followed region, if any.
pub fn install() {
    let on_submit = Closure::<dyn FnMut(web_sys::Event)>::new(on_submit);
    let _ = document().add_event_listener_with_callback("submit", on_submit.as_ref().unchecked_ref());
    on_submit.forget();
    follow();
}

fn on_submit(event: web_sys::Event) {
    // The Buy form's island handles its own submit.
    if event.default_prevented() {
        return;
    }
    let Some(form) = event.target().and_then(|t| t.dyn_into::<HtmlFormElement>().ok()) else { return };
    let Some(target) = form.get_attribute("data-swap") else { return };
    event.prevent_default();
    if form.has_attribute("aria-busy") {
        return;
    }
    let Some(body) = web_sys::FormData::new_with_form(&form)
        .ok()
        .and_then(|data| UrlSearchParams::new_with_str_sequence_sequence(&data).ok())
    else {
        return;
    };
    let _ = form.set_attribute("aria-busy", "true");
    leptos::task::spawn_local(async move {
        let answered = match send(&form.action(), Some(&body), HTML).await {
            Ok(response) => swap_in(response, &target).await.is_ok(),
            Err(_) => false,
        };
        let _ = form.remove_attribute("aria-busy");
        if !answered {
            // No answer at all (the network): the form goes as a page, as without the bundle.
            let _ = form.submit();
        }
    });
}

/// Opens the stream of the page's `data-follow` region.
fn follow() {
    let Some(region) = document().query_selector("[data-follow]").ok().flatten() else { return };
    let (Some(url), id) = (region.get_attribute("data-follow"), region.id()) else { return };
    let Ok(source) = web_sys::EventSource::new(&url) else { return };
    let stream = source.clone();
    let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
        let Some(version) = event.data().as_string() else { return };
        if OrderProgress::settled(&version) {
            // Otherwise the browser would reconnect after the server ends the stream.
            stream.close();
        }
        LATEST.with(|latest| *latest.borrow_mut() = version);
        if !FETCHING.replace(true) {
            leptos::task::spawn_local(catch_up(id.clone()));
        }
    });
    source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
}

/// Fetches the page again until region `id` shows the latest version (a few tries: what the
/// page renders and what the stream read may differ for a moment).
async fn catch_up(id: String) {
    for _ in 0..3 {
        let shown = document().get_element_by_id(&id).and_then(|e| e.get_attribute("data-version"));
        if LATEST.with(|latest| shown.as_deref() == Some(latest.borrow().as_str())) {
            break;
        }
        let Some(page) = web_sys::window().and_then(|w| w.location().href().ok()) else { break };
        let Ok(response) = send(&page, None, HTML).await else { break };
        if swap_in(response, &id).await.is_err() {
            break;
        }
    }
    // After a break on the check no await happened since it, so no message was missed; after
    // three tries or an error, the page shows an older version until the next message.
    FETCHING.set(false);
}

/// `POST url` (a form body) or `GET url`, asking for `accept` (the Buy form's JSON too).
pub(super) async fn send(
    url: &str,
    body: Option<&UrlSearchParams>,
    accept: &str,
) -> Result<web_sys::Response, JsValue> {
    let init = web_sys::RequestInit::new();
    if let Some(body) = body {
        init.set_method("POST");
        init.set_body(body);
    }
    let headers = web_sys::Headers::new()?;
    headers.set("Accept", accept)?;
    init.set_headers(&headers);
    let window = web_sys::window().ok_or(JsValue::NULL)?;
    JsFuture::from(window.fetch_with_str_and_init(url, &init)).await?.dyn_into()
}

/// Replaces the elements `ids` (space-separated) with the same elements of the answer's page,
/// or opens the answer as a page when it is another page (or lacks one of them: signed out
/// meanwhile, say).
async fn swap_in(response: web_sys::Response, ids: &str) -> Result<(), JsValue> {
    let location = web_sys::window().ok_or(JsValue::NULL)?.location();
    // A redirect leads to the page that answers; otherwise the answer is this page (a form in
    // error is answered with its own page, from the form's `/api/…` address). Another page
    // (an order placed from the cart, the login page) lacks this page's parts and is opened.
    let url = if response.redirected() { response.url() } else { location.href()? };
    let html = JsFuture::from(response.text()?).await?.as_string().unwrap_or_default();
    let here = document();
    // Parsed as a template's content: inert (nothing loads or runs). Its <noscript> content is
    // parsed as elements, and would be live here (a refresh <meta> would reload this page): a
    // swapped part holds none (the order page keeps its refresh outside `#order`).
    let template: web_sys::HtmlTemplateElement = here.create_element("template")?.dyn_into()?;
    template.set_inner_html(&html);
    let page = template.content();
    // Every listed part must be in both pages, or the answer is opened as a page.
    if ids.split(' ').any(|id| page.get_element_by_id(id).is_none() || here.get_element_by_id(id).is_none()) {
        return location.assign(&url);
    }
    for id in ids.split(' ') {
        if let (Some(fresh), Some(current)) = (page.get_element_by_id(id), here.get_element_by_id(id)) {
            current.replace_with_with_node_1(&here.import_node_with_deep(&fresh, true)?)?;
        }
    }
    Ok(())
}
