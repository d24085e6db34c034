//! Where tokens live between processes: the [`TokenStore`] abstraction and its keys.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::BoxFuture;
use crate::{Error, Secret, Vendor};

/// A store key, namespaced by vendor, platform app id and (for authorized apps) the
/// authorized app id, so two platforms sharing one store never share a token or a lock.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TokenKey(String);

impl TokenKey {
    /// The platform's own token.
    pub fn component(vendor: Vendor, platform_app_id: &str) -> Self {
        TokenKey(format!("miniapp:{vendor}:{platform_app_id}:component"))
    }

    /// The token of one authorized app of a platform.
    pub fn authorizer(vendor: Vendor, platform_app_id: &str, authorizer_app_id: &str) -> Self {
        TokenKey(format!(
            "miniapp:{vendor}:{platform_app_id}:authorizer:{authorizer_app_id}"
        ))
    }

    /// The latest pushed ticket of a platform.
    pub fn ticket(vendor: Vendor, platform_app_id: &str) -> Self {
        TokenKey(format!("miniapp:{vendor}:{platform_app_id}:ticket"))
    }

    /// The authorized app id of an authorized app's key.
    pub fn authorizer_app_id(&self) -> Option<&str> {
        self.0.split_once(":authorizer:").map(|(_, app)| app)
    }

    /// A key read back from a store.
    pub fn from_raw(text: String) -> Self {
        TokenKey(text)
    }

    /// The key text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenKey({})", self.0)
    }
}

/// What a store keeps under a key: the access token with its lifetime, and the refresh token.
/// Saved and loaded as one value, so a rotation is atomic.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StoredToken {
    /// The access token (or the ticket, under a ticket key); `None` once invalidated.
    #[serde(rename = "a", default, with = "opt_secret")]
    pub access_token: Option<Secret>,
    /// When it was issued (ms since the epoch).
    #[serde(rename = "i", default)]
    pub issued_at_ms: u64,
    /// When it expires (ms since the epoch).
    #[serde(rename = "e")]
    pub expires_at_ms: u64,
    /// The refresh token to use next.
    #[serde(rename = "r", default, with = "opt_secret")]
    pub refresh_token: Option<Secret>,
}

/// Serializes secrets for the store only (never for display).
mod opt_secret {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::Secret;

    pub(super) fn serialize<S: Serializer>(v: &Option<Secret>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(secret) => s.serialize_some(secret.expose()),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
        Ok(Option::<String>::deserialize(d)?.map(Secret::from))
    }
}

/// Proof of holding a store lock: the random value the lock was set with.
#[derive(Clone, PartialEq, Eq)]
pub struct Fence(pub String);

impl fmt::Debug for Fence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fence({})", self.0)
    }
}

impl Fence {
    /// A value unique to this process and call (128 random bits and the process id).
    pub fn random() -> Self {
        Fence(format!(
            "{}-{:016x}{:016x}",
            std::process::id(),
            fastrand::u64(..),
            fastrand::u64(..)
        ))
    }
}

/// A refresh lock taken ([`TokenStore::lock_then_load`]): its fence, and the value read
/// under it.
pub type Locked = (Fence, Option<StoredToken>);

/// Shared token storage. Implementations: [`super::MemoryStore`] (one process),
/// `SqliteStore` (feature `sqlite`, the processes of one host) and `RedisStore` (feature
/// `redis`, a fleet).
pub trait TokenStore: Send + Sync {
    /// The stored value, if any.
    fn load<'a>(&'a self, key: &'a TokenKey) -> BoxFuture<'a, Result<Option<StoredToken>, Error>>;

