//! The token endpoints of WeChat and Kuaishou on the wire (Baidu's are in `baidu.rs`): exact
//! requests as `shared/vendor-auth.md` gives them, answers decoded into secrets.

use core_http::Secret;
use miniapp_tests::{MockServer, Reply};

type Wire = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
);

const JSON: Option<&str> = Some("application/json");

/// WeChat: JSON bodies; the platform token in the query under the names the docs use.
fn wechat(endpoint: &str) -> Wire {
    match endpoint {
        "GetComponentAccessToken" => (
            "POST",
            "/cgi-bin/component/api_component_token",
            None,
            JSON,
            r#"{"component_appid":"wx_tour_component","component_appsecret":"TOUR_SECRET","component_verify_ticket":"ticket@@@tour"}"#,
        ),
        "StartPushTicket" => (
            "POST",
            "/cgi-bin/component/api_start_push_ticket",
            None,
            JSON,
            r#"{"component_appid":"wx_tour_component","component_secret":"TOUR_SECRET"}"#,
        ),
        "CreatePreauthCode" => (
            "POST",
            "/cgi-bin/component/api_create_preauthcode",
            Some("access_token=tour-token"),
            JSON,
            r#"{"component_appid":"wx_tour_component"}"#,
        ),
        "QueryAuth" => (
            "POST",
            "/cgi-bin/component/api_query_auth",
            Some("component_access_token=tour-token"),
            JSON,
            r#"{"component_appid":"wx_tour_component","authorization_code":"queryauthcode@@@tour"}"#,
        ),
        "GetAuthorizerToken" => (
            "POST",
            "/cgi-bin/component/api_authorizer_token",
            Some("component_access_token=tour-token"),
            JSON,
            r#"{"component_appid":"wx_tour_component","authorizer_appid":"wx_authorizer","authorizer_refresh_token":"refreshtoken@@@tour"}"#,
        ),
        "ModifyWxaJumpDomain" => (
            "POST",
            "/cgi-bin/component/modify_wxa_jump_domain",
            Some("access_token=tour-token"),
            JSON,
            r#"{"action":"set","wxa_jump_h5_domain":"www.qq.com;wx.qq.com","is_modify_published_together":false}"#,
        ),
        "ModifyWxaServerDomain" => (
            "POST",
            "/cgi-bin/component/modify_wxa_server_domain",
            Some("access_token=tour-token"),
            JSON,
            r#"{"action":"add","wxa_server_domain":"www.qq.com"}"#,
        ),
        "GetDomainConfirmFile" => (
            "POST",
            "/cgi-bin/component/get_domain_confirmfile",
            Some("access_token=tour-token"),
            JSON,
            "{}",
        ),
        "ModifyDomain" => (
            "POST",
            "/wxa/modify_domain",
            Some("access_token=tour-token"),
            JSON,
            r#"{"action":"add","requestdomain":["https://www.qq.com"]}"#,
        ),
        "ModifyDomainDirectly" => (
            "POST",
            "/wxa/modify_domain_directly",
            Some("access_token=tour-token"),
            JSON,
            r#"{"action":"set","requestdomain":["https://www.qq.com"]}"#,
        ),
        "GetEffectiveDomain" => (
            "POST",
            "/wxa/get_effective_domain",
            Some("access_token=tour-token"),
            JSON,
            "{}",
        ),
        "SetWebviewDomain" => (
            "POST",
            "/wxa/setwebviewdomain",
            Some("access_token=tour-token"),
            JSON,
            r#"{"action":"get"}"#,
        ),
        "SetWebviewDomainDirectly" => (
            "POST",
            "/wxa/setwebviewdomain_directly",
            Some("access_token=tour-token"),
            JSON,
            r#"{"action":"get"}"#,
        ),
        "GetWebviewDomainConfirmFile" => (
            "POST",
            "/wxa/get_webviewdomain_confirmfile",
            Some("access_token=tour-token"),
            JSON,
            "{}",
        ),
        other => panic!("no expectation for {other}"),
    }
}

/// The WeChat endpoints of `code_management.toml` and `code_template.toml`.
fn wechat_code_endpoints() -> Vec<String> {
    miniapp_spec::load_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs"))
        .expect("specs load")
        .into_iter()
        .filter(|(_, s)| {
            s.vendor.as_str() == "wechat"
                && ["code_management", "code_template"].contains(&s.module.as_str())
        })
        .flat_map(|(_, s)| s.endpoints.into_iter().map(|e| e.name))
        .collect()
}

/// Kuaishou: GET, everything in the query.
fn kuaishou(endpoint: &str) -> Option<Wire> {
    let path_query = match endpoint {
        "StartPushTicket" => ("/mp/tp/oauth/start_push_ticket", "component_app_id=tour-component-app&component_app_secret=TOUR_SECRET"),
        "GetComponentAccessToken" => ("/mp/tp/oauth/access_token", "component_app_id=tour-component-app&component_app_secret=TOUR_SECRET&component_verify_ticket=tour-ticket"),
        "GetPreAuthCode" => ("/mp/tp/oauth/pre_auth_code", "component_app_id=tour-component-app&component_access_token=tour-token"),
        "GetAuthorizerAccessToken" => ("/mp/tp/oauth/authorizer_access_token", "component_app_id=tour-component-app&component_access_token=tour-token&authorization_code=tour-auth-code"),
        "GetReAuthorizationCode" => ("/mp/tp/oauth/re_authorization_code", "component_app_id=tour-component-app&component_access_token=tour-token&authorized_app_id=tour-authorized-app"),
        _ => return None, // the basic-info endpoints are in kuaishou.rs
    };
    Some(("GET", path_query.0, Some(path_query.1), None, ""))
}

