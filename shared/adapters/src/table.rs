//! The layout of the channel's one DynamoDB table: key attributes, the index, TTL and the key of
//! every item kind. `template.yaml` declares the same table; the local stack creates it from here.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction, GlobalSecondaryIndex,
    GlobalSecondaryIndexUpdate, KeySchemaElement, KeyType, Projection, ProjectionType, ScalarAttributeType,
    StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;

/// An item's primary key: its partition key and its sort key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    /// The partition key ([`PK`]).
    pub pk: String,
    /// The sort key ([`SK`]).
    pub sk: String,
}

impl Key {
    /// The key of partition `pk` and sort key `sk`.
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
        }
    }
}

/// Partition key attribute.
pub const PK: &str = "pk";
/// Sort key attribute.
pub const SK: &str = "sk";
/// The dashboard index: conversations of an account, newest activity first.
pub const GSI1: &str = "gsi1";
/// Partition key of [`GSI1`].
pub const GSI1_PK: &str = "gsi1pk";
/// Sort key of [`GSI1`].
pub const GSI1_SK: &str = "gsi1sk";
/// The desk's second index over conversations: a live conversation by who holds it (or nobody),
/// a closed one by its customer; its sort key is [`GSI1_SK`] (last activity).
pub const GSI2: &str = "gsi2";
/// Partition key of [`GSI2`].
pub const GSI2_PK: &str = "gsi2pk";
/// Epoch seconds after which DynamoDB deletes the item (idempotency records, seen references).
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// Key of an account record: `ACCOUNT#<id>` / `ACCOUNT`.
pub fn account_key(account_id: &str) -> Key {
    Key::new(format!("ACCOUNT#{account_id}"), "ACCOUNT".to_owned())
}

/// Key of an account's stamp: `STAMP#<id>` / `STAMP`: its name and the version of its keys,
/// read with every callback. An item of its own, out of the record's partition, so that neither
/// the record's size (every number's settings) nor the account's members weigh on a callback.
pub fn stamp_key(account_id: &str) -> Key {
    Key::new(format!("STAMP#{account_id}"), "STAMP".to_owned())
}

/// Key of a support number's claim: `NUMBER#<digits>` / `NUMBER` (one account per number).
pub fn number_key(number: &str) -> Key {
    Key::new(format!("NUMBER#{number}"), "NUMBER".to_owned())
}

/// Key of what is left of a deleted account whose conversations still expire by its retention:
/// `RETIRED#<account_id>` / `RETIRED` (listed in the index partition `RETIRED`).
pub fn retired_key(account_id: &str) -> Key {
    Key::new(format!("RETIRED#{account_id}"), "RETIRED".to_owned())
}

/// Key of a TeleSign customer id's claim: `CUSTOMER#<customer_id>` / `CUSTOMER` (one account per
/// customer id: TeleSign posts every callback of a customer id to one URL).
pub fn customer_key(customer_id: &str) -> Key {
    Key::new(format!("CUSTOMER#{customer_id}"), "CUSTOMER".to_owned())
}

/// Key of a conversation: `CONV#<id>` / `CONV`; its messages share the partition.
pub fn conversation_key(conversation_id: &str) -> Key {
    Key::new(format!("CONV#{conversation_id}"), "CONV".to_owned())
}

/// Key of a message: in its conversation's partition, `MSG#<message_id>` (message ids sort by
/// creation time, so a query reads the transcript oldest first).
pub fn message_key(conversation_id: &str, message_id: &str) -> Key {
    Key::new(format!("CONV#{conversation_id}"), format!("MSG#{message_id}"))
}

/// Key of an inbound message's raw callback body: in its conversation's partition,
/// `RAW#<message_id>` (after every `MSG#`, so a transcript's query stops before them), expired by
/// TTL after the raw payload retention.
pub fn raw_payload_key(conversation_id: &str, message_id: &str) -> Key {
    Key::new(format!("CONV#{conversation_id}"), format!("RAW#{message_id}"))
}

/// The sort key just after every message of a conversation's partition.
pub const AFTER_MESSAGES: &str = "MSG$";

/// Key of the pointer to the one conversation of a customer and a support number that is not
/// `closed`: `THREAD#<account>#<support>#<customer>` / `LIVE`. Its conditional creation is what
/// keeps racing first messages in one conversation.
pub fn thread_key(account_id: &str, support_number: &str, customer: &str) -> Key {
    Key::new(format!("THREAD#{account_id}#{support_number}#{customer}"), "LIVE")
}

