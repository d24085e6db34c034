//! Declared resources through the typed API against the stateful sandbox: a read returns what
//! writes set (set/add/delete as the documents say), registration on the platform first
//! (WeChat), quotas, the rate limit, latency, a write applied before a reset, and the fleet's
//! seeded apps with their own tokens.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use core_http::token::{MemoryStore, RefreshPolicy};
use core_http::Vendor;
use core_http::{Error, RetryPolicy};
use miniapp_sandbox::{Fault, Sandbox, SandboxOptions};

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

async fn stateful(options: SandboxOptions) -> Sandbox {
    Sandbox::start_with(SandboxOptions {
        stateful: true,
        ..options
    })
    .await
    .unwrap()
}

fn vendor_code(err: &Error) -> Option<(i64, Option<&'static str>)> {
    err.vendor().map(|v| (v.code, v.documented))
}

#[tokio::test]
async fn wechat_app_domains_need_the_platforms_registration_first() {
    use wechat_component_api::domain_management::{DomainAction, ModifyDomainRequest};
    use wechat_component_api::resources::*;

    let sandbox = stateful(SandboxOptions::default()).await;
    let client = wechat_component_api::Client::with_base_url(sandbox.base_url());
    let (platform, app) = (
        client.component("platform-token"),
        client.authorizer("app-a"),
    );

    let wanted = ServerDomains {
        requestdomain: set(&["https://api.example.com", "https://api.example.com:8443"]),
        wsrequestdomain: set(&["wss://ws.example.com"]),
        ..Default::default()
    };
    // Not registered on the platform: refused with the documented code, nothing stored.
    let err = wanted.write(&app).await.unwrap_err();
    assert_eq!(
        vendor_code(&err),
        Some((85018, Some("域名没有在第三方平台设置 (Register the domain on the platform first (modify_wxa_server_domain).)")))
    );
    assert_eq!(
        ServerDomains::read(&app).await.unwrap(),
        ServerDomains::default()
    );

    let registration = PlatformServerDomains {
        wxa_server_domain: set(&["example.com"]),
    };
    registration.write(&platform).await.unwrap();
    assert_eq!(
        PlatformServerDomains::read(&platform).await.unwrap(),
        registration
    );

    wanted.write(&app).await.unwrap();
    assert_eq!(ServerDomains::read(&app).await.unwrap(), wanted);
    // Another app is untouched.
    let other = client.authorizer("app-b");
    assert_eq!(
        ServerDomains::read(&other).await.unwrap(),
        ServerDomains::default()
    );

    // add and delete change only what they name.
    let mut add = ModifyDomainRequest::new(DomainAction::Add);
    add.downloaddomain = Some(vec!["https://dl.example.com".into()]);
    app.modify_domain(&add).await.unwrap();
    let mut delete = ModifyDomainRequest::new(DomainAction::Delete);
    delete.requestdomain = Some(vec!["https://api.example.com:8443".into()]);
    app.modify_domain(&delete).await.unwrap();
    let now = ServerDomains::read(&app).await.unwrap();
    assert_eq!(now.requestdomain, set(&["https://api.example.com"]));
    assert_eq!(now.downloaddomain, set(&["https://dl.example.com"]));
    assert_eq!(now.wsrequestdomain, set(&["wss://ws.example.com"]));

    let counters = sandbox.counters(Vendor::Wechat, "app-a");
    assert_eq!((counters.writes_attempted, counters.writes_applied), (4, 3));
    assert_eq!(counters.requests.get("ModifyDomain"), Some(&7));

    // Webview domains: registered jump domains, and "no action" adds all of them.
    let webview = WebviewDomains {
        webviewdomain: set(&["https://h5.example.com"]),
    };
    assert_eq!(
        vendor_code(&webview.write(&app).await.unwrap_err()).map(|c| c.0),
        Some(89021)
    );
    PlatformJumpDomains {
        wxa_jump_h5_domain: set(&["h5.example.com", "m.example.com"]),
    }
    .write(&platform)
    .await
    .unwrap();
    app.set_webview_domain(
        &wechat_component_api::domain_management::SetWebviewDomainRequest::new(),
    )
    .await
    .unwrap();
    assert_eq!(
        WebviewDomains::read(&app).await.unwrap().webviewdomain,
        set(&["https://h5.example.com", "https://m.example.com"])
    );
    webview.write(&app).await.unwrap();
    assert_eq!(WebviewDomains::read(&app).await.unwrap(), webview);
}

