//! Tokens never appear in Debug/Display of clients, handles, requests or errors, nor in any
//! tracing output, through successful calls, vendor errors, HTTP errors and transport errors.

use std::sync::Arc;
use std::time::Duration;

use miniapp_tests::{MockServer, Reply};

const WECHAT_TOKEN: &str = "WX_SECRET_component_token_123";
const BAIDU_TOKEN: &str = "45.BAIDU_SECRET_authorizer_token";
const KS_TOKEN: &str = "KS_SECRET_authorizer_token";

fn assert_clean(what: &str, text: &str) {
    for secret in [WECHAT_TOKEN, BAIDU_TOKEN, KS_TOKEN] {
        assert!(!text.contains(secret), "{what} leaks a token: {text}");
    }
}

#[tokio::test]
async fn no_token_in_debug_display_or_traces() {
    miniapp_tests::capture_traces();

    let server = MockServer::start(Reply::json("{}")).await;
    let base = server.base_url();
    let wechat = wechat_component_api::Client::with_base_url(&base).component(WECHAT_TOKEN);
    let baidu = baidu_smartapp_api::Client::with_base_url(&base).authorizer(BAIDU_TOKEN);
    let kuaishou = kuaishou_api::Client::with_base_url(&base, "ks_app").authorizer(KS_TOKEN);
    assert_clean("handles", &format!("{wechat:?} {baidu:?} {kuaishou:?}"));

    let replies = [
        Reply::json(r#"{"errcode":0,"errno":0,"result":1}"#),
        Reply::json(
            r#"{"errcode":40001,"errmsg":"invalid credential","errno":110,"msg":"invalid","result":0,"error_msg":"bad token"}"#,
        ),
        Reply {
            status: 500,
            content_type: "text/plain".into(),
            body: "boom".into(),
        },
        Reply::json("not json"),
    ];
    let mut errors = Vec::new();
    for reply in replies {
        server.set_reply(reply);
        let r1 = wechat
            .modify_wxa_jump_domain(
                &wechat_component_api::third_party_domain::ModifyWxaJumpDomainRequest::new(
                    wechat_component_api::third_party_domain::JumpDomainAction::Get,
                ),
            )
            .await;
        let r2 = baidu
            .pause_service(&baidu_smartapp_api::basic_info::PauseServiceRequest::new())
            .await;
        let r3 = kuaishou
            .get_app_info(&kuaishou_api::basic_info::GetAppInfoRequest::new())
            .await;
        errors.extend(r1.err());
        errors.extend(r2.err());
        errors.extend(r3.err());
    }
    drop(server);
    // A transport error: nothing listens on this port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = baidu_smartapp_api::Client::with_base_url(format!("http://127.0.0.1:{port}"))
        .authorizer(BAIDU_TOKEN);
    errors.extend(
        dead.pause_service(&baidu_smartapp_api::basic_info::PauseServiceRequest::new())
            .await
            .err(),
    );

    assert_eq!(errors.len(), 10, "{errors:?}");
    for err in &errors {
        let mut text = format!("{err} | {err:?}");
        let mut source = std::error::Error::source(err);
        while let Some(s) = source {
            text.push_str(&format!(" | {s} | {s:?}"));
            source = s.source();
        }
        assert_clean("error", &text);
    }
    let logs = miniapp_tests::captured_traces();
    assert!(
        logs.contains("miniapp.call"),
        "the calls were traced: {logs}"
    );
    assert_clean("tracing output", &logs);
}

#[tokio::test]
async fn token_flows_never_show_secrets_tickets_or_tokens() {
    use core_http::token::{MemoryStore, RefreshPolicy, TokenGrant, TokenStore};
    use miniapp_sandbox::{Sandbox, SandboxOptions};

    const APP_SECRET: &str = "APPSECRET_do_not_print";
    const TICKET: &str = "TICKET_do_not_print";
    miniapp_tests::capture_traces();

    let sandbox = Sandbox::start_with(SandboxOptions {
        enforce_tokens: true,
        ..Default::default()
    })
    .await
    .unwrap();
    let store = Arc::new(MemoryStore::new());
    let mut printed = Vec::new();

    // WeChat: platform token from the ticket and the app secret.
    let wx = wechat_component_api::Client::with_base_url(sandbox.base_url());
    let wx_tokens = wechat_component_api::tokens::manager(
        &wx,
        "wx_platform",
        APP_SECRET,
        store.clone(),
        RefreshPolicy::default(),
    );
    wx_tokens
        .store_ticket(TICKET, Duration::from_secs(60))
        .await
        .unwrap();
    let component = wx.component(wx_tokens.component_token());
    let get = wechat_component_api::third_party_domain::ModifyWxaJumpDomainRequest::new(
        wechat_component_api::third_party_domain::JumpDomainAction::Get,
    );
    component.modify_wxa_jump_domain(&get).await.unwrap();
    printed.push(format!(
        "{wx_tokens:?} {component:?} {:?}",
        wx_tokens.component_token()
    ));
    let request = wechat_component_api::component_auth::GetComponentAccessTokenRequest::new(
        "wx", APP_SECRET, TICKET,
    );
    printed.push(format!("{request:?}"));

    // Baidu: authorization, then a revoked token refreshed with the single-use refresh token.
    let bd = baidu_smartapp_api::Client::with_base_url(sandbox.base_url());
    let bd_tokens =
        baidu_smartapp_api::tokens::manager(&bd, "tp", store.clone(), RefreshPolicy::default());
    bd_tokens
        .store_ticket(TICKET, Duration::from_secs(60))
        .await
        .unwrap();
    let tp = bd.component(bd_tokens.component_token());
    let mut exchange = baidu_smartapp_api::tp_auth::GetOAuthTokenRequest::new(
        baidu_smartapp_api::tp_auth::OAuthGrantType::AuthorizationCode,
    );
    exchange.code = Some("CODE_do_not_print".into());
    let answer = tp.get_oauth_token(&exchange).await.unwrap();
    printed.push(format!("{answer:?} {exchange:?}"));
    let grant = TokenGrant::from_answer(
        "GetOAuthToken",
        answer.access_token,
        answer.expires_in,
        answer.refresh_token,
    )
    .unwrap();
    printed.push(format!("{grant:?}"));
    bd_tokens.save_authorization("app", grant).await.unwrap();
    let app = bd.authorizer(bd_tokens.authorizer_token("app"));
    sandbox.revoke_access_tokens();
    app.pause_service(&baidu_smartapp_api::basic_info::PauseServiceRequest::new())
        .await
        .unwrap();

    // A failed refresh, as an error.
    sandbox.fail_token_endpoint("GetComponentAccessToken", Some(61006));
    let fresh = wechat_component_api::tokens::manager(
        &wx,
        "wx_other",
        APP_SECRET,
        store.clone(),
        RefreshPolicy::default(),
    );
    fresh
        .store_ticket(TICKET, Duration::from_secs(60))
        .await
        .unwrap();
    let err = wx
        .component(fresh.component_token())
        .modify_wxa_jump_domain(&get)
        .await
        .unwrap_err();
    printed.push(format!("{err} {err:?}"));

    // Every secret value that exists: the two inputs, and every token the store holds.
    let mut secrets = vec![
        APP_SECRET.to_owned(),
        TICKET.to_owned(),
        "CODE_do_not_print".to_owned(),
    ];
    for key in [
        wx_tokens.component_token().key().clone(),
        bd_tokens.component_token().key().clone(),
        bd_tokens.authorizer_key("app"),
    ] {
        let stored = store.load(&key).await.unwrap().unwrap();
        printed.push(format!("{stored:?}"));
        secrets.extend(stored.access_token.map(|s| s.expose().to_owned()));
        secrets.extend(stored.refresh_token.map(|s| s.expose().to_owned()));
    }
    assert!(secrets.len() >= 7, "{}", secrets.len());
    let logs = miniapp_tests::captured_traces();
    assert!(logs.contains("refreshing token"), "refreshes were traced");
    for text in printed.iter().chain(std::iter::once(&logs)) {
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "leaked {secret:?} in {text}"
            );
        }
    }
}
