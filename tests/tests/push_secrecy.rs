//! What a push carries never shows in an error, and a huge push costs nothing: crafted
//! plaintexts behind valid signatures (a length of 0, a length past the end, binary, broken XML
//! and JSON with a secret in every place) give errors whose `Display` and `Debug` never contain
//! the secret; a 10 MiB body is refused by `push::open` itself, allocating nothing of its size.
//!
//! This binary counts the allocations of each test's own thread (its global allocator).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use aes::cipher::{block_padding::NoPadding, BlockEncryptMut, KeyIvInit};
use base64::Engine as _;
use core_http::crypto::CryptoError;
use proptest::prelude::*;

struct Counting;

thread_local! {
    static ALLOCATED: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.with(|a| a.set(a.get() + layout.size()));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Bytes this thread allocates while running `f`.
fn allocated_by<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATED.with(Cell::get);
    let out = f();
    (out, ALLOCATED.with(Cell::get) - before)
}

const APP_ID: &str = "wx134c8103faa5a59e";
const KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
/// What must never reach an error text: it stands for a ticket or a code inside the push.
const SECRET: &str = "Zq7ticketSECRET9x";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// WeChat's cipher over an arbitrary plaintext (no layout imposed): AES-256-CBC, PKCS#7 to 32.
fn encrypt_raw(plain: &[u8]) -> String {
    let key = base64::engine::general_purpose::STANDARD
        .decode(format!("{KEY}="))
        .unwrap();
    let mut buf = plain.to_vec();
    let pad = 32 - buf.len() % 32;
    buf.resize(buf.len() + pad, pad as u8);
    let len = buf.len();
    let cipher = cbc::Encryptor::<aes::Aes256>::new_from_slices(&key, &key[..16])
        .unwrap()
        .encrypt_padded_mut::<NoPadding>(&mut buf, len)
        .unwrap()
        .to_vec();
    base64::engine::general_purpose::STANDARD.encode(cipher)
}

/// 16 random bytes, the declared length, the message, the trailing app id.
fn layout(declared: u32, message: &[u8], app_id: &[u8]) -> Vec<u8> {
    let mut plain = vec![7u8; 16];
    plain.extend_from_slice(&declared.to_be_bytes());
    plain.extend_from_slice(message);
    plain.extend_from_slice(app_id);
    plain
}

fn shows_secret(e: &CryptoError) -> bool {
    let texts = [
        e.to_string(),
        format!("{e:?}"),
        core_http::Error::Push(e.clone()).to_string(),
        format!("{:?}", core_http::Error::Push(e.clone())),
    ];
    texts
        .iter()
        .any(|t| t.contains(SECRET) || t.contains("ticketSECRET"))
}

fn xml_message() -> impl Strategy<Value = String> {
    let s = SECRET;
    prop_oneof![
        Just(format!("<xml><AppId>{APP_ID}</AppId><CreateTime>{s}</CreateTime><InfoType>component_verify_ticket</InfoType><ComponentVerifyTicket>{s}</ComponentVerifyTicket></xml>")),
        Just(format!("<xml><AppId>{APP_ID}</AppId><InfoType>component_verify_ticket</InfoType><{s}>1</{s}></xml>")),
        Just(format!("<xml><AppId>{s}</AppId><InfoType>component_verify_ticket</InfoType></xml>")),
        Just(format!("<xml><AppId>{APP_ID}</AppId><InfoType>authorized</InfoType><AuthorizationCode>{s}</AuthorizationCode><CreateTime>x{s}</CreateTime></xml>")),
        Just(format!("<xml><{s}>")),
        Just(format!("<xml><A>1</{s}></xml>")),
        Just(format!("<xml><A>&{s};</A></xml>")),
        Just(format!("<!DOCTYPE {s}><xml><A>{s}</A></xml>")),
        Just(format!("<xml><A {s}=\"{s}\">1</A></xml>")),
        Just(s.to_string()),
        "\\PC{0,40}".prop_map(|t| format!("{t}{SECRET}{t}")),
    ]
}

