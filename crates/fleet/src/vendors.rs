//! The three vendor crates behind one interface: their declared resources, their validators,
//! and a client per vendor (token manager included) that reads and writes a resource by name.
//! The vendor crates are named only in the generated table (`generated/vendor_crates.rs`); the
//! plan and the apply know none.

use std::sync::Arc;

use core_http::resource::{ResourceDescriptor, ResourceValue};
use core_http::token::{RefreshPolicy, TokenManager, TokenStore};
use core_http::{Error, InvalidRequest, RateLimiter, RetryPolicy, Secret, Transport};

/// A vendor, as desired-state files, inventories and reports name it (`wechat`, `baidu`,
/// `kuaishou`): the runtime's own, generated from `specs/*/vendor.toml`.
pub use core_http::Vendor;

/// The vendor crates' clients and resource modules: the generated table
/// (`generated/vendor_crates.rs`, from `specs/*/vendor.toml`), so this file names no vendor
/// crate.
use crate::generated::vendor_crates::{self, Client as Inner};

/// Every resource `vendor` declares.
pub fn resources(vendor: Vendor) -> &'static [ResourceDescriptor] {
    vendor_crates::resources(vendor)
}

/// The resource `name` of `vendor`.
pub fn descriptor(vendor: Vendor, name: &str) -> Option<&'static ResourceDescriptor> {
    vendor_crates::descriptor(vendor, name)
}

/// Checks `value` with the write endpoint's own validators; nothing is sent.
pub fn validate(vendor: Vendor, name: &str, value: &ResourceValue) -> Result<(), InvalidRequest> {
    vendor_crates::validate(vendor, name, value)
}

/// A boxed future (what [`Backend`]'s methods return, so backends can be trait objects).
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// What the engine needs of a vendor: its declared resources, their validators and their
/// read and write calls. [`VendorClient`] is the backend of the three vendor crates; a
/// resource declared elsewhere (the generator's fixture, a vendor of your own) is planned and
/// applied by giving its own backend, with no change to the engine.
pub trait Backend: Send + Sync {
    /// The vendor it answers for.
    fn vendor(&self) -> Vendor;
    /// Every resource it declares.
    fn resources(&self) -> &'static [ResourceDescriptor];
    /// Checks `value` with resource `name`'s write rules; nothing is sent.
    fn validate(&self, name: &str, value: &ResourceValue) -> Result<(), InvalidRequest>;
    /// Stores `refresh_token` for `app` unless an authorization is stored; whether it did.
    fn import<'a>(
        &'a self,
        app: &'a str,
        refresh_token: Secret,
    ) -> BoxFuture<'a, Result<bool, Error>>;
    /// Reads resource `name` of `app` (`None`: the platform).
    fn read<'a>(
        &'a self,
        app: Option<&'a str>,
        name: &'a str,
    ) -> BoxFuture<'a, Result<ResourceValue, Error>>;
    /// Replaces resource `name` of `app` (`None`: the platform) with `value`.
    fn write<'a>(
        &'a self,
        app: Option<&'a str>,
        name: &'a str,
        value: &'a ResourceValue,
    ) -> BoxFuture<'a, Result<(), Error>>;
    /// The apps whose authorization the token store holds (an inventory from the store).
    fn authorized_apps(&self) -> BoxFuture<'_, Result<Vec<String>, Error>> {
        Box::pin(async {
            Err(Error::Credentials {
                endpoint: "inventory",
                message: "this backend cannot list its authorized apps".into(),
            })
        })
    }

    /// The resource named `name`.
    fn descriptor(&self, name: &str) -> Option<&'static ResourceDescriptor> {
        self.resources().iter().find(|d| d.name == name)
    }

    /// The rate limiter every call of this backend waits for, if any (shown on progress bars
    /// and in reports).
    fn rate_limiter(&self) -> Option<&Arc<RateLimiter>> {
        None
    }

    /// How this vendor ships code to its apps, or why it cannot (a vendor with no documented
    /// code endpoints).
    fn shipper(&self) -> Result<Arc<dyn core_http::shipping::ShipCode>, &'static str> {
        Err("this backend does not ship code")
    }

    /// A router receiving the vendor's audit-result pushes (verified with the platform's push
    /// settings) that calls `on_audit` with the app of each, and the path to configure at the
    /// vendor below where the router is mounted; `Ok(None)` when the vendor pushes
    /// none; an error when the credentials have no push settings or they are not valid.
    fn audit_pushes(
        &self,
        on_audit: core_http::shipping::OnAudit,
    ) -> Result<Option<(axum::Router, &'static str)>, Error> {
        let _ = on_audit;
        Ok(None)
    }
}

