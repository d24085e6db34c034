//! The SDK's validator and the sandbox's spec check agree: every request the validator accepts
//! is accepted by the sandbox, and every one it rejects would have been rejected there.
//! (Both are derived from the specs, independently: the generator/derive macro on one side, the
//! sandbox's reading of the spec on the other.)

use std::sync::OnceLock;

use core_http::Endpoint;
use miniapp_sandbox::Sandbox;
use proptest::prelude::*;

struct Env {
    runtime: tokio::runtime::Runtime,
    sandbox: Sandbox,
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let sandbox = runtime.block_on(Sandbox::start()).unwrap();
        Env { runtime, sandbox }
    })
}

/// Sends without the SDK's checks and reports whether the sandbox accepted the request.
fn sandbox_accepts<E: Endpoint>(
    session: impl FnOnce(&str) -> core_http::Session,
    request: &E,
) -> bool {
    // The proptests run in parallel on one sandbox: one request at a time.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let env = env();
    let session = session(&env.sandbox.base_url());
    let before = env.sandbox.requests().len();
    let _ = env.runtime.block_on(
        session
            .with_retry_policy(core_http::RetryPolicy::never())
            .send_unvalidated(request),
    );
    let requests = env.sandbox.requests();
    assert_eq!(requests.len(), before + 1, "exactly one request");
    requests[before].accepted
}

fn agree<E: Endpoint + std::fmt::Debug>(
    session: impl FnOnce(&str) -> core_http::Session,
    request: &E,
) -> Result<(), TestCaseError> {
    let valid = request.validate();
    let accepted = sandbox_accepts(session, request);
    prop_assert_eq!(
        valid.is_ok(),
        accepted,
        "validator says {:?}, sandbox accepted = {} for {:?}",
        valid,
        accepted,
        request
    );
    Ok(())
}

fn wechat(base: &str) -> core_http::Session {
    wechat_component_api::Client::with_base_url(base)
        .component("t")
        .session()
        .clone()
}
fn baidu(base: &str) -> core_http::Session {
    baidu_smartapp_api::Client::with_base_url(base)
        .authorizer("45.t")
        .session()
        .clone()
}
fn kuaishou(base: &str) -> core_http::Session {
    kuaishou_api::Client::with_base_url(base, "ks")
        .authorizer("t")
        .session()
        .clone()
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z]{1,8}\\.(com|cn)",
        1 => "https://[a-z]{1,6}\\.com",
        1 => "wss://[a-z]{1,6}\\.com",
        1 => "http://[a-z]{1,6}\\.com",
        1 => "[a-z]{1,6}\\.com/[a-z]{1,4}",
        1 => Just(String::new()),
    ]
}

fn url() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "(https|wss)://[a-z]{1,8}\\.com",
        1 => "http://[a-z]{1,6}\\.com",
        1 => "[a-z]{1,6}\\.com",
        1 => Just("https://".to_owned()),
    ]
}

fn text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![Just('审'), Just('a'), Just('1'), Just('，')],
        0..max,
    )
    .prop_map(|v| v.into_iter().collect())
}

fn lists<T: Strategy>(item: T) -> impl Strategy<Value = Option<Vec<T::Value>>>
where
    T::Value: Clone + std::fmt::Debug,
{
    prop::option::of(prop::collection::vec(item, 0..4))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, rng_seed: proptest::test_runner::RngSeed::Fixed(7), ..ProptestConfig::default() })]

    #[test]
    fn wechat_jump_domain(action in prop::sample::select(wechat_component_api::third_party_domain::JumpDomainAction::ALL.to_vec()),
                          domains in prop_oneof![4 => lists(host()), 1 => Just(Some(vec!["a.com".to_owned(); 201]))],
                          together in prop::option::of(any::<bool>())) {
        let mut req = wechat_component_api::third_party_domain::ModifyWxaJumpDomainRequest::new(action);
        req.wxa_jump_h5_domain = domains;
        req.is_modify_published_together = together;
        agree(wechat, &req)?;
    }

    #[test]
    fn baidu_modify_domain(action in prop::option::of(prop::sample::select(baidu_smartapp_api::basic_info::DomainAction::ALL.to_vec())),
                           a in lists(url()), b in lists(url()), c in lists(url()), d in lists(url())) {
        let mut req = baidu_smartapp_api::basic_info::ModifyDomainRequest::new();
        req.action = action;
        (req.download_domain, req.request_domain, req.socket_domain, req.upload_domain) = (a, b, c, d);
        agree(baidu, &req)?;
    }

    #[test]
    fn baidu_limits(width in prop::option::of(-10i64..2000), desc in text(110), scene in text(520), n in 0usize..8) {
        let qr = baidu_smartapp_api::basic_info::GetQrCodeRequest { width, ..Default::default() };
        agree(baidu, &qr)?;
        agree(baidu, &baidu_smartapp_api::basic_info::ApplyFlowRecoveryRequest::new(desc))?;
        let auth = baidu_smartapp_api::basic_info::ApplyMobileAuthRequest::new(
            baidu_smartapp_api::basic_info::MobileAuthReason::Other,
            baidu_smartapp_api::basic_info::MobileAuthUsedScene::InfoQuery,
            scene,
            "https://x/demo.png",
        );
        agree(baidu, &auth)?;
        let cats = (0..n as i64).map(|i| baidu_smartapp_api::basic_info::CategoryUpdate { sub_category_id: i, qualis: None }).collect();
        agree(baidu, &baidu_smartapp_api::basic_info::UpdateCategoryRequest::new(cats))?;
    }

    #[test]
    fn kuaishou_server_domain(action in prop::sample::select(kuaishou_api::basic_info::DomainAction::ALL.to_vec()),
                              a in lists(host()), b in lists(host()), c in lists(host()), d in lists(host()), e in lists(host())) {
        let mut req = kuaishou_api::basic_info::ServerDomainRequest::new(action);
        (req.request, req.socket, req.upload_file, req.download_file, req.udp) = (a, b, c, d, e);
        agree(kuaishou, &req)?;
    }
}
