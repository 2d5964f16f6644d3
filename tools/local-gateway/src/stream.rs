//! Lambda's DynamoDB Streams event source mapping, locally: the table's stream (DynamoDB Local
//! serves it) is read shard by shard with `GetShardIterator` / `GetRecords`, every 100 ms, and
//! each batch of records whose key passes the mapping's filter (the conversations' partitions,
//! as the template's `FilterCriteria`) is handed to the `events` function as the DynamoDB event
//! Lambda sends, in order. A batch the function reports a failure for is delivered again from
//! that record; a batch whose invocation fails is split in two (bisect on error) and each half
//! delivered again, with backoff; after [`MAX_RETRIES`] the records are logged as sent to the
//! on-failure destination and skipped, as the mapping does.
//!
//! `POST /_local/faults/events {"crashes": n}` makes the next `n` invocations die after handling
//! the first half of their batch (the sandbox killed mid-stream): the mapping delivers again.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
use aws_sdk_dynamodbstreams::Client;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hyper::body::Bytes;
use serde_json::{json, Map, Value};
use tracing::Instrument;

use crate::Gateway;

/// The most records of one batch (the template's `BatchSize`).
pub const BATCH_SIZE: usize = 100;
/// How often an idle shard is read.
pub const POLL_EVERY: Duration = Duration::from_millis(100);
/// Retries of one batch before its records go to the on-failure destination (the template's
/// `MaximumRetryAttempts`).
pub const MAX_RETRIES: u32 = 10;

/// An iterator per open shard.
type Shards = HashMap<String, Option<String>>;

/// What the mapping reads and writes with, all under the events function's role (its meter).
struct Mapping {
    streams: Client,
    arn: String,
    /// The on-failure destination (`EVENTS_FAILURE_QUEUE_URL`).
    failures: Option<(aws_sdk_sqs::Client, String)>,
    max_retries: u32,
}

impl Gateway {
    /// Enables the table's stream when it has none, then follows it until the process ends.
    pub async fn follow_stream(self: &Arc<Self>) -> Result<(), String> {
        let aws = shared::aws::load_config().await;
        let table = shared::config::table_name().map_err(|e| e.to_string())?;
        enable_stream(&aws_sdk_dynamodb::Client::new(&aws), &table).await?;
        let meter = self.meter("events").cloned().unwrap_or_default();
        let conf = aws_sdk_dynamodbstreams::config::Builder::from(&aws)
            .interceptor(meter.interceptor("dynamodbstreams"))
            .interceptor(EmptyMaps);
        let streams = Client::from_conf(conf.build());
        let listed = streams
            .list_streams()
            .table_name(&table)
            .send()
            .await
            .map_err(|e| short(&e))?;
        let arn = listed
            .streams()
            .first()
            .and_then(|s| s.stream_arn())
            .ok_or("the table has no stream")?
            .to_owned();
        let failures = match shared::config::optional("EVENTS_FAILURE_QUEUE_URL") {
            Some(url) => {
                let name = url.rsplit('/').next().unwrap_or("events-failed").to_owned();
                aws_sdk_sqs::Client::new(&aws)
                    .create_queue()
                    .queue_name(name)
                    .send()
                    .await
                    .map_err(|e| short(&e))?;
                let conf = aws_sdk_sqs::config::Builder::from(&aws).interceptor(meter.interceptor("sqs"));
                Some((aws_sdk_sqs::Client::from_conf(conf.build()), url))
            }
            None => None,
        };
        let max_retries = shared::config::parsed("EVENTS_MAX_RETRIES", MAX_RETRIES).map_err(|e| e.to_string())?;
        let mapping = Arc::new(Mapping {
            streams,
            arn,
            failures,
            max_retries,
        });
        let gateway = self.clone();
        tokio::spawn(async move {
            let mut shards = Shards::new();
            let mut first = true;
            loop {
                if let Err(e) = gateway.follow(&mapping, &mut shards, first).await {
                    tracing::warn!(error = %e, "the table's stream could not be read");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                first = false;
            }
        });
        Ok(())
    }

    /// Reads every shard until one closes or something fails; new shards are read from their
    /// start, the ones open when the gateway started from their end.
    async fn follow(&self, m: &Mapping, shards: &mut Shards, first: bool) -> Result<(), String> {
        discover(&m.streams, &m.arn, shards, first).await?;
        loop {
            let mut idle = true;
            let ids: Vec<String> = shards.keys().cloned().collect();
            for id in ids {
                let Some(Some(iterator)) = shards.get(&id).cloned() else {
                    continue;
                };
                let out = m
                    .streams
                    .get_records()
                    .shard_iterator(iterator)
                    .limit(BATCH_SIZE as i32)
                    .send()
                    .await
                    .map_err(|e| short(&e))?;
                let records: Vec<Value> = out
                    .records()
                    .iter()
                    .filter(|r| passes(r))
                    .map(|r| event_record(r, &m.arn))
                    .collect();
                idle &= out.records().is_empty();
                if !records.is_empty() {
                    self.deliver(m, &id, records).await;
                }
                let closed = out.next_shard_iterator.is_none();
                // A closed shard's children are found by the next discovery.
                shards.insert(id, out.next_shard_iterator);
                if closed {
                    return Ok(());
                }
            }
            if idle {
                tokio::time::sleep(POLL_EVERY).await;
            }
        }
    }

    /// Delivers records in order: a reported failure resumes from its record, an invocation
    /// that fails is bisected, each attempt after a backoff.
    async fn deliver(&self, m: &Mapping, shard: &str, records: Vec<Value>) {
        let mut pending: VecDeque<(Vec<Value>, u32)> = VecDeque::from([(records, 0)]);
        while let Some((batch, tries)) = pending.pop_front() {
            if tries > 0 {
                tokio::time::sleep(Duration::from_millis((50u64 << tries.min(6)).min(2_000))).await;
            }
            if tries > m.max_retries {
                give_up(m, shard, &batch).await;
                continue;
            }
            match self.invoke_events(&batch).await {
                Ok(None) => {}
                Ok(Some(from)) => {
                    let at = batch.iter().position(|r| sequence_of(r) == from).unwrap_or(0);
                    pending.push_front((batch[at..].to_vec(), tries + 1));
                }
                Err(why) if batch.len() > 1 => {
                    tracing::warn!(records = batch.len(), error = %why, "the events function failed; bisecting the batch");
                    let (a, b) = batch.split_at(batch.len() / 2);
                    pending.push_front((b.to_vec(), tries + 1));
                    pending.push_front((a.to_vec(), tries + 1));
                }
                Err(why) => {
                    tracing::warn!(error = %why, "the events function failed; retrying the record");
                    pending.push_front((batch, tries + 1));
                }
            }
        }
    }

    /// One invocation: the record to resume from when the function reported one.
    async fn invoke_events(&self, batch: &[Value]) -> Result<Option<String>, String> {
        let crash = self
            .events_crashes
            .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1))
            .is_ok();
        let handled = if crash { &batch[..batch.len() / 2] } else { batch };
        let event = serde_json::from_value(json!({ "Records": handled })).map_err(|e| e.to_string())?;
        let span = tracing::info_span!("invoke", function = "events");
        let response = self.events.handle(event).instrument(span).await;
        if crash {
            return Err("the sandbox was killed mid-batch".into());
        }
        Ok(response
            .batch_item_failures
            .first()
            .and_then(|f| f.item_identifier.clone()))
    }
}

