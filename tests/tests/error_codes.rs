//! Every documented error code of every endpoint, read from the specs, comes back as a typed
//! vendor error carrying the vendor's code and message and the document's text.

use std::path::Path;

use core_http::Vendor;
use miniapp_tests::{MockServer, Reply};

fn envelope(vendor: Vendor, code: i64, message: &str) -> String {
    match vendor {
        Vendor::Wechat => format!(r#"{{"errcode":{code},"errmsg":"{message}"}}"#),
        Vendor::Baidu => format!(r#"{{"errno":{code},"msg":"{message}","data":{{}}}}"#),
        Vendor::Kuaishou => format!(r#"{{"result":{code},"error_msg":"{message}"}}"#),
    }
}

#[tokio::test]
async fn every_documented_code_of_every_endpoint() {
    let specs =
        miniapp_spec::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs")).unwrap();
    let server = MockServer::start(Reply::json("{}")).await;
    let clients = miniapp_tour::Clients::new(&server.base_url());
    let calls = miniapp_tour::calls();
    let mut checked = 0;
    for (_, spec) in &specs {
        for ep in &spec.endpoints {
            let call = calls
                .iter()
                .find(|c| c.endpoint == ep.name && c.vendor == spec.vendor.as_str())
                .unwrap_or_else(|| panic!("the tour has no call for {}", ep.name));
            for documented in &ep.errors {
                let message = format!("vendor text {}", documented.code);
                server.set_reply(Reply::json(&envelope(
                    Vendor::from_name(spec.vendor.as_str()).unwrap(),
                    documented.code,
                    &message,
                )));
                let err = (call.run)(&clients).await.expect_err(&ep.name);
                let v = err
                    .vendor()
                    .unwrap_or_else(|| panic!("{}: {err:?}", ep.name));
                let text = match &documented.solution {
                    Some(s) if *s != documented.message => format!("{} ({s})", documented.message),
                    _ => documented.message.clone(),
                };
                assert_eq!(v.code, documented.code, "{}", ep.name);
                assert_eq!(v.endpoint, ep.name);
                assert_eq!(v.message, message);
                assert_eq!(
                    v.documented,
                    Some(text.as_str()),
                    "{} {}",
                    ep.name,
                    documented.code
                );
                checked += 1;
            }
        }
    }
    // 6 WeChat + 2 Kuaishou + the Baidu tables.
    assert!(checked >= 40, "only {checked} codes checked");
    server.take();
}
