//! What the integration tests share: the running local stack (started by `make test`), its
//! TeleSign simulator, and helpers to make customers, accounts and texts that no other test uses.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::Rng;
use serde_json::{json, Value};

/// The local stack as the README's test command starts it.
#[derive(Clone)]
pub struct Stack {
    /// The channel's API (`SMS_BASE_URL`).
    pub api: String,
    /// The TeleSign simulator (`SIM_URL`).
    pub sim: String,
    /// An HTTP client.
    pub http: reqwest::Client,
    /// The bearer token calls carry (`None`: no Authorization header); made on first use as an
    /// operator's, minted by the gateway, unless the stack was made for another caller.
    pub auth: std::sync::Arc<tokio::sync::OnceCell<Option<String>>>,
}

/// A TeleSign customer registered in the simulator.
#[derive(Clone, Debug)]
pub struct Customer {
    /// Its customer id.
    pub id: String,
    /// Its API key.
    pub key: String,
}

/// A messaging account made for one test.
#[derive(Clone, Debug)]
pub struct Account {
    /// The account id.
    pub id: String,
    /// Its TeleSign customer.
    pub customer: Customer,
    /// Its support numbers.
    pub numbers: Vec<String>,
    /// Its callback URL.
    pub callback_url: String,
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: these tests run against the local stack that `make test` starts")
    })
}

/// The stack, or a failed test naming what is missing.
pub fn stack() -> Stack {
    Stack {
        api: env("SMS_BASE_URL"),
        sim: env("SIM_URL"),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client"),
        auth: Default::default(),
    }
}

/// US area codes the random numbers are spread over (every one valid in the numbering plan).
const AREA_CODES: &[u16] = &[
    201, 206, 212, 213, 303, 305, 312, 404, 415, 425, 503, 512, 617, 702, 718, 919,
];

/// A number no other test uses: a valid US number (`1`, an area code, an exchange from 200 up and
/// four digits), written as TeleSign writes numbers.
pub fn random_number() -> String {
    let mut rng = rand::rng();
    let area = AREA_CODES[rng.random_range(0..AREA_CODES.len())];
    format!("1{area}{}", rng.random_range(2_000_000..10_000_000u32))
}

/// A fresh API key: 32 random bytes, base64.
pub fn random_key() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    STANDARD.encode(bytes)
}

/// A fresh TeleSign reference id.
pub fn reference_id() -> String {
    uuid::Uuid::new_v4().simple().to_string().to_uppercase()
}

async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

impl Stack {
    /// A token minted by the gateway (`POST /_local/tokens`) for `request`
    /// (`{"sub", "roles", "name"?, "ttl_seconds"?, "issuer"?, "audience"?}`).
    pub async fn mint(&self, request: Value) -> String {
        let answer = self
            .http
            .post(format!("{}/_local/tokens", self.api))
            .header("content-type", "application/json")
            .body(request.to_string())
            .send()
            .await
            .expect("the local gateway answers");
        let (status, body) = read(answer).await;
        assert_eq!(status, 200, "{body}");
        body["token"].as_str().expect("token").to_owned()
    }

    /// The same stack, calling as the holder of `token` (`None`: with no token at all).
    pub fn with_token(&self, token: Option<String>) -> Stack {
        Stack {
            auth: std::sync::Arc::new(tokio::sync::OnceCell::new_with(Some(token))),
            ..self.clone()
        }
    }

    /// The same stack, calling as `sub` with `roles`.
    pub async fn as_user(&self, sub: &str, roles: &[&str]) -> Stack {
        let token = self.mint(json!({"sub": sub, "roles": roles, "name": sub})).await;
        self.with_token(Some(token))
    }

    /// The token calls carry.
    async fn token(&self) -> Option<String> {
        self.auth
            .get_or_init(|| async {
                Some(
                    self.mint(json!({"sub": "test-operator", "roles": ["operator"], "name": "Test operator"}))
                        .await,
                )
            })
            .await
            .clone()
    }

