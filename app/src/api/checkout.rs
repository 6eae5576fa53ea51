//! Buying: the stock gate decides, then the order and its `order.placed` event commit together.
//! If the order cannot be written, the reservation is given back.

use crate::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};
use shop_domain::{Address, PaymentMethod};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuyResult {
    pub order_id: i64,
    /// `true` when this idempotency key had already placed the order.
    pub repeated: bool,
}

/// Why an unverified buyer cannot buy in a flash sale (the page says it beside the Buy button).
pub const VERIFY_TO_BUY: &str = "Verify your email address to buy in a flash sale: enter the code we mailed you on your account page.";

/// What a signed-in buyer can choose from at checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutChoices {
    pub addresses: Vec<Address>,
    pub payment_methods: Vec<PaymentMethod>,
    /// A fresh idempotency key for the form about to be rendered.
    pub idempotency_key: String,
    /// Flash sales need a verified address.
    #[serde(default)]
    pub email_verified: bool,
}

/// `GET /api/checkout/options` — `null` when not signed in.
#[server(endpoint = "checkout/options", prefix = "/api", input = GetUrl)]
pub async fn checkout_options() -> Result<Option<CheckoutChoices>, AppError> {
    let Some(user) = crate::auth::current_user().await? else { return Ok(None) };
    let state = crate::state::app_state()?;
    Ok(Some(CheckoutChoices {
        addresses: state.store.addresses(user.id).await.map_err(AppError::internal("addresses"))?,
        payment_methods: state
            .store
            .payment_methods(user.id)
            .await
            .map_err(AppError::internal("payments"))?,
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        email_verified: user.email_verified,
    }))
}

/// Pieces every way of buying shares (flash sale, product page, cart).
#[cfg(feature = "ssr")]
pub(crate) mod shared {
    use super::BuyResult;
    use crate::api::reject;
    use crate::state::AppState;
    use crate::AppError;
    use shop_domain::gate::GateItem;
    use shop_domain::{Address, FieldErrors, PaymentMethod, Timestamp};
    use shop_store::{NewLine, NewOrder, Placed};

