use crate::AppError;
use leptos::prelude::*;
use leptos_meta::Title;

/// A full-page error with the right status code on the response.
#[component]
pub fn ErrorView(error: AppError) -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::state::set_status(error.status());
    let (title, hint) = match &error {
        AppError::NotFound(what) => {
            (format!("{what} not found"), "It may have been removed, or the link is mistyped.")
        }
        AppError::BadRequest(_) => ("That request doesn't look right".to_string(), ""),
        _ => ("Something went wrong".to_string(), "Please try again in a moment."),
    };
    let message = match &error {
        AppError::BadRequest(msg) => msg.clone(),
        AppError::NotFound(_) => String::new(),
        other => other.to_string(),
    };
    view! {
        <Title text=title.clone() />
        <section class="error-page">
            <h1>{title}</h1>
            {(!message.is_empty()).then(|| view! { <p class="error-message" role="alert">{message}</p> })}
            {(!hint.is_empty()).then(|| view! { <p class="muted">{hint}</p> })}
            <p><a class="button" href="/products">"Browse all products"</a></p>
        </section>
    }
}

/// For a page that needs a signed-in user: a real redirect to `/login?next=<this page>` on the
/// server (so it works without JavaScript), and a link to the same place in the browser.
pub fn login_required(next: &str) -> AnyView {
    let href = format!("/login?next={}", shop_domain::catalog::url_encode(next));
    #[cfg(feature = "ssr")]
    crate::state::page_redirect(&href);
    view! { <p>"Please " <a href=href>"log in"</a> " to continue."</p> }.into_any()
}
