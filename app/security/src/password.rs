//! argon2id password hashing (OWASP: m = 19 MiB, t = 2, p = 1 — the crate's defaults), run on
//! tokio's blocking pool so a burst of logins never stalls the async runtime.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use std::sync::OnceLock;

fn hasher() -> Argon2<'static> {
    Argon2::default()
}

/// Hashing could not be done (logged with its cause; nothing about the password).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed")]
pub struct PasswordError;

pub async fn hash(password: String) -> Result<String, PasswordError> {
    tokio::task::spawn_blocking(move || hasher().hash_password(password.as_bytes()).map(|h| h.to_string()))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "password hashing task failed");
            PasswordError
        })?
        .map_err(|e| {
            tracing::error!(error = %e, "password hashing failed");
            PasswordError
        })
}

/// A real hash of a random password, verified against when the login names nobody, so
/// "no such user" and "wrong password" take the same time.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hasher().hash_password(b"no-such-user: timing equaliser").map(|h| h.to_string()).unwrap_or_default()
    })
}

/// `true` only when `stored` exists and matches.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let (hash, real) = match &stored {
            Some(h) => (h.as_str(), true),
            None => (dummy_hash(), false),
        };
        let ok = hasher().verify_password(password.as_bytes(), hash).is_ok();
        ok && real
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_hash_verifies_only_its_password() {
        let h = super::hash("correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(super::verify("correct horse battery".into(), Some(h.clone())).await);
        assert!(!super::verify("wrong".into(), Some(h)).await);
        assert!(!super::verify("anything".into(), None).await, "no account never verifies");
    }
}
