//! A support number's settings for the desk's automation: its time zone and business hours, the
//! idle timeouts that end conversations, and the six automated messages (greeting, away,
//! closing, help, stop, start) with their defaults in English and Polish. Pure rules: which
//! automated messages an inbound SMS is due, whether the number is open at an instant, which
//! closed period an instant falls in.

use std::collections::BTreeMap;

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use serde::{Deserialize, Deserializer, Serialize};

use crate::conversation::Status;
use crate::ids::Timestamp;
use crate::sms::MAX_MESSAGE_CHARS;

pub use crate::conversation::Kind;

/// One automated message's setting: absent (the default: a text in the number's language for
/// help, stop and start; off for the others), `null` (off), or a text of the operator's.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Text {
    /// The default.
    #[default]
    Default,
    /// Off.
    Off,
    /// The operator's text.
    Custom(String),
}

impl Text {
    fn is_default(&self) -> bool {
        *self == Self::Default
    }
}

impl Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Custom(t) => s.serialize_str(t),
            Self::Off | Self::Default => s.serialize_none(),
        }
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<String>::deserialize(d)? {
            Some(t) => Self::Custom(t),
            None => Self::Off,
        })
    }
}

/// The six automated messages of a number, as stored (absent = default).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Messages {
    /// See [`Kind::Greeting`].
    #[serde(default, skip_serializing_if = "Text::is_default")]
    pub greeting: Text,
    /// See [`Kind::Away`].
    #[serde(default, skip_serializing_if = "Text::is_default")]
    pub away: Text,
    /// See [`Kind::Closing`].
    #[serde(default, skip_serializing_if = "Text::is_default")]
    pub closing: Text,
    /// See [`Kind::Help`].
    #[serde(default, skip_serializing_if = "Text::is_default")]
    pub help: Text,
    /// See [`Kind::Stop`].
    #[serde(default, skip_serializing_if = "Text::is_default")]
    pub stop: Text,
    /// See [`Kind::Start`].
    #[serde(default, skip_serializing_if = "Text::is_default")]
    pub start: Text,
}

impl Messages {
    /// Every kind with its setting.
    pub fn each(&self) -> [(Kind, &Text); 6] {
        [
            Kind::Greeting,
            Kind::Away,
            Kind::Closing,
            Kind::Help,
            Kind::Stop,
            Kind::Start,
        ]
        .map(|k| (k, self.get(k)))
    }

    /// The setting of one kind.
    pub fn get(&self, kind: Kind) -> &Text {
        match kind {
            Kind::Greeting => &self.greeting,
            Kind::Away => &self.away,
            Kind::Closing => &self.closing,
            Kind::Help => &self.help,
            Kind::Stop => &self.stop,
            Kind::Start => &self.start,
        }
    }

    fn slot(&mut self, kind: Kind) -> &mut Text {
        match kind {
            Kind::Greeting => &mut self.greeting,
            Kind::Away => &mut self.away,
            Kind::Closing => &mut self.closing,
            Kind::Help => &mut self.help,
            Kind::Stop => &mut self.stop,
            Kind::Start => &mut self.start,
        }
    }
}

/// How long a conversation may stay idle in each live state before it is ended (`None`: never).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoClose {
    /// For `open` (no agent yet).
    #[serde(default)]
    pub open_after_seconds: Option<u64>,
    /// For `active` (an agent has it).
    #[serde(default)]
    pub active_after_seconds: Option<u64>,
    /// For `waiting` (the agent stepped away).
    #[serde(default)]
    pub waiting_after_seconds: Option<u64>,
}

/// The longest idle timeout taken: 400 days (a conversation idle longer is ended by retention).
pub const MAX_TIMEOUT_SECONDS: u64 = 400 * 24 * 3600;

impl AutoClose {
    /// The timeout of a state (`closed` has none).
    pub fn after(&self, status: Status) -> Option<u64> {
        match status {
            Status::Open => self.open_after_seconds,
            Status::Active => self.active_after_seconds,
            Status::Waiting => self.waiting_after_seconds,
            Status::Closed => None,
        }
    }

