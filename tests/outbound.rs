//! Replies and business-initiated messages over the real local stack, the conversation moves,
//! and the dashboard's pagination.

use channel_tests::{code, messages, random_number, stack, Account, Stack};
use futures::future::join_all;
use serde_json::json;

/// A customer's first message and its conversation. A callback the table could not take at once
/// (a loaded machine's DynamoDB Local timing out) is answered `parked` and stored by its replay:
/// the conversation is waited for.
async fn open_conversation(s: &Stack, account: &Account) -> (String, String) {
    let customer = random_number();
    assert_eq!(s.text(account, &customer, "hello").await.0, 200);
    for _ in 0..300 {
        let list = s.conversations(account, "open").await;
        let found = list
            .iter()
            .find(|c| c["customer_number"] == customer.as_str())
            .and_then(|c| c["conversation_id"].as_str());
        if let Some(id) = found {
            return (id.to_owned(), customer);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the conversation of {customer} never appeared");
}

#[tokio::test]
async fn a_reply_is_sent_once_recorded_and_activates_the_conversation() {
    let s = stack();
    let account = s.account(1).await;
    let (id, customer) = open_conversation(&s, &account).await;
    // The sender is the token's `sub`, named by its `name`; a body's agent_id is ignored.
    let token = s
        .mint(json!({"sub": "agent-9", "roles": ["operator"], "name": "Nina Nine"}))
        .await;
    let agent = s.with_token(Some(token));
    let (status, m) = agent
        .post(
            &format!("/conversations/{id}/messages"),
            json!({"text": "Thanks 😀 we're on it", "agent_id": "someone-else"}),
        )
        .await;
    assert_eq!(status, 202, "{m}");
    assert_eq!(m["status"], "queued");
    assert_eq!(m["encoding"], "ucs2");
    assert_eq!(m["segments"], 1);
    assert_eq!(m["direction"], "outbound");
    assert_eq!(
        (&m["agent_id"], &m["agent_name"]),
        (&json!("agent-9"), &json!("Nina Nine"))
    );
    let sent = s.sim_messages(&account.customer).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["phone_number"], customer.as_str());
    assert_eq!(sent[0]["sender_id"], account.numbers[0].as_str());
    assert_eq!(sent[0]["callback_url"], account.callback_url.as_str());
    assert_eq!(sent[0]["reference_id"], m["telesign_reference_id"]);
    assert!(sent[0]["external_id"]
        .as_str()
        .unwrap_or("")
        .contains(m["message_id"].as_str().unwrap_or("?")));
    let c = s.conversation(&id).await;
    assert_eq!(
        (c["status"].as_str(), c["assigned_agent"].as_str()),
        (Some("active"), Some("agent-9"))
    );
    s.eventually(&id, "delivered", |c| {
        messages(c).last().is_some_and(|m| m["status"] == "delivered")
    })
    .await;
}

#[tokio::test]
async fn every_refusal_answers_the_contract() {
    let s = stack();
    let account = s.account(1).await;
    let (id, _) = open_conversation(&s, &account).await;
    let path = format!("/conversations/{id}/messages");
    assert_eq!(
        code(&s.post(&path, json!({"text": "  "})).await),
        (400, Some("empty_message"))
    );
    let long = s.post(&path, json!({"text": "é".repeat(1601)})).await;
    assert_eq!(code(&long), (422, Some("message_too_long")));
    assert_eq!(long.1["error"]["count"], 1601);
    assert_eq!(
        code(&s.post(&path, json!({"txt": "typo"})).await),
        (400, Some("invalid_json"))
    );
    assert_eq!(
        code(&s.call("POST", &path, None, &[]).await),
        (400, Some("invalid_json"))
    );
    let missing = s
        .post(
            "/conversations/0123456789abcdef0123456789abcdef/messages",
            json!({"text": "hi"}),
        )
        .await;
    assert_eq!(code(&missing), (404, Some("conversation_not_found")));
    assert_eq!(
        code(
            &s.post("/conversations/..%2F..%2Fetc/messages", json!({"text": "hi"}))
                .await
        ),
        (404, Some("conversation_not_found"))
    );
    assert_eq!(s.post(&format!("/conversations/{id}/end"), json!({})).await.0, 200);
    assert_eq!(
        code(&s.post(&path, json!({"text": "hi"})).await),
        (409, Some("conversation_closed"))
    );
    assert!(s.sim_messages(&account.customer).await.is_empty(), "nothing was sent");
}

#[tokio::test]
async fn ten_concurrent_requests_with_one_idempotency_key_send_one_message() {
    let s = stack();
    let account = s.account(1).await;
    let (id, _) = open_conversation(&s, &account).await;
    let path = format!("/conversations/{id}/messages");
    let key = uuid::Uuid::new_v4().to_string();
    let body = json!({"text": "only once"});
    let headers = [("idempotency-key", key.as_str())];
    let answers = join_all((0..10).map(|_| s.call("POST", &path, Some(body.clone()), &headers))).await;
    assert!(answers.iter().all(|a| a.0 == 202), "{answers:?}");
    let first = &answers[0].1["message_id"];
    assert!(
        answers.iter().all(|a| &a.1["message_id"] == first),
        "every answer is the first one"
    );
    assert_eq!(s.sim_messages(&account.customer).await.len(), 1);
    assert_eq!(
        messages(&s.conversation(&id).await)
            .iter()
            .filter(|m| m["direction"] == "outbound")
            .count(),
        1
    );
    let other = s
        .call(
            "POST",
            &path,
            Some(json!({"text": "something else"})),
            &[("idempotency-key", &key)],
        )
        .await;
    assert_eq!(code(&other), (422, Some("idempotency_key_reused")));
}

#[tokio::test]
async fn rate_limited_then_accepted() {
    let s = stack();
    let account = s.account(1).await;
    let (id, _) = open_conversation(&s, &account).await;
    s.fault(
        &account.customer,
        json!({"kind": "http", "http_status": 429, "code": 10019}),
    )
    .await;
    let (status, m) = s
        .post(
            &format!("/conversations/{id}/messages"),
            json!({"text": "after a retry"}),
        )
        .await;
    assert_eq!((status, m["status"].as_str()), (202, Some("queued")), "{m}");
    let requests = s.sim_requests(&account.customer).await;
    let sends: Vec<u64> = requests
        .iter()
        .filter(|r| r["method"] == "POST")
        .map(|r| r["answered_status"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(sends, vec![429, 200]);
}

#[tokio::test]
async fn a_telesign_refusal_is_shown_to_the_agent_and_recorded_failed() {
    let s = stack();
    let account = s.account(1).await;
    let (id, _) = open_conversation(&s, &account).await;
    s.fault(&account.customer, json!({"kind": "http", "http_status": 400, "code": 11013, "description": "Invalid value for parameter sender_id."})).await;
    let answer = s
        .post(&format!("/conversations/{id}/messages"), json!({"text": "hi"}))
        .await;
    assert_eq!(code(&answer), (502, Some("telesign_rejected")), "{}", answer.1);
    assert_eq!(answer.1["error"]["telesign_code"], 11013);
    let m = messages(&s.conversation(&id).await)
        .into_iter()
        .find(|m| m["direction"] == "outbound")
        .expect("recorded");
    assert_eq!(
        (m["status"].as_str(), m["status_code"].as_u64()),
        (Some("failed"), Some(11013))
    );
    assert!(m["status_description"].as_str().unwrap_or("").contains("sender_id"));
}

#[tokio::test]
async fn telesign_unavailable_is_a_503_and_the_message_shows_why() {
    let s = stack();
    let account = s.account(1).await;
    let (id, _) = open_conversation(&s, &account).await;
    s.fault(
        &account.customer,
        json!({"kind": "http", "http_status": 503, "count": 10}),
    )
    .await;
    let answer = s
        .post(&format!("/conversations/{id}/messages"), json!({"text": "hi"}))
        .await;
    assert_eq!(code(&answer), (503, Some("telesign_unavailable")), "{}", answer.1);
    let m = messages(&s.conversation(&id).await)
        .into_iter()
        .find(|m| m["direction"] == "outbound")
        .expect("recorded");
    assert_eq!(m["status"], "failed");
    assert!(m["status_description"].as_str().unwrap_or("").contains("unavailable"));
}

#[tokio::test]
async fn an_unknown_outcome_is_settled_by_the_delivery_report() {
    let s = stack();
    let account = s.account(1).await;
    let (id, _) = open_conversation(&s, &account).await;
    s.fault(&account.customer, json!({"kind": "drop"})).await;
    let (status, m) = s
        .post(&format!("/conversations/{id}/messages"), json!({"text": "did it go?"}))
        .await;
    assert_eq!((status, m["status"].as_str()), (202, Some("unknown")), "{m}");
    assert_eq!(
        s.sim_messages(&account.customer).await.len(),
        1,
        "sent once, never again"
    );
    let c = s
        .eventually(&id, "the report settles it", |c| {
            messages(c).iter().any(|m| m["status"] == "delivered")
        })
        .await;
    let m = messages(&c)
        .into_iter()
        .find(|m| m["direction"] == "outbound")
        .expect("message");
    assert!(
        m["telesign_reference_id"].is_string(),
        "the report brought TeleSign's reference: {m}"
    );
}

#[tokio::test]
async fn conversation_moves_follow_the_state_machine() {
    let s = stack();
    let account = s.account(1).await;
    let (id, _) = open_conversation(&s, &account).await;
    let go = |what: &'static str| {
        let s = s.clone();
        let id = id.clone();
        async move {
            s.post(&format!("/conversations/{id}/{what}"), json!({"agent_id": "agent-1"}))
                .await
        }
    };
    assert_eq!(go("accept").await.1["status"], "active");
    let again = go("accept").await;
    assert_eq!(code(&again), (409, Some("invalid_transition")));
    assert!(again.1["error"]["message"].as_str().unwrap_or("").contains("active"));
    assert_eq!(go("close").await.1["status"], "waiting");
    assert_eq!(code(&go("close").await), (409, Some("invalid_transition")));
    assert_eq!(go("accept").await.1["status"], "active");
    assert_eq!(go("end").await.1["status"], "closed");
    for what in ["accept", "close", "end"] {
        let refused = go(what).await;
        assert_eq!(code(&refused), (409, Some("invalid_transition")));
        assert!(refused.1["error"]["message"].as_str().unwrap_or("").contains("closed"));
    }
    assert_eq!(
        code(
            &s.post("/conversations/0123456789abcdef0123456789abcdef/accept", json!({}))
                .await
        ),
        (404, Some("conversation_not_found"))
    );
}

#[tokio::test]
async fn the_dashboard_pages_newest_first_without_gaps() {
    let s = stack();
    let account = s.account(1).await;
    let mut made = Vec::new();
    for _ in 0..5 {
        made.push(open_conversation(&s, &account).await.0);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut path = format!("/conversations?account_id={}&limit=2", account.id);
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (status, page) = s.get(&path).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        seen.extend(
            page["conversations"]
                .as_array()
                .expect("list")
                .iter()
                .map(|c| c["conversation_id"].as_str().unwrap_or("").to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
        assert!(pages < 10);
    }
    made.reverse();
    assert_eq!(seen, made, "newest activity first, each once");
    assert!(pages >= 3);
    assert_eq!(
        code(
            &s.get(&format!("/conversations?account_id={}&cursor=garbage", account.id))
                .await
        ),
        (400, Some("invalid_cursor"))
    );
    assert_eq!(code(&s.get("/conversations").await), (400, Some("missing_parameter")));
    assert_eq!(
        code(
            &s.get(&format!("/conversations?account_id={}&status=nope", account.id))
                .await
        ),
        (400, Some("invalid_parameter"))
    );
}

#[tokio::test]
async fn a_business_initiated_message_opens_a_conversation() {
    let s = stack();
    let account = s.account(1).await;
    let customer = random_number();
    let body = json!({"account_id": account.id, "from": account.numbers[0], "to": format!("+{customer}"), "text": "Your order shipped", "agent_id": "agent-2"});
    let (status, m) = s.post("/messages", body.clone()).await;
    assert_eq!(status, 202, "{m}");
    let list = s.conversations(&account, "active").await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["customer_number"], customer.as_str());
    assert_eq!(list[0]["conversation_id"], m["conversation_id"]);
    let (status, again) = s.post("/messages", body).await;
    assert_eq!(status, 202);
    assert_eq!(
        again["conversation_id"], m["conversation_id"],
        "the live conversation is reused"
    );
    let bad_from = s
        .post(
            "/messages",
            json!({"account_id": account.id, "from": random_number(), "to": customer, "text": "x"}),
        )
        .await;
    assert_eq!(code(&bad_from), (400, Some("unknown_number")));
    let bad_to = s
        .post(
            "/messages",
            json!({"account_id": account.id, "from": account.numbers[0], "to": "call me", "text": "x"}),
        )
        .await;
    assert_eq!(code(&bad_to), (400, Some("invalid_phone_number")));
}

#[tokio::test]
async fn a_telesign_timeout_is_an_unknown_outcome_sent_once() {
    let s = stack();
    let account = s.account(1).await;
    let (id, _) = open_conversation(&s, &account).await;
    // Longer than the stack's TELESIGN_TIMEOUT_MS (2 s under make test): TeleSign takes it, answers late.
    s.fault(&account.customer, json!({"kind": "slow", "delay_ms": 3000}))
        .await;
    let (status, m) = s
        .post(
            &format!("/conversations/{id}/messages"),
            json!({"text": "slow network"}),
        )
        .await;
    assert_eq!((status, m["status"].as_str()), (202, Some("unknown")), "{m}");
    assert!(m["status_description"]
        .as_str()
        .unwrap_or("")
        .contains("outcome unknown"));
    assert_eq!(
        s.sim_requests(&account.customer)
            .await
            .iter()
            .filter(|r| r["method"] == "POST")
            .count(),
        1,
        "never resent"
    );
    s.eventually(&id, "the report settles it", |c| {
        messages(c).iter().any(|m| m["status"] == "delivered")
    })
    .await;
}
