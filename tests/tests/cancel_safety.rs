//! Cancel-safe tokens: a caller dropped at any point of a refresh (a timeout, a dropped
//! future, an aborted task) never loses the refresh token the vendor rotated, never holds the
//! refresh lock past the refresh, and never causes a second refresh; a refresh token the
//! vendor refuses is `Error::AuthorizationLost` naming the app.
//!
//! Against the sandbox in token mode: Baidu refresh tokens are single-use and rotated the
//! moment the sandbox receives the refresh, and every token endpoint answers after a delay.

use std::future::Future;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use baidu_smartapp_api::basic_info::GetSupportVersionRequest;
use core_http::token::{MemoryStore, RedisStore, RefreshPolicy, TokenGrant, TokenStore};
use core_http::{Error, Vendor};
use miniapp_sandbox::{Sandbox, SandboxOptions};

/// How long the sandbox's token endpoints take to answer.
const REFRESH_LATENCY: Duration = Duration::from_millis(300);
/// What a call after a cancelled refresh may take at most: the refresh latency plus a small
/// margin, far below the lock's TTL (10 s).
const RECOVERY: Duration = Duration::from_millis(300 + 700);

async fn sandbox() -> Sandbox {
    Sandbox::start_with(SandboxOptions {
        enforce_tokens: true,
        token_delay: REFRESH_LATENCY,
        ..Default::default()
    })
    .await
    .unwrap()
}

/// A Baidu platform on `store`, its ticket stored, its TP token fetched.
async fn baidu_platform(
    sandbox: &Sandbox,
    store: Arc<dyn TokenStore>,
) -> (baidu_smartapp_api::Client, core_http::token::TokenManager) {
    let client = baidu_smartapp_api::Client::with_base_url(sandbox.base_url());
    let tokens =
        baidu_smartapp_api::tokens::manager(&client, "tp_key", store, RefreshPolicy::default());
    tokens
        .store_ticket("baidu-ticket", baidu_smartapp_api::tokens::TICKET_LIFETIME)
        .await
        .unwrap();
    (client, tokens)
}

/// Authorizes "app1" like a real authorization (code exchange, tokens saved).
async fn authorize(client: &baidu_smartapp_api::Client, tokens: &core_http::token::TokenManager) {
    let component = client.component(tokens.component_token());
    let mut exchange = baidu_smartapp_api::tp_auth::GetOAuthTokenRequest::new(
        baidu_smartapp_api::tp_auth::OAuthGrantType::AuthorizationCode,
    );
    exchange.code = Some("authorization-code".into());
    let a = component.get_oauth_token(&exchange).await.unwrap();
    let grant = TokenGrant::from_answer(
        "GetOAuthToken",
        a.access_token,
        a.expires_in,
        a.refresh_token,
    )
    .unwrap();
    tokens.save_authorization("app1", grant).await.unwrap();
}

/// Makes app1's token stale everywhere (memory and store), keeping its refresh token.
async fn expire(tokens: &core_http::token::TokenManager) {
    let token = tokens.authorizer_token("app1");
    let current = token.get().await.unwrap();
    token.invalidate_token(&current).await.unwrap();
}

