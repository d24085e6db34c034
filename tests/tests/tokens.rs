//! Tokens that take care of themselves, against the sandbox in token mode (it issues tokens
//! with a short lifetime and rejects expired or revoked ones with the vendor's codes).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use core_http::token::{MemoryStore, RefreshPolicy, TokenGrant, TokenStore};
use core_http::{Error, Secret, TokenFuture, TokenProvider, TokenSource};
use miniapp_sandbox::{Sandbox, SandboxOptions};
use miniapp_tests::{MockServer, Reply};

async fn sandbox(lifetime: Duration) -> Sandbox {
    Sandbox::start_with(SandboxOptions {
        enforce_tokens: true,
        token_lifetime: lifetime,
        ..Default::default()
    })
    .await
    .unwrap()
}

fn get_jump_domains() -> wechat_component_api::third_party_domain::ModifyWxaJumpDomainRequest {
    wechat_component_api::third_party_domain::ModifyWxaJumpDomainRequest::new(
        wechat_component_api::third_party_domain::JumpDomainAction::Get,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_callers_on_an_expired_token_cause_one_refresh() {
    let sandbox = sandbox(Duration::from_secs(2)).await;
    let client = wechat_component_api::Client::with_base_url(sandbox.base_url());
    let tokens = wechat_component_api::tokens::manager(
        &client,
        "wx_platform",
        "APP_SECRET",
        Arc::new(MemoryStore::new()),
        RefreshPolicy::default(),
    );
    tokens
        .store_ticket("ticket@@@1", wechat_component_api::tokens::TICKET_LIFETIME)
        .await
        .unwrap();
    let component = client.component(tokens.component_token());

    for round in 1..=2 {
        let calls: Vec<_> = (0..64)
            .map(|_| {
                let component = component.clone();
                tokio::spawn(
                    async move { component.modify_wxa_jump_domain(&get_jump_domains()).await },
                )
            })
            .collect();
        for call in calls {
            call.await.unwrap().unwrap();
        }
        assert_eq!(
            sandbox.issued("GetComponentAccessToken"),
            round,
            "round {round}"
        );
        // Let the token expire: the next round finds it expired.
        tokio::time::sleep(Duration::from_millis(2100)).await;
    }
    let rejected = sandbox.requests().iter().filter(|r| !r.accepted).count();
    assert_eq!(rejected, 0, "no call was sent with an expired token");
}

/// A Baidu platform with one authorized app, bootstrapped like a real authorization.
async fn baidu_app(
    sandbox: &Sandbox,
    store: Arc<dyn TokenStore>,
) -> (
    baidu_smartapp_api::AuthorizedApp,
    core_http::token::TokenManager,
) {
    let client = baidu_smartapp_api::Client::with_base_url(sandbox.base_url());
    let tokens =
        baidu_smartapp_api::tokens::manager(&client, "tp_key", store, RefreshPolicy::default());
    tokens
        .store_ticket("baidu-ticket", baidu_smartapp_api::tokens::TICKET_LIFETIME)
        .await
        .unwrap();
    let component = client.component(tokens.component_token());
    let mut exchange = baidu_smartapp_api::tp_auth::GetOAuthTokenRequest::new(
        baidu_smartapp_api::tp_auth::OAuthGrantType::AuthorizationCode,
    );
    exchange.code = Some("authorization-code".into());
    let answer = component.get_oauth_token(&exchange).await.unwrap();
    let grant = TokenGrant::from_answer(
        "GetOAuthToken",
        answer.access_token,
        answer.expires_in,
        answer.refresh_token,
    )
    .unwrap();
    tokens.save_authorization("app1", grant).await.unwrap();
    (client.authorizer(tokens.authorizer_token("app1")), tokens)
}

#[tokio::test]
async fn a_token_revoked_mid_run_is_refreshed_once_and_the_call_succeeds() {
    let sandbox = sandbox(Duration::from_secs(3600)).await;
    let store = Arc::new(MemoryStore::new());
    let (app, tokens) = baidu_app(&sandbox, store.clone()).await;
    let pause = baidu_smartapp_api::basic_info::PauseServiceRequest::new();
    app.pause_service(&pause).await.unwrap();
    assert_eq!(
        (
            sandbox.issued("GetTpToken"),
            sandbox.issued("GetOAuthToken")
        ),
        (1, 1)
    );

    // Both the app's token and the platform's are revoked: the call is rejected (110), the app
    // token is refreshed, whose refresh is rejected too and refreshes the TP token; then the
    // call is retried once and succeeds.
    sandbox.revoke_access_tokens();
    app.pause_service(&pause).await.unwrap();
    assert_eq!(
        (
            sandbox.issued("GetTpToken"),
            sandbox.issued("GetOAuthToken")
        ),
        (2, 2)
    );
    let stored = store
        .load(&tokens.authorizer_key("app1"))
        .await
        .unwrap()
        .unwrap();
    assert!(stored.refresh_token.is_some());

    // Warm: no more refreshes.
    app.pause_service(&pause).await.unwrap();
    assert_eq!(
        (
            sandbox.issued("GetTpToken"),
            sandbox.issued("GetOAuthToken")
        ),
        (2, 2)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_failure_is_a_typed_error_without_a_retry_storm() {
    let sandbox = sandbox(Duration::from_secs(3600)).await;
    sandbox.fail_token_endpoint("GetComponentAccessToken", Some(61006));
    let client = wechat_component_api::Client::with_base_url(sandbox.base_url());
    let tokens = wechat_component_api::tokens::manager(
        &client,
        "wx_platform",
        "APP_SECRET",
        Arc::new(MemoryStore::new()),
        RefreshPolicy::default(),
    );
    tokens
        .store_ticket("stale-ticket", Duration::from_secs(60))
        .await
        .unwrap();
    let component = client.component(tokens.component_token());
    let calls: Vec<_> = (0..64)
        .map(|_| {
            let component = component.clone();
            tokio::spawn(async move { component.modify_wxa_jump_domain(&get_jump_domains()).await })
        })
        .collect();
    for call in calls {
        let err = call.await.unwrap().unwrap_err();
        let Error::TokenRefresh { vendor, .. } = &err else {
            panic!("{err:?}")
        };
        let v = vendor.as_ref().unwrap();
        assert_eq!((v.code, v.documented), (61006, Some("ticket invalid")));
    }
    let asked = sandbox
        .requests()
        .iter()
        .filter(|r| r.path == "/cgi-bin/component/api_component_token")
        .count();
    assert_eq!(asked, 1, "one refresh attempt, not one per caller");
}

/// The vendor throttles the platform-token call for a while: the call waits (the retry
/// policy's backoff) and goes through once the token can be had, instead of failing at once
/// with a refresh error that a job would count as a failed step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_token_refresh_is_tried_again_before_the_call_fails() {
    let sandbox = sandbox(Duration::from_secs(3600)).await;
    sandbox.fail_token_endpoint("GetComponentAccessToken", Some(45009));
    let client = wechat_component_api::Client::with_base_url(sandbox.base_url()).with_retry_policy(
        core_http::RetryPolicy {
            // The token call's own retries (100 + 200 + 400 ms, no jitter) end inside the
            // throttle; the call's next try of the token outlasts it.
            max_attempts: 4,
            jitter: false,
            total_budget: Duration::from_secs(20),
            ..core_http::RetryPolicy::default()
        },
    );
    let tokens = wechat_component_api::tokens::manager(
        &client,
        "wx_platform",
        "APP_SECRET",
        Arc::new(MemoryStore::new()),
        RefreshPolicy {
            failure_backoff: Duration::from_millis(50),
            ..RefreshPolicy::default()
        },
    );
    tokens
        .store_ticket("ticket", Duration::from_secs(60))
        .await
        .unwrap();
    let component = client.component(tokens.component_token());
    let asked = || {
        sandbox
            .requests()
            .iter()
            .filter(|r| r.path == "/cgi-bin/component/api_component_token")
            .count()
    };
    let call = tokio::spawn({
        let component = component.clone();
        async move { component.modify_wxa_jump_domain(&get_jump_domains()).await }
    });
    // Throttled for the first second: longer than the token call's own retries.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(asked() >= 2, "{}", asked());
    sandbox.fail_token_endpoint("GetComponentAccessToken", None);
    call.await.unwrap().unwrap();
    let modified = sandbox
        .requests()
        .iter()
        .filter(|r| r.path == "/cgi-bin/component/modify_wxa_jump_domain")
        .count();
    assert_eq!(modified, 1, "the call itself was sent once");
}

/// Hands out `t1`, `t2`, … and counts invalidations.
#[derive(Default)]
struct Numbered {
    issued: AtomicUsize,
    invalidated: AtomicUsize,
}

impl TokenProvider for Numbered {
    fn token(&self) -> TokenFuture<'_> {
        let n = self.issued.load(Ordering::SeqCst).max(1);
        self.issued.store(n, Ordering::SeqCst);
        Box::pin(async move { Ok(Secret::from(format!("t{n}"))) })
    }

    fn invalidate<'a>(&'a self, failed: &'a Secret) -> core_http::token::BoxFuture<'a, ()> {
        if failed.expose() == format!("t{}", self.issued.load(Ordering::SeqCst)) {
            self.issued.fetch_add(1, Ordering::SeqCst);
        }
        self.invalidated.fetch_add(1, Ordering::SeqCst);
        Box::pin(async {})
    }
}

#[tokio::test]
async fn a_token_rejected_forever_is_retried_exactly_once() {
    let server = MockServer::start(Reply::json(
        r#"{"errcode":40001,"errmsg":"invalid credential"}"#,
    ))
    .await;
    let provider = Arc::new(Numbered::default());
    let component = wechat_component_api::Client::with_base_url(server.base_url())
        .component(TokenSource::Provider(provider.clone()));
    let err = component
        .modify_wxa_jump_domain(&get_jump_domains())
        .await
        .unwrap_err();
    let Error::TokenRejected(v) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(v.code, 40001);
    let seen = server.take();
    assert_eq!(seen.len(), 2, "one call and one retry");
    assert_eq!(seen[0].query.as_deref(), Some("access_token=t1"));
    assert_eq!(seen[1].query.as_deref(), Some("access_token=t2"));
    assert_eq!(provider.invalidated.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_callers_static_token_is_never_refreshed() {
    let server = MockServer::start(Reply::json(
        r#"{"errcode":42001,"errmsg":"access_token expired"}"#,
    ))
    .await;
    let component =
        wechat_component_api::Client::with_base_url(server.base_url()).component("STATIC");
    let err = component
        .modify_wxa_jump_domain(&get_jump_domains())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Vendor(v) if v.code == 42001),
        "{err:?}"
    );
    assert_eq!(server.take().len(), 1);
}

#[test]
fn the_manager_keeps_a_bounded_number_of_unused_app_tokens() {
    let client = wechat_component_api::Client::with_base_url("http://127.0.0.1:9");
    let tokens = wechat_component_api::tokens::manager(
        &client,
        "wx_component",
        "secret",
        Arc::new(MemoryStore::new()),
        RefreshPolicy::default(),
    );
    let held: Vec<_> = (0..10)
        .map(|i| tokens.authorizer_token(&format!("held{i}")))
        .collect();
    for i in 0..3 * core_http::token::CACHED_AUTHORIZERS {
        drop(tokens.authorizer_token(&format!("app{i}")));
    }
    assert!(
        tokens.cached_authorizers() <= core_http::token::CACHED_AUTHORIZERS + 1,
        "{}",
        tokens.cached_authorizers()
    );
    // Tokens a handle holds are never dropped: every handle of an app shares one.
    for (i, token) in held.iter().enumerate() {
        assert!(Arc::ptr_eq(
            token,
            &tokens.authorizer_token(&format!("held{i}"))
        ));
    }
}

/// `tokens::platform` has one signature in every vendor crate: it refuses, before anything is
/// sent, a platform without the secret its token call needs, and the client it builds talks to
/// the given origin with the platform's own token.
#[tokio::test]
async fn every_vendor_crate_connects_a_platform_the_same_way() {
    let store = || -> Arc<dyn TokenStore> { Arc::new(MemoryStore::new()) };
    for err in [
        wechat_component_api::tokens::platform(
            None,
            "wx1",
            None,
            store(),
            RefreshPolicy::default(),
        )
        .unwrap_err(),
        kuaishou_api::tokens::platform(None, "ks1", None, store(), RefreshPolicy::default())
            .unwrap_err(),
    ] {
        let Error::Credentials { endpoint, message } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(*endpoint, "GetComponentAccessToken");
        assert!(
            message.contains("needs the platform's app secret"),
            "{message}"
        );
    }

    let sandbox = sandbox(Duration::from_secs(60)).await;
    let url = sandbox.base_url();
    let (client, tokens) = wechat_component_api::tokens::platform(
        Some(&url),
        "wx_platform",
        Some(Secret::from("sandbox-secret")),
        store(),
        RefreshPolicy::default(),
    )
    .unwrap();
    tokens
        .store_ticket("ticket@@@t", Duration::from_secs(600))
        .await
        .unwrap();
    client
        .component(tokens.component_token())
        .modify_wxa_jump_domain(&get_jump_domains())
        .await
        .unwrap();
    // Baidu's token call takes no secret: none is needed.
    let (_, baidu) = baidu_smartapp_api::tokens::platform(
        Some(&url),
        "bd_tp",
        None,
        store(),
        RefreshPolicy::default(),
    )
    .unwrap();
    assert_eq!(baidu.platform_app_id(), "bd_tp");
    assert_eq!(tokens.platform_app_id(), "wx_platform");
}
