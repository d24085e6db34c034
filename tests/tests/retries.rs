//! Retries as the server sees them: how many attempts each failure gets, by endpoint class.

use std::time::Duration;

use core_http::{Error, RetryPolicy};
use miniapp_tests::{MockServer, Reply};

fn fast() -> RetryPolicy {
    RetryPolicy {
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        ..Default::default()
    }
}

fn status(code: u16) -> Reply {
    Reply {
        status: code,
        content_type: "text/plain".into(),
        body: "upstream failed".into(),
    }
}

fn get_jump() -> wechat_component_api::third_party_domain::ModifyWxaJumpDomainRequest {
    wechat_component_api::third_party_domain::ModifyWxaJumpDomainRequest::new(
        wechat_component_api::third_party_domain::JumpDomainAction::Get,
    )
}

#[tokio::test]
async fn idempotent_calls_are_retried_on_5xx_and_busy_up_to_the_limit() {
    let server = MockServer::start(status(503)).await;
    let component = wechat_component_api::Client::with_base_url(server.base_url())
        .with_retry_policy(fast())
        .component("T");
    let err = component
        .modify_wxa_jump_domain(&get_jump())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Http { status: 503, .. }), "{err:?}");
    assert_eq!(server.take().len(), 3);

    server.set_reply(Reply::json(r#"{"errcode":-1,"errmsg":"system error"}"#));
    let err = component
        .modify_wxa_jump_domain(&get_jump())
        .await
        .unwrap_err();
    assert_eq!(err.vendor().map(|v| v.code), Some(-1));
    assert_eq!(server.take().len(), 3);

    // A permanent vendor error is not retried.
    server.set_reply(Reply::json(
        r#"{"errcode":40052,"errmsg":"invalid action name"}"#,
    ));
    component
        .modify_wxa_jump_domain(&get_jump())
        .await
        .unwrap_err();
    assert_eq!(server.take().len(), 1);
}

#[tokio::test]
async fn quota_limited_writes_are_sent_once_unless_the_caller_opts_in() {
    let server = MockServer::start(status(502)).await;
    let client =
        baidu_smartapp_api::Client::with_base_url(server.base_url()).with_retry_policy(fast());
    let app = client.authorizer("45.T");
    let icon = baidu_smartapp_api::basic_info::ModifyHeadImageRequest::new("https://x/icon.png");
    let err = app.modify_head_image(&icon).await.unwrap_err();
    assert!(matches!(err, Error::Http { status: 502, .. }), "{err:?}");
    assert_eq!(
        server.take().len(),
        1,
        "a quota-limited write is never repeated blindly"
    );

    let opted_in = app.session().with_retry_policy(RetryPolicy {
        retry_non_idempotent: true,
        ..fast()
    });
    opted_in.send(&icon).await.unwrap_err();
    assert_eq!(server.take().len(), 3);

    // Reads of the same vendor are retried.
    app.get_support_version(&baidu_smartapp_api::basic_info::GetSupportVersionRequest::new())
        .await
        .unwrap_err();
    assert_eq!(server.take().len(), 3);
}

#[tokio::test]
async fn retries_stay_within_attempts_and_time_budget() {
    let server = MockServer::start(status(500)).await;
    let never = wechat_component_api::Client::with_base_url(server.base_url())
        .with_retry_policy(RetryPolicy::never())
        .component("T");
    never.modify_wxa_jump_domain(&get_jump()).await.unwrap_err();
    assert_eq!(server.take().len(), 1);

    let tight = wechat_component_api::Client::with_base_url(server.base_url())
        .with_retry_policy(RetryPolicy {
            max_attempts: 50,
            initial_backoff: Duration::from_millis(40),
            max_backoff: Duration::from_millis(40),
            total_budget: Duration::from_millis(100),
            ..Default::default()
        })
        .component("T");
    let started = std::time::Instant::now();
    tight.modify_wxa_jump_domain(&get_jump()).await.unwrap_err();
    // No retry starts past the 100 ms budget, so far fewer than 50 attempts happen.
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    let attempts = server.take().len();
    assert!(
        (1..50).contains(&attempts),
        "{attempts} attempts within a 100 ms budget"
    );
}

#[tokio::test]
async fn connect_errors_are_retried_even_for_quota_limited_writes() {
    // Nothing listens: every attempt fails to connect, so the request never left.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = baidu_smartapp_api::Client::with_base_url(format!("http://127.0.0.1:{port}"))
        .with_retry_policy(RetryPolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(100),
            jitter: false,
            ..Default::default()
        })
        .authorizer("45.T");
    let started = std::time::Instant::now();
    let err = app
        .modify_head_image(
            &baidu_smartapp_api::basic_info::ModifyHeadImageRequest::new("https://x/i.png"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_eq!(
        core_http::retry::classify(core_http::Vendor::Baidu, &err),
        core_http::retry::Failure::NotSent
    );
    // Three attempts: two fixed 100 ms backoffs between them.
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(200), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}
