//! TLS for every call a function makes: the trust anchors (compiled in, plus an optional extra CA
//! bundle), the one HTTPS client and connection pool the function's AWS clients share, the TLS
//! configuration of the TeleSign client, and the warm-up that opens the AWS connections during
//! init instead of on the first request.
//!
//! Why: the SDK's default client loads the system trust store on its first request (a bundle and
//! every file of `/etc/ssl/certs`, parsed one by one) and each SDK client opens its own
//! connections. Here the roots are a table in the binary (no file is read unless
//! `EXTRA_CA_CERTS` names one), the rustls configuration is built once per process, and every
//! SDK client made from [`crate::aws::load_config`] shares one pool.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use hyper_util::client::legacy::connect::HttpConnector as TcpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

/// The variable naming a PEM file of CA certificates trusted in addition to the compiled-in roots
/// (a private CA, or a local emulator's). Read once, at the first TLS use.
pub const EXTRA_CA_CERTS: &str = "EXTRA_CA_CERTS";

/// How long a TCP connection may take to open (the AWS configuration uses the same value).
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(1_000);

/// How long the warm-up waits for one endpoint before giving up on it.
const WARM_UP_TIMEOUT: Duration = Duration::from_millis(1_000);

/// The rustls configuration of every client of the process: the compiled-in roots
/// (`webpki-roots`, Mozilla's list) and the certificates of `EXTRA_CA_CERTS`, built once.
pub fn client_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            // ring is the process's provider (see the workspace manifest for why not aws-lc-rs);
            // installing fails only when one is installed already, which is then used.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let roots = roots(crate::config::optional(EXTRA_CA_CERTS).as_deref());
            Arc::new(
                rustls::ClientConfig::builder()
                    .with_root_certificates(roots)
                    .with_no_client_auth(),
            )
        })
        .clone()
}

/// The compiled-in roots (a table in the binary: nothing to read or parse) and those of `extra`.
fn roots(extra: Option<&str>) -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = extra {
        add_extra_roots(&mut roots, path);
    }
    roots
}

/// Adds every certificate of the PEM file at `path`. A file that cannot be read or holds no
/// certificate is logged and skipped: the compiled-in roots still serve AWS and TeleSign.
fn add_extra_roots(roots: &mut rustls::RootCertStore, path: &str) {
    let certs: Result<Vec<CertificateDer<'static>>, _> = match CertificateDer::pem_file_iter(path) {
        Ok(iter) => iter.collect(),
        Err(error) => {
            tracing::error!(variable = EXTRA_CA_CERTS, path, %error, "extra CA bundle not read");
            return;
        }
    };
    match certs {
        Ok(certs) => {
            let (added, ignored) = roots.add_parsable_certificates(certs);
            if added == 0 || ignored > 0 {
                tracing::error!(
                    variable = EXTRA_CA_CERTS,
                    path,
                    added,
                    ignored,
                    "extra CA bundle partly unusable"
                );
            }
        }
        Err(error) => tracing::error!(variable = EXTRA_CA_CERTS, path, %error, "extra CA bundle not parsed"),
    }
}

type Pool = Client<hyper_rustls::HttpsConnector<TcpConnector>, SdkBody>;

/// The HTTPS client every SDK client of the process shares (one pool: a connection opened by the
/// warm-up or by one SDK client serves the others).
#[derive(Clone, Debug)]
struct SharedPool {
    pool: Pool,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let mut tcp = TcpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config((*client_config()).clone())
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .build(https)
    })
}

/// The HTTP client to hand to `aws_config` (`.http_client(...)`): the process's one pool.
pub fn http_client() -> SharedHttpClient {
    SharedHttpClient::new(SharedPool { pool: pool().clone() })
}

impl HttpClient for SharedPool {
    fn http_connector(&self, settings: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
        // The connect timeout is the pool's (`CONNECT_TIMEOUT`); the read timeout, when the SDK
        // sets one, bounds the wait for the answer's head.
        SharedHttpConnector::new(Connector {
            pool: self.pool.clone(),
            read_timeout: settings.read_timeout(),
        })
    }
}

#[derive(Debug)]
struct Connector {
    pool: Pool,
    read_timeout: Option<Duration>,
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let request = match request.try_into_http1x() {
            Ok(request) => request,
            Err(error) => return HttpConnectorFuture::ready(Err(ConnectorError::user(error.into()))),
        };
        let answer = self.pool.request(request);
        let read_timeout = self.read_timeout;
        HttpConnectorFuture::new(async move {
            let response = match read_timeout {
                Some(limit) => tokio::time::timeout(limit, answer)
                    .await
                    .map_err(|elapsed| ConnectorError::timeout(elapsed.into()))?,
                None => answer.await,
            }
            .map_err(connector_error)?;
            HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
                .map_err(|error| ConnectorError::other(error.into(), None))
        })
    }
}

