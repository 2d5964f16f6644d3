//! The keyed hash that keeps an erased customer's opt-out: HMAC-SHA256 over the account and the
//! customer's number with a key of the deployment (a Secrets Manager secret the template
//! generates, read once per cold start). The table keeps only the hash (`OPTOUT#<account>#<tag>`),
//! so an erasure leaves no number behind, while a send to the same number computes the same tag
//! and is refused. Without the key the tag cannot be reversed by trying every number (a plain
//! hash of ten-odd digits could).

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::ids::AccountId;
use crate::phone::PhoneNumber;

/// The deployment's key of opt-out tags. Its `Debug` shows no key.
#[derive(Clone)]
pub struct OptOutKey {
    key: Vec<u8>,
}

impl std::fmt::Debug for OptOutKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OptOutKey(redacted)")
    }
}

/// The shortest key accepted: 32 bytes, as the template generates it.
pub const MIN_KEY_BYTES: usize = 32;

/// A key too short to keep numbers from being guessed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the opt-out key is shorter than {MIN_KEY_BYTES} bytes")]
pub struct ShortKey;

impl OptOutKey {
    /// The key from the secret's text.
    pub fn new(secret: &str) -> Result<Self, ShortKey> {
        let key = secret.trim().as_bytes().to_vec();
        if key.len() < MIN_KEY_BYTES {
            return Err(ShortKey);
        }
        Ok(Self { key })
    }

    /// The tag of a customer with an account: 64 hex characters.
    pub fn tag(&self, account_id: &AccountId, customer: &PhoneNumber) -> String {
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.key) {
            Ok(m) => m,
            // HMAC takes a key of any length.
            Err(_) => return String::new(),
        };
        mac.update(account_id.as_str().as_bytes());
        mac.update(b"#");
        mac.update(customer.as_str().as_bytes());
        mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> OptOutKey {
        OptOutKey::new(text).unwrap()
    }

    #[test]
    fn a_tag_is_the_same_for_the_same_customer_and_account_and_names_no_digit_of_them() {
        let k = key("0123456789abcdef0123456789abcdef");
        let account = AccountId::new();
        let customer = PhoneNumber::parse("48601234567").unwrap();
        let tag = k.tag(&account, &customer);
        assert_eq!(tag.len(), 64);
        assert_eq!(tag, k.tag(&account, &customer));
        assert!(!tag.contains("48601234567"));
        assert_ne!(tag, k.tag(&AccountId::new(), &customer), "per account");
        assert_ne!(tag, k.tag(&account, &PhoneNumber::parse("48601234568").unwrap()));
        let other = key("fedcba9876543210fedcba9876543210");
        assert_ne!(tag, other.tag(&account, &customer), "per key");
    }

    #[test]
    fn a_short_key_is_refused_and_a_key_is_never_shown() {
        assert_eq!(OptOutKey::new("short").unwrap_err(), ShortKey);
        let k = key("0123456789abcdef0123456789abcdef");
        assert!(!format!("{k:?}").contains("0123"));
    }
}
