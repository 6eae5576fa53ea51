use crate::api::auth::Login;
use crate::components::form::{action_error, echoed, Field, FormError};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<Login>::new();
    let error = action_error(action);
    let next = echoed("next").or_else(|| use_query_map().read_untracked().get("next"));
    view! {
        <Title text="Log in" />
        <section class="auth-page">
            <h1>"Log in"</h1>
            {super::done_notice(&[
                ("signed-out", "You are signed out on every device."),
                ("verified", "Email address verified. Log in to continue."),
            ])}
            <ActionForm action=action attr:class="stack-form" attr:novalidate=true>
                <FormError error=error />
                <Field label="Email or username" name="login" error=error autocomplete="username" required=true />
                <Field label="Password" name="password" kind="password" error=error autocomplete="current-password" required=true />
                {next.map(|n| view! { <input type="hidden" name="next" value=n /> })}
                <button type="submit">"Log in"</button>
            </ActionForm>
            <p><a href="/forgot-password">"Forgot your password?"</a></p>
            <p>"New here? " <a href="/signup">"Create an account"</a></p>
        </section>
    }
}
