//! The capacity model against DynamoDB Local's own `ReturnConsumedCapacity`, for items of 1 KB,
//! 1.1 KB, 4 KB and 4.1 KB, written and read alone and in transactions: a proxy of this test's own
//! in front of the running stack's DynamoDB Local (`AWS_ENDPOINT_URL_DYNAMODB_STREAMS` is
//! DynamoDB Local itself; `TABLE_NAME` its table), its model on, each request's charge compared
//! with what DynamoDB Local says it consumed and with AWS's documented rounding.

use serde_json::{json, Value};

struct Bench {
    http: reqwest::Client,
    proxy: String,
    table: String,
}

impl Bench {
    async fn start() -> Self {
        let upstream = std::env::var("AWS_ENDPOINT_URL_DYNAMODB_STREAMS")
            .expect("the local stack's environment (DynamoDB Local's URL): run make test");
        let table = std::env::var("TABLE_NAME").expect("the local stack's TABLE_NAME: run make test");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let proxy = format!("http://{}", listener.local_addr().expect("its address"));
        tokio::spawn(ddb_fault_proxy::Proxy::new(upstream).serve(listener));
        let bench = Self {
            http: reqwest::Client::new(),
            proxy,
            table,
        };
        let on = bench
            .http
            .post(format!("{}/_proxy/capacity", bench.proxy))
            .body("{}")
            .send()
            .await;
        assert_eq!(on.expect("the proxy answers").status(), 200);
        bench
    }

    async fn call(&self, operation: &str, body: Value) -> Value {
        let answer = self
            .http
            .post(format!("{}/", self.proxy))
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", format!("DynamoDB_20120810.{operation}"))
            .header("authorization", "AWS4-HMAC-SHA256 Credential=local/20261207/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0")
            .body(body.to_string())
            .send()
            .await
            .expect("DynamoDB Local answers");
        assert_eq!(answer.status(), 200, "{operation}");
        serde_json::from_str(&answer.text().await.expect("a body")).expect("JSON")
    }

    /// Units the model charged so far: (read, write).
    async fn charged(&self) -> (f64, f64) {
        let answer = self
            .http
            .get(format!("{}/_proxy/capacity?top=0", self.proxy))
            .send()
            .await;
        let text = answer.expect("the report").text().await.expect("a body");
        let r: Value = serde_json::from_str(&text).expect("JSON");
        (
            r["read_units"].as_f64().unwrap_or(-1.0),
            r["write_units"].as_f64().unwrap_or(-1.0),
        )
    }

    /// The model's charge of one request: read and write units.
    async fn charge_of(&self, operation: &str, body: Value) -> (Value, f64, f64) {
        let (r0, w0) = self.charged().await;
        let answer = self.call(operation, body).await;
        let (r1, w1) = self.charged().await;
        (answer, r1 - r0, w1 - w0)
    }
}

/// An item of exactly `bytes` (as DynamoDB counts them) with its index keys.
fn item(pk: &str, bytes: usize, fill: &str) -> Value {
    // pk (2 + len), sk "A" (2 + 1), gsi1pk/gsi1sk (6 + len, 6 + 1), d (1 + rest).
    let fixed = 2 + pk.len() + 3 + 6 + pk.len() + 7 + 1;
    json!({"pk": {"S": pk}, "sk": {"S": "A"}, "gsi1pk": {"S": pk}, "gsi1sk": {"S": "1"}, "d": {"S": fill.repeat(bytes - fixed)}})
}

fn consumed(answer: &Value) -> f64 {
    let c = &answer["ConsumedCapacity"];
    let c = c.as_array().and_then(|a| a.first()).unwrap_or(c);
    c["CapacityUnits"].as_f64().unwrap_or(-1.0)
}

