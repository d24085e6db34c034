//! The loop a deployment runs, end to end over loopback HTTP: the sandbox pushes an encrypted
//! ticket to the platform's own handler (a small axum app, as a user writes it with
//! `push::receive`), the handler stores it, and the token manager fetches the platform token
//! with it from the sandbox.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use core_http::token::{MemoryStore, RefreshPolicy, TokenManager};
use core_http::Vendor;
use miniapp_sandbox::{PushSecrets, Sandbox, SandboxOptions};

const KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR";

struct Platform {
    vendor: Vendor,
    tokens: TokenManager,
    secrets: PushSecrets,
}

/// The user's push handler: one route, the vendor's entry point, the vendor's reply.
async fn handler(
    State(p): State<Arc<Platform>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let s = &p.secrets;
    let result = match p.vendor {
        Vendor::Wechat => {
            use wechat_component_api::push::{self, MessageCrypto, PushQuery};
            let crypto =
                MessageCrypto::new(s.token.as_str(), &s.encoding_aes_key, s.app_id.as_str())
                    .unwrap();
            push::receive(
                &p.tokens,
                &crypto,
                &PushQuery::from_query(&query.unwrap_or_default()),
                &body,
            )
            .await
            .map(|_| "success".to_owned())
        }
        Vendor::Baidu => {
            use baidu_smartapp_api::push::{self, MessageCrypto};
            let crypto =
                MessageCrypto::new(s.token.as_str(), &s.encoding_aes_key, s.app_id.as_str())
                    .unwrap();
            push::receive(&p.tokens, &crypto, &body)
                .await
                .map(|_| "success".to_owned())
        }
        Vendor::Kuaishou => {
            use kuaishou_api::push::{self, PushCrypto};
            let crypto = PushCrypto::new(s.token.as_str(), &s.encoding_aes_key).unwrap();
            let sign = headers
                .get("kwaisign")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            push::receive(&p.tokens, &crypto, sign, &body)
                .await
                .map(|r| push::reply(&r.msg_id))
        }
    };
    match result {
        Ok(reply) => (StatusCode::OK, reply),
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()),
    }
}

async fn serve(platform: Arc<Platform>) -> String {
    let app = axum::Router::new()
        .route("/push", axum::routing::post(handler))
        .with_state(platform);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/push")
}

