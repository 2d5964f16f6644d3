//! The desk's lists of conversations, every page full: a listing is the union of index partitions
//! that hold exactly its conversations (one per status in `gsi1`; who holds a live one, or the
//! customer of a closed one, in `gsi2`), plus a customer's live conversations found by their
//! pointers. Each partition is read newest activity first from where the last page ended, and the
//! reads are merged: no filter drops what a page was counted on.

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::types::{AttributeValue, Select};

use super::conversations::{decode_cursor, encode_cursor};
use super::items::{activity_sort_key, from_item, held_partitions, index_partitions, ConversationItem, PointerItem};
use super::{s, sdk_error, Dynamo, StoreError};
use crate::table::{self, GSI1, GSI1_PK, GSI1_SK, GSI2, GSI2_PK};
use channel_domain::access::UserId;
use channel_domain::conversation::{Conversation, Status};
use channel_domain::ids::{AccountId, ConversationId};
use channel_domain::phone::PhoneNumber;
use channel_services::ports::{BadCursor, Counts, Listing, Page, ReadError};

/// The cursor's one field: the sort key (`<last activity>#<id>`) the next page starts before.
const BEFORE: &str = "before";

/// An index partition: the index, its partition key attribute and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Partition {
    index: &'static str,
    key: &'static str,
    value: String,
}

impl Partition {
    fn first(value: String) -> Self {
        Self {
            index: GSI1,
            key: GSI1_PK,
            value,
        }
    }

    fn second(value: String) -> Self {
        Self {
            index: GSI2,
            key: GSI2_PK,
            value,
        }
    }
}

/// The partitions holding exactly a listing's conversations (a customer's live ones are read by
/// their pointers instead: [`Dynamo::live_of_customer`]).
pub(crate) fn partitions(account_id: &AccountId, listing: &Listing) -> Vec<Partition> {
    let account = account_id.as_str();
    match listing {
        Listing::Statuses(statuses) => index_partitions(account_id, statuses)
            .into_iter()
            .map(Partition::first)
            .collect(),
        Listing::Held(holder) => held_partitions(account_id, holder.as_deref())
            .into_iter()
            .map(Partition::second)
            .collect(),
        Listing::Customer {
            number, statuses, held, ..
        } => {
            if statuses.contains(&Status::Closed) && held.is_none() {
                vec![Partition::second(table::customer_closed_partition(
                    account,
                    number.as_str(),
                ))]
            } else {
                Vec::new()
            }
        }
    }
}

/// Whether a conversation read by its pointer belongs to a customer listing.
fn in_listing(c: &Conversation, listing: &Listing) -> bool {
    match listing {
        Listing::Customer { statuses, held, .. } => {
            statuses.contains(&c.status)
                && held
                    .as_ref()
                    .is_none_or(|h| h.as_ref().map(UserId::as_str) == c.assigned_agent.as_deref())
        }
        _ => false,
    }
}

/// One page out of the partitions' reads (each newest first, each asked for `limit + 1`): merged
/// newest first, a conversation seen twice (the index lags a move between partitions) kept once
/// at its newest, `limit` of them; the cursor when more are left.
pub(crate) fn merge(reads: Vec<Vec<(String, Conversation)>>, limit: usize) -> Page<Conversation> {
    let mut all: Vec<(String, Conversation)> = reads.into_iter().flatten().collect();
    all.sort_by(|a, b| b.0.cmp(&a.0));
    let mut seen = HashSet::new();
    all.retain(|(_, c)| seen.insert(c.conversation_id.clone()));
    let more = all.len() > limit;
    all.truncate(limit);
    let next_cursor = match all.last() {
        Some((sort_key, _)) if more => Some(encode_cursor(&HashMap::from([(
            BEFORE.to_owned(),
            AttributeValue::S(sort_key.clone()),
        )]))),
        _ => None,
    };
    Page {
        items: all.into_iter().map(|(_, c)| c).collect(),
        next_cursor,
    }
}

/// The sort key a cursor this API gave out starts before.
fn before(cursor: Option<&str>) -> Result<Option<String>, BadCursor> {
    let Some(cursor) = cursor else { return Ok(None) };
    let fits = |_: &str, v: &str| v.len() <= 128 && v.contains('#');
    let mut key = decode_cursor(cursor, &[BEFORE], fits)?;
    match key.remove(BEFORE) {
        Some(AttributeValue::S(v)) => Ok(Some(v)),
        _ => Err(BadCursor),
    }
}

