use crate::api::account::{
    account_overview, AddAddress, AddBankAccount, AddCard, ChangePassword, DeleteAddress,
    DeletePaymentMethod, LogoutEverywhere, SetMainAddress, UpdateProfile,
};
use crate::api::verification::{SendVerification, VerifyEmail};
use crate::components::error_view::{login_required, ErrorView};
use crate::components::form::{action_error, Field, FormError};
use crate::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

fn notice(done: &str) -> Option<&'static str> {
    Some(match done {
        "profile" => "Profile saved.",
        "password" => "Password changed. Every other browser signed in to this account was signed out.",
        "password-reset" => "New password set. Every other browser signed in to this account was signed out.",
        "address" => "Address added.",
        "main" => "Main address changed.",
        "address-removed" => "Address removed.",
        "card" => "Card added.",
        "bank" => "Bank account added.",
        "payment-removed" => "Payment method removed.",
        "code-sent" => "We mailed you a new code. It works for 5 minutes.",
        "verified" => "Email address verified: you can buy in flash sales.",
        _ => return None,
    })
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| account_overview());
    let done = use_query_map().read_untracked().get("done").and_then(|d| notice(&d));
    let profile = ServerAction::<UpdateProfile>::new();
    let password = ServerAction::<ChangePassword>::new();
    let everywhere = ServerAction::<LogoutEverywhere>::new();
    let add_address = ServerAction::<AddAddress>::new();
    let main_address = ServerAction::<SetMainAddress>::new();
    let delete_address = ServerAction::<DeleteAddress>::new();
    let add_card = ServerAction::<AddCard>::new();
    let add_bank = ServerAction::<AddBankAccount>::new();
    let delete_payment = ServerAction::<DeletePaymentMethod>::new();
    let verify = ServerAction::<VerifyEmail>::new();
    let resend = ServerAction::<SendVerification>::new();
    let verify_err = Signal::derive(move || action_error(verify).get().or_else(|| action_error(resend).get()));
    let (profile_err, password_err, address_err, card_err, bank_err) = (
        action_error(profile),
        action_error(password),
        action_error(add_address),
        action_error(add_card),
        action_error(add_bank),
    );
    let list_err = Signal::derive(move || {
        action_error(main_address)
            .get()
            .or_else(|| action_error(delete_address).get())
            .or_else(|| action_error(delete_payment).get())
    });

    view! {
        <Title text="Your account" />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(AppError::Unauthorized(_)) => login_required("/account"),
                    Err(e) => view! { <ErrorView error=e /> }.into_any(),
                    Ok(d) => {
                        let user = d.user.clone();
                        let (name_profile, name_receiver, name_card, name_bank) =
                            (user.name.clone(), user.name.clone(), user.name.clone(), user.name.clone());
                        let phone = user.phone.clone().unwrap_or_default();
                        let (addresses, payment_methods) = (d.addresses, d.payment_methods);
                        view! {
                            <div class="account-page">
                                <h1>"Your account"</h1>
                                <p class="muted">{format!("Signed in as {} ({})", user.username, user.email)}</p>
                                // Forms answer in place with the client bundle (`live::swap`):
                                // each replaces these notices and its own section.
                                <div id="account-notices">
                                    {done.map(|n| view! { <div class="notice" role="status">{n}</div> })}
                                    <FormError error=list_err />
                                </div>

                                {(!user.email_verified).then(|| view! {
                                    <section class="panel" id="account-verify" aria-labelledby="verify-h">
                                        <h2 id="verify-h">"Verify your email address"</h2>
                                        <p>{format!("We mailed a 6-digit code to {}. Flash sales need a verified address; browsing, the cart and the wishlist do not.", user.email)}</p>
                                        <ActionForm action=verify attr:data-swap="account-notices account-verify" attr:class="stack-form" attr:novalidate=true>
                                            <Field label="Code" name="code" error=verify_err autocomplete="one-time-code" required=true hint="6 digits, from the mail" />
                                            <button type="submit">"Verify"</button>
                                        </ActionForm>
                                        <ActionForm action=resend attr:data-swap="account-notices account-verify">
                                            <FormError error=verify_err />
                                            <button type="submit" class="button-secondary">"Send a new code"</button>
                                        </ActionForm>
                                    </section>
                                })}

                                <section class="panel" id="account-profile" aria-labelledby="profile-h">
                                    <h2 id="profile-h">"Profile"</h2>
                                    <ActionForm action=profile attr:data-swap="account-notices account-profile account-link" attr:class="stack-form" attr:novalidate=true>
                                        <FormError error=profile_err />
                                        <Field label="Name" name="name" value=name_profile error=profile_err autocomplete="name" required=true />
                                        <Field label="Phone" name="phone" kind="tel" value=phone error=profile_err autocomplete="tel" />
                                        <button type="submit">"Save profile"</button>
                                    </ActionForm>
                                </section>

                                <section class="panel" id="account-password" aria-labelledby="password-h">
                                    <h2 id="password-h">"Change password"</h2>
                                    <ActionForm action=password attr:data-swap="account-notices account-password" attr:class="stack-form" attr:novalidate=true>
                                        <Field label="Current password" name="current_password" kind="password" error=password_err autocomplete="current-password" required=true />
                                        <Field label="New password" name="new_password" kind="password" error=password_err autocomplete="new-password" required=true
                                            hint="At least 10 characters; not your email or username." />
                                        <button type="submit">"Change password"</button>
                                    </ActionForm>
                                    <ActionForm action=everywhere attr:data-swap="account-notices account-password">
                                        <p class="muted small">"Signed in on a device you no longer use?"</p>
                                        <button type="submit" class="button-secondary">"Log out everywhere"</button>
                                    </ActionForm>
                                </section>

                                <section class="panel" id="account-addresses" aria-labelledby="addresses-h">
                                    <h2 id="addresses-h">"Delivery addresses"</h2>
                                    {if addresses.is_empty() {
                                        view! { <p class="muted">"No saved addresses yet."</p> }.into_any()
                                    } else {
                                        view! {
                                            <ul class="address-list">
                                                {addresses.into_iter().map(|a| {
                                                    let id_main = a.id.to_string();
                                                    let id_delete = id_main.clone();
                                                    let detail = (!a.detail.is_empty()).then(|| format!(", {}", a.detail));
                                                    view! {
                                                        <li class="address">
                                                            <p>
                                                                <strong>{a.receiver}</strong>
                                                                {a.is_main.then(|| view! { " " <span class="badge badge-main">"Main"</span> })}
                                                            </p>
                                                            <p>{a.street}{detail}</p>
                                                            <p>{a.zip}</p>
                                                            <div class="row-actions">
                                                                {(!a.is_main).then(|| view! {
                                                                    <ActionForm action=main_address attr:data-swap="account-notices account-addresses">
                                                                        <input type="hidden" name="id" value=id_main />
                                                                        <button type="submit" class="button-secondary">"Make main"</button>
                                                                    </ActionForm>
                                                                })}
                                                                <ActionForm action=delete_address attr:data-swap="account-notices account-addresses">
                                                                    <input type="hidden" name="id" value=id_delete />
                                                                    <button type="submit" class="button-secondary">"Remove"</button>
                                                                </ActionForm>
                                                            </div>
                                                        </li>
                                                    }
                                                }).collect_view()}
                                            </ul>
                                        }.into_any()
                                    }}
                                    <h3>"Add an address"</h3>
                                    <ActionForm action=add_address attr:data-swap="account-notices account-addresses" attr:class="stack-form" attr:novalidate=true>
                                        <FormError error=address_err />
                                        <Field label="Receiver" name="receiver" value=name_receiver error=address_err autocomplete="name" required=true />
                                        <Field label="Street" name="street" error=address_err autocomplete="address-line1" required=true />
                                        <Field label="Detail (optional)" name="detail" error=address_err autocomplete="address-line2" />
                                        <Field label="ZIP code" name="zip" error=address_err autocomplete="postal-code" required=true />
                                        <div class="field checkbox">
                                            <input id="address-main" name="main" type="checkbox" value="true" />
                                            <label for="address-main">"Make this my main address"</label>
                                        </div>
                                        <button type="submit">"Add address"</button>
                                    </ActionForm>
                                </section>

                                <section class="panel" id="account-payments" aria-labelledby="payments-h">
                                    <h2 id="payments-h">"Payment methods"</h2>
                                    {if payment_methods.is_empty() {
                                        view! { <p class="muted">"No saved payment methods yet."</p> }.into_any()
                                    } else {
                                        view! {
                                            <ul class="payment-list">
                                                {payment_methods.into_iter().map(|p| {
                                                    let masked = p.masked();
                                                    let pid = p.id.to_string();
                                                    view! {
                                                    <li class="payment-method">
                                                        <strong>{masked}</strong>
                                                        " " <span class="muted">{p.holder}</span>
                                                        {p.expiry.map(|e| view! { " " <span class="muted">{format!("expires {e}")}</span> })}
                                                        <ActionForm action=delete_payment attr:data-swap="account-notices account-payments">
                                                            <input type="hidden" name="id" value=pid />
                                                            <button type="submit" class="button-secondary">"Remove"</button>
                                                        </ActionForm>
                                                    </li>
                                                }}).collect_view()}
                                            </ul>
                                        }.into_any()
                                    }}
                                    <h3>"Add a card"</h3>
                                    <ActionForm action=add_card attr:data-swap="account-notices account-payments" attr:class="stack-form" attr:novalidate=true>
                                        <FormError error=card_err />
                                        <Field label="Card holder" name="holder" value=name_card error=card_err autocomplete="cc-name" required=true />
                                        <Field label="Card number" name="number" error=card_err autocomplete="cc-number" required=true />
                                        <Field label="Expiry (MM/YY)" name="expiry" error=card_err autocomplete="cc-exp" required=true />
                                        <button type="submit">"Add card"</button>
                                    </ActionForm>
                                    <h3>"Add a bank account"</h3>
                                    <ActionForm action=add_bank attr:data-swap="account-notices account-payments" attr:class="stack-form" attr:novalidate=true>
                                        <FormError error=bank_err />
                                        <Field label="Bank name" name="bank" error=bank_err required=true />
                                        <Field label="Account holder" name="holder" id="bank_holder" value=name_bank error=bank_err required=true />
                                        <Field label="Account number" name="number" id="bank_number" error=bank_err required=true />
                                        <button type="submit">"Add bank account"</button>
                                    </ActionForm>
                                </section>
                            </div>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}
