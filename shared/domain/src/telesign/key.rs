//! TeleSign credentials: the customer id and the API key, with the key's lenient base64 decoding.

use std::fmt;

use base64::alphabet::STANDARD;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;

/// Decodes as Python's `b64decode` does: padding optional, non-zero trailing bits allowed.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why an API key cannot be used to sign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Nothing of the key is base64 data.
    #[error("the API key is empty")]
    Empty,
    /// The base64 data does not decode (for example one character too many).
    #[error("the API key is not base64: TeleSign API keys are base64 strings")]
    NotBase64,
}

/// A TeleSign API key as TeleSign hands it out: a base64 string.
///
/// The literal string is kept (Basic authentication sends it as is) along with the decoded bytes
/// (the HMAC key). `Debug` never shows either.
#[derive(Clone)]
pub struct ApiKey {
    literal: String,
    decoded: Vec<u8>,
}

impl ApiKey {
    /// Decodes a key the way TeleSign's SDKs do: characters outside the base64 alphabet are
    /// skipped (the SDK's own `EXAMPLE----…` key relies on it), data stops at the first `=`, and
    /// missing padding is tolerated. A key with no data, or whose data cannot be base64, is refused.
    pub fn parse(literal: &str) -> Result<Self, KeyError> {
        let data: String = literal
            .chars()
            .take_while(|c| *c != '=')
            .filter(|c| c.is_ascii_alphanumeric() || *c == '+' || *c == '/')
            .collect();
        if data.is_empty() {
            return Err(KeyError::Empty);
        }
        let decoded = LENIENT.decode(data.as_bytes()).map_err(|_| KeyError::NotBase64)?;
        if decoded.is_empty() {
            return Err(KeyError::NotBase64);
        }
        Ok(Self {
            literal: literal.to_owned(),
            decoded,
        })
    }

    /// The key exactly as configured (what Basic authentication and Secrets Manager hold).
    pub fn expose_literal(&self) -> &str {
        &self.literal
    }

    /// The decoded key bytes: the HMAC-SHA256 key.
    pub fn hmac_key(&self) -> &[u8] {
        &self.decoded
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl PartialEq for ApiKey {
    fn eq(&self, other: &Self) -> bool {
        self.literal == other.literal
    }
}

/// A TeleSign customer id with its API key: what every request and callback is authenticated with.
#[derive(Clone, Debug, PartialEq)]
pub struct Credentials {
    /// TeleSign's customer id (a UUID-like string).
    pub customer_id: String,
    /// The account's API key.
    pub api_key: ApiKey,
}

impl Credentials {
    /// Builds credentials from their configured strings, refusing an empty customer id or a key
    /// that does not decode.
    pub fn new(customer_id: &str, api_key: &str) -> Result<Self, KeyError> {
        Ok(Self {
            customer_id: customer_id.trim().to_owned(),
            api_key: ApiKey::parse(api_key.trim())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_example_key_decodes_by_skipping_dashes() {
        let key =
            ApiKey::parse("EXAMPLE----TE8sTgg45yusumoN6BYsBVkh+yRJ5czgsnCehZaOYldPJdmFh6NeX8kunZ2zU1YWaUw/0wV6xfw==")
                .expect("decodes");
        assert!(!key.hmac_key().is_empty());
    }

    #[test]
    fn key_that_is_not_base64_is_refused() {
        assert_eq!(ApiKey::parse("----").unwrap_err(), KeyError::Empty);
        assert_eq!(ApiKey::parse("A").unwrap_err(), KeyError::NotBase64);
        assert_eq!(ApiKey::parse("").unwrap_err(), KeyError::Empty);
    }

    #[test]
    fn debug_never_shows_the_key() {
        let creds = Credentials::new("cid", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap();
        let shown = format!("{creds:?}");
        assert!(!shown.contains("AAECAw"), "{shown}");
        assert!(shown.contains("redacted"));
    }
}
