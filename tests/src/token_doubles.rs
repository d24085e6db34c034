//! Test doubles for the token manager: a store that fails its saves on demand, and a vendor
//! whose refresh tokens are single-use (Baidu's kind), counting the dead ones it is sent.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use core_http::token::{
    BoxFuture, Fence, MemoryStore, StoredToken, TokenFetcher, TokenGrant, TokenKey, TokenStore,
};
use core_http::{Error, Secret};

/// A memory store whose next `fail` saves (or every save, `forever`) fail as a store that is
/// down does.
#[derive(Default)]
pub struct FlakyStore {
    /// Where the values live.
    pub inner: MemoryStore,
    /// Saves left to fail.
    pub fail: AtomicUsize,
    /// Every save fails.
    pub forever: AtomicBool,
    /// Saves refused so far.
    pub refused: AtomicUsize,
    /// Every save waits while this holds (a store that does not answer yet).
    pub stall: AtomicBool,
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
        if self.stall.load(Ordering::SeqCst) {
            // Waits while `stall` holds (a store that does not answer), then saves.
            return Box::pin(async move {
                while self.stall.load(Ordering::SeqCst) {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
                self.inner.save(key, token, expected).await
            });
        }
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
pub struct SingleUse {
    /// The one refresh token it accepts now.
    pub live: Mutex<String>,
    /// Tokens issued.
    pub issued: AtomicUsize,
    /// Dead refresh tokens it was sent.
    pub dead: AtomicUsize,
    /// The lifetime of the access tokens it issues.
    pub lifetime: Duration,
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
