//! `channel-bench`: benchmarks that run the real functions and print figures.
//!
//! - `channel-bench cold <lambda dir>`: each function's release `bootstrap` started under a local
//!   Lambda runtime API of this harness: time to ready (its first `next` call), the first
//!   invocation's latency, peak RSS, and the zipped size.
//! - `channel-bench cold-matrix <lambda dir> [--runs N] [--memory 128,256,512,1024] [--only f,g]
//!   [--python PYTHON SCRIPT] [--tls-ports D,M,S] [--state DIR]`: cold starts of every function
//!   (and the Python peer of inbound-callback), plain HTTP and through TLS endpoints of the bench's
//!   own CA, at full CPU and under the cgroup CPU quota of Lambda's share at each memory size:
//!   median and range of init, first invocation and both.
//! - `channel-bench sizes <lambda dir> [--runs N] [--warm K] [--memory 128,...] [--only f,g]
//!   [--tls-ports D,M,S] [--state DIR]`: each function over TLS under Lambda's CPU share of each
//!   memory size, a cold start and K warm invocations per process, with the cost per million
//!   invocations at each size: the figures the template's `MemorySize` is chosen from.
//! - `channel-bench warm`: every function in this process behind the local gateway, against the
//!   local stack (DynamoDB Local, moto, the TeleSign simulator): per operation the AWS requests
//!   (counted by the SDK interceptor), TeleSign requests, CPU time and p50/p99 latency at 1 and 8
//!   concurrent, and the cost per million messages those counts mean at AWS's public prices.
//!
//! - `channel-bench load [seconds] [concurrency] [--enforce]`: inbound SMS into one account as fast
//!   as the machine answers, through the DynamoDB fault proxy's capacity model: each key's units a
//!   second scaled to 1,000 callbacks a second, against one partition's limits (`load.rs`).
//!
//! The local stack's environment must be set (`scripts/bench.sh` does it).

mod cold;
mod cost;
mod cpu;
mod load;
mod sizes;
mod stack;
mod tls;
mod warm;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("cold") => cold::run(args.get(1).map(String::as_str).unwrap_or("target/lambda")).await,
        Some("cold-matrix") => match matrix_options(&args[1..]) {
            Ok(m) => cold::matrix(m).await,
            Err(e) => Err(e),
        },
        Some("sizes") => match matrix_options(&args[1..]) {
            Ok(m) => sizes::run(sizes_of(m)).await,
            Err(e) => Err(e),
        },
        Some("load") => {
            let numbers: Vec<u64> = args[1..].iter().filter_map(|a| a.parse().ok()).collect();
            let enforce = args.iter().any(|a| a == "--enforce");
            load::run(
                numbers.first().copied().unwrap_or(60),
                numbers.get(1).map_or(16, |&c| c as usize),
                enforce,
            )
            .await
        }
        Some("warm") => warm::run(args.get(1).and_then(|n| n.parse().ok()).unwrap_or(200)).await,
        _ => Err(
            "usage: channel-bench cold [target/lambda] | channel-bench cold-matrix [target/lambda] [options] \
             | channel-bench sizes [target/lambda] [options] | channel-bench warm [iterations] \
             | channel-bench load [seconds] [concurrency] [--enforce]"
                .into(),
        ),
    };
    if let Err(e) = result {
        eprintln!("channel-bench: {e}");
        std::process::exit(1);
    }
}

/// The options of `sizes` (those of `cold-matrix`; `--warm K` warm invocations, default 10; the
/// sizes default to 128, 256, 512, 1024 and 1769 MB, one full vCPU).
fn sizes_of(m: cold::Matrix) -> sizes::Sizes {
    let args: Vec<String> = std::env::args().collect();
    let warm = args
        .iter()
        .position(|a| a == "--warm")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let memory = if args.iter().any(|a| a == "--memory") {
        m.memory_mb
    } else {
        vec![128, 256, 512, 1024, 1769]
    };
    sizes::Sizes {
        lambda_dir: m.lambda_dir,
        runs: m.runs,
        warm,
        memory_mb: memory,
        only: m.only,
        tls_ports: m.tls_ports,
        state_dir: m.state_dir,
    }
}

