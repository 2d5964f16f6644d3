//! The inbound callback over the real local stack: conversations made and joined, exactly once
//! under retries and races, nothing stored without a valid signature, consent, delivery reports.

use channel_tests::{conversation_id_of, messages, random_number, reference_id, stack, table_dump};
use futures::future::join_all;
use serde_json::json;
use shared::telesign::callback::callback_authorization;
use shared::telesign::ApiKey;

type Headers = Vec<(&'static str, String)>;

#[tokio::test]
async fn first_message_creates_a_conversation_and_the_second_joins_it() {
    let s = stack();
    let account = s.account(1).await;
    let customer = random_number();
    assert_eq!(
        s.text(&account, &customer, "Hello, my order is late").await,
        (200, json!({"result": "stored"}))
    );
    assert_eq!(s.text(&account, &format!("+{customer}"), "Order 42").await.0, 200);
    let list = s.conversations(&account, "open,active,waiting").await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["status"], "open");
    assert_eq!(list[0]["customer_number"], customer.as_str());
    assert_eq!(list[0]["support_number"], account.numbers[0].as_str());
    assert_eq!(list[0]["last_message_preview"], "Order 42");
    let c = s.conversation(&conversation_id_of(&list[0])).await;
    let texts: Vec<String> = messages(&c)
        .iter()
        .map(|m| m["text"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(texts, vec!["Hello, my order is late", "Order 42"], "oldest first");
    assert!(messages(&c)
        .iter()
        .all(|m| m["direction"] == "inbound" && m["status"] == "received"));
}

#[tokio::test]
async fn after_end_a_message_starts_a_new_conversation_and_after_close_it_reopens() {
    let s = stack();
    let account = s.account(1).await;
    let customer = random_number();
    s.text(&account, &customer, "one").await;
    let first = conversation_id_of(&s.conversations(&account, "open").await[0]);
    assert_eq!(
        s.post(&format!("/conversations/{first}/accept"), json!({"agent_id": "a1"}))
            .await
            .0,
        200
    );
    assert_eq!(s.post(&format!("/conversations/{first}/close"), json!({})).await.0, 200);
    s.text(&account, &customer, "two").await;
    let reopened = s.conversation(&first).await;
    assert_eq!(
        reopened["status"], "open",
        "a customer message reopens a waiting conversation"
    );
    assert_eq!(messages(&reopened).len(), 2);

    assert_eq!(s.post(&format!("/conversations/{first}/end"), json!({})).await.0, 200);
    s.text(&account, &customer, "three").await;
    let live = s.conversations(&account, "open,active,waiting").await;
    assert_eq!(live.len(), 1);
    assert_ne!(
        conversation_id_of(&live[0]),
        first,
        "a closed conversation is never reopened"
    );
    assert_eq!(s.conversation(&first).await["status"], "closed");
    assert_eq!(messages(&s.conversation(&conversation_id_of(&live[0])).await).len(), 1);
    assert_eq!(s.conversations(&account, "closed").await.len(), 1);
}

#[tokio::test]
async fn fifty_concurrent_copies_of_one_callback_store_one_message() {
    let s = stack();
    let account = s.account(1).await;
    let customer = random_number();
    let reference = reference_id();
    let answers = join_all((0..50).map(|_| {
        s.text_with(
            &account,
            json!({"from": customer, "text": "once", "reference_id": reference}),
        )
    }))
    .await;
    let stored = answers.iter().filter(|a| a.1["result"] == "stored").count();
    let duplicate = answers.iter().filter(|a| a.1["result"] == "duplicate").count();
    assert_eq!((stored, duplicate), (1, 49), "{answers:?}");
    let list = s.conversations(&account, "open").await;
    assert_eq!(list.len(), 1);
    assert_eq!(messages(&s.conversation(&conversation_id_of(&list[0])).await).len(), 1);
    assert_eq!(
        s.text_with(
            &account,
            json!({"from": customer, "text": "once", "reference_id": reference})
        )
        .await
        .1["result"],
        "duplicate"
    );
}

#[tokio::test]
async fn fifty_concurrent_first_messages_make_one_conversation() {
    let s = stack();
    let account = s.account(1).await;
    let customer = random_number();
    let texts: Vec<String> = (0..50).map(|i| format!("message {i}")).collect();
    let answers = join_all(texts.iter().map(|t| s.text(&account, &customer, t))).await;
    assert!(
        answers.iter().all(|a| a == &(200, json!({"result": "stored"}))),
        "{answers:?}"
    );
    let list = s.conversations(&account, "open,active,waiting").await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(messages(&s.conversation(&conversation_id_of(&list[0])).await).len(), 50);
}

#[tokio::test]
async fn unsigned_tampered_or_foreign_callbacks_get_401_and_store_nothing() {
    let s = stack();
    let account = s.account(1).await;
    let customer = random_number();
    let key = ApiKey::parse(&account.customer.key).expect("key");
    let body = json!({"reference_id": reference_id(), "sub_resource": "mo_sms", "status": {"code": 1500},
        "user_response": {"phone_number": customer, "sender_id": account.numbers[0], "mo_message": "let me in"}})
    .to_string()
    .into_bytes();
    let path = format!("/telesign/{}/callback", account.id);
    let good = callback_authorization(&account.customer.id, &key, &body);
    let other_key = ApiKey::parse(&channel_tests::random_key()).expect("key");
    let mut tampered = body.clone();
    tampered[10] ^= 1;
    let cases: Vec<(&str, Vec<u8>, Headers)> = vec![
        ("missing header", body.clone(), vec![]),
        (
            "bad signature",
            body.clone(),
            vec![(
                "authorization",
                callback_authorization(&account.customer.id, &other_key, &body),
            )],
        ),
        ("tampered body", tampered, vec![("authorization", good.clone())]),
        (
            "wrong customer id",
            body.clone(),
            vec![("authorization", good.replace(&account.customer.id, "ANOTHER-CUSTOMER"))],
        ),
        (
            "not TSA",
            body.clone(),
            vec![("authorization", "Basic Zm9vOmJhcg==".to_owned())],
        ),
    ];
    for (what, bytes, headers) in cases {
        let (status, answer) = s.post_raw(&path, bytes, &headers).await;
        assert_eq!(status, 401, "{what}: {answer}");
        assert_eq!(answer["error"]["code"], "invalid_signature", "{what}");
    }
    assert!(s.conversations(&account, "open").await.is_empty(), "nothing stored");
    assert!(!table_dump().await.contains(&customer), "no item mentions the customer");
    let (status, _) = s.post_raw(&path, body, &[("authorization", good)]).await;
    assert_eq!(status, 200, "the same body, signed, passes");
}

#[tokio::test]
async fn unknown_accounts_numbers_and_unreadable_bodies_are_refused() {
    let s = stack();
    let account = s.account(1).await;
    let key = ApiKey::parse(&account.customer.key).expect("key");
    let missing = s
        .post_raw(
            "/telesign/0123456789abcdef0123456789abcdef/callback",
            b"{}".to_vec(),
            &[],
        )
        .await;
    assert_eq!(
        (missing.0, missing.1["error"]["code"].as_str()),
        (404, Some("unknown_account"))
    );
    let path = format!("/telesign/{}/callback", account.id);
    let signed = |body: &[u8]| {
        vec![(
            "authorization",
            callback_authorization(&account.customer.id, &key, body),
        )]
    };
    let to_other = json!({"reference_id": reference_id(), "sub_resource": "mo_sms", "status": {"code": 1500},
        "user_response": {"phone_number": random_number(), "sender_id": random_number(), "mo_message": "hi"}})
    .to_string()
    .into_bytes();
    let (status, body) = s.post_raw(&path, to_other.clone(), &signed(&to_other)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("unknown_number")),
        "{body}"
    );
    for bad in [
        b"{not json".to_vec(),
        b"\xff\xfe\xfd".to_vec(),
        br#"{"reference_id":"x","status":{"code":"abc"}}"#.to_vec(),
    ] {
        let (status, body) = s.post_raw(&path, bad.clone(), &signed(&bad)).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("malformed_payload")),
            "{body}"
        );
    }
    let huge = vec![b' '; 64 * 1024 + 1];
    let (status, body) = s.post_raw(&path, huge.clone(), &signed(&huge)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("payload_too_large"))
    );
}

