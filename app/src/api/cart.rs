//! The cart, the wishlist, and buying regular products (from the product page or the whole
//! cart). Regular stock goes through the same stock gate as flash sales; a cart order reserves
//! every line or none.

use crate::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use shop_domain::{CartLine, ProductSummary};

#[cfg(feature = "ssr")]
fn product_id(raw: &str) -> Result<i64, AppError> {
    crate::api::catalog::parse_id(raw, "Product").map_err(crate::api::reject)
}

#[cfg(feature = "ssr")]
fn quantity(raw: Option<&str>) -> Result<i64, AppError> {
    raw.unwrap_or("1")
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|q| (0..=99).contains(q))
        .ok_or_else(|| crate::api::reject(AppError::field("quantity", "Choose a quantity from 1 to 99.")))
}

/// `GET /api/cart`
#[server(endpoint = "cart", prefix = "/api", input = GetUrl)]
pub async fn my_cart() -> Result<Vec<CartLine>, AppError> {
    let user = crate::auth::require_user().await?;
    crate::state::app_state()?.store.cart(user.id).await.map_err(AppError::internal("cart"))
}

/// `POST /api/cart/add` — `product_id`, `quantity` (default 1).
#[server(endpoint = "cart/add", prefix = "/api")]
pub async fn add_to_cart(
    product_id: String,
    #[server(default)] quantity: Option<String>,
) -> Result<(), AppError> {
    let user = crate::auth::require_user().await?;
    crate::api::throttle(crate::auth::Write::Cart, user.id).await?;
    let (id, q) = (self::product_id(&product_id)?, self::quantity(quantity.as_deref())?.max(1));
    let state = crate::state::app_state()?;
    if !state
        .store
        .cart_add(user.id, id, q, shop_domain::Timestamp::now())
        .await
        .map_err(AppError::internal("cart add"))?
    {
        return Err(crate::api::reject(AppError::NotFound("Product".into())));
    }
    leptos_axum::redirect("/cart?done=added");
    Ok(())
}

/// `POST /api/cart/update` — `product_id`, `quantity` (0 removes the line).
#[server(endpoint = "cart/update", prefix = "/api")]
pub async fn update_cart(product_id: String, quantity: String) -> Result<(), AppError> {
    let user = crate::auth::require_user().await?;
    crate::api::throttle(crate::auth::Write::Cart, user.id).await?;
    let (id, q) = (self::product_id(&product_id)?, self::quantity(Some(&quantity))?);
    let state = crate::state::app_state()?;
    if !state.store.cart_set(user.id, id, q).await.map_err(AppError::internal("cart update"))? {
        return Err(crate::api::reject(AppError::NotFound("Cart line".into())));
    }
    leptos_axum::redirect("/cart");
    Ok(())
}

/// `POST /api/cart/remove` — `product_id`.
#[server(endpoint = "cart/remove", prefix = "/api")]
pub async fn remove_from_cart(product_id: String) -> Result<(), AppError> {
    let user = crate::auth::require_user().await?;
    crate::api::throttle(crate::auth::Write::Cart, user.id).await?;
    let id = self::product_id(&product_id)?;
    let state = crate::state::app_state()?;
    state.store.cart_set(user.id, id, 0).await.map_err(AppError::internal("cart remove"))?;
    leptos_axum::redirect("/cart");
    Ok(())
}

#[cfg(feature = "ssr")]
mod place {
    use crate::api::checkout::shared;
    use crate::api::checkout::BuyResult;
    use crate::api::reject;
    use crate::AppError;
    use shop_domain::gate::{Decision, GateItem};
    use shop_domain::{FieldErrors, Timestamp};
    use shop_store::{AllOrNone, NewLine};

    /// Reserves every line in the gate (all or none), then places one order.
    pub async fn order(
        user_id: i64,
        lines: Vec<NewLine>,
        address_id: &str,
        payment_method_id: &str,
        key: &str,
        from_cart: bool,
    ) -> Result<BuyResult, AppError> {
        let state = crate::state::app_state()?;
        let key = shared::checkout_key(key)?;
        if lines.is_empty() {
            return Err(reject(AppError::Conflict("Your cart is empty.".into())));
        }
        let mut errors = FieldErrors::default();
        let (address, method) =
            shared::pick_address_and_payment(&state, user_id, address_id, payment_method_id, &mut errors)
                .await?;
        let (Some(address), Some(method), true) = (address, method, errors.is_empty()) else {
            return Err(reject(AppError::Invalid(errors)));
        };
        if let Some(id) =
            state.store.order_id_for_key(user_id, &key).await.map_err(AppError::internal("order by key"))?
        {
            return Ok(shared::to_order(id, true));
        }
        let now = Timestamp::now();
        let wanted: Vec<(GateItem, u32)> = lines
            .iter()
            .map(|l| (GateItem::Product(l.product_id), u32::try_from(l.quantity).unwrap_or(0).max(1)))
            .collect();
        let taken = match state
            .inventory
            .reserve_all(user_id, &key, &wanted, now)
            .await
            .map_err(shared::inventory_error)?
        {
            AllOrNone::Reserved(taken) => taken,
            // A second submit of this form: the first one places the order.
            AllOrNone::Follower => return shared::await_order(&state, user_id, &key).await,
            AllOrNone::SpentKey => {
                return Err(reject(AppError::Conflict(
                    "This order was already tried; reload the page and try again (nothing was ordered)."
                        .into(),
                )))
            }
            AllOrNone::Refused { index, decision } => {
                let line = &lines[index];
                let message = match decision {
                    Decision::SoldOut => {
                        format!("Not enough {} left for {} (nothing was ordered).", line.name, line.quantity)
                    }
                    _ => format!("{} can't be bought right now (nothing was ordered).", line.name),
                };
                return Err(reject(AppError::Conflict(message)));
            }
        };
        shared::place_reserved(&state, user_id, lines, from_cart, &key, address, method, &taken, now).await
    }
}