impl Dynamo {
    /// A page of a listing: 1 Query per partition, all at once (a status filter: one per status
    /// and shard; `assigned`: one per shard; all live: three per shard), plus for a customer 1 BatchGetItem (the pointers of the account's
    /// numbers) and 1 BatchGetItem (the live conversations).
    pub(crate) async fn listing_page(
        &self,
        account_id: &AccountId,
        listing: &Listing,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<Conversation>, ReadError> {
        let start = before(cursor)?;
        let every = partitions(account_id, listing);
        let reads = every.iter().map(|p| self.newest(p, start.as_deref(), limit + 1));
        let mut reads = futures_util::future::try_join_all(reads).await?;
        if let Listing::Customer {
            number,
            support_numbers,
            ..
        } = listing
        {
            let live = self
                .live_of_customer(account_id, support_numbers, number.as_str())
                .await?;
            reads.push(
                live.into_iter()
                    .filter(|c| in_listing(c, listing))
                    .map(|c| (activity_sort_key(&c.last_activity_at, &c.conversation_id), c))
                    .filter(|(k, _)| start.as_ref().is_none_or(|b| k < b))
                    .collect(),
            );
        }
        Ok(merge(reads, limit as usize))
    }

    /// Up to `limit` conversations of a partition, newest first, before a sort key: 1 Query, and
    /// another from where it stopped when DynamoDB's 1 MB page cut it short of the limit (a
    /// page short of what a partition holds would let the merge skip its items).
    async fn newest(
        &self,
        p: &Partition,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(String, Conversation)>, StoreError> {
        let mut read = Vec::new();
        let mut start = None;
        loop {
            let mut condition = "#pk = :p".to_owned();
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(p.index)
                .expression_attribute_names("#pk", p.key)
                .expression_attribute_values(":p", s(&p.value))
                .scan_index_forward(false)
                .limit((limit as usize - read.len()) as i32)
                .set_exclusive_start_key(start.take());
            if let Some(b) = before {
                condition.push_str(" AND gsi1sk < :before");
                query = query.expression_attribute_values(":before", s(b));
            }
            let out = query
                .key_condition_expression(condition)
                .send()
                .await
                .map_err(sdk_error)?;
            for item in out.items().iter().cloned() {
                let sort_key = item
                    .get(GSI1_SK)
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default();
                read.push((sort_key, from_item::<ConversationItem>(item)?.into_conversation()));
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() && read.len() < limit as usize => start = Some(k),
                _ => return Ok(read),
            }
        }
    }

    /// The conversations a customer's pointers name, one per support number that has one: 1
    /// BatchGetItem (an account has at most [`channel_domain::account::MAX_NUMBERS`] numbers, within one
    /// request's 100 keys).
    pub(crate) async fn pointed(
        &self,
        account_id: &AccountId,
        support_numbers: &[PhoneNumber],
        customer: &str,
    ) -> Result<Vec<ConversationId>, StoreError> {
        let pointers: Vec<_> = support_numbers
            .iter()
            .map(|n| table::thread_key(account_id.as_str(), n.as_str(), customer))
            .collect();
        if pointers.is_empty() {
            return Ok(Vec::new());
        }
        let mut ids = Vec::new();
        for item in self.get_many(pointers).await?.into_iter().flatten() {
            ids.push(from_item::<PointerItem>(item)?.conversation_id);
        }
        Ok(ids)
    }

    /// A customer's live conversations with an account (at most one per support number): their
    /// pointers, then 1 BatchGetItem of the conversations they name.
    async fn live_of_customer(
        &self,
        account_id: &AccountId,
        support_numbers: &[PhoneNumber],
        customer: &str,
    ) -> Result<Vec<Conversation>, StoreError> {
        let ids = self.pointed(account_id, support_numbers, customer).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys = ids.iter().map(|id| table::conversation_key(id.as_str())).collect();
        let mut live = Vec::new();
        for item in self.get_many(keys).await?.into_iter().flatten() {
            live.push(from_item::<ConversationItem>(item)?.into_conversation());
        }
        Ok(live)
    }

    /// The desk's counters: 1 Query (count) per live status and shard, 1 per shard for the user's,
    /// 1 per shard for nobody's (each again per 1 MB counted), all at once.
    pub(crate) async fn count_live(&self, account_id: &AccountId, user_id: &UserId) -> Result<Counts, StoreError> {
        let of = |partitions: Vec<String>, index: fn(String) -> Partition| -> Vec<Partition> {
            partitions.into_iter().map(index).collect()
        };
        let live = of(index_partitions(account_id, &Status::LIVE), Partition::first);
        let mine = of(held_partitions(account_id, Some(user_id.as_str())), Partition::second);
        let nobody = of(held_partitions(account_id, None), Partition::second);
        let (all, mine, unassigned) =
            futures_util::future::try_join3(self.count_all(&live), self.count_all(&mine), self.count_all(&nobody))
                .await?;
        Ok(Counts { all, mine, unassigned })
    }

    /// The conversations of every partition, counted at once.
    async fn count_all(&self, partitions: &[Partition]) -> Result<u64, StoreError> {
        let counts = futures_util::future::try_join_all(partitions.iter().map(|p| self.count(p))).await?;
        Ok(counts.into_iter().sum())
    }

    async fn count(&self, p: &Partition) -> Result<u64, StoreError> {
        let mut total = 0u64;
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(p.index)
                .key_condition_expression("#pk = :p")
                .expression_attribute_names("#pk", p.key)
                .expression_attribute_values(":p", s(&p.value))
                .select(Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk_error)?;
            total += out.count() as u64;
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(total),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use channel_domain::ids::{ConversationId, Timestamp};
    use channel_domain::phone::PhoneNumber;

    const ACCOUNT: &str = "a1a1a1a1a1a1a1a1a1a1a1a1";

    fn conversation(n: u64) -> (String, Conversation) {
        let id = ConversationId::parse(&format!("{n:032x}")).unwrap();
        let mut c = Conversation::first_contact(&channel_domain::conversation::Thread {
            account_id: AccountId::parse(ACCOUNT).unwrap(),
            support_number: PhoneNumber::parse("14255550100").unwrap(),
            customer_number: PhoneNumber::parse("14255550111").unwrap(),
        });
        c.conversation_id = id;
        c.last_activity_at = Timestamp::from_epoch_millis(1_000 * n as i64).unwrap();
        (activity_sort_key(&c.last_activity_at, &c.conversation_id), c)
    }

    fn ids(page: &Page<Conversation>) -> Vec<String> {
        page.items
            .iter()
            .map(|c| c.conversation_id.as_str().trim_start_matches('0').to_owned())
            .collect()
    }

    #[test]
    fn partitions_are_merged_newest_first_into_a_full_page() {
        let waiting = vec![conversation(9), conversation(4), conversation(1)];
        let open = vec![conversation(8), conversation(7), conversation(2)];
        let page = merge(vec![waiting, open], 4);
        assert_eq!(ids(&page), ["9", "8", "7", "4"]);
        let before = super::before(page.next_cursor.as_deref()).unwrap().unwrap();
        assert_eq!(before, conversation(4).0);
    }

    #[test]
    fn the_last_page_has_no_cursor() {
        let page = merge(vec![vec![conversation(3)], vec![conversation(2)]], 2);
        assert_eq!(ids(&page), ["3", "2"]);
        assert_eq!(page.next_cursor, None);
    }

    #[test]
    fn a_conversation_seen_in_two_partitions_is_listed_once_at_its_newest() {
        let (old_key, c) = conversation(5);
        let mut moved = c.clone();
        moved.last_activity_at = Timestamp::from_epoch_millis(6_000).unwrap();
        let new_key = activity_sort_key(&moved.last_activity_at, &moved.conversation_id);
        let page = merge(vec![vec![(old_key, c)], vec![(new_key.clone(), moved)]], 5);
        assert_eq!(page.items.len(), 1);
        assert_eq!(
            page.items[0].last_activity_at,
            Timestamp::from_epoch_millis(6_000).unwrap()
        );
    }

    #[test]
    fn a_cursor_from_elsewhere_is_refused() {
        assert!(before(Some("not-a-cursor")).is_err());
        let other = encode_cursor(&HashMap::from([("pk".to_owned(), AttributeValue::S("x#y".into()))]));
        assert!(before(Some(&other)).is_err());
        let long = encode_cursor(&HashMap::from([(
            BEFORE.to_owned(),
            AttributeValue::S("#".repeat(200)),
        )]));
        assert!(before(Some(&long)).is_err());
    }

    #[test]
    fn a_conversation_is_written_in_the_one_shard_its_id_names_and_an_account_is_spread_over_all() {
        let a = AccountId::parse(ACCOUNT).unwrap();
        let mut seen = std::collections::BTreeMap::new();
        for n in 0..400u64 {
            let (_, c) = conversation(n * 7919 + 13);
            let written = super::super::items::index_partition(&a, Status::Open, &c.conversation_id);
            assert!(
                index_partitions(&a, &[Status::Open]).contains(&written),
                "a shard a listing reads"
            );
            assert_eq!(
                written,
                super::super::items::index_partition(&a, Status::Open, &c.conversation_id)
            );
            *seen.entry(written).or_insert(0u32) += 1;
        }
        assert_eq!(seen.len(), table::SHARDS as usize, "every shard is used");
        let even = 400 / table::SHARDS;
        assert!(seen.values().all(|&n| n >= even * 6 / 10), "evenly enough: {seen:?}");
        assert!(
            seen.contains_key("ACCOUNT#a1a1a1a1a1a1a1a1a1a1a1a1#OPEN"),
            "the first shard keeps the name it had before shards"
        );
    }

    #[test]
    fn each_listing_reads_exactly_its_partitions() {
        let a = AccountId::parse(ACCOUNT).unwrap();
        let values = |l: &Listing| {
            partitions(&a, l)
                .into_iter()
                .map(|p| (p.index, p.value))
                .collect::<Vec<_>>()
        };
        let a1 = "ACCOUNT#a1a1a1a1a1a1a1a1a1a1a1a1";
        let shards = |index, part: &str| -> Vec<(&str, String)> {
            vec![
                (index, format!("{a1}#{part}")),
                (index, format!("{a1}#S1#{part}")),
                (index, format!("{a1}#S2#{part}")),
                (index, format!("{a1}#S3#{part}")),
                (index, format!("{a1}#S4#{part}")),
                (index, format!("{a1}#S5#{part}")),
                (index, format!("{a1}#S6#{part}")),
                (index, format!("{a1}#S7#{part}")),
            ]
        };
        let mut open_and_waiting = shards(GSI1, "OPEN");
        open_and_waiting.extend(shards(GSI1, "WAITING"));
        assert_eq!(
            values(&Listing::Statuses(vec![Status::Open, Status::Waiting])),
            open_and_waiting
        );
        assert_eq!(values(&Listing::Statuses(vec![Status::Closed])), shards(GSI1, "CLOSED"));
        let me = UserId::parse("u-1").unwrap();
        assert_eq!(values(&Listing::Held(Some(me.clone()))), shards(GSI2, "HELD#u-1"));
        assert_eq!(values(&Listing::Held(None)), shards(GSI2, "UNASSIGNED"));
        let number = PhoneNumber::parse("14255550111").unwrap();
        let history = Listing::Customer {
            number: number.clone(),
            support_numbers: Vec::new(),
            statuses: Status::ALL.to_vec(),
            held: None,
        };
        assert_eq!(
            values(&history),
            [(GSI2, "ACCOUNT#a1a1a1a1a1a1a1a1a1a1a1a1#CUSTOMER#14255550111".to_owned())]
        );
        let live = Listing::Customer {
            number,
            support_numbers: Vec::new(),
            statuses: Status::LIVE.to_vec(),
            held: Some(Some(me)),
        };
        assert_eq!(values(&live), []);
        let live_of_anyone = Listing::Customer {
            number: PhoneNumber::parse("14255550111").unwrap(),
            support_numbers: Vec::new(),
            statuses: Status::LIVE.to_vec(),
            held: None,
        };
        assert_eq!(values(&live_of_anyone), [], "live ones are read by their pointers");
    }

    #[test]
    fn a_customer_listing_keeps_the_live_ones_it_asks_for() {
        let (_, mut c) = conversation(1);
        let number = c.customer_number.clone();
        let listing = |statuses: Vec<Status>, held| Listing::Customer {
            number: number.clone(),
            support_numbers: Vec::new(),
            statuses,
            held,
        };
        assert!(in_listing(&c, &listing(Status::LIVE.to_vec(), None)));
        assert!(!in_listing(&c, &listing(vec![Status::Waiting], None)));
        assert!(in_listing(&c, &listing(Status::LIVE.to_vec(), Some(None))));
        c.assigned_agent = Some(UserId::parse("u-1").unwrap());
        assert!(!in_listing(&c, &listing(Status::LIVE.to_vec(), Some(None))));
        assert!(in_listing(
            &c,
            &listing(Status::LIVE.to_vec(), Some(Some(UserId::parse("u-1").unwrap())))
        ));
        assert!(!in_listing(
            &c,
            &listing(Status::LIVE.to_vec(), Some(Some(UserId::parse("u-2").unwrap())))
        ));
        assert!(!in_listing(&c, &Listing::Held(None)));
    }
}
