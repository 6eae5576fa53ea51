use leptos::prelude::*;
use shop_domain::{ProductSummary, StockLevel};

#[component]
pub fn ProductCard(product: ProductSummary) -> impl IntoView {
    let stock = StockLevel::of(product.stock);
    view! {
        <a class="product-card" href=format!("/products/{}", product.id)>
            <img src=product.image_url.clone() alt=product.name.clone() width="320" height="240" loading="lazy" />
            <span class="product-name">{product.name.clone()}</span>
            <span class="product-meta">
                <span class="price">{product.price.to_string()}</span>
                <span class=stock.css_class()>{stock.to_string()}</span>
            </span>
        </a>
    }
}

#[component]
pub fn ProductGrid(products: Vec<ProductSummary>) -> impl IntoView {
    view! {
        <ul class="product-grid">
            {products.into_iter().map(|p| view! { <li><ProductCard product=p /></li> }).collect_view()}
        </ul>
    }
}
