//! Cold starts: each function's release `bootstrap` under a Lambda runtime API of this harness.

use std::convert::Infallible;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::setup::{fixture, number, Fixture};

/// What the runtime API saw of one process: its first `next`, and each invocation's delivery and
/// answer.
#[derive(Default)]
struct Observed {
    ready: Option<Instant>,
    sent: Vec<Instant>,
    answered: Vec<Instant>,
    answer: Option<Value>,
    error: Option<String>,
}

/// A Lambda runtime API that hands one process its events in turn (the first one cold, the rest
/// warm) and notes when each was delivered and answered.
struct RuntimeApi {
    events: Mutex<std::collections::VecDeque<Value>>,
    total: usize,
    observed: Mutex<Observed>,
    done: Notify,
}

fn response(status: u16, body: String, headers: &[(&str, String)]) -> hyper::Response<Full<Bytes>> {
    let mut r = hyper::Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    for (k, v) in headers {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(k.as_bytes()),
            http::HeaderValue::from_str(v),
        ) {
            r.headers_mut().insert(name, value);
        }
    }
    r
}

impl RuntimeApi {
    async fn handle(self: Arc<Self>, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
        let path = req.uri().path().to_owned();
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        if path.ends_with("/runtime/invocation/next") {
            let event = self.events.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
            let Some(event) = event else {
                // Every event handed out: later polls wait until the process is stopped.
                std::future::pending::<()>().await;
                return response(500, String::new(), &[]);
            };
            {
                let mut o = self.observed.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                o.ready.get_or_insert(now);
                o.sent.push(now);
            }
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64 + 10_000)
                .unwrap_or(0);
            return response(
                200,
                event.to_string(),
                &[
                    ("lambda-runtime-aws-request-id", uuid::Uuid::new_v4().to_string()),
                    ("lambda-runtime-deadline-ms", deadline.to_string()),
                    (
                        "lambda-runtime-invoked-function-arn",
                        "arn:aws:lambda:us-east-1:123456789012:function:bench".into(),
                    ),
                    (
                        "lambda-runtime-trace-id",
                        "Root=1-00000000-000000000000000000000000".into(),
                    ),
                ],
            );
        }
        let mut o = self.observed.lock().unwrap_or_else(|p| p.into_inner());
        if path.ends_with("/response") {
            o.answered.push(Instant::now());
            if o.answer.is_none() {
                o.answer = serde_json::from_slice(&body).ok();
            }
        } else {
            o.error = Some(String::from_utf8_lossy(&body).into_owned());
        }
        let finished = o.error.is_some() || o.answered.len() == self.total;
        drop(o);
        if finished {
            self.done.notify_one();
        }
        response(202, "{}".into(), &[])
    }
}