    /// The shortest timeout set, if any.
    pub fn shortest(&self) -> Option<u64> {
        [
            self.open_after_seconds,
            self.active_after_seconds,
            self.waiting_after_seconds,
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

/// Opening intervals per weekday (`mon` … `sun`), each `["HH:MM", "HH:MM"]`, local time.
pub type BusinessHours = BTreeMap<String, Vec<[String; 2]>>;

/// The automation settings of a support number, as stored with it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Settings {
    /// The IANA time zone of its business hours (`UTC` when none is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// When it is open (absent: always).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_hours: Option<BusinessHours>,
    /// The idle timeouts.
    #[serde(default, skip_serializing_if = "is_default")]
    pub auto_close: AutoClose,
    /// The automated messages.
    #[serde(default, skip_serializing_if = "is_default")]
    pub messages: Messages,
}

fn is_default<T: Default + PartialEq>(t: &T) -> bool {
    *t == T::default()
}

/// What an operator may get wrong in a number's settings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// Not a zone of the IANA database.
    #[error("{0:?} is not an IANA time zone such as Europe/Warsaw")]
    UnknownTimezone(String),
    /// Hours that cannot be read, are inverted or overlap.
    #[error("business_hours: {0}")]
    BusinessHours(String),
    /// A timeout out of range.
    #[error("auto_close.{0} is a number of seconds from 1 to {MAX_TIMEOUT_SECONDS}, or null")]
    Timeout(&'static str),
    /// An automated message that is empty or too long.
    #[error("messages.{kind}: {why}")]
    Message {
        /// Which.
        kind: &'static str,
        /// Why.
        why: String,
    },
}

const DAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Monday),
    ("tue", Weekday::Tuesday),
    ("wed", Weekday::Wednesday),
    ("thu", Weekday::Thursday),
    ("fri", Weekday::Friday),
    ("sat", Weekday::Saturday),
    ("sun", Weekday::Sunday),
];

/// The most opening intervals a day has.
const MAX_INTERVALS: usize = 8;

/// An opening interval in minutes since local midnight (`end` up to 1440).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Interval {
    start: u16,
    end: u16,
}

fn minutes_of(text: &str) -> Option<u16> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) => Some(1440),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

fn day_intervals(day: &str, raw: &[[String; 2]]) -> Result<Vec<Interval>, SettingsError> {
    let bad = |why: String| SettingsError::BusinessHours(why);
    if raw.len() > MAX_INTERVALS {
        return Err(bad(format!("{day} has more than {MAX_INTERVALS} intervals")));
    }
    let mut out = Vec::with_capacity(raw.len());
    for [from, to] in raw {
        let (Some(start), Some(end)) = (minutes_of(from), minutes_of(to)) else {
            return Err(bad(format!(
                "{day}: [{from:?}, {to:?}] is not a pair of times HH:MM (00:00 to 24:00)"
            )));
        };
        if start >= end {
            return Err(bad(format!("{day}: {from} to {to} ends before it starts")));
        }
        out.push(Interval { start, end });
    }
    out.sort();
    if let Some(w) = out.windows(2).find(|w| w[1].start < w[0].end) {
        return Err(bad(format!(
            "{day}: intervals overlap ({} and {})",
            clock(w[0].start),
            clock(w[1].start)
        )));
    }
    Ok(out)
}

