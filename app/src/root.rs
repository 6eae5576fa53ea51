//! The HTML shell and the route table.

use crate::components::{footer::Footer, header::Header};
use crate::pages::admin::{
    audit::AuditPage, dashboard::DashboardPage, dead_letters::DeadLettersPage, order::AdminOrderPage,
    orders::AdminOrdersPage, product_form::EditProductPage, product_form::NewProductPage,
    products::AdminProductsPage, returns::AdminReturnsPage, sale_form::EditSalePage, sale_form::NewSalePage, sales::AdminSalesPage,
    AdminLayout,
};
use crate::pages::cart::{CartPage, WishlistPage};
use crate::pages::orders::{OrderPage, OrdersPage};
use crate::pages::password_reset::{ForgotPasswordPage, ResetPasswordPage, VerifyEmailPage};
use crate::pages::{
    account::AccountPage, home::HomePage, login::LoginPage, not_found::NotFoundPage, product::ProductPage,
    products::ProductsPage, sale::SalePage, signup::SignupPage,
};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{path, SsrMode};
use std::sync::atomic::{AtomicBool, Ordering};

/// Where the stylesheet is served (embedded in the server binary).
pub const STYLESHEET_URL: &str = concat!("/style/main.css?v=", env!("CARGO_PKG_VERSION"));

static HYDRATION_BUNDLE: AtomicBool = AtomicBool::new(false);

/// Tells the shell whether a client bundle (`/pkg/…`) exists. Without one, pages are plain
/// server-rendered HTML and no script tags are emitted; with one, the islands hydrate.
pub fn set_hydration_bundle(available: bool) {
    HYDRATION_BUNDLE.store(available, Ordering::Relaxed);
}

/// Whether pages carry the client bundle (set once at start-up).
pub fn hydration_bundle() -> bool {
    HYDRATION_BUNDLE.load(Ordering::Relaxed)
}

pub fn shell(options: LeptosOptions) -> impl IntoView {
    let hydrate = hydration_bundle();
    if !hydrate {
        // Nothing in the browser reads the resources' values, so they are not serialized
        // into the page (Leptos writes every resolved resource as JSON in a script unless
        // told otherwise: about a quarter of a product page's bytes, and serde work per
        // request). With a bundle, `HydrationScripts` decides.
        if let Some(context) = Owner::current_shared_context() {
            context.set_is_hydrating(false);
        }
    } else {
        script_nonce();
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light" />
                <link rel="icon" href="/media/favicon.svg" type="image/svg+xml" />
                {hydrate.then(|| view! { <HydrationScripts options=options.clone() islands=true /> })}
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Gives this page a fresh nonce for its one inline script (the island loader that
/// `HydrationScripts` writes) and the policy that lets only that script run.
fn script_nonce() {
    #[cfg(feature = "ssr")]
    {
        leptos::nonce::provide_nonce();
        if let (Some(nonce), Some(res)) =
            (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>())
        {
            if let Ok(policy) = http::HeaderValue::from_str(&crate::csp::with_script_nonce(&nonce)) {
                res.insert_header(http::header::CONTENT_SECURITY_POLICY, policy);
            }
        }
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="shop-css" href=STYLESHEET_URL />
        // Every page title passes through here, and leptos_meta writes the result into
        // `<title>` as it is: this is the one place titles are escaped.
        <Title formatter=|text: String| {
            crate::escape::raw_text(&if text.is_empty() { "Flashmart".to_string() } else { format!("{text} · Flashmart") })
        } />
        <Router>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <Header />
            <main id="main" class="container">
                // Async SSR: the whole page (and its status code) is ready before the first
                // byte is sent, so it works without JavaScript and 404s are real 404s.
                <Routes fallback=|| view! { <NotFoundPage /> }>
                    <Route path=path!("") view=HomePage ssr=SsrMode::Async />
                    <Route path=path!("/products") view=ProductsPage ssr=SsrMode::Async />
                    <Route path=path!("/products/:id") view=ProductPage ssr=SsrMode::Async />
                    <Route path=path!("/sales/:id") view=SalePage ssr=SsrMode::Async />
                    <Route path=path!("/signup") view=SignupPage ssr=SsrMode::Async />
                    <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async />
                    <Route path=path!("/forgot-password") view=ForgotPasswordPage ssr=SsrMode::Async />
                    <Route path=path!("/reset-password") view=ResetPasswordPage ssr=SsrMode::Async />
                    <Route path=path!("/verify-email") view=VerifyEmailPage ssr=SsrMode::Async />
                    <Route path=path!("/account") view=AccountPage ssr=SsrMode::Async />
                    <Route path=path!("/orders") view=OrdersPage ssr=SsrMode::Async />
                    <Route path=path!("/cart") view=CartPage ssr=SsrMode::Async />
                    <Route path=path!("/wishlist") view=WishlistPage ssr=SsrMode::Async />
                    <Route path=path!("/orders/:id") view=OrderPage ssr=SsrMode::Async />
                    // Staff only (each page checks the visitor first); `new` before `:id`.
                    <ParentRoute path=path!("/admin") view=AdminLayout ssr=SsrMode::Async>
                        <Route path=path!("") view=DashboardPage ssr=SsrMode::Async />
                        <Route path=path!("/products") view=AdminProductsPage ssr=SsrMode::Async />
                        <Route path=path!("/products/new") view=NewProductPage ssr=SsrMode::Async />
                        <Route path=path!("/products/:id") view=EditProductPage ssr=SsrMode::Async />
                        <Route path=path!("/sales") view=AdminSalesPage ssr=SsrMode::Async />
                        <Route path=path!("/sales/new") view=NewSalePage ssr=SsrMode::Async />
                        <Route path=path!("/sales/:id") view=EditSalePage ssr=SsrMode::Async />
                        <Route path=path!("/orders") view=AdminOrdersPage ssr=SsrMode::Async />
                        <Route path=path!("/orders/:id") view=AdminOrderPage ssr=SsrMode::Async />
                        <Route path=path!("/returns") view=AdminReturnsPage ssr=SsrMode::Async />
                        <Route path=path!("/dead-letters") view=DeadLettersPage ssr=SsrMode::Async />
                        <Route path=path!("/audit") view=AuditPage ssr=SsrMode::Async />
                    </ParentRoute>
                </Routes>
            </main>
            <Footer />
        </Router>
    }
}
