//! `RefreshingToken` on the in-memory store: single-flight refresh, compare-and-invalidate,
//! failure backoff, and the atomic rotation of refresh tokens.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use core_http::token::{
    BoxFuture, MemoryStore, RefreshPolicy, RefreshingToken, StoredToken, TokenFetcher, TokenGrant,
    TokenKey, TokenStore,
};
use core_http::{Error, Secret, Vendor, VendorError};

/// Issues `token-N` (and `refresh-N`), counting calls; fails while `fail` is set.
#[derive(Default)]
struct CountingFetcher {
    calls: AtomicUsize,
    fail: std::sync::atomic::AtomicBool,
    delay_ms: u64,
    lifetime_ms: u64,
    /// The refresh tokens it was given.
    used_refresh: std::sync::Mutex<Vec<Option<Secret>>>,
}

impl TokenFetcher for CountingFetcher {
    fn fetch<'a>(
        &'a self,
        current: Option<&'a StoredToken>,
    ) -> BoxFuture<'a, Result<TokenGrant, Error>> {
        Box::pin(async move {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            self.used_refresh
                .lock()
                .unwrap()
                .push(current.and_then(|c| c.refresh_token.clone()));
            tokio::time::sleep(Duration::from_millis(self.delay_ms)).await;
            if self.fail.load(Ordering::SeqCst) {
                return Err(Error::Vendor(VendorError {
                    vendor: Vendor::Wechat,
                    endpoint: "GetComponentAccessToken",
                    status: 200,
                    code: 61006,
                    message: "ticket invalid".into(),
                    documented: None,
                    request_id: None,
                }));
            }
            Ok(TokenGrant {
                access_token: Secret::from(format!("token-{n}")),
                expires_in: Duration::from_millis(if self.lifetime_ms == 0 {
                    7_200_000
                } else {
                    self.lifetime_ms
                }),
                refresh_token: Some(Secret::from(format!("refresh-{n}"))),
            })
        })
    }
}

fn token(fetcher: Arc<CountingFetcher>, store: Arc<dyn TokenStore>) -> Arc<RefreshingToken> {
    Arc::new(RefreshingToken::with_policy(
        TokenKey::component(Vendor::Wechat, "wx_platform"),
        fetcher,
        store,
        RefreshPolicy {
            margin: Duration::from_millis(0),
            ..Default::default()
        },
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_concurrent_callers_cause_one_refresh() {
    let fetcher = Arc::new(CountingFetcher {
        delay_ms: 50,
        ..Default::default()
    });
    let t = token(fetcher.clone(), Arc::new(MemoryStore::new()));
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let t = t.clone();
            tokio::spawn(async move { t.get().await.unwrap() })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), Secret::from("token-1"));
    }
    assert_eq!(fetcher.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once_with_the_rotated_refresh_token() {
    let fetcher = Arc::new(CountingFetcher {
        lifetime_ms: 100,
        ..Default::default()
    });
    let store = Arc::new(MemoryStore::new());
    let t = token(fetcher.clone(), store.clone());
    assert_eq!(t.get().await.unwrap(), Secret::from("token-1"));
    assert_eq!(t.get().await.unwrap(), Secret::from("token-1"));
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(t.get().await.unwrap(), Secret::from("token-2"));
    assert_eq!(fetcher.calls.load(Ordering::SeqCst), 2);
    // The second refresh used the refresh token the first one stored.
    assert_eq!(
        *fetcher.used_refresh.lock().unwrap(),
        vec![None, Some(Secret::from("refresh-1"))]
    );
    let stored = store.load(t.key()).await.unwrap().unwrap();
    assert_eq!(stored.refresh_token, Some(Secret::from("refresh-2")));
}

#[tokio::test]
async fn invalidation_only_drops_the_token_that_failed() {
    let fetcher = Arc::new(CountingFetcher::default());
    let t = token(fetcher.clone(), Arc::new(MemoryStore::new()));
    let first = t.get().await.unwrap();
    t.invalidate_token(&first).await.unwrap();
    let second = t.get().await.unwrap();
    assert_eq!(second, Secret::from("token-2"));
    // A late report about the old token must not throw away the fresh one.
    t.invalidate_token(&first).await.unwrap();
    assert_eq!(t.get().await.unwrap(), second);
    assert_eq!(fetcher.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_refresh_is_a_typed_error_without_a_storm() {
    let fetcher = Arc::new(CountingFetcher::default());
    fetcher.fail.store(true, Ordering::SeqCst);
    let t = token(fetcher.clone(), Arc::new(MemoryStore::new()));
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let t = t.clone();
            tokio::spawn(async move { t.get().await })
        })
        .collect();
    for task in tasks {
        let err = task.await.unwrap().unwrap_err();
        let Error::TokenRefresh { key, vendor, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(&**key, "miniapp:wechat:wx_platform:component");
        assert_eq!(vendor.as_ref().map(|v| v.code), Some(61006));
    }
    assert_eq!(
        fetcher.calls.load(Ordering::SeqCst),
        1,
        "one refresh attempt per backoff window"
    );
}

#[tokio::test]
async fn a_stale_writer_never_overwrites_a_rotated_refresh_token() {
    let store = MemoryStore::new();
    let key = TokenKey::authorizer(Vendor::Baidu, "tp", "app");
    let v1 = StoredToken {
        refresh_token: Some("46.one".into()),
        ..Default::default()
    };
    store.put(&key, &v1).await.unwrap();
    let v2 = StoredToken {
        refresh_token: Some("46.two".into()),
        ..Default::default()
    };
    assert!(store.save(&key, &v2, Some(&"46.one".into())).await.unwrap());
    let stale = StoredToken {
        refresh_token: Some("46.stale".into()),
        ..Default::default()
    };
    assert!(!store
        .save(&key, &stale, Some(&"46.one".into()))
        .await
        .unwrap());
    assert_eq!(
        store.load(&key).await.unwrap().unwrap().refresh_token,
        Some("46.two".into())
    );
}

#[test]
fn keys_are_namespaced_per_platform_and_app() {
    assert_ne!(
        TokenKey::component(Vendor::Baidu, "tp1"),
        TokenKey::component(Vendor::Baidu, "tp2")
    );
    assert_ne!(
        TokenKey::authorizer(Vendor::Baidu, "tp1", "app"),
        TokenKey::authorizer(Vendor::Baidu, "tp2", "app")
    );
    assert_ne!(
        TokenKey::authorizer(Vendor::Baidu, "tp", "app"),
        TokenKey::authorizer(Vendor::Kuaishou, "tp", "app")
    );
}