#[tokio::test]
async fn long_inbound_text_is_stored_whole_and_flagged() {
    let s = stack();
    let account = s.account(1).await;
    let text = "x".repeat(1700);
    assert_eq!(s.text(&account, &random_number(), &text).await.0, 200);
    let c = s
        .conversation(&conversation_id_of(&s.conversations(&account, "open").await[0]))
        .await;
    let m = &messages(&c)[0];
    assert_eq!(m["text"].as_str().map(str::len), Some(1700));
    assert_eq!(m["too_long"], true);
    assert_eq!(m["segments"], 12);
}

#[tokio::test]
async fn stop_then_start_flip_consent_and_replies_follow_it() {
    let s = stack();
    let account = s.account(1).await;
    let customer = random_number();
    s.text(&account, &customer, "hello").await;
    let conversation = conversation_id_of(&s.conversations(&account, "open").await[0]);
    assert_eq!(s.text(&account, &customer, " Stop! ").await.0, 200);
    let c = s.conversation(&conversation).await;
    assert_eq!(c["opted_out"], true);
    assert!(messages(&c)
        .iter()
        .any(|m| m["direction"] == "system" && m["text"].as_str().unwrap_or("").contains("opted out")));
    let refused = s
        .post(
            &format!("/conversations/{conversation}/messages"),
            json!({"text": "are you there?"}),
        )
        .await;
    assert_eq!(
        (refused.0, refused.1["error"]["code"].as_str()),
        (422, Some("recipient_opted_out"))
    );
    let sent = s.sim_messages_at_least(&account.customer, 1).await;
    assert_eq!(sent.len(), 1, "nothing sent but the stop confirmation: {sent:?}");
    assert!(
        sent[0]["message"].as_str().unwrap_or_default().contains("START"),
        "{sent:?}"
    );
    assert_eq!(
        s.text_with(&account, json!({"from": customer, "text": "ok", "action": "start"}))
            .await
            .0,
        200
    );
    let c = s.conversation(&conversation).await;
    assert_eq!(c["opted_out"], false);
    let sent = s
        .post(
            &format!("/conversations/{conversation}/messages"),
            json!({"text": "welcome back"}),
        )
        .await;
    assert_eq!(sent.0, 202, "{}", sent.1);
}

