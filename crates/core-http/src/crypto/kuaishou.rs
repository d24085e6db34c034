//! Kuaishou's push signature and encryption, **unverified**.
//!
//! Kuaishou's page stops at "验签方式如下: 1. 取出 http 的…"; the scheme here is the one a
//! provider's production code that cites that page implements, and no test vector exists
//! anywhere:
//! - the `kwaisign` header is the hex SHA-1 of the raw HTTP body followed by the message
//!   token (compared in constant time);
//! - `encryptedMsg` is Base64 (standard or URL-safe) of AES-CBC with the Base64-decoded
//!   message key (43 characters give 32 bytes, AES-256), IV = the key's first 16 bytes,
//!   PKCS#7 padding; the plaintext is the JSON event itself.
//!
//! To confirm it on the first real push, log what [`PushCrypto::diagnose`] returns (body
//! length, whether the signature matched, whether the plaintext is JSON): never the body.

use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::Engine as _;
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

use super::CryptoError;
use crate::Secret;

/// The key's Base64, lenient about the spare bits of its last character (as WeChat's).
const KEY_BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

/// The platform's push crypto: its message token (消息校检Token) and message key
/// (消息加密Key).
#[derive(Clone)]
pub struct PushCrypto {
    token: Secret,
    key: Vec<u8>,
    max_age: Option<std::time::Duration>,
    max_body: usize,
}

impl std::fmt::Debug for PushCrypto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushCrypto")
            .field("token", &self.token)
            .field("key", &"***")
            .finish()
    }
}

/// What a first real push says about the scheme, safe to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    /// The body's length in bytes.
    pub body_len: usize,
    /// Whether `kwaisign` matched.
    pub signature_matched: bool,
    /// Whether `encryptedMsg` decrypted to JSON.
    pub plaintext_is_json: bool,
}

impl PushCrypto {
    /// The crypto with the platform's message token and message key.
    pub fn new(token: impl Into<Secret>, key: &str) -> Result<Self, CryptoError> {
        let key = KEY_BASE64
            .decode(key.trim())
            .map_err(|_| CryptoError::InvalidKey("the message key is not Base64"))?;
        if !matches!(key.len(), 16 | 24 | 32) {
            return Err(CryptoError::InvalidKey(
                "the message key must decode to 16, 24 or 32 bytes",
            ));
        }
        Ok(PushCrypto {
            token: token.into(),
            key,
            max_age: Some(super::wechat::DEFAULT_MAX_AGE),
            max_body: super::DEFAULT_MAX_BODY,
        })
    }

    /// The same crypto with another replay window (`None`: no timestamp check).
    pub fn with_max_age(mut self, max_age: Option<std::time::Duration>) -> Self {
        self.max_age = max_age;
        self
    }

    /// The same crypto with another body limit in bytes (default
    /// [`DEFAULT_MAX_BODY`](super::DEFAULT_MAX_BODY)).
    pub fn with_max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// The body limit in bytes.
    pub fn max_body(&self) -> usize {
        self.max_body
    }

    /// The replay window (`None`: unchecked).
    pub fn max_age(&self) -> Option<std::time::Duration> {
        self.max_age
    }

    /// Refuses a body longer than the limit, before anything reads it.
    pub fn check_body(&self, body: &[u8]) -> Result<(), CryptoError> {
        super::check_body(body, self.max_body)
    }

    /// Refuses an envelope `timestamp` (Unix milliseconds) outside the replay window.
    pub fn check_timestamp(&self, timestamp_ms: &str) -> Result<(), CryptoError> {
        super::check_age(self.max_age, timestamp_ms, 1000)
    }

