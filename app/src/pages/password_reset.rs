//! `/forgot-password` (ask for a reset link by mail), `/reset-password?token=` (choose a new
//! password with it), and `/verify-email?token=` (confirm an address from the mailed link).
//! All plain forms; a link's page never acts on a GET (mail scanners open links).

use crate::api::password_reset::{reset_link_works, ForgotPassword, ResetPassword, LINK_MINUTES};
use crate::api::verification::ConfirmEmailLink;
use crate::components::form::{action_error, echoed, Field, FormError};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let action = ServerAction::<ForgotPassword>::new();
    let error = action_error(action);
    let sent = use_query_map().read_untracked().get("done").as_deref() == Some("sent");
    view! {
        <Title text="Forgot your password?" />
        <section class="auth-page">
            <h1>"Forgot your password?"</h1>
            {if sent {
                view! {
                    <div class="notice" role="status" data-testid="reset-sent">
                        {format!("If an account uses that address, we have sent it a link to choose a new password. The link works once, for {LINK_MINUTES} minutes.")}
                    </div>
                    <p><a href="/login">"Back to log in"</a></p>
                }.into_any()
            } else {
                view! {
                    <p class="muted">"Enter the email address of your account: we will send you a link to choose a new password."</p>
                    <ActionForm action=action attr:class="stack-form" attr:novalidate=true>
                        <FormError error=error />
                        <Field label="Email" name="email" kind="email" error=error autocomplete="email" required=true />
                        <button type="submit">"Send the link"</button>
                    </ActionForm>
                    <p><a href="/login">"Back to log in"</a></p>
                }.into_any()
            }}
        </section>
    }
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let action = ServerAction::<ResetPassword>::new();
    let error = action_error(action);
    // A refused no-JS post shows this page again with the token it sent (the query is gone).
    let token = use_query_map().read_untracked().get("token").or_else(|| echoed("token")).unwrap_or_default();
    let works = Resource::new({
        let token = token.clone();
        move || token.clone()
    }, reset_link_works);
    view! {
        <Title text="Choose a new password" />
        <section class="auth-page">
            <h1>"Choose a new password"</h1>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || {
                    let token = token.clone();
                    Suspend::new(async move {
                        if works.await.unwrap_or(false) {
                            view! {
                                <ActionForm action=action attr:class="stack-form" attr:novalidate=true>
                                    <FormError error=error />
                                    <input type="hidden" name="token" value=token />
                                    <Field label="New password" name="new_password" kind="password" error=error autocomplete="new-password" required=true
                                        hint="At least 10 characters; not your email or username." />
                                    <button type="submit">"Set the new password"</button>
                                </ActionForm>
                                <p class="muted small">"Setting it signs you out on every other device."</p>
                            }.into_any()
                        } else {
                            view! {
                                <div class="form-error" role="alert" data-testid="reset-link-dead">
                                    "This link has expired or was used already."
                                </div>
                                <p><a class="button" href="/forgot-password">"Ask for a new link"</a></p>
                            }.into_any()
                        }
                    })
                }}
            </Suspense>
        </section>
    }
}

#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let action = ServerAction::<ConfirmEmailLink>::new();
    let error = action_error(action);
    let token = use_query_map().read_untracked().get("token").or_else(|| echoed("token")).unwrap_or_default();
    view! {
        <Title text="Verify your email address" />
        <section class="auth-page">
            <h1>"Verify your email address"</h1>
            <ActionForm action=action attr:class="stack-form">
                <FormError error=error />
                <input type="hidden" name="token" value=token />
                <button type="submit">"Verify my email address"</button>
            </ActionForm>
        </section>
    }
}
