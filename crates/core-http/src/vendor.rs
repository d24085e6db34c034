//! What holds for every endpoint of a vendor: its envelope, its busy and token codes, its
//! origin. The table is generated from `specs/<vendor>/vendor.toml` (see [`Vendor::facts`]);
//! the client decodes and classifies with it, and the sandbox answers with it.

use std::fmt;

pub use crate::generated::vendors::Vendor;

/// One vendor's facts, from its `vendor.toml`.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct VendorFacts {
    /// Lowercase name (folder of its specs, log field).
    pub name: &'static str,
    /// The name in prose ("WeChat").
    pub title: &'static str,
    /// Production origin.
    pub base_url: &'static str,
    /// The JSON envelope of every answer.
    pub envelope: EnvelopeFacts,
    /// "System busy, try again later": retried like a 503.
    pub busy_codes: &'static [CodeText],
    /// "Too many calls, slow down": the adaptive rate limiter slows down on these, like on
    /// HTTP 429; never a lost authorization.
    pub rate_limit_codes: &'static [CodeText],
    /// Rate-limit errors come in the gateway's shape ([`EnvelopeFacts::gateway`]).
    pub rate_limit_from_gateway: bool,
    /// "Access token invalid or expired": a provider's token is refreshed and the call retried once.
    pub token_invalid_codes: &'static [CodeText],
    /// Of `token_invalid_codes`, the one for an expired token.
    pub token_expired: i64,
    /// Of `token_invalid_codes`, the one for an unknown or revoked token.
    pub token_invalid: i64,
    /// Token errors come in the gateway's shape ([`EnvelopeFacts::gateway`]).
    pub token_errors_from_gateway: bool,
    /// How a refresh token is refused for good.
    pub refresh_refused: RefreshRefused,
    /// The code of a malformed request.
    pub invalid_request: CodeText,
    /// The code of a request without its token.
    pub missing_credential: CodeText,
    /// The code of a platform-token request with a ticket the vendor did not push, if
    /// documented.
    pub ticket_refused: Option<CodeText>,
    /// The random bytes before the message length in the vendor's encrypted pushes (`[push]`
    /// of `vendor.toml`; `None` when it does not use WeChat's message encryption).
    pub push_random_prefix: Option<usize>,
}

/// Where the status members sit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvelopeShape {
    /// Beside the payload members.
    Flat,
    /// Around the payload, in [`EnvelopeFacts::data`].
    Wrapped,
}

/// A vendor's envelope: member names and the success status.
#[derive(Debug, PartialEq, Eq)]
pub struct EnvelopeFacts {
    /// Flat or wrapped.
    pub shape: EnvelopeShape,
    /// The status member.
    pub code: &'static str,
    /// The message member and its other spellings (the first is the vendor's usual one).
    pub messages: &'static [&'static str],
    /// The payload member of a wrapped envelope (empty for a flat one).
    pub data: &'static str,
    /// The status of success.
    pub success: i64,
    /// The message of success.
    pub success_message: &'static str,
    /// An answer without the status member is a success.
    pub absent_is_success: bool,
    /// The gateway's own `(code, message)` members, checked first.
    pub gateway: Option<(&'static str, &'static str)>,
    /// OAuth's `(error, description)` members.
    pub oauth: Option<(&'static str, &'static str)>,
    /// The member that carries the vendor's request id, if any.
    pub request_id: Option<&'static str>,
    /// The marker after which the error message carries the request id, if any.
    pub request_id_in_message: Option<&'static str>,
}

/// A documented code and the vendor's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeText {
    /// The code.
    pub code: i64,
    /// The vendor's text.
    pub message: &'static str,
}

/// How a vendor refuses a refresh token for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshRefused {
    /// This envelope code.
    Code(CodeText),
    /// This OAuth error (HTTP 400), with the vendor's description.
    OAuthError {
        /// The OAuth error code (`invalid_grant`).
        error: &'static str,
        /// The description.
        message: &'static str,
    },
}

impl Vendor {
    /// The vendor's codes for "access token invalid or expired": the SDK invalidates a
    /// provider's token on these and retries once.
    pub fn is_token_invalid(self, code: i64) -> bool {
        self.facts()
            .token_invalid_codes
            .iter()
            .any(|c| c.code == code)
    }

    /// The vendor's "system busy, try again later" codes.
    pub fn is_busy(self, code: i64) -> bool {
        self.facts().busy_codes.iter().any(|c| c.code == code)
    }

    /// The vendor's rate-limit codes ("too many calls").
    pub fn is_rate_limited(self, code: i64) -> bool {
        self.facts().rate_limit_codes.iter().any(|c| c.code == code)
    }

    /// Whether the vendor refused a refresh token for good (the authorization is lost).
    pub fn is_refresh_token_refused(self, error: &crate::VendorError) -> bool {
        match self.facts().refresh_refused {
            RefreshRefused::Code(c) => error.code == c.code,
            // An OAuth error keeps code 0 and its error code first in the message.
            RefreshRefused::OAuthError { error: e, .. } => {
                error.code == 0 && error.message.split(':').next() == Some(e)
            }
        }
    }

    /// The vendor's lowercase name (`wechat`), as in `specs/<vendor>/`.
    pub const fn as_str(self) -> &'static str {
        self.facts().name
    }

    /// The vendor named `name` (its lowercase name), if this SDK knows it.
    pub fn from_name(name: &str) -> Option<Vendor> {
        Vendor::ALL.iter().copied().find(|v| v.facts().name == name)
    }
}

impl std::str::FromStr for Vendor {
    type Err = String;

    /// The vendor of a lowercase name; the error lists the names this SDK knows.
    fn from_str(name: &str) -> Result<Vendor, String> {
        Vendor::from_name(name).ok_or_else(|| {
            let known: Vec<&str> = Vendor::ALL.iter().map(|v| v.as_str()).collect();
            format!(
                "unknown vendor `{name}`; expected one of: {}",
                known.join(", ")
            )
        })
    }
}

/// A vendor serializes as its lowercase name (`"wechat"`).
impl serde::Serialize for Vendor {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Vendor {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "schemars")]
impl schemars::JsonSchema for Vendor {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Vendor".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<&str> = Vendor::ALL.iter().map(|v| v.as_str()).collect();
        schemars::json_schema!({
            "description": "A vendor, by its lowercase name.",
            "type": "string",
            "enum": names,
        })
    }
}

impl fmt::Display for Vendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.facts().name)
    }
}
