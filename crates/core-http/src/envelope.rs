//! Each vendor's response envelope, decoded here once for every endpoint.
//!
//! - WeChat: `errcode`/`errmsg` beside the payload members; `errcode` 0 or absent is success.
//! - Baidu: `errno`/`msg`/`data`; `errno` 0 is success and the payload is `data`. The gateway
//!   may answer `error_code`/`error_msg` and OAuth `error`/`error_description` instead.
//! - Kuaishou: `result`/`error_msg` beside the payload members; `result` 1 is success.

use std::borrow::Cow;

use bytes::Bytes;
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
    /// Decode this JSON text as the response type.
    Json(&'a str),
    /// The vendor reported an error.
    Failed(i64, String),
}

fn vendor_error<E: Endpoint>(code: i64, message: String) -> Error {
    Error::Vendor(VendorError {
        vendor: E::VENDOR,
        endpoint: E::NAME,
        code,
        message,
        documented: E::error_text(code),
    })
}

fn decode_error<E: Endpoint>(body: &Bytes, path: String, message: String) -> Error {
    Error::Decode {
        endpoint: E::NAME,
        path,
        message,
        body: body.clone().into(),
    }
}

/// Reads the vendor envelope of `text`; `Err` when it is not one.
fn read_envelope(vendor: Vendor, text: &str) -> Result<Payload<'_>, serde_json::Error> {
    Ok(match vendor {
        Vendor::Wechat => {
            let head: WechatHead<'_> = serde_json::from_str(text)?;
            match head.errcode {
                Some(code) if code != 0 => {
                    Payload::Failed(code, head.errmsg.unwrap_or_default().into_owned())
                }
                _ => Payload::Json(text),
            }
        }
        Vendor::Kuaishou => {
            let head: KuaishouHead<'_> = serde_json::from_str(text)?;
            match head.result {
                Some(1) => Payload::Json(text),
                code => Payload::Failed(
                    code.unwrap_or_default(),
                    head.error_msg
                        .or(head.error_msg_camel)
                        .unwrap_or_default()
                        .into_owned(),
                ),
            }
        }
        Vendor::Baidu => {
            let env: BaiduEnvelope<'_> = serde_json::from_str(text)?;
            if let Some(code) = env.error_code {
                Payload::Failed(code, env.error_msg.unwrap_or_default())
            } else if let Some(error) = env.error {
                // OAuth-style error: no numeric code; keep the text, code 0 never means success
                // here because `errno` is absent.
                let msg = match env.error_description {
                    Some(d) => format!("{error}: {d}"),
                    None => error,
                };
                Payload::Failed(0, msg)
            } else {
                match env.errno {
                    Some(0) => Payload::Json(env.data.map_or("null", RawValue::get)),
                    Some(code) => Payload::Failed(code, env.msg.unwrap_or_default()),
                    None => {
                        return Err(serde::de::Error::custom(
                            "missing `errno` in the Baidu envelope",
                        ))
                    }
                }
            }
        }
    })
}

/// Decodes a JSON answer of endpoint `E`: envelope first, then the payload as `E::Response`.
/// An absent or `null` payload (Baidu `data` on writes) decodes as `E::Response::default()`.
pub fn decode_json<E>(raw: RawResponse) -> Result<E::Response, Error>
where
    E: Endpoint,
    E::Response: DeserializeOwned + Default,
{
    let text = match std::str::from_utf8(&raw.body) {
        Ok(t) => t,
        Err(e) => {
            return Err(status_or(
                raw.status,
                &raw.body,
                decode_error::<E>(&raw.body, ".".into(), e.to_string()),
            ))
        }
    };
    let payload = match read_envelope(E::VENDOR, text) {
        Ok(p) => p,
        Err(e) => {
            let err = decode_error::<E>(&raw.body, ".".into(), e.to_string());
            return Err(status_or(raw.status, &raw.body, err));
        }
    };
    match payload {
        Payload::Failed(code, message) => Err(vendor_error::<E>(code, message)),
        Payload::Json(json) => {
            // The fast path; on failure decode again to name the offending field.
            if let Ok(value) = serde_json::from_str::<Option<E::Response>>(json) {
                return Ok(value.unwrap_or_default());
            }
            let de = &mut serde_json::Deserializer::from_str(json);
            serde_path_to_error::deserialize::<_, Option<E::Response>>(de)
                .map(Option::unwrap_or_default)
                .map_err(|e| {
                    let path = e.path().to_string();
                    decode_error::<E>(&raw.body, path, e.into_inner().to_string())
                })
        }
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
/// response itself, and `{error, error_description}` (or a gateway `error_code`) is the error.
pub fn decode_bare_json<E>(raw: RawResponse) -> Result<E::Response, Error>
where
    E: Endpoint,
    E::Response: DeserializeOwned,
{
    let fail = |e: String| {
        status_or(
            raw.status,
            &raw.body,
            decode_error::<E>(&raw.body, ".".into(), e),
        )
    };
    let head: OAuthError = serde_json::from_slice(&raw.body).map_err(|e| fail(e.to_string()))?;
    if let Some(code) = head.error_code {
        return Err(vendor_error::<E>(code, head.error_msg.unwrap_or_default()));
    }
    if let Some(error) = head.error {
        let msg = match head.error_description {
            Some(d) => format!("{error}: {d}"),
            None => error,
        };
        return Err(vendor_error::<E>(0, msg));
    }
    let de = &mut serde_json::Deserializer::from_slice(&raw.body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        decode_error::<E>(&raw.body, path, e.into_inner().to_string())
    })
}

/// Decodes a binary-or-JSON-error answer: bytes and content type on success, the vendor error
/// when the server answers JSON.
pub fn decode_binary<E: Endpoint>(raw: RawResponse) -> Result<Binary, Error> {
    let content_type = raw.content_type.clone().unwrap_or_default();
    let looks_json = content_type.starts_with("application/json")
        || content_type.starts_with("text/")
        || raw.body.first() == Some(&b'{');
    if !looks_json {
        if !(200..300).contains(&raw.status) {
            return Err(http_error::<E>(raw.status, &raw.body));
        }
        return Ok(Binary {
            content_type,
            bytes: raw.body,
        });
    }
    let text = std::str::from_utf8(&raw.body).unwrap_or("");
    match read_envelope(E::VENDOR, text) {
        Ok(Payload::Failed(code, message)) => Err(vendor_error::<E>(code, message)),
        Ok(Payload::Json(_)) => Err(decode_error::<E>(
            &raw.body,
            ".".into(),
            "expected an image, got a JSON success envelope".into(),
        )),
        Err(e) => Err(status_or(
            raw.status,
            &raw.body,
            decode_error::<E>(&raw.body, ".".into(), e.to_string()),
        )),
    }
    .map_err(|e| match e {
        Error::Decode { .. } if !(200..300).contains(&raw.status) => {
            http_error::<E>(raw.status, &raw.body)
        }
        e => e,
    })
}

fn http_error<E: Endpoint>(status: u16, body: &Bytes) -> Error {
    Error::Http {
        endpoint: E::NAME,
        status,
        body: body.clone().into(),
    }
}

/// A body that is not an envelope: an HTTP error when the status says so, else `otherwise`.
fn status_or(status: u16, body: &Bytes, otherwise: Error) -> Error {
    match otherwise {
        Error::Decode { endpoint, .. } if !(200..300).contains(&status) => Error::Http {
            endpoint,
            status,
            body: body.clone().into(),
        },
        e => e,
    }
}
