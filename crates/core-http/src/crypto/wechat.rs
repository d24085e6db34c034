//! WeChat's message encryption for pushes to a third-party platform and for replies.
//!
//! The scheme, as WeChat's own sample code (`WXBizMsgCrypt`) implements it:
//! - the AES key is the Base64 decoding of the 43-character EncodingAESKey plus `=` (32 bytes,
//!   AES-256); the IV is its first 16 bytes; mode CBC;
//! - the plaintext is 16 random bytes, the message length (4 bytes, big-endian), the message,
//!   then the app id; padded with PKCS#7 to a multiple of **32** bytes (a vendor that uses the
//!   scheme with another number of random bytes says so in `[push] random_prefix` of its
//!   `vendor.toml`: [`MessageCrypto::for_vendor`]);
//! - `msg_signature` is the hex SHA-1 of `token`, `timestamp`, `nonce` and the Base64
//!   ciphertext, sorted as strings and concatenated.
//!
//! Test vectors: WeChat's sample (token `spamtest`, EncodingAESKey
//! `abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG`, app id `wx2c2769f8efd9abc2`), as the
//! anchors' tests use it.

use aes::cipher::{block_padding::NoPadding, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::Engine as _;
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

use super::{xml_fields, CryptoError, XmlFields};
use crate::Secret;

type Encryptor = cbc::Encryptor<aes::Aes256>;
type Decryptor = cbc::Decryptor<aes::Aes256>;

/// The PKCS#7 block size of the scheme (not AES's 16).
const BLOCK: usize = 32;

/// The EncodingAESKey's Base64: WeChat's keys end in a character whose unused bits are not
/// zero (the sample's `…EFG`), which WeChat's own decoders accept.
const KEY_BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

/// The query parameters WeChat adds to a push URL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushQuery {
    /// `timestamp`.
    pub timestamp: String,
    /// `nonce`.
    pub nonce: String,
    /// `msg_signature`: the signature over the ciphertext.
    pub msg_signature: String,
}

impl PushQuery {
    /// The three parameters from a raw query string (`timestamp=…&nonce=…&msg_signature=…`;
    /// others such as `signature` and `encrypt_type` are ignored). Missing ones are empty, and
    /// then fail verification.
    pub fn from_query(query: &str) -> Self {
        let mut q = PushQuery::default();
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            match &*k {
                "timestamp" => q.timestamp = v.into_owned(),
                "nonce" => q.nonce = v.into_owned(),
                "msg_signature" => q.msg_signature = v.into_owned(),
                _ => {}
            }
        }
        q
    }
}

/// The platform's message crypto: its token, its EncodingAESKey and its app id (the
/// component app id for a third-party platform).
#[derive(Clone)]
pub struct MessageCrypto {
    token: Secret,
    key: [u8; 32],
    previous_key: Option<[u8; 32]>,
    app_id: String,
    max_age: Option<std::time::Duration>,
    max_body: usize,
    /// Random bytes before the message length (WeChat: 16).
    random_prefix: usize,
}

/// WeChat's number of random bytes before the message length.
const WECHAT_RANDOM_PREFIX: usize = 16;

/// The AES key of a 43-character EncodingAESKey.
fn parse_key(encoding_aes_key: &str) -> Result<[u8; 32], CryptoError> {
    if encoding_aes_key.len() != 43 {
        return Err(CryptoError::InvalidKey(
            "the EncodingAESKey has 43 characters",
        ));
    }
    let bytes = KEY_BASE64
        .decode(format!("{encoding_aes_key}="))
        .map_err(|_| CryptoError::InvalidKey("the EncodingAESKey is not Base64"))?;
    bytes
        .try_into()
        .map_err(|_| CryptoError::InvalidKey("the EncodingAESKey must decode to 32 bytes"))
}

/// How old (or how far in the future) a push's timestamp may be by default: a captured push
/// replayed later is refused.
pub const DEFAULT_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(300);

