//! The desk over the real local stack: transcripts both ways, notes, lists by holder, status and
//! customer in full pages, a customer's history, the counts, canned responses.

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

/// Every page of a list, following `next_cursor`: the pages' sizes and the ids, in order.
async fn pages(s: &channel_tests::Stack, first: &str) -> (Vec<usize>, Vec<String>) {
    let (mut sizes, mut ids) = (Vec::new(), Vec::new());
    let mut path = first.to_owned();
    loop {
        let (status, page) = s.get(&path).await;
        assert_eq!(status, 200, "{path}: {page}");
        let items = page["conversations"].as_array().expect("conversations").clone();
        sizes.push(items.len());
        ids.extend(items.iter().map(conversation_id_of));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("{first}&cursor={cursor}"),
            None => return (sizes, ids),
        }
    }
}

#[tokio::test]
async fn filtered_lists_page_full_pages_over_their_own_partitions() {
    let s = stack();
    let account = s.account(1).await;
    // Nine customers write; the operator takes four; two of those step away (waiting).
    let mut ids = Vec::new();
    for _ in 0..9 {
        let customer = random_number();
        assert_eq!(s.text(&account, &customer, "hello").await.0, 200);
        let listed = s.conversations(&account, "open").await;
        let new = listed
            .iter()
            .map(conversation_id_of)
            .find(|id| !ids.contains(id))
            .expect("a new conversation");
        ids.push(new);
    }
    for id in &ids[..4] {
        assert_eq!(s.post(&format!("/conversations/{id}/accept"), json!({})).await.0, 200);
    }
    for id in &ids[..2] {
        assert_eq!(s.post(&format!("/conversations/{id}/close"), json!({})).await.0, 200);
    }
    let a = &account.id;
    let newest_first = |of: &[String]| of.iter().rev().cloned().collect::<Vec<_>>();

    let (sizes, mine) = pages(&s, &format!("/conversations?account_id={a}&assigned=me&limit=1")).await;
    assert_eq!(sizes, [1, 1, 1, 1], "four pages of one, none empty");
    let mut held = mine.clone();
    held.sort();
    let mut taken = ids[..4].to_vec();
    taken.sort();
    assert_eq!(held, taken);

    let (sizes, nobodys) = pages(&s, &format!("/conversations?account_id={a}&assigned=none&limit=2")).await;
    assert_eq!(sizes, [2, 2, 1], "five unassigned in full pages");
    assert_eq!(nobodys, newest_first(&ids[4..]));

    let (sizes, waiting_or_open) = pages(
        &s,
        &format!("/conversations?account_id={a}&status=open,waiting&limit=3"),
    )
    .await;
    assert_eq!(
        sizes,
        [3, 3, 1],
        "seven open or waiting, across two partitions, in full pages"
    );
    assert!(!waiting_or_open.contains(&ids[2]) && !waiting_or_open.contains(&ids[3]));
    let mut unique = waiting_or_open.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 7, "no conversation twice");

    let (sizes, active) = pages(&s, &format!("/conversations?account_id={a}&status=active&limit=2")).await;
    assert_eq!((sizes, active), (vec![2], newest_first(&ids[2..4])));

    let (status, refused) = s
        .get(&format!("/conversations?account_id={a}&assigned=me&status=waiting"))
        .await;
    assert_eq!((status, &refused["error"]["code"]), (400, &json!("invalid_parameter")));
    let (status, refused) = s.get(&format!("/conversations?account_id={a}&assigned=%20")).await;
    assert_eq!((status, &refused["error"]["code"]), (400, &json!("invalid_parameter")));

    let (_, counts) = s.get(&format!("/accounts/{a}/conversations/counts")).await;
    assert_eq!(counts, json!({"all": 9, "mine": 4, "unassigned": 5}));
}

