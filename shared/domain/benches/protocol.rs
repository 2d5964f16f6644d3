//! Micro-benchmarks of the per-message protocol work: signing a send, verifying a 1 KiB
//! callback, parsing callbacks, counting segments.

use std::hint::black_box;

use channel_domain::sms::analyse;
use channel_domain::telesign::callback::{callback_authorization, verify_callback, Callback};
use channel_domain::telesign::sign::{encode_form, tsa_authorization, RequestToSign, FORM_CONTENT_TYPE};
use channel_domain::telesign::Credentials;
use criterion::{criterion_group, criterion_main, Criterion};

fn creds() -> Credentials {
    Credentials::new(
        "FFFFFFFF-EEEE-DDDD-1234-AB1234567890",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
    )
    .expect("key")
}

/// An inbound SMS callback of exactly `len` bytes (the text fills what the envelope leaves).
fn inbound_body(len: usize) -> Vec<u8> {
    let with_text = |text: &str| {
        serde_json::to_vec(&serde_json::json!({
            "reference_id": "35C8B5F0D1B20E10912CEDCC2A4E1B21", "sub_resource": "mo_sms",
            "status": {"code": 1500, "description": "Message received", "updated_on": "2026-11-25T10:00:00Z"},
            "submit_timestamp": "2026-11-25T10:00:00Z", "errors": [],
            "user_response": {"phone_number": "15555550100", "sender_id": "14252306549", "mo_message": text}
        }))
        .expect("json")
    };
    let envelope = with_text("").len();
    with_text(&"x".repeat(len.saturating_sub(envelope)))
}

fn bench(c: &mut Criterion) {
    let creds = creds();
    c.bench_function("sign a send request", |b| {
        b.iter(|| {
            let body = encode_form(&[
                ("phone_number", "15555550100"),
                (
                    "message",
                    black_box("Thanks for reaching out, an agent will answer shortly."),
                ),
                ("message_type", "ARN"),
                ("sender_id", "14252306549"),
            ]);
            tsa_authorization(
                &creds,
                &RequestToSign {
                    method: "POST",
                    resource: "/v1/messaging",
                    content_type: FORM_CONTENT_TYPE,
                    body: &body,
                    date: "Wed, 25 Nov 2026 10:00:00 GMT",
                    nonce: "A1592C6F-E384-4CDB-BC42-C3AB970369E9",
                },
            )
        })
    });
    let body = inbound_body(1024);
    let auth = callback_authorization(&creds.customer_id, &creds.api_key, &body);
    c.bench_function("verify a 1 KiB callback", |b| {
        b.iter(|| {
            verify_callback(
                Some(black_box(&auth)),
                black_box(&body),
                &creds.customer_id,
                &creds.api_key,
                None,
            )
        })
    });
    c.bench_function("parse a 1 KiB inbound callback", |b| {
        b.iter(|| Callback::parse(black_box(&body)))
    });
    let text = "Hello! Your parcel 😀 is on its way, track it at the link we sent. ".repeat(5);
    c.bench_function("count segments of a 340-character text", |b| {
        b.iter(|| analyse(black_box(&text)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
