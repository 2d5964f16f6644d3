//! `template.yaml` and the code in step: the same routes as the local router (and only the
//! TeleSign callback open), the same table, and for each function exactly the IAM actions that
//! its code uses in a scenario that walks every route and every failure path that writes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use channel_tests::{random_key, random_number, stack, Stack};
use local_gateway::routes::ROUTES;
use serde_json::{json, Value};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// What the template declares, read with cfn-lint's own decoder (`scripts/template_facts.py`).
fn facts() -> Value {
    let python = root().join(".venv/bin/python");
    let out = Command::new(&python)
        .arg(root().join("scripts/template_facts.py"))
        .arg(root().join("template.yaml"))
        .output()
        .unwrap_or_else(|e| panic!("{} must exist (make test installs it): {e}", python.display()));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("facts are JSON")
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
    use shared::table::{GSI1, GSI1_PK, GSI1_SK, PK, SK, TTL_ATTRIBUTE};
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
    assert_eq!(t["TimeToLiveSpecification"]["AttributeName"], TTL_ATTRIBUTE);
    assert_eq!(t["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        t["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    assert_eq!(t["SSESpecification"]["SSEEnabled"], true);
}

async fn call(
    http: &reqwest::Client,
    api: &str,
    method: &str,
    path: &str,
    body: Value,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let mut req = http.request(
        reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
        format!("{api}{path}"),
    );
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if !body.is_null() {
        req = req.header("content-type", "application/json").body(body.to_string());
    }
    let r = req.send().await.expect("gateway");
    let status = r.status().as_u16();
    (
        status,
        serde_json::from_str(&r.text().await.expect("body")).unwrap_or(Value::Null),
    )
}

/// Walks every route, and every path that writes differently (a refused creation, a removed
/// number, a send that TeleSign could not take, delivery reports), through a gateway of this
/// test's own whose functions count what they ask of AWS.
async fn scenario(s: &Stack, api: &str) {
    let http = reqwest::Client::new();
    let customer = s.customer("active").await;
    let number = random_number();
    let create = json!({"name": "IAM", "customer_id": customer.id, "api_key": customer.key,
                        "numbers": [{"number": number, "type": "long_code"}]});
    let (status, account) = call(&http, api, "POST", "/accounts", create.clone(), &[]).await;
    assert_eq!(status, 201, "{account}");
    let id = account["account_id"].as_str().expect("id").to_owned();
    assert_eq!(
        call(&http, api, "POST", "/accounts", create, &[]).await.0,
        409,
        "refused creation undoes its secret"
    );
    assert_eq!(call(&http, api, "GET", "/accounts", Value::Null, &[]).await.0, 200);
    assert_eq!(
        call(&http, api, "GET", &format!("/accounts/{id}"), Value::Null, &[])
            .await
            .0,
        200
    );
    let extra = random_number();
    let add = json!({"number": extra, "type": "long_code"});
    assert_eq!(
        call(&http, api, "POST", &format!("/accounts/{id}/numbers"), add, &[])
            .await
            .0,
        201
    );
    assert_eq!(
        call(
            &http,
            api,
            "DELETE",
            &format!("/accounts/{id}/numbers/{extra}"),
            Value::Null,
            &[]
        )
        .await
        .0,
        200
    );
    let validate = json!({"customer_id": customer.id, "api_key": customer.key});
    assert_eq!(
        call(&http, api, "POST", "/accounts/validate", validate, &[]).await.0,
        200
    );
    assert_eq!(
        call(&http, api, "POST", &format!("/accounts/{id}/validate"), json!({}), &[])
            .await
            .0,
        200
    );

    let callback_url = format!("{api}/telesign/{id}/callback");
    let account = channel_tests::Account {
        id: id.clone(),
        customer: customer.clone(),
        numbers: vec![number.clone()],
        callback_url,
    };
    let person = random_number();
    assert_eq!(s.text(&account, &person, "hello").await.0, 200);
    assert_eq!(s.text(&account, &person, "STOP").await.0, 200);
    assert_eq!(s.text(&account, &person, "START").await.0, 200);
    let (_, list) = call(
        &http,
        api,
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
    assert_eq!(
        call(
            &http,
            api,
            "GET",
            &format!("/conversations/{conversation}"),
            Value::Null,
            &[]
        )
        .await
        .0,
        200
    );
    assert_eq!(
        call(
            &http,
            api,
            "POST",
            &format!("/conversations/{conversation}/accept"),
            json!({}),
            &[]
        )
        .await
        .0,
        200
    );
    let reply = json!({"text": "hello back"});
    let path = format!("/conversations/{conversation}/messages");
    assert_eq!(
        call(&http, api, "POST", &path, reply.clone(), &[("idempotency-key", "k1")])
            .await
            .0,
        202
    );
    s.fault(&customer, json!({"kind": "http", "http_status": 503, "count": 10}))
        .await;
    assert_eq!(
        call(&http, api, "POST", &path, reply, &[("idempotency-key", "k2")])
            .await
            .0,
        503,
        "forgets its key"
    );
    let outreach = json!({"account_id": id, "from": number, "to": random_number(), "text": "hi"});
    s.sim("POST", "reset", None).await;
    assert_eq!(call(&http, api, "POST", "/messages", outreach, &[]).await.0, 202);
    s.eventually(&conversation, "reports", |_| true).await;
    assert_eq!(
        call(
            &http,
            api,
            "POST",
            &format!("/conversations/{conversation}/close"),
            json!({}),
            &[]
        )
        .await
        .0,
        200
    );
    assert_eq!(
        call(
            &http,
            api,
            "POST",
            &format!("/conversations/{conversation}/end"),
            json!({}),
            &[]
        )
        .await
        .0,
        200
    );
    let new_key = random_key();
    s.sim(
        "POST",
        "customers",
        Some(json!({"customer_id": customer.id, "api_key": new_key})),
    )
    .await;
    assert_eq!(
        call(
            &http,
            api,
            "PUT",
            &format!("/accounts/{id}/api-key"),
            json!({"api_key": new_key}),
            &[]
        )
        .await
        .0,
        200
    );
    // Delivery reports of the sends arrive at this gateway.
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
}

#[tokio::test]
async fn each_function_is_granted_exactly_the_actions_its_code_uses() {
    let s = stack();
    let gateway = Arc::new(local_gateway::Gateway::from_env().await.expect("gateway"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("listen");
    let api = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(gateway.clone().serve(listener));
    scenario(&s, &api).await;

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
