//! Warm work: each operation through the local gateway in this process, against the local stack.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use serde_json::{json, Value};

use crate::setup::{fixture, number, Fixture};
use crate::stack::{local_api, send};

/// The memory the template gives a function, in GB (`MemorySize`, chosen by `channel-bench sizes`).
fn memory_gb(function: &str) -> f64 {
    let mb = match function {
        "inbound-callback" => 256.0,
        "outbound-send" | "accounts" => 512.0,
        _ => 128.0,
    };
    mb / 1024.0
}
/// A DynamoDB round trip inside AWS, for the duration estimate.
const DYNAMODB_ROUND_TRIP_MS: f64 = 7.0;
/// A TeleSign round trip from AWS, for the duration estimate.
const TELESIGN_ROUND_TRIP_MS: f64 = 150.0;

struct Measure {
    operation: &'static str,
    function: &'static str,
    concurrency: usize,
    latencies: Vec<Duration>,
    cpu: Duration,
    counts: shared::meter::Counts,
    telesign: u64,
    /// Units per request the DynamoDB fault proxy's capacity model charged (`None` without it).
    capacity: Option<crate::stack::Units>,
    /// Bytes per request the functions wrote to the log (`None` when standard output is no file).
    log_bytes: Option<f64>,
}

impl Measure {
    fn per_op(&self, count: u64) -> f64 {
        count as f64 / self.latencies.len() as f64
    }

    fn percentile(&self, p: usize) -> f64 {
        let mut v = self.latencies.clone();
        v.sort();
        let i = ((v.len() * p) / 100).min(v.len() - 1);
        v[i].as_secs_f64() * 1000.0
    }

    fn dynamodb(&self) -> f64 {
        self.per_op(self.counts.requests_to("dynamodb"))
    }

    fn secrets(&self) -> f64 {
        self.per_op(self.counts.requests_to("secretsmanager"))
    }

    /// The work of one request, for its cost: the estimated duration on AWS (CPU, and the round
    /// trips to DynamoDB and TeleSign), the capacity model's units, the log's bytes.
    fn work(&self) -> crate::cost::Work {
        let cpu_ms = self.cpu.as_secs_f64() * 1000.0 / self.latencies.len() as f64;
        crate::cost::Work {
            memory_gb: memory_gb(self.function),
            duration_ms: cpu_ms
                + self.dynamodb() * DYNAMODB_ROUND_TRIP_MS
                + self.per_op(self.telesign) * TELESIGN_ROUND_TRIP_MS,
            units: self.capacity.unwrap_or_default(),
            log_bytes: self.log_bytes.unwrap_or_default(),
            metric_line: matches!(self.function, "inbound-callback" | "outbound-send"),
        }
    }
}

/// The bytes written to standard output so far, when it is a file (`scripts/bench.sh` makes it one).
fn stdout_bytes() -> Option<u64> {
    let meta = std::fs::metadata("/proc/self/fd/1").ok()?;
    meta.is_file().then_some(meta.len())
}

fn cpu_time() -> Duration {
    // SAFETY: getrusage writes into the struct it is given and reads nothing else.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let tv = |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// One request of an operation, for worker `w`, iteration `i`.
type Step = Arc<dyn Fn(usize, usize) -> reqwest::RequestBuilder + Send + Sync>;

struct Bench {
    http: reqwest::Client,
    sim: String,
    gateway: Arc<local_gateway::Gateway>,
    fx: Fixture,
}

impl Bench {
    async fn telesign_requests(&self) -> u64 {
        let url = format!("{}/_sim/requests?customer_id={}", self.sim, self.fx.customer_id);
        match send(self.http.get(url)).await {
            Ok((_, Value::Array(list))) => list.len() as u64,
            _ => 0,
        }
    }

    async fn measure(
        &self,
        operation: &'static str,
        function: &'static str,
        concurrency: usize,
        n: usize,
        expect: u16,
        step: Step,
    ) -> Result<Measure, String> {
        let meter = self.gateway.meter(function).ok_or("no such function")?.clone();
        meter.reset();
        let telesign_before = self.telesign_requests().await;
        let cpu_before = cpu_time();
        let log_before = stdout_bytes();
        let per_worker = n / concurrency;
        let workers = (0..concurrency).map(|w| {
            let step = step.clone();
            async move {
                let mut latencies = Vec::with_capacity(per_worker);
                for i in 0..per_worker {
                    let started = Instant::now();
                    let (status, body) = send(step(w, i)).await?;
                    latencies.push(started.elapsed());
                    if status != expect {
                        return Err(format!("{operation}: answered {status} {body}"));
                    }
                }
                Ok::<_, String>(latencies)
            }
        });
        let mut latencies = Vec::new();
        for r in join_all(workers).await {
            latencies.extend(r?);
        }
        let cpu = cpu_time().saturating_sub(cpu_before);
        let log_bytes = match (log_before, stdout_bytes()) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a) as f64 / latencies.len() as f64),
            _ => None,
        };
        let counts = meter.snapshot();
        let telesign = self.telesign_requests().await - telesign_before;
        let capacity = self.capacity(&step, concurrency, per_worker, expect).await?;
        Ok(Measure {
            capacity,
            log_bytes,
            operation,
            function,
            concurrency,
            latencies,
            cpu,
            counts,
            telesign,
        })
    }
}

