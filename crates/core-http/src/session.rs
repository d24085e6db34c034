//! One connection pool for every authorized app, cheap per-app handles, and the one seam where
//! credentials come from.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use smallvec::SmallVec;
use tracing::Instrument;

use crate::endpoint::JsonBody;
use crate::retry::{self, RetryPolicy};
use crate::{
    BodyKind, CredentialKind, Endpoint, Error, Location, Method, ParamSink, RawResponse, Secret,
};

/// The future a [`TokenProvider`] returns.
pub type TokenFuture<'a> = Pin<Box<dyn Future<Output = Result<Secret, Error>> + Send + 'a>>;

/// Supplies a token on demand (a refreshing provider, a cache, a store).
pub trait TokenProvider: Send + Sync {
    /// The current token.
    fn token(&self) -> TokenFuture<'_>;

    /// The authorized app this token belongs to, if any: logged with each call (never the
    /// token itself).
    fn app_id(&self) -> Option<&str> {
        None
    }

    /// The vendor rejected `failed` as invalid or expired: forget it if it is still the
    /// current token (compare-and-invalidate), so the next [`TokenProvider::token`] refreshes.
    fn invalidate<'a>(&'a self, failed: &'a Secret) -> crate::token::BoxFuture<'a, ()> {
        let _ = failed;
        Box::pin(async {})
    }
}

/// Where a token comes from: a caller's fixed value, or a provider the SDK asks each call.
#[derive(Clone)]
pub enum TokenSource {
    /// A token the caller supplied; the SDK uses it as is and never tries to refresh it.
    Static(Secret),
    /// A provider asked on every call.
    Provider(Arc<dyn TokenProvider>),
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenSource::Static(s) => f.debug_tuple("Static").field(s).finish(),
            TokenSource::Provider(_) => f.write_str("Provider(..)"),
        }
    }
}

impl<T: Into<Secret>> From<T> for TokenSource {
    fn from(token: T) -> Self {
        TokenSource::Static(token.into())
    }
}

impl TokenSource {
    fn app_id(&self) -> Option<&str> {
        match self {
            TokenSource::Static(_) => None,
            TokenSource::Provider(p) => p.app_id(),
        }
    }

    async fn get(&self) -> Result<Secret, Error> {
        match self {
            TokenSource::Static(s) => Ok(s.clone()),
            TokenSource::Provider(p) => p.token().await,
        }
    }

    /// Invalidates `failed` in a provider; true when there is one (a caller's static token is
    /// never "refreshed" by guessing).
    async fn invalidate(&self, failed: &Secret) -> bool {
        match self {
            TokenSource::Static(_) => false,
            TokenSource::Provider(p) => {
                p.invalidate(failed).await;
                true
            }
        }
    }
}

/// The credentials of one handle. Cloning is cheap.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    /// The platform's app id (Kuaishou sends it on every call).
    pub component_app_id: Option<Arc<str>>,
    /// The platform's own token (WeChat component endpoints).
    pub component_access_token: Option<TokenSource>,
    /// The authorized mini-program's token.
    pub authorizer_access_token: Option<TokenSource>,
    /// The authorized mini-program's app id, for the logs, when the token source does not
    /// know it (a token manager's tokens do).
    pub authorizer_app_id: Option<Arc<str>>,
}

impl Credentials {
    /// The authorized app id these credentials act for, if known.
    pub fn app_id(&self) -> Option<&str> {
        self.authorizer_app_id.as_deref().or_else(|| {
            self.authorizer_access_token
                .as_ref()
                .and_then(TokenSource::app_id)
        })
    }

    fn source(&self, kind: CredentialKind) -> Option<&TokenSource> {
        match kind {
            CredentialKind::ComponentAccessToken => self.component_access_token.as_ref(),
            CredentialKind::AuthorizerAccessToken => self.authorizer_access_token.as_ref(),
            CredentialKind::ComponentAppId => None,
        }
    }

    async fn resolve(&self, kind: CredentialKind, endpoint: &'static str) -> Result<Secret, Error> {
        let missing = |what: &str| Error::Credentials {
            endpoint,
            message: format!("no {what} configured on this handle"),
        };
        match kind {
            CredentialKind::ComponentAppId => self
                .component_app_id
                .as_ref()
                .map(|id| Secret::new(id.clone()))
                .ok_or_else(|| missing("component app id")),
            CredentialKind::ComponentAccessToken => match &self.component_access_token {
                Some(t) => t.get().await,
                None => Err(missing("component access token")),
            },
            CredentialKind::AuthorizerAccessToken => match &self.authorizer_access_token {
                Some(t) => t.get().await,
                None => Err(missing("authorizer access token")),
            },
        }
    }
}