/// Key of an inbound reference seen: `INREF#<account>#<reference_id>` / `INREF`; created in the
/// same transaction as the message, so a retried callback is a duplicate.
pub fn inbound_ref_key(account_id: &str, reference_id: &str) -> Key {
    Key::new(format!("INREF#{account_id}#{reference_id}"), "INREF".to_owned())
}

/// Key of an outbound reference: `OUTREF#<reference_id>` / `OUTREF`, pointing at the message a
/// delivery report is about.
pub fn outbound_ref_key(reference_id: &str) -> Key {
    Key::new(format!("OUTREF#{reference_id}"), "OUTREF".to_owned())
}

/// Key of a customer's consent with an account: `CONSENT#<account>#<customer>` / `CONSENT`.
pub fn consent_key(account_id: &str, customer: &str) -> Key {
    Key::new(format!("CONSENT#{account_id}#{customer}"), "CONSENT".to_owned())
}

/// A consent keyword in the customer's ledger: in the consent item's partition, in order.
pub fn consent_change_key(account_id: &str, customer: &str, order: &str) -> Key {
    Key::new(consent_key(account_id, customer).pk, format!("CHANGE#{order}"))
}

/// Key of an opt-out kept after an erasure: `OPTOUT#<account>#<tag>` / `OPTOUT`, where the tag is
/// the keyed hash of the customer's number (`privacy::OptOutKey`): the number is not in it.
pub fn opt_out_key(account_id: &str, tag: &str) -> Key {
    Key::new(format!("OPTOUT#{account_id}#{tag}"), "OPTOUT".to_owned())
}

/// Key of an idempotency record of a send: `IDEM#<scope>#<key>` / `IDEM`.
pub fn idempotency_key(scope: &str, key: &str) -> Key {
    Key::new(format!("IDEM#{scope}#{key}"), "IDEM".to_owned())
}

/// How many index partitions an account's conversations of one status (and its live ones of one
/// holder, or of nobody) are written across. Each move of a conversation writes its index entry
/// there, a delete and a put when its activity changes; in one partition key a busy account's
/// moves alone would pass a partition's 1,000 write units a second at about 500 messages a second
/// (`make load`); across eight shards, each takes an eighth (four took 92 to 102 % of a
/// partition's write units at 1,000 callbacks a second into one account; eight, half). A list reads every shard of its
/// partitions (in parallel) and merges them by the sort key, which is the same in every shard.
pub const SHARDS: u32 = 8;

/// The shard of a conversation's index entries: from the random end of its id, so that one
/// conversation stays in one shard and an account's spread evenly.
pub fn shard_of(conversation_id: &str) -> u32 {
    let tail = conversation_id
        .get(conversation_id.len().saturating_sub(2)..)
        .unwrap_or("");
    match u32::from_str_radix(tail, 16) {
        Ok(n) => n % SHARDS,
        Err(_) => conversation_id.bytes().map(u32::from).sum::<u32>() % SHARDS,
    }
}

/// The start of an account's index partitions in `shard`: `ACCOUNT#<id>`, then `#S<k>` for every
/// shard but the first (whose partitions keep the names they had before shards, and with them the
/// entries written then).
fn sharded(account_id: &str, shard: u32) -> String {
    match shard {
        0 => format!("ACCOUNT#{account_id}"),
        k => format!("ACCOUNT#{account_id}#S{k}"),
    }
}

/// Partition of the dashboard index for an account's conversations in one status that is not
/// `closed`, in a shard: `ACCOUNT#<id>#OPEN`, `…#ACTIVE` or `…#WAITING` (`ACCOUNT#<id>#S<k>#OPEN`
/// in shard k): one set of partitions per status, so a status filter is a query of its partitions
/// and every page is full.
pub fn status_partition(account_id: &str, status: &str, shard: u32) -> String {
    format!("{}#{}", sharded(account_id, shard), status.to_ascii_uppercase())
}

/// Partition of [`GSI2`] for an account's live conversations held by a user, in a shard:
/// `ACCOUNT#<id>#HELD#<user>`.
pub fn held_partition(account_id: &str, user_id: &str, shard: u32) -> String {
    format!("{}#HELD#{user_id}", sharded(account_id, shard))
}

