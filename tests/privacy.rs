//! A customer's export and erasure over the real local stack: the export holds one customer and
//! nothing of another; the erasure leaves no item holding the number or a message text (a scan
//! of the whole table), the next message starts a fresh conversation, an opted-out customer
//! stays refused, and asking again deletes nothing more.

use channel_tests::{code, conversation_id_of, random_number, stack, table_dump, Account, Stack};
use serde_json::json;

/// A conversation of `customer`: their message, a reply sent with an idempotency key and
/// delivered, then STOP. The conversation id and the two texts.
async fn conversation_with(s: &Stack, account: &Account, customer: &str) -> (String, String, String) {
    let said = format!("my order {} is late", uuid::Uuid::new_v4().simple());
    assert_eq!(s.text(account, customer, &said).await.0, 200);
    let conversation = s
        .conversations(account, "open")
        .await
        .into_iter()
        .find(|c| c["customer_number"] == customer)
        .map(|c| conversation_id_of(&c))
        .expect("the customer's conversation");
    let answered = format!("checking order {} now", uuid::Uuid::new_v4().simple());
    let key = uuid::Uuid::new_v4().to_string();
    let path = format!("/conversations/{conversation}/messages");
    let (status, body) = s
        .call(
            "POST",
            &path,
            Some(json!({"text": answered})),
            &[("idempotency-key", &key)],
        )
        .await;
    assert_eq!(status, 202, "{body}");
    s.eventually(&conversation, "the reply delivered", |c| {
        channel_tests::messages(c)
            .iter()
            .any(|m| m["direction"] == "outbound" && m["status"] == "delivered")
    })
    .await;
    (conversation, said, answered)
}

fn customer_path(account: &Account, customer: &str) -> String {
    format!("/accounts/{}/customers/{customer}", account.id)
}

#[tokio::test]
async fn an_export_holds_one_customer_and_nothing_of_another() {
    let s = stack();
    let account = s.account(1).await;
    let (me, other) = (random_number(), random_number());
    let (conversation, said, answered) = conversation_with(&s, &account, &me).await;
    assert_eq!(s.text(&account, &me, "STOP").await.0, 200);
    let theirs = format!("not yours {}", uuid::Uuid::new_v4().simple());
    assert_eq!(s.text(&account, &other, &theirs).await.0, 200);
    let (status, export) = s.get(&format!("{}/export", customer_path(&account, &me))).await;
    assert_eq!(status, 200, "{export}");
    let text = export.to_string();
    assert!(
        text.contains(&said) && text.contains(&answered) && text.contains("STOP"),
        "{export}"
    );
    assert!(
        !text.contains(&theirs) && !text.contains(&other),
        "nothing of another customer"
    );
    assert_eq!(export["conversations"].as_array().map(Vec::len), Some(1));
    assert_eq!(export["conversations"][0]["conversation_id"], conversation);
    assert!(
        export["raw_payloads"].as_array().is_some_and(|r| r.len() >= 2),
        "the raw callback bodies: {export}"
    );
    let consent = export["consent"].as_array().expect("consent");
    assert!(consent.iter().any(|c| c["opted_out"] == true), "{export}");
    let actions: Vec<&str> = export["audit"]
        .as_array()
        .expect("audit")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"message.sent") && actions.contains(&"consent.changed"),
        "{actions:?}"
    );
    let (_, trail) = s.get(&format!("/audit?account_id={}", account.id)).await;
    let exported = trail["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["action"] == "customer.exported")
        .cloned()
        .expect("the export is audited");
    assert!(
        !exported.to_string().contains(&me),
        "the entry names no number: {exported}"
    );
}

