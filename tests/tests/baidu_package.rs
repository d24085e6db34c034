//! Baidu 「小程序包管理」 (7 endpoints of an authorized mini-program: upload from a template,
//! audit, release, rollback, withdraw, list, detail) and the platform's 「模板列表」 (4
//! endpoints): every tour call on the wire byte for byte (GET: query; POST: form body with the
//! token, as Baidu's own SDK sends them), every document answer decoded for its own endpoint, and
//! the values a release job relies on checked by hand.

use std::path::Path;

use baidu_smartapp_api::package::*;
use baidu_smartapp_api::template::{
    AddToTemplateRequest, DelTemplateRequest, GetTemplateDraftListRequest, GetTemplateListRequest,
};
use baidu_smartapp_api::Client;
use core_http::{Endpoint, Error, RawResponse};
use miniapp_tests::{MockServer, Reply};

/// The spec modules this file covers.
const MODULES: [&str; 2] = ["package", "template"];

const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

/// (method, path, query, content type, body) of one expected request.
type Wire = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
);

fn post(path: &'static str, body: &'static str) -> Wire {
    ("POST", path, None, FORM, body)
}

fn get(path: &'static str, query: &'static str) -> Wire {
    ("GET", path, Some(query), None, "")
}

/// The exact requests each tour call must send (the tour's inputs are in `crates/tour/src/baidu.rs`).
fn expected(endpoint: &str) -> Vec<Wire> {
    match endpoint {
        // ext_json: JSON text in one form parameter, serialized once.
        "UploadPackage" => vec![post(
            "/rest/2.0/smartapp/package/upload",
            "access_token=tour-token&template_id=754&ext_json=%7B%22directCommit%22%3Afalse%2C%22extEnable%22%3Atrue%7D&user_desc=%E6%A8%A1%E6%9D%BF%E5%88%86%E5%8C%85%E4%BC%98%E5%8C%96%E6%8F%90%E5%8C%85+case4&user_version=10.30.0.3",
        )],
        // The document example's own encoding of content and remark.
        "SubmitPackageAudit" => vec![post(
            "/rest/2.0/smartapp/package/submitaudit",
            "access_token=tour-token&content=TP%E4%BB%A3%E9%80%81%E5%AE%A1%E5%BC%80%E5%8F%91%E5%8C%85&package_id=55106&remark=%E4%BB%A3%E6%8F%90%E5%AE%A1",
        )],
        "ReleasePackage" => vec![post(
            "/rest/2.0/smartapp/package/release",
            "access_token=tour-token&package_id=58210",
        )],
        "RollbackPackage" => vec![post(
            "/rest/2.0/smartapp/package/rollback",
            "access_token=tour-token&package_id=58210",
        )],
        "WithdrawPackageAudit" => vec![post(
            "/rest/2.0/smartapp/package/withdraw",
            "access_token=tour-token&package_id=58210",
        )],
        "GetPackages" => vec![get("/rest/2.0/smartapp/package/get", "access_token=tour-token")],
        "GetPackageDetail" => vec![get(
            "/rest/2.0/smartapp/package/getdetail",
            "access_token=tour-token&type=4",
        )],
        // The platform's template library: the TP token, under the same name.
        "GetTemplateList" => vec![get(
            "/rest/2.0/smartapp/template/gettemplatelist",
            "access_token=tour-token&page=1&page_size=50",
        )],
        "GetTemplateDraftList" => vec![get(
            "/rest/2.0/smartapp/template/gettemplatedraftlist",
            "access_token=tour-token&page=1&page_size=50",
        )],
        "AddToTemplate" => vec![post(
            "/rest/2.0/smartapp/template/addtotemplate",
            "access_token=tour-token&draft_id=68&user_desc=haha",
        )],
        "DelTemplate" => vec![post(
            "/rest/2.0/smartapp/template/deltemplate",
            "access_token=tour-token&template_id=301",
        )],
        other => panic!("no wire expectation for {other}"),
    }
}

