//! Pushes on the open internet: a push received before (a captured one posted again, or the
//! vendor's late re-delivery) changes nothing, on one instance or on two sharing a store; a
//! ticket pushed earlier never replaces a newer one; a push whose handling failed is handled
//! when the vendor pushes it again. Through the ready axum handlers on loopback, and through
//! `push::receive`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use core_http::crypto::CryptoError;
use core_http::token::{load_ticket, MemoryStore, RefreshPolicy, SqliteStore, TokenStore};
use core_http::Error;
use miniapp_tests::redis::RedisServer;
use wechat_component_api::push::{handler::PushHandler, MessageCrypto, PushQuery};

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

/// WeChat's push of `inner`: its query string and body (a fresh nonce each time, as WeChat's).
fn wechat_push(c: &MessageCrypto, inner: &str) -> (String, Vec<u8>) {
    let (timestamp, nonce) = (now().to_string(), fastrand::u32(..).to_string());
    let encrypt = c.encrypt(inner);
    let signature = c.signature(&timestamp, &nonce, &encrypt);
    let query = format!("timestamp={timestamp}&nonce={nonce}&msg_signature={signature}");
    let body = format!(
        "<xml><AppId><![CDATA[{APP_ID}]]></AppId><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    );
    (query, body.into_bytes())
}

fn wechat_ticket(ticket: &str, created: u64) -> String {
    format!("<xml><AppId><![CDATA[{APP_ID}]]></AppId><CreateTime>{created}</CreateTime><InfoType><![CDATA[component_verify_ticket]]></InfoType><ComponentVerifyTicket><![CDATA[{ticket}]]></ComponentVerifyTicket></xml>")
}

/// A WeChat handler on loopback over `store`, counting the pushes its hook sees; its URL.
async fn wechat_receiver(
    store: Arc<dyn TokenStore>,
    complete_at: &str,
    complete: bool,
) -> (
    String,
    Arc<AtomicUsize>,
    Arc<wechat_component_api::tokens::TokenManager>,
) {
    let client = wechat_component_api::Client::with_base_url(complete_at);
    let tokens = Arc::new(wechat_component_api::tokens::manager(
        &client,
        APP_ID,
        "SECRET",
        store,
        RefreshPolicy::default(),
    ));
    let hooked = Arc::new(AtomicUsize::new(0));
    let seen = hooked.clone();
    let router = PushHandler::new(client, tokens.clone(), crypto())
        .complete_authorizations(complete)
        .on_push(move |_| {
            let seen = seen.clone();
            async move {
                seen.fetch_add(1, Ordering::SeqCst);
            }
        })
        .router();
    (serve(router).await, hooked, tokens)
}

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

async fn post(url: &str, query: &str, body: &[u8]) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(format!("{url}/?{query}"))
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn stored_ticket(store: &dyn TokenStore, tokens: &core_http::token::TokenManager) -> String {
    load_ticket(store, &tokens.ticket_key())
        .await
        .unwrap()
        .expose()
        .to_owned()
}

#[tokio::test]
async fn a_replayed_ticket_push_is_acknowledged_and_changes_nothing() {
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
    let (url, hooked, tokens) = wechat_receiver(store.clone(), "http://127.0.0.1:9", true).await;
    let c = crypto();
    let t = now();
    let (old_query, old_body) = wechat_push(&c, &wechat_ticket("ticket@@@older", t - 60));
    let (new_query, new_body) = wechat_push(&c, &wechat_ticket("ticket@@@newer", t));

    assert_eq!(
        post(&url, &old_query, &old_body).await,
        (200, "success".into())
    );
    assert_eq!(
        post(&url, &new_query, &new_body).await,
        (200, "success".into())
    );
    assert_eq!(
        stored_ticket(store.as_ref(), &tokens).await,
        "ticket@@@newer"
    );
    assert_eq!(hooked.load(Ordering::SeqCst), 2);

    // The older push, captured and posted again within the window: acknowledged (WeChat stops
    // pushing), but nothing is stored and the hook does not run.
    assert_eq!(
        post(&url, &old_query, &old_body).await,
        (200, "success".into())
    );
    assert_eq!(
        stored_ticket(store.as_ref(), &tokens).await,
        "ticket@@@newer"
    );
    assert_eq!(hooked.load(Ordering::SeqCst), 2);
    // Through the library entry point: the typed error.
    let err = wechat_component_api::push::receive(
        &tokens,
        &c,
        &PushQuery::from_query(&new_query),
        &new_body,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Push(CryptoError::Replayed)), "{err:?}");
}

