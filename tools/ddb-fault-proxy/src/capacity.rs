//! DynamoDB's capacity model: what each request would cost on AWS, by table, index and partition key.
//!
//! DynamoDB Local charges nothing and never throttles a key; real DynamoDB charges every request in
//! capacity units and limits each partition. The rules here are AWS's own:
//!
//! - Item size: the sum of its attribute names and values; a string its UTF-8 bytes, a number about
//!   one byte per two significant digits plus one, a binary its raw bytes, a boolean or null one
//!   byte, a list or map 3 bytes plus one per element (and, in a map, each element's name)
//!   ([item sizes](https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html)).
//! - Reads: the size rounded up to 4 KB; a strongly consistent read 1 unit per 4 KB, an eventually
//!   consistent one half that, a transactional one twice; `BatchGetItem` rounds each item on its
//!   own, `Query` and `Scan` the sum of the items read (before any filter or projection); an item
//!   not found costs the minimum
//!   ([read and write operations](https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html)).
//! - Writes: 1 unit per 1 KB of the larger of the item before and after, twice that in a transaction;
//!   a condition check of a transaction is charged as a transactional write of the item; a write
//!   whose condition fails still costs its units (same page).
//! - Global secondary indexes: a write that puts an item into an index, or changes it there, costs a
//!   write of the item's projection in that index; one that changes the index's key costs a delete of
//!   the old entry and a put of the new; one that takes it out, a delete
//!   ([GSI throughput](https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.ThroughputConsiderations)).
//!   A transaction's index writes are doubled as its table writes are: AWS's pages do not say, and
//!   DynamoDB Local's `ReturnConsumedCapacity: INDEXES` charges them so (the cross-check in
//!   `tests/against_dynamodb_local.rs`).
//! - Each partition serves at most 3,000 read units and 1,000 write units a second, on demand or
//!   provisioned; above that a key is throttled with the reason `KeyRangeThroughputExceeded`
//!   ([throttling](https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/throttling-key-range-limit-exceeded-mitigation.html),
//!   [partitions](https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html)).
//!   One item never splits, so one partition key value is what the model limits.
//!
//! Every index of this project projects `ALL`, so an index entry is charged at the item's size.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::{Map, Value};

/// Read units a partition serves in a second.
pub const READ_UNITS_PER_PARTITION: f64 = 3000.0;
/// Write units a partition serves in a second.
pub const WRITE_UNITS_PER_PARTITION: f64 = 1000.0;

/// How a read is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consistency {
    /// Eventually consistent (the default, and every index read).
    Eventual,
    /// `ConsistentRead: true`.
    Strong,
    /// A read of `TransactGetItems`.
    Transactional,
}

/// Read units of reading `bytes` (one item, or the sum a query read).
pub fn read_units(bytes: u64, consistency: Consistency) -> f64 {
    let blocks = bytes.div_ceil(4096).max(1) as f64;
    blocks
        * match consistency {
            Consistency::Eventual => 0.5,
            Consistency::Strong => 1.0,
            Consistency::Transactional => 2.0,
        }
}

/// Write units of writing an item of `bytes` (the larger of before and after).
pub fn write_units(bytes: u64, transactional: bool) -> f64 {
    let blocks = bytes.div_ceil(1024).max(1) as f64;
    if transactional {
        2.0 * blocks
    } else {
        blocks
    }
}

/// The size of an item in DynamoDB's JSON (`{"name": {"S": "..."}, ...}`), as DynamoDB counts it.
pub fn item_size(item: &Map<String, Value>) -> u64 {
    item.iter()
        .map(|(name, value)| name.len() as u64 + value_size(value))
        .sum()
}

fn value_size(value: &Value) -> u64 {
    let Some((kind, inner)) = value.as_object().and_then(|o| o.iter().next()) else {
        return 0;
    };
    let each = |f: fn(&Value) -> u64| inner.as_array().map_or(0, |a| a.iter().map(f).sum::<u64>());
    match kind.as_str() {
        "S" => text_len(inner),
        "N" => number_size(inner),
        "B" => binary_len(inner),
        "BOOL" | "NULL" => 1,
        "SS" => each(text_len),
        "NS" => each(number_size),
        "BS" => each(binary_len),
        "L" => 3 + each(|e| 1 + value_size(e)),
        "M" => {
            3 + inner.as_object().map_or(0, |m| {
                m.iter()
                    .map(|(name, e)| 1 + name.len() as u64 + value_size(e))
                    .sum::<u64>()
            })
        }
        _ => 0,
    }
}

