use crate::api::auth::Signup;
use crate::components::form::{action_error, echoed, Field, FormError};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SignupPage() -> impl IntoView {
    let action = ServerAction::<Signup>::new();
    let error = action_error(action);
    let next = echoed("next").or_else(|| use_query_map().read_untracked().get("next"));
    let login_href = match &next {
        Some(n) => format!("/login?next={}", shop_domain::catalog::url_encode(n)),
        None => "/login".to_string(),
    };
    view! {
        <Title text="Create your account" />
        <section class="auth-page">
            <h1>"Create your account"</h1>
            <p class="muted">"Sign up to join flash sales. It takes a minute."</p>
            <ActionForm action=action attr:class="stack-form" attr:novalidate=true>
                <FormError error=error />
                <Field label="Email" name="email" kind="email" error=error autocomplete="email" required=true />
                <Field label="Username" name="username" error=error autocomplete="username" required=true
                    hint="3 to 30 letters, digits or underscores." />
                <Field label="Password" name="password" kind="password" error=error autocomplete="new-password" required=true
                    hint="At least 10 characters; not your email or username." />
                <Field label="Name" name="name" error=error autocomplete="name" required=true />
                <Field label="Phone (optional)" name="phone" kind="tel" error=error autocomplete="tel" />
                {next.map(|n| view! { <input type="hidden" name="next" value=n /> })}
                <button type="submit">"Sign up"</button>
            </ActionForm>
            <p>"Already have an account? " <a href=login_href>"Log in"</a></p>
        </section>
    }
}
