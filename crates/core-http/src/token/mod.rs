//! Tokens that take care of themselves: a cache with an expiry margin, single-flight refresh
//! (one refresh per expiry across tasks, and across processes through a [`TokenStore`] lock),
//! compare-and-invalidate, and stores for one process ([`MemoryStore`]) or a fleet
//! (`RedisStore`, feature `redis`).
//!
//! The vendor crates supply the [`TokenFetcher`]s (how to get a platform token from the pushed
//! ticket, how to refresh an authorized app's token); [`RefreshingToken`] does the rest and is
//! a [`TokenProvider`] any handle can use.

mod manager;
mod memory;
#[cfg(feature = "redis")]
mod redis_store;
mod store;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwapOption;

pub use manager::{load_ticket, refresh_token_of, store_ticket, TokenManager};
pub use memory::MemoryStore;
#[cfg(feature = "redis")]
pub use redis_store::RedisStore;
pub use store::{Fence, StoredToken, TokenKey, TokenStore};

use crate::{Error, Secret, TokenFuture, TokenProvider};

/// A boxed future, as the object-safe traits here return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a token endpoint answered.
#[derive(Clone, Debug)]
pub struct TokenGrant {
    /// The new access token.
    pub access_token: Secret,
    /// Its lifetime as the vendor states it.
    pub expires_in: Duration,
    /// The (rotated) refresh token, when the vendor returns one: always persisted.
    pub refresh_token: Option<Secret>,
}

impl TokenGrant {
    /// A grant from a token endpoint's answer (the generated responses guarantee the token
    /// and the lifetime); a lifetime that is not positive is an [`Error::Decode`].
    pub fn from_answer(
        endpoint: &'static str,
        access_token: Secret,
        expires_in: i64,
        refresh_token: impl Into<Option<Secret>>,
    ) -> Result<Self, Error> {
        if expires_in <= 0 {
            return Err(Error::Decode {
                endpoint,
                path: "expires_in".into(),
                message: format!("the token's lifetime must be positive, got {expires_in}"),
                body: Default::default(),
            });
        }
        Ok(TokenGrant {
            access_token,
            expires_in: Duration::from_secs(expires_in as u64),
            refresh_token: refresh_token.into(),
        })
    }
}

/// Gets a fresh token from the vendor. `current` is what the store holds (the refresh token
/// to use, for authorized apps); the vendor crates implement this per token kind.
pub trait TokenFetcher: Send + Sync {
    /// Fetches a new token.
    fn fetch<'a>(
        &'a self,
        current: Option<&'a StoredToken>,
    ) -> BoxFuture<'a, Result<TokenGrant, Error>>;
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[derive(Debug)]
struct Cached {
    value: Secret,
    /// Refresh from this instant on (expiry minus margin), in ms since the epoch.
    refresh_at_ms: u64,
}

/// Tuning of a [`RefreshingToken`].
#[derive(Clone, Debug)]
pub struct RefreshPolicy {
    /// Refresh this long before expiry (capped at a fifth of the lifetime, so short-lived
    /// tokens are still used).
    pub margin: Duration,
    /// How long the cross-process refresh lock lives if its holder dies.
    pub lock_ttl: Duration,
    /// How often a waiter looks for the token another process is fetching.
    pub poll_interval: Duration,
    /// How long a call waits for a token before giving up.
    pub max_wait: Duration,
    /// After a failed refresh, calls get the same error for this long without asking the
    /// vendor again.
    pub failure_backoff: Duration,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        RefreshPolicy {
            margin: Duration::from_secs(300),
            lock_ttl: Duration::from_secs(10),
            poll_interval: Duration::from_millis(50),
            max_wait: Duration::from_secs(30),
            failure_backoff: Duration::from_secs(1),
        }
    }
}

/// A token that refreshes itself: cached in memory, shared through a [`TokenStore`],
/// refreshed by one caller at a time. Use it as the token of any handle
/// (`TokenSource::Provider(Arc::new(refreshing))`).
pub struct RefreshingToken {
    key: TokenKey,
    fetcher: Arc<dyn TokenFetcher>,
    store: Arc<dyn TokenStore>,
    policy: RefreshPolicy,
    cache: ArcSwapOption<Cached>,
    refresh: tokio::sync::Mutex<()>,
    /// The last refresh failure and when it happened (ms since the epoch).
    last_failure: std::sync::Mutex<Option<(u64, Error)>>,
}

