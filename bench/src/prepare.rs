//! Buyers and a sale, written through the shop's own data layer (no argon2, no HTTP): each
//! buyer is a customer with a main address, a card encrypted with the shop's key, and a
//! signed-in session exactly as the login creates it.

use anyhow::{Context, Result};
use futures::StreamExt as _;
use shop::sessions::DbSessionStore;
use shop_domain::{PaymentKind, Role, Timestamp};
use shop_store::{NewAddress, NewPaymentMethod, NewProduct, NewSale, NewUser, Store};
use std::collections::HashMap;
use tower_sessions::session::{Id, Record};
use tower_sessions::SessionStore;

/// One prepared buyer: what their browser would send.
#[derive(Debug, Clone)]
pub struct Buyer {
    pub user_id: i64,
    /// `flashmart_session=…`
    pub cookie: String,
    pub address_id: i64,
    pub card_id: i64,
}

fn secrets() -> Result<shop_security::SecretBox> {
    use base64::Engine;
    let key = base64::engine::general_purpose::STANDARD.decode(crate::deploy::SECRET_KEY)?;
    shop_security::SecretBox::new(&key).map_err(|e| anyhow::anyhow!("secret key: {e}"))
}

async fn buyer(store: &Store, sessions: &DbSessionStore, secret: &[u8], n: usize) -> Result<Buyer> {
    let now = Timestamp::now();
    let user_id = store
        .create_user(
            &NewUser {
                email: format!("buyer{n}@bench.example"),
                username: format!("buyer_{n}"),
                password_hash: "not-a-hash: drill buyers never log in".into(),
                name: format!("Buyer {n}"),
                phone: None,
                role: Role::Customer,
                email_verified: true,
            },
            now,
        )
        .await
        .map_err(|e| anyhow::anyhow!("creating buyer {n}: {e}"))?;
    let address = NewAddress {
        receiver: format!("Buyer {n}"),
        street: "1 Main St".into(),
        detail: String::new(),
        zip: "12345".into(),
        make_main: true,
    };
    let address_id = store.add_address(user_id, &address, now).await?;
    let card = NewPaymentMethod {
        kind: PaymentKind::Card,
        label: "Visa".into(),
        holder: format!("Buyer {n}"),
        last4: "4242".into(),
        expiry: Some("12/39".into()),
        secret: secret.to_vec(),
    };
    let card_id = store.add_payment_method(user_id, &card, now).await?;
    let record = Record {
        id: Id::default(),
        data: HashMap::from([("user_id".to_string(), serde_json::json!(user_id))]),
        expiry_date: tower_sessions::cookie::time::OffsetDateTime::now_utc()
            + tower_sessions::cookie::time::Duration::hours(2),
    };
    sessions.save(&record).await.map_err(|e| anyhow::anyhow!("session: {e}"))?;
    Ok(Buyer { user_id, cookie: format!("flashmart_session={}", record.id), address_id, card_id })
}

/// Creates `n` buyers, `parallel` at a time (PostgreSQL takes them concurrently; SQLite
/// queues its writers, which costs nothing here).
pub async fn buyers(store: &Store, n: usize, parallel: usize) -> Result<Vec<Buyer>> {
    let sessions = DbSessionStore::new(store.clone());
    // One encrypted test card number for everyone: the payment worker decrypts it.
    let secret = secrets()?.encrypt(b"4242424242424242").map_err(|e| anyhow::anyhow!("encrypt: {e}"))?;
    let results: Vec<Result<Buyer>> = futures::stream::iter(0..n)
        .map(|i| {
            let (store, sessions, secret) = (store.clone(), sessions.clone(), secret.clone());
            async move { buyer(&store, &sessions, &secret, i).await }
        })
        .buffer_unordered(parallel.max(1))
        .collect()
        .await;
    let mut made = results.into_iter().collect::<Result<Vec<Buyer>>>()?;
    made.sort_by_key(|b| b.user_id);
    Ok(made)
}

/// A product and a flash sale of `units` with a per-buyer `limit`, opening at `starts_at`
/// and running for an hour.
pub async fn sale(store: &Store, units: i64, limit: i64, starts_at: Timestamp) -> Result<i64> {
    let now = Timestamp::now();
    let product = store
        .create_product(&NewProduct {
            name: "Drill Lamp".into(),
            description: "The lamp everyone wants at once.".into(),
            price_minor: 10_000,
            stock: units,
            sold_count: 0,
            tags: vec![],
            images: vec![],
            created_at: now,
        })
        .await
        .context("product")?;
    let sale = store
        .create_sale(
            &NewSale {
                product_id: product,
                title: "Drill drop".into(),
                sale_price_minor: 4_900,
                quantity: units,
                sold: 0,
                per_buyer_limit: limit,
                starts_at,
                ends_at: starts_at.plus_secs(3_600),
            },
            now,
        )
        .await
        .context("sale")?;
    Ok(sale)
}
