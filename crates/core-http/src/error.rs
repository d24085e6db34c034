//! The SDK's error type: invalid input, credentials, transport, undecodable answer, vendor error.

use std::fmt;

use bytes::Bytes;

use crate::Vendor;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request breaks a documented constraint; nothing was sent.
    #[error("invalid request: {0}")]
    InvalidRequest(#[from] InvalidRequest),
    /// No credential of the needed kind is configured, or the provider failed.
    #[error("{endpoint}: credential unavailable: {message}")]
    Credentials {
        /// Operation name.
        endpoint: &'static str,
        /// What is missing (never a secret value).
        message: String,
    },
    /// The request did not complete (connect, timeout, body read). The URL is stripped: our
    /// tokens ride in the query string.
    #[error("{endpoint}: transport error")]
    Transport {
        /// Operation name.
        endpoint: &'static str,
        /// The cause, without URL.
        #[source]
        source: reqwest::Error,
    },
    /// A non-2xx HTTP status whose body is not the vendor's error envelope (a proxy's or
    /// gateway's page, a foreign JSON object, an empty body), or a redirect that was not
    /// followed. Never a success, whatever the body says.
    #[error("{endpoint}: HTTP status {status}")]
    Http {
        /// Operation name.
        endpoint: &'static str,
        /// HTTP status.
        status: u16,
        /// The `Retry-After` the server asked for (429 and 503 answers), if any.
        retry_after: Option<std::time::Duration>,
        /// The body as received.
        body: RawBody,
    },
    /// The answer could not be decoded; the raw body is kept.
    #[error("{endpoint}: undecodable response at `{path}`: {message}")]
    Decode {
        /// Operation name.
        endpoint: &'static str,
        /// JSON path of the offending value (`.` for the whole body).
        path: String,
        /// The decoder's message.
        message: String,
        /// The body as received.
        body: RawBody,
    },
    /// The vendor answered with an error code.
    #[error(transparent)]
    Vendor(#[from] VendorError),
    /// Getting a fresh token failed: the vendor refused the ticket, secret or refresh token,
    /// or its token endpoint could not be reached. Calls within the failure backoff get this
    /// same error without asking the vendor again (no refresh storm).
    #[error("refreshing the token {key} failed: {message}")]
    TokenRefresh {
        /// The store key of the token.
        key: Box<str>,
        /// The vendor's answer, when it refused (boxed: it is the rare case, and keeps
        /// `Error` small).
        vendor: Option<Box<VendorError>>,
        /// What went wrong (never a secret).
        message: String,
        /// The refresh may succeed if tried again later: the vendor throttled or was busy or
        /// unreachable, or the token store failed. The call itself was never sent.
        retryable: bool,
    },
    /// The vendor no longer accepts the authorized app's refresh token (WeChat 61023, Baidu
    /// `invalid_grant`, Kuaishou 100200113, unverified): the authorization is lost, and the app's
    /// owner must authorize the platform again. Calls within the failure backoff get this same
    /// error without asking the vendor again.
    #[error("the {vendor} authorization of app {app_id} is lost ({cause}); the app's owner must authorize the platform again")]
    AuthorizationLost {
        /// Which vendor refused.
        vendor: Vendor,
        /// The authorized app whose authorization is lost.
        app_id: String,
        /// The vendor's answer (its code, or its `error`/`error_description` in `message`).
        cause: VendorError,
    },
    /// A push was refused: its signature does not match, it is not for this platform, or its
    /// body is broken. Nothing from it was used or stored.
    #[error("push refused: {0}")]
    Push(#[from] crate::crypto::CryptoError),
    /// The vendor rejected the token, the SDK refreshed it once, and the vendor rejected the
    /// fresh token too. Not retried further.
    #[error("token rejected again after one refresh: {0}")]
    TokenRejected(VendorError),
}

impl Error {
    /// The vendor error, if this is one.
    pub fn vendor(&self) -> Option<&VendorError> {
        match self {
            Error::Vendor(v) | Error::TokenRejected(v) => Some(v),
            Error::AuthorizationLost { cause, .. } => Some(cause),
            Error::TokenRefresh { vendor, .. } => vendor.as_deref(),
            _ => None,
        }
    }
}

/// A response body kept for diagnosis. `Debug` shows only its length: an error page may echo
/// the request URL, and with it a token. The bytes are there through `Deref`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RawBody(pub Bytes);

impl std::ops::Deref for RawBody {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for RawBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawBody(<{} bytes>)", self.0.len())
    }
}

impl From<Bytes> for RawBody {
    fn from(bytes: Bytes) -> Self {
        RawBody(bytes)
    }
}

/// An error answer from a vendor: its code, its message, and what the document says it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorError {
    /// Which vendor answered.
    pub vendor: Vendor,
    /// Operation name.
    pub endpoint: &'static str,
    /// The HTTP status the error came with (usually 200; the vendors also send their error
    /// envelope with 4xx/5xx statuses).
    pub status: u16,
    /// The vendor's code (`errcode`, `errno`, `result`, or a gateway `error_code`; 0 for an
    /// OAuth-style `{error, error_description}` answer, whose `error` is then in `message`).
    pub code: i64,
    /// The vendor's message, as received.
    pub message: String,
    /// The document's text for this code on this endpoint, when it has one.
    pub documented: Option<&'static str>,
    /// The vendor's id of this request, when it sent one (WeChat's `rid` at the end of the
    /// message; a `request_id` member where `vendor.toml` names one): what the vendor's
    /// support asks for.
    pub request_id: Option<Box<str>>,
}

impl fmt::Display for VendorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} failed with code {}: {}",
            self.vendor, self.endpoint, self.code, self.message
        )?;
        if !(200..300).contains(&self.status) {
            write!(f, " (HTTP status {})", self.status)?;
        }
        if let Some(doc) = self.documented {
            write!(f, " (documented: {doc})")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

impl std::error::Error for VendorError {}

/// A request that breaks a documented constraint: which field, what the rule is, what was given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{endpoint}.{field}: {rule}; got {given}")]
pub struct InvalidRequest {
    /// Operation name.
    pub endpoint: &'static str,
    /// Wire name of the parameter.
    pub field: &'static str,
    /// The documented rule.
    pub rule: String,
    /// What was given (a short description, never a secret).
    pub given: String,
}
