//! The accounts function's edge on the in-memory adapters and a scripted TeleSign: bodies and
//! parameters read, each refusal answered with its status and the contract's code.

use accounts::App;
use lambda_http::{Body, Response};
use serde_json::{json, Value};
use shared::access::Role;
use shared::runtime::HttpFunction;
use shared::service::team::Team;
use shared::service::testkit::harness::{World, KEY};
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
    let team = Team { store: w.store.clone() };
    read(App::new(w.accounts(), team, None).answer(request.build()).await)
}

fn operator(route: &str, path: &str) -> ApiRequest {
    ApiRequest::new(route, path).caller("o-1", &["operator"])
}

fn new_account(number: &str, customer_id: &str) -> String {
    json!({"name": "Sales", "customer_id": customer_id, "api_key": KEY,
           "numbers": [{"number": number, "type": "long_code"}]})
    .to_string()
}

#[tokio::test]
async fn an_account_is_created_once_per_number_and_customer_id() {
    let w = World::new();
    let create = |body: String| operator("POST /accounts", "/accounts").body(&body);
    let created = call(&w, create(new_account("+14255550111", "AB12-0001"))).await;
    assert_eq!(created.0, 201, "{created:?}");
    let taken = call(&w, create(new_account(w.support.as_str(), "AB12-0002"))).await;
    assert_eq!(code(&taken), (409, "number_in_use"));
    let same_customer = call(&w, create(new_account("+14255550112", "AB12-0001"))).await;
    assert_eq!(code(&same_customer), (409, "customer_id_in_use"));
    assert_eq!(
        code(&call(&w, create("{\"name\": 1}".into())).await),
        (400, "invalid_json")
    );
    let agent = ApiRequest::new("POST /accounts", "/accounts")
        .caller("a-1", &["agent"])
        .body(&new_account("+14255550113", "AB12-0003"));
    assert_eq!(code(&call(&w, agent).await), (403, "forbidden"));
}

#[tokio::test]
async fn an_account_is_read_by_its_id_and_listed_in_pages() {
    let w = World::new();
    let id = w.account.account_id.to_string();
    let read_one =
        |id: &str| operator("GET /accounts/{account_id}", &format!("/accounts/{id}")).param("account_id", id);
    let found = call(&w, read_one(&id)).await;
    assert_eq!((found.0, found.1["account_id"].as_str()), (200, Some(id.as_str())));
    let missing = call(&w, read_one("01a251d082e074928743e3ba4542ec20")).await;
    assert_eq!(code(&missing), (404, "account_not_found"));
    let list = call(&w, operator("GET /accounts", "/accounts")).await;
    assert_eq!(list.0, 200);
    assert_eq!(list.1["accounts"].as_array().map(Vec::len), Some(1));
    let bad_cursor = call(&w, operator("GET /accounts", "/accounts").query("cursor", "")).await;
    assert_eq!(code(&bad_cursor), (400, "invalid_cursor"));
}

#[tokio::test]
async fn members_and_canned_responses_read_their_bodies() {
    let w = World::new();
    let id = w.account.account_id.to_string();
    let member = |user: &str, body: Value| {
        operator(
            "PUT /accounts/{account_id}/members/{user_id}",
            &format!("/accounts/{id}/members/{user}"),
        )
        .param("account_id", &id)
        .param("user_id", user)
        .body(&body.to_string())
    };
    assert_eq!(call(&w, member("a-1", json!({"role": "agent"}))).await.0, 200);
    assert_eq!(
        code(&call(&w, member("a-2", json!({"role": "operator"}))).await),
        (400, "invalid_role")
    );
    let canned = |body: Value| {
        ApiRequest::new(
            "POST /accounts/{account_id}/canned-responses",
            &format!("/accounts/{id}/canned-responses"),
        )
        .param("account_id", &id)
        .caller("s-1", &["supervisor"])
        .body(&body.to_string())
    };
    w.member("s-1", Role::Supervisor);
    let written = call(&w, canned(json!({"title": "Hours", "text": "We open at nine."}))).await;
    assert_eq!(written.0, 201, "{written:?}");
    let empty = call(&w, canned(json!({"title": "", "text": "x"}))).await;
    assert_eq!(code(&empty), (400, "invalid_canned_response"));
}
