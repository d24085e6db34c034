//! A rotated token the store could not take is also kept in a rescue file (0600, exactly the
//! unsaved tokens, gone once they are saved), and the next process imports it with a
//! compare-and-set: the vendor, whose refresh tokens are single-use, never sees a dead one.
//! (Its own test binary: the rescue file is process-wide.)

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use core_http::token::{
    self, MemoryStore, RefreshPolicy, RefreshingToken, StoredToken, TokenKey, TokenStore,
};
use core_http::{Secret, Vendor};
use miniapp_tests::token_doubles::{FlakyStore, SingleUse};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_the_store_refused_is_rescued_on_disk_and_imported_by_the_next_process() {
    let dir = tempfile::tempdir().unwrap();
    let rescue = dir.path().join("plan.tokens.sqlite.rescue");
    token::set_rescue_file(Some(rescue.clone()));
    let key = TokenKey::authorizer(Vendor::Baidu, "tp-rescue", "app-rescued");
    let stale = StoredToken {
        refresh_token: Some(Secret::from("refresh-0")),
        ..Default::default()
    };

    // The first process: its store is down when the vendor rotates the refresh token.
    let down = Arc::new(FlakyStore::default());
    down.put(&key, &stale).await.unwrap();
    down.forever.store(true, Ordering::SeqCst);
    let vendor = Arc::new(SingleUse {
        live: Mutex::new("refresh-0".into()),
        issued: AtomicUsize::new(0),
        dead: AtomicUsize::new(0),
        lifetime: Duration::from_millis(300),
    });
    let first = RefreshingToken::with_policy(
        key.clone(),
        vendor.clone(),
        down.clone() as Arc<dyn TokenStore>,
        RefreshPolicy::default(),
    );
    assert_eq!(first.get().await.unwrap().expose(), "access-1");
    let text = std::fs::read_to_string(&rescue).expect("the rescue file is written");
    assert_eq!(text.lines().count(), 1, "only the unsaved token");
    assert!(text.contains("app-rescued") && text.contains("refresh-1"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&rescue).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // The next process (killed in between, as far as the store knows): its store still holds
    // the dead refresh token; the import puts the rotated one over it.
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
    store.put(&key, &stale).await.unwrap();
    assert_eq!(token::import_rescued(&store).await.unwrap(), 1);
    assert_eq!(
        store.load(&key).await.unwrap().unwrap().refresh_token,
        Some(Secret::from("refresh-1"))
    );
    let next = RefreshingToken::with_policy(
        key.clone(),
        vendor.clone(),
        store.clone(),
        RefreshPolicy::default(),
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(next.get().await.unwrap().expose(), "access-2");
    assert_eq!(
        vendor.dead.load(Ordering::SeqCst),
        0,
        "no dead refresh token sent"
    );

    // The first store answers again: its saver lands, and nothing is left to rescue.
    down.forever.store(false, Ordering::SeqCst);
    assert!(token::flush_unsaved(Duration::from_secs(10))
        .await
        .is_empty());
    assert!(
        !rescue.exists(),
        "the rescue file is removed once nothing is unsaved"
    );
    // A process killed while the store takes the rotated token (the vendor has answered, the
    // save is in flight): the token is in the rescue file before the save, so the next
    // process still has it.
    let key = TokenKey::authorizer(Vendor::Baidu, "tp-rescue", "app-in-flight");
    let stalled = Arc::new(FlakyStore::default());
    stalled.put(&key, &stale).await.unwrap();
    stalled.stall.store(true, Ordering::SeqCst);
    *vendor.live.lock().unwrap() = "refresh-0".into();
    let killed = RefreshingToken::with_policy(
        key.clone(),
        vendor.clone(),
        stalled.clone() as Arc<dyn TokenStore>,
        RefreshPolicy::default(),
    );
    let run = tokio::spawn(async move { killed.get().await.map(|t| t.expose().to_owned()) });
    let mut waited = 0;
    while !rescue.exists() {
        assert!(waited < 200, "the rotated token reaches the rescue file");
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += 1;
    }
    run.abort(); // killed mid-save
    let text = std::fs::read_to_string(&rescue).unwrap();
    assert!(text.contains("app-in-flight"), "{text}");
    let next_store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
    next_store.put(&key, &stale).await.unwrap();
    assert_eq!(token::import_rescued(&next_store).await.unwrap(), 1);
    // In this process, the refresh dropped mid-save handed its token to a saver task: once
    // the store answers, it holds the rotated token and nothing is left unsaved.
    stalled.stall.store(false, Ordering::SeqCst);
    assert!(token::flush_unsaved(Duration::from_secs(10))
        .await
        .is_empty());
    assert_eq!(
        stalled.load(&key).await.unwrap().unwrap().refresh_token,
        next_store.load(&key).await.unwrap().unwrap().refresh_token,
    );
    let rotated = next_store.load(&key).await.unwrap().unwrap().refresh_token;
    assert_eq!(
        rotated.as_ref().map(|s| s.expose()),
        Some(vendor.live.lock().unwrap().as_str())
    );
    let dead_before = vendor.dead.load(Ordering::SeqCst);
    let resumed = RefreshingToken::with_policy(
        key.clone(),
        vendor.clone(),
        next_store.clone(),
        RefreshPolicy::default(),
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    resumed.get().await.unwrap();
    assert_eq!(
        vendor.dead.load(Ordering::SeqCst),
        dead_before,
        "no dead refresh token sent"
    );
    std::fs::remove_file(&rescue).ok();

    // A broken rescue file is an error naming the file, never quoting its text.
    std::fs::write(&rescue, "{\"key\": \"k\", \"token\": \"secret-value\"}\n").unwrap();
    let err = token::import_rescued(&store).await.unwrap_err().to_string();
    assert!(
        err.contains("rescue file") && !err.contains("secret-value"),
        "{err}"
    );

    // The file is a log (one line per token about to be saved, one per save that landed):
    // the last line of each key is what the import takes.
    let token = |refresh: &str| {
        serde_json::to_value(StoredToken {
            refresh_token: Some(Secret::from(refresh)),
            expires_at_ms: 1,
            ..Default::default()
        })
        .unwrap()
    };
    let (saved_key, rotated_key) = (
        "miniapp:baidu:tp:authorizer:saved",
        "miniapp:baidu:tp:authorizer:rotated",
    );
    let log = [
        serde_json::json!({"key": saved_key, "token": token("s-1")}),
        serde_json::json!({"key": rotated_key, "token": token("r-1")}),
        serde_json::json!({"key": saved_key, "saved": true}),
        serde_json::json!({"key": rotated_key, "token": token("r-2")}),
    ];
    let text: String = log.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&rescue, text).unwrap();
    let fresh: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
    assert_eq!(token::import_rescued(&fresh).await.unwrap(), 1);
    let load = |key: &str| {
        let fresh = fresh.clone();
        let key = TokenKey::from_raw(key.to_owned());
        async move { fresh.load(&key).await.unwrap() }
    };
    assert_eq!(load(saved_key).await, None, "a landed save is not imported");
    assert_eq!(
        load(rotated_key).await.unwrap().refresh_token,
        Some(Secret::from("r-2")),
        "the key's last token"
    );
    assert!(!rescue.exists(), "nothing left unsaved: the file is gone");
    token::set_rescue_file(None);
}