/// The shared HTTP side: one `reqwest` pool and a base URL. Build one per vendor and share it
/// (it is behind an `Arc` in every [`Session`]).
#[derive(Debug)]
pub struct Transport {
    http: reqwest::Client,
    base_url: String,
    limiter: Option<Arc<crate::RateLimiter>>,
}

const FORM_CONTENT_TYPE: reqwest::header::HeaderValue =
    reqwest::header::HeaderValue::from_static("application/x-www-form-urlencoded");
const JSON_CONTENT_TYPE: reqwest::header::HeaderValue =
    reqwest::header::HeaderValue::from_static("application/json");

/// Default connect timeout of [`Transport::new`].
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default time limit of one request of [`Transport::new`].
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

impl Transport {
    /// A transport with its own connection pool ([`DEFAULT_CONNECT_TIMEOUT`],
    /// [`DEFAULT_REQUEST_TIMEOUT`], [`redirect_policy`]). Panics like [`Transport::with_timeouts`].
    pub fn new(base_url: impl Into<String>) -> Self {
        Self::with_timeouts(base_url, DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT)
    }

    /// A transport with explicit connect and per-request timeouts.
    ///
    /// # Panics
    ///
    /// When the TLS backend cannot be initialised, as `reqwest::Client::new` does (a
    /// transport silently without its timeouts and redirect policy would be worse).
    pub fn with_timeouts(
        base_url: impl Into<String>,
        connect: Duration,
        request: Duration,
    ) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(connect)
            .timeout(request)
            .redirect(redirect_policy())
            .build()
            .unwrap_or_else(|e| panic!("core-http: the HTTP client cannot be built: {e}"));
        Self::with_client(base_url, http)
    }

    /// A transport over a caller-configured `reqwest` client (proxies, timeouts, TLS). Give it
    /// [`redirect_policy`] unless you want reqwest's default, which follows redirects to any
    /// host, tokens in the query included.
    pub fn with_client(base_url: impl Into<String>, http: reqwest::Client) -> Self {
        let mut base_url = base_url.into();
        while base_url.ends_with('/') {
            base_url.pop();
        }
        Transport {
            http,
            base_url,
            limiter: None,
        }
    }

    /// The same transport, every attempt of every call on it paced by `limiter` and reported
    /// to it (a throttling answer slows it down): the token managers' calls on this transport
    /// included. Share one limiter per vendor platform.
    pub fn with_rate_limiter(mut self, limiter: Arc<crate::RateLimiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// The rate limiter, if one is set.
    pub fn rate_limiter(&self) -> Option<&Arc<crate::RateLimiter>> {
        self.limiter.as_ref()
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
}

/// The redirect policy of [`Transport::new`]: at most 5 redirects, each to the same origin
/// (scheme, host and port) as the request. A redirect to another origin is not followed:
/// the request's query carries access tokens. The call then fails with [`Error::Http`] and
/// the 3xx status.
pub fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same_origin = attempt
            .previous()
            .first()
            .is_some_and(|first| first.origin() == attempt.url().origin());
        if !same_origin {
            attempt.stop()
        } else if attempt.previous().len() > 5 {
            attempt.error("too many redirects")
        } else {
            attempt.follow()
        }
    })
}

/// The header a credential travels in (its wire name, e.g. `access-token`).
fn header_name<E: Endpoint>(
    cred: &crate::CredentialParam,
) -> Result<reqwest::header::HeaderName, Error> {
    reqwest::header::HeaderName::from_bytes(cred.name.as_bytes()).map_err(|_| Error::Credentials {
        endpoint: E::NAME,
        message: format!("`{}` is not a valid header name", cred.name),
    })
}

