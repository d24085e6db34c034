//! WeChat's pushes to the message and event URL (消息与事件接收 URL): the code audit results
//! arrive in the authorizer's message envelope (`ToUserName`, `openid` in the query), are
//! verified, decrypted and typed, name their app by the URL's `$APPID$` segment or by its
//! original id, and are acted on once however often they are delivered.

use std::sync::{Arc, Mutex};

use core_http::crypto::CryptoError;
use core_http::token::{MemoryStore, RefreshPolicy, TokenStore};
use wechat_component_api::code_management::Event;
use wechat_component_api::push::app_events::{self, handler::AppEventHandler, AppPush};
use wechat_component_api::push::{MessageCrypto, PushQuery};

const APP_ID: &str = "wx134c8103faa5a59e";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn crypto() -> MessageCrypto {
    MessageCrypto::new("AAAAA", &"A".repeat(43), APP_ID).unwrap()
}

/// The push WeChat sends the message and event URL for `inner`: its query and body.
fn pushed(c: &MessageCrypto, inner: &str, nonce: &str) -> (String, Vec<u8>) {
    let timestamp = now().to_string();
    let encrypt = c.encrypt(inner);
    let signature = c.signature(&timestamp, nonce, &encrypt);
    let query = format!("signature=x&timestamp={timestamp}&nonce={nonce}&openid=o_gh&encrypt_type=aes&msg_signature={signature}");
    let body = format!("<xml><ToUserName><![CDATA[gh_fb9688c2a4b2]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>");
    (query, body.into_bytes())
}

const FAIL: &str = "<xml><ToUserName><![CDATA[gh_fb9688c2a4b2]]></ToUserName><FromUserName><![CDATA[od1P50M-fNQI5Gcq-trm4a7apsU8]]></FromUserName><CreateTime>1488856591</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[weapp_audit_fail]]></Event><Reason><![CDATA[1:账号信息不符合规范]]></Reason><FailTime>1488856591</FailTime><ScreenShot><![CDATA[xxx|yyy|zzz]]></ScreenShot></xml>";
const SUCCESS: &str = "<xml><ToUserName><![CDATA[gh_fb9688c2a4b2]]></ToUserName><FromUserName><![CDATA[od1P50M-fNQI5Gcq-trm4a7apsU8]]></FromUserName><CreateTime>1488856741</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[weapp_audit_success]]></Event><SuccTime>1488856741</SuccTime></xml>";

#[test]
fn audit_results_are_typed_and_unknown_events_kept() {
    let c = crypto();
    let (query, body) = pushed(&c, FAIL, "1");
    let push = app_events::open(
        &c,
        Some("wx_app_1".into()),
        &PushQuery::from_query(&query),
        &body,
    )
    .unwrap();
    assert_eq!(push.app(), "wx_app_1");
    assert_eq!(push.original_id, "gh_fb9688c2a4b2");
    let Event::AuditFail(fail) = &push.event else {
        panic!("{push:?}")
    };
    assert_eq!(fail.reason.as_deref(), Some("1:账号信息不符合规范"));
    assert_eq!(fail.fail_time, Some(1488856591));

    let (query, body) = pushed(&c, SUCCESS, "2");
    let push = app_events::open(&c, None, &PushQuery::from_query(&query), &body).unwrap();
    assert_eq!(push.app(), "gh_fb9688c2a4b2", "no $APPID$: the original id");
    assert!(matches!(push.event, Event::AuditSuccess(ref s) if s.succ_time == Some(1488856741)));

    // An official-account message on the same URL is kept, not refused.
    let text = "<xml><ToUserName><![CDATA[gh_x]]></ToUserName><FromUserName><![CDATA[o]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event></xml>";
    let (query, body) = pushed(&c, text, "3");
    let push = app_events::open(&c, None, &PushQuery::from_query(&query), &body).unwrap();
    assert!(matches!(push.event, Event::Unknown(ref u) if u.event == "subscribe"));

    // Signed by someone else: refused before decrypting.
    let (mut query, body) = pushed(&c, FAIL, "4");
    query = query.replace("nonce=4", "nonce=5");
    assert_eq!(
        app_events::open(&c, None, &PushQuery::from_query(&query), &body).unwrap_err(),
        CryptoError::BadSignature
    );
}

#[tokio::test]
async fn the_handler_names_the_app_by_its_url_and_acts_on_a_result_once() {
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
    let client = wechat_component_api::Client::with_base_url("http://127.0.0.1:9");
    let tokens = Arc::new(wechat_component_api::tokens::manager(
        &client,
        APP_ID,
        "SECRET",
        store,
        RefreshPolicy::default(),
    ));
    let seen: Arc<Mutex<Vec<AppPush>>> = Arc::default();
    let hook = seen.clone();
    let router = AppEventHandler::new(tokens, crypto())
        .on_push(move |push| {
            let hook = hook.clone();
            async move { hook.lock().unwrap().push(push) }
        })
        .router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });

    let http = reqwest::Client::new();
    let (query, body) = pushed(&crypto(), FAIL, "10");
    for _ in 0..3 {
        let answer = http
            .post(format!("{url}/wx_app_1?{query}"))
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 200);
        assert_eq!(answer.text().await.unwrap(), "success");
    }
    let (query, body) = pushed(&crypto(), SUCCESS, "11");
    let answer = http
        .post(format!("{url}/?{query}"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    let forged = http
        .post(format!(
            "{url}/wx_app_1?{}",
            query.replace("nonce=11", "nonce=12")
        ))
        .body(pushed(&crypto(), SUCCESS, "11").1)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 400);

    let seen = seen.lock().unwrap();
    let apps: Vec<&str> = seen.iter().map(AppPush::app).collect();
    assert_eq!(
        apps,
        ["wx_app_1", "gh_fb9688c2a4b2"],
        "each result hooked once"
    );
}
