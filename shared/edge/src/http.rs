//! The HTTP edge: reading `lambda_http` requests into the service layer's types and answering,
//! shared by every route. Nothing below this module (and `error`) knows HTTP.

use std::time::{Duration, Instant, SystemTime};

use lambda_http::http::{header, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{ApiError, ErrorCode};

/// The largest body any route reads.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON response.
pub fn json_response<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response<Body> {
    json_bytes_response(status, serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec()))
}

/// A JSON answer of a body already serialized (an export, written once for its size and its answer).
pub fn json_bytes_response(status: StatusCode, body: Vec<u8>) -> Response<Body> {
    let mut response = Response::new(Body::Binary(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

/// The raw body bytes, as received (API Gateway's base64 is already decoded by the runtime).
pub fn body_bytes(req: &Request) -> &[u8] {
    match req.body() {
        Body::Empty => &[],
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    }
}

/// Reads a JSON body into `T`, refusing bodies over 64 KiB and explaining what is wrong.
pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    let bytes = body_bytes(req);
    if bytes.len() > MAX_BODY_BYTES {
        return Err(too_large());
    }
    if bytes.is_empty() {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidJson,
            "the request needs a JSON body",
        ));
    }
    // An object only: serde would otherwise read a struct from a JSON array, field by position.
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(ErrorCode::InvalidJson, format!("the body is not JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidJson,
            "the body must be a JSON object",
        ));
    }
    serde_json::from_value(value)
        .map_err(|e| ApiError::bad_request(ErrorCode::InvalidJson, format!("the body is not valid: {e}")))
}

/// The 413 of a body over [`MAX_BODY_BYTES`].
pub fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::PayloadTooLarge,
        format!("the body is larger than {MAX_BODY_BYTES} bytes"),
    )
}

/// The route API Gateway matched (`"POST /accounts"`): what a function dispatches on.
pub fn route_key(req: &Request) -> &str {
    match req.request_context_ref() {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) => ctx.route_key.as_deref().unwrap_or(""),
        _ => "",
    }
}

/// The answer for a route key a function does not serve.
pub fn no_route() -> ApiError {
    ApiError::not_found(ErrorCode::RouteNotFound, "no such route")
}

/// A path parameter of the route (`{account_id}`, ...).
pub fn path_param(req: &Request, name: &str) -> Result<String, ApiError> {
    req.path_parameters_ref()
        .and_then(|p| p.first(name))
        .map(str::to_owned)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::bad_request(ErrorCode::MissingParameter, format!("the path needs {name}")))
}

/// A query string parameter, if given.
pub fn query_param(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .map(str::to_owned)
}

/// The `limit` query parameter: `default` when absent, else a whole number from 1 to `max`.
pub fn limit(req: &Request, (default, max): (u32, u32)) -> Result<u32, ApiError> {
    match query_param(req, "limit") {
        None => Ok(default),
        Some(l) => l.parse::<u32>().ok().filter(|l| (1..=max).contains(l)).ok_or_else(|| {
            ApiError::bad_request(
                ErrorCode::InvalidParameter,
                format!("limit is a whole number from 1 to {max}"),
            )
        }),
    }
}

/// A header as text, if present and readable.
pub fn header_str<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Turns a handler's result into the response: errors answer through `ApiError`.
pub fn respond(result: Result<Response<Body>, ApiError>) -> Response<Body> {
    result.unwrap_or_else(ApiError::into_response)
}

/// The default name of the claim that holds a caller's roles (Cognito's groups).
pub const DEFAULT_ROLES_CLAIM: &str = "cognito:groups";

/// The name of the roles claim: `ROLES_CLAIM` (the template's `RolesClaim`), read once.
pub fn roles_claim() -> &'static str {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        std::env::var("ROLES_CLAIM")
            .ok()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_ROLES_CLAIM.to_owned())
    })
}

/// The claims of the JWT the gateway's authorizer verified, if any.
fn claims(req: &Request) -> Option<&std::collections::HashMap<String, String>> {
    req.request_context_ref()
        .and_then(|c| c.authorizer())
        .and_then(|a| a.jwt.as_ref())
        .map(|j| &j.claims)
}

/// The caller's identity: the `sub` claim of the JWT the gateway's authorizer verified, if any.
pub fn caller_id(req: &Request) -> Option<String> {
    claims(req)
        .and_then(|c| c.get("sub").cloned())
        .filter(|s| !s.is_empty())
}

/// The caller of a protected route, from the verified token's claims: user id (`sub`), name
/// (`name`, else `email`), roles (the roles claim). 401 when there is no verified `sub` (the
/// authorizer refuses such a request before the function sees it).
pub fn caller(req: &Request) -> Result<channel_domain::access::Caller, ApiError> {
    let claims = claims(req).ok_or_else(ApiError::unauthorized)?;
    caller_of_claims(claims).ok_or_else(ApiError::unauthorized)
}

