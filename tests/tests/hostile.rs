//! Hostile responses: every decoder (each vendor envelope through every endpoint's answer type,
//! and the Baidu push events) gets arbitrary bytes, arbitrary JSON and mangled document
//! examples. Nothing may panic; errors must be typed.
//!
//! The test command runs a short seeded pass. The long run:
//! `PROPTEST_CASES=200000 cargo test -p miniapp-tests --test hostile --release`.

use std::path::Path;

use core_http::{Endpoint, Error, RawResponse};
use proptest::prelude::*;

type Decoder = fn(RawResponse) -> Result<(), Error>;

fn decode_as<E: Endpoint>(raw: RawResponse) -> Result<(), Error> {
    E::decode(raw).map(|_| ())
}

macro_rules! decoders {
    ($($ty:path,)*) => {
        vec![$((stringify!($ty), decode_as::<$ty> as Decoder)),*]
    };
}

fn all_decoders() -> Vec<(&'static str, Decoder)> {
    decoders![
        wechat_component_api::component_auth::GetComponentAccessTokenRequest,
        wechat_component_api::component_auth::StartPushTicketRequest,
        wechat_component_api::component_auth::CreatePreauthCodeRequest,
        wechat_component_api::component_auth::QueryAuthRequest,
        wechat_component_api::component_auth::GetAuthorizerTokenRequest,
        wechat_component_api::third_party_domain::ModifyWxaJumpDomainRequest,
        wechat_component_api::domain_management::ModifyDomainRequest,
        wechat_component_api::domain_management::ModifyDomainDirectlyRequest,
        wechat_component_api::domain_management::GetEffectiveDomainRequest,
        wechat_component_api::domain_management::SetWebviewDomainRequest,
        wechat_component_api::domain_management::SetWebviewDomainDirectlyRequest,
        wechat_component_api::domain_management::GetWebviewDomainConfirmFileRequest,
        wechat_component_api::third_party_server_domain::ModifyWxaServerDomainRequest,
        wechat_component_api::third_party_server_domain::GetDomainConfirmFileRequest,
        wechat_component_api::code_management::CommitRequest,
        wechat_component_api::code_management::GetPageRequest,
        wechat_component_api::code_management::GetQrcodeRequest,
        wechat_component_api::code_management::GetCodePrivacyInfoRequest,
        wechat_component_api::code_management::SubmitAuditRequest,
        wechat_component_api::code_management::GetAuditStatusRequest,
        wechat_component_api::code_management::GetLatestAuditStatusRequest,
        wechat_component_api::code_management::UndoCodeAuditRequest,
        wechat_component_api::code_management::SpeedupAuditRequest,
        wechat_component_api::code_management::ReleaseRequest,
        wechat_component_api::code_management::RevertCodeReleaseRequest,
        wechat_component_api::code_management::GrayReleaseRequest,
        wechat_component_api::code_management::GetGrayReleasePlanRequest,
        wechat_component_api::code_management::RevertGrayReleaseRequest,
        wechat_component_api::code_management::ChangeVisitStatusRequest,
        wechat_component_api::code_management::GetCategoryRequest,
        wechat_component_api::code_management::QueryQuotaRequest,
        wechat_component_api::code_template::GetTemplateDraftListRequest,
        wechat_component_api::code_template::AddToTemplateRequest,
        wechat_component_api::code_template::GetTemplateListRequest,
        wechat_component_api::code_template::DeleteTemplateRequest,
        baidu_smartapp_api::basic_info::GetCategoryListRequest,
        baidu_smartapp_api::basic_info::UpdateCategoryRequest,
        baidu_smartapp_api::basic_info::ModifyHeadImageRequest,
        baidu_smartapp_api::basic_info::ModifySignatureRequest,
        baidu_smartapp_api::basic_info::PauseServiceRequest,
        baidu_smartapp_api::basic_info::ResumeServiceRequest,
        baidu_smartapp_api::basic_info::ApplyFlowRecoveryRequest,
        baidu_smartapp_api::basic_info::GetQrCodeRequest,
        baidu_smartapp_api::basic_info::SetNicknameRequest,
        baidu_smartapp_api::basic_info::SetSupportVersionRequest,
        baidu_smartapp_api::basic_info::GetSupportVersionRequest,
        baidu_smartapp_api::basic_info::ModifyDomainRequest,
        baidu_smartapp_api::basic_info::ModifyWebviewDomainRequest,
        baidu_smartapp_api::basic_info::CheckNameRequest,
        baidu_smartapp_api::basic_info::OfflineUpdateRequest,
        baidu_smartapp_api::basic_info::ApplyMobileAuthRequest,
        baidu_smartapp_api::basic_info::CancelMobileAuthRequest,
        baidu_smartapp_api::basic_info::GetMobileAuthStatusRequest,
        baidu_smartapp_api::tp_auth::GetTpTokenRequest,
        baidu_smartapp_api::tp_auth::CreatePreAuthCodeRequest,
        baidu_smartapp_api::tp_auth::GetOAuthTokenRequest,
        baidu_smartapp_api::tp_auth::RetrieveAuthorizationCodeRequest,
        baidu_smartapp_api::package::UploadPackageRequest,
        baidu_smartapp_api::package::SubmitPackageAuditRequest,
        baidu_smartapp_api::package::ReleasePackageRequest,
        baidu_smartapp_api::package::RollbackPackageRequest,
        baidu_smartapp_api::package::WithdrawPackageAuditRequest,
        baidu_smartapp_api::package::GetPackagesRequest,
        baidu_smartapp_api::package::GetPackageDetailRequest,
        baidu_smartapp_api::template::GetTemplateListRequest,
        baidu_smartapp_api::template::GetTemplateDraftListRequest,
        baidu_smartapp_api::template::AddToTemplateRequest,
        baidu_smartapp_api::template::DelTemplateRequest,
        kuaishou_api::basic_info::ServerDomainRequest,
        kuaishou_api::basic_info::WebviewDomainRequest,
        kuaishou_api::basic_info::GetAppInfoRequest,
        kuaishou_api::oauth::StartPushTicketRequest,
        kuaishou_api::oauth::GetComponentAccessTokenRequest,
        kuaishou_api::oauth::GetPreAuthCodeRequest,
        kuaishou_api::oauth::GetAuthorizerAccessTokenRequest,
        kuaishou_api::oauth::GetReAuthorizationCodeRequest,
    ]
}

