//! `specs/<vendor>/vendor.toml`: the facts that hold for every endpoint of a vendor (envelope,
//! busy and token codes, base URL, crate). The generator writes them into core-http's vendor
//! table, which the client and the sandbox both read, so the two cannot disagree.

use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Confidence, SpecError, Vendor};

/// One vendor's `vendor.toml`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VendorFile {
    /// Which vendor (the folder's name).
    pub vendor: Vendor,
    /// The name in prose ("WeChat").
    pub title: String,
    /// The vendor crate, relative to the workspace root ("crates/wechat-component-api").
    pub crate_dir: String,
    /// Production origin.
    pub base_url: String,
    /// The JSON envelope of every answer.
    pub envelope: EnvelopeSpec,
    /// "System busy, try again later": retried like a 503.
    pub busy_codes: Vec<CodeText>,
    /// "Access token invalid or expired": the SDK refreshes a provider's token and retries once.
    pub token_invalid_codes: Vec<CodeText>,
    /// Of `token_invalid_codes`, the one for an expired token.
    pub token_expired: i64,
    /// Of `token_invalid_codes`, the one for an unknown or revoked token.
    pub token_invalid: i64,
    /// Token errors come in the gateway's shape (`envelope.gateway`), not the envelope's.
    #[serde(default)]
    pub token_errors_from_gateway: bool,
    /// The answer that refuses a refresh token for good (the authorization is lost).
    pub refresh_refused: RefreshRefused,
    /// The code of a malformed request (what the sandbox answers to one).
    pub invalid_request: CodeText,
    /// The code of a request without its token.
    pub missing_credential: CodeText,
    /// The code of a platform-token request with a ticket the vendor did not push, if
    /// documented.
    #[serde(default)]
    pub ticket_refused: Option<CodeText>,
}

/// Where the status members sit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EnvelopeShape {
    /// Beside the payload members (`{"errcode":0,"errmsg":"ok","domain":[..]}`).
    Flat,
    /// Around the payload (`{"errno":0,"msg":"success","data":{..}}`).
    Wrapped,
}

/// A vendor's envelope.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeSpec {
    /// Flat or wrapped.
    pub shape: EnvelopeShape,
    /// The status member.
    pub code: String,
    /// The message member, with its other spellings (the first is what the vendor writes).
    pub messages: Vec<String>,
    /// The payload member of a wrapped envelope.
    #[serde(default)]
    pub data: Option<String>,
    /// The status of success.
    pub success: i64,
    /// The message of success (what the sandbox writes).
    pub success_message: String,
    /// An answer without the status member is a success (WeChat's token endpoints).
    #[serde(default)]
    pub absent_is_success: bool,
    /// The API gateway's own error members, checked before the envelope.
    #[serde(default)]
    pub gateway: Option<CodeMessage>,
    /// OAuth-style error members (`error`/`error_description`).
    #[serde(default)]
    pub oauth: Option<OAuthMembers>,
}

/// Names of a code member and a message member.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeMessage {
    /// Code member.
    pub code: String,
    /// Message member.
    pub message: String,
}

/// Names of OAuth's error members.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OAuthMembers {
    /// Error code member (`invalid_grant`).
    pub error: String,
    /// Description member.
    pub description: String,
}

/// A documented code and its text.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeText {
    /// The code.
    pub code: i64,
    /// The vendor's text.
    pub message: String,
    /// How sure the transcription is.
    #[serde(default)]
    pub confidence: Confidence,
}

/// How a vendor refuses a refresh token for good.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged, deny_unknown_fields)]
pub enum RefreshRefused {
    /// An envelope error code.
    Code {
        /// The code.
        code: i64,
        /// The vendor's text.
        message: String,
        /// How sure the transcription is.
        #[serde(default)]
        confidence: Confidence,
    },
    /// An OAuth error (answered with HTTP 400).
    OAuthError {
        /// The OAuth error code.
        oauth_error: String,
        /// The description the vendor gives.
        message: String,
    },
}

/// Reads and checks one `vendor.toml`.
pub fn load_vendor(path: &Path) -> Result<VendorFile, SpecError> {
    let text = std::fs::read_to_string(path).map_err(|source| SpecError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse_vendor(path, &text)
}

/// Parses one `vendor.toml` from its text; `path` is only used in error messages.
pub fn parse_vendor(path: &Path, text: &str) -> Result<VendorFile, SpecError> {
    let file: VendorFile = crate::from_toml(path, text)?;
    let invalid = |context: &str, message: String| SpecError::Invalid {
        path: path.to_owned(),
        line: 0,
        column: 0,
        context: context.into(),
        message,
    };
    let e = &file.envelope;
    if e.messages.is_empty() {
        return Err(invalid(
            "envelope.messages",
            "name at least one member".into(),
        ));
    }
    if (e.shape == EnvelopeShape::Wrapped) != e.data.is_some() {
        return Err(invalid(
            "envelope.data",
            "a wrapped envelope names its `data` member; a flat one has none".into(),
        ));
    }
    for (what, code) in [
        ("token_expired", file.token_expired),
        ("token_invalid", file.token_invalid),
    ] {
        if !file.token_invalid_codes.iter().any(|c| c.code == code) {
            return Err(invalid(
                what,
                format!("{code} is not in `token_invalid_codes`"),
            ));
        }
    }
    if file.token_errors_from_gateway && e.gateway.is_none() {
        return Err(invalid(
            "token_errors_from_gateway",
            "needs `envelope.gateway`".into(),
        ));
    }
    if matches!(file.refresh_refused, RefreshRefused::OAuthError { .. }) && e.oauth.is_none() {
        return Err(invalid(
            "refresh_refused",
            "an OAuth error needs `envelope.oauth`".into(),
        ));
    }
    Ok(file)
}

/// The JSON Schema of `vendor.toml`, pretty-printed with a trailing newline.
pub fn vendor_json_schema() -> String {
    let schema = schemars::schema_for!(VendorFile);
    let mut text = serde_json::to_string_pretty(&schema).expect("schema serializes");
    text.push('\n');
    text
}
