//! Authentication of requests to TeleSign: the "TSA" HMAC-SHA256 scheme (default) and Basic.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::key::Credentials;

type HmacSha256 = Hmac<Sha256>;

/// The form content type TeleSign's messaging API takes.
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// What one request to TeleSign is signed over.
#[derive(Debug, Clone, Copy)]
pub struct RequestToSign<'a> {
    /// `GET`, `POST`, ...
    pub method: &'a str,
    /// The path without the query string, e.g. `/v1/messaging`.
    pub resource: &'a str,
    /// The content type sent; empty for a request without a body.
    pub content_type: &'a str,
    /// The exact body bytes sent; empty for none.
    pub body: &'a str,
    /// RFC 1123 date in GMT, sent as the `Date` header.
    pub date: &'a str,
    /// A fresh nonce, sent as `x-ts-nonce`.
    pub nonce: &'a str,
}

/// The string TeleSign's HMAC covers, line for line as the official SDKs build it.
pub fn string_to_sign(req: &RequestToSign<'_>) -> String {
    let mut s = String::with_capacity(160 + req.body.len());
    s.push_str(req.method);
    s.push('\n');
    s.push_str(req.content_type);
    s.push('\n');
    s.push_str(req.date);
    s.push_str("\nx-ts-auth-method:HMAC-SHA256\nx-ts-nonce:");
    s.push_str(req.nonce);
    if !req.body.is_empty() {
        s.push('\n');
        s.push_str(req.body);
    }
    s.push('\n');
    s.push_str(req.resource);
    s
}

/// The base64 HMAC-SHA256 of `message` under the decoded API key.
pub fn hmac_base64(key: &[u8], message: &[u8]) -> String {
    // HMAC takes keys of any length: new_from_slice cannot fail for it.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    };
    mac.update(message);
    STANDARD.encode(mac.finalize().into_bytes())
}

/// The `Authorization` header of a TSA (HMAC-SHA256) request.
pub fn tsa_authorization(creds: &Credentials, req: &RequestToSign<'_>) -> String {
    let signature = hmac_base64(creds.api_key.hmac_key(), string_to_sign(req).as_bytes());
    format!("TSA {}:{}", creds.customer_id, signature)
}

/// The `Authorization` header of a Basic request: the key is used as its literal string.
pub fn basic_authorization(creds: &Credentials) -> String {
    let pair = format!("{}:{}", creds.customer_id, creds.api_key.expose_literal());
    format!("Basic {}", STANDARD.encode(pair))
}

/// The current time as TeleSign wants it in the `Date` header (RFC 1123, GMT).
pub fn http_date_now() -> String {
    httpdate::fmt_http_date(std::time::SystemTime::now())
}

/// A fresh nonce for `x-ts-nonce`.
pub fn new_nonce() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Encodes form fields as Python's `urlencode` does (`quote_plus`): the body is built once,
/// signed and sent as these same bytes.
pub fn encode_form(fields: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (name, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        quote_plus_into(&mut out, name);
        out.push('=');
        quote_plus_into(&mut out, value);
    }
    out
}

fn quote_plus_into(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in text.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 0x0f) as usize] as char);
            }
        }
    }
}

/// Decodes an `application/x-www-form-urlencoded` body into its fields, in order.
/// Invalid percent escapes are kept literally; bytes that are not UTF-8 are replaced.
pub fn decode_form(body: &str) -> Vec<(String, String)> {
    body.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (unquote_plus(name), unquote_plus(value))
        })
        .collect()
}

fn unquote_plus(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_request_gets_the_current_date_and_a_new_nonce() {
        let date = httpdate::parse_http_date(&http_date_now()).expect("an HTTP date");
        let age = std::time::SystemTime::now().duration_since(date).unwrap_or_default();
        assert!(age.as_secs() <= 1, "{age:?}");
        let (a, b) = (new_nonce(), new_nonce());
        assert!(a != b && uuid::Uuid::parse_str(&a).is_ok(), "{a} {b}");
    }

    use super::*;

    #[test]
    fn form_encoding_matches_python_urlencode() {
        let body = encode_form(&[("phone_number", "15555550100"), ("message", "Héllo & bye + 100% ~ok")]);
        assert_eq!(
            body,
            "phone_number=15555550100&message=H%C3%A9llo+%26+bye+%2B+100%25+~ok"
        );
    }

    #[test]
    fn form_decoding_reverses_encoding() {
        let fields = [("message", "a+b & c=d %zz ünï 😀"), ("x", "")];
        let decoded = decode_form(&encode_form(&fields));
        assert_eq!(decoded[0], ("message".into(), "a+b & c=d %zz ünï 😀".into()));
        assert_eq!(decoded[1], ("x".into(), "".into()));
        assert_eq!(decode_form("a=%zz%4"), vec![("a".into(), "%zz%4".into())]);
    }
}
