//! A loopback HTTP server that serves every endpoint of all three vendors (WeChat, Baidu,
//! Kuaishou) from the embedded specs, on one origin.
//!
//! Each request is matched to its endpoint by method and path, checked against the spec
//! (credentials, body kind, parameter names, required parameters, types, limits) and answered
//! with the document's example on success, or with the vendor's error envelope (HTTP 200) naming
//! the failed check. A request header `x-sandbox-error: <code>` makes an accepted request fail
//! with that vendor error code and the documented message.
//!
//! Baidu `oauth/token` (`response = "bare_json"`) has no envelope: its parameter errors are
//! `{"error": "invalid_request", "error_description": ...}` with HTTP 400, and its numeric
//! errors (missing token, `x-sandbox-error`) use the gateway shape `{"error_code", "error_msg"}`.
//!
//! # Token mode
//!
//! With [`SandboxOptions::enforce_tokens`] ([`Sandbox::start_with`], or the binary's
//! `--enforce-tokens`), token endpoints (spec `token`) issue fresh tokens that expire after
//! [`SandboxOptions::token_lifetime`], and every `component_access_token` /
//! `authorizer_access_token` credential must be a live token this sandbox issued for the same
//! vendor and kind. Otherwise the vendor's documented code answers (HTTP 200):
//!
//! | vendor   | expired             | unknown, revoked, other vendor or kind |
//! |----------|---------------------|----------------------------------------|
//! | WeChat   | `errcode` 42001     | `errcode` 40001                        |
//! | Baidu    | `error_code` 111    | `error_code` 110                       |
//! | Kuaishou | `result` 100200108  | `result` 100200102                     |
//!
//! Issued tokens look like the vendor's: Baidu TP tokens `42.<hex>.<n>`, mini-program tokens
//! `45.<hex>.<n>`, refresh tokens `46.<hex>.<n>`; WeChat `wx-ctoken-<n>-<hex>` (component),
//! `wx-atoken-…` (authorizer), `wx-rtoken-…` (refresh); Kuaishou `ks-ctoken-…`, `ks-atoken-…`,
//! `ks-rtoken-…`.
//!
//! A refresh token that was never issued, belongs to another vendor or kind, or (Baidu, single
//! use) was already used answers WeChat `errcode` 61023, Baidu HTTP 400
//! `{"error": "invalid_grant", ...}`, Kuaishou `result` 100200113. Codes, tickets and app
//! secrets may hold any non-empty value; a grant chosen by a parameter (Baidu `grant_type`) must
//! carry the secret parameter of its example request (`code`, else `invalid_request`;
//! `refresh_token`, else `invalid_grant`). Tests in other processes can share one sandbox:
//! `miniapp-sandbox --enforce-tokens --token-lifetime-ms 300` prints its base URL.
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
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use miniapp_sandbox::{Sandbox, SandboxOptions};
//! let sandbox = Sandbox::start_with(SandboxOptions {
//!     enforce_tokens: true,
//!     token_lifetime: std::time::Duration::from_millis(300),
//!     ..SandboxOptions::default()
//! })
//! .await?;
//! // ... fetch tokens, call endpoints, let them expire ...
//! assert_eq!(sandbox.issued("wechat/GetComponentAccessToken"), 0);
//! # Ok(()) }
//! ```
//!
//! # Fault injection
//!
//! [`Sandbox::inject`] makes the next requests to an endpoint fail with a [`Fault`]: an HTTP
//! error status, the vendor's "system busy" or token-expired answer, a slow answer, a
//! connection closed before or during the response, a truncated, non-JSON or HTML body.
//! [`SandboxOptions::fault_rate`] (binary: `--fault-rate F --fault-seed N`) injects random
//! faults, repeatably for a given [`SandboxOptions::fault_seed`]. A faulted request is still
//! checked and recorded ([`Sandbox::requests`], [`Sandbox::hits`]); the fault only replaces
//! the answer.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use miniapp_sandbox::{Fault, Sandbox};
//! let sandbox = Sandbox::start().await?;
//! sandbox.inject("wechat/GetComponentAccessToken", Fault::Status(503), Some(2));
//! sandbox.inject("GetAppInfo", Fault::ResetBeforeResponse, None);
//! // ... the client retries through two 503s ...
//! assert_eq!(sandbox.hits("wechat/GetComponentAccessToken"), 3);
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, Method as HttpMethod, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use bytes::Bytes;
use miniapp_spec::{Endpoint, Method, SpecFile};
use tokio::sync::oneshot;

