//! Roles over the local stack, with tokens minted by its gateway: every protected route for
//! every kind of caller (no token, expired, another issuer, operator, supervisor of the account,
//! supervisor of another account, agent member, agent of another account); assignment and
//! transfer; a removed member's conversations; the audit trail of each change.

use channel_tests::{conversation_id_of, random_number, stack, Account, Stack};
use serde_json::{json, Value};

/// Two accounts, their teams, and callers of every kind.
struct World {
    s: Stack,
    a: Account,
    b: Account,
    callers: Vec<(&'static str, Stack)>,
    suffix: String,
}

async fn world() -> World {
    let s = stack();
    let (a, b) = (s.account(1).await, s.account(1).await);
    // User ids of this test only (the stack is shared by every test).
    let suffix = a.id[a.id.len() - 8..].to_owned();
    let user = |name: &str| format!("{name}-{suffix}");
    let team = [
        (&a, "sup-a", "supervisor"),
        (&a, "agent-a", "agent"),
        (&a, "agent-a2", "agent"),
        (&b, "sup-b", "supervisor"),
        (&b, "agent-b", "agent"),
    ];
    for (account, name, role) in team {
        let (status, body) = s
            .call(
                "PUT",
                &format!("/accounts/{}/members/{}", account.id, user(name)),
                Some(json!({"role": role})),
                &[],
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let expired = s
        .mint(json!({"sub": "op-x", "roles": ["operator"], "ttl_seconds": -60}))
        .await;
    let foreign = s
        .mint(json!({"sub": "op-x", "roles": ["operator"], "issuer": "https://elsewhere.example"}))
        .await;
    let callers = vec![
        ("no token", s.with_token(None)),
        ("expired", s.with_token(Some(expired))),
        ("wrong issuer", s.with_token(Some(foreign))),
        ("operator", s.clone()),
        ("supervisor", s.as_user(&user("sup-a"), &["supervisor"]).await),
        ("other supervisor", s.as_user(&user("sup-b"), &["supervisor"]).await),
        ("agent", s.as_user(&user("agent-a"), &["agent"]).await),
        ("other agent", s.as_user(&user("agent-b"), &["agent"]).await),
    ];
    World {
        s,
        a,
        b,
        callers,
        suffix,
    }
}

impl World {
    /// A user id of this test.
    fn user(&self, name: &str) -> String {
        format!("{name}-{}", self.suffix)
    }

    fn caller(&self, who: &str) -> &Stack {
        &self.callers.iter().find(|(w, _)| *w == who).expect("caller").1
    }

    /// A conversation of account A: a customer's text, optionally ended.
    async fn conversation(&self, ended: bool) -> String {
        let person = random_number();
        assert_eq!(self.s.text(&self.a, &person, "hello").await.0, 200);
        let listed = self.s.conversations(&self.a, "open").await;
        let c = listed
            .iter()
            .find(|c| c["customer_number"] == person.as_str())
            .map(conversation_id_of)
            .expect("the conversation");
        if ended {
            let (status, body) = self.s.post(&format!("/conversations/{c}/end"), json!({})).await;
            assert_eq!(status, 200, "{body}");
        }
        c
    }
}

/// A route and the status each of the five signed-in callers gets (operator, supervisor of the
/// account, supervisor of another, agent member, agent of another); without a valid token 401.
struct Row {
    method: &'static str,
    path: String,
    body: Option<Value>,
    expect: [u16; 5],
}

fn row(method: &'static str, path: String, body: Option<Value>, expect: [u16; 5]) -> Row {
    Row {
        method,
        path,
        body,
        expect,
    }
}

fn rows(w: &World, live: &str, ended: &str) -> Vec<Row> {
    let a = &w.a.id;
    let creds = json!({"customer_id": w.a.customer.id, "api_key": w.a.customer.key});
    let mut bad_account = creds.clone();
    bad_account["name"] = json!("x");
    bad_account["numbers"] = json!([{"number": "call-me", "type": "long_code"}]);
    let outreach =
        json!({"account_id": a, "from": w.a.numbers[0], "to": random_number(), "text": "Your order shipped"});
    vec![
        row("GET", "/me".into(), None, [200, 200, 200, 200, 200]),
        row(
            "POST",
            "/accounts/validate".into(),
            Some(creds),
            [200, 403, 403, 403, 403],
        ),
        row("POST", "/accounts".into(), Some(bad_account), [400, 403, 403, 403, 403]),
        row("GET", "/accounts".into(), None, [200, 200, 200, 200, 200]),
        row("GET", format!("/accounts/{a}"), None, [200, 200, 404, 200, 404]),
        row(
            "POST",
            format!("/accounts/{a}/validate"),
            Some(json!({})),
            [200, 403, 403, 403, 403],
        ),
        row(
            "PUT",
            format!("/accounts/{a}/api-key"),
            Some(json!({"api_key": "not base64!"})),
            [400, 403, 403, 403, 403],
        ),
        row(
            "POST",
            format!("/accounts/{a}/numbers"),
            Some(json!({"number": "call-me", "type": "long_code"})),
            [400, 403, 403, 403, 403],
        ),
        row(
            "DELETE",
            format!("/accounts/{a}/numbers/{}", random_number()),
            None,
            [404, 403, 403, 403, 403],
        ),
        row("GET", format!("/accounts/{a}/members"), None, [200, 200, 404, 200, 404]),
        row(
            "PUT",
            format!("/accounts/{a}/members/someone"),
            Some(json!({"role": "owner"})),
            [400, 403, 403, 403, 403],
        ),
        row(
            "DELETE",
            format!("/accounts/{a}/members/nobody-here"),
            None,
            [204, 403, 403, 403, 403],
        ),
        row("GET", format!("/audit?account_id={a}"), None, [200, 200, 404, 403, 403]),
        row("GET", "/audit".into(), None, [400, 400, 400, 403, 403]),
        row(
            "GET",
            format!("/conversations?account_id={a}"),
            None,
            [200, 200, 404, 200, 404],
        ),
        row("GET", format!("/conversations/{live}"), None, [200, 200, 404, 200, 404]),
        // Moves and sends on an ended conversation: allowed callers reach the state machine (409).
        row(
            "POST",
            format!("/conversations/{ended}/accept"),
            Some(json!({})),
            [409, 409, 404, 409, 404],
        ),
        row(
            "POST",
            format!("/conversations/{ended}/close"),
            Some(json!({})),
            [409, 409, 404, 409, 404],
        ),
        row(
            "POST",
            format!("/conversations/{ended}/end"),
            Some(json!({})),
            [409, 409, 404, 409, 404],
        ),
        row(
            "POST",
            format!("/conversations/{ended}/messages"),
            Some(json!({"text": "hi"})),
            [409, 409, 404, 409, 404],
        ),
        row(
            "POST",
            format!("/conversations/{ended}/assign"),
            Some(json!({"agent_id": null})),
            [409, 409, 404, 403, 404],
        ),
        row("POST", "/messages".into(), Some(outreach), [202, 202, 404, 403, 403]),
    ]
}

#[tokio::test]
async fn every_route_answers_each_caller_as_the_contract_says() {
    let w = world().await;
    let live = w.conversation(false).await;
    let ended = w.conversation(true).await;
    let mut wrong = Vec::new();
    for r in rows(&w, &live, &ended) {
        for (i, (who, caller)) in w.callers.iter().enumerate() {
            let expect = if i < 3 { 401 } else { r.expect[i - 3] };
            let (got, body) = caller.call(r.method, &r.path, r.body.clone(), &[]).await;
            if got != expect {
                wrong.push(format!(
                    "{} {} as {who}: {got} (expected {expect}) {body}",
                    r.method, r.path
                ));
            } else if got == 401 && body != json!({"message": "Unauthorized"}) {
                wrong.push(format!(
                    "{} {} as {who}: 401 is not API Gateway's answer: {body}",
                    r.method, r.path
                ));
            } else if got == 403 && body["error"]["code"] != "forbidden" {
                wrong.push(format!(
                    "{} {} as {who}: 403 without the forbidden code: {body}",
                    r.method, r.path
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{} wrong answers:\n{}", wrong.len(), wrong.join("\n"));
}

#[tokio::test]
async fn callers_see_only_their_accounts() {
    let w = world().await;
    let ids = |v: &Value, key: &str| -> Vec<String> {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["account_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, listed) = w.caller("agent").get("/accounts").await;
    assert_eq!(ids(&listed, "accounts"), vec![w.a.id.clone()]);
    let (_, me) = w.caller("other supervisor").get("/me").await;
    assert_eq!(ids(&me, "accounts"), vec![w.b.id.clone()]);
    assert_eq!(me["accounts"][0]["role"], "supervisor");
    assert_eq!(me["user_id"], w.user("sup-b").as_str());
    // An operator sees every account, page after page (the stack holds every test's accounts).
    let mut all = Vec::new();
    let mut path = "/accounts".to_owned();
    loop {
        let (_, page) = w.s.get(&path).await;
        all.extend(ids(&page, "accounts"));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/accounts?cursor={cursor}"),
            None => break,
        }
    }
    assert!(all.contains(&w.a.id) && all.contains(&w.b.id));
}

#[tokio::test]
async fn an_agent_cannot_answer_a_conversation_another_agent_holds_until_it_is_transferred() {
    let w = world().await;
    let c = w.conversation(false).await;
    let agent = w.caller("agent");
    let (holder, next) = (w.user("agent-a"), w.user("agent-a2"));
    let other = w.s.as_user(&next, &["agent"]).await;
    let (status, body) = agent.post(&format!("/conversations/{c}/accept"), json!({})).await;
    assert_eq!(
        (status, body["assigned_agent"].as_str()),
        (200, Some(holder.as_str())),
        "{body}"
    );
    let sent_before = w.s.sim_messages(&w.a.customer).await.len();

    let (status, body) = other
        .post(&format!("/conversations/{c}/messages"), json!({"text": "I'll take it"}))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("assigned_to_other")),
        "{body}"
    );
    assert_eq!(body["error"]["holder"], holder.as_str());
    assert_eq!(
        w.s.sim_messages(&w.a.customer).await.len(),
        sent_before,
        "nothing was sent"
    );
    let (status, _) = other.post(&format!("/conversations/{c}/end"), json!({})).await;
    assert_eq!(status, 409);

    // The holder transfers it; now the other agent answers, the holder cannot.
    let (status, body) = agent
        .post(&format!("/conversations/{c}/assign"), json!({"agent_id": next}))
        .await;
    assert_eq!(
        (status, body["assigned_agent"].as_str()),
        (200, Some(next.as_str())),
        "{body}"
    );
    let (status, body) = other
        .post(&format!("/conversations/{c}/messages"), json!({"text": "I'll take it"}))
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["agent_id"], next.as_str());
    let (status, _) = agent
        .post(&format!("/conversations/{c}/messages"), json!({"text": "me again"}))
        .await;
    assert_eq!(status, 409);
    // A supervisor assigns any conversation of the account.
    let supervisor = w.caller("supervisor");
    let (status, body) = supervisor
        .post(&format!("/conversations/{c}/assign"), json!({"agent_id": holder}))
        .await;
    assert_eq!(
        (status, body["assigned_agent"].as_str()),
        (200, Some(holder.as_str())),
        "{body}"
    );
}

#[tokio::test]
async fn removing_a_member_unassigns_their_conversations_and_takes_their_access() {
    let w = world().await;
    let (first, second) = (w.conversation(false).await, w.conversation(false).await);
    let agent = w.caller("agent");
    for c in [&first, &second] {
        let (status, _) = agent.post(&format!("/conversations/{c}/accept"), json!({})).await;
        assert_eq!(status, 200);
    }
    let (status, _) =
        w.s.call(
            "DELETE",
            &format!("/accounts/{}/members/{}", w.a.id, w.user("agent-a")),
            None,
            &[],
        )
        .await;
    assert_eq!(status, 204);
    for c in [&first, &second] {
        assert_eq!(w.s.conversation(c).await["assigned_agent"], Value::Null);
    }
    let (status, _) = agent.get(&format!("/conversations/{first}")).await;
    assert_eq!(status, 404, "a removed member no longer sees the account");
    let (status, _) = agent.get(&format!("/conversations?account_id={}", w.a.id)).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn every_change_leaves_exactly_one_audit_entry_naming_its_actor_and_none_holds_a_key_or_a_text() {
    let w = world().await;
    let c = w.conversation(false).await;
    let agent = w.caller("agent");
    let text = format!("order {} is on its way", random_number());
    assert_eq!(
        agent.post(&format!("/conversations/{c}/accept"), json!({})).await.0,
        200
    );
    assert_eq!(
        agent
            .post(&format!("/conversations/{c}/messages"), json!({"text": text}))
            .await
            .0,
        202
    );
    assert_eq!(agent.post(&format!("/conversations/{c}/close"), json!({})).await.0, 200);
    let supervisor = w.caller("supervisor");
    assert_eq!(
        supervisor
            .post(
                &format!("/conversations/{c}/assign"),
                json!({"agent_id": w.user("agent-a2")})
            )
            .await
            .0,
        200
    );
    let customer = w.s.conversation(&c).await["customer_number"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(w.s.text(&w.a, &customer, "STOP").await.0, 200);
    assert_eq!(
        supervisor.post(&format!("/conversations/{c}/end"), json!({})).await.0,
        200
    );

    // The operator's changes of the account.
    let a = &w.a.id;
    let extra = random_number();
    let number = json!({"number": extra, "type": "long_code"});
    assert_eq!(w.s.post(&format!("/accounts/{a}/numbers"), number).await.0, 201);
    let removed =
        w.s.call("DELETE", &format!("/accounts/{a}/numbers/{extra}"), None, &[])
            .await;
    assert_eq!(removed.0, 200);
    let new_key = channel_tests::random_key();
    let customer_again = json!({"customer_id": w.a.customer.id, "api_key": new_key});
    assert_eq!(w.s.sim("POST", "customers", Some(customer_again)).await.0, 200);
    let rotated =
        w.s.call(
            "PUT",
            &format!("/accounts/{a}/api-key"),
            Some(json!({"api_key": new_key})),
            &[],
        )
        .await;
    assert_eq!(rotated.0, 200, "{}", rotated.1);
    let member = format!("/accounts/{a}/members/{}", w.user("agent-a2"));
    assert_eq!(w.s.call("DELETE", &member, None, &[]).await.0, 204);

    let (status, trail) = supervisor.get(&format!("/audit?account_id={}&limit=200", w.a.id)).await;
    assert_eq!(status, 200, "{trail}");
    let entries = trail["entries"].as_array().unwrap();
    let of_conversation: Vec<(String, String)> = entries
        .iter()
        .filter(|e| e["target"] == c.as_str())
        .map(|e| {
            (
                e["action"].as_str().unwrap().into(),
                e["actor"].as_str().unwrap().into(),
            )
        })
        .rev()
        .collect();
    let (agent_a, sup_a) = (w.user("agent-a"), w.user("sup-a"));
    let expected: Vec<(String, String)> = [
        ("conversation.accepted", agent_a.as_str()),
        ("message.sent", agent_a.as_str()),
        ("conversation.closed", agent_a.as_str()),
        ("conversation.assigned", sup_a.as_str()),
        ("consent.changed", "customer"),
        ("conversation.ended", sup_a.as_str()),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(of_conversation, expected);
    let actions: Vec<&str> = entries.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "account.created").count(), 1);
    assert_eq!(actions.iter().filter(|a| **a == "member.changed").count(), 3);
    for action in ["number.added", "number.removed", "key.rotated", "member.removed"] {
        let done: Vec<&Value> = entries.iter().filter(|e| e["action"] == action).collect();
        assert_eq!(done.len(), 1, "{action}: {done:?}");
        assert_eq!(done[0]["actor"], "test-operator", "{action}");
    }
    let dump = trail.to_string();
    for secret in [
        text.as_str(),
        "hello",
        w.a.customer.key.as_str(),
        new_key.as_str(),
        customer.as_str(),
    ] {
        assert!(!dump.contains(secret), "the trail holds {secret:?}");
    }
}
