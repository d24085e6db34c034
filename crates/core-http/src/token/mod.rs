//! Tokens that take care of themselves: a cache with an expiry margin, single-flight refresh
//! (one refresh per expiry across tasks, and across processes through a [`TokenStore`] lock),
//! compare-and-invalidate, and stores for one process ([`MemoryStore`]), the processes of one
//! host (`SqliteStore`, feature `sqlite`) or a fleet (`RedisStore`, feature `redis`).
//!
//! The vendor crates supply the [`TokenFetcher`]s (how to get a platform token from the pushed
//! ticket, how to refresh an authorized app's token); [`RefreshingToken`] does the rest and is
//! a [`TokenProvider`] any handle can use.

mod manager;
mod memory;
#[cfg(feature = "redis")]
mod redis_store;
#[cfg(feature = "sqlite")]
mod sqlite_store;
mod store;
mod unsaved;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwapOption;
use tokio::sync::watch;

pub use manager::{load_ticket, refresh_token_of, store_ticket, TokenManager, CACHED_AUTHORIZERS};
pub use memory::MemoryStore;
#[cfg(feature = "redis")]
pub use redis_store::RedisStore;
#[cfg(feature = "sqlite")]
pub use sqlite_store::SqliteStore;
pub use store::{Fence, Locked, StoredToken, TokenKey, TokenStore};
pub use unsaved::{
    flush_unsaved, import_rescued, rescued_imported, saved_late, set_rescue_file, unsaved_keys,
};

use crate::{Error, Secret, TokenFuture, TokenProvider, VendorError};

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
    /// How often a refresh waiting for another process's lock looks for the token it saves
    /// (waiters in this process learn of it the moment it is saved).
    pub poll_interval: Duration,
    /// How long a refresh waits for another process's lock before giving up.
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

/// A failed refresh: kept for the failure backoff and handed to every caller that waited.
#[derive(Clone, Debug)]
enum RefreshFailure {
    /// The vendor refused the refresh token: the authorization is gone.
    Lost(VendorError),
    /// Anything else.
    Failed {
        vendor: Option<VendorError>,
        message: String,
        /// Trying again later may succeed (throttled, busy, unreachable, a store failure).
        retryable: bool,
    },
}

/// What a refresh ends with, as every waiter receives it.
type Outcome = Result<Secret, RefreshFailure>;

/// A token that refreshes itself: cached in memory, shared through a [`TokenStore`],
/// refreshed once per expiry. Use it as the token of any handle
/// (`TokenSource::Provider(Arc::new(refreshing))`).
///
/// **Cancel-safe.** A refresh runs in its own Tokio task, owned by the token, not by the
/// caller that started it: callers wait for its shared outcome and may be dropped at any
/// `.await` (a timeout, `select!`, an aborted task) without cancelling it, so a refresh token
/// the vendor rotated is always saved and the store's lock always released. The vendor's
/// answer is written to the store (access and refresh token as one value) before anything
/// else happens. When that write fails (the store restarting, busy or full), the refresh
/// still succeeds: the rotated token is kept in this process and saved again with backoff by
/// a task of its own until the store takes it (or says another process stored a newer one),
/// and every refresh meanwhile starts from it, never from the store's dead one
/// ([`unsaved_keys`], [`flush_unsaved`]). Only the loss of the process while the store is down
/// can still lose it.
pub struct RefreshingToken {
    inner: Arc<Inner>,
}

struct Inner {
    key: TokenKey,
    fetcher: Arc<dyn TokenFetcher>,
    store: Arc<dyn TokenStore>,
    policy: RefreshPolicy,
    cache: ArcSwapOption<Cached>,
    /// The refresh in flight, if any: its outcome arrives here (`None` until it ends).
    flight: std::sync::Mutex<Option<watch::Receiver<Option<Outcome>>>>,
    /// The last refresh failure and when it happened (ms since the epoch).
    last_failure: std::sync::Mutex<Option<(u64, RefreshFailure)>>,
}

