//! Logging: JSON events on standard output (the format Lambda's `LogFormat: JSON` asks for), at
//! the level Lambda's `ApplicationLogLevel` sets, with the libraries that would write raw payloads
//! held back.
//!
//! At TRACE the Lambda runtime logs each raw event (the `Authorization` header with its token, a
//! new account's API key in the body) and the AWS SDK each request and response (a secret's value);
//! those libraries never log below DEBUG here, whatever level is asked. The template allows no
//! TRACE at all; locally TRACE still shows the channel's own code. Each line carries the spans it
//! was written in: the runtime's (`requestId`) and the request's (`shared::observe::span`: actor,
//! route, ids).

use lambda_http::tracing::subscriber::filter::{Directive, EnvFilter, LevelFilter};

/// The libraries whose TRACE lines hold raw payloads (events, requests, responses, headers).
pub const RAW_PAYLOAD_TARGETS: &[&str] = &[
    "lambda_runtime",
    "lambda_runtime_api_client",
    "lambda_http",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http_client",
    "aws_sigv4",
    "aws_config",
    "aws_sdk_dynamodb",
    "aws_sdk_secretsmanager",
    "hyper",
    "hyper_util",
    "h2",
    "reqwest",
    "rustls",
];

/// The level asked for: `AWS_LAMBDA_LOG_LEVEL` (the template's `LogLevel`), else `RUST_LOG`,
/// else `info`.
pub fn requested_level() -> String {
    channel_adapters::config::optional("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|| channel_adapters::config::optional("RUST_LOG"))
        .unwrap_or_else(|| "info".to_owned())
}

/// The filter of `requested` (a level or `RUST_LOG` directives): as asked, except that the
/// libraries of [`RAW_PAYLOAD_TARGETS`] log at DEBUG at most.
pub fn filter(requested: &str) -> EnvFilter {
    let mut filter = EnvFilter::try_new(requested).unwrap_or_else(|_| EnvFilter::new("info"));
    if filter.max_level_hint().is_some_and(|max| max > LevelFilter::DEBUG) {
        for target in RAW_PAYLOAD_TARGETS {
            if let Ok(cap) = format!("{target}=debug").parse::<Directive>() {
                filter = filter.add_directive(cap);
            }
        }
    }
    filter
}

/// Installs the subscriber once at start: JSON when `AWS_LAMBDA_LOG_FORMAT` is `JSON`, the level
/// of [`requested_level`] through [`filter`]. Lambda stamps each line with its time.
pub fn init() {
    let json =
        channel_adapters::config::optional("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = lambda_http::tracing::subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_env_filter(filter(&requested_level()))
        .with_writer(std::io::stdout);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use lambda_http::tracing::subscriber;

    use super::*;

    /// What a subscriber with `filter` writes while the runtime, the SDK and the channel each log
    /// one line at TRACE and one at DEBUG.
    fn written(requested: &str) -> String {
        let out = Arc::new(Mutex::new(Vec::<u8>::new()));
        let sink = out.clone();
        let make = move || Writer(sink.clone());
        let s = subscriber::fmt()
            .with_env_filter(filter(requested))
            .with_writer(make)
            .finish();
        ::tracing::subscriber::with_default(s, || {
            tracing::trace!(target: "lambda_runtime::layers::api_response", "runtime-trace");
            tracing::debug!(target: "lambda_runtime", "runtime-debug");
            tracing::trace!(target: "aws_smithy_runtime::client::orchestrator", "sdk-trace");
            tracing::trace!(target: "shared::service", "own-trace");
            tracing::debug!(target: "shared::service", "own-debug");
        });
        let text = String::from_utf8_lossy(&out.lock().unwrap()).into_owned();
        text
    }

    struct Writer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Writer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn trace_never_reaches_the_raw_payloads_of_the_runtime_and_the_sdk() {
        // Given TRACE asked for (a function's level set by hand)
        let out = written("TRACE");
        // Then the runtime's raw event and the SDK's requests stay out; DEBUG and the channel's own TRACE stay in
        assert!(!out.contains("runtime-trace") && !out.contains("sdk-trace"), "{out}");
        assert!(out.contains("runtime-debug") && out.contains("own-trace"), "{out}");
    }

    #[test]
    fn a_quieter_level_is_not_raised_by_the_caps() {
        let out = written("INFO");
        assert!(!out.contains("debug") && !out.contains("trace"), "{out}");
        let out = written("info,shared=trace");
        assert!(out.contains("own-trace") && !out.contains("runtime-trace"), "{out}");
    }
}
