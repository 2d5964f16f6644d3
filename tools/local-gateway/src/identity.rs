//! The local stand-in for the identity provider the console signs in with (deployed: the stack's
//! Cognito user pool, its managed login and its OAuth 2.0 endpoints), so that the console runs
//! one sign-in path locally and deployed: OpenID Connect discovery, the authorization code flow
//! with PKCE, tokens renewed with a refresh token, the refresh token revoked, and the logout
//! endpoint that returns to the console.
//!
//! Under `/_local/`:
//! - `GET .well-known/openid-configuration`: the endpoints below.
//! - `GET oauth2/authorize?response_type=code&client_id&redirect_uri&state&code_challenge&code_challenge_method=S256`:
//!   a sign-in page (any user, name and role; and for tests, how long its tokens live). Its
//!   form posts to `POST oauth2/authorize`, which redirects to `redirect_uri?code&state`.
//! - `POST oauth2/token` (form): `grant_type=authorization_code` (`code`, `redirect_uri`,
//!   `client_id`, `code_verifier`: the challenge checked) or `grant_type=refresh_token`
//!   (`refresh_token`, `client_id`) → `{id_token, access_token, refresh_token?, expires_in,
//!   token_type}` (the refresh token only with the code, as Cognito without rotation); a code is
//!   used once; an unknown or revoked refresh token is `400 {"error": "invalid_grant"}`.
//! - `POST oauth2/revoke` (form `token`, `client_id`): the refresh token stops working.
//! - `GET logout?client_id&logout_uri`: recorded (`GET logouts` lists them, for tests) and
//!   redirected to `logout_uri` (the console's own URL only, as Cognito allows only the app
//!   client's sign-out URLs).
//! - `POST faults/unauthorized {"count": n}`: the next `n` requests to protected routes are
//!   answered 401 as an expired token is (a test's forced 401).
//!
//! What it does not do: passwords, MFA, a session cookie (every authorize shows the form), and
//! token revocation of ID tokens already issued (Cognito does not either: they live their hour).

use std::collections::HashMap;
use std::sync::Mutex;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::auth::{Authorizer, MintRequest};

/// How long an authorization code may wait for its exchange (Cognito's: 5 minutes).
const CODE_SECONDS: i64 = 300;

/// The roles the sign-in page offers.
const ROLES: [&str; 3] = ["agent", "supervisor", "operator"];

/// Who signed in: what each token of the session says.
#[derive(Debug, Clone)]
struct Identity {
    sub: String,
    name: Option<String>,
    roles: Vec<String>,
    ttl: i64,
}

struct Code {
    identity: Identity,
    redirect_uri: String,
    client_id: String,
    challenge: String,
    expires: i64,
}

/// The stand-in's state: codes waiting, refresh tokens, logouts seen, forced refusals.
#[derive(Default)]
pub struct Identities {
    codes: Mutex<HashMap<String, Code>>,
    refresh: Mutex<HashMap<String, (Identity, bool)>>,
    logouts: Mutex<Vec<Value>>,
    refuse_next: Mutex<u64>,
}

/// A request to the stand-in: under `/_local/`, from the browser or the console's script.
pub struct Asked<'a> {
    /// The method.
    pub method: &'a str,
    /// The path after `/_local/`.
    pub path: &'a str,
    /// The query string.
    pub query: &'a str,
    /// The body (a form, or JSON for the test routes).
    pub body: &'a [u8],
    /// The gateway's own origin (`http://127.0.0.1:<port>`).
    pub base: &'a str,
    /// The browser's languages, lowercase.
    pub language: &'a str,
}

/// An answer of the stand-in: status, content type, body, and a redirect when there is one.
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The body.
    pub body: String,
    /// `Location`, for a redirect.
    pub location: Option<String>,
}

impl Answer {
    fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            content_type: "application/json",
            body: body.to_string(),
            location: None,
        }
    }

    fn redirect(to: String) -> Self {
        Self {
            status: 302,
            content_type: "text/plain",
            body: String::new(),
            location: Some(to),
        }
    }

    fn error(status: u16, error: &str, description: &str) -> Self {
        Self::json(status, json!({"error": error, "error_description": description}))
    }
}