#[tokio::test]
async fn generic_dispatch_reads_writes_and_validates_by_name() {
    use core_http::resource::{FieldValue, ResourceValue, Scope};
    use wechat_component_api::resources::{self, Target};

    let sandbox = stateful(SandboxOptions::default()).await;
    let client = wechat_component_api::Client::with_base_url(sandbox.base_url());
    let (platform, app) = (client.component("p"), client.authorizer("app-a"));
    let names: Vec<_> = resources::RESOURCES
        .iter()
        .map(|d| (d.name, d.scope))
        .collect();
    assert_eq!(
        names,
        [
            ("server_domains", Scope::App),
            ("webview_domains", Scope::App),
            ("platform_jump_domains", Scope::Platform),
            ("platform_server_domains", Scope::Platform),
        ]
    );
    let value = |field: &str, items: &[&str]| {
        ResourceValue(
            [(field.to_owned(), FieldValue::Set(set(items)))]
                .into_iter()
                .collect(),
        )
    };
    resources::write(
        "platform_server_domains",
        Target::Platform(&platform),
        &value("wxa_server_domain", &["example.com"]),
    )
    .await
    .unwrap();
    let desired = value("requestdomain", &["https://a.example.com"]);
    resources::write("server_domains", Target::App(&app), &desired)
        .await
        .unwrap();
    let read = resources::read("server_domains", Target::App(&app))
        .await
        .unwrap();
    let d = resources::descriptor("server_domains").unwrap();
    assert!(read.same_as(&desired, d), "{read:?}");
    assert_eq!(
        (d.counted, d.quota_code, d.requires),
        (true, Some(86102), Some("platform_server_domains"))
    );

    // The write endpoint's own validators: a wrong scheme is refused before sending.
    let before = sandbox.requests().len();
    let bad = value("wsrequestdomain", &["https://not-a-socket.example.com"]);
    let err = resources::validate("server_domains", &bad).unwrap_err();
    assert_eq!(
        (err.endpoint, err.field),
        ("ModifyDomain", "wsrequestdomain")
    );
    assert!(matches!(
        resources::write("server_domains", Target::App(&app), &bad).await,
        Err(Error::InvalidRequest(_))
    ));
    // An unknown name, or a platform resource through an app handle, is refused too.
    assert!(resources::validate("nope", &bad).is_err());
    assert!(
        resources::read("platform_server_domains", Target::App(&app))
            .await
            .is_err()
    );
    assert_eq!(sandbox.requests().len(), before);
}

#[tokio::test]
async fn baidu_quota_rate_limit_and_version() {
    use baidu_smartapp_api::resources::*;

    let sandbox = stateful(SandboxOptions {
        quota: Some(2),
        ..Default::default()
    })
    .await;
    let client = baidu_smartapp_api::Client::with_base_url(sandbox.base_url())
        .with_retry_policy(RetryPolicy::never());
    let app = client.authorizer("bd-app");
    for i in 0..2 {
        ServerDomains {
            request_domain: set(&[&format!("https://api{i}.example.com")]),
            ..Default::default()
        }
        .write(&app)
        .await
        .unwrap();
    }
    let err = ServerDomains {
        request_domain: set(&["https://api9.example.com"]),
        ..Default::default()
    }
    .write(&app)
    .await
    .unwrap_err();
    assert_eq!(
        vendor_code(&err),
        Some((470011, Some("修改服务器域名超过限制次数。")))
    );
    assert_eq!(
        ServerDomains::read(&app).await.unwrap().request_domain,
        set(&["https://api1.example.com"])
    );
    // Not counted: the version can be set as often as wanted.
    for v in ["3.60.2", "3.70.0", "3.80.1"] {
        MinSupportVersion { version: v.into() }
            .write(&app)
            .await
            .unwrap();
    }
    assert_eq!(
        MinSupportVersion::read(&app).await.unwrap().version,
        "3.80.1"
    );

    let limited = stateful(SandboxOptions {
        rate_limit: Some(5),
        ..Default::default()
    })
    .await;
    let app = baidu_smartapp_api::Client::with_base_url(limited.base_url())
        .with_retry_policy(RetryPolicy::never())
        .authorizer("bd-app");
    // Above the limit Baidu's gateway answers its own rate-limit code (18, in the gateway's
    // shape), which the client reads as a throttle, never as a lost authorization.
    let mut limited_answers = 0;
    for _ in 0..10 {
        if let Err(e) = ServerDomains::read(&app).await {
            let Error::Vendor(v) = &e else {
                panic!("{e:?}")
            };
            assert_eq!(v.code, 18, "{e:?}");
            assert!(
                v.message.starts_with("Open api qps request limit reached"),
                "{e:?}"
            );
            assert!(core_http::retry::is_throttle(v.vendor, &e));
            assert_eq!(
                core_http::retry::classify(v.vendor, &e),
                core_http::retry::Failure::Throttled
            );
            limited_answers += 1;
        }
    }
    assert!(limited_answers >= 4, "{limited_answers}");
}

