//! Shared runtime of the miniapp SDK.
//!
//! The vendor crates (`wechat-component-api`, `baidu-smartapp-api`, `kuaishou-api`) are
//! generated from the specs; everything they have in common lives here:
//!
//! - [`Endpoint`]: what a request type knows about itself (derived with `#[derive(Endpoint)]`, which each vendor crate re-exports).
//! - [`Transport`] and [`Session`]: one `reqwest` connection pool shared by every authorized
//!   app, and cheap per-app handles carrying [`Credentials`].
//! - [`Vendor`] and [`vendor::VendorFacts`]: each vendor's envelope, busy and token codes,
//!   generated from `specs/<vendor>/vendor.toml`; responses are decoded with them once for all
//!   endpoints.
//! - [`Error`]: transport failure vs. undecodable response vs. vendor error.
//! - [`token`]: self-refreshing tokens in memory or Redis; [`retry`]: what is repeated.
//! - [`push`]: helpers behind each vendor's push-event entry point.
//! - [`crypto`]: verification and decryption of pushes.
//! - [`resource`]: settable properties described as data (the release-day job reads them).
//!
//! What only generated code needs (encoders, decoders, validators) is in a hidden module and
//! is not part of the API.

#![warn(unreachable_pub)]

pub mod crypto;
mod de;
mod endpoint;
mod envelope;
mod error;
#[rustfmt::skip] // formatted by the generator (prettyplease)
mod generated;
pub mod push;
pub mod rate;
pub mod resource;
pub mod retry;
mod secret;
mod session;
pub mod shipping;
pub mod token;
mod validate;
pub mod vendor;
mod wire;

pub use de::UnknownValue;
pub use endpoint::{
    Binary, BodyKind, CredentialKind, CredentialParam, Endpoint, Location, Method, ParamSink,
    RawResponse,
};
pub use error::{Error, InvalidRequest, RawBody, VendorError};
pub use rate::{Observation, RateLimiter, SharedCut};
pub use retry::RetryPolicy;
pub use secret::Secret;
pub use session::{
    redirect_policy, Credentials, Session, TokenFuture, TokenProvider, TokenSource, Transport,
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT,
};
pub use vendor::Vendor;

#[doc(hidden)]
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

/// The trait impls of a generated enum (`Display`, `FromStr`, serde, `ToParam`), written once
/// here instead of in every generated enum. The enum provides `as_str` and `from_wire`; `string`
/// enums travel as JSON strings, `integer` ones as JSON numbers (both decode from either).
#[doc(hidden)]
#[macro_export]
macro_rules! wire_enum_impls {
    ($ty:ident, string) => {
        $crate::wire_enum_impls!(@common $ty);
        impl $crate::__private::serde::Serialize for $ty {
            fn serialize<S: $crate::__private::serde::Serializer>(&self, s: S) -> ::core::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
    ($ty:ident, integer) => {
        $crate::wire_enum_impls!(@common $ty);
        impl $crate::__private::serde::Serialize for $ty {
            fn serialize<S: $crate::__private::serde::Serializer>(&self, s: S) -> ::core::result::Result<S::Ok, S::Error> {
                s.serialize_i64(self.as_str().parse().unwrap_or_default())
            }
        }
    };
    (@common $ty:ident) => {
        impl ::core::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::core::str::FromStr for $ty {
            type Err = $crate::__private::de::UnknownValue;
            fn from_str(text: &str) -> ::core::result::Result<Self, Self::Err> {
                Self::from_wire(text).ok_or_else(|| $crate::__private::de::UnknownValue::new(stringify!($ty), text))
            }
        }

        impl<'de> $crate::__private::serde::Deserialize<'de> for $ty {
            fn deserialize<D: $crate::__private::serde::Deserializer<'de>>(d: D) -> ::core::result::Result<Self, D::Error> {
                $crate::__private::de::wire_enum(d, Self::from_wire, stringify!($ty))
            }
        }

        impl $crate::__private::wire::ToParam for $ty {
            fn to_param(&self) -> ::core::option::Option<::std::borrow::Cow<'_, str>> {
                ::core::option::Option::Some(::std::borrow::Cow::Borrowed(self.as_str()))
            }
        }
    };
}

/// Items the generated code and the derive macro refer to; not part of the public API.
#[doc(hidden)]
pub mod __private {
    // The one path to the modules generated code and the derive use (they are private above).
    /// Decoding helpers of the generated responses.
    pub mod de {
        pub use crate::de::*;
    }
    /// The vendors' envelopes.
    pub mod envelope {
        pub use crate::envelope::*;
    }
    /// The checks of the generated `validate`.
    pub mod validate {
        pub use crate::validate::*;
    }
    /// Wire helpers of the generated requests.
    pub mod wire {
        pub use crate::wire::*;
    }
    pub use miniapp_rules::Format;
    pub use serde;
    pub use serde_json;
}
