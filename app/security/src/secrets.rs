//! AES-256-GCM for secrets at rest (card and account numbers): `nonce (12 bytes) || ciphertext`.

use aes_gcm::aead::{Aead, Generate, Key, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use std::fmt;

pub const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;

#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBox(…)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret key must be {KEY_LEN} bytes")]
    KeyLength,
    #[error("encryption failed")]
    Encrypt,
    #[error("stored secret cannot be decrypted with this key")]
    Decrypt,
}

impl SecretBox {
    pub fn new(key: &[u8]) -> Result<SecretBox, SecretError> {
        let key = Key::<Aes256Gcm>::try_from(key).map_err(|_| SecretError::KeyLength)?;
        Ok(SecretBox { cipher: Aes256Gcm::new(&key) })
    }

    /// A fresh random key.
    pub fn generate_key() -> Vec<u8> {
        Key::<Aes256Gcm>::generate().to_vec()
    }

    pub fn encrypt(&self, plaintext: &[u8]) -> Result<Vec<u8>, SecretError> {
        let nonce = Nonce::generate();
        let ct = self.cipher.encrypt(&nonce, plaintext).map_err(|_| SecretError::Encrypt)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(out)
    }

    pub fn decrypt(&self, sealed: &[u8]) -> Result<Vec<u8>, SecretError> {
        if sealed.len() < NONCE_LEN {
            return Err(SecretError::Decrypt);
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_from(nonce).map_err(|_| SecretError::Decrypt)?;
        self.cipher.decrypt(&nonce, ct).map_err(|_| SecretError::Decrypt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_detects_tampering() {
        let b = SecretBox::new(&SecretBox::generate_key()).unwrap();
        let sealed = b.encrypt(b"4242424242424242").unwrap();
        assert!(!sealed.windows(16).any(|w| w == b"4242424242424242"));
        assert_eq!(b.decrypt(&sealed).unwrap(), b"4242424242424242");
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(b.decrypt(&tampered).is_err());
        let other = SecretBox::new(&SecretBox::generate_key()).unwrap();
        assert!(other.decrypt(&sealed).is_err());
        assert!(SecretBox::new(&[0u8; 16]).is_err());
    }
}