/// The backend of each vendor a job covers.
pub type Backends = std::collections::BTreeMap<Vendor, Arc<dyn Backend>>;

impl Backend for VendorClient {
    fn vendor(&self) -> Vendor {
        self.vendor
    }
    fn resources(&self) -> &'static [ResourceDescriptor] {
        resources(self.vendor)
    }
    fn validate(&self, name: &str, value: &ResourceValue) -> Result<(), InvalidRequest> {
        validate(self.vendor, name, value)
    }
    fn import<'a>(
        &'a self,
        app: &'a str,
        refresh_token: Secret,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(VendorClient::import(self, app, refresh_token))
    }
    fn authorized_apps(&self) -> BoxFuture<'_, Result<Vec<String>, Error>> {
        Box::pin(self.tokens.authorized_apps())
    }
    fn rate_limiter(&self) -> Option<&Arc<RateLimiter>> {
        Some(&self.limiter)
    }
    fn shipper(&self) -> Result<Arc<dyn core_http::shipping::ShipCode>, &'static str> {
        self.inner.shipper(self.tokens.clone())
    }
    fn audit_pushes(
        &self,
        on_audit: core_http::shipping::OnAudit,
    ) -> Result<Option<(axum::Router, &'static str)>, Error> {
        let Some(settings) = &self.push else {
            return Err(Error::Credentials {
                endpoint: "audit pushes",
                message: format!(
                    "[{}] has no push_token and encoding_aes_key: give the platform's 消息校验Token and EncodingAESKey to receive pushes",
                    self.vendor
                ),
            });
        };
        self.inner
            .audit_pushes(self.tokens.clone(), settings, on_audit)
    }
    fn read<'a>(
        &'a self,
        app: Option<&'a str>,
        name: &'a str,
    ) -> BoxFuture<'a, Result<ResourceValue, Error>> {
        Box::pin(VendorClient::read(self, app, name))
    }
    fn write<'a>(
        &'a self,
        app: Option<&'a str>,
        name: &'a str,
        value: &'a ResourceValue,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(VendorClient::write(self, app, name, value))
    }
}

/// What a vendor client needs: the platform's credentials and where the tokens live.
#[derive(Clone)]
pub struct PlatformCredentials {
    /// The platform's app id (WeChat `component_appid`, Baidu TP key, Kuaishou
    /// `component_app_id`).
    pub app_id: String,
    /// The platform's secret (WeChat and Kuaishou; Baidu's TP token needs none).
    pub secret: Option<Secret>,
    /// The current ticket, when known (otherwise the store must hold the last pushed one).
    pub ticket: Option<Secret>,
    /// The message token and EncodingAESKey pushes are verified with (to receive them).
    pub push: Option<core_http::push::PushSettings>,
}

impl std::fmt::Debug for PlatformCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformCredentials")
            .field("app_id", &self.app_id)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .field("ticket", &self.ticket.as_ref().map(|_| "***"))
            .field("push", &self.push.as_ref().map(|_| "***"))
            .finish()
    }
}

/// One vendor's client and token manager: reads and writes resources by name.
pub struct VendorClient {
    vendor: Vendor,
    inner: Inner,
    tokens: Arc<TokenManager>,
    limiter: Arc<RateLimiter>,
    push: Option<core_http::push::PushSettings>,
    /// Apps whose authorization this client found in the store or put there.
    known: std::sync::Mutex<std::collections::HashSet<String>>,
}

/// Apps a client remembers having found or put in the token store (then it forgets them all
/// and asks the store again).
const KNOWN_APPS_KEPT: usize = 16_384;

