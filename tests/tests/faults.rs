//! The real clients driven through every fault the sandbox injects: the right typed error, the
//! right number of attempts as the server saw them, no repeated quota-limited write, no panic,
//! and no token in any error or trace.

use std::sync::Arc;
use std::time::Duration;

use core_http::{Error, RetryPolicy};
use miniapp_sandbox::{Fault, Sandbox, SandboxOptions};

const TOKEN: &str = "45.FAULT_SECRET_TOKEN";

fn policy() -> RetryPolicy {
    RetryPolicy {
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        attempt_timeout: Some(Duration::from_millis(300)),
        ..Default::default()
    }
}

/// What a fault must produce: the error kind, and attempts for an idempotent read and for a
/// quota-limited write.
fn expected(fault: &Fault) -> (&'static str, usize, usize) {
    match fault {
        Fault::Status(_) | Fault::HtmlStatus(500..) | Fault::EmptyBody(500..) => ("http", 3, 1),
        Fault::TooManyRequests { .. } => ("http", 3, 1),
        // Not 429 or 5xx: permanent, whatever the body.
        Fault::ForeignJson(400..=499) | Fault::RedirectElsewhere => ("http", 1, 1),
        // The vendor's envelope with a 5xx and a code the endpoint does not document: a read
        // is repeated, a quota-limited write is not.
        Fault::BusyWithStatus(500..) => ("vendor", 3, 1),
        // A 2xx that is not a success envelope, or lacks what the document guarantees.
        Fault::EmptyObject | Fault::NullBody | Fault::EmptyBody(200) => ("decode", 1, 1),
        Fault::Slow(_) => ("transport", 3, 1),
        Fault::ResetBeforeResponse | Fault::ResetMidBody => ("transport", 3, 1),
        Fault::Truncated | Fault::NotJson | Fault::HtmlPage => ("decode", 1, 1),
        // Baidu documents no busy code: the sandbox's busy answer is a 503 with the envelope,
        // transient by its status.
        Fault::Busy => ("vendor", 3, 1),
        // A caller's static token is never refreshed.
        Fault::ExpiredToken => ("vendor", 1, 1),
        _ => unreachable!(),
    }
}

fn kind(err: &Error) -> &'static str {
    match err {
        Error::Http { .. } => "http",
        Error::Transport { .. } => "transport",
        Error::Decode { .. } => "decode",
        Error::Vendor(_) => "vendor",
        _ => "other",
    }
}

#[tokio::test]
async fn every_fault_gives_a_typed_error_and_the_right_number_of_attempts() {
    miniapp_tests::capture_traces();
    let sandbox = Sandbox::start().await.unwrap();
    let app = baidu_smartapp_api::Client::with_base_url(sandbox.base_url())
        .with_retry_policy(policy())
        .authorizer(TOKEN);
    let read = baidu_smartapp_api::basic_info::GetSupportVersionRequest::new();
    let write = baidu_smartapp_api::basic_info::ModifyHeadImageRequest::new("https://x/icon.png");
    let faults = [
        Fault::Status(500),
        Fault::Status(502),
        Fault::Status(503),
        Fault::Busy,
        Fault::Slow(Duration::from_millis(1500)),
        Fault::ResetBeforeResponse,
        Fault::ResetMidBody,
        Fault::Truncated,
        Fault::NotJson,
        Fault::HtmlPage,
        Fault::ExpiredToken,
        Fault::ForeignJson(404),
        Fault::HtmlStatus(502),
        Fault::EmptyBody(503),
        Fault::EmptyBody(200),
        Fault::BusyWithStatus(500),
        Fault::TooManyRequests {
            retry_after_secs: 0,
        },
        Fault::EmptyObject,
        Fault::NullBody,
        Fault::RedirectElsewhere,
    ];
    let mut printed = String::new();
    for fault in faults {
        let (want_kind, read_attempts, write_attempts) = expected(&fault);
        sandbox.clear_faults();
        sandbox.inject("GetSupportVersion", fault.clone(), None);
        sandbox.inject("ModifyHeadImage", fault.clone(), None);

        let before = sandbox.hits("GetSupportVersion");
        let err = app.get_support_version(&read).await.unwrap_err();
        assert_eq!(kind(&err), want_kind, "{fault:?} on a read: {err:?}");
        assert_eq!(
            sandbox.hits("GetSupportVersion") - before,
            read_attempts,
            "{fault:?} read attempts"
        );

        let before = sandbox.hits("ModifyHeadImage");
        let err2 = app.modify_head_image(&write).await.unwrap_err();
        assert_eq!(kind(&err2), want_kind, "{fault:?} on a write: {err2:?}");
        assert_eq!(
            sandbox.hits("ModifyHeadImage") - before,
            write_attempts,
            "{fault:?}: a quota-limited write must not be repeated"
        );
        for e in [&err, &err2] {
            printed.push_str(&format!("{e} {e:?}\n"));
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                printed.push_str(&format!("{s} {s:?}\n"));
                source = s.source();
            }
        }
    }
    // Give the slow answers time to finish before reading the logs.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let logs = miniapp_tests::captured_traces();
    assert!(logs.contains("retrying"), "retries were traced");
    assert!(!printed.contains("FAULT_SECRET_TOKEN"), "{printed}");
    assert!(!logs.contains("FAULT_SECRET_TOKEN"), "{logs}");
}

