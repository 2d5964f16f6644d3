//! The conversations function's edge on the in-memory adapters, without a gateway: each route's
//! parameters parsed, each refusal answered with its status and the contract's code.

use conversations::App;
use lambda_http::{Body, Response};
use serde_json::Value;
use shared::access::Role;
use shared::runtime::HttpFunction;
use shared::service::testkit::fakes::MemoryStore;
use shared::service::testkit::harness::{stored, World};
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
    let app: App<MemoryStore> = App::new(w.desk());
    read(app.answer(request.build()).await)
}

fn list(w: &World) -> ApiRequest {
    ApiRequest::new("GET /conversations", "/conversations")
        .query("account_id", w.account.account_id.as_str())
        .caller("o-1", &["operator"])
}

#[tokio::test]
async fn the_list_reads_its_filters_and_refuses_what_it_cannot_read() {
    let w = World::new();
    w.text("+14255550123", "hello", "ref-1").await;
    let answer = call(&w, list(&w)).await;
    assert_eq!(answer.0, 200, "{answer:?}");
    assert_eq!(answer.1["conversations"].as_array().map(Vec::len), Some(1));
    let no_caller = ApiRequest::new("GET /conversations", "/conversations").query("account_id", "x");
    assert_eq!(code(&call(&w, no_caller).await), (401, "unauthorized"));
    let no_account = ApiRequest::new("GET /conversations", "/conversations").caller("o-1", &["operator"]);
    assert_eq!(code(&call(&w, no_account).await), (400, "missing_parameter"));
    let not_an_id = ApiRequest::new("GET /conversations", "/conversations")
        .query("account_id", "not-an-id")
        .caller("o-1", &["operator"]);
    assert_eq!(code(&call(&w, not_an_id).await), (400, "invalid_parameter"));
    let cases = [
        ("status", "sleeping", "invalid_parameter"),
        ("assigned", "", "invalid_parameter"),
        ("limit", "0", "invalid_parameter"),
        ("limit", "101", "invalid_parameter"),
        ("customer", "not a number", "invalid_phone_number"),
        ("cursor", "bogus", "invalid_cursor"),
    ];
    for (name, value, expected) in cases {
        let answer = call(&w, list(&w).query(name, value)).await;
        assert_eq!(code(&answer), (400, expected), "{name}={value:?}: {answer:?}");
    }
}

#[tokio::test]
async fn a_transcript_and_the_moves_answer_the_policy_and_the_state_machine() {
    let w = World::new();
    let id = stored(&w.text("+14255550123", "hello", "ref-1").await);
    let path = format!("/conversations/{id}");
    let read_as = |sub: &str, roles: &[&str]| {
        ApiRequest::new("GET /conversations/{conversation_id}", &path)
            .param("conversation_id", id.as_str())
            .caller(sub, roles)
    };
    let answer = call(&w, read_as("o-1", &["operator"])).await;
    assert_eq!(
        (answer.0, answer.1["conversation_id"].as_str()),
        (200, Some(id.as_str()))
    );
    // Not a member of its account: as if it did not exist (nothing told of another team's work).
    let stranger = call(&w, read_as("a-9", &["agent"])).await;
    assert_eq!(code(&stranger), (404, "conversation_not_found"));
    let unknown = ApiRequest::new("GET /conversations/{conversation_id}", "/conversations/x")
        .param("conversation_id", "01a251d082e074928743e3ba4542ec20")
        .caller("o-1", &["operator"]);
    assert_eq!(code(&call(&w, unknown).await), (404, "conversation_not_found"));

    w.member("a-1", Role::Agent);
    let accept = |body: &str| {
        ApiRequest::new(
            "POST /conversations/{conversation_id}/accept",
            &format!("{path}/accept"),
        )
        .param("conversation_id", id.as_str())
        .caller("a-1", &["agent"])
        .body(body)
    };
    assert_eq!(code(&call(&w, accept("{\"nope\": 1}")).await), (400, "invalid_json"));
    let accepted = call(&w, accept("")).await;
    assert_eq!(
        (accepted.0, accepted.1["status"].as_str()),
        (200, Some("active")),
        "{accepted:?}"
    );
    assert_eq!(code(&call(&w, accept("")).await).0, 409, "accepted already");
    let assign = ApiRequest::new(
        "POST /conversations/{conversation_id}/assign",
        &format!("{path}/assign"),
    )
    .param("conversation_id", id.as_str())
    .caller("o-1", &["operator"])
    .body("{}");
    assert_eq!(
        code(&call(&w, assign).await),
        (400, "invalid_json"),
        "agent_id is required, null lets go"
    );
}

#[tokio::test]
async fn a_route_the_function_does_not_serve_is_not_found() {
    let w = World::new();
    let stray = ApiRequest::new("GET /elsewhere", "/elsewhere").caller("o-1", &["operator"]);
    assert_eq!(code(&call(&w, stray).await), (404, "route_not_found"));
}