fn random() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn form(text: &str) -> HashMap<String, String> {
    form_urlencoded::parse(text.as_bytes()).into_owned().collect()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl Identities {
    /// Whether the next protected request is to be refused (a forced 401); counts it down.
    pub fn refuse_now(&self) -> bool {
        let mut n = self.refuse_next.lock().unwrap_or_else(|p| p.into_inner());
        if *n > 0 {
            *n -= 1;
            return true;
        }
        false
    }

    /// Answers one request under `/_local/` that is the identity provider's, or `None`.
    pub fn answer(&self, authorizer: &Authorizer, asked: &Asked<'_>) -> Option<Answer> {
        let (query, base, language) = (asked.query, asked.base, asked.language);
        let body = String::from_utf8_lossy(asked.body);
        Some(match (asked.method, asked.path) {
            ("GET", ".well-known/openid-configuration") => Answer::json(200, discovery(&authorizer.issuer, base)),
            ("GET", "oauth2/authorize") => self.authorize_page(authorizer, &form(query), base, language),
            ("POST", "oauth2/authorize") => self.signed_in(authorizer, &form(&body), base),
            ("POST", "oauth2/token") => self.token(authorizer, &form(&body)),
            ("POST", "oauth2/revoke") => {
                if let Some(token) = form(&body).get("token") {
                    if let Some(entry) = self.refresh.lock().unwrap_or_else(|p| p.into_inner()).get_mut(token) {
                        entry.1 = true;
                    }
                }
                Answer::json(200, json!({}))
            }
            ("GET", "logout") => self.logout(authorizer, &form(query), base),
            ("GET", "logouts") => Answer::json(
                200,
                json!({"logouts": *self.logouts.lock().unwrap_or_else(|p| p.into_inner())}),
            ),
            ("POST", "faults/unauthorized") => {
                let count = serde_json::from_slice::<Value>(body.as_bytes())
                    .ok()
                    .and_then(|b| b["count"].as_u64());
                match count {
                    Some(n) => {
                        *self.refuse_next.lock().unwrap_or_else(|p| p.into_inner()) = n;
                        Answer::json(200, json!({"count": n}))
                    }
                    None => Answer::json(
                        400,
                        json!({"error": {"code": "invalid_parameter", "message": "count is a number"}}),
                    ),
                }
            }
            _ => return None,
        })
    }

    fn authorize_page(
        &self,
        authorizer: &Authorizer,
        q: &HashMap<String, String>,
        base: &str,
        language: &str,
    ) -> Answer {
        if let Some(refusal) = check_client(authorizer, q, base) {
            return refusal;
        }
        if q.get("response_type").map(String::as_str) != Some("code")
            || q.get("code_challenge_method").map(String::as_str) != Some("S256")
            || q.get("code_challenge").is_none_or(|c| c.is_empty())
        {
            return Answer::error(400, "invalid_request", "the code flow with PKCE (S256) only");
        }
        let words = if language.starts_with("pl") { POLISH } else { ENGLISH };
        let hidden: String = ["client_id", "redirect_uri", "state", "code_challenge"]
            .iter()
            .map(|k| {
                format!(
                    r#"<input type="hidden" name="{k}" value="{}">"#,
                    escape(q.get(*k).map_or("", String::as_str))
                )
            })
            .collect();
        let roles: String = ROLES
            .iter()
            .map(|r| format!(r#"<option value="{r}">{}</option>"#, role_word(words, r)))
            .collect();
        let lang = if language.starts_with("pl") { "pl" } else { "en" };
        let body = format!(
            r#"<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>body{{font:16px system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}}label{{display:block;margin-top:1rem}}input,select,button{{font:inherit;margin-top:.25rem;padding:.4rem;width:100%;box-sizing:border-box}}button{{margin-top:1.5rem}}</style></head>
<body><main><h1 id="signin-title">{title}</h1><p>{help}</p>
<form id="signin-form" method="post" action="{base}/_local/oauth2/authorize" aria-labelledby="signin-title">{hidden}
<label for="signin-user">{user}</label><input id="signin-user" name="user" required maxlength="128" value="agent-1" autocomplete="username">
<label for="signin-name">{name}</label><input id="signin-name" name="name" maxlength="100" value="Ada Agent" autocomplete="name">
<label for="signin-role">{role}</label><select id="signin-role" name="role">{roles}</select>
<label for="signin-ttl">{ttl}</label><input id="signin-ttl" name="ttl" type="number" min="5" max="86400" value="3600">
<button type="submit">{submit}</button></form></main></body></html>"#,
            title = words[0],
            help = words[1],
            user = words[2],
            name = words[3],
            role = words[4],
            ttl = words[5],
            submit = words[6],
        );
        Answer {
            status: 200,
            content_type: "text/html; charset=utf-8",
            body,
            location: None,
        }
    }

    fn signed_in(&self, authorizer: &Authorizer, f: &HashMap<String, String>, base: &str) -> Answer {
        if let Some(refusal) = check_client(authorizer, f, base) {
            return refusal;
        }
        let sub = f.get("user").map_or("", |u| u.trim()).to_owned();
        let role = f.get("role").cloned().unwrap_or_default();
        if sub.is_empty() || !ROLES.contains(&role.as_str()) {
            return Answer::error(400, "invalid_request", "a user id and a role");
        }
        let ttl = f
            .get("ttl")
            .and_then(|t| t.parse::<i64>().ok())
            .unwrap_or(3600)
            .clamp(5, 86_400);
        let name = f.get("name").map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
        let code = random();
        let redirect_uri = f.get("redirect_uri").cloned().unwrap_or_default();
        self.codes.lock().unwrap_or_else(|p| p.into_inner()).insert(
            code.clone(),
            Code {
                identity: Identity {
                    sub,
                    name,
                    roles: vec![role],
                    ttl,
                },
                redirect_uri: redirect_uri.clone(),
                client_id: f.get("client_id").cloned().unwrap_or_default(),
                challenge: f.get("code_challenge").cloned().unwrap_or_default(),
                expires: now() + CODE_SECONDS,
            },
        );
        let state = f
            .get("state")
            .map(|s| format!("&state={}", encode(s)))
            .unwrap_or_default();
        Answer::redirect(format!("{redirect_uri}?code={code}{state}"))
    }

    fn token(&self, authorizer: &Authorizer, f: &HashMap<String, String>) -> Answer {
        if f.get("client_id") != Some(&authorizer.audience) {
            return Answer::error(400, "invalid_client", "unknown client_id");
        }
        match f.get("grant_type").map(String::as_str) {
            Some("authorization_code") => {
                let code = f
                    .get("code")
                    .and_then(|c| self.codes.lock().unwrap_or_else(|p| p.into_inner()).remove(c));
                let Some(code) = code.filter(|c| c.expires >= now()) else {
                    return Answer::error(400, "invalid_grant", "unknown, used or expired code");
                };
                let verifier = f.get("code_verifier").map_or("", String::as_str);
                let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
                if challenge != code.challenge
                    || f.get("redirect_uri") != Some(&code.redirect_uri)
                    || f.get("client_id") != Some(&code.client_id)
                {
                    return Answer::error(
                        400,
                        "invalid_grant",
                        "the verifier, redirect_uri or client does not match",
                    );
                }
                let refresh = random();
                self.refresh
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(refresh.clone(), (code.identity.clone(), false));
                tokens(authorizer, &code.identity, Some(&refresh))
            }
            Some("refresh_token") => {
                let found = f
                    .get("refresh_token")
                    .and_then(|t| self.refresh.lock().unwrap_or_else(|p| p.into_inner()).get(t).cloned());
                match found {
                    Some((identity, false)) => tokens(authorizer, &identity, None),
                    _ => Answer::error(400, "invalid_grant", "unknown or revoked refresh token"),
                }
            }
            _ => Answer::error(400, "unsupported_grant_type", "authorization_code or refresh_token"),
        }
    }

    fn logout(&self, authorizer: &Authorizer, q: &HashMap<String, String>, base: &str) -> Answer {
        let uri = q.get("logout_uri").cloned().unwrap_or_default();
        if q.get("client_id") != Some(&authorizer.audience) || !allowed_uri(&uri, base) {
            return Answer::error(400, "invalid_request", "client_id and a logout_uri of the app client");
        }
        self.logouts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(json!({"client_id": q.get("client_id"), "logout_uri": uri, "at": now()}));
        Answer::redirect(uri)
    }
}

/// The app client's URLs: the console's, at the gateway's own origin (Cognito matches its
/// callback and sign-out URLs exactly; the console at `/console` is the one).
fn allowed_uri(uri: &str, base: &str) -> bool {
    uri == format!("{base}/console")
}

fn check_client(authorizer: &Authorizer, f: &HashMap<String, String>, base: &str) -> Option<Answer> {
    if f.get("client_id") != Some(&authorizer.audience) {
        return Some(Answer::error(400, "invalid_client", "unknown client_id"));
    }
    if !f.get("redirect_uri").is_some_and(|u| allowed_uri(u, base)) {
        return Some(Answer::error(
            400,
            "invalid_request",
            "redirect_uri is not a callback URL of the app client",
        ));
    }
    None
}

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The token endpoint's answer: an ID token and an access token of the identity (the access
/// token names its client as `client_id`, as Cognito's), and the refresh token with a code.
fn tokens(authorizer: &Authorizer, who: &Identity, refresh: Option<&str>) -> Answer {
    let mint = |audience: Option<String>| MintRequest {
        sub: who.sub.clone(),
        roles: who.roles.clone(),
        name: who.name.clone(),
        email: None,
        ttl_seconds: Some(who.ttl),
        issuer: None,
        audience,
    };
    let (Ok(id_token), Ok(access_token)) = (authorizer.mint(&mint(None)), authorizer.mint(&mint(None))) else {
        return Answer::error(500, "server_error", "the token could not be signed");
    };
    let mut body =
        json!({"id_token": id_token, "access_token": access_token, "expires_in": who.ttl, "token_type": "Bearer"});
    if let Some(r) = refresh {
        body["refresh_token"] = json!(r);
    }
    Answer::json(200, body)
}

fn discovery(issuer: &str, base: &str) -> Value {
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{base}/_local/oauth2/authorize"),
        "token_endpoint": format!("{base}/_local/oauth2/token"),
        "revocation_endpoint": format!("{base}/_local/oauth2/revoke"),
        "end_session_endpoint": format!("{base}/_local/logout"),
        "jwks_uri": format!("{base}/_local/jwks.json"),
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
    })
}

type Words = [&'static str; 10];

const ENGLISH: Words = [
    "Local sign-in",
    "The local stack signs you in as anyone: pick a user and a role.",
    "User id",
    "Name",
    "Role",
    "Token lifetime (seconds)",
    "Sign in",
    "Agent",
    "Supervisor",
    "Operator",
];

const POLISH: Words = [
    "Logowanie lokalne",
    "Lokalny stos loguje każdego: wybierz użytkownika i rolę.",
    "Identyfikator użytkownika",
    "Imię i nazwisko",
    "Rola",
    "Ważność tokenu (sekundy)",
    "Zaloguj",
    "Agent",
    "Kierownik",
    "Operator",
];

fn role_word(words: Words, role: &str) -> &'static str {
    match role {
        "agent" => words[7],
        "supervisor" => words[8],
        _ => words[9],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "http://127.0.0.1:9000";

    fn setup() -> (Authorizer, Identities) {
        let a = Authorizer::generate(format!("{BASE}/_local"), "desk".into(), "cognito:groups".into()).unwrap();
        (a, Identities::default())
    }

    fn call(a: &Authorizer, i: &Identities, method: &str, path: &str, query: &str, body: &str) -> Answer {
        let asked = Asked {
            method,
            path,
            query,
            body: body.as_bytes(),
            base: BASE,
            language: "en",
        };
        i.answer(a, &asked).expect("a route of the stand-in")
    }

    fn signed_in(a: &Authorizer, i: &Identities, verifier: &str) -> (String, String) {
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let page = call(a, i, "GET", "oauth2/authorize", &format!(
            "response_type=code&client_id=desk&redirect_uri={}&state=s1&code_challenge={challenge}&code_challenge_method=S256",
            encode(&format!("{BASE}/console"))), "");
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains(r#"id="signin-user""#));
        let posted = call(
            a,
            i,
            "POST",
            "oauth2/authorize",
            "",
            &format!(
            "client_id=desk&redirect_uri={}&state=s1&code_challenge={challenge}&user=u-1&name=Ada&role=agent&ttl=60",
            encode(&format!("{BASE}/console"))),
        );
        let location = posted.location.expect("a redirect");
        assert!(
            location.starts_with(&format!("{BASE}/console?code=")) && location.ends_with("&state=s1"),
            "{location}"
        );
        let code = location
            .split("code=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap()
            .to_owned();
        (code, challenge)
    }

    #[tokio::test]
    async fn a_code_with_its_verifier_gives_tokens_once_and_the_refresh_token_renews_them_until_revoked() {
        let (a, i) = setup();
        let (code, _) = signed_in(&a, &i, "verifier-1");
        let redirect = encode(&format!("{BASE}/console"));
        let exchange = format!(
            "grant_type=authorization_code&client_id=desk&code={code}&redirect_uri={redirect}&code_verifier=verifier-1"
        );
        let got = call(&a, &i, "POST", "oauth2/token", "", &exchange);
        assert_eq!(got.status, 200, "{}", got.body);
        let tokens: Value = serde_json::from_str(&got.body).unwrap();
        let claims = a.verify(tokens["id_token"].as_str()).await.unwrap();
        assert_eq!(
            (claims["sub"].as_str(), claims["cognito:groups"].as_str()),
            ("u-1", "[agent]")
        );
        assert_eq!(tokens["expires_in"], 60);
        assert_eq!(
            call(&a, &i, "POST", "oauth2/token", "", &exchange).status,
            400,
            "a code is used once"
        );
        let refresh = tokens["refresh_token"].as_str().unwrap();
        let renewed = call(
            &a,
            &i,
            "POST",
            "oauth2/token",
            "",
            &format!("grant_type=refresh_token&client_id=desk&refresh_token={refresh}"),
        );
        assert_eq!(renewed.status, 200);
        assert!(serde_json::from_str::<Value>(&renewed.body)
            .unwrap()
            .get("refresh_token")
            .is_none());
        call(
            &a,
            &i,
            "POST",
            "oauth2/revoke",
            "",
            &format!("token={refresh}&client_id=desk"),
        );
        let refused = call(
            &a,
            &i,
            "POST",
            "oauth2/token",
            "",
            &format!("grant_type=refresh_token&client_id=desk&refresh_token={refresh}"),
        );
        assert_eq!(refused.status, 400);
    }

    #[test]
    fn a_wrong_verifier_or_a_foreign_redirect_is_refused() {
        let (a, i) = setup();
        let (code, _) = signed_in(&a, &i, "right");
        let redirect = encode(&format!("{BASE}/console"));
        let wrong = call(
            &a,
            &i,
            "POST",
            "oauth2/token",
            "",
            &format!(
                "grant_type=authorization_code&client_id=desk&code={code}&redirect_uri={redirect}&code_verifier=wrong"
            ),
        );
        assert_eq!(wrong.status, 400);
        let foreign = call(
            &a,
            &i,
            "GET",
            "oauth2/authorize",
            &format!(
                "response_type=code&client_id=desk&redirect_uri={}&code_challenge=x&code_challenge_method=S256",
                encode("https://elsewhere.example/console")
            ),
            "",
        );
        assert_eq!(foreign.status, 400);
        let logout = call(
            &a,
            &i,
            "GET",
            "logout",
            &format!("client_id=desk&logout_uri={}", encode("https://elsewhere.example")),
            "",
        );
        assert_eq!(logout.status, 400);
    }

    #[test]
    fn a_logout_is_recorded_and_returns_to_the_console() {
        let (a, i) = setup();
        let back = call(
            &a,
            &i,
            "GET",
            "logout",
            &format!("client_id=desk&logout_uri={}", encode(&format!("{BASE}/console"))),
            "",
        );
        assert_eq!(back.location.as_deref(), Some(format!("{BASE}/console").as_str()));
        let seen: Value = serde_json::from_str(&call(&a, &i, "GET", "logouts", "", "").body).unwrap();
        assert_eq!(seen["logouts"].as_array().map(Vec::len), Some(1));
    }
}