#[tokio::test]
async fn an_erasure_leaves_no_item_holding_the_number_or_a_text_and_the_opt_out_holds() {
    let s = stack();
    let account = s.account(1).await;
    let (me, other) = (random_number(), random_number());
    let (conversation, said, answered) = conversation_with(&s, &account, &me).await;
    assert_eq!(s.text(&account, &me, "STOP").await.0, 200);
    let theirs = format!("not yours {}", uuid::Uuid::new_v4().simple());
    assert_eq!(s.text(&account, &other, &theirs).await.0, 200);
    let before = table_dump().await;
    for held in [&me, &said, &answered] {
        assert!(
            before.contains(held.as_str()),
            "the scan finds {held} before the erasure"
        );
    }
    let (status, counts) = s.call("DELETE", &customer_path(&account, &me), None, &[]).await;
    assert_eq!(status, 200, "{counts}");
    assert_eq!(counts["conversations"], 1, "{counts}");
    assert!(counts["messages"].as_u64().is_some_and(|n| n >= 4), "{counts}");
    assert_eq!(counts["idempotency_records"], 1, "{counts}");
    assert!(counts["references"].as_u64().is_some_and(|n| n >= 3), "{counts}");
    assert_eq!(counts["opt_out_kept"], true, "{counts}");

    let after = table_dump().await;
    for gone in [&me, &said, &answered] {
        assert!(!after.contains(gone.as_str()), "{gone} is still in the table");
    }
    assert!(
        only_in_entries(&after, &conversation),
        "only the trail names the conversation: {:#?}",
        after
            .lines()
            .filter(|l| l.contains(conversation.as_str()) && !l.contains("S(\"AUDIT#"))
            .collect::<Vec<_>>()
    );
    assert!(after.contains(&theirs), "another customer's messages stay");

    let outreach = json!({"account_id": account.id, "from": account.numbers[0], "to": me, "text": "we miss you"});
    assert_eq!(
        code(&s.post("/messages", outreach).await),
        (422, Some("recipient_opted_out")),
        "the opt-out survives the erasure as its keyed hash"
    );
    assert_eq!(s.text(&account, &me, "hello again").await.0, 200);
    let fresh = s
        .conversations(&account, "open")
        .await
        .into_iter()
        .find(|c| c["customer_number"] == me)
        .expect("a new conversation");
    assert_ne!(conversation_id_of(&fresh), conversation, "a fresh conversation");
    let fresh = s.conversation(&conversation_id_of(&fresh)).await;
    assert_eq!(channel_tests::messages(&fresh).len(), 1, "nothing of before: {fresh}");

    let (status, again) = s.call("DELETE", &customer_path(&account, &me), None, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(
        (again["conversations"].as_u64(), again["opt_out_kept"].as_bool()),
        (Some(1), Some(true)),
        "{again}"
    );
    let (_, once_more) = s.call("DELETE", &customer_path(&account, &me), None, &[]).await;
    assert_eq!(
        (once_more["conversations"].as_u64(), once_more["messages"].as_u64()),
        (Some(0), Some(0)),
        "{once_more}"
    );
    assert_eq!(s.text(&account, &me, "START").await.0, 200);
    let welcome = json!({"account_id": account.id, "from": account.numbers[0], "to": me, "text": "welcome back"});
    let (status, sent) = s.post("/messages", welcome).await;
    assert_eq!(status, 202, "their START lifts the kept opt-out: {sent}");
}

/// Whether every line of the scan naming `id` is an audit entry (they name conversation ids,
/// never numbers or texts, and stay in the account's trail).
fn only_in_entries(dump: &str, id: &str) -> bool {
    dump.lines()
        .filter(|l| l.contains(id))
        .all(|l| l.contains("S(\"AUDIT#"))
}

#[tokio::test]
async fn only_operators_export_or_erase() {
    let s = stack();
    let account = s.account(1).await;
    let path = customer_path(&account, &random_number());
    let member = format!("/accounts/{}/members/privacy-supervisor", account.id);
    assert_eq!(
        s.call("PUT", &member, Some(json!({"role": "supervisor"})), &[]).await.0,
        200
    );
    let supervisor = s.as_user("privacy-supervisor", &["supervisor"]).await;
    assert_eq!(
        code(&supervisor.get(&format!("{path}/export")).await),
        (403, Some("forbidden"))
    );
    assert_eq!(
        code(&supervisor.call("DELETE", &path, None, &[]).await),
        (403, Some("forbidden"))
    );
    let bad = format!("/accounts/{}/customers/call-me", account.id);
    assert_eq!(
        code(&s.call("DELETE", &bad, None, &[]).await),
        (400, Some("invalid_phone_number"))
    );
    let nobody = format!("/accounts/{}/customers/{}", "0".repeat(32), random_number());
    assert_eq!(code(&s.call("DELETE", &nobody, None, &[]).await).0, 404);
}

#[tokio::test]
async fn a_raw_callback_body_is_its_own_item_and_expires_after_the_raw_payload_retention() {
    let s = stack();
    let account = s.account(1).await;
    let customer = random_number();
    let said = format!("raw {}", uuid::Uuid::new_v4().simple());
    let before = shared::ids::epoch_seconds();
    assert_eq!(s.text(&account, &customer, &said).await.0, 200);
    let after = shared::ids::epoch_seconds();
    let conversation = s
        .conversations(&account, "open")
        .await
        .into_iter()
        .find(|c| c["customer_number"] == customer)
        .map(|c| conversation_id_of(&c))
        .expect("the conversation");
    let table = std::env::var("TABLE_NAME").expect("TABLE_NAME");
    let items = channel_tests::dynamo()
        .await
        .query()
        .table_name(table)
        .key_condition_expression("pk = :p")
        .expression_attribute_values(
            ":p",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("CONV#{conversation}")),
        )
        .consistent_read(true)
        .send()
        .await
        .expect("query")
        .items
        .unwrap_or_default();
    let sk = |i: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>| {
        i["sk"].as_s().cloned().unwrap_or_default()
    };
    let message = items.iter().find(|i| sk(i).starts_with("MSG#")).expect("the message");
    assert!(!message.contains_key("raw"), "the message holds no raw body");
    assert!(!message.contains_key("expires_at"), "the message itself stays");
    let raw = items.iter().find(|i| sk(i).starts_with("RAW#")).expect("the raw body");
    assert!(raw["body"].as_s().is_ok_and(|b| b.contains(&said)));
    let expires: i64 = raw["expires_at"].as_n().expect("TTL").parse().expect("epoch seconds");
    let days = i64::from(shared::store::DEFAULT_RAW_PAYLOAD_DAYS) * 86_400;
    assert!(
        (before + days..=after + days).contains(&expires),
        "{expires} is 30 days after {before}"
    );
    let transcript = s.conversation(&conversation).await;
    assert_eq!(
        channel_tests::messages(&transcript).len(),
        1,
        "the raw body is no message: {transcript}"
    );
}

