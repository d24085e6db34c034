//! Baidu's pushes, through the public API: the JSON envelope verified and decrypted, a pushed
//! ticket stored and then used for the TP token, the seed document's events typed, and a push
//! that fails verification storing nothing.

use std::sync::Arc;

use baidu_smartapp_api::basic_info::Event;
use baidu_smartapp_api::push::{self, MessageCrypto, TpPush};
use core_http::crypto::CryptoError;
use core_http::token::{load_ticket, MemoryStore, RefreshPolicy};
use core_http::Error;
use miniapp_sandbox::{Sandbox, SandboxOptions};

const CLIENT_ID: &str = "tp_client_id";

fn crypto() -> MessageCrypto {
    MessageCrypto::new(
        "baidu-message-token",
        "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR",
        CLIENT_ID,
    )
    .unwrap()
}

/// The envelope Baidu would POST for the decrypted JSON `inner`.
fn pushed(crypto: &MessageCrypto, inner: &str) -> Vec<u8> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    pushed_at(crypto, inner, now)
}

fn pushed_at(crypto: &MessageCrypto, inner: &str, timestamp: u64) -> Vec<u8> {
    let encrypt = crypto.encrypt(inner);
    let signature = crypto.signature(&timestamp.to_string(), "4464221", &encrypt);
    serde_json::json!({
        "Nonce": "4464221",
        "TimeStamp": timestamp,
        "Encrypt": encrypt,
        "MsgSignature": signature,
    })
    .to_string()
    .into_bytes()
}

#[tokio::test]
async fn a_pushed_ticket_is_stored_and_fetches_the_tp_token() {
    let sandbox = Sandbox::start_with(SandboxOptions {
        enforce_tokens: true,
        ..Default::default()
    })
    .await
    .unwrap();
    let client = baidu_smartapp_api::Client::with_base_url(sandbox.base_url());
    let store = Arc::new(MemoryStore::new());
    let tokens = baidu_smartapp_api::tokens::manager(
        &client,
        CLIENT_ID,
        store.clone(),
        RefreshPolicy::default(),
    );
    let c = crypto();
    let ticket = r#"{"Ticket":"8c0da4968b0d1e28acbc1d738a56607d","FromUserName":"SmartAPP","CreateTime":"1413192605","MsgType":"ticket","Event":"push"}"#;

    // Signed with another token: refused, nothing stored.
    let other = MessageCrypto::new(
        "not-the-token",
        "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR",
        CLIENT_ID,
    )
    .unwrap();
    let err = push::receive(&tokens, &c, &pushed(&other, ticket))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Push(CryptoError::BadSignature)),
        "{err:?}"
    );
    // Encrypted for another platform's client id: refused.
    let elsewhere = MessageCrypto::new(
        "baidu-message-token",
        "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR",
        "other_client",
    )
    .unwrap();
    let err = push::receive(&tokens, &c, &pushed(&elsewhere, ticket))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Push(CryptoError::WrongAppId { .. })),
        "{err:?}"
    );
    assert!(load_ticket(store.as_ref(), &tokens.ticket_key())
        .await
        .is_err());

    let push = push::receive(&tokens, &c, &pushed(&c, ticket))
        .await
        .unwrap();
    let TpPush::Ticket(t) = &push else {
        panic!("{push:?}")
    };
    assert_eq!(t.create_time, Some(1413192605));
    assert!(!format!("{push:?}").contains("8c0da4968b0d"));
    tokens.component_token().get().await.unwrap();
    let fetch = sandbox
        .requests()
        .into_iter()
        .find(|r| r.endpoint.as_deref() == Some("GetTpToken"))
        .unwrap();
    assert!(
        fetch
            .query
            .as_deref()
            .unwrap_or_default()
            .contains("ticket=8c0da4968b0d1e28acbc1d738a56607d"),
        "{fetch:?}"
    );
}