impl Bench {
    /// Units per request, from a further pass of `CAPACITY_PASS` requests under the proxy's
    /// capacity model (it reads each item written before and after, so the timed pass runs without it).
    async fn capacity(
        &self,
        step: &Step,
        concurrency: usize,
        from: usize,
        expect: u16,
    ) -> Result<Option<crate::stack::Units>, String> {
        let Some(model) = crate::stack::Capacity::start(&self.http).await else {
            return Ok(None);
        };
        for j in 0..CAPACITY_PASS {
            let (status, body) = send(step(j % concurrency, from + j / concurrency)).await?;
            if status != expect {
                return Err(format!("under the capacity model: answered {status} {body}"));
            }
        }
        Ok(model.units().await.map(|u| u.per(CAPACITY_PASS as f64)))
    }
}

/// Requests per operation measured under the capacity model.
const CAPACITY_PASS: usize = 40;

pub async fn run(n: usize) -> Result<(), String> {
    let sim = std::env::var("SIM_URL").map_err(|_| "SIM_URL is not set: run scripts/bench.sh")?;
    let (gateway, api) = local_api().await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(16)
        .build()
        .map_err(|e| e.to_string())?;
    let fx = fixture(&http, &api).await?;
    // Every call of the desk as the supervisor member (callbacks carry their own Authorization).
    let mut headers = reqwest::header::HeaderMap::new();
    let bearer = format!("Bearer {}", fx.supervisor_token);
    headers.insert(
        reqwest::header::AUTHORIZATION,
        bearer
            .parse()
            .map_err(|e: reqwest::header::InvalidHeaderValue| e.to_string())?,
    );
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(16)
        .default_headers(headers)
        .build()
        .map_err(|e| e.to_string())?;
    let b = Arc::new(Bench {
        http: http.clone(),
        sim,
        gateway,
        fx,
    });

    // Eight customers with a conversation each, accepted by an agent (the warm-up also fills the
    // functions' caches of the account and its key).
    let mut customers = Vec::new();
    let mut conversations = Vec::new();
    for _ in 0..8 {
        let customer = number();
        let (body, auth) = b.fx.inbound(&customer, "hello");
        let cb = format!("{api}{}", b.fx.callback_path());
        send(http.post(&cb).header("authorization", auth).body(body)).await?;
        let list = send(http.get(format!("{api}/conversations?account_id={}&limit=100", b.fx.account_id)))
            .await?
            .1;
        let id = list["conversations"]
            .as_array()
            .and_then(|l| l.iter().find(|c| c["customer_number"] == customer.as_str()))
            .and_then(|c| c["conversation_id"].as_str())
            .ok_or("the warm-up conversation is missing")?
            .to_owned();
        send(http.post(format!("{api}/conversations/{id}/accept")).body("{}")).await?;
        customers.push(customer);
        conversations.push(id);
    }
    let customers = Arc::new(customers);
    let conversations = Arc::new(conversations);

    let mut results = Vec::new();
    for concurrency in [1usize, 8] {
        let (fx, api2, http2, cust) = (Arc::clone(&b), api.clone(), http.clone(), customers.clone());
        let existing: Step = Arc::new(move |w, i| {
            let (body, auth) = fx.fx.inbound(&cust[w], &format!("message {i}"));
            http2
                .post(format!("{api2}{}", fx.fx.callback_path()))
                .header("authorization", auth)
                .body(body)
        });
        results.push(
            b.measure(
                "inbound SMS, existing conversation",
                "inbound-callback",
                concurrency,
                n,
                200,
                existing,
            )
            .await?,
        );

        let (fx, api2, http2) = (Arc::clone(&b), api.clone(), http.clone());
        let fresh: Step = Arc::new(move |_, _| {
            let (body, auth) = fx.fx.inbound(&number(), "first contact");
            http2
                .post(format!("{api2}{}", fx.fx.callback_path()))
                .header("authorization", auth)
                .body(body)
        });
        results.push(
            b.measure(
                "inbound SMS, new conversation",
                "inbound-callback",
                concurrency,
                n,
                200,
                fresh,
            )
            .await?,
        );

        let (api2, http2, convs) = (api.clone(), http.clone(), conversations.clone());
        let reply: Step = Arc::new(move |w, i| {
            http2
                .post(format!("{api2}/conversations/{}/messages", convs[w]))
                .header("content-type", "application/json")
                .body(json!({"text": format!("Reply {i}: we are on it.")}).to_string())
        });
        let m = b.measure("reply", "outbound-send", concurrency, n, 202, reply).await?;
        results.push(m);

        // Delivery reports for the replies just sent (read back from the transcripts).
        let mut targets = Vec::new();
        for id in conversations.iter() {
            let c = send(http.get(format!("{api}/conversations/{id}?limit=500"))).await?.1;
            for m in c["messages"].as_array().cloned().unwrap_or_default() {
                if m["direction"] == "outbound" && m["status"] == "queued" {
                    let external = format!("{id}-{}", m["message_id"].as_str().unwrap_or_default());
                    targets.push((
                        external,
                        m["telesign_reference_id"].as_str().unwrap_or_default().to_owned(),
                    ));
                }
            }
        }
        let targets = Arc::new(targets);
        let (fx, api2, http2, t) = (Arc::clone(&b), api.clone(), http.clone(), targets.clone());
        // Each report a reply of its own (the capacity pass's too), never one already reported.
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let report: Step = Arc::new(move |_, _| {
            let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let (external, reference) = &t[k % t.len()];
            let body = json!({"reference_id": reference, "external_id": external, "sub_resource": "sms",
                "status": {"code": 203, "description": "Delivered to gateway", "updated_on": "2026-11-25T10:00:01Z"},
                "submit_timestamp": "2026-11-25T10:00:00Z", "errors": []})
            .to_string()
            .into_bytes();
            let auth = fx.fx.sign(&body);
            http2
                .post(format!("{api2}{}", fx.fx.callback_path()))
                .header("authorization", auth)
                .body(body)
        });
        if targets.len() >= n + CAPACITY_PASS {
            results.push(
                b.measure("delivery report", "inbound-callback", concurrency, n, 200, report)
                    .await?,
            );
        }

        let (api2, http2, account) = (api.clone(), http.clone(), b.fx.account_id.clone());
        let list: Step = Arc::new(move |_, _| http2.get(format!("{api2}/conversations?account_id={account}&limit=25")));
        results.push(
            b.measure("dashboard list (25)", "conversations", concurrency, n, 200, list)
                .await?,
        );
    }
    let turn = sweep_turn(&b, &api, n).await?;
    report(&results, n, turn.as_ref());
    Ok(())
}

