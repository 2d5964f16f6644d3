//! Any header and body: verification never panics, a signed body always verifies, and the same
//! signature never verifies another body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::telesign::callback::{callback_authorization, verify_callback};
use shared::telesign::ApiKey;

fuzz_target!(|data: &[u8]| {
    let key = ApiKey::parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").expect("key");
    let split = data.iter().position(|b| *b == 0).unwrap_or(data.len());
    let (header, body) = data.split_at(split);
    let header = String::from_utf8_lossy(header);
    let _ = verify_callback(Some(&header), body, "C1", &key, Some(&key));
    let signed = callback_authorization("C1", &key, body);
    assert!(verify_callback(Some(&signed), body, "C1", &key, None).is_ok());
    let mut other = body.to_vec();
    other.push(b'x');
    assert!(verify_callback(Some(&signed), &other, "C1", &key, None).is_err());
});