mod check;
mod code;
mod embedded;
mod envelope;
mod events;
mod faults;
mod fleet;
#[rustfmt::skip] // formatted by the generator (prettyplease)
mod generated;
mod library;
mod options;
mod pushes;
mod respond;
mod serve;
mod server;
mod tokens;

pub use code::{AuditPushTarget, CodeOptions};
pub use core_http::resource::{FieldValue, ResourceValue};
pub use envelope::take_request_id;
pub use faults::Fault;
use faults::Faults;
use fleet::Fleet;
pub use fleet::{AppCounters, FleetApp, Traffic};
pub use options::SandboxOptions;
pub use pushes::{PushSecrets, PushSendError, Pushed, ENCODING_AES_KEY, PUSH_TOKEN};
use tokens::Tokens;

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
    /// Whether the request passed every check of its endpoint's spec (and, in token mode, the
    /// token checks: a refused token or refresh token records `false`).
    pub accepted: bool,
}

/// A running sandbox server; it stops when dropped.
#[derive(Debug)]
pub struct Sandbox {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<RecordedRequest>>>,
    tokens: Arc<Tokens>,
    faults: Arc<Faults>,
    fleet: Arc<Fleet>,
    apps: Vec<(miniapp_spec::Vendor, Vec<FleetApp>)>,
    shutdown: Option<oneshot::Sender<()>>,
}

/// What the request handler shares.
struct Shared {
    specs: &'static [SpecFile],
    log: Arc<Mutex<Vec<RecordedRequest>>>,
    tokens: Arc<Tokens>,
    faults: Arc<Faults>,
    fleet: Arc<Fleet>,
}

impl Sandbox {
    /// Binds `127.0.0.1:0` and serves in a tokio task until dropped, with the default
    /// [`SandboxOptions`] (tokens not enforced).
    pub async fn start() -> std::io::Result<Sandbox> {
        Self::start_with(SandboxOptions::default()).await
    }

    /// Binds `addr` and serves in a tokio task until dropped, with the default
    /// [`SandboxOptions`] (tokens not enforced).
    pub async fn start_on(addr: SocketAddr) -> std::io::Result<Sandbox> {
        Self::start_on_with(addr, SandboxOptions::default()).await
    }