/// Partition of [`GSI2`] for an account's live conversations nobody holds, in a shard:
/// `ACCOUNT#<id>#UNASSIGNED`.
pub fn unassigned_partition(account_id: &str, shard: u32) -> String {
    format!("{}#UNASSIGNED", sharded(account_id, shard))
}

/// Partition of [`GSI2`] for an account's closed conversations with a customer:
/// `ACCOUNT#<id>#CUSTOMER#<number>` (the customer's live ones are found by their pointers).
pub fn customer_closed_partition(account_id: &str, customer: &str) -> String {
    format!("ACCOUNT#{account_id}#CUSTOMER#{customer}")
}

/// Key of a customer's file entry for one conversation: `FILE#<account>#<customer>` /
/// `CONV#<conversation_id>`, written with the conversation. The partition is every conversation
/// the customer had with the account, found for an export or an erasure with one strongly
/// consistent Query and nothing else of the account.
pub fn customer_file_key(account_id: &str, customer: &str, conversation_id: &str) -> Key {
    Key::new(
        customer_file_partition(account_id, customer),
        format!("CONV#{conversation_id}"),
    )
}

/// The partition of a customer's file: `FILE#<account>#<customer>`.
pub fn customer_file_partition(account_id: &str, customer: &str) -> String {
    format!("FILE#{account_id}#{customer}")
}

/// Partition of [`GSI2`] for an account's audit entries about one subject (a conversation, a
/// customer's tag, a member, a number): `AUDIT#<account>#<target>`, sorted by time.
pub fn audit_subject_partition(account_id: &str, target: &str) -> String {
    format!("AUDIT#{account_id}#{target}")
}

/// Key of a member of an account: `ACCOUNT#<account>` / `MEMBER#<user>` (in the account's
/// partition, so its members are one query).
pub fn member_key(account_id: &str, user_id: &str) -> Key {
    Key::new(format!("ACCOUNT#{account_id}"), format!("MEMBER#{user_id}"))
}

/// Key of a canned response: `ACCOUNT#<account>` / `CANNED#<id>` (in the account's partition, so
/// an account's are one query).
pub fn canned_response_key(account_id: &str, canned_response_id: &str) -> Key {
    Key::new(
        format!("ACCOUNT#{account_id}"),
        format!("{CANNED_PREFIX}{canned_response_id}"),
    )
}

/// Sort key prefix of the canned responses in an account's partition.
pub const CANNED_PREFIX: &str = "CANNED#";

/// Key of an account's count of canned responses (kept with each creation and deletion, so that
/// [`channel_domain::canned::MAX_PER_ACCOUNT`] holds whatever the races): `ACCOUNT#<id>` / `CANNEDCOUNT`
/// (outside the `CANNED#` prefix the list reads).
pub fn canned_count_key(account_id: &str) -> Key {
    Key::new(format!("ACCOUNT#{account_id}"), "CANNEDCOUNT".to_owned())
}

/// Sort key prefix of the members in an account's partition.
pub const MEMBER_PREFIX: &str = "MEMBER#";

/// Index partition of a user's memberships: `MEMBER#<user>` (sort key: the account id).
pub fn memberships_partition(user_id: &str) -> String {
    format!("MEMBER#{user_id}")
}

/// Key of what a user holds in an account: `HOLD#<account>#<user>` / `<conversation_id>`, one
/// item per live conversation assigned to them, written with the move that assigns it and deleted
/// with the one that lets it go or ends it (so a member's conversations are one strongly
/// consistent query).
pub fn hold_key(account_id: &str, user_id: &str, conversation_id: &str) -> Key {
    Key::new(format!("HOLD#{account_id}#{user_id}"), conversation_id.to_owned())
}

/// Key of an audit entry: `AUDIT#<account>` / `<at>#<entry id>` (an account's trail is one
/// query, newest first when read backwards).
pub fn audit_key(account_id: &str, at: &str, entry_id: &str) -> Key {
    Key::new(format!("AUDIT#{account_id}"), format!("{at}#{entry_id}"))
}

/// Partition of the live connections that receive an account's events: `SOCKETS#<account>`
/// (sort key: the connection id), or `SOCKETS#OPERATORS` for operators' connections, which
/// receive every account's. One query finds an account's listeners.
pub fn listeners_partition(account_id: Option<&str>) -> String {
    format!("SOCKETS#{}", account_id.unwrap_or("OPERATORS"))
}

