//! The tour against the sandbox: every endpoint of every spec is called through the public
//! client API, and the sandbox (which checks each request against its spec) accepts them all.

use std::collections::BTreeSet;

#[tokio::test]
async fn tour_calls_every_endpoint_and_the_sandbox_accepts_every_request() {
    let sandbox = miniapp_sandbox::Sandbox::start().await.unwrap();
    let outcomes = miniapp_tour::run(&sandbox.base_url(), false).await;
    for o in &outcomes {
        assert!(
            o.result.is_ok(),
            "{} {}: {:?}",
            o.vendor,
            o.endpoint,
            o.result.as_ref().err()
        );
    }
    let requests = sandbox.requests();
    for r in &requests {
        assert!(r.accepted, "rejected: {r:?}");
    }
    let hit: BTreeSet<String> = requests.iter().filter_map(|r| r.endpoint.clone()).collect();
    let specified: BTreeSet<String> = miniapp_sandbox::specs()
        .iter()
        .flat_map(|s| s.endpoints.iter().map(|e| e.name.clone()))
        .collect();
    assert_eq!(hit, specified);
    // One tour call for every endpoint of every spec the sandbox serves (which endpoints the
    // specs must hold is `miniapp-spec`'s `specs_cover_every_documented_endpoint_and_event`).
    let endpoints: usize = miniapp_sandbox::specs()
        .iter()
        .map(|s| s.endpoints.len())
        .sum();
    assert_eq!(outcomes.len(), endpoints);
}

#[tokio::test]
async fn the_sandbox_rejects_what_the_spec_does_not_allow() {
    use baidu_smartapp_api::basic_info::*;
    let sandbox = miniapp_sandbox::Sandbox::start().await.unwrap();
    // Bypass the client's own validation by sending through the session with a raw request type
    // the spec does not know: an unknown parameter on a known path.
    #[derive(baidu_smartapp_api::Endpoint)]
    #[endpoint(vendor = baidu, name = "PauseService", method = POST, path = "/rest/2.0/smartapp/app/pause",
               body = form, response = PauseServiceResponse,
               credential(name = "access_token", kind = authorizer_access_token, location = form))]
    struct PauseWithExtra {
        #[param(form)]
        unexpected: String,
    }
    let app = baidu_smartapp_api::Client::with_base_url(sandbox.base_url()).authorizer("t");
    let err = app
        .session()
        .send(&PauseWithExtra {
            unexpected: "x".into(),
        })
        .await
        .unwrap_err();
    let v = err
        .vendor()
        .expect("a vendor-style error, not a silent 200");
    assert_eq!(v.code, 40001);
    assert!(v.message.contains("unexpected"), "{}", v.message);
    assert!(!sandbox.requests()[0].accepted);
}

/// The tour's second part: the whole loop against the sandbox, no token typed by hand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tours_loop_runs_from_pushes_to_the_new_apps_calls() {
    let steps = miniapp_tour::the_loop::run(false).await.unwrap();
    assert_eq!(steps, 10);
}

/// The sandbox answers WeChat errors as WeChat does, with the request id at the end of the
/// message, and the client keeps it in the error.
#[tokio::test]
async fn a_wechat_error_from_the_sandbox_carries_its_request_id_into_the_error() {
    use wechat_component_api::third_party_domain::{JumpDomainAction, ModifyWxaJumpDomainRequest};
    let sandbox = miniapp_sandbox::Sandbox::start().await.unwrap();
    let platform = wechat_component_api::Client::with_base_url(sandbox.base_url()).component("t");
    let mut request = ModifyWxaJumpDomainRequest::new(JumpDomainAction::Set);
    request.wxa_jump_h5_domain = Some(vec!["not a host/".into()]);
    let err = platform
        .session()
        .send_unvalidated(&request)
        .await
        .unwrap_err();
    let v = err.vendor().expect("a vendor error");
    let id = v.request_id.as_deref().expect("a request id");
    assert_eq!(id.len(), 26, "{id}");
    assert!(v.message.ends_with(&format!("rid: {id}")), "{}", v.message);
    assert!(
        err.to_string().ends_with(&format!("(request id {id})")),
        "{err}"
    );
}
