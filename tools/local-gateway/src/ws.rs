//! The WebSocket API, locally: `GET /ws?token=<JWT>` is verified by the API's authorizer (the
//! `sockets` crate's, with the gateway's own key as the issuer's), then `$connect` is called
//! with API Gateway's WebSocket event; only when it answers 200 is the handshake completed.
//! Closing the socket calls `$disconnect`. The management API the events function posts to is
//! served at the gateway's root, as API Gateway serves it at the stage's URL:
//! `POST /@connections/{id}` sends the body as one text message, `DELETE` closes the
//! connection, and a connection that is not open answers 410 `GoneException`.

use std::collections::HashMap;
use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayWebsocketProxyRequest, ApiGatewayWebsocketProxyRequestContext};
use base64::engine::general_purpose::URL_SAFE;
use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use tracing::Instrument;

use crate::{json_answer, plain, Gateway};

/// What the gateway sends down one open socket.
pub enum Push {
    /// A text message.
    Text(String),
    /// Close it.
    Close,
}

/// The open sockets by connection id.
pub type Open = std::sync::Mutex<HashMap<String, UnboundedSender<Push>>>;

impl Gateway {
    /// `GET /ws?token=`: the authorizer, `$connect`, then the socket.
    pub async fn websocket(self: Arc<Self>, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
        let key = req
            .headers()
            .get("sec-websocket-key")
            .map(|k| derive_accept_key(k.as_bytes()));
        let upgrade = req.headers().get(http::header::UPGRADE).and_then(|v| v.to_str().ok());
        let (Some(accept), Some(true)) = (key, upgrade.map(|u| u.eq_ignore_ascii_case("websocket"))) else {
            return plain(426, "Upgrade Required");
        };
        let query = crate::query_map(req.uri().query().unwrap_or(""));
        let token = query.first("token").unwrap_or_default();
        let claims = match self.socket_authorizer.verify(token).await {
            Ok(c) => c,
            Err(why) => {
                tracing::warn!(path = "/ws", status = 401, reason = %why, "socket token refused");
                return plain(401, "Unauthorized");
            }
        };
        let connection_id = URL_SAFE.encode(&uuid::Uuid::new_v4().as_bytes()[..10]);
        let connected = self.socket_event("$connect", "CONNECT", &connection_id, &claims).await;
        if connected != 200 {
            return plain(403, "Forbidden");
        }
        let (tx, rx) = unbounded_channel();
        self.open_sockets().insert(connection_id.clone(), tx);
        let gateway = self.clone();
        tokio::spawn(async move {
            if let Ok(upgraded) = hyper::upgrade::on(req).await {
                let ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
                pump(ws, rx).await;
            }
            gateway.open_sockets().remove(&connection_id);
            gateway
                .socket_event("$disconnect", "DISCONNECT", &connection_id, &claims)
                .await;
        });
        let mut response = plain(101, "");
        *response.body_mut() = Full::new(Bytes::new());
        let headers = response.headers_mut();
        headers.remove(http::header::CONTENT_TYPE);
        headers.insert(http::header::UPGRADE, http::HeaderValue::from_static("websocket"));
        headers.insert(http::header::CONNECTION, http::HeaderValue::from_static("Upgrade"));
        if let Ok(v) = http::HeaderValue::from_str(&accept) {
            headers.insert("sec-websocket-accept", v);
        }
        response
    }

    /// The ids of the open sockets (`GET /_local/sockets`, for tests that close them).
    pub fn open_socket_ids(&self) -> Vec<String> {
        self.open_sockets().keys().cloned().collect()
    }

    fn open_sockets(&self) -> std::sync::MutexGuard<'_, HashMap<String, UnboundedSender<Push>>> {
        self.sockets_open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `$connect` or `$disconnect` of the sockets function, as API Gateway invokes it.
    async fn socket_event(
        &self,
        route: &str,
        kind: &str,
        connection_id: &str,
        claims: &HashMap<String, String>,
    ) -> i64 {
        let mut ctx = ApiGatewayWebsocketProxyRequestContext::default();
        ctx.route_key = Some(route.into());
        ctx.event_type = Some(kind.into());
        ctx.connection_id = Some(connection_id.into());
        ctx.stage = Some("local".into());
        ctx.apiid = Some("local".into());
        ctx.request_id = Some(uuid::Uuid::new_v4().to_string());
        ctx.connected_at = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
        ctx.authorizer.fields = claims
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let mut event = ApiGatewayWebsocketProxyRequest::default();
        event.request_context = ctx;
        let span = tracing::info_span!("invoke", function = "sockets");
        self.sockets.handle(event).instrument(span).await.status_code
    }

    /// The management API: `POST`, `DELETE` or `GET /@connections/{id}`.
    pub fn manage(&self, method: &str, id: &str, body: &[u8]) -> hyper::Response<Full<Bytes>> {
        let id = percent_encoding::percent_decode_str(id)
            .decode_utf8_lossy()
            .into_owned();
        let socket = self.open_sockets().get(&id).cloned();
        let Some(socket) = socket else {
            let mut gone = json_answer(410, &serde_json::json!({"message": null}));
            gone.headers_mut()
                .insert("x-amzn-errortype", http::HeaderValue::from_static("GoneException"));
            return gone;
        };
        match method {
            "POST" => {
                let sent = socket.send(Push::Text(String::from_utf8_lossy(body).into_owned()));
                match sent {
                    Ok(()) => json_answer(200, &serde_json::json!({})),
                    Err(_) => plain(410, "Gone"),
                }
            }
            "DELETE" => {
                let _ = socket.send(Push::Close);
                let mut closed = plain(204, "");
                *closed.body_mut() = Full::new(Bytes::new());
                closed
            }
            _ => json_answer(200, &serde_json::json!({"connectionId": id})),
        }
    }
}

/// Sends what the gateway pushes and reads until the client closes.
async fn pump(ws: WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>, mut rx: UnboundedReceiver<Push>) {
    let (mut sink, mut stream) = ws.split();
    loop {
        tokio::select! {
            push = rx.recv() => match push {
                Some(Push::Text(text)) => {
                    if sink.send(Message::text(text)).await.is_err() {
                        return;
                    }
                }
                Some(Push::Close) | None => {
                    let _ = sink.send(Message::Close(None)).await;
                    return;
                }
            },
            frame = stream.next() => match frame {
                // API Gateway routes a client's messages to `$default`, which this API does not
                // have: they are dropped.
                Some(Ok(Message::Ping(p))) => {
                    let _ = sink.send(Message::Pong(p)).await;
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    }
}