/// Adds the shards not known yet: from their end at start, from their beginning after.
async fn discover(client: &Client, arn: &str, shards: &mut Shards, first: bool) -> Result<(), String> {
    let described = client
        .describe_stream()
        .stream_arn(arn)
        .send()
        .await
        .map_err(|e| short(&e))?;
    let found = described
        .stream_description()
        .map(|d| d.shards().to_vec())
        .unwrap_or_default();
    for shard in found {
        let Some(id) = shard.shard_id() else { continue };
        if shards.contains_key(id) {
            continue;
        }
        let open = shard
            .sequence_number_range()
            .is_none_or(|r| r.ending_sequence_number().is_none());
        if first && !open {
            shards.insert(id.to_owned(), None);
            continue;
        }
        let kind = if first {
            ShardIteratorType::Latest
        } else {
            ShardIteratorType::TrimHorizon
        };
        let iterator = client
            .get_shard_iterator()
            .stream_arn(arn)
            .shard_id(id)
            .shard_iterator_type(kind)
            .send()
            .await
            .map_err(|e| short(&e))?;
        shards.insert(id.to_owned(), iterator.shard_iterator);
    }
    Ok(())
}

/// Whether a record passes the mapping's filter (`shared::store::stream::EVENT_FILTER`, the
/// template's): its event name and its key.
fn passes(r: &Record) -> bool {
    let keys = r.dynamodb().and_then(|d| d.keys());
    let text = |name: &str| match keys.and_then(|k| k.get(name)) {
        Some(AttributeValue::S(v)) => v.as_str(),
        _ => "",
    };
    let event_name = r.event_name().map_or("", |n| n.as_str());
    shared::store::stream::passes_filter(event_name, text(shared::table::PK), text(shared::table::SK))
}