async fn serve(api: Arc<RuntimeApi>, listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let api = api.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let api = api.clone();
                async move { Ok::<_, Infallible>(api.handle(req).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn zipped_size(bootstrap: &Path) -> Result<u64, String> {
    let zip = std::env::temp_dir().join(format!("bench-{}.zip", uuid::Uuid::new_v4().simple()));
    let status = Command::new("python3")
        .args(["-c", "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED, compresslevel=9) as z: z.write(sys.argv[2], 'bootstrap')"])
        .arg(&zip)
        .arg(bootstrap)
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err("zip failed".into());
    }
    let size = std::fs::metadata(&zip).map(|m| m.len()).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(zip);
    Ok(size)
}

/// The API Gateway event of `method path` with `body`, as the gateway would hand it over, with
/// the authorizer's claims of `caller` (`sub`, role) on a protected route.
fn event(method: &str, path: &str, body: Option<Vec<u8>>, headers: &[(&str, String)]) -> Result<Value, String> {
    event_as(None, method, path, body, headers)
}

fn event_as(
    caller: Option<(&str, &str)>,
    method: &str,
    path: &str,
    body: Option<Vec<u8>>,
    headers: &[(&str, String)],
) -> Result<Value, String> {
    let route_path = path.split('?').next().unwrap_or(path);
    let (route, params) =
        local_gateway::routes::find(method, route_path).map_err(|_| format!("no route {method} {path}"))?;
    let mut builder = http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "bench.local");
    for (k, v) in headers {
        builder = builder.header(*k, v);
    }
    let (parts, _) = builder.body(()).map_err(|e| e.to_string())?.into_parts();
    let event = local_gateway::to_event(&parts, body.as_deref().unwrap_or_default(), route, &params);
    let mut event = serde_json::to_value(event).map_err(|e| e.to_string())?;
    if let Some((sub, role)) = caller {
        event["requestContext"]["authorizer"] = json!({"jwt": {"claims": {
            "sub": sub, "cognito:groups": format!("[{role}]"), "iss": "bench", "aud": "bench"}}});
    }
    Ok(event)
}

/// What one cold start measured.
pub struct Sample {
    /// From the process's start to its first `next` call (Lambda's init).
    pub ready: Duration,
    /// From the event's delivery to the answer (the first invocation).
    pub first: Duration,
    /// The invocations after the first, in the same process (warm), each delivery to answer.
    pub warm: Vec<Duration>,
    /// The answer's status code.
    pub status: u64,
    /// Peak RSS of the process.
    pub peak_rss_kib: u64,
    /// CPU time of the process (all its threads) from its start to its answer.
    pub cpu: Duration,
}

/// On-CPU time of every thread of `pid` (the first field of each thread's `schedstat`, in ns).
fn cpu_time(pid: u32) -> Duration {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Duration::ZERO;
    };
    let ns: u64 = tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(ns)
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub fn bootstrap(lambda_dir: &str, function: &str) -> Result<PathBuf, String> {
    let bootstrap = PathBuf::from(lambda_dir).join(function).join("bootstrap");
    if !bootstrap.exists() {
        return Err(format!(
            "{} is missing: build with `cargo lambda build --release`",
            bootstrap.display()
        ));
    }
    Ok(bootstrap)
}

/// Starts `command` (a bootstrap, or the Python peer) under a runtime API of its own that hands
/// it `events` one after the other, in `cap`'s cgroup when given, and times it to its first
/// `next` and each answer.
pub async fn cold_start(
    mut command: Command,
    function: &str,
    events: Vec<Value>,
    cap: Option<&crate::cpu::CpuCap>,
) -> Result<Sample, String> {
    let runtime = Arc::new(RuntimeApi {
        total: events.len(),
        events: Mutex::new(events.into()),
        observed: Mutex::default(),
        done: Notify::new(),
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let server = tokio::spawn(serve(runtime.clone(), listener));
    command
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", function)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_LAMBDA_LOG_LEVEL", "WARN")
        // Lambda sets both; boto3 reads only the second.
        .env(
            "AWS_DEFAULT_REGION",
            std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(cap) = cap {
        cap.apply(&mut command);
    }
    let started = Instant::now();
    let mut child = command.spawn().map_err(|e| format!("{function}: {e}"))?;
    let waited = tokio::time::timeout(Duration::from_secs(30), runtime.done.notified()).await;
    let rss = peak_rss_kib(child.id());
    let cpu = cpu_time(child.id());
    let _ = child.kill();
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    server.abort();
    if waited.is_err() {
        std::io::stderr().write_all(&output.stderr).ok();
        return Err(format!("{function} did not answer within 30 s"));
    }
    let o = runtime.observed.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(e) = &o.error {
        return Err(format!("{function} failed: {e}"));
    }
    let ready = o.ready.map(|r| r.duration_since(started)).unwrap_or_default();
    let mut each = o.sent.iter().zip(&o.answered).map(|(a, b)| b.duration_since(*a));
    let first = each.next().unwrap_or_default();
    let warm = each.collect();
    let status = o.answer.as_ref().and_then(|a| a["statusCode"].as_u64()).unwrap_or(0);
    if status >= 500 {
        std::io::stderr().write_all(&output.stderr).ok();
    }
    Ok(Sample {
        ready,
        first,
        warm,
        status,
        peak_rss_kib: rss.unwrap_or(0),
        cpu,
    })
}

/// The functions and the invocation each one's cold start answers.
const CASES: [(&str, &str); 6] = [
    ("inbound-callback", "inbound SMS"),
    ("outbound-send", "reply"),
    ("conversations", "list"),
    ("accounts", "read account"),
    ("console", "page"),
    ("validate-credentials", "validate stored credentials"),
];

/// An account with a conversation, made through the local gateway, and the events of each case.
pub struct Scenario {
    fx: Fixture,
    customer: String,
    conversation: String,
}

impl Scenario {
    pub async fn new() -> Result<Self, String> {
        let api_url = std::env::var("SMS_BASE_URL").map_err(|_| "SMS_BASE_URL is not set: run scripts/bench.sh")?;
        let http = reqwest::Client::new();
        let fx = fixture(&http, &api_url).await?;
        // A conversation to read and to reply to.
        let customer = number();
        let (body, auth) = fx.inbound(&customer, "hello");
        http.post(format!("{api_url}{}", fx.callback_path()))
            .header("authorization", auth)
            .body(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let list: Value = serde_json::from_str(
            &http
                .get(format!("{api_url}/conversations?account_id={}", fx.account_id))
                .bearer_auth(&fx.supervisor_token)
                .send()
                .await
                .map_err(|e| e.to_string())?
                .text()
                .await
                .map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?;
        let conversation = list["conversations"][0]["conversation_id"]
            .as_str()
            .ok_or("no conversation")?
            .to_owned();
        Ok(Self {
            fx,
            customer,
            conversation,
        })
    }

    /// A fresh event for `function` (a new TeleSign reference for every callback).
    pub fn event(&self, function: &str) -> Result<Value, String> {
        let fx = &self.fx;
        match function {
            "inbound-callback" => {
                let (body, auth) = fx.inbound(&self.customer, "cold start");
                event("POST", &fx.callback_path(), Some(body), &[("authorization", auth)])
            }
            "outbound-send" => event_as(
                Some((crate::setup::SUPERVISOR, "supervisor")),
                "POST",
                &format!("/conversations/{}/messages", self.conversation),
                Some(json!({"text": "cold reply"}).to_string().into_bytes()),
                &[],
            ),
            // A business-initiated message to a number typed as a person types it: the first
            // typed number of a sandbox loads the phone number parser's metadata.
            "outreach" => {
                let to = format!(
                    "({}) {}-{}",
                    &self.customer[1..4],
                    &self.customer[4..7],
                    &self.customer[7..]
                );
                let body = json!({"account_id": fx.account_id, "from": fx.number, "to": to, "text": "cold outreach"});
                event_as(
                    Some((crate::setup::SUPERVISOR, "supervisor")),
                    "POST",
                    "/messages",
                    Some(body.to_string().into_bytes()),
                    &[],
                )
            }
            "conversations" => event_as(
                Some((crate::setup::SUPERVISOR, "supervisor")),
                "GET",
                &format!("/conversations?account_id={}", fx.account_id),
                None,
                &[],
            ),
            "accounts" => event_as(
                Some((crate::setup::SUPERVISOR, "supervisor")),
                "GET",
                &format!("/accounts/{}", fx.account_id),
                None,
                &[],
            ),
            "console" => event("GET", "/console", None, &[]),
            "validate-credentials" => event_as(
                Some(("bench-operator", "operator")),
                "POST",
                &format!("/accounts/{}/validate", fx.account_id),
                Some(b"{}".to_vec()),
                &[],
            ),
            other => Err(format!("no case for {other}")),
        }
    }
}

pub async fn run(lambda_dir: &str) -> Result<(), String> {
    let scenario = Scenario::new().await?;
    println!("\nCold starts: release bootstrap of each function under this harness's Lambda runtime API,");
    println!("against the local stack (times include the first DynamoDB / Secrets Manager / TeleSign requests).\n");
    println!("| function | invocation | ready ms | first invocation ms | status | peak RSS MiB | zip KiB |");
    println!("|---|---|---|---|---|---|---|");
    for (function, what) in CASES {
        let bootstrap = bootstrap(lambda_dir, function)?;
        let sample = cold_start(
            Command::new(&bootstrap),
            function,
            vec![scenario.event(function)?],
            None,
        )
        .await?;
        println!(
            "| {function} | {what} | {:.1} | {:.1} | {} | {:.1} | {} |",
            ms(sample.ready),
            ms(sample.first),
            sample.status,
            sample.peak_rss_kib as f64 / 1024.0,
            zipped_size(&bootstrap)? / 1024,
        );
    }
    Ok(())
}

/// What `channel-bench cold-matrix` runs.
pub struct Matrix {
    /// Where the bootstraps are (`<dir>/<function>/bootstrap`).
    pub lambda_dir: String,
    /// Cold starts per function and setting; the table shows their median and range.
    pub runs: usize,
    /// The memory sizes whose CPU share to impose (full CPU is always measured first).
    pub memory_mb: Vec<u64>,
    /// Only these functions (all when empty).
    pub only: Vec<String>,
    /// The Python peer of inbound-callback: the interpreter and its script.
    pub python: Option<(String, String)>,
    /// Ports of the TLS endpoints in front of DynamoDB Local, moto and the simulator.
    pub tls_ports: [u16; 3],
    /// Where the bench's CA is written.
    pub state_dir: PathBuf,
}

/// One line of the matrix: a function (or the peer) with one kind of endpoint at one CPU share.
struct Row {
    name: String,
    mode: &'static str,
    cpu: String,
    samples: Vec<Sample>,
    connections: Vec<u64>,
}

/// Plain HTTP to the emulators, or HTTPS through the bench's TLS endpoints.
#[derive(Clone, Copy, PartialEq)]
enum Endpoints {
    Plain,
    Tls,
}

/// The bench's CA and its TLS endpoints in front of DynamoDB Local, moto and the simulator, with
/// the environment that points a function (or boto3) at them through HTTPS.
pub async fn tls_endpoints(
    ports: [u16; 3],
    state_dir: &Path,
) -> Result<(crate::tls::BenchCa, Vec<(&'static str, String)>), String> {
    let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set: run scripts/bench.sh"));
    let ca = crate::tls::BenchCa::generate(state_dir)?;
    let ddb = ca.proxy(ports[0], &var("AWS_ENDPOINT_URL_DYNAMODB")?).await?;
    let moto = ca.proxy(ports[1], &var("AWS_ENDPOINT_URL_SECRETS_MANAGER")?).await?;
    let sim = ca.proxy(ports[2], &var("TELESIGN_BASE_URL")?).await?;
    let env = vec![
        ("AWS_ENDPOINT_URL_DYNAMODB", ddb),
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto),
        ("TELESIGN_BASE_URL", sim),
        // The functions: compiled-in roots plus the bench's CA.
        (shared::tls::EXTRA_CA_CERTS, ca.ca_file.display().to_string()),
        // Clients that read the system store (an earlier build, boto3) get the system bundle
        // with the bench's CA appended, so they do the same work as against AWS.
        ("SSL_CERT_FILE", ca.bundle_file.display().to_string()),
        ("SSL_CERT_DIR", "/etc/ssl/certs".to_owned()),
        ("AWS_CA_BUNDLE", ca.bundle_file.display().to_string()),
        ("REQUESTS_CA_BUNDLE", ca.bundle_file.display().to_string()),
    ];
    Ok((ca, env))
}

/// Cold starts of every function (and the Python peer), plain HTTP and TLS, at full CPU and at
/// Lambda's CPU share of each memory size: median and range of init, first invocation and both.
pub async fn matrix(m: Matrix) -> Result<(), String> {
    let scenario = Scenario::new().await?;
    let (ca, tls_env) = tls_endpoints(m.tls_ports, &m.state_dir).await?;

    let mut rows: Vec<Row> = Vec::new();
    let mut levels: Vec<Option<u64>> = vec![None];
    levels.extend(m.memory_mb.iter().copied().map(Some));
    for level in levels {
        let cap = level.map(crate::cpu::CpuCap::lambda_share).transpose()?;
        let cpu = match (&cap, level) {
            (Some(cap), Some(mb)) => format!("{mb} MB ({:.1} %)", cap.share * 100.0),
            _ => "full".to_owned(),
        };
        for endpoints in [Endpoints::Plain, Endpoints::Tls] {
            let mut subjects: Vec<(String, Command, &str)> = Vec::new();
            for (function, _) in CASES {
                if !m.only.is_empty() && !m.only.iter().any(|o| o == function) {
                    continue;
                }
                subjects.push((
                    function.to_owned(),
                    Command::new(bootstrap(&m.lambda_dir, function)?),
                    function,
                ));
            }
            if let Some((python, script)) = &m.python {
                let mut command = Command::new(python);
                command.arg(script);
                subjects.push((
                    "Python peer of inbound-callback".to_owned(),
                    command,
                    "inbound-callback",
                ));
            }
            for (name, mut command, case) in subjects {
                if endpoints == Endpoints::Tls {
                    command.envs(tls_env.iter().map(|(k, v)| (*k, v)));
                }
                let mut samples = Vec::new();
                let mut connections = Vec::new();
                for _ in 0..m.runs {
                    let mut run = Command::new(command.get_program());
                    run.args(command.get_args());
                    for (k, v) in command.get_envs() {
                        if let Some(v) = v {
                            run.env(k, v);
                        }
                    }
                    let before = ca.connections.load(std::sync::atomic::Ordering::Relaxed);
                    let sample = cold_start(run, case, vec![scenario.event(case)?], cap.as_ref()).await?;
                    connections.push(ca.connections.load(std::sync::atomic::Ordering::Relaxed) - before);
                    if sample.status >= 400 {
                        return Err(format!("{name} answered {}", sample.status));
                    }
                    samples.push(sample);
                }
                let mode = if endpoints == Endpoints::Tls {
                    "TLS"
                } else {
                    "plain HTTP"
                };
                rows.push(Row {
                    name,
                    mode,
                    cpu: cpu.clone(),
                    samples,
                    connections,
                });
            }
        }
    }

    println!(
        "\nCold starts, {} runs each: median [min-max] ms. init = start to the first `next`; first = the",
        m.runs
    );
    println!("first invocation (event to answer); TLS = every DynamoDB, Secrets Manager and TeleSign call over");
    println!("HTTPS through the bench's TLS endpoints (its own CA); CPU = full, or Lambda's share of that memory;");
    println!("CPU time = the process's own, start to answer (all threads); TLS connections = opened per cold start.\n");
    println!("| function | endpoints | CPU | init | first invocation | init + first | CPU time | TLS connections |");
    println!("|---|---|---|---|---|---|---|---|");
    for Row {
        name,
        mode,
        cpu,
        samples,
        mut connections,
    } in rows
    {
        connections.sort();
        let opened = connections[connections.len() / 2];
        let stat = |f: &dyn Fn(&Sample) -> f64| {
            let mut v: Vec<f64> = samples.iter().map(f).collect();
            v.sort_by(f64::total_cmp);
            let median = if v.len() % 2 == 1 {
                v[v.len() / 2]
            } else {
                (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
            };
            format!("{median:.1} [{:.1}-{:.1}]", v[0], v[v.len() - 1])
        };
        println!(
            "| {name} | {mode} | {cpu} | {} | {} | {} | {} | {opened} |",
            stat(&|s| ms(s.ready)),
            stat(&|s| ms(s.first)),
            stat(&|s| ms(s.ready + s.first)),
            stat(&|s| ms(s.cpu)),
        );
    }
    Ok(())
}