    /// The idempotency key rendered into the checkout form.
    pub fn checkout_key(raw: &str) -> Result<String, AppError> {
        let key = raw.trim().to_string();
        let ok = (8..=64).contains(&key.len())
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            return Err(reject(AppError::BadRequest(
                "Reload the page and try again (missing checkout key).".into(),
            )));
        }
        Ok(key)
    }

    /// The buyer's own address and payment method by id; problems go into `errors`.
    pub async fn pick_address_and_payment(
        state: &AppState,
        user_id: i64,
        address_id: &str,
        payment_method_id: &str,
        errors: &mut FieldErrors,
    ) -> Result<(Option<Address>, Option<PaymentMethod>), AppError> {
        let addresses = state.store.addresses(user_id).await.map_err(AppError::internal("addresses"))?;
        let address = errors.check(
            "address_id",
            addresses
                .into_iter()
                .find(|a| a.id.to_string() == address_id.trim())
                .ok_or_else(|| "Choose one of your delivery addresses.".to_string()),
        );
        let methods =
            state.store.payment_methods(user_id).await.map_err(AppError::internal("payment methods"))?;
        let method = errors.check(
            "payment_method_id",
            methods
                .into_iter()
                .find(|m| m.id.to_string() == payment_method_id.trim())
                .ok_or_else(|| "Choose one of your payment methods.".to_string()),
        );
        Ok((address, method))
    }

    /// The answer to an accepted purchase: the order, and (for forms) a redirect to its page.
    pub fn to_order(order_id: i64, repeated: bool) -> BuyResult {
        leptos_axum::redirect(&format!("/orders/{order_id}"));
        BuyResult { order_id, repeated }
    }

    /// Writes the order for stock already reserved under `key` (`taken`); the inventory gives
    /// the reservations back when the order is not written.
    #[allow(clippy::too_many_arguments)]
    pub async fn place_reserved(
        state: &AppState,
        user_id: i64,
        lines: Vec<NewLine>,
        from_cart: bool,
        key: &str,
        address: Address,
        method: PaymentMethod,
        taken: &[GateItem],
        now: Timestamp,
    ) -> Result<BuyResult, AppError> {
        let order = NewOrder {
            user_id,
            lines,
            from_cart,
            idempotency_key: key.to_string(),
            ship_receiver: address.receiver,
            ship_street: address.street,
            ship_detail: address.detail,
            ship_zip: address.zip,
            payment_method_id: method.id,
            payment_label: method.masked(),
        };
        match state.inventory.place(&order, taken, now).await.map_err(AppError::internal("place order"))? {
            Placed::Created(id) => {
                tracing::info!(order_id = id, user_id, lines = order.lines.len(), "order placed");
                Ok(to_order(id, false))
            }
            Placed::Existing(id) => Ok(to_order(id, true)),
        }
    }

    /// A second submit of a form whose first submit took the stock: answers with that order.
    /// It may still be committing (a double click lands here within milliseconds), and the
    /// browser shows only the last answer, so wait for it briefly.
    pub async fn await_order(state: &AppState, user_id: i64, key: &str) -> Result<BuyResult, AppError> {
        for _ in 0..40 {
            if let Some(id) = state
                .store
                .order_id_for_key(user_id, key)
                .await
                .map_err(AppError::internal("order by key"))?
            {
                return Ok(to_order(id, true));
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        Err(reject(AppError::Conflict(
            "This order is already being placed. Check My orders in a moment.".into(),
        )))
    }

    /// The gate did not answer: nothing was taken.
    pub fn inventory_error(e: shop_store::InventoryError) -> AppError {
        match e {
            shop_store::InventoryError::Gate(e) => {
                tracing::error!(error = %e, "stock gate");
                reject(AppError::Unavailable(
                    "Buying is paused for a moment. Nothing was charged; please try again.".into(),
                ))
            }
            shop_store::InventoryError::Store(e) => AppError::internal("inventory")(e),
        }
    }
}

/// `POST /api/buy` — `sale_id`, `quantity`, `address_id`, `payment_method_id`,
/// `idempotency_key` (rendered into the form; a double submit sends the same one).
/// Accepted: the order page (`/orders/{id}`). Refused: 409 with the reason (not started, ended,
/// sold out, over your limit), 401 when not signed in.
#[server(endpoint = "buy", prefix = "/api")]
pub async fn buy(
    sale_id: String,
    #[server(default)] quantity: Option<String>,
    #[server(default)] address_id: Option<String>,
    #[server(default)] payment_method_id: Option<String>,
    idempotency_key: String,
    // First purchase: a delivery address and a card typed right into the buy form.
    #[server(default)] receiver: Option<String>,
    #[server(default)] street: Option<String>,
    #[server(default)] zip: Option<String>,
    #[server(default)] holder: Option<String>,
    #[server(default)] number: Option<String>,
    #[server(default)] expiry: Option<String>,
) -> Result<BuyResult, AppError> {
    use crate::api::reject;
    use shop_domain::gate::{Decision, GateItem, ReserveRequest};
    use shop_domain::order::refusal;
    use shop_domain::{FieldErrors, Timestamp};

    let user = crate::auth::require_user().await?;
    if !user.email_verified {
        return Err(reject(AppError::Forbidden(VERIFY_TO_BUY.into())));
    }
    crate::api::throttle(crate::auth::Write::Order, user.id).await?;
    let state = crate::state::app_state()?;
    let sale_id = crate::api::catalog::parse_id(&sale_id, "Sale").map_err(reject)?;
    let key = shared::checkout_key(&idempotency_key)?;
    let mut errors = FieldErrors::default();
    let quantity = errors.check(
        "quantity",
        quantity
            .as_deref()
            .unwrap_or("1")
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|q| (1..=99).contains(q))
            .ok_or_else(|| "Choose a quantity from 1 to 99.".to_string()),
    );
    // What was typed in is checked now but saved only once the gate has said yes: a double
    // click (the second answer is the first one's order) or a refused buyer saves nothing.
    let inline = InlineEntry { receiver, street, zip, holder, number, expiry };
    let typed = check_inline(
        &state,
        address_id.as_deref().unwrap_or_default(),
        payment_method_id.as_deref().unwrap_or_default(),
        inline,
        &mut errors,
    )?;
    let address_id = address_id.unwrap_or_default();
    let payment_method_id = payment_method_id.unwrap_or_default();
    // A form that cannot be right is answered with all its problems before anything is taken
    // (the saved address and card are looked up only to say what is wrong with them).
    let address_given = !address_id.trim().is_empty() || typed.address_typed;
    let method_given = !payment_method_id.trim().is_empty() || typed.card_typed;
    let Some(quantity) = quantity.filter(|_| errors.is_empty() && address_given && method_given) else {
        shared::pick_address_and_payment(&state, user.id, &address_id, &payment_method_id, &mut errors)
            .await?;
        if typed.address_typed {
            errors.remove("address_id");
        }
        if typed.card_typed {
            errors.remove("payment_method_id");
        }
        return Err(reject(AppError::Invalid(errors)));
    };

    // The gate decides first: a refused buyer (sold out, over the limit, not open) costs this
    // request nothing more, however many are refused at once.
    let now = Timestamp::now();
    let item = GateItem::Sale(sale_id);
    let request = ReserveRequest { item, buyer: user.id, quantity, idempotency_key: key.clone(), now };
    let decision = state.inventory.reserve(&request).await.map_err(shared::inventory_error)?;
    match decision {
        Decision::Reserved { .. } => {}
        Decision::Duplicate => return shared::await_order(&state, user.id, &key).await,
        Decision::Unknown
            if state.store.sale_offer(sale_id).await.map_err(AppError::internal("sale offer"))?.is_none() =>
        {
            return Err(reject(AppError::NotFound("Sale".into())));
        }
        other => {
            let (_, message) = refusal(other).unwrap_or((409, "This can't be bought right now.".into()));
            return Err(reject(if other == Decision::Unknown {
                AppError::Unavailable(message)
            } else {
                AppError::Conflict(message)
            }));
        }
    }

    // Taken: now what the order needs. Anything wrong gives the units back.
    let placed = async {
        let (address, method) =
            shared::pick_address_and_payment(&state, user.id, &address_id, &payment_method_id, &mut errors)
                .await?;
        // A typed address or card stands in for the saved one it replaces.
        let address = address.map(Chosen::Saved).or(typed.address.map(Chosen::New));
        let method = method.map(Chosen::Saved).or(typed.card.map(Chosen::New));
        if typed.address_typed {
            errors.remove("address_id");
        }
        if typed.card_typed {
            errors.remove("payment_method_id");
        }
        let (Some(address), Some(method), true) = (address, method, errors.is_empty()) else {
            return Err(reject(AppError::Invalid(std::mem::take(&mut errors))));
        };
        let offer = state
            .store
            .sale_offer(sale_id)
            .await
            .map_err(AppError::internal("sale offer"))?
            .ok_or_else(|| reject(AppError::NotFound("Sale".into())))?;
        let line = shop_store::NewLine {
            product_id: offer.product_id,
            sale_id: Some(sale_id),
            name: offer.name,
            unit_price: offer.sale_price,
            quantity: i64::from(quantity),
        };
        let (address, method) = save_chosen(&state, user.id, address, method).await?;
        Ok((line, address, method))
    }
    .await;
    let (line, address, method) = match placed {
        Ok(ready) => ready,
        Err(e) => {
            state.inventory.give_back(&[item], user.id, &key).await;
            return Err(e);
        }
    };
    shared::place_reserved(&state, user.id, vec![line], false, &key, address, method, &[item], now).await
}

