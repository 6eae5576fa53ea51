//! `/admin/dead-letters?page=`: events a consumer gave up on, with their error, and "Replay".

use super::{admin_access, done_notice, or_error, pager, staff_resource, AdminShell};
use crate::api::admin::orders::{admin_dead_letters, ReplayDeadLetter};
use crate::components::form::{action_error, FormError};
use crate::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use shop_domain::admin::DeadLetter;
use shop_domain::Page;

/// One dead letter: what failed, why, when; its payload; "Replay" until it is replayed.
#[component]
pub fn DeadLetterItem(letter: DeadLetter, replay: ServerAction<ReplayDeadLetter>) -> impl IntoView {
    let id = letter.id.to_string();
    let order = letter.order_id();
    view! {
        <li class="dead-letter" id=format!("dead-letter-{}", letter.id) data-testid="dead-letter">
            <p>
                <strong>{format!("#{} on {}", letter.id, letter.topic)}</strong>
                {match order {
                    Some(o) => view! { " — " <a href=format!("/admin/orders/{o}")>{format!("order #{o}")}</a> }.into_any(),
                    None => view! { <span class="muted">{format!(" — key {}", letter.msg_key)}</span> }.into_any(),
                }}
                <span class="muted small">{format!(" failed {}", letter.failed_at.utc_string())}</span>
            </p>
            <p class="error-text" data-testid="dead-letter-error">{letter.error.clone()}</p>
            <details><summary>"Event payload"</summary><pre class="payload">{letter.payload.clone()}</pre></details>
            {match letter.replayed_at {
                Some(at) => view! { <p class="muted" data-testid="replayed">{format!("Replayed {}", at.utc_string())}</p> }.into_any(),
                None => view! {
                    <ActionForm action=replay attr:class="inline-form">
                        <input type="hidden" name="id" value=id />
                        <button type="submit">"Replay"</button>
                    </ActionForm>
                }.into_any(),
            }}
        </li>
    }
}

#[component]
pub fn DeadLettersPage() -> impl IntoView {
    let access = admin_access();
    let params = use_query_map();
    let list = staff_resource(access, move || params.read().get("page"), admin_dead_letters);
    let replay = ServerAction::<ReplayDeadLetter>::new();
    view! {
        <Title text="Dead letters · Admin" />
        <AdminShell access=access>
            <DeadLetters list=list replay=replay />
        </AdminShell>
    }
}

#[component]
fn DeadLetters(
    list: Resource<Result<Page<DeadLetter>, AppError>>,
    replay: ServerAction<ReplayDeadLetter>,
) -> impl IntoView {
    let error = action_error(replay);
    view! {
        <h1>"Dead letters"</h1>
        <p class="muted">"Events a worker could not process after its retries. Fix the cause, then replay: the same event is published again through the outbox, once."</p>
        {done_notice(&[("replayed", "Replayed: the event is queued in the outbox again.")])}
        <FormError error=error />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                or_error(list.await, |page| {
                    let total_pages = page.total_pages();
                    if page.items.is_empty() {
                        return view! { <div class="empty"><p><strong>"No dead letters."</strong></p><p class="muted">"Every event was processed."</p></div> }.into_any();
                    }
                    view! {
                        <ul class="dead-letters">
                            {page.items.into_iter().map(|d| view! { <DeadLetterItem letter=d replay=replay /> }).collect_view()}
                        </ul>
                        {pager(page.page, total_pages, |n| if n > 1 { format!("/admin/dead-letters?page={n}") } else { "/admin/dead-letters".into() })}
                    }.into_any()
                })
            })}
        </Suspense>
    }
}
