use leptos::prelude::*;

#[component]
pub fn Footer() -> impl IntoView {
    view! {
        <footer class="site-footer">
            <div class="container">
                <p>"Flashmart — limited drops, fair for everyone: one queue, no bots, no overselling."</p>
                <p class="muted">"Prices include VAT. Free returns within 30 days."</p>
            </div>
        </footer>
    }
}