#[tokio::test]
async fn a_customers_history_holds_their_closed_and_live_conversations_newest_first() {
    let s = stack();
    let account = s.account(1).await;
    let customer = random_number();
    let other = random_number();
    assert_eq!(s.text(&account, &customer, "first time").await.0, 200);
    assert_eq!(s.text(&account, &other, "someone else").await.0, 200);
    let earlier = s
        .conversations(&account, "open")
        .await
        .iter()
        .find(|c| c["customer_number"] == customer.as_str())
        .map(conversation_id_of)
        .expect("the first conversation");
    assert_eq!(s.post(&format!("/conversations/{earlier}/end"), json!({})).await.0, 200);
    assert_eq!(s.text(&account, &customer, "back again").await.0, 200);

    let a = &account.id;
    let (status, history) = s
        .get(&format!("/accounts/{a}/customers/%2B{customer}/conversations"))
        .await;
    assert_eq!(status, 200, "{history}");
    let listed = history["conversations"].as_array().expect("conversations");
    let statuses: Vec<&str> = listed.iter().map(|c| c["status"].as_str().unwrap_or("")).collect();
    assert_eq!(statuses, ["open", "closed"], "the new one first, then the ended one");
    assert_eq!(conversation_id_of(&listed[1]), earlier);
    assert!(listed.iter().all(|c| c["customer_number"] == customer.as_str()));
    let later = conversation_id_of(&listed[0]);

    let (sizes, paged) = pages(&s, &format!("/accounts/{a}/customers/{customer}/conversations?limit=1")).await;
    assert_eq!((sizes, paged), (vec![1, 1], vec![later.clone(), earlier.clone()]));

    let (_, closed) = s
        .get(&format!(
            "/conversations?account_id={a}&customer={customer}&status=closed"
        ))
        .await;
    assert_eq!(
        closed["conversations"]
            .as_array()
            .map(|c| c.iter().map(conversation_id_of).collect::<Vec<_>>()),
        Some(vec![earlier])
    );
    let (_, live) = s
        .get(&format!(
            "/conversations?account_id={a}&customer={customer}&assigned=none"
        ))
        .await;
    assert_eq!(
        live["conversations"]
            .as_array()
            .map(|c| c.iter().map(conversation_id_of).collect::<Vec<_>>()),
        Some(vec![later])
    );
    let (_, theirs) = s
        .get(&format!(
            "/conversations?account_id={a}&customer={customer}&assigned=me"
        ))
        .await;
    assert_eq!(theirs["conversations"], json!([]));

    let (status, bad) = s.get(&format!("/accounts/{a}/customers/12/conversations")).await;
    assert_eq!((status, &bad["error"]["code"]), (400, &json!("invalid_phone_number")));
    let outsider = s.as_user(&format!("outsider-{}", random_number()), &["agent"]).await;
    let (status, _) = outsider
        .get(&format!("/accounts/{a}/customers/{customer}/conversations"))
        .await;
    assert_eq!(status, 404, "another account's customers are not there");
}

