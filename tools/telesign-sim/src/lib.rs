//! A TeleSign messaging API simulator for local runs and tests.
//!
//! It speaks `POST /v1/messaging` and `GET /v1/messaging/{reference_id}` with TeleSign's checks
//! (TSA signature with date tolerance and nonce reuse, Basic, required parameters, phone format,
//! 1600 characters) and answers, posts signed delivery reports to the request's `callback_url`,
//! plays a customer texting an account, fails on demand, and keeps what it received.
//!
//! Control routes (JSON):
//! - `POST /_sim/customers` `{customer_id, api_key, state?, callback_url?}`: a TeleSign customer;
//!   `state` is `active` (default), `suspended`, `sms_disabled` or `wrong_host`.
//! - `POST /_sim/faults` `{kind, count?, http_status?, code?, description?, delay_ms?}`: the next
//!   `count` API requests fail: `kind` `http` (answer `http_status` with `code`), `slow` (carry the
//!   request out, answer after `delay_ms`), `drop` (carry it out, close the connection unanswered),
//!   `hang` (close after `delay_ms` without carrying it out), `gateway` (carry it out, then answer
//!   `http_status`, default 502, without TeleSign's body, as a gateway in front of TeleSign does).
//! - `POST /_sim/outcomes` `{phone_number, final_code}`: sends to that number end with that code.
//! - `POST /_sim/inbound` `{callback_url, customer_id, from, to, text, reference_id?, action?, keyword?}`:
//!   a signed inbound SMS posted to the channel; answers `{status, body, reference_id}`.
//! - `POST /_sim/callback` `{callback_url, customer_id, body}`: any body, signed, posted.
//! - `GET /_sim/requests`, `GET /_sim/messages` (both narrowed by `?customer_id=`),
//!   `GET /_sim/customers` (with their keys: a simulator's), `POST /_sim/reset`.
//! - Faults and lists may name a `customer_id`, so that parallel tests do not see each other's.

use std::collections::{HashMap, HashSet, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use http::{header, Method, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use shared::telesign::callback::callback_authorization;
use shared::telesign::sign::{decode_form, string_to_sign, tsa_authorization, RequestToSign};
use shared::telesign::{ApiKey, Credentials};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// How far a request's `Date` may be from the simulator's clock.
const DATE_TOLERANCE: Duration = Duration::from_secs(15 * 60);

/// The state of a simulated TeleSign customer account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CustomerState {
    /// Works.
    #[default]
    Active,
    /// Answers 10010.
    Suspended,
    /// Answers 10011.
    SmsDisabled,
    /// Answers 10031: the account lives on the other host.
    WrongHost,
}

#[derive(Debug, Clone)]
struct Customer {
    api_key: ApiKey,
    state: CustomerState,
    callback_url: Option<String>,
}

/// A fault to play on the next API requests.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Fault {
    /// `http`, `slow`, `drop`, `hang` or `gateway`.
    pub kind: String,
    /// How many requests it applies to (default 1).
    #[serde(default = "one")]
    pub count: u32,
    /// For `http`: the status to answer.
    #[serde(default)]
    pub http_status: Option<u16>,
    /// For `http`: TeleSign's code in the answer.
    #[serde(default)]
    pub code: Option<u32>,
    /// For `http`: the description.
    #[serde(default)]
    pub description: Option<String>,
    /// For `slow` and `hang`: the delay.
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// Only requests that claim this customer id (any request when absent).
    #[serde(default)]
    pub customer_id: Option<String>,
}

fn one() -> u32 {
    1
}

/// A request the simulator received on its API, as tests inspect it.
#[derive(Debug, Clone, Serialize)]
pub struct RecordedRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// The path.
    pub path: String,
    /// `tsa`, `basic` or `none`.
    pub auth_scheme: String,
    /// The customer id the request claimed.
    pub customer_id: Option<String>,
    /// The `x-ts-nonce` header.
    pub nonce: Option<String>,
    /// The form fields, decoded.
    pub fields: HashMap<String, String>,
    /// The HTTP status answered (0 when the connection was dropped).
    pub answered_status: u16,
    /// TeleSign's code answered.
    pub answered_code: Option<u32>,
}

