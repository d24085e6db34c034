//! Each vendor's response envelope, decoded here once for every endpoint, by the member names
//! of its `vendor.toml` ([`crate::vendor::VendorFacts::envelope`]).
//!
//! The HTTP status comes first: a non-2xx answer is never a success. It is the vendor's error
//! when the body is the vendor's error envelope, and [`Error::Http`] otherwise.
//!
//! - WeChat: `errcode`/`errmsg` beside the payload members; `errcode` 0 or absent is success.
//! - Baidu: `errno`/`msg`/`data`; `errno` 0 is success and the payload is `data`. The gateway
//!   may answer `error_code`/`error_msg` and OAuth `error`/`error_description` instead.
//! - Kuaishou: `result`/`error_msg` beside the payload members; `result` 1 is success.

use std::borrow::Cow;

use serde::de::{DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::vendor::{EnvelopeFacts, EnvelopeShape};
use crate::{Binary, Endpoint, Error, RawResponse, Vendor, VendorError};

/// The status members of an answer, read by the vendor's member names
/// ([`EnvelopeFacts`]); everything else is skipped unparsed.
#[derive(Default)]
struct Head<'a> {
    code: Option<i64>,
    // Borrowed: a successful answer's "ok" costs no allocation.
    message: Option<Cow<'a, str>>,
    /// Which of the message spellings `message` is (lower is preferred).
    message_rank: usize,
    data: Option<&'a RawValue>,
    gateway_code: Option<i64>,
    gateway_message: Option<Cow<'a, str>>,
    oauth_error: Option<Cow<'a, str>>,
    oauth_description: Option<Cow<'a, str>>,
}

/// Text borrowed from the input when it has no escapes.
struct Text;

impl<'de> DeserializeSeed<'de> for Text {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Text {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
}

/// `null` or text.
struct OptionalText;

impl<'de> DeserializeSeed<'de> for OptionalText {
    type Value = Option<Cow<'de, str>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for OptionalText {
    type Value = Option<Cow<'de, str>>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string or null")
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        Text.deserialize(d).map(Some)
    }
}

