//! The desk over the real local stack: transcripts both ways.

use channel_tests::{conversation_id_of, random_number, stack};
use serde_json::Value;

fn texts(conversation: &Value) -> Vec<String> {
    conversation["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn a_transcript_pages_newest_first_and_oldest_first() {
    let s = stack();
    let account = s.account(1).await;
    let customer = random_number();
    for text in ["one", "two", "three"] {
        assert_eq!(s.text(&account, &customer, text).await.0, 200);
    }
    let id = conversation_id_of(&s.conversations(&account, "open").await[0]);
    let (status, first) = s.get(&format!("/conversations/{id}?order=desc&limit=2")).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(texts(&first), ["three", "two"]);
    assert_eq!(first["conversation_id"], id.as_str());
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let (_, rest) = s
        .get(&format!("/conversations/{id}?order=desc&limit=2&cursor={cursor}"))
        .await;
    assert_eq!(texts(&rest), ["one"]);
    assert_eq!(rest["conversation_id"], id.as_str());

    let (_, forward) = s.get(&format!("/conversations/{id}?order=asc&limit=2")).await;
    assert_eq!(texts(&forward), ["one", "two"]);
    let (status, wrong) = s.get(&format!("/conversations/{id}?order=sideways")).await;
    assert_eq!(
        (status, &wrong["error"]["code"]),
        (400, &Value::from("invalid_parameter"))
    );
}
