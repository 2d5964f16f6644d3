//! What the benchmarks share: the functions behind the local gateway in this process, a request
//! with its status and JSON answer, and the DynamoDB fault proxy's capacity model.

use std::sync::Arc;

use serde_json::{json, Value};

/// Every function in this process behind the local gateway, on a port of its own: the gateway and
/// its address. The harness posts the delivery reports itself; the simulator's own go nowhere.
pub(crate) async fn local_api() -> Result<(Arc<local_gateway::Gateway>, String), String> {
    std::env::set_var("PUBLIC_BASE_URL", "http://127.0.0.1:9");
    let gateway = Arc::new(local_gateway::Gateway::from_env().await.map_err(|e| e.to_string())?);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let api = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    tokio::spawn(gateway.clone().serve(listener));
    Ok((gateway, api))
}

pub(crate) async fn send(req: reqwest::RequestBuilder) -> Result<(u16, Value), String> {
    let r = req.send().await.map_err(|e| e.to_string())?;
    let status = r.status().as_u16();
    let text = r.text().await.map_err(|e| e.to_string())?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

/// The proxy's control routes.
pub(crate) struct Proxy {
    http: reqwest::Client,
    url: String,
}

impl Proxy {
    pub(crate) fn from_env(http: &reqwest::Client) -> Result<Self, String> {
        let url = std::env::var("DDB_PROXY_URL").map_err(|_| "DDB_PROXY_URL is not set: run scripts/bench.sh")?;
        Ok(Self {
            http: http.clone(),
            url,
        })
    }

    /// The capacity model on, afresh.
    pub(crate) async fn start(&self, enforce: bool) -> Result<(), String> {
        let req = self
            .http
            .post(format!("{}/_proxy/capacity", self.url))
            .body(json!({"enforce": enforce}).to_string());
        match send(req).await? {
            (200, _) => Ok(()),
            (s, b) => Err(format!("the proxy's capacity model: {s} {b}")),
        }
    }

    pub(crate) async fn report(&self, top: usize) -> Result<Value, String> {
        match send(self.http.get(format!("{}/_proxy/capacity?top={top}", self.url))).await? {
            (200, b) => Ok(b),
            (s, b) => Err(format!("the proxy's capacity report: {s} {b}")),
        }
    }

    pub(crate) async fn stop(&self) -> Result<(), String> {
        send(self.http.delete(format!("{}/_proxy/capacity", self.url)))
            .await
            .map(|_| ())
    }
}

/// The capacity model of one measured stretch: units in all, from the proxy.
pub(crate) struct Capacity {
    proxy: Proxy,
}

impl Capacity {
    /// The model on, when the stack has the proxy (`None` otherwise).
    pub(crate) async fn start(http: &reqwest::Client) -> Option<Self> {
        let proxy = Proxy::from_env(http).ok()?;
        proxy.start(false).await.ok()?;
        Some(Self { proxy })
    }

    /// Read and write units since `start`; the model off again.
    pub(crate) async fn units(self) -> Option<Units> {
        let r = self.proxy.report(0).await.ok()?;
        let _ = self.proxy.stop().await;
        Some(Units {
            read: r["read_units"].as_f64()?,
            write: r["write_units"].as_f64()?,
            stream_records: r["stream_records"].as_f64()?,
        })
    }
}

/// What the capacity model charged a stretch of requests.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Units {
    /// Read request units.
    pub(crate) read: f64,
    /// Write request units.
    pub(crate) write: f64,
    /// Records of the table's stream the events function takes.
    pub(crate) stream_records: f64,
}

impl Units {
    /// Per one of `n` requests.
    pub(crate) fn per(self, n: f64) -> Self {
        Self {
            read: self.read / n,
            write: self.write / n,
            stream_records: self.stream_records / n,
        }
    }
}
