//! `channel-bench load [seconds] [concurrency] [--enforce]`: inbound SMS into one account (one
//! support number, many customers) as fast as this machine answers them, through the DynamoDB
//! fault proxy's capacity model; then each key's units per second scaled to 1,000 callbacks a
//! second, against what one DynamoDB partition serves (3,000 read and 1,000 write units a second).
//! With `--enforce` the proxy throttles a key past those limits, as DynamoDB does, and the
//! callbacks it costs are counted.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use serde_json::{json, Value};

use crate::setup::{fixture, number};
use crate::stack::{local_api, send, Proxy};

/// Customers texting the one support number.
const CUSTOMERS: usize = 500;

/// The account's other numbers, each with three automated messages of `MESSAGE_CHARS` characters:
/// an account as a busy business sets one up (its record, read as one item, passes 30 KB).
const OTHER_NUMBERS: usize = 24;
const MESSAGE_CHARS: usize = 400;

pub async fn run(seconds: u64, concurrency: usize, enforce: bool) -> Result<(), String> {
    let (_gateway, api) = local_api().await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency * 2)
        .build()
        .map_err(|e| e.to_string())?;
    let fx = Arc::new(fixture(&http, &api).await?);
    let customers: Arc<Vec<String>> = Arc::new((0..CUSTOMERS).map(|_| number()).collect());
    let proxy = Proxy::from_env(&http)?;
    busy_settings(&http, &api, &fx.account_id).await?;
    // One message from each customer first, outside the measure: the functions' caches warm.
    let (body, auth) = fx.inbound(&customers[0], "hello");
    send(
        http.post(format!("{api}{}", fx.callback_path()))
            .header("authorization", auth)
            .body(body),
    )
    .await?;
    proxy.start(enforce).await?;
    let (ok, refused) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let workers = (0..concurrency).map(|w| {
        let (fx, http, api, customers) = (fx.clone(), http.clone(), api.clone(), customers.clone());
        let (ok, refused) = (ok.clone(), refused.clone());
        async move {
            let mut i = 0usize;
            while Instant::now() < deadline {
                let customer = &customers[(w + i * concurrency) % customers.len()];
                let (body, auth) = fx.inbound(customer, &format!("message {i} from worker {w}"));
                let req = http
                    .post(format!("{api}{}", fx.callback_path()))
                    .header("authorization", auth)
                    .body(body);
                match send(req).await {
                    Ok((200, _)) => ok.fetch_add(1, Ordering::Relaxed),
                    _ => refused.fetch_add(1, Ordering::Relaxed),
                };
                i += 1;
            }
        }
    });
    join_all(workers).await;
    let elapsed = started.elapsed().as_secs_f64();
    let report = proxy.report(12).await?;
    proxy.stop().await?;
    print_report(
        &report,
        ok.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed),
        elapsed,
        concurrency,
        enforce,
    );
    Ok(())
}

/// The account's other numbers and their automated messages, set as an operator sets them.
async fn busy_settings(http: &reqwest::Client, api: &str, account: &str) -> Result<(), String> {
    let minted = send(
        http.post(format!("{api}/_local/tokens"))
            .body(json!({"sub": "load-operator", "roles": ["operator"], "ttl_seconds": 3600}).to_string()),
    )
    .await?
    .1;
    let token = minted["token"].as_str().ok_or("no operator token")?.to_owned();
    let text = |what: &str| {
        format!("{what}: ")
            .chars()
            .chain(std::iter::repeat('x'))
            .take(MESSAGE_CHARS)
            .collect::<String>()
    };
    let messages = json!({"greeting": text("Welcome"), "away": text("We are closed"), "closing": text("Thank you")});
    for _ in 0..OTHER_NUMBERS {
        let n = number();
        let added = http
            .post(format!("{api}/accounts/{account}/numbers"))
            .bearer_auth(&token)
            .body(json!({"number": n, "type": "long_code"}).to_string());
        match send(added).await? {
            (201, _) => {}
            (s, b) => return Err(format!("adding a number: {s} {b}")),
        }
        let changed = http
            .patch(format!("{api}/accounts/{account}/numbers/{n}"))
            .bearer_auth(&token)
            .body(json!({"messages": messages}).to_string());
        match send(changed).await? {
            (200, _) => {}
            (s, b) => return Err(format!("setting a number's messages: {s} {b}")),
        }
    }
    Ok(())
}

fn print_report(report: &Value, ok: u64, refused: u64, elapsed: f64, concurrency: usize, enforce: bool) {
    let callbacks = (ok + refused).max(1) as f64;
    println!(
        "\nLoad: inbound SMS into one account (one support number, {CUSTOMERS} customers; {OTHER_NUMBERS} other numbers with three \
         {MESSAGE_CHARS}-character automated messages each), {concurrency} concurrent, {elapsed:.0} s through the capacity model{}",
        if enforce { ", per-key limits enforced" } else { "" }
    );
    println!(
        "callbacks: {ok} answered 200 ({:.0} a second), {refused} otherwise; the proxy throttled {} requests",
        ok as f64 / elapsed,
        report["throttled"]
    );
    let per = |units: &Value| units.as_f64().unwrap_or(0.0) / callbacks;
    println!(
        "DynamoDB per callback: {:.2} read units, {:.2} write units",
        per(&report["read_units"]),
        per(&report["write_units"])
    );
    for (op, s) in report["operations"].as_object().into_iter().flatten() {
        println!(
            "  {op}: {:.2} requests, {:.2} read units, {:.2} write units",
            per(&s["requests"]),
            per(&s["read"]),
            per(&s["write"])
        );
    }
    println!("\nThe hottest keys, their units a second scaled to 1,000 callbacks a second (one partition serves 3,000 read and 1,000 write units a second):\n");
    println!("| table / index | partition key | read units/s | write units/s | of a partition |");
    println!("|---|---|---|---|---|");
    for k in report["keys"].as_array().into_iter().flatten() {
        let read = per(&k["read"]) * 1000.0;
        let write = per(&k["write"]) * 1000.0;
        let share = (read / 3000.0).max(write / 1000.0) * 100.0;
        println!(
            "| {}{} | {} | {read:.0} | {write:.0} | {share:.0} %{} |",
            k["table"].as_str().unwrap_or(""),
            k["index"].as_str().map(|i| format!(" / {i}")).unwrap_or_default(),
            k["key"].as_str().unwrap_or(""),
            if share > 100.0 { " OVER" } else { "" }
        );
    }
}
