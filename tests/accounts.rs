//! Accounts and credential validation over the real local stack: every validation outcome,
//! creation end to end, numbers, key rotation, and no API key anywhere but Secrets Manager.

use std::time::Duration;

use channel_tests::{code, random_key, random_number, reference_id, stack, table_dump, Stack};
use serde_json::{json, Value};
use shared::telesign::callback::callback_authorization;
use shared::telesign::ApiKey;

async fn validate(s: &Stack, customer_id: &str, key: &str) -> (u16, Value) {
    s.post(
        "/accounts/validate",
        json!({"customer_id": customer_id, "api_key": key}),
    )
    .await
}

#[tokio::test]
async fn validation_tells_each_outcome() {
    let s = stack();
    for (state, result, telesign_code) in [
        ("active", "valid", Value::Null),
        ("suspended", "account_suspended", json!(10010)),
        ("sms_disabled", "product_not_enabled", json!(10011)),
        ("wrong_host", "wrong_host", json!(10031)),
    ] {
        let c = s.customer(state).await;
        let (status, body) = validate(&s, &c.id, &c.key).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            (body["result"].as_str(), body["valid"].as_bool()),
            (Some(result), Some(result == "valid")),
            "{state}"
        );
        assert_eq!(body["telesign_code"], telesign_code);
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let c = s.customer("active").await;
    let (_, body) = validate(&s, &c.id, &random_key()).await;
    assert_eq!(
        (body["result"].as_str(), body["telesign_code"].as_u64()),
        (Some("invalid_credentials"), Some(10008))
    );
    let (_, body) = validate(&s, "UNKNOWN-CUSTOMER", &random_key()).await;
    assert_eq!(
        (body["result"].as_str(), body["telesign_code"].as_u64()),
        (Some("invalid_credentials"), Some(10013))
    );
    s.fault(
        &c,
        json!({"kind": "http", "http_status": 401, "code": 10004, "description": "Date out of range"}),
    )
    .await;
    let (_, body) = validate(&s, &c.id, &c.key).await;
    assert_eq!(body["result"], "clock_skew");
}

#[tokio::test]
async fn telesign_down_is_503_never_invalid() {
    let s = stack();
    let c = s.customer("active").await;
    s.fault(&c, json!({"kind": "http", "http_status": 503, "count": 10}))
        .await;
    assert_eq!(
        code(&validate(&s, &c.id, &c.key).await),
        (503, Some("telesign_unavailable"))
    );
    let c = s.customer("active").await;
    s.fault(&c, json!({"kind": "http", "http_status": 429, "count": 10}))
        .await;
    assert_eq!(
        code(&validate(&s, &c.id, &c.key).await),
        (503, Some("telesign_unavailable"))
    );
}

#[tokio::test]
async fn bad_input_is_400_with_a_clear_message() {
    let s = stack();
    for (body, expected) in [
        (json!({"customer_id": "C"}), "invalid_json"),
        (json!({"customer_id": "C", "api_key": "----"}), "invalid_api_key"),
        (
            json!({"customer_id": "C", "api_key": random_key(), "api_host": "moon"}),
            "invalid_api_host",
        ),
        (
            json!({"customer_id": "", "api_key": random_key()}),
            "invalid_customer_id",
        ),
    ] {
        let answer = s.post("/accounts/validate", body).await;
        assert_eq!(code(&answer), (400, Some(expected)), "{}", answer.1);
        assert!(answer.1["error"]["message"].as_str().is_some_and(|m| m.len() > 10));
    }
    let c = s.customer("active").await;
    for (number, expected) in [
        (
            json!({"number": "call-me", "type": "long_code"}),
            "invalid_phone_number",
        ),
        (json!({"number": random_number(), "type": "satellite"}), "invalid_json"),
        (
            json!({"number": random_number(), "type": "long_code", "agents_can_send_attachments": true}),
            "attachments_not_supported",
        ),
    ] {
        let answer = s
            .post(
                "/accounts",
                json!({"name": "x", "customer_id": c.id, "api_key": c.key, "numbers": [number]}),
            )
            .await;
        assert_eq!(code(&answer), (400, Some(expected)), "{}", answer.1);
    }
}

