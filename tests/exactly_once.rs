//! Never lose a message, never store one twice, with DynamoDB behaving as the real service does:
//! the stack's functions reach DynamoDB Local through the fault proxy (`tools/ddb-fault-proxy`),
//! which plays outages, transaction conflicts, throttling and timeouts after commit on the
//! requests that name this test's own account, so parallel tests are not disturbed.
//!
//! Each test prints its figures (`cargo nextest run -p channel-tests --test exactly_once
//! --no-capture`): messages sent, answered, parked, stored, lost, stored twice.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use channel_tests::{
    dynamodb_fault, inbound_body, messages, random_number, reference_id, signed, stack, Account, Stack,
};
use serde_json::{json, Value};

/// TeleSign's tries of an inbound callback: at once, after 10 s, after 30 s more.
const TELESIGN_TRIES: [Duration; 3] = [Duration::ZERO, Duration::from_secs(10), Duration::from_secs(30)];

/// What TeleSign saw of one callback: the status of its last try, and the result it was told.
#[derive(Debug, Clone)]
struct Delivery {
    status: u16,
    result: String,
}

/// Posts one callback as TeleSign does: up to three tries until one is answered 200.
async fn deliver(s: &Stack, account: &Account, body: Value) -> Delivery {
    let (bytes, auth) = signed(account, &body);
    let path = format!("/telesign/{}/callback", account.id);
    let mut last = Delivery {
        status: 0,
        result: String::new(),
    };
    for wait in TELESIGN_TRIES {
        tokio::time::sleep(wait).await;
        let (status, answer) = s
            .post_raw(&path, bytes.clone(), &[("authorization", auth.clone())])
            .await;
        last = Delivery {
            status,
            result: answer["result"].as_str().unwrap_or_default().to_owned(),
        };
        if status == 200 {
            break;
        }
    }
    last
}

/// How often each text is stored in the account's conversations.
async fn stored_texts(s: &Stack, account: &Account) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for c in s.conversations(account, "open").await {
        let id = c["conversation_id"].as_str().expect("id");
        let (status, full) = s.get(&format!("/conversations/{id}?limit=500")).await;
        assert_eq!(status, 200, "{full}");
        for m in messages(&full) {
            if m["direction"] == "inbound" {
                *counts
                    .entry(m["text"].as_str().unwrap_or_default().to_owned())
                    .or_default() += 1;
            }
        }
    }
    counts
}

