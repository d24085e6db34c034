//! The store fails at the worst moment, for real: Redis killed between the vendor's answer and
//! the save (then started again), SQLite locked by another connection during the save, and a
//! process killed with `kill -9` while Redis is down. Each time the rotated Baidu refresh token
//! (single-use) ends in the store, and the sandbox, which refuses a refresh token used twice,
//! never sees a dead one. Needs `redis-server` (`.ci/run` installs it).

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use baidu_smartapp_api::basic_info::GetMobileAuthStatusRequest;
use core_http::token::{self, RedisStore, RefreshPolicy, SqliteStore, TokenKey, TokenStore};
use core_http::Vendor;
use miniapp_sandbox::{Fault, Sandbox, SandboxOptions};
use miniapp_tests::redis::RedisServer;
use sqlx::Connection as _;

const PLATFORM: &str = "tp_outage";

async fn sandbox() -> Sandbox {
    Sandbox::start_with(SandboxOptions {
        enforce_tokens: true,
        ..Default::default()
    })
    .await
    .unwrap()
}

/// Authorizes `app` (code exchange) and stores its tokens in `store`; the manager.
async fn authorized(
    sandbox: &Sandbox,
    store: Arc<dyn TokenStore>,
    app: &str,
) -> Arc<core_http::token::TokenManager> {
    Arc::new(miniapp_tests::authorize_baidu_app(&sandbox.base_url(), store, PLATFORM, app).await)
}

async fn call(sandbox: &Sandbox, tokens: &core_http::token::TokenManager, app: &str) {
    let client = baidu_smartapp_api::Client::with_base_url(sandbox.base_url());
    client
        .authorizer(tokens.authorizer_token(app))
        .get_mobile_auth_status(&GetMobileAuthStatusRequest::new())
        .await
        .expect("the call succeeds with the rotated token");
}

/// Revokes the app's access token only (the platform's stays valid): its next call refreshes.
async fn expire_app_token(sandbox: &Sandbox, store: &dyn TokenStore, app: &str) {
    let key = TokenKey::authorizer(Vendor::Baidu, PLATFORM, app);
    let stored = store
        .load(&key)
        .await
        .unwrap()
        .expect("the app is authorized");
    sandbox.revoke(stored.access_token.expect("an access token").expose());
}

