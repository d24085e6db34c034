//! Verification and decryption of the vendors' pushes, and encryption of replies.
//!
//! - [`wechat::MessageCrypto`]: WeChat's message encryption ("消息加解密", AES-256-CBC with the
//!   EncodingAESKey, SHA-1 `msg_signature`), used for every push to a third-party platform
//!   (`component_verify_ticket`, authorization changes) and for encrypted replies; Baidu uses
//!   the same cipher and signature with its own envelope.
//! - [`kuaishou::PushCrypto`]: Kuaishou's `kwaisign` and `encryptedMsg` (unverified).
//!
//! Nothing a push carries is trusted before its signature is checked (in constant time) and
//! its plaintext names the platform it was sent to.

pub mod kuaishou;
pub mod wechat;
mod xml;

pub use xml::{xml_fields, XmlFields};

/// Refuses `timestamp` (in units of `1/per_second` s: 1 for seconds, 1000 for ms) when it is
/// further than `max_age` from now; `None` accepts any.
pub(crate) fn check_age(
    max_age: Option<std::time::Duration>,
    timestamp: &str,
    per_second: i64,
) -> Result<(), CryptoError> {
    let Some(max_age) = max_age else {
        return Ok(());
    };
    let Ok(at) = timestamp.trim().parse::<i64>() else {
        return Err(CryptoError::Stale { age_secs: i64::MAX });
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let age = (now - at / per_second).abs();
    if age as u64 > max_age.as_secs() {
        return Err(CryptoError::Stale { age_secs: age });
    }
    Ok(())
}

/// How large a push body may be by default (64 KiB): the vendors' pushes are a few KiB, and
/// a larger body is refused before it is parsed, verified or decrypted.
pub const DEFAULT_MAX_BODY: usize = 64 * 1024;

/// Refuses a body longer than `limit` bytes, before anything reads it.
pub(crate) fn check_body(body: &[u8], limit: usize) -> Result<(), CryptoError> {
    if body.len() > limit {
        return Err(CryptoError::TooLarge {
            len: body.len(),
            limit,
        });
    }
    Ok(())
}

/// The kind of a decoder's message, without what it quotes: the text before the first quote,
/// colon or comma (`invalid type: string "…"` → `invalid type`). The member names of
/// `missing field` and `duplicate field` are kept (they come from the SDK's types, not from the
/// push). A decrypted push's bytes never reach an error text through it.
pub fn redact(message: &str) -> String {
    for kept in ["missing field `", "duplicate field `"] {
        if let Some(rest) = message.strip_prefix(kept) {
            if let Some(name) = rest.split('`').next().filter(|n| is_identifier(n)) {
                return format!("{kept}{name}`");
            }
        }
    }
    let cut = message
        .find([':', '`', '"', '\'', ',', '(', '<', '{', '['])
        .unwrap_or(message.len());
    let kind: String = message[..cut].trim().chars().take(80).collect();
    if kind.is_empty() {
        "malformed".into()
    } else {
        kind
    }
}

/// A member path (`.Ticket`, `.list[0].name`) kept only when it is made of identifiers.
pub fn redact_path(path: &str) -> &str {
    let plain = path.len() <= 80
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']' | '-'));
    if plain {
        path
    } else {
        "?"
    }
}

fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Why a push was refused. Never contains a key, a token or the plaintext: texts carry
/// lengths and kinds only (see [`redact`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The configured key is not what the vendor issues (WeChat: 43 Base64 characters).
    #[error("invalid key: {0}")]
    InvalidKey(&'static str),
    /// The signature does not match: the push did not come from the vendor, or was altered.
    #[error("the push signature does not match")]
    BadSignature,
    /// The ciphertext or its plaintext layout is broken (Base64, block size, padding, length).
    #[error("the encrypted message is malformed: {0}")]
    Malformed(&'static str),
    /// The plaintext was encrypted for another app id than the one configured (the id found
    /// is decrypted content, so only its length is kept).
    #[error("the message is for another app id ({found_len} bytes), not {expected:?}")]
    WrongAppId {
        /// The configured app id.
        expected: String,
        /// The length in bytes of the app id found in the plaintext.
        found_len: usize,
    },
    /// The body is longer than the receiver's limit (`with_max_body`, default
    /// [`DEFAULT_MAX_BODY`]); nothing of it was read.
    #[error("the push body has {len} bytes, more than the limit of {limit}")]
    TooLarge {
        /// The body's length in bytes.
        len: usize,
        /// The receiver's limit in bytes.
        limit: usize,
    },
    /// The push was received before (the same signature within the replay window): a replay
    /// or a vendor's late re-delivery. Nothing was stored or hooked; answer it as handled
    /// (`success`), so the vendor stops pushing it.
    #[error("the push was already received")]
    Replayed,
    /// The push's timestamp is outside the replay window (or not a number): a replayed or
    /// delayed push.
    #[error("the push timestamp is outside the replay window ({age_secs} s away from now)")]
    Stale {
        /// How far the timestamp is from now, in seconds (`i64::MAX` when unreadable).
        age_secs: i64,
    },
    /// The push body, or what it decrypts to, is not what the vendor sends: not XML/JSON, or
    /// a member the scheme or the event needs is missing or malformed.
    #[error("the push is not what the vendor sends: {0}")]
    Body(String),
}

impl CryptoError {
    /// A [`CryptoError::Body`] of a decoder's error, its text [redacted](redact).
    pub fn body(error: impl std::fmt::Display) -> Self {
        CryptoError::Body(redact(&error.to_string()))
    }
}

impl From<crate::push::PushError> for CryptoError {
    /// The error's path and kind only (see [`redact`]): never a value of the push.
    fn from(e: crate::push::PushError) -> Self {
        CryptoError::Body(format!(
            "undecodable at `{}`: {}",
            redact_path(&e.path),
            redact(&e.message)
        ))
    }
}