impl std::fmt::Debug for RefreshingToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshingToken")
            .field("key", &self.inner.key)
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
            inner: Arc::new(Inner {
                key,
                fetcher,
                store,
                policy,
                cache: ArcSwapOption::empty(),
                flight: std::sync::Mutex::new(None),
                last_failure: std::sync::Mutex::new(None),
            }),
        }
    }

    /// The store key.
    pub fn key(&self) -> &TokenKey {
        &self.inner.key
    }

    /// The current token: from memory (lock-free), else from the store, else from the one
    /// refresh in flight (started if none is). Needs a Tokio runtime.
    pub async fn get(&self) -> Result<Secret, Error> {
        let inner = &self.inner;
        if let Some(token) = inner.cached(now_ms()) {
            return Ok(token);
        }
        if let Some(failure) = inner.recent_failure() {
            return Err(inner.error(failure));
        }
        let mut outcome = inner.join_or_start();
        // Waiting here cancels nothing when this future is dropped.
        let result = loop {
            if let Some(result) = outcome.borrow_and_update().clone() {
                break result;
            }
            if outcome.changed().await.is_err() {
                if let Some(result) = outcome.borrow().clone() {
                    break result;
                }
                let failure = RefreshFailure::Failed {
                    vendor: None,
                    message: "the refresh task ended without an answer (a panic in the token \
                              store or fetcher, or the runtime shutting down)"
                        .into(),
                    retryable: true,
                };
                inner.record_failure(&failure);
                break Err(failure);
            }
        };
        result.map_err(|failure| inner.error(failure))
    }

    /// Forgets the last refresh failure, so the next call asks the vendor again at once instead
    /// of returning it for the rest of [`RefreshPolicy::failure_backoff`]. The token manager
    /// calls it when what the refresh lacked arrives (a pushed ticket, a new authorization).
    pub fn reset_failure_backoff(&self) {
        *self
            .inner
            .last_failure
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Drops the cached token if it is still `failed` (compare-and-invalidate), in memory and
    /// in the store, so the next call refreshes. A token another caller already refreshed is
    /// kept.
    pub async fn invalidate_token(&self, failed: &Secret) -> Result<(), Error> {
        let inner = &self.inner;
        let current = inner.cache.load();
        if current.as_ref().is_some_and(|c| &c.value == failed) {
            inner.cache.compare_and_swap(&current, None);
        }
        inner.store.invalidate(&inner.key, failed).await
    }
}

impl Inner {
    fn cached(&self, now: u64) -> Option<Secret> {
        let guard = self.cache.load();
        guard
            .as_ref()
            .filter(|c| c.refresh_at_ms > now)
            .map(|c| c.value.clone())
    }

    /// Uses a stored token if it is still fresh.
    fn adopt(&self, stored: &StoredToken, now: u64) -> Option<Secret> {
        let value = stored.access_token.clone()?;
        let lifetime = stored.expires_at_ms.saturating_sub(stored.issued_at_ms);
        let margin = (self.policy.margin.as_millis() as u64).min(lifetime / 5);
        let refresh_at_ms = stored.expires_at_ms.saturating_sub(margin);
        if refresh_at_ms <= now {
            return None;
        }
        self.cache.store(Some(Arc::new(Cached {
            value: value.clone(),
            refresh_at_ms,
        })));
        Some(value)
    }

