//! The table's change stream, read back into domain types: a stream image is decoded through
//! the same serde items as a read of the table ([`super::items`]), so what an item holds is
//! known in one place. Only conversations and messages make events; every other item (pointers,
//! references, consent, idempotency records, members, audit entries, connections, and kinds
//! added later) is ignored, and a message's raw callback body never leaves its item.

use crate::table::{PK, SK};
use channel_domain::events::Snapshot;

use super::items::{ConversationItem, MessageItem};

/// The partition prefix of conversations and their messages: the only items events are made
/// of (the template's filter on the stream says the same).
pub const EVENT_PARTITION_PREFIX: &str = "CONV#";

/// The sort key of a conversation item, which makes events.
pub const EVENT_CONVERSATION_SORT_KEY: &str = "CONV";

/// The sort key prefix of message items, which make events (raw bodies, `RAW#`, do not).
pub const EVENT_MESSAGE_SORT_PREFIX: &str = "MSG#";

/// The event source mapping's filter (`template.yaml`'s `EventsStream`): conversations and their
/// messages, created or changed (a removal, by TTL or erasure, makes no event).
pub const EVENT_FILTER: &str = r#"{"eventName": ["INSERT", "MODIFY"], "dynamodb": {"Keys": {"pk": {"S": [{"prefix": "CONV#"}]}, "sk": {"S": ["CONV", {"prefix": "MSG#"}]}}}}"#;

/// Whether a stream record passes [`EVENT_FILTER`]: its event name and its key.
pub fn passes_filter(event_name: &str, pk: &str, sk: &str) -> bool {
    matches!(event_name, "INSERT" | "MODIFY")
        && pk.starts_with(EVENT_PARTITION_PREFIX)
        && (sk == EVENT_CONVERSATION_SORT_KEY || sk.starts_with(EVENT_MESSAGE_SORT_PREFIX))
}

/// A stream image, as Lambda's DynamoDB event carries it.
pub type Image = serde_dynamo::Item;

/// The domain value of a stream image, when it is a conversation or a message that decodes.
pub fn snapshot_of(image: serde_dynamo::Item) -> Option<Snapshot> {
    let text = |name: &str| match image.get(name) {
        Some(serde_dynamo::AttributeValue::S(s)) => Some(s.clone()),
        _ => None,
    };
    let (pk, sk) = (text(PK)?, text(SK)?);
    if !pk.starts_with(EVENT_PARTITION_PREFIX) {
        return None;
    }
    if sk == "CONV" {
        let item: ConversationItem = decode(image, &pk)?;
        return Some(Snapshot::Conversation(item.into_conversation()));
    }
    if sk.starts_with("MSG#") {
        let item: MessageItem = decode(image, &pk)?;
        let (account_id, conversation_id) = item.owner();
        return Some(Snapshot::Message {
            account_id,
            conversation_id,
            message: item.into_message(),
        });
    }
    None
}

fn decode<T: for<'de> serde::Deserialize<'de>>(image: serde_dynamo::Item, pk: &str) -> Option<T> {
    match serde_dynamo::from_item(image) {
        Ok(item) => Some(item),
        Err(e) => {
            // Never the image itself: it holds message texts and customer numbers.
            tracing::warn!(partition = pk, error = %e, "a stream image did not decode; no event");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::items::{to_item, ConsentItem};
    use channel_domain::conversation::{Conversation, Message, Thread};
    use channel_domain::ids::AccountId;
    use channel_domain::phone::PhoneNumber;
    use channel_domain::sms::analyse;

    fn image<T: serde::Serialize>(item: &T) -> serde_dynamo::Item {
        serde_dynamo::Item::from(to_item(item).unwrap())
    }

    fn conversation() -> Conversation {
        Conversation::first_contact(&Thread {
            account_id: AccountId::new(),
            support_number: PhoneNumber::parse("14255550100").unwrap(),
            customer_number: PhoneNumber::parse("48601234567").unwrap(),
        })
    }

    #[test]
    fn a_conversation_image_reads_as_the_conversation() {
        let c = conversation();
        assert_eq!(
            snapshot_of(image(&ConversationItem::of(&c))),
            Some(Snapshot::Conversation(c))
        );
    }

    #[test]
    fn a_message_image_reads_as_the_message_without_its_raw_body() {
        let c = conversation();
        let m = Message::inbound("Hello", &analyse("Hello"), "ref-1");
        let item = MessageItem::of(&c.conversation_id, &c.account_id, &m, Some("{\"raw\":1}"));
        let Some(Snapshot::Message {
            account_id,
            conversation_id,
            message,
        }) = snapshot_of(image(&item))
        else {
            panic!("not a message")
        };
        assert_eq!((account_id, conversation_id), (c.account_id, c.conversation_id));
        assert_eq!(message.text, "Hello");
        assert!(!serde_json::to_string(&message).unwrap().contains("raw"));
    }

    #[test]
    fn items_that_are_no_conversation_or_message_make_nothing() {
        let c = conversation();
        let consent = ConsentItem::of(
            &c.account_id,
            &c.customer_number,
            true,
            &c.conversation_id,
            "0000000000000#R1",
        );
        assert_eq!(snapshot_of(image(&consent)), None);
        let mut unknown = image(&ConversationItem::of(&c));
        unknown.insert(SK.into(), serde_dynamo::AttributeValue::S("ERASED#x".into()));
        assert_eq!(snapshot_of(unknown), None);
    }

    #[test]
    fn a_conversation_image_that_does_not_decode_makes_nothing() {
        let c = conversation();
        let mut broken = image(&ConversationItem::of(&c));
        broken.insert("status".into(), serde_dynamo::AttributeValue::S("dancing".into()));
        assert_eq!(snapshot_of(broken), None);
    }
}