    /// A request to the channel's API, with the stack's token unless `headers` carry an
    /// `authorization` of their own.
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>, headers: &[(&str, &str)]) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.http.request(method, format!("{}{}", self.api, path));
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("authorization")) {
            if let Some(token) = self.token().await {
                req = req.bearer_auth(token);
            }
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(body) = body {
            req = req.header("content-type", "application/json").body(body.to_string());
        }
        read(req.send().await.expect("the local gateway answers")).await
    }

    /// `GET` on the API.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, None, &[]).await
    }

    /// `POST` of JSON on the API.
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call("POST", path, Some(body), &[]).await
    }

    /// A POST of raw bytes with headers (callbacks as an attacker or a broken client sends them).
    pub async fn post_raw(&self, path: &str, body: Vec<u8>, headers: &[(&str, String)]) -> (u16, Value) {
        let mut req = self.http.post(format!("{}{}", self.api, path)).body(body);
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("authorization")) {
            if let Some(token) = self.token().await {
                req = req.bearer_auth(token);
            }
        }
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        read(req.send().await.expect("the local gateway answers")).await
    }

    /// A control request to the simulator.
    pub async fn sim(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.http.request(method, format!("{}/_sim/{}", self.sim, path));
        if let Some(body) = body {
            req = req.header("content-type", "application/json").body(body.to_string());
        }
        read(req.send().await.expect("the TeleSign simulator answers")).await
    }

    /// A new TeleSign customer in the simulator (`state`: active, suspended, sms_disabled, wrong_host).
    pub async fn customer(&self, state: &str) -> Customer {
        let c = Customer {
            id: uuid::Uuid::new_v4().to_string().to_uppercase(),
            key: random_key(),
        };
        let (status, body) = self
            .sim(
                "POST",
                "customers",
                Some(json!({"customer_id": c.id, "api_key": c.key, "state": state})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        c
    }

    /// A new messaging account with `n` fresh long-code numbers, created through the API.
    pub async fn account(&self, n: usize) -> Account {
        let customer = self.customer("active").await;
        let numbers: Vec<String> = (0..n).map(|_| random_number()).collect();
        let (status, body) = self
            .post(
                "/accounts",
                json!({
                    "name": "Test line", "customer_id": customer.id, "api_key": customer.key,
                    "numbers": numbers.iter().map(|n| json!({"number": n, "type": "long_code"})).collect::<Vec<_>>(),
                }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        Account {
            id: body["account_id"].as_str().expect("account_id").to_owned(),
            customer,
            numbers,
            callback_url: body["callback_url"].as_str().expect("callback_url").to_owned(),
        }
    }

    /// An account with one number made through a test's own gateway `g` (whose functions count
    /// their requests), its callbacks going to `g`.
    pub async fn account_on(&self, g: &Stack, name: &str) -> Account {
        let customer = self.customer("active").await;
        let number = random_number();
        let create = json!({"name": name, "customer_id": customer.id, "api_key": customer.key,
                            "numbers": [{"number": number, "type": "long_code"}]});
        let (status, body) = g.post("/accounts", create).await;
        assert_eq!(status, 201, "{body}");
        let id = body["account_id"].as_str().expect("account_id").to_owned();
        Account {
            callback_url: format!("{}/telesign/{id}/callback", g.api),
            id,
            customer,
            numbers: vec![number],
        }
    }

    /// The simulator texts the account as a customer; the channel's status and body.
    pub async fn text(&self, account: &Account, from: &str, text: &str) -> (u16, Value) {
        self.text_with(account, json!({"from": from, "text": text})).await
    }

    /// Like [`Stack::text`], with any of the inbound fields (`reference_id`, `action`, `to`).
    pub async fn text_with(&self, account: &Account, fields: Value) -> (u16, Value) {
        let mut body = json!({
            "callback_url": account.callback_url, "customer_id": account.customer.id,
            "to": account.numbers[0],
        });
        for (k, v) in fields.as_object().expect("fields") {
            body[k] = v.clone();
        }
        let (status, answer) = self.sim("POST", "inbound", Some(body)).await;
        assert_eq!(status, 200, "the simulator could not post: {answer}");
        (answer["status"].as_u64().unwrap_or(0) as u16, answer["body"].clone())
    }

    /// The live conversations of an account, newest first.
    pub async fn conversations(&self, account: &Account, status: &str) -> Vec<Value> {
        let (code, body) = self
            .get(&format!(
                "/conversations?account_id={}&status={status}&limit=100",
                account.id
            ))
            .await;
        assert_eq!(code, 200, "{body}");
        body["conversations"].as_array().cloned().unwrap_or_default()
    }

    /// One conversation with its messages.
    pub async fn conversation(&self, id: &str) -> Value {
        let (code, body) = self.get(&format!("/conversations/{id}")).await;
        assert_eq!(code, 200, "{body}");
        body
    }

    /// Polls `check` on a conversation until it holds (delivery reports arrive on their own).
    pub async fn eventually(&self, id: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..100 {
            let c = self.conversation(id).await;
            if check(&c) {
                return c;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "{what}: never happened; the conversation is {}",
            self.conversation(id).await
        );
    }

    /// What the simulator received from one customer.
    pub async fn sim_requests(&self, customer: &Customer) -> Vec<Value> {
        let (_, body) = self
            .sim("GET", &format!("requests?customer_id={}", customer.id), None)
            .await;
        body.as_array().cloned().unwrap_or_default()
    }

    /// The messages the simulator accepted from one customer.
    pub async fn sim_messages(&self, customer: &Customer) -> Vec<Value> {
        let (_, body) = self
            .sim("GET", &format!("messages?customer_id={}", customer.id), None)
            .await;
        body.as_array().cloned().unwrap_or_default()
    }

    /// Every item of a paged list (`field` of each page, following `next_cursor`).
    pub async fn every_page(&self, path: &str, field: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let sep = if path.contains('?') { '&' } else { '?' };
            let page_path = match &cursor {
                Some(c) => format!("{path}{sep}cursor={c}"),
                None => path.to_owned(),
            };
            let (status, page) = self.get(&page_path).await;
            assert_eq!(status, 200, "{page_path}: {page}");
            items.extend(page[field].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return items,
            }
        }
    }

    /// The messages the simulator accepted from one customer, once there are `n` of them
    /// (automated messages go out from the worker, a moment after the callback that made them
    /// due is answered); fails after 15 s with what there is.
    pub async fn sim_messages_at_least(&self, customer: &Customer, n: usize) -> Vec<Value> {
        for _ in 0..150 {
            let sent = self.sim_messages(customer).await;
            if sent.len() >= n {
                return sent;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let sent = self.sim_messages(customer).await;
        panic!("{n} messages sent, not {}: {sent:?}", sent.len());
    }

    /// Queues a fault for one customer's next requests.
    pub async fn fault(&self, customer: &Customer, mut fault: Value) {
        fault["customer_id"] = json!(customer.id);
        let (status, body) = self.sim("POST", "faults", Some(fault)).await;
        assert_eq!(status, 200, "{body}");
    }
}

/// The messages of a conversation body.
/// The `conversation_id` of a conversation or message in an answer.
pub fn conversation_id_of(v: &Value) -> String {
    v["conversation_id"].as_str().expect("conversation_id").to_owned()
}

/// The messages of a conversation answer.
pub fn messages(conversation: &Value) -> Vec<Value> {
    conversation["messages"].as_array().cloned().unwrap_or_default()
}

/// The table, straight (for what the API does not show: raw items, the absence of secrets).
pub async fn dynamo() -> aws_sdk_dynamodb::Client {
    let config = shared::aws::load_config().await;
    aws_sdk_dynamodb::Client::new(&config)
}

/// Every item of the table, as text (for scans that look for what must not be there).
pub async fn table_dump() -> String {
    let client = dynamo().await;
    let table = env("TABLE_NAME");
    let mut out = String::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(&table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan the table");
        for item in page.items() {
            out.push_str(&format!("{item:?}\n"));
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return out;
        }
    }
}

impl Stack {
    /// The same stack, with its API at another base URL (a gateway a test runs itself).
    pub fn at(&self, api: &str) -> Stack {
        Stack {
            api: api.to_owned(),
            auth: Default::default(),
            ..self.clone()
        }
    }
}

/// A gateway of the test's own, in this process (nextest runs each test alone in its process),
/// built from the environment as the functions would be: the stack to call it, and the gateway
/// for its meters.
pub async fn own_gateway() -> (Stack, std::sync::Arc<local_gateway::Gateway>) {
    own_queue().await;
    // The stack's gateway schedules the sweep; this one only takes the turns it queues itself.
    std::env::set_var("SWEEP_INTERVAL_SECONDS", "0");
    let gateway = std::sync::Arc::new(local_gateway::Gateway::from_env().await.expect("gateway"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("listen");
    let api = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(gateway.clone().serve(listener));
    (stack().at(&api), gateway)
}

/// A parking queue, a work queue and a sweep queue of this test process's own (each with its
/// dead-letter queue), named in `CALLBACK_QUEUE_URL`, `WORK_QUEUE_URL` and `SWEEP_QUEUE_URL`, so
/// that its gateway's pollers take only its own parked callbacks, jobs and sweep turns (a turn
/// taken by a test's gateway that then ends would stay hidden for the queue's visibility
/// timeout). Answers the parking queue's URL.
pub async fn own_queue() -> String {
    let config = shared::aws::load_config().await;
    let client = aws_sdk_sqs::Client::new(&config);
    let mut urls = Vec::new();
    for variable in ["CALLBACK_QUEUE_URL", "WORK_QUEUE_URL", "SWEEP_QUEUE_URL"] {
        let base = env(variable);
        let url = format!(
            "{}/test-{}",
            base.rsplit_once('/').map_or(base.as_str(), |(b, _)| b),
            uuid::Uuid::new_v4().simple()
        );
        local_gateway::queue::ensure_queue(&client, &url, 30)
            .await
            .expect("the test's queue");
        std::env::set_var(variable, &url);
        urls.push(url);
    }
    urls.swap_remove(0)
}

/// Queues a fault in the DynamoDB fault proxy (`DDB_PROXY_URL`) in front of the stack's table.
pub async fn dynamodb_fault(fault: Value) {
    let answer = reqwest::Client::new()
        .post(format!("{}/_proxy/faults", env("DDB_PROXY_URL")))
        .header("content-type", "application/json")
        .body(fault.to_string())
        .send()
        .await
        .expect("the DynamoDB fault proxy answers");
    assert_eq!(answer.status().as_u16(), 200, "{fault}");
}

/// A callback body signed as TeleSign signs it for `account`: the body and its Authorization.
pub fn signed(account: &Account, body: &Value) -> (Vec<u8>, String) {
    let bytes = body.to_string().into_bytes();
    let key = shared::telesign::ApiKey::parse(&account.customer.key).expect("key");
    let auth = shared::telesign::callback::callback_authorization(&account.customer.id, &key, &bytes);
    (bytes, auth)
}

/// An inbound SMS callback body from `customer` to the account's first number.
pub fn inbound_body(account: &Account, customer: &str, text: &str, reference: &str) -> Value {
    json!({"reference_id": reference, "sub_resource": "mo_sms", "status": {"code": 1500},
           "submit_timestamp": shared::ids::now(),
           "user_response": {"phone_number": customer, "sender_id": account.numbers[0], "mo_message": text}})
}

/// An error answer's status and contract code.
pub fn code(answer: &(u16, Value)) -> (u16, Option<&str>) {
    (answer.0, answer.1["error"]["code"].as_str())
}

/// What `template.yaml` declares, read with cfn-lint's own decoder (`scripts/template_facts.py`):
/// routes, IAM actions, the table, and every resource, parameter and global as written.
pub fn template_facts() -> Value {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join(".venv/bin/python");
    let out = std::process::Command::new(&python)
        .arg(root.join("scripts/template_facts.py"))
        .arg(root.join("template.yaml"))
        .output()
        .unwrap_or_else(|e| panic!("{} must exist (make test installs it): {e}", python.display()));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("facts are JSON")
}

/// Writes items straight into DynamoDB Local (the stream's endpoint: the table behind the fault
/// proxy), 25 a request and 8 requests at once, what it leaves unprocessed written again: the
/// bulk of an account that a test needs large, seeded in seconds rather than through the API.
/// Answers how long it took.
pub async fn seed_directly(
    items: &[std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>],
) -> Duration {
    use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
    let requests = items
        .iter()
        .map(|item| {
            let put = PutRequest::builder().set_item(Some(item.clone())).build().expect("put");
            WriteRequest::builder().put_request(put).build()
        })
        .collect();
    write_directly(requests).await
}

async fn write_directly(requests: Vec<aws_sdk_dynamodb::types::WriteRequest>) -> Duration {
    use futures::StreamExt;
    let started = std::time::Instant::now();
    let config = shared::aws::load_config().await;
    let direct = aws_sdk_dynamodb::config::Builder::from(&config)
        .endpoint_url(env("AWS_ENDPOINT_URL_DYNAMODB_STREAMS"))
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(direct);
    let table = env("TABLE_NAME");
    let batches: Vec<Vec<_>> = requests.chunks(25).map(<[_]>::to_vec).collect();
    futures::stream::iter(batches)
        .for_each_concurrent(8, |mut batch| {
            let (client, table) = (&client, &table);
            async move {
                while !batch.is_empty() {
                    let out = client
                        .batch_write_item()
                        .request_items(table.clone(), batch)
                        .send()
                        .await
                        .expect("written");
                    batch = out
                        .unprocessed_items
                        .and_then(|mut u| u.remove(table.as_str()))
                        .unwrap_or_default();
                }
            }
        })
        .await;
    started.elapsed()
}
