//! One customer of a large account, exported and erased through their own partitions: an
//! account of 100,000 items, a customer of 50 conversations and 2,000 messages. `make test` runs
//! it against a stack of its own (`tests/large_account.sh`): seeding 98,000 items into the suite's
//! DynamoDB Local would slow every other test's table scan past its timeout, and the events stream
//! behind it. Every request goes through a gateway of this test's own.

use channel_tests::{random_number, Account, Stack};
use serde_json::json;

fn customer_path(account: &Account, customer: &str) -> String {
    format!("/accounts/{}/customers/{customer}", account.id)
}

/// A customer's conversations: `conversations` of `messages` texts each, each ended before the
/// next begins (the next text starts a new one).
async fn customer_history(s: &Stack, account: &Account, customer: &str, conversations: usize, messages: usize) {
    use futures::StreamExt;
    for c in 0..conversations {
        let answers: Vec<u16> = futures::stream::iter(0..messages)
            .map(|m| async move { s.text(account, customer, &format!("history {c}.{m}")).await.0 })
            .buffer_unordered(8)
            .collect()
            .await;
        assert!(answers.iter().all(|&a| a == 200), "{answers:?}");
        let (_, live) = s
            .get(&format!(
                "/conversations?account_id={}&customer={customer}&status=open,active,waiting",
                account.id
            ))
            .await;
        let id = live["conversations"][0]["conversation_id"]
            .as_str()
            .expect("the live conversation")
            .to_owned();
        assert_eq!(s.post(&format!("/conversations/{id}/end"), json!({})).await.0, 200);
    }
}

#[tokio::test]
async fn a_customer_of_a_large_account_is_exported_and_erased_through_their_own_partitions() {
    // An export past 1 MB goes to the export bucket (deployed: past 3 MB).
    std::env::set_var("EXPORT_INLINE_BYTES", "1000000");
    let (g, gateway) = channel_tests::own_gateway().await;
    let account = g.account(1).await;
    let customer = random_number();
    let id = shared::ids::AccountId::parse(&account.id).expect("id");
    // An account of 100,000 items: 90,000 audit entries and 8,000 kept opt-outs of others
    let mut items = Vec::new();
    for i in 0..90_000 {
        let entry = shared::audit::AuditEntry::new(
            &shared::audit::Actor::System,
            shared::audit::AuditAction::ConversationAutoClosed,
            &id,
            format!("other-{i}"),
        );
        items.push(shared::store::items::to_item(&shared::store::items::AuditItem::of(&entry)).expect("item"));
    }
    for i in 0..8_000 {
        let tag = shared::store::items::OptOutItem::of(&id, &format!("tag-{i}"));
        items.push(shared::store::items::to_item(&tag).expect("item"));
    }
    let seeding = channel_tests::seed_directly(&items).await;
    // and a customer with 2,000 messages over 50 conversations.
    let written = std::time::Instant::now();
    customer_history(&g, &account, &customer, 50, 40).await;
    let history = written.elapsed();
    let meter = gateway.meter("accounts").expect("meter").clone();
    let started = std::time::Instant::now();
    let (status, link) = g.get(&format!("{}/export", customer_path(&account, &customer))).await;
    assert_eq!(status, 200, "{link}");
    // Too large to answer: fetched from the bucket by its link, with no other credential.
    let url = link["export_url"].as_str().expect("a link");
    let fetched = reqwest::get(url).await.expect("fetched");
    assert_eq!(fetched.status(), 200);
    let export: serde_json::Value = serde_json::from_slice(&fetched.bytes().await.expect("the export")).expect("JSON");
    let exported = started.elapsed();
    assert_eq!(link["size_bytes"].as_u64(), Some(export.to_string().len() as u64));
    assert_eq!(link["conversations"], 50);
    let conversations = export["conversations"].as_array().expect("conversations");
    let inbound = conversations
        .iter()
        .flat_map(channel_tests::messages)
        .filter(|m| m["direction"] == "inbound")
        .count();
    assert_eq!((conversations.len(), inbound), (50, 2_000));
    let export_reads = meter.snapshot();
    assert!(
        !export_reads.actions.keys().any(|a| a.contains("index/gsi1")),
        "no status partition of the account is read: {:?}",
        export_reads.actions
    );
    meter.reset();
    let started = std::time::Instant::now();
    let (status, erased) = g.call("DELETE", &customer_path(&account, &customer), None, &[]).await;
    let took = started.elapsed();
    assert_eq!(status, 200, "{erased}");
    assert_eq!(
        (erased["conversations"].as_u64(), erased["complete"].as_bool()),
        (Some(50), Some(true))
    );
    assert!(erased["messages"].as_u64().unwrap_or(0) >= 2_000, "{erased}");
    let (_, again) = g.get(&format!("{}/export", customer_path(&account, &customer))).await;
    assert_eq!(again["conversations"], json!([]), "nothing left");
    let erasure_requests = meter.snapshot().requests;
    println!(
        "FIGURES a customer of 50 conversations and 2,000 messages in an account of 100,000 items: 98,000 seeded in {seeding:?}, the history written in {history:?}; export {exported:?} ({} bytes, requests {:?}); erasure {took:?} (requests {:?})",
        export.to_string().len(),
        export_reads.requests,
        erasure_requests
    );
}
