use crate::api::auth::me;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn Header() -> impl IntoView {
    let query = use_query_map();
    // Keep the search box filled with the current search.
    let current = move || query.read().get("q").unwrap_or_default();
    view! {
        <header class="site-header">
            <div class="container header-inner">
                <a class="brand" href="/" aria-label="Flashmart home">
                    <span class="brand-mark" aria-hidden="true">"⚡"</span>
                    <span class="brand-name">"Flashmart"</span>
                </a>
                <form class="search" role="search" method="get" action="/products">
                    <label for="q" class="visually-hidden">"Search products"</label>
                    <input id="q" name="q" type="search" placeholder="Search products…"
                        maxlength="80" autocomplete="off" value=current />
                    <button type="submit">"Search"</button>
                </form>
                <nav class="main-nav" aria-label="Main">
                    <a href="/products">"All products"</a>
                    <Suspense fallback=|| ()>
                        // Awaited in place: no `Resource` (see the product page).
                        {move || Suspend::new(async move {
                            match me().await.ok().flatten() {
                                None => view! {
                                    <a href="/login">"Log in"</a>
                                    <a href="/signup">"Sign up"</a>
                                }.into_any(),
                                Some(u) => view! {
                                    <a href="/cart">"Cart"</a>
                                    <a href="/wishlist">"Wishlist"</a>
                                    <a href="/orders">"My orders"</a>
                                    {u.is_admin().then(|| view! { <a href="/admin">"Admin"</a> })}
                                    <a href="/account" class="account-link" id="account-link" data-testid="user-name">{u.name.clone()}</a>
                                    <form method="post" action="/api/logout" class="logout-form">
                                        <button type="submit" class="link-button">"Log out"</button>
                                    </form>
                                }.into_any(),
                            }
                        })}
                    </Suspense>
                </nav>
            </div>
        </header>
    }
}