fn clock(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

impl Settings {
    /// Checks every setting: a known zone, readable and ordered hours, timeouts in range,
    /// messages of 1 to 1600 characters.
    pub fn validated(self) -> Result<Self, SettingsError> {
        self.zone()?;
        if let Some(hours) = &self.business_hours {
            for (day, raw) in hours {
                if !DAYS.iter().any(|(d, _)| d == day) {
                    return Err(SettingsError::BusinessHours(format!(
                        "{day:?} is not a day (mon, tue, wed, thu, fri, sat, sun)"
                    )));
                }
                day_intervals(day, raw)?;
            }
        }
        let timeouts = [
            ("open_after_seconds", self.auto_close.open_after_seconds),
            ("active_after_seconds", self.auto_close.active_after_seconds),
            ("waiting_after_seconds", self.auto_close.waiting_after_seconds),
        ];
        for (name, t) in timeouts {
            if t.is_some_and(|t| t == 0 || t > MAX_TIMEOUT_SECONDS) {
                return Err(SettingsError::Timeout(name));
            }
        }
        for (kind, text) in self.messages.each() {
            if let Text::Custom(t) = text {
                check_message(kind, t)?;
            }
        }
        Ok(self)
    }

    /// The zone of the business hours (UTC when none is set).
    pub fn zone(&self) -> Result<TimeZone, SettingsError> {
        match &self.timezone {
            None => Ok(TimeZone::UTC),
            Some(name) => TimeZone::get(name).map_err(|_| SettingsError::UnknownTimezone(name.clone())),
        }
    }

    /// The intervals of one weekday (settings are validated before they are stored; anything
    /// unreadable counts as closed).
    fn intervals(&self, weekday: Weekday) -> Vec<Interval> {
        let Some(hours) = &self.business_hours else {
            return vec![Interval { start: 0, end: 1440 }];
        };
        let name = DAYS.iter().find(|(_, w)| *w == weekday).map_or("", |(d, _)| d);
        hours
            .get(name)
            .and_then(|raw| day_intervals(name, raw).ok())
            .unwrap_or_default()
    }

    /// Whether the number is open at `at` (always, without business hours).
    pub fn is_open(&self, at: Timestamp) -> bool {
        if self.business_hours.is_none() {
            return true;
        }
        let Ok(zone) = self.zone() else {
            return true;
        };
        let Some(local) = zoned(at, &zone) else {
            return true;
        };
        let minute = (local.hour() as u16) * 60 + local.minute() as u16;
        self.intervals(local.weekday())
            .iter()
            .any(|i| i.start <= minute && minute < i.end)
    }

    /// The closed period `at` falls in, named by the instant it ends (the next opening, in
    /// epoch seconds; `never` when the number never opens): every message of one closed
    /// period gets at most one away message. `None` while the number is open.
    pub fn closed_period(&self, at: Timestamp) -> Option<String> {
        if self.is_open(at) {
            return None;
        }
        Some(
            self.next_opening(at)
                .map_or_else(|| "never".to_owned(), |s| s.to_string()),
        )
    }

    /// The first opening after `at`, in epoch seconds, looking a week and a day ahead.
    fn next_opening(&self, at: Timestamp) -> Option<i64> {
        let zone = self.zone().ok()?;
        let today = zoned(at, &zone)?.date();
        let after = at.epoch_seconds();
        (0..=8)
            .filter_map(|d| today.checked_add(jiff::Span::new().days(d)).ok())
            .flat_map(|date| {
                let zone = zone.clone();
                self.intervals(date.weekday())
                    .into_iter()
                    .filter_map(move |i| opening(date, i.start, &zone))
            })
            .filter(|s| *s > after)
            .min()
    }

    /// The text of an automated message, or `None` when it is off: the operator's, else the
    /// default in the number's language (help, stop and start only) naming the account.
    pub fn text(&self, kind: Kind, language: &str, account_name: &str) -> Option<String> {
        match self.messages.get(kind) {
            Text::Custom(t) => Some(t.clone()),
            Text::Off => None,
            Text::Default => default_text(kind, language, account_name),
        }
    }

    /// Applies a change as `PATCH` reads it: each field present replaces what was there (a
    /// message or a timeout one by one), `null` turns it off.
    pub fn patched(mut self, change: &SettingsChange) -> Self {
        if let Some(tz) = &change.timezone {
            self.timezone = tz.clone();
        }
        if let Some(hours) = &change.business_hours {
            self.business_hours = hours.clone();
        }
        if let Some(a) = &change.auto_close {
            let slots = [
                (&a.open_after_seconds, &mut self.auto_close.open_after_seconds),
                (&a.active_after_seconds, &mut self.auto_close.active_after_seconds),
                (&a.waiting_after_seconds, &mut self.auto_close.waiting_after_seconds),
            ];
            for (new, slot) in slots {
                if let Some(v) = new {
                    *slot = *v;
                }
            }
        }
        if let Some(m) = &change.messages {
            for (kind, new) in m {
                *self.messages.slot(*kind) = match new {
                    Some(t) => Text::Custom(t.clone()),
                    None => Text::Off,
                };
            }
        }
        self
    }
}

fn check_message(kind: Kind, text: &str) -> Result<(), SettingsError> {
    let why = if text.trim().is_empty() {
        "empty; use null to turn it off".to_owned()
    } else if text.chars().count() > MAX_MESSAGE_CHARS {
        format!("{} characters, at most {MAX_MESSAGE_CHARS}", text.chars().count())
    } else {
        return Ok(());
    };
    Err(SettingsError::Message {
        kind: kind.as_str(),
        why,
    })
}

/// A `PATCH` of a number's automation: the outer `Option` is "present", the inner one `null`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsChange {
    /// The zone (`null`: UTC).
    #[serde(default, deserialize_with = "present")]
    pub timezone: Option<Option<String>>,
    /// The hours (`null`: always open).
    #[serde(default, deserialize_with = "present")]
    pub business_hours: Option<Option<BusinessHours>>,
    /// Timeouts, each present one replaced.
    #[serde(default)]
    pub auto_close: Option<AutoCloseChange>,
    /// Messages, each present one replaced (`null`: off).
    #[serde(default)]
    pub messages: Option<BTreeMap<Kind, Option<String>>>,
}