/// How many messages the paged erasure's conversation has (each inbound one also has its raw
/// body and its inbound reference: three items).
const BIG: usize = 120;

#[tokio::test]
async fn a_big_conversation_is_erased_in_pages_and_its_requests_are_counted() {
    let s = stack();
    let account = s.account(1).await;
    let customer = random_number();
    for i in 0..BIG {
        assert_eq!(
            s.text(&account, &customer, &format!("message {i} of many")).await.0,
            200
        );
    }
    let (g, gateway) = channel_tests::own_gateway().await;
    let started = std::time::Instant::now();
    let (status, counts) = g.call("DELETE", &customer_path(&account, &customer), None, &[]).await;
    let took = started.elapsed();
    assert_eq!(status, 200, "{counts}");
    assert_eq!(
        (counts["conversations"].as_u64(), counts["messages"].as_u64()),
        (Some(1), Some(BIG as u64))
    );
    let dump = table_dump().await;
    assert!(
        !dump.contains(&customer) && !dump.contains("of many"),
        "every page was deleted"
    );
    let requests = gateway
        .meters
        .iter()
        .find(|m| m.0 == "accounts")
        .map(|m| m.1.snapshot().requests)
        .expect("the accounts function's meter");
    let batches = requests.get("dynamodb:BatchWriteItem").copied().unwrap_or(0);
    assert!(
        batches >= (3 * BIG as u64).div_ceil(25),
        "25 deletes a request: {requests:?}"
    );
    println!(
        "FIGURES erasure of one conversation of {BIG} inbound messages ({} items): {} ms, requests {requests:?}",
        3 * BIG + 1,
        took.as_millis()
    );
}

#[tokio::test]
async fn a_deleted_accounts_customer_is_still_exported_and_erased_and_its_conversations_expire_by_default() {
    use shared::service::ports::RetiredAccounts;
    let s = stack();
    let account = s.account(1).await;
    let customer = random_number();
    let said = format!("before the account went {}", uuid::Uuid::new_v4().simple());
    assert_eq!(s.text(&account, &customer, &said).await.0, 200);
    let path = format!("/accounts/{}", account.id);
    assert_eq!(
        code(
            &s.call("DELETE", &format!("{path}?keep_conversations=maybe"), None, &[])
                .await
        ),
        (400, Some("invalid_parameter"))
    );
    assert_eq!(s.call("DELETE", &path, None, &[]).await.0, 204);
    // Its conversations expire by the default retention, the numbers it had kept with it.
    let store = shared::runtime::Clients::from_env().await.expect("clients").dynamo();
    let id = shared::ids::AccountId::parse(&account.id).expect("id");
    let retired = store.retired_account(&id).await.expect("read").expect("retired");
    assert_eq!(
        retired.retention_days,
        Some(shared::account::DELETED_ACCOUNT_RETENTION_DAYS)
    );
    assert_eq!(retired.numbers.len(), 1);
    // An operator still exports the customer's data and erases it.
    let (status, export) = s.get(&format!("{}/export", customer_path(&account, &customer))).await;
    assert_eq!(status, 200, "{export}");
    assert!(export.to_string().contains(&said), "{export}");
    let (status, erased) = s.call("DELETE", &customer_path(&account, &customer), None, &[]).await;
    assert_eq!(status, 200, "{erased}");
    assert_eq!(
        (erased["conversations"].as_u64(), erased["complete"].as_bool()),
        (Some(1), Some(true))
    );
    let (_, again) = s.get(&format!("{}/export", customer_path(&account, &customer))).await;
    assert_eq!(again["conversations"], json!([]), "nothing left");
    // Kept by the operator's choice: no retention.
    let kept = s.account(1).await;
    let path = format!("/accounts/{}?keep_conversations=true", kept.id);
    assert_eq!(s.call("DELETE", &path, None, &[]).await.0, 204);
    let id = shared::ids::AccountId::parse(&kept.id).expect("id");
    let retired = store.retired_account(&id).await.expect("read").expect("retired");
    assert_eq!(retired.retention_days, None);
}
