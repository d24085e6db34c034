//! The in-process [`TokenStore`]: the default.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{BoxFuture, Fence, StoredToken, TokenKey, TokenStore};
use crate::{Error, Secret};

/// Tokens and locks in this process's memory.
#[derive(Default, Debug)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Default, Debug)]
struct Inner {
    values: HashMap<TokenKey, StoredToken>,
    locks: HashMap<TokenKey, (Fence, Instant)>,
    /// Drop expired locks when there are more than this (replay memory takes one per push).
    prune_locks_at: usize,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut inner)
    }
}

impl TokenStore for MemoryStore {
    fn load<'a>(&'a self, key: &'a TokenKey) -> BoxFuture<'a, Result<Option<StoredToken>, Error>> {
        let v = self.with(|i| i.values.get(key).cloned());
        Box::pin(async move { Ok(v) })
    }

    fn save<'a>(
        &'a self,
        key: &'a TokenKey,
        token: &'a StoredToken,
        expected_refresh: Option<&'a Secret>,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        let saved = self.with(|i| {
            let current = i.values.get(key).and_then(|t| t.refresh_token.as_ref());
            if current != expected_refresh {
                return false;
            }
            i.values.insert(key.clone(), token.clone());
            true
        });
        Box::pin(async move { Ok(saved) })
    }

    fn lock<'a>(
        &'a self,
        key: &'a TokenKey,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<Fence>, Error>> {
        let fence = self.with(|i| {
            let now = Instant::now();
            if i.locks.get(key).is_some_and(|(_, until)| *until > now) {
                return None;
            }
            if i.locks.len() >= i.prune_locks_at {
                i.locks.retain(|_, (_, until)| *until > now);
                i.prune_locks_at = (i.locks.len() * 2).max(1024);
            }
            let fence = Fence::random();
            i.locks.insert(key.clone(), (fence.clone(), now + ttl));
            Some(fence)
        });
        Box::pin(async move { Ok(fence) })
    }

    fn unlock<'a>(
        &'a self,
        key: &'a TokenKey,
        fence: &'a Fence,
    ) -> BoxFuture<'a, Result<(), Error>> {
        self.with(|i| {
            if i.locks.get(key).is_some_and(|(f, _)| f == fence) {
                i.locks.remove(key);
            }
        });
        Box::pin(async { Ok(()) })
    }

    fn invalidate<'a>(
        &'a self,
        key: &'a TokenKey,
        failed: &'a Secret,
    ) -> BoxFuture<'a, Result<(), Error>> {
        self.with(|i| {
            if let Some(t) = i.values.get_mut(key) {
                if t.access_token.as_ref() == Some(failed) {
                    t.access_token = None;
                }
            }
        });
        Box::pin(async { Ok(()) })
    }

    fn put<'a>(
        &'a self,
        key: &'a TokenKey,
        token: &'a StoredToken,
    ) -> BoxFuture<'a, Result<(), Error>> {
        self.with(|i| i.values.insert(key.clone(), token.clone()));
        Box::pin(async { Ok(()) })
    }

    fn put_if_newer<'a>(
        &'a self,
        key: &'a TokenKey,
        token: &'a StoredToken,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        let stored = self.with(|i| {
            if i.values
                .get(key)
                .is_some_and(|s| s.issued_at_ms >= token.issued_at_ms)
            {
                return false;
            }
            i.values.insert(key.clone(), token.clone());
            true
        });
        Box::pin(async move { Ok(stored) })
    }

    fn keys_with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> BoxFuture<'a, Result<Vec<TokenKey>, Error>> {
        let keys = self.with(|i| {
            i.values
                .keys()
                .filter(|k| k.as_str().starts_with(prefix))
                .cloned()
                .collect()
        });
        Box::pin(async move { Ok(keys) })
    }
}
