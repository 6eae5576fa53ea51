//! The Buy form without a page load: the `BuyGate` island's form posts with `fetch`, once,
//! and the answer shows in place (the order's number and link, or why not). Without the
//! bundle the same form posts as a page.

use super::Submitted;
use crate::api::checkout::BuyResult;
use crate::AppError;
use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Takes over the submit of the form around `fieldset`: one request at a time (a double click
/// sends one), its state in `state`.
pub fn enhance(fieldset: NodeRef<leptos::html::Fieldset>, state: RwSignal<Option<Submitted>>) {
    let attached = StoredValue::new(false);
    Effect::new(move |_| {
        let Some(fieldset) = fieldset.get() else { return };
        let Some(form) = fieldset.form() else { return };
        if attached.get_value() {
            return;
        }
        attached.set_value(true);
        let on_submit = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            event.prevent_default();
            if state.with_untracked(|s| matches!(s, Some(Submitted::Pending | Submitted::Placed { .. }))) {
                return;
            }
            let Some(form) = event.target().and_then(|t| t.dyn_into::<web_sys::HtmlFormElement>().ok())
            else {
                return;
            };
            // Read before the fieldset disables its controls (disabled controls are not sent).
            let Some(body) = web_sys::FormData::new_with_form(&form)
                .ok()
                .and_then(|data| web_sys::UrlSearchParams::new_with_str_sequence_sequence(&data).ok())
            else {
                return;
            };
            state.set(Some(Submitted::Pending));
            let action = form.action();
            leptos::task::spawn_local(async move {
                state.set(Some(post(&action, &body).await));
            });
        });
        let _ = form.add_event_listener_with_callback("submit", on_submit.as_ref().unchecked_ref());
        on_submit.forget();
    });
}

/// `POST url` as a form, asking for JSON; what the shopper should see.
async fn post(url: &str, body: &web_sys::UrlSearchParams) -> Submitted {
    match send(url, body).await {
        Ok((status, text)) if (200..300).contains(&status) => {
            match leptos::serde_json::from_str::<BuyResult>(&text) {
                Ok(r) => Submitted::Placed { order_id: r.order_id },
                Err(_) => Submitted::Failed(AppError::Unreachable.to_string()),
            }
        }
        Ok((_, text)) => Submitted::Failed(match leptos::serde_json::from_str::<AppError>(&text) {
            Ok(AppError::Invalid(errors)) => {
                errors.0.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join(" ")
            }
            Ok(e) => e.to_string(),
            Err(_) => AppError::Internal.to_string(),
        }),
        Err(_) => Submitted::Failed(AppError::Unreachable.to_string()),
    }
}

async fn send(url: &str, body: &web_sys::UrlSearchParams) -> Result<(u16, String), JsValue> {
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(body);
    let headers = web_sys::Headers::new()?;
    headers.set("Accept", "application/json")?;
    init.set_headers(&headers);
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    let response: web_sys::Response =
        JsFuture::from(window.fetch_with_str_and_init(url, &init)).await?.dyn_into()?;
    let text = JsFuture::from(response.text()?).await?.as_string().unwrap_or_default();
    Ok((response.status(), text))
}
