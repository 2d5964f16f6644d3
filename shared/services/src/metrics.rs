//! The channel's metrics, written as CloudWatch embedded metric format (EMF): one JSON line per
//! observation on standard output, which CloudWatch Logs turns into metrics of the namespace
//! `METRICS_NAMESPACE` (the template sets `SmsChannel/<stack name>`). No API call and no IAM:
//! the line is the metric.
//!
//! Every metric and dimension is named here, in [`Metric`] and [`Dim`]. Dimensions are bounded:
//! a TeleSign status code, an outcome from a fixed list, a version; never a phone number, a
//! conversation or a message id, and never an account: a line names its account (when it exists)
//! as a property, which the template's Contributor Insights rules read for the top accounts and
//! the alarm on one account's refused callbacks. A custom metric per account would cost $0.30 a
//! month per account and outcome, more than the account's secret.
//!
//! | metric | unit | dimension sets | emitted by |
//! |---|---|---|---|
//! | `Callbacks` | Count | `Outcome`; `Outcome, Reason` (refused); `Outcome, Version` and `Version` (a published version: its canary's alarms) | inbound-callback |
//! | `Sends` | Count | `Outcome`; `Outcome, TelesignCode` | outbound-send (the send service) |
//! | `DeliveryReportLag` | Milliseconds | none; `Status` (the account a property) | inbound-callback (a report that makes a message final) |
//! | `AutomatedMessages` | Count | `Kind` | inbound-callback, callback-replay (greeting, away, help, stop, start), sweeper (closing) |
//! | `Sweeps` | Count | `Outcome` (`done`, `failed`) | sweeper |
//! | `EventsDelivered` | Count | `Outcome` | the events function (not built yet) |
//!
//! A new metric is a variant of [`Metric`] and one call of [`emit`] where it happens, e.g.
//! `metrics::emit(Record::count(Metric::Sweeps).dim(Dim::Outcome, "done"))`.
//!
//! A metric line has no `level`: Lambda's log-level filter counts it as INFO, which is why the
//! template allows no level quieter than INFO.
//!
//! Records go to the invocation's scope when there is one ([`scope`]: the function's edge opens
//! it, and writes the records with the invocation's request id when it ends), else straight to
//! standard output.

use std::cell::RefCell;
use std::future::Future;
use std::io::Write;
use std::sync::OnceLock;

use serde_json::{json, Map, Value};

use channel_domain::ids::AccountId;

/// The namespace when `METRICS_NAMESPACE` is not set (the local stack).
pub const DEFAULT_NAMESPACE: &str = "SmsChannel";

/// A metric of the channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumIter)]
pub enum Metric {
    /// A TeleSign callback and what came of it (`Outcome`: [`CallbackResult`]).
    Callbacks,
    /// A message handed to TeleSign and how TeleSign took it (`Outcome`: [`SendResult`]).
    Sends,
    /// From recording an outbound message to the delivery report that made it final.
    DeliveryReportLag,
    /// An automated message sent (greeting, away, closing, help, stop, start), by `Kind`.
    AutomatedMessages,
    /// A run of the auto-close sweep.
    Sweeps,
    /// An event delivered to the live connections or the event bus.
    EventsDelivered,
}

impl Metric {
    /// The metric's name in CloudWatch.
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// Its CloudWatch unit.
    pub fn unit(self) -> &'static str {
        match self {
            Metric::DeliveryReportLag => "Milliseconds",
            _ => "Count",
        }
    }
}

/// A dimension's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
pub enum Dim {
    /// An account that exists (never the id of a callback URL nobody owns).
    AccountId,
    /// What came of it, from the metric's fixed list.
    Outcome,
    /// Why a callback was refused ([`channel_domain::telesign::SignatureError`]'s kinds).
    Reason,
    /// TeleSign's status code of a send.
    TelesignCode,
    /// The final state a delivery report gave (`delivered`, `failed`).
    Status,
    /// The kind of an automated message.
    Kind,
    /// The published version of the function that answered (`AWS_LAMBDA_FUNCTION_VERSION`): a
    /// canary deployment's alarms watch the new version's own outcomes.
    Version,
}