#[tokio::test]
async fn an_account_is_created_end_to_end_and_never_shows_its_key() {
    let s = stack();
    let c = s.customer("active").await;
    let long = random_number();
    let short = format!("{}", rand::random::<u32>() % 900_000 + 100_000);
    let (status, body) = s
        .post(
            "/accounts",
            json!({"name": "Support line", "customer_id": c.id, "api_key": c.key, "api_host": "standard",
                   "numbers": [{"number": format!("+{} {}", &long[..1], &long[1..]), "type": "long_code", "description": "US support", "language": "en-US"},
                               {"number": format!("{} {}", &short[..3], &short[3..]), "type": "short_code"}]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["account_id"].as_str().expect("id");
    assert_eq!(body["callback_url"], format!("{}/telesign/{id}/callback", s.api));
    assert_eq!(body["numbers"].as_array().map(Vec::len), Some(2));
    assert!(!body.to_string().contains(&c.key));
    let (status, read) = s.get(&format!("/accounts/{id}")).await;
    assert_eq!(status, 200);
    let numbers = read["numbers"].as_array().expect("numbers");
    let of = |n: &str| {
        numbers
            .iter()
            .find(|x| x["number"] == n)
            .unwrap_or_else(|| panic!("{n} normalised: {read}"))
    };
    assert_eq!(
        (of(&long)["type"].as_str(), of(&long)["description"].as_str()),
        (Some("long_code"), Some("US support"))
    );
    assert_eq!(of(&short)["type"], "short_code");
    assert!(!read.to_string().contains(&c.key));
    let all = s.every_page("/accounts", "accounts").await;
    let listed = all.iter().find(|a| a["account_id"] == id).expect("listed");
    assert!(
        listed["numbers"][0].get("messages").is_none(),
        "a list names the numbers, not their settings: {listed}"
    );
    let (status, again) = s.post(&format!("/accounts/{id}/validate"), json!({})).await;
    assert_eq!((status, again["result"].as_str()), (200, Some("valid")));
}

#[tokio::test]
async fn the_legacy_host_is_validated_and_kept_like_the_others() {
    let s = stack();
    let c = s.customer("active").await;
    let (status, body) = s
        .post(
            "/accounts/validate",
            json!({"customer_id": c.id, "api_key": c.key, "api_host": "legacy"}),
        )
        .await;
    assert_eq!((status, body["result"].as_str()), (200, Some("valid")), "{body}");
    assert_eq!(s.sim_requests(&c).await.len(), 1, "one signed probe reached TeleSign");
    let (status, created) = s
        .post(
            "/accounts",
            json!({"name": "Legacy line", "customer_id": c.id, "api_key": c.key, "api_host": "legacy"}),
        )
        .await;
    assert_eq!(
        (status, created["api_host"].as_str()),
        (201, Some("legacy")),
        "{created}"
    );
    let id = created["account_id"].as_str().expect("id");
    let (_, read) = s.get(&format!("/accounts/{id}")).await;
    assert_eq!(read["api_host"], "legacy");
    let (_, again) = s.post(&format!("/accounts/{id}/validate"), json!({})).await;
    assert_eq!(again["result"], "valid", "the stored host is asked again: {again}");
    let wrong = s.customer("wrong_host").await;
    let (_, body) = s
        .post(
            "/accounts/validate",
            json!({"customer_id": wrong.id, "api_key": wrong.key, "api_host": "legacy"}),
        )
        .await;
    assert_eq!(body["result"], "wrong_host");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("\"enterprise\"") && message.contains("\"standard\""),
        "{message}"
    );
    let answer = s
        .post(
            "/accounts/validate",
            json!({"customer_id": c.id, "api_key": c.key, "api_host": "rest"}),
        )
        .await;
    assert_eq!(code(&answer), (400, Some("invalid_api_host")));
    assert!(answer.1["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("legacy")));
}

#[tokio::test]
async fn invalid_credentials_are_422_and_nothing_is_stored() {
    let s = stack();
    let c = s.customer("active").await;
    let number = random_number();
    let answer = s
        .post("/accounts", json!({"name": "x", "customer_id": c.id, "api_key": random_key(), "numbers": [{"number": number, "type": "long_code"}]}))
        .await;
    assert_eq!(code(&answer), (422, Some("invalid_credentials")));
    assert_eq!(
        (
            answer.1["error"]["result"].as_str(),
            answer.1["error"]["telesign_code"].as_u64()
        ),
        (Some("invalid_credentials"), Some(10008))
    );
    assert!(!table_dump().await.contains(&number), "no account, no claim");
    let ok = s.post("/accounts", json!({"name": "x", "customer_id": c.id, "api_key": c.key, "numbers": [{"number": number, "type": "long_code"}]})).await;
    assert_eq!(ok.0, 201, "the number is still free: {}", ok.1);
}

#[tokio::test]
async fn a_number_belongs_to_one_account_and_routing_follows_changes_at_once() {
    let s = stack();
    let account = s.account(1).await;
    let c = s.customer("active").await;
    let taken = s
        .post("/accounts", json!({"name": "x", "customer_id": c.id, "api_key": c.key, "numbers": [{"number": account.numbers[0], "type": "long_code"}]}))
        .await;
    assert_eq!(code(&taken), (409, Some("number_in_use")));
    let added = random_number();
    let (status, _) = s
        .post(
            &format!("/accounts/{}/numbers", account.id),
            json!({"number": added, "type": "toll_free"}),
        )
        .await;
    assert_eq!(status, 201);
    let twice = s
        .post(
            &format!("/accounts/{}/numbers", account.id),
            json!({"number": added, "type": "toll_free"}),
        )
        .await;
    assert_eq!(code(&twice), (409, Some("number_in_use")));
    let customer = random_number();
    let (status, body) = s
        .text_with(
            &account,
            json!({"from": customer, "to": added, "text": "to the new number"}),
        )
        .await;
    assert_eq!(
        (status, body["result"].as_str()),
        (200, Some("stored")),
        "a new number routes at once: {body}"
    );
    assert_eq!(
        s.call(
            "DELETE",
            &format!("/accounts/{}/numbers/{added}", account.id),
            None,
            &[]
        )
        .await
        .0,
        200
    );
    let (status, body) = s
        .text_with(
            &account,
            json!({"from": customer, "to": added, "text": "after removal"}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("unknown_number")),
        "a removed number stops at once"
    );
    let gone = s
        .call(
            "DELETE",
            &format!("/accounts/{}/numbers/{added}", account.id),
            None,
            &[],
        )
        .await;
    assert_eq!(code(&gone), (404, Some("number_not_found")));
}

#[tokio::test]
async fn after_a_rotation_both_keys_verify_until_the_grace_period_ends() {
    let s = stack();
    let account = s.account(1).await;
    let old = account.customer.key.clone();
    let new = random_key();
    // TeleSign knows the new key from now on.
    let (status, _) = s
        .sim(
            "POST",
            "customers",
            Some(json!({"customer_id": account.customer.id, "api_key": new})),
        )
        .await;
    assert_eq!(status, 200);
    let wrong = s
        .call(
            "PUT",
            &format!("/accounts/{}/api-key", account.id),
            Some(json!({"api_key": random_key()})),
            &[],
        )
        .await;
    assert_eq!(
        code(&wrong),
        (422, Some("invalid_credentials")),
        "a new key is validated first"
    );
    let (status, body) = s
        .call(
            "PUT",
            &format!("/accounts/{}/api-key", account.id),
            Some(json!({"api_key": new, "grace_period_seconds": 3})),
            &[],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(!body.to_string().contains(&new) && !body.to_string().contains(&old));
    let path = format!("/telesign/{}/callback", account.id);
    let signed_with = |key: &str| {
        let body = json!({"reference_id": reference_id(), "sub_resource": "mo_sms", "status": {"code": 1500},
            "user_response": {"phone_number": random_number(), "sender_id": account.numbers[0], "mo_message": "hi"}})
        .to_string()
        .into_bytes();
        let auth = callback_authorization(&account.customer.id, &ApiKey::parse(key).expect("key"), &body);
        (body, vec![("authorization", auth)])
    };
    let (b, h) = signed_with(&new);
    assert_eq!(s.post_raw(&path, b, &h).await.0, 200, "the new key verifies");
    let (b, h) = signed_with(&old);
    assert_eq!(
        s.post_raw(&path, b, &h).await.0,
        200,
        "the old key verifies during the grace period"
    );
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let (b, h) = signed_with(&old);
    assert_eq!(s.post_raw(&path, b, &h).await.0, 401, "the old key stops after it");
    let (b, h) = signed_with(&new);
    assert_eq!(s.post_raw(&path, b, &h).await.0, 200);
    // Sends use the new key.
    let (status, _) = s
        .post(
            "/messages",
            json!({"account_id": account.id, "from": account.numbers[0], "to": random_number(), "text": "hi"}),
        )
        .await;
    assert_eq!(status, 202);
}

#[tokio::test]
async fn no_api_key_reaches_the_table_the_answers_or_the_logs() {
    let s = stack();
    let account = s.account(1).await;
    let customer = random_number();
    let mut answers = String::new();
    answers.push_str(&s.text(&account, &customer, "hello").await.1.to_string());
    let list = s.conversations(&account, "open").await;
    let id = list[0]["conversation_id"].as_str().expect("id").to_owned();
    answers.push_str(
        &s.post(&format!("/conversations/{id}/messages"), json!({"text": "hi"}))
            .await
            .1
            .to_string(),
    );
    answers.push_str(&s.get(&format!("/accounts/{}", account.id)).await.1.to_string());
    answers.push_str(
        &s.post(&format!("/accounts/{}/validate", account.id), json!({}))
            .await
            .1
            .to_string(),
    );
    answers.push_str(&s.get(&format!("/conversations/{id}")).await.1.to_string());
    let new = random_key();
    s.sim(
        "POST",
        "customers",
        Some(json!({"customer_id": account.customer.id, "api_key": new})),
    )
    .await;
    answers.push_str(
        &s.call(
            "PUT",
            &format!("/accounts/{}/api-key", account.id),
            Some(json!({"api_key": new})),
            &[],
        )
        .await
        .1
        .to_string(),
    );
    s.eventually(&id, "delivered", |c| {
        channel_tests::messages(c).iter().any(|m| m["status"] == "delivered")
    })
    .await;

    let table = table_dump().await;
    let logs = std::fs::read_to_string(format!(
        "{}/local-gateway.log",
        std::env::var("STACK_STATE_DIR").expect("STACK_STATE_DIR")
    ))
    .expect("the gateway's log");
    assert!(logs.contains(&account.id), "the log is the stack's own");
    for key in [&account.customer.key, &new] {
        // The key, and its decoded bytes' hex, in every place it must not be.
        assert!(!table.contains(key.as_str()), "an API key is in DynamoDB");
        assert!(!answers.contains(key.as_str()), "an API key is in an answer");
        assert!(!logs.contains(key.as_str()), "an API key is in the logs");
    }
    assert!(
        !logs.to_ascii_lowercase().contains("authorization\":\"tsa"),
        "no Authorization header is logged"
    );
}

/// Whether Secrets Manager holds the secret of an account scheduled for deletion.
async fn secret_scheduled_for_deletion(account_id: &str) -> bool {
    let config = shared::aws::load_config().await;
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let prefix = std::env::var("SECRET_PREFIX").unwrap_or_else(|_| shared::secrets::DEFAULT_PREFIX.to_owned());
    let found = client
        .describe_secret()
        .secret_id(format!("{prefix}{account_id}"))
        .send()
        .await
        .expect("the secret is still there, restorable");
    found.deleted_date().is_some()
}

#[tokio::test]
async fn an_account_is_renamed_and_given_a_retention() {
    let s = stack();
    let account = s.account(1).await;
    let path = format!("/accounts/{}", account.id);
    let patch = |body: Value| s.call("PATCH", &path, Some(body), &[]);
    let (status, body) = patch(json!({"name": "  Renamed line ", "retention_days": 30})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["name"].as_str(), body["retention_days"].as_u64()),
        (Some("Renamed line"), Some(30))
    );
    let (_, read) = s.get(&path).await;
    assert_eq!(
        (read["name"].as_str(), read["retention_days"].as_u64()),
        (Some("Renamed line"), Some(30))
    );
    let (_, body) = patch(json!({"retention_days": null})).await;
    assert_eq!(
        (body["name"].as_str(), &body["retention_days"]),
        (Some("Renamed line"), &Value::Null)
    );
    assert_eq!(
        code(&patch(json!({"retention_days": 0})).await),
        (400, Some("invalid_parameter"))
    );
    assert_eq!(code(&patch(json!({"name": ""})).await), (400, Some("invalid_name")));
    assert_eq!(
        code(&patch(json!({"colour": "red"})).await),
        (400, Some("invalid_json"))
    );
    let agent = s.as_user("lifecycle-agent", &["agent"]).await;
    let refused = agent.call("PATCH", &path, Some(json!({"name": "x"})), &[]).await.0;
    assert!(
        refused == 403 || refused == 404,
        "an agent changes no account: {refused}"
    );
    assert_eq!(s.get(&path).await.1["name"], "Renamed line");
    let (_, trail) = s.get(&format!("/audit?account_id={}", account.id)).await;
    let changes = trail["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == "account.changed")
        .count();
    assert_eq!(changes, 2, "one entry per change: {trail}");
}

#[tokio::test]
async fn one_customer_id_is_one_account() {
    let s = stack();
    let account = s.account(1).await;
    let number = random_number();
    let answer = s
        .post(
            "/accounts",
            json!({"name": "Second team", "customer_id": account.customer.id, "api_key": account.customer.key,
                   "numbers": [{"number": number, "type": "long_code"}]}),
        )
        .await;
    assert_eq!(code(&answer), (409, Some("customer_id_in_use")), "{}", answer.1);
    assert!(answer.1["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("one URL")));
    assert!(!table_dump().await.contains(&number), "no account, no claim");
    let (status, _) = s
        .text(&account, &random_number(), "still routed to the one account")
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_deleted_account_frees_its_claims_refuses_callbacks_and_schedules_its_key() {
    let s = stack();
    let account = s.account(1).await;
    let customer = random_number();
    assert_eq!(s.text(&account, &customer, "before the deletion").await.0, 200);
    let path = format!("/accounts/{}", account.id);
    let member = format!("{path}/members/lifecycle-member");
    assert_eq!(s.call("PUT", &member, Some(json!({"role": "agent"})), &[]).await.0, 200);
    assert!(table_dump().await.contains("MEMBER#lifecycle-member"));
    let (status, body) = s.call("DELETE", &path, None, &[]).await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(code(&s.get(&path).await), (404, Some("account_not_found")));
    assert!(secret_scheduled_for_deletion(&account.id).await);
    let (status, body) = s.text(&account, &customer, "after the deletion").await;
    assert_eq!(status, 404, "a callback to a deleted account is refused: {body}");
    assert!(
        matches!(
            body["error"]["code"].as_str(),
            Some("unknown_account" | "unknown_number")
        ),
        "{body}"
    );
    let dump = table_dump().await;
    assert!(dump.contains("account.deleted"), "the deletion is audited");
    assert!(!dump.contains("MEMBER#lifecycle-member"), "its members go with it");
    assert_eq!(
        code(&s.call("DELETE", &path, None, &[]).await),
        (404, Some("account_not_found"))
    );
    let again = s
        .post(
            "/accounts",
            json!({"name": "Next owner", "customer_id": account.customer.id, "api_key": account.customer.key,
                   "numbers": [{"number": account.numbers[0], "type": "long_code"}]}),
        )
        .await;
    assert_eq!(
        again.0, 201,
        "the number and the customer id are free at once: {}",
        again.1
    );
}

/// An account's record keeps every number's settings, and DynamoDB's items hold 400 KB: an
/// account of 50 numbers, each with three automated messages of the full 1,600 characters, is
/// stored whole; six messages on a number are refused as too large with a clear 400 (never a 503
/// an operator would retry for ever), and a 51st number as one too many.
#[tokio::test]
async fn fifty_numbers_at_the_largest_settings_fit_and_more_is_a_clear_refusal() {
    let s = stack();
    let account = s.account(50).await;
    let full = "x".repeat(1600);
    let three = json!({"messages": {"greeting": full, "away": full, "closing": full}});
    for number in &account.numbers {
        let path = format!("/accounts/{}/numbers/{number}", account.id);
        let (status, body) = s.call("PATCH", &path, Some(three.clone()), &[]).await;
        assert_eq!(status, 200, "{number}: {body}");
    }
    let six = json!({"messages": {"help": full, "stop": full, "start": full}});
    let path = format!("/accounts/{}/numbers/{}", account.id, account.numbers[49]);
    let (status, body) = s.call("PATCH", &path, Some(six), &[]).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("number_settings_too_large")),
        "{body}"
    );
    let (status, read) = s.get(&format!("/accounts/{}", account.id)).await;
    assert_eq!(status, 200, "the record reads whole: {read}");
    assert_eq!(read["numbers"].as_array().map(Vec::len), Some(50));
    let add = json!({"number": random_number(), "type": "long_code"});
    let (status, body) = s.post(&format!("/accounts/{}/numbers", account.id), add).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("too_many_numbers")),
        "{body}"
    );
}
