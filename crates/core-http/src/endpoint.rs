//! What a request type knows about its endpoint.

use std::fmt;

use bytes::Bytes;
use serde::ser::SerializeMap;

use crate::{Error, InvalidRequest, Vendor};

pub use miniapp_rules::{BodyKind, CredentialKind, Location, Method};

/// A credential parameter of an endpoint: wire name, kind, location.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialParam {
    /// Wire name, e.g. `access_token`.
    pub name: &'static str,
    /// Which credential.
    pub kind: CredentialKind,
    /// Where it travels.
    pub location: Location,
}

/// A successful binary answer (e.g. the Baidu QR code image).
#[derive(Clone, PartialEq, Eq)]
pub struct Binary {
    /// The `Content-Type` the server sent.
    pub content_type: String,
    /// The body, not copied.
    pub bytes: Bytes,
}

impl fmt::Debug for Binary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Binary")
            .field("content_type", &self.content_type)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// An HTTP answer as received, before decoding.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// HTTP status code.
    pub status: u16,
    /// `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// `Retry-After` header (seconds or HTTP date), if any.
    pub retry_after: Option<std::time::Duration>,
    /// Body bytes.
    pub body: Bytes,
}

impl RawResponse {
    /// Whether the status is 2xx: only then can the answer be a success.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Collects query or form parameters (`application/x-www-form-urlencoded` encoding, the same
/// bytes as `form_urlencoded::Serializer`).
pub struct ParamSink<'a> {
    target: &'a mut String,
    start: usize,
}

/// Whether `application/x-www-form-urlencoded` leaves `b` as it is (ASCII letters, digits,
/// `*`, `-`, `.`, `_`), branch-free.
const fn is_unreserved_byte(b: u8) -> bool {
    ((b | 0x20).wrapping_sub(b'a') < 26)
        | (b.wrapping_sub(b'0') < 10)
        | (b == b'*')
        | (b == b'-')
        | (b == b'.')
        | (b == b'_')
}

/// [`is_unreserved_byte`] as a table, for the byte-by-byte walk over text that has reserved
/// bytes.
static UNRESERVED: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = is_unreserved_byte(b as u8);
        b += 1;
    }
    table
};

/// What each reserved byte becomes: `+` for a space, `%XX` (capitals) for the others.
static ESCAPED: [&str; 256] = {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    const fn escape(b: u8) -> [u8; 3] {
        [b'%', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]
    }
    static BYTES: [[u8; 3]; 256] = {
        let mut all = [[0u8; 3]; 256];
        let mut b = 0;
        while b < 256 {
            all[b] = escape(b as u8);
            b += 1;
        }
        all
    };
    let mut table = [""; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = if b == b' ' as usize {
            "+"
        } else {
            match std::str::from_utf8(&BYTES[b]) {
                Ok(text) => text,
                Err(_) => panic!("an escape is ASCII"),
            }
        };
        b += 1;
    }
    table
};

/// Whether `application/x-www-form-urlencoded` leaves every byte of `text` as it is. Blocks
/// of 16 bytes are checked without a branch, which the compiler turns into vector compares
/// (about a third of the instructions of a byte-by-byte loop): the check runs over every
/// byte of every token on every call.
pub(crate) fn is_unreserved(text: &[u8]) -> bool {
    let mut blocks = text.chunks_exact(16);
    for block in &mut blocks {
        let block: &[u8; 16] = block.try_into().expect("a block of 16");
        if !block.iter().fold(true, |ok, &b| ok & is_unreserved_byte(b)) {
            return false;
        }
    }
    blocks
        .remainder()
        .iter()
        .all(|&b| UNRESERVED[usize::from(b)])
}

impl<'a> ParamSink<'a> {
    /// Appends to `target` (which may already hold text before the first pair).
    pub fn new(target: &'a mut String) -> Self {
        let start = target.len();
        ParamSink { target, start }
    }

    /// Appends one `name=value` pair, percent-encoded.
    pub fn put(&mut self, name: &str, value: &str) {
        if self.target.len() > self.start {
            self.target.push('&');
        }
        self.encode(name);
        self.target.push('=');
        self.encode(value);
    }

    /// Appends one `name=value` pair whose value is already known to need no encoding (a
    /// [`crate::Secret`] checks its text once, not on every call).
    pub(crate) fn put_unreserved_value(&mut self, name: &str, value: &str) {
        debug_assert!(is_unreserved(value.as_bytes()));
        if self.target.len() > self.start {
            self.target.push('&');
        }
        self.encode(name);
        self.target.push('=');
        self.target.push_str(value);
    }

    /// Appends `text` percent-encoded as `form_urlencoded::byte_serialize` does (space as
    /// `+`, other reserved bytes as `%XX` in capitals), in runs: unreserved runs are copied
    /// whole, and a run always starts and ends at a character boundary, since unreserved
    /// bytes are ASCII.
    fn encode(&mut self, text: &str) {
        // Tokens, ids and hosts are unreserved text: copied at once.
        let bytes = text.as_bytes();
        if is_unreserved(bytes) {
            self.target.push_str(text);
            return;
        }
        let mut at = 0;
        while at < bytes.len() {
            let run = bytes[at..]
                .iter()
                .position(|&b| !UNRESERVED[usize::from(b)])
                .unwrap_or(bytes.len() - at);
            self.target.push_str(&text[at..at + run]);
            at += run;
            while let Some(&b) = bytes.get(at).filter(|&&b| !UNRESERVED[usize::from(b)]) {
                self.target.push_str(ESCAPED[usize::from(b)]);
                at += 1;
            }
        }
    }