/// Classifies a failed request for the SDK's retry strategy, as the SDK's own client does: a
/// connection that did not open, broke or closed early is retryable I/O; the rest is left to the
/// SDK's classifiers.
fn connector_error(error: hyper_util::client::legacy::Error) -> ConnectorError {
    let broken = error.is_connect()
        || std::iter::successors(std::error::Error::source(&error), |e| e.source()).any(|e| {
            e.is::<std::io::Error>()
                || e.downcast_ref::<hyper::Error>()
                    .is_some_and(|h| h.is_closed() || h.is_canceled() || h.is_incomplete_message())
        });
    if broken {
        ConnectorError::io(error.into())
    } else {
        ConnectorError::other(error.into(), None)
    }
}

/// An AWS service a function calls, for [`warm_up`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// DynamoDB.
    DynamoDb,
    /// Secrets Manager.
    SecretsManager,
}

impl Service {
    /// The endpoint the SDK uses: `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`, or the
    /// regional endpoint of `AWS_REGION`.
    fn endpoint(self) -> Option<String> {
        self.endpoint_in(crate::config::optional)
    }

    fn endpoint_in(self, var: impl Fn(&'static str) -> Option<String>) -> Option<String> {
        let (variable, host) = match self {
            Self::DynamoDb => ("AWS_ENDPOINT_URL_DYNAMODB", "dynamodb"),
            Self::SecretsManager => ("AWS_ENDPOINT_URL_SECRETS_MANAGER", "secretsmanager"),
        };
        var(variable).or_else(|| var("AWS_ENDPOINT_URL")).or_else(|| {
            let region = var("AWS_REGION")?;
            Some(format!("https://{host}.{region}.amazonaws.com"))
        })
    }
}

/// Opens the pool's connection to each service during init (Lambda's init phase), so that the
/// first invocation finds DNS, TCP and the TLS handshake done. It sends `GET /` (unsigned, no
/// IAM action; DynamoDB answers it with its health line) and keeps the connection; a failure or a
/// timeout is logged and costs the first request nothing more than it cost before.
pub async fn warm_up(services: &[Service]) {
    let tasks: Vec<_> = services
        .iter()
        .filter_map(|service| Some((*service, service.endpoint()?)))
        .map(|(service, endpoint)| {
            tokio::spawn(async move {
                let request =
                    http::Request::get(endpoint.trim_end_matches('/').to_owned() + "/").body(SdkBody::empty());
                let Ok(request) = request else {
                    tracing::warn!(?service, endpoint, "warm-up: endpoint is not a URL");
                    return;
                };
                let opened = tokio::time::timeout(WARM_UP_TIMEOUT, async {
                    let response = pool().request(request).await?;
                    // Read the answer to its end so that the connection goes back to the pool.
                    http_body_util::BodyExt::collect(response.into_body()).await?;
                    Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
                })
                .await;
                match opened {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => tracing::warn!(?service, %error, "warm-up: no connection"),
                    Err(_) => tracing::warn!(?service, "warm-up: no connection within its time"),
                }
            })
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca_pem() -> String {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let key = rcgen::KeyPair::generate().expect("key");
        params.self_signed(&key).expect("certificate").pem()
    }

    #[test]
    fn roots_are_compiled_in_without_a_file() {
        // given no extra bundle / when the roots are built / then they are Mozilla's list
        assert_eq!(roots(None).len(), webpki_roots::TLS_SERVER_ROOTS.len());
        assert!(roots(None).len() > 100);
    }

    #[test]
    fn an_extra_bundle_adds_its_certificates() {
        // given a PEM file of two CA certificates
        let path = std::env::temp_dir().join(format!("extra-ca-{}.pem", uuid::Uuid::new_v4()));
        std::fs::write(&path, ca_pem() + &ca_pem()).expect("write");
        // when the roots are built with it
        let store = roots(path.to_str());
        std::fs::remove_file(&path).ok();
        // then both are trusted besides the compiled-in ones
        assert_eq!(store.len(), webpki_roots::TLS_SERVER_ROOTS.len() + 2);
    }

    #[test]
    fn a_missing_extra_bundle_leaves_the_compiled_in_roots() {
        let store = roots(Some("/no/such/bundle.pem"));
        assert_eq!(store.len(), webpki_roots::TLS_SERVER_ROOTS.len());
    }

    #[test]
    fn warm_up_endpoint_follows_the_sdk_variables() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &'static str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        };
        // the service's own variable first, then the global one, then the regional endpoint
        let own = env(&[
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", "https://sm.local"),
            ("AWS_ENDPOINT_URL", "https://all"),
        ]);
        assert_eq!(
            Service::SecretsManager.endpoint_in(own).as_deref(),
            Some("https://sm.local")
        );
        let global = env(&[("AWS_ENDPOINT_URL", "https://all"), ("AWS_REGION", "eu-west-1")]);
        assert_eq!(Service::DynamoDb.endpoint_in(global).as_deref(), Some("https://all"));
        let regional = env(&[("AWS_REGION", "eu-west-1")]);
        assert_eq!(
            Service::DynamoDb.endpoint_in(regional).as_deref(),
            Some("https://dynamodb.eu-west-1.amazonaws.com")
        );
        assert_eq!(Service::SecretsManager.endpoint_in(env(&[])), None);
    }
}