/// Waits until the sandbox has received `n` refreshes (recorded before their slow answer).
async fn refreshes_received(sandbox: &Sandbox, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while sandbox.hits("GetOAuthToken") < n {
        assert!(Instant::now() < deadline, "no refresh reached the sandbox");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Every refresh the sandbox received was accepted: no dead refresh token was ever sent.
fn no_dead_refresh_token(sandbox: &Sandbox) {
    let refreshes: Vec<_> = sandbox
        .requests()
        .into_iter()
        .filter(|r| r.endpoint.as_deref() == Some("GetOAuthToken"))
        .collect();
    assert!(refreshes.len() >= 2, "{refreshes:?}");
    assert!(
        refreshes.iter().all(|r| r.accepted),
        "a dead refresh token was sent: {refreshes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_between_the_answer_and_the_save_then_restarted() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mut redis) = RedisServer::start_persistent(dir.path()) else {
        return;
    };
    let sandbox = sandbox().await;
    let store: Arc<dyn TokenStore> = Arc::new(RedisStore::connect(&redis.url()).await.unwrap());
    let tokens = authorized(&sandbox, store.clone(), "app-redis").await;
    let before = sandbox.hits("GetOAuthToken");

    // The refresh's answer is slow; Redis dies once the sandbox has rotated the token.
    expire_app_token(&sandbox, store.as_ref(), "app-redis").await;
    sandbox.inject(
        "GetOAuthToken",
        Fault::Slow(Duration::from_millis(600)),
        Some(1),
    );
    let calling = {
        let (sandbox_url, tokens) = (sandbox.base_url(), tokens.clone());
        tokio::spawn(async move {
            let client = baidu_smartapp_api::Client::with_base_url(sandbox_url);
            client
                .authorizer(tokens.authorizer_token("app-redis"))
                .get_mobile_auth_status(&GetMobileAuthStatusRequest::new())
                .await
        })
    };
    refreshes_received(&sandbox, before + 1).await;
    redis.stop();
    calling
        .await
        .unwrap()
        .expect("the call succeeds while the store is down");
    let key = TokenKey::authorizer(Vendor::Baidu, PLATFORM, "app-redis");
    assert!(
        token::unsaved_keys().contains(&key),
        "held in memory while Redis is down"
    );

    redis.restart();
    let left = token::flush_unsaved(Duration::from_secs(20)).await;
    assert!(!left.contains(&key), "saved once Redis is back: {left:?}");
    // A fresh connection sees the rotated token, and the chain still works.
    let fresh: Arc<dyn TokenStore> = Arc::new(RedisStore::connect(&redis.url()).await.unwrap());
    expire_app_token(&sandbox, fresh.as_ref(), "app-redis").await;
    let next = authorized_manager(&sandbox, fresh);
    call(&sandbox, &next, "app-redis").await;
    no_dead_refresh_token(&sandbox);
}

fn authorized_manager(
    sandbox: &Sandbox,
    store: Arc<dyn TokenStore>,
) -> core_http::token::TokenManager {
    let client = baidu_smartapp_api::Client::with_base_url(sandbox.base_url());
    baidu_smartapp_api::tokens::manager(&client, PLATFORM, store, RefreshPolicy::default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_locked_by_another_connection_during_the_save() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.sqlite");
    let sandbox = sandbox().await;
    let store: Arc<dyn TokenStore> = Arc::new(SqliteStore::open(&path).await.unwrap());
    let tokens = authorized(&sandbox, store.clone(), "app-sqlite").await;
    let before = sandbox.hits("GetOAuthToken");

    expire_app_token(&sandbox, store.as_ref(), "app-sqlite").await;
    sandbox.inject(
        "GetOAuthToken",
        Fault::Slow(Duration::from_millis(300)),
        Some(1),
    );
    let calling = {
        let (sandbox_url, tokens) = (sandbox.base_url(), tokens.clone());
        tokio::spawn(async move {
            let client = baidu_smartapp_api::Client::with_base_url(sandbox_url);
            client
                .authorizer(tokens.authorizer_token("app-sqlite"))
                .get_mobile_auth_status(&GetMobileAuthStatusRequest::new())
                .await
        })
    };
    refreshes_received(&sandbox, before + 1).await;
    // Another process's connection holds the write lock across the save.
    let mut other = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut other)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    sqlx::query("COMMIT").execute(&mut other).await.unwrap();
    calling.await.unwrap().expect("the call succeeds");
    // The save waited for the lock (SQLite's busy timeout) and landed: nothing left unsaved.
    let key = TokenKey::authorizer(Vendor::Baidu, PLATFORM, "app-sqlite");
    assert!(!token::unsaved_keys().contains(&key));

    // A new handle on the file (a new process) refreshes from what was saved.
    let reopened: Arc<dyn TokenStore> = Arc::new(SqliteStore::open(&path).await.unwrap());
    expire_app_token(&sandbox, reopened.as_ref(), "app-sqlite").await;
    let next = authorized_manager(&sandbox, reopened);
    call(&sandbox, &next, "app-sqlite").await;
    no_dead_refresh_token(&sandbox);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_killed_while_redis_is_down_leaves_its_token_to_the_next_one() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mut redis) = RedisServer::start_persistent(dir.path()) else {
        return;
    };
    let rescue = dir.path().join("tokens.rescue");
    let sandbox = sandbox().await;
    let store: Arc<dyn TokenStore> = Arc::new(RedisStore::connect(&redis.url()).await.unwrap());
    authorized(&sandbox, store.clone(), "app-killed").await;
    let before = sandbox.hits("GetOAuthToken");

    expire_app_token(&sandbox, store.as_ref(), "app-killed").await;
    sandbox.inject(
        "GetOAuthToken",
        Fault::Slow(Duration::from_millis(600)),
        Some(1),
    );
    let redis_url = redis.url();
    let worker = |linger: bool| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_token_worker"));
        command
            .args(["--redis", &redis_url, "--base-url", &sandbox.base_url()])
            .args(["--platform", PLATFORM, "--app", "app-killed", "--rescue"])
            .arg(&rescue)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if linger {
            command.arg("--linger");
        }
        command.spawn().expect("the worker starts")
    };
    let mut first = worker(true);
    refreshes_received(&sandbox, before + 1).await;
    redis.stop();
    // It answers its caller with the rotated token, which is only in its memory and the rescue
    // file: then it is killed.
    let mut lines = std::io::BufReader::new(first.stdout.take().unwrap()).lines();
    let outcome = tokio::task::spawn_blocking(move || {
        lines.find(|l| {
            l.as_ref()
                .is_ok_and(|l| l.starts_with("ok") || l.starts_with("error"))
        })
    })
    .await
    .unwrap();
    assert!(
        matches!(outcome, Some(Ok(ref l)) if l.starts_with("ok")),
        "{outcome:?}"
    );
    assert!(rescue.exists(), "the rotated token is in the rescue file");
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();

    // Redis comes back with the dead refresh token; the next process imports the rescued one
    // and refreshes from it (its access token revoked).
    redis.restart();
    // The rescued access token is revoked too, so the next process must refresh from the
    // rescued refresh token (the one only the rescue file holds).
    let rescued = std::fs::read_to_string(&rescue).unwrap();
    let line: serde_json::Value = serde_json::from_str(rescued.lines().next().unwrap()).unwrap();
    sandbox.revoke(
        line["token"]["a"]
            .as_str()
            .expect("the rescued access token"),
    );
    let next = worker(false).wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&next.stdout);
    assert!(next.status.success(), "{text}");
    assert!(text.contains("imported 1"), "{text}");
    no_dead_refresh_token(&sandbox);
}
