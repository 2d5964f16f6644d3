//! The one verifier of the desk's JSON Web Tokens, as API Gateway's JWT authorizer verifies them
//! (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html>):
//! RS256 by a key of the issuer's set found by the token's `kid`, `iss` the issuer, `aud` (or
//! `client_id`, for access tokens that carry no `aud`) one of the audiences, `exp` after now,
//! `nbf` and `iat` not after now, no leeway. The claims come out as API Gateway hands them to a
//! function: every value a string, arrays flattened to `[a b]`.
//!
//! The WebSocket API's Lambda authorizer (WebSocket APIs have no JWT authorizer) and the local
//! gateway's stand-in for the HTTP API's authorizer both verify with it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use tokio::sync::Mutex;

use channel_domain::access::{audience_matches, claim_text};

/// How often a key id it does not know may make the verifier read the issuer's keys again.
pub const REFRESH_AT_MOST_EVERY: Duration = Duration::from_secs(60);

/// A token refused, and why (for the log only: the caller answers 401 whatever the reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// Where the issuer's keys come from.
#[derive(Debug)]
pub enum JwtKeys {
    /// Keys known in advance (the local gateway's own).
    Fixed(JwkSet),
    /// The issuer's published JWKS document, read when a key id is unknown, at most once a
    /// [`REFRESH_AT_MOST_EVERY`].
    Published {
        /// The document's URL.
        url: String,
        /// The HTTPS client.
        http: reqwest::Client,
        /// The keys read last, and when.
        cache: Mutex<Option<(Instant, JwkSet)>>,
    },
}

impl JwtKeys {
    /// The keys published at `url`, read over HTTPS with `tls` within 3 seconds.
    pub fn published(url: String, tls: rustls::ClientConfig) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(Duration::from_secs(3))
            .build()?;
        Ok(JwtKeys::Published {
            url,
            http,
            cache: Mutex::new(None),
        })
    }
}

/// The verifier of tokens from one issuer for any of its audiences.
#[derive(Debug)]
pub struct JwtVerifier {
    keys: JwtKeys,
    issuer: String,
    audiences: Vec<String>,
}

impl JwtVerifier {
    /// A verifier of tokens from `issuer` for any of `audiences`, with keys from `keys`.
    pub fn new(keys: JwtKeys, issuer: String, audiences: Vec<String>) -> Self {
        Self {
            keys,
            issuer,
            audiences,
        }
    }

    /// The claims of a valid token, every value a string.
    pub async fn verify(&self, token: &str) -> Result<HashMap<String, String>, Refused> {
        let head = jsonwebtoken::decode_header(token).map_err(|e| Refused(e.to_string()))?;
        let kid = head.kid.ok_or_else(|| Refused("no key id".into()))?;
        let key = self.key(&kid).await?;
        let mut rules = Validation::new(Algorithm::RS256);
        rules.leeway = 0;
        rules.set_issuer(&[&self.issuer]);
        // The audience is `aud`, or `client_id` (checked below), as API Gateway accepts either.
        rules.validate_aud = false;
        rules.set_required_spec_claims(&["exp", "iss"]);
        rules.validate_nbf = true;
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &rules)
            .map_err(|e| Refused(e.to_string()))?
            .claims;
        if !self.audiences.iter().any(|a| audience_matches(&claims, a)) {
            return Err(Refused("another audience".into()));
        }
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        if claims.get("iat").and_then(Value::as_i64).is_some_and(|iat| iat > now) {
            return Err(Refused("issued in the future".into()));
        }
        Ok(claims.into_iter().map(|(k, v)| (k, claim_text(v))).collect())
    }

    async fn key(&self, kid: &str) -> Result<DecodingKey, Refused> {
        let find = |set: &JwkSet| set.find(kid).and_then(|jwk| DecodingKey::from_jwk(jwk).ok());
        let (url, http, cache) = match &self.keys {
            JwtKeys::Fixed(set) => return find(set).ok_or_else(|| Refused("unknown key id".into())),
            JwtKeys::Published { url, http, cache } => (url, http, cache),
        };
        let mut cached = cache.lock().await;
        if let Some(key) = cached.as_ref().and_then(|(_, set)| find(set)) {
            return Ok(key);
        }
        if cached
            .as_ref()
            .is_some_and(|(at, _)| at.elapsed() < REFRESH_AT_MOST_EVERY)
        {
            return Err(Refused("unknown key id".into()));
        }
        let body = async { http.get(url).send().await?.error_for_status()?.bytes().await }
            .await
            .map_err(|e: reqwest::Error| Refused(format!("the issuer's keys could not be read: {e}")))?;
        let set: JwkSet =
            serde_json::from_slice(&body).map_err(|e| Refused(format!("the issuer's keys do not read: {e}")))?;
        let key = find(&set);
        *cached = Some((Instant::now(), set));
        key.ok_or_else(|| Refused("unknown key id".into()))
    }
}