fn text_len(value: &Value) -> u64 {
    value.as_str().map_or(0, |s| s.len() as u64)
}

/// A number: one byte per two significant digits (leading and trailing zeros trimmed), plus one.
fn number_size(value: &Value) -> u64 {
    let text = value.as_str().unwrap_or("0");
    let mantissa = text.split(['e', 'E']).next().unwrap_or("");
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len().max(1) as u64;
    significant.div_ceil(2) + 1
}

/// A binary value's raw bytes (it travels as base64).
fn binary_len(value: &Value) -> u64 {
    let text = value.as_str().unwrap_or("");
    let symbols = text.bytes().filter(|b| !matches!(b, b'=' | b'\n' | b'\r')).count() as u64;
    symbols * 3 / 4
}

/// A table's keys: its own and each global secondary index's.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    /// The partition key's attribute.
    pub hash: String,
    /// The sort key's attribute.
    pub range: Option<String>,
    /// Each index: name, partition key attribute, sort key attribute.
    pub indexes: Vec<(String, String, Option<String>)>,
}

impl Schema {
    /// From a `DescribeTable` answer.
    pub fn from_description(answer: &Value) -> Option<Self> {
        let table = &answer["Table"];
        let keys = |schema: &Value| {
            let mut hash = None;
            let mut range = None;
            for k in schema.as_array()? {
                let name = k["AttributeName"].as_str()?.to_owned();
                match k["KeyType"].as_str()? {
                    "HASH" => hash = Some(name),
                    _ => range = Some(name),
                }
            }
            Some((hash?, range))
        };
        let (hash, range) = keys(&table["KeySchema"])?;
        let indexes = table["GlobalSecondaryIndexes"]
            .as_array()
            .map(|all| {
                all.iter()
                    .filter_map(|i| {
                        let (h, r) = keys(&i["KeySchema"])?;
                        Some((i["IndexName"].as_str()?.to_owned(), h, r))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(Self { hash, range, indexes })
    }

    /// The partition key value of an item (or a key), as text.
    pub fn partition(&self, item: &Map<String, Value>) -> Option<String> {
        scalar(item.get(&self.hash)?)
    }

    /// The partition key attribute of the table (`None`) or of one of its indexes.
    pub fn hash_of(&self, index: Option<&str>) -> Option<&str> {
        match index {
            Some(i) => self.indexes.iter().find(|(n, _, _)| n == i).map(|(_, h, _)| h.as_str()),
            None => Some(&self.hash),
        }
    }

    /// The partition key value of the item's entry in each index it is in: (index, value).
    pub fn index_partitions(&self, item: &Map<String, Value>) -> Vec<(String, String)> {
        (0..self.indexes.len())
            .filter_map(|i| Some((self.indexes[i].0.clone(), self.index_entry(i, item)?.0)))
            .collect()
    }

    /// The item's entry in `index`: its partition key value and its whole key, when the item carries
    /// every key attribute of the index (else it is not in that sparse index).
    fn index_entry(&self, index: usize, item: &Map<String, Value>) -> Option<(String, String)> {
        let (_, hash, range) = self.indexes.get(index)?;
        let partition = scalar(item.get(hash)?)?;
        let sort = match range {
            Some(r) => scalar(item.get(r)?)?,
            None => String::new(),
        };
        Some((partition.clone(), format!("{partition}\u{1f}{sort}")))
    }
}

/// A scalar attribute value's text (`{"S": "x"}` is `x`).
fn scalar(value: &Value) -> Option<String> {
    let (_, inner) = value.as_object()?.iter().next()?;
    inner.as_str().map(str::to_owned)
}

/// Units charged to one partition key of a table or of one of its indexes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Charge {
    /// The table.
    pub table: String,
    /// The index, `None` for the table itself.
    pub index: Option<String>,
    /// The partition key value.
    pub key: String,
    /// Read units.
    pub read: f64,
    /// Write units.
    pub write: f64,
}

impl Charge {
    /// Read units charged to a key of the table (or of `index`).
    pub fn read(table: &str, index: Option<&str>, key: String, units: f64) -> Self {
        Self {
            table: table.to_owned(),
            index: index.map(str::to_owned),
            key,
            read: units,
            write: 0.0,
        }
    }

    /// Write units charged to a key of the table (or of `index`).
    pub fn write(table: &str, index: Option<&str>, key: String, units: f64) -> Self {
        Self {
            table: table.to_owned(),
            index: index.map(str::to_owned),
            key,
            read: 0.0,
            write: units,
        }
    }
}

/// The charges of one item written: the item before and after (`None`: absent), whether the write
/// took effect, whether it is part of a transaction.
pub fn write_charges(
    table: &str,
    schema: &Schema,
    before: Option<&Map<String, Value>>,
    after: Option<&Map<String, Value>>,
    committed: bool,
    transactional: bool,
) -> Vec<Charge> {
    let size = |item: Option<&Map<String, Value>>| item.map_or(0, item_size);
    let key = before.or(after).and_then(|i| schema.partition(i)).unwrap_or_default();
    let mut charges = vec![Charge::write(
        table,
        None,
        key,
        write_units(size(before).max(size(after)), transactional),
    )];
    if !committed || before == after {
        return charges;
    }
    for (i, (name, _, _)) in schema.indexes.iter().enumerate() {
        let old = before.and_then(|b| schema.index_entry(i, b));
        let new = after.and_then(|a| schema.index_entry(i, a));
        let mut write = |entry: &(String, String), item| {
            charges.push(Charge::write(
                table,
                Some(name),
                entry.0.clone(),
                write_units(size(item), transactional),
            ));
        };
        match (&old, &new) {
            (Some(o), Some(n)) if o.1 == n.1 => write(n, after),
            _ => {
                if let Some(o) = &old {
                    write(o, before);
                }
                if let Some(n) = &new {
                    write(n, after);
                }
            }
        }
    }
    charges
}

/// One key's account.
#[derive(Debug, Clone, Default, Serialize)]
pub struct KeyStats {
    /// Read units in all.
    pub read: f64,
    /// Write units in all.
    pub write: f64,
    /// The most read units in one second.
    pub peak_read_per_second: f64,
    /// The most write units in one second.
    pub peak_write_per_second: f64,
    #[serde(skip)]
    second: u64,
    #[serde(skip)]
    read_now: f64,
    #[serde(skip)]
    write_now: f64,
}

impl KeyStats {
    fn add(&mut self, second: u64, read: f64, write: f64) {
        if self.second != second {
            self.second = second;
            self.read_now = 0.0;
            self.write_now = 0.0;
        }
        self.read += read;
        self.write += write;
        self.read_now += read;
        self.write_now += write;
        self.peak_read_per_second = self.peak_read_per_second.max(self.read_now);
        self.peak_write_per_second = self.peak_write_per_second.max(self.write_now);
    }

    /// Whether this key has spent a partition's units of `second` (reads, or writes).
    fn spent(&self, second: u64, write: bool) -> bool {
        self.second == second
            && if write {
                self.write_now >= WRITE_UNITS_PER_PARTITION
            } else {
                self.read_now >= READ_UNITS_PER_PARTITION
            }
    }
}

/// Units by operation.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OperationStats {
    /// Requests charged.
    pub requests: u64,
    /// Read units.
    pub read: f64,
    /// Write units.
    pub write: f64,
}

/// What every request charged since the model was (re)started.
#[derive(Debug, Default)]
pub struct Meter {
    keys: HashMap<(String, Option<String>, String), KeyStats>,
    operations: BTreeMap<String, OperationStats>,
    throttled: u64,
    stream_records: u64,
}

impl Meter {
    /// Records a request's charges in `second` (seconds since the model started).
    pub fn record(&mut self, operation: &str, second: u64, charges: &[Charge]) {
        let op = self.operations.entry(operation.to_owned()).or_default();
        op.requests += 1;
        for c in charges {
            op.read += c.read;
            op.write += c.write;
        }
        for c in charges {
            self.keys
                .entry((c.table.clone(), c.index.clone(), c.key.clone()))
                .or_default()
                .add(second, c.read, c.write);
        }
    }

    /// Counts records of the table's stream that the events function's filter takes.
    pub fn streamed(&mut self, records: u64) {
        self.stream_records += records;
    }

    /// The first of `touched` (table, index, key, a write?) that has spent its partition's units of
    /// `second`, counted as a throttled request.
    pub fn over_limit(
        &mut self,
        second: u64,
        touched: &[(String, Option<String>, String, bool)],
    ) -> Option<(String, Option<String>, bool)> {
        let hit = touched.iter().find(|(table, index, key, write)| {
            self.keys
                .get(&(table.clone(), index.clone(), key.clone()))
                .is_some_and(|k| k.spent(second, *write))
        })?;
        self.throttled += 1;
        Some((hit.0.clone(), hit.1.clone(), hit.3))
    }

    /// The report: totals, by operation, and the `top` keys by units (writes weighed as 3 reads,
    /// their share of a partition).
    pub fn report(&self, elapsed_seconds: f64, top: usize) -> Value {
        let mut keys: Vec<_> = self.keys.iter().collect();
        let weight = |k: &KeyStats| k.read + 3.0 * k.write;
        keys.sort_by(|a, b| weight(b.1).total_cmp(&weight(a.1)));
        let per_second = elapsed_seconds.max(1e-9);
        let listed: Vec<Value> = keys
            .iter()
            .take(top)
            .map(|((table, index, key), s)| {
                serde_json::json!({
                    "table": table, "index": index, "key": key,
                    "read": s.read, "write": s.write,
                    "read_per_second": s.read / per_second, "write_per_second": s.write / per_second,
                    "peak_read_per_second": s.peak_read_per_second,
                    "peak_write_per_second": s.peak_write_per_second,
                })
            })
            .collect();
        let read: f64 = self.operations.values().map(|o| o.read).sum();
        let write: f64 = self.operations.values().map(|o| o.write).sum();
        serde_json::json!({
            "elapsed_seconds": elapsed_seconds,
            "read_units": read,
            "write_units": write,
            "throttled": self.throttled,
            "stream_records": self.stream_records,
            "operations": self.operations,
            "keys": listed,
            "key_count": self.keys.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    /// An item of exactly `bytes`: `pk` (2 + 4 bytes) and a string `d` (1 byte + the rest).
    fn sized(bytes: usize) -> Map<String, Value> {
        item(json!({"pk": {"S": "ACC1"}, "d": {"S": "x".repeat(bytes - 7)}}))
    }

    #[test]
    fn sizes_are_counted_as_dynamodb_counts_them() {
        assert_eq!(item_size(&item(json!({"name": {"S": "żółw"}}))), 4 + 7);
        // 123.45 has five significant digits: 3 bytes, plus 1.
        assert_eq!(item_size(&item(json!({"n": {"N": "123.45"}}))), 1 + 4);
        assert_eq!(item_size(&item(json!({"n": {"N": "-0.000100"}}))), 1 + 2);
        assert_eq!(item_size(&item(json!({"n": {"N": "1000000"}}))), 1 + 2);
        assert_eq!(item_size(&item(json!({"b": {"B": "AAECAw=="}}))), 1 + 4);
        assert_eq!(
            item_size(&item(json!({"t": {"BOOL": true}, "z": {"NULL": true}}))),
            2 + 2
        );
        // A list: 3 bytes, and one per element besides the element.
        assert_eq!(
            item_size(&item(json!({"l": {"L": [{"S": "ab"}, {"N": "7"}]}}))),
            1 + 3 + (1 + 2) + (1 + 2)
        );
        // A map: its elements' names count too.
        assert_eq!(
            item_size(&item(json!({"m": {"M": {"k": {"S": "v"}}}}))),
            1 + 3 + 1 + 1 + 1
        );
        assert_eq!(item_size(&item(json!({"e": {"M": {}}}))), 1 + 3);
        assert_eq!(item_size(&item(json!({"s": {"SS": ["a", "bc"]}}))), 1 + 3);
        assert_eq!(item_size(&sized(1024)), 1024);
    }

    #[test]
    fn reads_round_up_to_4_kb() {
        let units = |bytes, c| read_units(item_size(&sized(bytes)), c);
        assert_eq!(units(1024, Consistency::Strong), 1.0);
        assert_eq!(units(4096, Consistency::Strong), 1.0);
        assert_eq!(units(4097, Consistency::Strong), 2.0);
        assert_eq!(units(4096, Consistency::Eventual), 0.5);
        assert_eq!(units(4097, Consistency::Eventual), 1.0);
        assert_eq!(units(4096, Consistency::Transactional), 2.0);
        assert_eq!(units(4097, Consistency::Transactional), 4.0);
        // An item not found costs the minimum.
        assert_eq!(read_units(0, Consistency::Strong), 1.0);
    }

    #[test]
    fn writes_round_up_to_1_kb_and_double_in_a_transaction() {
        let units = |bytes, t| write_units(item_size(&sized(bytes)), t);
        assert_eq!(units(1024, false), 1.0);
        assert_eq!(units(1127, false), 2.0); // 1.1 KB
        assert_eq!(units(4096, false), 4.0);
        assert_eq!(units(4198, false), 5.0); // 4.1 KB
        assert_eq!(units(1024, true), 2.0);
        assert_eq!(units(1127, true), 4.0);
        assert_eq!(units(4096, true), 8.0);
        assert_eq!(units(4198, true), 10.0);
    }

    fn schema() -> Schema {
        Schema {
            hash: "pk".into(),
            range: Some("sk".into()),
            indexes: vec![("gsi1".into(), "g".into(), Some("gs".into()))],
        }
    }

    #[test]
    fn a_write_costs_the_larger_of_before_and_after_and_its_index_entries() {
        let before = item(json!({"pk": {"S": "A"}, "sk": {"S": "1"}, "g": {"S": "OPEN"}, "gs": {"S": "t1"}}));
        let moved = item(json!({"pk": {"S": "A"}, "sk": {"S": "1"}, "g": {"S": "CLOSED"}, "gs": {"S": "t1"}}));
        let touched =
            item(json!({"pk": {"S": "A"}, "sk": {"S": "1"}, "g": {"S": "OPEN"}, "gs": {"S": "t1"}, "x": {"S": "y"}}));
        let writes = |b: Option<&Map<String, Value>>, a: Option<&Map<String, Value>>, t| {
            write_charges("T", &schema(), b, a, true, t)
                .into_iter()
                .map(|c| (c.index.unwrap_or_default(), c.key, c.write))
                .collect::<Vec<_>>()
        };
        // A move between index partitions: a delete there and a put here.
        assert_eq!(
            writes(Some(&before), Some(&moved), false),
            [
                ("".into(), "A".into(), 1.0),
                ("gsi1".into(), "OPEN".into(), 1.0),
                ("gsi1".into(), "CLOSED".into(), 1.0)
            ]
        );
        // The same index key: one write of the entry; both doubled in a transaction.
        assert_eq!(
            writes(Some(&before), Some(&touched), true),
            [("".into(), "A".into(), 2.0), ("gsi1".into(), "OPEN".into(), 2.0)]
        );
        // Out of the sparse index: a delete only.
        let gone = item(json!({"pk": {"S": "A"}, "sk": {"S": "1"}}));
        assert_eq!(
            writes(Some(&before), Some(&gone), false),
            [("".into(), "A".into(), 1.0), ("gsi1".into(), "OPEN".into(), 1.0)]
        );
        // A condition that failed: the base units, no index write.
        assert_eq!(
            write_charges("T", &schema(), Some(&before), Some(&moved), false, true).len(),
            1
        );
    }

    #[test]
    fn a_key_that_spent_its_partition_is_throttled_until_the_next_second() {
        let mut meter = Meter::default();
        let hot = [("T".to_owned(), None, "A".to_owned(), true)];
        for _ in 0..999 {
            meter.record("PutItem", 7, &[Charge::write("T", None, "A".into(), 1.0)]);
        }
        assert!(meter.over_limit(7, &hot).is_none());
        meter.record("PutItem", 7, &[Charge::write("T", None, "A".into(), 1.0)]);
        assert!(meter.over_limit(7, &hot).is_some());
        assert!(meter.over_limit(8, &hot).is_none());
        let reads = [("T".to_owned(), None, "A".to_owned(), false)];
        assert!(meter.over_limit(7, &reads).is_none());
    }
}
