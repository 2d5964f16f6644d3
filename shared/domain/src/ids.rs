//! Identifiers and times as the channel writes them: newtypes parsed at the edge, so that an
//! account id can never be passed where a conversation id is meant, and a time is always UTC.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;

/// Text that is not an id this channel makes (hex, 24 or 32 digits).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an id of this channel")]
pub struct InvalidId(pub String);

/// Whether `text` looks like an id this module makes (lowercase hex, 24 or 32 digits).
pub fn is_id(text: &str) -> bool {
    matches!(text.len(), 24 | 32) && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A new opaque id that sorts by creation time: a UUID v7 as 32 lowercase hex digits.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A new id (time-sortable).
            pub fn new() -> Self {
                Self(new_id())
            }

            /// Parses an id as a client or the store wrote it.
            pub fn parse(text: &str) -> Result<Self, InvalidId> {
                if is_id(text) {
                    Ok(Self(text.to_owned()))
                } else {
                    Err(InvalidId(text.chars().take(64).collect()))
                }
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// A messaging account's id.
    AccountId
);
id_type!(
    /// A conversation's id.
    ConversationId
);
id_type!(
    /// A message's id: ids sort by creation time, so a transcript reads in order.
    MessageId
);
id_type!(
    /// A canned response's id.
    CannedResponseId
);

impl MessageId {
    /// An id that sorts right after this one: for a message written together with another one
    /// that must read after it (a consent notice after the customer's keyword).
    pub fn successor(&self) -> Self {
        let width = self.0.len();
        let next = u128::from_str_radix(&self.0, 16).unwrap_or(0).saturating_add(1);
        let text = format!("{next:0width$x}");
        Self(text[text.len() - width..].to_owned())
    }

    /// When the message was recorded, in epoch milliseconds: a new id is a UUID v7, whose first
    /// 48 bits are its time. `None` for an id that is not one.
    pub fn epoch_millis(&self) -> Option<u64> {
        let id = uuid::Uuid::parse_str(&self.0).ok()?;
        let (seconds, nanos) = id.get_timestamp()?.to_unix();
        Some(seconds * 1000 + u64::from(nanos) / 1_000_000)
    }
}

/// An `Idempotency-Key` header: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

/// A header that is not a usable idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Idempotency-Key must be 1 to 255 visible ASCII characters")]
pub struct InvalidIdempotencyKey;

impl IdempotencyKey {
    /// Parses the header's value.
    pub fn parse(text: &str) -> Result<Self, InvalidIdempotencyKey> {
        if !text.is_empty() && text.len() <= 255 && text.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(Self(text.to_owned()))
        } else {
            Err(InvalidIdempotencyKey)
        }
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A point in time, UTC, written as RFC 3339 with milliseconds (fixed width, so it sorts as text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// Now, to the millisecond (what is written is what reads back).
    pub fn now() -> Self {
        let t = OffsetDateTime::now_utc();
        Self(t.replace_millisecond(t.millisecond()).unwrap_or(t))
    }

    /// From seconds since the epoch.
    pub fn from_epoch_seconds(seconds: i64) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp(seconds).ok().map(Self)
    }

    /// From milliseconds since the epoch.
    pub fn from_epoch_millis(millis: i64) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
            .ok()
            .map(Self)
    }

    /// Parses RFC 3339.
    pub fn parse(text: &str) -> Option<Self> {
        OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .ok()
            .map(|t| Self(t.to_offset(time::UtcOffset::UTC)))
    }

    /// Seconds since the epoch (TTL attributes).
    pub fn epoch_seconds(self) -> i64 {
        self.0.unix_timestamp()
    }

    /// Milliseconds since the epoch (version stamps).
    pub fn epoch_millis(self) -> i64 {
        (self.0.unix_timestamp_nanos() / 1_000_000) as i64
    }

    /// This time plus `seconds`.
    pub fn plus_seconds(self, seconds: i64) -> Self {
        Self(self.0 + time::Duration::seconds(seconds))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_time(self.0))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not an RFC 3339 time")))
    }
}

/// The current time, RFC 3339 UTC with milliseconds.
pub fn now() -> String {
    Timestamp::now().to_string()
}

/// A time, RFC 3339 UTC with milliseconds.
pub fn format_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// Seconds since the epoch, for TTL attributes.
pub fn epoch_seconds() -> i64 {
    Timestamp::now().epoch_seconds()
}

/// Milliseconds since the epoch (metric timestamps, lags).
pub fn epoch_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_time_and_successors_sort_right_after() {
        let a = MessageId::new();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = MessageId::new();
        assert!(a < b, "{a} {b}");
        let next = a.successor();
        assert!(next > a && next < b && next.as_str().len() == 32);
        let old = MessageId::parse("0000000000ff00000000000f").unwrap();
        assert_eq!(old.successor().as_str(), "0000000000ff000000000010");
    }

    #[test]
    fn a_message_id_tells_when_it_was_made() {
        let before = epoch_millis();
        let id = MessageId::new();
        let at = id.epoch_millis().expect("a v7 id has a time");
        assert!(at >= before && at <= epoch_millis(), "{at}");
        assert_eq!(
            MessageId::parse("0123456789abcdef01234567").unwrap().epoch_millis(),
            None
        );
    }

    #[test]
    fn only_hex_ids_of_the_two_widths_parse() {
        assert!(AccountId::parse(&new_id()).is_ok());
        assert!(ConversationId::parse("../etc").is_err());
        assert!(ConversationId::parse("ABCDEF0123456789ABCDEF01").is_err());
        assert!(MessageId::parse("0123456789abcdef01234567").is_ok());
    }

    #[test]
    fn times_have_fixed_width_and_read_back() {
        let t = Timestamp::from_epoch_seconds(0).unwrap();
        assert_eq!(t.to_string(), "1970-01-01T00:00:00.000Z");
        assert_eq!(now().len(), 24);
        let now = Timestamp::now();
        assert_eq!(
            Timestamp::parse(&now.to_string()).map(|t| t.to_string()),
            Some(now.to_string())
        );
        assert_eq!(t.plus_seconds(90).epoch_seconds(), 90);
        let system = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        assert!((epoch_seconds() - system).abs() <= 1, "epoch seconds are now's");
    }

    #[test]
    fn idempotency_keys_are_visible_ascii_up_to_255() {
        assert_eq!(
            IdempotencyKey::parse("draft-1").map(|k| k.as_str().to_owned()),
            Ok("draft-1".to_owned())
        );
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("a b").is_err());
    }
}
