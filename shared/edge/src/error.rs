//! The HTTP edge's errors: every error code of the contract as one enum, the one error answer
//! type of the routes, and the one place where each service error becomes a status and a code.

use lambda_http::http::{header, StatusCode};
use lambda_http::{Body, Response};
use serde_json::{json, Map, Value};

use channel_domain::account::AccountError;
use channel_domain::automation::SettingsError;
use channel_domain::sms::{TextError, MAX_MESSAGE_CHARS};
use channel_services::access::Refusal;
use channel_services::accounts::AccountsError;
use channel_services::callbacks::CallbackError;
use channel_services::desk::DeskError;
use channel_services::directory::DirectoryError;
use channel_services::ports::StoreError;
use channel_services::send::SendError;
use channel_services::team::TeamError;

/// Every error code the routes answer (`docs/architecture.md` lists them; a test keeps the two equal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "snake_case")]
#[allow(missing_docs)]
pub enum ErrorCode {
    AccountNotFound,
    AssignedToOther,
    AttachmentsNotSupported,
    Busy,
    CannedResponseNotFound,
    ConversationBusy,
    ConversationClosed,
    ConversationNotFound,
    CustomerIdInUse,
    DuplicateNumber,
    EmptyMessage,
    Forbidden,
    IdempotencyKeyReused,
    InternalError,
    InvalidAgentId,
    InvalidApiHost,
    InvalidApiKey,
    InvalidAutoClose,
    InvalidAutomatedMessage,
    InvalidBusinessHours,
    InvalidCannedResponse,
    InvalidCredentials,
    InvalidCursor,
    InvalidCustomerId,
    InvalidDisplayName,
    InvalidGracePeriod,
    InvalidIdempotencyKey,
    InvalidJson,
    InvalidLanguage,
    InvalidName,
    InvalidNumber,
    InvalidParameter,
    InvalidPhoneNumber,
    InvalidRole,
    InvalidSignature,
    InvalidTimezone,
    InvalidTransition,
    InvalidUserId,
    MalformedPayload,
    MessageTooLong,
    MissingParameter,
    NotAMember,
    NumberInUse,
    NumberNotFound,
    NumberSettingsTooLarge,
    PayloadTooLarge,
    RecipientOptedOut,
    RequestInProgress,
    RouteNotFound,
    SecretsUnavailable,
    StorageUnavailable,
    TelesignRejected,
    TelesignUnavailable,
    TooManyCannedResponses,
    TooManyNumbers,
    Unauthorized,
    UnknownAccount,
    UnknownNumber,
}

impl ErrorCode {
    /// The contract's spelling.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// An error answer: status, code, a message a person can act on, and extra fields.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The contract's code.
    pub code: ErrorCode,
    /// What to do about it.
    pub message: String,
    /// Extra fields of the error object (`count`, `telesign_code`, ...).
    pub details: Map<String, Value>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code.as_str(), self.message)
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    /// An error answer.
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: Map::new(),
        }
    }

    /// A 400.
    pub fn bad_request(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// A 404.
    pub fn not_found(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// A 503: a dependency is unavailable, the caller may retry.
    pub fn unavailable(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
    }

    /// A 500: the detail is logged here, never answered.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(detail = %detail, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::InternalError,
            "internal error",
        )
    }

    /// The same error with one more field.
    pub fn with(mut self, name: &str, value: Value) -> Self {
        self.details.insert(name.to_owned(), value);
        self
    }

    /// The `{"error": {"code", "message", ...}}` body.
    pub fn body(&self) -> Value {
        let mut error = Map::new();
        error.insert("code".into(), json!(self.code.as_str()));
        error.insert("message".into(), json!(self.message));
        for (k, v) in &self.details {
            error.entry(k.clone()).or_insert_with(|| v.clone());
        }
        json!({ "error": error })
    }

    /// The response.
    pub fn into_response(self) -> Response<Body> {
        let body = serde_json::to_vec(&self.body()).unwrap_or_default();
        let mut response = Response::new(Body::Binary(body));
        *response.status_mut() = self.status;
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json"),
        );
        response
    }
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        if let StoreError::Conflict(why) = &e {
            // Contention (another transaction on the same items), tried again and still there:
            // the caller's to retry, not an outage to wake anyone for.
            tracing::warn!(error = %why, "a write kept meeting another transaction");
            return Self::new(
                StatusCode::CONFLICT,
                ErrorCode::Busy,
                "another change to the same thing was being made at the same moment; try again",
            );
        }
        tracing::error!(error = %e, "storage failed");
        Self::unavailable(
            ErrorCode::StorageUnavailable,
            "the message store is unavailable; try again shortly",
        )
    }
}

impl From<DirectoryError> for ApiError {
    fn from(e: DirectoryError) -> Self {
        match e {
            DirectoryError::Store(s) => s.into(),
            DirectoryError::KeysUnavailable(detail) => {
                tracing::error!(detail = %detail, "the key store is unavailable");
                Self::unavailable(
                    ErrorCode::SecretsUnavailable,
                    "the credential store is unavailable; try again shortly",
                )
            }
            e @ DirectoryError::KeysUnusable { .. } => Self::internal(e),
        }
    }
}