    /// Finishes the encoding.
    pub fn finish(self) {}
}

/// A request type of one vendor endpoint. Derive it with `#[derive(Endpoint)]`; the generated
/// request types of the vendor crates all implement it.
pub trait Endpoint: Send + Sync {
    /// The decoded successful answer.
    type Response: Send;
    /// Vendor conventions (envelope, error codes).
    const VENDOR: Vendor;
    /// Operation name, e.g. `ModifyDomain`.
    const NAME: &'static str;
    /// HTTP method.
    const METHOD: Method;
    /// Path below the base URL.
    const PATH: &'static str;
    /// Body kind.
    const BODY: BodyKind;
    /// Credential parameters, filled from the handle's [`crate::Credentials`].
    const CREDENTIALS: &'static [CredentialParam];
    /// Documented error codes of this endpoint and their text.
    const ERRORS: &'static [(i64, &'static str)];
    /// Whether a repeat is harmless (reads, `set`); false for quota-limited writes.
    const IDEMPOTENT: bool;

    /// Whether repeating this call is harmless: [`Self::IDEMPOTENT`], or a read of a
    /// quota-limited endpoint (e.g. `action = get`, the spec's `read_when`).
    fn is_idempotent(&self) -> bool {
        Self::IDEMPOTENT
    }

    /// Checks the documented constraints; nothing is sent when this fails.
    fn validate(&self) -> Result<(), InvalidRequest>;
    /// Appends the query parameters.
    fn write_query(&self, query: &mut ParamSink<'_>);
    /// Appends the form parameters (form bodies only).
    fn write_form(&self, form: &mut ParamSink<'_>);
    /// Writes the JSON body members (JSON bodies only).
    fn write_json<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error>;
    /// Decodes the answer: envelope, vendor error, payload.
    fn decode(raw: RawResponse) -> Result<Self::Response, Error>;

    /// The documented text of a vendor error code for this endpoint.
    fn error_text(code: i64) -> Option<&'static str> {
        Self::ERRORS
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, text)| *text)
    }
}

/// Serializes an endpoint's JSON body members as one JSON object.
pub(crate) struct JsonBody<'a, E>(pub &'a E);

impl<E: Endpoint> serde::Serialize for JsonBody<'_, E> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        self.0.write_json(&mut map)?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::{is_unreserved, ParamSink};
    use proptest::prelude::*;

    proptest! {
        /// Any text, ASCII-heavy or not, is encoded to the bytes `form_urlencoded` writes.
        #[test]
        fn any_pair_is_encoded_as_form_urlencoded_encodes_it(
            name in "[a-z_]{1,12}",
            value in "([A-Za-z0-9*._~ +&=%/:;,?#-]|[\\PC]){0,64}",
        ) {
            let mut ours = String::from("x=1");
            let mut sink = ParamSink::new(&mut ours);
            sink.put(&name, &value);
            sink.put(&value, &name);
            sink.finish();
            let mut theirs = String::from("x=1");
            let mut reference = form_urlencoded::Serializer::for_suffix(&mut theirs, 3);
            reference.append_pair(&name, &value);
            reference.append_pair(&value, &name);
            reference.finish();
            prop_assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn unreserved_bytes_are_what_form_urlencoded_leaves_alone() {
        for b in 0..=255u8 {
            let alone = form_urlencoded::byte_serialize(&[b])
                .collect::<String>()
                .as_bytes()
                == [b];
            assert_eq!(is_unreserved(&[b]), alone, "byte {b:#04x}");
            // At every position of blocks longer than one vector.
            for len in [15, 16, 17, 40] {
                for at in 0..len {
                    let mut text = vec![b'a'; len];
                    text[at] = b;
                    assert_eq!(
                        is_unreserved(&text),
                        alone,
                        "byte {b:#04x} at {at} of {len}"
                    );
                }
            }
        }
        assert!(is_unreserved(b""));
    }

    #[test]
    fn param_sink_writes_the_bytes_form_urlencoded_writes() {
        let values = [
            "",
            "plain-Token_1.2*",
            "a b",
            "a+b&c=d",
            "~tilde",
            "百度 小程序",
            "https://api.example.com/x?y=1",
            "%41",
            "\u{0}\n\t",
        ];
        for prefix in ["", "http://h/p?"] {
            let mut ours = prefix.to_owned();
            let mut sink = ParamSink::new(&mut ours);
            for (i, v) in values.iter().enumerate() {
                sink.put(if i % 2 == 0 { "name" } else { v }, v);
            }
            sink.finish();
            let mut theirs = prefix.to_owned();
            let start = theirs.len();
            let mut reference = form_urlencoded::Serializer::for_suffix(&mut theirs, start);
            for (i, v) in values.iter().enumerate() {
                reference.append_pair(if i % 2 == 0 { "name" } else { v }, v);
            }
            reference.finish();
            assert_eq!(ours, theirs);
        }
    }
}
