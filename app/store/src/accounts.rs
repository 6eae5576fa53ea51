//! Users, sessions, addresses and payment methods.

use crate::{Result, Store, StoreError};
use shop_domain::{Address, CurrentUser, PaymentKind, PaymentMethod, Role, Timestamp};
use sqlx::any::AnyRow;
use sqlx::Row;

/// A user to create; the password is already hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub username: String,
    pub password_hash: String,
    pub name: String,
    pub phone: Option<String>,
    pub role: Role,
    /// Accounts made by the shop itself (the admin CLI, tools) start verified; a signup does
    /// not (its address is verified by mail).
    pub email_verified: bool,
}

/// Why a signup could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("email already registered")]
    DuplicateEmail,
    #[error("username already registered")]
    DuplicateUsername,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone)]
pub struct NewAddress {
    pub receiver: String,
    pub street: String,
    pub detail: String,
    pub zip: String,
    pub make_main: bool,
}

#[derive(Debug, Clone)]
pub struct NewPaymentMethod {
    pub kind: PaymentKind,
    pub label: String,
    pub holder: String,
    pub last4: String,
    pub expiry: Option<String>,
    /// Encrypted full number (nonce || ciphertext).
    pub secret: Vec<u8>,
}

fn user_from_row(row: &AnyRow) -> Result<CurrentUser> {
    let role: String = row.try_get("role")?;
    Ok(CurrentUser {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        phone: row.try_get("phone")?,
        role: Role::parse(&role).ok_or(StoreError::Corrupt("users.role"))?,
        email_verified: row.try_get::<Option<i64>, _>("email_verified_at")?.is_some(),
    })
}

const USER_COLUMNS: &str = "id, username, email, name, phone, role, email_verified_at";

impl Store {
    pub async fn create_user(&self, u: &NewUser, now: Timestamp) -> Result<i64, CreateUserError> {
        let res = sqlx::query_scalar::<_, i64>(
            "INSERT INTO users (email, username, password_hash, name, phone, role, created_at, updated_at, \
             email_verified_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8) RETURNING id",
        )
        .bind(&u.email)
        .bind(&u.username)
        .bind(&u.password_hash)
        .bind(&u.name)
        .bind(&u.phone)
        .bind(u.role.as_str())
        .bind(now.millis())
        .bind(u.email_verified.then_some(now.millis()))
        .fetch_one(&self.writer)
        .await;
        match res {
            Ok(id) => Ok(id),
            Err(e) => {
                let err = StoreError::from(e);
                match err.unique_violation().as_deref() {
                    Some("users_email_key") => Err(CreateUserError::DuplicateEmail),
                    Some("users_username_key") => Err(CreateUserError::DuplicateUsername),
                    _ => Err(err.into()),
                }
            }
        }
    }

    /// The id and password hash of the user with this email or username (any case).
    pub async fn credentials(&self, login: &str) -> Result<Option<(i64, String)>> {
        let login = login.trim();
        let row = sqlx::query(
            "SELECT id, password_hash FROM users WHERE email = $1 OR lower(username) = $1 LIMIT 1",
        )
        .bind(login.to_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((r.try_get("id")?, r.try_get("password_hash")?))).transpose()
    }

