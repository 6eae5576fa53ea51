use leptos::prelude::*;
use shop_domain::ProductQuery;

/// Page links: previous, a window of numbers around the current page, next.
#[component]
pub fn Pager(query: ProductQuery, total_pages: u32) -> impl IntoView {
    let current = query.page;
    if total_pages <= 1 {
        return None;
    }
    let lo = current.saturating_sub(2).max(1);
    let hi = (current + 2).min(total_pages);
    let mut numbers: Vec<u32> = (lo..=hi).collect();
    if lo > 1 {
        numbers.insert(0, 1);
    }
    if hi < total_pages {
        numbers.push(total_pages);
    }
    let link = {
        let query = query.clone();
        move |n: u32| query.url_for_page(n)
    };
    let items = numbers
        .windows(2)
        .map(|w| (w[0], w[1] > w[0] + 1))
        .chain(numbers.last().map(|n| (*n, false)))
        .map(|(n, gap_after)| {
            let item = if n == current {
                view! { <li><span class="page current" aria-current="page">{n}</span></li> }.into_any()
            } else {
                view! { <li><a class="page" href=link(n)>{n}</a></li> }.into_any()
            };
            view! {
                {item}
                {gap_after.then(|| view! { <li class="gap" aria-hidden="true">"…"</li> })}
            }
        })
        .collect_view();
    Some(view! {
        <nav class="pager" aria-label="Pages">
            <ul>
                {(current > 1).then(|| view! { <li><a class="page" rel="prev" href=link(current - 1)>"‹ Previous"</a></li> })}
                {items}
                {(current < total_pages).then(|| view! { <li><a class="page" rel="next" href=link(current + 1)>"Next ›"</a></li> })}
            </ul>
        </nav>
    })
}