/// Reads a [`Head`] with one vendor's member names.
struct HeadSeed(&'static EnvelopeFacts);

impl<'de> DeserializeSeed<'de> for HeadSeed {
    type Value = Head<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for HeadSeed {
    type Value = Head<'de>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let e = self.0;
        let mut head = Head::default();
        let mut seen_code = false;
        while let Some(key) = map.next_key_seed(Text)? {
            let key = key.as_ref();
            if key == e.code {
                // Two status members are not an envelope (which one would count?).
                if std::mem::replace(&mut seen_code, true) {
                    return Err(serde::de::Error::duplicate_field(e.code));
                }
                head.code = map.next_value()?;
            } else if let Some(rank) = e.messages.iter().position(|m| *m == key) {
                let message = map.next_value_seed(OptionalText)?;
                if message.is_some() && (head.message.is_none() || rank < head.message_rank) {
                    (head.message, head.message_rank) = (message, rank);
                }
            } else if !e.data.is_empty() && key == e.data {
                head.data = map.next_value()?;
            } else if e.gateway.is_some_and(|(code, _)| code == key) {
                head.gateway_code = map.next_value()?;
            } else if e.gateway.is_some_and(|(_, message)| message == key) {
                head.gateway_message = map.next_value_seed(OptionalText)?;
            } else if e.oauth.is_some_and(|(error, _)| error == key) {
                head.oauth_error = map.next_value_seed(OptionalText)?;
            } else if e.oauth.is_some_and(|(_, description)| description == key) {
                head.oauth_description = map.next_value_seed(OptionalText)?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(head)
    }
}

impl<'a> Head<'a> {
    /// The head of `text` (a whole JSON object, nothing after it).
    fn read(envelope: &'static EnvelopeFacts, text: &'a str) -> Result<Head<'a>, String> {
        let mut de = serde_json::Deserializer::from_str(text);
        let head = HeadSeed(envelope)
            .deserialize(&mut de)
            .map_err(|e| e.to_string())?;
        de.end().map_err(|e| e.to_string())?;
        Ok(head)
    }

    /// The gateway's or OAuth's error, which come before the envelope's status.
    fn foreign_error(&mut self) -> Option<Payload<'a>> {
        if let Some(code) = self.gateway_code {
            let message = self.gateway_message.take().unwrap_or_default();
            return Some(Payload::Failed(code, message.into_owned()));
        }
        let error = self.oauth_error.take().filter(|e| is_oauth_code(e))?;
        let description = self.oauth_description.take().map(Cow::into_owned);
        // OAuth-style error: no numeric code (0), the text kept.
        Some(Payload::Failed(
            0,
            oauth_message(error.into_owned(), description),
        ))
    }
}

/// The outcome of reading an envelope: the payload JSON to decode, or the vendor's error.
enum Payload<'a> {
    /// Decode this JSON text as the response type (`None`: the envelope has no payload).
    Json(Option<&'a str>),
    /// The vendor reported an error.
    Failed(i64, String),
}

fn vendor_error<E: Endpoint>(raw: &RawResponse, code: i64, message: String) -> Error {
    Error::Vendor(VendorError {
        vendor: E::VENDOR,
        endpoint: E::NAME,
        status: raw.status,
        code,
        request_id: request_id(&E::VENDOR.facts().envelope, raw, &message),
        message,
        documented: E::error_text(code),
    })
}

/// The vendor's id of a failed request, where its `vendor.toml` says it travels: a member of
/// the envelope (`request_id`), or the message after a marker (`request_id_in_message`,
/// WeChat's `rid: `). Read only on the error path, so a second look at the body costs nothing
/// on success.
fn request_id(e: &EnvelopeFacts, raw: &RawResponse, message: &str) -> Option<Box<str>> {
    if let Some(member) = e.request_id {
        let body: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&raw.body).ok()?;
        return match body.get(member)? {
            serde_json::Value::String(id) if !id.is_empty() => Some(id.as_str().into()),
            serde_json::Value::Number(id) => Some(id.to_string().into()),
            _ => None,
        };
    }
    let marker = e.request_id_in_message?;
    let (_, after) = message.rsplit_once(marker)?;
    let id: String = after
        .trim_start()
        .chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, ',' | ';' | ']' | ')' | '"'))
        .collect();
    (!id.is_empty()).then(|| id.into())
}

fn decode_error<E: Endpoint>(raw: &RawResponse, path: String, message: String) -> Error {
    Error::Decode {
        endpoint: E::NAME,
        path,
        message,
        body: raw.body.clone().into(),
    }
}

fn http_error<E: Endpoint>(raw: &RawResponse) -> Error {
    Error::Http {
        endpoint: E::NAME,
        status: raw.status,
        retry_after: raw.retry_after,
        body: raw.body.clone().into(),
    }
}

/// A body that is not the vendor's envelope: an HTTP error when the status is not 2xx, an
/// undecodable answer when it is.
fn not_envelope<E: Endpoint>(raw: &RawResponse, message: String) -> Error {
    if raw.is_success() {
        decode_error::<E>(raw, ".".into(), message)
    } else {
        http_error::<E>(raw)
    }
}

/// An OAuth-style `error` member is the vendor's only when it is a code such as
/// `invalid_grant` (RFC 6749's error codes are all of this shape); `{"error":"not found"}`
/// from a proxy is not.
fn is_oauth_code(error: &str) -> bool {
    !error.is_empty()
        && error
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn oauth_message(error: String, description: Option<String>) -> String {
    match description {
        Some(d) => format!("{error}: {d}"),
        None => error,
    }
}

/// The integer value of `key` when it is the first member of the JSON object `text`, read
/// without parsing the rest; `None` when the text does not start that way. WeChat and
/// Kuaishou put their status member first, so a success is recognised without parsing the
/// body twice (the payload decode then checks the whole text).
fn leading_status(text: &str, key: &str) -> Option<i64> {
    let rest = text.trim_start().strip_prefix('{')?.trim_start();
    let rest = rest
        .strip_prefix('"')?
        .strip_prefix(key)?
        .strip_prefix('"')?
        .trim_start()
        .strip_prefix(':')?
        .trim_start();
    let end = rest
        .bytes()
        .position(|b| !(b.is_ascii_digit() || b == b'-'))
        .unwrap_or(rest.len());
    let after = rest[end..].trim_start();
    if !(after.starts_with(',') || after.starts_with('}')) {
        return None;
    }
    rest[..end].parse().ok()
}

/// Reads the vendor envelope of `text`; `Err` when it is not one (its status member absent).
fn read_envelope(vendor: Vendor, text: &str) -> Result<Payload<'_>, String> {
    let facts = vendor.facts();
    let e = &facts.envelope;
    if e.shape == EnvelopeShape::Flat && leading_status(text, e.code) == Some(e.success) {
        return Ok(Payload::Json(Some(text)));
    }
    let mut head = Head::read(e, text)?;
    if let Some(failed) = head.foreign_error() {
        return Ok(failed);
    }
    Ok(match head.code {
        Some(code) if code == e.success => Payload::Json(match e.shape {
            EnvelopeShape::Flat => Some(text),
            EnvelopeShape::Wrapped => head.data.map(RawValue::get),
        }),
        Some(code) => Payload::Failed(code, head.message.unwrap_or_default().into_owned()),
        // WeChat's token endpoints answer success without `errcode`.
        None if e.absent_is_success => Payload::Json(Some(text)),
        None => {
            return Err(format!(
                "missing `{}` in the {} envelope",
                e.code, facts.title
            ))
        }
    })
}

