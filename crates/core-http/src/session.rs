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
}

impl Credentials {
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
    /// [`DEFAULT_REQUEST_TIMEOUT`]).
    pub fn new(base_url: impl Into<String>) -> Self {
        Self::with_timeouts(base_url, DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT)
    }

    /// A transport with explicit connect and per-request timeouts.
    pub fn with_timeouts(
        base_url: impl Into<String>,
        connect: Duration,
        request: Duration,
    ) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(connect)
            .timeout(request)
            .build()
            .unwrap_or_default();
        Self::with_client(base_url, http)
    }

    /// A transport over a caller-configured `reqwest` client (proxies, timeouts, TLS).
    pub fn with_client(base_url: impl Into<String>, http: reqwest::Client) -> Self {
        let mut base_url = base_url.into();
        while base_url.ends_with('/') {
            base_url.pop();
        }
        Transport { http, base_url }
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
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
    pub async fn send<E: Endpoint>(&self, request: &E) -> Result<E::Response, Error> {
        request.validate()?;
        let span = tracing::debug_span!("miniapp.call", vendor = %E::VENDOR, endpoint = E::NAME);
        let call = async {
            let secrets = self.resolve::<E>().await?;
            let first = self.send_retrying(request, &secrets).await;
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
            match self.send_retrying(request, &secrets).await {
                Err(Error::Vendor(v)) if E::VENDOR.is_token_invalid(v.code) => {
                    Err(Error::TokenRejected(v))
                }
                other => other,
            }
        };
        // No span bookkeeping when nobody listens at debug level.
        if span.is_disabled() {
            call.await
        } else {
            call.instrument(span).await
        }
    }

    /// Attempts until success, a failure that must not be retried, or the policy's bounds.
    async fn send_retrying<E: Endpoint>(
        &self,
        request: &E,
        secrets: &[Secret],
    ) -> Result<E::Response, Error> {
        // The first attempt, without any retry bookkeeping: most calls succeed.
        let first = self.send_with(request, secrets).await;
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
            if attempt >= policy.max_attempts
                || !retry::should_retry(policy, failure, E::IDEMPOTENT)
            {
                return result;
            }
            let backoff = policy.backoff(attempt);
            if started.elapsed() + backoff > policy.total_budget {
                return result;
            }
            tracing::debug!(
                attempt,
                ?failure,
                backoff_ms = backoff.as_millis() as u64,
                "retrying"
            );
            tokio::time::sleep(backoff).await;
            attempt += 1;
            result = self.send_with(request, secrets).await;
        }
    }

    /// Sends without checking the documented limits first. Only for testing a server's own
    /// checks (the SDK's tests compare its validator with the sandbox's); never needed
    /// otherwise.
    #[doc(hidden)]
    pub async fn send_unvalidated<E: Endpoint>(&self, request: &E) -> Result<E::Response, Error> {
        let secrets = self.resolve::<E>().await?;
        self.send_with(request, &secrets).await
    }

    /// The credential values of `E`, in `E::CREDENTIALS` order (inline: at most two exist).
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
    ) -> Result<E::Response, Error> {
        // The query is encoded straight into the URL buffer.
        let base = &self.transport.base_url;
        let mut url = String::with_capacity(base.len() + E::PATH.len() + 128);
        url.push_str(base);
        url.push_str(E::PATH);
        url.push('?');
        let query_start = url.len();
        let mut form = String::new();
        {
            let mut q = ParamSink::new(&mut url);
            let mut f = ParamSink::new(&mut form);
            for (cred, value) in E::CREDENTIALS.iter().zip(secrets) {
                match cred.location {
                    Location::Query => q.put(cred.name, value.expose()),
                    Location::Form => f.put(cred.name, value.expose()),
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
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.bytes().await.map_err(transport_error)?;
        tracing::debug!(status, len = body.len(), "answer received");
        E::decode(RawResponse {
            status,
            content_type,
            body,
        })
    }
}
