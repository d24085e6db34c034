//! Honest answers, through the public clients: a non-2xx status is never `Ok`, a success
//! carries what the document guarantees, and the server sees only the repeats the classifier
//! allows (never one of a quota-limited write).
//!
//! One endpoint of each decoder kind and each vendor answers every error status with the
//! vendor's error envelope, a foreign JSON object, an HTML page and an empty body, and 200
//! with `{}`, `null`, an empty body and truncated JSON.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use core_http::{Error, RetryPolicy};
use miniapp_tests::{MockServer, Reply};

type Call = fn(String, RetryPolicy) -> Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>;

/// One endpoint under test.
struct Case {
    name: &'static str,
    call: Call,
    /// The vendor's error envelope for this endpoint.
    envelope: &'static str,
    /// Its code, and a piece of the document's text for it (`None`: not documented).
    code: i64,
    documented: Option<&'static str>,
    /// Whether a repeat is harmless (spec `idempotency`).
    idempotent: bool,
    /// Whether 200 `{}` is a success (WeChat's envelope has no required status member, and
    /// this endpoint guarantees no field).
    empty_object_ok: bool,
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(2),
        jitter: false,
        ..Default::default()
    }
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "wechat GetComponentAccessToken (envelope, token answer)",
            call: |base, p| {
                Box::pin(async move {
                    let req =
                        wechat_component_api::component_auth::GetComponentAccessTokenRequest::new(
                            "wx_component",
                            "SECRET",
                            "TICKET",
                        );
                    wechat_component_api::Client::with_base_url(base)
                        .with_retry_policy(p)
                        .get_component_access_token(&req)
                        .await
                        .map(drop)
                })
            },
            envelope: r#"{"errcode":61006,"errmsg":"component ticket is invalid"}"#,
            code: 61006,
            documented: Some("ticket invalid"),
            idempotent: true,
            empty_object_ok: false,
        },
        Case {
            name: "wechat ModifyWxaJumpDomain (envelope, optional fields)",
            call: |base, p| {
                Box::pin(async move {
                    use wechat_component_api::third_party_domain::*;
                    wechat_component_api::Client::with_base_url(base)
                        .with_retry_policy(p)
                        .component("TOKEN")
                        .modify_wxa_jump_domain(&ModifyWxaJumpDomainRequest::new(
                            JumpDomainAction::Get,
                        ))
                        .await
                        .map(drop)
                })
            },
            envelope: r#"{"errcode":61028,"errmsg":"component is not released"}"#,
            code: 61028,
            documented: Some("第三方平台未发布"),
            idempotent: true,
            empty_object_ok: true,
        },
        Case {
            name: "baidu GetSupportVersion (envelope read)",
            call: |base, p| {
                Box::pin(async move {
                    baidu_smartapp_api::Client::with_base_url(base)
                        .with_retry_policy(p)
                        .authorizer("TOKEN")
                        .get_support_version(
                            &baidu_smartapp_api::basic_info::GetSupportVersionRequest::new(),
                        )
                        .await
                        .map(drop)
                })
            },
            envelope: r#"{"errno":40001,"msg":"param error"}"#,
            code: 40001,
            documented: None,
            idempotent: true,
            empty_object_ok: false,
        },
        Case {
            name: "baidu ModifySignature (envelope, quota-limited write)",
            call: |base, p| {
                Box::pin(async move {
                    baidu_smartapp_api::Client::with_base_url(base)
                        .with_retry_policy(p)
                        .authorizer("TOKEN")
                        .modify_signature(
                            &baidu_smartapp_api::basic_info::ModifySignatureRequest::new(
                                "a new signature",
                            ),
                        )
                        .await
                        .map(drop)
                })
            },
            envelope: r#"{"errno":47006,"msg":"limit reached"}"#,
            code: 47006,
            documented: Some("修改简介超过限制次数"),
            idempotent: false,
            empty_object_ok: false,
        },
        Case {
            name: "baidu GetOAuthToken (bare JSON)",
            call: |base, p| {
                Box::pin(async move {
                    use baidu_smartapp_api::tp_auth::*;
                    let mut req = GetOAuthTokenRequest::new(OAuthGrantType::RefreshToken);
                    req.refresh_token = Some("46.REFRESH".into());
                    baidu_smartapp_api::Client::with_base_url(base)
                        .with_retry_policy(p)
                        .component("42.TP")
                        .get_oauth_token(&req)
                        .await
                        .map(drop)
                })
            },
            envelope: r#"{"error":"invalid_grant","error_description":"refresh token has been used"}"#,
            code: 0,
            documented: None,
            idempotent: true,
            empty_object_ok: false,
        },
        Case {
            name: "baidu GetQrCode (binary or JSON error)",
            call: |base, p| {
                Box::pin(async move {
                    baidu_smartapp_api::Client::with_base_url(base)
                        .with_retry_policy(p)
                        .authorizer("TOKEN")
                        .get_qr_code(&Default::default())
                        .await
                        .map(drop)
                })
            },
            envelope: r#"{"errno":40001,"msg":"param error"}"#,
            code: 40001,
            documented: Some("请求参数内容或格式非法"),
            idempotent: true,
            empty_object_ok: false,
        },
        Case {
            name: "kuaishou GetAppInfo (envelope)",
            call: |base, p| {
                Box::pin(async move {
                    kuaishou_api::Client::with_base_url(base, "ks_component")
                        .with_retry_policy(p)
                        .authorizer("TOKEN")
                        .get_app_info(&kuaishou_api::basic_info::GetAppInfoRequest::new())
                        .await
                        .map(drop)
                })
            },
            envelope: r#"{"result":100200100,"error_msg":"param error"}"#,
            code: 100200100,
            documented: None,
            idempotent: true,
            empty_object_ok: false,
        },
    ]
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Body {
    VendorEnvelope,
    ForeignJson,
    Html,
    Empty,
}

