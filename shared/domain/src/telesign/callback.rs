//! Callbacks from TeleSign: signature verification over the raw body, and the lenient types of
//! inbound SMS and delivery reports.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::de::{self, Deserializer};
use serde::Deserialize;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use super::key::ApiKey;

/// The longest reference id taken (TeleSign's are 32 hex digits; it becomes part of a key, and
/// DynamoDB's keys have a size limit: a longer one is the caller's mistake, not an outage).
pub const MAX_REFERENCE_ID: usize = 128;

/// Why a callback's signature was refused. The text is safe to log; it never holds a key. Its
/// kind (`missing`, `malformed`, `wrong_customer`, `mismatch`) is the `Reason` of the metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum SignatureError {
    /// No `Authorization` (nor `X-TS-Authorization`) header.
    #[error("no Authorization header")]
    Missing,
    /// The header is not `TSA <customer_id>:<base64 signature>`.
    #[error("the Authorization header is not of the form TSA <customer_id>:<signature>")]
    Malformed,
    /// The header names another customer id than the account's.
    #[error("the Authorization header names another customer id")]
    WrongCustomer,
    /// No key of the account produces this signature over this body.
    #[error("the signature does not match the body")]
    Mismatch,
}

/// Which of the account's keys verified a callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifiedWith {
    /// The current key.
    Current,
    /// The previous key, still inside its rotation grace period.
    Previous,
}

/// Verifies a callback's `Authorization` value (`TSA <customer_id>:<signature>`) over the raw body:
/// customer id checked, signature compared in constant time with each key given, the current key
/// first.
pub fn verify_callback(
    authorization: Option<&str>,
    body: &[u8],
    customer_id: &str,
    current: &ApiKey,
    previous: Option<&ApiKey>,
) -> Result<VerifiedWith, SignatureError> {
    let header = authorization.ok_or(SignatureError::Missing)?.trim();
    let rest = header.strip_prefix("TSA ").ok_or(SignatureError::Malformed)?;
    let (id, signature) = rest.rsplit_once(':').ok_or(SignatureError::Malformed)?;
    let signature = STANDARD
        .decode(signature.trim())
        .map_err(|_| SignatureError::Malformed)?;
    if !bool::from(id.trim().as_bytes().ct_eq(customer_id.as_bytes())) {
        return Err(SignatureError::WrongCustomer);
    }
    if signature_matches(current, body, &signature) {
        return Ok(VerifiedWith::Current);
    }
    if let Some(previous) = previous {
        if signature_matches(previous, body, &signature) {
            return Ok(VerifiedWith::Previous);
        }
    }
    Err(SignatureError::Mismatch)
}

fn signature_matches(key: &ApiKey, body: &[u8], signature: &[u8]) -> bool {
    match Hmac::<Sha256>::new_from_slice(key.hmac_key()) {
        Ok(mut mac) => {
            mac.update(body);
            mac.verify_slice(signature).is_ok()
        }
        Err(_) => false,
    }
}

/// The `Authorization` value TeleSign sends with a callback: what the simulator signs with.
pub fn callback_authorization(customer_id: &str, key: &ApiKey, body: &[u8]) -> String {
    format!("TSA {}:{}", customer_id, super::sign::hmac_base64(key.hmac_key(), body))
}

/// A callback body, told apart by its content.
#[derive(Debug, Clone, PartialEq)]
pub enum Callback {
    /// A customer's message to a support number.
    Inbound(InboundSms),
    /// A status report on a message the channel sent.
    Delivery(DeliveryReport),
}

/// Why a signed body could not be read as a callback.
#[derive(Debug, thiserror::Error)]
pub enum CallbackParseError {
    /// The body is not UTF-8 text.
    #[error("the body is not UTF-8")]
    NotUtf8,
    /// The body is not JSON of a known callback shape.
    #[error("the body is not a TeleSign callback: {0}")]
    Shape(String),
}

/// A `status` object of a callback.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CallbackStatus {
    /// TeleSign's status code (1500 for an inbound SMS).
    #[serde(deserialize_with = "de_u32")]
    pub code: u32,
    /// TeleSign's words for it.
    #[serde(default)]
    pub description: Option<String>,
    /// When the status was reached.
    #[serde(default, deserialize_with = "de_opt_time")]
    pub updated_on: Option<OffsetDateTime>,
}

/// An inbound SMS: a customer texted a support number.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundSms {
    /// TeleSign's id of the message: the key that makes a retried callback a duplicate.
    pub reference_id: String,
    /// The customer's number, as TeleSign wrote it.
    pub customer_number: String,
    /// The support number the customer texted (`user_response.sender_id`).
    pub support_number: String,
    /// The text.
    pub text: String,
    /// TeleSign's keyword handling, when on: `stop`, `start`, `help`, `generic`.
    pub action: Option<String>,
    /// The keyword TeleSign matched.
    pub keyword: Option<String>,
    /// When TeleSign received it.
    pub submitted_at: Option<OffsetDateTime>,
}

