//! WeChat's pushes to the authorization event URL, through the public API: a pushed ticket is
//! verified, decrypted and stored, and the platform token is then fetched with it; a push that
//! fails verification stores nothing; authorization pushes are typed; secrets never print.

use std::sync::Arc;

use core_http::crypto::CryptoError;
use core_http::token::{load_ticket, MemoryStore, RefreshPolicy};
use core_http::Error;
use miniapp_sandbox::{Sandbox, SandboxOptions};
use wechat_component_api::push::{
    self, AuthorizationKind, ComponentPush, MessageCrypto, PushQuery,
};

const APP_ID: &str = "wx134c8103faa5a59e";

fn crypto() -> MessageCrypto {
    // The platform's own worked example: token `AAAAA`, a key of 43 × `A`.
    MessageCrypto::new("AAAAA", &"A".repeat(43), APP_ID).unwrap()
}

/// The push WeChat would send for `inner` (decrypted XML): the query and the body.
fn now() -> String {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string()
}

fn pushed(crypto: &MessageCrypto, inner: &str) -> (PushQuery, Vec<u8>) {
    pushed_at(crypto, inner, &now())
}

fn pushed_at(crypto: &MessageCrypto, inner: &str, timestamp: &str) -> (PushQuery, Vec<u8>) {
    let encrypt = crypto.encrypt(inner);
    let query = PushQuery {
        timestamp: timestamp.into(),
        nonce: "1590219412".into(),
        msg_signature: crypto.signature(timestamp, "1590219412", &encrypt),
    };
    let body = format!(
        "<xml><AppId><![CDATA[{APP_ID}]]></AppId><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    );
    (query, body.into_bytes())
}

fn ticket_push(app_id: &str, ticket: &str) -> String {
    format!("<xml><AppId><![CDATA[{app_id}]]></AppId><CreateTime>1413192605</CreateTime><InfoType><![CDATA[component_verify_ticket]]></InfoType><ComponentVerifyTicket><![CDATA[{ticket}]]></ComponentVerifyTicket></xml>")
}

#[tokio::test]
async fn a_pushed_ticket_is_stored_and_fetches_the_platform_token() {
    let sandbox = Sandbox::start_with(SandboxOptions {
        enforce_tokens: true,
        ..Default::default()
    })
    .await
    .unwrap();
    let client = wechat_component_api::Client::with_base_url(sandbox.base_url());
    let store = Arc::new(MemoryStore::new());
    let tokens = wechat_component_api::tokens::manager(
        &client,
        APP_ID,
        "APP_SECRET",
        store.clone(),
        RefreshPolicy::default(),
    );
    let c = crypto();

    // A forged push (signature over other bytes) stores nothing.
    let (mut query, body) = pushed(&c, &ticket_push(APP_ID, "ticket@@@forged"));
    query.msg_signature = c.signature(&query.timestamp, "1590219412", "other");
    let err = push::receive(&tokens, &c, &query, &body).await.unwrap_err();
    assert!(
        matches!(err, Error::Push(CryptoError::BadSignature)),
        "{err:?}"
    );
    // A ticket for another platform stores nothing either.
    let (query, body) = pushed(&c, &ticket_push("wx_other_platform", "ticket@@@other"));
    let err = push::receive(&tokens, &c, &query, &body).await.unwrap_err();
    assert!(
        matches!(err, Error::Push(CryptoError::WrongAppId { .. })),
        "{err:?}"
    );
    assert!(load_ticket(store.as_ref(), &tokens.ticket_key())
        .await
        .is_err());

    // The real push: stored, then used for the platform token.
    let (query, body) = pushed(&c, &ticket_push(APP_ID, "ticket@@@pushed"));
    let push = push::receive(&tokens, &c, &query, &body).await.unwrap();
    let ComponentPush::VerifyTicket(t) = &push else {
        panic!("{push:?}")
    };
    assert_eq!((t.app_id.as_str(), t.create_time), (APP_ID, 1413192605));
    assert_eq!(t.ticket.expose(), "ticket@@@pushed");
    assert!(!format!("{push:?}").contains("ticket@@@pushed"));
    assert_eq!(
        load_ticket(store.as_ref(), &tokens.ticket_key())
            .await
            .unwrap()
            .expose(),
        "ticket@@@pushed"
    );
    tokens.component_token().get().await.unwrap();
    let fetch = sandbox
        .requests()
        .into_iter()
        .find(|r| r.endpoint.as_deref() == Some("GetComponentAccessToken"))
        .unwrap();
    let body = String::from_utf8(fetch.body.to_vec()).unwrap();
    assert!(
        body.contains(r#""component_verify_ticket":"ticket@@@pushed""#),
        "{body}"
    );
}

#[test]
fn authorization_pushes_are_typed_and_unknown_ones_kept() {
    let c = crypto();
    let open = |inner: &str| {
        let (query, body) = pushed(&c, inner);
        push::open(&c, &query, &body)
    };
    let authorized = format!("<xml><AppId><![CDATA[{APP_ID}]]></AppId><CreateTime>1413192760</CreateTime><InfoType><![CDATA[authorized]]></InfoType><AuthorizerAppid><![CDATA[wx_app_1]]></AuthorizerAppid><AuthorizationCode><![CDATA[queryauthcode@@@SECRET_CODE]]></AuthorizationCode><AuthorizationCodeExpiredTime>1413196360</AuthorizationCodeExpiredTime><PreAuthCode><![CDATA[preauthcode@@@x]]></PreAuthCode></xml>");
    match open(&authorized).unwrap() {
        ComponentPush::Authorization(a) => {
            assert_eq!(a.event, AuthorizationKind::Authorized);
            assert_eq!(a.authorizer_appid, "wx_app_1");
            assert_eq!(
                a.pre_auth_code.as_ref().unwrap().expose(),
                "preauthcode@@@x"
            );
            assert_eq!(a.authorization_code.expose(), "queryauthcode@@@SECRET_CODE");
            assert_eq!(a.authorization_code_expired_time, Some(1413196360));
            assert!(!format!("{a:?}").contains("SECRET_CODE"));
        }
        other => panic!("{other:?}"),
    }
    let updated = authorized.replace("[authorized]", "[updateauthorized]");
    assert!(matches!(
        open(&updated).unwrap(),
        ComponentPush::Authorization(a) if a.event == AuthorizationKind::UpdateAuthorized
    ));
    // Optional fields may be left out; a number that is not one reads as absent.
    let minimal = authorized
        .replace("<PreAuthCode><![CDATA[preauthcode@@@x]]></PreAuthCode>", "")
        .replace("1413196360", "soon");
    match open(&minimal).unwrap() {
        ComponentPush::Authorization(a) => {
            assert_eq!(
                (a.pre_auth_code, a.authorization_code_expired_time),
                (None, None)
            )
        }
        other => panic!("{other:?}"),
    }
    let revoked = format!("<xml><AppId><![CDATA[{APP_ID}]]></AppId><CreateTime>1413192760</CreateTime><InfoType><![CDATA[unauthorized]]></InfoType><AuthorizerAppid><![CDATA[wx_app_1]]></AuthorizerAppid></xml>");
    match open(&revoked).unwrap() {
        ComponentPush::Unauthorization(u) => assert_eq!(u.authorizer_appid, "wx_app_1"),
        other => panic!("{other:?}"),
    }
    let unknown = format!("<xml><AppId><![CDATA[{APP_ID}]]></AppId><CreateTime>1</CreateTime><InfoType><![CDATA[notify_third_fasteregister]]></InfoType><status>0</status></xml>");
    match open(&unknown).unwrap() {
        ComponentPush::Unknown(u) => {
            assert_eq!(u.event, "notify_third_fasteregister");
            assert_eq!(u.fields.get("status"), Some("0"));
        }
        other => panic!("{other:?}"),
    }
    // A push missing what its InfoType needs is refused, naming the field, not half-read.
    let broken = format!("<xml><AppId><![CDATA[{APP_ID}]]></AppId><CreateTime>1</CreateTime><InfoType><![CDATA[authorized]]></InfoType></xml>");
    match open(&broken) {
        Err(CryptoError::Body(m)) => assert!(m.contains("AuthorizerAppid"), "{m}"),
        other => panic!("{other:?}"),
    }
    let bad_time = revoked.replace("1413192760", "yesterday");
    match open(&bad_time) {
        Err(CryptoError::Body(m)) => assert_eq!(m, "undecodable at `CreateTime`: not a number"),
        other => panic!("{other:?}"),
    }
    // Not XML at all.
    assert!(matches!(
        push::open(&c, &PushQuery::default(), b"{\"json\":true}"),
        Err(CryptoError::Body(_))
    ));
}

/// Every XML example of each WeChat push spec reads as its family through that spec's own
/// generated `Event::from_fields` (`component_auth`, `code_management`), secrets redacted.
#[test]
fn every_example_in_the_push_spec_reads_as_its_family() {
    use std::path::Path;
    use wechat_component_api::{code_management, component_auth};
    let specs =
        miniapp_spec::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs")).unwrap();
    let mut n = 0;
    for (_, spec) in specs.iter().filter(|(_, s)| s.vendor.as_str() == "wechat") {
        for family in &spec.events {
            for example in &family.examples {
                let fields = core_http::crypto::xml_fields(example).unwrap();
                let got = match spec.module.as_str() {
                    "component_auth" => {
                        component_auth::Event::from_fields(fields).map(|e| format!("{e:?}"))
                    }
                    "code_management" => {
                        code_management::Event::from_fields(fields).map(|e| format!("{e:?}"))
                    }
                    other => panic!("{other} has push events but no parser here"),
                }
                .unwrap_or_else(|e| panic!("{example}: {e}"));
                assert!(got.starts_with(&family.name), "{example} read as {got}");
                assert!(!got.contains("some_verify_ticket") && !got.contains("queryauthcode@@@"));
                n += 1;
            }
        }
    }
    // component_auth 4, code_management 3.
    assert_eq!(n, 4 + 3, "examples read");
}

/// The audit result pushes carry what a release job needs: which app (its original id), the
/// verdict, the reason and the screenshots; a delay is not a verdict.
#[test]
fn audit_result_pushes_read_with_their_reason() {
    use wechat_component_api::code_management::{
        AuditDelayKind, AuditFailKind, AuditSuccessKind, Event,
    };
    let read = |xml: &str| Event::from_fields(core_http::crypto::xml_fields(xml).unwrap()).unwrap();
    let Event::AuditSuccess(ok) = read("<xml><ToUserName><![CDATA[gh_fb9688c2a4b2]]></ToUserName><FromUserName><![CDATA[od1P50M]]></FromUserName><CreateTime>1488856741</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[weapp_audit_success]]></Event><SuccTime>1488856741</SuccTime></xml>") else {
        panic!()
    };
    assert_eq!(
        (ok.event, ok.to_user_name.as_str(), ok.succ_time),
        (
            AuditSuccessKind::WeappAuditSuccess,
            "gh_fb9688c2a4b2",
            Some(1488856741)
        )
    );
    let Event::AuditFail(fail) = read("<xml><ToUserName><![CDATA[gh_fb9688c2a4b2]]></ToUserName><FromUserName><![CDATA[od1P50M]]></FromUserName><CreateTime>1488856591</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[weapp_audit_fail]]></Event><Reason><![CDATA[1:账号信息不符合规范:<br>(1):包含色情因素<br>]]></Reason><FailTime>1488856591</FailTime><ScreenShot>xxx|yyy|zzz</ScreenShot></xml>") else {
        panic!()
    };
    assert_eq!(fail.event, AuditFailKind::WeappAuditFail);
    assert_eq!(
        fail.reason.as_deref(),
        Some("1:账号信息不符合规范:<br>(1):包含色情因素<br>")
    );
    assert_eq!(
        (fail.fail_time, fail.screenshot.as_deref()),
        (Some(1488856591), Some("xxx|yyy|zzz"))
    );
    let Event::AuditDelay(delay) = read("<xml><ToUserName><![CDATA[gh_fb9688c2a4b2]]></ToUserName><FromUserName><![CDATA[od1P50M]]></FromUserName><CreateTime>1488856591</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[weapp_audit_delay]]></Event><Reason><![CDATA[提审系统优化]]></Reason><DelayTime>1488856591</DelayTime></xml>") else {
        panic!()
    };
    assert_eq!(
        (delay.event, delay.reason.as_deref(), delay.screenshot),
        (AuditDelayKind::WeappAuditDelay, Some("提审系统优化"), None)
    );
    // Official-account events arrive on the same URL: kept as unknown, not an error.
    let other = read("<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event></xml>");
    assert!(
        matches!(other, Event::Unknown(ref u) if u.event == "subscribe"),
        "{other:?}"
    );
}

mod arbitrary_fields {
    use proptest::prelude::*;
    use wechat_component_api::component_auth::Event;

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 256,
            rng_seed: proptest::test_runner::RngSeed::Fixed(0x5eed),
            ..ProptestConfig::default()
        })]

        /// Any set of fields, known names or not, reads as a push or a typed error: no panic.
        #[test]
        fn any_decrypted_fields_are_a_push_or_an_error(
            fields in proptest::collection::btree_map(
                prop_oneof![
                    Just("InfoType".to_owned()), Just("AppId".to_owned()), Just("CreateTime".to_owned()),
                    Just("AuthorizerAppid".to_owned()), Just("AuthorizationCode".to_owned()),
                    Just("ComponentVerifyTicket".to_owned()), "[A-Za-z]{1,12}",
                ],
                prop_oneof![
                    Just("authorized".to_owned()), Just("unauthorized".to_owned()),
                    Just("component_verify_ticket".to_owned()), "[0-9]{0,12}", ".{0,24}",
                ],
                0..8,
            )
        ) {
            let _ = Event::from_fields(core_http::crypto::XmlFields(fields));
        }
    }
}