impl Dim {
    /// The dimension's name in CloudWatch.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// What a TeleSign callback came to, as the `Outcome` of [`Metric::Callbacks`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "snake_case")]
pub enum CallbackResult {
    /// An inbound SMS, stored.
    Stored,
    /// A callback seen before (TeleSign's retry).
    Duplicate,
    /// A delivery report applied.
    Updated,
    /// A delivery report left out (older than the stored status, or not ours), or an inbound
    /// SMS older than the deduplication window.
    Ignored,
    /// The signature was refused (401): the account's key and TeleSign's differ, or a forgery.
    Refused,
    /// No account has this callback URL (404).
    UnknownAccount,
    /// The account does not own the number texted (404).
    UnknownNumber,
    /// Signed but unreadable (400), or over 64 KiB (413).
    Malformed,
    /// Taken and parked for later (the store was unavailable).
    Parked,
    /// Answered 5xx: TeleSign retries, and the callback is lost if every retry fails.
    Failed,
}

/// How a send ended, as the `Outcome` of [`Metric::Sends`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "snake_case")]
pub enum SendResult {
    /// TeleSign took the message.
    Accepted,
    /// TeleSign refused it (its code says why).
    Rejected,
    /// TeleSign could not be reached, was rate limited or failed: nothing was sent.
    Unavailable,
    /// The request left and no answer came; the delivery report settles it.
    OutcomeUnknown,
}

/// One observation: a metric's value with its dimensions.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The metric.
    pub metric: Metric,
    /// Its value, in the metric's unit.
    pub value: f64,
    /// The dimensions' values, in the order they were added.
    pub dimensions: Vec<(Dim, String)>,
    /// The dimension sets to publish it under (each a metric of its own in CloudWatch).
    pub sets: Vec<Vec<Dim>>,
}

impl Record {
    /// A count of one, published under no dimension until [`Record::set`] adds sets.
    pub fn count(metric: Metric) -> Self {
        Self::value(metric, 1.0)
    }

    /// A value of `metric`.
    pub fn value(metric: Metric, value: f64) -> Self {
        Self {
            metric,
            value,
            dimensions: Vec::new(),
            sets: Vec::new(),
        }
    }

    /// Adds a dimension's value (published only in the sets that name it).
    pub fn dim(mut self, dim: Dim, value: impl Into<String>) -> Self {
        self.dimensions.push((dim, value.into()));
        self
    }

    /// Publishes the record under this dimension set too.
    pub fn set(mut self, dims: &[Dim]) -> Self {
        self.sets.push(dims.to_vec());
        self
    }

    /// The value of a dimension.
    pub fn get(&self, dim: Dim) -> Option<&str> {
        self.dimensions.iter().find(|(d, _)| *d == dim).map(|(_, v)| v.as_str())
    }
}

/// The published version of the running function (`AWS_LAMBDA_FUNCTION_VERSION`, read once), or
/// `None` for `$LATEST` and outside Lambda: only a published version is deployed gradually.
pub fn function_version() -> Option<&'static str> {
    static VERSION: OnceLock<Option<String>> = OnceLock::new();
    VERSION
        .get_or_init(|| published_version(env_setting("AWS_LAMBDA_FUNCTION_VERSION")))
        .as_deref()
}

/// A version that a published version's number is (digits), or nothing.
fn published_version(raw: Option<String>) -> Option<String> {
    raw.filter(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()))
}

/// A callback's record: by outcome; by reason when refused; by the function's version, with and
/// without the outcome, when it is a published one; the account (when it exists) a property.
pub fn callback(result: CallbackResult, reason: Option<&str>, account: Option<&AccountId>) -> Record {
    callback_of_version(result, reason, account, function_version())
}

fn callback_of_version(
    result: CallbackResult,
    reason: Option<&str>,
    account: Option<&AccountId>,
    version: Option<&str>,
) -> Record {
    let mut r = Record::count(Metric::Callbacks)
        .dim(Dim::Outcome, <&str>::from(result))
        .set(&[Dim::Outcome]);
    if let Some(reason) = reason {
        r = r.dim(Dim::Reason, reason).set(&[Dim::Outcome, Dim::Reason]);
    }
    if let Some(account) = account {
        r = r.dim(Dim::AccountId, account.as_str());
    }
    if let Some(version) = version {
        r = r
            .dim(Dim::Version, version)
            .set(&[Dim::Outcome, Dim::Version])
            .set(&[Dim::Version]);
    }
    r
}

