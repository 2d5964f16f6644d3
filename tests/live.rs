//! Live updates and integration events on the local stack: the table's stream, read as Lambda's
//! event source mapping reads it, through the events function to the sockets of the members of
//! an account (and no one else's) and to the event bus (moto).

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use channel_tests::{random_number, stack, Account, Stack};
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How long a test waits for an event before it fails (a bound on a hang, not a figure).
const PATIENCE: Duration = Duration::from_secs(30);

/// A member of a new account with the given role: their user id.
async fn member(s: &Stack, account: &Account, role: &str) -> String {
    let user = format!("{role}-{}", uuid::Uuid::new_v4().simple());
    let (status, body) = s
        .call(
            "PUT",
            &format!("/accounts/{}/members/{user}", account.id),
            Some(json!({ "role": role })),
            &[],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    user
}

/// A socket of `user` with `roles`, connected through the gateway's `/ws`.
async fn socket(s: &Stack, user: &str, roles: &[&str]) -> Socket {
    let token = s.mint(json!({"sub": user, "roles": roles})).await;
    let url = format!("{}/ws?token={token}", s.api.replacen("http://", "ws://", 1));
    let (ws, _) = tokio_tungstenite::connect_async(url).await.expect("the socket opens");
    ws
}

/// The next event on a socket.
async fn next_event(ws: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(PATIENCE, ws.next())
            .await
            .expect("an event within the test's patience")
            .expect("the socket stays open")
            .expect("a frame");
        if let Message::Text(text) = frame {
            return serde_json::from_str(&text).expect("an event is JSON");
        }
    }
}

/// Events until one matches `done`, all of them.
async fn events_until(ws: &mut Socket, done: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let e = next_event(ws).await;
        let last = done(&e);
        seen.push(e);
        if last {
            return seen;
        }
    }
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

#[tokio::test]
async fn an_inbound_text_reaches_a_members_socket_and_no_other_accounts() {
    let s = stack();
    let (mine, theirs) = (s.account(1).await, s.account(1).await);
    let agent = member(&s, &mine, "agent").await;
    let outsider = member(&s, &theirs, "agent").await;
    let mut ws = socket(&s, &agent, &["agent"]).await;
    let mut other = socket(&s, &outsider, &["agent"]).await;

    let customer = random_number();
    let (status, _) = s.text(&mine, &customer, "Where is my parcel?").await;
    assert_eq!(status, 200);
    let events = events_until(&mut ws, |e| e["type"] == "message.received").await;
    let opened = of_type(&events, "conversation.opened");
    // Opened first (a new conversation and its first message commit together).
    assert_eq!(opened.len(), 1, "{events:?}");
    assert_eq!(opened[0]["account_id"], mine.id.as_str());
    assert_eq!(opened[0]["data"]["customer_number"], customer.as_str());
    let received = events.last().unwrap();
    assert_eq!(received["data"]["text"], "Where is my parcel?");
    assert_eq!(received["data"]["direction"], "inbound");
    assert_eq!(received["conversation_id"], opened[0]["conversation_id"]);
    assert!(received["message_id"].is_string() && received["event_id"].is_string());

    // The other account's socket: what it gets first is its own account's, nothing of mine.
    s.text(&theirs, &random_number(), "hello").await;
    let seen = events_until(&mut other, |e| e["type"] == "message.received").await;
    assert!(seen.iter().all(|e| e["account_id"] == theirs.id.as_str()), "{seen:?}");
}

#[tokio::test]
async fn a_reply_is_sent_then_its_status_follows_the_delivery_reports() {
    let s = stack();
    let account = s.account(1).await;
    let op = format!("op-{}", uuid::Uuid::new_v4().simple());
    let mut ws = socket(&s, &op, &["operator"]).await;
    let customer = random_number();
    s.text(&account, &customer, "hi").await;
    let events = events_until(&mut ws, |e| {
        e["type"] == "message.received" && e["account_id"] == account.id.as_str()
    })
    .await;
    let conversation = events.last().unwrap()["conversation_id"].as_str().unwrap().to_owned();
    let (status, reply) = s
        .call(
            "POST",
            &format!("/conversations/{conversation}/messages"),
            Some(json!({"text": "On its way"})),
            &[("idempotency-key", &uuid::Uuid::new_v4().to_string())],
        )
        .await;
    assert_eq!(status, 202, "{reply}");
    let message = reply["message_id"].as_str().unwrap().to_owned();
    let mine = |e: &Value| e["message_id"] == message.as_str();
    let events = events_until(&mut ws, |e| mine(e) && e["data"]["status"] == "delivered").await;
    let kinds: Vec<&str> = events
        .iter()
        .filter(|e| mine(e))
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"message.sent"), "{kinds:?}");
    assert!(kinds[1..].iter().all(|k| *k == "message.status"), "{kinds:?}");
    assert!(
        kinds.len() >= 3,
        "queued (TeleSign's answer), then the reports: {kinds:?}"
    );
}