    pub async fn password_hash(&self, user_id: i64) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn set_password_hash(&self, user_id: i64, hash: &str, now: Timestamp) -> Result<()> {
        sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(hash)
            .bind(now.millis())
            .bind(user_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub async fn user(&self, id: i64) -> Result<Option<CurrentUser>> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<CurrentUser>> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1"))
            .bind(email.trim().to_lowercase())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub async fn update_profile(
        &self,
        user_id: i64,
        name: &str,
        phone: Option<&str>,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query("UPDATE users SET name = $1, phone = $2, updated_at = $3 WHERE id = $4")
            .bind(name)
            .bind(phone)
            .bind(now.millis())
            .bind(user_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub async fn set_role(&self, user_id: i64, role: Role, now: Timestamp) -> Result<()> {
        sqlx::query("UPDATE users SET role = $1, updated_at = $2 WHERE id = $3")
            .bind(role.as_str())
            .bind(now.millis())
            .bind(user_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    // ---- sessions (the tower-sessions store lives in the server crate) ----

    // `id` is the stored form of the session id (the server hashes it); `user_id` the
    // signed-in user, if any.

    pub async fn session_load(&self, id: &str, now: Timestamp) -> Result<Option<Vec<u8>>> {
        Ok(sqlx::query_scalar("SELECT data FROM sessions WHERE id = $1 AND expires_at > $2")
            .bind(id)
            .bind(now.millis())
            .fetch_optional(&self.pool)
            .await?)
    }

    /// A live session's data and, in the same query, the user it is signed in as (if any, and
    /// if the account still exists): one round trip resolves who is asking.
    /// The second value is the session's user id, the third the user (`None` when the
    /// session is anonymous or its account is gone).
    #[allow(clippy::type_complexity)]
    pub async fn session_load_with_user(
        &self,
        id: &str,
        now: Timestamp,
    ) -> Result<Option<(Vec<u8>, Option<i64>, Option<CurrentUser>)>> {
        let row = sqlx::query(
            "SELECT s.data, s.user_id AS session_user, u.id, u.username, u.email, u.name, u.phone, u.role, \
             u.email_verified_at \
             FROM sessions s LEFT JOIN users u ON u.id = s.user_id WHERE s.id = $1 AND s.expires_at > $2",
        )
        .bind(id)
        .bind(now.millis())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let data: Vec<u8> = row.try_get("data")?;
        let session_user: Option<i64> = row.try_get("session_user")?;
        let user = match row.try_get::<Option<i64>, _>("id")? {
            Some(_) => Some(user_from_row(&row)?),
            None => None,
        };
        Ok(Some((data, session_user, user)))
    }

    /// Inserts a new session; `false` when the id is taken.
    pub async fn session_create(
        &self,
        id: &str,
        user_id: Option<i64>,
        data: &[u8],
        expires_at: Timestamp,
    ) -> Result<bool> {
        let n = sqlx::query(
            "INSERT INTO sessions (id, user_id, data, expires_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(user_id)
        .bind(data)
        .bind(expires_at.millis())
        .execute(&self.writer)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    pub async fn session_save(
        &self,
        id: &str,
        user_id: Option<i64>,
        data: &[u8],
        expires_at: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (id, user_id, data, expires_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, data = excluded.data, \
             expires_at = excluded.expires_at",
        )
        .bind(id)
        .bind(user_id)
        .bind(data)
        .bind(expires_at.millis())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn session_delete(&self, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id = $1").bind(id).execute(&self.writer).await?;
        Ok(())
    }

    /// Ends every session of `user_id` (password change, "log out everywhere"); how many.
    pub async fn delete_user_sessions(&self, user_id: i64) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&self.writer)
            .await?
            .rows_affected())
    }

    /// Sessions `user_id` has open (tests and the account page).
    pub async fn user_session_count(&self, user_id: i64, now: Timestamp) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE user_id = $1 AND expires_at > $2")
            .bind(user_id)
            .bind(now.millis())
            .fetch_one(&self.pool)
            .await?)
    }

    pub async fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now.millis())
            .execute(&self.writer)
            .await?
            .rows_affected())
    }

    // ---- addresses ----

    pub async fn addresses(&self, user_id: i64) -> Result<Vec<Address>> {
        let rows = sqlx::query(
            "SELECT id, receiver, street, detail, zip, is_main FROM addresses \
             WHERE user_id = $1 ORDER BY is_main DESC, id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Address {
                    id: r.try_get("id")?,
                    receiver: r.try_get("receiver")?,
                    street: r.try_get("street")?,
                    detail: r.try_get("detail")?,
                    zip: r.try_get("zip")?,
                    is_main: r.try_get::<i64, _>("is_main")? == 1,
                })
            })
            .collect()
    }

    /// Adds an address. The first address, or one asked to be main, becomes the only main one.
    pub async fn add_address(&self, user_id: i64, a: &NewAddress, now: Timestamp) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        self.lock_user(&mut tx, user_id).await?;
        let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM addresses WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
        let main = a.make_main || existing == 0;
        if main {
            sqlx::query("UPDATE addresses SET is_main = 0 WHERE user_id = $1 AND is_main = 1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO addresses (user_id, receiver, street, detail, zip, is_main, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(user_id)
        .bind(&a.receiver)
        .bind(&a.street)
        .bind(&a.detail)
        .bind(&a.zip)
        .bind(i64::from(main))
        .bind(now.millis())
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Serialises one user's address changes: "one main address" is read, then written, so two
    /// at once (two tabs, a double click) would both make one main and the second would break
    /// `addresses_one_main_key`. SQLite's `BEGIN IMMEDIATE` already queues writers.
    async fn lock_user(&self, tx: &mut sqlx::Transaction<'static, sqlx::Any>, user_id: i64) -> Result<()> {
        let lock = format!("SELECT id FROM users WHERE id = $1{}", crate::admin::for_update(self.backend));
        sqlx::query(&lock).bind(user_id).fetch_optional(&mut **tx).await?;
        Ok(())
    }

    /// Makes one of the user's addresses the main one. `false` if it is not theirs.
    pub async fn set_main_address(&self, user_id: i64, address_id: i64) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        self.lock_user(&mut tx, user_id).await?;
        let owned: Option<i64> =
            sqlx::query_scalar("SELECT id FROM addresses WHERE id = $1 AND user_id = $2")
                .bind(address_id)
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?;
        if owned.is_none() {
            return Ok(false);
        }
        sqlx::query("UPDATE addresses SET is_main = 0 WHERE user_id = $1 AND is_main = 1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE addresses SET is_main = 1 WHERE id = $1")
            .bind(address_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Deletes one of the user's addresses; if it was main, the oldest remaining one becomes main.
    pub async fn delete_address(&self, user_id: i64, address_id: i64) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("DELETE FROM addresses WHERE id = $1 AND user_id = $2")
            .bind(address_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let mains: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM addresses WHERE user_id = $1 AND is_main = 1")
                .bind(user_id)
                .fetch_one(&mut *tx)
                .await?;
        if mains == 0 {
            sqlx::query(
                "UPDATE addresses SET is_main = 1 WHERE id = (SELECT MIN(id) FROM addresses WHERE user_id = $1)",
            )
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(n == 1)
    }

    // ---- payment methods ----

    pub async fn payment_methods(&self, user_id: i64) -> Result<Vec<PaymentMethod>> {
        let rows = sqlx::query(
            "SELECT id, kind, label, holder, last4, expiry FROM payment_methods WHERE user_id = $1 ORDER BY id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get("kind")?;
                Ok(PaymentMethod {
                    id: r.try_get("id")?,
                    kind: if kind == "card" { PaymentKind::Card } else { PaymentKind::Bank },
                    label: r.try_get("label")?,
                    holder: r.try_get("holder")?,
                    last4: r.try_get("last4")?,
                    expiry: r.try_get("expiry")?,
                })
            })
            .collect()
    }

    pub async fn add_payment_method(
        &self,
        user_id: i64,
        p: &NewPaymentMethod,
        now: Timestamp,
    ) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO payment_methods (user_id, kind, label, holder, last4, expiry, secret, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(user_id)
        .bind(match p.kind {
            PaymentKind::Card => "card",
            PaymentKind::Bank => "bank",
        })
        .bind(&p.label)
        .bind(&p.holder)
        .bind(&p.last4)
        .bind(&p.expiry)
        .bind(&p.secret)
        .bind(now.millis())
        .fetch_one(&self.writer)
        .await?)
    }

    /// The encrypted number of one of the user's payment methods (for the payment worker).
    pub async fn payment_secret(&self, user_id: i64, id: i64) -> Result<Option<Vec<u8>>> {
        Ok(sqlx::query_scalar("SELECT secret FROM payment_methods WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn delete_payment_method(&self, user_id: i64, id: i64) -> Result<bool> {
        Ok(sqlx::query("DELETE FROM payment_methods WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(&self.writer)
            .await?
            .rows_affected()
            == 1)
    }
}
