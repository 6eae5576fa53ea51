use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFoundPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::state::set_status(404);
    view! {
        <Title text="Page not found" />
        <section class="error-page">
            <h1>"Page not found"</h1>
            <p class="muted">"We couldn't find that page. It may have moved, or the link is mistyped."</p>
            <p><a class="button" href="/">"Back to the shop"</a></p>
        </section>
    }
}
