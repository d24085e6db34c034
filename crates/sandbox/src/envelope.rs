//! The vendors' JSON response envelopes.

use axum::http::StatusCode;
use miniapp_spec::{Endpoint, ResponseKind, Vendor};
use serde_json::{json, Value};

use crate::tokens::TokenFault;

/// The error envelope of `vendor` with `code` and `message`.
pub(crate) fn error(vendor: Vendor, code: i64, message: &str) -> Value {
    match vendor {
        Vendor::Wechat => json!({ "errcode": code, "errmsg": message }),
        Vendor::Baidu => json!({ "errno": code, "msg": message }),
        Vendor::Kuaishou => json!({ "result": code, "error_msg": message }),
    }
}

/// The answer to a request whose parameters break the spec; `what` says which check failed.
pub(crate) fn invalid_params(vendor: Vendor, what: &str) -> Value {
    match vendor {
        Vendor::Wechat => error(vendor, 40097, &format!("invalid args: {what}")),
        Vendor::Baidu => error(vendor, 40001, &format!("请求参数内容或格式非法: {what}")),
        Vendor::Kuaishou => error(vendor, 0, what),
    }
}

/// The answer to a request that lacks a credential; `what` names it.
pub(crate) fn bad_credential(vendor: Vendor, what: &str) -> Value {
    match vendor {
        Vendor::Wechat => error(vendor, 41001, &format!("access_token missing: {what}")),
        Vendor::Baidu => error(vendor, 110, &format!("access token invalid: {what}")),
        Vendor::Kuaishou => error(vendor, 0, what),
    }
}

/// The Baidu gateway's error shape, also the numeric errors of bare-JSON (OAuth) endpoints.
pub(crate) fn gateway_error(code: i64, message: &str) -> Value {
    json!({ "error_code": code, "error_msg": message })
}

/// The OAuth error shape of bare-JSON endpoints (answered with HTTP 400).
pub(crate) fn oauth_error(error: &str, description: &str) -> Value {
    json!({ "error": error, "error_description": description })
}

/// The vendor error `code` as endpoint `ep` answers it: the gateway shape for bare-JSON
/// endpoints (they have no envelope), the vendor envelope otherwise.
pub(crate) fn endpoint_error(vendor: Vendor, ep: &Endpoint, code: i64, message: &str) -> Value {
    if ep.response == ResponseKind::BareJson {
        gateway_error(code, message)
    } else {
        error(vendor, code, message)
    }
}

/// The vendor's answer to an expired or unknown/revoked access token.
pub(crate) fn token_fault(vendor: Vendor, fault: TokenFault) -> Value {
    match (vendor, fault) {
        (Vendor::Wechat, TokenFault::Expired) => error(vendor, 42001, "access_token expired"),
        (Vendor::Wechat, TokenFault::Invalid) => error(
            vendor,
            40001,
            "invalid credential, access_token is invalid or not latest",
        ),
        (Vendor::Baidu, TokenFault::Expired) => gateway_error(111, "Access token expired"),
        (Vendor::Baidu, TokenFault::Invalid) => {
            gateway_error(110, "Access token invalid or no longer valid")
        }
        (Vendor::Kuaishou, TokenFault::Expired) => error(vendor, 100200108, "access_token expired"),
        (Vendor::Kuaishou, TokenFault::Invalid) => error(vendor, 100200102, "invalid token"),
    }
}

/// The vendor's answer to an unknown, used or foreign refresh token, with its HTTP status.
pub(crate) fn refresh_invalid(vendor: Vendor) -> (StatusCode, Value) {
    match vendor {
        Vendor::Wechat => (
            StatusCode::OK,
            error(vendor, 61023, "refresh_token is invalid"),
        ),
        Vendor::Baidu => (
            StatusCode::BAD_REQUEST,
            oauth_error("invalid_grant", "refresh token invalid or already used"),
        ),
        Vendor::Kuaishou => (
            StatusCode::OK,
            error(vendor, 100200113, "refresh_token expired"),
        ),
    }
}

/// A bare success envelope, for an endpoint without a documented example.
pub(crate) fn success(vendor: Vendor) -> Value {
    match vendor {
        Vendor::Wechat => json!({ "errcode": 0, "errmsg": "ok" }),
        Vendor::Baidu => json!({ "errno": 0, "msg": "success", "data": {} }),
        Vendor::Kuaishou => json!({ "result": 1, "error_msg": "success" }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_use_the_vendor_member_names() {
        assert_eq!(
            invalid_params(Vendor::Wechat, "x"),
            json!({ "errcode": 40097, "errmsg": "invalid args: x" })
        );
        assert_eq!(
            invalid_params(Vendor::Baidu, "x"),
            json!({ "errno": 40001, "msg": "请求参数内容或格式非法: x" })
        );
        assert_eq!(
            error(Vendor::Kuaishou, 403106, "m"),
            json!({ "result": 403106, "error_msg": "m" })
        );
    }
}
