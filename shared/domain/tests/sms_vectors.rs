//! The SMS text vectors (`tests/vectors/sms.json`), shared with the console's `sms.test.mjs`: the
//! Rust `analyse` and the TypeScript one answer each case alike, so the counter an agent sees is
//! the count the send function enforces.

use std::path::PathBuf;

use channel_domain::sms::analyse;
use serde_json::Value;

#[test]
fn every_vector_is_analysed_as_written() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors/sms.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let vectors: Value = serde_json::from_str(&text).expect("sms.json is JSON");
    let cases = vectors["cases"].as_array().expect("cases");
    assert!(cases.len() >= 30, "the vectors are all there");
    let mut wrong = Vec::new();
    for case in cases {
        let name = case["name"].as_str().expect("a name");
        let info = analyse(case["text"].as_str().expect("a text"));
        let ucs2: Vec<String> = info.ucs2_characters.iter().map(char::to_string).collect();
        let want_ucs2: Vec<String> = serde_json::from_value(case["ucs2_characters"].clone()).expect("a list");
        let found = (
            info.characters as u64,
            info.encoding.as_str(),
            info.segments as u64,
            ucs2,
        );
        let want = (
            case["characters"].as_u64().expect("characters"),
            case["encoding"].as_str().expect("encoding"),
            case["segments"].as_u64().expect("segments"),
            want_ucs2,
        );
        if found != want {
            wrong.push(format!("{name}: found {found:?}, the vector says {want:?}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