#[tokio::test]
async fn token_endpoints_go_on_the_wire_as_documented() {
    // One answer that carries every field the token endpoints guarantee (this test checks
    // the requests; the answers are decoded in the tests below).
    let server = MockServer::start(Reply::json(
        r#"{"errcode":0,"result":1,"component_access_token":"c","expires_in":7200,"pre_auth_code":"p","authorizer_access_token":"a","authorizer_refresh_token":"r","authorization_info":{"authorizer_appid":"wx","authorizer_access_token":"a","expires_in":7200,"authorizer_refresh_token":"r"},"componentAccessToken":"c","expiresIn":7200,"preAuthCode":"p","authorizerAccessToken":"a","authorizationCode":"code","file_name":"f.txt","file_content":"c"}"#,
    ))
    .await;
    let clients = miniapp_tour::Clients::new(&server.base_url());
    let elsewhere = wechat_code_endpoints();
    let mut checked = 0;
    for call in miniapp_tour::calls() {
        let want = match call.vendor {
            // The code management and code template endpoints are in wechat_code.rs.
            "wechat" if elsewhere.iter().any(|n| n == call.endpoint) => continue,
            "wechat" => wechat(call.endpoint),
            "kuaishou" => match kuaishou(call.endpoint) {
                Some(w) => w,
                None => continue,
            },
            _ => continue,
        };
        let result = (call.run)(&clients).await;
        assert!(result.is_ok(), "{}: {:?}", call.endpoint, result.err());
        let seen = server.only();
        let got = (
            seen.method.as_str(),
            seen.path.as_str(),
            seen.query.as_deref(),
            seen.content_type.as_deref(),
            seen.body_text(),
        );
        assert_eq!(got, want, "{} {}", call.vendor, call.endpoint);
        checked += 1;
    }
    assert_eq!(checked, 6 + 8 + 5);
}

#[tokio::test]
async fn token_answers_decode_into_secrets() {
    let server = MockServer::start(Reply::json(
        r#"{"authorization_info":{"authorizer_appid":"wxf8b4f85f3a794e77","authorizer_access_token":"QXjUqNqfYVH0yBE1iI_7vuN_9gQbpjfK7hYwJ3P7xOa88a89-Aga5x1NMYJyB8G2yKt1KCl0nPC3W9GJzw0Zzq_dBxc8pxIGUNi_bFes0qM","expires_in":7200,"authorizer_refresh_token":"dTo-YCXPL4llX-u1W1pPpnp8Hgm4wpJtlR6iV0doKdY","func_info":[{"funcscope_category":{"id":1}}]}}"#,
    ))
    .await;
    let component = wechat_component_api::Client::with_base_url(server.base_url()).component("T");
    let info = component
        .query_auth(&wechat_component_api::component_auth::QueryAuthRequest::new("wx", "code"))
        .await
        .unwrap()
        .authorization_info;
    assert_eq!(info.authorizer_appid, "wxf8b4f85f3a794e77");
    assert_eq!(info.expires_in, 7200);
    assert_eq!(
        info.authorizer_refresh_token,
        Secret::from("dTo-YCXPL4llX-u1W1pPpnp8Hgm4wpJtlR6iV0doKdY")
    );
    assert_eq!(info.func_info.as_ref().map(Vec::len), Some(1));
    let printed = format!("{info:?}");
    assert!(
        !printed.contains("dTo-YCXPL4llX") && !printed.contains("QXjUqNqfYVH0"),
        "{printed}"
    );

    // Baidu's oauth/token answers without an envelope; its errors are {error, error_description}.
    server.set_reply(Reply::json(
        r#"{"access_token":"45.new","refresh_token":"46.new","expires_in":3600}"#,
    ));
    let baidu = baidu_smartapp_api::Client::with_base_url(server.base_url()).component("42.tp");
    let mut refresh = baidu_smartapp_api::tp_auth::GetOAuthTokenRequest::new(
        baidu_smartapp_api::tp_auth::OAuthGrantType::RefreshToken,
    );
    refresh.refresh_token = Some("46.old".into());
    let t = baidu.get_oauth_token(&refresh).await.unwrap();
    assert_eq!(
        (t.access_token, t.refresh_token, t.expires_in),
        ("45.new".into(), "46.new".into(), 3600)
    );
    server.set_reply(Reply {
        status: 400,
        content_type: "application/json".into(),
        body: r#"{"error":"invalid_grant","error_description":"refresh token invalid"}"#.into(),
    });
    let err = baidu.get_oauth_token(&refresh).await.unwrap_err();
    assert_eq!(
        err.vendor().unwrap().message,
        "invalid_grant: refresh token invalid"
    );

    // Kuaishou's token endpoints answer camelCase members and `errorMsg`.
    server.set_reply(Reply::json(
        r#"{"result":1,"componentAccessToken":"ks-c-1","expiresIn":7200}"#,
    ));
    let ks = kuaishou_api::Client::with_base_url(server.base_url(), "ks_app");
    let t = ks
        .get_component_access_token(&kuaishou_api::oauth::GetComponentAccessTokenRequest::new(
            "ks_app", "S", "T",
        ))
        .await
        .unwrap();
    assert_eq!(
        (t.component_access_token, t.expires_in),
        ("ks-c-1".into(), 7200)
    );
    server.set_reply(Reply::json(
        r#"{"result":100200102,"errorMsg":"invalid token"}"#,
    ));
    let err = ks
        .get_component_access_token(&kuaishou_api::oauth::GetComponentAccessTokenRequest::new(
            "ks_app", "S", "T",
        ))
        .await
        .unwrap_err();
    assert_eq!(
        err.vendor().map(|v| (v.code, v.message.as_str())),
        Some((100200102, "invalid token"))
    );
}
