//! The TeleSign client against the simulator (its own instance per test): success, each error
//! class, retries with fresh nonces, no retry once a request may have been carried out.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use shared::service::ports::SmsGateway;
use shared::telesign::validate::Verdict;
use shared::telesign::{ApiHost, Credentials, FailureKind, RetryPolicy, SendSms, TelesignClient, TelesignError};
use telesign_sim::{CustomerState, Simulator};

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

struct Sim {
    url: String,
    http: reqwest::Client,
}

impl Sim {
    async fn start(state: CustomerState) -> Self {
        let sim = Simulator::new(Duration::from_millis(10));
        sim.add_customer("CUSTOMER-1", KEY, state).expect("customer");
        let addr = sim.spawn("127.0.0.1:0".parse().expect("addr")).await.expect("listen");
        Self {
            url: format!("http://{addr}"),
            http: reqwest::Client::new(),
        }
    }

    async fn control(&self, path: &str, body: Value) {
        let r = self
            .http
            .post(format!("{}/_sim/{path}", self.url))
            .body(body.to_string())
            .send()
            .await
            .expect("sim");
        assert!(r.status().is_success());
    }

    async fn list(&self, what: &str) -> Vec<Value> {
        let r = self
            .http
            .get(format!("{}/_sim/{what}", self.url))
            .send()
            .await
            .expect("sim");
        serde_json::from_str(&r.text().await.expect("body")).expect("json")
    }

    fn client(&self, attempt_timeout: Duration) -> TelesignClient {
        let retry = RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(100),
            attempt_timeout,
        };
        TelesignClient::new(Some(self.url.clone()), retry).expect("client")
    }
}

fn creds(key: &str) -> Credentials {
    Credentials::new("CUSTOMER-1", key).expect("key")
}

fn sms(text: &str) -> SendSms<'_> {
    SendSms {
        phone_number: "15555550100",
        message: text,
        message_type: "ARN",
        sender_id: Some("14252306549"),
        external_id: Some("abc-123"),
        callback_url: None,
    }
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(10)
}

#[tokio::test]
async fn send_is_accepted_with_a_reference_and_the_text_arrives_intact() {
    let sim = Sim::start(CustomerState::Active).await;
    let text = "Héllo & welcome + 100% ~ 😀 a=b";
    let answer = sim
        .client(Duration::from_secs(2))
        .send_sms(&creds(KEY), ApiHost::Standard, &sms(text), soon())
        .await
        .expect("accepted");
    assert_eq!(answer.status.code, 290);
    assert_eq!(answer.reference_id.len(), 32);
    let messages = sim.list("messages").await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["message"], text, "the signed bytes are the sent bytes");
    assert_eq!(messages[0]["sender_id"], "14252306549");
    assert_eq!(messages[0]["external_id"], "abc-123");
    assert_eq!(sim.list("requests").await[0]["auth_scheme"], "tsa");
}

#[tokio::test]
async fn each_refusal_is_classified_with_telesign_code() {
    let cases = [
        (
            CustomerState::Active,
            "EXAMPLEkeyEXAMPLEkeyEXAMPLEkey==",
            Some(10008),
            FailureKind::InvalidCredentials,
        ),
        (
            CustomerState::Suspended,
            KEY,
            Some(10010),
            FailureKind::AccountSuspended,
        ),
        (
            CustomerState::SmsDisabled,
            KEY,
            Some(10011),
            FailureKind::ProductNotEnabled,
        ),
        (CustomerState::WrongHost, KEY, Some(10031), FailureKind::WrongHost),
    ];
    for (state, key, code, kind) in cases {
        let sim = Sim::start(state).await;
        let err = sim
            .client(Duration::from_secs(2))
            .send_sms(&creds(key), ApiHost::Standard, &sms("hi"), soon())
            .await
            .expect_err("refused");
        let TelesignError::Failure(f) = err else {
            panic!("{err:?}")
        };
        assert_eq!((f.code, f.kind, f.http_status), (code, kind, 401), "{state:?}");
        assert_eq!(sim.list("requests").await.len(), 1, "a refusal is not retried");
    }
}

#[tokio::test]
async fn invalid_request_keeps_telesign_code_and_text() {
    let sim = Sim::start(CustomerState::Active).await;
    let client = sim.client(Duration::from_secs(2));
    let mut bad = sms("hi");
    bad.phone_number = "+15555550100";
    let TelesignError::Failure(f) = client
        .send_sms(&creds(KEY), ApiHost::Standard, &bad, soon())
        .await
        .expect_err("refused")
    else {
        panic!("not a failure")
    };
    assert_eq!((f.code, f.kind), (Some(11000), FailureKind::InvalidRequest));
    assert!(f.description.contains("phone_number"));
    let long = "a".repeat(1601);
    let TelesignError::Failure(f) = client
        .send_sms(&creds(KEY), ApiHost::Standard, &sms(&long), soon())
        .await
        .expect_err("refused")
    else {
        panic!("not a failure")
    };
    assert_eq!(f.code, Some(11009));
}

