//! The signatures of `../shared/telesign/vectors.json`, computed with TeleSign's official SDK,
//! reproduced byte for byte.

use std::path::PathBuf;

use channel_domain::telesign::callback::{callback_authorization, verify_callback};
use channel_domain::telesign::sign::{basic_authorization, string_to_sign, tsa_authorization, RequestToSign};
use channel_domain::telesign::Credentials;
use serde_json::Value;

fn vectors() -> Value {
    let path = std::env::var_os("TELESIGN_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/telesign/vectors.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("the TeleSign vectors must be at {}: {e}", path.display()));
    serde_json::from_str(&text).expect("vectors.json is JSON")
}

fn s<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field].as_str().unwrap_or_else(|| panic!("vector field {field}"))
}

#[test]
fn every_request_vector_is_reproduced_byte_for_byte() {
    let all = vectors();
    let requests = all["requests"].as_array().expect("requests");
    assert!(!requests.is_empty());
    for v in requests {
        let creds = Credentials::new(s(v, "customer_id"), s(v, "api_key")).expect("vector key decodes");
        let req = RequestToSign {
            method: s(v, "method"),
            resource: s(v, "resource"),
            content_type: s(v, "content_type"),
            body: s(v, "body"),
            date: s(v, "date"),
            nonce: s(v, "nonce"),
        };
        assert_eq!(string_to_sign(&req), s(v, "string_to_sign"), "{}", s(v, "name"));
        assert_eq!(
            tsa_authorization(&creds, &req),
            s(v, "authorization"),
            "{}",
            s(v, "name")
        );
    }
}

#[test]
fn every_basic_vector_is_reproduced() {
    let all = vectors();
    for v in all["basic"].as_array().expect("basic") {
        let creds = Credentials::new(s(v, "customer_id"), s(v, "api_key")).expect("key");
        assert_eq!(basic_authorization(&creds), s(v, "authorization"), "{}", s(v, "name"));
    }
}

#[test]
fn every_callback_vector_verifies_and_is_reproduced() {
    let all = vectors();
    for v in all["callbacks"].as_array().expect("callbacks") {
        let creds = Credentials::new(s(v, "customer_id"), s(v, "api_key")).expect("key");
        let body = s(v, "body").as_bytes();
        assert_eq!(
            callback_authorization(&creds.customer_id, &creds.api_key, body),
            s(v, "authorization"),
            "{}",
            s(v, "name")
        );
        assert!(verify_callback(
            Some(s(v, "authorization")),
            body,
            &creds.customer_id,
            &creds.api_key,
            None
        )
        .is_ok());
    }
}
