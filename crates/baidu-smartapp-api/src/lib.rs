//! Typed client for the Baidu Smart Program third-party platform APIs, on behalf of authorized
//! mini-programs.
//!
//! ```no_run
//! # async fn demo() -> Result<(), baidu_smartapp_api::Error> {
//! use baidu_smartapp_api::{Client, basic_info::*};
//!
//! let client = Client::new(); // one pool for every authorized app
//! let app = client.authorizer("45.AUTHORIZER_ACCESS_TOKEN"); // cheap per-app handle
//! let mut set = ModifyDomainRequest::new();
//! set.action = Some(DomainAction::Set);
//! set.request_domain = Some(vec!["https://api.example.com".into()]);
//! app.modify_domain(&set).await?;
//! let qr = app.get_qr_code(&GetQrCodeRequest { width: Some(430), ..Default::default() }).await?;
//! println!("{} bytes of {}", qr.bytes.len(), qr.content_type);
//! # Ok(()) }
//! ```
//!
//! Wire choice: POST parameters, the token included, travel as an
//! `application/x-www-form-urlencoded` body (as Baidu's own SDK sends them); GET parameters in
//! the query string. Push events: [`parse_event`].
//!
//! This crate is the only dependency you need: it re-exports the runtime's types ([`Error`],
//! [`Secret`], [`RetryPolicy`], [`Transport`], …) and, in [`tokens`], the token store, policies
//! and grants. Features: `rustls` (default), `native-tls`, `redis` (`tokens::RedisStore`).
//!
//! Generated items carry the vendor document's description; a fact the transcription could not
//! confirm in the vendor's own documents or SDK is marked *Unverified* where it appears.

pub mod authorization;
#[rustfmt::skip] // formatted by the generator (prettyplease)
mod generated;
pub mod push;
pub mod tokens;

use std::sync::Arc;

// Everything a user needs, so that this crate is the only dependency.
pub use core_http::push::PushError;
pub use core_http::{
    redirect_policy, Binary, Credentials, Error, InvalidRequest, RawBody, RetryPolicy, Secret,
    Session, TokenProvider, TokenSource, Transport, VendorError, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_REQUEST_TIMEOUT,
};
pub use generated::*;

/// Production base URL.
pub const BASE_URL: &str = core_http::Vendor::Baidu.facts().base_url;

/// Decodes a push-event body received at the platform's event URL (`basic_info::Event`).
pub fn parse_event(body: &[u8]) -> Result<basic_info::Event, core_http::push::PushError> {
    basic_info::Event::parse(body)
}

/// One client (one connection pool) for every authorized mini-program.
#[derive(Clone, Debug)]
pub struct Client {
    session: core_http::Session,
}

impl Default for Client {
    fn default() -> Self {
        Self::new()
    }
}

impl Client {
    /// A client for the production API.
    pub fn new() -> Self {
        Self::with_base_url(BASE_URL)
    }

    /// A client for another origin (a proxy, the sandbox, a test server).
    pub fn with_base_url(base_url: impl Into<String>) -> Self {
        Self::with_transport(Arc::new(core_http::Transport::new(base_url)))
    }

    /// A client over a configured transport.
    pub fn with_transport(transport: Arc<core_http::Transport>) -> Self {
        Client {
            session: core_http::Session::new(transport, Default::default()),
        }
    }

    /// The same client with another retry policy, inherited by every handle made from it
    /// (default: [`RetryPolicy::default`]).
    pub fn with_retry_policy(mut self, policy: core_http::RetryPolicy) -> Self {
        self.session = self.session.with_retry_policy(policy);
        self
    }

    /// The session without credentials, for the endpoints that take none (`tp/token`).
    pub fn session(&self) -> &core_http::Session {
        &self.session
    }

    /// A handle on the platform's own endpoints, with its TP token (`42.`…): a fixed token or
    /// a [`TokenSource::Provider`].
    pub fn component(&self, token: impl Into<TokenSource>) -> Component {
        Component {
            session: self.session.with_credentials(core_http::Credentials {
                component_access_token: Some(token.into()),
                ..Default::default()
            }),
        }
    }

    /// A handle on one authorized mini-program, calling with its access token (`45.`…): a
    /// fixed token or a [`TokenSource::Provider`]. Cheap: no new connection pool.
    pub fn authorizer(&self, token: impl Into<TokenSource>) -> AuthorizedApp {
        AuthorizedApp {
            session: self.session.with_credentials(core_http::Credentials {
                authorizer_access_token: Some(token.into()),
                ..Default::default()
            }),
        }
    }
}

core_http::handle! {
    /// A handle on one authorized mini-program. Cheap to create and clone.
    AuthorizedApp
}

core_http::handle! {
    /// A handle on the platform's own endpoints (TP token). Cheap to clone.
    Component
}
