//! Every route of the API reaches its function and answers in the contract's shape.

use channel_tests::stack;
use local_gateway::routes::ROUTES;

#[tokio::test]
async fn every_route_reaches_its_function_and_errors_have_the_contract_shape() {
    let s = stack();
    for route in ROUTES {
        let path = route
            .path
            .replace("{account_id}", "0123456789abcdef0123456789abcdef")
            .replace("{conversation_id}", "0123456789abcdef0123456789abcdef")
            .replace("{number}", "15550000000");
        let (status, body) = s.call(route.method, &path, None, &[]).await;
        assert_ne!(
            body.get("message").and_then(|m| m.as_str()),
            Some("Not Found"),
            "{} {path}: the router has no such route",
            route.method
        );
        if status >= 400 {
            let error = &body["error"];
            assert!(
                error["code"]
                    .as_str()
                    .is_some_and(|c| c.chars().all(|c| c.is_ascii_lowercase() || c == '_')),
                "{} {path}: {body}",
                route.method
            );
            assert!(
                error["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{} {path}: {body}",
                route.method
            );
        }
    }
}

#[tokio::test]
async fn unknown_routes_answer_like_api_gateway() {
    let s = stack();
    let (status, body) = s.get("/no/such/route").await;
    assert_eq!((status, body["message"].as_str()), (404, Some("Not Found")));
    let (status, _) = s.call("PATCH", "/accounts", None, &[]).await;
    assert_eq!(status, 404);
}
