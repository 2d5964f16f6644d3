//! What every function's `main` does: configuration, clients, and the Lambda loop.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use lambda_http::{service_fn, Body, Request, Response};

use channel_adapters::config::{self, ConfigError};
use channel_adapters::gateway::{RetryPolicy, TelesignClient};
use channel_adapters::meter::Meter;
use channel_adapters::secrets::Secrets;
use channel_adapters::store::Dynamo;
use channel_services::directory::CachedDirectory;

/// The clients a function is built from, made once at start.
#[derive(Debug, Clone)]
pub struct Clients {
    /// The AWS configuration.
    pub aws: aws_config::SdkConfig,
    /// The channel's table name.
    pub table: String,
    /// Counts every AWS request of the clients made here.
    pub meter: Meter,
    /// `RAW_PAYLOAD_RETENTION_DAYS` (default 30): how long raw callback bodies are kept.
    pub raw_payload_days: u32,
}

impl Clients {
    /// Reads `TABLE_NAME` and the AWS configuration; a missing setting fails here, at start.
    pub async fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            table: config::table_name()?,
            aws: channel_adapters::aws::load_config().await,
            meter: Meter::default(),
            raw_payload_days: config::parsed(
                "RAW_PAYLOAD_RETENTION_DAYS",
                channel_adapters::store::DEFAULT_RAW_PAYLOAD_DAYS,
            )?,
        })
    }

    /// The same clients with a meter of their own (one function's requests, counted apart).
    pub fn with_new_meter(&self) -> Self {
        Self {
            meter: Meter::default(),
            ..self.clone()
        }
    }

    /// The table.
    pub fn dynamo(&self) -> Dynamo {
        Dynamo::new(&self.aws, self.table.clone(), &self.meter).with_raw_payload_days(self.raw_payload_days)
    }

    /// The account secrets (`SECRET_PREFIX`) and the key of opt-out tags (`OPT_OUT_KEY_SECRET`).
    pub fn secrets(&self) -> Secrets {
        let prefix =
            config::optional("SECRET_PREFIX").unwrap_or_else(|| channel_adapters::secrets::DEFAULT_PREFIX.to_owned());
        let opt_out_key = config::optional("OPT_OUT_KEY_SECRET")
            .unwrap_or_else(|| channel_adapters::secrets::DEFAULT_OPT_OUT_KEY_SECRET.to_owned());
        Secrets::new(&self.aws, prefix, &self.meter).with_opt_out_key(opt_out_key)
    }

    /// The cached account directory (`SECRET_PREFIX`, `CACHE_TTL_SECONDS`).
    pub fn directory(&self) -> Result<CachedDirectory<Dynamo, Secrets>, ConfigError> {
        let ttl = config::parsed("CACHE_TTL_SECONDS", 300u64)?;
        Ok(CachedDirectory::new(
            self.dynamo(),
            self.secrets(),
            Duration::from_secs(ttl),
        ))
    }

    /// The parking queue of callbacks (`CALLBACK_QUEUE_URL`, required).
    pub fn queue(&self) -> Result<channel_adapters::queue::Queue, ConfigError> {
        let url = config::url("CALLBACK_QUEUE_URL")?.ok_or(ConfigError::Missing("CALLBACK_QUEUE_URL"))?;
        Ok(channel_adapters::queue::Queue::new(&self.aws, url, &self.meter))
    }

    /// The work queue (`WORK_QUEUE_URL`, required).
    pub fn work_queue(&self) -> Result<channel_adapters::queue::Queue, ConfigError> {
        let url = config::url("WORK_QUEUE_URL")?.ok_or(ConfigError::Missing("WORK_QUEUE_URL"))?;
        Ok(channel_adapters::queue::Queue::new(&self.aws, url, &self.meter))
    }

    /// The export bucket (`EXPORT_BUCKET`), where an export too large to answer waits for its link.
    pub fn export_bucket(&self) -> Result<channel_adapters::exports::ExportBucket, ConfigError> {
        let bucket = config::required("EXPORT_BUCKET")?;
        Ok(channel_adapters::exports::ExportBucket::new(
            &self.aws,
            bucket,
            &self.meter,
        ))
    }

    /// The sweep queue (`SWEEP_QUEUE_URL`), where each account's turn of the sweep waits.
    pub fn sweep_queue(&self) -> Result<channel_adapters::queue::Queue, ConfigError> {
        let url = config::url("SWEEP_QUEUE_URL")?.ok_or(ConfigError::Missing("SWEEP_QUEUE_URL"))?;
        Ok(channel_adapters::queue::Queue::new(&self.aws, url, &self.meter))
    }

    /// The TeleSign client (`TELESIGN_BASE_URL` overrides every account's host).
    pub fn telesign(&self) -> Result<TelesignClient, ConfigError> {
        let timeout = config::parsed("TELESIGN_TIMEOUT_MS", 5_000u64)?;
        let retry = RetryPolicy {
            attempt_timeout: Duration::from_millis(timeout),
            ..RetryPolicy::default()
        };
        TelesignClient::new(config::telesign_base_url()?, retry).map_err(|e| ConfigError::Invalid {
            name: "TELESIGN_BASE_URL",
            reason: e.to_string(),
        })
    }
}

/// A function behind the HTTP API: it answers every request it is given, its errors included
/// (as the contract's error bodies). Lambda runs it through [`serve`]; the local gateway holds
/// each by its name in the route table.
pub trait HttpFunction: Send + Sync + 'static {
    /// Answers one request.
    fn answer(&self, request: Request) -> impl Future<Output = Response<Body>> + Send;
}

/// Runs the Lambda loop over an HTTP function, each invocation in its span and metrics scope
/// (the answer boxed: one allocation a request keeps the loop's type shallow).
pub async fn serve<F: HttpFunction>(function: F) -> Result<(), lambda_http::Error> {
    run(
        function,
        |f, req| -> std::pin::Pin<Box<dyn Future<Output = Response<Body>> + Send>> {
            Box::pin(async move { f.answer(req).await })
        },
    )
    .await
}

/// Runs the Lambda loop over `handle`, which answers every request (errors included), each
/// invocation in its span and metrics scope (`observe::invocation`).
pub async fn run<A, F, Fut>(app: A, handle: F) -> Result<(), lambda_http::Error>
where
    A: Send + Sync + 'static,
    F: Fn(Arc<A>, Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send,
{
    let app = Arc::new(app);
    let handle = Arc::new(handle);
    lambda_http::run(service_fn(move |req| {
        let app = app.clone();
        let handle = handle.clone();
        async move {
            let response = crate::observe::invocation(req, |req| handle(app, req)).await;
            Ok::<_, std::convert::Infallible>(response)
        }
    }))
    .await
}