/// Key of a lease (one holder at a time of a named piece of work, until it expires):
/// `LEASE#<name>` / `LEASE`.
pub fn lease_key(name: &str) -> Key {
    Key::new(format!("LEASE#{name}"), "LEASE".to_owned())
}

/// Key of a connection's own item: `SOCKET#<connection_id>` / `SOCKET`, naming the partitions
/// it is listed in (its `$disconnect` unlists it from each).
pub fn connection_key(connection_id: &str) -> Key {
    Key::new(format!("SOCKET#{connection_id}"), "SOCKET".to_owned())
}

/// Partition of the dashboard index for an account's closed conversations, in a shard:
/// `ACCOUNT#<id>#CLOSED`.
pub fn closed_conversations_partition(account_id: &str, shard: u32) -> String {
    format!("{}#CLOSED", sharded(account_id, shard))
}

/// The table's change stream: new and old images (the events function reads both).
pub fn stream_specification() -> Result<StreamSpecification, aws_sdk_dynamodb::error::BuildError> {
    StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(StreamViewType::NewAndOldImages)
        .build()
}

fn attr(name: &str) -> Result<AttributeDefinition, aws_sdk_dynamodb::error::BuildError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
}

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, aws_sdk_dynamodb::error::BuildError> {
    KeySchemaElement::builder().attribute_name(name).key_type(kind).build()
}

/// [`GSI2`] as `template.yaml` declares it.
fn second_index() -> Result<GlobalSecondaryIndex, aws_sdk_dynamodb::error::BuildError> {
    GlobalSecondaryIndex::builder()
        .index_name(GSI2)
        .key_schema(key(GSI2_PK, KeyType::Hash)?)
        .key_schema(key(GSI1_SK, KeyType::Range)?)
        .projection(Projection::builder().projection_type(ProjectionType::All).build())
        .build()
}

/// Adds [`GSI2`] to a table made before it existed (a local stack's kept data), as a stack update
/// adds it deployed.
async fn add_second_index(client: &Client, table: &str) -> Result<(), aws_sdk_dynamodb::Error> {
    let create = CreateGlobalSecondaryIndexAction::builder()
        .index_name(GSI2)
        .key_schema(key(GSI2_PK, KeyType::Hash)?)
        .key_schema(key(GSI1_SK, KeyType::Range)?)
        .projection(Projection::builder().projection_type(ProjectionType::All).build())
        .build()?;
    client
        .update_table()
        .table_name(table)
        .attribute_definitions(attr(GSI2_PK)?)
        .attribute_definitions(attr(GSI1_SK)?)
        .global_secondary_index_updates(GlobalSecondaryIndexUpdate::builder().create(create).build())
        .send()
        .await?;
    Ok(())
}

/// Creates the table as `template.yaml` declares it, unless it exists. Used by the local stack.
pub async fn create_if_missing(client: &Client, table: &str) -> Result<bool, aws_sdk_dynamodb::Error> {
    if let Ok(found) = client.describe_table().table_name(table).send().await {
        let indexes = found.table().map(|t| t.global_secondary_indexes()).unwrap_or_default();
        if !indexes.iter().any(|i| i.index_name() == Some(GSI2)) {
            add_second_index(client, table).await?;
        }
        return Ok(false);
    }
    let created = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .stream_specification(stream_specification()?)
        .attribute_definitions(attr(PK)?)
        .attribute_definitions(attr(SK)?)
        .attribute_definitions(attr(GSI1_PK)?)
        .attribute_definitions(attr(GSI1_SK)?)
        .attribute_definitions(attr(GSI2_PK)?)
        .key_schema(key(PK, KeyType::Hash)?)
        .key_schema(key(SK, KeyType::Range)?)
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(GSI1)
                .key_schema(key(GSI1_PK, KeyType::Hash)?)
                .key_schema(key(GSI1_SK, KeyType::Range)?)
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()?,
        )
        .global_secondary_indexes(second_index()?)
        .send()
        .await;
    match created {
        Ok(_) => {}
        // Another process created it meanwhile.
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception()) => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(TTL_ATTRIBUTE)
                .enabled(true)
                .build()?,
        )
        .send()
        .await?;
    Ok(true)
}