    /// Binds `127.0.0.1:0` and serves with `options` in a tokio task until dropped.
    pub async fn start_with(options: SandboxOptions) -> std::io::Result<Sandbox> {
        Self::start_on_with(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), options).await
    }

    /// Binds `addr` and serves with `options` in a tokio task until dropped.
    pub async fn start_on_with(
        addr: SocketAddr,
        options: SandboxOptions,
    ) -> std::io::Result<Sandbox> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let faults = Arc::new(Faults::new(&options));
        let specs: &'static [SpecFile] = if options.extra_specs.is_empty() {
            embedded::parsed()
        } else {
            // Kept for the process's life (a test's few specs), like the built-in ones.
            let mut all = embedded::parsed().to_vec();
            all.extend(options.extra_specs.iter().cloned());
            Box::leak(all.into_boxed_slice())
        };
        let fleet = Arc::new(Fleet::new(specs, &options));
        let count = options.apps;
        let tokens = Arc::new(Tokens::new(options));
        let apps = core_http::Vendor::ALL
            .iter()
            .map(|&runtime| {
                let vendor = runtime.spec_vendor();
                let shapes = embedded::shapes(vendor);
                let apps = (1..=count)
                    .map(|i| {
                        let app_id = match shapes.numeric_app_ids_from {
                            Some(first) => (first + i as i64 - 1).to_string(),
                            None => format!("{}_fleet_{i:05}", shapes.app_prefix),
                        };
                        let refresh_token = tokens.seed_authorization(vendor, &app_id);
                        FleetApp {
                            app_id,
                            refresh_token,
                        }
                    })
                    .collect();
                (vendor, apps)
            })
            .collect();
        let shared = Arc::new(Shared {
            specs,
            log: Arc::clone(&log),
            tokens: Arc::clone(&tokens),
            faults: Arc::clone(&faults),
            fleet: Arc::clone(&fleet),
        });
        let app = Router::new().fallback(handle).with_state(shared);
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(server::run(listener, app, rx));
        tracing::debug!("sandbox listening on {addr}");
        Ok(Sandbox {
            addr,
            log,
            tokens,
            faults,
            fleet,
            apps,
            shutdown: Some(tx),
        })
    }

    /// Pushes a fresh ticket to a platform's handler at `url` as `vendor` does: encrypted and
    /// signed with `secrets`, in the vendor's envelope (WeChat XML with the signature in the
    /// query, Baidu JSON, Kuaishou JSON with `kwaisign`), timestamped now. Returns the ticket
    /// and what the handler answered; the ticket is then good for the platform token.
    pub async fn push_ticket(
        &self,
        vendor: impl AnyVendor,
        url: &str,
        secrets: &PushSecrets,
    ) -> Result<Pushed, PushSendError> {
        push_ticket_with(&self.tokens, vendor.spec_vendor(), url, secrets).await
    }

    /// Pushes a fresh ticket every `every` (the vendors push every 10 minutes) until the
    /// returned [`TicketPusher`] is dropped; the first push goes out at once.
    pub fn push_tickets_every(
        &self,
        vendor: impl AnyVendor,
        url: &str,
        secrets: &PushSecrets,
        every: Duration,
    ) -> TicketPusher {
        let vendor = vendor.spec_vendor();
        // A zero period would make the timer panic: push as often as 1 ms at the most.
        let every = every.max(Duration::from_millis(1));
        let (tokens, url, secrets) = (Arc::clone(&self.tokens), url.to_owned(), secrets.clone());
        let log = Arc::new(Mutex::new(Vec::new()));
        let pushed = Arc::clone(&log);
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            loop {
                ticks.tick().await;
                let outcome = push_ticket_with(&tokens, vendor, &url, &secrets)
                    .await
                    .map_err(|e| e.to_string());
                pushed
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(outcome);
            }
        });
        TicketPusher { task, log }
    }

    /// Authorizes the platform as the WeChat app `authorizer_appid` would: pushes the
    /// `authorized` event, encrypted with `secrets`, to the handler at `url`. The code it
    /// carries (returned in [`Pushed::ticket`]) is accepted by `api_query_auth`.
    pub async fn push_wechat_authorized(
        &self,
        url: &str,
        secrets: &PushSecrets,
        authorizer_appid: &str,
    ) -> Result<Pushed, PushSendError> {
        self.push_authorized(core_http::Vendor::Wechat, url, secrets, authorizer_appid)
            .await
    }

    /// Authorizes the platform as the app `app_id` of `vendor` would: pushes the vendor's
    /// authorization event (`authorized` of `[sandbox.pushes]` in its `vendor.toml`: WeChat's
    /// `authorized` XML, Baidu's `AUTHORIZED` JSON with the numeric app id), encrypted with
    /// `secrets`, to the handler at `url`. The code it carries (returned in
    /// [`Pushed::ticket`]) exchanges once for tokens bound to that app. A vendor whose
    /// documents describe no authorization push (Kuaishou) has none: an error says so.
    pub async fn push_authorized(
        &self,
        vendor: impl AnyVendor,
        url: &str,
        secrets: &PushSecrets,
        app_id: &str,
    ) -> Result<Pushed, PushSendError> {
        let vendor = vendor.spec_vendor();
        let code = self.tokens.issue_code(vendor, app_id);
        let facts = pushes::PushFacts {
            app: Some(app_id),
            code: Some(&code),
            ..Default::default()
        };
        let role = pushes::PushRole::Authorized;
        pushes::send_push(vendor, role, url, secrets, facts, code.clone()).await
    }

    /// The apps seeded for `vendor` ([`SandboxOptions::apps`]), in id order.
    pub fn fleet_apps(&self, vendor: impl AnyVendor) -> &[FleetApp] {
        let vendor = vendor.spec_vendor();
        self.apps
            .iter()
            .find(|(v, _)| *v == vendor)
            .map_or(&[], |(_, apps)| apps.as_slice())
    }

    /// The requests `vendor` answered and those it refused for its rate limit, so far.
    pub fn traffic(&self, vendor: impl AnyVendor) -> Traffic {
        self.fleet.traffic(vendor.spec_vendor())
    }

    /// What `app` (an app id, or in plain mode the token that stands for it; `"platform"` for
    /// the platform) of `vendor` has been sent.
    pub fn counters(&self, vendor: impl AnyVendor, app: &str) -> AppCounters {
        let vendor = vendor.spec_vendor();
        self.fleet.counters(vendor, app)
    }

    /// The stored value of resource `name` (spec name, e.g. `"server_domains"`) of `app`;
    /// `None` before any write. Platform resources ignore `app`.
    pub fn resource(&self, vendor: impl AnyVendor, app: &str, name: &str) -> Option<ResourceValue> {
        self.fleet.value(vendor.spec_vendor(), app, name)
    }

    /// Sets the stored value of resource `name` of `app` (a test's starting state); false when
    /// `vendor` declares no such resource.
    pub fn set_resource(
        &self,
        vendor: impl AnyVendor,
        app: &str,
        name: &str,
        value: ResourceValue,
    ) -> bool {
        self.fleet.set_value(vendor.spec_vendor(), app, name, value)
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

    /// The code lifecycle's decisions so far for `vendor` (specs' `[shipping]`, when the
    /// sandbox is stateful): how many apps' latest audits were approved and rejected, and how
    /// many apps released their code.
    pub fn code_outcomes(&self, vendor: impl AnyVendor) -> (usize, usize, usize) {
        self.fleet.code_outcomes(vendor.spec_vendor())
    }

    /// The apps of `vendor` whose code was submitted more than once for one upload, and
    /// released more than once for one submission: what a release job must never do (0 and 0).
    pub fn code_repeats(&self, vendor: impl AnyVendor) -> (usize, usize) {
        self.fleet.code_repeats(vendor.spec_vendor())
    }

    /// Adds a template to `vendor`'s library, as the platform's operator does from a draft in
    /// the vendor's console: it is the newest. Returns its id (`None` when the vendor's specs
    /// have no `[library]`).
    pub fn add_template(&self, vendor: impl AnyVendor) -> Option<i64> {
        self.fleet.library().add(vendor.spec_vendor())
    }

    /// Deletes template `id` from `vendor`'s library; whether it was there. Uploads naming it
    /// are refused from now on.
    pub fn delete_template(&self, vendor: impl AnyVendor, id: i64) -> bool {
        self.fleet.library().delete(vendor.spec_vendor(), id)
    }

    /// How many tokens the token endpoint `endpoint` (spec name, e.g. `"GetOAuthToken"`) has
    /// issued.
    ///
    /// A plain name counts that name across vendors (WeChat and Kuaishou both have a
    /// `GetComponentAccessToken`); `"wechat/GetComponentAccessToken"` counts one vendor's. Without
    /// [`SandboxOptions::enforce_tokens`] every successful answer of a token endpoint (its
    /// example) counts; failures (injected or refused) never count.
    pub fn issued(&self, endpoint: &str) -> usize {
        self.tokens.issued(endpoint)
    }

    /// Revokes every access token issued so far (refresh tokens stay valid): the next call with
    /// one is rejected as invalid.
    pub fn revoke_access_tokens(&self) {
        self.tokens.revoke_all();
    }

    /// Revokes one access token; the next call with it is rejected as invalid (unknown tokens
    /// are ignored).
    pub fn revoke(&self, token: &str) {
        self.tokens.revoke(token);
    }

    /// Makes every later call of the token endpoint `endpoint` fail with the vendor error `code`
    /// (None to stop).
    ///
    /// `endpoint` is a spec name (all vendors) or `vendor/Name`. The answer is the vendor's
    /// envelope with `code` and the documented message (`{"error_code", "error_msg"}` for Baidu
    /// `GetOAuthToken`, which has no envelope), after [`SandboxOptions::token_delay`]; nothing
    /// is issued. Works with and without token enforcement.
    pub fn fail_token_endpoint(&self, endpoint: &str, code: Option<i64>) {
        self.tokens.set_failing(endpoint, code);
    }

    /// Injects `fault` on the next `times` requests to the endpoint named `endpoint`, or on
    /// every request when `times` is `None`.
    ///
    /// `endpoint` is a spec name (matching every vendor's endpoint of that name) or
    /// `vendor/Name` (one vendor's). Later calls add rules; a request uses the first rule that
    /// matches and still has uses left, and no random fault
    /// ([`SandboxOptions::fault_rate`]). The request is still checked and recorded; see
    /// [`Fault`] for what the client observes. Requests that match no endpoint are never
    /// faulted.
    pub fn inject(&self, endpoint: &str, fault: Fault, times: Option<usize>) {
        self.faults.inject(endpoint, fault, times);
    }

    /// Removes every injection rule ([`Sandbox::inject`]); random faults go on.
    pub fn clear_faults(&self) {
        self.faults.clear();
    }

    /// How many requests the endpoint has received (recorded, whatever the answer, faults
    /// included), by spec name (every vendor) or `vendor/Name`.
    pub fn hits(&self, endpoint: &str) -> usize {
        self.faults.hits(endpoint)
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
        Method::Get => actual == HttpMethod::GET,
        Method::Post => actual == HttpMethod::POST,
    }
}