    /// The `kwaisign` of `body`.
    pub fn signature(&self, body: &[u8]) -> String {
        let mut sha = Sha1::new();
        sha.update(body);
        sha.update(self.token.expose().as_bytes());
        sha.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Checks `kwaisign` against the raw body, in constant time.
    pub fn verify(&self, kwaisign: &str, body: &[u8]) -> Result<(), CryptoError> {
        let given = kwaisign.trim().to_ascii_lowercase();
        if self
            .signature(body)
            .as_bytes()
            .ct_eq(given.as_bytes())
            .into()
        {
            Ok(())
        } else {
            Err(CryptoError::BadSignature)
        }
    }

    /// Decrypts `encryptedMsg` to its JSON text.
    pub fn decrypt(&self, encrypted_msg: &str) -> Result<String, CryptoError> {
        let text = encrypted_msg.trim();
        let mut data = base64::engine::general_purpose::STANDARD
            .decode(text)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(text))
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text))
            .map_err(|_| CryptoError::Malformed("not Base64"))?;
        let plain = cbc_decrypt(&self.key, &self.key[..16], &mut data)
            .ok_or(CryptoError::Malformed("bad padding or block size"))?;
        String::from_utf8(plain.to_vec()).map_err(|_| CryptoError::Malformed("not UTF-8"))
    }

    /// Encrypts `json` the way the scheme decrypts it (Base64, standard alphabet).
    pub fn encrypt(&self, json: &str) -> String {
        let cipher = cbc_encrypt(&self.key, &self.key[..16], json.as_bytes());
        base64::engine::general_purpose::STANDARD.encode(cipher)
    }

    /// What the push `body` with `kwaisign` says about the scheme (for the logs).
    pub fn diagnose(&self, kwaisign: &str, body: &[u8], encrypted_msg: Option<&str>) -> Diagnosis {
        Diagnosis {
            body_len: body.len(),
            signature_matched: self.verify(kwaisign, body).is_ok(),
            plaintext_is_json: encrypted_msg
                .and_then(|m| self.decrypt(m).ok())
                .is_some_and(|p| serde_json::from_str::<serde_json::Value>(&p).is_ok()),
        }
    }
}

fn cbc_decrypt<'a>(key: &[u8], iv: &[u8], data: &'a mut [u8]) -> Option<&'a [u8]> {
    match key.len() {
        16 => cbc::Decryptor::<aes::Aes128>::new_from_slices(key, iv)
            .ok()?
            .decrypt_padded_mut::<Pkcs7>(data)
            .ok(),
        24 => cbc::Decryptor::<aes::Aes192>::new_from_slices(key, iv)
            .ok()?
            .decrypt_padded_mut::<Pkcs7>(data)
            .ok(),
        _ => cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv)
            .ok()?
            .decrypt_padded_mut::<Pkcs7>(data)
            .ok(),
    }
}

fn cbc_encrypt(key: &[u8], iv: &[u8], plain: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; plain.len() + 16];
    buf[..plain.len()].copy_from_slice(plain);
    let n = match key.len() {
        16 => cbc::Encryptor::<aes::Aes128>::new_from_slices(key, iv)
            .expect("key and iv sizes")
            .encrypt_padded_mut::<Pkcs7>(&mut buf, plain.len())
            .expect("room for the padding")
            .len(),
        24 => cbc::Encryptor::<aes::Aes192>::new_from_slices(key, iv)
            .expect("key and iv sizes")
            .encrypt_padded_mut::<Pkcs7>(&mut buf, plain.len())
            .expect("room for the padding")
            .len(),
        _ => cbc::Encryptor::<aes::Aes256>::new_from_slices(key, iv)
            .expect("key and iv sizes")
            .encrypt_padded_mut::<Pkcs7>(&mut buf, plain.len())
            .expect("room for the padding")
            .len(),
    };
    buf.truncate(n);
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

    #[test]
    fn round_trip_and_signature() {
        let c = PushCrypto::new("ks-token", KEY).unwrap();
        let json = r#"{"componentAppId":"ks1","componentTicket":"t","event":"COMPONENT_TICKET"}"#;
        let enc = c.encrypt(json);
        assert_eq!(c.decrypt(&enc).unwrap(), json);
        let url_safe = enc.replace('+', "-").replace('/', "_");
        assert_eq!(c.decrypt(&url_safe).unwrap(), json);
        let body = br#"{"encryptedMsg":"x"}"#;
        let sign = c.signature(body);
        // sha1(body || token), checked by hand against another implementation's formula.
        let mut sha = Sha1::new();
        sha.update(b"{\"encryptedMsg\":\"x\"}ks-token");
        let expected: String = sha.finalize().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(sign, expected);
        c.verify(&sign.to_uppercase(), body).unwrap();
        assert_eq!(c.verify(&sign, b"{}"), Err(CryptoError::BadSignature));
        assert!(matches!(c.decrypt("%%%"), Err(CryptoError::Malformed(_))));
        assert!(matches!(c.decrypt("AAAA"), Err(CryptoError::Malformed(_))));
        assert!(!format!("{c:?}").contains("ks-token"));
        assert!(PushCrypto::new("t", "short").is_err());
    }
}
