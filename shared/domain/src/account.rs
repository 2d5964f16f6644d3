//! Messaging accounts and their support numbers: the operator's setup of the channel.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::automation::{Settings, SettingsChange, SettingsError};
use crate::ids::{AccountId, Timestamp};
use crate::phone::{PhoneError, PhoneNumber};
use crate::telesign::{ApiHost, ApiKey, Credentials, KeyError};

/// What an operator asked for that an account cannot be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    /// A support number that is not a number of its type.
    #[error("support number {number:?}: {reason}")]
    InvalidNumber {
        /// As typed.
        number: String,
        /// Why.
        reason: PhoneError,
    },
    /// SMS carries no attachments.
    #[error("support number {0}: attachments cannot be enabled, TeleSign SMS carries text only")]
    AttachmentsNotSupported(PhoneNumber),
    /// A description over 200 characters.
    #[error("a number's description is at most 200 characters")]
    DescriptionTooLong,
    /// Not a BCP 47 tag.
    #[error("{0:?} is not a language tag such as en-US")]
    InvalidLanguage(String),
    /// An empty or long name.
    #[error("name is 1 to 100 characters")]
    InvalidName,
    /// The same number twice in one request.
    #[error("{0} is listed twice")]
    DuplicateNumber(PhoneNumber),
    /// More than 50 numbers.
    #[error("an account has at most 50 support numbers")]
    TooManyNumbers,
    /// A number whose settings (its automated messages, hours and description) would take more
    /// than [`MAX_SETTINGS_BYTES`] stored.
    #[error(
        "support number {number}: its settings would take {bytes} bytes stored, at most {MAX_SETTINGS_BYTES}: \
         shorten its automated messages or its description"
    )]
    SettingsTooLarge {
        /// The number.
        number: PhoneNumber,
        /// What its settings would take, as JSON.
        bytes: usize,
    },
    /// Not TeleSign's customer id shape.
    #[error("customer_id is TeleSign's customer id (letters, digits and dashes)")]
    InvalidCustomerId,
    /// A key that does not decode.
    #[error("api_key: {0}")]
    InvalidApiKey(KeyError),
    /// Not a host this channel knows.
    #[error("api_host is \"standard\", \"enterprise\" or \"legacy\"")]
    InvalidApiHost,
    /// A number's automation settings.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// A grace period over seven days.
    #[error("grace_period_seconds is at most 604800 (7 days)")]
    InvalidGracePeriod,
    /// A retention that is not a whole number of days from 1 to 3650, nor null.
    #[error("retention_days is a whole number of days from 1 to 3650, or null to keep closed conversations")]
    InvalidRetention,
}

/// The longest retention an account may set: ten years.
pub const MAX_RETENTION_DAYS: u32 = 3650;

/// Checks an account's retention: `None` keeps closed conversations, else 1 to
/// [`MAX_RETENTION_DAYS`] days.
pub fn parse_retention_days(days: Option<u32>) -> Result<Option<u32>, AccountError> {
    match days {
        Some(d) if d == 0 || d > MAX_RETENTION_DAYS => Err(AccountError::InvalidRetention),
        kept => Ok(kept),
    }
}

/// How long a deleted account's conversations stay when it kept none of its own retention and
/// the operator did not choose to keep them: 30 days. A deletion ends the purpose the
/// conversations were kept for (the GDPR's storage limitation, Art. 5(1)(e)), yet a customer's
/// request made around it must still be answered, and the GDPR gives a controller one month to
/// answer one (Art. 12(3)): a request that arrives the day of the deletion still finds its data.
pub const DELETED_ACCOUNT_RETENTION_DAYS: u32 = 30;

/// The most support numbers an account has.
pub const MAX_NUMBERS: usize = 50;

/// The most bytes one number's settings take stored (as JSON: its description, language, hours,
/// timeouts and automated messages). The account's record keeps every number's settings and
/// DynamoDB's items hold at most 400 KB: 50 numbers of 7 KB each, and the record's own fields,
/// stay under it; the number's claim, which every callback reads, stays within two read units.
/// Three automated messages of the full 1,600 characters fit, six do not.
pub const MAX_SETTINGS_BYTES: usize = 7 * 1024;

// The record: every number at the cap (with its key in the record's map), and the record's own
// fields (name, ids, key stamp, dates: well under 4 KB), within DynamoDB's 400 KB item.
const _: () = assert!(MAX_NUMBERS * (MAX_SETTINGS_BYTES + 32) + 4096 < 400 * 1024);

