//! Kuaishou's pushes (unverified scheme), through the public API: `kwaisign` checked over the
//! raw body, the component ticket stored and then used for the component token, a push that
//! fails verification storing nothing, and the reply Kuaishou expects.

use std::sync::Arc;

use core_http::crypto::CryptoError;
use core_http::token::{load_ticket, MemoryStore, RefreshPolicy};
use core_http::Error;
use kuaishou_api::oauth::Event;
use kuaishou_api::push::{self, PushCrypto};
use miniapp_sandbox::{Sandbox, SandboxOptions};

fn pushed(crypto: &PushCrypto, inner: &str) -> (String, Vec<u8>) {
    let body = serde_json::json!({
        "encryptedMsg": crypto.encrypt(inner),
        "msgId": "msg-42",
        "componentAppId": "ks_component",
        "timestamp": std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64,
    })
    .to_string()
    .into_bytes();
    (crypto.signature(&body), body)
}

#[tokio::test]
async fn a_pushed_component_ticket_is_stored_and_fetches_the_component_token() {
    let sandbox = Sandbox::start_with(SandboxOptions {
        enforce_tokens: true,
        ..Default::default()
    })
    .await
    .unwrap();
    let client = kuaishou_api::Client::with_base_url(sandbox.base_url(), "ks_component");
    let store = Arc::new(MemoryStore::new());
    let tokens =
        kuaishou_api::tokens::manager(&client, "SECRET", store.clone(), RefreshPolicy::default());
    let c = PushCrypto::new(
        "ks-message-token",
        "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    )
    .unwrap();
    let ticket = r#"{"componentAppId":"ks_component","componentTicket":"ks-ticket-pushed","event":"COMPONENT_TICKET","eventTime":1700000000000,"expiresIn":2400}"#;

    let (_, body) = pushed(&c, ticket);
    let err = push::receive(&tokens, &c, &"0".repeat(40), &body)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Push(CryptoError::BadSignature)),
        "{err:?}"
    );
    // A body altered after signing.
    let (sign, mut body) = pushed(&c, ticket);
    body.push(b' ');
    assert!(push::receive(&tokens, &c, &sign, &body).await.is_err());
    assert!(load_ticket(store.as_ref(), &tokens.ticket_key())
        .await
        .is_err());

    let (sign, body) = pushed(&c, ticket);
    let received = push::receive(&tokens, &c, &sign, &body).await.unwrap();
    assert_eq!(received.msg_id, "msg-42");
    assert!(matches!(received.event, Event::ComponentTicket(_)));
    assert!(!format!("{received:?}").contains("ks-ticket-pushed"));
    assert_eq!(
        push::reply(&received.msg_id),
        r#"{"message_id":"msg-42","result":1}"#
    );
    tokens.component_token().get().await.unwrap();
    let fetch = sandbox
        .requests()
        .into_iter()
        .find(|r| r.endpoint.as_deref() == Some("GetComponentAccessToken"))
        .unwrap();
    assert!(
        fetch
            .query
            .as_deref()
            .unwrap_or_default()
            .contains("component_verify_ticket=ks-ticket-pushed"),
        "{fetch:?}"
    );
    let envelope: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let d = c.diagnose(&sign, &body, envelope["encryptedMsg"].as_str());
    assert!(d.signature_matched && d.plaintext_is_json);
}

#[test]
fn a_replayed_push_is_refused() {
    let c = PushCrypto::new(
        "ks-message-token",
        "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    )
    .unwrap();
    let body = serde_json::json!({
        "encryptedMsg": c.encrypt(r#"{"event":"COMPONENT_TICKET","componentTicket":"t"}"#),
        "msgId": "m",
        "timestamp": 1_700_000_000_000u64,
    })
    .to_string()
    .into_bytes();
    let sign = c.signature(&body);
    assert!(matches!(
        push::open(&c, &sign, &body),
        Err(CryptoError::Stale { .. })
    ));
    assert!(push::open(&c.with_max_age(None), &sign, &body).is_ok());
}