impl std::fmt::Debug for MessageCrypto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageCrypto")
            .field("token", &self.token)
            .field("key", &"***")
            .field("previous_key", &self.previous_key.map(|_| "***"))
            .field("app_id", &self.app_id)
            .field("max_age", &self.max_age)
            .field("max_body", &self.max_body)
            .field("random_prefix", &self.random_prefix)
            .finish()
    }
}

impl MessageCrypto {
    /// The crypto of the platform `app_id`, with the message token and the 43-character
    /// EncodingAESKey set on the platform's page.
    pub fn new(
        token: impl Into<Secret>,
        encoding_aes_key: &str,
        app_id: impl Into<String>,
    ) -> Result<Self, CryptoError> {
        Ok(MessageCrypto {
            token: token.into(),
            key: parse_key(encoding_aes_key)?,
            previous_key: None,
            app_id: app_id.into(),
            max_age: Some(DEFAULT_MAX_AGE),
            max_body: super::DEFAULT_MAX_BODY,
            random_prefix: WECHAT_RANDOM_PREFIX,
        })
    }

    /// The crypto of `vendor`'s pushes, with the number of random bytes its `vendor.toml`
    /// gives (`[push] random_prefix`); an error for a vendor that does not use this scheme.
    pub fn for_vendor(
        vendor: crate::Vendor,
        token: impl Into<Secret>,
        encoding_aes_key: &str,
        app_id: impl Into<String>,
    ) -> Result<Self, CryptoError> {
        let prefix = vendor.facts().push_random_prefix.ok_or(CryptoError::InvalidKey(
            "this vendor's pushes do not use WeChat's message encryption (no `[push]` in its vendor.toml)",
        ))?;
        Ok(Self::new(token, encoding_aes_key, app_id)?.with_random_prefix(prefix))
    }

    /// The same crypto with `bytes` random bytes before the message length instead of
    /// WeChat's 16.
    pub fn with_random_prefix(mut self, bytes: usize) -> Self {
        self.random_prefix = bytes;
        self
    }

    /// The same crypto that also accepts pushes encrypted with the previous EncodingAESKey,
    /// while WeChat switches over after the key was changed on the platform's page (WeChat's
    /// advice: keep the previous key and try it when the current one fails). Replies are
    /// encrypted with the current key.
    pub fn with_previous_key(mut self, encoding_aes_key: &str) -> Result<Self, CryptoError> {
        self.previous_key = Some(parse_key(encoding_aes_key)?);
        Ok(self)
    }

    /// The same crypto with another replay window for [`MessageCrypto::open`] (`None`: no
    /// timestamp check, e.g. to open recorded pushes in tests).
    pub fn with_max_age(mut self, max_age: Option<std::time::Duration>) -> Self {
        self.max_age = max_age;
        self
    }

    /// The same crypto with another body limit in bytes (default
    /// [`DEFAULT_MAX_BODY`](super::DEFAULT_MAX_BODY)): a longer push is refused before it is
    /// read.
    pub fn with_max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// The body limit in bytes.
    pub fn max_body(&self) -> usize {
        self.max_body
    }

    /// The replay window: how far a push's timestamp may be from now (`None`: unchecked).
    pub fn max_age(&self) -> Option<std::time::Duration> {
        self.max_age
    }

    /// Refuses a body longer than the limit, before anything reads it.
    pub fn check_body(&self, body: &[u8]) -> Result<(), CryptoError> {
        super::check_body(body, self.max_body)
    }

    /// Refuses a `timestamp` (Unix seconds, as text) outside the replay window.
    pub fn check_timestamp(&self, timestamp: &str) -> Result<(), CryptoError> {
        super::check_age(self.max_age, timestamp, 1)
    }

    /// The app id messages must be encrypted for.
    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// The `msg_signature` of `encrypt` (Base64 ciphertext) at `timestamp` and `nonce`.
    pub fn signature(&self, timestamp: &str, nonce: &str, encrypt: &str) -> String {
        let mut parts = [self.token.expose(), timestamp, nonce, encrypt];
        parts.sort_unstable();
        let mut sha = Sha1::new();
        for p in parts {
            sha.update(p.as_bytes());
        }
        hex(&sha.finalize())
    }