/// Reads the options of `cold-matrix`.
fn matrix_options(args: &[String]) -> Result<cold::Matrix, String> {
    let mut m = cold::Matrix {
        lambda_dir: "target/lambda".into(),
        runs: 5,
        memory_mb: vec![1024, 512, 256, 128],
        only: Vec::new(),
        python: None,
        tls_ports: [28443, 28444, 28445],
        state_dir: std::env::temp_dir().join("sms-channel-bench"),
    };
    let list = |v: Option<&String>| -> Result<Vec<String>, String> {
        Ok(v.ok_or("a list is missing")?
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect())
    };
    let number = |v: &str| v.parse::<u64>().map_err(|_| format!("{v}: not a number"));
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--runs" => m.runs = number(it.next().ok_or("--runs N")?)?.max(1) as usize,
            "--memory" => m.memory_mb = list(it.next())?.iter().map(|v| number(v)).collect::<Result<_, _>>()?,
            "--only" => m.only = list(it.next())?,
            "--python" => {
                let python = it.next().ok_or("--python PYTHON SCRIPT")?.clone();
                let script = it.next().ok_or("--python PYTHON SCRIPT")?.clone();
                m.python = Some((python, script));
            }
            "--tls-ports" => {
                let ports: Vec<u64> = list(it.next())?.iter().map(|v| number(v)).collect::<Result<_, _>>()?;
                let [d, s, t] = ports[..] else {
                    return Err("--tls-ports DYNAMODB,MOTO,SIMULATOR".into());
                };
                m.tls_ports = [d, s, t].map(|p| p as u16);
            }
            "--state" => m.state_dir = it.next().ok_or("--state DIR")?.into(),
            // `sizes` only (read by `sizes_of`).
            "--warm" => {
                it.next().ok_or("--warm K")?;
            }
            dir if !dir.starts_with("--") => m.lambda_dir = dir.to_owned(),
            other => return Err(format!("{other}: unknown option")),
        }
    }
    Ok(m)
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
        /// A token of the supervisor member the desk's operations run as (they pay the policy's
        /// membership read, as agents and supervisors do).
        pub supervisor_token: String,
    }

    /// The member the desk's operations run as.
    pub const SUPERVISOR: &str = "bench-supervisor";

    /// A number no run has used.
    pub fn number() -> String {
        format!("1425{}", rand::rng().random_range(2_000_000..10_000_000u32))
    }

    async fn call(
        http: &reqwest::Client,
        method: &str,
        url: &str,
        token: Option<&str>,
        body: Value,
    ) -> Result<Value, String> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        let mut req = http.request(method, url).header("content-type", "application/json");
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let r = req
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
        call(
            http,
            "POST",
            &format!("{sim}/_sim/customers"),
            None,
            json!({"customer_id": customer_id, "api_key": key}),
        )
        .await?;
        let mint = |sub: &str, role: &str| json!({"sub": sub, "roles": [role], "ttl_seconds": 86400});
        let operator = call(
            http,
            "POST",
            &format!("{api}/_local/tokens"),
            None,
            mint("bench-operator", "operator"),
        )
        .await?;
        let operator = operator["token"].as_str().ok_or("no token")?.to_owned();
        let number = number();
        let account = call(
            http,
            "POST",
            &format!("{api}/accounts"),
            Some(&operator),
            json!({"name": "Bench", "customer_id": customer_id, "api_key": key,
                   "numbers": [{"number": number, "type": "long_code"}]}),
        )
        .await?;
        let account_id = account["account_id"].as_str().ok_or("no account id")?.to_owned();
        let member = format!("{api}/accounts/{account_id}/members/{SUPERVISOR}");
        call(http, "PUT", &member, Some(&operator), json!({"role": "supervisor"})).await?;
        let supervisor = call(
            http,
            "POST",
            &format!("{api}/_local/tokens"),
            None,
            mint(SUPERVISOR, "supervisor"),
        )
        .await?;
        let supervisor_token = supervisor["token"].as_str().ok_or("no token")?.to_owned();
        Ok(Fixture {
            api: api.to_owned(),
            account_id,
            customer_id,
            key,
            number,
            supervisor_token,
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
