//! Server-only security: password hashing, secret encryption, attempt limits, sessions.

pub mod limits;
pub mod session;
pub mod signed_in;

pub use shop_security::{password, secrets};

pub use limits::{AttemptLimiter, LimitSettings, Limits, Write};
pub use session::{current_user, require_admin, require_user, FormEcho};
pub use shop_security::SecretBox;
pub use signed_in::SignedIn;