impl std::fmt::Debug for RefreshingToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshingToken")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl RefreshingToken {
    /// A token stored under `key`, fetched by `fetcher`.
    pub fn new(key: TokenKey, fetcher: Arc<dyn TokenFetcher>, store: Arc<dyn TokenStore>) -> Self {
        Self::with_policy(key, fetcher, store, RefreshPolicy::default())
    }

    /// Same, with explicit tuning.
    pub fn with_policy(
        key: TokenKey,
        fetcher: Arc<dyn TokenFetcher>,
        store: Arc<dyn TokenStore>,
        policy: RefreshPolicy,
    ) -> Self {
        RefreshingToken {
            key,
            fetcher,
            store,
            policy,
            cache: ArcSwapOption::empty(),
            refresh: tokio::sync::Mutex::new(()),
            last_failure: std::sync::Mutex::new(None),
        }
    }

    /// The store key.
    pub fn key(&self) -> &TokenKey {
        &self.key
    }

    fn cached(&self, now: u64) -> Option<Secret> {
        let guard = self.cache.load();
        guard
            .as_ref()
            .filter(|c| c.refresh_at_ms > now)
            .map(|c| c.value.clone())
    }

    fn refresh_at(&self, stored: &StoredToken) -> Option<(Secret, u64)> {
        let value = stored.access_token.clone()?;
        let lifetime = stored.expires_at_ms.saturating_sub(stored.issued_at_ms);
        let margin = (self.policy.margin.as_millis() as u64).min(lifetime / 5);
        Some((value, stored.expires_at_ms.saturating_sub(margin)))
    }

    /// Uses a stored token if it is still fresh.
    fn adopt(&self, stored: &StoredToken, now: u64) -> Option<Secret> {
        let (value, refresh_at_ms) = self.refresh_at(stored)?;
        if refresh_at_ms <= now {
            return None;
        }
        self.cache.store(Some(Arc::new(Cached {
            value: value.clone(),
            refresh_at_ms,
        })));
        Some(value)
    }

    /// The current token: from memory (lock-free), else from the store, else fetched by
    /// exactly one caller while the others wait.
    pub async fn get(&self) -> Result<Secret, Error> {
        if let Some(token) = self.cached(now_ms()) {
            return Ok(token);
        }
        let _local = self.refresh.lock().await;
        if let Some(err) = self.recent_failure() {
            return Err(err);
        }
        let deadline = now_ms() + self.policy.max_wait.as_millis() as u64;
        loop {
            let now = now_ms();
            if let Some(token) = self.cached(now) {
                return Ok(token);
            }
            let stored = self.store.load(&self.key).await?;
            if let Some(token) = stored.as_ref().and_then(|s| self.adopt(s, now)) {
                return Ok(token);
            }
            if let Some(fence) = self.store.lock(&self.key, self.policy.lock_ttl).await? {
                let result = self.fetch_locked().await.map_err(|e| self.failed(e));
                self.store.unlock(&self.key, &fence).await?;
                return result;
            }
            // Another process is refreshing: wait for its token (or for its lock to expire).
            if now_ms() > deadline {
                return Err(Error::Credentials {
                    endpoint: "token refresh",
                    message: format!("timed out waiting for the refresh of {}", self.key),
                });
            }
            tokio::time::sleep(self.policy.poll_interval).await;
        }
    }

    /// The error of a refresh that failed within the backoff, if any.
    fn recent_failure(&self) -> Option<Error> {
        let last = self.last_failure.lock().unwrap_or_else(|p| p.into_inner());
        let backoff = self.policy.failure_backoff.as_millis() as u64;
        match &*last {
            Some((
                at,
                Error::TokenRefresh {
                    key,
                    vendor,
                    message,
                },
            )) if at + backoff > now_ms() => Some(Error::TokenRefresh {
                key: key.clone(),
                vendor: vendor.clone(),
                message: message.clone(),
            }),
            _ => None,
        }
    }

    /// Records a refresh failure as a [`Error::TokenRefresh`] and returns it.
    fn failed(&self, cause: Error) -> Error {
        let err = match cause {
            e @ Error::TokenRefresh { .. } => e,
            cause => Error::TokenRefresh {
                key: self.key.to_string(),
                vendor: cause.vendor().cloned(),
                message: cause.to_string(),
            },
        };
        let copy = match &err {
            Error::TokenRefresh {
                key,
                vendor,
                message,
            } => Error::TokenRefresh {
                key: key.clone(),
                vendor: vendor.clone(),
                message: message.clone(),
            },
            _ => unreachable!(),
        };
        *self.last_failure.lock().unwrap_or_else(|p| p.into_inner()) = Some((now_ms(), copy));
        err
    }

    async fn fetch_locked(&self) -> Result<Secret, Error> {
        // Double-check under the lock: the previous holder may have just saved a token.
        let stored = self.store.load(&self.key).await?;
        let now = now_ms();
        if let Some(token) = stored.as_ref().and_then(|s| self.adopt(s, now)) {
            return Ok(token);
        }
        tracing::debug!(key = %self.key, "refreshing token");
        let grant = self.fetcher.fetch(stored.as_ref()).await?;
        let issued = now_ms();
        let new = StoredToken {
            access_token: Some(grant.access_token.clone()),
            issued_at_ms: issued,
            expires_at_ms: issued + grant.expires_in.as_millis() as u64,
            refresh_token: grant
                .refresh_token
                .clone()
                .or_else(|| stored.as_ref().and_then(|s| s.refresh_token.clone())),
        };
        // Save only over the refresh token we used: never drop a rotated one.
        let used = stored.as_ref().and_then(|s| s.refresh_token.as_ref());
        if !self.store.save(&self.key, &new, used).await? {
            tracing::warn!(key = %self.key, "stored refresh token changed during refresh; keeping the stored one");
        }
        self.adopt(&new, now_ms())
            .ok_or_else(|| Error::Credentials {
                endpoint: "token refresh",
                message: format!(
                    "the vendor issued an already expired token for {}",
                    self.key
                ),
            })
    }

    /// Drops the cached token if it is still `failed` (compare-and-invalidate), in memory and
    /// in the store, so the next call refreshes. A token another caller already refreshed is
    /// kept.
    pub async fn invalidate_token(&self, failed: &Secret) -> Result<(), Error> {
        let current = self.cache.load();
        if current.as_ref().is_some_and(|c| &c.value == failed) {
            self.cache.compare_and_swap(&current, None);
        }
        self.store.invalidate(&self.key, failed).await
    }
}

impl TokenProvider for RefreshingToken {
    fn token(&self) -> TokenFuture<'_> {
        Box::pin(self.get())
    }

    fn app_id(&self) -> Option<&str> {
        self.key.authorizer_app_id()
    }

    fn invalidate<'a>(&'a self, failed: &'a Secret) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if let Err(e) = self.invalidate_token(failed).await {
                tracing::warn!(key = %self.key, error = %e, "could not invalidate token in the store");
            }
        })
    }
}