impl SupportNumber {
    /// The number as it is kept, refused when its settings take more than [`MAX_SETTINGS_BYTES`].
    fn within_size(self) -> Result<Self, AccountError> {
        let bytes = serde_json::to_vec(&self).map_or(usize::MAX, |json| json.len());
        if bytes > MAX_SETTINGS_BYTES {
            return Err(AccountError::SettingsTooLarge {
                number: self.number,
                bytes,
            });
        }
        Ok(self)
    }
}

/// Checks an account's name: trimmed, 1 to 100 characters.
pub fn parse_name(name: &str) -> Result<String, AccountError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AccountError::InvalidName);
    }
    Ok(name.to_owned())
}

/// Checks credentials as an operator typed them: a customer id, a key that is base64, a known host
/// (`standard` when none is given).
pub fn parse_credentials(
    customer_id: &str,
    api_key: &str,
    api_host: Option<&str>,
) -> Result<(Credentials, ApiHost), AccountError> {
    let host = match api_host {
        None => ApiHost::Standard,
        Some(h) => ApiHost::parse(h).ok_or(AccountError::InvalidApiHost)?,
    };
    let id = customer_id.trim();
    if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(AccountError::InvalidCustomerId);
    }
    let creds = Credentials::new(id, api_key).map_err(AccountError::InvalidApiKey)?;
    Ok((creds, host))
}

/// Checks a list of support numbers: each valid, none twice, at most [`MAX_NUMBERS`].
pub fn validated_numbers(numbers: Vec<NewSupportNumber>) -> Result<Vec<SupportNumber>, AccountError> {
    let mut out: Vec<SupportNumber> = Vec::new();
    for n in numbers {
        let n = n.validated()?;
        if out.iter().any(|m| m.number == n.number) {
            return Err(AccountError::DuplicateNumber(n.number));
        }
        out.push(n);
    }
    if out.len() > MAX_NUMBERS {
        return Err(AccountError::TooManyNumbers);
    }
    Ok(out)
}

/// The kind of a support number bought from TeleSign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberType {
    /// A regular number (10DLC in the US).
    LongCode,
    /// A 3 to 8 digit short code.
    ShortCode,
    /// A toll-free number.
    TollFree,
}

/// A support number and the settings this channel honours for it, with its number as `N`: a
/// [`PhoneNumber`] once validated ([`SupportNumber`]), the text an operator typed before
/// ([`NewSupportNumber`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupportNumberOf<N> {
    /// The number.
    pub number: N,
    /// Long code, short code or toll free.
    #[serde(rename = "type")]
    pub kind: NumberType,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// The default language of conversations on it (BCP 47, e.g. `en-US`).
    #[serde(default = "default_language")]
    pub language: String,
    /// Whether customers may send attachments (SMS carries none: always false).
    #[serde(default)]
    pub customers_can_send_attachments: bool,
    /// Whether agents may send attachments (SMS carries none: always false).
    #[serde(default)]
    pub agents_can_send_attachments: bool,
    /// Time zone, business hours, idle timeouts and automated messages.
    #[serde(flatten)]
    pub settings: Settings,
}

/// A support number as the channel keeps it: digits only.
pub type SupportNumber = SupportNumberOf<PhoneNumber>;

/// A support number as an operator typed it.
pub type NewSupportNumber = SupportNumberOf<String>;

fn default_language() -> String {
    "en-US".into()
}

impl SupportNumberOf<String> {
    /// Normalises and checks a number as an operator typed it.
    pub fn validated(self) -> Result<SupportNumber, AccountError> {
        let number = match self.kind {
            NumberType::ShortCode => PhoneNumber::parse_short_code(&self.number),
            NumberType::LongCode | NumberType::TollFree => PhoneNumber::parse_typed(&self.number, None),
        }
        .map_err(|reason| AccountError::InvalidNumber {
            number: self.number.clone(),
            reason,
        })?;
        if self.customers_can_send_attachments || self.agents_can_send_attachments {
            return Err(AccountError::AttachmentsNotSupported(number));
        }
        if self.description.chars().count() > 200 {
            return Err(AccountError::DescriptionTooLong);
        }
        check_language(&self.language)?;
        SupportNumber {
            number,
            kind: self.kind,
            description: self.description,
            language: self.language,
            customers_can_send_attachments: false,
            agents_can_send_attachments: false,
            settings: self.settings.validated()?,
        }
        .within_size()
    }
}

/// The primary language subtags of ISO 639-1: a number's language must be one of them.
const LANGUAGES: &str = "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy \
da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io \
is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na \
nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss \
st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu";

