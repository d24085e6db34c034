//! A loopback HTTP server that serves every endpoint of all three vendors (WeChat, Baidu,
//! Kuaishou) from the embedded specs, on one origin.
//!
//! Each request is matched to its endpoint by method and path, checked against the spec
//! (credentials, body kind, parameter names, required parameters, types, limits) and answered
//! with the document's example on success, or with the vendor's error envelope (HTTP 200) naming
//! the failed check. A request header `x-sandbox-error: <code>` makes an accepted request fail
//! with that vendor error code and the documented message.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let sandbox = miniapp_sandbox::Sandbox::start().await?;
//! println!("serving on {}", sandbox.base_url());
//! // ... point a client at sandbox.base_url() ...
//! for r in sandbox.requests() {
//!     println!("{} {} accepted={}", r.method, r.path, r.accepted);
//! }
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method as HttpMethod, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use bytes::Bytes;
use miniapp_spec::{Endpoint, Method, SpecFile, Vendor};
use tokio::sync::oneshot;

mod check;
mod embedded;
mod envelope;
mod respond;

/// The header that asks the sandbox to answer a vendor error with the given code.
pub const ERROR_HEADER: &str = "x-sandbox-error";

/// The embedded specs (every `*.toml` below `specs/`), parsed.
pub fn specs() -> Vec<SpecFile> {
    embedded::parsed().to_vec()
}

/// One request as the sandbox received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// URL path, e.g. `/cgi-bin/component/modify_wxa_jump_domain`.
    pub path: String,
    /// Raw URL query string, without the `?`.
    pub query: Option<String>,
    /// The `content-type` header.
    pub content_type: Option<String>,
    /// The raw body.
    pub body: Bytes,
    /// The spec endpoint name (e.g. `ModifyWxaJumpDomain`); `None` when no endpoint matched.
    pub endpoint: Option<String>,
    /// Whether the request passed every check of its endpoint's spec.
    pub accepted: bool,
}

/// A running sandbox server; it stops when dropped.
#[derive(Debug)]
pub struct Sandbox {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<RecordedRequest>>>,
    shutdown: Option<oneshot::Sender<()>>,
}

/// What the request handler shares.
struct Shared {
    specs: &'static [SpecFile],
    log: Arc<Mutex<Vec<RecordedRequest>>>,
}

impl Sandbox {
    /// Binds `127.0.0.1:0` and serves in a tokio task until dropped.
    pub async fn start() -> std::io::Result<Sandbox> {
        Self::start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await
    }

    /// Binds `addr` and serves in a tokio task until dropped.
    pub async fn start_on(addr: SocketAddr) -> std::io::Result<Sandbox> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let shared = Arc::new(Shared {
            specs: embedded::parsed(),
            log: Arc::clone(&log),
        });
        let app = Router::new().fallback(handle).with_state(shared);
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let server = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = rx.await;
            });
            if let Err(e) = server.await {
                tracing::error!("sandbox server failed: {e}");
            }
        });
        tracing::debug!("sandbox listening on {addr}");
        Ok(Sandbox {
            addr,
            log,
            shutdown: Some(tx),
        })
    }

    /// The origin to send requests to, e.g. `http://127.0.0.1:40123` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The endpoint answering `method path`, with its spec.
fn find_endpoint<'a>(
    specs: &'a [SpecFile],
    method: &HttpMethod,
    path: &str,
) -> Option<(&'a SpecFile, &'a Endpoint)> {
    specs.iter().find_map(|spec| {
        spec.endpoints
            .iter()
            .find(|ep| ep.path == path && method_matches(ep.method, method))
            .map(|ep| (spec, ep))
    })
}

fn method_matches(spec: Method, actual: &HttpMethod) -> bool {
    match spec {
        Method::GET => actual == HttpMethod::GET,
        Method::POST => actual == HttpMethod::POST,
    }
}

/// Serves every request: match, check, answer, record.
async fn handle(
    State(shared): State<Arc<Shared>>,
    method: HttpMethod,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut record = RecordedRequest {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        content_type: content_type.clone(),
        body: body.clone(),
        endpoint: None,
        accepted: false,
    };

    let response = match find_endpoint(shared.specs, &method, uri.path()) {
        None => {
            tracing::debug!("sandbox: no endpoint for {method} {}", uri.path());
            (
                StatusCode::NOT_FOUND,
                format!("no sandbox endpoint for {method} {}\n", uri.path()),
            )
                .into_response()
        }
        Some((spec, ep)) => {
            record.endpoint = Some(ep.name.clone());
            let incoming = check::Incoming {
                query: uri.query(),
                content_type: content_type.as_deref(),
                body: &body,
            };
            match check::check(spec, ep, &incoming) {
                Err(rejection) => {
                    tracing::debug!("sandbox: {} rejected: {rejection:?}", ep.name);
                    respond::json(respond::rejection(spec.vendor, &rejection))
                }
                Ok(params) => {
                    record.accepted = true;
                    match headers.get(ERROR_HEADER) {
                        Some(code) => injected_error(spec.vendor, ep, code.to_str().ok()),
                        None => respond::success(spec.vendor, ep, &params),
                    }
                }
            }
        }
    };

    shared
        .log
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(record);
    response
}

/// The answer to `x-sandbox-error: <code>`.
fn injected_error(vendor: Vendor, ep: &Endpoint, code: Option<&str>) -> Response {
    let Some(code) = code.and_then(|c| c.trim().parse::<i64>().ok()) else {
        return Response::builder()
            .status(StatusCode::BAD_REQUEST)
            .body(Body::from(format!(
                "{ERROR_HEADER} must be an integer code\n"
            )))
            .expect("static response");
    };
    let message = ep
        .errors
        .iter()
        .find(|e| e.code == code)
        .map_or("sandbox error", |e| e.message.as_str());
    respond::json(envelope::error(vendor, code, message))
}
