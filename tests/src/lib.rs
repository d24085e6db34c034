//! A recording loopback server for wire tests: it answers one configured reply and keeps every
//! request exactly as received (method, path, query, content type, body bytes).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// A request as the server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    /// `GET`, `POST`.
    pub method: String,
    /// The path, without query.
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The body bytes.
    pub body: Bytes,
    /// Every request header.
    pub headers: axum::http::HeaderMap,
}

impl Captured {
    /// The body as UTF-8 text.
    pub fn body_text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("utf-8 body")
    }
}

/// What the server answers.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: String,
    /// Body.
    pub body: Bytes,
}

impl Reply {
    /// A 200 JSON answer.
    pub fn json(body: &str) -> Self {
        Reply {
            status: 200,
            content_type: "application/json".into(),
            body: Bytes::copy_from_slice(body.as_bytes()),
        }
    }
}

#[derive(Clone)]
struct Shared {
    captured: Arc<Mutex<Vec<Captured>>>,
    reply: Arc<Mutex<Reply>>,
    /// Replies for one path, before `reply`.
    routes: Arc<Mutex<Vec<(String, Reply)>>>,
    headers: Arc<Mutex<Vec<(String, String)>>>,
}

/// The server; it stops when dropped.
pub struct MockServer {
    addr: SocketAddr,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl MockServer {
    /// Starts on 127.0.0.1 with an ephemeral port.
    pub async fn start(reply: Reply) -> Self {
        let shared = Shared {
            captured: Arc::default(),
            reply: Arc::new(Mutex::new(reply)),
            routes: Arc::default(),
            headers: Arc::default(),
        };
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        });
        MockServer { addr, shared, task }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Changes the reply for the following requests.
    pub fn set_reply(&self, reply: Reply) {
        *self.shared.reply.lock().unwrap() = reply;
    }

    /// Answers requests to `path` with `reply` from now on (other paths keep the server's
    /// reply).
    pub fn set_path_reply(&self, path: &str, reply: Reply) {
        let mut routes = self.shared.routes.lock().unwrap();
        routes.retain(|(p, _)| p != path);
        routes.push((path.to_owned(), reply));
    }

    /// Extra headers on the following replies (`Retry-After`, `Location`).
    pub fn set_headers(&self, headers: &[(&str, &str)]) {
        *self.shared.headers.lock().unwrap() = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    }

    /// Takes the requests received so far.
    pub fn take(&self) -> Vec<Captured> {
        std::mem::take(&mut *self.shared.captured.lock().unwrap())
    }

    /// Takes the one request received since the last take; panics unless exactly one came.
    pub fn only(&self) -> Captured {
        let mut all = self.take();
        assert_eq!(all.len(), 1, "expected exactly one request, got {all:?}");
        all.remove(0)
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(State(shared): State<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 16 << 20)
        .await
        .unwrap_or_default();
    shared.captured.lock().unwrap().push(Captured {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        content_type: parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body,
        headers: parts.headers.clone(),
    });
    let routed = shared
        .routes
        .lock()
        .unwrap()
        .iter()
        .find(|(path, _)| path == parts.uri.path())
        .map(|(_, reply)| reply.clone());
    let reply = routed.unwrap_or_else(|| shared.reply.lock().unwrap().clone());
    let mut response = (
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK),
        [(header::CONTENT_TYPE, reply.content_type)],
        reply.body,
    )
        .into_response();
    for (name, value) in shared.headers.lock().unwrap().iter() {
        response.headers_mut().insert(
            header::HeaderName::try_from(name.as_str()).expect("header name"),
            header::HeaderValue::try_from(value.as_str()).expect("header value"),
        );
    }
    response
}

/// The README's examples compile and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// A subscriber for this thread only that writes every event and span close to a buffer.
pub fn thread_logs() -> (
    tracing::subscriber::DefaultGuard,
    std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
) {
    #[derive(Clone)]
    struct Buf(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let writer = Buf(buffer.clone());
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_writer(move || writer.clone())
        .finish();
    (tracing::subscriber::set_default(subscriber), buffer)
}

/// Authorizes `app` of the Baidu platform `platform` at `base_url` (a sandbox in token mode:
/// a ticket, then the authorization-code exchange) and saves its tokens in `store`; returns
/// the platform's token manager.
pub async fn authorize_baidu_app(
    base_url: &str,
    store: Arc<dyn core_http::token::TokenStore>,
    platform: &str,
    app: &str,
) -> core_http::token::TokenManager {
    let client = baidu_smartapp_api::Client::with_base_url(base_url);
    let tokens = baidu_smartapp_api::tokens::manager(
        &client,
        platform,
        store,
        core_http::token::RefreshPolicy::default(),
    );
    tokens
        .store_ticket("test-ticket", baidu_smartapp_api::tokens::TICKET_LIFETIME)
        .await
        .unwrap();
    let component = client.component(tokens.component_token());
    let mut exchange = baidu_smartapp_api::tp_auth::GetOAuthTokenRequest::new(
        baidu_smartapp_api::tp_auth::OAuthGrantType::AuthorizationCode,
    );
    exchange.code = Some("code".into());
    let a = component.get_oauth_token(&exchange).await.unwrap();
    let grant = core_http::token::TokenGrant::from_answer(
        "GetOAuthToken",
        a.access_token,
        a.expires_in,
        a.refresh_token,
    )
    .unwrap();
    tokens.save_authorization(app, grant).await.unwrap();
    tokens
}

/// The records of a JSON Lines file (a job's report), one a line; panics on a line that is not
/// one JSON value.
pub fn json_lines(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON record a line"))
        .collect()
}

pub mod postgres;
pub mod redis;
pub mod token_doubles;

/// Everything traced in this test process, at every level: installed once as the global
/// subscriber, so every test of the binary (whatever thread) writes here.
pub fn captured_traces() -> String {
    let buffer = trace_buffer();
    let bytes = buffer.lock().unwrap_or_else(|p| p.into_inner()).clone();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Installs the capturing global subscriber (idempotent). Call it first in a test.
pub fn capture_traces() {
    let _ = trace_buffer();
}

fn trace_buffer() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUFFER: std::sync::OnceLock<Arc<Mutex<Vec<u8>>>> = std::sync::OnceLock::new();
    BUFFER.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = TraceWriter(buffer.clone());
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");
        buffer
    })
}

#[derive(Clone)]
struct TraceWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for TraceWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