/// Decodes a success payload as `T`. An absent or `null` payload (Baidu `data` on writes)
/// decodes as `{}`: fine for a response whose fields are all optional, an error naming the
/// field for one whose document guarantees a field.
fn decode_payload<E, T>(raw: &RawResponse, json: Option<&str>) -> Result<T, Error>
where
    E: Endpoint,
    T: DeserializeOwned,
{
    let json = match json {
        Some(json) if json.trim() != "null" => json,
        // No payload: an object response decodes from `{}` (the common case, tried first: a
        // failed attempt costs an error value), a transparent one from `null`.
        _ => {
            let as_object = match serde_json::from_str::<T>("{}") {
                Ok(value) => return Ok(value),
                Err(e) => e,
            };
            let as_null = match serde_json::from_str::<T>("null") {
                Ok(value) => return Ok(value),
                Err(e) => e,
            };
            let e = if as_object.to_string().contains("missing field") {
                as_object
            } else {
                as_null
            };
            return Err(decode_error::<E>(
                raw,
                ".".into(),
                format!("the answer has no payload: {e}"),
            ));
        }
    };
    // The fast path; on failure decode again to name the offending field.
    if let Ok(value) = serde_json::from_str::<T>(json) {
        return Ok(value);
    }
    let de = &mut serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize::<_, T>(de).map_err(|e| {
        let path = e.path().to_string();
        decode_error::<E>(raw, path, e.into_inner().to_string())
    })
}

/// Decodes a JSON answer of endpoint `E`: the status and the envelope first, then the payload
/// as `E::Response`.
///
/// - The vendor's envelope with an error code: [`Error::Vendor`], whatever the status (the
///   status is kept in [`VendorError::status`]).
/// - Any other non-2xx answer: [`Error::Http`], whatever the body.
/// - A 2xx answer that is not the envelope, or whose payload lacks a field the document
///   guarantees: [`Error::Decode`] naming the field.
pub fn decode_json<E>(raw: RawResponse) -> Result<E::Response, Error>
where
    E: Endpoint,
    E::Response: DeserializeOwned,
{
    let text =
        std::str::from_utf8(&raw.body).map_err(|e| not_envelope::<E>(&raw, e.to_string()))?;
    match read_envelope(E::VENDOR, text) {
        Err(message) => Err(not_envelope::<E>(&raw, message)),
        Ok(Payload::Failed(code, message)) => Err(vendor_error::<E>(&raw, code, message)),
        Ok(Payload::Json(_)) if !raw.is_success() => Err(http_error::<E>(&raw)),
        Ok(Payload::Json(json)) => decode_payload::<E, E::Response>(&raw, json),
    }
}