#[test]
fn the_seed_documents_events_arrive_typed() {
    let c = crypto();
    let event = r#"{"appId":15263713,"tpAppId":14242323,"eventTime":"2019-01-14 12:45:10","event":" BASE_INFO_OFFLINE_AUDIT_FAIL","reson":"bad"}"#;
    match push::open(&c, &pushed(&c, event)).unwrap() {
        TpPush::Event(Event::OfflineUpdateAudit(e)) => assert_eq!(e.reason.as_deref(), Some("bad")),
        other => panic!("{other:?}"),
    }
    // The authorization events of the authorization event URL (tp_auth's spec), typed.
    let authorized = r#"{"appId":1,"tpAppId":"2","eventTime":"2019-01-14 12:45:10","event":"AUTHORIZED","authorizationCode":"SECRET_CODE","authorizationCodeExpiresIn":60}"#;
    match push::open(&c, &pushed(&c, authorized)).unwrap() {
        TpPush::Authorization(a) => {
            assert_eq!(a.event, push::AuthorizationKind::Authorized);
            assert_eq!((a.app_id, a.tp_app_id), (Some(1), Some(2)));
            assert_eq!(
                a.authorization_code.as_ref().unwrap().expose(),
                "SECRET_CODE"
            );
            assert_eq!(a.authorization_code_expires_in, Some(60));
            assert!(!format!("{a:?}").contains("SECRET_CODE"));
        }
        other => panic!("{other:?}"),
    }
    let revoked =
        r#"{"appId":1,"tpAppId":2,"eventTime":"2019-01-14 12:45:10","event":"UNAUTHORIZED"}"#;
    assert!(matches!(
        push::open(&c, &pushed(&c, revoked)).unwrap(),
        TpPush::Authorization(a) if a.event == push::AuthorizationKind::Unauthorized
    ));
    // An event neither document describes is kept.
    let other = r#"{"appId":1,"event":"SOMETHING_NEW","x":1}"#;
    assert!(matches!(
        push::open(&c, &pushed(&c, other)).unwrap(),
        TpPush::Event(Event::Unknown(_))
    ));
    // `MsgType` is not matched strictly: `Ticket` is the ticket too.
    let capital = r#"{"Ticket":"t1","MsgType":"Ticket","Event":"push"}"#;
    assert!(matches!(
        push::open(&c, &pushed(&c, capital)).unwrap(),
        TpPush::Ticket(t) if t.ticket.as_ref().unwrap().expose() == "t1"
    ));
    // A push naming no event in `MsgType` or `event` is the seed's (`Event` only): kept.
    let only_upper = r#"{"Event":"SOMETHING_ELSE","code":"SECRET_CODE"}"#;
    match push::open(&c, &pushed(&c, only_upper)).unwrap() {
        TpPush::Event(Event::Unknown(u)) => {
            assert_eq!(u.event, "SOMETHING_ELSE");
            // An unknown event may carry a secret: its Debug shows member names only.
            assert!(!format!("{u:?}").contains("SECRET_CODE"), "{u:?}");
        }
        other => panic!("{other:?}"),
    }
    // A known family that does not decode is refused, not kept as unknown.
    let bad = r#"{"appId":"not-a-number","event":"AUTHORIZED"}"#;
    assert!(matches!(
        push::open(&c, &pushed(&c, bad)),
        Err(CryptoError::Body(m)) if m.contains("appId")
    ));
    // A ticket push without its ticket is refused.
    let empty = r#"{"Ticket":"","MsgType":"ticket","Event":"push"}"#;
    assert!(matches!(
        push::open(&c, &pushed(&c, empty)),
        Err(CryptoError::Body(m)) if m.contains("no `Ticket`")
    ));
    assert!(matches!(
        push::open(&c, b"<xml/>"),
        Err(CryptoError::Body(_))
    ));
}

#[test]
fn a_replayed_push_is_refused() {
    let c = crypto();
    let ticket = r#"{"Ticket":"t","MsgType":"ticket"}"#;
    let an_hour_ago = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 3600;
    assert!(matches!(
        push::open(&c, &pushed_at(&c, ticket, an_hour_ago)),
        Err(CryptoError::Stale { .. })
    ));
    assert!(push::open(
        &c.with_max_age(None),
        &pushed_at(&crypto(), ticket, an_hour_ago)
    )
    .is_ok());
}