/// A vendor as the sandbox's methods take it: the runtime's [`core_http::Vendor`] (what a vendor
/// crate's user has) or the spec format's [`miniapp_spec::Vendor`].
pub trait AnyVendor {
    /// The vendor of the specs the sandbox serves.
    fn spec_vendor(self) -> miniapp_spec::Vendor;
}

impl AnyVendor for miniapp_spec::Vendor {
    fn spec_vendor(self) -> miniapp_spec::Vendor {
        self
    }
}

impl AnyVendor for core_http::Vendor {
    fn spec_vendor(self) -> miniapp_spec::Vendor {
        miniapp_spec::Vendor::new(self.facts().name)
            .expect("a runtime vendor's name is a spec vendor name")
    }
}

/// Pushes one fresh ticket, remembered as pushed (so that [`SandboxOptions::pushed_tickets_only`]
/// accepts it).
async fn push_ticket_with(
    tokens: &Tokens,
    vendor: miniapp_spec::Vendor,
    url: &str,
    secrets: &PushSecrets,
) -> Result<Pushed, PushSendError> {
    let ticket = embedded::shapes(vendor)
        .ticket_format
        .replace("{hex}", &format!("{:016x}", fastrand::u64(..)));
    tokens.record_pushed_ticket(vendor, &ticket);
    pushes::push_ticket(vendor, url, secrets, ticket).await
}