/// The timeouts of a `PATCH`, each present one replaced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoCloseChange {
    /// See [`AutoClose::open_after_seconds`].
    #[serde(default, deserialize_with = "present")]
    pub open_after_seconds: Option<Option<u64>>,
    /// See [`AutoClose::active_after_seconds`].
    #[serde(default, deserialize_with = "present")]
    pub active_after_seconds: Option<Option<u64>>,
    /// See [`AutoClose::waiting_after_seconds`].
    #[serde(default, deserialize_with = "present")]
    pub waiting_after_seconds: Option<Option<u64>>,
}

/// Reads a field that is present (`Some(None)` for `null`; an absent field is the serde
/// default, `None`).
pub fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

fn zoned(at: Timestamp, zone: &TimeZone) -> Option<jiff::civil::DateTime> {
    let instant = jiff::Timestamp::from_second(at.epoch_seconds()).ok()?;
    Some(zone.to_datetime(instant))
}

/// The instant a local opening time happens on `date` (in a gap of a DST change, the instant
/// after the gap, as a clock shows it).
fn opening(date: Date, minute: u16, zone: &TimeZone) -> Option<i64> {
    let time = Time::new((minute / 60) as i8, (minute % 60) as i8, 0, 0).ok()?;
    Some(zone.to_timestamp(date.to_datetime(time)).ok()?.as_second())
}