/// A send's record: by outcome, by outcome and TeleSign's code (the account a property).
pub fn send(result: SendResult, telesign_code: Option<u32>, account: &AccountId) -> Record {
    let mut r = Record::count(Metric::Sends)
        .dim(Dim::Outcome, <&str>::from(result))
        .dim(Dim::AccountId, account.as_str())
        .set(&[Dim::Outcome]);
    if let Some(code) = telesign_code {
        r = r
            .dim(Dim::TelesignCode, code.to_string())
            .set(&[Dim::Outcome, Dim::TelesignCode]);
    }
    r
}

/// A run of the auto-close sweep (`done` or `failed`).
pub fn sweep(result: &str) -> Record {
    Record::count(Metric::Sweeps)
        .dim(Dim::Outcome, result)
        .set(&[Dim::Outcome])
}

/// An automated message handed to TeleSign, by kind.
pub fn automated(kind: Option<channel_domain::automation::Kind>) -> Record {
    Record::count(Metric::AutomatedMessages)
        .dim(Dim::Kind, kind.map_or("unknown", |k| k.as_str()))
        .set(&[Dim::Kind])
}

/// The lag of a delivery report that made a message final (`status`: `delivered` or `failed`);
/// the account is a property of the line (to find in Logs Insights), not a dimension.
pub fn report_lag(millis: u64, status: &str, account: &AccountId) -> Record {
    Record::value(Metric::DeliveryReportLag, millis as f64)
        .dim(Dim::Status, status)
        .dim(Dim::AccountId, account.as_str())
        .set(&[])
        .set(&[Dim::Status])
}

tokio::task_local! {
    static SCOPE: RefCell<Vec<Record>>;
}

/// Records an observation: into the invocation's scope, or straight to standard output.
pub fn emit(record: Record) {
    let pending = SCOPE.try_with(|s| s.borrow_mut().push(record.clone()));
    if pending.is_err() {
        write(&[record], &[]);
    }
}

/// Runs `work` with a scope of its own and answers its output with the records it emitted.
pub async fn scope<F: Future>(work: F) -> (F::Output, Vec<Record>) {
    SCOPE
        .scope(RefCell::new(Vec::new()), async move {
            let out = work.await;
            let records = SCOPE.with(|s| std::mem::take(&mut *s.borrow_mut()));
            (out, records)
        })
        .await
}

/// The namespace (`METRICS_NAMESPACE`, read once).
pub fn namespace() -> &'static str {
    static NAMESPACE: OnceLock<String> = OnceLock::new();
    NAMESPACE.get_or_init(|| env_setting("METRICS_NAMESPACE").unwrap_or_else(|| DEFAULT_NAMESPACE.into()))
}

/// Writes records as EMF lines on standard output, each with `properties` (searchable in Logs
/// Insights, not dimensions).
pub fn write(records: &[Record], properties: &[(&str, &str)]) {
    if records.is_empty() {
        return;
    }
    let now = channel_domain::ids::epoch_millis();
    let mut text = String::new();
    for r in records {
        text.push_str(&line(r, namespace(), now, properties));
        text.push('\n');
    }
    // One write: the lines stay whole among the log lines of other tasks.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// One record as an EMF document.
pub fn line(r: &Record, namespace: &str, timestamp_ms: u64, properties: &[(&str, &str)]) -> String {
    let sets: Vec<Vec<&str>> = r.sets.iter().map(|s| s.iter().map(|d| d.name()).collect()).collect();
    let mut doc = Map::new();
    for (k, v) in properties {
        doc.insert((*k).to_owned(), json!(v));
    }
    for (d, v) in &r.dimensions {
        doc.insert(d.name().to_owned(), json!(v));
    }
    doc.insert(r.metric.name().to_owned(), json!(r.value));
    doc.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": sets,
                "Metrics": [{"Name": r.metric.name(), "Unit": r.metric.unit()}],
            }],
        }),
    );
    Value::Object(doc).to_string()
}