/// The endpoints of the covered Baidu specs.
fn covered() -> Vec<miniapp_spec::Endpoint> {
    miniapp_spec::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs"))
        .expect("specs load")
        .into_iter()
        .filter(|(_, s)| s.vendor.as_str() == "baidu" && MODULES.contains(&s.module.as_str()))
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

#[tokio::test]
async fn every_package_and_template_endpoint_goes_on_the_wire_as_chosen() {
    let names: Vec<String> = covered().into_iter().map(|e| e.name).collect();
    assert_eq!(names.len(), 7 + 4);
    let server = MockServer::start(Reply::json(r#"{"errno":0,"msg":"success"}"#)).await;
    let clients = miniapp_tour::Clients::new(&server.base_url());
    let calls: Vec<_> = miniapp_tour::calls()
        .into_iter()
        .filter(|c| c.vendor == "baidu" && names.iter().any(|n| n == c.endpoint))
        .collect();
    let mut checked = 0;
    for call in calls {
        server.set_reply(Reply::json(&document_example(call.endpoint)));
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
    assert_eq!(checked, 7 + 4, "every endpoint has one tour call");
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
        UploadPackageRequest,
        SubmitPackageAuditRequest,
        ReleasePackageRequest,
        RollbackPackageRequest,
        WithdrawPackageAuditRequest,
        GetPackagesRequest,
        GetPackageDetailRequest,
        GetTemplateListRequest,
        GetTemplateDraftListRequest,
        AddToTemplateRequest,
        DelTemplateRequest,
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
            decoder(&ep.name)(json_answer(text))
                .unwrap_or_else(|e| panic!("{} ({}): {e:?}", ep.name, example.description));
            decoded += 1;
        }
    }
    assert_eq!(decoded, 7 + 4, "one example answer per endpoint");
}

#[test]
fn the_values_a_release_job_reads_are_decoded() {
    // UploadPackage: success carries nothing (the upload is asynchronous); the older mirror's
    // `"data":null` is the same answer; the documented error is typed.
    assert_eq!(
        answer::<UploadPackageRequest>(&document_example("UploadPackage")),
        UploadPackageResponse::default()
    );
    assert_eq!(
        answer::<UploadPackageRequest>(r#"{"errno":0,"msg":"success","data":null}"#),
        UploadPackageResponse::default()
    );
    let err =
        UploadPackageRequest::decode(json_answer(r#"{"errno":40001,"msg":"参数错误","data":{}}"#))
            .unwrap_err();
    let v = err.vendor().unwrap();
    assert_eq!(
        (v.code, v.endpoint, v.documented),
        (40001, "UploadPackage", Some("参数错误"))
    );

    // GetPackages: `data` is the list; the uploading package has no status or package_id yet.
    let packages = answer::<GetPackagesRequest>(&document_example("GetPackages"))
        .packages
        .unwrap();
    assert_eq!(packages.len(), 2);
    let online = &packages[0];
    assert_eq!((online.status, online.package_id), (Some(1), Some(1)));
    assert_eq!(
        online
            .status
            .and_then(|s| PackageStatus::from_wire(&s.to_string())),
        Some(PackageStatus::Online)
    );
    assert_eq!(online.version.as_deref(), Some("1.2.6"));
    assert_eq!(online.rollback_version.as_deref(), Some("v1.2.5"));
    assert_eq!(online.remark.as_deref(), Some(""));
    let uploading = &packages[1];
    assert_eq!((uploading.status, uploading.package_id), (None, None));
    assert_eq!(uploading.version.as_deref(), Some("1.2.7"));
    assert_eq!(
        uploading
            .upload_status
            .and_then(|s| UploadStatus::from_wire(&s.to_string())),
        Some(UploadStatus::Uploading)
    );
    // package_id as the table types it (a string), an undocumented status, a failed upload.
    let other = answer::<GetPackagesRequest>(
        r#"{"errno":0,"msg":"success","data":[{"version":"1.3.0","status":6,"package_id":"55106"},{"version":"1.3.1","status":42},{"version":"1.3.2","upload_status":3,"upload_status_desc":"上传失败","upload_err_code":69010,"upload_err_msg":"模板文件解析出错"}]}"#,
    )
    .packages
    .unwrap();
    assert_eq!(
        (other[0].status, other[0].package_id),
        (Some(6), Some(55106))
    );
    assert_eq!(
        PackageStatus::from_wire("6"),
        Some(PackageStatus::AuditPassed)
    );
    assert_eq!(
        (other[1].status, PackageStatus::from_wire("42")),
        (Some(42), None)
    );
    assert_eq!(
        (other[2].upload_status, other[2].upload_err_code),
        (Some(3), Some(69010))
    );

    // GetPackageDetail: one package in `data`.
    let detail = answer::<GetPackageDetailRequest>(&document_example("GetPackageDetail"));
    assert_eq!(
        (detail.package_id, detail.status, detail.version.as_deref()),
        (Some(201), Some(4), Some("d0.0.0.2"))
    );

    // The template library: the template_id UploadPackage takes.
    let templates = answer::<GetTemplateListRequest>(&document_example("GetTemplateList"));
    assert_eq!(templates.count, Some(53));
    let list = templates.list.unwrap();
    assert_eq!(
        list.iter()
            .map(|t| (t.template_id, t.web_status))
            .collect::<Vec<_>>(),
        [(Some(7), Some(true)), (Some(8), Some(false))]
    );
    let drafts = answer::<GetTemplateDraftListRequest>(&document_example("GetTemplateDraftList"));
    assert_eq!(
        drafts
            .list
            .unwrap()
            .iter()
            .map(|d| d.draft_id)
            .collect::<Vec<_>>(),
        [Some(7), Some(8)]
    );
    let added = answer::<AddToTemplateRequest>(&document_example("AddToTemplate"));
    assert_eq!(added.template_id, 1);
    let deleted = answer::<DelTemplateRequest>(&document_example("DelTemplate"));
    assert_eq!(deleted.result, Some(1));
}

#[tokio::test]
async fn upload_sends_ext_json_as_one_form_parameter_holding_json() {
    let server = MockServer::start(Reply::json(r#"{"errno":0,"msg":"success"}"#)).await;
    let app = Client::with_base_url(server.base_url()).authorizer("45.APP");
    let ext = serde_json::json!({
        "extEnable": true,
        "extAppid": "100000282",
        "directCommit": false,
        "ext": {"name": "门店 & 分店"}
    });
    let mut req = UploadPackageRequest::new("754", ext.clone(), "模板提包", "1.0.0");
    req.test_account = Some("reviewer".into());
    req.test_password = Some("pa&ss=word".into());
    app.upload_package(&req).await.unwrap();
    let seen = server.only();
    assert_eq!(
        (
            seen.method.as_str(),
            seen.path.as_str(),
            seen.query.as_deref()
        ),
        ("POST", "/rest/2.0/smartapp/package/upload", None)
    );
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&seen.body)
        .into_owned()
        .collect();
    let names: Vec<&str> = form.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "access_token",
            "template_id",
            "ext_json",
            "user_desc",
            "user_version",
            "test_account",
            "test_password"
        ]
    );
    let value = |name: &str| form.iter().find(|(k, _)| k == name).unwrap().1.clone();
    assert_eq!(value("access_token"), "45.APP");
    let sent: serde_json::Value = serde_json::from_str(&value("ext_json")).unwrap();
    assert!(sent.is_object(), "JSON text of an object, encoded once");
    assert_eq!(sent, ext);
    assert_eq!(value("test_password"), "pa&ss=word");
}