/// The default text of help, stop and start in the language's primary subtag (`pl`, else
/// English), naming the account. Greeting, away and closing have none (off by default).
pub fn default_text(kind: Kind, language: &str, account: &str) -> Option<String> {
    let polish = language
        .split(['-', '_'])
        .next()
        .is_some_and(|l| l.eq_ignore_ascii_case("pl"));
    let text = match (kind, polish) {
        (Kind::Help, false) => format!(
            "{account}: this number is answered by our support team. Reply with your question; text STOP to stop messages, START to resume."
        ),
        (Kind::Help, true) => format!(
            "{account}: pod tym numerem odpowiada nasz zespół obsługi. Napisz swoje pytanie; wyślij STOP, aby nie dostawać wiadomości, START, aby je wznowić."
        ),
        (Kind::Stop, false) => format!(
            "{account}: you will get no more messages from this number. Text START to resume."
        ),
        (Kind::Stop, true) => format!(
            "{account}: nie dostaniesz więcej wiadomości z tego numeru. Wyślij START, aby je wznowić."
        ),
        (Kind::Start, false) => format!(
            "{account}: messages from this number are on again. Text STOP to stop them, HELP for help."
        ),
        (Kind::Start, true) => format!(
            "{account}: wiadomości z tego numeru są znowu włączone. Wyślij STOP, aby je wyłączyć, HELP po pomoc."
        ),
        (Kind::Greeting | Kind::Away | Kind::Closing, _) => return None,
    };
    Some(text)
}

/// What an inbound SMS did to consent, as decided against the consent read with its thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentEffect {
    /// Not a consent keyword.
    None,
    /// The customer's state changed to this (newer than the last change).
    Changed(crate::conversation::Consent),
    /// A keyword that leaves the state as it is (STOP when opted out, START when opted in).
    Unchanged(crate::conversation::Consent),
    /// A keyword older than the last change (a late retry): recorded, not applied.
    Superseded(crate::conversation::Consent),
}

/// What an inbound SMS asks of the automation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundFacts {
    /// The message opens a new conversation.
    pub new_conversation: bool,
    /// HELP or INFO.
    pub help: bool,
    /// Its consent effect.
    pub consent: ConsentEffect,
    /// Whether the customer is opted out after it.
    pub opted_out: bool,
    /// The closed period it falls in (`None`: the number is open).
    pub closed_period: Option<String>,
    /// The closed period an away message was last sent for in this conversation.
    pub away_sent_for: Option<String>,
}

