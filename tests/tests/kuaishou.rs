//! Kuaishou: server domain, webview domain and app info, exactly as the document puts them on
//! the wire (credentials in the query, JSON body), the document's answers decoded.

use core_http::Error;
use kuaishou_api::basic_info::*;
use kuaishou_api::Client;
use miniapp_tests::{MockServer, Reply};

const CREDS: &str = "component_app_id=ks_platform&authorizer_access_token=AUTH_TOKEN";

fn list(items: &[&str]) -> Option<Vec<String>> {
    Some(items.iter().map(|s| s.to_string()).collect())
}

async fn app(server: &MockServer) -> kuaishou_api::AuthorizedApp {
    Client::with_base_url(server.base_url(), "ks_platform").authorizer("AUTH_TOKEN")
}

#[tokio::test]
async fn server_domain_set_and_get() {
    let server = MockServer::start(Reply::json(
        r#"{"result":1,"error_msg":"sucess","request":["***.com"],"socket":["***.com"],"upload_file":["***.com"],"download_file":["***.com"],"udp":["***.com"]}"#,
    ))
    .await;
    let app = app(&server).await;
    let mut set = ServerDomainRequest::new(DomainAction::Set);
    set.request = list(&["a.com", "b.com"]);
    set.socket = list(&["ws.a.com"]);
    set.upload_file = list(&[]);
    set.download_file = list(&["dl.a.com"]);
    set.udp = list(&["udp.a.com"]);
    let answer = app.server_domain(&set).await.unwrap();
    assert_eq!(answer.request, list(&["***.com"]));
    assert_eq!(answer.udp, list(&["***.com"]));
    assert_eq!(answer.action, None);

    let seen = server.only();
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.path, "/openapi/mp/auth/app/server_domain");
    assert_eq!(seen.query.as_deref(), Some(CREDS));
    assert_eq!(seen.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        seen.body_text(),
        r#"{"action":"set","request":["a.com","b.com"],"socket":["ws.a.com"],"upload_file":[],"download_file":["dl.a.com"],"udp":["udp.a.com"]}"#
    );

    app.server_domain(&ServerDomainRequest::new(DomainAction::Get))
        .await
        .unwrap();
    assert_eq!(server.only().body_text(), r#"{"action":"get"}"#);
}

#[tokio::test]
async fn server_domain_lists_are_required_unless_get() {
    let server = MockServer::start(Reply::json(r#"{"result":1}"#)).await;
    let app = app(&server).await;
    let mut add = ServerDomainRequest::new(DomainAction::Add);
    add.request = list(&["a.com"]);
    let Err(Error::InvalidRequest(e)) = app.server_domain(&add).await else {
        panic!("expected InvalidRequest")
    };
    assert_eq!(
        (e.field, e.rule.as_str()),
        ("socket", "required unless action = get")
    );
    assert!(server.take().is_empty());
}

#[tokio::test]
async fn webview_domain_and_documented_error() {
    let server = MockServer::start(Reply::json(
        r#"{"result":1,"error_msg":"sucess","webview":["xx.com"]}"#,
    ))
    .await;
    let app = app(&server).await;
    let mut add = WebviewDomainRequest::new(DomainAction::Add);
    add.webview = list(&["xx.com"]);
    let answer = app.webview_domain(&add).await.unwrap();
    assert_eq!(answer.webview, list(&["xx.com"]));
    let seen = server.only();
    assert_eq!(
        (seen.method.as_str(), seen.path.as_str()),
        ("POST", "/openapi/mp/auth/app/webview_domain")
    );
    assert_eq!(seen.query.as_deref(), Some(CREDS));
    assert_eq!(seen.body_text(), r#"{"action":"add","webview":["xx.com"]}"#);

    for (endpoint, code) in [("WebviewDomain", 403106), ("ServerDomain", 403106)] {
        server.set_reply(Reply::json(
            r#"{"result":403106,"error_msg":"domain not found"}"#,
        ));
        let err = if endpoint == "WebviewDomain" {
            app.webview_domain(&add).await.unwrap_err()
        } else {
            app.server_domain(&ServerDomainRequest::new(DomainAction::Get))
                .await
                .unwrap_err()
        };
        let v = err.vendor().expect("vendor error");
        assert_eq!((v.endpoint, v.code), (endpoint, code));
        assert_eq!(v.message, "domain not found");
        assert_eq!(v.documented, Some("要删除的域名不存在"));
    }
}

#[tokio::test]
async fn app_info_decodes_the_document_example() {
    let example = r#"{
"result": 1, "error_msg": "success", "status": 2, "app_name": "xxx小程序",
"name_audit": {"new_name": "xxx1小程序", "remaining_times": 2, "status": 0, "reason": ""},
"app_avatar": "http://xxxx.png",
"avatar_audit": {"new_name": "http://xxxx.png", "remaining_times": 1, "status": 1, "reason": ""},
"app_intro": "xxx",
"intro_audit": {"new_name": "xxx", "remaining_times": 5, "status": 1, "reason": ""},
"subject": {"name": "xxx", "type": 1},
"app_category": [
  {"category_id": "1,10", "category_name": "电商-家具", "status": 1, "reason": ""},
  {"category_id": "1,11", "category_name": "电商-母婴", "status": 2, "reason": ""}
]}"#;
    let server = MockServer::start(Reply::json(example)).await;
    let app = app(&server).await;
    let info = app.get_app_info(&GetAppInfoRequest::new()).await.unwrap();
    let seen = server.only();
    assert_eq!(
        (seen.method.as_str(), seen.path.as_str()),
        ("GET", "/openapi/mp/auth/app/info")
    );
    assert_eq!(seen.query.as_deref(), Some(CREDS));
    assert_eq!((seen.content_type, seen.body.len()), (None, 0));

    assert_eq!(info.status, Some(2));
    assert_eq!(info.app_name.as_deref(), Some("xxx小程序"));
    let name = info.name_audit.unwrap();
    assert_eq!(
        (name.new_name.as_deref(), name.remaining_times, name.status),
        (Some("xxx1小程序"), Some(2), Some(0))
    );
    assert_eq!(info.intro_audit.unwrap().remaining_times, Some(5));
    let subject = info.subject.unwrap();
    assert_eq!(
        (subject.name.as_deref(), subject.subject_type),
        (Some("xxx"), Some(1))
    );
    let cats = info.app_category.unwrap();
    assert_eq!(cats.len(), 2);
    assert_eq!(cats[1].category_id.as_deref(), Some("1,11"));
    assert_eq!(cats[1].category_name.as_deref(), Some("电商-母婴"));
    assert_eq!(cats[1].status, Some(2));

    server.set_reply(Reply::json(r#"{"result":0,"error_msg":"token expired"}"#));
    let err = app
        .get_app_info(&GetAppInfoRequest::new())
        .await
        .unwrap_err();
    let v = err.vendor().unwrap();
    assert_eq!(
        (v.code, v.message.as_str(), v.documented),
        (0, "token expired", None)
    );
}