/// How a job's clients call the vendors.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The most calls per second per vendor (`None`: no ceiling). Below it, the rate is found:
    /// each vendor's client slows down on the vendor's rate-limit answers and probes back up.
    pub max_rate: Option<f64>,
    /// The retry policy of every call (reads, writes and the token managers' calls).
    pub retry: RetryPolicy,
}

impl Default for ClientOptions {
    /// No ceiling; a call is tried up to 6 times within 30 s (a throttled or busy answer
    /// waits, a quota-limited write that may have arrived is never repeated).
    fn default() -> Self {
        ClientOptions {
            max_rate: None,
            retry: RetryPolicy {
                max_attempts: 6,
                total_budget: std::time::Duration::from_secs(30),
                ..RetryPolicy::default()
            },
        }
    }
}

impl std::fmt::Debug for VendorClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VendorClient")
            .field("vendor", &self.vendor)
            .finish()
    }
}

/// How long a ticket given in the credentials is kept (every vendor pushes a new one at least
/// every 10 minutes; WeChat's is valid 12 h).
const GIVEN_TICKET_LIFETIME: std::time::Duration = std::time::Duration::from_secs(12 * 3600);

impl VendorClient {
    /// A client for `vendor` (at `base_url`, or the vendor's own origin) with its token
    /// manager over `store`; a ticket in `creds` is stored first.
    pub async fn new(
        vendor: Vendor,
        base_url: Option<&str>,
        creds: &PlatformCredentials,
        store: Arc<dyn TokenStore>,
    ) -> Result<VendorClient, Error> {
        Self::with_options(vendor, base_url, creds, store, &ClientOptions::default()).await
    }

    /// Same, with `options`: every call of the client, the token manager's included, waits
    /// for one adaptive rate limiter of this vendor's.
    pub async fn with_options(
        vendor: Vendor,
        base_url: Option<&str>,
        creds: &PlatformCredentials,
        store: Arc<dyn TokenStore>,
        options: &ClientOptions,
    ) -> Result<VendorClient, Error> {
        let limiter = Arc::new(match options.max_rate {
            Some(rate) => RateLimiter::with_ceiling(rate),
            None => RateLimiter::new(),
        });
        let transport = Transport::new(base_url.unwrap_or(vendor.facts().base_url))
            .with_rate_limiter(limiter.clone());
        let (inner, tokens) = Inner::connect(
            vendor,
            Arc::new(transport),
            creds,
            store,
            RefreshPolicy::default(),
        )?;
        let inner = inner.with_retry_policy(options.retry.clone());
        if let Some(ticket) = &creds.ticket {
            tokens
                .store_ticket(ticket.clone(), GIVEN_TICKET_LIFETIME)
                .await?;
        }
        Ok(VendorClient {
            vendor,
            inner,
            tokens: Arc::new(tokens),
            limiter,
            push: creds.push.clone(),
            known: Default::default(),
        })
    }

    /// The vendor.
    pub fn vendor(&self) -> Vendor {
        self.vendor
    }

    /// The token manager.
    pub fn tokens(&self) -> &TokenManager {
        &self.tokens
    }

    /// Stores `refresh_token` for `app` unless the store already holds an authorization
    /// (a rotated refresh token there is newer than an inventory's); returns whether it did.
    pub async fn import(&self, app: &str, refresh_token: Secret) -> Result<bool, Error> {
        // An app this client found or put in the store is there still (a pass of a job that
        // runs for days asks once, not every pass).
        if self
            .known
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(app)
        {
            return Ok(false);
        }
        let imported = self
            .tokens
            .import_authorization_unless_held(app, refresh_token)
            .await?;
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        // A cache, bounded: forgetting only costs the store a question.
        if known.len() >= KNOWN_APPS_KEPT {
            known.clear();
        }
        known.insert(app.to_owned());
        Ok(imported)
    }

    /// Reads resource `name` of `app` (`None`: the platform).
    pub async fn read(&self, app: Option<&str>, name: &str) -> Result<ResourceValue, Error> {
        self.inner.read(&self.tokens, app, name).await
    }

    /// Replaces resource `name` of `app` (`None`: the platform) with `value`.
    pub async fn write(
        &self,
        app: Option<&str>,
        name: &str,
        value: &ResourceValue,
    ) -> Result<(), Error> {
        self.inner.write(&self.tokens, app, name, value).await
    }
}
