//! Memory of the pushes already received, so that a captured push posted again, or a push the
//! vendor re-delivers late, changes nothing.
//!
//! A push is identified by its signature (WeChat and Baidu `msg_signature`, Kuaishou
//! `kwaisign`): the SHA-1 over the message token, the timestamp, the nonce and the ciphertext,
//! unique to one push. It is remembered for twice the replay window (a push is accepted while
//! its timestamp is within the window before or after now), in this process (bounded) and, so
//! that instances behind a load balancer refuse the same replay, in the token store as a
//! lock that expires by itself (`SET NX PX` on Redis, a row with an expiry on SQLite).

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::crypto::CryptoError;
use crate::token::{Fence, TokenKey, TokenStore};
use crate::Error;

/// How many signatures a guard remembers in memory by default; the oldest is forgotten first
/// when more arrive within one window (the shared store still remembers it).
pub const DEFAULT_REMEMBERED: usize = 65_536;

/// How long a signature is remembered when the receiver checks no timestamp.
pub const UNCHECKED_WINDOW: Duration = Duration::from_secs(600);

/// Refuses a push received before. A push is identified by its signature and remembered for
/// twice the replay window, in this process (bounded, oldest forgotten first) and, when
/// [shared](ReplayGuard::shared), in the token store as a lock that expires by itself, so that
/// every instance on that store refuses it.
pub struct ReplayGuard {
    scope: String,
    store: Option<Arc<dyn TokenStore>>,
    capacity: usize,
    seen: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    /// Signatures in the order they were admitted, with when they are forgotten.
    order: VecDeque<(Instant, Arc<str>)>,
    set: HashSet<Arc<str>>,
}

/// A push let through once: [`ReplayGuard::release`] it when its handling failed and the
/// vendor is asked to push it again.
#[derive(Debug)]
#[must_use = "release the admission when the push's handling fails"]
pub struct Admission {
    signature: Arc<str>,
    fence: Option<Fence>,
}