#[tokio::test]
async fn an_older_ticket_pushed_late_never_replaces_a_newer_one() {
    let c = crypto();
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
    let client = wechat_component_api::Client::with_base_url("http://127.0.0.1:9");
    let tokens = wechat_component_api::tokens::manager(
        &client,
        APP_ID,
        "S",
        store.clone(),
        RefreshPolicy::default(),
    );
    let t = now();
    for (ticket, created) in [
        ("t@@@2", t - 10),
        ("t@@@1", t - 600),
        ("t@@@3", t),
        ("t@@@0", t - 3600),
    ] {
        let (query, body) = wechat_push(&c, &wechat_ticket(ticket, created));
        // Each is a genuine push (its own signature): received, but stored only when newer.
        wechat_component_api::push::receive(&tokens, &c, &PushQuery::from_query(&query), &body)
            .await
            .unwrap();
    }
    assert_eq!(stored_ticket(store.as_ref(), &tokens).await, "t@@@3");

    // Baidu: the same rule on its `CreateTime` (a number or a string).
    let b = baidu_smartapp_api::push::MessageCrypto::new("bt", &"B".repeat(43), "baidu_client")
        .unwrap();
    let bclient = baidu_smartapp_api::Client::with_base_url("http://127.0.0.1:9");
    let btokens = baidu_smartapp_api::tokens::manager(
        &bclient,
        "baidu_client",
        store.clone(),
        RefreshPolicy::default(),
    );
    for (ticket, created) in [
        ("b2", format!("{}", t - 5)),
        ("b1", format!("\"{}\"", t - 900)),
    ] {
        let inner = format!(
            r#"{{"Ticket":"{ticket}","FromUserName":"SmartApp","CreateTime":{created},"MsgType":"ticket","Event":"push"}}"#
        );
        let body = baidu_envelope(&b, &inner);
        baidu_smartapp_api::push::receive(&btokens, &b, &body)
            .await
            .unwrap();
    }
    assert_eq!(stored_ticket(store.as_ref(), &btokens).await, "b2");
}

fn baidu_envelope(b: &baidu_smartapp_api::push::MessageCrypto, inner: &str) -> Vec<u8> {
    let (timestamp, nonce) = (now().to_string(), fastrand::u32(..).to_string());
    let encrypt = b.encrypt(inner);
    serde_json::json!({
        "Nonce": nonce,
        "TimeStamp": timestamp,
        "Encrypt": encrypt,
        "MsgSignature": b.signature(&timestamp, &nonce, &encrypt),
    })
    .to_string()
    .into_bytes()
}

/// Two receivers on one shared store (two processes behind a load balancer): the push one of
/// them handled is refused by the other.
async fn two_instances_refuse_each_others_replays(
    first: Arc<dyn TokenStore>,
    second: Arc<dyn TokenStore>,
) {
    let (url_a, hooked_a, tokens) =
        wechat_receiver(first.clone(), "http://127.0.0.1:9", true).await;
    let (url_b, hooked_b, _) = wechat_receiver(second, "http://127.0.0.1:9", true).await;
    let c = crypto();
    let (query, body) = wechat_push(&c, &wechat_ticket("ticket@@@shared", now()));
    assert_eq!(post(&url_a, &query, &body).await, (200, "success".into()));
    assert_eq!(post(&url_b, &query, &body).await, (200, "success".into()));
    assert_eq!(post(&url_a, &query, &body).await, (200, "success".into()));
    assert_eq!(hooked_a.load(Ordering::SeqCst), 1);
    assert_eq!(
        hooked_b.load(Ordering::SeqCst),
        0,
        "the replay reached the second instance's hook"
    );
    assert_eq!(
        stored_ticket(first.as_ref(), &tokens).await,
        "ticket@@@shared"
    );
}

#[tokio::test]
async fn two_instances_on_one_sqlite_file_refuse_each_others_replays() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.sqlite");
    let first: Arc<dyn TokenStore> = Arc::new(SqliteStore::open(&path).await.unwrap());
    let second: Arc<dyn TokenStore> = Arc::new(SqliteStore::open(&path).await.unwrap());
    two_instances_refuse_each_others_replays(first, second).await;
}

#[tokio::test]
async fn two_instances_on_one_redis_refuse_each_others_replays() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let first: Arc<dyn TokenStore> = Arc::new(
        core_http::token::RedisStore::connect(&redis.url())
            .await
            .unwrap(),
    );
    let second: Arc<dyn TokenStore> = Arc::new(
        core_http::token::RedisStore::connect(&redis.url())
            .await
            .unwrap(),
    );
    two_instances_refuse_each_others_replays(first, second).await;
}