/// Checks a language tag (BCP 47): a known ISO 639-1 language, then subtags of letters and
/// digits (`en-US`, `pl-PL`, `zh-Hant-TW`).
pub fn check_language(tag: &str) -> Result<(), AccountError> {
    let mut parts = tag.split('-');
    let primary = parts.next().unwrap_or_default().to_ascii_lowercase();
    let known = primary.len() == 2 && LANGUAGES.split_ascii_whitespace().any(|l| l == primary);
    let rest_ok = parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
    if !known || !rest_ok || tag.len() > 35 {
        return Err(AccountError::InvalidLanguage(tag.to_owned()));
    }
    Ok(())
}

/// A `PATCH` of a support number: its description, language and automation settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumberChange {
    /// The new description.
    #[serde(default)]
    pub description: Option<String>,
    /// The new language.
    #[serde(default)]
    pub language: Option<String>,
    /// The zone (`null`: UTC).
    #[serde(default, deserialize_with = "crate::automation::present")]
    pub timezone: Option<Option<String>>,
    /// The hours (`null`: always open).
    #[serde(default, deserialize_with = "crate::automation::present")]
    pub business_hours: Option<Option<crate::automation::BusinessHours>>,
    /// Timeouts, each present one replaced.
    #[serde(default)]
    pub auto_close: Option<crate::automation::AutoCloseChange>,
    /// Messages, each present one replaced (`null`: off).
    #[serde(default)]
    pub messages: Option<std::collections::BTreeMap<crate::automation::Kind, Option<String>>>,
}

impl NumberChange {
    /// The change of the automation settings it holds.
    pub fn settings(&self) -> SettingsChange {
        SettingsChange {
            timezone: self.timezone.clone(),
            business_hours: self.business_hours.clone(),
            auto_close: self.auto_close,
            messages: self.messages.clone(),
        }
    }
}

impl SupportNumber {
    /// The number as the API answers it: every setting spelled out (the zone, `null` hours for
    /// always open, each timeout, each message's text in effect or `null` when off).
    pub fn view(&self, account_name: &str) -> serde_json::Value {
        let s = &self.settings;
        let messages: serde_json::Map<String, serde_json::Value> = s
            .messages
            .each()
            .iter()
            .map(|(kind, _)| {
                (
                    kind.as_str().to_owned(),
                    s.text(*kind, &self.language, account_name).into(),
                )
            })
            .collect();
        serde_json::json!({
            "number": self.number, "type": self.kind, "description": self.description, "language": self.language,
            "customers_can_send_attachments": false, "agents_can_send_attachments": false,
            "timezone": s.timezone.as_deref().unwrap_or("UTC"), "business_hours": s.business_hours,
            "auto_close": s.auto_close, "messages": messages,
        })
    }

    /// The number after a change, checked as a new one would be.
    pub fn patched(&self, change: &NumberChange) -> Result<SupportNumber, AccountError> {
        let description = change.description.clone().unwrap_or_else(|| self.description.clone());
        if description.chars().count() > 200 {
            return Err(AccountError::DescriptionTooLong);
        }
        let language = change.language.clone().unwrap_or_else(|| self.language.clone());
        check_language(&language)?;
        SupportNumber {
            description,
            language,
            settings: self.settings.clone().patched(&change.settings()).validated()?,
            ..self.clone()
        }
        .within_size()
    }
}

/// A messaging account as stored (never with its API key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    /// The channel's id of the account.
    pub account_id: AccountId,
    /// The operator's name for it.
    pub name: String,
    /// TeleSign's customer id.
    pub customer_id: String,
    /// Which TeleSign host serves it.
    pub api_host: ApiHost,
    /// The Secrets Manager secret holding the key.
    pub secret_name: String,
    /// Its support numbers.
    pub numbers: Vec<SupportNumber>,
    /// When it was created.
    pub created_at: Timestamp,
    /// How many days a closed conversation and its messages are kept after it ended (`None`:
    /// kept until erased).
    #[serde(default)]
    pub retention_days: Option<u32>,
}

impl Account {
    /// The support number, if the account owns it.
    pub fn number(&self, number: &PhoneNumber) -> Option<&SupportNumber> {
        self.numbers.iter().find(|n| &n.number == number)
    }

    /// The URL TeleSign posts this account's callbacks to.
    pub fn callback_url(&self, public_base_url: &str) -> String {
        callback_url(public_base_url, self.account_id.as_str())
    }
}

/// The callback URL of an account under the stack's public base URL.
pub fn callback_url(public_base_url: &str, account_id: &str) -> String {
    format!(
        "{}/telesign/{}/callback",
        public_base_url.trim_end_matches('/'),
        account_id
    )
}

