//! The DynamoDB adapter: the channel's one table behind the capability traits of
//! `service::ports`, split by capability (accounts, conversations, inbound, outbound, reports).
//! Each function uses (and is granted in IAM) only what it needs; `docs/architecture.md` lists
//! the requests of each operation.

pub mod accounts;
pub mod canned;
pub mod connections;
pub mod conversations;
pub mod customers;
pub mod inbound;
pub mod items;
pub mod leases;
mod listing;
pub mod members;
pub mod outbound;
pub mod reports;
pub mod stream;
mod txn;

use crate::table::Key;
use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;

use crate::table::{PK, SK};
pub use channel_services::ports::StoreError;
pub(crate) use txn::{values, Part, Txn, TxnOutcome};

/// The waits before unprocessed keys are asked for again (DynamoDB leaves keys unprocessed when a
/// partition is throttled: asking again at once only throttles again).
const UNPROCESSED_BACKOFF: channel_services::backoff::Backoff = channel_services::backoff::Backoff::new(
    std::time::Duration::from_millis(20),
    std::time::Duration::from_millis(400),
);

/// Wraps any SDK error as unavailability, keeping its text for the log.
pub(crate) fn sdk_error<E: std::fmt::Debug>(e: E) -> StoreError {
    StoreError::Unavailable(format!("{e:?}").chars().take(600).collect())
}

/// The channel's table in DynamoDB.
#[derive(Debug, Clone)]
pub struct Dynamo {
    /// The SDK client (endpoint from `AWS_ENDPOINT_URL_DYNAMODB` when set).
    pub client: Client,
    /// The table name.
    pub table: String,
    /// How many days an inbound message's raw callback body is kept (its own item, expired by TTL).
    pub raw_payload_days: u32,
}

/// How long raw callback bodies are kept unless `RAW_PAYLOAD_RETENTION_DAYS` says otherwise.
pub const DEFAULT_RAW_PAYLOAD_DAYS: u32 = 30;

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// The `pk`/`sk` key map.
pub(crate) fn key(Key { pk, sk }: Key) -> Item {
    HashMap::from([
        (PK.to_owned(), AttributeValue::S(pk)),
        (SK.to_owned(), AttributeValue::S(sk)),
    ])
}

/// A string attribute value.
pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A number attribute value.
pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

impl Dynamo {
    /// Connects to the table named `table` with the shared AWS configuration, counting every
    /// request into `meter`.
    pub fn new(config: &aws_config::SdkConfig, table: String, meter: &crate::meter::Meter) -> Self {
        let conf = aws_sdk_dynamodb::config::Builder::from(config)
            .interceptor(meter.interceptor("dynamodb"))
            .build();
        Self {
            client: Client::from_conf(conf),
            table,
            raw_payload_days: DEFAULT_RAW_PAYLOAD_DAYS,
        }
    }

    /// The same table, raw callback bodies kept `days`.
    pub fn with_raw_payload_days(self, days: u32) -> Self {
        Self {
            raw_payload_days: days,
            ..self
        }
    }

    /// A new transaction on this table.
    pub(crate) fn txn(&self) -> Txn<'_> {
        Txn::new(self)
    }

    /// Reads one item, strongly consistent.
    pub(crate) async fn get(&self, key_pair: Key) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(key_pair)))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(out.item)
    }

    /// Every item of one query (all its pages), strongly consistent on the table; `filter` keeps
    /// only the items it holds for.
    pub(crate) async fn query_all(
        &self,
        index: Option<&str>,
        condition: &str,
        filter: Option<&str>,
        values: HashMap<String, AttributeValue>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_owned))
                .key_condition_expression(condition)
                .set_filter_expression(filter.map(str::to_owned))
                .set_expression_attribute_values(Some(values.clone()))
                .set_consistent_read(index.is_none().then_some(true))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk_error)?;
            out.extend(page.items().iter().cloned());
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(out);
            }
        }
    }

    /// Reads several items in one request (retrying what DynamoDB leaves unprocessed, with backoff), strongly
    /// consistent; the answer is in the order of the keys.
    pub(crate) async fn get_many(&self, keys: Vec<Key>) -> Result<Vec<Option<Item>>, StoreError> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let request = KeysAndAttributes::builder()
            .set_keys(Some(keys.iter().cloned().map(key).collect()))
            .consistent_read(true)
            .build()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut pending = Some(request);
        let mut found: Vec<Item> = Vec::new();
        for attempt in 0..5 {
            let Some(request) = pending.take() else {
                return Ok(in_key_order(&keys, found));
            };
            if attempt > 0 {
                UNPROCESSED_BACKOFF.sleep(attempt).await;
            }
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(sdk_error)?;
            found.extend(
                out.responses
                    .and_then(|mut r| r.remove(&self.table))
                    .unwrap_or_default(),
            );
            pending = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .filter(|k| !k.keys().is_empty());
        }
        match pending {
            None => Ok(in_key_order(&keys, found)),
            Some(_) => Err(StoreError::Unavailable("BatchGetItem left keys unprocessed".into())),
        }
    }
}