fn json_message() -> impl Strategy<Value = String> {
    let s = SECRET;
    prop_oneof![
        Just(format!(
            r#"{{"MsgType":"ticket","Ticket":"{s}","CreateTime":"{s}"}}"#
        )),
        Just(format!(r#"{{"MsgType":"ticket","Ticket":{{"{s}":1}}}}"#)),
        Just(format!(r#"{{"MsgType":7,"Ticket":"{s}"}}"#)),
        Just(format!(r#"{{"MsgType":"{s}","event":["{s}"]}}"#)),
        Just(format!(
            r#"{{"event":"AUTHORIZED","appId":"{s}","authorizationCode":"{s}"}}"#
        )),
        Just(format!(
            r#"{{"event":"COMPONENT_TICKET","componentTicket":["{s}"],"eventTime":"{s}"}}"#
        )),
        Just(format!(
            r#"{{"event":"COMPONENT_TICKET","componentTicket":"{s}","expiresIn":"{s}"}}"#
        )),
        Just(format!(r#"{{"MsgType":"ticket","Ticket":"\q{s}"}}"#)),
        Just(format!(r#"{{"{s}":"#)),
        Just(format!("[{s}]")),
        Just(s.to_string()),
        "\\PC{0,40}".prop_map(|t| format!("{{\"a\":\"{t}{SECRET}")),
    ]
}

/// How the declared length relates to the message: exact, zero, past the end, or any.
fn declared(len: usize) -> impl Strategy<Value = u32> {
    let len = len as u32;
    prop_oneof![
        Just(len),
        Just(0u32),
        (1u32..64).prop_map(move |k| len + k),
        any::<u32>(),
        (0..=len).prop_map(|n| n),
    ]
}

fn wechat_case() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![
            xml_message().prop_map(String::into_bytes),
            proptest::collection::vec(any::<u8>(), 0..64).prop_map(|mut b| {
                b.extend_from_slice(SECRET.as_bytes());
                b
            })
        ],
        any::<bool>(),
    )
        .prop_flat_map(|(message, right_app)| {
            let len = message.len();
            (Just(message), declared(len), Just(right_app))
        })
        .prop_map(|(message, declared, right_app)| {
            let app: &[u8] = if right_app {
                APP_ID.as_bytes()
            } else {
                SECRET.as_bytes()
            };
            layout(declared, &message, app)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_wechat_error_shows_what_the_push_carried(plain in wechat_case()) {
        use wechat_component_api::push::{self, MessageCrypto, PushQuery};
        let c = MessageCrypto::new("AAAAA", KEY, APP_ID).unwrap();
        let encrypt = encrypt_raw(&plain);
        let timestamp = now().to_string();
        let query = PushQuery {
            msg_signature: c.signature(&timestamp, "1", &encrypt),
            timestamp,
            nonce: "1".into(),
        };
        let body = format!("<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>");
        if let Err(e) = push::open(&c, &query, body.as_bytes()) {
            prop_assert!(!shows_secret(&e), "{e:?}");
        }
        if let Err(e) = c.decrypt(&encrypt) {
            prop_assert!(!shows_secret(&e), "{e:?}");
        }
    }

    #[test]
    fn no_baidu_error_shows_what_the_push_carried(
        message in json_message(),
        declared_kind in 0u8..3,
    ) {
        use baidu_smartapp_api::push::{self, MessageCrypto};
        let c = MessageCrypto::new("bt", KEY, "baidu_client").unwrap();
        let declared = match declared_kind {
            0 => message.len() as u32,
            1 => 0,
            _ => message.len() as u32 + 9,
        };
        let encrypt = encrypt_raw(&layout(declared, message.as_bytes(), b"baidu_client"));
        let timestamp = now().to_string();
        let body = serde_json::json!({
            "Nonce": "1",
            "TimeStamp": timestamp,
            "Encrypt": encrypt,
            "MsgSignature": c.signature(&timestamp, "1", &encrypt),
        })
        .to_string();
        if let Err(e) = push::open(&c, body.as_bytes()) {
            prop_assert!(!shows_secret(&e), "{e:?}");
        }
    }

    #[test]
    fn no_kuaishou_error_shows_what_the_push_carried(message in json_message()) {
        use kuaishou_api::push::{self, PushCrypto};
        let k = PushCrypto::new("kt", KEY).unwrap();
        let body = serde_json::json!({
            "encryptedMsg": k.encrypt(&message),
            "msgId": "m",
            "timestamp": now() * 1000,
        })
        .to_string()
        .into_bytes();
        if let Err(e) = push::open(&k, &k.signature(&body), &body) {
            prop_assert!(!shows_secret(&e), "{e:?}");
        }
    }
}

#[test]
fn the_documented_cases_are_refused_without_their_bytes() {
    use wechat_component_api::push::MessageCrypto;
    let c = MessageCrypto::new("AAAAA", KEY, APP_ID).unwrap();
    let ticket = format!("<xml><ComponentVerifyTicket>{SECRET}</ComponentVerifyTicket></xml>");
    // A length of 0: everything after it would be read as the app id.
    let e = c
        .decrypt(&encrypt_raw(&layout(
            0,
            ticket.as_bytes(),
            APP_ID.as_bytes(),
        )))
        .unwrap_err();
    assert_eq!(
        e,
        CryptoError::WrongAppId {
            expected: APP_ID.into(),
            found_len: ticket.len() + APP_ID.len()
        }
    );
    assert!(!shows_secret(&e));
    // A length past the end, and binary.
    let e = c
        .decrypt(&encrypt_raw(&layout(
            9999,
            ticket.as_bytes(),
            APP_ID.as_bytes(),
        )))
        .unwrap_err();
    assert_eq!(e, CryptoError::Malformed("message length past the end"));
    let mut binary = vec![0xffu8, 0xfe, 0x00];
    binary.extend_from_slice(SECRET.as_bytes());
    let e = c
        .decrypt(&encrypt_raw(&layout(
            binary.len() as u32,
            &binary,
            APP_ID.as_bytes(),
        )))
        .unwrap_err();
    assert_eq!(e, CryptoError::Malformed("not UTF-8"));
}

#[test]
fn a_huge_body_is_refused_by_open_itself_allocating_nothing_of_its_size() {
    use wechat_component_api::push::{MessageCrypto, PushQuery};
    let mut huge = b"<xml><Encrypt><![CDATA[".to_vec();
    huge.extend(std::iter::repeat_n(b'A', 10 << 20));
    huge.extend_from_slice(b"]]></Encrypt></xml>");
    let limit = core_http::crypto::DEFAULT_MAX_BODY;

    let c = MessageCrypto::new("AAAAA", KEY, APP_ID).unwrap();
    let query = PushQuery {
        timestamp: now().to_string(),
        nonce: "1".into(),
        msg_signature: "0".repeat(40),
    };
    let (result, bytes) = allocated_by(|| wechat_component_api::push::open(&c, &query, &huge));
    assert_eq!(
        result.unwrap_err(),
        CryptoError::TooLarge {
            len: huge.len(),
            limit
        }
    );
    assert!(
        bytes < limit,
        "open allocated {bytes} bytes for a refused body"
    );

    let b = baidu_smartapp_api::push::MessageCrypto::new("bt", KEY, "c").unwrap();
    let (result, bytes) = allocated_by(|| baidu_smartapp_api::push::open(&b, &huge));
    assert!(
        matches!(result, Err(CryptoError::TooLarge { .. })),
        "{result:?}"
    );
    assert!(bytes < limit, "baidu open allocated {bytes} bytes");

    let k = kuaishou_api::push::PushCrypto::new("kt", KEY).unwrap();
    let (result, bytes) = allocated_by(|| kuaishou_api::push::open(&k, "sig", &huge));
    assert!(
        matches!(result, Err(CryptoError::TooLarge { .. })),
        "{result:?}"
    );
    assert!(bytes < limit, "kuaishou open allocated {bytes} bytes");

    // The limit is the receiver's to set: a smaller one refuses a normal-sized push.
    let small = MessageCrypto::new("AAAAA", KEY, APP_ID)
        .unwrap()
        .with_max_body(16);
    assert!(matches!(
        wechat_component_api::push::open(
            &small,
            &query,
            b"<xml><Encrypt>AAAAAAAAAAAA</Encrypt></xml>"
        ),
        Err(CryptoError::TooLarge { limit: 16, .. })
    ));
}

#[test]
fn a_doctype_inside_a_valid_push_is_refused() {
    use wechat_component_api::push::{self, MessageCrypto, PushQuery};
    let c = MessageCrypto::new("AAAAA", KEY, APP_ID).unwrap();
    let inner = format!("<!DOCTYPE xml><xml><AppId>{APP_ID}</AppId><CreateTime>1</CreateTime><InfoType>component_verify_ticket</InfoType><ComponentVerifyTicket>t</ComponentVerifyTicket></xml>");
    let encrypt = c.encrypt(&inner);
    let timestamp = now().to_string();
    let query = PushQuery {
        msg_signature: c.signature(&timestamp, "1", &encrypt),
        timestamp,
        nonce: "1".into(),
    };
    let body = format!("<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>");
    assert_eq!(
        push::open(&c, &query, body.as_bytes()).unwrap_err(),
        CryptoError::Body("a DOCTYPE is refused".into())
    );
    // And on the outer envelope, before anything is verified.
    let outer = format!("<!DOCTYPE xml><xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>");
    assert_eq!(
        push::open(&c, &query, outer.as_bytes()).unwrap_err(),
        CryptoError::Body("a DOCTYPE is refused".into())
    );
}
