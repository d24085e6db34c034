//! A rotated refresh token outlives a failing store: the refresh still succeeds, the token is
//! kept in memory and saved once the store answers again, and no refresh ever starts from the
//! store's dead refresh token meanwhile (the vendor here refuses a refresh token used twice, as
//! Baidu's single-use ones are).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use core_http::token::{self, RefreshPolicy, RefreshingToken, StoredToken, TokenKey, TokenStore};
use core_http::{Secret, Vendor};
use miniapp_tests::token_doubles::{FlakyStore, SingleUse};

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

/// What the operator reads while a store fails: the key, never a token.
#[tokio::test]
async fn the_logs_of_a_failing_store_name_the_key_and_no_token() {
    let (_guard, logs) = miniapp_tests::thread_logs();
    let (store, vendor, token, key) = setup("app-logs").await;
    store.fail.store(2, Ordering::SeqCst);
    assert_eq!(token.get().await.unwrap().expose(), "access-1");
    assert!(token::flush_unsaved(Duration::from_secs(5))
        .await
        .iter()
        .all(|k| k != &key));
    assert_eq!(vendor.dead.load(Ordering::SeqCst), 0);
    let text = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    assert!(text.contains("could not save the rotated token"), "{text}");
    assert!(text.contains(key.as_str()), "{text}");
    assert!(
        text.contains("saved after the store answered again"),
        "{text}"
    );
    for secret in ["access-1", "refresh-0", "refresh-1"] {
        assert!(!text.contains(secret), "a token in the logs: {text}");
    }
}
