//! What each invocation leaves for the people who operate the channel: every log line it writes
//! carries the actor and the request's ids (one span, set here and nowhere else), and the metrics
//! it emitted are written as EMF lines when it ends. `runtime::run` wraps every deployed
//! invocation in [`invocation`]; the local gateway wraps each of its calls the same way.
//!
//! Also the edge's reading of a callback's result as a metric ([`callback`]).

use std::future::Future;

use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use tracing::Instrument;

use crate::http::caller_id;
use channel_domain::ids::{is_id, AccountId};
use channel_services::callbacks::{CallbackError, CallbackOutcome, ReportOutcome};
use channel_services::metrics::{CallbackResult, Record};

/// The actor of a request without a verified token (TeleSign's callbacks, the console page).
pub const ANONYMOUS: &str = "anonymous";

/// The path parameters that are ids, put on the span when present (never a phone number).
const ID_PARAMS: [&str; 2] = ["account_id", "conversation_id"];

/// The span of one request: `actor` (the verified token's `sub`), `route` (the route key),
/// `request_id` (API Gateway's, the same as in its access log) and the ids of the path.
pub fn span(req: &Request) -> tracing::Span {
    let actor = caller_id(req).unwrap_or_else(|| ANONYMOUS.to_owned());
    let route = crate::http::route_key(req);
    let span = tracing::info_span!(
        "request",
        actor = %actor,
        route = route,
        request_id = %request_id(req),
        account_id = tracing::field::Empty,
        conversation_id = tracing::field::Empty,
    );
    let params = req.path_parameters_ref();
    for name in ID_PARAMS {
        if let Some(id) = params.and_then(|p| p.first(name)).filter(|v| is_id(v)) {
            span.record(name, id);
        }
    }
    span
}

/// API Gateway's id of the request (empty outside API Gateway).
pub fn request_id(req: &Request) -> String {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone().unwrap_or_default(),
        _ => String::new(),
    }
}

/// Runs `handle` on `req` inside the request's span and a metrics scope, then writes the
/// metrics it emitted (with the request id) before answering.
pub async fn invocation<F, Fut>(req: Request, handle: F) -> Response<Body>
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response<Body>>,
{
    let span = span(&req);
    let id = request_id(&req);
    let (response, records) = channel_services::metrics::scope(handle(req).instrument(span)).await;
    channel_services::metrics::write(&records, &[("request_id", &id)]);
    response
}

/// The metric of a callback's result (`account_id` as the URL names it: it becomes a dimension
/// only when the account exists).
pub fn callback(account_id: &str, result: &Result<CallbackOutcome, CallbackError>) -> Record {
    let (outcome, reason, known) = match result {
        Ok(CallbackOutcome::Stored { .. }) => (CallbackResult::Stored, None, true),
        Ok(CallbackOutcome::Duplicate | CallbackOutcome::Report(ReportOutcome::Duplicate)) => {
            (CallbackResult::Duplicate, None, true)
        }
        Ok(CallbackOutcome::Report(ReportOutcome::Updated)) => (CallbackResult::Updated, None, true),
        Ok(CallbackOutcome::Report(ReportOutcome::Stale | ReportOutcome::Unknown) | CallbackOutcome::Ignored) => {
            (CallbackResult::Ignored, None, true)
        }
        // Verified, so the account exists, even when its record could not be read.
        Ok(CallbackOutcome::Parked) => (CallbackResult::Parked, None, true),
        Err(CallbackError::InvalidSignature(e)) => (CallbackResult::Refused, Some(<&str>::from(e)), true),
        Err(CallbackError::UnknownAccount) => (CallbackResult::UnknownAccount, None, false),
        Err(CallbackError::UnknownNumber) => (CallbackResult::UnknownNumber, None, true),
        Err(CallbackError::Malformed(_)) => (CallbackResult::Malformed, None, true),
        Err(CallbackError::Busy) => (CallbackResult::Failed, None, true),
        // The account may not have been read: no account dimension.
        Err(CallbackError::Directory(_) | CallbackError::Store(_)) => (CallbackResult::Failed, None, false),
    };
    let account = AccountId::parse(account_id).ok().filter(|_| known);
    channel_services::metrics::callback(outcome, reason, account.as_ref())
}

/// The metric of a callback refused unread for its size (413): its account is not verified.
pub fn oversized_callback() -> Record {
    channel_services::metrics::callback(CallbackResult::Malformed, None, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use channel_domain::telesign::SignatureError;
    use channel_services::metrics::Dim;

    #[test]
    fn a_refused_signature_names_its_reason_and_account() {
        let account = AccountId::new();
        let r = callback(
            account.as_str(),
            &Err(CallbackError::InvalidSignature(SignatureError::Mismatch)),
        );
        assert_eq!(r.get(Dim::Outcome), Some("refused"));
        assert_eq!(r.get(Dim::Reason), Some("mismatch"));
        assert_eq!(r.get(Dim::AccountId), Some(account.as_str()));
    }

    #[test]
    fn an_unknown_account_or_a_failed_read_puts_no_account_in_a_dimension() {
        let id = AccountId::new();
        let unknown = callback(id.as_str(), &Err(CallbackError::UnknownAccount));
        assert_eq!(unknown.get(Dim::Outcome), Some("unknown_account"));
        assert_eq!(unknown.get(Dim::AccountId), None);
        let down = callback(
            id.as_str(),
            &Err(CallbackError::Store(channel_services::ports::StoreError::Unavailable(
                "down".into(),
            ))),
        );
        assert_eq!(down.get(Dim::Outcome), Some("failed"));
        assert_eq!(down.get(Dim::AccountId), None);
    }

    /// Every line written while `reply.json` (an agent's reply, the token's `sub` `agent-7`) is
    /// handled, through a JSON subscriber as deployed.
    fn lines_of_a_reply(handle: impl FnOnce()) -> String {
        use std::sync::{Arc, Mutex};
        let event = include_str!("../../../events/reply.json");
        let req = lambda_http::request::from_str(event).expect("the sample event parses");
        let out = Arc::new(Mutex::new(Vec::<u8>::new()));
        let sink = out.clone();
        let make = move || Sink(sink.clone());
        let subscriber = lambda_http::tracing::subscriber::fmt()
            .json()
            .with_writer(make)
            .finish();
        let _guard = ::tracing::subscriber::set_default(subscriber);
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        runtime.block_on(invocation(req, |_| async move {
            handle();
            Response::new(Body::Empty)
        }));
        let text = String::from_utf8_lossy(&out.lock().expect("log")).into_owned();
        text
    }

    struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::ErrorKind::Other)?
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_of_a_request_carries_its_actor_route_and_ids() {
        // When the handler logs a decision that names no actor
        let out = lines_of_a_reply(|| ::tracing::info!(status = "queued", "outbound SMS"));
        // Then the line carries the token's sub, the route, API Gateway's request id and the path's id
        let line: serde_json::Value = serde_json::from_str(out.lines().next().expect("a line")).expect("JSON");
        let span = &line["span"];
        assert_eq!(span["actor"], "operator-7", "{line}");
        assert_eq!(span["route"], "POST /conversations/{conversation_id}/messages");
        assert_eq!(span["request_id"], "JKJaXmPLvHcESHA=");
        assert_eq!(span["conversation_id"], "c61d565d4ab646c88f5871ae52528f89");
    }
}
