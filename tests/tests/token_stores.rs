//! One suite for every token store: memory, SQLite and Redis must keep the same promises
//! (compare-and-set on the refresh token used, compare-and-invalidate, a lock with a fencing
//! value and an expiry, listing by prefix), and a refreshing token over each of them refreshes
//! once for many callers. SQLite and Redis are also shared by two handles, as two processes
//! share them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use core_http::token::{
    BoxFuture, MemoryStore, RedisStore, RefreshingToken, SqliteStore, StoredToken, TokenFetcher,
    TokenGrant, TokenKey, TokenStore,
};
use core_http::{Error, Secret, Vendor};
use miniapp_tests::redis::RedisServer;

fn token(access: &str, refresh: Option<&str>) -> StoredToken {
    StoredToken {
        access_token: Some(Secret::from(access)),
        issued_at_ms: 1_000,
        expires_at_ms: 9_000_000_000_000,
        refresh_token: refresh.map(Secret::from),
    }
}

fn key(app: &str) -> TokenKey {
    TokenKey::authorizer(Vendor::Baidu, "tp1", app)
}

/// The promises every store keeps; `other` is a second handle on the same storage (the same
/// store for memory), as a second process has.
async fn suite(name: &str, store: Arc<dyn TokenStore>, other: Arc<dyn TokenStore>) {
    let k = key(&format!("{name}-app"));
    assert_eq!(store.load(&k).await.unwrap(), None, "{name}: empty");

    // First save: only when no refresh token is expected.
    let first = token("a1", Some("r1"));
    assert!(
        !store
            .save(&k, &first, Some(&Secret::from("r0")))
            .await
            .unwrap(),
        "{name}: a new key does not match an expected refresh token"
    );
    assert!(store.save(&k, &first, None).await.unwrap(), "{name}");
    assert_eq!(other.load(&k).await.unwrap(), Some(first.clone()), "{name}");
    assert!(
        !store.save(&k, &token("x", Some("x")), None).await.unwrap(),
        "{name}: a stored refresh token is never overwritten by a writer that expected none"
    );

    // Rotation: only over the refresh token used.
    let second = token("a2", Some("r2"));
    assert!(
        other
            .save(&k, &second, Some(&Secret::from("r1")))
            .await
            .unwrap(),
        "{name}"
    );
    assert!(
        !store
            .save(&k, &token("stale", Some("r9")), Some(&Secret::from("r1")))
            .await
            .unwrap(),
        "{name}: a stale writer loses"
    );
    assert_eq!(
        store.load(&k).await.unwrap(),
        Some(second.clone()),
        "{name}"
    );

    // Compare-and-invalidate: the refresh token stays.
    store.invalidate(&k, &Secret::from("a1")).await.unwrap();
    assert_eq!(
        store.load(&k).await.unwrap(),
        Some(second.clone()),
        "{name}"
    );
    other.invalidate(&k, &Secret::from("a2")).await.unwrap();
    let left = store.load(&k).await.unwrap().unwrap();
    assert_eq!(left.access_token, None, "{name}");
    assert_eq!(left.refresh_token, Some(Secret::from("r2")), "{name}");

    // Put is unconditional (tickets, handed-over authorizations).
    let ticket = TokenKey::ticket(Vendor::Baidu, &format!("{name}-tp"));
    store.put(&ticket, &token("t1", None)).await.unwrap();
    store.put(&ticket, &token("t2", None)).await.unwrap();
    assert_eq!(
        other.load(&ticket).await.unwrap().unwrap().access_token,
        Some(Secret::from("t2")),
        "{name}"
    );

    // The lock: one holder, released only with its fence, expiring on its own.
    let fence = store
        .lock(&k, Duration::from_secs(10))
        .await
        .unwrap()
        .expect("free");
    assert!(
        other
            .lock(&k, Duration::from_secs(10))
            .await
            .unwrap()
            .is_none(),
        "{name}: held"
    );
    other
        .unlock(&k, &core_http::token::Fence("not-the-holder".into()))
        .await
        .unwrap();
    assert!(
        store
            .lock(&k, Duration::from_secs(10))
            .await
            .unwrap()
            .is_none(),
        "{name}: a wrong fence releases nothing"
    );
    store.unlock(&k, &fence).await.unwrap();
    let short = other
        .lock(&k, Duration::from_millis(100))
        .await
        .unwrap()
        .expect("released");
    tokio::time::sleep(Duration::from_millis(250)).await;
    let taken = store
        .lock(&k, Duration::from_secs(10))
        .await
        .unwrap()
        .expect("an expired lock is free");
    assert_ne!(taken, short, "{name}: a new fence");
    // The expired holder's unlock must not release the new holder's lock.
    other.unlock(&k, &short).await.unwrap();
    assert!(
        other
            .lock(&k, Duration::from_secs(10))
            .await
            .unwrap()
            .is_none(),
        "{name}: fenced"
    );
    store.unlock(&k, &taken).await.unwrap();

    // Lock, then load under it (a refresh's start, one round trip where the store can): the
    // value is read after the lock is taken, and a held lock yields nothing.
    let (fence, stored) = store
        .lock_then_load(&k, Duration::from_secs(10))
        .await
        .unwrap()
        .expect("free");
    assert_eq!(
        stored,
        Some(left.clone()),
        "{name}: the value under the lock"
    );
    assert!(
        other
            .lock_then_load(&k, Duration::from_secs(10))
            .await
            .unwrap()
            .is_none(),
        "{name}: held, so not loaded either"
    );
    // What another handle saves before the lock is taken is what the load sees.
    store.unlock(&k, &fence).await.unwrap();
    let third = token("a3", Some("r3"));
    assert!(other
        .save(&k, &third, Some(&Secret::from("r2")))
        .await
        .unwrap());
    let (fence, stored) = store
        .lock_then_load(&k, Duration::from_secs(10))
        .await
        .unwrap()
        .expect("released");
    assert_eq!(stored, Some(third), "{name}: the newest value");
    store.unlock(&k, &fence).await.unwrap();
    let fresh = key(&format!("{name}-nothing-stored"));
    let (fence, stored) = other
        .lock_then_load(&fresh, Duration::from_secs(10))
        .await
        .unwrap()
        .expect("free");
    assert_eq!(stored, None, "{name}: nothing under a new key");
    other.unlock(&fresh, &fence).await.unwrap();

    // Listing by prefix: a platform's authorizations, no one else's.
    for app in ["p1", "p2"] {
        store
            .put(&key(&format!("{name}-{app}")), &token("a", Some("r")))
            .await
            .unwrap();
    }
    store
        .put(
            &TokenKey::authorizer(Vendor::Baidu, "tp2", &format!("{name}-p3")),
            &token("a", Some("r")),
        )
        .await
        .unwrap();
    let prefix = "miniapp:baidu:tp1:authorizer:";
    let mut listed: Vec<String> = other
        .keys_with_prefix(prefix)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|k| k.authorizer_app_id().map(str::to_owned))
        .filter(|app| app.starts_with(name))
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        [
            format!("{name}-app"),
            format!("{name}-p1"),
            format!("{name}-p2")
        ],
        "{name}"
    );

    // Racing rotations from both handles: exactly one wins.
    let race = key(&format!("{name}-race"));
    store
        .save(&race, &token("a0", Some("r0")), None)
        .await
        .unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let s = if i % 2 == 0 {
                store.clone()
            } else {
                other.clone()
            };
            let race = race.clone();
            tokio::spawn(async move {
                s.save(
                    &race,
                    &token(&format!("a{i}"), Some(&format!("r-{i}"))),
                    Some(&Secret::from("r0")),
                )
                .await
                .unwrap()
            })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1, "{name}: one rotation wins");

    // A ticket pushed earlier never replaces a newer one, whichever handle stores it.
    let t = TokenKey::ticket(Vendor::Wechat, &format!("{name}-platform"));
    let at = |ticket: &str, issued_at_ms| StoredToken {
        issued_at_ms,
        ..token(ticket, None)
    };
    assert!(
        store.put_if_newer(&t, &at("t2", 2_000)).await.unwrap(),
        "{name}: first ticket"
    );
    assert!(
        !other.put_if_newer(&t, &at("t1", 1_000)).await.unwrap(),
        "{name}: older refused"
    );
    assert!(
        !other.put_if_newer(&t, &at("t2'", 2_000)).await.unwrap(),
        "{name}: same time refused"
    );
    assert_eq!(
        store.load(&t).await.unwrap().unwrap().access_token,
        Some(Secret::from("t2")),
        "{name}: the newer stays"
    );
    assert!(
        other.put_if_newer(&t, &at("t3", 3_000)).await.unwrap(),
        "{name}: newer stored"
    );
    assert_eq!(
        store.load(&t).await.unwrap().unwrap().access_token,
        Some(Secret::from("t3"))
    );

    // The replay memory: one lock per push, refused on the other handle, gone after its ttl.
    let push = TokenKey::from_raw(format!("miniapp:wechat:{name}:push:abc"));
    assert!(store
        .lock(&push, Duration::from_millis(300))
        .await
        .unwrap()
        .is_some());
    assert!(
        other
            .lock(&push, Duration::from_secs(60))
            .await
            .unwrap()
            .is_none(),
        "{name}"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        other
            .lock(&push, Duration::from_secs(60))
            .await
            .unwrap()
            .is_some(),
        "{name}"
    );

    refresh_once_for_many(name, store).await;
}

