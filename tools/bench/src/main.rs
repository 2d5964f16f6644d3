//! `channel-bench`: benchmarks that run the real functions and print figures.
//!
//! - `channel-bench cold <lambda dir>`: each function's release `bootstrap` started under a local
//!   Lambda runtime API of this harness: time to ready (its first `next` call), the first
//!   invocation's latency, peak RSS, and the zipped size.
//! - `channel-bench warm`: every function in this process behind the local gateway, against the
//!   local stack (DynamoDB Local, moto, the TeleSign simulator): per operation the AWS requests
//!   (counted by the SDK interceptor), TeleSign requests, CPU time and p50/p99 latency at 1 and 8
//!   concurrent, and the cost per million messages those counts mean at AWS's public prices.
//!
//! The local stack's environment must be set (`scripts/bench.sh` does it).

mod cold;
mod warm;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("cold") => cold::run(args.get(1).map(String::as_str).unwrap_or("target/lambda")).await,
        Some("warm") => warm::run(args.get(1).and_then(|n| n.parse().ok()).unwrap_or(200)).await,
        _ => Err("usage: channel-bench cold [target/lambda] | channel-bench warm [iterations]".into()),
    };
    if let Err(e) = result {
        eprintln!("channel-bench: {e}");
        std::process::exit(1);
    }
}

/// What the warm and cold runs share: a stack client that makes accounts and texts.
pub mod setup {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use rand::Rng;
    use serde_json::{json, Value};

    /// A TeleSign customer, registered with the simulator, and its account in the channel.
    pub struct Fixture {
        /// The channel's API used to create it.
        pub api: String,
        /// Account id.
        pub account_id: String,
        /// TeleSign customer id.
        pub customer_id: String,
        /// Its API key.
        pub key: String,
        /// The support number.
        pub number: String,
    }

    /// A number no run has used.
    pub fn number() -> String {
        format!("1425{}", rand::rng().random_range(2_000_000..10_000_000u32))
    }

    async fn post(http: &reqwest::Client, url: &str, body: Value) -> Result<Value, String> {
        let r = http
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let status = r.status();
        let text = r.text().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("{url}: {status} {text}"));
        }
        serde_json::from_str(&text).map_err(|e| e.to_string())
    }

    /// Registers a customer with the simulator and creates its account through `api`.
    pub async fn fixture(http: &reqwest::Client, api: &str) -> Result<Fixture, String> {
        let sim = std::env::var("SIM_URL").map_err(|_| "SIM_URL is not set: run scripts/bench.sh")?;
        let bytes: [u8; 32] = rand::rng().random();
        let key = STANDARD.encode(bytes);
        let customer_id = uuid::Uuid::new_v4().to_string().to_uppercase();
        post(
            http,
            &format!("{sim}/_sim/customers"),
            json!({"customer_id": customer_id, "api_key": key}),
        )
        .await?;
        let number = number();
        let account = post(
            http,
            &format!("{api}/accounts"),
            json!({"name": "Bench", "customer_id": customer_id, "api_key": key,
                   "numbers": [{"number": number, "type": "long_code"}]}),
        )
        .await?;
        let account_id = account["account_id"].as_str().ok_or("no account id")?.to_owned();
        Ok(Fixture {
            api: api.to_owned(),
            account_id,
            customer_id,
            key,
            number,
        })
    }

    impl Fixture {
        /// A signed inbound SMS callback body and its Authorization value.
        pub fn inbound(&self, from: &str, text: &str) -> (Vec<u8>, String) {
            let body = json!({"reference_id": uuid::Uuid::new_v4().simple().to_string().to_uppercase(),
                "sub_resource": "mo_sms", "status": {"code": 1500, "description": "Message received"},
                "submit_timestamp": "2026-11-25T10:00:00Z", "errors": [],
                "user_response": {"phone_number": from, "sender_id": self.number, "mo_message": text}})
            .to_string()
            .into_bytes();
            let auth = self.sign(&body);
            (body, auth)
        }

        /// The Authorization value TeleSign would send with `body`.
        pub fn sign(&self, body: &[u8]) -> String {
            let key = shared::telesign::ApiKey::parse(&self.key).expect("a key this harness made");
            shared::telesign::callback::callback_authorization(&self.customer_id, &key, body)
        }

        /// The callback path of the account.
        pub fn callback_path(&self) -> String {
            format!("/telesign/{}/callback", self.account_id)
        }
    }
}
