//! Typed client for the WeChat Open Platform third-party platform (component) APIs.
//!
//! ```no_run
//! # async fn demo() -> Result<(), wechat_component_api::Error> {
//! use wechat_component_api::{Client, third_party_domain::*};
//!
//! let client = Client::new(); // https://api.weixin.qq.com; `with_base_url` for a proxy or the sandbox
//! let component = client.component("COMPONENT_ACCESS_TOKEN");
//! let mut set = ModifyWxaJumpDomainRequest::new(JumpDomainAction::Set);
//! set.wxa_jump_h5_domain = Some(vec!["www.qq.com".into(), "wx.qq.com".into()]);
//! let answer = component.modify_wxa_jump_domain(&set).await?;
//! println!("{:?}", answer.testing_wxa_jump_h5_domain);
//! # Ok(()) }
//! ```
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
pub const BASE_URL: &str = core_http::Vendor::Wechat.facts().base_url;

/// One client (one connection pool) for a whole platform; hand out handles with
/// [`Client::component`].
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

    /// The session without credentials, for the endpoints that take none (the token
    /// endpoints).
    pub fn session(&self) -> &core_http::Session {
        &self.session
    }

    /// A handle that calls the platform's own (component) endpoints with `token`: a fixed
    /// token (`&str`, `String`, [`Secret`]) or a [`TokenSource::Provider`].
    pub fn component(&self, token: impl Into<TokenSource>) -> Component {
        Component {
            session: self.session.with_credentials(core_http::Credentials {
                component_access_token: Some(token.into()),
                ..Default::default()
            }),
        }
    }
}

impl Client {
    /// A handle on one authorized mini-program, with its `authorizer_access_token`: a fixed
    /// token or a [`TokenSource::Provider`] (see [`tokens`]). Cheap: no new connection pool.
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
    /// A handle on one authorized mini-program (`authorizer_access_token`). Cheap to clone.
    AuthorizedApp
}

core_http::handle! {
    /// A handle on the platform's own endpoints (`component_access_token`). Cheap to clone.
    Component
}