impl Dynamo {
    /// Deletes items by key, 25 to a BatchWriteItem ([`Dynamo::write_batch`]). Deleting what is
    /// not there is nothing.
    pub(crate) async fn delete_many(&self, keys: Vec<Key>) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};
        for chunk in keys.chunks(25) {
            let requests: Vec<WriteRequest> = chunk
                .iter()
                .map(|k| {
                    let delete = DeleteRequest::builder().set_key(Some(key(k.clone()))).build();
                    delete.map(|d| WriteRequest::builder().delete_request(d).build())
                })
                .collect::<Result<_, _>>()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            self.write_batch(requests).await?;
        }
        Ok(())
    }

    /// Writes or deletes up to 25 items in one BatchWriteItem, asking again (with backoff) for
    /// what DynamoDB leaves unprocessed; still unprocessed after 8 tries: a store fault.
    pub(crate) async fn write_batch(
        &self,
        requests: Vec<aws_sdk_dynamodb::types::WriteRequest>,
    ) -> Result<(), StoreError> {
        let mut pending = requests;
        for attempt in 0..8u32 {
            if pending.is_empty() {
                return Ok(());
            }
            if attempt > 0 {
                UNPROCESSED_BACKOFF.sleep(attempt).await;
            }
            let out = self
                .client
                .batch_write_item()
                .request_items(&self.table, std::mem::take(&mut pending))
                .send()
                .await
                .map_err(sdk_error)?;
            pending = out
                .unprocessed_items
                .and_then(|mut u| u.remove(&self.table))
                .unwrap_or_default();
        }
        match pending.is_empty() {
            true => Ok(()),
            false => Err(StoreError::Unavailable("BatchWriteItem left items unprocessed".into())),
        }
    }

    /// Every item of one partition (all pages), strongly consistent.
    pub(crate) async fn partition(&self, pk: &str) -> Result<Vec<Item>, StoreError> {
        let vals = HashMap::from([(":p".to_owned(), s(pk))]);
        self.query_all(None, "pk = :p", None, vals).await
    }
}

/// The `pk`/`sk` of an item.
pub(crate) fn key_of(item: &Item) -> Option<Key> {
    let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
    Some(Key::new(text(PK)?, text(SK)?))
}

fn in_key_order(keys: &[Key], found: Vec<Item>) -> Vec<Option<Item>> {
    let text = |i: &Item, k: &str| i.get(k).and_then(|v| v.as_s().ok()).cloned();
    keys.iter()
        .map(|Key { pk, sk }| {
            found
                .iter()
                .find(|i| text(i, PK).as_ref() == Some(pk) && text(i, SK).as_ref() == Some(sk))
                .cloned()
        })
        .collect()
}

#[cfg(test)]
mod vocabulary {
    //! Every attribute an expression of the store names is one the items write (`items::attr::ALL`,
    //! the key attributes, the indexes' and the TTL's), and every one of those is a field an item
    //! struct declares.

    use super::items::attr;
    use crate::table;

    /// The store's sources, as compiled.
    const SOURCES: &[(&str, &str)] = &[
        ("accounts.rs", include_str!("accounts.rs")),
        ("canned.rs", include_str!("canned.rs")),
        ("connections.rs", include_str!("connections.rs")),
        ("conversations.rs", include_str!("conversations.rs")),
        ("customers.rs", include_str!("customers.rs")),
        ("inbound.rs", include_str!("inbound.rs")),
        ("leases.rs", include_str!("leases.rs")),
        ("listing.rs", include_str!("listing.rs")),
        ("members.rs", include_str!("members.rs")),
        ("mod.rs", include_str!("mod.rs")),
        ("outbound.rs", include_str!("outbound.rs")),
        ("reports.rs", include_str!("reports.rs")),
        ("stream.rs", include_str!("stream.rs")),
        ("txn.rs", include_str!("txn.rs")),
    ];