#[tokio::test]
async fn a_push_whose_handling_failed_is_handled_when_pushed_again() {
    // The code exchange goes to a closed port: the authorization cannot be completed, the
    // handler answers 500 and WeChat pushes again; that delivery must not be taken for a replay.
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
    let (url, hooked, _) = wechat_receiver(store, "http://127.0.0.1:9", true).await;
    let authorized = format!("<xml><AppId><![CDATA[{APP_ID}]]></AppId><CreateTime>{}</CreateTime><InfoType><![CDATA[authorized]]></InfoType><AuthorizerAppid><![CDATA[wx_app_1]]></AuthorizerAppid><AuthorizationCode><![CDATA[queryauthcode@@@x]]></AuthorizationCode><AuthorizationCodeExpiredTime>3600</AuthorizationCodeExpiredTime><PreAuthCode><![CDATA[preauthcode@@@x]]></PreAuthCode></xml>", now());
    let (query, body) = wechat_push(&crypto(), &authorized);
    for _ in 0..2 {
        assert_eq!(post(&url, &query, &body).await.0, 500);
    }
    assert_eq!(hooked.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn kuaishou_and_baidu_handlers_acknowledge_replays_in_their_own_reply() {
    // Kuaishou: the reply echoes the envelope's msgId, as for a handled push.
    let k = kuaishou_api::push::PushCrypto::new("kt", &"K".repeat(43)).unwrap();
    let kclient = kuaishou_api::Client::with_base_url("http://127.0.0.1:9", "ks_component");
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
    let ktokens = Arc::new(kuaishou_api::tokens::manager(
        &kclient,
        "S",
        store.clone(),
        RefreshPolicy::default(),
    ));
    let hooked = Arc::new(AtomicUsize::new(0));
    let seen = hooked.clone();
    let handler = kuaishou_api::push::handler::PushHandler::new(ktokens.clone(), k.clone())
        .on_push(move |_| {
            let seen = seen.clone();
            async move {
                seen.fetch_add(1, Ordering::SeqCst);
            }
        });
    let inner = format!(
        r#"{{"event":"COMPONENT_TICKET","componentAppId":"ks_component","componentTicket":"ks-ticket","eventTime":{}}}"#,
        now() * 1000
    );
    let body = serde_json::json!({
        "encryptedMsg": k.encrypt(&inner),
        "msgId": "msg-7",
        "componentAppId": "ks_component",
        "timestamp": now() * 1000,
    })
    .to_string()
    .into_bytes();
    let sign = k.signature(&body);
    for _ in 0..3 {
        let (status, reply) = handler.handle(&sign, &body).await;
        assert_eq!(
            (status.as_u16(), reply.as_str()),
            (200, r#"{"message_id":"msg-7","result":1}"#)
        );
    }
    assert_eq!(hooked.load(Ordering::SeqCst), 1);
    assert_eq!(stored_ticket(store.as_ref(), &ktokens).await, "ks-ticket");

    // Baidu: `success`, hook once.
    let b = baidu_smartapp_api::push::MessageCrypto::new("bt", &"B".repeat(43), "baidu_client")
        .unwrap();
    let btokens = Arc::new(baidu_smartapp_api::tokens::manager(
        &baidu_smartapp_api::Client::with_base_url("http://127.0.0.1:9"),
        "baidu_client",
        store.clone(),
        RefreshPolicy::default(),
    ));
    let hooked = Arc::new(AtomicUsize::new(0));
    let seen = hooked.clone();
    let handler = baidu_smartapp_api::push::handler::PushHandler::new(btokens, b.clone()).on_push(
        move |_| {
            let seen = seen.clone();
            async move {
                seen.fetch_add(1, Ordering::SeqCst);
            }
        },
    );
    let body = baidu_envelope(
        &b,
        &format!(
            r#"{{"Ticket":"b-ticket","FromUserName":"SmartApp","CreateTime":{},"MsgType":"ticket","Event":"push"}}"#,
            now()
        ),
    );
    for _ in 0..3 {
        let (status, reply) = handler.handle(&body).await;
        assert_eq!((status.as_u16(), reply.as_str()), (200, "success"));
    }
    assert_eq!(hooked.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_handlers_refuse_a_body_over_the_sdk_limit() {
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
    let (url, hooked, _) = wechat_receiver(store, "http://127.0.0.1:9", true).await;
    let (query, _) = wechat_push(&crypto(), &wechat_ticket("t", now()));
    let huge = vec![b'A'; 1 << 20];
    assert_eq!(post(&url, &query, &huge).await.0, 413);
    assert_eq!(hooked.load(Ordering::SeqCst), 0);
}
