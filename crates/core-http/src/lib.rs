//! Shared runtime of the miniapp SDK.
//!
//! The vendor crates (`wechat-component-api`, `baidu-smartapp-api`, `kuaishou-api`) are
//! generated from the specs; everything they have in common lives here:
//!
//! - [`Endpoint`]: what a request type knows about itself (derived with [`macro@Endpoint`]).
//! - [`Transport`] and [`Session`]: one `reqwest` connection pool shared by every authorized
//!   app, and cheap per-app handles carrying [`Credentials`].
//! - [`envelope`]: each vendor's response envelope, decoded once for all endpoints.
//! - [`Error`]: transport failure vs. undecodable response vs. vendor error.
//! - [`wire`] and [`de`]: the encoders and lenient decoders the generated code calls.
//! - [`push`]: helpers behind each vendor's push-event entry point.

pub mod de;
mod endpoint;
pub mod envelope;
mod error;
pub mod push;
pub mod retry;
mod secret;
mod session;
pub mod token;
pub mod validate;
pub mod wire;

pub use endpoint::{
    Binary, BodyKind, CredentialKind, CredentialParam, Endpoint, Location, Method, ParamSink,
    RawResponse, Vendor,
};
pub use error::{Error, InvalidRequest, RawBody, VendorError};
pub use miniapp_derive::Endpoint;
pub use retry::RetryPolicy;
pub use secret::Secret;
pub use session::{
    Credentials, Session, TokenFuture, TokenProvider, TokenSource, Transport,
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT,
};

/// Declares a vendor handle type: a cheap, cloneable wrapper of a [`Session`] whose generated
/// endpoint methods call `self.session().send(..)`. The vendor crates' `Component` and
/// `AuthorizedApp` are declared with it.
#[macro_export]
macro_rules! handle {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Debug)]
        pub struct $name {
            session: $crate::Session,
        }

        impl $name {
            /// The underlying session, for [`core_http::Session::send`] with any request type
            /// (and per-call settings such as `with_retry_policy`).
            pub fn session(&self) -> &$crate::Session {
                &self.session
            }
        }
    };
}

/// Items the generated code and the derive macro refer to; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use serde;
    pub use serde_json;
}