/// Decodes a JSON answer without the vendor envelope (Baidu `oauth/token`): the body is the
/// response itself, and `{error, error_description}` (or a gateway `error_code`) is the
/// error. The status rules of [`decode_json`] apply.
pub fn decode_bare_json<E>(raw: RawResponse) -> Result<E::Response, Error>
where
    E: Endpoint,
    E::Response: DeserializeOwned,
{
    let text =
        std::str::from_utf8(&raw.body).map_err(|e| not_envelope::<E>(&raw, e.to_string()))?;
    let mut head = Head::read(&E::VENDOR.facts().envelope, text)
        .map_err(|message| not_envelope::<E>(&raw, message))?;
    if let Some(Payload::Failed(code, message)) = head.foreign_error() {
        return Err(vendor_error::<E>(&raw, code, message));
    }
    if !raw.is_success() {
        return Err(http_error::<E>(&raw));
    }
    decode_payload::<E, E::Response>(&raw, Some(text))
}

/// Decodes a binary-or-JSON-error answer: bytes and content type on a 2xx answer that is not
/// JSON, the vendor error when the server answers its JSON envelope. An empty 2xx body is
/// [`Error::Decode`] (the document promises an image); other non-2xx answers are
/// [`Error::Http`].
pub fn decode_binary<E: Endpoint>(raw: RawResponse) -> Result<Binary, Error> {
    let content_type = raw.content_type.as_deref().unwrap_or_default();
    let looks_json = content_type.starts_with("application/json")
        || content_type.starts_with("text/")
        || raw.body.first() == Some(&b'{');
    if looks_json {
        let text = std::str::from_utf8(&raw.body).unwrap_or("");
        return Err(match read_envelope(E::VENDOR, text) {
            Ok(Payload::Failed(code, message)) => vendor_error::<E>(&raw, code, message),
            _ if !raw.is_success() => http_error::<E>(&raw),
            Ok(Payload::Json(_)) => decode_error::<E>(
                &raw,
                ".".into(),
                "expected an image, got a JSON success envelope".into(),
            ),
            Err(message) => decode_error::<E>(&raw, ".".into(), message),
        });
    }
    if !raw.is_success() {
        return Err(http_error::<E>(&raw));
    }
    if raw.body.is_empty() {
        return Err(decode_error::<E>(
            &raw,
            ".".into(),
            "expected an image, got an empty body".into(),
        ));
    }
    Ok(Binary {
        content_type: content_type.to_owned(),
        bytes: raw.body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(vendor: Vendor, text: &str) -> (i64, String) {
        match read_envelope(vendor, text) {
            Ok(Payload::Failed(code, message)) => (code, message),
            Ok(Payload::Json(json)) => panic!("{text}: a success with {json:?}"),
            Err(e) => panic!("{text}: not an envelope: {e}"),
        }
    }

    fn payload(vendor: Vendor, text: &str) -> Option<&str> {
        match read_envelope(vendor, text) {
            Ok(Payload::Json(json)) => json,
            Ok(Payload::Failed(code, m)) => panic!("{text}: failed {code} {m}"),
            Err(e) => panic!("{text}: not an envelope: {e}"),
        }
    }

    fn raw(body: &str) -> RawResponse {
        RawResponse {
            status: 200,
            content_type: Some("application/json".into()),
            retry_after: None,
            body: bytes::Bytes::copy_from_slice(body.as_bytes()),
        }
    }

    /// WeChat's `rid` at the end of its message, by `vendor.toml`'s marker; a vendor whose
    /// envelope has a request-id member, by that member (a string or a number).
    #[test]
    fn the_request_id_is_found_where_the_vendor_file_says() {
        let wechat = &Vendor::Wechat.facts().envelope;
        let message = "invalid credential, access_token is invalid or not latest, could get access_token by getStableAccessToken, more details at https://mmbizurl.cn/s/JtxxFh33r rid: 6899a148-5929c88a-767d57ca";
        assert_eq!(
            request_id(wechat, &raw("{}"), message).as_deref(),
            Some("6899a148-5929c88a-767d57ca")
        );
        assert_eq!(request_id(wechat, &raw("{}"), "system error"), None);
        assert_eq!(request_id(wechat, &raw("{}"), "system error rid: "), None);

        let douyin = EnvelopeFacts {
            request_id: Some("log_id"),
            request_id_in_message: None,
            ..*wechat
        };
        let body = r#"{"err_no":28001003,"err_msg":"access token invalid","log_id":"2022092115392201020812109511046"}"#;
        assert_eq!(
            request_id(&douyin, &raw(body), "access token invalid").as_deref(),
            Some("2022092115392201020812109511046")
        );
        assert_eq!(
            request_id(&douyin, &raw(r#"{"log_id":123}"#), "x").as_deref(),
            Some("123")
        );
        assert_eq!(request_id(&douyin, &raw(r#"{"err_no":1}"#), "x"), None);
        assert_eq!(request_id(&douyin, &raw("not json"), "x"), None);
    }

    /// The member names come from each vendor's `vendor.toml`: what the sandbox writes is what
    /// the client reads.
    #[test]
    fn envelopes_are_read_by_the_vendor_files_member_names() {
        // WeChat: flat, absent errcode is success (token endpoints), status anywhere.
        let token = r#"{"component_access_token":"x","expires_in":7200}"#;
        assert_eq!(payload(Vendor::Wechat, token), Some(token));
        let late = r#"{"domain":[],"errcode":0,"errmsg":"ok"}"#;
        assert_eq!(payload(Vendor::Wechat, late), Some(late));
        assert_eq!(
            failed(Vendor::Wechat, r#"{"errmsg":"system error","errcode":-1}"#),
            (-1, "system error".into())
        );
        // Escaped member names and messages decode like plain ones.
        assert_eq!(
            failed(Vendor::Wechat, r#"{"err\u0063ode":40001,"errmsg":"a\"b"}"#),
            (40001, "a\"b".into())
        );
        // Kuaishou: `error_msg` is preferred to `errorMsg`, wherever each is.
        assert_eq!(
            failed(
                Vendor::Kuaishou,
                r#"{"errorMsg":"camel","result":2,"error_msg":"snake"}"#
            ),
            (2, "snake".into())
        );
        assert_eq!(
            failed(Vendor::Kuaishou, r#"{"result":2,"errorMsg":"camel"}"#),
            (2, "camel".into())
        );
        assert!(read_envelope(Vendor::Kuaishou, r#"{"error_msg":"x"}"#)
            .err()
            .unwrap()
            .contains("missing `result` in the Kuaishou envelope"));
        // Baidu: wrapped; gateway and OAuth errors first.
        assert_eq!(
            payload(
                Vendor::Baidu,
                r#"{"errno":0,"msg":"success","data":{"a":1}}"#
            ),
            Some(r#"{"a":1}"#)
        );
        assert_eq!(
            payload(Vendor::Baidu, r#"{"errno":0,"msg":"success"}"#),
            None
        );
        assert_eq!(
            failed(
                Vendor::Baidu,
                r#"{"error_code":111,"error_msg":"Access token expired"}"#
            ),
            (111, "Access token expired".into())
        );
        assert_eq!(
            failed(
                Vendor::Baidu,
                r#"{"error":"invalid_grant","error_description":"used"}"#
            ),
            (0, "invalid_grant: used".into())
        );
        // Not the envelope: trailing text, a string status, not an object, two statuses.
        assert!(read_envelope(Vendor::Wechat, r#"{"errcode":40001,"errcode":0}"#).is_err());
        for text in [
            r#"{"errno":0,"msg":"success","errno":1}"#,
            r#"{"errno":0} x"#,
            r#"{"errno":"0"}"#,
            "[]",
            r#"{"error":"not found"}"#,
        ] {
            assert!(read_envelope(Vendor::Baidu, text).is_err(), "{text}");
        }
    }

    #[test]
    fn leading_status_reads_only_a_first_integer_member() {
        assert_eq!(
            leading_status(r#"{"errcode":0,"errmsg":"ok"}"#, "errcode"),
            Some(0)
        );
        assert_eq!(
            leading_status("{\n  \"errcode\" : -1 }", "errcode"),
            Some(-1)
        );
        assert_eq!(leading_status(r#"{"result":1}"#, "result"), Some(1));
        for not_first in [
            r#"{"errmsg":"ok","errcode":0}"#,
            r#"{"errcode":"0"}"#,
            r#"{"errcode":0.5}"#,
            r#"{"errcode":0"#,
            r#"{"errcodes":0}"#,
            r#"{"errcode":}"#,
            r#"[{"errcode":0}]"#,
            "",
        ] {
            assert_eq!(leading_status(not_first, "errcode"), None, "{not_first}");
        }
    }
}