/// Polls `future` `polls` times (yielding to the runtime in between), then drops it.
async fn poll_then_drop<F: Future>(future: F, polls: usize) {
    let mut future = std::pin::pin!(future);
    for _ in 0..polls {
        let ready =
            std::future::poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx).is_ready())).await;
        if ready {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// How a caller is cancelled.
#[derive(Debug, Clone, Copy)]
enum Cancel {
    /// `tokio::time::timeout` with this deadline.
    Deadline(Duration),
    /// The calling task aborted after this long.
    Abort(Duration),
    /// The future polled this many times by hand, then dropped.
    Polls(usize),
}

fn cancellations() -> Vec<Cancel> {
    let mut all = Vec::new();
    for ms in [0, 1, 10, 50, 150, 250, 295, 310] {
        all.push(Cancel::Deadline(Duration::from_millis(ms)));
    }
    for ms in [0, 20, 150, 290] {
        all.push(Cancel::Abort(Duration::from_millis(ms)));
    }
    for polls in 1..=4 {
        all.push(Cancel::Polls(polls));
    }
    all
}

async fn cancel(app: &baidu_smartapp_api::AuthorizedApp, how: Cancel) {
    let call = {
        let app = app.clone();
        async move {
            app.get_support_version(&GetSupportVersionRequest::new())
                .await
        }
    };
    match how {
        Cancel::Deadline(d) => {
            let _ = tokio::time::timeout(d, call).await;
        }
        Cancel::Abort(d) => {
            let task = tokio::spawn(call);
            tokio::time::sleep(d).await;
            task.abort();
            let _ = task.await;
        }
        Cancel::Polls(n) => poll_then_drop(call, n).await,
    }
}

/// Drives one cancellation on `cancelled` and checks the recovery on `next` (the same manager,
/// or another "process" on the same store).
async fn check_one_cancellation(
    sandbox: &Sandbox,
    store: &Arc<dyn TokenStore>,
    cancelled: (
        &baidu_smartapp_api::AuthorizedApp,
        &core_http::token::TokenManager,
    ),
    next: &baidu_smartapp_api::AuthorizedApp,
    how: Cancel,
) {
    expire(cancelled.1).await;
    let key = cancelled.1.authorizer_key("app1");
    let before = store.load(&key).await.unwrap().unwrap();
    let refreshes = sandbox.issued("GetOAuthToken");

    cancel(cancelled.0, how).await;

    let started = Instant::now();
    next.get_support_version(&GetSupportVersionRequest::new())
        .await
        .unwrap_or_else(|e| panic!("{how:?}: the next call failed: {e:?}"));
    let took = started.elapsed();
    assert!(took < RECOVERY, "{how:?}: the next call took {took:?}");
    // The sandbox's answer may still be on its way when a caller is dropped early; give it
    // the refresh latency, then count.
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        sandbox.issued("GetOAuthToken"),
        refreshes + 1,
        "{how:?}: exactly one refresh"
    );
    let after = store.load(&key).await.unwrap().unwrap();
    assert_ne!(
        after.refresh_token, before.refresh_token,
        "{how:?}: the rotated refresh token was saved"
    );
    // No lock is left behind.
    let fence = store
        .lock(&key, Duration::from_secs(1))
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{how:?}: the refresh lock was left held"));
    store.unlock(&key, &fence).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_dropped_anywhere_in_a_refresh_loses_nothing() {
    let sandbox = sandbox().await;
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
    let (client, tokens) = baidu_platform(&sandbox, store.clone()).await;
    authorize(&client, &tokens).await;
    let app = client.authorizer(tokens.authorizer_token("app1"));
    for how in cancellations() {
        check_one_cancellation(&sandbox, &store, (&app, &tokens), &app, how).await;
    }
    // Every refresh used the refresh token the one before it saved: the sandbox refused none.
    let refused = sandbox
        .requests()
        .iter()
        .filter(|r| r.endpoint.as_deref() == Some("GetOAuthToken") && !r.accepted)
        .count();
    assert_eq!(refused, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_redis_lose_nothing_when_one_is_cancelled() {
    let Some(redis) = miniapp_tests::redis::RedisServer::start() else {
        return;
    };
    let sandbox = sandbox().await;
    let store_a: Arc<dyn TokenStore> = Arc::new(RedisStore::connect(&redis.url()).await.unwrap());
    let store_b: Arc<dyn TokenStore> = Arc::new(RedisStore::connect(&redis.url()).await.unwrap());
    let (client_a, tokens_a) = baidu_platform(&sandbox, store_a.clone()).await;
    let (client_b, tokens_b) = baidu_platform(&sandbox, store_b).await;
    authorize(&client_a, &tokens_a).await;
    let app_a = client_a.authorizer(tokens_a.authorizer_token("app1"));
    let app_b = client_b.authorizer(tokens_b.authorizer_token("app1"));
    for how in [
        Cancel::Deadline(Duration::from_millis(0)),
        Cancel::Deadline(Duration::from_millis(100)),
        Cancel::Deadline(Duration::from_millis(290)),
        Cancel::Abort(Duration::from_millis(50)),
        Cancel::Polls(1),
    ] {
        // B has no token in memory: it must take the one A's (cancelled) refresh saves.
        expire(&tokens_b).await;
        check_one_cancellation(&sandbox, &store_a, (&app_a, &tokens_a), &app_b, how).await;
    }
}

/// A store that fails or panics on its next `save`.
struct FlakyStore {
    inner: MemoryStore,
    /// 0: normal; 1: the next save errors; 2: the next save panics.
    next_save: std::sync::atomic::AtomicU8,
}

impl TokenStore for FlakyStore {
    fn load<'a>(
        &'a self,
        key: &'a core_http::token::TokenKey,
    ) -> core_http::token::BoxFuture<'a, Result<Option<core_http::token::StoredToken>, Error>> {
        self.inner.load(key)
    }
    fn save<'a>(
        &'a self,
        key: &'a core_http::token::TokenKey,
        token: &'a core_http::token::StoredToken,
        expected_refresh: Option<&'a core_http::Secret>,
    ) -> core_http::token::BoxFuture<'a, Result<bool, Error>> {
        match self.next_save.swap(0, std::sync::atomic::Ordering::SeqCst) {
            1 => Box::pin(async {
                Err(Error::Credentials {
                    endpoint: "token store",
                    message: "disk full".into(),
                })
            }),
            2 => panic!("a bug in the user's token store"),
            _ => self.inner.save(key, token, expected_refresh),
        }
    }
    fn lock<'a>(
        &'a self,
        key: &'a core_http::token::TokenKey,
        ttl: Duration,
    ) -> core_http::token::BoxFuture<'a, Result<Option<core_http::token::Fence>, Error>> {
        self.inner.lock(key, ttl)
    }
    fn unlock<'a>(
        &'a self,
        key: &'a core_http::token::TokenKey,
        fence: &'a core_http::token::Fence,
    ) -> core_http::token::BoxFuture<'a, Result<(), Error>> {
        self.inner.unlock(key, fence)
    }
    fn invalidate<'a>(
        &'a self,
        key: &'a core_http::token::TokenKey,
        failed: &'a core_http::Secret,
    ) -> core_http::token::BoxFuture<'a, Result<(), Error>> {
        self.inner.invalidate(key, failed)
    }
    fn put<'a>(
        &'a self,
        key: &'a core_http::token::TokenKey,
        token: &'a core_http::token::StoredToken,
    ) -> core_http::token::BoxFuture<'a, Result<(), Error>> {
        self.inner.put(key, token)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_fails_or_panics_on_save_releases_the_lock() {
    // WeChat: its refresh tokens are not single-use in the sandbox, so the call after a lost
    // save can still refresh.
    let sandbox = sandbox().await;
    let store = Arc::new(FlakyStore {
        inner: MemoryStore::new(),
        next_save: 0.into(),
    });
    // No retries: the failed refresh's error reaches the caller (with retries, the call would
    // try the token again and the store, which panics once, would take it).
    let client = wechat_component_api::Client::with_base_url(sandbox.base_url())
        .with_retry_policy(core_http::RetryPolicy::never());
    let tokens = wechat_component_api::tokens::manager(
        &client,
        "wx_platform",
        "SECRET",
        store.clone(),
        RefreshPolicy {
            failure_backoff: Duration::from_millis(100),
            ..Default::default()
        },
    );
    tokens
        .store_ticket("ticket@@@1", wechat_component_api::tokens::TICKET_LIFETIME)
        .await
        .unwrap();
    let component = client.component(tokens.component_token());
    let get = wechat_component_api::third_party_domain::ModifyWxaJumpDomainRequest::new(
        wechat_component_api::third_party_domain::JumpDomainAction::Get,
    );
    let key = tokens.component_token().key().clone();
    for (mode, what) in [(1u8, "an error"), (2, "a panic")] {
        let current = tokens.component_token().get().await.ok();
        if let Some(current) = current {
            tokens
                .component_token()
                .invalidate_token(&current)
                .await
                .unwrap();
        }
        store
            .next_save
            .store(mode, std::sync::atomic::Ordering::SeqCst);
        let result = component.modify_wxa_jump_domain(&get).await;
        if mode == 1 {
            // A save that fails does not fail the refresh: the vendor's answer is used and
            // kept in memory until the store takes it.
            assert!(result.is_ok(), "{what}: the refresh stands, got {result:?}");
        } else {
            let err = result.unwrap_err();
            assert!(
                matches!(err, Error::TokenRefresh { .. }),
                "{what}: a typed refresh error, got {err:?}"
            );
        }
        // The lock is free again at once (the guard's unlock runs on the runtime).
        tokio::time::sleep(Duration::from_millis(20)).await;
        let fence = store
            .lock(&key, Duration::from_secs(1))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{what}: the lock was left held"));
        store.unlock(&key, &fence).await.unwrap();
        // After the failure backoff, the next call recovers.
        tokio::time::sleep(Duration::from_millis(120)).await;
        let started = Instant::now();
        component.modify_wxa_jump_domain(&get).await.unwrap();
        assert!(
            started.elapsed() < RECOVERY,
            "{what}: recovered in {:?}",
            started.elapsed()
        );
    }
}

