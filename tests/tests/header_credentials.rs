//! Credentials that travel in a request header (`location = "header"`, as Douyin's
//! `access-token`): sent as the header, not in the query or body, marked sensitive so it never
//! shows in `Debug` output, refused with a typed error when it cannot be a header value, and
//! read from the header by the sandbox.

use core_http::{CredentialKind, Endpoint, Error, Location};
use miniapp_tests::{MockServer, Reply};

#[derive(Debug, Default, serde::Deserialize)]
pub struct InfoResponse {
    pub nick_name: Option<String>,
}

/// A read whose token goes in the `access-token` header.
#[derive(kuaishou_api::Endpoint)]
#[endpoint(vendor = kuaishou, name = "Info", method = GET, path = "/api/apps/info",
           response = InfoResponse,
           credential(name = "access-token", kind = authorizer_access_token, location = header))]
struct InfoRequest {
    #[param(query)]
    app_id: String,
}

#[test]
fn the_derive_says_where_the_credential_travels() {
    let c = InfoRequest::CREDENTIALS[0];
    assert_eq!(
        (c.name, c.kind, c.location),
        (
            "access-token",
            CredentialKind::AuthorizerAccessToken,
            Location::Header
        )
    );
}

#[tokio::test]
async fn a_header_credential_is_sent_as_the_header_and_nowhere_else() {
    miniapp_tests::capture_traces();
    let server = MockServer::start(Reply::json(
        r#"{"result":1,"error_msg":"","nick_name":"demo"}"#,
    ))
    .await;
    let app = kuaishou_api::Client::with_base_url(server.base_url(), "ks_component")
        .authorizer("ks.app-token.1");
    let answer = app
        .session()
        .send(&InfoRequest {
            app_id: "ks123".into(),
        })
        .await
        .unwrap();
    assert_eq!(answer.nick_name.as_deref(), Some("demo"));
    let seen = server.only();
    assert_eq!(seen.method, "GET");
    assert_eq!(seen.path, "/api/apps/info");
    assert_eq!(seen.query.as_deref(), Some("app_id=ks123"));
    assert_eq!(
        seen.headers
            .get("access-token")
            .and_then(|v| v.to_str().ok()),
        Some("ks.app-token.1")
    );
    assert!(seen.body.is_empty());
    // Sent as a sensitive header value: in no trace, at any level.
    let logs = miniapp_tests::captured_traces();
    assert!(!logs.is_empty());
    assert!(!logs.contains("ks.app-token.1"), "{logs}");
}

#[tokio::test]
async fn a_token_that_cannot_be_a_header_is_refused_before_sending() {
    let server = MockServer::start(Reply::json(r#"{"result":1}"#)).await;
    let app = kuaishou_api::Client::with_base_url(server.base_url(), "ks_component")
        .authorizer("bad\ntoken-secret");
    let err = app
        .session()
        .send(&InfoRequest {
            app_id: "ks123".into(),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Credentials {
                endpoint: "Info",
                ..
            }
        ),
        "{err:?}"
    );
    // The error never carries the value.
    assert!(!format!("{err} {err:?}").contains("token-secret"));
    assert!(server.take().is_empty(), "nothing was sent");
}