/// The token of an `Authorization` header as API Gateway reads it: `Bearer ` (in any case) is
/// optional.
pub fn bearer(authorization: Option<&str>) -> Result<&str, Refused> {
    let header = authorization
        .ok_or_else(|| Refused("no Authorization header".into()))?
        .trim();
    Ok(match header.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => header,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::jwk::Jwk;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    struct Issuer {
        encoding: EncodingKey,
        jwk: Jwk,
    }

    fn issuer(kid: &str) -> Issuer {
        let pair = rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048).unwrap();
        let encoding = EncodingKey::from_rsa_pem(pair.serialize_pem().as_bytes()).unwrap();
        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256).unwrap();
        jwk.common.key_id = Some(kid.into());
        Issuer { encoding, jwk }
    }

    fn sign(i: &Issuer, kid: Option<&str>, claims: Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, &claims, &i.encoding).unwrap()
    }

    fn verifier(i: &Issuer) -> JwtVerifier {
        let keys = JwtKeys::Fixed(JwkSet {
            keys: vec![i.jwk.clone()],
        });
        JwtVerifier::new(keys, "https://issuer".into(), vec!["desk".into(), "sockets".into()])
    }

    fn now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    #[tokio::test]
    async fn a_valid_token_gives_its_claims_as_api_gateway_passes_them() {
        let i = issuer("k1");
        let v = verifier(&i);
        let claims = json!({"sub": "u-1", "iss": "https://issuer", "aud": "desk", "exp": now() + 60, "iat": now(),
            "cognito:groups": ["agent", "supervisor"]});
        let found = v.verify(&sign(&i, Some("k1"), claims)).await.unwrap();
        assert_eq!(found["sub"], "u-1");
        assert_eq!(found["cognito:groups"], "[agent supervisor]");
        let access = json!({"sub": "u-1", "iss": "https://issuer", "client_id": "sockets", "exp": now() + 60});
        assert!(
            v.verify(&sign(&i, Some("k1"), access)).await.is_ok(),
            "client_id names the audience"
        );
    }

    #[tokio::test]
    async fn every_broken_rule_is_refused() {
        let i = issuer("k1");
        let v = verifier(&i);
        let base = |f: &dyn Fn(&mut Map<String, Value>)| {
            let mut c = json!({"sub": "u-1", "iss": "https://issuer", "aud": "desk", "exp": now() + 60, "iat": now()})
                .as_object()
                .unwrap()
                .clone();
            f(&mut c);
            Value::Object(c)
        };
        let cases: [(&str, Value, Option<&str>); 7] = [
            (
                "expired",
                base(&|c| drop(c.insert("exp".into(), json!(now() - 1)))),
                Some("k1"),
            ),
            (
                "not yet",
                base(&|c| drop(c.insert("nbf".into(), json!(now() + 60)))),
                Some("k1"),
            ),
            (
                "issued in the future",
                base(&|c| drop(c.insert("iat".into(), json!(now() + 60)))),
                Some("k1"),
            ),
            (
                "another issuer",
                base(&|c| drop(c.insert("iss".into(), json!("https://else")))),
                Some("k1"),
            ),
            (
                "another audience",
                base(&|c| drop(c.insert("aud".into(), json!("other")))),
                Some("k1"),
            ),
            ("no key id", base(&|_| ()), None),
            ("an unknown key id", base(&|_| ()), Some("k2")),
        ];
        for (why, claims, kid) in cases {
            assert!(v.verify(&sign(&i, kid, claims)).await.is_err(), "{why}");
        }
        let stranger = issuer("k1");
        let forged = sign(&stranger, Some("k1"), base(&|_| ()));
        assert!(v.verify(&forged).await.is_err(), "another key under the same id");
        assert!(v.verify("not-a-token").await.is_err());
    }

    #[test]
    fn bearer_is_optional_in_any_case() {
        assert_eq!(bearer(Some("Bearer abc")).unwrap(), "abc");
        assert_eq!(bearer(Some("bearer  abc ")).unwrap(), "abc");
        assert_eq!(bearer(Some("abc")).unwrap(), "abc");
        assert!(bearer(None).is_err());
    }
}
