//! The vendors' JSON response envelopes.

use axum::http::StatusCode;
use core_http::vendor::{EnvelopeShape, RefreshRefused, VendorFacts};
use miniapp_spec::{Endpoint, ResponseKind, Vendor};
use serde_json::{json, Map, Value};

use crate::tokens::TokenFault;

/// The runtime's vendor of a spec's: the sandbox serves only vendors whose `vendor.toml` the
/// generator wrote into `core_http::Vendor`. Where the sandbox acts as one vendor and no
/// other (its push crypto, its token shapes), it matches on this, so a new vendor is a compile
/// error at each place that needs its protocol.
pub(crate) fn runtime(vendor: Vendor) -> core_http::Vendor {
    core_http::Vendor::from_name(vendor.as_str()).unwrap_or_else(|| {
        panic!(
            "the sandbox serves a spec of `{vendor}`, which has no specs/{vendor}/vendor.toml \
             in core_http::Vendor: run `cargo xtask codegen`"
        )
    })
}

/// The vendor's facts (envelope member names and codes), the table the client decodes with.
pub(crate) fn facts(vendor: Vendor) -> &'static VendorFacts {
    runtime(vendor).facts()
}

/// The error envelope of `vendor` with `code` and `message`, and a request id where the
/// vendor's `vendor.toml` says one travels (a member, or the end of the message: WeChat's
/// `… rid: 6899a148-5929c88a-767d57ca`), as the vendor sends it.
pub(crate) fn error(vendor: Vendor, code: i64, message: &str) -> Value {
    let e = &facts(vendor).envelope;
    let mut body = Map::new();
    body.insert(e.code.into(), code.into());
    let id = request_id();
    match e.request_id_in_message {
        Some(marker) => body.insert(
            e.messages[0].into(),
            format!("{message} {marker}{id}").into(),
        ),
        None => body.insert(e.messages[0].into(), message.into()),
    };
    if let Some(member) = e.request_id {
        body.insert(member.into(), id.into());
    }
    Value::Object(body)
}

/// Takes the request id out of an error answer of `vendor` (the suffix of its message, or its
/// member, where `vendor.toml` puts it) and returns it, so that the rest of the answer can be
/// compared with what a test expects.
pub fn take_request_id(vendor: core_http::Vendor, answer: &mut Value) -> Option<String> {
    let e = &vendor.facts().envelope;
    let body = answer.as_object_mut()?;
    if let Some(member) = e.request_id {
        return match body.remove(member)? {
            Value::String(id) => Some(id),
            other => Some(other.to_string()),
        };
    }
    let marker = e.request_id_in_message?;
    let message = body.get_mut(e.messages[0])?;
    let text = message.as_str()?;
    let at = text.rfind(&format!(" {marker}"))?;
    let id = text[at + 1 + marker.len()..].to_owned();
    *message = Value::String(text[..at].to_owned());
    Some(id)
}

/// A fresh request id in WeChat's shape: three groups of 8 hex digits.
fn request_id() -> String {
    format!(
        "{:08x}-{:08x}-{:08x}",
        fastrand::u32(..),
        fastrand::u32(..),
        fastrand::u32(..)
    )
}

/// The answer to a request whose parameters break the spec; `what` says which check failed.
pub(crate) fn invalid_params(vendor: Vendor, what: &str) -> Value {
    let c = facts(vendor).invalid_request;
    error(vendor, c.code, &format!("{}: {what}", c.message))
}

/// The answer to a request that lacks a credential; `what` names it.
pub(crate) fn bad_credential(vendor: Vendor, what: &str) -> Value {
    let c = facts(vendor).missing_credential;
    error(vendor, c.code, &format!("{}: {what}", c.message))
}

/// The gateway's error shape (Baidu), also the numeric errors of bare-JSON (OAuth) endpoints.
pub(crate) fn gateway_error(vendor: Vendor, code: i64, message: &str) -> Value {
    let (c, m) = facts(vendor)
        .envelope
        .gateway
        .unwrap_or(("error_code", "error_msg"));
    json!({ c: code, m: message })
}

