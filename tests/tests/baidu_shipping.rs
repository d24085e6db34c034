//! Baidu's shipping adapter (`baidu_smartapp_api::shipping::Shipper`) on the wire: what it
//! sends for each step of a release (the upload's parameters, the list read before a
//! submission, the package it names), and how it reads the package list (a processed upload,
//! one still uploading, one that failed with Baidu's reason, the latest audit).

use std::sync::Arc;

use baidu_smartapp_api::shipping::{
    AuditState, Check, LatestAudit, ShipCode, Shipper, Submitted, Upload,
};
use core_http::token::{MemoryStore, RefreshPolicy, TokenGrant, TokenStore};
use miniapp_tests::{Captured, MockServer, Reply};

const APP: &str = "1452365";

async fn shipper(server: &MockServer) -> Shipper {
    let client = baidu_smartapp_api::Client::with_base_url(server.base_url());
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
    let tokens = baidu_smartapp_api::tokens::manager(
        &client,
        "tp-platform",
        store,
        RefreshPolicy::default(),
    );
    let grant = TokenGrant::from_answer(
        "GetOAuthToken",
        core_http::Secret::from("app-token"),
        3600,
        core_http::Secret::from("refresh"),
    )
    .unwrap();
    tokens.save_authorization(APP, grant).await.unwrap();
    Shipper::new(client, Arc::new(tokens))
}

fn upload() -> Upload {
    Upload {
        template_id: 754,
        ext_json: serde_json::json!({"extEnable": true, "extAppid": APP}),
        version: "2.0.0".into(),
        description: "spring release".into(),
        audit: serde_json::Value::Null,
    }
}

/// A GetPackages answer listing `packages`.
fn list(packages: &str) -> Reply {
    Reply::json(&format!(
        r#"{{"errno":0,"msg":"success","data":[{packages}]}}"#
    ))
}

/// (method, path with its query, body) of a request.
fn wire(c: &Captured) -> (String, String, String) {
    let uri = match &c.query {
        Some(q) => format!("{}?{q}", c.path),
        None => c.path.clone(),
    };
    (c.method.clone(), uri, c.body_text().to_owned())
}

