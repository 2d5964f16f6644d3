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
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
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

/// A header as text, if present and readable.
pub fn header_str<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Turns a handler's result into the response: errors answer through `ApiError`.
pub fn respond(result: Result<Response<Body>, ApiError>) -> Response<Body> {
    result.unwrap_or_else(ApiError::into_response)
}

/// The caller's identity: the `sub` claim of the JWT the gateway's authorizer verified, if any.
pub fn caller_id(req: &Request) -> Option<String> {
    req.request_context_ref()
        .and_then(|c| c.authorizer())
        .and_then(|a| a.jwt.as_ref())
        .and_then(|j| j.claims.get("sub").cloned())
        .filter(|s| !s.is_empty())
}

/// When the work of this invocation must be done: the Lambda deadline less `margin`, or
/// `fallback` from now where there is no Lambda context (the local gateway).
pub fn deadline(req: &Request, fallback: Duration, margin: Duration) -> Instant {
    let now = Instant::now();
    let left = req
        .lambda_context_ref()
        .filter(|c| c.deadline > 0)
        .map(|c| c.deadline().duration_since(SystemTime::now()).unwrap_or(Duration::ZERO))
        .unwrap_or(fallback);
    now + left.saturating_sub(margin)
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
