//! One-time tokens for links sent by mail (password reset, email verification): 32 random
//! bytes, written as 43 URL-safe characters. Only the token's SHA-256 is stored, so a copy of
//! the database opens no account; the mail carries the token itself.

use aes_gcm::aead::{Generate, Key};
use aes_gcm::Aes256Gcm;
use sha2::{Digest, Sha256};

/// A fresh token and the hash to store for it.
pub fn new_token() -> (String, String) {
    // 32 bytes from the operating system's generator (the same source as the AES keys).
    let bytes = Key::<Aes256Gcm>::generate();
    let token = base64url(&bytes);
    let hash = token_hash(&token);
    (token, hash)
}

/// What is stored for `token` (lowercase hex SHA-256 of its text).
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A 6-digit code (email verification), uniformly drawn, with its hash.
pub fn new_code() -> (String, String) {
    let bytes = Key::<Aes256Gcm>::generate();
    // 2^64 mod 10^6 is tiny against 2^64: the bias is below 1e-13.
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) % 1_000_000;
    let code = format!("{n:06}");
    let hash = token_hash(&code);
    (code, hash)
}

fn base64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_url_safe_unique_and_stored_only_as_hashes() {
        let (a, ha) = new_token();
        let (b, hb) = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'), "{a}");
        assert_eq!(ha, token_hash(&a));
        assert_ne!(ha, hb);
        assert_eq!(ha.len(), 64);
        assert!(!ha.contains(&a));
    }

    #[test]
    fn codes_have_six_digits() {
        for _ in 0..100 {
            let (code, hash) = new_code();
            assert_eq!(code.len(), 6);
            assert!(code.chars().all(|c| c.is_ascii_digit()));
            assert_eq!(hash, token_hash(&code));
        }
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }
}
