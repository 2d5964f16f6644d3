//! The channel under bad input and failing dependencies: each bad request answered with the
//! contract's error and nothing stored; Secrets Manager down answered 503 with nothing half-written.

use channel_tests::{code, random_number, reference_id, stack, table_dump};
use serde_json::{json, Value};
use shared::telesign::callback::callback_authorization;
use shared::telesign::ApiKey;

#[tokio::test]
async fn bad_input_is_refused_with_the_contract_error_and_nothing_is_stored() {
    let s = stack();
    let account = s.account(1).await;
    let customer = random_number();
    s.text(&account, &customer, "hello").await;
    let conversation = s.conversations(&account, "open").await[0]["conversation_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let reply = format!("/conversations/{conversation}/messages");
    let marker = format!("MARKER{}", random_number());
    let json_cases: Vec<(&str, &str, Value, (u16, &str))> = vec![
        ("wrong type", &reply, json!({"text": 42}), (400, "invalid_json")),
        ("null text", &reply, json!({"text": null}), (400, "invalid_json")),
        ("array body", &reply, json!([marker]), (400, "invalid_json")),
        (
            "unknown field",
            &reply,
            json!({"text": marker, "to": "elsewhere"}),
            (400, "invalid_json"),
        ),
        (
            "1601 characters",
            &reply,
            json!({"text": format!("{marker}{}", "x".repeat(1601 - marker.len()))}),
            (422, "message_too_long"),
        ),
        (
            "1601 emoji",
            &reply,
            json!({"text": "😀".repeat(1601)}),
            (422, "message_too_long"),
        ),
        (
            "whitespace only",
            &reply,
            json!({"text": " \n\t "}),
            (400, "empty_message"),
        ),
        (
            "phone with letters",
            "/messages",
            json!({"account_id": account.id, "from": account.numbers[0], "to": "1555CALLNOW", "text": marker}),
            (400, "invalid_phone_number"),
        ),
        (
            "phone too short",
            "/messages",
            json!({"account_id": account.id, "from": account.numbers[0], "to": "+1 555", "text": marker}),
            (400, "invalid_phone_number"),
        ),
        (
            "phone with no such area code",
            "/messages",
            json!({"account_id": account.id, "from": account.numbers[0], "to": "(555) 123-4567", "text": marker}),
            (400, "invalid_phone_number"),
        ),
        (
            "account id not an id",
            "/messages",
            json!({"account_id": "../../etc", "from": account.numbers[0], "to": random_number(), "text": marker}),
            (404, "account_not_found"),
        ),
        (
            "support number of nobody",
            "/messages",
            json!({"account_id": account.id, "from": random_number(), "to": random_number(), "text": marker}),
            (400, "unknown_number"),
        ),
        (
            "account without numbers' type",
            "/accounts",
            json!({"name": marker, "customer_id": "C", "api_key": "AAAA", "numbers": [{"number": random_number()}]}),
            (400, "invalid_json"),
        ),
        (
            "empty account name",
            "/accounts",
            json!({"name": " ", "customer_id": "C", "api_key": "AAAA"}),
            (400, "invalid_name"),
        ),
    ];
    for (what, path, body, (status, expected)) in json_cases {
        let answer = s.post(path, body).await;
        assert_eq!(code(&answer), (status, Some(expected)), "{what}: {}", answer.1);
        assert!(
            answer.1["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}"
        );
    }
    for (what, bytes) in [
        ("not JSON", b"{\"text\": ".to_vec()),
        ("not UTF-8", b"{\"text\": \"\xff\xfe\"}".to_vec()),
        ("huge", vec![b' '; 70_000]),
    ] {
        let answer = s
            .post_raw(&reply, bytes, &[("content-type", "application/json".into())])
            .await;
        assert!(
            matches!(
                code(&answer),
                (400, Some("invalid_json")) | (413, Some("payload_too_large"))
            ),
            "{what}: {answer:?}"
        );
    }
    assert!(s.sim_messages(&account.customer).await.is_empty(), "nothing was sent");
    assert!(
        !table_dump().await.contains(&marker),
        "nothing of the refused requests is stored"
    );

    // Emoji and mixed scripts are not bad input: they go through whole, as UCS-2.
    let mixed = "Привет 你好 مرحبا 😀 — ok";
    let (status, m) = s.post(&reply, json!({"text": mixed})).await;
    assert_eq!((status, m["encoding"].as_str()), (202, Some("ucs2")), "{m}");
    assert_eq!(s.sim_messages(&account.customer).await[0]["message"], mixed);
    assert_eq!(s.text(&account, &customer, mixed).await.0, 200);
    let transcript = s.conversation(&conversation).await;
    assert!(
        channel_tests::messages(&transcript)
            .iter()
            .filter(|m| m["text"] == mixed)
            .count()
            == 2
    );
}

#[tokio::test]
async fn signed_callbacks_with_odd_content_are_refused_or_stored_never_panicked_on() {
    let s = stack();
    let account = s.account(1).await;
    let key = ApiKey::parse(&account.customer.key).expect("key");
    let path = format!("/telesign/{}/callback", account.id);
    let inbound = |from: Value, text: Value| {
        json!({"reference_id": reference_id(), "sub_resource": "mo_sms", "status": {"code": 1500},
               "user_response": {"phone_number": from, "sender_id": account.numbers[0], "mo_message": text}})
    };
    let cases = [
        (
            "customer number with letters",
            inbound(json!("1555ABC"), json!("hi")),
            400,
        ),
        (
            "customer number as an object",
            inbound(json!({"n": 1}), json!("hi")),
            400,
        ),
        ("text as a number", inbound(json!(random_number()), json!(42)), 400),
        (
            "no reference",
            json!({"sub_resource": "mo_sms", "user_response": {}}),
            400,
        ),
        (
            "empty reference",
            json!({"reference_id": " ", "status": {"code": 200}}),
            400,
        ),
        (
            "status code as text",
            json!({"reference_id": reference_id(), "status": {"code": "200"}}),
            200,
        ),
        (
            "errors as an object, dates RFC 1123",
            json!({"reference_id": reference_id(), "errors": {}, "status": {"code": 203, "updated_on": "Wed, 25 Nov 2026 10:00:00 GMT"}}),
            200,
        ),
        (
            "numbers as numbers",
            inbound(json!(15551234567u64), json!("numbers as numbers")),
            200,
        ),
        ("empty text", inbound(json!(random_number()), json!("")), 200),
    ];
    for (what, body, expected) in cases {
        let bytes = body.to_string().into_bytes();
        let auth = callback_authorization(&account.customer.id, &key, &bytes);
        let (status, answer) = s.post_raw(&path, bytes, &[("authorization", auth)]).await;
        assert_eq!(status, expected, "{what}: {answer}");
        if status >= 400 {
            assert_eq!(answer["error"]["code"], "malformed_payload", "{what}");
        }
    }
}

#[tokio::test]
async fn with_secrets_manager_down_nothing_is_stored_half() {
    let s = stack();
    let account = s.account(1).await;
    // A gateway of this test's own, cold, whose Secrets Manager does not answer.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let dead_url = format!("http://{}", dead.local_addr().expect("addr"));
    drop(dead);
    std::env::set_var("AWS_ENDPOINT_URL_SECRETS_MANAGER", &dead_url);
    let (own, _) = channel_tests::own_gateway().await;

    let customer = random_number();
    let body = json!({"reference_id": reference_id(), "sub_resource": "mo_sms", "status": {"code": 1500},
        "user_response": {"phone_number": customer, "sender_id": account.numbers[0], "mo_message": "hello?"}})
    .to_string()
    .into_bytes();
    let auth = callback_authorization(
        &account.customer.id,
        &ApiKey::parse(&account.customer.key).expect("key"),
        &body,
    );
    let answer = own
        .post_raw(
            &format!("/telesign/{}/callback", account.id),
            body,
            &[("authorization", auth)],
        )
        .await;
    assert_eq!(
        code(&answer),
        (503, Some("secrets_unavailable")),
        "TeleSign will retry: {}",
        answer.1
    );
    assert!(!table_dump().await.contains(&customer), "nothing stored");

    // A reply in a conversation the stack made: refused before anything is recorded.
    s.text(&account, &customer, "hello").await;
    let conversation = s.conversations(&account, "open").await[0]["conversation_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let answer = own
        .post(
            &format!("/conversations/{conversation}/messages"),
            json!({"text": "hi"}),
        )
        .await;
    assert_eq!(code(&answer), (503, Some("secrets_unavailable")));
    let transcript = s.conversation(&conversation).await;
    assert!(
        channel_tests::messages(&transcript)
            .iter()
            .all(|m| m["direction"] != "outbound"),
        "no half-sent message"
    );
    assert!(s.sim_messages(&account.customer).await.is_empty());

    // A new account: neither its secret nor its record.
    let c = s.customer("active").await;
    let number = random_number();
    let create = json!({"name": "x", "customer_id": c.id, "api_key": c.key, "numbers": [{"number": number, "type": "long_code"}]});
    let answer = own.post("/accounts", create).await;
    assert_eq!(code(&answer), (503, Some("secrets_unavailable")));
    assert!(!table_dump().await.contains(&number), "no account, no claim");
}

#[tokio::test]
async fn malformed_cursors_and_oversized_references_are_the_clients_mistake_not_an_outage() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let s = stack();
    let account = s.account(1).await;
    s.text(&account, &random_number(), "hello").await;
    let conversation = channel_tests::conversation_id_of(&s.conversations(&account, "open").await[0]);
    let forged = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let cursors = [
        forged(json!({"pk": "CONV#someone-else", "sk": "MSG#1"})),
        forged(json!({"pk": format!("CONV#{conversation}"), "sk": "x".repeat(2000)})),
        "A".repeat(20_000),
    ];
    for cursor in &cursors {
        let answer = s.get(&format!("/conversations/{conversation}?cursor={cursor}")).await;
        assert_eq!(code(&answer), (400, Some("invalid_cursor")), "{}", answer.1);
    }
    // A key with an empty part: DynamoDB would refuse the request (a 400, never a 503).
    let empty = forged(json!({"pk": format!("AUDIT#{}", account.id), "sk": ""}));
    let answer = s.get(&format!("/audit?account_id={}&cursor={empty}", account.id)).await;
    assert_eq!(code(&answer), (400, Some("invalid_cursor")), "{}", answer.1);
    let listing = forged(json!({"pk": "x".repeat(3000), "sk": "CONV",
        "gsi1pk": format!("ACCOUNT#{}#LIVE", account.id), "gsi1sk": "y"}));
    let answer = s
        .get(&format!("/conversations?account_id={}&cursor={listing}", account.id))
        .await;
    assert_eq!(code(&answer), (400, Some("invalid_cursor")), "{}", answer.1);

    let body = json!({"reference_id": "R".repeat(10_000), "sub_resource": "mo_sms", "status": {"code": 1500},
        "user_response": {"phone_number": random_number(), "sender_id": account.numbers[0], "mo_message": "hi"}});
    let (bytes, auth) = channel_tests::signed(&account, &body);
    let answer = s
        .post_raw(
            &format!("/telesign/{}/callback", account.id),
            bytes,
            &[("authorization", auth)],
        )
        .await;
    assert_eq!(code(&answer), (400, Some("malformed_payload")), "{}", answer.1);
}

#[tokio::test]
async fn sixty_concurrent_assigns_of_one_conversation_are_answered_200_or_409_never_503() {
    // Given a conversation and ten agents of its account
    let s = stack();
    let account = s.account(1).await;
    let agents: Vec<String> = (0..10).map(|i| format!("busy-{i}-{}", reference_id())).collect();
    for agent in &agents {
        let path = format!("/accounts/{}/members/{agent}", account.id);
        let (status, body) = s.call("PUT", &path, Some(json!({"role": "agent"})), &[]).await;
        assert_eq!(status, 200, "{body}");
    }
    s.text(&account, &random_number(), "who takes me?").await;
    let id = channel_tests::conversation_id_of(&s.conversations(&account, "open").await[0]);
    // When a supervisor's clicks assign it 60 times at once, to each of them in turn
    let path = format!("/conversations/{id}/assign");
    let assigns = (0..60).map(|i| s.post(&path, json!({"agent_id": agents[i % agents.len()]})));
    let answers = futures::future::join_all(assigns).await;
    // Then each is done or told the conversation was busy: contention is no outage
    for answer in &answers {
        assert!(
            matches!(code(answer), (200, _) | (409, Some("conversation_busy"))),
            "{answer:?}"
        );
    }
    let holder = s.conversation(&id).await["assigned_agent"].clone();
    assert!(agents.iter().any(|a| holder == *a), "held by one of them: {holder}");
}
