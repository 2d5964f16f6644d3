//! Requests forwarded under the capacity model (`capacity.rs`): what each one touches, the items
//! before and after it (read from DynamoDB Local beside the request, strongly consistent), its
//! charges, and the throttling of a key that spent its partition's second.
//!
//! The items before and after a write are read by extra requests of the proxy's own (and a read
//! with a projection or a filter is read again without it), so a request under the model costs
//! DynamoDB Local up to three round trips: the model is for load tests and the cost bench
//! (`POST /_proxy/capacity`), off by default. Concurrent writes to one item may interleave with
//! those reads; the model then charges one of them by the other's item, which changes a count by
//! a unit at most. The model also counts the stream's records the events function would take
//! (each one an event on the bus and a message to listening consoles).

use std::time::Instant;

use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::{json, Map, Value};

use crate::capacity::{read_units, write_charges, Charge, Consistency, Meter, Schema};
use crate::{answer, dynamodb_error, hung, Answer, Proxy};

/// The model's state: on since `started`, enforcing the per-key limits or only counting.
pub(crate) struct Model {
    pub(crate) started: Instant,
    pub(crate) enforce: bool,
    pub(crate) meter: Meter,
    pub(crate) schemas: std::collections::HashMap<String, Schema>,
}

impl Model {
    pub(crate) fn new(enforce: bool) -> Self {
        Self {
            started: Instant::now(),
            enforce,
            meter: Meter::default(),
            schemas: Default::default(),
        }
    }

    fn second(&self) -> u64 {
        self.started.elapsed().as_secs()
    }
}

/// One item a write request writes.
struct Target {
    table: String,
    key: Map<String, Value>,
    kind: WriteKind,
    transactional: bool,
    before: Option<Map<String, Value>>,
}

#[derive(PartialEq)]
enum WriteKind {
    Put(Map<String, Value>),
    Update,
    Delete,
    Check,
}

