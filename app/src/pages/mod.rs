//! One file per route. Pages call `api` server functions; they never touch the store.

pub mod account;
pub mod admin;
pub mod cart;
pub mod home;
pub mod login;
pub mod not_found;
pub mod orders;
pub mod password_reset;
pub mod product;
pub mod products;
pub mod sale;
pub mod signup;

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// The success notice for `?done=<key>`, from a page's table of messages.
pub fn done_notice(messages: &'static [(&'static str, &'static str)]) -> Option<AnyView> {
    let done = use_query_map().read_untracked().get("done")?;
    let text = messages.iter().find(|(k, _)| *k == done).map(|(_, m)| *m)?;
    Some(view! { <div class="notice" role="status">{text}</div> }.into_any())
}