/// The kinds of automated message an inbound SMS is due, in the order they go out: the stop
/// confirmation alone after an opt-out (and nothing more to an opted-out customer); the start
/// confirmation after an opt-in; the help reply to HELP; otherwise the greeting of a new
/// conversation and the away message once per closed period. Kinds that are off are left out
/// by the caller ([`Settings::text`]).
pub fn due_on_inbound(f: &InboundFacts) -> Vec<Kind> {
    use crate::conversation::Consent;
    match f.consent {
        ConsentEffect::Changed(Consent::OptOut) => return vec![Kind::Stop],
        _ if f.opted_out => return Vec::new(),
        ConsentEffect::Changed(Consent::OptIn) => return vec![Kind::Start],
        ConsentEffect::Unchanged(_) | ConsentEffect::Superseded(_) => return Vec::new(),
        ConsentEffect::None => {}
    }
    if f.help {
        return vec![Kind::Help];
    }
    let mut due = Vec::new();
    if f.new_conversation {
        due.push(Kind::Greeting);
    }
    if f.closed_period.is_some() && f.closed_period != f.away_sent_for {
        due.push(Kind::Away);
    }
    due
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::Consent;

    fn at(rfc3339: &str) -> Timestamp {
        Timestamp::parse(rfc3339).expect("a time")
    }

    fn warsaw_nine_to_five() -> Settings {
        serde_json::from_value(serde_json::json!({
            "timezone": "Europe/Warsaw",
            "business_hours": {"mon": [["09:00", "17:00"]], "tue": [["09:00", "12:00"], ["13:00", "17:00"]],
                               "sun": [["09:00", "17:00"]]}
        }))
        .expect("settings")
    }

    #[test]
    fn business_hours_follow_the_zone_across_a_daylight_saving_change() {
        // Given Warsaw's hours; on Sunday 2026-10-25 the clocks go back (CEST, UTC+2 → CET, UTC+1).
        let s = warsaw_nine_to_five();
        // 07:30 UTC on Monday 2026-10-19 is 09:30 CEST: open. On Monday 2026-10-26 it is 08:30 CET: closed.
        assert!(s.is_open(at("2026-10-19T07:30:00Z")));
        assert!(!s.is_open(at("2026-10-26T07:30:00Z")));
        assert!(s.is_open(at("2026-10-26T08:30:00Z")));
        // On the day of the change itself, 09:00 local is 08:00 UTC.
        assert!(!s.is_open(at("2026-10-25T07:59:00Z")));
        assert!(s.is_open(at("2026-10-25T08:00:00Z")));
    }

    #[test]
    fn a_lunch_break_and_a_day_without_hours_are_closed() {
        let s = warsaw_nine_to_five();
        // Tuesday 2026-11-24 12:30 CET = 11:30 UTC; Wednesday has no hours.
        assert!(!s.is_open(at("2026-11-24T11:30:00Z")));
        assert!(s.is_open(at("2026-11-24T12:30:00Z")));
        assert!(!s.is_open(at("2026-11-25T10:00:00Z")));
        assert!(
            Settings::default().is_open(at("2026-11-25T03:00:00Z")),
            "no hours: always open"
        );
    }

    #[test]
    fn a_closed_period_is_named_by_its_next_opening_so_two_nights_differ() {
        let s = warsaw_nine_to_five();
        // Monday 2026-11-23 20:00 and 23:00 CET share the night; Tuesday's night is another.
        let monday_evening = s.closed_period(at("2026-11-23T19:00:00Z"));
        let monday_late = s.closed_period(at("2026-11-23T22:00:00Z"));
        let tuesday_evening = s.closed_period(at("2026-11-24T19:00:00Z"));
        assert!(monday_evening.is_some());
        assert_eq!(monday_evening, monday_late);
        assert_ne!(monday_evening, tuesday_evening);
        // Tuesday 09:00 CET is 08:00 UTC.
        assert_eq!(monday_evening.as_deref(), Some("1795507200"));
        assert_eq!(s.closed_period(at("2026-11-23T09:00:00Z")), None, "open: no period");
    }

    #[test]
    fn validation_names_what_is_wrong() {
        let bad = |v: serde_json::Value| serde_json::from_value::<Settings>(v).expect("shape").validated();
        assert!(matches!(
            bad(serde_json::json!({"timezone": "Mars/Olympus"})),
            Err(SettingsError::UnknownTimezone(_))
        ));
        let inverted = bad(serde_json::json!({"business_hours": {"mon": [["17:00", "09:00"]]}}));
        assert!(matches!(inverted, Err(SettingsError::BusinessHours(w)) if w.contains("ends before")));
        let overlap = bad(serde_json::json!({"business_hours": {"mon": [["09:00", "13:00"], ["12:00", "17:00"]]}}));
        assert!(matches!(overlap, Err(SettingsError::BusinessHours(w)) if w.contains("overlap")));
        let day = bad(serde_json::json!({"business_hours": {"monday": [["09:00", "13:00"]]}}));
        assert!(matches!(day, Err(SettingsError::BusinessHours(_))));
        let clock = bad(serde_json::json!({"business_hours": {"mon": [["9:00", "13:00"]]}}));
        assert!(matches!(clock, Err(SettingsError::BusinessHours(_))));
        let long = bad(serde_json::json!({"messages": {"greeting": "x".repeat(1601)}}));
        assert!(matches!(long, Err(SettingsError::Message { kind: "greeting", .. })));
        let zero = bad(serde_json::json!({"auto_close": {"waiting_after_seconds": 0}}));
        assert_eq!(zero, Err(SettingsError::Timeout("waiting_after_seconds")));
        assert!(bad(
            serde_json::json!({"business_hours": {"mon": [["00:00", "24:00"]]}, "timezone": "America/New_York"})
        )
        .is_ok());
    }

    #[test]
    fn limits_are_inclusive_and_adjacent_intervals_do_not_overlap() {
        let check = |v: serde_json::Value| serde_json::from_value::<Settings>(v).expect("shape").validated();
        assert_eq!(MAX_TIMEOUT_SECONDS, 34_560_000, "400 days");
        assert!(check(serde_json::json!({"auto_close": {"open_after_seconds": MAX_TIMEOUT_SECONDS}})).is_ok());
        let over = check(serde_json::json!({"auto_close": {"active_after_seconds": MAX_TIMEOUT_SECONDS + 1}}));
        assert_eq!(over, Err(SettingsError::Timeout("active_after_seconds")));
        let eight: Vec<[String; 2]> = (0..8)
            .map(|h| [format!("{:02}:00", h * 2), format!("{:02}:30", h * 2)])
            .collect();
        assert!(check(serde_json::json!({"business_hours": {"fri": eight}})).is_ok());
        let nine: Vec<[String; 2]> = (0..9)
            .map(|h| [format!("{:02}:00", h * 2), format!("{:02}:30", h * 2)])
            .collect();
        assert!(
            matches!(check(serde_json::json!({"business_hours": {"fri": nine}})), Err(SettingsError::BusinessHours(w)) if w.contains("more than 8"))
        );
        assert!(
            check(serde_json::json!({"business_hours": {"mon": [["09:00", "12:00"], ["12:00", "17:00"]]}})).is_ok()
        );
        let overlap = check(serde_json::json!({"business_hours": {"mon": [["12:00", "17:00"], ["09:00", "12:30"]]}}));
        assert_eq!(
            overlap,
            Err(SettingsError::BusinessHours(
                "mon: intervals overlap (09:00 and 12:00)".into()
            ))
        );
        assert!(check(serde_json::json!({"messages": {"away": "x".repeat(1600)}})).is_ok());
        assert!(
            check(serde_json::json!({"messages": {"away": "  "}})).is_err(),
            "empty: use null"
        );
    }

    #[test]
    fn an_interval_opens_at_its_start_minute_and_closes_at_its_end() {
        let s: Settings = serde_json::from_value(serde_json::json!({"business_hours": {"thu": [["09:30", "17:15"]]}}))
            .expect("settings");
        // Thursday 2026-11-26, UTC.
        assert!(!s.is_open(at("2026-11-26T09:29:59Z")));
        assert!(s.is_open(at("2026-11-26T09:30:00Z")));
        assert!(s.is_open(at("2026-11-26T17:14:59Z")));
        assert!(!s.is_open(at("2026-11-26T17:15:00Z")));
    }

    #[test]
    fn an_opening_that_falls_in_a_daylight_saving_gap_is_not_an_opening() {
        // New York skips 02:00 to 03:00 on Sunday 2026-03-08: an interval inside the gap never
        // opens that day, so the closed period runs on to the next Sunday's 02:30 (EDT, 06:30 UTC).
        let s: Settings = serde_json::from_value(serde_json::json!({"timezone": "America/New_York",
            "business_hours": {"sun": [["02:30", "03:00"]]}}))
        .expect("settings");
        let just_after_the_gap = at("2026-03-08T07:30:00Z");
        assert!(!s.is_open(just_after_the_gap));
        assert_eq!(s.closed_period(just_after_the_gap).as_deref(), Some("1773556200"));
    }

    #[test]
    fn default_settings_are_stored_as_nothing() {
        assert_eq!(
            serde_json::to_value(Settings::default()).expect("json"),
            serde_json::json!({})
        );
        let off: Settings = serde_json::from_value(serde_json::json!({"messages": {"help": null}})).expect("settings");
        assert_eq!(
            serde_json::to_value(&off).expect("json"),
            serde_json::json!({"messages": {"help": null}}),
            "off is kept as null, the defaults left out"
        );
    }

    #[test]
    fn help_stop_and_start_default_to_the_numbers_language_and_name_the_account() {
        let s = Settings::default();
        let pl = s.text(Kind::Stop, "pl-PL", "Sklep").expect("a default");
        assert!(pl.starts_with("Sklep:") && pl.contains("START"), "{pl}");
        let en = s.text(Kind::Help, "en-US", "Shop").expect("a default");
        assert!(en.starts_with("Shop:") && en.contains("STOP"), "{en}");
        assert_eq!(
            s.text(Kind::Greeting, "en-US", "Shop"),
            None,
            "greeting is off by default"
        );
        let off = s
            .clone()
            .patched(&serde_json::from_value(serde_json::json!({"messages": {"help": null}})).expect("change"));
        assert_eq!(off.text(Kind::Help, "en-US", "Shop"), None, "null turns it off");
    }

    #[test]
    fn a_patch_replaces_only_what_it_names() {
        let s: Settings = serde_json::from_value(serde_json::json!({
            "auto_close": {"open_after_seconds": 60, "waiting_after_seconds": 86400},
            "messages": {"greeting": "Hi"}
        }))
        .expect("settings");
        let change: SettingsChange = serde_json::from_value(serde_json::json!({
            "auto_close": {"open_after_seconds": null}, "messages": {"away": "Closed now"},
            "timezone": "Europe/Warsaw"
        }))
        .expect("change");
        let after = s.patched(&change);
        assert_eq!(after.timezone.as_deref(), Some("Europe/Warsaw"));
        assert_eq!(after.auto_close.open_after_seconds, None);
        assert_eq!(after.auto_close.waiting_after_seconds, Some(86400));
        assert_eq!(after.messages.greeting, Text::Custom("Hi".into()));
        assert_eq!(after.messages.away, Text::Custom("Closed now".into()));
        // Stored and read back the same.
        let stored = serde_json::to_value(&after).expect("json");
        assert_eq!(serde_json::from_value::<Settings>(stored).expect("read back"), after);
    }

    fn facts() -> InboundFacts {
        InboundFacts {
            new_conversation: false,
            help: false,
            consent: ConsentEffect::None,
            opted_out: false,
            closed_period: None,
            away_sent_for: None,
        }
    }

    #[test]
    fn an_opt_out_gets_only_its_confirmation_and_an_opted_out_customer_nothing() {
        let stop = InboundFacts {
            consent: ConsentEffect::Changed(Consent::OptOut),
            opted_out: true,
            new_conversation: true,
            closed_period: Some("1".into()),
            ..facts()
        };
        assert_eq!(due_on_inbound(&stop), vec![Kind::Stop]);
        let after = InboundFacts {
            opted_out: true,
            help: true,
            ..facts()
        };
        assert_eq!(due_on_inbound(&after), Vec::<Kind>::new());
        let late_start = InboundFacts {
            consent: ConsentEffect::Superseded(Consent::OptIn),
            opted_out: true,
            ..facts()
        };
        assert_eq!(due_on_inbound(&late_start), Vec::<Kind>::new());
    }

    #[test]
    fn greeting_on_a_new_conversation_and_away_once_per_closed_period() {
        let first = InboundFacts {
            new_conversation: true,
            closed_period: Some("100".into()),
            ..facts()
        };
        assert_eq!(due_on_inbound(&first), vec![Kind::Greeting, Kind::Away]);
        let again = InboundFacts {
            closed_period: Some("100".into()),
            away_sent_for: Some("100".into()),
            ..facts()
        };
        assert_eq!(due_on_inbound(&again), Vec::<Kind>::new());
        let next_night = InboundFacts {
            closed_period: Some("200".into()),
            away_sent_for: Some("100".into()),
            ..facts()
        };
        assert_eq!(due_on_inbound(&next_night), vec![Kind::Away]);
        let help = InboundFacts {
            help: true,
            new_conversation: true,
            ..facts()
        };
        assert_eq!(due_on_inbound(&help), vec![Kind::Help]);
        let start = InboundFacts {
            consent: ConsentEffect::Changed(Consent::OptIn),
            ..facts()
        };
        assert_eq!(due_on_inbound(&start), vec![Kind::Start]);
    }
}