/// An environment setting, trimmed; empty counts as unset (as the adapters' configuration reads it).
fn env_setting(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(r: &Record) -> Value {
        serde_json::from_str(&line(r, "SmsChannel/test", 1_700_000_000_000, &[("request_id", "r-1")])).unwrap()
    }

    #[test]
    fn a_refused_callback_is_counted_by_outcome_and_reason_and_names_its_account() {
        // Given a callback of an existing account refused for its signature
        let account = AccountId::new();
        let r = callback_of_version(CallbackResult::Refused, Some("mismatch"), Some(&account), None);
        // Then its line is one EMF document with two dimension sets, the account a property
        let doc = parsed(&r);
        assert_eq!(doc["Callbacks"], 1.0);
        assert_eq!(doc["Outcome"], "refused");
        assert_eq!(doc["Reason"], "mismatch");
        assert_eq!(doc["AccountId"], account.as_str());
        assert_eq!(doc["request_id"], "r-1");
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "SmsChannel/test");
        assert_eq!(
            directive["Dimensions"],
            json!([["Outcome"], ["Outcome", "Reason"]]),
            "the account a property, never a dimension"
        );
        assert_eq!(directive["Metrics"], json!([{"Name": "Callbacks", "Unit": "Count"}]));
        assert_eq!(doc["_aws"]["Timestamp"], 1_700_000_000_000u64);
    }

    #[test]
    fn a_published_version_counts_its_own_callbacks_by_outcome_and_in_all() {
        let doc = parsed(&callback_of_version(CallbackResult::Refused, None, None, Some("7")));
        assert_eq!(doc["Version"], "7");
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Outcome"], ["Outcome", "Version"], ["Version"]])
        );
        assert_eq!(published_version(Some("$LATEST".into())), None);
        assert_eq!(published_version(Some("12".into())).as_deref(), Some("12"));
        assert_eq!(published_version(None), None);
    }

    #[test]
    fn a_callback_of_an_unknown_account_names_no_account() {
        let r = callback_of_version(CallbackResult::UnknownAccount, None, None, None);
        let doc = parsed(&r);
        assert_eq!(doc["Outcome"], "unknown_account");
        assert!(doc.get("AccountId").is_none());
        assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([["Outcome"]]));
    }

    #[test]
    fn a_parked_callback_has_its_own_outcome() {
        let account = AccountId::new();
        let doc = parsed(&callback_of_version(CallbackResult::Parked, None, Some(&account), None));
        assert_eq!(doc["Outcome"], "parked");
        assert_eq!(doc["AccountId"], account.as_str());
        assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([["Outcome"]]));
    }

    #[test]
    fn a_rejected_send_carries_telesign_code() {
        let account = AccountId::new();
        let doc = parsed(&send(SendResult::Rejected, Some(11000), &account));
        assert_eq!(doc["Sends"], 1.0);
        assert_eq!(doc["Outcome"], "rejected");
        assert_eq!(doc["TelesignCode"], "11000");
        assert_eq!(doc["AccountId"], account.as_str());
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Outcome"], ["Outcome", "TelesignCode"]])
        );
    }

    #[test]
    fn a_report_lag_is_in_milliseconds_overall_and_by_status() {
        let account = AccountId::new();
        let doc = parsed(&report_lag(93_000, "delivered", &account));
        assert_eq!(doc["AccountId"], account.as_str());
        assert_eq!(doc["DeliveryReportLag"], 93_000.0);
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Dimensions"], json!([[], ["Status"]]));
        assert_eq!(directive["Metrics"][0]["Unit"], "Milliseconds");
    }

    #[tokio::test]
    async fn a_scope_keeps_what_its_work_emitted() {
        let ((), records) = scope(async {
            emit(report_lag(5, "failed", &AccountId::new()));
            emit(
                Record::count(Metric::Sweeps)
                    .dim(Dim::Outcome, "done")
                    .set(&[Dim::Outcome]),
            );
        })
        .await;
        let names: Vec<&str> = records.iter().map(|r| r.metric.name()).collect();
        assert_eq!(names, ["DeliveryReportLag", "Sweeps"]);
    }

    #[test]
    fn every_metric_has_a_unit_cloudwatch_knows() {
        use strum::IntoEnumIterator;
        for m in Metric::iter() {
            assert!(["Count", "Milliseconds"].contains(&m.unit()), "{}", m.name());
        }
    }
}