/// Waits until every text of `texts` is stored (or `patience` runs out); the counts then.
async fn wait_stored(s: &Stack, account: &Account, texts: &[String], patience: Duration) -> BTreeMap<String, usize> {
    let start = Instant::now();
    loop {
        let counts = stored_texts(s, account).await;
        if texts.iter().all(|t| counts.contains_key(t)) || start.elapsed() > patience {
            return counts;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Figures of a scenario: every text once, none lost, none twice.
fn tally(
    scenario: &str,
    texts: &[String],
    deliveries: &[Delivery],
    counts: &BTreeMap<String, usize>,
) -> (usize, usize, usize) {
    let lost = texts.iter().filter(|t| !counts.contains_key(*t)).count();
    let twice = counts.values().filter(|n| **n > 1).count();
    let stored = texts.len() - lost;
    let by_result = deliveries.iter().fold(BTreeMap::<String, usize>::new(), |mut m, d| {
        *m.entry(format!("{} {}", d.status, d.result)).or_default() += 1;
        m
    });
    println!(
        "FIGURES {scenario}: sent {}, answers {by_result:?}, stored {stored}, lost {lost}, stored twice {twice}",
        texts.len()
    );
    (stored, lost, twice)
}

#[tokio::test]
async fn a_two_minute_dynamodb_outage_loses_nothing_and_stores_nothing_twice() {
    let s = stack();
    let account = s.account(1).await;
    let outage = Duration::from_secs(120);
    dynamodb_fault(json!({"kind": "unreachable", "matching": account.id, "seconds": outage.as_secs()})).await;
    let began = Instant::now();
    let customers: Vec<String> = (0..20).map(|_| random_number()).collect();
    let texts: Vec<String> = (0..200).map(|i| format!("outage message {i}")).collect();
    let sends = texts.iter().enumerate().map(|(i, text)| {
        let body = inbound_body(&account, &customers[i % customers.len()], text, &reference_id());
        let (s, account) = (s.clone(), account.clone());
        async move {
            // The messages arrive over the first 20 seconds of the outage.
            tokio::time::sleep(Duration::from_millis(100 * i as u64)).await;
            deliver(&s, &account, body).await
        }
    });
    let deliveries = futures::future::join_all(sends).await;
    assert!(
        began.elapsed() < outage,
        "every callback was answered during the outage"
    );
    assert!(
        deliveries.iter().all(|d| d.status == 200),
        "TeleSign saw every callback taken"
    );
    // Nothing of the account can be read during the outage: look once it is over.
    tokio::time::sleep(outage.saturating_sub(began.elapsed())).await;
    let counts = wait_stored(&s, &account, &texts, Duration::from_secs(90)).await;
    let (stored, lost, twice) = tally("outage 120 s, 200 callbacks", &texts, &deliveries, &counts);
    assert_eq!((stored, lost, twice), (200, 0, 0), "{counts:?}");
}

#[tokio::test]
async fn fifty_customers_texting_one_number_under_conflicts_are_all_stored_without_a_503() {
    let s = stack();
    let account = s.account(1).await;
    dynamodb_fault(json!({"kind": "conflict", "operation": "TransactWriteItems", "matching": account.id, "count": 60}))
        .await;
    dynamodb_fault(json!({"kind": "throttle", "operation": "BatchGetItem", "matching": account.id, "count": 20})).await;
    dynamodb_fault(json!({"kind": "unprocessed", "operation": "BatchGetItem", "matching": account.id, "count": 20}))
        .await;
    let texts: Vec<String> = (0..50).map(|i| format!("campaign reply {i}")).collect();
    let sends = texts.iter().map(|text| {
        let body = inbound_body(&account, &random_number(), text, &reference_id());
        let (s, account) = (s.clone(), account.clone());
        async move {
            let (bytes, auth) = signed(&account, &body);
            let (status, answer) = s
                .post_raw(
                    &format!("/telesign/{}/callback", account.id),
                    bytes,
                    &[("authorization", auth)],
                )
                .await;
            Delivery {
                status,
                result: answer["result"].as_str().unwrap_or_default().to_owned(),
            }
        }
    });
    let deliveries = futures::future::join_all(sends).await;
    assert!(deliveries.iter().all(|d| d.status == 200), "no 503: {deliveries:?}");
    let counts = wait_stored(&s, &account, &texts, Duration::from_secs(90)).await;
    let (stored, lost, twice) = tally(
        "50 customers, one number, injected conflicts",
        &texts,
        &deliveries,
        &counts,
    );
    assert_eq!((stored, lost, twice), (50, 0, 0), "{counts:?}");
}

/// A conversation of a new customer of `account`, and the path of a reply in it.
async fn conversation_of_new_customer(s: &Stack, account: &Account) -> (String, String) {
    let customer = random_number();
    assert_eq!(s.text(account, &customer, "hello").await.0, 200);
    let id = channel_tests::conversation_id_of(&s.conversations(account, "open").await[0]);
    let reply = format!("/conversations/{id}/messages");
    (id, reply)
}

#[tokio::test]
async fn a_settle_that_times_out_after_committing_still_shows_the_message_sent_and_sends_one_sms() {
    let s = stack();
    let account = s.account(1).await;
    let (conversation, reply) = conversation_of_new_customer(&s, &account).await;
    let key = format!("settle-{}", reference_id());
    // Only the settle: the transaction with this key's record and an outbound reference.
    let settle = json!([format!("IDEM#{}#{key}", account.id), "OUTREF#"]);
    dynamodb_fault(json!({"kind": "timeout_after_commit", "operation": "TransactWriteItems", "matching": settle, "count": 3, "hold_ms": 8000})).await;
    let headers = [("idempotency-key", key.as_str())];
    let body = json!({"text": "your order ships today"});
    let (status, sent) = s.call("POST", &reply, Some(body.clone()), &headers).await;
    assert_eq!(status, 202, "the agent sees it sent: {sent}");
    assert_ne!(sent["status"], "failed", "{sent}");
    let (again, replayed) = s.call("POST", &reply, Some(body), &headers).await;
    assert!(
        (again == 202 && replayed["message_id"] == sent["message_id"]) || again == 409,
        "a retry with the key never sends again: {again} {replayed}"
    );
    let sms = s.sim_messages(&account.customer).await.len();
    println!("FIGURES settle timeout after commit: answered {status}, SMS sent {sms}");
    assert_eq!(sms, 1, "the customer gets one SMS");
    s.eventually(&conversation, "the report settles it", |c| {
        messages(c)
            .iter()
            .any(|m| m["direction"] == "outbound" && m["status"] == "delivered")
    })
    .await;
}

#[tokio::test]
async fn a_gateway_error_after_the_send_went_out_is_never_resent() {
    let s = stack();
    let account = s.account(1).await;
    for status in [502, 504] {
        let (conversation, reply) = conversation_of_new_customer(&s, &account).await;
        let before = s.sim_messages(&account.customer).await.len();
        s.fault(&account.customer, json!({"kind": "gateway", "http_status": status}))
            .await;
        let (answered, sent) = s.post(&reply, json!({"text": format!("after a {status}")})).await;
        assert_eq!((answered, sent["status"].as_str()), (202, Some("unknown")), "{sent}");
        let sms = s.sim_messages(&account.customer).await.len() - before;
        println!("FIGURES gateway {status} after the send: SMS sent {sms}");
        assert_eq!(sms, 1, "one SMS, not one per retry");
        s.eventually(&conversation, "the report settles it", |c| {
            messages(c)
                .iter()
                .any(|m| m["direction"] == "outbound" && m["status"] == "delivered")
        })
        .await;
    }
}

#[tokio::test]
async fn a_callback_redriven_from_the_dead_letter_queue_is_stored_once() {
    let s = stack();
    let account = s.account(1).await;
    let queue = std::env::var("CALLBACK_QUEUE_URL").expect("the stack's queue");
    let text = format!("redriven {}", reference_id());
    let (bytes, auth) = signed(
        &account,
        &inbound_body(&account, &random_number(), &text, &reference_id()),
    );
    let id = shared::ids::AccountId::parse(&account.id).expect("id");
    let parked = shared::service::ports::ParkedCallback::of(&id, Some(&auth), &bytes, "a test".into());
    let sqs = aws_sdk_sqs::Client::new(&shared::aws::load_config().await);
    for _ in 0..2 {
        sqs.send_message()
            .queue_url(format!("{queue}-dlq"))
            .message_body(serde_json::to_string(&parked).expect("json"))
            .send()
            .await
            .expect("into the dead-letter queue");
    }
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::process::Command::new(root.join(".venv/bin/python"))
        .arg(root.join("scripts/redrive.py"))
        .arg(&queue)
        .output()
        .expect("the redrive runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let counts = wait_stored(&s, &account, std::slice::from_ref(&text), Duration::from_secs(60)).await;
    assert_eq!(counts.get(&text), Some(&1), "{counts:?}");
}

#[tokio::test]
async fn an_account_creation_that_times_out_after_committing_is_a_working_account() {
    let s = stack();
    let customer = s.customer("active").await;
    let name = format!("Ambiguous {}", reference_id());
    let number = random_number();
    // Both of the SDK's tries of the creation's transaction are carried out, then never answered.
    dynamodb_fault(json!({"kind": "timeout_after_commit", "operation": "TransactWriteItems", "matching": name, "count": 2, "hold_ms": 8000})).await;
    let create = json!({"name": name, "customer_id": customer.id, "api_key": customer.key,
                        "numbers": [{"number": number, "type": "long_code"}]});
    let (status, body) = s.post("/accounts", create).await;
    assert_eq!(status, 201, "created, not half created: {body}");
    let account = Account {
        id: body["account_id"].as_str().expect("id").to_owned(),
        customer,
        numbers: vec![number],
        callback_url: body["callback_url"].as_str().expect("callback url").to_owned(),
    };
    let (conversation, reply) = conversation_of_new_customer(&s, &account).await;
    let (sent, answer) = s.post(&reply, json!({"text": "it works"})).await;
    assert_eq!(sent, 202, "{answer}");
    println!(
        "FIGURES account creation timing out after commit: answered {status}, receives and sends: {}",
        !conversation.is_empty() && sent == 202
    );
    assert_eq!(s.sim_messages(&account.customer).await.len(), 1);
}

#[tokio::test]
async fn a_rotation_closes_both_gaps_and_a_revocation_takes_effect_at_once() {
    let s = stack();
    let account = s.account(1).await;
    let (conversation, reply) = conversation_of_new_customer(&s, &account).await;
    assert_eq!(
        s.post(&reply, json!({"text": "warm"})).await.0,
        202,
        "the functions are warm"
    );
    // The simulator's delivery reports of that reply (signed with the key of their time) are in
    // before the keys change: the texts below are the only callbacks of the rotation.
    s.eventually(&conversation, "the warm reply delivered", |c| {
        channel_tests::messages(c)
            .iter()
            .any(|m| m["direction"] == "outbound" && m["status"] == "delivered")
    })
    .await;
    let key_path = format!("/accounts/{}/api-key", account.id);
    let new_key = channel_tests::random_key();
    let with_new = Account {
        customer: channel_tests::Customer {
            key: new_key.clone(),
            ..account.customer.clone()
        },
        ..account.clone()
    };
    let text = |who: &Account, text: &str| {
        let body = inbound_body(who, &random_number(), text, &reference_id());
        let (bytes, auth) = signed(who, &body);
        let (s, path) = (s.clone(), format!("/telesign/{}/callback", who.id));
        async move { s.post_raw(&path, bytes, &[("authorization", auth)]).await.0 }
    };
    // TeleSign signs with the new key before the operator rotates: staged as next, it verifies.
    let (staged, answer) = s
        .call(
            "PUT",
            &key_path,
            Some(json!({"api_key": new_key, "stage": "next"})),
            &[],
        )
        .await;
    assert_eq!(staged, 200, "{answer}");
    assert_eq!(text(&with_new, "signed with the next key").await, 200);
    // The new key goes live at TeleSign: the old one is refused (10008) from now on.
    s.sim(
        "POST",
        "customers",
        Some(json!({"customer_id": account.customer.id, "api_key": new_key})),
    )
    .await;
    let (rotated, answer) = s
        .call(
            "PUT",
            &key_path,
            Some(json!({"api_key": new_key, "grace_period_seconds": 0})),
            &[],
        )
        .await;
    assert_eq!(rotated, 200, "{answer}");
    assert_eq!(
        text(&account, "signed with the revoked key").await,
        401,
        "a revoked key stops at once"
    );
    assert_eq!(
        text(&with_new, "signed with the new key").await,
        200,
        "after the rotation"
    );
    let (sent, answer) = s.post(&reply, json!({"text": "after the rotation"})).await;
    assert_eq!(sent, 202, "the next reply succeeds: {answer}");
    println!("FIGURES rotation: next key before 200, after 200, revoked 401, reply after rotation {sent}");
}

#[tokio::test]
async fn a_pending_key_whose_request_died_is_free_again_after_minutes_not_a_day() {
    use aws_sdk_dynamodb::types::AttributeValue::{N, S};
    let s = stack();
    let account = s.account(1).await;
    let (_, reply) = conversation_of_new_customer(&s, &account).await;
    let key = format!("dead-{}", reference_id());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    // The record a request leaves when its function dies between the record and the settle.
    channel_tests::dynamo()
        .await
        .put_item()
        .table_name(std::env::var("TABLE_NAME").expect("table"))
        .item("pk", S(format!("IDEM#{}#{key}", account.id)))
        .item("sk", S("IDEM".into()))
        .item("idem_state", S("pending".into()))
        .item("fingerprint", S("another request".into()))
        .item("expires_at", N((now - 1).to_string()))
        .send()
        .await
        .expect("put");
    let (status, sent) = s
        .call(
            "POST",
            &reply,
            Some(json!({"text": "sent at last"})),
            &[("idempotency-key", &key)],
        )
        .await;
    assert_eq!(status, 202, "{sent}");
}

#[tokio::test]
async fn a_send_whose_request_hung_is_never_resent_and_is_shown_unconfirmed_after_its_wait() {
    use aws_sdk_dynamodb::types::AttributeValue::S;
    let s = stack();
    let account = s.account(1).await;
    let (conversation, reply) = conversation_of_new_customer(&s, &account).await;
    // TeleSign takes the request and never answers (the function's TeleSign timeout passes).
    s.fault(&account.customer, json!({"kind": "hang", "delay_ms": 30000}))
        .await;
    let (status, sent) = s.post(&reply, json!({"text": "did it go?"})).await;
    assert_eq!((status, sent["status"].as_str()), (202, Some("unknown")), "{sent}");
    // A second try would have gone through (the fault holds one request only).
    assert!(s.sim_messages(&account.customer).await.is_empty(), "never resent");
    let shown = |c: &Value| {
        messages(c)
            .into_iter()
            .find(|m| m["message_id"] == sent["message_id"])
            .expect("the message")
    };
    assert!(shown(&s.conversation(&conversation).await)["unconfirmed"].is_null());
    // Ten minutes later, with no report: the agent is shown it as not confirmed.
    let sent_at = shared::ids::Timestamp::now().plus_seconds(-601).to_string();
    let message_id = sent["message_id"].as_str().expect("id");
    channel_tests::dynamo()
        .await
        .update_item()
        .table_name(std::env::var("TABLE_NAME").expect("table"))
        .key("pk", S(format!("CONV#{conversation}")))
        .key("sk", S(format!("MSG#{message_id}")))
        .update_expression("SET created_at = :t")
        .expression_attribute_values(":t", S(sent_at))
        .send()
        .await
        .expect("update");
    assert_eq!(shown(&s.conversation(&conversation).await)["unconfirmed"], true);
}

#[tokio::test]
async fn a_delivery_report_that_conflicts_with_a_write_is_parked_and_applied_never_an_error() {
    let s = stack();
    let account = s.account(1).await;
    let (conversation, reply) = conversation_of_new_customer(&s, &account).await;
    // The reports' updates of this conversation's messages conflict (as with a settle in flight).
    dynamodb_fault(json!({"kind": "conflict", "operation": "UpdateItem", "matching": conversation, "count": 3})).await;
    let (status, sent) = s.post(&reply, json!({"text": "on its way"})).await;
    assert_eq!(status, 202, "{sent}");
    // The replays back off (2.5 s and more each): give them a minute.
    let delivered = |c: &Value| {
        messages(c)
            .iter()
            .any(|m| m["direction"] == "outbound" && m["status"] == "delivered")
    };
    for _ in 0..60 {
        if delivered(&s.conversation(&conversation).await) {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    panic!("the report never landed: {}", s.conversation(&conversation).await);
}