/// A credential as a header value, marked sensitive: `reqwest`, `hyper` and `http` then keep
/// it out of `Debug` output, and HTTP/2 never indexes it (HPACK).
fn header_value<E: Endpoint>(value: &Secret) -> Result<reqwest::header::HeaderValue, Error> {
    let mut header =
        reqwest::header::HeaderValue::from_str(value.expose()).map_err(|_| Error::Credentials {
            endpoint: E::NAME,
            // Never the value itself.
            message:
                "the credential has bytes a header cannot carry (control characters or non-ASCII)"
                    .into(),
        })?;
    header.set_sensitive(true);
    Ok(header)
}

/// The `Retry-After` header: delay-seconds or an HTTP date.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

/// What one call did, for its span: attempts made and the last HTTP status seen.
#[derive(Default)]
struct CallRecord {
    attempts: u32,
    status: Option<u16>,
}

/// A cheap handle: the shared transport, one set of credentials and a retry policy. Vendor
/// crates wrap it in their per-app handle types; cloning it clones a few `Arc`s.
#[derive(Clone, Debug)]
pub struct Session {
    transport: Arc<Transport>,
    credentials: Credentials,
    retry: Arc<RetryPolicy>,
}

impl Session {
    /// A handle on `transport` with `credentials` and the default [`RetryPolicy`].
    pub fn new(transport: Arc<Transport>, credentials: Credentials) -> Self {
        Session {
            transport,
            credentials,
            retry: Arc::new(RetryPolicy::default()),
        }
    }

    /// The same transport and retry policy with other credentials (how handles are made).
    pub fn with_credentials(&self, credentials: Credentials) -> Self {
        Session {
            transport: self.transport.clone(),
            credentials,
            retry: self.retry.clone(),
        }
    }