    /// The outcome channel of the refresh in flight, or of a new one spawned now.
    fn join_or_start(self: &Arc<Self>) -> watch::Receiver<Option<Outcome>> {
        let mut flight = self.flight.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(running) = flight.as_ref() {
            if running.borrow().is_none() && running.has_changed().is_ok() {
                return running.clone();
            }
        }
        let (done, outcome) = watch::channel(None);
        *flight = Some(outcome.clone());
        drop(flight);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            done.send_replace(Some(Err(RefreshFailure::Failed {
                vendor: None,
                message: "refreshing a token needs a Tokio runtime".into(),
                retryable: false,
            })));
            return outcome;
        };
        let inner = self.clone();
        runtime.spawn(async move {
            let result = inner.refresh().await;
            if let Err(failure) = &result {
                inner.record_failure(failure);
            }
            done.send_replace(Some(result));
        });
        outcome
    }

    /// The body of the refresh task: the store's fresh token, or the lock and a fetch, or
    /// another process's token once it saves it.
    async fn refresh(self: &Arc<Self>) -> Outcome {
        let deadline = tokio::time::Instant::now() + self.policy.max_wait;
        loop {
            // A rotated token the store has not taken yet is the newest there is.
            if let Some(token) =
                unsaved::get(&self.store, &self.key).and_then(|u| self.adopt(&u.token, now_ms()))
            {
                return Ok(token);
            }
            let stored = self.store.load(&self.key).await.map_err(failed)?;
            if let Some(token) = stored.as_ref().and_then(|s| self.adopt(s, now_ms())) {
                return Ok(token);
            }
            if let Some((fence, stored)) = self
                .store
                .lock_then_load(&self.key, self.policy.lock_ttl)
                .await
                .map_err(failed)?
            {
                let mut lock = LockGuard {
                    store: self.store.clone(),
                    key: self.key.clone(),
                    fence: Some(fence),
                };
                let result = self.fetch_locked(&mut lock, stored).await;
                lock.release().await;
                return result;
            }
            // Another process is refreshing: look for the token it saves (or for its lock to
            // expire), within the remaining wait.
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(RefreshFailure::Failed {
                    vendor: None,
                    message: format!("timed out waiting for the refresh of {}", self.key),
                    retryable: true,
                });
            }
            tokio::time::sleep(self.policy.poll_interval.min(deadline - now)).await;
        }
    }

    /// The refresh under the store's lock, from `stored`, the value read under it (the
    /// double-check: the previous holder may have just saved a token); a save that lands
    /// releases `lock` with it.
    async fn fetch_locked(
        self: &Arc<Self>,
        lock: &mut LockGuard,
        stored: Option<StoredToken>,
    ) -> Outcome {
        let stored_refresh = stored.as_ref().and_then(|s| s.refresh_token.clone());
        // A rotated token this process could not save yet is newer than the store's, as long
        // as the store still holds what it held then (else another process wrote: it wins).
        let current = match unsaved::get(&self.store, &self.key) {
            Some(u) if u.expected == stored_refresh => Some(u.token),
            Some(u) => {
                unsaved::forget(&self.store, &self.key, &u);
                tracing::warn!(key = %self.key, "the store's refresh token changed while a rotated one waited to be saved; keeping the stored one");
                stored
            }
            None => stored,
        };
        if let Some(token) = current.as_ref().and_then(|s| self.adopt(s, now_ms())) {
            return Ok(token);
        }
        tracing::debug!(key = %self.key, "refreshing token");
        let grant = self
            .fetcher
            .fetch(current.as_ref())
            .await
            .map_err(|e| self.failure(e))?;
        // The vendor's answer is saved before anything else: a rotated refresh token must
        // outlive everything but the loss of this process while the store is down.
        let issued = now_ms();
        let new = StoredToken {
            access_token: Some(grant.access_token),
            issued_at_ms: issued,
            expires_at_ms: issued + grant.expires_in.as_millis() as u64,
            refresh_token: grant
                .refresh_token
                .or_else(|| current.as_ref().and_then(|s| s.refresh_token.clone())),
        };
        // A rotated refresh token is on disk (the rescue file, when set) until the store
        // takes it: a process killed in between leaves it for the next one.
        // Dropped before the store answers, the guard hands the token to a saver task.
        let pending = (new.refresh_token != stored_refresh).then(|| {
            unsaved::PendingSave::start(
                &self.store,
                &self.key,
                unsaved::Unsaved {
                    token: new.clone(),
                    expected: stored_refresh.clone(),
                },
            )
        });
        // Save only over the refresh token the store held: never drop a rotated one.
        let saved = match lock.fence.clone() {
            Some(fence) => {
                let saved = self
                    .store
                    .save_and_unlock(&self.key, &new, stored_refresh.as_ref(), &fence)
                    .await;
                if saved.is_ok() {
                    lock.fence = None;
                }
                saved
            }
            None => {
                self.store
                    .save(&self.key, &new, stored_refresh.as_ref())
                    .await
            }
        };
        if let Some(pending) = pending {
            pending.done();
        }
        match saved {
            Ok(true) => unsaved::saved(&self.store, &self.key),
            Ok(false) => {
                unsaved::saved(&self.store, &self.key);
                tracing::warn!(key = %self.key, "stored refresh token changed during refresh; keeping the stored one");
            }
            // The vendor has answered: its token is the only live one. The callers get it, it
            // stays in memory, and a task saves it once the store answers again.
            Err(e) => {
                tracing::warn!(key = %self.key, error = %e, "could not save the rotated token; keeping it in memory and saving it again until the store takes it");
                unsaved::keep(
                    &self.store,
                    &self.key,
                    unsaved::Unsaved {
                        token: new.clone(),
                        expected: stored_refresh,
                    },
                );
            }
        }
        self.adopt(&new, now_ms())
            .ok_or_else(|| RefreshFailure::Failed {
                vendor: None,
                message: format!(
                    "the vendor issued an already expired token for {}",
                    self.key
                ),
                retryable: true,
            })
    }

    /// What a fetch error means: a lost authorization when the vendor refused an authorized
    /// app's refresh token, a plain failure otherwise.
    fn failure(&self, cause: Error) -> RefreshFailure {
        match cause {
            Error::TokenRefresh {
                vendor,
                message,
                retryable,
                ..
            } => RefreshFailure::Failed {
                vendor: vendor.map(|v| *v),
                message,
                retryable,
            },
            Error::AuthorizationLost { cause, .. } => RefreshFailure::Lost(cause),
            cause => match cause.vendor() {
                Some(v)
                    if self.key.authorizer_app_id().is_some()
                        && v.vendor.is_refresh_token_refused(v) =>
                {
                    RefreshFailure::Lost(v.clone())
                }
                vendor => RefreshFailure::Failed {
                    vendor: vendor.cloned(),
                    message: cause.to_string(),
                    retryable: crate::retry::is_transient(&cause),
                },
            },
        }
    }

    fn record_failure(&self, failure: &RefreshFailure) {
        *self.last_failure.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((now_ms(), failure.clone()));
    }

    /// The failure of a refresh within the backoff, if any.
    fn recent_failure(&self) -> Option<RefreshFailure> {
        let last = self.last_failure.lock().unwrap_or_else(|p| p.into_inner());
        let backoff = self.policy.failure_backoff.as_millis() as u64;
        match &*last {
            Some((at, failure)) if at + backoff > now_ms() => Some(failure.clone()),
            _ => None,
        }
    }

    /// The caller's error for a failure.
    fn error(&self, failure: RefreshFailure) -> Error {
        match failure {
            RefreshFailure::Lost(cause) => Error::AuthorizationLost {
                vendor: cause.vendor,
                app_id: self.key.authorizer_app_id().unwrap_or_default().to_owned(),
                cause,
            },
            RefreshFailure::Failed {
                vendor,
                message,
                retryable,
            } => Error::TokenRefresh {
                key: self.key.as_str().into(),
                vendor: vendor.map(Box::new),
                message,
                retryable,
            },
        }
    }
}

