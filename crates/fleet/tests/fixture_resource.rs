//! A resource declared only in a spec (the generator's fixture, `fixture_hosts`), planned and
//! applied by the engine with no change to it: the fixture's generated `resources` module
//! behind a `Backend`, the sandbox storing and serving it from the fixture spec.

#[path = "../../miniapp-codegen/tests/fixtures/mini.rs"]
#[allow(dead_code)]
#[rustfmt::skip]
mod mini;

#[path = "../../miniapp-codegen/tests/fixtures/mini_resources.rs"]
#[allow(dead_code)]
#[rustfmt::skip]
mod mini_resources;

use std::path::Path;
use std::sync::Arc;

use core_http::resource::{ResourceDescriptor, ResourceValue};
use core_http::{Error, InvalidRequest, Secret};
use miniapp_fleet::journal::RowState;
use miniapp_fleet::plan::{Action, Quiet};
use miniapp_fleet::vendors::{Backend, Backends, BoxFuture, Vendor};
use miniapp_fleet::{ApplyOptions, DesiredState, Journal};
use miniapp_sandbox::{Sandbox, SandboxOptions};

/// The platform handle the fixture's generated code names.
#[derive(Debug)]
pub struct Component;

/// The app handle the fixture's generated methods attach to.
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

/// The fixture's resources through its generated module; each app's token is static.
struct FixtureBackend {
    transport: Arc<core_http::Transport>,
}

impl FixtureBackend {
    fn app(&self, app: &str) -> AuthorizedApp {
        AuthorizedApp {
            session: core_http::Session::new(
                Arc::clone(&self.transport),
                core_http::Credentials {
                    authorizer_access_token: Some(format!("token-{app}").into()),
                    ..Default::default()
                },
            ),
        }
    }
}

impl Backend for FixtureBackend {
    fn vendor(&self) -> Vendor {
        Vendor::Baidu
    }
    fn resources(&self) -> &'static [ResourceDescriptor] {
        mini_resources::RESOURCES
    }
    fn validate(&self, name: &str, value: &ResourceValue) -> Result<(), InvalidRequest> {
        mini_resources::validate(name, value)
    }
    fn import<'a>(&'a self, _: &'a str, _: Secret) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async { Ok(false) })
    }
    fn read<'a>(
        &'a self,
        app: Option<&'a str>,
        name: &'a str,
    ) -> BoxFuture<'a, Result<ResourceValue, Error>> {
        Box::pin(async move {
            let handle = self.app(app.unwrap_or_default());
            mini_resources::read(name, mini_resources::Target::App(&handle)).await
        })
    }
    fn write<'a>(
        &'a self,
        app: Option<&'a str>,
        name: &'a str,
        value: &'a ResourceValue,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let handle = self.app(app.unwrap_or_default());
            mini_resources::write(name, mini_resources::Target::App(&handle), value).await
        })
    }
}

#[tokio::test]
async fn the_fixture_resource_is_planned_and_applied_with_no_engine_change() {
    let spec = miniapp_spec::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../miniapp-codegen/tests/fixtures/mini.toml"),
    )
    .unwrap();
    let sandbox = Sandbox::start_with(SandboxOptions {
        stateful: true,
        extra_specs: vec![spec],
        ..Default::default()
    })
    .await
    .unwrap();
    let backend = FixtureBackend {
        transport: Arc::new(core_http::Transport::new(sandbox.base_url())),
    };
    let backends: Backends = [(Vendor::Baidu, Arc::new(backend) as Arc<dyn Backend>)]
        .into_iter()
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("apps.jsonl");
    std::fs::write(
        &inventory,
        (1..=3)
            .map(|i| format!("{{\"vendor\":\"baidu\",\"app_id\":\"app{i}\"}}\n"))
            .collect::<String>(),
    )
    .unwrap();
    let desired_path = dir.path().join("desired.toml");
    std::fs::write(
        &desired_path,
        "[[set]]\nvendor = \"baidu\"\nresource = \"fixture_hosts\"\nvalue = { hosts = [\"https://a.example.com\", \"wss://b.example.com\"] }\n",
    )
    .unwrap();
    let desired = DesiredState::load_with(&desired_path, &backends).unwrap();

    let plan = dir.path().join("plan.jsonl");
    let summary = miniapp_fleet::plan(&desired, &inventory, &backends, None, &plan, 4, &Quiet)
        .await
        .unwrap();
    assert_eq!(summary.total(Action::Set), 3);
    let journal = Journal::open(&format!("sqlite:{}", dir.path().join("j.sqlite").display()))
        .await
        .unwrap();
    let job = miniapp_fleet::load_plan(&plan, &journal).await.unwrap();
    miniapp_fleet::apply(&job, &journal, &backends, &ApplyOptions::default(), &Quiet)
        .await
        .unwrap();
    let report = miniapp_fleet::report::report(&journal, &job, None)
        .await
        .unwrap();
    assert_eq!(report.total(RowState::Done), 3);
    for i in 1..=3 {
        let stored = sandbox
            .resource(
                core_http::Vendor::Baidu,
                &format!("token-app{i}"),
                "fixture_hosts",
            )
            .unwrap();
        assert_eq!(
            stored.set("hosts"),
            [
                "https://a.example.com".to_owned(),
                "wss://b.example.com".to_owned()
            ]
            .into()
        );
        assert_eq!(
            sandbox
                .counters(core_http::Vendor::Baidu, &format!("token-app{i}"))
                .writes_applied,
            1
        );
    }

    // The fixture endpoint's own limit (max_items = 3) checks the desired state.
    std::fs::write(
        &desired_path,
        "[[set]]\nvendor = \"baidu\"\nresource = \"fixture_hosts\"\nvalue = { hosts = [\"https://a.com\", \"https://b.com\", \"https://c.com\", \"https://d.com\"] }\n",
    )
    .unwrap();
    let err = DesiredState::load_with(&desired_path, &backends).unwrap_err();
    assert_eq!(err.line, 4, "{err}");
    assert!(err.to_string().contains("at most 3 items"), "{err}");
}