/// Ticket pushes on a timer ([`Sandbox::push_tickets_every`]); they stop when this is dropped.
#[derive(Debug)]
pub struct TicketPusher {
    task: tokio::task::JoinHandle<()>,
    log: Arc<Mutex<Vec<Result<Pushed, String>>>>,
}

impl TicketPusher {
    /// What each push so far did (its ticket and the handler's answer, or why it failed).
    pub fn pushed(&self) -> Vec<Result<Pushed, String>> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for TicketPusher {
    fn drop(&mut self) {
        self.task.abort();
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

    let Some((spec, ep)) = find_endpoint(shared.specs, &method, uri.path()) else {
        tracing::debug!("sandbox: no endpoint for {method} {}", uri.path());
        shared.record(record);
        return (
            StatusCode::NOT_FOUND,
            format!("no sandbox endpoint for {method} {}\n", uri.path()),
        )
            .into_response();
    };

    record.endpoint = Some(ep.name.clone());
    let delay = shared.fleet.delay();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if shared.fleet.over_rate(spec.vendor) {
        record.accepted = true;
        shared.record(record);
        return rate_limited(spec.vendor);
    }
    let fault = shared.faults.pick(spec.vendor, &ep.name);
    let work = match &fault {
        Some(fault) if !fault.needs_answer() => serve::Work::CheckOnly,
        _ => serve::Work::Answer,
    };
    let incoming = check::Incoming {
        query: uri.query(),
        content_type: content_type.as_deref(),
        body: &body,
        headers: Some(&headers),
    };
    let outcome = serve::serve(
        &shared.tokens,
        &shared.fleet,
        spec,
        ep,
        &incoming,
        headers.get(ERROR_HEADER),
        work,
    )
    .await;
    record.accepted = outcome.accepted;
    // Recorded before a fault applies, so a slow answer the client gave up on still counts.
    shared.faults.hit(spec.vendor, &ep.name);
    shared.record(record);
    match fault {
        None => outcome.response,
        Some(fault) => {
            tracing::debug!("sandbox: {} answered with {fault:?}", ep.name);
            faults::apply(&fault, spec.vendor, outcome.response).await
        }
    }
}

/// The answer above the rate limit: the vendor's own rate-limit code (`rate_limit_codes` of
/// its `vendor.toml`, in the shape the vendor sends it), HTTP 429 with `Retry-After: 1` for
/// a vendor that documents none.
fn rate_limited(vendor: miniapp_spec::Vendor) -> Response {
    match envelope::rate_limited(vendor) {
        Some(body) => respond::json(body),
        None => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "1")],
            "429 Too Many Requests (sandbox rate limit)\n",
        )
            .into_response(),
    }
}

impl Shared {
    /// Appends one request to the log.
    fn record(&self, record: RecordedRequest) {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(record);
    }
}
