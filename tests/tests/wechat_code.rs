//! WeChat 「小程序代码管理」 (17 endpoints of an authorized mini-program: commit, audit, release,
//! rollback, phased release…) and the platform's 「模板库管理」 (4 endpoints): every tour call on
//! the wire byte for byte, every document answer decoded for its own endpoint, and the values a
//! release job relies on checked by hand.

use std::path::Path;

use core_http::{Endpoint, Error, RawResponse};
use miniapp_tests::{MockServer, Reply};
use wechat_component_api::code_management::*;
use wechat_component_api::code_template::{
    AddToTemplateRequest, DeleteTemplateRequest, GetTemplateDraftListRequest,
    GetTemplateListRequest, TemplateAuditStatus, TemplateType,
};
use wechat_component_api::Client;

/// The spec modules this file covers.
const MODULES: [&str; 2] = ["code_management", "code_template"];

const JSON: Option<&str> = Some("application/json");

/// (method, path, query, content type, body) of one expected request.
type Wire = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
);

fn get(path: &'static str, query: &'static str) -> Wire {
    ("GET", path, Some(query), None, "")
}

fn post(path: &'static str, body: &'static str) -> Wire {
    ("POST", path, Some("access_token=tour-token"), JSON, body)
}

const TOKEN: &str = "access_token=tour-token";

