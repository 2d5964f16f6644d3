//! Any text: segment counting, phone normalisation, API keys and form encoding never panic, and
//! form encoding round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::telesign::sign::{decode_form, encode_form};

fuzz_target!(|text: &str| {
    let info = shared::sms::analyse(text);
    assert!(info.segments >= 1);
    assert!(info.characters == text.chars().count());
    if let Ok(n) = shared::phone::normalise(text) {
        assert!(n.bytes().all(|b| b.is_ascii_digit()));
    }
    let _ = shared::telesign::ApiKey::parse(text);
    let decoded = decode_form(&encode_form(&[("message", text)]));
    assert_eq!(decoded, vec![("message".to_owned(), text.to_owned())]);
});