/// `n` customers each text `per` messages one after the other, all customers at once.
async fn burst(s: &Stack, account: &Account, n: usize, per: usize) -> Vec<String> {
    let customers: Vec<String> = (0..n).map(|_| random_number()).collect();
    let sends = customers.iter().enumerate().map(|(c, customer)| async move {
        for i in 0..per {
            let (status, _) = s.text(account, customer, &format!("c{c} m{i:03}")).await;
            assert_eq!(status, 200);
        }
    });
    futures_util::future::join_all(sends).await;
    customers
}

/// Reads message.received events of `account` until `n` distinct messages came; their texts
/// per conversation in the order of first arrival.
async fn received(ws: &mut Socket, account: &Account, n: usize) -> BTreeMap<String, Vec<String>> {
    let mut seen = HashSet::new();
    let mut texts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    while seen.len() < n {
        let e = next_event(ws).await;
        if e["type"] != "message.received" || e["account_id"] != account.id.as_str() {
            continue;
        }
        if seen.insert(e["message_id"].as_str().unwrap().to_owned()) {
            let conversation = e["conversation_id"].as_str().unwrap().to_owned();
            texts
                .entry(conversation)
                .or_default()
                .push(e["data"]["text"].as_str().unwrap().to_owned());
        }
    }
    texts
}

fn in_order(texts: &BTreeMap<String, Vec<String>>) -> bool {
    texts.values().all(|t| t.windows(2).all(|w| w[0] < w[1]))
}

#[tokio::test]
async fn a_burst_of_100_texts_makes_100_received_events_in_order_per_conversation() {
    let s = stack();
    let account = s.account(1).await;
    let agent = member(&s, &account, "agent").await;
    let mut ws = socket(&s, &agent, &["agent"]).await;
    burst(&s, &account, 10, 10).await;
    let texts = received(&mut ws, &account, 100).await;
    assert_eq!(texts.len(), 10);
    assert!(texts.values().all(|t| t.len() == 10), "{texts:?}");
    assert!(in_order(&texts), "{texts:?}");
}

#[tokio::test]
async fn killing_the_events_function_mid_stream_loses_no_event() {
    let s = stack();
    let account = s.account(1).await;
    let supervisor = member(&s, &account, "supervisor").await;
    let mut ws = socket(&s, &supervisor, &["supervisor"]).await;
    let (status, _) = s
        .call("POST", "/_local/faults/events", Some(json!({"crashes": 3})), &[])
        .await;
    assert_eq!(status, 200);
    burst(&s, &account, 3, 10).await;
    let texts = received(&mut ws, &account, 30).await;
    assert_eq!(texts.values().map(Vec::len).sum::<usize>(), 30);
    assert!(in_order(&texts), "{texts:?}");
}

/// A queue on moto that a rule of the bus feeds with every event of the channel.
async fn bus_queue() -> (aws_sdk_sqs::Client, String) {
    let config = shared::aws::load_config().await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let bus = aws_sdk_eventbridge::Client::new(&config);
    let name = format!("events-{}", uuid::Uuid::new_v4().simple());
    let url = sqs
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .expect("queue")
        .queue_url
        .unwrap();
    let arn = format!("arn:aws:sqs:{}:123456789012:{name}", config.region().unwrap());
    let bus_name = std::env::var("EVENT_BUS_NAME").expect("EVENT_BUS_NAME (make test sets it)");
    bus.put_rule()
        .name(&name)
        .event_bus_name(&bus_name)
        .event_pattern(json!({"source": [shared::bus::SOURCE]}).to_string())
        .send()
        .await
        .expect("rule");
    let target = aws_sdk_eventbridge::types::Target::builder()
        .id("queue")
        .arn(arn)
        .build()
        .unwrap();
    bus.put_targets()
        .rule(&name)
        .event_bus_name(&bus_name)
        .targets(target)
        .send()
        .await
        .expect("target");
    (sqs, url)
}

#[tokio::test]
async fn the_event_bus_receives_the_same_events() {
    let s = stack();
    let (sqs, queue) = bus_queue().await;
    let account = s.account(1).await;
    let op = format!("op-{}", uuid::Uuid::new_v4().simple());
    let mut ws = socket(&s, &op, &["operator"]).await;
    s.text(&account, &random_number(), "to the bus").await;
    let on_socket = events_until(&mut ws, |e| {
        e["type"] == "message.received" && e["account_id"] == account.id.as_str()
    })
    .await;
    let wanted: HashSet<String> = on_socket
        .iter()
        .filter(|e| e["account_id"] == account.id.as_str())
        .map(|e| e["event_id"].as_str().unwrap().to_owned())
        .collect();
    let started = Instant::now();
    let mut on_bus = HashSet::new();
    while !wanted.is_subset(&on_bus) {
        assert!(started.elapsed() < PATIENCE, "the bus got {on_bus:?} of {wanted:?}");
        let got = sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive");
        for m in got.messages() {
            let envelope: Value = serde_json::from_str(m.body().unwrap_or("{}")).unwrap();
            assert_eq!(envelope["source"], shared::bus::SOURCE);
            assert_eq!(envelope["detail-type"], envelope["detail"]["type"]);
            on_bus.insert(envelope["detail"]["event_id"].as_str().unwrap_or_default().to_owned());
        }
    }
}

