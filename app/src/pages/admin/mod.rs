//! The admin pages under `/admin`. Every page asks who is visiting first ([`admin_access`])
//! and is wrapped in [`AdminShell`]: an anonymous visitor is sent to the login page, a customer
//! gets a 403 page. A page's data comes from [`staff_resource`], which calls the admin server
//! function (which checks the role again) only for staff, so a refused visit neither runs it
//! nor has its 403 status overwrite the login redirect.
//!
//! Resources and actions are created at the top of each page component, never inside a
//! `Suspense`'s children: Leptos re-runs those closures while resolving on the server, and a
//! resource created there would fetch again from an owner that is already gone.

pub mod audit;
pub mod dashboard;
pub mod dead_letters;
pub mod order;
pub mod orders;
pub mod product_form;
pub mod products;
pub mod returns;
pub mod sale_form;
pub mod sales;

use crate::api::auth::me;
use crate::components::error_view::{login_required, ErrorView};
use crate::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Outlet;
use leptos_router::hooks::use_location;
use serde::{de::DeserializeOwned, Serialize};
use shop_domain::CurrentUser;
use shop_domain::OrderStatus;

/// The `/admin` parent route: its pages render inside.
#[component]
pub fn AdminLayout() -> impl IntoView {
    view! { <div class="admin"><Outlet /></div> }
}

const SECTIONS: &[(&str, &str)] = &[
    ("/admin", "Dashboard"),
    ("/admin/products", "Products"),
    ("/admin/sales", "Flash sales"),
    ("/admin/orders", "Orders"),
    ("/admin/returns", "Returns"),
    ("/admin/dead-letters", "Dead letters"),
    ("/admin/audit", "Audit log"),
];

/// The section links; the current one is marked.
#[component]
fn AdminNav() -> impl IntoView {
    let path = use_location().pathname.get_untracked();
    let current = SECTIONS
        .iter()
        .rev()
        .find(|(href, _)| path == *href || (*href != "/admin" && path.starts_with(&format!("{href}/"))))
        .map(|(href, _)| *href);
    view! {
        <nav class="admin-nav" aria-label="Admin">
            <ul>
                {SECTIONS.iter().map(|(href, label)| {
                    let here = current == Some(*href);
                    view! {
                        <li><a href=*href aria-current=here.then_some("page")>{*label}</a></li>
                    }
                }).collect_view()}
            </ul>
        </nav>
    }
}

/// Who is visiting an admin page.
pub type Access = Resource<Result<Option<CurrentUser>, AppError>>;

/// Asks who is visiting (create it first, at the top of the page component).
pub fn admin_access() -> Access {
    Resource::new(|| (), |_| me())
}

/// A page's data, fetched only once the visitor is known to be staff; anyone else gets a
/// quiet `Forbidden` (never shown: [`AdminShell`] renders the page only for staff).
pub fn staff_resource<S, T, Fut>(
    access: Access,
    source: impl Fn() -> S + Send + Sync + 'static,
    fetch: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> Resource<Result<T, AppError>>
where
    S: PartialEq + Clone + Send + Sync + 'static,
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<T, AppError>> + Send + 'static,
{
    let fetch = std::sync::Arc::new(fetch);
    Resource::new(source, move |s| {
        let fetch = fetch.clone();
        async move {
            match access.await {
                Ok(Some(user)) if user.is_admin() => fetch(s).await,
                _ => Err(AppError::Forbidden(String::new())),
            }
        }
    })
}

/// Staff only: waits for the visitor, then renders the admin navigation and `children`.
#[component]
pub fn AdminShell(access: Access, children: ChildrenFn) -> impl IntoView {
    let visitor = access;
    let location = use_location();
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                let children = children.clone();
                Suspend::new(async move {
                    match visitor.await {
                        Ok(Some(user)) if user.is_admin() => view! {
                            <AdminNav />
                            {children()}
                        }.into_any(),
                        Ok(Some(_)) => view! { <Forbidden /> }.into_any(),
                        Ok(None) => {
                            let search = location.search.get_untracked();
                            let kept: Vec<&str> =
                                search.split('&').filter(|p| !p.is_empty() && !p.starts_with("__")).collect();
                            let mut here = location.pathname.get_untracked();
                            if !kept.is_empty() {
                                here = format!("{here}?{}", kept.join("&"));
                            }
                            login_required(&here)
                        }
                        Err(e) => view! { <ErrorView error=e /> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

/// A signed-in customer on an admin page: 403.
#[component]
fn Forbidden() -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::state::set_status(403);
    view! {
        <Title text="Staff only" />
        <section class="error-page">
            <h1>"Staff only"</h1>
            <p class="error-message" role="alert">"This page is for shop staff. Your account can't open it."</p>
            <p><a class="button" href="/">"Back to the shop"</a></p>
        </section>
    }
}

/// Shows a page-load error, or the page.
pub fn or_error<T>(result: Result<T, AppError>, view: impl FnOnce(T) -> AnyView) -> AnyView {
    match result {
        Ok(v) => view(v),
        Err(e) => view! { <ErrorView error=e /> }.into_any(),
    }
}

pub use super::done_notice;

/// Previous / "Page n of m" / Next for an admin list.
pub fn pager(page: u32, total_pages: u32, link: impl Fn(u32) -> String) -> Option<AnyView> {
    (total_pages > 1).then(|| {
        view! {
            <nav class="pager" aria-label="Pages">
                <ul>
                    {(page > 1).then(|| view! { <li><a class="page" rel="prev" href=link(page - 1)>"‹ Previous"</a></li> })}
                    <li><span class="page current" aria-current="page">{format!("Page {page} of {total_pages}")}</span></li>
                    {(page < total_pages).then(|| view! { <li><a class="page" rel="next" href=link(page + 1)>"Next ›"</a></li> })}
                </ul>
            </nav>
        }
        .into_any()
    })
}

pub fn order_badge(s: OrderStatus) -> impl IntoView {
    let class = match s {
        OrderStatus::Delivered => "badge badge-live",
        OrderStatus::Failed | OrderStatus::Cancelled => "badge badge-ended",
        _ => "badge badge-upcoming",
    };
    view! { <span class=class data-testid="order-status">{s.label()}</span> }
}

/// The error of a form whose server function takes multipart data (no `ServerAction` for it):
/// read from the no-JS error re-render, like `ServerAction::new()` does.
pub fn multipart_form_error(path: &'static str) -> Signal<Option<AppError>> {
    let err = use_context::<leptos::server::ServerActionError>()
        .filter(|e| e.path() == path)
        .map(|e| leptos::server_fn::error::ServerFnUrlError::<AppError>::decode_err(e.err()));
    Signal::derive(move || err.clone())
}
