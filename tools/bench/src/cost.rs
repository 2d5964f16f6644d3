//! What the measured work costs on AWS, at the prices of `tools/bench/prices.json` (one file, its
//! date and its sources there): Lambda (estimated duration at the function's memory), API
//! Gateway, DynamoDB (the request units the DynamoDB fault proxy's capacity model charged), the
//! events the table's stream carries (the events function's invocation and one bus event each),
//! CloudWatch Logs (the bytes the functions wrote, and Lambda's own lines), and the sockets of
//! the consoles that listen (one message per event and console).

use serde_json::Value;

/// The price table.
pub(crate) struct Prices(Value);

impl Prices {
    /// `tools/bench/prices.json`, compiled in.
    pub(crate) fn load() -> Self {
        Self(serde_json::from_str(include_str!("../prices.json")).expect("tools/bench/prices.json is JSON"))
    }

    fn get(&self, name: &str) -> f64 {
        self.0[name]
            .as_f64()
            .unwrap_or_else(|| panic!("tools/bench/prices.json has no number {name}"))
    }

    /// When the prices were read, and where.
    pub(crate) fn dated(&self) -> String {
        format!(
            "{} prices of {} (tools/bench/prices.json, sources there)",
            self.0["region"].as_str().unwrap_or("?"),
            self.0["date"].as_str().unwrap_or("?")
        )
    }
}

/// The bytes Lambda writes to CloudWatch Logs itself for an invocation: its START, END and REPORT
/// lines (the template's SystemLogLevel INFO keeps them; about 420 bytes together).
const LAMBDA_PLATFORM_LOG_BYTES: f64 = 420.0;
/// The events function's work for one batch of records: its CPU, one PutEvents and the socket
/// posts, at its 128 MB.
const EVENTS_INVOCATION_MS: f64 = 20.0;
const EVENTS_MEMORY_GB: f64 = 0.125;

/// One request's work, as measured.
pub(crate) struct Work {
    /// The function's memory (the template's `MemorySize`), in GB.
    pub(crate) memory_gb: f64,
    /// Its estimated duration on AWS.
    pub(crate) duration_ms: f64,
    /// Read and write request units, and the stream's records the events function takes.
    pub(crate) units: crate::stack::Units,
    /// Bytes the function wrote to its log (its lines and its metric lines).
    pub(crate) log_bytes: f64,
    /// Whether it writes a line the Contributor Insights rules by account match (a callback, a send).
    pub(crate) metric_line: bool,
}

/// What one request costs, in dollars.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Cost {
    pub(crate) lambda: f64,
    pub(crate) gateway: f64,
    pub(crate) dynamodb: f64,
    pub(crate) events: f64,
    pub(crate) logs: f64,
    /// Besides: each console that listens to the account (one socket message per event).
    pub(crate) per_console: f64,
}

impl Cost {
    /// Everything but the consoles'.
    pub(crate) fn total(&self) -> f64 {
        self.lambda + self.gateway + self.dynamodb + self.events + self.logs
    }

    fn plus(self, other: Self, times: f64) -> Self {
        Self {
            lambda: self.lambda + times * other.lambda,
            gateway: self.gateway + times * other.gateway,
            dynamodb: self.dynamodb + times * other.dynamodb,
            events: self.events + times * other.events,
            logs: self.logs + times * other.logs,
            per_console: self.per_console + times * other.per_console,
        }
    }
}

/// The cost of one request of `w`.
pub(crate) fn of(p: &Prices, w: &Work) -> Cost {
    let gb_second = p.get("lambda_gb_second_arm64");
    let invocation = |gb: f64, ms: f64| p.get("lambda_request") + gb * ms.max(1.0) / 1000.0 * gb_second;
    let records = w.units.stream_records;
    // One batch of the stream per request (its records arrive together), one bus event per record.
    let events = if records > 0.0 {
        invocation(EVENTS_MEMORY_GB, EVENTS_INVOCATION_MS) + records * p.get("eventbridge_custom_event")
    } else {
        0.0
    };
    let log_bytes = w.log_bytes + LAMBDA_PLATFORM_LOG_BYTES * if records > 0.0 { 2.0 } else { 1.0 };
    // The Contributor Insights rules by account match each callback's and send's metric line.
    let matched = if w.metric_line {
        p.get("contributor_insights_matched_log_event")
    } else {
        0.0
    };
    Cost {
        lambda: invocation(w.memory_gb, w.duration_ms),
        gateway: p.get("http_api_request"),
        dynamodb: w.units.write * p.get("dynamodb_write_request_unit")
            + w.units.read * p.get("dynamodb_read_request_unit"),
        events,
        logs: log_bytes / 1024f64.powi(3) * p.get("cloudwatch_logs_ingested_gb") + matched,
        per_console: records * p.get("websocket_message"),
    }
}