#[tokio::test]
async fn the_sandbox_pushes_tickets_that_feed_every_token_manager() {
    let sandbox = Sandbox::start_with(SandboxOptions {
        enforce_tokens: true,
        ..Default::default()
    })
    .await
    .unwrap();
    let base = sandbox.base_url();
    let store = || Arc::new(MemoryStore::new());
    let wechat = wechat_component_api::Client::with_base_url(&base);
    let baidu = baidu_smartapp_api::Client::with_base_url(&base);
    let kuaishou = kuaishou_api::Client::with_base_url(&base, "ks_component");
    let platforms = [
        (
            Vendor::Wechat,
            wechat_component_api::tokens::manager(
                &wechat,
                "wx_component",
                "SECRET",
                store(),
                RefreshPolicy::default(),
            ),
            "wx_component",
            "GetComponentAccessToken",
        ),
        (
            Vendor::Baidu,
            baidu_smartapp_api::tokens::manager(
                &baidu,
                "tp_client",
                store(),
                RefreshPolicy::default(),
            ),
            "tp_client",
            "GetTpToken",
        ),
        (
            Vendor::Kuaishou,
            kuaishou_api::tokens::manager(&kuaishou, "SECRET", store(), RefreshPolicy::default()),
            "ks_component",
            "GetComponentAccessToken",
        ),
    ];
    for (vendor, tokens, app_id, token_endpoint) in platforms {
        let secrets = PushSecrets {
            token: format!("{vendor:?}-message-token"),
            encoding_aes_key: KEY.into(),
            app_id: app_id.into(),
        };
        let platform = Arc::new(Platform {
            vendor,
            tokens,
            secrets: secrets.clone(),
        });
        let url = serve(platform.clone()).await;

        // Pushed with the wrong token: the handler refuses it and nothing is stored.
        let wrong = PushSecrets {
            token: "not-the-token".into(),
            ..secrets.clone()
        };
        let refused = sandbox.push_ticket(vendor, &url, &wrong).await.unwrap();
        assert_eq!(refused.status, 400, "{vendor:?}: {}", refused.reply);
        assert!(
            platform.tokens.component_token().get().await.is_err(),
            "{vendor:?}: no ticket yet"
        );

        let pushed = sandbox.push_ticket(vendor, &url, &secrets).await.unwrap();
        assert_eq!(pushed.status, 200, "{vendor:?}: {}", pushed.reply);
        if vendor == Vendor::Kuaishou {
            assert!(pushed.reply.contains(r#""result":1"#), "{}", pushed.reply);
        } else {
            assert_eq!(pushed.reply, "success");
        }
        // The platform token is fetched with the pushed ticket.
        platform.tokens.component_token().get().await.unwrap();
        let fetch = sandbox
            .requests()
            .into_iter()
            .rev()
            .find(|r| r.endpoint.as_deref() == Some(token_endpoint) && r.accepted)
            .unwrap_or_else(|| panic!("{vendor:?}: no token fetch"));
        let sent = format!(
            "{} {}",
            fetch.query.unwrap_or_default(),
            String::from_utf8_lossy(&fetch.body)
        );
        assert!(sent.contains(&pushed.ticket), "{vendor:?}: {sent}");
    }
}

async fn serve_router(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().nest("/events", router);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/events")
}

#[tokio::test]
async fn the_ready_axum_handlers_store_tickets_and_complete_authorizations() {
    let sandbox = Sandbox::start_with(SandboxOptions {
        enforce_tokens: true,
        ..Default::default()
    })
    .await
    .unwrap();
    let base = sandbox.base_url();
    let secrets = |vendor: Vendor, app_id: &str| PushSecrets {
        token: format!("{vendor:?}-token"),
        encoding_aes_key: KEY.into(),
        app_id: app_id.into(),
    };

    // WeChat: the ticket, then an `authorized` push whose code the handler exchanges.
    let client = wechat_component_api::Client::with_base_url(&base);
    let store = Arc::new(MemoryStore::new());
    let tokens = Arc::new(wechat_component_api::tokens::manager(
        &client,
        "wx_component",
        "SECRET",
        store.clone(),
        RefreshPolicy::default(),
    ));
    let s = secrets(Vendor::Wechat, "wx_component");
    let crypto =
        wechat_component_api::push::MessageCrypto::new(s.token.as_str(), KEY, "wx_component")
            .unwrap();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen_by_hook = seen.clone();
    let handler = wechat_component_api::push::handler::PushHandler::new(
        client.clone(),
        tokens.clone(),
        crypto.clone(),
    )
    .on_push(move |push| {
        let seen = seen_by_hook.clone();
        async move { seen.lock().unwrap().push(format!("{push:?}")) }
    });
    let url = serve_router(handler.router()).await;
    let pushed = sandbox.push_ticket(Vendor::Wechat, &url, &s).await.unwrap();
    assert_eq!((pushed.status, pushed.reply.as_str()), (200, "success"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let inner = format!("<xml><AppId><![CDATA[wx_component]]></AppId><CreateTime>{now}</CreateTime><InfoType><![CDATA[authorized]]></InfoType><AuthorizerAppid><![CDATA[wx_new_app]]></AuthorizerAppid><AuthorizationCode><![CDATA[queryauthcode@@@pushed]]></AuthorizationCode><AuthorizationCodeExpiredTime>{}</AuthorizationCodeExpiredTime></xml>", now + 3600);
    let encrypt = crypto.encrypt(&inner);
    let ts = now.to_string();
    let answer = post(
        &format!("{url}?timestamp={ts}&nonce=7&encrypt_type=aes&msg_signature={}", crypto.signature(&ts, "7", &encrypt)),
        format!("<xml><AppId><![CDATA[wx_component]]></AppId><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")
    )
    .await;
    assert_eq!(answer, (200, "success".to_owned()));
    assert!(
        sandbox.hits("QueryAuth") == 1,
        "the handler exchanged the pushed code"
    );
    assert_eq!(seen.lock().unwrap().len(), 2, "the hook saw both pushes");
    // A forged push is refused with 400.
    let forged = post(
        &format!("{url}?timestamp={ts}&nonce=7&msg_signature=00"),
        "<xml><Encrypt>x</Encrypt></xml>".into(),
    )
    .await;
    assert_eq!(forged.0, 400);

    // Baidu and Kuaishou: the ticket through their handlers.
    let baidu = baidu_smartapp_api::Client::with_base_url(&base);
    let bt = Arc::new(baidu_smartapp_api::tokens::manager(
        &baidu,
        "tp_client",
        Arc::new(MemoryStore::new()),
        RefreshPolicy::default(),
    ));
    let s = secrets(Vendor::Baidu, "tp_client");
    let crypto =
        baidu_smartapp_api::push::MessageCrypto::new(s.token.as_str(), KEY, "tp_client").unwrap();
    let url = serve_router(
        baidu_smartapp_api::push::handler::PushHandler::new(bt.clone(), crypto).router(),
    )
    .await;
    let pushed = sandbox.push_ticket(Vendor::Baidu, &url, &s).await.unwrap();
    assert_eq!((pushed.status, pushed.reply.as_str()), (200, "success"));
    bt.component_token().get().await.unwrap();

    let ks = kuaishou_api::Client::with_base_url(&base, "ks_component");
    let kt = Arc::new(kuaishou_api::tokens::manager(
        &ks,
        "SECRET",
        Arc::new(MemoryStore::new()),
        RefreshPolicy::default(),
    ));
    let s = secrets(Vendor::Kuaishou, "ks_component");
    let crypto = kuaishou_api::push::PushCrypto::new(s.token.as_str(), KEY).unwrap();
    let url =
        serve_router(kuaishou_api::push::handler::PushHandler::new(kt.clone(), crypto).router())
            .await;
    let pushed = sandbox
        .push_ticket(Vendor::Kuaishou, &url, &s)
        .await
        .unwrap();
    assert_eq!(pushed.status, 200);
    assert!(pushed.reply.contains(r#""result":1"#), "{}", pushed.reply);
    kt.component_token().get().await.unwrap();
}

/// POSTs `body` to `url`: the status and the answer.
async fn post(url: &str, body: String) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(url)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The vendor's connection drops while the handler exchanges an `authorized` push's
/// single-use code: the handling still runs to its end and the app's tokens are saved.
#[tokio::test]
async fn a_push_whose_connection_drops_is_still_handled_to_the_end() {
    let sandbox = Sandbox::start_with(SandboxOptions {
        enforce_tokens: true,
        token_delay: std::time::Duration::from_millis(300),
        ..Default::default()
    })
    .await
    .unwrap();
    let client = wechat_component_api::Client::with_base_url(sandbox.base_url());
    let tokens = Arc::new(wechat_component_api::tokens::manager(
        &client,
        "wx_component",
        "SECRET",
        Arc::new(MemoryStore::new()),
        RefreshPolicy::default(),
    ));
    tokens
        .store_ticket("ticket@@@1", wechat_component_api::tokens::TICKET_LIFETIME)
        .await
        .unwrap();
    let crypto = wechat_component_api::push::MessageCrypto::new("t", KEY, "wx_component").unwrap();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = done.clone();
    let handler =
        wechat_component_api::push::handler::PushHandler::new(client, tokens, crypto.clone())
            .on_push(move |_| {
                let flag = flag.clone();
                async move { flag.store(true, std::sync::atomic::Ordering::SeqCst) }
            });
    let url = serve_router(handler.router()).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let inner = format!("<xml><AppId><![CDATA[wx_component]]></AppId><CreateTime>{now}</CreateTime><InfoType><![CDATA[authorized]]></InfoType><AuthorizerAppid><![CDATA[wx_app]]></AuthorizerAppid><AuthorizationCode><![CDATA[queryauthcode@@@once]]></AuthorizationCode></xml>");
    let encrypt = crypto.encrypt(&inner);
    let ts = now.to_string();
    let gone = reqwest::Client::new()
        .post(format!(
            "{url}?timestamp={ts}&nonce=7&msg_signature={}",
            crypto.signature(&ts, "7", &encrypt)
        ))
        .body(format!(
            "<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        ))
        .timeout(std::time::Duration::from_millis(100))
        .send()
        .await;
    assert!(gone.is_err(), "the client gave up before the answer");
    // The component token fetch and the code exchange each take 300 ms at the sandbox.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(sandbox.hits("QueryAuth"), 1);
    assert!(
        done.load(std::sync::atomic::Ordering::SeqCst),
        "the exchange was saved and the hook ran"
    );
}

/// The sandbox as the vendor, with `pushed_tickets_only`: tickets on a timer, a ticket it never
/// pushed fetches no token, and an authorization it pushes (Baidu `AUTHORIZED`, WeChat
/// `authorized`) is exchanged by the ready handler and saved, so the new app can be called.
#[tokio::test]
async fn only_pushed_tickets_fetch_tokens_and_pushed_authorizations_are_completed() {
    use std::time::{Duration, Instant};
    let sandbox = Sandbox::start_with(SandboxOptions {
        enforce_tokens: true,
        pushed_tickets_only: true,
        ..Default::default()
    })
    .await
    .unwrap();
    let base = sandbox.base_url();
    let client = baidu_smartapp_api::Client::with_base_url(&base);
    let manager = || {
        Arc::new(baidu_smartapp_api::tokens::manager(
            &client,
            "tp_client",
            Arc::new(MemoryStore::new()),
            RefreshPolicy::default(),
        ))
    };

    // A ticket the sandbox never pushed: the token endpoint refuses it.
    let forged = manager();
    forged
        .store_ticket(
            "made-up-ticket",
            baidu_smartapp_api::tokens::TICKET_LIFETIME,
        )
        .await
        .unwrap();
    assert!(forged.component_token().get().await.is_err());
    let refused = sandbox
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.endpoint.as_deref() == Some("GetTpToken"))
        .unwrap();
    assert!(!refused.accepted, "a ticket the sandbox did not push");

    // Tickets pushed every 100 ms to the ready handler.
    let tokens = manager();
    let s = PushSecrets {
        token: "baidu-token".into(),
        encoding_aes_key: KEY.into(),
        app_id: "tp_client".into(),
    };
    let crypto =
        baidu_smartapp_api::push::MessageCrypto::new(s.token.as_str(), KEY, "tp_client").unwrap();
    let url = serve_router(
        baidu_smartapp_api::push::handler::PushHandler::new(tokens.clone(), crypto)
            .complete_authorizations(client.clone())
            .router(),
    )
    .await;
    let pusher = sandbox.push_tickets_every(Vendor::Baidu, &url, &s, Duration::from_millis(100));
    let start = Instant::now();
    while pusher.pushed().len() < 3 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{:?}",
            pusher.pushed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pushed = pusher.pushed();
    drop(pusher);
    for p in &pushed {
        let p = p.as_ref().unwrap();
        assert_eq!((p.status, p.reply.as_str()), (200, "success"));
    }
    let tickets: std::collections::BTreeSet<_> = pushed
        .iter()
        .map(|p| p.as_ref().unwrap().ticket.clone())
        .collect();
    assert_eq!(tickets.len(), pushed.len(), "a fresh ticket each time");
    tokens.component_token().get().await.unwrap();

    // Baidu: the app authorizes; the handler exchanges the pushed code and saves its tokens.
    let answer = sandbox
        .push_authorized(Vendor::Baidu, &url, &s, "15263713")
        .await
        .unwrap();
    assert_eq!((answer.status, answer.reply.as_str()), (200, "success"));
    assert_eq!(sandbox.hits("GetOAuthToken"), 1);
    assert!(tokens.has_authorization("15263713").await.unwrap());
    let app = client.authorizer(tokens.authorizer_token("15263713"));
    app.get_support_version(&Default::default()).await.unwrap();
    assert_eq!(
        sandbox
            .counters(Vendor::Baidu, "15263713")
            .requests
            .get("GetSupportVersion"),
        Some(&1),
        "the call reached the sandbox as the new app"
    );

    // WeChat: the same through its ready handler.
    let wechat = wechat_component_api::Client::with_base_url(&base);
    let wt = Arc::new(wechat_component_api::tokens::manager(
        &wechat,
        "wx_component",
        "SECRET",
        Arc::new(MemoryStore::new()),
        RefreshPolicy::default(),
    ));
    let s = PushSecrets {
        token: "wechat-token".into(),
        encoding_aes_key: KEY.into(),
        app_id: "wx_component".into(),
    };
    let crypto =
        wechat_component_api::push::MessageCrypto::new(s.token.as_str(), KEY, "wx_component")
            .unwrap();
    let url = serve_router(
        wechat_component_api::push::handler::PushHandler::new(wechat.clone(), wt.clone(), crypto)
            .router(),
    )
    .await;
    let ticket = sandbox.push_ticket(Vendor::Wechat, &url, &s).await.unwrap();
    assert_eq!(ticket.status, 200);
    let answer = sandbox
        .push_authorized(Vendor::Wechat, &url, &s, "wx_new_app")
        .await
        .unwrap();
    assert_eq!((answer.status, answer.reply.as_str()), (200, "success"));
    assert!(wt.has_authorization("wx_new_app").await.unwrap());
    // Kuaishou documents no authorization push: the sandbox says so instead of inventing one.
    assert!(sandbox
        .push_authorized(Vendor::Kuaishou, &url, &s, "ks_app")
        .await
        .is_err());
}
