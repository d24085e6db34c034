//! Authorizing the platform in one call per step, against the sandbox in token mode: the
//! authorization link with a fresh pre-auth code, the code exchanged and saved, and refresh
//! tokens from before the SDK imported.

use std::sync::Arc;

use core_http::token::{MemoryStore, RefreshPolicy, TokenStore};
use miniapp_sandbox::{Sandbox, SandboxOptions};

async fn sandbox() -> Sandbox {
    Sandbox::start_with(SandboxOptions {
        enforce_tokens: true,
        ..Default::default()
    })
    .await
    .unwrap()
}

fn query_of(link: &str) -> Vec<(String, String)> {
    url::Url::parse(link)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[tokio::test]
async fn wechat_link_then_code_exchange_saves_the_app() {
    use wechat_component_api::authorization::{self, AuthType};
    let sandbox = sandbox().await;
    let client = wechat_component_api::Client::with_base_url(sandbox.base_url());
    let store = Arc::new(MemoryStore::new());
    let tokens = wechat_component_api::tokens::manager(
        &client,
        "wx_platform",
        "SECRET",
        store.clone(),
        RefreshPolicy::default(),
    );
    tokens
        .store_ticket("ticket@@@1", wechat_component_api::tokens::TICKET_LIFETIME)
        .await
        .unwrap();

    let link = authorization::link(
        &client,
        &tokens,
        "https://example.com/cb?x=1",
        AuthType::MiniProgram,
        Some("wx_biz"),
    )
    .await
    .unwrap();
    assert!(
        link.starts_with("https://mp.weixin.qq.com/cgi-bin/componentloginpage?"),
        "{link}"
    );
    let q = query_of(&link);
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("component_appid"), Some("wx_platform"));
    assert_eq!(get("redirect_uri"), Some("https://example.com/cb?x=1"));
    assert_eq!(get("auth_type"), Some("2"));
    assert_eq!(get("biz_appid"), Some("wx_biz"));
    assert!(get("pre_auth_code").is_some_and(|c| !c.is_empty()));
    assert_eq!(sandbox.hits("CreatePreauthCode"), 1);

    let app_id = authorization::complete(&client, &tokens, "queryauthcode@@@from-redirect")
        .await
        .unwrap();
    assert!(!app_id.is_empty());
    let stored = store
        .load(&tokens.authorizer_key(&app_id))
        .await
        .unwrap()
        .unwrap();
    assert!(stored.access_token.is_some() && stored.refresh_token.is_some());
    // The saved token is used as is: no refresh.
    tokens.authorizer_token(&app_id).get().await.unwrap();
    assert_eq!(sandbox.issued("GetAuthorizerToken"), 0);
}

#[tokio::test]
async fn baidu_link_code_exchange_and_import() {
    let sandbox = sandbox().await;
    let client = baidu_smartapp_api::Client::with_base_url(sandbox.base_url());
    let store = Arc::new(MemoryStore::new());
    let tokens = baidu_smartapp_api::tokens::manager(
        &client,
        "tp_key",
        store.clone(),
        RefreshPolicy::default(),
    );
    tokens
        .store_ticket("baidu-ticket", baidu_smartapp_api::tokens::TICKET_LIFETIME)
        .await
        .unwrap();

    let link = baidu_smartapp_api::authorization::link(&client, &tokens, "https://example.com/cb")
        .await
        .unwrap();
    let q = query_of(&link);
    assert!(q.contains(&("client_id".into(), "tp_key".into())), "{link}");
    assert!(q.iter().any(|(k, v)| k == "pre_auth_code" && !v.is_empty()));

    baidu_smartapp_api::authorization::complete(&client, &tokens, "app1", "authorization-code")
        .await
        .unwrap();
    let app = client.authorizer(tokens.authorizer_token("app1"));
    app.pause_service(&baidu_smartapp_api::basic_info::PauseServiceRequest::new())
        .await
        .unwrap();
    assert_eq!(sandbox.issued("GetOAuthToken"), 1, "the exchange only");

    // A refresh token held from before the SDK: imported into a fresh platform store, the
    // first call refreshes once with it and succeeds.
    let refresh = store
        .load(&tokens.authorizer_key("app1"))
        .await
        .unwrap()
        .unwrap()
        .refresh_token
        .unwrap();
    let new_store = Arc::new(MemoryStore::new());
    let moved = baidu_smartapp_api::tokens::manager(
        &client,
        "tp_key",
        new_store.clone(),
        RefreshPolicy::default(),
    );
    moved
        .store_ticket("baidu-ticket", baidu_smartapp_api::tokens::TICKET_LIFETIME)
        .await
        .unwrap();
    moved
        .import_authorization("app1", refresh.clone())
        .await
        .unwrap();
    let app = client.authorizer(moved.authorizer_token("app1"));
    app.pause_service(&baidu_smartapp_api::basic_info::PauseServiceRequest::new())
        .await
        .unwrap();
    assert_eq!(
        sandbox.issued("GetOAuthToken"),
        2,
        "one refresh with the imported token"
    );
    let rotated = new_store
        .load(&moved.authorizer_key("app1"))
        .await
        .unwrap()
        .unwrap();
    assert_ne!(
        rotated.refresh_token,
        Some(refresh),
        "the rotated refresh token is saved"
    );
}

#[tokio::test]
async fn kuaishou_code_exchange_saves_the_app() {
    let sandbox = sandbox().await;
    let client = kuaishou_api::Client::with_base_url(sandbox.base_url(), "ks_component");
    let store = Arc::new(MemoryStore::new());
    let tokens =
        kuaishou_api::tokens::manager(&client, "SECRET", store.clone(), RefreshPolicy::default());
    tokens
        .store_ticket("ks-ticket", kuaishou_api::tokens::TICKET_LIFETIME)
        .await
        .unwrap();
    let app_id =
        kuaishou_api::authorization::complete(&client, &tokens, "ks_app", "authorization-code")
            .await
            .unwrap();
    let app = client.authorizer(tokens.authorizer_token(&app_id));
    app.get_app_info(&kuaishou_api::basic_info::GetAppInfoRequest::new())
        .await
        .unwrap();
    assert_eq!(sandbox.issued("GetAuthorizerAccessToken"), 1);
}