/// A fetcher that rotates single-use refresh tokens, counting its calls.
struct Rotating {
    calls: AtomicUsize,
}

impl TokenFetcher for Rotating {
    fn fetch<'a>(
        &'a self,
        current: Option<&'a StoredToken>,
    ) -> BoxFuture<'a, Result<TokenGrant, Error>> {
        Box::pin(async move {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::time::sleep(Duration::from_millis(30)).await;
            assert!(current.and_then(|c| c.refresh_token.as_ref()).is_some());
            Ok(TokenGrant {
                access_token: Secret::from(format!("access-{n}")),
                expires_in: Duration::from_secs(7200),
                refresh_token: Some(Secret::from(format!("refresh-{n}"))),
            })
        })
    }
}

async fn refresh_once_for_many(name: &str, store: Arc<dyn TokenStore>) {
    let k = key(&format!("{name}-refresh"));
    store
        .put(
            &k,
            &StoredToken {
                refresh_token: Some(Secret::from("refresh-0")),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let fetcher = Arc::new(Rotating {
        calls: AtomicUsize::new(0),
    });
    let tokens = Arc::new(RefreshingToken::new(
        k.clone(),
        fetcher.clone(),
        store.clone(),
    ));
    let gets: Vec<_> = (0..16)
        .map(|_| {
            let t = tokens.clone();
            tokio::spawn(async move { t.get().await.unwrap() })
        })
        .collect();
    for g in gets {
        assert_eq!(g.await.unwrap(), Secret::from("access-1"), "{name}");
    }
    assert_eq!(
        fetcher.calls.load(Ordering::SeqCst),
        1,
        "{name}: one refresh"
    );
    let stored = store.load(&k).await.unwrap().unwrap();
    assert_eq!(
        stored.refresh_token,
        Some(Secret::from("refresh-1")),
        "{name}"
    );
}

#[tokio::test]
async fn memory_store_keeps_the_promises() {
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
    suite("memory", store.clone(), store).await;
}

#[tokio::test]
async fn sqlite_store_keeps_the_promises_across_two_handles() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state").join("tokens.sqlite");
    let store = SqliteStore::open(&path).await.unwrap();
    let other = SqliteStore::open(&path).await.unwrap();
    suite("sqlite", Arc::new(store), Arc::new(other)).await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the token file is its owner's only");
    }
    // Reopened (a later command): the tokens are still there.
    let again = SqliteStore::open(&path).await.unwrap();
    assert!(again.load(&key("sqlite-app")).await.unwrap().is_some());
}

#[tokio::test]
async fn redis_store_keeps_the_promises_across_two_connections() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let store = RedisStore::connect(&server.url()).await.unwrap();
    let other = RedisStore::connect(&server.url()).await.unwrap();
    suite("redis", Arc::new(store), Arc::new(other)).await;
}

#[test]
fn stores_never_print_a_token() {
    let t = token("access-secret-value", Some("refresh-secret-value"));
    let shown = format!("{t:?}");
    assert!(!shown.contains("secret-value"), "{shown}");
}
