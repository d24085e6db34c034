//! Building the sandbox's answers: example selection, JSON and binary responses.

use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::Response;
use miniapp_spec::{Endpoint, Example, ResponseKind, Vendor};
use serde_json::Value;

use crate::check::{Params, Rejection};
use crate::envelope;

/// A 1×1 transparent PNG, answered for binary (image) endpoints.
pub(crate) const TINY_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0b, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x60, 0x00, 0x02, 0x00,
    0x00, 0x05, 0x00, 0x01, 0xe9, 0xfa, 0xdc, 0xd8, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44,
    0xae, 0x42, 0x60, 0x82,
];

/// An HTTP 200 JSON response.
pub(crate) fn json(value: Value) -> Response {
    json_status(StatusCode::OK, value)
}

/// A JSON response with `status`.
pub(crate) fn json_status(status: StatusCode, value: Value) -> Response {
    bytes(
        status,
        "application/json",
        serde_json::to_vec(&value).expect("JSON value serializes"),
    )
}

fn bytes(status: StatusCode, content_type: &str, body: impl Into<Body>) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .body(body.into())
        .expect("valid response parts")
}

/// The answer to a refused request: the vendor envelope (HTTP 200), or for bare-JSON (OAuth)
/// endpoints a gateway error for credentials and an OAuth `invalid_request` (HTTP 400) for
/// parameters.
pub(crate) fn rejection(vendor: Vendor, ep: &Endpoint, rejection: &Rejection) -> Response {
    if ep.response == ResponseKind::BareJson {
        return match rejection {
            Rejection::Credential(what) => {
                let c = envelope::facts(vendor).missing_credential;
                json(envelope::gateway_error(
                    vendor,
                    c.code,
                    &format!("{}: {what}", c.message),
                ))
            }
            Rejection::Params(what) => json_status(
                StatusCode::BAD_REQUEST,
                envelope::oauth_error(vendor, "invalid_request", what),
            ),
        };
    }
    json(match rejection {
        Rejection::Credential(what) => envelope::bad_credential(vendor, what),
        Rejection::Params(what) => envelope::invalid_params(vendor, what),
    })
}

/// The example that answers a request: the first whose non-empty `when` matches every
/// parameter, else the first with an empty `when`, else the first.
pub(crate) fn select_example<'a>(examples: &'a [Example], params: &Params) -> Option<&'a Example> {
    when_example(examples, params)
        .or_else(|| examples.iter().find(|ex| ex.when.is_empty()))
        .or_else(|| examples.first())
}

/// The first example whose non-empty `when` matches every parameter.
pub(crate) fn when_example<'a>(examples: &'a [Example], params: &Params) -> Option<&'a Example> {
    examples.iter().find(|ex| {
        !ex.when.is_empty()
            && ex
                .when
                .iter()
                .all(|(k, v)| params.get(k).is_some_and(|w| &w.as_text() == v))
    })
}

/// The success answer of an accepted request.
pub(crate) fn success(vendor: Vendor, ep: &Endpoint, params: &Params) -> Response {
    let example = select_example(&ep.examples, params);
    if let Some(content_type) = example.and_then(|ex| ex.content_type.as_deref()) {
        return bytes(StatusCode::OK, content_type, TINY_PNG);
    }
    if ep.response == ResponseKind::BinaryOrJsonError {
        return bytes(StatusCode::OK, "image/png", TINY_PNG);
    }
    json(example_json(vendor, example))
}

/// The JSON answer of an accepted request: the selected example, else a bare success.
pub(crate) fn example_json(vendor: Vendor, example: Option<&Example>) -> Value {
    example
        .and_then(|ex| ex.response.as_deref())
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .unwrap_or_else(|| envelope::success(vendor))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::check::Wire;

    fn example(when: &[(&str, &str)], response: &str) -> Example {
        Example {
            description: String::new(),
            when: when
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            request: None,
            response: Some(response.into()),
            content_type: None,
        }
    }

    #[test]
    fn example_selection_prefers_matching_when_then_empty_when_then_first() {
        let examples = [
            example(&[("action", "get")], "get"),
            example(&[], "plain"),
            example(&[("action", "set")], "set"),
        ];
        let params = |a: &str| Params::from([("action".to_string(), Wire::Text(a.into()))]);
        let pick = |p: &Params| {
            select_example(&examples, p)
                .unwrap()
                .response
                .clone()
                .unwrap()
        };
        assert_eq!(pick(&params("set")), "set");
        assert_eq!(pick(&params("get")), "get");
        assert_eq!(pick(&params("add")), "plain");
        assert_eq!(
            select_example(&examples[2..], &params("add"))
                .unwrap()
                .response
                .as_deref(),
            Some("set")
        );
        assert!(select_example(&[], &params("add")).is_none());
    }

    #[test]
    fn tiny_png_is_framed_like_a_png() {
        assert!(TINY_PNG.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(TINY_PNG.ends_with(b"IEND\xae\x42\x60\x82"));
    }
}