fn sequence_of(record: &Value) -> String {
    record["dynamodb"]["SequenceNumber"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A stream record as Lambda's DynamoDB event writes it.
fn event_record(r: &Record, arn: &str) -> Value {
    let d = r.dynamodb();
    let image = |m: Option<&HashMap<String, AttributeValue>>| m.map(item).unwrap_or(Value::Object(Map::new()));
    let at = d
        .and_then(|d| d.approximate_creation_date_time())
        .map(|t| t.secs() as f64 + f64::from(t.subsec_nanos()) / 1e9)
        .unwrap_or(0.0);
    json!({
        "eventID": r.event_id(),
        "eventName": r.event_name().map(|n| n.as_str()),
        "eventVersion": r.event_version(),
        "eventSource": "aws:dynamodb",
        "awsRegion": r.aws_region(),
        "eventSourceARN": arn,
        "dynamodb": {
            "ApproximateCreationDateTime": at,
            "Keys": image(d.and_then(|d| d.keys())),
            "NewImage": image(d.and_then(|d| d.new_image())),
            "OldImage": image(d.and_then(|d| d.old_image())),
            "SequenceNumber": d.and_then(|d| d.sequence_number()),
            "SizeBytes": d.and_then(|d| d.size_bytes()),
            "StreamViewType": d.and_then(|d| d.stream_view_type()).map(|v| v.as_str()),
        }
    })
}

fn item(m: &HashMap<String, AttributeValue>) -> Value {
    Value::Object(m.iter().map(|(k, v)| (k.clone(), attribute(v))).collect())
}

/// An attribute in DynamoDB's JSON.
fn attribute(v: &AttributeValue) -> Value {
    let b64 = |b: &aws_sdk_dynamodbstreams::primitives::Blob| STANDARD.encode(b.as_ref());
    match v {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::B(b) => json!({ "B": b64(b) }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(_) => json!({ "NULL": true }),
        AttributeValue::Ss(l) => json!({ "SS": l }),
        AttributeValue::Ns(l) => json!({ "NS": l }),
        AttributeValue::Bs(l) => json!({ "BS": l.iter().map(b64).collect::<Vec<_>>() }),
        AttributeValue::L(l) => json!({ "L": l.iter().map(attribute).collect::<Vec<_>>() }),
        AttributeValue::M(m) => json!({ "M": item(m) }),
        _ => json!({ "NULL": true }),
    }
}

/// Enables the table's stream (new and old images) when it has none.
async fn enable_stream(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<(), String> {
    let described = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|e| short(&e))?;
    if described
        .table()
        .and_then(|t| t.stream_specification())
        .is_some_and(|s| s.stream_enabled())
    {
        return Ok(());
    }
    let spec = shared::table::stream_specification().map_err(|e| short(&e))?;
    client
        .update_table()
        .table_name(table)
        .stream_specification(spec)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| short(&e))
}

/// The records the mapping gave up on: their place in the stream to the on-failure
/// destination (as Lambda sends it: the batch's metadata, not the records).
async fn give_up(m: &Mapping, shard: &str, batch: &[Value]) {
    let (first, last) = (
        batch.first().map(sequence_of).unwrap_or_default(),
        batch.last().map(sequence_of).unwrap_or_default(),
    );
    tracing::error!(records = batch.len(), first_sequence = %first, "records sent to the on-failure destination");
    let Some((sqs, url)) = &m.failures else { return };
    let body = json!({"requestContext": {"condition": "RetryAttemptsExhausted", "functionArn": "events"},
        "DDBStreamBatchInfo": {"shardId": shard, "startSequenceNumber": first, "endSequenceNumber": last,
                               "batchSize": batch.len(), "streamArn": m.arn}});
    if let Err(e) = sqs
        .send_message()
        .queue_url(url)
        .message_body(body.to_string())
        .send()
        .await
    {
        tracing::error!(error = %short(&e), "the on-failure destination refused the batch's record");
    }
}

fn short(e: &dyn std::fmt::Debug) -> String {
    format!("{e:?}").chars().take(300).collect()
}

/// DynamoDB Local writes an empty map attribute in a stream record as `{}` where DynamoDB writes
/// `{"M": {}}` (an audit entry's empty `detail`, for one), and the SDK refuses the whole page: the
/// records are given as DynamoDB would give them before the SDK reads them.
#[derive(Debug)]
struct EmptyMaps;

impl Intercept for EmptyMaps {
    fn name(&self) -> &'static str {
        "EmptyMaps"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // The body is still a stream here: it is read whole, repaired, and handed on.
        let response = context.response_mut();
        let body = std::mem::replace(response.body_mut(), SdkBody::empty());
        let repaired = futures_util::stream::once(async move {
            let bytes = http_body_util::BodyExt::collect(body).await?.to_bytes();
            let fixed = match serde_json::from_slice::<Value>(&bytes) {
                Ok(page) => Bytes::from(serde_json::to_vec(&repaired_page(page))?),
                Err(_) => bytes,
            };
            Ok::<_, BoxError>(http_body::Frame::data(fixed))
        });
        *response.body_mut() = SdkBody::from_body_1_x(http_body_util::StreamBody::new(repaired));
        Ok(())
    }
}

fn repaired_page(mut page: Value) -> Value {
    for record in page["Records"].as_array_mut().into_iter().flatten() {
        for image in ["Keys", "NewImage", "OldImage"] {
            for value in record["dynamodb"][image]
                .as_object_mut()
                .into_iter()
                .flat_map(|m| m.values_mut())
            {
                repair(value);
            }
        }
    }
    page
}

fn repair(value: &mut Value) {
    let Some(attribute) = value.as_object_mut() else { return };
    if attribute.is_empty() {
        *value = json!({ "M": {} });
        return;
    }
    if let Some(Value::Object(m)) = attribute.get_mut("M") {
        m.values_mut().for_each(repair);
    }
    if let Some(Value::Array(l)) = attribute.get_mut("L") {
        l.iter_mut().for_each(repair);
    }
}
