//! Each vendor's response envelope, decoded here once for every endpoint.
//!
//! The HTTP status comes first: a non-2xx answer is never a success. It is the vendor's error
//! when the body is the vendor's error envelope, and [`Error::Http`] otherwise.
//!
//! - WeChat: `errcode`/`errmsg` beside the payload members; `errcode` 0 or absent is success.
//! - Baidu: `errno`/`msg`/`data`; `errno` 0 is success and the payload is `data`. The gateway
//!   may answer `error_code`/`error_msg` and OAuth `error`/`error_description` instead.
//! - Kuaishou: `result`/`error_msg` beside the payload members; `result` 1 is success.

use std::borrow::Cow;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::{Binary, Endpoint, Error, RawResponse, Vendor, VendorError};

#[derive(Deserialize)]
struct WechatHead<'a> {
    errcode: Option<i64>,
    // Borrowed: a successful answer's "ok" costs no allocation.
    #[serde(borrow)]
    errmsg: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct KuaishouHead<'a> {
    result: Option<i64>,
    #[serde(borrow)]
    error_msg: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "errorMsg")]
    error_msg_camel: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct BaiduEnvelope<'a> {
    errno: Option<i64>,
    msg: Option<String>,
    #[serde(borrow)]
    data: Option<&'a RawValue>,
    error_code: Option<i64>,
    error_msg: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
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
        message,
        documented: E::error_text(code),
    })
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
    let not_json = |e: serde_json::Error| e.to_string();
    match vendor {
        Vendor::Wechat if leading_status(text, "errcode") == Some(0) => {
            return Ok(Payload::Json(Some(text)))
        }
        Vendor::Kuaishou if leading_status(text, "result") == Some(1) => {
            return Ok(Payload::Json(Some(text)))
        }
        _ => {}
    }
    Ok(match vendor {
        Vendor::Wechat => {
            let head: WechatHead<'_> = serde_json::from_str(text).map_err(not_json)?;
            match head.errcode {
                Some(code) if code != 0 => {
                    Payload::Failed(code, head.errmsg.unwrap_or_default().into_owned())
                }
                // WeChat's token endpoints answer success without `errcode`.
                _ => Payload::Json(Some(text)),
            }
        }
        Vendor::Kuaishou => {
            let head: KuaishouHead<'_> = serde_json::from_str(text).map_err(not_json)?;
            match head.result {
                Some(1) => Payload::Json(Some(text)),
                Some(code) => Payload::Failed(
                    code,
                    head.error_msg
                        .or(head.error_msg_camel)
                        .unwrap_or_default()
                        .into_owned(),
                ),
                None => return Err("missing `result` in the Kuaishou envelope".into()),
            }
        }
        Vendor::Baidu => {
            let env: BaiduEnvelope<'_> = serde_json::from_str(text).map_err(not_json)?;
            if let Some(code) = env.error_code {
                Payload::Failed(code, env.error_msg.unwrap_or_default())
            } else if let Some(error) = env.error.filter(|e| is_oauth_code(e)) {
                // OAuth-style error: no numeric code (0), the text kept.
                Payload::Failed(0, oauth_message(error, env.error_description))
            } else {
                match env.errno {
                    Some(0) => Payload::Json(env.data.map(RawValue::get)),
                    Some(code) => Payload::Failed(code, env.msg.unwrap_or_default()),
                    None => return Err("missing `errno` in the Baidu envelope".into()),
                }
            }
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

#[derive(Deserialize)]
struct OAuthError {
    error: Option<String>,
    error_description: Option<String>,
    error_code: Option<i64>,
    error_msg: Option<String>,
}

/// Decodes a JSON answer without the vendor envelope (Baidu `oauth/token`): the body is the
/// response itself, and `{error, error_description}` (or a gateway `error_code`) is the
/// error. The status rules of [`decode_json`] apply.
pub fn decode_bare_json<E>(raw: RawResponse) -> Result<E::Response, Error>
where
    E: Endpoint,
    E::Response: DeserializeOwned,
{
    let head: OAuthError =
        serde_json::from_slice(&raw.body).map_err(|e| not_envelope::<E>(&raw, e.to_string()))?;
    if let Some(code) = head.error_code {
        return Err(vendor_error::<E>(
            &raw,
            code,
            head.error_msg.unwrap_or_default(),
        ));
    }
    if let Some(error) = head.error.filter(|e| is_oauth_code(e)) {
        let message = oauth_message(error, head.error_description);
        return Err(vendor_error::<E>(&raw, 0, message));
    }
    if !raw.is_success() {
        return Err(http_error::<E>(&raw));
    }
    let text =
        std::str::from_utf8(&raw.body).map_err(|e| not_envelope::<E>(&raw, e.to_string()))?;
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
    use super::leading_status;

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
