//! `telesign-sim serve` runs the TeleSign simulator; `telesign-sim text` plays a customer
//! texting an account through a running simulator.

use std::net::SocketAddr;
use std::time::Duration;

use telesign_sim::{CustomerState, Simulator};

const USAGE: &str = "usage:
  telesign-sim serve [--addr 127.0.0.1:8787] [--report-delay-ms 300] [--customer ID:API_KEY]...
  telesign-sim text --callback-url URL --customer-id ID --from NUMBER --to NUMBER --text TEXT
                    [--sim http://127.0.0.1:8787] [--action stop|start|help]
  telesign-sim [serve|text] --help";

const SERVE_HELP: &str = "telesign-sim serve: the TeleSign simulator (REST API, signed callbacks, delivery reports)

usage: telesign-sim serve [--addr 127.0.0.1:8787] [--report-delay-ms 300] [--customer ID:API_KEY]...

  --addr ADDR              where to listen (default 127.0.0.1:8787)
  --report-delay-ms MS     delay of each delivery report after a send (default 300)
  --customer ID:API_KEY    a TeleSign customer to accept (repeatable; also SIM_CUSTOMERS=ID:KEY,...)

Its routes (/v1/messaging, /_sim/customers, /_sim/inbound, /_sim/faults, ...) are documented at the
top of tools/telesign-sim/src/lib.rs.";

const TEXT_HELP: &str = "telesign-sim text: a customer texts a messaging account, through a running simulator

usage: telesign-sim text --callback-url URL --customer-id ID --from NUMBER --to NUMBER --text TEXT
                         [--sim http://127.0.0.1:8787] [--action stop|start|help]

  --callback-url URL   the account's callback URL (POST /accounts answers it), where the simulator posts
  --customer-id ID     the account's TeleSign customer id: the callback is signed with its API key
  --from NUMBER        the customer's number, as TeleSign writes it (country code and digits: 14255550123)
  --to NUMBER          the account's support number the customer texts
  --text TEXT          the message
  --sim URL            the simulator (default http://127.0.0.1:8787)
  --action ACTION      TeleSign's keyword action for the message: stop, start or help

Prints the channel's status and answer, e.g. {\"status\":200,\"body\":{\"result\":\"stored\"},...}.";

/// Whether the arguments ask for help.
fn wants_help(args: &[String]) -> bool {
    args.iter().any(|a| a == "--help" || a == "-h")
}

fn args_map(args: &[String]) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let name = flag
            .strip_prefix("--")
            .ok_or_else(|| format!("unexpected argument {flag}"))?;
        let value = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
        out.push((name.to_owned(), value.clone()));
    }
    Ok(out)
}

fn get<'a>(args: &'a [(String, String)], name: &str) -> Option<&'a str> {
    args.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

#[tokio::main]
async fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let command = argv.first().map(String::as_str);
    if wants_help(&argv) || command == Some("help") {
        let help = match command {
            Some("serve") => SERVE_HELP,
            Some("text") => TEXT_HELP,
            _ => USAGE,
        };
        println!("{help}");
        return;
    }
    let result = match command {
        Some("serve") => serve(&argv[1..]).await,
        Some("text") => text(&argv[1..]).await,
        _ => Err(USAGE.to_owned()),
    };
    if let Err(e) = result {
        eprintln!("telesign-sim: {e}");
        std::process::exit(2);
    }
}

async fn serve(argv: &[String]) -> Result<(), String> {
    let args = args_map(argv)?;
    let addr: SocketAddr = get(&args, "addr")
        .unwrap_or("127.0.0.1:8787")
        .parse()
        .map_err(|e| format!("--addr: {e}"))?;
    let delay = get(&args, "report-delay-ms")
        .unwrap_or("300")
        .parse()
        .map_err(|e| format!("--report-delay-ms: {e}"))?;
    let sim = Simulator::new(Duration::from_millis(delay));
    let customers = args.iter().filter(|(n, _)| n == "customer").map(|(_, v)| v.clone());
    let from_env = std::env::var("SIM_CUSTOMERS").unwrap_or_default();
    for spec in customers.chain(from_env.split(',').filter(|s| !s.is_empty()).map(str::to_owned)) {
        let (id, key) = spec.split_once(':').ok_or("--customer takes ID:API_KEY")?;
        sim.add_customer(id, key, CustomerState::Active)?;
    }
    let bound = sim
        .spawn(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    println!("telesign-sim listening on http://{bound}");
    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
    Ok(())
}

async fn text(argv: &[String]) -> Result<(), String> {
    let args = args_map(argv)?;
    let need = |n: &str| get(&args, n).ok_or_else(|| format!("--{n} is required\n{USAGE}"));
    let sim = get(&args, "sim").unwrap_or("http://127.0.0.1:8787");
    let mut body = serde_json::json!({
        "callback_url": need("callback-url")?, "customer_id": need("customer-id")?,
        "from": need("from")?, "to": need("to")?, "text": need("text")?,
    });
    if let Some(action) = get(&args, "action") {
        body["action"] = action.into();
    }
    let response = reqwest::Client::new()
        .post(format!("{sim}/_sim/inbound"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| format!("the simulator at {sim} did not answer: {e}"))?;
    println!("{}", response.text().await.map_err(|e| e.to_string())?);
    Ok(())
}
