//! tower-sessions' `SessionStore` over the shop's own database (the `sessions` table), so
//! sessions live in SQLite or PostgreSQL, whichever is active, and every web process shares them.
//! (The published sqlx store wants a typed pool; ours is one `Any` pool for both backends.)

use async_trait::async_trait;
use shop_domain::Timestamp;
use shop_store::Store;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result};
use tower_sessions::SessionStore;

#[derive(Debug, Clone)]
pub struct DbSessionStore {
    store: Store,
}

impl DbSessionStore {
    pub fn new(store: Store) -> Self {
        DbSessionStore { store }
    }
}

fn expiry_ms(record: &Record) -> Timestamp {
    Timestamp::from_millis((record.expiry_date.unix_timestamp_nanos() / 1_000_000) as i64)
}

fn encode(record: &Record) -> Result<Vec<u8>> {
    serde_json::to_vec(record).map_err(|e| Error::Encode(e.to_string()))
}

fn backend(e: shop_store::StoreError) -> Error {
    Error::Backend(e.to_string())
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        // A fresh random id; on the (astronomically unlikely) collision, draw another.
        loop {
            let data = encode(record)?;
            if self
                .store
                .session_create(&record.id.to_string(), &data, expiry_ms(record))
                .await
                .map_err(backend)?
            {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> Result<()> {
        self.store
            .session_save(&record.id.to_string(), &encode(record)?, expiry_ms(record))
            .await
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let Some(data) = self.store.session_load(&id.to_string(), Timestamp::now()).await.map_err(backend)?
        else {
            return Ok(None);
        };
        serde_json::from_slice(&data).map(Some).map_err(|e| Error::Decode(e.to_string()))
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        self.store.session_delete(&id.to_string()).await.map_err(backend)
    }
}
