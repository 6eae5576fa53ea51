//! tower-sessions' `SessionStore` over the shop's own database (the `sessions` table), so
//! sessions live in SQLite or PostgreSQL, whichever is active, and every web process shares them.
//! (The published sqlx store wants a typed pool; ours is one `Any` pool for both backends.)
//!
//! Rows are keyed by the SHA-256 of the session id, never the id itself: whoever reads the
//! database (a backup, a copied file) learns no cookie that signs anyone in. Each row also
//! records its user, so every session of a user can be ended at once.

use app::auth::SignedIn;
use async_trait::async_trait;
use shop_domain::Timestamp;
use shop_store::Store;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result};
use tower_sessions::SessionStore;

#[derive(Debug, Clone)]
pub struct DbSessionStore {
    store: Store,
    signed_in: Option<SignedIn>,
}

impl DbSessionStore {
    pub fn new(store: Store) -> Self {
        DbSessionStore { store, signed_in: None }
    }

    /// Loads each session with its user in one query and leaves the user in `signed_in` for
    /// `current_user` (no second round trip).
    pub fn handing_users_to(mut self, signed_in: SignedIn) -> Self {
        self.signed_in = Some(signed_in);
        self
    }
}

fn expiry_ms(record: &Record) -> Timestamp {
    Timestamp::from_millis((record.expiry_date.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// What the database stores for a session id.
pub fn stored_id(id: &Id) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(id.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn user_of(record: &Record) -> Option<i64> {
    record.data.get(app::auth::session::USER_ID_KEY).and_then(|v| v.as_i64())
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
                .session_create(&stored_id(&record.id), user_of(record), &data, expiry_ms(record))
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
            .session_save(&stored_id(&record.id), user_of(record), &encode(record)?, expiry_ms(record))
            .await
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let data = match &self.signed_in {
            None => self.store.session_load(&stored_id(id), Timestamp::now()).await.map_err(backend)?,
            Some(signed_in) => {
                match self
                    .store
                    .session_load_with_user(&stored_id(id), Timestamp::now())
                    .await
                    .map_err(backend)?
                {
                    None => None,
                    Some((data, session_user, user)) => {
                        match (user, session_user) {
                            (Some(user), _) => signed_in.put(user),
                            // The account is gone: nothing may stand for it.
                            (None, Some(id)) => signed_in.forget(id),
                            (None, None) => {}
                        }
                        Some(data)
                    }
                }
            }
        };
        let Some(data) = data else { return Ok(None) };
        serde_json::from_slice(&data).map(Some).map_err(|e| Error::Decode(e.to_string()))
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        self.store.session_delete(&stored_id(id)).await.map_err(backend)
    }
}

/// Where a session records when it was last renewed (milliseconds since the epoch).
pub const RENEWED_KEY: &str = "renewed_at";

/// How often an active session is renewed: a tenth of the idle limit, at least a minute and at
/// most an hour. Renewing on every request would write the session row on every page view of
/// every signed-in shopper (a rush is mostly signed-in shoppers); this way a session is written
/// at most once per interval, and an idle one ends within one interval of the limit.
pub fn renewal_interval(idle_minutes: i64) -> i64 {
    (idle_minutes * 60_000 / 10).clamp(60_000, 3_600_000)
}

/// Middleware (inside the session layer): keeps an active session alive. tower-sessions writes
/// a session (and sends its cookie again, with a fresh `Max-Age`) only when the request changed
/// it, so without this a shopper who keeps browsing is signed out `idle_minutes` after signing
/// in. Touches only sessions that exist and hold data; never creates one.
pub async fn keep_alive(
    axum::extract::State(every_ms): axum::extract::State<i64>,
    session: tower_sessions::Session,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let res = next.run(req).await;
    // No cookie and nothing stored by this request (an anonymous visitor): no session to keep.
    if res.status().is_server_error() || (session.id().is_none() && !session.is_modified()) {
        return res;
    }
    // The page has usually loaded the session already (who is signed in); this reads the copy.
    match session.get::<i64>(RENEWED_KEY).await {
        Ok(renewed) => {
            let now = Timestamp::now().millis();
            let due = renewed.is_none_or(|at| now - at >= every_ms);
            if due && !session.is_empty().await {
                if let Err(e) = session.insert(RENEWED_KEY, now).await {
                    tracing::warn!(error = %e, "could not renew the session");
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not read the session to renew it"),
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_id_is_a_hash_not_the_cookie() {
        let id = Id::default();
        let stored = stored_id(&id);
        assert_eq!(stored.len(), 64);
        assert!(!stored.contains(&id.to_string()));
        assert_eq!(stored, stored_id(&id), "stable, so the row is found again");
    }

    #[test]
    fn sessions_renew_a_tenth_into_their_idle_limit_within_bounds() {
        assert_eq!(renewal_interval(14 * 24 * 60), 3_600_000, "two weeks: hourly");
        assert_eq!(renewal_interval(30), 180_000, "half an hour: every 3 minutes");
        assert_eq!(renewal_interval(1), 60_000, "never more than once a minute");
    }
}