impl From<TextError> for ApiError {
    fn from(e: TextError) -> Self {
        match e {
            TextError::Empty => Self::bad_request(ErrorCode::EmptyMessage, e.to_string()),
            TextError::TooLong { count } => Self::new(status(422), ErrorCode::MessageTooLong, e.to_string())
                .with("count", json!(count))
                .with("limit", json!(MAX_MESSAGE_CHARS)),
        }
    }
}

impl From<CallbackError> for ApiError {
    fn from(e: CallbackError) -> Self {
        let message = e.to_string();
        match e {
            CallbackError::UnknownAccount => Self::not_found(ErrorCode::UnknownAccount, message),
            CallbackError::InvalidSignature(_) => Self::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::InvalidSignature,
                "the request is not signed by TeleSign with this account's key",
            ),
            CallbackError::Malformed(_) => Self::bad_request(ErrorCode::MalformedPayload, message),
            CallbackError::UnknownNumber => Self::not_found(ErrorCode::UnknownNumber, message),
            CallbackError::Busy => StoreError::Unavailable(message).into(),
            CallbackError::Directory(d) => d.into(),
            CallbackError::Store(s) => s.into(),
        }
    }
}

impl From<SendError> for ApiError {
    fn from(e: SendError) -> Self {
        let message = e.to_string();
        let (code, status_code) = match e {
            SendError::ConversationNotFound => (ErrorCode::ConversationNotFound, 404),
            SendError::AccountNotFound => (ErrorCode::AccountNotFound, 404),
            SendError::UnknownNumber(_) => (ErrorCode::UnknownNumber, 400),
            SendError::ConversationClosed => (ErrorCode::ConversationClosed, 409),
            SendError::OptedOut => (ErrorCode::RecipientOptedOut, 422),
            SendError::KeyReused => (ErrorCode::IdempotencyKeyReused, 422),
            SendError::InProgress | SendError::FirstAttemptFailed => (ErrorCode::RequestInProgress, 409),
            SendError::Busy => (ErrorCode::ConversationBusy, 409),
            SendError::Forbidden => return ApiError::forbidden(),
            SendError::AssignedToOther(h) => return ApiError::assigned_to_other(h),
            SendError::Directory(d) => return d.into(),
            SendError::Store(s) => return s.into(),
        };
        Self::new(status(status_code), code, message)
    }
}

impl From<DeskError> for ApiError {
    fn from(e: DeskError) -> Self {
        let message = e.to_string();
        match e {
            DeskError::NotFound => Self::not_found(ErrorCode::ConversationNotFound, message),
            DeskError::Illegal { .. } => Self::new(StatusCode::CONFLICT, ErrorCode::InvalidTransition, message),
            DeskError::Unlistable | DeskError::AssignedClosed | DeskError::AssignedNarrowed => {
                Self::bad_request(ErrorCode::InvalidParameter, message)
            }
            DeskError::Cursor(_) => Self::bad_request(ErrorCode::InvalidCursor, message),
            DeskError::Busy => {
                tracing::warn!("a move kept losing to other changes of the conversation");
                Self::new(StatusCode::CONFLICT, ErrorCode::ConversationBusy, message)
            }
            DeskError::AccountNotFound => Self::not_found(ErrorCode::AccountNotFound, message),
            DeskError::Forbidden => Self::forbidden(),
            DeskError::AssignedToOther(h) => Self::assigned_to_other(h),
            DeskError::NotAMember(_) => Self::new(status(422), ErrorCode::NotAMember, message),
            DeskError::Closed => Self::new(StatusCode::CONFLICT, ErrorCode::ConversationClosed, message),
            DeskError::EmptyNote => Self::bad_request(ErrorCode::EmptyMessage, message),
            DeskError::NoteTooLong => Self::new(status(422), ErrorCode::MessageTooLong, message),
            DeskError::Store(s) => s.into(),
        }
    }
}

impl From<TeamError> for ApiError {
    fn from(e: TeamError) -> Self {
        let message = e.to_string();
        match e {
            TeamError::AccountNotFound => Self::not_found(ErrorCode::AccountNotFound, message),
            TeamError::Forbidden => Self::forbidden(),
            TeamError::InvalidRole => Self::bad_request(ErrorCode::InvalidRole, message),
            TeamError::InvalidDisplayName => Self::bad_request(ErrorCode::InvalidDisplayName, message),
            TeamError::InvalidCanned(_) => Self::bad_request(ErrorCode::InvalidCannedResponse, message),
            TeamError::CannedNotFound => Self::not_found(ErrorCode::CannedResponseNotFound, message),
            TeamError::TooManyCanned => Self::new(StatusCode::CONFLICT, ErrorCode::TooManyCannedResponses, message),
            TeamError::Cursor(_) => Self::bad_request(ErrorCode::InvalidCursor, message),
            TeamError::Store(s) => s.into(),
        }
    }
}

