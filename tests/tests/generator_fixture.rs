//! The generator's snapshot fixture (`crates/miniapp-codegen/tests/fixtures/mini.rs`) compiles and works: every
//! construct of the spec format, end to end on the wire.

#[path = "../../crates/miniapp-codegen/tests/fixtures/mini.rs"]
#[allow(dead_code)] // a fixture: not every generated item is exercised
#[rustfmt::skip] // formatted by the generator (prettyplease)
mod mini;

#[path = "../../crates/miniapp-codegen/tests/fixtures/mini_resources.rs"]
#[allow(dead_code)]
#[rustfmt::skip]
mod mini_resources;

use miniapp_tests::{MockServer, Reply};

/// The platform's handle, as in a vendor crate (the fixture's resources module names it).
#[derive(Debug)]
pub struct Component;

/// The handle the generated methods attach to, as in a vendor crate.
#[derive(Debug)]
pub struct AuthorizedApp {
    session: core_http::Session,
}

impl AuthorizedApp {
    /// The session.
    pub fn session(&self) -> &core_http::Session {
        &self.session
    }
}

#[tokio::test]
async fn every_construct_works_on_the_wire() {
    let server = MockServer::start(Reply::json(
        r#"{"errno":0,"msg":"success","data":{"hosts":"https://a.com,wss://b.com","token":"T"}}"#,
    ))
    .await;
    let app = AuthorizedApp {
        session: core_http::Session::new(
            std::sync::Arc::new(core_http::Transport::new(server.base_url())),
            core_http::Credentials {
                authorizer_access_token: Some("45.t".into()),
                ..Default::default()
            },
        ),
    };
    let mut req = mini::DoThingRequest::new(mini::Action::Set);
    req.hosts = Some(vec!["https://a.com".into()]);
    req.items = Some(vec![mini::Item {
        id: 1,
        sub_id: Some(2),
    }]);
    req.code = Some(mini::Code::One);
    req.secret = Some("s3cret".into());
    let answer = app.do_thing(&req).await.unwrap();
    assert_eq!(
        answer.hosts,
        Some(vec!["https://a.com".to_owned(), "wss://b.com".to_owned()])
    );
    assert_eq!(answer.token, Some("T".into()));
    assert!(!format!("{answer:?} {req:?}").contains("s3cret"));
    assert_eq!(
        server.only().body_text(),
        "access_token=45.t&action=set&hosts=https%3A%2F%2Fa.com&items=%5B%7B%22id%22%3A1%2C%22subId%22%3A2%7D%5D&code=1&secret=s3cret"
    );

    // Limits, the rule, and the error table.
    let mut bad = mini::DoThingRequest::new(mini::Action::Set);
    bad.hosts = Some(vec![]);
    assert_eq!(
        app.do_thing(&bad).await.unwrap_err().to_string(),
        "invalid request: DoThing.hosts: set needs something; got none of them"
    );
    server.set_reply(Reply::json(r#"{"errno":1,"msg":"no"}"#));
    let err = app.do_thing(&req).await.unwrap_err();
    assert_eq!(err.vendor().unwrap().documented, Some("bad (fix it)"));

    let event = mini::Event::parse(br#"{"app_id":"7","event":" THING_CHANGED"}"#).unwrap();
    assert!(matches!(event, mini::Event::Changed(e) if e.app_id == Some(7)));
}

/// The fixture's resource, declared in TOML only, is typed, validated by its endpoint's rules,
/// and stored and served by the sandbox (given the fixture spec) with no Rust written for it.
#[tokio::test]
async fn a_resource_declared_only_in_toml_round_trips_through_the_sandbox() {
    use std::collections::BTreeSet;

    use miniapp_sandbox::{Sandbox, SandboxOptions};

    let spec_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/miniapp-codegen/tests/fixtures/mini.toml");
    let spec = miniapp_spec::load(&spec_path).unwrap();
    let sandbox = Sandbox::start_with(SandboxOptions {
        stateful: true,
        extra_specs: vec![spec],
        ..Default::default()
    })
    .await
    .unwrap();
    let app = AuthorizedApp {
        session: core_http::Session::new(
            std::sync::Arc::new(core_http::Transport::new(sandbox.base_url())),
            core_http::Credentials {
                authorizer_access_token: Some("fixture-app".into()),
                ..Default::default()
            },
        ),
    };
    let d = mini_resources::descriptor("fixture_hosts").unwrap();
    assert_eq!(
        (d.read_endpoint, d.counted, d.quota_code),
        ("DoThing", true, Some(1))
    );
    let wanted = mini_resources::FixtureHosts {
        hosts: BTreeSet::from([
            "https://a.example.com".to_owned(),
            "wss://b.example.com".to_owned(),
        ]),
    };
    wanted.write(&app).await.unwrap();
    assert_eq!(
        mini_resources::FixtureHosts::read(&app).await.unwrap(),
        wanted
    );
    let stored = sandbox
        .resource(core_http::Vendor::Baidu, "fixture-app", "fixture_hosts")
        .unwrap();
    assert_eq!(stored.set("hosts"), wanted.hosts);
    // The endpoint's limits apply to the value (max_items = 3).
    let too_many = mini_resources::FixtureHosts {
        hosts: (0..4)
            .map(|i| format!("https://h{i}.example.com"))
            .collect(),
    };
    assert!(too_many.validate().is_err());
}