fn object(value: &Value) -> Option<Map<String, Value>> {
    value.as_object().cloned()
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

/// The key attributes of an item.
fn key_of(schema: &Schema, item: &Map<String, Value>) -> Map<String, Value> {
    let mut names = vec![schema.hash.as_str()];
    names.extend(schema.range.as_deref());
    names
        .into_iter()
        .filter_map(|n| Some((n.to_owned(), item.get(n)?.clone())))
        .collect()
}

impl Proxy {
    /// Whether the capacity model is on.
    pub(crate) fn metering(&self) -> bool {
        self.lock().model.is_some()
    }

    /// A request of the proxy's own to DynamoDB Local (the caller's credentials, unsigned).
    async fn call(&self, headers: &HeaderMap, operation: &str, body: &Value) -> Option<Value> {
        let mut request = Request::builder()
            .method("POST")
            .uri(format!("{}/", self.upstream))
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", format!("DynamoDB_20120810.{operation}"));
        if let Some(auth) = headers.get(http::header::AUTHORIZATION) {
            request = request.header(http::header::AUTHORIZATION, auth);
        }
        let request = request.body(Full::new(Bytes::from(body.to_string()))).ok()?;
        let response = self.client.request(request).await.ok()?;
        let ok = response.status() == StatusCode::OK;
        let bytes = response.into_body().collect().await.ok()?.to_bytes();
        ok.then(|| serde_json::from_slice(&bytes).ok()).flatten()
    }

    async fn schema(&self, headers: &HeaderMap, table: &str) -> Option<Schema> {
        if let Some(s) = self.lock().model.as_ref().and_then(|m| m.schemas.get(table).cloned()) {
            return Some(s);
        }
        let described = self
            .call(headers, "DescribeTable", &json!({"TableName": table}))
            .await?;
        let schema = Schema::from_description(&described)?;
        if let Some(m) = self.lock().model.as_mut() {
            m.schemas.insert(table.to_owned(), schema.clone());
        }
        Some(schema)
    }

    async fn item(&self, headers: &HeaderMap, table: &str, key: &Map<String, Value>) -> Option<Map<String, Value>> {
        let got = self
            .call(
                headers,
                "GetItem",
                &json!({"TableName": table, "Key": key, "ConsistentRead": true}),
            )
            .await?;
        object(&got["Item"])
    }

    /// A request forwarded under the model: throttled if it touches a spent key, else forwarded and charged.
    pub(crate) async fn metered(&self, operation: &str, parts: http::request::Parts, body: Bytes) -> Answer {
        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let headers = parts.headers.clone();
        let mut targets = self.write_targets(&headers, operation, &request).await;
        for t in &mut targets {
            t.before = self.item(&headers, &t.table, &t.key).await;
        }
        if let Some(refused) = self.throttled(&headers, operation, &request, &targets).await {
            return refused;
        }
        let (status, head, bytes) = self.exchange(parts, body).await?;
        let answered: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let charges = if targets.is_empty() {
            self.read_charges(&headers, operation, &request, &answered, status)
                .await
        } else {
            self.write_target_charges(&headers, targets, status, &answered).await
        };
        if let Some(m) = self.lock().model.as_mut() {
            let second = m.second();
            m.meter.record(operation, second, &charges);
        }
        Ok(http::Response::from_parts(head, Full::new(bytes)))
    }

    async fn exchange(
        &self,
        parts: http::request::Parts,
        body: Bytes,
    ) -> Result<(StatusCode, http::response::Parts, Bytes), crate::HangUp> {
        let response = self.forward(parts, body).await?;
        let (head, body) = response.into_parts();
        let bytes = body.collect().await.map_err(hung)?.to_bytes();
        Ok((head.status, head, bytes))
    }

    async fn write_targets(&self, headers: &HeaderMap, operation: &str, request: &Value) -> Vec<Target> {
        let mut raw: Vec<(String, WriteKind, Value, bool)> = Vec::new();
        match operation {
            "PutItem" => raw.push((
                text(&request["TableName"]),
                put(&request["Item"]),
                request["Item"].clone(),
                false,
            )),
            "UpdateItem" => raw.push((
                text(&request["TableName"]),
                WriteKind::Update,
                request["Key"].clone(),
                false,
            )),
            "DeleteItem" => raw.push((
                text(&request["TableName"]),
                WriteKind::Delete,
                request["Key"].clone(),
                false,
            )),
            "BatchWriteItem" => {
                for (table, writes) in request["RequestItems"].as_object().into_iter().flatten() {
                    for w in writes.as_array().into_iter().flatten() {
                        if let Some(item) = w["PutRequest"]["Item"].as_object() {
                            raw.push((
                                table.clone(),
                                put(&w["PutRequest"]["Item"]),
                                Value::Object(item.clone()),
                                false,
                            ));
                        } else {
                            raw.push((
                                table.clone(),
                                WriteKind::Delete,
                                w["DeleteRequest"]["Key"].clone(),
                                false,
                            ));
                        }
                    }
                }
            }
            "TransactWriteItems" => {
                for t in request["TransactItems"].as_array().into_iter().flatten() {
                    let (kind, part, key) = if t["Put"].is_object() {
                        (put(&t["Put"]["Item"]), &t["Put"], &t["Put"]["Item"])
                    } else if t["Update"].is_object() {
                        (WriteKind::Update, &t["Update"], &t["Update"]["Key"])
                    } else if t["Delete"].is_object() {
                        (WriteKind::Delete, &t["Delete"], &t["Delete"]["Key"])
                    } else {
                        (WriteKind::Check, &t["ConditionCheck"], &t["ConditionCheck"]["Key"])
                    };
                    raw.push((text(&part["TableName"]), kind, key.clone(), true));
                }
            }
            _ => {}
        }
        let mut targets = Vec::new();
        for (table, kind, item, transactional) in raw {
            let Some(schema) = self.schema(headers, &table).await else {
                continue;
            };
            let key = key_of(&schema, item.as_object().unwrap_or(&Map::new()));
            targets.push(Target {
                table,
                key,
                kind,
                transactional,
                before: None,
            });
        }
        targets
    }

    async fn write_target_charges(
        &self,
        headers: &HeaderMap,
        targets: Vec<Target>,
        status: StatusCode,
        answered: &Value,
    ) -> Vec<Charge> {
        let mut charges = Vec::new();
        for t in targets {
            let Some(schema) = self.schema(headers, &t.table).await else {
                continue;
            };
            if unprocessed(answered, &t) {
                continue;
            }
            let committed = status == StatusCode::OK;
            let after = match (&t.kind, committed) {
                (_, false) | (WriteKind::Check, _) => t.before.clone(),
                (WriteKind::Put(item), true) => Some(item.clone()),
                (WriteKind::Delete, true) => None,
                (WriteKind::Update, true) => self.item(headers, &t.table, &t.key).await,
            };
            let committed = committed && t.kind != WriteKind::Check;
            if committed && after.is_some() && t.before != after && streamed(&t.key) {
                if let Some(m) = self.lock().model.as_mut() {
                    m.meter.streamed(1);
                }
            }
            charges.extend(write_charges(
                &t.table,
                &schema,
                t.before.as_ref(),
                after.as_ref(),
                committed,
                t.transactional,
            ));
        }
        charges
    }

    async fn read_charges(
        &self,
        headers: &HeaderMap,
        operation: &str,
        request: &Value,
        answered: &Value,
        status: StatusCode,
    ) -> Vec<Charge> {
        if status != StatusCode::OK {
            return Vec::new();
        }
        match operation {
            "GetItem" => {
                let table = text(&request["TableName"]);
                let c = consistency(request);
                let answer = whole(request).then(|| object(&answered["Item"]));
                self.get_charges(headers, &table, &request["Key"], answer, c).await
            }
            "BatchGetItem" => {
                let mut charges = Vec::new();
                for (table, asked) in request["RequestItems"].as_object().into_iter().flatten() {
                    let left = &answered["UnprocessedKeys"][table]["Keys"];
                    let got = answered["Responses"][table].as_array().cloned().unwrap_or_default();
                    for key in asked["Keys"].as_array().into_iter().flatten() {
                        if left.as_array().is_some_and(|l| l.contains(key)) {
                            continue;
                        }
                        let answer = whole(asked).then(|| got.iter().filter_map(object).find(|i| holds(i, key)));
                        charges.extend(self.get_charges(headers, table, key, answer, consistency(asked)).await);
                    }
                }
                charges
            }
            "TransactGetItems" => {
                let mut charges = Vec::new();
                let gets = request["TransactItems"].as_array().into_iter().flatten();
                for (i, t) in gets.enumerate() {
                    let get = &t["Get"];
                    let table = text(&get["TableName"]);
                    let answer = whole(get).then(|| object(&answered["Responses"][i]["Item"]));
                    let c = Consistency::Transactional;
                    charges.extend(self.get_charges(headers, &table, &get["Key"], answer, c).await);
                }
                charges
            }
            "Query" | "Scan" => self.query_charges(headers, operation, request, answered).await,
            _ => Vec::new(),
        }
    }

    /// One item read: charged by its whole size, from the answer when it holds the whole item
    /// (`answer`: `Some(None)` for an item not found), else read again without the projection.
    async fn get_charges(
        &self,
        headers: &HeaderMap,
        table: &str,
        key: &Value,
        answer: Option<Option<Map<String, Value>>>,
        c: Consistency,
    ) -> Vec<Charge> {
        let Some(schema) = self.schema(headers, table).await else {
            return Vec::new();
        };
        let key = object(key).unwrap_or_default();
        let item = match answer {
            Some(answered) => answered,
            None => self.item(headers, table, &key).await,
        };
        let size = item.map_or(0, |i| crate::capacity::item_size(&i));
        let partition = schema.partition(&key).unwrap_or_default();
        vec![Charge::read(table, None, partition, read_units(size, c))]
    }

    /// A query or scan: the items it read before any filter or projection (asked again without
    /// them when it had any), their sizes summed, then rounded.
    async fn query_charges(
        &self,
        headers: &HeaderMap,
        operation: &str,
        request: &Value,
        answered: &Value,
    ) -> Vec<Charge> {
        let table = text(&request["TableName"]);
        let index = request["IndexName"].as_str();
        let Some(schema) = self.schema(headers, &table).await else {
            return Vec::new();
        };
        let narrowed = ["FilterExpression", "ProjectionExpression", "Select"]
            .iter()
            .any(|f| request.get(*f).is_some());
        let read = if narrowed {
            self.call(headers, operation, &unnarrowed(request))
                .await
                .unwrap_or(Value::Null)
        } else {
            answered.clone()
        };
        let items: Vec<Map<String, Value>> = read["Items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(object)
            .collect();
        let size: u64 = items.iter().map(crate::capacity::item_size).sum();
        let key = match operation {
            "Scan" => "*".to_owned(),
            _ => schema
                .hash_of(index)
                .and_then(|h| partition_asked(request, h))
                .unwrap_or_default(),
        };
        vec![Charge::read(&table, index, key, read_units(size, consistency(request)))]
    }

    /// The keys a request would charge, checked against the units their partitions spent this
    /// second; a spent one answers as DynamoDB does.
    async fn throttled(
        &self,
        headers: &HeaderMap,
        operation: &str,
        request: &Value,
        targets: &[Target],
    ) -> Option<Answer> {
        let enforce = self.lock().model.as_ref().is_some_and(|m| m.enforce);
        if !enforce {
            return None;
        }
        let mut touched = Vec::new();
        for t in targets {
            let schema = self.schema(headers, &t.table).await?;
            touched.push((
                t.table.clone(),
                None,
                schema.partition(&t.key).unwrap_or_default(),
                true,
            ));
            let items = [
                t.before.as_ref(),
                if let WriteKind::Put(i) = &t.kind { Some(i) } else { None },
            ];
            for item in items.into_iter().flatten() {
                for (index, k) in schema.index_partitions(item) {
                    touched.push((t.table.clone(), Some(index), k, true));
                }
            }
        }
        if targets.is_empty() {
            touched.extend(self.reads_touched(headers, operation, request).await);
        }
        let hit = self.lock().model.as_mut().and_then(|m| {
            let second = m.second();
            m.meter.over_limit(second, &touched)
        })?;
        Some(throttle_answer(operation, request, &hit))
    }

    async fn reads_touched(
        &self,
        headers: &HeaderMap,
        operation: &str,
        request: &Value,
    ) -> Vec<(String, Option<String>, String, bool)> {
        let table = text(&request["TableName"]);
        let Some(schema) = self.schema(headers, &table).await else {
            return Vec::new();
        };
        match operation {
            "GetItem" => object(&request["Key"])
                .and_then(|k| schema.partition(&k))
                .map(|k| (table, None, k, false))
                .into_iter()
                .collect(),
            "Query" => {
                let index = request["IndexName"].as_str().map(str::to_owned);
                schema
                    .hash_of(index.as_deref())
                    .and_then(|h| partition_asked(request, h))
                    .map(|k| (table, index, k, false))
                    .into_iter()
                    .collect()
            }
            _ => Vec::new(),
        }
    }
}

/// Whether a change of this item is a record the events function takes from the stream: an
/// insert or change of a conversation or a message (`CONV#…` / `CONV` or `MSG#…`: the template's
/// filter of the stream's event source).
fn streamed(key: &Map<String, Value>) -> bool {
    let text = |name: &str| key.get(name).and_then(|v| v["S"].as_str()).unwrap_or("");
    text("pk").starts_with("CONV#") && (text("sk") == "CONV" || text("sk").starts_with("MSG#"))
}

fn put(item: &Value) -> WriteKind {
    WriteKind::Put(object(item).unwrap_or_default())
}

/// Whether a read asks for whole items (no projection): its answer then holds what it read.
fn whole(request: &Value) -> bool {
    request.get("ProjectionExpression").is_none() && request.get("AttributesToGet").is_none()
}

/// Whether `item` is the one `key` names (every key attribute equal).
fn holds(item: &Map<String, Value>, key: &Value) -> bool {
    key.as_object()
        .is_some_and(|k| k.iter().all(|(name, v)| item.get(name) == Some(v)))
}

fn consistency(request: &Value) -> Consistency {
    if request["ConsistentRead"].as_bool() == Some(true) {
        Consistency::Strong
    } else {
        Consistency::Eventual
    }
}

/// Whether a batch left this write unprocessed (it is then not charged).
fn unprocessed(answered: &Value, t: &Target) -> bool {
    answered["UnprocessedItems"][&t.table].as_array().is_some_and(|left| {
        left.iter().any(|w| {
            let item = w["PutRequest"]["Item"]
                .as_object()
                .or(w["DeleteRequest"]["Key"].as_object());
            item.is_some_and(|i| t.key.iter().all(|(k, v)| i.get(k) == Some(v)))
        })
    })
}

/// A query or scan without its filter, projection and `Select`, and without the names and values
/// only those used (DynamoDB Local refuses unused ones).
fn unnarrowed(request: &Value) -> Value {
    let mut plain = request.clone();
    let Some(fields) = plain.as_object_mut() else {
        return plain;
    };
    for f in ["FilterExpression", "ProjectionExpression", "Select"] {
        fields.remove(f);
    }
    let kept = fields
        .get("KeyConditionExpression")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    for table in ["ExpressionAttributeNames", "ExpressionAttributeValues"] {
        if let Some(Value::Object(m)) = fields.get_mut(table) {
            m.retain(|placeholder, _| mentions(&kept, placeholder));
            if m.is_empty() {
                fields.remove(table);
            }
        }
    }
    plain
}

/// Whether `expression` names `placeholder` (`#pk`, `:v`) as a whole token.
fn mentions(expression: &str, placeholder: &str) -> bool {
    expression.match_indices(placeholder).any(|(i, _)| {
        let next = expression[i + placeholder.len()..].chars().next();
        !next.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// The partition key value a query asks for: the value its key condition sets `hash` equal to.
fn partition_asked(request: &Value, hash: &str) -> Option<String> {
    let condition = request["KeyConditionExpression"].as_str()?;
    let names = &request["ExpressionAttributeNames"];
    for clause in condition.split(" AND ").flat_map(|c| c.split(" and ")) {
        let Some((left, right)) = clause.split_once('=') else {
            continue;
        };
        if left.ends_with(['<', '>']) {
            continue;
        }
        let left = left.trim().trim_start_matches('(');
        let name = names[left].as_str().unwrap_or(left);
        if name == hash {
            let placeholder = right.trim().trim_end_matches(')');
            let value = &request["ExpressionAttributeValues"][placeholder];
            return value.as_object()?.values().next()?.as_str().map(str::to_owned);
        }
    }
    None
}

/// DynamoDB's answer to a request over a partition's limit: a transaction is cancelled with a
/// `ThrottlingError` reason; any other request is refused with the key range reason
/// (`ProvisionedThroughputExceededException`, retried by the SDKs as throttling).
fn throttle_answer(operation: &str, request: &Value, hit: &(String, Option<String>, bool)) -> Answer {
    let (table, index, write) = hit;
    let reason = format!(
        "{}{}KeyRangeThroughputExceeded",
        if index.is_some() { "Index" } else { "Table" },
        if *write { "Write" } else { "Read" }
    );
    let resource = match index {
        Some(i) => format!("arn:aws:dynamodb:local:000000000000:table/{table}/index/{i}"),
        None => format!("arn:aws:dynamodb:local:000000000000:table/{table}"),
    };
    if operation == "TransactWriteItems" || operation == "TransactGetItems" {
        let items = request["TransactItems"].as_array().map_or(1, Vec::len);
        let reasons: Vec<Value> = (0..items)
            .map(|_| json!({"Code": "ThrottlingError", "Message": "Throughput exceeds the current capacity of your table or index."}))
            .collect();
        return dynamodb_error(
            "TransactionCanceledException",
            "Transaction cancelled, please refer cancellation reasons for specific reasons [ThrottlingError]",
            json!({"CancellationReasons": reasons}),
        );
    }
    dynamodb_error(
        "ProvisionedThroughputExceededException",
        "Throughput exceeds the current capacity for one or more partitions of your table or index.",
        json!({"ThrottlingReasons": [{"reason": reason, "resource": resource}]}),
    )
}

/// `POST /_proxy/capacity` `{enforce?}`: the model on (afresh); `DELETE`: off; `GET ?top=N`: the report.
pub(crate) fn control(proxy: &Proxy, method: &str, query: &str, body: &[u8]) -> Answer {
    match method {
        "POST" => {
            let asked: Value = serde_json::from_slice(body).unwrap_or(json!({}));
            let enforce = asked["enforce"].as_bool().unwrap_or(false);
            proxy.lock().model = Some(Model::new(enforce));
            answer(StatusCode::OK, json!({"capacity": "on", "enforce": enforce}))
        }
        "DELETE" => {
            proxy.lock().model = None;
            answer(StatusCode::OK, json!({"capacity": "off"}))
        }
        "GET" => {
            let top = query
                .split('&')
                .find_map(|p| p.strip_prefix("top="))
                .and_then(|n| n.parse().ok())
                .unwrap_or(20);
            match proxy.lock().model.as_ref() {
                Some(m) => answer(StatusCode::OK, m.meter.report(m.started.elapsed().as_secs_f64(), top)),
                None => answer(
                    StatusCode::CONFLICT,
                    json!({"error": "the capacity model is off: POST /_proxy/capacity"}),
                ),
            }
        }
        _ => answer(StatusCode::METHOD_NOT_ALLOWED, json!({"error": "GET, POST or DELETE"})),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_without_its_filter_keeps_only_the_names_its_key_condition_uses() {
        let q = json!({
            "TableName": "T", "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :p)",
            "FilterExpression": "#st = :open", "ProjectionExpression": "#pk, #x",
            "ExpressionAttributeNames": {"#pk": "pk", "#sk": "sk", "#st": "status", "#x": "x"},
            "ExpressionAttributeValues": {":pk": {"S": "A"}, ":p": {"S": "M#"}, ":open": {"S": "open"}, ":pk2": {"S": "B"}},
        });
        let plain = unnarrowed(&q);
        assert_eq!(plain["ExpressionAttributeNames"], json!({"#pk": "pk", "#sk": "sk"}));
        assert_eq!(
            plain["ExpressionAttributeValues"],
            json!({":pk": {"S": "A"}, ":p": {"S": "M#"}})
        );
        assert!(plain.get("FilterExpression").is_none() && plain.get("ProjectionExpression").is_none());
        assert_eq!(partition_asked(&q, "pk").as_deref(), Some("A"));
        assert_eq!(partition_asked(&q, "sk"), None);
        let plain_names = json!({"KeyConditionExpression": "gsi1pk = :g AND gsi1sk <= :t",
            "ExpressionAttributeValues": {":g": {"S": "ACC#1#open"}, ":t": {"S": "9"}}});
        assert_eq!(partition_asked(&plain_names, "gsi1pk").as_deref(), Some("ACC#1#open"));
    }
}