/// The OAuth error shape of bare-JSON endpoints (answered with HTTP 400).
pub(crate) fn oauth_error(vendor: Vendor, error: &str, description: &str) -> Value {
    let (e, d) = facts(vendor)
        .envelope
        .oauth
        .unwrap_or(("error", "error_description"));
    json!({ e: error, d: description })
}

/// The vendor error `code` as endpoint `ep` answers it: the gateway shape for bare-JSON
/// endpoints (they have no envelope), the vendor envelope otherwise.
pub(crate) fn endpoint_error(vendor: Vendor, ep: &Endpoint, code: i64, message: &str) -> Value {
    if ep.response == ResponseKind::BareJson {
        gateway_error(vendor, code, message)
    } else {
        error(vendor, code, message)
    }
}

/// The vendor's answer to an expired or unknown/revoked access token.
pub(crate) fn token_fault(vendor: Vendor, fault: TokenFault) -> Value {
    let f = facts(vendor);
    let code = match fault {
        TokenFault::Expired => f.token_expired,
        TokenFault::Invalid => f.token_invalid,
    };
    let message = f
        .token_invalid_codes
        .iter()
        .find(|c| c.code == code)
        .map_or("access token invalid", |c| c.message);
    if f.token_errors_from_gateway {
        gateway_error(vendor, code, message)
    } else {
        error(vendor, code, message)
    }
}

/// The vendor's answer to an unknown, used or foreign refresh token, with its HTTP status.
pub(crate) fn refresh_invalid(vendor: Vendor) -> (StatusCode, Value) {
    match facts(vendor).refresh_refused {
        RefreshRefused::Code(c) => (StatusCode::OK, error(vendor, c.code, c.message)),
        RefreshRefused::OAuthError { error, message } => {
            (StatusCode::BAD_REQUEST, oauth_error(vendor, error, message))
        }
    }
}

/// A bare success envelope, for an endpoint without a documented example.
pub(crate) fn success(vendor: Vendor) -> Value {
    let e = &facts(vendor).envelope;
    let mut body = Map::new();
    body.insert(e.code.into(), e.success.into());
    body.insert(e.messages[0].into(), e.success_message.into());
    if e.shape == EnvelopeShape::Wrapped {
        body.insert(e.data.into(), json!({}));
    }
    Value::Object(body)
}

/// The vendor's first rate-limit answer (in the gateway's shape where the vendor sends it so),
/// or `None` for a vendor that documents none (HTTP 429 is then the only sign).
pub(crate) fn rate_limited(vendor: Vendor) -> Option<Value> {
    let f = facts(vendor);
    let c = f.rate_limit_codes.first()?;
    let message = format!("{} (sandbox rate limit)", c.message);
    Some(if f.rate_limit_from_gateway {
        gateway_error(vendor, c.code, &message)
    } else {
        error(vendor, c.code, &message)
    })
}

/// The vendor's "system busy" answer: its documented busy code, or, for a vendor that
/// documents none, the envelope with `-1` (which only the HTTP status the fault adds makes
/// transient).
pub(crate) fn busy(vendor: Vendor) -> Value {
    match facts(vendor).busy_codes.first() {
        Some(c) => error(vendor, c.code, c.message),
        None => error(vendor, -1, "system busy"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_use_the_vendor_member_names() {
        let mut answer = invalid_params(Vendor::new("wechat").unwrap(), "x");
        let id = take_request_id(core_http::Vendor::Wechat, &mut answer).expect("a rid");
        assert_eq!(id.len(), 26, "{id}");
        assert_eq!(
            answer,
            json!({ "errcode": 40097, "errmsg": "invalid args: x" })
        );
        assert_eq!(
            invalid_params(Vendor::new("baidu").unwrap(), "x"),
            json!({ "errno": 40001, "msg": "请求参数内容或格式非法: x" })
        );
        assert_eq!(
            error(Vendor::new("kuaishou").unwrap(), 403106, "m"),
            json!({ "result": 403106, "error_msg": "m" })
        );
    }
}