#[tokio::test]
async fn rate_limit_and_unavailability_are_retried_with_fresh_nonces() {
    let sim = Sim::start(CustomerState::Active).await;
    sim.control("faults", json!({"kind": "http", "http_status": 429, "count": 1}))
        .await;
    sim.control(
        "faults",
        json!({"kind": "http", "http_status": 503, "code": 10000, "count": 1}),
    )
    .await;
    let answer = sim
        .client(Duration::from_secs(2))
        .send_sms(&creds(KEY), ApiHost::Standard, &sms("hi"), soon())
        .await
        .expect("third attempt succeeds");
    assert_eq!(answer.status.code, 290);
    let requests = sim.list("requests").await;
    let statuses: Vec<u64> = requests
        .iter()
        .map(|r| r["answered_status"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(statuses, vec![429, 503, 200]);
    let mut nonces: Vec<&str> = requests.iter().map(|r| r["nonce"].as_str().unwrap_or("")).collect();
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), 3, "every attempt has its own nonce");
    assert_eq!(sim.list("messages").await.len(), 1);
}

#[tokio::test]
async fn persistent_unavailability_ends_after_the_bounded_attempts() {
    let sim = Sim::start(CustomerState::Active).await;
    sim.control("faults", json!({"kind": "http", "http_status": 503, "count": 10}))
        .await;
    let err = sim
        .client(Duration::from_secs(2))
        .send_sms(&creds(KEY), ApiHost::Standard, &sms("hi"), soon())
        .await
        .expect_err("unavailable");
    assert!(
        matches!(err, TelesignError::Failure(ref f) if f.kind == FailureKind::Unavailable),
        "{err:?}"
    );
    assert_eq!(sim.list("requests").await.len(), 4);
    assert!(sim.list("messages").await.is_empty());
}

#[tokio::test]
async fn retries_stop_at_the_deadline() {
    let sim = Sim::start(CustomerState::Active).await;
    sim.control("faults", json!({"kind": "http", "http_status": 429, "count": 10}))
        .await;
    let retry = RetryPolicy {
        max_attempts: 10,
        base_delay: Duration::from_millis(300),
        max_delay: Duration::from_millis(300),
        attempt_timeout: Duration::from_secs(1),
    };
    let client = TelesignClient::new(Some(sim.url.clone()), retry).expect("client");
    let started = Instant::now();
    let err = client
        .send_sms(
            &creds(KEY),
            ApiHost::Standard,
            &sms("hi"),
            Instant::now() + Duration::from_millis(500),
        )
        .await
        .expect_err("rate limited");
    assert!(
        matches!(err, TelesignError::Failure(ref f) if f.kind == FailureKind::RateLimited),
        "{err:?}"
    );
    // Backoffs of 150 to 300 ms inside a 500 ms budget: two or three attempts, and the answer
    // comes when the budget is spent, not after the ten attempts the policy would allow.
    let attempts = sim.list("requests").await.len();
    assert!((2..=3).contains(&attempts), "{attempts} attempts");
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_dropped_connection_after_sending_is_an_unknown_outcome_never_resent() {
    let sim = Sim::start(CustomerState::Active).await;
    sim.control("faults", json!({"kind": "drop", "count": 1})).await;
    let err = sim
        .client(Duration::from_secs(2))
        .send_sms(&creds(KEY), ApiHost::Standard, &sms("hi"), soon())
        .await
        .expect_err("no answer");
    assert!(matches!(err, TelesignError::OutcomeUnknown(_)), "{err:?}");
    assert_eq!(sim.list("requests").await.len(), 1, "not sent twice");
    assert_eq!(sim.list("messages").await.len(), 1, "TeleSign did take it");
}

#[tokio::test]
async fn a_timeout_after_sending_is_an_unknown_outcome_never_resent() {
    let sim = Sim::start(CustomerState::Active).await;
    sim.control("faults", json!({"kind": "slow", "delay_ms": 1500, "count": 1}))
        .await;
    let err = sim
        .client(Duration::from_millis(300))
        .send_sms(&creds(KEY), ApiHost::Standard, &sms("hi"), soon())
        .await
        .expect_err("timed out");
    assert!(matches!(err, TelesignError::OutcomeUnknown(_)), "{err:?}");
    assert_eq!(sim.list("requests").await.len(), 1, "not sent twice");
    assert_eq!(sim.list("messages").await.len(), 1, "TeleSign did take it");
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_reported_unreachable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(20),
        attempt_timeout: Duration::from_secs(1),
    };
    let client = TelesignClient::new(Some(url), retry).expect("client");
    let err = client
        .send_sms(&creds(KEY), ApiHost::Standard, &sms("hi"), soon())
        .await
        .expect_err("refused");
    assert!(matches!(err, TelesignError::Unreachable(_)), "{err:?}");
}