/// What an account's secret holds: its TeleSign credentials, and during a key rotation the
/// previous key with the time it stops verifying callbacks.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct AccountSecret {
    /// TeleSign's customer id.
    pub customer_id: String,
    /// The current API key.
    pub api_key: String,
    /// The key before the last rotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_api_key: Option<String>,
    /// Epoch seconds until which the previous key still verifies callbacks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_valid_until: Option<i64>,
    /// A key TeleSign may sign callbacks with before it becomes current: it verifies callbacks,
    /// never signs a send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_api_key: Option<String>,
    /// The stamp of the last change of the keys (epoch milliseconds); the account record carries
    /// it too, so a warm function that reads the record knows when its cached keys are stale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_version: Option<i64>,
}

impl fmt::Debug for AccountSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountSecret")
            .field("customer_id", &self.customer_id)
            .field("api_key", &"<redacted>")
            .field(
                "previous_api_key",
                &self.previous_api_key.as_ref().map(|_| "<redacted>"),
            )
            .field("previous_valid_until", &self.previous_valid_until)
            .field("next_api_key", &self.next_api_key.as_ref().map(|_| "<redacted>"))
            .field("key_version", &self.key_version)
            .finish()
    }
}

/// An account's keys, decoded and ready to sign and verify.
#[derive(Clone, Debug)]
pub struct AccountKeys {
    /// The current credentials.
    pub current: Credentials,
    /// The previous key, while its grace period lasts.
    pub previous: Option<ApiKey>,
    /// The next key, staged before it becomes current (verifies callbacks only).
    pub next: Option<ApiKey>,
    /// The secret's stamp.
    pub version: Option<i64>,
}

