//! The local stand-in for API Gateway's JWT authorizer: RS256 tokens verified against the
//! gateway's own key (signature, issuer, audience, expiry), their claims handed to the function as
//! API Gateway hands them (`requestContext.authorizer.jwt.claims`, every value a string, arrays
//! flattened to `[a b]`); and the development routes that mint tokens and publish the key.
//!
//! The key is made when the gateway starts (RSA 2048) and never leaves the process: a restart
//! makes every earlier token invalid, as a key rotation at an identity provider would.

use std::collections::HashMap;

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Deserialize;
use serde_json::{json, Map, Value};
pub use shared::jwt::Refused;
use shared::jwt::{bearer, JwtKeys, JwtVerifier};

/// The longest life a minted token may ask for (a week).
const MAX_TTL_SECONDS: i64 = 7 * 24 * 3600;

/// The gateway's issuer of tokens and their verifier.
pub struct Authorizer {
    encoding: EncodingKey,
    verifier: JwtVerifier,
    jwk: Jwk,
    kid: String,
    /// The issuer tokens must name.
    pub issuer: String,
    /// The audience tokens must name.
    pub audience: String,
    /// The claim that carries the roles.
    pub roles_claim: String,
}

/// A request for a development token (`POST /_local/tokens`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MintRequest {
    /// The user id.
    pub sub: String,
    /// The roles (the groups claim).
    #[serde(default)]
    pub roles: Vec<String>,
    /// The display name.
    #[serde(default)]
    pub name: Option<String>,
    /// An e-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// Seconds until it expires (default an hour; negative mints one already expired, for tests).
    #[serde(default)]
    pub ttl_seconds: Option<i64>,
    /// Another issuer than the gateway's (a token the authorizer must refuse, for tests).
    #[serde(default)]
    pub issuer: Option<String>,
    /// Another audience than the gateway's (likewise).
    #[serde(default)]
    pub audience: Option<String>,
}