    /// Checks `msg_signature` in constant time.
    pub fn verify(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        encrypt: &str,
    ) -> Result<(), CryptoError> {
        let expected = self.signature(timestamp, nonce, encrypt);
        let given = msg_signature.trim().to_ascii_lowercase();
        if expected.as_bytes().ct_eq(given.as_bytes()).into() {
            Ok(())
        } else {
            Err(CryptoError::BadSignature)
        }
    }

    /// Decrypts `encrypt` (Base64 ciphertext) and checks that it was encrypted for this app id.
    /// Call [`MessageCrypto::verify`] first, or use [`MessageCrypto::open`].
    /// With a previous key set, a ciphertext the current key cannot open is tried with it.
    pub fn decrypt(&self, encrypt: &str) -> Result<String, CryptoError> {
        match (self.decrypt_with(&self.key, encrypt), &self.previous_key) {
            (Err(CryptoError::Malformed(_) | CryptoError::WrongAppId { .. }), Some(previous)) => {
                self.decrypt_with(previous, encrypt)
            }
            (result, _) => result,
        }
    }

    fn decrypt_with(&self, key: &[u8; 32], encrypt: &str) -> Result<String, CryptoError> {
        let mut data = base64::engine::general_purpose::STANDARD
            .decode(encrypt.trim())
            .map_err(|_| CryptoError::Malformed("not Base64"))?;
        if data.is_empty() || data.len() % 16 != 0 {
            return Err(CryptoError::Malformed("not a whole number of AES blocks"));
        }
        let plain = Decryptor::new(key.into(), key[..16].into())
            .decrypt_padded_mut::<NoPadding>(&mut data)
            .map_err(|_| CryptoError::Malformed("not a whole number of AES blocks"))?;
        let pad = *plain.last().ok_or(CryptoError::Malformed("empty"))? as usize;
        if pad == 0 || pad > BLOCK || pad > plain.len() {
            return Err(CryptoError::Malformed("bad padding"));
        }
        let content = &plain[..plain.len() - pad];
        let header = self.random_prefix + 4;
        if content.len() < header {
            return Err(CryptoError::Malformed("shorter than its header"));
        }
        let len = u32::from_be_bytes(
            content[self.random_prefix..header]
                .try_into()
                .expect("4 bytes"),
        ) as usize;
        let rest = &content[header..];
        if len > rest.len() {
            return Err(CryptoError::Malformed("message length past the end"));
        }
        let (message, app_id) = rest.split_at(len);
        if app_id != self.app_id.as_bytes() {
            return Err(CryptoError::WrongAppId {
                expected: self.app_id.clone(),
                found_len: app_id.len(),
            });
        }
        String::from_utf8(message.to_vec()).map_err(|_| CryptoError::Malformed("not UTF-8"))
    }

    /// Verifies and decrypts a push: the XML body's `Encrypt` member, signed as `query` says,
    /// with a timestamp inside the replay window ([`DEFAULT_MAX_AGE`]). Returns the decrypted
    /// XML's fields. Nothing is decrypted when a check fails, and a body over the limit
    /// ([`MessageCrypto::with_max_body`]) is not read at all.
    pub fn open(&self, query: &PushQuery, body: &[u8]) -> Result<XmlFields, CryptoError> {
        self.check_body(body)?;
        let body = std::str::from_utf8(body).map_err(|_| CryptoError::Body("not UTF-8".into()))?;
        let outer = xml_fields(body)?;
        let encrypt = outer
            .get("Encrypt")
            .ok_or_else(|| CryptoError::Body("no `Encrypt` member".into()))?;
        self.verify(
            &query.msg_signature,
            &query.timestamp,
            &query.nonce,
            encrypt,
        )?;
        self.check_timestamp(&query.timestamp)?;
        xml_fields(&self.decrypt(encrypt)?)
    }