#[tokio::test]
async fn the_upload_sends_the_template_the_ext_json_once_the_version_and_the_description() {
    let server = MockServer::start(Reply::json(r#"{"errno":0,"msg":"success"}"#)).await;
    let shipper = shipper(&server).await;
    shipper.commit(APP, &upload()).await.unwrap();
    let sent = server.only();
    assert_eq!(
        wire(&sent),
        (
            "POST".into(),
            "/rest/2.0/smartapp/package/upload".into(),
            "access_token=app-token&template_id=754&ext_json=%7B%22extAppid%22%3A%221452365%22%2C%22extEnable%22%3Atrue%7D&user_desc=spring+release&user_version=2.0.0".into()
        )
    );
}

#[tokio::test]
async fn the_check_reads_the_list_for_the_uploaded_version() {
    let server = MockServer::start(list(
        r#"{"version":"1.9.0","status":1,"package_id":11,"msg":"审核通过"},
           {"version":"2.0.0","commit_time":"2026/12/07 09:00:00","upload_status":1,"upload_status_desc":"上传中"}"#,
    ))
    .await;
    let shipper = shipper(&server).await;
    assert_eq!(shipper.check(APP, &upload()).await.unwrap(), Check::Running);
    assert_eq!(
        wire(&server.only()),
        (
            "GET".into(),
            "/rest/2.0/smartapp/package/get?access_token=app-token".into(),
            String::new()
        )
    );

    // Processed: the development package of the version has its id.
    server.set_reply(list(
        r#"{"version":"1.9.0","status":1,"package_id":11},{"version":"2.0.0","status":3,"package_id":"58210"}"#,
    ));
    assert_eq!(shipper.check(APP, &upload()).await.unwrap(), Check::Done);

    // Not listed yet (an upload takes effect after about 3 s): still running.
    server.set_reply(list(r#"{"version":"1.9.0","status":1,"package_id":11}"#));
    assert_eq!(shipper.check(APP, &upload()).await.unwrap(), Check::Running);

    // Failed, with Baidu's code and reason.
    server.set_reply(list(
        r#"{"version":"2.0.0","upload_status":3,"upload_status_desc":"上传失败","upload_err_code":69010,"upload_err_msg":"模板文件解析出错"}"#,
    ));
    assert_eq!(
        shipper.check(APP, &upload()).await.unwrap(),
        Check::Failed {
            reason: "69010: 模板文件解析出错".into()
        }
    );
}

#[tokio::test]
async fn the_submission_names_the_development_package_of_the_version() {
    let server = MockServer::start(list(
        r#"{"version":"1.9.0","status":1,"package_id":11},{"version":"2.0.0","status":3,"package_id":58210}"#,
    ))
    .await;
    server.set_path_reply(
        "/rest/2.0/smartapp/package/submitaudit",
        Reply::json(r#"{"errno":0,"msg":"success","data":{}}"#),
    );
    let shipper = shipper(&server).await;
    assert_eq!(
        shipper.submit(APP, &upload()).await.unwrap(),
        Submitted::Audit {
            audit_id: "58210".into()
        }
    );
    let sent: Vec<_> = server.take().iter().map(wire).collect();
    assert_eq!(
        sent,
        vec![
            (
                "GET".into(),
                "/rest/2.0/smartapp/package/get?access_token=app-token".into(),
                String::new()
            ),
            (
                "POST".into(),
                "/rest/2.0/smartapp/package/submitaudit".into(),
                "access_token=app-token&content=spring+release&package_id=58210&remark=2.0.0"
                    .into()
            ),
        ]
    );

    // A package already in audit: nothing is submitted; the job adopts it.
    server.set_reply(list(r#"{"version":"2.0.0","status":4,"package_id":58210}"#));
    assert_eq!(
        shipper.submit(APP, &upload()).await.unwrap(),
        Submitted::AlreadyInAudit
    );
    assert_eq!(server.only().path, "/rest/2.0/smartapp/package/get");

    // Still uploading: the check has not ended.
    server.set_reply(list(r#"{"version":"2.0.0","upload_status":1}"#));
    assert_eq!(
        shipper.submit(APP, &upload()).await.unwrap(),
        Submitted::CheckRunning
    );
    assert_eq!(server.take().len(), 1);

    // No package of the version at all: a typed refusal, nothing submitted.
    server.set_reply(list(r#"{"version":"1.9.0","status":1,"package_id":11}"#));
    let error = shipper.submit(APP, &upload()).await.unwrap_err();
    assert!(
        matches!(&error, core_http::Error::InvalidRequest(r) if r.endpoint == "SubmitPackageAudit" && r.field == "package_id"),
        "{error:?}"
    );
    assert_eq!(server.take().len(), 1);

    // Right after a check found the development package (and no audit running), the
    // submission names it without listing the packages again; once only.
    server.set_reply(list(
        r#"{"version":"1.9.0","status":1,"package_id":11},{"version":"2.0.0","status":3,"package_id":58211}"#,
    ));
    assert_eq!(shipper.check(APP, &upload()).await.unwrap(), Check::Done);
    assert_eq!(server.take().len(), 1);
    assert_eq!(
        shipper.submit(APP, &upload()).await.unwrap(),
        Submitted::Audit {
            audit_id: "58211".into()
        }
    );
    let sent: Vec<_> = server.take().iter().map(wire).collect();
    assert_eq!(
        sent,
        vec![(
            "POST".into(),
            "/rest/2.0/smartapp/package/submitaudit".into(),
            "access_token=app-token&content=spring+release&package_id=58211&remark=2.0.0".into()
        )]
    );
    shipper.submit(APP, &upload()).await.unwrap();
    assert_eq!(server.take().len(), 2, "listed again: the check was used");
}

#[tokio::test]
async fn the_latest_audit_is_the_listed_package_in_an_audit_state_with_its_reason() {
    let server = MockServer::start(list(
        r#"{"version":"1.9.0","status":1,"package_id":11},
           {"version":"2.0.0","status":5,"package_id":58210,"msg":"名称过长（名称控制在10个字以内）"},
           {"version":"2.0.1","status":3,"package_id":58211}"#,
    ))
    .await;
    let shipper = shipper(&server).await;
    assert_eq!(
        shipper.latest(APP).await.unwrap(),
        Some(LatestAudit {
            audit_id: "58210".into(),
            state: AuditState::Rejected {
                reason: "名称过长（名称控制在10个字以内）".into()
            }
        })
    );
    // Only online and development packages: no audit.
    server.set_reply(list(r#"{"version":"1.9.0","status":1,"package_id":11}"#));
    assert_eq!(shipper.latest(APP).await.unwrap(), None);
}

#[tokio::test]
async fn the_status_reads_the_package_and_the_release_names_it() {
    let server = MockServer::start(Reply::json(
        r#"{"errno":0,"msg":"success","data":{"version":"2.0.0","status":6,"package_id":58210,"msg":"审核通过"}}"#,
    ))
    .await;
    let shipper = shipper(&server).await;
    assert_eq!(
        shipper.status(APP, "58210").await.unwrap(),
        AuditState::Approved
    );
    assert_eq!(
        wire(&server.only()).1,
        "/rest/2.0/smartapp/package/getdetail?access_token=app-token&package_id=58210"
    );
    server.set_reply(Reply::json(r#"{"errno":0,"msg":"success"}"#));
    assert!(shipper.release(APP, "58210").await.unwrap());
    assert_eq!(
        wire(&server.only()),
        (
            "POST".into(),
            "/rest/2.0/smartapp/package/release".into(),
            "access_token=app-token&package_id=58210".into()
        )
    );
    // Refused (Baidu documents no "already released" code): the package is read, and online
    // means the release was done (a release whose answer was lost).
    server.set_path_reply(
        "/rest/2.0/smartapp/package/release",
        Reply::json(r#"{"errno":40001,"msg":"参数错误"}"#),
    );
    server.set_reply(Reply::json(
        r#"{"errno":0,"msg":"success","data":{"version":"2.0.0","status":1,"package_id":58210}}"#,
    ));
    assert!(!shipper.release(APP, "58210").await.unwrap());
    let paths: Vec<_> = server.take().into_iter().map(|c| c.path).collect();
    assert_eq!(
        paths,
        [
            "/rest/2.0/smartapp/package/release",
            "/rest/2.0/smartapp/package/getdetail"
        ]
    );
    // Refused and not online: the refusal, with Baidu's code.
    server.set_reply(Reply::json(
        r#"{"errno":0,"msg":"success","data":{"version":"2.0.0","status":5,"package_id":58210}}"#,
    ));
    let refused = shipper.release(APP, "58210").await.unwrap_err();
    assert_eq!(refused.vendor().map(|v| v.code), Some(40001), "{refused:?}");
    server.take();
    // An audit id that is no package id: refused before anything is sent.
    assert!(shipper.release(APP, "wx-audit").await.is_err());
    assert!(server.take().is_empty());
    // Baidu's SDKs' audit quota call is not on the page: no quota.
    assert_eq!(shipper.quota(APP).await.unwrap(), None);
}
