//! The validation function's edge on the in-memory adapters and a scripted TeleSign.

use lambda_http::{Body, Response};
use serde_json::{json, Value};
use shared::runtime::HttpFunction;
use shared::service::testkit::harness::{World, CUSTOMER_ID, KEY};
use shared::testing::ApiRequest;
use validate_credentials::App;

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

async fn call(w: &World, request: ApiRequest) -> (u16, Value) {
    read(App::new(w.accounts()).answer(request.build()).await)
}

fn validate(body: Value, roles: &[&str]) -> ApiRequest {
    ApiRequest::new("POST /accounts/validate", "/accounts/validate")
        .caller("o-1", roles)
        .body(&body.to_string())
}

#[tokio::test]
async fn given_credentials_are_asked_of_telesign_and_nothing_is_stored() {
    let w = World::new();
    let answer = call(
        &w,
        validate(json!({"customer_id": CUSTOMER_ID, "api_key": KEY}), &["operator"]),
    )
    .await;
    assert_eq!((answer.0, answer.1["valid"].as_bool()), (200, Some(true)), "{answer:?}");
    let bad_host = validate(
        json!({"customer_id": CUSTOMER_ID, "api_key": KEY, "api_host": "moon"}),
        &["operator"],
    );
    assert_eq!(code(&call(&w, bad_host).await), (400, "invalid_api_host"));
    let no_key = validate(json!({"customer_id": CUSTOMER_ID}), &["operator"]);
    assert_eq!(code(&call(&w, no_key).await), (400, "invalid_json"));
    let agent = validate(json!({"customer_id": CUSTOMER_ID, "api_key": KEY}), &["agent"]);
    assert_eq!(code(&call(&w, agent).await), (403, "forbidden"));
}

#[tokio::test]
async fn stored_credentials_are_read_again_for_an_account() {
    let w = World::new();
    let id = w.account.account_id.to_string();
    let stored = ApiRequest::new(
        "POST /accounts/{account_id}/validate",
        &format!("/accounts/{id}/validate"),
    )
    .param("account_id", &id)
    .caller("o-1", &["operator"]);
    let answer = call(&w, stored).await;
    assert_eq!((answer.0, answer.1["valid"].as_bool()), (200, Some(true)), "{answer:?}");
    let nowhere = ApiRequest::new("POST /accounts/{account_id}/validate", "/accounts/x/validate")
        .param("account_id", "01a251d082e074928743e3ba4542ec20")
        .caller("o-1", &["operator"]);
    assert_eq!(code(&call(&w, nowhere).await), (404, "account_not_found"));
}
