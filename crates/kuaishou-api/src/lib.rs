//! Typed client for the Kuaishou third-party platform APIs on authorized mini-programs.
//!
//! ```no_run
//! # async fn demo() -> Result<(), kuaishou_api::Error> {
//! use kuaishou_api::{Client, basic_info::*};
//!
//! let client = Client::new("COMPONENT_APP_ID"); // one pool for every authorized app
//! let app = client.authorizer("AUTHORIZER_ACCESS_TOKEN");
//! let info = app.get_app_info(&GetAppInfoRequest::new()).await?;
//! println!("{:?}", info.app_name);
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

/// Decodes a (decrypted) push body received at the platform's message URL
/// (`oauth::Event`: the component ticket push; unknown events are kept).
pub fn parse_event(body: &[u8]) -> Result<oauth::Event, core_http::push::PushError> {
    oauth::Event::parse(body)
}

/// Production base URL.
pub const BASE_URL: &str = core_http::Vendor::Kuaishou.facts().base_url;

/// One client (one connection pool) for a platform and every app it manages.
#[derive(Clone, Debug)]
pub struct Client {
    session: core_http::Session,
    component_app_id: Arc<str>,
}

impl Client {
    /// A client for the production API, for the platform `component_app_id`.
    pub fn new(component_app_id: impl Into<Arc<str>>) -> Self {
        Self::with_base_url(BASE_URL, component_app_id)
    }

    /// A client for another origin (a proxy, the sandbox, a test server).
    pub fn with_base_url(
        base_url: impl Into<String>,
        component_app_id: impl Into<Arc<str>>,
    ) -> Self {
        Self::with_transport(
            Arc::new(core_http::Transport::new(base_url)),
            component_app_id,
        )
    }

    /// A client over a configured transport.
    pub fn with_transport(
        transport: Arc<core_http::Transport>,
        component_app_id: impl Into<Arc<str>>,
    ) -> Self {
        let component_app_id = component_app_id.into();
        Client {
            session: core_http::Session::new(
                transport,
                core_http::Credentials {
                    component_app_id: Some(component_app_id.clone()),
                    ..Default::default()
                },
            ),
            component_app_id,
        }
    }

    /// The same client with another retry policy, inherited by every handle made from it
    /// (default: [`RetryPolicy::default`]).
    pub fn with_retry_policy(mut self, policy: core_http::RetryPolicy) -> Self {
        self.session = self.session.with_retry_policy(policy);
        self
    }

    /// The session with only the platform's app id, for the endpoints that take no token.
    pub fn session(&self) -> &core_http::Session {
        &self.session
    }

    /// The platform's app id.
    pub fn component_app_id(&self) -> &str {
        &self.component_app_id
    }

    /// A handle on the platform's own endpoints, with its `component_access_token`: a fixed
    /// token or a [`TokenSource::Provider`].
    pub fn component(&self, token: impl Into<TokenSource>) -> Component {
        Component {
            session: self.session.with_credentials(core_http::Credentials {
                component_app_id: Some(self.component_app_id.clone()),
                component_access_token: Some(token.into()),
                ..Default::default()
            }),
        }
    }

    /// A handle on one authorized mini-program, with its `authorizer_access_token`: a fixed
    /// token or a [`TokenSource::Provider`]. Cheap: no new connection pool.
    pub fn authorizer(&self, token: impl Into<TokenSource>) -> AuthorizedApp {
        AuthorizedApp {
            session: self.session.with_credentials(core_http::Credentials {
                component_app_id: Some(self.component_app_id.clone()),
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
    /// A handle on the platform's own endpoints (`component_access_token`). Cheap to clone.
    Component
}