#[tokio::test]
async fn delivery_report_moves_a_message_forward_never_back() {
    let s = stack();
    let account = s.account(1).await;
    let customer = random_number();
    s.text(&account, &customer, "hello").await;
    let conversation = conversation_id_of(&s.conversations(&account, "open").await[0]);
    let (status, sent) = s
        .post(
            &format!("/conversations/{conversation}/messages"),
            json!({"text": "hi there"}),
        )
        .await;
    assert_eq!(status, 202, "{sent}");
    let reference = sent["telesign_reference_id"].as_str().expect("reference").to_owned();
    let delivered = s
        .eventually(&conversation, "the simulator's reports reach delivered", |c| {
            messages(c).iter().any(|m| m["status"] == "delivered")
        })
        .await;
    assert_eq!(messages(&delivered).last().expect("message")["status_code"], 200);
    // An older report, late, signed and keyed by the reference only.
    let late = json!({"reference_id": reference, "status": {"code": 203, "description": "Delivered to gateway"}});
    let (status, body) = s
        .sim(
            "POST",
            "callback",
            Some(json!({"callback_url": account.callback_url, "customer_id": account.customer.id, "body": late})),
        )
        .await;
    assert_eq!((status, body["status"].as_u64()), (200, Some(200)));
    assert_eq!(body["body"]["result"], "ignored");
    let after = s.conversation(&conversation).await;
    assert_eq!(messages(&after).last().expect("message")["status"], "delivered");
    let unknown = json!({"reference_id": reference_id(), "status": {"code": 200}});
    let (_, body) = s
        .sim(
            "POST",
            "callback",
            Some(json!({"callback_url": account.callback_url, "customer_id": account.customer.id, "body": unknown})),
        )
        .await;
    assert_eq!(body["body"]["result"], "ignored");
}