    /// Stores `token` atomically, only if the stored refresh token is still `expected_refresh`
    /// (compare-and-set, so a rotated refresh token is never overwritten by a stale writer).
    /// Returns whether it was stored.
    fn save<'a>(
        &'a self,
        key: &'a TokenKey,
        token: &'a StoredToken,
        expected_refresh: Option<&'a Secret>,
    ) -> BoxFuture<'a, Result<bool, Error>>;

    /// [`TokenStore::save`], then [`TokenStore::unlock`] of `fence`: the last two steps of a
    /// refresh, in one round trip where the store can. An unlock that fails leaves the lock to
    /// expire (the save's result stands).
    fn save_and_unlock<'a>(
        &'a self,
        key: &'a TokenKey,
        token: &'a StoredToken,
        expected_refresh: Option<&'a Secret>,
        fence: &'a Fence,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async move {
            let saved = self.save(key, token, expected_refresh).await?;
            if let Err(e) = self.unlock(key, fence).await {
                lock_left_to_expire(key, &e);
            }
            Ok(saved)
        })
    }

    /// Takes the refresh lock of `key` for `ttl` (`SET NX PX`); `None` when someone holds it.
    fn lock<'a>(
        &'a self,
        key: &'a TokenKey,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<Fence>, Error>>;

    /// [`TokenStore::lock`], then, if taken, [`TokenStore::load`] under it: the start of a
    /// refresh (the double-check under the lock), in one round trip where the store can.
    /// `None` when someone holds the lock.
    fn lock_then_load<'a>(
        &'a self,
        key: &'a TokenKey,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<Locked>, Error>> {
        Box::pin(async move {
            let Some(fence) = self.lock(key, ttl).await? else {
                return Ok(None);
            };
            match self.load(key).await {
                Ok(stored) => Ok(Some((fence, stored))),
                Err(e) => {
                    // The lock is of no use without the value: let the next caller have it.
                    if let Err(e) = self.unlock(key, &fence).await {
                        lock_left_to_expire(key, &e);
                    }
                    Err(e)
                }
            }
        })
    }

    /// Releases the lock if `fence` still holds it.
    fn unlock<'a>(
        &'a self,
        key: &'a TokenKey,
        fence: &'a Fence,
    ) -> BoxFuture<'a, Result<(), Error>>;

    /// Clears the access token if it is still `failed` (the refresh token is kept).
    fn invalidate<'a>(
        &'a self,
        key: &'a TokenKey,
        failed: &'a Secret,
    ) -> BoxFuture<'a, Result<(), Error>>;

    /// Stores a value unconditionally (tickets, tokens handed over by an authorization).
    fn put<'a>(
        &'a self,
        key: &'a TokenKey,
        token: &'a StoredToken,
    ) -> BoxFuture<'a, Result<(), Error>>;

    /// Stores `token` only if nothing is stored under `key` or what is stored was issued
    /// earlier (`issued_at_ms`): a pushed ticket never replaces a newer one when pushes arrive
    /// out of order. Returns whether it was stored. The default loads then puts (not atomic);
    /// the SDK's stores do it in one step.
    fn put_if_newer<'a>(
        &'a self,
        key: &'a TokenKey,
        token: &'a StoredToken,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async move {
            let stored = self.load(key).await?;
            if stored.is_some_and(|s| s.issued_at_ms >= token.issued_at_ms) {
                return Ok(false);
            }
            self.put(key, token).await?;
            Ok(true)
        })
    }

    /// Every key that starts with `prefix` (the authorizations of a platform, for an
    /// inventory), in no particular order. Stores that cannot list say so.
    fn keys_with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> BoxFuture<'a, Result<Vec<TokenKey>, Error>> {
        let _ = prefix;
        Box::pin(async { Err(store_error("this token store cannot list its keys")) })
    }
}

/// Logs a refresh lock that could not be released: it expires by itself (its TTL).
pub(crate) fn lock_left_to_expire(key: &TokenKey, error: &Error) {
    tracing::warn!(key = %key, error = %error, "could not release the refresh lock; it expires by itself");
}

/// The error of a store that failed.
#[cfg_attr(not(any(feature = "redis", feature = "sqlite")), allow(dead_code))]
pub(crate) fn store_error(message: impl fmt::Display) -> Error {
    Error::Credentials {
        endpoint: "token store",
        message: message.to_string(),
    }
}