#[cfg(feature = "ssr")]
struct InlineEntry {
    receiver: Option<String>,
    street: Option<String>,
    zip: Option<String>,
    holder: Option<String>,
    number: Option<String>,
    expiry: Option<String>,
}

/// A saved address or payment method, or one typed into the buy form (saved once bought).
#[cfg(feature = "ssr")]
enum Chosen<Saved, New> {
    Saved(Saved),
    New(New),
}

/// An address and card typed into the buy form, checked but not saved.
#[cfg(feature = "ssr")]
struct TypedIn {
    address_typed: bool,
    card_typed: bool,
    address: Option<shop_store::NewAddress>,
    card: Option<shop_store::NewPaymentMethod>,
}

/// When the buy form carried a new address and/or card instead of saved ones, validates them
/// (the same rules as the account page); problems go into `errors`.
#[cfg(feature = "ssr")]
fn check_inline(
    state: &crate::state::AppState,
    address_id: &str,
    payment_method_id: &str,
    e: InlineEntry,
    errors: &mut shop_domain::FieldErrors,
) -> Result<TypedIn, AppError> {
    use shop_domain::account::{parse_expiry, parse_name, parse_text, parse_zip, CardNumber};
    use shop_domain::Timestamp;
    let now = Timestamp::now();
    let typed = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
    let address_typed = address_id.trim().is_empty() && (typed(&e.street) || typed(&e.zip));
    let card_typed = payment_method_id.trim().is_empty() && typed(&e.number);
    let address = if address_typed {
        let receiver =
            errors.check("receiver", parse_name(e.receiver.as_deref().unwrap_or(""), "the receiver's name"));
        let street = errors
            .check("street", parse_text(e.street.as_deref().unwrap_or(""), "the street address", 200, true));
        let zip = errors.check("zip", parse_zip(e.zip.as_deref().unwrap_or("")));
        match (receiver, street, zip) {
            (Some(receiver), Some(street), Some(zip)) => {
                Some(shop_store::NewAddress { receiver, street, detail: String::new(), zip, make_main: true })
            }
            _ => None,
        }
    } else {
        None
    };
    let card = if card_typed {
        let holder =
            errors.check("holder", parse_name(e.holder.as_deref().unwrap_or(""), "the card holder's name"));
        let number = errors.check("number", CardNumber::parse(e.number.as_deref().unwrap_or("")));
        let expiry = errors.check("expiry", parse_expiry(e.expiry.as_deref().unwrap_or(""), now));
        match (holder, number, expiry) {
            (Some(h), Some(n), Some(x)) => Some(crate::api::account::card_method(state, h, &n, x)?),
            _ => None,
        }
    } else {
        None
    };
    Ok(TypedIn { address_typed, card_typed, address, card })
}