fn examples() -> Vec<String> {
    let specs =
        miniapp_spec::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs")).unwrap();
    let mut out = Vec::new();
    for (_, spec) in &specs {
        for ep in &spec.endpoints {
            out.extend(ep.examples.iter().filter_map(|e| e.response.clone()));
        }
        for ev in &spec.events {
            out.extend(ev.examples.iter().cloned());
        }
    }
    out
}

/// Arbitrary JSON, a few levels deep.
fn json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number)),
        "[a-z_0-9,;:/. -]{0,12}".prop_map(serde_json::Value::from),
        prop::sample::select(vec![
            "errcode",
            "errno",
            "result",
            "data",
            "msg",
            "error",
            "error_code",
            "1",
            "0",
            "-1",
            "https://a.com,wss://b.com"
        ])
        .prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "errcode",
                    "errmsg",
                    "errno",
                    "msg",
                    "data",
                    "result",
                    "error_msg",
                    "errorMsg",
                    "error",
                    "error_description",
                    "error_code",
                    "event",
                    "appId",
                    "sub_items",
                    "category_quali",
                    "items",
                    "request_domain",
                    "published_wxa_jump_h5_domain",
                    "requestdomain",
                    "effective_domain",
                    "file_name",
                    "authorization_info",
                    "access_token",
                    "expires_in",
                ])
                .prop_map(str::to_owned),
                inner,
                0..6,
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn raw(status: u16, content_type: &str, body: Vec<u8>) -> RawResponse {
    RawResponse {
        status,
        content_type: Some(content_type.to_owned()),
        retry_after: None,
        body: body.into(),
    }
}

fn feed(body: &[u8], status: u16, content_type: &str) {
    for (_, decode) in all_decoders() {
        let _ = decode(raw(status, content_type, body.to_vec()));
    }
    let _ = baidu_smartapp_api::parse_event(body);
    let _ = baidu_smartapp_api::package::Event::parse(body);
    let _ = kuaishou_api::parse_event(body);
}

#[test]
fn one_decoder_per_specified_endpoint() {
    let specs =
        miniapp_spec::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs")).unwrap();
    let endpoints: usize = specs.iter().map(|(_, s)| s.endpoints.len()).sum();
    assert_eq!(all_decoders().len(), endpoints);
    // One decoder per endpoint, not two for one and none for another.
    let mut names: Vec<&str> = all_decoders().iter().map(|(n, _)| *n).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), endpoints);
}

proptest! {
    // 256 seeded cases by default; PROPTEST_CASES=N for the long run.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256),
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x5eed),
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..256), status in prop::sample::select(vec![200u16, 400, 500, 502])) {
        feed(&body, status, "application/json");
        feed(&body, status, "image/png");
    }

    #[test]
    fn arbitrary_json_never_panics(value in json()) {
        feed(value.to_string().as_bytes(), 200, "application/json");
    }

    #[test]
    fn mangled_document_examples_never_panic(index in any::<prop::sample::Index>(), cut in any::<prop::sample::Index>(), flip in any::<u8>(), at in any::<prop::sample::Index>()) {
        let examples = examples();
        let mut body = examples[index.index(examples.len())].clone().into_bytes();
        let len = body.len();
        if len > 0 {
            let i = at.index(len);
            body[i] ^= flip;
            body.truncate(cut.index(len) + 1);
        }
        feed(&body, 200, "application/json");
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = "[".repeat(100_000);
    feed(deep.as_bytes(), 200, "application/json");
    let deep_obj = r#"{"data":"#.repeat(50_000);
    feed(deep_obj.as_bytes(), 200, "application/json");
}

#[test]
fn no_decoder_panics_on_any_document_example() {
    // Every document example through every decoder (most are the wrong endpoint for it): errors
    // are fine, panics are not. Decoding each example for its own endpoint is in the wire tests.
    for example in examples() {
        feed(example.as_bytes(), 200, "application/json");
    }
}
