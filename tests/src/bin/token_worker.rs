//! One process of a fleet, for the Redis token tests: it calls a Baidu endpoint for one
//! authorized app with a self-refreshing token kept in a shared Redis, then prints the outcome.
//!
//! `token_worker --redis URL --base-url URL --platform TP --app APP [--lock-ttl-ms N]
//! [--rescue FILE] [--linger]`: with `--rescue`, rotated tokens the store refuses are kept in
//! FILE and FILE's tokens are imported on start; with `--linger`, it prints the outcome and
//! waits to be killed.

use std::sync::Arc;
use std::time::Duration;

use baidu_smartapp_api::basic_info::GetMobileAuthStatusRequest;
use baidu_smartapp_api::{tokens, Client};
use core_http::token::{RedisStore, RefreshPolicy};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let (Some(redis), Some(base_url), Some(platform), Some(app)) = (
        arg("--redis"),
        arg("--base-url"),
        arg("--platform"),
        arg("--app"),
    ) else {
        eprintln!("usage: token_worker --redis URL --base-url URL --platform TP --app APP [--lock-ttl-ms N]");
        std::process::exit(2);
    };
    let lock_ttl = arg("--lock-ttl-ms")
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let store: Arc<dyn core_http::token::TokenStore> =
        Arc::new(RedisStore::connect(&redis).await.expect("redis"));
    if let Some(rescue) = arg("--rescue") {
        core_http::token::set_rescue_file(Some(rescue.into()));
        let imported = core_http::token::import_rescued(&store)
            .await
            .expect("the rescue file imports");
        println!("imported {imported}");
    }
    let client = Client::with_base_url(base_url);
    let policy = RefreshPolicy {
        lock_ttl: Duration::from_millis(lock_ttl),
        poll_interval: Duration::from_millis(20),
        ..Default::default()
    };
    let manager = tokens::manager(&client, &platform, store, policy);
    let app_handle = client.authorizer(manager.authorizer_token(&app));
    match app_handle
        .get_mobile_auth_status(&GetMobileAuthStatusRequest::new())
        .await
    {
        Ok(status) => {
            println!("ok status={:?}", status.status);
            if args.iter().any(|a| a == "--linger") {
                std::future::pending::<()>().await;
            }
        }
        Err(e) => {
            println!("error {e}");
            std::process::exit(1);
        }
    }
}
