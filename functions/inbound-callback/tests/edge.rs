//! The callback function's edge on the in-memory adapters: the raw body handed on unread, the
//! signature first, each refusal answered with its status and the contract's code.

use inbound_callback::App;
use lambda_http::{Body, Response};
use serde_json::{json, Value};
use shared::runtime::HttpFunction;
use shared::service::testkit::harness::{World, CUSTOMER_ID, KEY};
use shared::telesign::callback::callback_authorization;
use shared::telesign::ApiKey;
use shared::testing::ApiRequest;

fn read(response: Response<Body>) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = match response.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap_or(Value::Null),
        Body::Binary(b) => serde_json::from_slice(b).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    (status, body)
}

fn code(answer: &(u16, Value)) -> (u16, &str) {
    (answer.0, answer.1["error"]["code"].as_str().unwrap_or(""))
}

fn callback(account: &str, body: &str, authorization: Option<String>) -> ApiRequest {
    let request = ApiRequest::new(
        "POST /telesign/{account_id}/callback",
        &format!("/telesign/{account_id}/callback", account_id = account),
    )
    .param("account_id", account)
    .body(body);
    match authorization {
        Some(a) => request.header("Authorization", &a),
        None => request,
    }
}

fn signed(body: &str) -> Option<String> {
    Some(callback_authorization(
        CUSTOMER_ID,
        &ApiKey::parse(KEY).unwrap(),
        body.as_bytes(),
    ))
}

async fn call(w: &World, request: ApiRequest) -> (u16, Value) {
    read(App::new(w.callbacks()).answer(request.build()).await)
}

fn inbound(w: &World, reference: &str) -> String {
    json!({"reference_id": reference, "sub_resource": "mo_sms", "status": {"code": 1500},
        "user_response": {"phone_number": "14255550123", "sender_id": w.support.as_str(), "mo_message": "hello"}})
    .to_string()
}

#[tokio::test]
async fn a_signed_message_is_stored_once() {
    let w = World::new();
    let account = w.account.account_id.to_string();
    let body = inbound(&w, "ref-1");
    let stored = call(&w, callback(&account, &body, signed(&body))).await;
    assert_eq!(
        (stored.0, stored.1["result"].as_str()),
        (200, Some("stored")),
        "{stored:?}"
    );
    let again = call(&w, callback(&account, &body, signed(&body))).await;
    assert_eq!((again.0, again.1["result"].as_str()), (200, Some("duplicate")));
}

#[tokio::test]
async fn the_signature_comes_first() {
    let w = World::new();
    let account = w.account.account_id.to_string();
    let body = inbound(&w, "ref-2");
    assert_eq!(
        code(&call(&w, callback(&account, &body, None)).await).0,
        401,
        "unsigned"
    );
    let forged = signed(&inbound(&w, "ref-other"));
    assert_eq!(
        code(&call(&w, callback(&account, &body, forged)).await).0,
        401,
        "signed for another body"
    );
    let garbage = "not json";
    assert_eq!(
        code(&call(&w, callback(&account, garbage, None)).await).0,
        401,
        "unread before it is verified"
    );
    let parsed = call(&w, callback(&account, garbage, signed(garbage))).await;
    assert_eq!(parsed.0, 400, "verified, then read: {parsed:?}");
}

#[tokio::test]
async fn an_unknown_account_and_an_oversized_body_are_refused() {
    let w = World::new();
    let body = inbound(&w, "ref-3");
    let unknown = call(&w, callback("01a251d082e074928743e3ba4542ec20", &body, signed(&body))).await;
    assert_eq!(unknown.0, 404, "{unknown:?}");
    assert_eq!(call(&w, callback("not-an-id", &body, signed(&body))).await.0, 404);
    let big = "x".repeat(shared::http::MAX_BODY_BYTES + 1);
    let account = w.account.account_id.to_string();
    assert_eq!(
        code(&call(&w, callback(&account, &big, None)).await),
        (413, "payload_too_large")
    );
}