/// A delivery report on an outbound message.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryReport {
    /// TeleSign's reference id of the send.
    pub reference_id: String,
    /// Our message id, echoed back.
    pub external_id: Option<String>,
    /// The status reached.
    pub status: CallbackStatus,
    /// Number of parts the carrier used, when given.
    pub message_parts_count: Option<u32>,
}

#[derive(Deserialize)]
struct RawCallback {
    reference_id: String,
    #[serde(default)]
    sub_resource: Option<String>,
    #[serde(default)]
    external_id: Option<String>,
    #[serde(default)]
    status: Option<CallbackStatus>,
    #[serde(default, deserialize_with = "de_opt_time")]
    submit_timestamp: Option<OffsetDateTime>,
    #[serde(default)]
    user_response: Option<RawUserResponse>,
    #[serde(default)]
    additional_info: Option<RawAdditionalInfo>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    keyword: Option<String>,
}

#[derive(Deserialize)]
struct RawUserResponse {
    phone_number: StringOrNumber,
    sender_id: StringOrNumber,
    #[serde(default)]
    mo_message: Option<String>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    keyword: Option<String>,
}

#[derive(Deserialize)]
struct RawAdditionalInfo {
    #[serde(default, deserialize_with = "de_opt_u32")]
    message_parts_count: Option<u32>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum StringOrNumber {
    Text(String),
    Number(serde_json::Number),
}

impl StringOrNumber {
    fn into_string(self) -> String {
        match self {
            Self::Text(s) => s,
            Self::Number(n) => n.to_string(),
        }
    }
}

impl Callback {
    /// Reads a callback body. Inbound SMS are told by `sub_resource: mo_sms` or a `user_response`;
    /// anything else with a `status` is a delivery report.
    pub fn parse(body: &[u8]) -> Result<Self, CallbackParseError> {
        let text = std::str::from_utf8(body).map_err(|_| CallbackParseError::NotUtf8)?;
        if !text.trim_start().starts_with('{') {
            // serde would read a struct from an array, field by position: objects only.
            return Err(CallbackParseError::Shape("the body is not a JSON object".into()));
        }
        let raw: RawCallback = serde_json::from_str(text).map_err(|e| CallbackParseError::Shape(e.to_string()))?;
        if raw.reference_id.trim().is_empty() {
            return Err(CallbackParseError::Shape("reference_id is empty".into()));
        }
        if raw.reference_id.len() > MAX_REFERENCE_ID || raw.reference_id.chars().any(char::is_control) {
            return Err(CallbackParseError::Shape(format!(
                "reference_id is not a reference (at most {MAX_REFERENCE_ID} characters, none a control character)"
            )));
        }
        let is_inbound = raw.sub_resource.as_deref() == Some("mo_sms") || raw.user_response.is_some();
        if is_inbound {
            let user = raw
                .user_response
                .ok_or_else(|| CallbackParseError::Shape("an inbound SMS without user_response".into()))?;
            return Ok(Callback::Inbound(InboundSms {
                reference_id: raw.reference_id,
                customer_number: user.phone_number.into_string(),
                support_number: user.sender_id.into_string(),
                text: user.mo_message.unwrap_or_default(),
                action: raw.action.or(user.action).map(|a| a.to_ascii_lowercase()),
                keyword: raw.keyword.or(user.keyword),
                submitted_at: raw.submit_timestamp,
            }));
        }
        let status = raw
            .status
            .ok_or_else(|| CallbackParseError::Shape("a delivery report without status".into()))?;
        Ok(Callback::Delivery(DeliveryReport {
            reference_id: raw.reference_id,
            external_id: raw.external_id.filter(|s| !s.is_empty()),
            status,
            message_parts_count: raw.additional_info.and_then(|i| i.message_parts_count),
        }))
    }
}

fn de_u32<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    de_opt_u32(d)?.ok_or_else(|| de::Error::custom("a number is required"))
}

fn de_opt_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(d)?;
    match value {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Number(n)) => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| de::Error::custom("not a whole number")),
        Some(serde_json::Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(serde_json::Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| de::Error::custom("not a whole number")),
        Some(_) => Err(de::Error::custom("not a number")),
    }
}

fn de_opt_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<OffsetDateTime>, D::Error> {
    let value = Option::<String>::deserialize(d)?;
    // An unreadable time is dropped rather than refusing the callback: the message matters more.
    Ok(value.and_then(|s| parse_time(&s)))
}

