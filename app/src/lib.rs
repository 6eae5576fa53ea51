//! The storefront UI: routes, pages, components, and the server functions that are both the
//! pages' data source and the shop's HTTP API (`/api/…`, see README "HTTP API").
//!
//! Arrows that must never exist: `pages`/`components` → `shop_store` (they call `api`);
//! `shop_domain` → anything web or SQL.

pub mod api;
#[cfg(feature = "ssr")]
pub mod auth;
pub mod components;
pub mod csp;
pub mod error;
pub mod escape;
pub mod live;
pub mod pages;
mod root;
#[cfg(feature = "ssr")]
pub mod state;

pub use error::AppError;
pub use root::{hydration_bundle, set_hydration_bundle, shell, App, STYLESHEET_URL};

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // Islands only: the pages are server-rendered; the live widgets hydrate on their own.
    leptos::mount::hydrate_islands();
    // Forms marked `data-swap` answer in place; an order page follows its order.
    live::swap::install();
    // The loader hydrates the page's islands right after this returns, within the same task; a
    // timer runs after them and marks the page live (what the browser tests wait for).
    leptos::prelude::set_timeout(
        || {
            if let Some(root) = leptos::prelude::document().document_element() {
                let _ = root.set_attribute("data-live", "ready");
            }
        },
        std::time::Duration::ZERO,
    );
}
