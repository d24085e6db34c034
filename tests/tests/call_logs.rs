//! The logs of a call, as an operator filters them: one INFO span per call with vendor,
//! endpoint, authorized app id, attempts, HTTP status, vendor code and latency; a DEBUG line
//! per retry with its reason; one WARN line when the call finally fails; never a token.
//!
//! Its own test binary: the subscriber is this thread's, and no other test may race it for
//! the callsites.

use std::time::Duration;

use core_http::RetryPolicy;
use miniapp_tests::{thread_logs, MockServer, Reply};

fn policy() -> RetryPolicy {
    RetryPolicy {
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(2),
        jitter: false,
        ..Default::default()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn each_call_is_one_span_with_the_fields_operators_filter_on() {
    use baidu_smartapp_api::basic_info::GetSupportVersionRequest;
    use core_http::token::{MemoryStore, RefreshPolicy, TokenGrant};
    let (_guard, logs) = thread_logs();
    let server = MockServer::start(Reply::json(
        r#"{"errno":0,"msg":"success","data":{"now_version":"3.1.0","items":[]}}"#,
    ))
    .await;
    let client =
        baidu_smartapp_api::Client::with_base_url(server.base_url()).with_retry_policy(policy());
    let tokens = baidu_smartapp_api::tokens::manager(
        &client,
        "tp_client",
        std::sync::Arc::new(MemoryStore::new()),
        RefreshPolicy::default(),
    );
    let grant = TokenGrant::from_answer(
        "GetOAuthToken",
        "45.LOGGED_TOKEN".into(),
        3600,
        Some("46.LOGGED_REFRESH".into()),
    )
    .unwrap();
    tokens.save_authorization("app_4711", grant).await.unwrap();
    let app = client.authorizer(tokens.authorizer_token("app_4711"));

    app.get_support_version(&GetSupportVersionRequest::new())
        .await
        .unwrap();
    let text = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    let close = text
        .lines()
        .find(|l| l.contains("miniapp.call{") && l.contains("close"))
        .unwrap_or_else(|| panic!("a closed call span: {text}"));
    assert!(close.contains(" INFO "), "{close}");
    for field in [
        "vendor=baidu",
        "endpoint=GetSupportVersion",
        "app=app_4711",
        "attempts=1",
        "status=200",
        "latency_ms=",
    ] {
        assert!(close.contains(field), "{field} in {close}");
    }
    logs.lock().unwrap().clear();

    // A call that fails after retries: a DEBUG line per retry with its reason, one WARN.
    server.set_reply(Reply {
        status: 503,
        content_type: "text/plain".into(),
        body: "down".into(),
    });
    app.get_support_version(&GetSupportVersionRequest::new())
        .await
        .unwrap_err();
    let text = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    let retries: Vec<&str> = text.lines().filter(|l| l.contains("retrying")).collect();
    assert_eq!(retries.len(), 2, "{text}");
    assert!(
        retries
            .iter()
            .all(|l| l.contains("DEBUG") && l.contains("HTTP status 503")),
        "{text}"
    );
    let warns: Vec<&str> = text.lines().filter(|l| l.contains(" WARN ")).collect();
    assert_eq!(warns.len(), 1, "{text}");
    assert!(
        warns[0].contains("call failed") && warns[0].contains("app=app_4711"),
        "{text}"
    );
    let close = text.lines().find(|l| l.contains("close")).unwrap();
    assert!(
        close.contains("attempts=3") && close.contains("status=503"),
        "{close}"
    );
    logs.lock().unwrap().clear();

    // A vendor error: its code is a field.
    server.set_reply(Reply::json(r#"{"errno":40001,"msg":"param error"}"#));
    app.get_support_version(&GetSupportVersionRequest::new())
        .await
        .unwrap_err();
    let text = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    assert!(text.contains("vendor_code=40001"), "{text}");
    assert!(
        !text.contains("LOGGED_TOKEN") && !text.contains("LOGGED_REFRESH"),
        "no token in the logs: {text}"
    );
}