/// The exact requests each tour call must send (the tour's inputs are in `crates/tour/src/wechat.rs`).
fn expected(endpoint: &str) -> Vec<Wire> {
    match endpoint {
        "Commit" => vec![post(
            "/wxa/commit",
            r#"{"template_id":0,"ext_json":"{\"ext\":{\"attr1\":\"value1\",\"attr2\":\"value2\"},\"extAppid\":\"\",\"extPages\":{\"index\":{},\"search/index\":{}},\"networkTimeout\":{},\"pages\":[\"index\",\"search/index\"],\"plugin\":{},\"tabBar\":{},\"window\":{}}","user_version":"V1.0","user_desc":"test"}"#,
        )],
        "GetPage" => vec![get("/wxa/get_page", TOKEN)],
        "GetQrcode" => vec![get(
            "/wxa/get_qrcode",
            "access_token=tour-token&path=page%2Findex%3Faction%3D1",
        )],
        "GetCodePrivacyInfo" => vec![get("/wxa/security/get_code_privacy_info", TOKEN)],
        "SubmitAudit" => vec![post(
            "/wxa/submit_audit",
            r#"{"item_list":[{"address":"index","tag":"学习 生活","first_class":"文娱","second_class":"资讯","title":"首页","first_id":1,"second_id":2},{"address":"page/logs/logs","tag":"学习 工作","first_class":"教育","second_class":"学历教育","third_class":"高等","title":"日志","first_id":3,"second_id":4,"third_id":5}],"feedback_info":"blablabla","feedback_stuff":"xx|yy|zz","version_desc":"blablabla","preview_info":{"video_id_list":["xxxx"],"pic_id_list":["xxxx","yyyy","zzzz"]},"ugc_declare":{"scene":[1,2],"method":[1],"has_audit_team":1,"audit_desc":"blablabla"}}"#,
        )],
        "GetAuditStatus" => vec![post("/wxa/get_auditstatus", r#"{"auditid":1234567}"#)],
        "GetLatestAuditStatus" => vec![get("/wxa/get_latest_auditstatus", TOKEN)],
        "UndoCodeAudit" => vec![get("/wxa/undocodeaudit", TOKEN)],
        "SpeedupAudit" => vec![post("/wxa/speedupaudit", r#"{"auditid":12345}"#)],
        "Release" => vec![post("/wxa/release", "{}")],
        // The history first; then the first listed version (the example's 111), never both.
        "RevertCodeRelease" => vec![
            get(
                "/wxa/revertcoderelease",
                "access_token=tour-token&action=get_history_version",
            ),
            get(
                "/wxa/revertcoderelease",
                "access_token=tour-token&app_version=111",
            ),
        ],
        "GrayRelease" => vec![post(
            "/wxa/grayrelease",
            r#"{"gray_percentage":1,"support_debuger_first":true,"support_experiencer_first":true}"#,
        )],
        "GetGrayReleasePlan" => vec![get("/wxa/getgrayreleaseplan", TOKEN)],
        "RevertGrayRelease" => vec![get("/wxa/revertgrayrelease", TOKEN)],
        "ChangeVisitStatus" => vec![post("/wxa/change_visitstatus", r#"{"action":"close"}"#)],
        "GetCategory" => vec![get("/wxa/get_category", TOKEN)],
        "QueryQuota" => vec![get("/wxa/queryquota", TOKEN)],
        // The platform's template library: the component token, under the same name.
        "GetTemplateDraftList" => vec![get("/wxa/gettemplatedraftlist", TOKEN)],
        "AddToTemplate" => vec![post("/wxa/addtotemplate", r#"{"draft_id":1}"#)],
        "GetTemplateList" => vec![get(
            "/wxa/gettemplatelist",
            "access_token=tour-token&template_type=1",
        )],
        "DeleteTemplate" => vec![post("/wxa/deletetemplate", r#"{"template_id":0}"#)],
        other => panic!("no wire expectation for {other}"),
    }
}

fn specs() -> Vec<(std::path::PathBuf, miniapp_spec::SpecFile)> {
    miniapp_spec::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs"))
        .expect("specs load")
}

/// The endpoints of the covered WeChat specs.
fn covered() -> Vec<miniapp_spec::Endpoint> {
    specs()
        .into_iter()
        .filter(|(_, s)| s.vendor.as_str() == "wechat" && MODULES.contains(&s.module.as_str()))
        .flat_map(|(_, s)| s.endpoints)
        .collect()
}

/// The document's first example answer of an endpoint.
fn document_example(endpoint: &str) -> String {
    covered()
        .iter()
        .find(|e| e.name == endpoint)
        .and_then(|e| e.examples.iter().find_map(|x| x.response.clone()))
        .unwrap_or_else(|| panic!("no example answer for {endpoint}"))
}

fn jpeg() -> Reply {
    Reply {
        status: 200,
        content_type: "image/jpeg".into(),
        body: vec![0xff, 0xd8, 0xff, 0xe0, b'J', b'F', b'I', b'F', 0xff, 0xd9].into(),
    }
}

#[tokio::test]
async fn every_code_endpoint_goes_on_the_wire_as_chosen() {
    let names: Vec<String> = covered().into_iter().map(|e| e.name).collect();
    assert_eq!(names.len(), 17 + 4);
    let server = MockServer::start(Reply::json("{}")).await;
    let clients = miniapp_tour::Clients::new(&server.base_url());
    let calls: Vec<_> = miniapp_tour::calls()
        .into_iter()
        .filter(|c| c.vendor == "wechat" && names.iter().any(|n| n == c.endpoint))
        .collect();
    let mut checked = 0;
    for call in calls {
        // The trial QR code is an image (the document's headers: image/jpeg); every other
        // endpoint answers its document example.
        server.set_reply(if call.endpoint == "GetQrcode" {
            jpeg()
        } else {
            Reply::json(&document_example(call.endpoint))
        });
        let result = (call.run)(&clients).await;
        assert!(result.is_ok(), "{}: {:?}", call.endpoint, result.err());
        let seen: Vec<Wire> = server
            .take()
            .iter()
            .map(|r| {
                let leak = |s: &str| -> &'static str { Box::leak(s.to_owned().into_boxed_str()) };
                (
                    leak(&r.method),
                    leak(&r.path),
                    r.query.as_deref().map(leak),
                    r.content_type.as_deref().map(leak),
                    leak(r.body_text()),
                )
            })
            .collect();
        assert_eq!(seen, expected(call.endpoint), "{}", call.endpoint);
        checked += 1;
    }
    assert_eq!(checked, 17 + 4, "every endpoint has one tour call");
}

type Decoder = fn(RawResponse) -> Result<String, Error>;

fn decode_as<E: Endpoint>(raw: RawResponse) -> Result<String, Error>
where
    E::Response: std::fmt::Debug,
{
    E::decode(raw).map(|r| format!("{r:?}"))
}

macro_rules! decoders {
    ($($ty:ty,)*) => {
        vec![$((<$ty as Endpoint>::NAME, decode_as::<$ty> as Decoder)),*]
    };
}

fn decoder(endpoint: &str) -> Decoder {
    let all: Vec<(&str, Decoder)> = decoders![
        CommitRequest,
        GetPageRequest,
        GetQrcodeRequest,
        GetCodePrivacyInfoRequest,
        SubmitAuditRequest,
        GetAuditStatusRequest,
        GetLatestAuditStatusRequest,
        UndoCodeAuditRequest,
        SpeedupAuditRequest,
        ReleaseRequest,
        RevertCodeReleaseRequest,
        GrayReleaseRequest,
        GetGrayReleasePlanRequest,
        RevertGrayReleaseRequest,
        ChangeVisitStatusRequest,
        GetCategoryRequest,
        QueryQuotaRequest,
        GetTemplateDraftListRequest,
        AddToTemplateRequest,
        GetTemplateListRequest,
        DeleteTemplateRequest,
    ];
    all.into_iter()
        .find(|(name, _)| *name == endpoint)
        .map(|(_, d)| d)
        .unwrap_or_else(|| panic!("no decoder for {endpoint}"))
}

fn json_answer(body: &str) -> RawResponse {
    RawResponse {
        status: 200,
        content_type: Some("application/json".into()),
        retry_after: None,
        body: body.to_owned().into_bytes().into(),
    }
}

/// Decodes `body` as the answer of `E`.
fn answer<E: Endpoint>(body: &str) -> E::Response {
    E::decode(json_answer(body)).unwrap_or_else(|e| panic!("{}: {e:?}", E::NAME))
}

#[test]
fn every_document_answer_decodes_for_its_own_endpoint() {
    let mut decoded = 0;
    for ep in covered() {
        for example in &ep.examples {
            let Some(text) = &example.response else {
                continue;
            };
            let body: serde_json::Value = serde_json::from_str(text)
                .unwrap_or_else(|e| panic!("{}: the example is not JSON: {e}", ep.name));
            let code = body["errcode"].as_i64().unwrap_or(0);
            let got = decoder(&ep.name)(json_answer(text));
            if code == 0 {
                got.unwrap_or_else(|e| panic!("{} ({}): {e:?}", ep.name, example.description));
            } else {
                // An error example (GetQrcode's answer when no image comes back).
                let err = got.expect_err(&ep.name);
                let v = err
                    .vendor()
                    .unwrap_or_else(|| panic!("{}: {err:?}", ep.name));
                assert_eq!((v.code, v.endpoint), (code, ep.name.as_str()));
                assert!(
                    v.documented.is_some(),
                    "{}: code {code} is documented",
                    ep.name
                );
            }
            decoded += 1;
        }
    }
    // Every endpoint has at least one example answer; Commit, AddToTemplate, GetTemplateList,
    // GetTemplateDraftList and RevertCodeRelease have two (GetQrcode's image example has none).
    assert_eq!(decoded, 17 + 4 + 5);
}

#[test]
fn the_values_a_release_job_reads_are_decoded() {
    // SubmitAudit: the auditid to persist right away, as a number or as a numeric string.
    let submitted = answer::<SubmitAuditRequest>(&document_example("SubmitAudit"));
    assert_eq!(submitted.auditid, Some(1234567));
    let quoted = answer::<SubmitAuditRequest>(r#"{"errcode":0,"errmsg":"ok","auditid":"1234567"}"#);
    assert_eq!(quoted.auditid, Some(1234567));
    let missing = answer::<SubmitAuditRequest>(r#"{"errcode":0,"errmsg":"ok"}"#);
    assert_eq!(
        missing.auditid, None,
        "not guaranteed: a success without it is None"
    );
    assert!(SubmitAuditRequest::decode(json_answer(
        r#"{"errcode":0,"errmsg":"ok","auditid":"12x"}"#
    ))
    .is_err());

    // GetAuditStatus: rejected, with the reason and the screenshots.
    let status = answer::<GetAuditStatusRequest>(&document_example("GetAuditStatus"));
    assert_eq!(status.status, 1);
    assert_eq!(
        AuditStatus::from_wire(&status.status.to_string()),
        Some(AuditStatus::Rejected)
    );
    assert_eq!(status.reason.as_deref(), Some("帐号信息不合规范"));
    assert_eq!(status.screenshot.as_deref(), Some("xxx|yyy|zzz"));
    // A status the document does not list still decodes (it stays an integer).
    let new = answer::<GetAuditStatusRequest>(r#"{"errcode":0,"errmsg":"ok","status":9}"#);
    assert_eq!((new.status, AuditStatus::from_wire("9")), (9, None));
    // Delayed (4) is not final and carries the delay's reason.
    let delayed = answer::<GetAuditStatusRequest>(
        r#"{"errcode":0,"errmsg":"ok","status":4,"reason":"审核延后"}"#,
    );
    assert_eq!(
        (
            AuditStatus::from_wire(&delayed.status.to_string()),
            delayed.reason.as_deref()
        ),
        (Some(AuditStatus::Delayed), Some("审核延后"))
    );
    // `status` is guaranteed: an answer without it is refused, not read as approved.
    assert!(GetAuditStatusRequest::decode(json_answer(r#"{"errcode":0,"errmsg":"ok"}"#)).is_err());

    // GetLatestAuditStatus: the document spells the screenshots `ScreenShot`.
    let latest = answer::<GetLatestAuditStatusRequest>(&document_example("GetLatestAuditStatus"));
    assert_eq!(latest.auditid, Some(1234567));
    assert_eq!(latest.status, 1);
    assert_eq!(latest.reason.as_deref(), Some("帐号信息不合规范"));
    assert_eq!(latest.screenshot.as_deref(), Some("xx|yy|zz"));
    assert_eq!(
        (latest.user_version.as_deref(), latest.user_desc.as_deref()),
        (Some("V1.5"), Some("test"))
    );
    assert_eq!(latest.submit_audit_time, Some(1640763673));
    let approved = answer::<GetLatestAuditStatusRequest>(
        r#"{"errcode":0,"errmsg":"ok","auditid":"7","status":0,"screenshot":"a|b"}"#,
    );
    assert_eq!(
        (
            approved.auditid,
            approved.status,
            approved.screenshot.as_deref()
        ),
        (Some(7), 0, Some("a|b"))
    );

    // QueryQuota: the document's answer is all zeros; a real one keeps rest and limit apart.
    let quota = answer::<QueryQuotaRequest>(&document_example("QueryQuota"));
    assert_eq!(
        (
            quota.rest,
            quota.limit,
            quota.speedup_rest,
            quota.speedup_limit
        ),
        (0, 0, 0, 0)
    );
    let quota = answer::<QueryQuotaRequest>(
        r#"{"errcode":0,"errmsg":"ok","rest":17,"limit":20,"speedup_rest":3,"speedup_limit":5}"#,
    );
    assert_eq!(
        (
            quota.rest,
            quota.limit,
            quota.speedup_rest,
            quota.speedup_limit
        ),
        (17, 20, 3, 5)
    );

    // GetTemplateList: the template_id Commit takes, from both page versions.
    let standard = answer::<GetTemplateListRequest>(&document_example("GetTemplateList"));
    let list = standard.template_list.unwrap();
    assert_eq!(
        list.iter().map(|t| t.template_id).collect::<Vec<_>>(),
        [Some(47), Some(48)]
    );
    assert_eq!(list[0].template_type, Some(1));
    assert_eq!(TemplateType::from_wire("1"), Some(TemplateType::Standard));
    assert_eq!(
        list[0]
            .audit_status
            .map(|s| TemplateAuditStatus::from_wire(&s.to_string())),
        Some(Some(TemplateAuditStatus::Rejected))
    );
    let category = &list[0].category_list.as_ref().unwrap()[0];
    assert_eq!(
        (category.first_id, category.second_id),
        (Some(287), Some(616))
    );
    let legacy = covered()
        .into_iter()
        .find(|e| e.name == "GetTemplateList")
        .unwrap()
        .examples[1]
        .response
        .clone()
        .unwrap();
    let legacy = answer::<GetTemplateListRequest>(&legacy)
        .template_list
        .unwrap();
    assert_eq!(
        legacy.iter().map(|t| t.template_id).collect::<Vec<_>>(),
        [Some(0), Some(4)]
    );
    assert_eq!(legacy[1].user_version.as_deref(), Some("11"));
    // The legacy English page types template_id String: read too.
    let quoted = answer::<GetTemplateListRequest>(
        r#"{"errcode":0,"errmsg":"ok","template_list":[{"template_id":"95","user_version":"V1"}]}"#,
    );
    assert_eq!(quoted.template_list.unwrap()[0].template_id, Some(95));

    // The rest of a release job's reads.
    let history = answer::<RevertCodeReleaseRequest>(&document_example("RevertCodeRelease"));
    assert_eq!(
        history
            .version_list
            .unwrap()
            .iter()
            .map(|v| (v.app_version, v.commit_time))
            .collect::<Vec<_>>(),
        [(Some(111), Some(1488965944)), (Some(222), Some(1504790906))]
    );
    let plan = answer::<GetGrayReleasePlanRequest>(&document_example("GetGrayReleasePlan"))
        .gray_release_plan
        .unwrap();
    assert_eq!((plan.status, plan.gray_percentage), (Some(1), Some(8)));
    assert_eq!(
        GrayReleaseStatus::from_wire("1"),
        Some(GrayReleaseStatus::Running)
    );
    let privacy = answer::<GetCodePrivacyInfoRequest>(&document_example("GetCodePrivacyInfo"));
    assert_eq!(
        privacy.without_conf_list,
        Some(vec!["wx.onLocationChange".to_owned()])
    );
    let drafts = answer::<GetTemplateDraftListRequest>(&document_example("GetTemplateDraftList"))
        .draft_list
        .unwrap();
    assert_eq!(
        drafts.iter().map(|d| d.draft_id).collect::<Vec<_>>(),
        [0, 4]
    );
}

async fn app(server: &MockServer) -> wechat_component_api::AuthorizedApp {
    Client::with_base_url(server.base_url()).authorizer("APP_TOKEN")
}

#[tokio::test]
async fn release_sends_an_empty_object_and_commit_sends_ext_json_as_text() {
    let server = MockServer::start(Reply::json(r#"{"errcode":0,"errmsg":"ok"}"#)).await;
    let app = app(&server).await;

    // release: the body must be exactly `{}` (no body at all answers 44002 empty post data).
    app.release(&ReleaseRequest::new()).await.unwrap();
    let seen = server.only();
    assert_eq!(
        (
            seen.method.as_str(),
            seen.path.as_str(),
            seen.query.as_deref()
        ),
        ("POST", "/wxa/release", Some("access_token=APP_TOKEN"))
    );
    assert_eq!(seen.content_type.as_deref(), Some("application/json"));
    assert_eq!(seen.body_text(), "{}");

    // commit: template_id is a JSON number; ext_json is a JSON string holding JSON (encoded
    // exactly once).
    let ext = serde_json::json!({
        "extAppid": "wx_ext_app",
        "ext": {"name": "门店"},
        "requiredPrivateInfos": ["onLocationChange", "startLocationUpdate"]
    });
    app.commit(&CommitRequest::new(95, ext.clone(), "V1.0", "test"))
        .await
        .unwrap();
    let seen = server.only();
    assert_eq!(seen.path, "/wxa/commit");
    let body: serde_json::Value = serde_json::from_str(seen.body_text()).unwrap();
    assert!(body["template_id"].is_i64(), "{body}");
    assert_eq!(body["template_id"], 95);
    let text = body["ext_json"]
        .as_str()
        .unwrap_or_else(|| panic!("ext_json is not a string: {body}"));
    let inner: serde_json::Value = serde_json::from_str(text).unwrap();
    assert!(
        inner.is_object(),
        "ext_json is JSON text of an object, once: {text}"
    );
    assert_eq!(inner, ext);
    assert_eq!(
        (body["user_version"].as_str(), body["user_desc"].as_str()),
        (Some("V1.0"), Some("test"))
    );
    assert_eq!(body.as_object().unwrap().len(), 4);

    // The document's two request examples, as the SDK sends them, are the document's JSON.
    for example in covered()
        .into_iter()
        .find(|e| e.name == "Commit")
        .unwrap()
        .examples
    {
        let doc: serde_json::Value =
            serde_json::from_str(example.request.as_deref().unwrap()).unwrap();
        let ext: serde_json::Value =
            serde_json::from_str(doc["ext_json"].as_str().unwrap()).unwrap();
        let req = CommitRequest::new(
            doc["template_id"].as_i64().unwrap(),
            ext,
            doc["user_version"].as_str().unwrap(),
            doc["user_desc"].as_str().unwrap(),
        );
        app.commit(&req).await.unwrap();
        let sent: serde_json::Value = serde_json::from_str(server.only().body_text()).unwrap();
        let sent_ext: serde_json::Value =
            serde_json::from_str(sent["ext_json"].as_str().unwrap()).unwrap();
        let doc_ext: serde_json::Value =
            serde_json::from_str(doc["ext_json"].as_str().unwrap()).unwrap();
        assert_eq!(sent_ext, doc_ext);
        assert_eq!(sent["template_id"], doc["template_id"]);
    }
}

#[tokio::test]
async fn the_trial_qr_code_is_bytes_or_the_vendor_error() {
    let server = MockServer::start(jpeg()).await;
    let app = app(&server).await;
    let qr = app.get_qrcode(&GetQrcodeRequest::new()).await.unwrap();
    assert_eq!(qr.content_type, "image/jpeg");
    assert!(qr.bytes.starts_with(&[0xff, 0xd8]));
    assert_eq!(
        server.only().query.as_deref(),
        Some("access_token=APP_TOKEN")
    );

    server.set_reply(Reply::json(
        &covered()
            .into_iter()
            .find(|e| e.name == "GetQrcode")
            .unwrap()
            .examples
            .iter()
            .find_map(|x| x.response.clone())
            .unwrap(),
    ));
    let err = app.get_qrcode(&GetQrcodeRequest::new()).await.unwrap_err();
    let v = err.vendor().unwrap();
    assert_eq!((v.code, v.endpoint), (-1, "GetQrcode"));
}