/// Saves a typed-in address and card (after the gate took the stock) and returns what the
/// order is placed with.
#[cfg(feature = "ssr")]
async fn save_chosen(
    state: &crate::state::AppState,
    user_id: i64,
    address: Chosen<Address, shop_store::NewAddress>,
    method: Chosen<PaymentMethod, shop_store::NewPaymentMethod>,
) -> Result<(Address, PaymentMethod), AppError> {
    use shop_domain::Timestamp;
    let now = Timestamp::now();
    let address = match address {
        Chosen::Saved(a) => a,
        Chosen::New(a) => {
            let id = state
                .store
                .add_address(user_id, &a, now)
                .await
                .map_err(AppError::internal("inline address"))?;
            Address {
                id,
                receiver: a.receiver,
                street: a.street,
                detail: a.detail,
                zip: a.zip,
                is_main: true,
            }
        }
    };
    let method = match method {
        Chosen::Saved(m) => m,
        Chosen::New(m) => {
            let id = state
                .store
                .add_payment_method(user_id, &m, now)
                .await
                .map_err(AppError::internal("inline card"))?;
            state
                .store
                .payment_methods(user_id)
                .await
                .map_err(AppError::internal("payment methods"))?
                .into_iter()
                .find(|p| p.id == id)
                .ok_or(AppError::Internal)?
        }
    };
    Ok((address, method))
}