/// The sweep's turns of one account a month: one a minute.
const SWEEP_TURNS_A_MONTH: f64 = 30.0 * 24.0 * 60.0;

/// One sweep turn with nothing due: its DynamoDB units and its share of the sweeper's work. Ten
/// turns share an invocation and the sweep queue's requests (a tenth each of a
/// SendMessageBatch, a ReceiveMessage and a DeleteMessageBatch), and a log line of its own.
fn sweep_turn(p: &Prices, t: &Work) -> f64 {
    let gb_second = p.get("lambda_gb_second_arm64");
    let lambda = 0.1 * p.get("lambda_request") + t.memory_gb * t.duration_ms / 1000.0 * gb_second;
    let dynamodb =
        t.units.write * p.get("dynamodb_write_request_unit") + t.units.read * p.get("dynamodb_read_request_unit");
    let sqs = 0.3 * p.get("sqs_request");
    let log_bytes = t.log_bytes + 0.1 * LAMBDA_PLATFORM_LOG_BYTES;
    let logs = log_bytes / 1024f64.powi(3) * p.get("cloudwatch_logs_ingested_gb");
    lambda + dynamodb + sqs + logs
}

/// The headline figures from the operations' costs: per million inbound SMS, per million
/// conversation turns (the customer's SMS, the agent's reply, TeleSign's two delivery reports),
/// per agent-month, per account-month and the stack's own per month.
pub(crate) fn summary(p: &Prices, inbound: Cost, reply: Cost, report: Cost, sweep: Option<&Work>) {
    let turn = Cost::default().plus(inbound, 1.0).plus(reply, 1.0).plus(report, 2.0);
    let million = |c: Cost| 1e6 * c.total();
    println!("\nAWS's charges, at {}:\n", p.dated());
    println!("| unit | Lambda | API Gateway | DynamoDB | events | logs | total | + each listening console |");
    println!("|---|---|---|---|---|---|---|---|");
    for (name, c) in [
        ("a million inbound SMS", inbound),
        ("a million conversation turns", turn),
    ] {
        println!(
            "| {name} | ${:.2} | ${:.2} | ${:.2} | ${:.2} | ${:.2} | **${:.2}** | ${:.2} |",
            1e6 * c.lambda,
            1e6 * c.gateway,
            1e6 * c.dynamodb,
            1e6 * c.events,
            1e6 * c.logs,
            million(c),
            1e6 * c.per_console
        );
    }
    // An agent signed in 8 hours a day, 21 days a month: the socket's connection minutes; the
    // user pool's monthly active user above its free tier. (The agent's turns are counted above.)
    let minutes = 8.0 * 60.0 * 21.0;
    let agent = minutes * p.get("websocket_connection_minute");
    println!(
        "| an agent-month (8 h a day, 21 days) | | ${agent:.4} socket minutes | | | | **${agent:.4}** (${:.4} more past Cognito's free tier) | |",
        p.get("cognito_user_month_above_free")
    );
    // An account: its key's secret (its callbacks and sends by account are the stack's
    // Contributor Insights rules, not a custom metric per account), and, with an idle timeout on
    // a number, a sweep turn a minute.
    let secret = p.get("secrets_manager_secret_month");
    match sweep {
        Some(t) => {
            let sweeps = SWEEP_TURNS_A_MONTH * sweep_turn(p, t);
            println!(
                "| an account-month | | | | | | **${:.2}** (its secret ${secret:.2}; with an idle timeout, its sweep turns ${sweeps:.2}: {:.1} read units each) | |",
                secret + sweeps,
                t.units.read
            );
        }
        None => {
            println!("| an account-month | | | | | | **${secret:.2}** (its secret; its sweep turns not measured) | |")
        }
    }
    let rules = 3.0 * p.get("contributor_insights_rule_month");
    println!("| the stack, a month | | | | | ${rules:.2} (3 Contributor Insights rules) | **${rules:.2}** (and its alarms: $0.10 a metric each) | |");
    println!(
        "\n(before TeleSign's price per message; DynamoDB's storage and backups by size: $0.25 and $0.20 a GB-month)"
    );
}