/// The caller of verified claims as API Gateway passes them (the JWT authorizer's, or the
/// WebSocket API's authorizer context): `sub`, `name` (else `email`), the roles claim; `None`
/// without a usable `sub`.
pub fn caller_of_claims(claims: &std::collections::HashMap<String, String>) -> Option<channel_domain::access::Caller> {
    let user_id = claims
        .get("sub")
        .and_then(|s| channel_domain::access::UserId::parse(s).ok())?;
    let text = |k: &str| claims.get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    Some(channel_domain::access::Caller {
        user_id,
        name: text("name").or_else(|| text("email")),
        roles: claims
            .get(roles_claim())
            .map(|c| channel_domain::access::roles_of_claim(c))
            .unwrap_or_default(),
    })
}

/// When the work of this invocation must be done: the Lambda deadline less `margin`, or
/// `fallback` from now where there is no usable Lambda deadline.
///
/// A deadline that has already passed when the event arrives is no deadline: a runtime that
/// writes it as something other than epoch milliseconds (`cargo lambda watch` sends the
/// function's timeout, `600000`, which read as a time is in 1970) must not make every call fail
/// at once. The code's own bound, `fallback`, applies then, as it does in the local gateway.
pub fn deadline(req: &Request, fallback: Duration, margin: Duration) -> Instant {
    let now = Instant::now();
    let deadline_ms = req.lambda_context_ref().map(|c| c.deadline);
    now + time_left(deadline_ms, SystemTime::now(), fallback).saturating_sub(margin)
}

/// The time left before `deadline_ms` (epoch milliseconds) at `now`, or `fallback` when there is
/// no deadline or it is not in the future.
fn time_left(deadline_ms: Option<u64>, now: SystemTime, fallback: Duration) -> Duration {
    deadline_ms
        .map(|ms| SystemTime::UNIX_EPOCH + Duration::from_millis(ms))
        .and_then(|at| at.duration_since(now).ok())
        .filter(|left| !left.is_zero())
        .unwrap_or(fallback)
}

/// The public base URL of the API this request came through: `configured` when set (a custom
/// domain, the local stack), else `https://` and the domain name API Gateway reports.
pub fn public_base_url(req: &Request, configured: Option<&str>) -> Option<String> {
    if let Some(base) = configured {
        return Some(base.trim_end_matches('/').to_owned());
    }
    match req.request_context_ref() {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) => {
            ctx.domain_name.as_ref().map(|d| format!("https://{d}"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FALLBACK: Duration = Duration::from_secs(20);

    fn epoch_ms(t: SystemTime) -> u64 {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }

    #[test]
    fn a_deadline_in_the_future_is_the_time_left() {
        // Given Lambda's deadline 3 s from now
        let now = SystemTime::now();
        let at = epoch_ms(now + Duration::from_secs(3));
        // Then the time left is those 3 s (to the millisecond), not the fallback
        let left = time_left(Some(at), now, FALLBACK);
        assert!(
            left <= Duration::from_secs(3) && left > Duration::from_millis(2990),
            "{left:?}"
        );
    }

    #[test]
    fn a_relative_deadline_read_as_a_time_in_1970_is_no_deadline() {
        // Given the deadline cargo-lambda's runtime sends: the timeout, 600000 ms, not a time
        let left = time_left(Some(600_000), SystemTime::now(), FALLBACK);
        // Then the code's own bound applies, instead of "no time left"
        assert_eq!(left, FALLBACK);
    }

    #[test]
    fn a_deadline_already_past_or_missing_is_no_deadline() {
        let now = SystemTime::now();
        assert_eq!(
            time_left(Some(epoch_ms(now - Duration::from_secs(1))), now, FALLBACK),
            FALLBACK
        );
        assert_eq!(time_left(Some(epoch_ms(now)), now, FALLBACK), FALLBACK);
        assert_eq!(time_left(Some(0), now, FALLBACK), FALLBACK);
        assert_eq!(time_left(None, now, FALLBACK), FALLBACK);
    }

    #[test]
    fn the_margin_is_taken_from_the_fallback_too() {
        // Given an event with a relative deadline, as cargo lambda invoke sends it
        let mut ctx = lambda_http::Context::default();
        ctx.deadline = 600_000;
        let req = Request::default().with_lambda_context(ctx);
        // When the deadline is computed with a 2 s margin
        let at = deadline(&req, Duration::from_secs(10), Duration::from_secs(2));
        // Then the work has about 8 s, not none
        let left = at.saturating_duration_since(Instant::now());
        assert!(
            left > Duration::from_secs(7) && left <= Duration::from_secs(8),
            "{left:?}"
        );
    }
}