/// A message the simulator accepted.
#[derive(Debug, Clone, Serialize)]
pub struct SentMessage {
    /// The reference id it answered.
    pub reference_id: String,
    /// The customer id that sent it.
    pub customer_id: String,
    /// `phone_number`.
    pub phone_number: String,
    /// `message`.
    pub message: String,
    /// `sender_id`.
    pub sender_id: Option<String>,
    /// `external_id`.
    pub external_id: Option<String>,
    /// `callback_url`.
    pub callback_url: Option<String>,
    /// The current status code.
    pub status_code: u32,
    /// Its description.
    pub status_description: String,
}

#[derive(Default)]
struct State {
    customers: HashMap<String, Customer>,
    nonces: HashSet<String>,
    faults: VecDeque<Fault>,
    outcomes: HashMap<String, u32>,
    requests: Vec<RecordedRequest>,
    messages: Vec<SentMessage>,
}

/// The simulator: cheap to clone, shared by every connection.
#[derive(Clone)]
pub struct Simulator {
    state: Arc<Mutex<State>>,
    http: reqwest::Client,
    report_delay: Duration,
}

/// What a handler decided about the connection.
enum Answer {
    Respond(Response<Full<Bytes>>),
    Drop,
}

fn json_answer(status: StatusCode, value: Value) -> Answer {
    Answer::Respond(json_response(status, &value))
}