fn reply(status: u16, body: Body, case: &Case) -> Reply {
    let (content_type, text) = match body {
        Body::VendorEnvelope => ("application/json", case.envelope),
        Body::ForeignJson => ("application/json", r#"{"error":"not found"}"#),
        Body::Html => (
            "text/html",
            "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
        ),
        Body::Empty => ("text/plain", ""),
    };
    Reply {
        status,
        content_type: content_type.into(),
        body: text.into(),
    }
}

/// The README's table: 429 and 5xx may be repeated (only for idempotent endpoints); a known
/// vendor code decides by itself; everything else is sent once.
fn expected_attempts(status: u16, body: Body, case: &Case) -> usize {
    let transient = status == 429 || status >= 500;
    let retryable = match body {
        Body::VendorEnvelope => transient && case.documented.is_none(),
        _ => transient,
    };
    if retryable && case.idempotent {
        policy().max_attempts as usize
    } else {
        1
    }
}

#[tokio::test]
async fn no_error_status_is_ever_a_success() {
    let server = MockServer::start(Reply::json("{}")).await;
    let mut checked = 0;
    for case in cases() {
        for status in [400, 401, 403, 404, 429, 500, 502, 503] {
            for body in [
                Body::VendorEnvelope,
                Body::ForeignJson,
                Body::Html,
                Body::Empty,
            ] {
                let sent = reply(status, body, &case);
                server.set_reply(sent.clone());
                let err = (case.call)(server.base_url(), policy())
                    .await
                    .expect_err(&format!("{} {status} {body:?} must fail", case.name));
                let at = format!("{} {status} {body:?}: {err:?}", case.name);
                match body {
                    Body::VendorEnvelope => {
                        let Error::Vendor(v) = &err else {
                            panic!("{at}: want Error::Vendor")
                        };
                        assert_eq!(v.status, status, "{at}");
                        assert_eq!(v.code, case.code, "{at}");
                        match case.documented {
                            Some(text) => assert!(
                                v.documented.is_some_and(|d| d.contains(text)),
                                "{at}: documented text"
                            ),
                            None => assert_eq!(v.documented, None, "{at}"),
                        }
                    }
                    _ => {
                        let Error::Http {
                            status: got, body, ..
                        } = &err
                        else {
                            panic!("{at}: want Error::Http")
                        };
                        assert_eq!(*got, status, "{at}");
                        assert_eq!(&body[..], &sent.body[..], "{at}: body kept");
                    }
                }
                assert_eq!(
                    server.take().len(),
                    expected_attempts(status, body, &case),
                    "{at}: requests the server saw"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 7 * 8 * 4);
}

#[tokio::test]
async fn a_2xx_without_a_success_payload_is_an_error() {
    let server = MockServer::start(Reply::json("{}")).await;
    for case in cases() {
        for (body, content_type) in [
            ("{}", "application/json"),
            ("null", "application/json"),
            ("", "application/json"),
            (
                r#"{"errcode":0,"errno":0,"result":1,"da"#,
                "application/json",
            ),
        ] {
            server.set_reply(Reply {
                status: 200,
                content_type: content_type.into(),
                body: body.into(),
            });
            let result = (case.call)(server.base_url(), policy()).await;
            let at = format!("{} 200 {body:?}: {result:?}", case.name);
            if body == "{}" && case.empty_object_ok {
                assert!(result.is_ok(), "{at}");
            } else {
                assert!(matches!(result, Err(Error::Decode { .. })), "{at}");
            }
            assert_eq!(server.take().len(), 1, "{at}: not repeated");
        }
    }
}

#[tokio::test]
async fn a_success_without_a_guaranteed_field_names_the_field() {
    use baidu_smartapp_api::basic_info::*;
    let server = MockServer::start(Reply::json("{}")).await;
    let baidu = baidu_smartapp_api::Client::with_base_url(server.base_url()).authorizer("T");
    let missing = |err: Error, field: &str| match err {
        Error::Decode { message, .. } => {
            assert!(message.contains(field), "{message} names {field}")
        }
        other => panic!("want Error::Decode naming {field}, got {other:?}"),
    };

    // Baidu: the payload is `data`; absent, null and {} all lack the guaranteed member.
    for body in [
        r#"{"errno":0,"msg":"success"}"#,
        r#"{"errno":0,"msg":"success","data":null}"#,
        r#"{"errno":0,"msg":"success","data":{}}"#,
    ] {
        server.set_reply(Reply::json(body));
        let err = baidu
            .offline_update(&OfflineUpdateRequest::new())
            .await
            .unwrap_err();
        missing(err, "examine_id");
        let err = baidu
            .get_support_version(&GetSupportVersionRequest::new())
            .await
            .unwrap_err();
        missing(err, "now_version");
    }
    // A write whose document guarantees nothing still succeeds without `data`.
    server.set_reply(Reply::json(r#"{"errno":0,"msg":"success"}"#));
    baidu
        .modify_signature(&ModifySignatureRequest::new("sig"))
        .await
        .unwrap();

    // WeChat: `pre_auth_code` and the lifetime are guaranteed.
    server.set_reply(Reply::json(r#"{"errcode":0,"errmsg":"ok"}"#));
    let component =
        wechat_component_api::Client::with_base_url(server.base_url()).component("TOKEN");
    let err = component
        .create_preauthcode(
            &wechat_component_api::component_auth::CreatePreauthCodeRequest::new("wx"),
        )
        .await
        .unwrap_err();
    missing(err, "pre_auth_code");
    // ... while a field the document says may be absent stays optional.
    server.set_reply(Reply::json(
        r#"{"errcode":0,"errmsg":"ok","testing_wxa_jump_h5_domain":"a.qq.com"}"#,
    ));
    let answer = component
        .modify_wxa_jump_domain(
            &wechat_component_api::third_party_domain::ModifyWxaJumpDomainRequest::new(
                wechat_component_api::third_party_domain::JumpDomainAction::Get,
            ),
        )
        .await
        .unwrap();
    assert_eq!(answer.published_wxa_jump_h5_domain, None);

    // Kuaishou: the token and its lifetime.
    server.set_reply(Reply::json(r#"{"result":1,"expiresIn":7200}"#));
    let err = kuaishou_api::Client::with_base_url(server.base_url(), "ks")
        .get_component_access_token(&kuaishou_api::oauth::GetComponentAccessTokenRequest::new(
            "ks", "S", "T",
        ))
        .await
        .unwrap_err();
    missing(err, "componentAccessToken");

    // The QR code: an empty image is not an image.
    server.set_reply(Reply {
        status: 200,
        content_type: "image/png".into(),
        body: "".into(),
    });
    let err = baidu.get_qr_code(&Default::default()).await.unwrap_err();
    missing(err, "empty");
}

#[tokio::test]
async fn retry_after_is_honoured_within_the_budget() {
    let server = MockServer::start(Reply {
        status: 429,
        content_type: "text/plain".into(),
        body: "slow down".into(),
    })
    .await;
    server.set_headers(&[("retry-after", "1")]);
    let app = baidu_smartapp_api::Client::with_base_url(server.base_url())
        .with_retry_policy(RetryPolicy {
            max_attempts: 2,
            ..policy()
        })
        .authorizer("T");
    let read = baidu_smartapp_api::basic_info::GetSupportVersionRequest::new();
    let started = Instant::now();
    let err = app.get_support_version(&read).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Http {
                status: 429,
                retry_after: Some(d),
                ..
            } if d == Duration::from_secs(1)
        ),
        "{err:?}"
    );
    assert_eq!(server.take().len(), 2);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the repeat waited for Retry-After ({:?})",
        started.elapsed()
    );

    // A Retry-After past the budget: no repeat, the 429 is returned at once.
    server.set_headers(&[("retry-after", "60")]);
    let started = Instant::now();
    app.get_support_version(&read).await.unwrap_err();
    assert_eq!(server.take().len(), 1);
    assert!(started.elapsed() < Duration::from_secs(5));

    // A quota-limited write is not repeated after a 429 either.
    server.set_headers(&[("retry-after", "0")]);
    app.modify_signature(&baidu_smartapp_api::basic_info::ModifySignatureRequest::new("s"))
        .await
        .unwrap_err();
    assert_eq!(server.take().len(), 1);
}

#[tokio::test]
async fn a_redirect_to_another_origin_is_not_followed_with_the_token() {
    let elsewhere =
        MockServer::start(Reply::json(r#"{"errno":0,"msg":"success","data":{}}"#)).await;
    let redirecting = MockServer::start(Reply {
        status: 302,
        content_type: "text/plain".into(),
        body: "".into(),
    })
    .await;
    let target = format!(
        "{}/rest/2.0/smartapp/app/getsupportversion?access_token=45.SECRET_TOKEN",
        elsewhere.base_url()
    );
    for status in ["301", "302", "307", "308"] {
        redirecting.set_reply(Reply {
            status: status.parse().unwrap(),
            content_type: "text/plain".into(),
            body: "".into(),
        });
        redirecting.set_headers(&[("location", &target)]);
        let err = baidu_smartapp_api::Client::with_base_url(redirecting.base_url())
            .authorizer("45.SECRET_TOKEN")
            .get_support_version(&baidu_smartapp_api::basic_info::GetSupportVersionRequest::new())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Http { status: s, .. } if s.to_string() == status),
            "{err:?}"
        );
        assert_eq!(redirecting.take().len(), 1);
        assert!(elsewhere.take().is_empty(), "the other origin saw nothing");
    }
}

#[tokio::test]
async fn a_same_origin_redirect_is_followed() {
    // The base URL has a path prefix: `/old/...` redirects to `/new/...` on the same origin.
    let server = MockServer::start(Reply {
        status: 307,
        content_type: "text/plain".into(),
        body: "".into(),
    })
    .await;
    let base = server.base_url();
    // The mock answers every path alike, so the second hop (same origin) gets the 307 too
    // until it runs out of hops: the client must have followed (more than one request) and
    // stopped (bounded).
    server.set_headers(&[(
        "location",
        &format!("{base}/new/rest/2.0/smartapp/app/getsupportversion"),
    )]);
    let err = baidu_smartapp_api::Client::with_base_url(format!("{base}/old"))
        .with_retry_policy(RetryPolicy::never())
        .authorizer("T")
        .get_support_version(&baidu_smartapp_api::basic_info::GetSupportVersionRequest::new())
        .await
        .unwrap_err();
    let seen = server.take();
    assert!(seen.len() > 1, "followed: {seen:?}");
    assert!(seen.len() <= 7, "bounded: {} hops", seen.len());
    assert_eq!(seen[0].path, "/old/rest/2.0/smartapp/app/getsupportversion");
    assert_eq!(seen[1].path, "/new/rest/2.0/smartapp/app/getsupportversion");
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
}
