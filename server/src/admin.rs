//! Admin accounts: `shop admin create` and the demo admin of a seeded store.

use crate::StartError;
use shop_domain::account::{check_password, parse_name, Email, Username};
use shop_domain::{Role, Timestamp};
use shop_store::{CreateUserError, NewUser, Store};
use std::path::Path;

pub const DEMO_ADMIN_EMAIL: &str = "admin@flashmart.local";
const DEMO_ADMIN_PASSWORD_FILE: &str = "admin-password.txt";

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error("an account with this email or username already exists (use `shop admin promote --email …`)")]
    Exists,
    #[error("no account with that email")]
    NoSuchUser,
    #[error("database: {0}")]
    Store(#[from] shop_store::StoreError),
    #[error("password hashing failed")]
    Hash,
}

/// Creates an admin account. The password never appears in arguments or logs.
pub async fn create_admin(
    store: &Store,
    email: &str,
    username: &str,
    name: &str,
    password: String,
) -> Result<i64, AdminError> {
    let inv = |field, message: String| AdminError::Invalid { field, message };
    let email = Email::parse(email).map_err(|m| inv("email", m))?;
    let username = Username::parse(username).map_err(|m| inv("username", m))?;
    let name = parse_name(name, "a name").map_err(|m| inv("name", m))?;
    check_password(&password, email.as_str(), username.as_str()).map_err(|m| inv("password", m))?;
    let hash = shop_security::password::hash(password).await.map_err(|_| AdminError::Hash)?;
    let user = NewUser {
        email: email.as_str().to_string(),
        username: username.as_str().to_string(),
        password_hash: hash,
        name,
        phone: None,
        role: Role::Admin,
        email_verified: true,
    };
    match store.create_user(&user, Timestamp::now()).await {
        Ok(id) => Ok(id),
        Err(CreateUserError::DuplicateEmail | CreateUserError::DuplicateUsername) => Err(AdminError::Exists),
        Err(CreateUserError::Store(e)) => Err(e.into()),
    }
}

/// Gives an existing account the admin role.
pub async fn promote(store: &Store, email: &str) -> Result<i64, AdminError> {
    let user = store.user_by_email(email).await?.ok_or(AdminError::NoSuchUser)?;
    store.set_role(user.id, Role::Admin, Timestamp::now()).await?;
    Ok(user.id)
}

/// With the demo seed: an admin whose random password is written, owner-readable only, to
/// `<data dir>/admin-password.txt` (never logged). Start-up prints where to find it.
pub async fn ensure_demo_admin(store: &Store, data_dir: &Path) -> Result<(), StartError> {
    let path = data_dir.join(DEMO_ADMIN_PASSWORD_FILE);
    if store.user_by_email(DEMO_ADMIN_EMAIL).await?.is_some() {
        if path.exists() {
            println!("Demo admin: log in as {DEMO_ADMIN_EMAIL} with the password in {}", path.display());
        }
        return Ok(());
    }
    let password = random_password();
    match create_admin(store, DEMO_ADMIN_EMAIL, "admin", "Shop Admin", password.clone()).await {
        Ok(_) => {}
        // Another process seeded it first.
        Err(AdminError::Exists) => return Ok(()),
        Err(e) => return Err(StartError::SecretKey(format!("demo admin: {e}"))),
    }
    crate::private_dir(data_dir).ok();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    use std::io::Write;
    let written = options.open(&path).and_then(|mut f| writeln!(f, "{password}"));
    match written {
        Ok(()) => {
            println!("Demo admin: log in as {DEMO_ADMIN_EMAIL} with the password in {}", path.display())
        }
        Err(e) => tracing::warn!(error = %e, "could not write the demo admin password file"),
    }
    Ok(())
}

fn random_password() -> String {
    // 128 bits from the OS generator (via a fresh AEAD key), shown as URL-safe base64.
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&shop_security::SecretBox::generate_key()[..16])
}
