//! Pushes that must be refused: every kind of tampering gives a typed error, never a panic,
//! and nothing reaches the token store. Arbitrary bodies on every entry point never panic.

use std::sync::Arc;

use base64::Engine as _;
use core_http::crypto::CryptoError;
use core_http::token::{MemoryStore, RefreshPolicy, TokenStore};
use core_http::Error;
use proptest::prelude::*;
use wechat_component_api::push::{self, MessageCrypto, PushQuery};

const APP_ID: &str = "wx134c8103faa5a59e";
const NONCE: &str = "1590219412";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn crypto() -> MessageCrypto {
    MessageCrypto::new("AAAAA", &"A".repeat(43), APP_ID).unwrap()
}

const TICKET: &str = "<xml><AppId><![CDATA[wx134c8103faa5a59e]]></AppId><CreateTime>1413192605</CreateTime><InfoType><![CDATA[component_verify_ticket]]></InfoType><ComponentVerifyTicket><![CDATA[ticket@@@tamper]]></ComponentVerifyTicket></xml>";

/// A push of `encrypt` signed by `signer` at `timestamp`.
fn signed(signer: &MessageCrypto, encrypt: &str, timestamp: &str) -> (PushQuery, Vec<u8>) {
    let query = PushQuery {
        timestamp: timestamp.into(),
        nonce: NONCE.into(),
        msg_signature: signer.signature(timestamp, NONCE, encrypt),
    };
    let body = format!(
        "<xml><AppId><![CDATA[{APP_ID}]]></AppId><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    );
    (query, body.into_bytes())
}

/// What is tampered with, the push, and the refusal expected.
type Case = (&'static str, PushQuery, Vec<u8>, fn(&CryptoError) -> bool);

fn flip_bit(text: &str, at: usize) -> String {
    let mut bytes = text.as_bytes().to_vec();
    // Flip within the Base64/hex alphabet so the text stays printable.
    bytes[at] = match bytes[at] {
        b'A' => b'B',
        b'0' => b'1',
        b => {
            if b == b'a' {
                b'b'
            } else {
                b'A'
            }
        }
    };
    String::from_utf8(bytes).unwrap()
}

#[tokio::test]
async fn every_tampering_is_refused_and_nothing_is_stored() {
    let c = crypto();
    let ts = now().to_string();
    let encrypt = c.encrypt(TICKET);
    let (good_query, good_body) = signed(&c, &encrypt, &ts);
    let other_key = MessageCrypto::new("AAAAA", &"B".repeat(43), APP_ID).unwrap();
    let other_app = MessageCrypto::new("AAAAA", &"A".repeat(43), "wx_other").unwrap();

    let mut cases: Vec<Case> = Vec::new();
    let bad_signature: fn(&CryptoError) -> bool = |e| *e == CryptoError::BadSignature;
    // One character changed in the ciphertext, the signature, the timestamp, the nonce.
    let (q, _) = signed(&c, &encrypt, &ts);
    cases.push((
        "ciphertext",
        q,
        signed(&c, &flip_bit(&encrypt, 10), &ts).1,
        bad_signature,
    ));
    let mut q = good_query.clone();
    q.msg_signature = flip_bit(&q.msg_signature, 3);
    cases.push(("signature", q, good_body.clone(), bad_signature));
    let mut q = good_query.clone();
    q.timestamp = (now() + 1).to_string();
    cases.push(("timestamp", q, good_body.clone(), bad_signature));
    let mut q = good_query.clone();
    q.nonce = "1590219413".into();
    cases.push(("nonce", q, good_body.clone(), bad_signature));
    // Encrypted for another app id, signed correctly.
    let (q, b) = signed(&c, &other_app.encrypt(TICKET), &ts);
    cases.push(("app id", q, b, |e| {
        matches!(e, CryptoError::WrongAppId { .. })
    }));
    // Encrypted with another key, signed with the right token.
    let (q, b) = signed(&c, &other_key.encrypt(TICKET), &ts);
    cases.push(("wrong key", q, b, |e| {
        matches!(
            e,
            CryptoError::Malformed(_) | CryptoError::WrongAppId { .. }
        )
    }));
    // Not Base64 / not whole blocks / random blocks, each signed correctly.
    let (q, b) = signed(&c, "not*base64!", &ts);
    cases.push(("bad base64", q, b, |e| {
        matches!(e, CryptoError::Malformed(_))
    }));
    let (q, b) = signed(&c, "AAAAAAAAAAAAAAAAAAAAAA==", &ts);
    cases.push(("partial block", q, b, |e| {
        matches!(e, CryptoError::Malformed(_))
    }));
    let junk = base64::engine::general_purpose::STANDARD.encode([0x5au8; 64]);
    let (q, b) = signed(&c, &junk, &ts);
    cases.push(("bad padding", q, b, |e| {
        matches!(
            e,
            CryptoError::Malformed(_) | CryptoError::WrongAppId { .. }
        )
    }));
    // A replay from an hour ago, correctly signed.
    let (q, b) = signed(&c, &encrypt, &(now() - 3600).to_string());
    cases.push(("replayed", q, b, |e| matches!(e, CryptoError::Stale { .. })));
    // Truncated XML and a 10 MB body.
    cases.push((
        "truncated xml",
        good_query.clone(),
        good_body[..good_body.len() - 12].to_vec(),
        |e| matches!(e, CryptoError::Body(_)),
    ));
    let mut huge = b"<xml><Encrypt><![CDATA[".to_vec();
    huge.extend(std::iter::repeat_n(b'A', 10 << 20));
    huge.extend_from_slice(b"]]></Encrypt></xml>");
    // Refused by the SDK's own limit before it is parsed (not by a framework's).
    cases.push(("10 MB body", good_query.clone(), huge, |e| {
        matches!(
            e,
            CryptoError::TooLarge {
                len: 10_485_802,
                limit: 65_536
            }
        )
    }));

    for (what, query, body, expected) in cases {
        let store = Arc::new(MemoryStore::new());
        let client = wechat_component_api::Client::with_base_url("http://127.0.0.1:9");
        let tokens = wechat_component_api::tokens::manager(
            &client,
            APP_ID,
            "SECRET",
            store.clone(),
            RefreshPolicy::default(),
        );
        match push::receive(&tokens, &c, &query, &body).await {
            Err(Error::Push(e)) => assert!(expected(&e), "{what}: {e:?}"),
            other => panic!("{what}: {other:?}"),
        }
        assert_eq!(
            store.load(&tokens.ticket_key()).await.unwrap(),
            None,
            "{what}: nothing stored"
        );
    }
    // The untouched push is accepted (the matrix above is not refusing everything).
    assert!(push::open(&c, &good_query, &good_body).is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bodies_never_panic_any_entry_point(body in proptest::collection::vec(any::<u8>(), 0..2048), sign in "[0-9a-f]{0,40}") {
        let c = crypto();
        let query = PushQuery { timestamp: now().to_string(), nonce: NONCE.into(), msg_signature: sign.clone() };
        prop_assert!(push::open(&c, &query, &body).is_err());
        let b = baidu_smartapp_api::push::MessageCrypto::new("t", &"A".repeat(43), "c").unwrap();
        prop_assert!(baidu_smartapp_api::push::open(&b, &body).is_err());
        let k = kuaishou_api::push::PushCrypto::new("t", &"A".repeat(43)).unwrap();
        prop_assert!(kuaishou_api::push::open(&k, &sign, &body).is_err());
    }

    #[test]
    fn arbitrary_xml_inside_a_valid_push_never_panics(inner in "\\PC{0,300}") {
        let c = crypto().with_max_age(None);
        let (query, body) = signed(&c, &c.encrypt(&inner), "1");
        let _ = push::open(&c, &query, &body);
    }
}
