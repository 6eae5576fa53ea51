//! Server-only security: password hashing, secret encryption, attempt limits, sessions.

pub mod limits;
pub mod password;
pub mod secrets;
pub mod session;

pub use limits::AttemptLimiter;
pub use secrets::SecretBox;
pub use session::{current_user, require_admin, require_user, FormEcho};
