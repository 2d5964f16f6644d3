//! Properties of callback signatures: what is signed verifies, and any change to one byte of
//! the body or the signature does not.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use channel_domain::telesign::callback::{callback_authorization, verify_callback};
use channel_domain::telesign::ApiKey;
use proptest::prelude::*;

fn key() -> ApiKey {
    ApiKey::parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").expect("key")
}

proptest! {
    #[test]
    fn signed_body_verifies(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let auth = callback_authorization("C1", &key(), &body);
        prop_assert!(verify_callback(Some(&auth), &body, "C1", &key(), None).is_ok());
    }

    #[test]
    fn one_changed_body_byte_fails(body in proptest::collection::vec(any::<u8>(), 1..2048), at in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let auth = callback_authorization("C1", &key(), &body);
        let mut tampered = body.clone();
        let i = at.index(tampered.len());
        tampered[i] ^= flip;
        prop_assert!(verify_callback(Some(&auth), &tampered, "C1", &key(), None).is_err());
    }

    #[test]
    fn one_changed_signature_byte_fails(body in proptest::collection::vec(any::<u8>(), 0..512), at in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let auth = callback_authorization("C1", &key(), &body);
        let (_, sig) = auth.rsplit_once(':').expect("signature");
        let mut raw = STANDARD.decode(sig).expect("base64");
        let i = at.index(raw.len());
        raw[i] ^= flip;
        let forged = format!("TSA C1:{}", STANDARD.encode(raw));
        prop_assert!(verify_callback(Some(&forged), &body, "C1", &key(), None).is_err());
    }
}
