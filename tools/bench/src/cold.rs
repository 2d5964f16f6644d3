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

use crate::setup::{fixture, number};

/// What the runtime API saw of one cold start.
#[derive(Default)]
struct Observed {
    ready: Option<Instant>,
    event_sent: Option<Instant>,
    answered: Option<Instant>,
    answer: Option<Value>,
    error: Option<String>,
}

struct RuntimeApi {
    event: Mutex<Option<Value>>,
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
            let event = self.event.lock().unwrap_or_else(|p| p.into_inner()).take();
            let Some(event) = event else {
                // One invocation per process: later polls wait until the process is stopped.
                std::future::pending::<()>().await;
                return response(500, String::new(), &[]);
            };
            {
                let mut o = self.observed.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                o.ready = Some(now);
                o.event_sent = Some(now);
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
            o.answered = Some(Instant::now());
            o.answer = serde_json::from_slice(&body).ok();
        } else {
            o.error = Some(String::from_utf8_lossy(&body).into_owned());
        }
        drop(o);
        self.done.notify_one();
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

/// The API Gateway event of `method path` with `body`, as the gateway would hand it over.
fn event(method: &str, path: &str, body: Option<Vec<u8>>, headers: &[(&str, String)]) -> Result<Value, String> {
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
    serde_json::to_value(event).map_err(|e| e.to_string())
}

pub async fn run(lambda_dir: &str) -> Result<(), String> {
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

    let mut cases: Vec<(&str, &str, Value)> = Vec::new();
    let (body, auth) = fx.inbound(&customer, "cold start");
    cases.push((
        "inbound-callback",
        "inbound SMS",
        event("POST", &fx.callback_path(), Some(body), &[("authorization", auth)])?,
    ));
    let reply = json!({"text": "cold reply"}).to_string().into_bytes();
    cases.push((
        "outbound-send",
        "reply",
        event(
            "POST",
            &format!("/conversations/{conversation}/messages"),
            Some(reply),
            &[],
        )?,
    ));
    cases.push((
        "conversations",
        "list",
        event(
            "GET",
            &format!("/conversations?account_id={}", fx.account_id),
            None,
            &[],
        )?,
    ));
    cases.push((
        "accounts",
        "read account",
        event("GET", &format!("/accounts/{}", fx.account_id), None, &[])?,
    ));
    cases.push(("console", "page", event("GET", "/console", None, &[])?));
    cases.push((
        "validate-credentials",
        "validate stored credentials",
        event(
            "POST",
            &format!("/accounts/{}/validate", fx.account_id),
            Some(b"{}".to_vec()),
            &[],
        )?,
    ));

    println!("\nCold starts: release bootstrap of each function under this harness's Lambda runtime API,");
    println!("against the local stack (times include the first DynamoDB / Secrets Manager / TeleSign requests).\n");
    println!("| function | invocation | ready ms | first invocation ms | status | peak RSS MiB | zip KiB |");
    println!("|---|---|---|---|---|---|---|");
    for (function, what, event) in cases {
        let bootstrap = PathBuf::from(lambda_dir).join(function).join("bootstrap");
        if !bootstrap.exists() {
            return Err(format!(
                "{} is missing: build with `cargo lambda build --release`",
                bootstrap.display()
            ));
        }
        let runtime = Arc::new(RuntimeApi {
            event: Mutex::new(Some(event)),
            observed: Mutex::default(),
            done: Notify::new(),
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let server = tokio::spawn(serve(runtime.clone(), listener));
        let started = Instant::now();
        let mut child = Command::new(&bootstrap)
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", function)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env("AWS_LAMBDA_LOG_LEVEL", "WARN")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{}: {e}", bootstrap.display()))?;
        let waited = tokio::time::timeout(Duration::from_secs(30), runtime.done.notified()).await;
        let rss = peak_rss_kib(child.id());
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
        let first = match (o.event_sent, o.answered) {
            (Some(a), Some(b)) => b.duration_since(a),
            _ => Duration::ZERO,
        };
        let status = o.answer.as_ref().and_then(|a| a["statusCode"].as_u64()).unwrap_or(0);
        println!(
            "| {function} | {what} | {:.1} | {:.1} | {status} | {:.1} | {} |",
            ready.as_secs_f64() * 1000.0,
            first.as_secs_f64() * 1000.0,
            rss.unwrap_or(0) as f64 / 1024.0,
            zipped_size(&bootstrap)? / 1024,
        );
    }
    Ok(())
}
