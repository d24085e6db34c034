//! One place per platform for its tokens: the platform token, each authorized app's token,
//! and the latest pushed ticket.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{
    now_ms, RefreshPolicy, RefreshingToken, StoredToken, TokenFetcher, TokenGrant, TokenKey,
    TokenStore,
};
use crate::push::ReplayGuard;
use crate::{Error, Secret, TokenSource, Vendor};

type AuthorizerFetchers = Box<dyn Fn(&str) -> Arc<dyn TokenFetcher> + Send + Sync>;

/// The tokens of one platform (one platform app id on one vendor). The vendor crates build it
/// (`tokens::manager`); hand its [`TokenSource`]s to handles.
pub struct TokenManager {
    vendor: Vendor,
    platform_app_id: Arc<str>,
    store: Arc<dyn TokenStore>,
    policy: RefreshPolicy,
    component: Arc<RefreshingToken>,
    authorizer_fetcher: AuthorizerFetchers,
    authorizers: Mutex<Authorizers>,
    replay: ReplayGuard,
}

/// The authorized apps' tokens in use, bounded: tokens no handle holds are dropped once there
/// are more than [`CACHED_AUTHORIZERS`] (their values stay in the store), so a job over
/// 100,000 apps does not keep 100,000 of them.
#[derive(Default)]
struct Authorizers {
    map: HashMap<String, Arc<RefreshingToken>>,
    /// Prune when the map grows past this (at least the limit; twice what pruning kept, so a
    /// map full of tokens in use is not walked on every call).
    prune_at: usize,
}

/// How many authorized apps' tokens a manager keeps when no handle holds them.
pub const CACHED_AUTHORIZERS: usize = 4096;

impl std::fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenManager")
            .field("vendor", &self.vendor)
            .field("platform_app_id", &self.platform_app_id)
            .finish_non_exhaustive()
    }
}

impl TokenManager {
    /// A manager whose platform token comes from `component` and whose authorized apps'
    /// tokens come from the fetchers `authorizer_fetcher` makes per app id.
    pub fn new(
        vendor: Vendor,
        platform_app_id: impl Into<Arc<str>>,
        store: Arc<dyn TokenStore>,
        policy: RefreshPolicy,
        component: Arc<RefreshingToken>,
        authorizer_fetcher: impl Fn(&str) -> Arc<dyn TokenFetcher> + Send + Sync + 'static,
    ) -> Self {
        let platform_app_id: Arc<str> = platform_app_id.into();
        TokenManager {
            vendor,
            replay: ReplayGuard::new(format!("miniapp:{vendor}:{platform_app_id}:push"))
                .shared(store.clone()),
            platform_app_id,
            store,
            policy,
            component,
            authorizer_fetcher: Box::new(authorizer_fetcher),
            authorizers: Mutex::new(Authorizers {
                map: HashMap::new(),
                prune_at: CACHED_AUTHORIZERS,
            }),
        }
    }

    /// A manager whose platform token is fetched by `component_fetcher` and stored under the
    /// platform's key; `authorizers` receives that platform token and returns the maker of
    /// each authorized app's fetcher (which needs the platform token to refresh). This is how
    /// the vendor crates' `tokens::manager` build theirs.
    pub fn build<F>(
        vendor: Vendor,
        platform_app_id: &str,
        store: Arc<dyn TokenStore>,
        policy: RefreshPolicy,
        component_fetcher: Arc<dyn TokenFetcher>,
        authorizers: impl FnOnce(Arc<RefreshingToken>) -> F,
    ) -> Self
    where
        F: Fn(&str) -> Arc<dyn TokenFetcher> + Send + Sync + 'static,
    {
        let component = Arc::new(RefreshingToken::with_policy(
            TokenKey::component(vendor, platform_app_id),
            component_fetcher,
            store.clone(),
            policy.clone(),
        ));
        let make = authorizers(component.clone());
        Self::new(vendor, platform_app_id, store, policy, component, make)
    }

    /// The vendor.
    pub fn vendor(&self) -> Vendor {
        self.vendor
    }

