use crate::api::catalog::search_products;
use crate::components::error_view::ErrorView;
use crate::components::pager::Pager;
use crate::components::product_card::ProductGrid;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use shop_domain::catalog::url_encode;
use shop_domain::{ProductQuery, Sort};

#[component]
pub fn ProductsPage() -> impl IntoView {
    let params = use_query_map();
    let results = Resource::new(
        move || {
            let p = params.read();
            (p.get("q"), p.get("tag"), p.get("sort"), p.get("page"))
        },
        |(q, tag, sort, page)| search_products(q, tag, sort, page),
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match results.await {
                    Err(e) => view! { <ErrorView error=e /> }.into_any(),
                    Ok(r) => {
                        let heading = heading(&r.query);
                        let count = r.page.count_label("product", "products");
                        let total_pages = r.query.last_page(r.page.total_pages());
                        let cut_short = r.query.text.is_some()
                            && r.query.page == shop_domain::catalog::MAX_TEXT_PAGE
                            && (r.page.more || r.page.total_pages() > total_pages);
                        let empty = r.page.items.is_empty();
                        view! {
                            <Title text=heading.clone() />
                            <div class="listing-head">
                                <h1>{heading}</h1>
                                <p class="muted result-count">{count}</p>
                            </div>
                            <SortForm query=r.query.clone() />
                            <TagChips tags=r.popular_tags.clone() active=r.query.tag.clone() />
                            {if empty {
                                view! {
                                    <div class="empty">
                                        <p><strong>"No products match your search."</strong></p>
                                        <p class="muted">"Try fewer words, another spelling, or browse a tag above."</p>
                                        <p><a class="button" href="/products">"Show all products"</a></p>
                                    </div>
                                }.into_any()
                            } else {
                                view! {
                                    <ProductGrid products=r.page.items.clone() />
                                    <Pager query=r.query.clone() total_pages=total_pages />
                                    {cut_short.then(|| view! {
                                        <p class="muted search-end" data-testid="search-end">
                                            "A search shows its first 20 pages. Add a word or choose a tag to see the rest."
                                        </p>
                                    })}
                                }.into_any()
                            }}
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

fn heading(q: &ProductQuery) -> String {
    match (&q.text, &q.tag) {
        (Some(t), Some(tag)) => format!("“{t}” in #{tag}"),
        (Some(t), None) => format!("Results for “{t}”"),
        (None, Some(tag)) => format!("#{tag}"),
        (None, None) => "All products".to_string(),
    }
}

/// A GET form: works without JavaScript, keeps the current text and tag.
#[component]
fn SortForm(query: ProductQuery) -> impl IntoView {
    view! {
        <form class="sort-form" method="get" action="/products">
            {query.text.clone().map(|t| view! { <input type="hidden" name="q" value=t /> })}
            {query.tag.clone().map(|t| view! { <input type="hidden" name="tag" value=t /> })}
            <label for="sort">"Sort by"</label>
            <select id="sort" name="sort">
                {Sort::ALL.into_iter().map(|s| view! {
                    <option value=s.as_param() selected=s == query.sort>{s.label()}</option>
                }).collect_view()}
            </select>
            <button type="submit" class="button-secondary">"Apply"</button>
        </form>
    }
}

#[component]
fn TagChips(tags: Vec<(String, i64)>, active: Option<String>) -> impl IntoView {
    view! {
        <nav class="tag-chips" aria-label="Browse by tag">
            {tags.into_iter().map(|(tag, n)| {
                let current = active.as_deref() == Some(tag.as_str());
                view! {
                    <a class="tag" class:active=current aria-current=current.then_some("true")
                        href=format!("/products?tag={}", url_encode(&tag))>
                        {format!("#{tag}")} <span class="count">{n}</span>
                    </a>
                }
            }).collect_view()}
        </nav>
    }
}