    /// The same handle with another retry policy: set it on a client to change every handle
    /// made from it, or on a clone for one call.
    pub fn with_retry_policy(&self, policy: RetryPolicy) -> Self {
        Session {
            retry: Arc::new(policy),
            ..self.clone()
        }
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// The shared transport.
    pub fn transport(&self) -> &Arc<Transport> {
        &self.transport
    }

    /// This handle's credentials.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Validates, encodes and sends `request`, then decodes the answer.
    ///
    /// When the vendor answers one of its token-invalid codes and a token came from a
    /// [`TokenProvider`], that token is invalidated (only if still current) and the call is
    /// retried once with a fresh one; a second rejection is [`Error::TokenRejected`].
    ///
    /// Each call is one INFO span `miniapp.call` with `vendor`, `endpoint`, `app` (the
    /// authorized app id, when known; never a token), `attempts`, `status` (the last HTTP
    /// status), `vendor_code` and `latency_ms`; a DEBUG event per retry with its reason, and
    /// one WARN event when the call finally fails.
    pub async fn send<E: Endpoint>(&self, request: &E) -> Result<E::Response, Error> {
        request.validate()?;
        let span = tracing::info_span!(
            "miniapp.call",
            vendor = %E::VENDOR,
            endpoint = %E::NAME,
            app = tracing::field::Empty,
            attempts = tracing::field::Empty,
            status = tracing::field::Empty,
            vendor_code = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        );
        let mut record = CallRecord::default();
        // No span bookkeeping when nobody listens.
        if span.is_disabled() {
            return self.send_refreshing(request, &mut record).await;
        }
        if let Some(app) = self.credentials.app_id() {
            span.record("app", tracing::field::display(app));
        }
        let started = std::time::Instant::now();
        let result = self
            .send_refreshing(request, &mut record)
            .instrument(span.clone())
            .await;
        span.record("attempts", record.attempts);
        if let Some(status) = record.status {
            span.record("status", status);
        }
        if let Some(v) = result.as_ref().err().and_then(Error::vendor) {
            span.record("vendor_code", v.code);
        }
        span.record("latency_ms", started.elapsed().as_micros() as f64 / 1e3);
        if let Err(error) = &result {
            tracing::warn!(parent: &span, %error, "call failed");
        }
        result
    }

    /// [`Session::send`] after validation: the token-invalid refresh around the retries.
    async fn send_refreshing<E: Endpoint>(
        &self,
        request: &E,
        record: &mut CallRecord,
    ) -> Result<E::Response, Error> {
        let secrets = self.resolve_retrying::<E>().await?;
        let first = self.send_retrying(request, &secrets, record).await;
        let rejected = match &first {
            Err(Error::Vendor(v)) if E::VENDOR.is_token_invalid(v.code) => v.clone(),
            _ => return first,
        };
        let mut refreshable = false;
        for (cred, used) in E::CREDENTIALS.iter().zip(&secrets) {
            if let Some(source) = self.credentials.source(cred.kind) {
                refreshable |= source.invalidate(used).await;
            }
        }
        if !refreshable {
            return first;
        }
        tracing::debug!(
            code = rejected.code,
            "token rejected; refreshing once and retrying"
        );
        let secrets = self.resolve::<E>().await?;
        match self.send_retrying(request, &secrets, record).await {
            Err(Error::Vendor(v)) if E::VENDOR.is_token_invalid(v.code) => {
                Err(Error::TokenRejected(v))
            }
            other => other,
        }
    }

    /// Attempts until success, a failure that must not be retried, or the policy's bounds.
    async fn send_retrying<E: Endpoint>(
        &self,
        request: &E,
        secrets: &[Secret],
        record: &mut CallRecord,
    ) -> Result<E::Response, Error> {
        // The first attempt, without any retry bookkeeping: most calls succeed.
        let first = self.send_with(request, secrets, record).await;
        if first.is_ok() {
            return first;
        }
        let policy = &*self.retry;
        let started = std::time::Instant::now();
        let mut attempt = 1;
        let mut result = first;
        loop {
            let Err(error) = &result else { return result };
            let failure = retry::classify(E::VENDOR, error);
            if !retry::should_retry(policy, failure, request.is_idempotent()) {
                return result;
            }
            // A server's Retry-After is a floor for the backoff, within the budget.
            let Some(backoff) =
                policy.wait_before(attempt, started.elapsed(), retry::retry_after(error))
            else {
                return result;
            };
            tracing::debug!(
                attempt,
                ?failure,
                reason = %error,
                backoff_ms = backoff.as_millis() as u64,
                "retrying"
            );
            tokio::time::sleep(backoff).await;
            attempt += 1;
            result = self.send_with(request, secrets, record).await;
        }
    }

    /// Sends without checking the documented limits first. Only for testing a server's own
    /// checks (the SDK's tests compare its validator with the sandbox's); never needed
    /// otherwise.
    #[doc(hidden)]
    pub async fn send_unvalidated<E: Endpoint>(&self, request: &E) -> Result<E::Response, Error> {
        let secrets = self.resolve::<E>().await?;
        self.send_with(request, &secrets, &mut CallRecord::default())
            .await
    }

    /// The credential values of `E`, in `E::CREDENTIALS` order (inline: at most two exist).
    /// [`Session::resolve`], tried again within the retry policy's attempts and budget while
    /// a token refresh fails in a way that may succeed later (the vendor throttled the token
    /// call, the store did not answer): the call itself has not left yet.
    async fn resolve_retrying<E: Endpoint>(&self) -> Result<SmallVec<[Secret; 2]>, Error> {
        let first = self.resolve::<E>().await;
        if !matches!(
            first,
            Err(Error::TokenRefresh {
                retryable: true,
                ..
            })
        ) {
            return first;
        }
        let policy = &*self.retry;
        let started = std::time::Instant::now();
        let mut attempt = 1;
        let mut result = first;
        loop {
            let Err(
                error @ Error::TokenRefresh {
                    retryable: true, ..
                },
            ) = &result
            else {
                return result;
            };
            let Some(backoff) = policy.wait_before(attempt, started.elapsed(), None) else {
                return result;
            };
            tracing::debug!(
                attempt,
                reason = %error,
                backoff_ms = backoff.as_millis() as u64,
                "the token could not be had; trying again"
            );
            tokio::time::sleep(backoff).await;
            attempt += 1;
            result = self.resolve::<E>().await;
        }
    }

    async fn resolve<E: Endpoint>(&self) -> Result<SmallVec<[Secret; 2]>, Error> {
        let mut secrets = SmallVec::new();
        for cred in E::CREDENTIALS {
            secrets.push(self.credentials.resolve(cred.kind, E::NAME).await?);
        }
        Ok(secrets)
    }

    /// One attempt with resolved credentials (resolved before: the encoders below must not
    /// live across an await).
    async fn send_with<E: Endpoint>(
        &self,
        request: &E,
        secrets: &[Secret],
        record: &mut CallRecord,
    ) -> Result<E::Response, Error> {
        let Some(limiter) = &self.transport.limiter else {
            return self.send_once(request, secrets, record).await;
        };
        let slot = limiter.acquire().await;
        let result = self.send_once(request, secrets, record).await;
        let throttled = matches!(&result, Err(e) if retry::is_throttle(E::VENDOR, e));
        // A call that never reached the vendor says nothing about its rate.
        let reached =
            !matches!(&result, Err(Error::Transport { source, .. }) if source.is_connect());
        if reached {
            limiter.record(slot, throttled);
        }
        result
    }

    /// One attempt, unpaced.
    async fn send_once<E: Endpoint>(
        &self,
        request: &E,
        secrets: &[Secret],
        record: &mut CallRecord,
    ) -> Result<E::Response, Error> {
        record.attempts += 1;
        // The query is encoded straight into the URL buffer.
        let base = &self.transport.base_url;
        // Sized for the credentials (a token is often longer than the rest of the URL) and a
        // few parameters more, so that the URL is never copied to grow.
        let credentials: usize = E::CREDENTIALS
            .iter()
            .zip(secrets)
            .filter(|(cred, _)| cred.location == Location::Query)
            .map(|(cred, value)| cred.name.len() + value.expose().len() + 2)
            .sum();
        let mut url = String::with_capacity(base.len() + E::PATH.len() + credentials + 64);
        url.push_str(base);
        url.push_str(E::PATH);
        url.push('?');
        let query_start = url.len();
        // Form bodies (Baidu's writes) hold a token and joined lists: sized once.
        let mut form = if E::BODY == BodyKind::Form {
            String::with_capacity(512)
        } else {
            String::new()
        };
        {
            let mut q = ParamSink::new(&mut url);
            let mut f = ParamSink::new(&mut form);
            for (cred, value) in E::CREDENTIALS.iter().zip(secrets) {
                let sink = match cred.location {
                    Location::Query => &mut q,
                    Location::Form => &mut f,
                    // Headers are set on the request below; the spec loader and the derive
                    // refuse a credential in a JSON member.
                    Location::Header | Location::Json => continue,
                };
                if value.is_unreserved() {
                    sink.put_unreserved_value(cred.name, value.expose());
                } else {
                    sink.put(cred.name, value.expose());
                }
            }
            request.write_query(&mut q);
            if E::BODY == BodyKind::Form {
                request.write_form(&mut f);
            }
            q.finish();
            f.finish();
        }
        if url.len() == query_start {
            url.pop(); // no query: drop the '?'
        }
        let method = match E::METHOD {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
        };
        let mut builder = self.transport.http.request(method, url);
        for (cred, value) in E::CREDENTIALS.iter().zip(secrets) {
            match cred.location {
                Location::Header => {
                    builder = builder.header(header_name::<E>(cred)?, header_value::<E>(value)?)
                }
                Location::Json => {
                    return Err(Error::Credentials {
                        endpoint: E::NAME,
                        message: format!(
                            "the credential `{}` cannot travel in a JSON body; put it in the query, a header or a form",
                            cred.name
                        ),
                    })
                }
                Location::Query | Location::Form => {}
            }
        }
        if let Some(timeout) = self.retry.attempt_timeout {
            builder = builder.timeout(timeout);
        }
        builder = match E::BODY {
            BodyKind::None => builder,
            BodyKind::Form => builder
                .header(reqwest::header::CONTENT_TYPE, FORM_CONTENT_TYPE)
                .body(form),
            BodyKind::Json => {
                let body = serde_json::to_vec(&JsonBody(request)).map_err(|e| Error::Decode {
                    endpoint: E::NAME,
                    path: ".".into(),
                    message: format!("request body did not encode: {e}"),
                    body: Default::default(),
                })?;
                builder
                    .header(reqwest::header::CONTENT_TYPE, JSON_CONTENT_TYPE)
                    .body(body)
            }
        };

        let transport_error = |e: reqwest::Error| Error::Transport {
            endpoint: E::NAME,
            source: e.without_url(),
        };
        let response = builder.send().await.map_err(transport_error)?;
        let status = response.status().as_u16();
        record.status = Some(status);
        let headers = response.headers();
        let content_type = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let retry_after = if status == 429 || status == 503 {
            retry_after(headers)
        } else {
            None
        };
        let body = response.bytes().await.map_err(transport_error)?;
        tracing::debug!(status, len = body.len(), "answer received");
        E::decode(RawResponse {
            status,
            content_type,
            retry_after,
            body,
        })
    }
}