    /// Encrypts `message` for this app id with the random bytes `random` (Base64 result).
    ///
    /// # Panics
    ///
    /// When `random` is not as long as the scheme's random prefix (16 unless
    /// [`MessageCrypto::with_random_prefix`] said otherwise).
    pub fn encrypt_with(&self, message: &str, random: &[u8]) -> String {
        assert_eq!(
            random.len(),
            self.random_prefix,
            "the random prefix of this scheme has {} bytes",
            self.random_prefix
        );
        let mut plain =
            Vec::with_capacity(random.len() + 4 + message.len() + self.app_id.len() + BLOCK);
        plain.extend_from_slice(random);
        plain.extend_from_slice(&(message.len() as u32).to_be_bytes());
        plain.extend_from_slice(message.as_bytes());
        plain.extend_from_slice(self.app_id.as_bytes());
        let pad = BLOCK - plain.len() % BLOCK;
        plain.resize(plain.len() + pad, pad as u8);
        let len = plain.len();
        let cipher = Encryptor::new(&self.key.into(), self.key[..16].into())
            .encrypt_padded_mut::<NoPadding>(&mut plain, len)
            .expect("the plaintext is padded to whole blocks");
        base64::engine::general_purpose::STANDARD.encode(cipher)
    }

    /// Encrypts `message` (a reply's XML) for this app id with fresh random bytes.
    pub fn encrypt(&self, message: &str) -> String {
        let random: Vec<u8> = (0..self.random_prefix).map(|_| fastrand::u8(..)).collect();
        self.encrypt_with(message, &random)
    }