impl Authorizer {
    /// A new key; tokens for `issuer` and `audience`, roles under `roles_claim`.
    pub fn generate(issuer: String, audience: String, roles_claim: String) -> Result<Self, Box<dyn std::error::Error>> {
        let pair = rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)?;
        let pem = pair.serialize_pem();
        let encoding = EncodingKey::from_rsa_pem(pem.as_bytes())?;
        let kid = uuid::Uuid::new_v4().simple().to_string();
        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256)?;
        jwk.common.key_id = Some(kid.clone());
        let keys = JwtKeys::Fixed(JwkSet {
            keys: vec![jwk.clone()],
        });
        let verifier = JwtVerifier::new(keys, issuer.clone(), vec![audience.clone()]);
        Ok(Self {
            encoding,
            verifier,
            jwk,
            kid,
            issuer,
            audience,
            roles_claim,
        })
    }

    /// `GET /_local/jwks.json`.
    pub fn jwks(&self) -> Value {
        serde_json::to_value(JwkSet {
            keys: vec![self.jwk.clone()],
        })
        .unwrap_or(Value::Null)
    }

    /// `POST /_local/tokens`: a signed token for the request.
    pub fn mint(&self, r: &MintRequest) -> Result<String, Refused> {
        if r.sub.trim().is_empty() || r.sub.chars().count() > shared::access::MAX_USER_ID {
            return Err(Refused("sub is 1 to 128 characters".into()));
        }
        let ttl = r.ttl_seconds.unwrap_or(3600);
        if !(-MAX_TTL_SECONDS..=MAX_TTL_SECONDS).contains(&ttl) {
            return Err(Refused(format!("ttl_seconds is at most {MAX_TTL_SECONDS}")));
        }
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut claims = Map::new();
        claims.insert("sub".into(), json!(r.sub));
        claims.insert("iss".into(), json!(r.issuer.as_deref().unwrap_or(&self.issuer)));
        claims.insert("aud".into(), json!(r.audience.as_deref().unwrap_or(&self.audience)));
        claims.insert("iat".into(), json!(now.min(now + ttl)));
        claims.insert("exp".into(), json!(now + ttl));
        claims.insert(self.roles_claim.clone(), json!(r.roles));
        for (k, v) in [("name", &r.name), ("email", &r.email)] {
            if let Some(v) = v {
                claims.insert(k.into(), json!(v));
            }
        }
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding).map_err(|e| Refused(e.to_string()))
    }

    /// Verifies the `Authorization` header as API Gateway's JWT authorizer does (`Bearer ` is
    /// optional), with the verifier the WebSocket authorizer uses too (`shared::jwt`). The
    /// claims, as the function receives them.
    pub async fn verify(&self, authorization: Option<&str>) -> Result<HashMap<String, String>, Refused> {
        self.verifier.verify(bearer(authorization)?).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authorizer() -> Authorizer {
        Authorizer::generate("https://issuer.local".into(), "desk".into(), "cognito:groups".into()).unwrap()
    }

    fn request(sub: &str) -> MintRequest {
        MintRequest {
            sub: sub.into(),
            roles: vec!["agent".into(), "supervisor".into()],
            name: Some("Ada".into()),
            email: None,
            ttl_seconds: None,
            issuer: None,
            audience: None,
        }
    }

    #[tokio::test]
    async fn a_minted_token_verifies_with_its_claims_as_api_gateway_passes_them() {
        let a = authorizer();
        let token = a.mint(&request("u-1")).unwrap();
        let claims = a.verify(Some(&format!("Bearer {token}"))).await.unwrap();
        assert_eq!(claims["sub"], "u-1");
        assert_eq!(claims["cognito:groups"], "[agent supervisor]");
        assert_eq!(claims["name"], "Ada");
        assert!(a.verify(Some(&token)).await.is_ok(), "Bearer is optional");
        assert!(
            a.verify(Some(&format!("bearer {token}"))).await.is_ok(),
            "the scheme in any case"
        );
    }

    #[tokio::test]
    async fn an_access_token_names_its_audience_as_client_id() {
        let a = authorizer();
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(a.kid.clone());
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = json!({"sub": "u-1", "iss": a.issuer, "client_id": a.audience, "exp": now + 60, "iat": now});
        let token = jsonwebtoken::encode(&header, &claims, &a.encoding).unwrap();
        assert!(a.verify(Some(&token)).await.is_ok());
        let future = json!({"sub": "u-1", "iss": a.issuer, "aud": a.audience, "exp": now + 600, "iat": now + 300});
        let token = jsonwebtoken::encode(&header, &future, &a.encoding).unwrap();
        assert!(a.verify(Some(&token)).await.is_err(), "issued in the future");
        let mut no_kid = Header::new(Algorithm::RS256);
        no_kid.kid = None;
        let token = jsonwebtoken::encode(&no_kid, &claims, &a.encoding).unwrap();
        assert!(a.verify(Some(&token)).await.is_err(), "no key id");
    }

    #[tokio::test]
    async fn expired_foreign_and_tampered_tokens_are_refused() {
        let a = authorizer();
        let mut expired = request("u-1");
        expired.ttl_seconds = Some(-60);
        assert!(a.verify(Some(&a.mint(&expired).unwrap())).await.is_err());
        let mut foreign = request("u-1");
        foreign.issuer = Some("https://elsewhere".into());
        assert!(a.verify(Some(&a.mint(&foreign).unwrap())).await.is_err());
        let mut other_audience = request("u-1");
        other_audience.audience = Some("another-app".into());
        assert!(a.verify(Some(&a.mint(&other_audience).unwrap())).await.is_err());
        let other_key = authorizer();
        assert!(a.verify(Some(&other_key.mint(&request("u-1")).unwrap())).await.is_err());
        let token = a.mint(&request("u-1")).unwrap();
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[1] = a.mint(&request("u-2")).unwrap().split('.').nth(1).unwrap().to_owned();
        assert!(
            a.verify(Some(&parts.join("."))).await.is_err(),
            "a payload swapped under a signature"
        );
        assert!(a.verify(None).await.is_err());
        assert!(a.verify(Some("Bearer not-a-token")).await.is_err());
    }
}