#[tokio::test]
async fn wechat_busy_is_retried_for_idempotent_calls() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.inject("ModifyWxaJumpDomain", Fault::Busy, Some(2));
    let component = wechat_component_api::Client::with_base_url(sandbox.base_url())
        .with_retry_policy(policy())
        .component("T");
    let get = wechat_component_api::third_party_domain::ModifyWxaJumpDomainRequest::new(
        wechat_component_api::third_party_domain::JumpDomainAction::Get,
    );
    // Two busy answers, then the real one.
    let answer = component.modify_wxa_jump_domain(&get).await.unwrap();
    assert!(answer.testing_wxa_jump_h5_domain.is_some());
    assert_eq!(sandbox.hits("ModifyWxaJumpDomain"), 3);
}

#[tokio::test]
async fn an_expired_token_from_a_provider_is_refreshed_and_the_call_retried() {
    use core_http::token::{MemoryStore, RefreshPolicy};
    let sandbox = Sandbox::start_with(SandboxOptions {
        enforce_tokens: true,
        ..Default::default()
    })
    .await
    .unwrap();
    let client =
        wechat_component_api::Client::with_base_url(sandbox.base_url()).with_retry_policy(policy());
    let tokens = wechat_component_api::tokens::manager(
        &client,
        "wx",
        "S",
        Arc::new(MemoryStore::new()),
        RefreshPolicy::default(),
    );
    tokens
        .store_ticket("ticket", Duration::from_secs(60))
        .await
        .unwrap();
    let component = client.component(tokens.component_token());
    let get = wechat_component_api::third_party_domain::ModifyWxaJumpDomainRequest::new(
        wechat_component_api::third_party_domain::JumpDomainAction::Get,
    );
    component.modify_wxa_jump_domain(&get).await.unwrap();
    sandbox.inject("ModifyWxaJumpDomain", Fault::ExpiredToken, Some(1));
    component.modify_wxa_jump_domain(&get).await.unwrap();
    assert_eq!(sandbox.hits("ModifyWxaJumpDomain"), 3);
    assert_eq!(sandbox.issued("GetComponentAccessToken"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_faults_never_panic_and_always_end_typed() {
    let sandbox = Sandbox::start_with(SandboxOptions {
        fault_rate: 0.4,
        fault_seed: 42,
        ..Default::default()
    })
    .await
    .unwrap();
    let clients = Arc::new(miniapp_tour::Clients::new(&sandbox.base_url()));
    let calls = miniapp_tour::calls();
    let (mut ok, mut failed) = (0, 0);
    for round in 0..3 {
        for call in &calls {
            match tokio::time::timeout(Duration::from_secs(60), (call.run)(&clients)).await {
                Ok(Ok(_)) => ok += 1,
                Ok(Err(e)) => {
                    assert!(
                        !matches!(e, Error::InvalidRequest(_)),
                        "round {round} {}: {e:?}",
                        call.endpoint
                    );
                    failed += 1;
                }
                Err(_) => panic!("{} hung", call.endpoint),
            }
        }
    }
    assert!(ok > 0 && failed > 0, "ok {ok}, failed {failed}");
}