/// What an account with an idle timeout costs the sweep each minute when nothing is due: its
/// turn through the sweeper's own entry point (a batch of the sweep queue holding the account's
/// turn: the account read, then its live partitions' idle queries, every shard), timed, metered
/// and under the capacity model, after an operator gave the fixture's number a timeout of an
/// hour (nothing is due).
async fn sweep_turn(b: &Bench, api: &str, n: usize) -> Result<Option<crate::cost::Work>, String> {
    let (_, token) = send(
        b.http
            .post(format!("{api}/_local/tokens"))
            .body(json!({"sub": "bench-operator", "roles": ["operator"]}).to_string()),
    )
    .await?;
    let operator = token["token"].as_str().ok_or("no operator token")?;
    let number = format!("{api}/accounts/{}/numbers/{}", b.fx.account_id, b.fx.number);
    let (status, body) = send(
        b.http
            .patch(number)
            .bearer_auth(operator)
            .header("content-type", "application/json")
            .body(json!({"auto_close": {"open_after_seconds": 3600}}).to_string()),
    )
    .await?;
    if status != 200 {
        return Err(format!("the number's timeout: {status} {body}"));
    }
    let turn = json!({"sweep": "account", "account_id": b.fx.account_id}).to_string();
    let batch = || -> Result<aws_lambda_events::sqs::SqsEvent, String> {
        serde_json::from_value(json!({"Records": [{"messageId": uuid::Uuid::new_v4().to_string(),
            "body": turn, "eventSource": "aws:sqs", "awsRegion": "local"}]}))
        .map_err(|e| e.to_string())
    };
    let meter = b.gateway.meter("sweeper").ok_or("no sweeper")?.clone();
    meter.reset();
    let cpu_before = cpu_time();
    let log_before = stdout_bytes();
    for _ in 0..n {
        b.gateway.sweeper.turns(batch()?).await;
    }
    let per = |x: f64| x / n as f64;
    let cpu_ms = per(cpu_time().saturating_sub(cpu_before).as_secs_f64() * 1000.0);
    let log_bytes = match (log_before, stdout_bytes()) {
        (Some(a), Some(c)) => per(c.saturating_sub(a) as f64),
        _ => 0.0,
    };
    let requests = per(meter.snapshot().requests_to("dynamodb") as f64);
    let units = match crate::stack::Capacity::start(&b.http).await {
        Some(model) => {
            for _ in 0..CAPACITY_PASS {
                b.gateway.sweeper.turns(batch()?).await;
            }
            model.units().await.map(|u| u.per(CAPACITY_PASS as f64))
        }
        None => None,
    };
    Ok(Some(crate::cost::Work {
        memory_gb: memory_gb("sweeper"),
        duration_ms: cpu_ms + requests * DYNAMODB_ROUND_TRIP_MS,
        units: units.unwrap_or_default(),
        log_bytes,
        metric_line: false,
    }))
}