    /// The words of DynamoDB's expression grammar that are not attributes.
    const GRAMMAR: &[&str] = &[
        "AND",
        "OR",
        "NOT",
        "SET",
        "REMOVE",
        "ADD",
        "DELETE",
        "BETWEEN",
        "IN",
        "attribute_exists",
        "attribute_not_exists",
        "attribute_type",
        "begins_with",
        "contains",
        "size",
        "if_not_exists",
        "list_append",
    ];

    /// The string literals of a source.
    fn literals(source: &str) -> Vec<String> {
        let mut found = Vec::new();
        let mut rest = source;
        while let Some(start) = rest.find('"') {
            let after = &rest[start + 1..];
            let Some(end) = after.find('"') else { break };
            found.push(after[..end].to_owned());
            rest = &after[end + 1..];
        }
        found
    }

    /// Whether a literal reads as an expression (a condition, an update or a key condition).
    fn is_expression(text: &str) -> bool {
        [
            " = :",
            " < :",
            " > :",
            " <= :",
            " >= :",
            " <> :",
            "attribute_exists(",
            "attribute_not_exists(",
            "begins_with(",
            "if_not_exists(",
        ]
        .iter()
        .any(|m| text.contains(m))
            || ["SET ", "REMOVE ", "ADD "].iter().any(|m| text.starts_with(m))
    }

    /// The attribute names an expression spells (placeholders `:v` and `#n` aside).
    fn names(expression: &str) -> Vec<String> {
        let mut names = Vec::new();
        let mut word = String::new();
        let mut marked = false;
        for c in expression.chars().chain([' ']) {
            if c.is_ascii_alphanumeric() || c == '_' {
                if word.is_empty() && !marked && c.is_ascii_digit() {
                    marked = true;
                }
                word.push(c);
                continue;
            }
            if !word.is_empty() && !marked && !GRAMMAR.contains(&word.as_str()) {
                names.push(std::mem::take(&mut word));
            }
            word.clear();
            marked = c == ':' || c == '#';
        }
        names
    }

    fn known() -> Vec<&'static str> {
        let mut known = attr::ALL.to_vec();
        known.extend([
            table::PK,
            table::SK,
            table::GSI1_PK,
            table::GSI1_SK,
            table::GSI2_PK,
            table::TTL_ATTRIBUTE,
        ]);
        known
    }

    #[test]
    fn every_expression_names_only_declared_attributes() {
        let known = known();
        let mut strays = Vec::new();
        let mut expressions = 0;
        for (file, source) in SOURCES {
            let source = source.split("mod vocabulary").next().unwrap_or(source);
            for text in literals(source).iter().filter(|t| is_expression(t)) {
                expressions += 1;
                for name in names(text) {
                    if !known.contains(&name.as_str()) {
                        strays.push(format!("{file}: `{name}` in {text:?}"));
                    }
                }
            }
        }
        assert!(expressions > 60, "the expressions are read ({expressions})");
        assert!(strays.is_empty(), "attributes no item declares: {strays:#?}");
    }

    #[test]
    fn every_declared_attribute_is_written() {
        let items = include_str!("items.rs");
        let updates: Vec<String> = SOURCES
            .iter()
            .flat_map(|(_, source)| literals(source.split("mod vocabulary").next().unwrap_or(source)))
            .filter(|t| t.starts_with("SET ") || t.starts_with("ADD ") || t.contains(" SET "))
            .collect();
        let missing: Vec<&&str> = attr::ALL
            .iter()
            .filter(|a| {
                let field = items.contains(&format!("    {a}: "))
                    || items.contains(&format!("    pub {a}: "))
                    || SOURCES
                        .iter()
                        .any(|(_, s)| s.contains(&format!(".insert(\"{a}\".into()")));
                let set = updates.iter().any(|u| {
                    u.contains(&format!("{a} = ")) || u.contains(&format!("ADD {a} ")) || u.contains(&format!(", {a} "))
                });
                !field && !set
            })
            .collect();
        assert!(
            missing.is_empty(),
            "declared, but neither an item's field nor set by an update: {missing:?}"
        );
    }

    #[test]
    fn the_reader_finds_names_and_skips_placeholders() {
        assert_eq!(
            names("attribute_exists(pk) AND status_rank < :r AND #status = :s"),
            ["pk", "status_rank"]
        );
        assert_eq!(
            names("SET a = if_not_exists(a, :zero) + :one REMOVE b"),
            ["a", "a", "b"]
        );
        assert!(is_expression("attribute_not_exists(pk)") && !is_expression("a message"));
    }
}