/// 64 concurrent callers on an app whose refresh token the vendor refuses: every one gets
/// `AuthorizationLost` naming the app, and the vendor is asked once.
async fn sixty_four_callers_get_authorization_lost<F, Fut>(
    sandbox: &Sandbox,
    token_endpoint: &str,
    call: F,
) -> Vec<Error>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<(), Error>> + Send + 'static,
{
    let before = sandbox.hits(token_endpoint);
    let calls: Vec<_> = (0..64).map(|_| tokio::spawn(call())).collect();
    let mut errors = Vec::new();
    for c in calls {
        errors.push(
            c.await
                .unwrap()
                .expect_err(&format!("{token_endpoint}: every caller fails")),
        );
    }
    assert_eq!(
        sandbox.hits(token_endpoint) - before,
        1,
        "one refresh attempt for 64 callers within the failure backoff"
    );
    errors
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_refresh_token_is_a_lost_authorization_naming_the_app() {
    // Baidu: the refresh token was used elsewhere (single-use): `invalid_grant`.
    let sandbox = sandbox().await;
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
    let (client, tokens) = baidu_platform(&sandbox, store.clone()).await;
    authorize(&client, &tokens).await;
    let stored = store
        .load(&tokens.authorizer_key("app1"))
        .await
        .unwrap()
        .unwrap();
    let mut steal = baidu_smartapp_api::tp_auth::GetOAuthTokenRequest::new(
        baidu_smartapp_api::tp_auth::OAuthGrantType::RefreshToken,
    );
    steal.refresh_token = stored.refresh_token.clone();
    client
        .component(tokens.component_token())
        .get_oauth_token(&steal)
        .await
        .unwrap();
    expire(&tokens).await;
    let app = client.authorizer(tokens.authorizer_token("app1"));
    let errors = sixty_four_callers_get_authorization_lost(&sandbox, "GetOAuthToken", || {
        let app = app.clone();
        async move {
            app.get_support_version(&GetSupportVersionRequest::new())
                .await
                .map(drop)
        }
    })
    .await;
    for e in &errors {
        let Error::AuthorizationLost {
            vendor,
            app_id,
            cause,
        } = e
        else {
            panic!("want AuthorizationLost, got {e:?}")
        };
        assert_eq!((*vendor, app_id.as_str()), (Vendor::Baidu, "app1"));
        assert!(cause.message.starts_with("invalid_grant"), "{cause:?}");
        assert_eq!(cause.status, 400);
        let text = e.to_string();
        assert!(
            text.contains("app1") && text.contains("authorize"),
            "{text}"
        );
        let refresh = stored.refresh_token.as_ref().unwrap().expose();
        assert!(!text.contains(refresh) && !format!("{e:?}").contains(refresh));
    }

    // WeChat: 61023 "refresh_token is invalid".
    let client = wechat_component_api::Client::with_base_url(sandbox.base_url());
    let tokens = wechat_component_api::tokens::manager(
        &client,
        "wx_platform",
        "SECRET",
        Arc::new(MemoryStore::new()),
        RefreshPolicy::default(),
    );
    tokens
        .store_ticket("ticket@@@1", wechat_component_api::tokens::TICKET_LIFETIME)
        .await
        .unwrap();
    let grant =
        TokenGrant::from_answer("QueryAuth", "stale".into(), 1, Some("refresh".into())).unwrap();
    tokens.save_authorization("wx_app", grant).await.unwrap();
    sandbox.fail_token_endpoint("GetAuthorizerToken", Some(61023));
    tokio::time::sleep(Duration::from_millis(1100)).await; // the saved token expires
                                                           // WeChat's authorizer endpoints are not in the seeds yet: ask the token itself.
    let token = tokens.authorizer_token("wx_app");
    let errors = sixty_four_callers_get_authorization_lost(&sandbox, "GetAuthorizerToken", || {
        let token = token.clone();
        async move { token.get().await.map(drop) }
    })
    .await;
    for e in &errors {
        assert!(
            matches!(e, Error::AuthorizationLost { vendor: Vendor::Wechat, app_id, cause } if app_id == "wx_app" && cause.code == 61023),
            "{e:?}"
        );
    }

    // Kuaishou: 100200113 "refresh_token expired" on the re-authorization path [m].
    let client = kuaishou_api::Client::with_base_url(sandbox.base_url(), "ks_component");
    let tokens = kuaishou_api::tokens::manager(
        &client,
        "SECRET",
        Arc::new(MemoryStore::new()),
        RefreshPolicy::default(),
    );
    tokens
        .store_ticket("ks-ticket", kuaishou_api::tokens::TICKET_LIFETIME)
        .await
        .unwrap();
    let grant =
        TokenGrant::from_answer("GetAuthorizerAccessToken", "stale".into(), 1, None).unwrap();
    tokens.save_authorization("ks_app", grant).await.unwrap();
    sandbox.fail_token_endpoint("GetAuthorizerAccessToken", Some(100200113));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let token = tokens.authorizer_token("ks_app");
    let errors =
        sixty_four_callers_get_authorization_lost(&sandbox, "GetAuthorizerAccessToken", || {
            let token = token.clone();
            async move { token.get().await.map(drop) }
        })
        .await;
    for e in &errors {
        assert!(
            matches!(e, Error::AuthorizationLost { vendor: Vendor::Kuaishou, app_id, cause } if app_id == "ks_app" && cause.code == 100200113),
            "{e:?}"
        );
    }
}