#[tokio::test]
async fn message_status_is_read_and_unknown_references_are_not_found() {
    let sim = Sim::start(CustomerState::Active).await;
    let client = sim.client(Duration::from_secs(2));
    let sent = client
        .send_sms(&creds(KEY), ApiHost::Standard, &sms("hi"), soon())
        .await
        .expect("sent");
    let status = client
        .message_status(&creds(KEY), ApiHost::Standard, &sent.reference_id, soon())
        .await
        .expect("found");
    assert_eq!(status.reference_id, sent.reference_id);
    let TelesignError::Failure(f) = client
        .message_status(
            &creds(KEY),
            ApiHost::Standard,
            "0123456789ABCDEF0123456789ABCDEF",
            soon(),
        )
        .await
        .expect_err("unknown")
    else {
        panic!("not a failure")
    };
    assert_eq!((f.code, f.kind), (Some(10017), FailureKind::NotFound));
}

#[tokio::test]
async fn the_validation_probe_tells_every_outcome() {
    let cases = [
        (CustomerState::Active, KEY, Verdict::Valid),
        (
            CustomerState::Active,
            "EXAMPLEkeyEXAMPLEkeyEXAMPLEkey==",
            Verdict::InvalidCredentials,
        ),
        (CustomerState::Suspended, KEY, Verdict::AccountSuspended),
        (CustomerState::SmsDisabled, KEY, Verdict::ProductNotEnabled),
        (CustomerState::WrongHost, KEY, Verdict::WrongHost),
    ];
    for (state, key, verdict) in cases {
        let sim = Sim::start(state).await;
        let found = sim
            .client(Duration::from_secs(2))
            .probe(&creds(key), ApiHost::Standard, soon())
            .await
            .expect("decided");
        assert_eq!(found.verdict, verdict, "{state:?}");
    }
    let sim = Sim::start(CustomerState::Active).await;
    sim.control("faults", json!({"kind": "http", "http_status": 503, "count": 10}))
        .await;
    assert!(
        sim.client(Duration::from_secs(2))
            .probe(&creds(KEY), ApiHost::Standard, soon())
            .await
            .is_err(),
        "unavailable is undetermined"
    );
}

/// TeleSign's own checks, as the simulator plays them: a stale date, a reused nonce, Basic.
#[tokio::test]
async fn the_simulator_refuses_stale_dates_reused_nonces_and_accepts_basic() {
    use shared::telesign::sign::{basic_authorization, tsa_authorization, RequestToSign};
    let sim = Sim::start(CustomerState::Active).await;
    let http = reqwest::Client::new();
    let get = |auth: String, date: String, nonce: &'static str| {
        http.get(format!("{}/v1/messaging/0123456789ABCDEF0123456789ABCDEF", sim.url))
            .header("authorization", auth)
            .header("date", date)
            .header("x-ts-nonce", nonce)
            .send()
    };
    let signed = |date: &str, nonce: &str| {
        tsa_authorization(
            &creds(KEY),
            &RequestToSign {
                method: "GET",
                resource: "/v1/messaging/0123456789ABCDEF0123456789ABCDEF",
                content_type: "",
                body: "",
                date,
                nonce,
            },
        )
    };
    let code = |v: Value| v["status"]["code"].as_u64();
    let old = "Wed, 14 Dec 2016 18:20:12 GMT".to_owned();
    let r = get(
        signed(&old, "A1592C6F-E384-4CDB-BC42-C3AB970369E9"),
        old,
        "A1592C6F-E384-4CDB-BC42-C3AB970369E9",
    )
    .await
    .expect("answer");
    assert_eq!(code(r.json_value().await), Some(10004));
    let now = shared::telesign::sign::http_date_now();
    let nonce = "B1592C6F-E384-4CDB-BC42-C3AB970369E9";
    let first = get(signed(&now, nonce), now.clone(), nonce).await.expect("answer");
    assert_eq!(code(first.json_value().await), Some(10017));
    let again = get(signed(&now, nonce), now.clone(), nonce).await.expect("answer");
    assert_eq!(code(again.json_value().await), Some(10002));
    let basic = http
        .get(format!("{}/v1/messaging/0123456789ABCDEF0123456789ABCDEF", sim.url))
        .header("authorization", basic_authorization(&creds(KEY)))
        .send()
        .await
        .expect("answer");
    assert_eq!(code(basic.json_value().await), Some(10017), "Basic authenticates");
}

trait JsonValue {
    async fn json_value(self) -> Value;
}

impl JsonValue for reqwest::Response {
    async fn json_value(self) -> Value {
        serde_json::from_str(&self.text().await.expect("body")).expect("json")
    }
}