impl ApiError {
    /// 403 `forbidden`: a valid token whose roles do not allow the route.
    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "your role does not allow this; ask an operator",
        )
    }

    /// 409 `assigned_to_other`, naming the holder.
    pub fn assigned_to_other(holder: String) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            ErrorCode::AssignedToOther,
            format!("the conversation is assigned to {holder}; ask them or a supervisor to transfer it"),
        )
        .with("holder", json!(holder))
    }

    /// 401 `unauthorized`: no verified caller (the authorizer answers this before a function does).
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "sign in: no verified token came with the request",
        )
    }

    /// The answer of the gate's refusal about an account (hidden: no such account).
    pub fn refused_on_account(r: Refusal) -> Self {
        match r {
            Refusal::Forbidden => Self::forbidden(),
            Refusal::Hidden => Self::not_found(ErrorCode::AccountNotFound, "no messaging account has this id"),
            Refusal::HeldBy(h) => Self::assigned_to_other(h),
            Refusal::Store(s) => s.into(),
        }
    }
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        let code = match e {
            AccountError::InvalidNumber { .. } => ErrorCode::InvalidPhoneNumber,
            AccountError::AttachmentsNotSupported(_) => ErrorCode::AttachmentsNotSupported,
            AccountError::DescriptionTooLong => ErrorCode::InvalidNumber,
            AccountError::InvalidLanguage(_) => ErrorCode::InvalidLanguage,
            AccountError::InvalidName => ErrorCode::InvalidName,
            AccountError::DuplicateNumber(_) => ErrorCode::DuplicateNumber,
            AccountError::TooManyNumbers => ErrorCode::TooManyNumbers,
            AccountError::SettingsTooLarge { .. } => ErrorCode::NumberSettingsTooLarge,
            AccountError::InvalidCustomerId => ErrorCode::InvalidCustomerId,
            AccountError::InvalidApiKey(_) => ErrorCode::InvalidApiKey,
            AccountError::InvalidApiHost => ErrorCode::InvalidApiHost,
            AccountError::InvalidGracePeriod => ErrorCode::InvalidGracePeriod,
            AccountError::Settings(SettingsError::UnknownTimezone(_)) => ErrorCode::InvalidTimezone,
            AccountError::Settings(SettingsError::BusinessHours(_)) => ErrorCode::InvalidBusinessHours,
            AccountError::Settings(SettingsError::Timeout(_)) => ErrorCode::InvalidAutoClose,
            AccountError::Settings(SettingsError::Message { .. }) => ErrorCode::InvalidAutomatedMessage,
            AccountError::InvalidRetention => ErrorCode::InvalidParameter,
        };
        Self::bad_request(code, e.to_string())
    }
}

impl From<channel_services::privacy::PrivacyError> for ApiError {
    fn from(e: channel_services::privacy::PrivacyError) -> Self {
        match e {
            channel_services::privacy::PrivacyError::Store(s) => s.into(),
            channel_services::privacy::PrivacyError::Bucket(b) => {
                tracing::error!(error = %b, "the export bucket failed");
                Self::unavailable(
                    ErrorCode::StorageUnavailable,
                    "the export could not be stored for its link; try again shortly",
                )
            }
        }
    }
}

impl From<AccountsError> for ApiError {
    fn from(e: AccountsError) -> Self {
        let message = e.to_string();
        match e {
            AccountsError::NotFound => Self::not_found(ErrorCode::AccountNotFound, message),
            AccountsError::NumberNotFound => Self::not_found(ErrorCode::NumberNotFound, message),
            AccountsError::Invalid(a) => a.into(),
            AccountsError::InvalidCredentials { validation, .. } => {
                Self::new(status(422), ErrorCode::InvalidCredentials, message)
                    .with("result", json!(validation.verdict.as_str()))
                    .with("telesign_code", json!(validation.telesign_code))
            }
            AccountsError::NumberInUse(_) => Self::new(StatusCode::CONFLICT, ErrorCode::NumberInUse, message),
            AccountsError::CustomerIdInUse(_) => Self::new(StatusCode::CONFLICT, ErrorCode::CustomerIdInUse, message),
            AccountsError::TelesignUnavailable => Self::unavailable(ErrorCode::TelesignUnavailable, message),
            AccountsError::KeysUnavailable => Self::unavailable(ErrorCode::SecretsUnavailable, message),
            AccountsError::Directory(d) => d.into(),
            AccountsError::Store(s) => s.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_answers_the_contract_shape() {
        let e: ApiError = TextError::TooLong { count: 1601 }.into();
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        let body = e.body();
        assert_eq!(body["error"]["code"], "message_too_long");
        assert_eq!(body["error"]["count"], 1601);
        assert_eq!(body["error"]["limit"], 1600);
    }

    #[test]
    fn internal_errors_never_show_their_detail() {
        let body = ApiError::internal("ResourceNotFoundException: table x").body();
        assert_eq!(body["error"]["message"], "internal error");
    }

    #[test]
    fn store_faults_answer_503_without_their_text() {
        let e: ApiError = SendError::Store(StoreError::Unavailable("ThrottlingException arn:aws:…".into())).into();
        assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(!e.body().to_string().contains("Throttling"));
    }
}