#[tokio::test]
async fn kuaishou_domains_round_trip_and_latency_is_added() {
    use kuaishou_api::resources::*;

    let sandbox = stateful(SandboxOptions {
        latency: Duration::from_millis(40),
        latency_jitter: Duration::from_millis(10),
        ..Default::default()
    })
    .await;
    let app = kuaishou_api::Client::with_base_url(sandbox.base_url(), "ks-component")
        .authorizer("ks-app");
    let wanted = ServerDomains {
        request: set(&["https://api.example.com"]),
        socket: set(&["wss://ws.example.com"]),
        ..Default::default()
    };
    let started = Instant::now();
    wanted.write(&app).await.unwrap();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(30) && took < Duration::from_secs(2),
        "{took:?}"
    );
    assert_eq!(ServerDomains::read(&app).await.unwrap(), wanted);
    let webview = WebviewDomains {
        webview: set(&["https://h5.example.com"]),
    };
    webview.write(&app).await.unwrap();
    assert_eq!(WebviewDomains::read(&app).await.unwrap(), webview);
}

#[tokio::test]
async fn a_write_applied_before_the_connection_reset_is_there_on_the_next_read() {
    use baidu_smartapp_api::resources::ServerDomains;

    let sandbox = stateful(SandboxOptions::default()).await;
    let app = baidu_smartapp_api::Client::with_base_url(sandbox.base_url()).authorizer("bd-app");
    sandbox.inject("ModifyDomain", Fault::AppliedThenReset, Some(1));
    let wanted = ServerDomains {
        request_domain: set(&["https://api.example.com"]),
        ..Default::default()
    };
    let err = wanted.write(&app).await.unwrap_err();
    assert!(!matches!(err, Error::Vendor(_)), "{err:?}");
    // Quota-limited: not repeated by the client; the read shows it was applied.
    assert_eq!(ServerDomains::read(&app).await.unwrap(), wanted);
    let counters = sandbox.counters(Vendor::Baidu, "bd-app");
    assert_eq!((counters.writes_attempted, counters.writes_applied), (1, 1));

    sandbox.inject("ModifyDomain", Fault::AppliedThenStatus(502), Some(1));
    let next = ServerDomains {
        request_domain: set(&["https://api2.example.com"]),
        ..Default::default()
    };
    let err = next.write(&app).await.unwrap_err();
    assert!(matches!(err, Error::Http { status: 502, .. }), "{err:?}");
    assert_eq!(ServerDomains::read(&app).await.unwrap(), next);
}

#[tokio::test]
async fn seeded_apps_get_their_own_tokens_and_state() {
    use baidu_smartapp_api::resources::ServerDomains;

    let sandbox = Sandbox::start_with(SandboxOptions {
        enforce_tokens: true,
        apps: 3,
        ..Default::default()
    })
    .await
    .unwrap();
    let apps = sandbox.fleet_apps(Vendor::Baidu).to_vec();
    assert_eq!(apps.len(), 3);
    assert_eq!(apps[0].app_id, "1452001", "Baidu app ids are numbers");
    assert!(!format!("{:?}", apps[0]).contains(&apps[0].refresh_token));

    let client = baidu_smartapp_api::Client::with_base_url(sandbox.base_url());
    let tokens = baidu_smartapp_api::tokens::manager(
        &client,
        "tp_key",
        Arc::new(MemoryStore::new()),
        RefreshPolicy::default(),
    );
    tokens
        .store_ticket("ticket", baidu_smartapp_api::tokens::TICKET_LIFETIME)
        .await
        .unwrap();
    for (i, a) in apps.iter().enumerate() {
        tokens
            .import_authorization(&a.app_id, a.refresh_token.clone())
            .await
            .unwrap();
        let app = client.authorizer(tokens.authorizer_token(&a.app_id));
        ServerDomains {
            request_domain: set(&[&format!("https://app{i}.example.com")]),
            ..Default::default()
        }
        .write(&app)
        .await
        .unwrap();
    }
    for (i, a) in apps.iter().enumerate() {
        let stored = sandbox
            .resource(Vendor::Baidu, &a.app_id, "server_domains")
            .unwrap();
        assert_eq!(
            stored.set("request_domain"),
            set(&[&format!("https://app{i}.example.com")])
        );
        assert_eq!(sandbox.counters(Vendor::Baidu, &a.app_id).writes_applied, 1);
    }
}