/// Parses a time as TeleSign writes it: RFC 3339 or RFC 1123.
pub fn parse_time(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    if let Ok(t) = OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339) {
        return Some(t);
    }
    if let Ok(t) = OffsetDateTime::parse(text, &time::format_description::well_known::Rfc2822) {
        return Some(t);
    }
    httpdate::parse_http_date(text).ok().map(OffsetDateTime::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ApiKey {
        ApiKey::parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap()
    }

    #[test]
    fn inbound_sms_is_read_with_numbers_as_numbers() {
        let body = br#"{"reference_id":"R1","sub_resource":"mo_sms","status":{"code":"1500","description":"MO"},
            "submit_timestamp":"Wed, 14 Dec 2016 18:20:12 GMT","errors":{},
            "user_response":{"phone_number":15555550100,"sender_id":"14252306549","mo_message":"Hi"}}"#;
        let Callback::Inbound(sms) = Callback::parse(body).unwrap() else {
            panic!("not inbound")
        };
        assert_eq!(sms.customer_number, "15555550100");
        assert_eq!(sms.support_number, "14252306549");
        assert_eq!(sms.text, "Hi");
        assert!(sms.submitted_at.is_some());
    }

    #[test]
    fn delivery_report_is_read_without_sub_resource() {
        let body = br#"{"reference_id":"B56","status":{"code":200,"description":"Delivered to handset",
            "updated_on":"2016-10-21T14:05:36.181346Z"},"errors":[],"external_id":"m-1",
            "additional_info":{"message_parts_count":"2"}}"#;
        let Callback::Delivery(report) = Callback::parse(body).unwrap() else {
            panic!("not a report")
        };
        assert_eq!(report.status.code, 200);
        assert_eq!(report.external_id.as_deref(), Some("m-1"));
        assert_eq!(report.message_parts_count, Some(2));
        assert!(report.status.updated_on.is_some());
    }

    #[test]
    fn a_user_response_is_an_inbound_sms_even_without_sub_resource() {
        let body = br#"{"reference_id":"R2","status":{"code":1500},
            "user_response":{"phone_number":"15555550100","sender_id":"14252306549","mo_message":"Hi"}}"#;
        assert!(matches!(Callback::parse(body), Ok(Callback::Inbound(_))));
        let no_response = br#"{"reference_id":"R3","sub_resource":"mo_sms","status":{"code":1500}}"#;
        assert!(Callback::parse(no_response).is_err());
    }

    #[test]
    fn an_empty_parts_count_is_no_count() {
        let body = br#"{"reference_id":"B57","status":{"code":200},"additional_info":{"message_parts_count":" "}}"#;
        let Callback::Delivery(report) = Callback::parse(body).unwrap() else {
            panic!("not a report")
        };
        assert_eq!(report.message_parts_count, None);
    }

    #[test]
    fn unreadable_bodies_are_refused_not_panicked_on() {
        assert!(matches!(Callback::parse(b"\xff\xfe"), Err(CallbackParseError::NotUtf8)));
        assert!(Callback::parse(b"{").is_err());
        assert!(Callback::parse(br#"["x", null, null, {"code": 200}]"#).is_err());
        assert!(Callback::parse(br#"{"reference_id":"x"}"#).is_err());
        let long = format!(r#"{{"reference_id":"{}","status":{{"code":200}}}}"#, "A".repeat(10_000));
        assert!(matches!(
            Callback::parse(long.as_bytes()),
            Err(CallbackParseError::Shape(_))
        ));
        assert!(Callback::parse(br#"{"reference_id":"x","status":{"code":-1}}"#).is_err());
    }

    #[test]
    fn signature_is_checked_with_current_then_previous_key() {
        let old =
            ApiKey::parse("EXAMPLE----TE8sTgg45yusumoN6BYsBVkh+yRJ5czgsnCehZaOYldPJdmFh6NeX8kunZ2zU1YWaUw/0wV6xfw==")
                .unwrap();
        let body = br#"{"reference_id":"x"}"#;
        let signed_old = callback_authorization("C1", &old, body);
        assert_eq!(
            verify_callback(Some(&signed_old), body, "C1", &key(), Some(&old)),
            Ok(VerifiedWith::Previous)
        );
        assert_eq!(
            verify_callback(Some(&signed_old), body, "C1", &key(), None),
            Err(SignatureError::Mismatch)
        );
        let signed = callback_authorization("C1", &key(), body);
        assert_eq!(
            verify_callback(Some(&signed), body, "C1", &key(), Some(&old)),
            Ok(VerifiedWith::Current)
        );
        assert_eq!(
            verify_callback(Some(&signed), body, "C2", &key(), None),
            Err(SignatureError::WrongCustomer)
        );
        assert_eq!(
            verify_callback(None, body, "C1", &key(), None),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_callback(Some("Basic abc"), body, "C1", &key(), None),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_callback(Some("TSA C1:!!"), body, "C1", &key(), None),
            Err(SignatureError::Malformed)
        );
    }
}
