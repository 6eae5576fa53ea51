//! Server-side security primitives with no web in them: the web tier (`app`, feature `ssr`),
//! the saga workers and the `shop admin` CLI all use these, and none of them has to pull in
//! the Leptos crate for it.
//!
//! - [`password`]: argon2id hashing and constant-effort verification;
//! - [`secrets`]: AES-256-GCM sealing of card and account numbers at rest;
//! - [`tokens`]: one-time tokens and codes for mailed links, stored only as hashes.

pub mod password;
pub mod secrets;
pub mod tokens;

pub use password::PasswordError;
pub use secrets::{SecretBox, SecretError, KEY_LEN};