#[tokio::test]
async fn a_socket_without_a_valid_token_is_refused() {
    let s = stack();
    let url = format!("{}/ws?token=nonsense", s.api.replacen("http://", "ws://", 1));
    let refused = tokio_tungstenite::connect_async(url).await.expect_err("refused");
    let tokio_tungstenite::tungstenite::Error::Http(answer) = refused else {
        panic!("not an HTTP refusal: {refused:?}")
    };
    assert_eq!(answer.status().as_u16(), 401);
    let expired = s
        .mint(json!({"sub": "u-1", "roles": ["agent"], "ttl_seconds": -60}))
        .await;
    let url = format!("{}/ws?token={expired}", s.api.replacen("http://", "ws://", 1));
    assert!(tokio_tungstenite::connect_async(url).await.is_err());
}

/// FIGURES: from the callback answered to the event on the socket, on the local stack.
#[tokio::test]
async fn figures_event_latency_from_callback_answered_to_socket_message() {
    let s = stack();
    let account = s.account(1).await;
    let agent = member(&s, &account, "agent").await;
    let mut ws = socket(&s, &agent, &["agent"]).await;
    let customer = random_number();
    let mut latencies = Vec::new();
    for i in 0..40 {
        let text = format!("latency {i}");
        s.text(&account, &customer, &text).await;
        let answered = Instant::now();
        events_until(&mut ws, |e| {
            e["type"] == "message.received" && e["data"]["text"] == text.as_str()
        })
        .await;
        latencies.push(answered.elapsed().as_secs_f64() * 1000.0);
    }
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "FIGURES event latency (callback answered → socket message), {} texts: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        latencies.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
}

#[tokio::test]
async fn an_item_with_an_empty_map_does_not_stop_the_stream() {
    // DynamoDB Local writes an empty map as `{}` in its stream (an audit entry's empty detail);
    // the stack's mapping reads it as DynamoDB writes it, and the events behind it arrive.
    let s = stack();
    let account = s.account(1).await;
    let op = format!("op-{}", uuid::Uuid::new_v4().simple());
    let mut ws = socket(&s, &op, &["operator"]).await;
    let dynamo = channel_tests::dynamo().await;
    let table = std::env::var("TABLE_NAME").expect("TABLE_NAME");
    use aws_sdk_dynamodb::types::AttributeValue as A;
    dynamo
        .put_item()
        .table_name(table)
        .item("pk", A::S(format!("TEST#{}", uuid::Uuid::new_v4())))
        .item("sk", A::S("EMPTY".into()))
        .item("detail", A::M(Default::default()))
        .send()
        .await
        .expect("put");
    s.text(&account, &random_number(), "after the empty map").await;
    events_until(&mut ws, |e| e["data"]["text"] == "after the empty map").await;
}

#[tokio::test]
async fn the_deployed_socket_authorizer_verifies_against_the_issuers_published_keys() {
    // As deployed: the keys read from the issuer's JWKS URL (here the gateway's own), not given.
    let s = stack();
    std::env::set_var("JWT_ISSUER", format!("{}/_local", s.api));
    std::env::set_var("JWT_AUDIENCE", "another-client, sms-channel-local");
    std::env::set_var("JWKS_URL", format!("{}/_local/jwks.json", s.api));
    let authorizer = sockets::authorizer::Authorizer::from_env().expect("authorizer");
    let token = s
        .mint(json!({"sub": "u-socket", "roles": ["agent"], "name": "Ada"}))
        .await;
    let request = serde_json::from_value(json!({
        "type": "REQUEST", "methodArn": "arn:aws:execute-api:eu-west-1:1:api/live/$connect",
        "queryStringParameters": {"token": token}, "requestContext": {}
    }))
    .expect("request");
    let allowed = authorizer.authorize(request).await.expect("allowed");
    assert_eq!(allowed.principal_id.as_deref(), Some("u-socket"));
    assert_eq!(allowed.context["cognito:groups"], "[agent]");
    let policy = serde_json::to_value(&allowed.policy_document).expect("policy");
    assert_eq!(policy["Statement"][0]["Effect"], "Allow");
    assert_eq!(
        policy["Statement"][0]["Resource"][0],
        "arn:aws:execute-api:eu-west-1:1:api/live/$connect"
    );
    for refused in [
        json!({"sub": "u-socket", "roles": ["agent"], "audience": "someone-else"}),
        json!({"sub": "u-socket", "roles": ["agent"], "issuer": "https://elsewhere.example"}),
        json!({"sub": "u-socket", "roles": ["agent"], "ttl_seconds": -5}),
    ] {
        let token = s.mint(refused.clone()).await;
        assert!(authorizer.verify(&token).await.is_err(), "{refused}");
    }
    assert!(authorizer.verify("not-a-token").await.is_err());
}
