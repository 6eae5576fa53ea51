//! The storefront UI: routes, pages, components, and the server functions that are both the
//! pages' data source and the shop's HTTP API (`/api/…`, see README "HTTP API").
//!
//! Arrows that must never exist: `pages`/`components` → `shop_store` (they call `api`);
//! `shop_domain` → anything web or SQL.

pub mod api;
#[cfg(feature = "ssr")]
pub mod auth;
pub mod components;
pub mod error;
pub mod escape;
pub mod pages;
mod root;
#[cfg(feature = "ssr")]
pub mod state;

pub use error::AppError;
pub use root::{set_hydration_bundle, shell, App, STYLESHEET_URL};

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
