//! `template.yaml` and the code in step: the same routes as the local router (and only the
//! TeleSign callback open), the same table, and for each function exactly the IAM actions that
//! its code uses in a scenario that walks every route and every failure path that writes.

use std::collections::{BTreeMap, BTreeSet};

use channel_tests::{dynamodb_fault, own_gateway, random_key, random_number, stack, Account, Stack};
use local_gateway::routes::ROUTES;
use serde_json::{json, Value};

/// What the template declares (`channel_tests::template_facts`).
fn facts() -> Value {
    channel_tests::template_facts()
}

#[test]
fn the_template_declares_exactly_the_local_routes() {
    let facts = facts();
    let declared: BTreeSet<(String, String, String, bool)> = facts["routes"]
        .as_array()
        .expect("routes")
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
            (
                s("method"),
                s("path"),
                s("function"),
                r["public"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    let local: BTreeSet<(String, String, String, bool)> = ROUTES
        .iter()
        .map(|r| (r.method.into(), r.path.into(), r.function.into(), r.public))
        .collect();
    assert_eq!(declared, local);
    let open: Vec<&str> = declared.iter().filter(|r| r.3).map(|r| r.1.as_str()).collect();
    assert_eq!(
        open,
        vec!["/console", "/telesign/{account_id}/callback"],
        "only TeleSign's callback (signed) and the console page (no data) are open at the gateway"
    );
}

#[test]
fn the_template_declares_the_table_the_code_uses() {
    use shared::table::{GSI1, GSI1_PK, GSI1_SK, GSI2, GSI2_PK, PK, SK, TTL_ATTRIBUTE};
    let t = &facts()["table"];
    let keys: Vec<(&str, &str)> = t["KeySchema"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| {
            (
                k["AttributeName"].as_str().unwrap_or(""),
                k["KeyType"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(keys, vec![(PK, "HASH"), (SK, "RANGE")]);
    let gsi = &t["GlobalSecondaryIndexes"][0];
    assert_eq!(gsi["IndexName"], GSI1);
    assert_eq!(gsi["KeySchema"][0]["AttributeName"], GSI1_PK);
    assert_eq!(gsi["KeySchema"][1]["AttributeName"], GSI1_SK);
    assert_eq!(gsi["Projection"]["ProjectionType"], "ALL");
    let second = &t["GlobalSecondaryIndexes"][1];
    assert_eq!(second["IndexName"], GSI2);
    assert_eq!(second["KeySchema"][0]["AttributeName"], GSI2_PK);
    assert_eq!(second["KeySchema"][1]["AttributeName"], GSI1_SK);
    assert_eq!(second["Projection"]["ProjectionType"], "ALL");
    assert_eq!(t["GlobalSecondaryIndexes"].as_array().map(Vec::len), Some(2));
    assert_eq!(t["TimeToLiveSpecification"]["AttributeName"], TTL_ATTRIBUTE);
    assert_eq!(t["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        t["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    assert_eq!(t["SSESpecification"]["SSEEnabled"], true);
}

/// A request to the test's own gateway that must answer `status`; the answer's body.
async fn expect(g: &Stack, status: u16, method: &str, path: &str, body: Value, headers: &[(&str, &str)]) -> Value {
    let (got, answer) = g.call(method, path, (!body.is_null()).then_some(body), headers).await;
    assert_eq!(got, status, "{method} {path}: {answer}");
    answer
}

/// Walks every route, and every path that writes differently (a refused creation, a removed
/// number, a send that TeleSign could not take, a delivery report, a key rotation), through the
/// test's own gateway `g`, whose functions count what they ask of AWS.
async fn scenario(s: &Stack, g: &Stack) {
    let customer = s.customer("active").await;
    let number = random_number();
    let create = json!({"name": "IAM", "customer_id": customer.id, "api_key": customer.key,
                        "numbers": [{"number": number, "type": "long_code"}]});
    let account = expect(g, 201, "POST", "/accounts", create.clone(), &[]).await;
    let id = account["account_id"].as_str().expect("id").to_owned();
    expect(g, 409, "POST", "/accounts", create, &[]).await; // a refused creation undoes its secret
    expect(g, 200, "GET", "/accounts", Value::Null, &[]).await;
    expect(g, 200, "GET", &format!("/accounts/{id}"), Value::Null, &[]).await;
    let extra = random_number();
    expect(
        g,
        201,
        "POST",
        &format!("/accounts/{id}/numbers"),
        json!({"number": extra, "type": "long_code"}),
        &[],
    )
    .await;
    expect(
        g,
        200,
        "DELETE",
        &format!("/accounts/{id}/numbers/{extra}"),
        Value::Null,
        &[],
    )
    .await;
    let validate = json!({"customer_id": customer.id, "api_key": customer.key});
    expect(g, 200, "POST", "/accounts/validate", validate, &[]).await;
    expect(g, 200, "POST", &format!("/accounts/{id}/validate"), json!({}), &[]).await;

    let callback_url = format!("{}/telesign/{id}/callback", g.api);
    let account = Account {
        id: id.clone(),
        customer: customer.clone(),
        numbers: vec![number.clone()],
        callback_url,
    };
    let person = random_number();
    // A STOP and a START each get their confirmation: the callback function sends and settles.
    for text in ["hello", "STOP", "START"] {
        assert_eq!(s.text(&account, &person, text).await.0, 200);
    }
    parked_and_replayed(s, &account, &person, "help").await;
    let list = expect(
        g,
        200,
        "GET",
        &format!("/conversations?account_id={id}"),
        Value::Null,
        &[],
    )
    .await;
    let conversation = list["conversations"][0]["conversation_id"]
        .as_str()
        .expect("conversation")
        .to_owned();
    let at = |what: &str| format!("/conversations/{conversation}/{what}");
    expect(
        g,
        200,
        "GET",
        &format!("/conversations/{conversation}"),
        Value::Null,
        &[],
    )
    .await;
    expect(
        g,
        200,
        "GET",
        &format!("/conversations/{conversation}?order=desc"),
        Value::Null,
        &[],
    )
    .await;
    expect(g, 200, "POST", &at("accept"), json!({}), &[]).await;
    worker_paths(&id, &conversation).await;
    expect(g, 201, "POST", &at("notes"), json!({"text": "call back after 5"}), &[]).await;
    team(g, &id, &conversation).await;
    let reply = json!({"text": "hello back"});
    let sent = expect(
        g,
        202,
        "POST",
        &at("messages"),
        reply.clone(),
        &[("idempotency-key", "k1")],
    )
    .await;
    // TeleSign's delivery report of that reply, signed, to this gateway.
    let report = json!({"reference_id": sent["telesign_reference_id"], "status": {"code": 203, "description": "Delivered to gateway"},
                        "external_id": format!("{conversation}-{}", sent["message_id"].as_str().unwrap_or_default())});
    let (_, posted) = s
        .sim(
            "POST",
            "callback",
            Some(json!({"callback_url": account.callback_url, "customer_id": customer.id, "body": report})),
        )
        .await;
    // The simulator's own reports of the reply (50 ms after it) may land first on a loaded
    // machine: then this one is stale and ignored, through the same function and requests.
    assert!(
        ["updated", "duplicate", "ignored"].contains(&posted["body"]["result"].as_str().unwrap_or_default()),
        "{posted}"
    );
    s.fault(&customer, json!({"kind": "http", "http_status": 503, "count": 10}))
        .await;
    expect(g, 503, "POST", &at("messages"), reply, &[("idempotency-key", "k2")]).await; // forgets its key
    s.sim("POST", "reset", None).await;
    let outreach = json!({"account_id": id, "from": number, "to": random_number(), "text": "hi"});
    expect(g, 202, "POST", "/messages", outreach, &[]).await;
    expect(g, 200, "POST", &at("close"), json!({}), &[]).await;
    expect(g, 200, "POST", &at("end"), json!({}), &[]).await;
    let customer_path = format!("/accounts/{id}/customers/{person}");
    expect(g, 200, "GET", &format!("{customer_path}/export"), Value::Null, &[]).await;
    expect(g, 200, "DELETE", &customer_path, Value::Null, &[]).await;
    // Customers erased while opted out text START: live, and parked then replayed (each lifts
    // the kept opt-out in its transaction).
    for parked in [false, true] {
        let gone = random_number();
        assert_eq!(s.text(&account, &gone, "STOP").await.0, 200);
        expect(
            g,
            200,
            "DELETE",
            &format!("/accounts/{id}/customers/{gone}"),
            Value::Null,
            &[],
        )
        .await;
        if parked {
            parked_and_replayed(s, &account, &gone, "START").await;
        } else {
            assert_eq!(s.text(&account, &gone, "START").await.0, 200);
        }
    }
    let new_key = random_key();
    s.sim(
        "POST",
        "customers",
        Some(json!({"customer_id": customer.id, "api_key": new_key})),
    )
    .await;
    expect(
        g,
        200,
        "PUT",
        &format!("/accounts/{id}/api-key"),
        json!({"api_key": new_key}),
        &[],
    )
    .await;
    // Closed conversations kept a day (the sweep below expires them).
    expect(
        g,
        200,
        "PATCH",
        &format!("/accounts/{id}"),
        json!({"retention_days": 1}),
        &[],
    )
    .await;
    // A number's settings changed in place; a conversation the sweep will find idle.
    let settings = json!({"timezone": "Europe/Warsaw", "auto_close": {"open_after_seconds": 3600},
                          "messages": {"closing": "Closed for now."}});
    expect(
        g,
        200,
        "PATCH",
        &format!("/accounts/{id}/numbers/{number}"),
        settings,
        &[],
    )
    .await;
    assert_eq!(s.text(&account, &random_number(), "idle soon").await.0, 200);
    expect(g, 200, "GET", "/console", Value::Null, &[]).await;
}

/// A message of `customer` that DynamoDB cannot take now is parked, its first replay fails and
/// backs off, a later one stores it in the customer's conversation (and sends what it is due: a
/// help reply, a start confirmation).
async fn parked_and_replayed(s: &Stack, account: &Account, customer: &str, text: &str) {
    dynamodb_fault(json!({"kind": "unreachable", "operation": "BatchGetItem", "matching": customer, "count": 9})).await;
    let (status, answer) = s.text(account, customer, text).await;
    assert_eq!((status, answer["result"].as_str()), (200, Some("parked")), "{answer}");
    for _ in 0..60 {
        let (_, list) = s
            .get(&format!("/conversations?account_id={}&limit=100", account.id))
            .await;
        let replayed = list["conversations"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["customer_number"] == customer && c["last_message_preview"] == text);
        if replayed {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    panic!("the parked callback was never replayed");
}

/// Members, assignment, the caller and the audit trail, as an operator and as an agent.
async fn team(g: &Stack, id: &str, conversation: &str) {
    let member = format!("/accounts/{id}/members/iam-agent");
    expect(g, 200, "PUT", &member, json!({"role": "agent"}), &[]).await;
    expect(g, 200, "GET", &format!("/accounts/{id}/members"), Value::Null, &[]).await;
    let assign = format!("/conversations/{conversation}/assign");
    expect(g, 200, "POST", &assign, json!({"agent_id": "iam-agent"}), &[]).await;
    let agent = g.as_user("iam-agent", &["agent"]).await;
    expect(&agent, 200, "GET", "/me", Value::Null, &[]).await;
    expect(&agent, 200, "GET", "/accounts", Value::Null, &[]).await;
    expect(
        &agent,
        200,
        "GET",
        &format!("/conversations?account_id={id}"),
        Value::Null,
        &[],
    )
    .await;
    expect(&agent, 403, "POST", &format!("/accounts/{id}/validate"), json!({}), &[]).await;
    desk(g, &agent, id, conversation).await;
    expect(g, 200, "GET", &format!("/audit?account_id={id}"), Value::Null, &[]).await;
    expect(g, 400, "GET", "/audit", Value::Null, &[]).await;
    expect(g, 204, "DELETE", &member, Value::Null, &[]).await;
    expect(g, 200, "POST", &assign, json!({"agent_id": null}), &[]).await;
}

/// The desk's lists (by holder, by customer, the history, the counts) and canned responses.
async fn desk(g: &Stack, agent: &Stack, id: &str, conversation: &str) {
    let read = expect(
        g,
        200,
        "GET",
        &format!("/conversations/{conversation}"),
        Value::Null,
        &[],
    )
    .await;
    let customer = read["customer_number"].as_str().expect("customer").to_owned();
    let lists = [
        format!("/conversations?account_id={id}&assigned=me"),
        format!("/conversations?account_id={id}&assigned=none"),
        format!("/conversations?account_id={id}&status=open,waiting"),
        format!("/conversations?account_id={id}&customer={customer}"),
        format!("/accounts/{id}/customers/{customer}/conversations"),
        format!("/accounts/{id}/conversations/counts"),
    ];
    for list in &lists {
        expect(agent, 200, "GET", list, Value::Null, &[]).await;
    }
    let canned = format!("/accounts/{id}/canned-responses");
    let made = expect(
        g,
        201,
        "POST",
        &canned,
        json!({"title": "Hours", "text": "9 to 5"}),
        &[],
    )
    .await;
    let one = format!("{canned}/{}", made["canned_response_id"].as_str().expect("id"));
    expect(g, 200, "PUT", &one, json!({"title": "Hours", "text": "9 to 6"}), &[]).await;
    expect(agent, 200, "GET", &canned, Value::Null, &[]).await;
    expect(agent, 403, "DELETE", &one, Value::Null, &[]).await;
    expect(g, 204, "DELETE", &one, Value::Null, &[]).await;
}

/// Sweeps the accounts this test made ("IAM") as the schedule would two days on, and as it
/// would were they deleted.
async fn sweep_later(gateway: &local_gateway::Gateway) {
    use shared::service::ports::AccountStore;
    let service = gateway.sweeper.service();
    let mine: Vec<_> = service
        .log
        .accounts()
        .await
        .expect("accounts")
        .into_iter()
        .filter(|a| a.name == "IAM" && shared::service::sweeper::shortest_timeout(a).is_some())
        .filter(|a| a.created_at.epoch_seconds() > shared::ids::epoch_seconds() - 600)
        .collect();
    // Two days on: idle ones ended (with their closing message), the closed ones expired.
    let later = shared::ids::Timestamp::now().plus_seconds(2 * 86_400);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut report = shared::service::sweeper::SweepReport::default();
    for a in &mine {
        let turn = shared::jobs::SweepTask::Account {
            account_id: a.account_id.clone(),
        };
        report += service.turn(&turn, later, deadline).await.expect("sweep");
    }
    assert!(report.ended >= 1 && report.closings >= 1, "{report:?}");
    // Were the account deleted: what is left expires, then its record goes.
    for a in &mine {
        let turn = shared::jobs::SweepTask::Retired {
            account_id: a.account_id.clone(),
            retention_days: 1,
        };
        for days in [4, 5] {
            let at = later.plus_seconds(days * 86_400);
            report += service.turn(&turn, at, deadline).await.expect("retired");
        }
    }
    assert!(
        report.expired >= report.ended,
        "what the sweep ended expires: {report:?}"
    );
    // The schedule's run queues the turns on this gateway's own sweep queue (the stack's gateway
    // runs its schedule every few seconds under the same lease: this one waits its moment), and
    // this gateway's pollers take them.
    let mut queued = false;
    for _ in 0..600 {
        if gateway.sweeper.schedule().await.is_ok_and(|r| r.queued > 0) {
            queued = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(queued, "the schedule's run queued turns");
    until_used(gateway, "sweeper", "sqs:DeleteMessage").await;
}

/// The worker's paths, each certain to be this gateway's worker's although the stack's own worker
/// sees every change of the shared table: an automated message written so that no change of it
/// makes a job (written sent, then moved back to unsent), its job put in this gateway's work
/// queue with its reads throttled for a moment (the job fails, is hidden for a backoff and comes
/// back), then done: read, claimed with the customer's consent checked, sent, settled.
async fn worker_paths(account_id: &str, conversation_id: &str) {
    use aws_sdk_dynamodb::types::AttributeValue::{N, S};
    use shared::ids::{AccountId, ConversationId, MessageId};
    let store = shared::runtime::Clients::from_env().await.expect("clients").dynamo();
    let conversation = ConversationId::parse(conversation_id).expect("conversation");
    let account = AccountId::parse(account_id).expect("account");
    let mut message =
        shared::conversation::Message::automated(shared::automation::Kind::Help, "iam help", &MessageId::new());
    message.status = shared::telesign::MessageState::Sent;
    let item = shared::store::items::MessageItem::of(&conversation, &account, &message, None);
    let item = shared::store::items::to_item(&item).expect("item");
    store
        .client
        .put_item()
        .table_name(&store.table)
        .set_item(Some(item))
        .send()
        .await
        .expect("put");
    let shared::table::Key { pk, sk } = shared::table::message_key(conversation_id, message.message_id.as_str());
    store
        .client
        .update_item()
        .table_name(&store.table)
        .key("pk", S(pk.clone()))
        .key("sk", S(sk.clone()))
        .update_expression("SET #s = :u, status_rank = :zero")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":u", S("unknown".into()))
        .expression_attribute_values(":zero", N("0".into()))
        .send()
        .await
        .expect("unsent");
    dynamodb_fault(
        json!({"kind": "throttle", "operation": "BatchGetItem", "matching": message.message_id.as_str(), "seconds": 6}),
    )
    .await;
    let job = shared::jobs::Job::Send {
        account_id: account,
        conversation_id: conversation,
        message_id: message.message_id.clone(),
    };
    let config = shared::aws::load_config().await;
    let queue = shared::queue::Queue::new(
        &config,
        std::env::var("WORK_QUEUE_URL").expect("the work queue"),
        &Default::default(),
    );
    shared::service::ports::WorkQueue::enqueue(&queue, &[job])
        .await
        .expect("queued");
    for _ in 0..300 {
        let got = store
            .client
            .get_item()
            .table_name(&store.table)
            .key("pk", S(pk.clone()))
            .key("sk", S(sk.clone()))
            .consistent_read(true)
            .send()
            .await
            .expect("get");
        if got.item().is_some_and(|i| i.contains_key("telesign_reference_id")) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the worker never sent the job's message");
}

/// The setup function's custom resource against a user pool of moto's: CloudFormation's request
/// (its answer URL a one-shot server of the test), the app client's URLs set, SUCCESS answered.
async fn setup_path(gateway: &local_gateway::Gateway) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let config = shared::aws::load_config().await;
    let pools = shared::cognito::UserPools::new(&config, &Default::default());
    let pool = pools
        .client()
        .create_user_pool()
        .pool_name("iam")
        .send()
        .await
        .expect("a pool");
    let pool_id = pool.user_pool().and_then(|p| p.id()).expect("id").to_owned();
    let client = pools
        .client()
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name("console")
        .callback_urls("http://localhost:9000/console")
        .allowed_o_auth_flows(aws_sdk_cognitoidentityprovider::types::OAuthFlowType::Code)
        .allowed_o_auth_scopes("openid")
        .allowed_o_auth_flows_user_pool_client(true)
        .send()
        .await
        .expect("a client");
    let client_id = client
        .user_pool_client()
        .and_then(|c| c.client_id())
        .expect("id")
        .to_owned();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("listen");
    let answer_url = format!("http://{}/answer?signed=1", listener.local_addr().expect("addr"));
    let answered = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("the answer");
        let mut got = Vec::new();
        let mut chunk = [0u8; 4096];
        while !String::from_utf8_lossy(&got).contains("\"Status\"") {
            let n = socket.read(&mut chunk).await.expect("read");
            if n == 0 {
                break;
            }
            got.extend_from_slice(&chunk[..n]);
        }
        let _ = socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await;
        String::from_utf8_lossy(&got).into_owned()
    });
    let console = "https://api.example/console";
    let request = json!({"RequestType": "Create", "ResponseURL": answer_url, "StackId": "arn:stack", "RequestId": "r-1",
        "LogicalResourceId": "ConsoleSignIn", "ResourceType": "Custom::ConsoleSignIn",
        "ResourceProperties": {"UserPoolId": pool_id, "ClientId": client_id, "ConsoleUrl": console}});
    gateway.setup.handle(request).await.expect("answered");
    let answer = answered.await.expect("the answer");
    assert!(answer.contains("\"Status\":\"SUCCESS\""), "{answer}");
    let described = pools
        .client()
        .describe_user_pool_client()
        .user_pool_id(&pool_id)
        .client_id(&client_id)
        .send()
        .await
        .expect("described");
    let urls = described.user_pool_client().map(|c| c.callback_urls().to_vec());
    assert_eq!(urls, Some(vec![console.to_owned()]));
}

/// Until `done` holds for a function's counted actions (a bound on a hang, not a figure).
async fn until_used(gateway: &local_gateway::Gateway, function: &str, action: &str) {
    for _ in 0..300 {
        let used = gateway
            .meter(function)
            .map(|m| m.snapshot().actions)
            .unwrap_or_default();
        if used.keys().any(|a| a.starts_with(action)) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let used = gateway.meter(function).map(|m| m.snapshot()).unwrap_or_default();
    panic!("{function} never used {action}: {used:?}");
}

/// The live paths, in an account of their own that no other change concerns (so the stack's
/// own events function never touches its connections): a socket opened and closed through the
/// gateway (`sockets`), and a batch handed to `events` that finds a member's connection gone
/// (410) and a former member's listing; then the stream's mapping gives up on a batch and
/// sends its place to the on-failure queue.
async fn live_paths(s: &Stack, g: &Stack, gateway: &std::sync::Arc<local_gateway::Gateway>, account: &Account) {
    use shared::service::ports::{Audience, Connection, Connections, Member};
    let store = shared::runtime::Clients::from_env().await.expect("clients").dynamo();
    let room = shared::ids::AccountId::new();
    let user = format!("iam-live-{}", uuid::Uuid::new_v4().simple());
    let member = Member {
        account_id: room.clone(),
        user_id: shared::access::UserId::parse(&user).expect("user"),
        role: shared::access::Role::Agent,
        display_name: None,
        added_at: shared::ids::Timestamp::now(),
    };
    let item = shared::store::items::to_item(&shared::store::items::MemberItem::of(&member)).expect("item");
    store
        .client
        .put_item()
        .table_name(&store.table)
        .set_item(Some(item))
        .send()
        .await
        .expect("member");
    let token = g.mint(json!({"sub": user, "roles": ["agent"]})).await;
    let url = format!("{}/ws?token={token}", g.api.replacen("http://", "ws://", 1));
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("socket");
    ws.close(None).await.expect("closed");
    until_used(gateway, "sockets", "dynamodb:GetItem").await;
    let listing = |id: &str, user: &str| Connection {
        connection_id: id.to_owned(),
        user_id: shared::access::UserId::parse(user).expect("user"),
        roles: vec![shared::access::Role::Agent],
        connected_at: shared::ids::Timestamp::now(),
        expires_at: i64::MAX,
    };
    let audience = [Audience::Account(room.clone())];
    store
        .open(&listing("iam-gone", &user), &audience)
        .await
        .expect("listed");
    store
        .open(&listing("iam-former", "iam-not-a-member"), &audience)
        .await
        .expect("listed");
    let thread = shared::conversation::Thread {
        account_id: room,
        support_number: shared::phone::PhoneNumber::parse("14255550100").expect("number"),
        customer_number: shared::phone::PhoneNumber::parse("14255550123").expect("number"),
    };
    let c = shared::conversation::Conversation::first_contact(&thread);
    let image = shared::store::items::to_item(&shared::store::items::ConversationItem::of(&c)).expect("image");
    let image = serde_json::to_value(serde_dynamo::Item::from(image)).expect("json");
    let record = json!({"eventID": "iam-1", "eventName": "INSERT", "eventSource": "aws:dynamodb", "awsRegion": "local",
        "dynamodb": {"ApproximateCreationDateTime": 0, "Keys": {}, "NewImage": image, "SequenceNumber": "1", "SizeBytes": 1}});
    let event = serde_json::from_value(json!({"Records": [record]})).expect("event");
    let answer = gateway.events.handle(event).await;
    assert!(answer.batch_item_failures.is_empty(), "delivered");
    gateway
        .events_crashes
        .store(usize::MAX, std::sync::atomic::Ordering::SeqCst);
    s.text(account, &random_number(), "given up on").await;
    until_used(gateway, "events", "sqs:SendMessage").await;
    gateway.events_crashes.store(0, std::sync::atomic::Ordering::SeqCst);
}

#[tokio::test]
async fn each_function_is_granted_exactly_the_actions_its_code_uses() {
    let s = stack();
    // The stream's mapping of this gateway gives up after one try (the on-failure path).
    std::env::set_var("EVENTS_MAX_RETRIES", "0");
    // Every export of this gateway goes to the export bucket and is answered by its link.
    std::env::set_var("EXPORT_INLINE_BYTES", "1");
    let (g, gateway) = own_gateway().await;
    gateway.follow_stream().await.expect("the table's stream");
    scenario(&s, &g).await;
    // The sweep, an hour on, of the scenario's accounts: it ends the idle conversation and sends
    // its closing message.
    sweep_later(&gateway).await;
    let account = s.account(1).await;
    live_paths(&s, &g, &gateway, &account).await;
    setup_path(&gateway).await;

    let facts = facts();
    let mut problems = Vec::new();
    for (function, meter) in &gateway.meters {
        // "action resource" (the table, an index, the account secrets); a transaction's items are
        // authorised as single writes on the table.
        let used: BTreeSet<String> = meter
            .snapshot()
            .actions
            .keys()
            .map(|a| a.trim_end_matches(" transaction").to_owned())
            .collect();
        let granted: BTreeSet<String> = facts["actions"][*function]
            .as_array()
            .unwrap_or_else(|| panic!("{function} is in the template"))
            .iter()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect();
        if used != granted {
            let wider: Vec<_> = granted.difference(&used).collect();
            let missing: Vec<_> = used.difference(&granted).collect();
            problems.push(format!(
                "{function}: granted but unused {wider:?}, used but not granted {missing:?}"
            ));
        }
    }
    let counts: BTreeMap<_, _> = gateway.meters.iter().map(|(f, m)| (*f, m.snapshot().actions)).collect();
    assert!(problems.is_empty(), "{problems:#?}\nobserved: {counts:#?}");
}
