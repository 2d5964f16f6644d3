//! The benchmark's TLS endpoints: a CA of its own, made at each run, and a TLS-terminating HTTP
//! proxy per emulator, so that the functions talk HTTPS to DynamoDB Local, moto and the simulator as
//! they talk to AWS and TeleSign. The functions trust the CA through `EXTRA_CA_CERTS`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
use tokio::net::TcpListener;
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;

/// The CA and the server certificate (`127.0.0.1`, `localhost`) it signed.
pub struct BenchCa {
    /// The CA certificate alone (PEM): what `EXTRA_CA_CERTS` names.
    pub ca_file: PathBuf,
    /// The system bundle followed by the CA (PEM), for clients that replace the system store
    /// (`SSL_CERT_FILE`, `AWS_CA_BUNDLE`) rather than add to it.
    pub bundle_file: PathBuf,
    acceptor: TlsAcceptor,
    /// TLS connections accepted by every proxy of this CA.
    pub connections: Arc<AtomicU64>,
}

/// The system's CA bundle (Debian's path), copied into the bench's own bundle.
const SYSTEM_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

impl BenchCa {
    /// Makes a CA and a server certificate, and writes the CA's files into `dir`.
    pub fn generate(dir: &Path) -> Result<Self, String> {
        let e = |e: rcgen::Error| e.to_string();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(e)?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "sms-channel bench CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().map_err(e)?).map_err(e)?;

        let mut server_params =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).map_err(e)?;
        server_params
            .distinguished_name
            .push(DnType::CommonName, "sms-channel bench endpoint");
        let server_key = KeyPair::generate().map_err(e)?;
        let server_cert = server_params.signed_by(&server_key, &ca).map_err(e)?;

        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let ca_file = dir.join("bench-ca.pem");
        std::fs::write(&ca_file, ca.pem()).map_err(|e| e.to_string())?;
        let mut bundle = std::fs::read_to_string(SYSTEM_BUNDLE).unwrap_or_default();
        bundle.push('\n');
        bundle.push_str(&ca.pem());
        let bundle_file = dir.join("bench-bundle.pem");
        std::fs::write(&bundle_file, bundle).map_err(|e| e.to_string())?;

        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into());
        let config =
            rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_no_client_auth()
                .with_single_cert(vec![server_cert.der().clone(), ca.der().clone()], key)
                .map_err(|e| e.to_string())?;
        Ok(Self {
            ca_file,
            bundle_file,
            acceptor: TlsAcceptor::from(Arc::new(config)),
            connections: Arc::default(),
        })
    }

    /// Listens on `127.0.0.1:port` (0: any), terminates TLS and forwards each HTTP request to
    /// `upstream` (an `http://host:port` URL), keeping the client's connection open as AWS does
    /// (moto's server closes every connection; the functions must not see that). Returns the
    /// `https://` URL to use instead.
    pub async fn proxy(&self, port: u16, upstream: &str) -> Result<String, String> {
        let upstream = upstream.trim_end_matches('/').to_owned();
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| format!("127.0.0.1:{port}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let acceptor = self.acceptor.clone();
        let connections = self.connections.clone();
        let client: Client<HttpConnector, Incoming> = Client::builder(TokioExecutor::new()).build_http();
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                connections.fetch_add(1, Ordering::Relaxed);
                let acceptor = acceptor.clone();
                let client = client.clone();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let _ = tcp.set_nodelay(true);
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = service_fn(move |req| forward(client.clone(), upstream.clone(), req));
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(tls), service).await;
                });
            }
        });
        Ok(format!("https://{addr}"))
    }
}

/// Sends `req` on to `upstream`, without the hop-by-hop `Connection` header either way.
async fn forward(
    client: Client<HttpConnector, Incoming>,
    upstream: String,
    mut req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Incoming>, hyper_util::client::legacy::Error> {
    let path = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
    if let Ok(uri) = format!("{upstream}{path}").parse() {
        *req.uri_mut() = uri;
    }
    req.headers_mut().remove(hyper::header::CONNECTION);
    let mut response = client.request(req).await?;
    response.headers_mut().remove(hyper::header::CONNECTION);
    Ok(response)
}
