//! The vendors' JSON response envelopes.

use miniapp_spec::Vendor;
use serde_json::{json, Value};

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
