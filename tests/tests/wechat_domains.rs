//! WeChat per-app domain endpoints (`/wxa/modify_domain`, `…_directly`, `get_effective_domain`,
//! `setwebviewdomain`, `…_directly`, `get_webviewdomain_confirmfile`) and the platform's own
//! (`modify_wxa_server_domain`, `get_domain_confirmfile`): exact requests, the documented answers
//! decoded, every documented error code typed, bad input refused before sending, and reads of
//! quota-limited endpoints retried while their writes are not.

use std::time::Duration;

use core_http::{Error, RetryPolicy};
use miniapp_tests::{MockServer, Reply};
use wechat_component_api::domain_management::*;
use wechat_component_api::third_party_server_domain::*;
use wechat_component_api::Client;

fn urls(items: &[&str]) -> Option<Vec<String>> {
    Some(items.iter().map(|s| s.to_string()).collect())
}

fn assert_post(seen: &miniapp_tests::Captured, path: &str, token: &str, body: &str) {
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.path, path);
    assert_eq!(
        seen.query.as_deref(),
        Some(format!("access_token={token}").as_str())
    );
    assert_eq!(seen.content_type.as_deref(), Some("application/json"));
    assert_eq!(seen.body_text(), body);
}

/// Sets one of the six lists of a `modify_domain` request.
type SetList = fn(&mut ModifyDomainRequest, Option<Vec<String>>);

const MODIFY_OK: &str = r#"{"errcode":0,"errmsg":"ok","requestdomain":["https://www.qq.com"],"wsrequestdomain":["wss://www.qq.com"],"uploaddomain":[],"downloaddomain":["https://dl.qq.com"],"udpdomain":["udp://www.qq.com"],"tcpdomain":["tcp://www.qq.com"],"invalid_requestdomain":["https://bad.example"],"no_icp_domain":["https://noicp.example"]}"#;

#[tokio::test]
async fn modify_domain_sends_only_the_lists_given() {
    let server = MockServer::start(Reply::json(MODIFY_OK)).await;
    let app = Client::with_base_url(server.base_url()).authorizer("APP_TOKEN");

    let answer = app
        .modify_domain(&ModifyDomainRequest::new(DomainAction::Get))
        .await
        .unwrap();
    assert_post(
        &server.only(),
        "/wxa/modify_domain",
        "APP_TOKEN",
        r#"{"action":"get"}"#,
    );
    assert_eq!(answer.requestdomain, urls(&["https://www.qq.com"]));
    assert_eq!(answer.wsrequestdomain, urls(&["wss://www.qq.com"]));
    assert_eq!(answer.uploaddomain, Some(vec![]));
    assert_eq!(answer.downloaddomain, urls(&["https://dl.qq.com"]));
    assert_eq!(answer.udpdomain, urls(&["udp://www.qq.com"]));
    assert_eq!(answer.tcpdomain, urls(&["tcp://www.qq.com"]));
    assert_eq!(answer.invalid_requestdomain, urls(&["https://bad.example"]));
    assert_eq!(answer.invalid_wsrequestdomain, None);
    assert_eq!(answer.no_icp_domain, urls(&["https://noicp.example"]));

    let mut add = ModifyDomainRequest::new(DomainAction::Add);
    add.requestdomain = urls(&["https://a.example.com", "https://b.example.com:8443"]);
    add.tcpdomain = urls(&["tcp://t.example.com"]);
    app.modify_domain(&add).await.unwrap();
    assert_post(
        &server.only(),
        "/wxa/modify_domain",
        "APP_TOKEN",
        r#"{"action":"add","requestdomain":["https://a.example.com","https://b.example.com:8443"],"tcpdomain":["tcp://t.example.com"]}"#,
    );

    // An explicit empty list is sent: `set` with [] clears that kind.
    let mut clear = ModifyDomainRequest::new(DomainAction::Set);
    clear.requestdomain = urls(&["https://a.example.com"]);
    clear.wsrequestdomain = Some(vec![]);
    app.modify_domain(&clear).await.unwrap();
    assert_eq!(
        server.only().body_text(),
        r#"{"action":"set","requestdomain":["https://a.example.com"],"wsrequestdomain":[]}"#
    );
}