    /// The platform's app id (WeChat component app id, Baidu `client_id`, Kuaishou
    /// `component_app_id`).
    pub fn platform_app_id(&self) -> &str {
        &self.platform_app_id
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn TokenStore> {
        &self.store
    }

    /// Where the latest ticket is kept.
    pub fn ticket_key(&self) -> TokenKey {
        TokenKey::ticket(self.vendor, &self.platform_app_id)
    }

    /// Stores the ticket the vendor pushed (call this from the ticket push handler). The
    /// platform token is fetched with the latest stored ticket.
    pub async fn store_ticket(
        &self,
        ticket: impl Into<Secret>,
        valid_for: Duration,
    ) -> Result<(), Error> {
        store_ticket(
            self.store.as_ref(),
            &self.ticket_key(),
            ticket.into(),
            valid_for,
        )
        .await?;
        // A refresh that failed for want of a ticket may try again now.
        self.component.reset_failure_backoff();
        Ok(())
    }

    /// Stores a ticket pushed at `pushed_at_ms` (the push's own time, ms since the epoch; now
    /// when the push has none), valid for `valid_for` from now, unless the stored ticket was
    /// pushed later: pushes that arrive out of order never roll the ticket back. Returns
    /// whether it was stored (an older one is ignored and logged at DEBUG).
    pub async fn store_pushed_ticket(
        &self,
        ticket: impl Into<Secret>,
        pushed_at_ms: Option<u64>,
        valid_for: Duration,
    ) -> Result<bool, Error> {
        let now = now_ms();
        let at = pushed_at_ms.unwrap_or(now);
        let token = StoredToken {
            access_token: Some(ticket.into()),
            issued_at_ms: at,
            expires_at_ms: now + valid_for.as_millis() as u64,
            refresh_token: None,
        };
        let key = self.ticket_key();
        let stored = self.store.put_if_newer(&key, &token).await?;
        if stored {
            self.component.reset_failure_backoff();
        } else {
            tracing::debug!(key = %key, pushed_at_ms = at, "a ticket older than the stored one was pushed; ignored");
        }
        Ok(stored)
    }

    /// The memory of the pushes this platform received, shared through the store: the vendor
    /// crates' `push::receive` refuse a push it let through before.
    pub fn replay_guard(&self) -> &ReplayGuard {
        &self.replay
    }

    /// Lets a new authorization of `authorizer_app_id` be used at once, even within the
    /// failure backoff of an earlier (lost) one.
    fn authorization_changed(&self, authorizer_app_id: &str) {
        let cache = self.authorizers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(token) = cache.map.get(authorizer_app_id) {
            token.reset_failure_backoff();
        }
    }

    /// The platform token, refreshing itself.
    pub fn component_token(&self) -> Arc<RefreshingToken> {
        self.component.clone()
    }

    /// The token of the authorized app `authorizer_app_id`, refreshing itself with its stored
    /// refresh token. One instance per app while any handle holds it, shared by every handle;
    /// the manager keeps at most [`CACHED_AUTHORIZERS`] that no handle holds (a dropped one is
    /// loaded from the store again when next asked for).
    pub fn authorizer_token(&self, authorizer_app_id: &str) -> Arc<RefreshingToken> {
        let mut cache = self.authorizers.lock().unwrap_or_else(|p| p.into_inner());
        let token = cache
            .map
            .entry(authorizer_app_id.to_owned())
            .or_insert_with(|| {
                Arc::new(RefreshingToken::with_policy(
                    self.authorizer_key(authorizer_app_id),
                    (self.authorizer_fetcher)(authorizer_app_id),
                    self.store.clone(),
                    self.policy.clone(),
                ))
            })
            .clone();
        if cache.map.len() > cache.prune_at {
            cache.map.retain(|_, t| Arc::strong_count(t) > 1);
            cache.prune_at = CACHED_AUTHORIZERS.max(2 * cache.map.len());
        }
        token
    }

    /// How many authorized apps' tokens the manager holds now (those in use, and up to
    /// [`CACHED_AUTHORIZERS`] more).
    pub fn cached_authorizers(&self) -> usize {
        self.authorizers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map
            .len()
    }

    /// The store key of an authorized app's token.
    pub fn authorizer_key(&self, authorizer_app_id: &str) -> TokenKey {
        TokenKey::authorizer(self.vendor, &self.platform_app_id, authorizer_app_id)
    }

    /// The apps whose authorization the store holds (a refresh token), sorted: what this
    /// platform can manage. Needs a store that can list (`MemoryStore`, `RedisStore`).
    pub async fn authorized_apps(&self) -> Result<Vec<String>, Error> {
        let prefix = self.authorizer_key("");
        let keys = self.store.keys_with_prefix(prefix.as_str()).await?;
        let mut apps = Vec::new();
        for key in keys {
            let Some(app) = key.authorizer_app_id().filter(|a| !a.is_empty()) else {
                continue;
            };
            if self
                .store
                .load(&key)
                .await?
                .is_some_and(|t| t.refresh_token.is_some())
            {
                apps.push(app.to_owned());
            }
        }
        apps.sort();
        Ok(apps)
    }

    /// Whether the store holds an authorization (a refresh token) for the app.
    pub async fn has_authorization(&self, authorizer_app_id: &str) -> Result<bool, Error> {
        let key = self.authorizer_key(authorizer_app_id);
        Ok(self
            .store
            .load(&key)
            .await?
            .is_some_and(|t| t.refresh_token.is_some()))
    }

    /// Imports an authorization made before this SDK: the app's refresh token only. The first
    /// call on the app refreshes with it (and saves what the vendor rotates). Replaces what the
    /// store holds for the app. (Kuaishou renews app tokens without the refresh token; the
    /// import still registers the app.)
    pub async fn import_authorization(
        &self,
        authorizer_app_id: &str,
        refresh_token: impl Into<Secret>,
    ) -> Result<(), Error> {
        let key = self.authorizer_key(authorizer_app_id);
        let token = refresh_only(refresh_token.into());
        self.store.put(&key, &token).await?;
        self.authorization_changed(authorizer_app_id);
        Ok(())
    }

    /// [`TokenManager::import_authorization`] unless the store already holds a refresh token
    /// for the app (a rotated one there is newer than an inventory's), in one compare-and-set;
    /// returns whether it imported.
    pub async fn import_authorization_unless_held(
        &self,
        authorizer_app_id: &str,
        refresh_token: impl Into<Secret>,
    ) -> Result<bool, Error> {
        let key = self.authorizer_key(authorizer_app_id);
        let token = refresh_only(refresh_token.into());
        // Saved only over no refresh token: exactly "unless held", and atomic.
        let imported = self.store.save(&key, &token, None).await?;
        if imported {
            self.authorization_changed(authorizer_app_id);
        }
        Ok(imported)
    }

    /// Stores what an authorization returned (the code exchange): the app's first access token
    /// and its refresh token.
    pub async fn save_authorization(
        &self,
        authorizer_app_id: &str,
        grant: TokenGrant,
    ) -> Result<(), Error> {
        let issued = now_ms();
        let token = StoredToken {
            access_token: Some(grant.access_token),
            issued_at_ms: issued,
            expires_at_ms: issued + grant.expires_in.as_millis() as u64,
            refresh_token: grant.refresh_token,
        };
        self.store
            .put(&self.authorizer_key(authorizer_app_id), &token)
            .await?;
        self.authorization_changed(authorizer_app_id);
        Ok(())
    }
}

/// What an import stores: the refresh token alone (the first call refreshes with it).
fn refresh_only(refresh_token: Secret) -> StoredToken {
    StoredToken {
        access_token: None,
        issued_at_ms: 0,
        expires_at_ms: 0,
        refresh_token: Some(refresh_token),
    }
}

impl From<Arc<RefreshingToken>> for TokenSource {
    fn from(token: Arc<RefreshingToken>) -> Self {
        TokenSource::Provider(token)
    }
}

/// Stores a pushed ticket under `key`.
pub async fn store_ticket(
    store: &dyn TokenStore,
    key: &TokenKey,
    ticket: Secret,
    valid_for: Duration,
) -> Result<(), Error> {
    let now = now_ms();
    let token = StoredToken {
        access_token: Some(ticket),
        issued_at_ms: now,
        expires_at_ms: now + valid_for.as_millis() as u64,
        refresh_token: None,
    };
    store.put(key, &token).await
}

/// The latest stored ticket, or an error saying none has been pushed (or it expired).
pub async fn load_ticket(store: &dyn TokenStore, key: &TokenKey) -> Result<Secret, Error> {
    let stored = store.load(key).await?;
    match stored {
        Some(StoredToken {
            access_token: Some(ticket),
            expires_at_ms,
            ..
        }) if expires_at_ms > now_ms() => Ok(ticket),
        Some(_) => Err(Error::Credentials {
            endpoint: "ticket",
            message: format!("the ticket under {key} has expired; wait for the next push"),
        }),
        None => Err(Error::Credentials {
            endpoint: "ticket",
            message: format!("no ticket stored under {key}; store the pushed ticket first"),
        }),
    }
}

/// The stored refresh token, or an error saying the app must be authorized first.
pub fn refresh_token_of(current: Option<&StoredToken>, key_hint: &str) -> Result<Secret, Error> {
    current
        .and_then(|c| c.refresh_token.clone())
        .ok_or_else(|| Error::Credentials {
            endpoint: "token refresh",
            message: format!("no refresh token stored for {key_hint}; the app must be authorized (save_authorization) first"),
        })
}