impl std::fmt::Debug for ReplayGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayGuard")
            .field("scope", &self.scope)
            .field("shared", &self.store.is_some())
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl ReplayGuard {
    /// A guard for the pushes of `scope` (e.g. `push:wechat:wx_component`), in this process
    /// only.
    pub fn new(scope: impl Into<String>) -> Self {
        ReplayGuard {
            scope: scope.into(),
            store: None,
            capacity: DEFAULT_REMEMBERED,
            seen: Mutex::default(),
        }
    }

    /// The same guard sharing its memory through `store`: every instance on that store refuses
    /// a push any of them received.
    pub fn shared(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// The same guard remembering at most `signatures` in memory.
    pub fn with_capacity(mut self, signatures: usize) -> Self {
        self.capacity = signatures.max(1);
        self
    }

    /// How long a push verified against the replay window `max_age` is remembered.
    pub fn remembered_for(max_age: Option<Duration>) -> Duration {
        max_age.map_or(UNCHECKED_WINDOW, |w| w * 2 + Duration::from_secs(1))
    }

    fn key(&self, signature: &str) -> TokenKey {
        TokenKey::from_raw(format!("{}:{signature}", self.scope))
    }

    /// Lets the push of `signature` through once within `window`
    /// ([`ReplayGuard::remembered_for`]); [`CryptoError::Replayed`] when it was let through
    /// before. Call it only after the push's signature and timestamp were verified. A store
    /// that fails is an error (and the push is not remembered), so the vendor pushes again.
    pub async fn admit(&self, signature: &str, window: Duration) -> Result<Admission, Error> {
        let signature: Arc<str> = signature.trim().to_ascii_lowercase().into();
        if self.seen(&signature) {
            return Err(Error::Push(CryptoError::Replayed));
        }
        // The shared memory first; this process's memory only once it said yes, so a caller
        // dropped while the store answers leaves nothing here that would refuse the vendor's
        // next delivery.
        let fence = match &self.store {
            None => None,
            Some(store) => match store.lock(&self.key(&signature), window).await? {
                Some(fence) => Some(fence),
                None => {
                    self.remember(&signature, window);
                    return Err(Error::Push(CryptoError::Replayed));
                }
            },
        };
        // Without a store, two deliveries at once: the first to get here wins.
        if !self.remember(&signature, window) {
            return Err(Error::Push(CryptoError::Replayed));
        }
        Ok(Admission { signature, fence })
    }

    /// Whether this process remembers `signature` (forgetting what outlived its window).
    fn seen(&self, signature: &Arc<str>) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        while seen.order.front().is_some_and(|(until, _)| *until <= now) {
            let (_, gone) = seen.order.pop_front().expect("a front");
            seen.set.remove(&gone);
        }
        seen.set.contains(signature)
    }

    /// Remembers `signature` for `window` (the oldest forgotten beyond the capacity); `false`
    /// when it was remembered already.
    fn remember(&self, signature: &Arc<str>, window: Duration) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.set.contains(signature) {
            return false;
        }
        while seen.order.len() >= self.capacity {
            let (_, gone) = seen.order.pop_front().expect("a front");
            seen.set.remove(&gone);
        }
        seen.order
            .push_back((Instant::now() + window, signature.clone()));
        seen.set.insert(signature.clone());
        true
    }

    /// Forgets an admitted push, so that the vendor's next delivery of it is handled (its
    /// handling failed). A store that fails to forget is logged; the push then stays refused
    /// until its window ends.
    pub async fn release(&self, admission: Admission) {
        self.forget_locally(&admission.signature);
        if let (Some(store), Some(fence)) = (&self.store, &admission.fence) {
            if let Err(e) = store.unlock(&self.key(&admission.signature), fence).await {
                tracing::warn!(scope = %self.scope, error = %e, "could not forget a push whose handling failed; a re-delivery is refused until its window ends");
            }
        }
    }

    fn forget_locally(&self, signature: &Arc<str>) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.set.remove(signature) {
            seen.order.retain(|(_, s)| s != signature);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::MemoryStore;

    const WINDOW: Duration = Duration::from_secs(60);

    fn replayed(r: Result<Admission, Error>) -> bool {
        matches!(r, Err(Error::Push(CryptoError::Replayed)))
    }

    #[tokio::test]
    async fn a_signature_passes_once_and_again_after_release() {
        let guard = ReplayGuard::new("push:test:p");
        let first = guard.admit("AB12", WINDOW).await.unwrap();
        assert!(replayed(guard.admit("ab12", WINDOW).await));
        let _other = guard.admit("cd34", WINDOW).await.unwrap();
        guard.release(first).await;
        let _again = guard.admit("ab12", WINDOW).await.unwrap();
    }

    #[tokio::test]
    async fn a_signature_is_forgotten_after_its_window() {
        let guard = ReplayGuard::new("push:test:p");
        let _a = guard.admit("a", Duration::from_millis(30)).await.unwrap();
        assert!(replayed(guard.admit("a", WINDOW).await));
        tokio::time::sleep(Duration::from_millis(40)).await;
        let _b = guard.admit("a", WINDOW).await.unwrap();
    }

    /// A memory store whose locks answer after `delay`.
    struct SlowLocks {
        inner: MemoryStore,
        delay: Duration,
    }

    impl TokenStore for SlowLocks {
        fn load<'a>(
            &'a self,
            key: &'a TokenKey,
        ) -> crate::token::BoxFuture<'a, Result<Option<crate::token::StoredToken>, Error>> {
            self.inner.load(key)
        }
        fn save<'a>(
            &'a self,
            key: &'a TokenKey,
            token: &'a crate::token::StoredToken,
            expected: Option<&'a crate::Secret>,
        ) -> crate::token::BoxFuture<'a, Result<bool, Error>> {
            self.inner.save(key, token, expected)
        }
        fn lock<'a>(
            &'a self,
            key: &'a TokenKey,
            ttl: Duration,
        ) -> crate::token::BoxFuture<'a, Result<Option<Fence>, Error>> {
            Box::pin(async move {
                tokio::time::sleep(self.delay).await;
                self.inner.lock(key, ttl).await
            })
        }
        fn unlock<'a>(
            &'a self,
            key: &'a TokenKey,
            fence: &'a Fence,
        ) -> crate::token::BoxFuture<'a, Result<(), Error>> {
            self.inner.unlock(key, fence)
        }
        fn invalidate<'a>(
            &'a self,
            key: &'a TokenKey,
            failed: &'a crate::Secret,
        ) -> crate::token::BoxFuture<'a, Result<(), Error>> {
            self.inner.invalidate(key, failed)
        }
        fn put<'a>(
            &'a self,
            key: &'a TokenKey,
            token: &'a crate::token::StoredToken,
        ) -> crate::token::BoxFuture<'a, Result<(), Error>> {
            self.inner.put(key, token)
        }
    }

    #[tokio::test]
    async fn an_admission_dropped_while_the_store_answers_leaves_no_trace_here() {
        let guard = ReplayGuard::new("push:test:p").shared(Arc::new(SlowLocks {
            inner: MemoryStore::new(),
            delay: Duration::from_millis(200),
        }));
        let dropped = tokio::time::timeout(Duration::from_millis(20), guard.admit("a", WINDOW));
        assert!(dropped.await.is_err(), "dropped while the store answers");
        assert!(!guard.seen(&Arc::from("a")), "nothing remembered in memory");
        // The vendor's next delivery is handled.
        let _admitted = guard.admit("a", WINDOW).await.unwrap();
        assert!(replayed(guard.admit("a", WINDOW).await));
    }

    #[tokio::test]
    async fn memory_is_bounded_and_the_store_still_remembers() {
        let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
        let one = ReplayGuard::new("push:test:p")
            .with_capacity(2)
            .shared(store.clone());
        for s in ["a", "b", "c"] {
            let _ = one.admit(s, WINDOW).await.unwrap();
        }
        assert_eq!(one.seen.lock().unwrap().set.len(), 2);
        // `a` left this instance's memory; the store refuses it, for this and another instance.
        assert!(replayed(one.admit("a", WINDOW).await));
        let other = ReplayGuard::new("push:test:p").shared(store.clone());
        assert!(replayed(other.admit("c", WINDOW).await));
        // Another platform's scope is another memory.
        let elsewhere = ReplayGuard::new("push:test:q").shared(store);
        let _ = elsewhere.admit("c", WINDOW).await.unwrap();
    }
}
