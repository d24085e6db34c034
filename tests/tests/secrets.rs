//! Tokens never appear in Debug/Display of clients, handles, requests or errors, nor in any
//! tracing output, through successful calls, vendor errors, HTTP errors and transport errors.

use std::io::Write;
use std::sync::{Arc, Mutex};

use miniapp_tests::{MockServer, Reply};

const WECHAT_TOKEN: &str = "WX_SECRET_component_token_123";
const BAIDU_TOKEN: &str = "45.BAIDU_SECRET_authorizer_token";
const KS_TOKEN: &str = "KS_SECRET_authorizer_token";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn assert_clean(what: &str, text: &str) {
    for secret in [WECHAT_TOKEN, BAIDU_TOKEN, KS_TOKEN] {
        assert!(!text.contains(secret), "{what} leaks a token: {text}");
    }
}

#[tokio::test]
async fn no_token_in_debug_display_or_traces() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start(Reply::json("{}")).await;
    let base = server.base_url();
    let wechat = wechat_component_api::Client::with_base_url(&base).component(WECHAT_TOKEN);
    let baidu = baidu_smartapp_api::Client::with_base_url(&base).authorizer(BAIDU_TOKEN);
    let kuaishou = kuaishou_api::Client::with_base_url(&base, "ks_app").authorizer(KS_TOKEN);
    assert_clean("handles", &format!("{wechat:?} {baidu:?} {kuaishou:?}"));

    let replies = [
        Reply::json(r#"{"errcode":0,"errno":0,"result":1}"#),
        Reply::json(
            r#"{"errcode":40001,"errmsg":"invalid credential","errno":110,"msg":"invalid","result":0,"error_msg":"bad token"}"#,
        ),
        Reply {
            status: 500,
            content_type: "text/plain".into(),
            body: "boom".into(),
        },
        Reply::json("not json"),
    ];
    let mut errors = Vec::new();
    for reply in replies {
        server.set_reply(reply);
        let r1 = wechat
            .modify_wxa_jump_domain(
                &wechat_component_api::third_party_domain::ModifyWxaJumpDomainRequest::new(
                    wechat_component_api::third_party_domain::JumpDomainAction::Get,
                ),
            )
            .await;
        let r2 = baidu
            .pause_service(&baidu_smartapp_api::basic_info::PauseServiceRequest::new())
            .await;
        let r3 = kuaishou
            .get_app_info(&kuaishou_api::basic_info::GetAppInfoRequest::new())
            .await;
        errors.extend(r1.err());
        errors.extend(r2.err());
        errors.extend(r3.err());
    }
    drop(server);
    // A transport error: nothing listens on this port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = baidu_smartapp_api::Client::with_base_url(format!("http://127.0.0.1:{port}"))
        .authorizer(BAIDU_TOKEN);
    errors.extend(
        dead.pause_service(&baidu_smartapp_api::basic_info::PauseServiceRequest::new())
            .await
            .err(),
    );

    assert_eq!(errors.len(), 10, "{errors:?}");
    for err in &errors {
        let mut text = format!("{err} | {err:?}");
        let mut source = std::error::Error::source(err);
        while let Some(s) = source {
            text.push_str(&format!(" | {s} | {s:?}"));
            source = s.source();
        }
        assert_clean("error", &text);
    }
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("miniapp.call"),
        "the calls were traced: {logs}"
    );
    assert_clean("tracing output", &logs);
}
