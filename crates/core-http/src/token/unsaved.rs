//! Rotated tokens the store has not taken yet: kept in this process, saved again with backoff
//! by a task that outlives the refresh, consulted by every refresh of the same key and store
//! (so a refresh never starts from the store's dead refresh token while the store is down).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use super::{StoredToken, TokenKey, TokenStore};
use crate::Secret;

/// A rotated token and the refresh token the store held when it was fetched (what the save
/// compares with).
#[derive(Clone)]
pub(super) struct Unsaved {
    pub(super) token: StoredToken,
    pub(super) expected: Option<Secret>,
}

/// One store's key: the store's identity (its address) and the key.
type Slot = (usize, TokenKey);

struct Entry {
    unsaved: Unsaved,
    store: Arc<dyn TokenStore>,
    /// A saver task runs for this entry.
    saving: bool,
}

fn registry() -> &'static Mutex<HashMap<Slot, Entry>> {
    static REGISTRY: OnceLock<Mutex<HashMap<Slot, Entry>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

fn lock() -> std::sync::MutexGuard<'static, HashMap<Slot, Entry>> {
    registry().lock().unwrap_or_else(|p| p.into_inner())
}

static SAVED_LATE: AtomicU64 = AtomicU64::new(0);

fn slot(store: &Arc<dyn TokenStore>, key: &TokenKey) -> Slot {
    (Arc::as_ptr(store) as *const () as usize, key.clone())
}

/// The token kept for `key` of `store`, if its save is pending.
pub(super) fn get(store: &Arc<dyn TokenStore>, key: &TokenKey) -> Option<Unsaved> {
    lock().get(&slot(store, key)).map(|e| e.unsaved.clone())
}

/// The store took what it was given for `key` (or refused it for a newer one): nothing is
/// pending any more.
pub(super) fn saved(store: &Arc<dyn TokenStore>, key: &TokenKey) {
    lock().remove(&slot(store, key));
}

/// Drops `u` for `key` if it is still the one kept (the store holds something newer).
pub(super) fn forget(store: &Arc<dyn TokenStore>, key: &TokenKey, u: &Unsaved) {
    let mut map = lock();
    let s = slot(store, key);
    if map.get(&s).is_some_and(|e| e.unsaved.token == u.token) {
        map.remove(&s);
    }
}

/// Keeps `u` for `key` of `store` and makes sure a task is saving it.
pub(super) fn keep(store: &Arc<dyn TokenStore>, key: &TokenKey, u: Unsaved) {
    let s = slot(store, key);
    let start = {
        let mut map = lock();
        let entry = map.entry(s.clone()).or_insert_with(|| Entry {
            unsaved: u.clone(),
            store: store.clone(),
            saving: false,
        });
        entry.unsaved = u;
        !std::mem::replace(&mut entry.saving, true)
    };
    if start {
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(save_until_taken(s));
            }
            Err(_) => {
                if let Some(e) = lock().get_mut(&s) {
                    e.saving = false;
                }
            }
        }
    }
}

/// Saves the entry at `s` with backoff (50 ms doubling to 5 s) until the store takes it or
/// holds a newer one.
async fn save_until_taken(s: Slot) {
    let mut delay = Duration::from_millis(50);
    loop {
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
        let Some((u, store)) = lock().get(&s).map(|e| (e.unsaved.clone(), e.store.clone())) else {
            return;
        };
        match store.save(&s.1, &u.token, u.expected.as_ref()).await {
            Ok(taken) => {
                let mut map = lock();
                // Only if nothing newer was kept meanwhile; else save that one next.
                if map.get(&s).is_some_and(|e| e.unsaved.token == u.token) {
                    map.remove(&s);
                    drop(map);
                    if taken {
                        SAVED_LATE.fetch_add(1, Ordering::Relaxed);
                        tracing::info!(key = %s.1, "the rotated token was saved after the store answered again");
                    } else {
                        tracing::warn!(key = %s.1, "the store holds a newer refresh token than the unsaved one; keeping the stored one");
                    }
                    return;
                }
                delay = Duration::from_millis(50);
            }
            Err(e) => {
                tracing::warn!(key = %s.1, error = %e, "the rotated token is still not saved; trying again");
            }
        }
    }
}

/// The keys whose rotated token is only in this process's memory, because the store failed
/// to take it (the tokens themselves are never handed out).
pub fn unsaved_keys() -> Vec<TokenKey> {
    let mut keys: Vec<TokenKey> = lock().keys().map(|(_, k)| k.clone()).collect();
    keys.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    keys
}

/// How many rotated tokens were saved late (after a failed first save), in this process.
pub fn saved_late() -> u64 {
    SAVED_LATE.load(Ordering::Relaxed)
}

/// Waits up to `timeout` for every unsaved rotated token to be saved; returns the keys still
/// unsaved (call it before a process ends, and tell the operator about those).
pub async fn flush_unsaved(timeout: Duration) -> Vec<TokenKey> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let left = unsaved_keys();
        if left.is_empty() || tokio::time::Instant::now() >= deadline {
            return left;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
