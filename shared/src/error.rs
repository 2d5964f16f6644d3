//! The one error type of the HTTP routes, and the one place that turns it into a response.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde_json::{json, Map, Value};

/// Everything a route can answer other than success.
///
/// Client mistakes carry a contract `code` and a message a person can act on; infrastructure
/// faults are logged with their detail where they happen and answered with a generic text.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is unreadable or breaks a rule of the contract.
    #[error("{message}")]
    BadRequest {
        /// The contract's snake_case code.
        code: &'static str,
        /// What to fix.
        message: String,
    },
    /// 401: a TeleSign callback without a valid signature.
    #[error("the request is not signed by TeleSign with this account's key")]
    InvalidSignature,
    /// 404: the thing named does not exist.
    #[error("{message}")]
    NotFound {
        /// The contract's snake_case code.
        code: &'static str,
        /// What was not found.
        message: String,
    },
    /// 409: the request conflicts with the current state.
    #[error("{message}")]
    Conflict {
        /// The contract's snake_case code.
        code: &'static str,
        /// What conflicts.
        message: String,
    },
    /// 413: the body is larger than the route takes.
    #[error("the body is larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// 422: well-formed, but refused by a rule (with details for the caller).
    #[error("{message}")]
    Unprocessable {
        /// The contract's snake_case code.
        code: &'static str,
        /// Why.
        message: String,
        /// Extra fields of the error object (e.g. `count`, `telesign_code`).
        details: Map<String, Value>,
    },
    /// 502: TeleSign refused the request.
    #[error("TeleSign refused the message: {description}")]
    TelesignRejected {
        /// TeleSign's status code.
        telesign_code: Option<u32>,
        /// TeleSign's text.
        description: String,
    },
    /// 503: a dependency is unavailable; the caller may retry.
    #[error("{message}")]
    Unavailable {
        /// `storage_unavailable`, `telesign_unavailable`, `secrets_unavailable`.
        code: &'static str,
        /// What is unavailable.
        message: String,
    },
    /// 500: a bug or an unexpected fault. The detail is logged, never answered.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// A 400 with a code and a message.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }

    /// A 404 with a code and a message.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::NotFound {
            code,
            message: message.into(),
        }
    }

    /// A 409 with a code and a message.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }

    /// A 503 with a code and a message.
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unavailable {
            code,
            message: message.into(),
        }
    }

    /// The HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::InvalidSignature => StatusCode::UNAUTHORIZED,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TelesignRejected { .. } => StatusCode::BAD_GATEWAY,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The contract's snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. }
            | Self::NotFound { code, .. }
            | Self::Conflict { code, .. }
            | Self::Unprocessable { code, .. }
            | Self::Unavailable { code, .. } => code,
            Self::InvalidSignature => "invalid_signature",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::TelesignRejected { .. } => "telesign_rejected",
            Self::Internal(_) => "internal_error",
        }
    }

    /// The `{"error": {"code", "message", ...}}` body.
    pub fn body(&self) -> Value {
        let mut error = Map::new();
        error.insert("code".into(), json!(self.code()));
        error.insert("message".into(), json!(self.to_string()));
        match self {
            Self::Unprocessable { details, .. } => {
                for (k, v) in details {
                    error.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
            Self::TelesignRejected {
                telesign_code,
                description,
            } => {
                error.insert("telesign_code".into(), json!(telesign_code));
                error.insert("telesign_description".into(), json!(description));
            }
            _ => {}
        }
        json!({ "error": error })
    }

    /// The response. An internal error is logged here with its detail.
    pub fn into_response(self) -> Response<Body> {
        if let Self::Internal(detail) = &self {
            tracing::error!(detail = %detail, "internal error");
        }
        crate::http::json_response(self.status(), &self.body())
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::error!(error = %e, "storage failed");
        Self::unavailable(
            "storage_unavailable",
            "the message store is unavailable; try again shortly",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_answers_the_contract_shape() {
        let e = ApiError::Unprocessable {
            code: "message_too_long",
            message: "1601 characters; the limit is 1600".into(),
            details: Map::from_iter([("count".to_string(), json!(1601))]),
        };
        assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = e.body();
        assert_eq!(body["error"]["code"], "message_too_long");
        assert_eq!(body["error"]["count"], 1601);
    }

    #[test]
    fn internal_errors_never_show_their_detail() {
        let body = ApiError::Internal("ResourceNotFoundException: table x".into()).body();
        assert_eq!(body["error"]["message"], "internal error");
    }
}
