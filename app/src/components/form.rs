//! Form pieces shared by every page with a form: labelled fields that show their own error
//! and keep what was typed, a form-level error box, and success notices.
//!
//! A form's errors come from its `ServerAction`: with JavaScript, from the action's result;
//! without it, from the error the server puts back into the re-rendered page (Leptos reads it
//! into the same action). Typed values come back through `FormEcho` (never passwords).

use crate::AppError;
use leptos::prelude::*;

/// The value the user submitted for `name` in a failed no-JS post, if any.
pub fn echoed(name: &str) -> Option<String> {
    #[cfg(feature = "ssr")]
    {
        crate::auth::session::form_echo().and_then(|e| e.0.get(name).cloned())
    }
    #[cfg(not(feature = "ssr"))]
    {
        let _ = name;
        None
    }
}

/// The latest error of an action, as a signal.
pub fn action_error<S>(action: ServerAction<S>) -> Signal<Option<AppError>>
where
    S: leptos::server_fn::ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    Signal::derive(move || action.value().get().and_then(|r| r.err()))
}

#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    /// Element id when two forms on a page share a field name; defaults to `name`.
    #[prop(optional)]
    id: Option<&'static str>,
    #[prop(default = "text")] kind: &'static str,
    /// Current stored value (e.g. the profile name); a submitted value wins over it.
    #[prop(optional, into)]
    value: Option<String>,
    error: Signal<Option<AppError>>,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(default = false)] required: bool,
    #[prop(optional)] hint: Option<&'static str>,
) -> impl IntoView {
    let is_password = kind == "password";
    // Passwords are never echoed back into the page.
    let value = if is_password { None } else { echoed(name).or(value) };
    let message = move || error.get().and_then(|e| e.field_message(name));
    let id = id.unwrap_or(name);
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described = {
        let (error_id, hint_id) = (error_id.clone(), hint_id.clone());
        move || {
            let mut ids = Vec::new();
            if hint.is_some() {
                ids.push(hint_id.clone());
            }
            if message().is_some() {
                ids.push(error_id.clone());
            }
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    };
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <input id=id name=name type=kind value=value autocomplete=autocomplete required=required
                aria-invalid=move || message().is_some().then_some("true")
                aria-describedby=described />
            {hint.map(|h| view! { <p class="hint muted small" id=hint_id.clone()>{h}</p> })}
            {move || message().map(|m| view! { <p class="field-error" id=error_id.clone()>{m}</p> })}
        </div>
    }
}

/// Errors that belong to no single field (wrong password, too many attempts, not signed in).
#[component]
pub fn FormError(error: Signal<Option<AppError>>) -> impl IntoView {
    move || {
        error.get().map(|e| {
            let text = match &e {
                AppError::Invalid(_) => "Please correct the highlighted fields.".to_string(),
                other => other.to_string(),
            };
            view! { <div class="form-error" role="alert">{text}</div> }
        })
    }
}

/// "Deliver to": the buyer's saved addresses, the main one chosen.
#[component]
pub fn AddressSelect(addresses: Vec<shop_domain::Address>) -> impl IntoView {
    view! {
        <div class="field">
            <label for="address_id">"Deliver to"</label>
            <select id="address_id" name="address_id">
                {addresses.into_iter().map(|a| view! {
                    <option value=a.id.to_string() selected=a.is_main>{format!("{}, {}, {}", a.receiver, a.street, a.zip)}</option>
                }).collect_view()}
            </select>
        </div>
    }
}

/// "Pay with": the buyer's saved payment methods, masked.
#[component]
pub fn PaymentSelect(methods: Vec<shop_domain::PaymentMethod>) -> impl IntoView {
    view! {
        <div class="field">
            <label for="payment_method_id">"Pay with"</label>
            <select id="payment_method_id" name="payment_method_id">
                {methods.into_iter().map(|p| view! { <option value=p.id.to_string()>{p.masked()}</option> }).collect_view()}
            </select>
        </div>
    }
}

/// A labelled multi-line field that shows its own error and keeps what was typed.
#[component]
pub fn TextArea(
    label: &'static str,
    name: &'static str,
    /// Current stored value; a submitted value wins over it.
    #[prop(optional, into)]
    value: Option<String>,
    error: Signal<Option<AppError>>,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(default = 4)] rows: u32,
) -> impl IntoView {
    // tachys writes a textarea's children unescaped (it is not a raw-text element, but
    // tachys treats it as one), so the text is escaped here.
    let value = crate::escape::raw_text(&echoed(name).or(value).unwrap_or_default());
    let message = move || error.get().and_then(|e| e.field_message(name));
    let error_id = format!("{name}-error");
    let hint_id = format!("{name}-hint");
    let described = {
        let (error_id, hint_id) = (error_id.clone(), hint_id.clone());
        move || {
            let mut ids = Vec::new();
            if hint.is_some() {
                ids.push(hint_id.clone());
            }
            if message().is_some() {
                ids.push(error_id.clone());
            }
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    };
    view! {
        <div class="field">
            <label for=name>{label}</label>
            <textarea id=name name=name rows=rows
                aria-invalid=move || message().is_some().then_some("true")
                aria-describedby=described>{value}</textarea>
            {hint.map(|h| view! { <p class="hint muted small" id=hint_id.clone()>{h}</p> })}
            {move || message().map(|m| view! { <p class="field-error" id=error_id.clone()>{m}</p> })}
        </div>
    }
}

/// A labelled `<select>` that shows its own error and keeps the submitted choice.
#[component]
pub fn SelectField(
    label: &'static str,
    name: &'static str,
    /// `(value, label)` pairs.
    options: Vec<(String, String)>,
    /// The stored choice; a submitted value wins over it.
    #[prop(optional, into)]
    selected: Option<String>,
    error: Signal<Option<AppError>>,
    /// A first, empty option ("Choose…").
    #[prop(optional)]
    placeholder: Option<&'static str>,
) -> impl IntoView {
    let selected = echoed(name).or(selected).unwrap_or_default();
    let message = move || error.get().and_then(|e| e.field_message(name));
    let error_id = format!("{name}-error");
    let described = {
        let error_id = error_id.clone();
        move || message().is_some().then(|| error_id.clone())
    };
    view! {
        <div class="field">
            <label for=name>{label}</label>
            <select id=name name=name
                aria-invalid=move || message().is_some().then_some("true")
                aria-describedby=described>
                {placeholder.map(|p| view! { <option value="">{p}</option> })}
                {options.into_iter().map(|(value, text)| {
                    let is_selected = value == selected;
                    view! { <option value=value selected=is_selected>{text}</option> }
                }).collect_view()}
            </select>
            {move || message().map(|m| view! { <p class="field-error" id=error_id.clone()>{m}</p> })}
        </div>
    }
}