#[tokio::test]
async fn each_list_requires_its_own_scheme_before_sending() {
    let server = MockServer::start(Reply::json(MODIFY_OK)).await;
    let app = Client::with_base_url(server.base_url()).authorizer("T");
    let cases: [(SetList, &str, &str); 6] = [
        (
            |r, v| r.requestdomain = v,
            "requestdomain",
            "wss://x.example.com",
        ),
        (
            |r, v| r.wsrequestdomain = v,
            "wsrequestdomain",
            "https://x.example.com",
        ),
        (|r, v| r.uploaddomain = v, "uploaddomain", "x.example.com"),
        (
            |r, v| r.downloaddomain = v,
            "downloaddomain",
            "https://x.example.com/path",
        ),
        (|r, v| r.udpdomain = v, "udpdomain", "tcp://x.example.com"),
        (
            |r, v| r.tcpdomain = v,
            "tcpdomain",
            "wss://https://x.example.com",
        ),
    ];
    for (set, field, bad) in cases {
        let mut req = ModifyDomainRequest::new(DomainAction::Add);
        set(&mut req, urls(&[bad]));
        let Err(Error::InvalidRequest(e)) = app.modify_domain(&req).await else {
            panic!("{field}: expected InvalidRequest")
        };
        assert_eq!((e.endpoint, e.field), ("ModifyDomain", field));
        assert!(e.given.contains(bad), "{e}");
    }

    let missing = ModifyDomainRequest::new(DomainAction::Delete);
    let Err(Error::InvalidRequest(e)) = app.modify_domain(&missing).await else {
        panic!("expected InvalidRequest")
    };
    assert!(e.rule.contains("at least one"), "{e}");

    let mut many = ModifyDomainRequest::new(DomainAction::Set);
    many.requestdomain = Some(
        (0..201)
            .map(|i| format!("https://d{i}.example.com"))
            .collect(),
    );
    let Err(Error::InvalidRequest(e)) = app.modify_domain(&many).await else {
        panic!("expected InvalidRequest")
    };
    assert_eq!(
        (e.rule.as_str(), e.given.as_str()),
        ("at most 200 items", "201 items")
    );

    assert!(
        server.take().is_empty(),
        "nothing may be sent for bad input"
    );
}

#[tokio::test]
async fn reads_of_quota_limited_endpoints_are_retried_and_writes_are_not() {
    let server = MockServer::start(Reply {
        status: 503,
        content_type: "text/plain".into(),
        body: "busy".into(),
    })
    .await;
    let app = Client::with_base_url(server.base_url())
        .with_retry_policy(RetryPolicy {
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
            ..Default::default()
        })
        .authorizer("T");

    let err = app
        .modify_domain(&ModifyDomainRequest::new(DomainAction::Get))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Http { status: 503, .. }), "{err:?}");
    assert_eq!(server.take().len(), 3, "a get is a read: retried");

    let mut add = ModifyDomainRequest::new(DomainAction::Add);
    add.requestdomain = urls(&["https://a.example.com"]);
    app.modify_domain(&add).await.unwrap_err();
    assert_eq!(
        server.take().len(),
        1,
        "an add spends the monthly quota and may have been applied: not repeated"
    );
}