impl AccountSecret {
    /// Decodes the keys; the previous key is dropped once its grace period is over at `now`.
    pub fn keys(&self, now_epoch: i64) -> Result<AccountKeys, KeyError> {
        let current = Credentials::new(&self.customer_id, &self.api_key)?;
        let previous = match (&self.previous_api_key, self.previous_valid_until) {
            (Some(key), Some(until)) if until > now_epoch => ApiKey::parse(key).ok(),
            _ => None,
        };
        let next = self.next_api_key.as_deref().and_then(|k| ApiKey::parse(k).ok());
        Ok(AccountKeys {
            current,
            previous,
            next,
            version: self.key_version,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(n: &str, kind: NumberType) -> NewSupportNumber {
        NewSupportNumber {
            number: n.into(),
            kind,
            description: String::new(),
            language: "en-US".into(),
            customers_can_send_attachments: false,
            agents_can_send_attachments: false,
            settings: Default::default(),
        }
    }

    #[test]
    fn a_numbers_settings_are_capped_so_that_every_record_fits_an_item() {
        let valid = number("+1 425-230-6549", NumberType::LongCode).validated().unwrap();
        let messages = |count: usize, text: &str| {
            let kinds = ["greeting", "away", "closing", "help", "stop", "start"];
            let all: serde_json::Map<String, serde_json::Value> = kinds[..count]
                .iter()
                .map(|k| (k.to_string(), serde_json::json!(text)))
                .collect();
            serde_json::from_value::<NumberChange>(serde_json::json!({ "messages": all })).unwrap()
        };
        let full = "x".repeat(1600);
        assert!(
            valid.patched(&messages(3, &full)).is_ok(),
            "three messages of 1,600 characters fit"
        );
        let refused = valid.patched(&messages(6, &full)).unwrap_err();
        assert!(
            matches!(refused, AccountError::SettingsTooLarge { bytes, .. } if bytes > MAX_SETTINGS_BYTES),
            "{refused:?}"
        );
        assert!(refused.to_string().contains("at most 7168"), "{refused}");
        // Polish takes two bytes a letter: the bytes count, not the characters.
        let polish = "żółć".repeat(400);
        assert!(valid.patched(&messages(3, &polish)).is_err());
        // And what a new number is given is held to it too.
        let mut new = number("+1 425-230-6549", NumberType::LongCode);
        new.description = "d".repeat(200);
        new.settings = valid.patched(&messages(3, &full)).unwrap().settings;
        assert!(new.clone().validated().is_ok());
        new.settings = Default::default();
    }

    #[test]
    fn numbers_are_normalised_by_type() {
        let long = number("+1 425-230-6549", NumberType::LongCode).validated().unwrap();
        assert_eq!(long.number.as_str(), "14252306549");
        let short = number("22395", NumberType::ShortCode).validated().unwrap();
        assert_eq!(short.number.as_str(), "22395");
        assert!(number("22395", NumberType::TollFree).validated().is_err());
        assert!(number("1425CALL", NumberType::LongCode).validated().is_err());
    }

    #[test]
    fn attachments_are_refused_until_mms_exists() {
        let mut n = number("14252306549", NumberType::LongCode);
        n.agents_can_send_attachments = true;
        assert!(matches!(n.validated(), Err(AccountError::AttachmentsNotSupported(_))));
    }

    #[test]
    fn a_number_listed_twice_or_too_many_numbers_are_refused() {
        let twice = vec![
            number("14252306549", NumberType::LongCode),
            number("+14252306549", NumberType::LongCode),
        ];
        assert!(matches!(
            validated_numbers(twice),
            Err(AccountError::DuplicateNumber(_))
        ));
        let many = (0..51)
            .map(|i| number(&format!("1425230{i:04}"), NumberType::LongCode))
            .collect();
        assert_eq!(validated_numbers(many), Err(AccountError::TooManyNumbers));
    }

    #[test]
    fn names_descriptions_languages_and_lists_stop_at_their_limits() {
        assert_eq!(parse_name(&"n".repeat(100)).map(|n| n.len()), Ok(100));
        assert_eq!(parse_name(&"n".repeat(101)), Err(AccountError::InvalidName));
        let mut n = number("14252306549", NumberType::LongCode);
        n.description = "d".repeat(200);
        assert!(n.clone().validated().is_ok());
        n.description.push('d');
        assert_eq!(n.validated(), Err(AccountError::DescriptionTooLong));
        for (language, ok) in [
            ("pl-PL", true),
            ("", false),
            ("en_US", false),
            ("zh-Hant-TW", true),
            ("xx-YY", false),
            (&format!("en-{}", "a".repeat(33)), false),
        ] {
            let mut n = number("14252306549", NumberType::LongCode);
            n.language = language.to_owned();
            assert_eq!(n.validated().is_ok(), ok, "{language:?}");
        }
        let fifty = (0..50)
            .map(|i| number(&format!("1425230{i:04}"), NumberType::LongCode))
            .collect();
        assert_eq!(validated_numbers(fifty).map(|v| v.len()), Ok(50));
    }

    #[test]
    fn a_number_without_a_language_speaks_us_english() {
        let n: NewSupportNumber = serde_json::from_str(r#"{"number": "14252306549", "type": "long_code"}"#).unwrap();
        assert_eq!(n.language, "en-US");
    }

    #[test]
    fn the_callback_url_is_under_the_public_base() {
        let a = Account {
            account_id: AccountId::parse("0123456789abcdef0123456789abcdef").unwrap(),
            name: "x".into(),
            customer_id: "C".into(),
            api_host: ApiHost::Standard,
            secret_name: "s".into(),
            numbers: vec![],
            created_at: Timestamp::now(),
            retention_days: None,
        };
        let url = "https://api.example/telesign/0123456789abcdef0123456789abcdef/callback";
        assert_eq!(a.callback_url("https://api.example/"), url);
    }

    #[test]
    fn credentials_are_checked_field_by_field() {
        let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        assert!(parse_credentials("C-1", key, None).is_ok());
        assert_eq!(
            parse_credentials("C-1", key, Some("other")).unwrap_err(),
            AccountError::InvalidApiHost
        );
        assert_eq!(
            parse_credentials("a b", key, None).unwrap_err(),
            AccountError::InvalidCustomerId
        );
        let refused = |id: &str| parse_credentials(id, key, None).unwrap_err();
        assert_eq!(refused(""), AccountError::InvalidCustomerId);
        assert_eq!(refused(&"C".repeat(65)), AccountError::InvalidCustomerId);
        assert!(parse_credentials(&"C".repeat(64), key, None).is_ok());
        assert!(matches!(
            parse_credentials("C-1", "!!", None),
            Err(AccountError::InvalidApiKey(_))
        ));
        assert_eq!(parse_name("  "), Err(AccountError::InvalidName));
    }

    #[test]
    fn retention_is_one_day_to_ten_years_or_none() {
        assert_eq!(parse_retention_days(None), Ok(None));
        assert_eq!(parse_retention_days(Some(1)), Ok(Some(1)));
        assert_eq!(parse_retention_days(Some(3650)), Ok(Some(3650)));
        assert_eq!(parse_retention_days(Some(0)), Err(AccountError::InvalidRetention));
        assert_eq!(parse_retention_days(Some(3651)), Err(AccountError::InvalidRetention));
    }
}
