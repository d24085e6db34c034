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

/// Why a push was refused. Never contains a key, a token or the plaintext.
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
    /// The plaintext was encrypted for another app id than the one configured.
    #[error("the message is for app id {got:?}, not {expected:?}")]
    WrongAppId {
        /// The configured app id.
        expected: String,
        /// The app id in the plaintext.
        got: String,
    },
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
