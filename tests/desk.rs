//! The desk over the real local stack: transcripts both ways, notes.

use channel_tests::{conversation_id_of, random_number, stack};
use serde_json::{json, Value};

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

#[tokio::test]
async fn a_note_is_in_the_transcript_never_sent_and_audited_without_its_text() {
    let s = stack();
    let account = s.account(1).await;
    let customer = random_number();
    assert_eq!(s.text(&account, &customer, "where is my order").await.0, 200);
    let id = conversation_id_of(&s.conversations(&account, "open").await[0]);
    let suffix = random_number();
    let (mine, theirs) = (format!("note-a-{suffix}"), format!("note-b-{suffix}"));
    for user in [&mine, &theirs] {
        let path = format!("/accounts/{}/members/{user}", account.id);
        assert_eq!(s.call("PUT", &path, Some(json!({"role": "agent"})), &[]).await.0, 200);
    }
    let agent = s.as_user(&mine, &["agent"]).await;
    let other = s.as_user(&theirs, &["agent"]).await;
    assert_eq!(
        agent.post(&format!("/conversations/{id}/accept"), json!({})).await.0,
        200
    );

    let (status, note) = agent
        .post(
            &format!("/conversations/{id}/notes"),
            json!({"text": "promised a refund"}),
        )
        .await;
    assert_eq!(status, 201, "{note}");
    assert_eq!(
        (&note["direction"], &note["author"]["user_id"]),
        (&json!("note"), &json!(mine))
    );
    let (status, refused) = other
        .post(&format!("/conversations/{id}/notes"), json!({"text": "mine now"}))
        .await;
    assert_eq!((status, &refused["error"]["code"]), (409, &json!("assigned_to_other")));

    let (_, read) = s.get(&format!("/conversations/{id}?order=desc&limit=1")).await;
    assert_eq!(read["messages"][0], note);
    let sent = s.sim_requests(&account.customer).await;
    assert!(
        !Value::from(sent.clone()).to_string().contains("promised a refund"),
        "never sent: {sent:?}"
    );
    let (_, trail) = s.get(&format!("/audit?account_id={}", account.id)).await;
    let entry = trail["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["action"] == "note.written")
        .expect("a note.written entry");
    assert_eq!((&entry["actor"], &entry["target"]), (&json!(mine), &json!(id)));
    assert!(!trail.to_string().contains("promised a refund"));
}

#[tokio::test]
async fn the_list_shows_who_holds_it_and_who_waits_for_an_answer() {
    let s = stack();
    let account = s.account(1).await;
    let customer = random_number();
    assert_eq!(s.text(&account, &customer, "hello?").await.0, 200);
    assert_eq!(s.text(&account, &customer, "anyone?").await.0, 200);
    let listed = &s.conversations(&account, "open").await[0];
    let id = conversation_id_of(listed);
    let (_, read) = s.get(&format!("/conversations/{id}")).await;
    let first_at = &read["messages"][0]["created_at"];
    assert_eq!(
        (&listed["needs_reply"], &listed["waiting_since"]),
        (&json!(true), first_at)
    );
    assert_eq!(listed["last_customer_message_at"], read["messages"][1]["created_at"]);

    let member = format!("agent-{}", random_number());
    let path = format!("/accounts/{}/members/{member}", account.id);
    let body = json!({"role": "agent", "display_name": "Ada Lovelace"});
    assert_eq!(s.call("PUT", &path, Some(body), &[]).await.0, 200);
    let (status, assigned) = s
        .post(&format!("/conversations/{id}/assign"), json!({"agent_id": member}))
        .await;
    assert_eq!(
        (status, &assigned["assigned_agent_name"]),
        (200, &json!("Ada Lovelace"))
    );
    let (status, _) = s
        .post(&format!("/conversations/{id}/messages"), json!({"text": "On it"}))
        .await;
    assert_eq!(status, 202);
    let listed = s.conversations(&account, "open,active,waiting").await;
    let after = listed
        .iter()
        .find(|c| c["conversation_id"] == id.as_str())
        .expect("listed");
    assert_eq!(after["assigned_agent_name"], "Ada Lovelace");
    assert_eq!(
        (&after["needs_reply"], &after["waiting_since"]),
        (&json!(false), &Value::Null)
    );
}