/// `POST /api/cart/checkout` — `address_id`, `payment_method_id`, `idempotency_key`: the whole
/// cart as one order; every line is reserved or none is, and the cart is emptied with the order.
#[server(endpoint = "cart/checkout", prefix = "/api")]
pub async fn checkout_cart(
    address_id: String,
    payment_method_id: String,
    idempotency_key: String,
) -> Result<crate::api::checkout::BuyResult, AppError> {
    let user = crate::auth::require_user().await?;
    crate::api::throttle(crate::auth::Write::Order, user.id).await?;
    let state = crate::state::app_state()?;
    let cart = state.store.cart(user.id).await.map_err(AppError::internal("cart"))?;
    let lines = cart
        .into_iter()
        .map(|l| shop_store::NewLine {
            product_id: l.product_id,
            sale_id: None,
            name: l.name,
            unit_price: l.price,
            quantity: l.quantity,
        })
        .collect();
    place::order(user.id, lines, &address_id, &payment_method_id, &idempotency_key, true).await
}

/// `POST /api/buy/product` — `product_id`, `quantity`, `address_id`, `payment_method_id`,
/// `idempotency_key`: buy a regular product straight from its page.
#[server(endpoint = "buy/product", prefix = "/api")]
pub async fn buy_product(
    product_id: String,
    #[server(default)] quantity: Option<String>,
    address_id: String,
    payment_method_id: String,
    idempotency_key: String,
) -> Result<crate::api::checkout::BuyResult, AppError> {
    let user = crate::auth::require_user().await?;
    crate::api::throttle(crate::auth::Write::Order, user.id).await?;
    let (id, q) = (self::product_id(&product_id)?, self::quantity(quantity.as_deref())?.max(1));
    let state = crate::state::app_state()?;
    let offer = state
        .store
        .product_offer(id)
        .await
        .map_err(AppError::internal("product offer"))?
        .ok_or_else(|| crate::api::reject(AppError::NotFound("Product".into())))?;
    let line = shop_store::NewLine {
        product_id: id,
        sale_id: None,
        name: offer.name,
        unit_price: offer.price,
        quantity: q,
    };
    place::order(user.id, vec![line], &address_id, &payment_method_id, &idempotency_key, false).await
}

/// `GET /api/wishlist`
#[server(endpoint = "wishlist", prefix = "/api", input = GetUrl)]
pub async fn my_wishlist() -> Result<Vec<ProductSummary>, AppError> {
    let user = crate::auth::require_user().await?;
    crate::state::app_state()?.store.wishlist(user.id).await.map_err(AppError::internal("wishlist"))
}

/// `POST /api/wishlist/add` — `product_id`.
#[server(endpoint = "wishlist/add", prefix = "/api")]
pub async fn add_to_wishlist(product_id: String) -> Result<(), AppError> {
    let user = crate::auth::require_user().await?;
    crate::api::throttle(crate::auth::Write::Cart, user.id).await?;
    let id = self::product_id(&product_id)?;
    let state = crate::state::app_state()?;
    if !state
        .store
        .wishlist_set(user.id, id, true, shop_domain::Timestamp::now())
        .await
        .map_err(AppError::internal("wishlist"))?
    {
        return Err(crate::api::reject(AppError::NotFound("Product".into())));
    }
    leptos_axum::redirect("/wishlist?done=saved");
    Ok(())
}

/// `POST /api/wishlist/remove` — `product_id`.
#[server(endpoint = "wishlist/remove", prefix = "/api")]
pub async fn remove_from_wishlist(product_id: String) -> Result<(), AppError> {
    let user = crate::auth::require_user().await?;
    crate::api::throttle(crate::auth::Write::Cart, user.id).await?;
    let id = self::product_id(&product_id)?;
    let state = crate::state::app_state()?;
    state
        .store
        .wishlist_set(user.id, id, false, shop_domain::Timestamp::now())
        .await
        .map_err(AppError::internal("wishlist"))?;
    leptos_axum::redirect("/wishlist");
    Ok(())
}
