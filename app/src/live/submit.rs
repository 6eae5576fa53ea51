//! The Buy form without a page load: the `BuyGate` island's form posts with `fetch`, once,
//! and the answer shows in place (the order's number and link, or why not). Without the
//! bundle the same form posts as a page.

use super::Submitted;
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

/// `POST url` as a form, asking for JSON; what the shopper should see. The answers are the
/// documented JSON API (README, "HTTP API"), read with the browser's own JSON parser: serde's
/// derived readers of every error variant would cost the bundle more than the page gains.
async fn post(url: &str, body: &web_sys::UrlSearchParams) -> Submitted {
    let Ok((status, text)) = send(url, body).await else {
        return Submitted::Failed(AppError::Unreachable.to_string());
    };
    let Ok(answer) = js_sys::JSON::parse(&text) else {
        return Submitted::Failed(AppError::Internal.to_string());
    };
    if (200..300).contains(&status) {
        return match field(&answer, "order_id").as_f64() {
            Some(id) => Submitted::Placed { order_id: id as i64 },
            None => Submitted::Failed(AppError::Unreachable.to_string()),
        };
    }
    Submitted::Failed(refusal(&answer))
}

fn field(value: &JsValue, name: &str) -> JsValue {
    js_sys::Reflect::get(value, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// The message of an error answer: `{"Conflict":"Sold out."}`, `{"Invalid":[{field,message}]}`,
/// `{"TooManyRequests":12}`, `"Internal"`.
fn refusal(answer: &JsValue) -> String {
    let Some(object) = answer.dyn_ref::<js_sys::Object>() else {
        return AppError::Internal.to_string();
    };
    let Some(kind) = js_sys::Object::keys(object).get(0).as_string() else {
        return AppError::Internal.to_string();
    };
    let value = field(answer, &kind);
    match kind.as_str() {
        "Invalid" => {
            let mut all = String::new();
            for message in js_sys::Array::from(&value).iter().filter_map(|e| field(&e, "message").as_string())
            {
                if !all.is_empty() {
                    all.push(' ');
                }
                all.push_str(&message);
            }
            all
        }
        "TooManyRequests" => AppError::TooManyRequests(value.as_f64().unwrap_or(1.0) as u64).to_string(),
        "NotFound" => AppError::NotFound(value.as_string().unwrap_or_default()).to_string(),
        // BadRequest, Unauthorized, Forbidden, Conflict, Unavailable carry their message.
        _ => value.as_string().unwrap_or_else(|| AppError::Internal.to_string()),
    }
}

async fn send(url: &str, body: &web_sys::UrlSearchParams) -> Result<(u16, String), JsValue> {
    let response = super::swap::send(url, Some(body), "application/json").await?;
    let text = JsFuture::from(response.text()?).await?.as_string().unwrap_or_default();
    Ok((response.status(), text))
}
