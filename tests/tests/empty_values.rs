//! Empty values a quota-limited or list-changing write would waste are refused before sending,
//! by the spec's rules (`limits.non_empty`, `[[endpoints.rules]]`): no request reaches the
//! loopback server, the error names the field, and the sandbox refuses the same values.

use core_http::Error;
use miniapp_tests::{MockServer, Reply};

fn refused<T: std::fmt::Debug>(result: Result<T, Error>, endpoint: &str, field: &str) {
    match result {
        Err(Error::InvalidRequest(e)) => {
            assert_eq!((e.endpoint, e.field), (endpoint, field), "{e}");
        }
        other => panic!("{endpoint}.{field}: expected InvalidRequest, got {other:?}"),
    }
}

#[tokio::test]
async fn baidu_quota_limited_texts_must_hold_something() {
    use baidu_smartapp_api::basic_info::*;
    let server = MockServer::start(Reply::json(r#"{"errno":0,"msg":"success"}"#)).await;
    let app = baidu_smartapp_api::Client::with_base_url(server.base_url()).authorizer("TOKEN");
    for empty in ["", "  ", "\t\n"] {
        refused(
            app.set_nickname(&SetNicknameRequest::new(empty)).await,
            "SetNickname",
            "nick_name",
        );
        refused(
            app.modify_signature(&ModifySignatureRequest::new(empty))
                .await,
            "ModifySignature",
            "signature",
        );
        refused(
            app.modify_head_image(&ModifyHeadImageRequest::new(empty))
                .await,
            "ModifyHeadImage",
            "image_url",
        );
    }
    assert!(server.take().is_empty(), "a request was sent");
    // A value is sent as before.
    app.set_nickname(&SetNicknameRequest::new("小程序名称"))
        .await
        .unwrap();
    assert_eq!(server.take().len(), 1);
}

#[tokio::test]
async fn wechat_jump_domain_add_and_delete_need_a_domain() {
    use wechat_component_api::third_party_domain::*;
    let server = MockServer::start(Reply::json(r#"{"errcode":0,"errmsg":"ok"}"#)).await;
    let component =
        wechat_component_api::Client::with_base_url(server.base_url()).component("TOKEN");
    for action in [JumpDomainAction::Add, JumpDomainAction::Delete] {
        for domains in [
            vec![],
            vec![String::new()],
            vec![String::new(), String::new()],
        ] {
            let mut req = ModifyWxaJumpDomainRequest::new(action);
            req.wxa_jump_h5_domain = Some(domains.clone());
            refused(
                component.modify_wxa_jump_domain(&req).await,
                "ModifyWxaJumpDomain",
                "wxa_jump_h5_domain",
            );
        }
    }
    assert!(server.take().is_empty(), "a request was sent");
    // `set` with nothing clears the list (a documented value), and `get` needs none.
    let mut set = ModifyWxaJumpDomainRequest::new(JumpDomainAction::Set);
    set.wxa_jump_h5_domain = Some(vec![]);
    component.modify_wxa_jump_domain(&set).await.unwrap();
    component
        .modify_wxa_jump_domain(&ModifyWxaJumpDomainRequest::new(JumpDomainAction::Get))
        .await
        .unwrap();
    let sent = server.take();
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[0].body_text(),
        r#"{"action":"set","wxa_jump_h5_domain":""}"#
    );
}

#[tokio::test]
async fn kuaishou_webview_delete_needs_a_domain() {
    use kuaishou_api::basic_info::*;
    let server = MockServer::start(Reply::json(r#"{"result":1}"#)).await;
    let app =
        kuaishou_api::Client::with_base_url(server.base_url(), "ks_platform").authorizer("TOKEN");
    for action in [DomainAction::Add, DomainAction::Delete] {
        for domains in [vec![], vec![String::new()]] {
            let mut req = WebviewDomainRequest::new(action);
            req.webview = Some(domains);
            refused(app.webview_domain(&req).await, "WebviewDomain", "webview");
        }
    }
    assert!(server.take().is_empty(), "a request was sent");
}

/// The sandbox applies the same rules (through `miniapp-rules`), so a hand-written client
/// meets the same refusal.
#[tokio::test]
async fn the_sandbox_refuses_the_same_empty_values() {
    let sandbox = miniapp_sandbox::Sandbox::start().await.unwrap();
    let http = reqwest::Client::new();
    let baidu = http
        .post(format!(
            "{}/rest/2.0/smartapp/app/setnickname",
            sandbox.base_url()
        ))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("access_token=t&nick_name=%20")
        .send()
        .await
        .unwrap();
    let answer: serde_json::Value = baidu.json().await.unwrap();
    assert_ne!(answer["errno"], 0, "{answer}");
    assert!(answer.to_string().contains("nick_name"), "{answer}");

    let wechat = http
        .post(format!(
            "{}/cgi-bin/component/modify_wxa_jump_domain?access_token=t",
            sandbox.base_url()
        ))
        .json(&serde_json::json!({"action": "add", "wxa_jump_h5_domain": ""}))
        .send()
        .await
        .unwrap();
    let answer: serde_json::Value = wechat.json().await.unwrap();
    assert_ne!(answer["errcode"], 0, "{answer}");
    assert!(
        answer.to_string().contains("wxa_jump_h5_domain"),
        "{answer}"
    );

    let kuaishou = http
        .post(format!(
            "{}/openapi/mp/auth/app/webview_domain?component_app_id=c&authorizer_access_token=t",
            sandbox.base_url()
        ))
        .json(&serde_json::json!({"action": "delete", "webview": [""]}))
        .send()
        .await
        .unwrap();
    let answer: serde_json::Value = kuaishou.json().await.unwrap();
    assert_ne!(answer["result"], 1, "{answer}");
}
