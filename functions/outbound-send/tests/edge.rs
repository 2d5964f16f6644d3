//! The send function's edge on the in-memory adapters and a scripted TeleSign: the body and the
//! key read, each refusal answered with its status and the contract's code, TeleSign's verdict
//! answered with the recorded message.

use lambda_http::{Body, Response};
use outbound_send::App;
use serde_json::{json, Value};
use shared::access::Role;
use shared::runtime::HttpFunction;
use shared::service::testkit::harness::{stored, World};
use shared::telesign::{Failure, FailureKind, TelesignError};
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

async fn call(w: &World, request: ApiRequest) -> (u16, Value) {
    read(App::new(w.sender(), None).answer(request.build()).await)
}

fn reply(id: &str, body: Value) -> ApiRequest {
    ApiRequest::new(
        "POST /conversations/{conversation_id}/messages",
        &format!("/conversations/{id}/messages"),
    )
    .param("conversation_id", id)
    .caller("a-1", &["agent"])
    .body(&body.to_string())
}

#[tokio::test]
async fn a_reply_is_read_checked_and_sent_once() {
    let w = World::new();
    w.member("a-1", Role::Agent);
    let id = stored(&w.text("+14255550123", "hello", "ref-1").await);
    let sent = call(&w, reply(id.as_str(), json!({"text": "on its way"}))).await;
    assert_eq!((sent.0, sent.1["status"].as_str()), (202, Some("queued")), "{sent:?}");
    assert_eq!(sent.1["conversation_id"].as_str(), Some(id.as_str()));
    let cases = [
        (json!({"txt": "typo"}), 400, "invalid_json"),
        (json!({"text": ""}), 400, "empty_message"),
        (json!({"text": "x".repeat(1601)}), 422, "message_too_long"),
    ];
    for (body, status, expected) in cases {
        assert_eq!(
            code(&call(&w, reply(id.as_str(), body.clone())).await),
            (status, expected),
            "{body}"
        );
    }
    let bad_key = reply(id.as_str(), json!({"text": "hi"})).header("Idempotency-Key", "");
    assert_eq!(code(&call(&w, bad_key).await), (400, "invalid_idempotency_key"));
    let nowhere = reply("01a251d082e074928743e3ba4542ec20", json!({"text": "hi"}));
    assert_eq!(code(&call(&w, nowhere).await), (404, "conversation_not_found"));
    let keyed = || reply(id.as_str(), json!({"text": "once"})).header("Idempotency-Key", "k-1");
    let first = call(&w, keyed()).await;
    let again = call(&w, keyed()).await;
    assert_eq!((first.0, again.0), (202, 202));
    assert_eq!(
        first.1["message_id"], again.1["message_id"],
        "the key replays its first answer"
    );
    let other = reply(id.as_str(), json!({"text": "another"})).header("Idempotency-Key", "k-1");
    assert_eq!(code(&call(&w, other).await), (422, "idempotency_key_reused"));
}

#[tokio::test]
async fn a_telesign_refusal_is_a_bad_gateway_with_the_message_kept() {
    let w = World::new();
    w.member("a-1", Role::Agent);
    let id = stored(&w.text("+14255550123", "hello", "ref-1").await);
    w.gateway.answer_next(Err(TelesignError::Failure(Failure {
        http_status: 400,
        code: Some(11000),
        description: "Invalid value for parameter phone_number.".into(),
        kind: FailureKind::InvalidRequest,
    })));
    let refused = call(&w, reply(id.as_str(), json!({"text": "hi"}))).await;
    assert_eq!(code(&refused), (502, "telesign_rejected"));
    assert_eq!(refused.1["error"]["telesign_code"], 11000);
    assert_eq!(
        refused.1["message"]["status"], "failed",
        "the message as recorded: {refused:?}"
    );
}

#[tokio::test]
async fn an_outreach_reads_its_numbers_as_a_person_types_them() {
    let w = World::new();
    let outreach = |to: &str| {
        ApiRequest::new("POST /messages", "/messages")
            .caller("o-1", &["operator"])
            .body(
                &json!({"account_id": w.account.account_id, "from": w.support.as_str(), "to": to, "text": "hi"})
                    .to_string(),
            )
    };
    let sent = call(&w, outreach("(425) 555-0199")).await;
    assert_eq!(
        sent.0, 202,
        "a national number is the support number's country's: {sent:?}"
    );
    assert_eq!(code(&call(&w, outreach("12")).await), (400, "invalid_phone_number"));
    let unknown = ApiRequest::new("POST /messages", "/messages")
        .caller("o-1", &["operator"])
        .body(&json!({"account_id": "nope", "from": "14255550100", "to": "14255550199", "text": "hi"}).to_string());
    assert_eq!(code(&call(&w, unknown).await), (404, "account_not_found"));
}
