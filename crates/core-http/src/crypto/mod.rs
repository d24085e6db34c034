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
    /// The push body lacks a member the scheme needs (WeChat `Encrypt`) or is not XML.
    #[error("the push body is not the expected XML: {0}")]
    Body(String),
}
