//! A rotated refresh token outlives a failing store: the refresh still succeeds, the token is
//! kept in memory and saved once the store answers again, and no refresh ever starts from the
//! store's dead refresh token meanwhile (the vendor here refuses a refresh token used twice, as
//! Baidu's single-use ones are).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use core_http::token::{
    self, BoxFuture, Fence, MemoryStore, RefreshPolicy, RefreshingToken, StoredToken, TokenFetcher,
    TokenGrant, TokenKey, TokenStore,
};
use core_http::{Error, Secret, Vendor};

/// A memory store whose next `fail` saves (or every save, `forever`) fail as a store that is
/// down does.
#[derive(Default)]
struct FlakyStore {
    inner: MemoryStore,
    fail: AtomicUsize,
    forever: AtomicBool,
    refused: AtomicUsize,
}

impl FlakyStore {
    fn failing(&self) -> bool {
        if self.forever.load(Ordering::SeqCst) {
            return true;
        }
        self.fail
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

impl TokenStore for FlakyStore {
    fn load<'a>(&'a self, key: &'a TokenKey) -> BoxFuture<'a, Result<Option<StoredToken>, Error>> {
        self.inner.load(key)
    }
    fn save<'a>(
        &'a self,
        key: &'a TokenKey,
        token: &'a StoredToken,
        expected: Option<&'a Secret>,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        if self.failing() {
            self.refused.fetch_add(1, Ordering::SeqCst);
            return Box::pin(async {
                Err(Error::Credentials {
                    endpoint: "token store",
                    message: "the store is down (test)".into(),
                })
            });
        }
        self.inner.save(key, token, expected)
    }
    fn lock<'a>(
        &'a self,
        key: &'a TokenKey,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<Fence>, Error>> {
        self.inner.lock(key, ttl)
    }
    fn unlock<'a>(
        &'a self,
        key: &'a TokenKey,
        fence: &'a Fence,
    ) -> BoxFuture<'a, Result<(), Error>> {
        self.inner.unlock(key, fence)
    }
    fn invalidate<'a>(
        &'a self,
        key: &'a TokenKey,
        failed: &'a Secret,
    ) -> BoxFuture<'a, Result<(), Error>> {
        self.inner.invalidate(key, failed)
    }
    fn put<'a>(
        &'a self,
        key: &'a TokenKey,
        token: &'a StoredToken,
    ) -> BoxFuture<'a, Result<(), Error>> {
        self.inner.put(key, token)
    }
}

/// A vendor with single-use refresh tokens: it knows one live refresh token per app, rotates
/// it on each refresh, and counts the dead ones it was sent.
struct SingleUse {
    live: Mutex<String>,
    issued: AtomicUsize,
    dead: AtomicUsize,
    lifetime: Duration,
}

impl TokenFetcher for SingleUse {
    fn fetch<'a>(
        &'a self,
        current: Option<&'a StoredToken>,
    ) -> BoxFuture<'a, Result<TokenGrant, Error>> {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            let sent = current
                .and_then(|c| c.refresh_token.as_ref())
                .map(|r| r.expose().to_owned());
            let mut live = self.live.lock().unwrap();
            if sent.as_deref() != Some(live.as_str()) {
                self.dead.fetch_add(1, Ordering::SeqCst);
                return Err(Error::Credentials {
                    endpoint: "GetOAuthToken",
                    message: "a dead refresh token was sent".into(),
                });
            }
            let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
            *live = format!("refresh-{n}");
            Ok(TokenGrant {
                access_token: Secret::from(format!("access-{n}")),
                expires_in: self.lifetime,
                refresh_token: Some(Secret::from(live.clone())),
            })
        })
    }
}

fn policy() -> RefreshPolicy {
    RefreshPolicy {
        failure_backoff: Duration::from_millis(10),
        ..RefreshPolicy::default()
    }
}

async fn setup(
    app: &str,
) -> (
    Arc<FlakyStore>,
    Arc<SingleUse>,
    Arc<RefreshingToken>,
    TokenKey,
) {
    let store = Arc::new(FlakyStore::default());
    let key = TokenKey::authorizer(Vendor::Baidu, "tp-unsaved", app);
    store
        .put(
            &key,
            &StoredToken {
                refresh_token: Some(Secret::from("refresh-0")),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let vendor = Arc::new(SingleUse {
        live: Mutex::new("refresh-0".into()),
        issued: AtomicUsize::new(0),
        dead: AtomicUsize::new(0),
        lifetime: Duration::from_millis(300),
    });
    let token = Arc::new(RefreshingToken::with_policy(
        key.clone(),
        vendor.clone(),
        store.clone() as Arc<dyn TokenStore>,
        policy(),
    ));
    (store, vendor, token, key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_survives_failed_saves_and_the_token_lands_later() {
    let (store, vendor, token, key) = setup("app-flaky").await;
    store.fail.store(3, Ordering::SeqCst);
    let callers: Vec<_> = (0..16)
        .map(|_| {
            let token = token.clone();
            tokio::spawn(async move {
                let until = tokio::time::Instant::now() + Duration::from_millis(1500);
                let mut calls = 0;
                while tokio::time::Instant::now() < until {
                    token.get().await.expect("every call gets a token");
                    calls += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                calls
            })
        })
        .collect();
    for c in callers {
        assert!(c.await.unwrap() > 10);
    }
    assert!(store.refused.load(Ordering::SeqCst) >= 1, "a save failed");
    assert!(
        vendor.issued.load(Ordering::SeqCst) >= 3,
        "several refreshes"
    );
    assert_eq!(
        vendor.dead.load(Ordering::SeqCst),
        0,
        "no dead refresh token sent"
    );
    let left = token::flush_unsaved(Duration::from_secs(5)).await;
    assert!(
        !left.contains(&key),
        "saved once the store answers: {left:?}"
    );
    let stored = store.load(&key).await.unwrap().unwrap();
    assert_eq!(
        stored.refresh_token.unwrap().expose(),
        vendor.live.lock().unwrap().as_str(),
        "the store ends with the live refresh token"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_down_for_good_costs_no_authorization_while_the_process_lives() {
    let (store, vendor, token, key) = setup("app-down").await;
    store.forever.store(true, Ordering::SeqCst);
    for round in 0..4 {
        let got = token
            .get()
            .await
            .expect("the refresh succeeds for its caller");
        assert_eq!(got.expose(), format!("access-{}", round + 1));
        // Past the refresh margin: the next get refreshes again, from the unsaved token.
        tokio::time::sleep(Duration::from_millis(260)).await;
    }
    assert_eq!(vendor.dead.load(Ordering::SeqCst), 0);
    assert!(token::unsaved_keys().contains(&key));
    let shown = format!("{:?}", token::unsaved_keys());
    assert!(
        !shown.contains("refresh-"),
        "keys only, never a token: {shown}"
    );
    // The store comes back: the newest rotated token lands.
    store.forever.store(false, Ordering::SeqCst);
    let left = token::flush_unsaved(Duration::from_secs(10)).await;
    assert!(!left.contains(&key), "{left:?}");
    assert_eq!(
        store
            .load(&key)
            .await
            .unwrap()
            .unwrap()
            .refresh_token
            .unwrap()
            .expose(),
        "refresh-4"
    );
    assert!(token::saved_late() >= 1);
}
