//! A fleet on one Redis: several processes sharing one expired token cause exactly one refresh;
//! a lock holder killed mid-refresh neither deadlocks the others (the lock expires) nor loses
//! Baidu's single-use refresh token. Needs `redis-server` (`.ci/run` installs it); skipped
//! loudly when missing.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use core_http::token::{RedisStore, TokenStore};
use miniapp_sandbox::{Sandbox, SandboxOptions};
use miniapp_tests::redis::RedisServer;

const PLATFORM: &str = "tp_fleet";

/// Authorizes `app` once (code exchange) and stores its tokens in Redis.
async fn bootstrap(
    sandbox: &Sandbox,
    redis: &RedisServer,
    app: &str,
) -> core_http::token::TokenManager {
    let store: Arc<dyn TokenStore> = Arc::new(RedisStore::connect(&redis.url()).await.unwrap());
    miniapp_tests::authorize_baidu_app(&sandbox.base_url(), store, PLATFORM, app).await
}

fn worker(
    sandbox: &Sandbox,
    redis: &RedisServer,
    app: &str,
    lock_ttl_ms: u64,
) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_token_worker"))
        .args([
            "--redis",
            &redis.url(),
            "--base-url",
            &sandbox.base_url(),
            "--platform",
            PLATFORM,
            "--app",
            app,
        ])
        .args(["--lock-ttl-ms", &lock_ttl_ms.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("worker starts")
}

fn finish(child: std::process::Child) -> String {
    let out = child.wait_with_output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "worker failed: {text}");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_on_one_expired_token_cause_one_refresh() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let sandbox = Sandbox::start_with(SandboxOptions {
        enforce_tokens: true,
        token_lifetime: Duration::from_secs(2),
        ..Default::default()
    })
    .await
    .unwrap();
    bootstrap(&sandbox, &redis, "app1").await;
    assert_eq!(
        (
            sandbox.issued("GetTpToken"),
            sandbox.issued("GetOAuthToken")
        ),
        (1, 1)
    );
    tokio::time::sleep(Duration::from_millis(2100)).await; // every stored token is now expired

    let workers: Vec<_> = (0..4)
        .map(|_| worker(&sandbox, &redis, "app1", 10_000))
        .collect();
    let outputs: Vec<String> =
        tokio::task::spawn_blocking(move || workers.into_iter().map(finish).collect())
            .await
            .unwrap();
    for out in &outputs {
        assert!(out.starts_with("ok"), "{out}");
    }
    assert_eq!(
        sandbox.issued("GetOAuthToken"),
        2,
        "one authorizer refresh for 4 processes"
    );
    assert_eq!(
        sandbox.issued("GetTpToken"),
        2,
        "one TP token refresh for 4 processes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_lock_holder_neither_deadlocks_nor_loses_the_refresh_token() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let sandbox = Sandbox::start_with(SandboxOptions {
        enforce_tokens: true,
        token_lifetime: Duration::from_secs(2),
        token_delay: Duration::from_millis(300),
        ..Default::default()
    })
    .await
    .unwrap();
    let tokens = bootstrap(&sandbox, &redis, "app1").await;
    let store = tokens.store().clone();
    let before = store
        .load(&tokens.authorizer_key("app1"))
        .await
        .unwrap()
        .unwrap()
        .refresh_token;
    tokio::time::sleep(Duration::from_millis(2100)).await;

    // The first worker takes the refresh lock, then waits on the slow token endpoint (300 ms):
    // kill it there, lock held, refresh unfinished.
    let lock = format!("{}:lock", tokens.authorizer_key("app1"));
    let mut holder = worker(&sandbox, &redis, "app1", 2_000);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !redis.exists(&lock) {
        assert!(Instant::now() < deadline, "the holder never took the lock");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    holder.kill().unwrap();
    holder.wait().unwrap();
    // Its locks (2 s) are still held: the others must wait for them to expire, then refresh.
    let others: Vec<_> = (0..3)
        .map(|_| worker(&sandbox, &redis, "app1", 2_000))
        .collect();

    let started = Instant::now();
    let outputs: Vec<String> =
        tokio::task::spawn_blocking(move || others.into_iter().map(finish).collect())
            .await
            .unwrap();
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(20), "no deadlock");
    assert!(
        waited > Duration::from_millis(1000),
        "the others waited for the dead holder's lock to expire ({waited:?})"
    );
    for out in &outputs {
        assert!(out.starts_with("ok"), "{out}");
    }
    // The refresh token rotated exactly once more, and the stored one still works.
    let after = store
        .load(&tokens.authorizer_key("app1"))
        .await
        .unwrap()
        .unwrap()
        .refresh_token;
    assert!(after.is_some() && after != before);
    assert_eq!(sandbox.issued("GetOAuthToken"), 2);
}