#[tokio::test]
async fn modify_domain_directly_and_effective_domains() {
    let server = MockServer::start(Reply::json(r#"{"errcode":0,"errmsg":"ok"}"#)).await;
    let app = Client::with_base_url(server.base_url()).authorizer("APP_TOKEN");
    let mut set = ModifyDomainDirectlyRequest::new(DomainAction::Set);
    set.requestdomain = urls(&["https://www.qq.com"]);
    set.uploaddomain = urls(&["https://www.qq.com"]);
    let answer = app.modify_domain_directly(&set).await.unwrap();
    assert_eq!(answer.requestdomain, None);
    assert_post(
        &server.only(),
        "/wxa/modify_domain_directly",
        "APP_TOKEN",
        r#"{"action":"set","requestdomain":["https://www.qq.com"],"uploaddomain":["https://www.qq.com"]}"#,
    );

    server.set_reply(Reply::json(
        r#"{"errcode":0,"errmsg":"ok","mp_domain":{"requestdomain":["https://www.qq.com"],"wsrequestdomain":[],"uploaddomain":[],"downloaddomain":[],"udpdomain":[],"tcpdomain":[]},"third_domain":{"requestdomain":["https://api.example.com"]},"direct_domain":{},"effective_domain":{"requestdomain":["https://www.qq.com","https://api.example.com"],"wsrequestdomain":["wss://ws.example.com"]}}"#,
    ));
    let effective = app
        .get_effective_domain(&GetEffectiveDomainRequest::new())
        .await
        .unwrap();
    assert_post(
        &server.only(),
        "/wxa/get_effective_domain",
        "APP_TOKEN",
        "{}",
    );
    let mp = effective.mp_domain.unwrap();
    assert_eq!(mp.requestdomain, urls(&["https://www.qq.com"]));
    assert_eq!(mp.tcpdomain, Some(vec![]));
    assert_eq!(
        effective.third_domain.unwrap().requestdomain,
        urls(&["https://api.example.com"])
    );
    assert_eq!(effective.direct_domain.unwrap().requestdomain, None);
    let live = effective.effective_domain.unwrap();
    assert_eq!(
        live.requestdomain,
        urls(&["https://www.qq.com", "https://api.example.com"])
    );
    assert_eq!(live.wsrequestdomain, urls(&["wss://ws.example.com"]));
}

#[tokio::test]
async fn webview_domains_and_their_confirm_file() {
    let server = MockServer::start(Reply::json(
        r#"{"errcode":0,"errmsg":"ok","webviewdomain":["https://www.qq.com","https://m.qq.com"]}"#,
    ))
    .await;
    let app = Client::with_base_url(server.base_url()).authorizer("APP_TOKEN");

    // No action: WeChat adds every webview domain the platform registered.
    app.set_webview_domain(&SetWebviewDomainRequest::new())
        .await
        .unwrap();
    assert_post(&server.only(), "/wxa/setwebviewdomain", "APP_TOKEN", "{}");

    let mut get = SetWebviewDomainRequest::new();
    get.action = Some(DomainAction::Get);
    let answer = app.set_webview_domain(&get).await.unwrap();
    assert_eq!(
        answer.webviewdomain,
        urls(&["https://www.qq.com", "https://m.qq.com"])
    );
    assert_eq!(server.only().body_text(), r#"{"action":"get"}"#);

    let mut add = SetWebviewDomainDirectlyRequest::new(DomainAction::Add);
    add.webviewdomain = urls(&["https://h5.example.com"]);
    app.set_webview_domain_directly(&add).await.unwrap();
    assert_post(
        &server.only(),
        "/wxa/setwebviewdomain_directly",
        "APP_TOKEN",
        r#"{"action":"add","webviewdomain":["https://h5.example.com"]}"#,
    );

    // https only and no port; at most 100 (the stricter of the two documented limits).
    for bad in [
        "https://h5.example.com:8443",
        "http://h5.example.com",
        "h5.example.com",
    ] {
        let mut req = SetWebviewDomainRequest::new();
        req.action = Some(DomainAction::Add);
        req.webviewdomain = urls(&[bad]);
        let Err(Error::InvalidRequest(e)) = app.set_webview_domain(&req).await else {
            panic!("{bad}: expected InvalidRequest")
        };
        assert_eq!(e.field, "webviewdomain");
    }
    let mut many = SetWebviewDomainDirectlyRequest::new(DomainAction::Set);
    many.webviewdomain = Some(
        (0..101)
            .map(|i| format!("https://d{i}.example.com"))
            .collect(),
    );
    assert!(matches!(
        app.set_webview_domain_directly(&many).await,
        Err(Error::InvalidRequest(_))
    ));
    let add_nothing = SetWebviewDomainDirectlyRequest::new(DomainAction::Add);
    assert!(matches!(
        app.set_webview_domain_directly(&add_nothing).await,
        Err(Error::InvalidRequest(_))
    ));
    assert!(server.take().is_empty());

    server.set_reply(Reply::json(
        r#"{"errcode":0,"errmsg":"ok","file_name":"8ea9.txt","file_content":"2a1d27"}"#,
    ));
    let file = app
        .get_webview_domain_confirm_file(&GetWebviewDomainConfirmFileRequest::new())
        .await
        .unwrap();
    assert_eq!(
        (file.file_name.as_str(), file.file_content.as_str()),
        ("8ea9.txt", "2a1d27")
    );
    assert_post(
        &server.only(),
        "/wxa/get_webviewdomain_confirmfile",
        "APP_TOKEN",
        "{}",
    );

    // The file is what the answer promises: without it, a decode error naming the field.
    server.set_reply(Reply::json(
        r#"{"errcode":0,"errmsg":"ok","file_name":"x.txt"}"#,
    ));
    let err = app
        .get_webview_domain_confirm_file(&GetWebviewDomainConfirmFileRequest::new())
        .await
        .unwrap_err();
    assert!(matches!(&err, Error::Decode { .. }), "{err:?}");
    assert!(err.to_string().contains("file_content"), "{err}");
}

#[tokio::test]
async fn the_platforms_server_domains_are_joined_bare_hosts() {
    let server = MockServer::start(Reply::json(
        r#"{"errcode":0,"errmsg":"ok","published_wxa_server_domain":"www.qq.com;www.weixin.qq.com","testing_wxa_server_domain":"www.qq.com"}"#,
    ))
    .await;
    let component = Client::with_base_url(server.base_url()).component("COMPONENT_TOKEN");
    let answer = component
        .modify_wxa_server_domain(&ModifyWxaServerDomainRequest::new(ServerDomainAction::Get))
        .await
        .unwrap();
    assert_post(
        &server.only(),
        "/cgi-bin/component/modify_wxa_server_domain",
        "COMPONENT_TOKEN",
        r#"{"action":"get"}"#,
    );
    assert_eq!(
        answer.published_wxa_server_domain,
        urls(&["www.qq.com", "www.weixin.qq.com"])
    );
    assert_eq!(answer.testing_wxa_server_domain, urls(&["www.qq.com"]));
    assert_eq!(answer.invalid_wxa_server_domain, None);

    let mut add = ModifyWxaServerDomainRequest::new(ServerDomainAction::Add);
    add.wxa_server_domain = urls(&["api.example.com", "ws.example.com"]);
    add.is_modify_published_together = Some(true);
    component.modify_wxa_server_domain(&add).await.unwrap();
    assert_eq!(
        server.only().body_text(),
        r#"{"action":"add","wxa_server_domain":"api.example.com;ws.example.com","is_modify_published_together":true}"#
    );

    let mut scheme = ModifyWxaServerDomainRequest::new(ServerDomainAction::Add);
    scheme.wxa_server_domain = urls(&["https://api.example.com"]);
    let Err(Error::InvalidRequest(e)) = component.modify_wxa_server_domain(&scheme).await else {
        panic!("expected InvalidRequest")
    };
    assert_eq!(e.field, "wxa_server_domain");
    let missing = ModifyWxaServerDomainRequest::new(ServerDomainAction::Set);
    let Err(Error::InvalidRequest(e)) = component.modify_wxa_server_domain(&missing).await else {
        panic!("expected InvalidRequest")
    };
    assert_eq!(e.rule, "required unless action = get");
    assert!(server.take().is_empty());

    server.set_reply(Reply::json(
        r#"{"errcode":0,"errmsg":"ok","file_name":"1a2b.txt","file_content":"6f7a"}"#,
    ));
    let file = component
        .get_domain_confirm_file(&GetDomainConfirmFileRequest::new())
        .await
        .unwrap();
    assert_eq!(
        (file.file_name.as_str(), file.file_content.as_str()),
        ("1a2b.txt", "6f7a")
    );
    assert_post(
        &server.only(),
        "/cgi-bin/component/get_domain_confirmfile",
        "COMPONENT_TOKEN",
        "{}",
    );
}

/// Asserts a vendor error with `code` carries the vendor's message and the documented text.
fn assert_documented(err: Error, endpoint: &str, code: i64, text: &str) {
    let Error::Vendor(v) = err else {
        panic!("{endpoint} {code}: not a vendor error: {err:?}")
    };
    assert_eq!((v.endpoint, v.code), (endpoint, code));
    assert_eq!(v.message, format!("vendor says {code}"));
    assert_eq!(v.documented, Some(text), "{endpoint} {code}");
}

#[tokio::test]
async fn every_documented_error_code_is_typed_with_its_text() {
    let server = MockServer::start(Reply::json("{}")).await;
    let client = Client::with_base_url(server.base_url());
    let (app, component) = (client.authorizer("T"), client.component("T"));
    let reply = |code: i64| {
        server.set_reply(Reply::json(&format!(
            r#"{{"errcode":{code},"errmsg":"vendor says {code}"}}"#
        )))
    };
    let modify: &[(i64, &str)] = &[
        (85015, "该账号不是小程序账号"),
        (85017, "没有新增域名，请确认小程序已经添加了域名或该域名是否没有在第三方平台添加 (No domain left to modify after filtering: empty, or not registered on the third-party platform (modify_wxa_server_domain).)"),
        (85018, "域名没有在第三方平台设置 (Register the domain on the platform first (modify_wxa_server_domain).)"),
        (85301, "存在不符合域名规则的域名"),
        (85302, "不符合 ICP 备案要求的域名"),
        (85303, "存在不符合域名规则且不符合 ICP 备案要求的域名"),
        (86102, "每个月只能修改50次，超过次数限制 (The monthly limit of 50 changes is spent (mapped by a third-party client [mirror]).)"),
    ];
    for &(code, text) in modify {
        reply(code);
        let err = app
            .modify_domain(&ModifyDomainRequest::new(DomainAction::Get))
            .await
            .unwrap_err();
        assert_documented(err, "ModifyDomain", code, text);
    }
    let directly: &[(i64, &str)] = &[
        (85015, "该账号不是小程序账号"),
        (
            86100,
            "域名协议错误 (invalid URL protocol: each list requires its own scheme.)",
        ),
        (45082, "需要补充相应资料，填写备案信息 (ICP filing needed.)"),
        (86101, "不允许配置 api.weixin.qq.com"),
        (85016, "域名数量超过限制"),
        (86102, "每个月只能修改50次，超过次数限制"),
    ];
    for &(code, text) in directly {
        reply(code);
        let err = app
            .modify_domain_directly(&ModifyDomainDirectlyRequest::new(DomainAction::Get))
            .await
            .unwrap_err();
        assert_documented(err, "ModifyDomainDirectly", code, text);
    }
    reply(44002);
    let err = app
        .get_effective_domain(&GetEffectiveDomainRequest::new())
        .await
        .unwrap_err();
    assert_documented(
        err,
        "GetEffectiveDomain",
        44002,
        "empty post data (The body must not be empty: send {}.)",
    );
    let webview: &[(i64, &str)] = &[
        (89019, "业务域名无更改，无需重复设置"),
        (89020, "尚未设置小程序业务域名，请先在第三方平台中设置小程序业务域名后在调用本接口 (Register webview (jump) domains on the platform first (modify_wxa_jump_domain).)"),
        (89021, "请求保存的域名不是第三方平台中已设置的小程序业务域名或子域名 (Register the domain on the platform first (modify_wxa_jump_domain).)"),
        (89029, "业务域名数量超过限制，最多可以添加100个业务域名"),
        (89231, "个人小程序不支持调用 setwebviewdomain 接口"),
    ];
    for &(code, text) in webview {
        reply(code);
        let err = app
            .set_webview_domain(&SetWebviewDomainRequest::new())
            .await
            .unwrap_err();
        assert_documented(err, "SetWebviewDomain", code, text);
    }
    let webview_directly: &[(i64, &str)] = &[
        (86103, "check confirmfile fail! 检查检验文件失败 (Serve the confirm file (get_webviewdomain_confirmfile) at the domain's root, unchanged.)"),
        (506015, "该域名绑定的小程序数量超过限制"),
    ];
    for &(code, text) in webview_directly {
        reply(code);
        let err = app
            .set_webview_domain_directly(&SetWebviewDomainDirectlyRequest::new(DomainAction::Get))
            .await
            .unwrap_err();
        assert_documented(err, "SetWebviewDomainDirectly", code, text);
    }
    for (code, text) in [
        (-1, "system error (系统繁忙，此时请开发者稍候再试)"),
        (
            44002,
            "empty post data (The body must not be empty: send {}.)",
        ),
    ] {
        reply(code);
        let err = app
            .get_webview_domain_confirm_file(&GetWebviewDomainConfirmFileRequest::new())
            .await
            .unwrap_err();
        assert_documented(err, "GetWebviewDomainConfirmFile", code, text);
    }
    reply(-1);
    let err = component
        .get_domain_confirm_file(&GetDomainConfirmFileRequest::new())
        .await
        .unwrap_err();
    assert_documented(
        err,
        "GetDomainConfirmFile",
        -1,
        "system error (系统繁忙，此时请开发者稍候再试)",
    );
    // Common codes without an endpoint table stay typed, with no documented text.
    reply(40001);
    let err = component
        .modify_wxa_server_domain(&ModifyWxaServerDomainRequest::new(ServerDomainAction::Get))
        .await
        .unwrap_err();
    assert_eq!(err.vendor().map(|v| v.code), Some(40001));
}

/// WeChat ends its error messages with the request's id (`rid: …`), which its support asks
/// for: the error keeps it apart, and says it.
#[tokio::test]
async fn a_wechat_error_keeps_the_request_id_its_message_ends_with() {
    let server = MockServer::start(Reply::json(
        r#"{"errcode":85015,"errmsg":"invalid domain rid: 6899a148-5929c88a-767d57ca"}"#,
    ))
    .await;
    let app = Client::with_base_url(server.base_url()).authorizer("APP_TOKEN");
    let err = app
        .modify_domain(&ModifyDomainRequest::new(DomainAction::Get))
        .await
        .unwrap_err();
    let vendor = err.vendor().expect("a vendor error");
    assert_eq!(vendor.code, 85015);
    assert_eq!(
        vendor.message,
        "invalid domain rid: 6899a148-5929c88a-767d57ca"
    );
    assert_eq!(
        vendor.request_id.as_deref(),
        Some("6899a148-5929c88a-767d57ca")
    );
    assert!(
        err.to_string()
            .ends_with("(request id 6899a148-5929c88a-767d57ca)"),
        "{err}"
    );
}
