//! Identifiers and timestamps as the channel writes them.

use std::time::{SystemTime, UNIX_EPOCH};

use rand::Rng;
use time::OffsetDateTime;

/// A new opaque id: 32 lowercase hex digits.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A new message id that sorts by creation time: 12 hex digits of milliseconds since the epoch,
/// then 12 random hex digits.
pub fn new_message_id() -> String {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let random: u64 = rand::rng().random::<u64>() & 0xffff_ffff_ffff;
    format!("{millis:012x}{random:012x}")
}

/// A message id that sorts right after `id` (same millisecond, next random value): for a
/// message written together with another one that must read after it.
pub fn next_message_id(id: &str) -> String {
    let (millis, random) = id.split_at(id.len().min(12));
    let random = u64::from_str_radix(random, 16)
        .unwrap_or(0)
        .saturating_add(1)
        .min(0xffff_ffff_ffff);
    format!("{millis}{random:012x}")
}

/// Whether `text` looks like an id this module makes (hex, 24 or 32 digits).
pub fn is_id(text: &str) -> bool {
    matches!(text.len(), 24 | 32) && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The current time, RFC 3339 UTC with milliseconds: fixed width, so it sorts as text.
pub fn now() -> String {
    format_time(OffsetDateTime::now_utc())
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
    OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_sort_by_time() {
        let a = new_message_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_message_id();
        assert!(a < b, "{a} {b}");
        assert!(is_id(&a) && is_id(&new_id()));
        assert!(next_message_id(&a) > a && next_message_id(&a).len() == 24);
        assert!(!is_id("../etc") && !is_id("ABCDEF0123456789ABCDEF01"));
    }

    #[test]
    fn times_have_fixed_width() {
        let t = OffsetDateTime::from_unix_timestamp(0).unwrap();
        assert_eq!(format_time(t), "1970-01-01T00:00:00.000Z");
        assert_eq!(now().len(), 24);
    }
}