#[tokio::test]
async fn the_model_charges_as_dynamodb_rounds() {
    let b = Bench::start().await;
    let run = uuid::Uuid::new_v4().simple().to_string();
    // Size, then AWS's documented units: a write (1 KB blocks), a strongly consistent read (4 KB).
    for (bytes, write, read) in [(1024, 1.0, 1.0), (1127, 2.0, 1.0), (4096, 4.0, 1.0), (4198, 5.0, 2.0)] {
        let pk = format!("CAPACITY#{run}#{bytes}");
        let key = json!({"pk": {"S": pk}, "sk": {"S": "A"}});
        let it = item(&pk, bytes, "x");
        // A new item: the table and its entry in gsi1.
        let put = json!({"TableName": b.table, "Item": it, "ReturnConsumedCapacity": "INDEXES"});
        let (answer, _, w) = b.charge_of("PutItem", put).await;
        assert_eq!(w, 2.0 * write, "{bytes} B put: table and index");
        assert_eq!(consumed(&answer), w, "{bytes} B put: as DynamoDB Local charges it");

        let get = json!({"TableName": b.table, "Key": key, "ConsistentRead": true, "ReturnConsumedCapacity": "TOTAL"});
        let (answer, r, _) = b.charge_of("GetItem", get.clone()).await;
        assert_eq!(r, read, "{bytes} B strongly consistent read");
        assert_eq!(consumed(&answer), r, "{bytes} B read: as DynamoDB Local charges it");
        let eventual =
            json!({"TableName": b.table, "Key": key, "ReturnConsumedCapacity": "TOTAL", "ProjectionExpression": "pk"});
        let (_, r, _) = b.charge_of("GetItem", eventual).await;
        assert_eq!(
            r,
            read / 2.0,
            "{bytes} B eventually consistent read, projected: the whole item's size"
        );

        let transact_get =
            json!({"TransactItems": [{"Get": {"TableName": b.table, "Key": key}}], "ReturnConsumedCapacity": "TOTAL"});
        let (answer, r, _) = b.charge_of("TransactGetItems", transact_get).await;
        assert_eq!(r, 2.0 * read, "{bytes} B transactional read");
        assert_eq!(
            consumed(&answer),
            r,
            "{bytes} B transactional read: as DynamoDB Local charges it"
        );

        // The item changed in a transaction: the table's write and the index entry's, doubled.
        let again = json!({"TransactItems": [{"Put": {"TableName": b.table, "Item": item(&pk, bytes, "y")}}], "ReturnConsumedCapacity": "INDEXES"});
        let (answer, _, w) = b.charge_of("TransactWriteItems", again).await;
        assert_eq!(w, 4.0 * write, "{bytes} B transactional put: table and index, doubled");
        assert_eq!(
            consumed(&answer),
            w,
            "{bytes} B transactional put: as DynamoDB Local charges it"
        );

        let query = json!({"TableName": b.table, "KeyConditionExpression": "pk = :p", "FilterExpression": "attribute_not_exists(nothing)",
            "ExpressionAttributeValues": {":p": {"S": pk}}, "ReturnConsumedCapacity": "TOTAL"});
        let (answer, r, _) = b.charge_of("Query", query).await;
        assert_eq!(r, read / 2.0, "{bytes} B eventually consistent query");
        assert_eq!(consumed(&answer), r, "{bytes} B query: as DynamoDB Local charges it");

        // Moving the index entry (a delete there and a put here) in a transaction; the item keeps its size.
        let moved = json!({"TransactItems": [{"Update": {"TableName": b.table, "Key": key, "UpdateExpression": "SET gsi1pk = :g",
            "ExpressionAttributeValues": {":g": {"S": pk.replacen("CAPACITY", "MOVED#TO", 1)}}}}], "ReturnConsumedCapacity": "INDEXES"});
        let (answer, _, w) = b.charge_of("TransactWriteItems", moved).await;
        assert_eq!(
            w,
            2.0 * write + 2.0 * 2.0 * write,
            "{bytes} B index key moved in a transaction"
        );
        assert_eq!(consumed(&answer), w, "{bytes} B move: as DynamoDB Local charges it");

        let delete = json!({"TableName": b.table, "Key": key, "ReturnConsumedCapacity": "INDEXES"});
        let (answer, _, w) = b.charge_of("DeleteItem", delete).await;
        assert_eq!(w, 2.0 * write, "{bytes} B delete: the table and the index entry");
        assert_eq!(consumed(&answer), w, "{bytes} B delete: as DynamoDB Local charges it");
    }
}

#[tokio::test]
async fn a_key_past_a_partitions_write_units_is_throttled_as_dynamodb_throttles_it() {
    let b = Bench::start().await;
    let on = b
        .http
        .post(format!("{}/_proxy/capacity", b.proxy))
        .body(r#"{"enforce": true}"#)
        .send()
        .await;
    assert_eq!(on.expect("the proxy answers").status(), 200);
    let run = uuid::Uuid::new_v4().simple().to_string();
    let (hot, cold) = (format!("HOT#{run}"), format!("COLD#{run}"));
    // 100 KB items: 100 write units each, 200 with the index entry; a partition takes 1,000 a second.
    let mut refused = None;
    for i in 0..40 {
        let put = json!({"TableName": b.table, "Item": item(&hot, 100 * 1024, if i % 2 == 0 { "a" } else { "b" })});
        let answer = b
            .http
            .post(format!("{}/", b.proxy))
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", "DynamoDB_20120810.PutItem")
            .header("authorization", "AWS4-HMAC-SHA256 Credential=local/20261207/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0")
            .body(put.to_string())
            .send()
            .await
            .expect("the proxy answers");
        if answer.status() != 200 {
            refused = Some(serde_json::from_str::<Value>(&answer.text().await.expect("a body")).expect("JSON"));
            break;
        }
    }
    let refused = refused.expect("a key past 1,000 write units in a second is throttled");
    assert_eq!(
        refused["__type"],
        "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"
    );
    let reason = &refused["ThrottlingReasons"][0]["reason"];
    assert!(
        reason == "TableWriteKeyRangeThroughputExceeded" || reason == "IndexWriteKeyRangeThroughputExceeded",
        "{refused}"
    );
    // Another key of the same table is served.
    b.call("PutItem", json!({"TableName": b.table, "Item": item(&cold, 1024, "c")}))
        .await;
}