/// A store error during a refresh: the store may answer again later.
fn failed(e: Error) -> RefreshFailure {
    RefreshFailure::Failed {
        vendor: e.vendor().cloned(),
        message: e.to_string(),
        retryable: true,
    }
}

/// The store's refresh lock, released on every exit: [`LockGuard::release`] on the normal
/// path, and a spawned unlock from `Drop` when the refresh task unwinds (a panic in a store
/// or fetcher) or is cancelled. A lock whose holder dies with its process expires after
/// [`RefreshPolicy::lock_ttl`].
struct LockGuard {
    store: Arc<dyn TokenStore>,
    key: TokenKey,
    fence: Option<Fence>,
}

impl LockGuard {
    async fn release(mut self) {
        if let Some(fence) = &self.fence {
            if let Err(e) = self.store.unlock(&self.key, fence).await {
                store::lock_left_to_expire(&self.key, &e);
            }
        }
        self.fence = None;
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let Some(fence) = self.fence.take() else {
            return;
        };
        let (store, key) = (self.store.clone(), self.key.clone());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = store.unlock(&key, &fence).await;
            });
        }
    }
}

impl TokenProvider for RefreshingToken {
    fn token(&self) -> TokenFuture<'_> {
        Box::pin(self.get())
    }

    fn app_id(&self) -> Option<&str> {
        self.inner.key.authorizer_app_id()
    }

    fn invalidate<'a>(&'a self, failed: &'a Secret) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if let Err(e) = self.invalidate_token(failed).await {
                tracing::warn!(key = %self.inner.key, error = %e, "could not invalidate token in the store");
            }
        })
    }
}
