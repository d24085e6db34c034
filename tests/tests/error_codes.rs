//! Every documented error code of every endpoint, read from the specs, comes back as a typed
//! vendor error carrying the vendor's code and message and the document's text.

use std::path::Path;

use core_http::Vendor;
use miniapp_tests::{MockServer, Reply};

/// The vendor's error envelope, written by the member names of its `vendor.toml` (a wrapped
/// envelope with an empty payload, as Baidu sends its errors).
fn envelope(vendor: Vendor, code: i64, message: &str) -> String {
    let e = &vendor.facts().envelope;
    let mut body = serde_json::Map::new();
    body.insert(e.code.into(), code.into());
    body.insert(e.messages[0].into(), message.into());
    if e.shape == core_http::vendor::EnvelopeShape::Wrapped {
        body.insert(e.data.into(), serde_json::json!({}));
    }
    serde_json::Value::Object(body).to_string()
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
    // WeChat: 7 component_auth + 23 domain_management + 6 third_party_domain + 1
    // third_party_server_domain + 101 code_management + 14 code_template; Kuaishou: 2 basic_info;
    // Baidu: 34 basic_info + 3 tp_auth + 7 package + 4 template.
    assert_eq!(
        checked,
        (7 + 23 + 6 + 1 + 101 + 14) + 2 + (34 + 3 + 7 + 4),
        "codes checked"
    );
    server.take();
}