    /// The encrypted reply body: `Encrypt`, `MsgSignature`, `TimeStamp` and `Nonce`.
    pub fn seal_reply(&self, message: &str, timestamp: &str, nonce: &str) -> String {
        let encrypt = self.encrypt(message);
        let signature = self.signature(timestamp, nonce, &encrypt);
        format!(
            "<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt><MsgSignature><![CDATA[{signature}]]></MsgSignature><TimeStamp>{}</TimeStamp><Nonce><![CDATA[{}]]></Nonce></xml>",
            quick_xml::escape::escape(timestamp),
            nonce.replace("]]>", "]]]]><![CDATA[>")
        )
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // WeChat's sample vector (WXBizMsgCrypt demo), as wechatpy's and others' tests use it.
    const TOKEN: &str = "spamtest";
    const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
    const APP_ID: &str = "wx2c2769f8efd9abc2";
    const TIMESTAMP: &str = "1409735669";
    const NONCE: &str = "1320562132";
    const MSG_SIGNATURE: &str = "5d197aaffba7e9b25a30732f161a50dee96bd5fa";
    const ENCRYPT: &str = "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=";

    fn crypto() -> MessageCrypto {
        MessageCrypto::new(TOKEN, KEY, APP_ID)
            .unwrap()
            .with_max_age(None) // a recorded push from 2014
    }

    #[test]
    fn the_sample_signature_matches() {
        assert_eq!(crypto().signature(TIMESTAMP, NONCE, ENCRYPT), MSG_SIGNATURE);
        crypto()
            .verify(MSG_SIGNATURE, TIMESTAMP, NONCE, ENCRYPT)
            .unwrap();
        assert_eq!(
            crypto().verify(MSG_SIGNATURE, TIMESTAMP, "1320562133", ENCRYPT),
            Err(CryptoError::BadSignature)
        );
        assert_eq!(
            crypto().verify(&MSG_SIGNATURE[1..], TIMESTAMP, NONCE, ENCRYPT),
            Err(CryptoError::BadSignature)
        );
    }

    /// The random prefix comes from `vendor.toml`: WeChat's sample opens with WeChat's facts;
    /// a scheme with 32 random bytes (Douyin's V2 platform) round-trips, and neither opens
    /// the other's ciphertext.
    #[test]
    fn the_random_prefix_is_the_vendors() {
        let wechat = MessageCrypto::for_vendor(crate::Vendor::Wechat, TOKEN, KEY, APP_ID).unwrap();
        assert!(wechat.decrypt(ENCRYPT).unwrap().contains("<xml>"));
        let kuaishou = MessageCrypto::for_vendor(crate::Vendor::Kuaishou, TOKEN, KEY, APP_ID);
        assert!(matches!(kuaishou, Err(CryptoError::InvalidKey(_))));

        let wide = crypto().with_random_prefix(32);
        let sealed = wide.encrypt("{\"event\":\"x\"}");
        assert_eq!(wide.decrypt(&sealed).unwrap(), "{\"event\":\"x\"}");
        assert!(crypto().decrypt(&sealed).is_err());
        assert!(wide.decrypt(ENCRYPT).is_err());
    }

    #[test]
    fn the_sample_decrypts_for_its_app_id() {
        let xml = crypto().decrypt(ENCRYPT).unwrap();
        assert_eq!(
            xml,
            "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>\n<CreateTime>1409735668</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[abcdteT]]></Content>\n<MsgId>6054768590064713728</MsgId>\n</xml>"
        );
        let other = MessageCrypto::new(TOKEN, KEY, "wx_other").unwrap();
        assert_eq!(
            other.decrypt(ENCRYPT),
            Err(CryptoError::WrongAppId {
                expected: "wx_other".into(),
                found_len: APP_ID.len()
            })
        );
    }

    // The third-party platform's own worked example (message_push page): token `AAAAA`, a key
    // of 43 × `A` (32 zero bytes), component app id `wx134c8103faa5a59e`.
    const E_ENCRYPT: &str = "D7yzvUNAL930rd28wf21s4hvXhz0L6Uit/p2Di6C5DHyYGpEgdBRnKjBec34JwoQXicwaZC7fOVihW80F4VtsdvE//1vr7oAbqjDv8KenVp+ajKYpJnyQ4zMRhIC+a31fCVOMC03FfzV/QuC94kBP55a+Za3sJgvAn+ZbsNqZI5DkyuzkhQN8OBqCzFhizGmy0xpM0MEA4agpvE+RuNO1rhHTtuJB5yltw1FiYzecSXJ+y/D2r81VkRn2eYjh2ltsoyfbDR7Is6ookXIFxTfyeNyeHxMeT4KN5WpCDmSbTcUYrbBUlkGLJ9n/rU8YOywma6G7aTb7KZKOqCxgfoUlYEZPk4FUL/TK7ShriFDMVCLyjQJ15Ob++agDWtcxhfUfe6HIoIpRW8mKNBQiY/Jd1svvuskA1wLef1RTtzKfMpagSCX/laZINmdnX4zrF6kIaR9P4xQrWXbsTFHTYe0Mg==";

    fn platform_example() -> MessageCrypto {
        MessageCrypto::new("AAAAA", &"A".repeat(43), "wx134c8103faa5a59e")
            .unwrap()
            .with_max_age(None) // a recorded push from 2024
    }

    #[test]
    fn the_platform_example_opens_and_its_reply_matches() {
        let c = platform_example();
        let query = PushQuery::from_query("signature=cc0c594499c1634947d5b502f158ee518947db27&timestamp=1715943329&nonce=1590219412&openid=o9AgO5Kd5ggOC-bXrbNODIiE3bGY&encrypt_type=aes&msg_signature=6c12a4205838198b8fa631b3220723bb07f1015c");
        let body = format!("<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName><Encrypt><![CDATA[{E_ENCRYPT}]]></Encrypt></xml>");
        let fields = c.open(&query, body.as_bytes()).unwrap();
        assert_eq!(fields.get("Event"), Some("debug_demo"));
        assert_eq!(fields.get("debug_str"), Some("hello world"));
        assert_eq!(
            c.decrypt(E_ENCRYPT).unwrap(),
            "<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName>\n<FromUserName><![CDATA[o9AgO5Kd5ggOC-bXrbNODIiE3bGY]]></FromUserName>\n<CreateTime>1715943329</CreateTime>\n<MsgType><![CDATA[event]]></MsgType>\n<Event><![CDATA[debug_demo]]></Event>\n<debug_str><![CDATA[hello world]]></debug_str>\n</xml>"
        );
        // The reply of the example, byte for byte (its random prefix is given).
        let encrypt = c.encrypt_with(
            "<xml><demo_resp>[CDATA[good luck]]</demo_resp></xml>",
            b"999951349e8ee746",
        );
        assert_eq!(encrypt, "hE8R6mGXHkJJjU72KxzKUd1GEkKJaEZq7vRL8XgK3o+00k8JGq6+pZJUIlTSyhsX+bxIBQ72g3GyvDdIZcr6+3HAZbSvPT9t/o11MI7d6WELwqrGd7jMnV0zv3Zc9Nq7");
        assert_eq!(
            c.signature("1713424427", "415670741", &encrypt),
            "03e0812039325c2712ef5f0f980fd14c70d6e307"
        );
    }

    #[test]
    fn open_verifies_before_decrypting() {
        let body = format!("<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><Encrypt><![CDATA[{ENCRYPT}]]></Encrypt></xml>");
        let query = PushQuery::from_query(&format!(
            "signature=x&timestamp={TIMESTAMP}&nonce={NONCE}&encrypt_type=aes&msg_signature={MSG_SIGNATURE}"
        ));
        assert!(crypto().open(&query, body.as_bytes()).is_ok());
        let forged = PushQuery {
            msg_signature: "0".repeat(40),
            ..query
        };
        assert_eq!(
            crypto().open(&forged, body.as_bytes()),
            Err(CryptoError::BadSignature)
        );
    }

    #[test]
    fn replies_round_trip_and_are_padded_to_32_bytes() {
        let c = crypto();
        for message in [
            "",
            "a",
            &"x".repeat(31),
            &"审".repeat(40),
            "<xml><A>1</A></xml>",
        ] {
            let encrypt = c.encrypt(message);
            let raw = base64::engine::general_purpose::STANDARD
                .decode(&encrypt)
                .unwrap();
            assert_eq!(raw.len() % BLOCK, 0);
            assert_eq!(c.decrypt(&encrypt).unwrap(), message);
        }
        let reply = c.seal_reply("<xml><Content>hi</Content></xml>", "1409735669", "nonce");
        let f = xml_fields(&reply).unwrap();
        c.verify(
            f.get("MsgSignature").unwrap(),
            f.get("TimeStamp").unwrap(),
            f.get("Nonce").unwrap(),
            f.get("Encrypt").unwrap(),
        )
        .unwrap();
        assert_eq!(
            c.decrypt(f.get("Encrypt").unwrap()).unwrap(),
            "<xml><Content>hi</Content></xml>"
        );
    }

    #[test]
    fn broken_input_is_a_typed_error_never_a_panic() {
        let c = crypto();
        assert!(MessageCrypto::new(TOKEN, "short", APP_ID).is_err());
        assert!(MessageCrypto::new(TOKEN, &"*".repeat(43), APP_ID).is_err());
        for bad in ["", "!!!", "AAAA", &ENCRYPT[..ENCRYPT.len() - 4]] {
            assert!(
                matches!(c.decrypt(bad), Err(CryptoError::Malformed(_))),
                "{bad}"
            );
        }
        // A valid ciphertext of a too-short plaintext.
        let mut plain = vec![32u8; 32];
        let len = plain.len();
        let short = Encryptor::new(&c.key.into(), c.key[..16].into())
            .encrypt_padded_mut::<NoPadding>(&mut plain, len)
            .unwrap()
            .to_vec();
        let short = base64::engine::general_purpose::STANDARD.encode(short);
        assert!(matches!(c.decrypt(&short), Err(CryptoError::Malformed(_))));
        assert!(!format!("{c:?}").contains(TOKEN) && !format!("{c:?}").contains("abcdefgh"));
    }

    #[test]
    fn a_push_under_the_previous_key_still_opens_after_a_key_change() {
        let old = crypto();
        let encrypt = old.encrypt("<xml><A>1</A></xml>");
        let new = MessageCrypto::new(TOKEN, &"B".repeat(43), APP_ID).unwrap();
        assert!(new.decrypt(&encrypt).is_err());
        let rotating = new.with_previous_key(KEY).unwrap();
        assert_eq!(rotating.decrypt(&encrypt).unwrap(), "<xml><A>1</A></xml>");
        // Its own pushes and replies use the current key.
        let reply = rotating.encrypt("<xml/>");
        assert!(old.decrypt(&reply).is_err());
        assert_eq!(rotating.decrypt(&reply).unwrap(), "<xml/>");
    }
}