#[tokio::test]
async fn canned_responses_are_the_supervisors_to_write_and_every_members_to_read() {
    let s = stack();
    let account = s.account(1).await;
    let suffix = random_number();
    let (lead, agent_id) = (format!("lead-{suffix}"), format!("agent-{suffix}"));
    for (user, role) in [(&lead, "supervisor"), (&agent_id, "agent")] {
        let path = format!("/accounts/{}/members/{user}", account.id);
        assert_eq!(s.call("PUT", &path, Some(json!({"role": role})), &[]).await.0, 200);
    }
    let supervisor = s.as_user(&lead, &["supervisor"]).await;
    let agent = s.as_user(&agent_id, &["agent"]).await;
    let canned = format!("/accounts/{}/canned-responses", account.id);

    let (status, refund) = supervisor
        .post(
            &canned,
            json!({"title": "Refund", "text": "Your refund is on its way."}),
        )
        .await;
    assert_eq!(status, 201, "{refund}");
    let (status, _) = supervisor
        .post(
            &canned,
            json!({"title": "address", "text": "We ship to the address on the order."}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, refused) = agent.post(&canned, json!({"title": "Mine", "text": "x"})).await;
    assert_eq!((status, &refused["error"]["code"]), (403, &json!("forbidden")));
    let (status, invalid) = supervisor.post(&canned, json!({"title": "T", "text": ""})).await;
    assert_eq!(
        (status, &invalid["error"]["code"]),
        (400, &json!("invalid_canned_response"))
    );
    assert!(invalid["error"]["message"].as_str().unwrap_or("").contains("text"));

    let (status, read) = agent.get(&canned).await;
    assert_eq!(status, 200);
    let titles: Vec<&str> = read["canned_responses"]
        .as_array()
        .expect("canned responses")
        .iter()
        .map(|c| c["title"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(titles, ["address", "Refund"], "by title, case aside");

    let one = format!("{canned}/{}", refund["canned_response_id"].as_str().expect("id"));
    let (status, changed) = supervisor
        .call(
            "PUT",
            &one,
            Some(json!({"title": "Refund", "text": "Refunded today."})),
            &[],
        )
        .await;
    assert_eq!((status, &changed["text"]), (200, &json!("Refunded today.")));
    assert_eq!(changed["created_at"], refund["created_at"]);
    assert_eq!(agent.call("DELETE", &one, None, &[]).await.0, 403);
    assert_eq!(supervisor.call("DELETE", &one, None, &[]).await.0, 204);
    let (status, gone) = supervisor.call("DELETE", &one, None, &[]).await;
    assert_eq!(
        (status, &gone["error"]["code"]),
        (404, &json!("canned_response_not_found"))
    );

    let (_, trail) = s.get(&format!("/audit?account_id={}", account.id)).await;
    let actions: Vec<&str> = trail["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["action"].as_str())
        .filter(|a| a.starts_with("canned_response"))
        .collect();
    assert_eq!(
        actions,
        [
            "canned_response.deleted",
            "canned_response.changed",
            "canned_response.changed",
            "canned_response.changed"
        ]
    );
    assert!(!trail.to_string().contains("Refunded today."), "never the text");
}

#[tokio::test]
async fn each_list_reads_one_query_per_partition_and_no_more() {
    let s = stack();
    let (g, gateway) = channel_tests::own_gateway().await;
    let account = s.account_on(&g, "Figures").await;
    let id = account.id.clone();
    let person = random_number();
    for _ in 0..3 {
        assert_eq!(s.text(&account, &random_number(), "hello").await.0, 200);
    }
    assert_eq!(s.text(&account, &person, "hi").await.0, 200);
    let meter = gateway.meter("conversations").expect("meter");
    let cost = |path: String| {
        let g = &g;
        let meter = &meter;
        async move {
            meter.reset();
            let (status, answer) = g.get(&path).await;
            assert_eq!(status, 200, "{path}: {answer}");
            let c = meter.snapshot();
            println!("FIGURES {path}: {:?}", c.requests);
            c.requests
        }
    };
    let of =
        |counts: &std::collections::BTreeMap<String, u64>, op: &str| counts.get(&format!("dynamodb:{op}")).copied();
    let all = cost(format!("/conversations?account_id={id}&limit=2")).await;
    let shards = u64::from(shared::table::SHARDS);
    assert_eq!(
        of(&all, "Query"),
        Some(3 * shards),
        "one per live status and shard: {all:?}"
    );
    let some = cost(format!("/conversations?account_id={id}&status=open,waiting&limit=2")).await;
    assert_eq!(of(&some, "Query"), Some(2 * shards), "{some:?}");
    let held = cost(format!("/conversations?account_id={id}&assigned=none&limit=2")).await;
    assert_eq!(of(&held, "Query"), Some(shards), "one per shard: {held:?}");
    let history = cost(format!("/accounts/{id}/customers/{person}/conversations")).await;
    assert_eq!(
        (
            of(&history, "GetItem"),
            of(&history, "BatchGetItem"),
            of(&history, "Query")
        ),
        (Some(1), Some(2), Some(1)),
        "the account (its numbers; also whether it exists, for an operator), its pointers, the \
         live ones, the closed ones: {history:?}"
    );
    let counts = cost(format!("/accounts/{id}/conversations/counts")).await;
    assert_eq!(
        (of(&counts, "Query"), of(&counts, "GetItem")),
        (Some(5 * shards), Some(1)),
        "five counts of eight shards each, and (an operator's read) whether the account exists: {counts:?}"
    );
}