fn json_response(status: StatusCode, value: &Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(value.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

fn telesign_error(http_status: u16, code: u32, description: &str) -> (u16, Option<u32>, Value) {
    (
        http_status,
        Some(code),
        json!({"reference_id": null, "status": {"code": code, "description": description,
               "updated_on": now_rfc3339()}}),
    )
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn new_reference_id() -> String {
    uuid::Uuid::new_v4().simple().to_string().to_uppercase()
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    // A poisoned lock only means a handler panicked; the data is still usable for a simulator.
    state.lock().unwrap_or_else(|p| p.into_inner())
}

impl Simulator {
    /// A simulator that posts each delivery report `report_delay` after the previous step.
    pub fn new(report_delay: Duration) -> Self {
        Self {
            state: Arc::default(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            report_delay,
        }
    }

    /// Registers a customer (also done by `POST /_sim/customers`).
    pub fn add_customer(&self, customer_id: &str, api_key: &str, state: CustomerState) -> Result<(), String> {
        let api_key = ApiKey::parse(api_key).map_err(|e| e.to_string())?;
        lock(&self.state).customers.insert(
            customer_id.to_owned(),
            Customer {
                api_key,
                state,
                callback_url: None,
            },
        );
        Ok(())
    }

    /// Serves on `listener` until the process ends.
    pub async fn serve(self, listener: TcpListener) {
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(s) => s,
                Err(_) => continue,
            };
            let sim = self.clone();
            tokio::spawn(async move {
                let dropper = Arc::new(Notify::new());
                let d = dropper.clone();
                let service = service_fn(move |req| {
                    let sim = sim.clone();
                    let d = d.clone();
                    async move {
                        match sim.handle(req).await {
                            Answer::Respond(r) => Ok::<_, Infallible>(r),
                            Answer::Drop => {
                                d.notify_one();
                                // Never answered: the connection is closed under it.
                                std::future::pending::<()>().await;
                                Ok(Response::new(Full::new(Bytes::new())))
                            }
                        }
                    }
                });
                let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                tokio::select! {
                    _ = connection => {}
                    _ = dropper.notified() => {}
                }
            });
        }
    }

    /// Binds `addr` and serves in a background task; returns the bound address.
    pub async fn spawn(self, addr: SocketAddr) -> std::io::Result<SocketAddr> {
        let listener = TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        tokio::spawn(self.serve(listener));
        Ok(bound)
    }

    async fn handle(&self, req: http::Request<Incoming>) -> Answer {
        let (parts, body) = req.into_parts();
        let body = match body.collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => return Answer::Drop,
        };
        let path = parts.uri.path().to_owned();
        if let Some(control) = path.strip_prefix("/_sim/") {
            return self
                .control(&parts.method, control, parts.uri.query().unwrap_or(""), &body)
                .await;
        }
        if path == "/v1/messaging" || path.starts_with("/v1/messaging/") {
            return self.api(&parts, &path, &body).await;
        }
        json_answer(
            StatusCode::NOT_FOUND,
            json!({"status": {"code": 404, "description": "Not Found"}}),
        )
    }

    async fn api(&self, parts: &http::request::Parts, path: &str, body: &Bytes) -> Answer {
        let claimed = claimed_customer(parts);
        let fault = {
            let mut st = lock(&self.state);
            let at = st
                .faults
                .iter()
                .position(|f| f.customer_id.is_none() || f.customer_id == claimed);
            match at {
                Some(i) => {
                    let f = &mut st.faults[i];
                    let taken = f.clone();
                    f.count = f.count.saturating_sub(1);
                    if f.count == 0 {
                        st.faults.remove(i);
                    }
                    Some(taken)
                }
                None => None,
            }
        };
        let body_text = String::from_utf8_lossy(body).into_owned();
        let fields: HashMap<String, String> = decode_form(&body_text).into_iter().collect();
        let auth = header_text(parts, "authorization");
        let mut record = RecordedRequest {
            method: parts.method.to_string(),
            path: path.to_owned(),
            auth_scheme: match auth.as_deref() {
                Some(a) if a.starts_with("TSA ") => "tsa",
                Some(a) if a.starts_with("Basic ") => "basic",
                _ => "none",
            }
            .into(),
            customer_id: claimed.clone(),
            nonce: header_text(parts, "x-ts-nonce"),
            fields: fields.clone(),
            answered_status: 0,
            answered_code: None,
        };

        if let Some(f) = &fault {
            match f.kind.as_str() {
                "http" => {
                    let status = f.http_status.unwrap_or(503);
                    let code = f.code.unwrap_or(if status == 429 { 10019 } else { 10000 });
                    let description = f.description.clone().unwrap_or_else(|| match status {
                        429 => "Rate limit exceeded.".into(),
                        _ => "System unavailable, please try again later.".into(),
                    });
                    let (s, c, v) = telesign_error(status, code, &description);
                    return self.finish(record, s, c, v);
                }
                "hang" => {
                    tokio::time::sleep(Duration::from_millis(f.delay_ms.unwrap_or(30_000))).await;
                    lock(&self.state).requests.push(record);
                    return Answer::Drop;
                }
                _ => {}
            }
        }

        let (status, code, value) = self.authenticate_and_run(parts, path, &body_text, &fields, &mut record);
        match fault.as_ref().map(|f| f.kind.as_str()) {
            Some("slow") => {
                // Carried out and recorded now; answered late.
                let delay = fault.and_then(|f| f.delay_ms).unwrap_or(10_000);
                let answer = self.finish(record, status, code, value);
                tokio::time::sleep(Duration::from_millis(delay)).await;
                answer
            }
            Some("drop") => {
                record.answered_status = 0;
                lock(&self.state).requests.push(record);
                Answer::Drop
            }
            Some("gateway") => {
                // Carried out, then a gateway in front of TeleSign answers an error of its own.
                let status = fault.and_then(|f| f.http_status).unwrap_or(502);
                record.answered_status = status;
                lock(&self.state).requests.push(record);
                json_answer(
                    StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
                    json!({"message": "Bad Gateway"}),
                )
            }
            _ => self.finish(record, status, code, value),
        }
    }

    fn finish(&self, mut record: RecordedRequest, status: u16, code: Option<u32>, value: Value) -> Answer {
        record.answered_status = status;
        record.answered_code = code;
        lock(&self.state).requests.push(record);
        json_answer(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            value,
        )
    }

    /// TeleSign's authentication, then the endpoint. Returns (HTTP status, code, body).
    fn authenticate_and_run(
        &self,
        parts: &http::request::Parts,
        path: &str,
        body: &str,
        fields: &HashMap<String, String>,
        record: &mut RecordedRequest,
    ) -> (u16, Option<u32>, Value) {
        let Some(auth) = header_text(parts, "authorization") else {
            return telesign_error(401, 10009, "Missing Authorization header.");
        };
        let (scheme, rest) = match auth.split_once(' ') {
            Some((s, r)) if s == "TSA" || s == "Basic" => (s, r.trim().to_owned()),
            _ => return telesign_error(401, 10028, "Invalid Authorization header format."),
        };
        let (customer_id, secret) = if scheme == "Basic" {
            use base64::Engine;
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest.as_bytes())
                .ok()
                .and_then(|b| String::from_utf8(b).ok());
            match decoded.as_deref().and_then(|d| d.split_once(':')) {
                Some((id, key)) => (id.to_owned(), key.to_owned()),
                None => return telesign_error(401, 10028, "Invalid Authorization header format."),
            }
        } else {
            match rest.rsplit_once(':') {
                Some((id, sig)) => (id.to_owned(), sig.to_owned()),
                None => return telesign_error(401, 10028, "Invalid Authorization header format."),
            }
        };
        record.customer_id = Some(customer_id.clone());
        let customer = lock(&self.state).customers.get(&customer_id).cloned();
        let Some(customer) = customer else {
            return telesign_error(401, 10013, "Customer account not found.");
        };

        if scheme == "Basic" {
            if secret != customer.api_key.expose_literal() {
                return telesign_error(401, 10022, "Invalid API key.");
            }
        } else {
            let Some(date) = header_text(parts, "date") else {
                return telesign_error(401, 10007, "Missing required Date header.");
            };
            let Ok(when) = httpdate::parse_http_date(&date) else {
                return telesign_error(401, 10005, "Date header is not RFC 822 formatted.");
            };
            let skew = match SystemTime::now().duration_since(when) {
                Ok(d) => d,
                Err(e) => e.duration(),
            };
            if skew > DATE_TOLERANCE {
                return telesign_error(401, 10004, "Date header is out of the acceptable range.");
            }
            let nonce = header_text(parts, "x-ts-nonce").unwrap_or_default();
            if nonce.len() < 16 || nonce.len() > 64 {
                return telesign_error(401, 10003, "Nonce length is invalid.");
            }
            let content_type = header_text(parts, "content-type").unwrap_or_default();
            let expected = tsa_authorization(
                &Credentials {
                    customer_id: customer_id.clone(),
                    api_key: customer.api_key.clone(),
                },
                &RequestToSign {
                    method: parts.method.as_str(),
                    resource: path,
                    content_type: &content_type,
                    body,
                    date: &date,
                    nonce: &nonce,
                },
            );
            if expected != auth {
                let signed = string_to_sign(&RequestToSign {
                    method: parts.method.as_str(),
                    resource: path,
                    content_type: &content_type,
                    body,
                    date: &date,
                    nonce: &nonce,
                });
                let (s, c, mut v) = telesign_error(401, 10008, "Invalid signature.");
                v["signature_string"] = json!(signed);
                return (s, c, v);
            }
            if !lock(&self.state).nonces.insert(nonce) {
                return telesign_error(401, 10002, "Nonce has already been used.");
            }
        }

        match customer.state {
            CustomerState::Active => {}
            CustomerState::Suspended => return telesign_error(401, 10010, "Customer account is suspended."),
            CustomerState::SmsDisabled => {
                return telesign_error(401, 10011, "Product is not enabled for this account.")
            }
            CustomerState::WrongHost => return telesign_error(401, 10031, "Host is not allowed for this account."),
        }

        if parts.method == Method::POST && path == "/v1/messaging" {
            self.send(&customer_id, &customer, fields)
        } else if parts.method == Method::GET {
            self.status(path.trim_start_matches("/v1/messaging/"))
        } else {
            telesign_error(405, 11000, "Method not allowed.")
        }
    }

    fn send(
        &self,
        customer_id: &str,
        customer: &Customer,
        fields: &HashMap<String, String>,
    ) -> (u16, Option<u32>, Value) {
        let field = |n: &str| fields.get(n).map(String::as_str).filter(|v| !v.is_empty());
        let Some(phone) = field("phone_number") else {
            return telesign_error(400, 12000, "Required parameter phone_number is missing.");
        };
        if !phone.chars().all(|c| c.is_ascii_digit()) || !(8..=15).contains(&phone.len()) {
            return telesign_error(400, 11000, "Invalid value for parameter phone_number.");
        }
        if phone.starts_with('0') {
            return telesign_error(400, 11001, "Invalid country code.");
        }
        let Some(message) = field("message") else {
            return telesign_error(400, 12000, "Required parameter message is missing.");
        };
        if message.chars().count() > 1600 {
            return telesign_error(400, 11009, "Invalid value for parameter message: too long.");
        }
        let Some(message_type) = field("message_type") else {
            return telesign_error(400, 12000, "Required parameter message_type is missing.");
        };
        if !matches!(message_type, "ARN" | "OTP" | "MKT") {
            return telesign_error(400, 11017, "Invalid value for parameter message_type.");
        }
        if field("sender_id").is_some_and(|s| s.len() > 20) {
            return telesign_error(400, 11013, "Invalid value for parameter sender_id.");
        }
        if field("external_id").is_some_and(|s| s.len() > 100) {
            return telesign_error(400, 11016, "Invalid value for parameter external_id.");
        }
        if field("callback_url").is_some_and(|u| !(u.starts_with("http://") || u.starts_with("https://"))) {
            return telesign_error(400, 11004, "Invalid value for parameter callback_url.");
        }
        let reference_id = new_reference_id();
        let callback_url = field("callback_url")
            .map(str::to_owned)
            .or_else(|| customer.callback_url.clone());
        let sent = SentMessage {
            reference_id: reference_id.clone(),
            customer_id: customer_id.to_owned(),
            phone_number: phone.to_owned(),
            message: message.to_owned(),
            sender_id: field("sender_id").map(str::to_owned),
            external_id: field("external_id").map(str::to_owned),
            callback_url: callback_url.clone(),
            status_code: 290,
            status_description: "Message in progress".into(),
        };
        let final_code = {
            let mut st = lock(&self.state);
            st.messages.push(sent.clone());
            st.outcomes.get(phone).copied().unwrap_or(200)
        };
        if let Some(url) = callback_url {
            let sim = self.clone();
            let key = customer.api_key.clone();
            let customer_id = customer_id.to_owned();
            tokio::spawn(async move { sim.report(url, customer_id, key, sent, final_code).await });
        }
        (
            200,
            Some(290),
            json!({"reference_id": reference_id, "external_id": field("external_id"),
                   "status": {"code": 290, "description": "Message in progress", "updated_on": now_rfc3339()}}),
        )
    }

    fn status(&self, reference_id: &str) -> (u16, Option<u32>, Value) {
        if reference_id.len() != 32 || !reference_id.chars().all(|c| c.is_ascii_hexdigit()) {
            return telesign_error(400, 11011, "Invalid value for parameter reference_id.");
        }
        let st = lock(&self.state);
        match st
            .messages
            .iter()
            .find(|m| m.reference_id.eq_ignore_ascii_case(reference_id))
        {
            Some(m) => (
                200,
                Some(m.status_code),
                json!({"reference_id": m.reference_id, "external_id": m.external_id,
                       "status": {"code": m.status_code, "description": m.status_description, "updated_on": now_rfc3339()}}),
            ),
            None => telesign_error(404, 10017, "Reference ID not found."),
        }
    }

    /// Posts the delivery reports of a send: delivered to gateway, then the final status.
    async fn report(&self, url: String, customer_id: String, key: ApiKey, sent: SentMessage, final_code: u32) {
        let steps = [(203, "Delivered to gateway"), (final_code, description_of(final_code))];
        for (code, description) in steps {
            tokio::time::sleep(self.report_delay).await;
            {
                let mut st = lock(&self.state);
                if let Some(m) = st.messages.iter_mut().find(|m| m.reference_id == sent.reference_id) {
                    m.status_code = code;
                    m.status_description = description.into();
                }
            }
            let body = json!({
                "reference_id": sent.reference_id, "external_id": sent.external_id, "sub_resource": "sms",
                "status": {"code": code, "description": description, "updated_on": now_rfc3339()},
                "submit_timestamp": now_rfc3339(), "errors": [],
                "additional_info": {"message_parts_count": 1, "sender_id": sent.sender_id}
            });
            let _ = self
                .post_signed(&url, &customer_id, &key, body.to_string().into_bytes())
                .await;
        }
    }

    async fn post_signed(
        &self,
        url: &str,
        customer_id: &str,
        key: &ApiKey,
        body: Vec<u8>,
    ) -> Result<(u16, Value), String> {
        let auth = callback_authorization(customer_id, key, &body);
        // TeleSign retries callbacks that are not answered 200: twice, here without the waits.
        let mut last = Err("not sent".to_owned());
        for _ in 0..3 {
            let sent = self
                .http
                .post(url)
                .header("Authorization", &auth)
                .header("Content-Type", "application/json")
                .body(body.clone())
                .send()
                .await;
            last = match sent {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let text = r.text().await.unwrap_or_default();
                    Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
                }
                Err(e) => Err(e.to_string()),
            };
            if matches!(last, Ok((200, _))) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        last
    }

    async fn control(&self, method: &Method, route: &str, query: &str, body: &Bytes) -> Answer {
        // `?customer_id=` narrows the lists to one customer.
        let only = decode_form(query)
            .into_iter()
            .find(|(k, _)| k == "customer_id")
            .map(|(_, v)| v);
        let input: Value = if body.is_empty() {
            Value::Null
        } else {
            match serde_json::from_slice(body) {
                Ok(v) => v,
                Err(e) => return json_answer(StatusCode::BAD_REQUEST, json!({"error": e.to_string()})),
            }
        };
        let text = |k: &str| input.get(k).and_then(Value::as_str).map(str::to_owned);
        match (method.as_str(), route) {
            ("POST", "customers") => {
                let (Some(id), Some(key)) = (text("customer_id"), text("api_key")) else {
                    return json_answer(
                        StatusCode::BAD_REQUEST,
                        json!({"error": "customer_id and api_key are required"}),
                    );
                };
                let state = input
                    .get("state")
                    .and_then(|s| serde_json::from_value(s.clone()).ok())
                    .unwrap_or_default();
                if let Err(e) = self.add_customer(&id, &key, state) {
                    return json_answer(StatusCode::BAD_REQUEST, json!({"error": e}));
                }
                if let Some(c) = lock(&self.state).customers.get_mut(&id) {
                    c.callback_url = text("callback_url");
                }
                json_answer(StatusCode::OK, json!({"customer_id": id}))
            }
            ("POST", "faults") => match serde_json::from_value::<Fault>(input) {
                Ok(f) => {
                    lock(&self.state).faults.push_back(f);
                    json_answer(StatusCode::OK, json!({"queued": lock(&self.state).faults.len()}))
                }
                Err(e) => json_answer(StatusCode::BAD_REQUEST, json!({"error": e.to_string()})),
            },
            ("POST", "outcomes") => {
                let (Some(phone), Some(code)) = (text("phone_number"), input.get("final_code").and_then(Value::as_u64))
                else {
                    return json_answer(
                        StatusCode::BAD_REQUEST,
                        json!({"error": "phone_number and final_code are required"}),
                    );
                };
                lock(&self.state).outcomes.insert(phone, code as u32);
                json_answer(StatusCode::OK, json!({}))
            }
            ("POST", "inbound") => self.inbound(&input).await,
            ("POST", "callback") => {
                let (Some(url), Some(id)) = (text("callback_url"), text("customer_id")) else {
                    return json_answer(
                        StatusCode::BAD_REQUEST,
                        json!({"error": "callback_url and customer_id are required"}),
                    );
                };
                let Some(key) = lock(&self.state).customers.get(&id).map(|c| c.api_key.clone()) else {
                    return json_answer(StatusCode::NOT_FOUND, json!({"error": "unknown customer_id"}));
                };
                let body = input
                    .get("body")
                    .cloned()
                    .unwrap_or(Value::Null)
                    .to_string()
                    .into_bytes();
                match self.post_signed(&url, &id, &key, body).await {
                    Ok((status, body)) => json_answer(StatusCode::OK, json!({"status": status, "body": body})),
                    Err(e) => json_answer(StatusCode::BAD_GATEWAY, json!({"error": e})),
                }
            }
            // Every key the simulator knows (for the tests' scan that no key leaked anywhere).
            ("GET", "customers") => {
                let st = lock(&self.state);
                let list: Vec<Value> = st
                    .customers
                    .iter()
                    .map(|(id, c)| json!({"customer_id": id, "api_key": c.api_key.expose_literal()}))
                    .collect();
                json_answer(StatusCode::OK, json!(list))
            }
            ("GET", "requests") => {
                let st = lock(&self.state);
                let list: Vec<&RecordedRequest> = st
                    .requests
                    .iter()
                    .filter(|r| only.is_none() || r.customer_id == only)
                    .collect();
                json_answer(StatusCode::OK, json!(list))
            }
            ("GET", "messages") => {
                let st = lock(&self.state);
                let list: Vec<&SentMessage> = st
                    .messages
                    .iter()
                    .filter(|m| only.as_deref().is_none_or(|c| m.customer_id == c))
                    .collect();
                json_answer(StatusCode::OK, json!(list))
            }
            ("POST", "reset") => {
                let mut st = lock(&self.state);
                st.faults.clear();
                st.outcomes.clear();
                st.requests.clear();
                st.messages.clear();
                json_answer(StatusCode::OK, json!({}))
            }
            _ => json_answer(StatusCode::NOT_FOUND, json!({"error": "no such control route"})),
        }
    }

    async fn inbound(&self, input: &Value) -> Answer {
        let text = |k: &str| input.get(k).and_then(Value::as_str).map(str::to_owned);
        let (Some(url), Some(id), Some(from), Some(to), Some(message)) = (
            text("callback_url"),
            text("customer_id"),
            text("from"),
            text("to"),
            text("text"),
        ) else {
            return json_answer(
                StatusCode::BAD_REQUEST,
                json!({"error": "callback_url, customer_id, from, to and text are required"}),
            );
        };
        let Some(key) = lock(&self.state).customers.get(&id).map(|c| c.api_key.clone()) else {
            return json_answer(StatusCode::NOT_FOUND, json!({"error": "unknown customer_id"}));
        };
        let reference_id = text("reference_id").unwrap_or_else(new_reference_id);
        let mut body = json!({
            "reference_id": reference_id, "sub_resource": "mo_sms",
            "status": {"code": 1500, "description": "Message received", "updated_on": now_rfc3339()},
            "submit_timestamp": now_rfc3339(), "errors": [],
            "user_response": {"phone_number": from, "sender_id": to, "mo_message": message}
        });
        if let Some(action) = text("action") {
            body["action"] = json!(action);
            body["keyword"] = json!(text("keyword").unwrap_or_else(|| message.trim().to_uppercase()));
        }
        match self.post_signed(&url, &id, &key, body.to_string().into_bytes()).await {
            Ok((status, body)) => json_answer(
                StatusCode::OK,
                json!({"status": status, "body": body, "reference_id": reference_id}),
            ),
            Err(e) => json_answer(StatusCode::BAD_GATEWAY, json!({"error": e})),
        }
    }
}

/// The customer id a request claims in its Authorization header, before any check.
fn claimed_customer(parts: &http::request::Parts) -> Option<String> {
    let auth = header_text(parts, "authorization")?;
    if let Some(rest) = auth.strip_prefix("TSA ") {
        return rest.rsplit_once(':').map(|(id, _)| id.to_owned());
    }
    let rest = auth.strip_prefix("Basic ")?;
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD.decode(rest.trim()).ok()?;
    String::from_utf8(decoded)
        .ok()?
        .split_once(':')
        .map(|(id, _)| id.to_owned())
}

fn header_text(parts: &http::request::Parts, name: &str) -> Option<String> {
    parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

fn description_of(code: u32) -> &'static str {
    match code {
        200 => "Delivered to handset",
        201 => "Delivered to handset (suspicious activity)",
        207 => "Error delivering SMS to handset (reason unknown)",
        210 => "Temporary phone error",
        211 => "Permanent phone error",
        250 => "Final status unknown",
        503 => "Carrier temporarily unavailable",
        504 => "Carrier permanently unavailable",
        _ => "Message status",
    }
}
