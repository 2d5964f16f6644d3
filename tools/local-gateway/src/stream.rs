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
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
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
/// The mapping's filter: the key prefix of the items events are made of.
pub const FILTER_PREFIX: &str = shared::store::stream::EVENT_PARTITION_PREFIX;

/// An iterator per open shard.
type Shards = HashMap<String, Option<String>>;

impl Gateway {
    /// Follows the table's stream until the process ends.
    pub fn start_stream(self: &Arc<Self>, client: Client, arn: String) {
        let gateway = self.clone();
        tokio::spawn(async move {
            let mut shards = Shards::new();
            let mut first = true;
            loop {
                if let Err(e) = gateway.follow(&client, &arn, &mut shards, first).await {
                    tracing::warn!(error = %e, "the table's stream could not be read");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                first = false;
            }
        });
    }

    /// Reads every shard until one closes or something fails; new shards are read from their
    /// start, the ones open when the gateway started from their end.
    async fn follow(&self, client: &Client, arn: &str, shards: &mut Shards, first: bool) -> Result<(), String> {
        discover(client, arn, shards, first).await?;
        loop {
            let mut idle = true;
            let ids: Vec<String> = shards.keys().cloned().collect();
            for id in ids {
                let Some(Some(iterator)) = shards.get(&id).cloned() else {
                    continue;
                };
                let out = client
                    .get_records()
                    .shard_iterator(iterator)
                    .limit(BATCH_SIZE as i32)
                    .send()
                    .await
                    .map_err(|e| format!("{e:?}").chars().take(300).collect::<String>())?;
                let records: Vec<Value> = out.records().iter().filter(|r| passes(r)).map(|r| event_record(r, arn)).collect();
                if !out.records().is_empty() {
                    idle = false;
                }
                if !records.is_empty() {
                    self.deliver(records).await;
                }
                match out.next_shard_iterator {
                    Some(next) => {
                        shards.insert(id, Some(next));
                    }
                    None => {
                        // Closed: its children are found by the next discovery.
                        shards.insert(id, None);
                        return Ok(());
                    }
                }
            }
            if idle {
                tokio::time::sleep(POLL_EVERY).await;
            }
        }
    }

    /// Delivers records in order: a reported failure resumes from its record, an invocation
    /// that fails is bisected, each attempt after a backoff.
    async fn deliver(&self, records: Vec<Value>) {
        let mut pending: VecDeque<(Vec<Value>, u32)> = VecDeque::from([(records, 0)]);
        while let Some((batch, tries)) = pending.pop_front() {
            if tries > 0 {
                tokio::time::sleep(Duration::from_millis((50u64 << tries.min(6)).min(2_000))).await;
            }
            if tries > MAX_RETRIES {
                let first = batch.first().map(sequence_of).unwrap_or_default();
                tracing::error!(records = batch.len(), first_sequence = %first, "records sent to the on-failure destination");
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
        let crash = self.events_crashes.fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1)).is_ok();
        let handled = if crash { &batch[..batch.len() / 2] } else { batch };
        let event = serde_json::from_value(json!({ "Records": handled })).map_err(|e| e.to_string())?;
        let span = tracing::info_span!("invoke", function = "events");
        let response = self.events.handle(event).instrument(span).await;
        if crash {
            return Err("the sandbox was killed mid-batch".into());
        }
        Ok(response.batch_item_failures.first().and_then(|f| f.item_identifier.clone()))
    }
}

/// Adds the shards not known yet: from their end at start, from their beginning after.
async fn discover(client: &Client, arn: &str, shards: &mut Shards, first: bool) -> Result<(), String> {
    let described = client
        .describe_stream()
        .stream_arn(arn)
        .send()
        .await
        .map_err(|e| format!("{e:?}").chars().take(300).collect::<String>())?;
    let found = described.stream_description().map(|d| d.shards().to_vec()).unwrap_or_default();
    for shard in found {
        let Some(id) = shard.shard_id() else { continue };
        if shards.contains_key(id) {
            continue;
        }
        let open = shard.sequence_number_range().is_none_or(|r| r.ending_sequence_number().is_none());
        if first && !open {
            shards.insert(id.to_owned(), None);
            continue;
        }
        let kind = if first { ShardIteratorType::Latest } else { ShardIteratorType::TrimHorizon };
        let iterator = client
            .get_shard_iterator()
            .stream_arn(arn)
            .shard_id(id)
            .shard_iterator_type(kind)
            .send()
            .await
            .map_err(|e| format!("{e:?}").chars().take(300).collect::<String>())?;
        shards.insert(id.to_owned(), iterator.shard_iterator);
    }
    Ok(())
}

/// Whether a record passes the mapping's filter (`dynamodb.Keys.pk.S` prefix `CONV#`).
fn passes(r: &Record) -> bool {
    let key = r.dynamodb().and_then(|d| d.keys()).and_then(|k| k.get(shared::table::PK));
    matches!(key, Some(AttributeValue::S(pk)) if pk.starts_with(FILTER_PREFIX))
}

fn sequence_of(record: &Value) -> String {
    record["dynamodb"]["SequenceNumber"].as_str().unwrap_or_default().to_owned()
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

/// The table's stream, enabled (new and old images) when the table has none.
pub async fn stream_of(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<String, String> {
    let text = |e: &dyn std::fmt::Debug| format!("{e:?}").chars().take(300).collect::<String>();
    let described = client.describe_table().table_name(table).send().await.map_err(|e| text(&e))?;
    if let Some(arn) = described.table().and_then(|t| t.latest_stream_arn()) {
        if described.table().and_then(|t| t.stream_specification()).is_some_and(|s| s.stream_enabled()) {
            return Ok(arn.to_owned());
        }
    }
    let updated = client
        .update_table()
        .table_name(table)
        .stream_specification(shared::table::stream_specification().map_err(|e| text(&e))?)
        .send()
        .await
        .map_err(|e| text(&e))?;
    updated
        .table_description()
        .and_then(|t| t.latest_stream_arn())
        .map(str::to_owned)
        .ok_or_else(|| "the table has no stream".into())
}
