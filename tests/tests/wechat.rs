//! WeChat `modify_wxa_jump_domain`: exact requests for all four actions, the document's
//! answers decoded, every documented error code typed, bad input refused before sending.

use core_http::Error;
use miniapp_tests::{MockServer, Reply};
use wechat_component_api::third_party_domain::*;
use wechat_component_api::Client;

const OK: &str = r#"{"errcode":0,"errmsg":"ok","published_wxa_jump_h5_domain":"www.qq.com;wx.qq.com","testing_wxa_jump_h5_domain":"www.qq.com;wx.qq.com"}"#;

fn domains() -> Option<Vec<String>> {
    Some(vec!["www.qq.com".into(), "wx.qq.com".into()])
}

#[tokio::test]
async fn every_action_goes_on_the_wire_as_documented() {
    let server = MockServer::start(Reply::json(OK)).await;
    let component = Client::with_base_url(server.base_url()).component("COMPONENT_TOKEN");
    let cases = [
        (JumpDomainAction::Get, None, None, r#"{"action":"get"}"#),
        (
            JumpDomainAction::Set,
            domains(),
            Some(false),
            r#"{"action":"set","wxa_jump_h5_domain":"www.qq.com;wx.qq.com","is_modify_published_together":false}"#,
        ),
        (
            JumpDomainAction::Add,
            domains(),
            Some(true),
            r#"{"action":"add","wxa_jump_h5_domain":"www.qq.com;wx.qq.com","is_modify_published_together":true}"#,
        ),
        (
            JumpDomainAction::Delete,
            domains(),
            Some(false),
            r#"{"action":"delete","wxa_jump_h5_domain":"www.qq.com;wx.qq.com","is_modify_published_together":false}"#,
        ),
    ];
    for (action, list, together, body) in cases {
        let mut req = ModifyWxaJumpDomainRequest::new(action);
        req.wxa_jump_h5_domain = list;
        req.is_modify_published_together = together;
        let answer = component.modify_wxa_jump_domain(&req).await.unwrap();
        assert_eq!(answer.published_wxa_jump_h5_domain, domains());
        assert_eq!(answer.testing_wxa_jump_h5_domain, domains());
        assert_eq!(answer.invalid_wxa_jump_h5_domain, None);

        let seen = server.only();
        assert_eq!(seen.method, "POST");
        assert_eq!(seen.path, "/cgi-bin/component/modify_wxa_jump_domain");
        assert_eq!(seen.query.as_deref(), Some("access_token=COMPONENT_TOKEN"));
        assert_eq!(seen.content_type.as_deref(), Some("application/json"));
        assert_eq!(seen.body_text(), body, "{action}");
    }
}

#[tokio::test]
async fn invalid_domains_are_decoded_when_present() {
    let server = MockServer::start(Reply::json(
        r#"{"errcode":0,"errmsg":"ok","testing_wxa_jump_h5_domain":"a.com","invalid_wxa_jump_h5_domain":"bad.com;worse.com"}"#,
    ))
    .await;
    let component = Client::with_base_url(server.base_url()).component("T");
    let answer = component
        .modify_wxa_jump_domain(&ModifyWxaJumpDomainRequest::new(JumpDomainAction::Get))
        .await
        .unwrap();
    assert_eq!(answer.published_wxa_jump_h5_domain, None);
    assert_eq!(
        answer.testing_wxa_jump_h5_domain,
        Some(vec!["a.com".to_owned()])
    );
    assert_eq!(
        answer.invalid_wxa_jump_h5_domain,
        Some(vec!["bad.com".to_owned(), "worse.com".to_owned()])
    );
}

#[tokio::test]
async fn every_documented_error_code_is_typed_with_its_text() {
    let server = MockServer::start(Reply::json("{}")).await;
    let component = Client::with_base_url(server.base_url()).component("T");
    let documented = [
        (-1, "system error (系统繁忙，此时请开发者稍候再试)"),
        (61028, "第三方平台未发布"),
        (65316, "domain count reach limit 第三方平台业务域名配置已达200个 (第三方平台小程序业务域名最多200个，不能再新增了，只能删除旧的不使用的域名再新增。)"),
        (9410016, "存在无效域名。具体原因见errmsg(可能有多种原因)。"),
        (40052, "invalid action name (action值有误)"),
        (40039, "invalid url size (不合法的 URL 长度)"),
    ];
    for (code, text) in documented {
        server.set_reply(Reply::json(&format!(
            r#"{{"errcode":{code},"errmsg":"vendor says {code}"}}"#
        )));
        let err = component
            .modify_wxa_jump_domain(&ModifyWxaJumpDomainRequest::new(JumpDomainAction::Get))
            .await
            .unwrap_err();
        let Error::Vendor(v) = err else {
            panic!("not a vendor error: {err:?}")
        };
        assert_eq!(v.code, code);
        assert_eq!(v.message, format!("vendor says {code}"));
        assert_eq!(v.documented, Some(text));
        assert_eq!(v.endpoint, "ModifyWxaJumpDomain");
    }
    server.set_reply(Reply::json(r#"{"errcode":12345,"errmsg":"new"}"#));
    let err = component
        .modify_wxa_jump_domain(&ModifyWxaJumpDomainRequest::new(JumpDomainAction::Get))
        .await
        .unwrap_err();
    assert_eq!(
        err.vendor().map(|v| (v.code, v.documented)),
        Some((12345, None))
    );
}

#[tokio::test]
async fn bad_input_is_refused_before_sending() {
    let server = MockServer::start(Reply::json(OK)).await;
    let component = Client::with_base_url(server.base_url()).component("T");

    let missing = ModifyWxaJumpDomainRequest::new(JumpDomainAction::Set);
    let Err(Error::InvalidRequest(e)) = component.modify_wxa_jump_domain(&missing).await else {
        panic!("expected InvalidRequest")
    };
    assert_eq!(e.field, "wxa_jump_h5_domain");
    assert_eq!(e.rule, "required unless action = get");

    let mut scheme = ModifyWxaJumpDomainRequest::new(JumpDomainAction::Add);
    scheme.wxa_jump_h5_domain = Some(vec!["https://www.qq.com".into()]);
    let Err(Error::InvalidRequest(e)) = component.modify_wxa_jump_domain(&scheme).await else {
        panic!("expected InvalidRequest")
    };
    assert!(e.given.contains("https://www.qq.com"), "{e}");

    let mut many = ModifyWxaJumpDomainRequest::new(JumpDomainAction::Set);
    many.wxa_jump_h5_domain = Some((0..201).map(|i| format!("d{i}.qq.com")).collect());
    let Err(Error::InvalidRequest(e)) = component.modify_wxa_jump_domain(&many).await else {
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
async fn undecodable_and_http_errors_keep_the_body() {
    let server = MockServer::start(Reply {
        status: 502,
        content_type: "text/html".into(),
        body: "<html>bad gateway</html>".into(),
    })
    .await;
    let component = Client::with_base_url(server.base_url()).component("SECRET_COMPONENT_TOKEN");
    let err = component
        .modify_wxa_jump_domain(&ModifyWxaJumpDomainRequest::new(JumpDomainAction::Get))
        .await
        .unwrap_err();
    let Error::Http { status, body, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (*status, &body[..]),
        (502, &b"<html>bad gateway</html>"[..])
    );

    server.set_reply(Reply::json(
        r#"{"errcode":0,"published_wxa_jump_h5_domain":5}"#,
    ));
    let err = component
        .modify_wxa_jump_domain(&ModifyWxaJumpDomainRequest::new(JumpDomainAction::Get))
        .await
        .unwrap_err();
    let Error::Decode { path, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(path, "published_wxa_jump_h5_domain");
    for text in [format!("{err}"), format!("{err:?}")] {
        assert!(!text.contains("SECRET_COMPONENT_TOKEN"), "{text}");
    }
}

#[tokio::test]
async fn transport_errors_never_show_the_token() {
    // A port nothing listens on: bind, read the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let component = Client::with_base_url(format!("http://127.0.0.1:{port}"))
        .component("SECRET_COMPONENT_TOKEN");
    let err = component
        .modify_wxa_jump_domain(&ModifyWxaJumpDomainRequest::new(JumpDomainAction::Get))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    let mut chain = format!("{err} {err:?}");
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        chain.push_str(&format!(" {s} {s:?}"));
        source = s.source();
    }
    assert!(!chain.contains("SECRET_COMPONENT_TOKEN"), "{chain}");
}

#[tokio::test]
async fn kept_bodies_do_not_print_in_debug() {
    // An error page that echoes the request URL, token included.
    let server = MockServer::start(Reply {
        status: 500,
        content_type: "text/html".into(),
        body: "<p>GET /x?access_token=SECRET_IN_PAGE failed</p>".into(),
    })
    .await;
    let component = Client::with_base_url(server.base_url())
        .with_retry_policy(core_http::RetryPolicy::never())
        .component("SECRET_IN_PAGE");
    let err = component
        .modify_wxa_jump_domain(&ModifyWxaJumpDomainRequest::new(JumpDomainAction::Get))
        .await
        .unwrap_err();
    let printed = format!("{err} {err:?}");
    assert!(!printed.contains("SECRET_IN_PAGE"), "{printed}");
    let Error::Http { body, .. } = &err else {
        panic!()
    };
    assert!(
        std::str::from_utf8(body).unwrap().contains("access_token"),
        "the bytes stay readable"
    );
}