fn report(results: &[Measure], n: usize, turn: Option<&crate::cost::Work>) {
    println!("\nWarm work: {n} requests per row, every function in one process behind the local gateway,");
    println!(
        "DynamoDB Local / moto / TeleSign simulator on 127.0.0.1; CPU is the whole process's (client included).\n"
    );
    println!(
        "| operation | function | conc. | DynamoDB req/op | Secrets req/op | TeleSign req/op | CPU ms/op | p50 ms | p99 ms |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for m in results {
        println!(
            "| {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.3} | {:.2} | {:.2} |",
            m.operation,
            m.function,
            m.concurrency,
            m.dynamodb(),
            m.secrets(),
            m.per_op(m.telesign),
            m.cpu.as_secs_f64() * 1000.0 / m.latencies.len() as f64,
            m.percentile(50),
            m.percentile(99),
        );
    }
    println!("\nDynamoDB operations per request (concurrency 1):\n");
    for m in results.iter().filter(|m| m.concurrency == 1) {
        let ops: Vec<String> = m
            .counts
            .requests
            .iter()
            .map(|(k, v)| format!("{} {:.2}", k.trim_start_matches("dynamodb:"), m.per_op(*v)))
            .collect();
        println!("- {}: {}", m.operation, ops.join(", "));
    }
    let prices = crate::cost::Prices::load();
    println!(
        "\nCost per million requests, at the {}; durations estimated for AWS as",
        prices.dated()
    );
    println!("CPU + {DYNAMODB_ROUND_TRIP_MS} ms per DynamoDB round trip + {TELESIGN_ROUND_TRIP_MS} ms per TeleSign request, at each function's MemorySize (arm64);");
    println!("DynamoDB's units from the capacity model of the DynamoDB fault proxy; the log's bytes as the functions wrote them:\n");
    println!("| operation | est. ms | WRU | RRU | stream records | log bytes | Lambda $ | API Gateway $ | DynamoDB $ | events $ | logs $ | total $ | + per listening console $ |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut costs = std::collections::HashMap::new();
    for m in results.iter().filter(|m| m.concurrency == 1) {
        let w = m.work();
        let c = crate::cost::of(&prices, &w);
        println!(
            "| {} | {:.1} | {:.2} | {:.2} | {:.2} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            m.operation,
            w.duration_ms,
            w.units.write,
            w.units.read,
            w.units.stream_records,
            w.log_bytes,
            1e6 * c.lambda,
            1e6 * c.gateway,
            1e6 * c.dynamodb,
            1e6 * c.events,
            1e6 * c.logs,
            1e6 * c.total(),
            1e6 * c.per_console,
        );
        costs.insert(m.operation, c);
    }
    let found = |op: &str| costs.get(op).copied();
    match (
        found("inbound SMS, existing conversation"),
        found("reply"),
        found("delivery report"),
    ) {
        (Some(inbound), Some(reply), Some(report)) => crate::cost::summary(&prices, inbound, reply, report, turn),
        _ => println!("\n(no summary: an operation of a turn was not measured)"),
    }
}
