//! Baidu 「基本信息设置」: all 18 endpoints on the wire (GET: query; POST: form body with the token,
//! as Baidu's own SDK sends them), the document's answers decoded, the documented errors typed.

use baidu_smartapp_api::basic_info::*;
use baidu_smartapp_api::Client;
use core_http::Error;
use miniapp_tests::{MockServer, Reply};

const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
const OK: &str = r#"{"errno":0,"msg":"success"}"#;

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
        "GetTpToken" => vec![get("/public/2.0/smartapp/auth/tp/token", "client_id=tour_client_id&ticket=tour-ticket")],
        "CreatePreAuthCode" => vec![get("/rest/2.0/smartapp/tp/createpreauthcode", "access_token=tour-token")],
        "GetOAuthToken" => vec![get(
            "/rest/2.0/oauth/token",
            "access_token=tour-token&grant_type=app_to_tp_refresh_token&refresh_token=46.tour-refresh",
        )],
        "RetrieveAuthorizationCode" => vec![post(
            "/rest/2.0/smartapp/auth/retrieve/authorizationcode",
            "access_token=tour-token&app_id=15263713",
        )],
        "GetCategoryList" => vec![get("/rest/2.0/smartapp/app/category/list", "access_token=tour-token&category_type=2")],
        "UpdateCategory" => vec![post(
            "/rest/2.0/smartapp/app/category/update",
            "access_token=tour-token&categories=%5B%7B%22sub_category_id%22%3A197%2C%22qualis%22%3A%5B%7B%22id%22%3A1%2C%22addr%22%3A%22https%3A%2F%2Fb.bdstatic.com%2Fsearchbox%2Fmappconsole%2Fimage%2F20180903%2F1535970481267095.jpg%22%7D%5D%7D%2C%7B%22sub_category_id%22%3A6%7D%5D",
        )],
        "ModifyHeadImage" => vec![post(
            "/rest/2.0/smartapp/app/modifyheadimage",
            "access_token=tour-token&image_url=https%3A%2F%2Fb.bdstatic.com%2Fsearchbox%2Fmappconsole%2Fimage%2F20181204%2Ficon.png",
        )],
        "ModifySignature" => vec![post(
            "/rest/2.0/smartapp/app/modifysignature",
            "access_token=tour-token&signature=%E5%B0%8F%E7%A8%8B%E5%BA%8F%E7%9A%84%E7%9B%B8%E5%85%B3%E6%8F%8F%E8%BF%B0",
        )],
        "PauseService" => vec![post("/rest/2.0/smartapp/app/pause", "access_token=tour-token")],
        "ResumeService" => vec![post("/rest/2.0/smartapp/app/resume", "access_token=tour-token")],
        "ApplyFlowRecovery" => vec![post(
            "/rest/2.0/smartapp/appflow/applyRecovery",
            "access_token=tour-token&audit_desc=%E5%B7%B2%E4%BF%AE%E5%A4%8D%E8%BF%9D%E8%A7%84%E5%86%85%E5%AE%B9%EF%BC%8C%E7%94%B3%E8%AF%B7%E6%81%A2%E5%A4%8D",
        )],
        "GetQrCode" => vec![get("/rest/2.0/smartapp/app/qrcode", "access_token=tour-token&path=pages%2Findex%2Findex&width=430")],
        "SetNickname" => vec![post(
            "/rest/2.0/smartapp/app/setnickname",
            "access_token=tour-token&nick_name=%E5%B0%8F%E7%A8%8B%E5%BA%8F%E5%90%8D%E7%A7%B0",
        )],
        "SetSupportVersion" => vec![post("/rest/2.0/smartapp/app/setsupportversion", "access_token=tour-token&version=1.10.15")],
        "GetSupportVersion" => vec![get("/rest/2.0/smartapp/app/getsupportversion", "access_token=tour-token")],
        "ModifyDomain" => vec![
            post(
                "/rest/2.0/smartapp/app/modifydomain",
                "access_token=tour-token&action=set&download_domain=https%3A%2F%2Fdl.example.com&request_domain=https%3A%2F%2Fapi.example.com&socket_domain=wss%3A%2F%2Fws.example.com&upload_domain=https%3A%2F%2Fup.example.com",
            ),
            post("/rest/2.0/smartapp/app/modifydomain", "access_token=tour-token&action=get"),
        ],
        "ModifyWebviewDomain" => vec![post("/rest/2.0/smartapp/app/modifywebviewdomain", "access_token=tour-token&action=get")],
        "CheckName" => vec![get("/rest/2.0/smartapp/app/checkname", "access_token=tour-token&app_name=appName")],
        "OfflineUpdate" => vec![post(
            "/rest/2.0/smartapp/app/offline/update",
            "access_token=tour-token&app_name=%E8%81%8A%E8%81%8A%E8%81%8A%E6%B5%8B%E8%AF%95",
        )],
        "ApplyMobileAuth" => vec![post(
            "/rest/2.0/smartapp/app/apply/mobileauth",
            "access_token=tour-token&reason=1&used_scene=0&scene_desc=%E4%BB%A5%E8%B4%AD%E7%89%A9%E5%B0%8F%E7%A8%8B%E5%BA%8F%E4%B8%BA%E4%BE%8B%EF%BC%8C%E9%9C%80%E8%A6%81%E6%89%8B%E6%9C%BA%E5%8F%B7%E5%A1%AB%E5%86%99%E8%81%94%E7%B3%BB%E6%96%B9%E5%BC%8F%E3%80%82&scene_demo=https%3A%2F%2Fmbs1.bdstatic.com%2Fsearchbox%2Fmappconsole%2Fimage%2F20191224%2Fdemo.png",
        )],
        "CancelMobileAuth" => vec![post("/rest/2.0/smartapp/app/cancel/mobileauth", "access_token=tour-token")],
        "GetMobileAuthStatus" => vec![get("/rest/2.0/smartapp/app/get/mobileauthstatus", "access_token=tour-token")],
        other => panic!("no wire expectation for {other}"),
    }
}

/// The document's first example answer of a Baidu endpoint (it carries what the document
/// guarantees, which the decoder now requires).
fn document_example(endpoint: &str) -> String {
    let specs =
        miniapp_spec::load_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs"))
            .expect("specs load");
    specs
        .iter()
        .filter(|(_, s)| s.vendor.as_str() == "baidu")
        .flat_map(|(_, s)| &s.endpoints)
        .find(|e| e.name == endpoint)
        .and_then(|e| e.examples.iter().find_map(|x| x.response.clone()))
        .unwrap_or_else(|| panic!("no example answer for {endpoint}"))
}

/// The Baidu endpoints of `basic_info.toml` and `tp_auth.toml` (the package and template
/// endpoints are in `baidu_package.rs`).
fn endpoints_here() -> Vec<String> {
    let specs =
        miniapp_spec::load_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs"))
            .expect("specs load");
    specs
        .into_iter()
        .filter(|(_, s)| {
            s.vendor.as_str() == "baidu" && ["basic_info", "tp_auth"].contains(&s.module.as_str())
        })
        .flat_map(|(_, s)| s.endpoints.into_iter().map(|e| e.name))
        .collect()
}

#[tokio::test]
async fn all_baidu_endpoints_go_on_the_wire_as_chosen() {
    let server = MockServer::start(Reply::json(OK)).await;
    let clients = miniapp_tour::Clients::new(&server.base_url());
    let here = endpoints_here();
    assert_eq!(here.len(), 18 + 4);
    let calls: Vec<_> = miniapp_tour::calls()
        .into_iter()
        .filter(|c| c.vendor == "baidu" && here.iter().any(|n| n == c.endpoint))
        .collect();
    assert_eq!(calls.len(), 18 + 4);
    for call in calls {
        server.set_reply(if call.endpoint == "GetQrCode" {
            Reply {
                status: 200,
                content_type: "image/png".into(),
                body: vec![0x89, b'P', b'N', b'G'].into(),
            }
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
    }
}

async fn app(server: &MockServer) -> baidu_smartapp_api::AuthorizedApp {
    Client::with_base_url(server.base_url()).authorizer("45.TOKEN")
}

#[tokio::test]
async fn category_list_decodes_the_quirky_example() {
    let example = r#"{"errno":0,"msg":"success","data":[{"id":1,"category_name":"快递业与邮政","category_type":2,"sub_items":{
        "2":{"id":"2","category_name":"快递","category_type":2,"need_quali":1,"category_quali":"{\"desc\":\"请上传《快递业务经营许可证》\",\"list\":[[{\"id\":1,\"must\":1,\"name\":\"快递业务经营许可证\",\"desc\":\"\"}]]}"},
        "3":{"id":"3","category_name":"邮政","category_type":2,"need_quali":"0","category_quali":""}}}]}"#;
    let server = MockServer::start(Reply::json(example)).await;
    let list = app(&server)
        .await
        .get_category_list(&GetCategoryListRequest::new(CategoryType::Personal))
        .await
        .unwrap()
        .categories;
    assert_eq!(
        server.only().query.as_deref(),
        Some("access_token=45.TOKEN&category_type=1")
    );
    assert_eq!(list.len(), 1);
    assert_eq!((list[0].id, list[0].category_type), (Some(1), Some(2)));
    let subs = list[0].sub_items.as_ref().unwrap();
    let express = &subs["2"];
    assert_eq!((express.id, express.need_quali), (Some(2), Some(1)));
    let quali = express.category_quali.as_ref().unwrap();
    assert_eq!(quali.desc.as_deref(), Some("请上传《快递业务经营许可证》"));
    let item = &quali.list.as_ref().unwrap()[0][0];
    assert_eq!(
        (item.id, item.must, item.name.as_deref()),
        (Some(1), Some(1), Some("快递业务经营许可证"))
    );
    let post = &subs["3"];
    assert_eq!(
        (post.id, post.need_quali, post.category_quali.as_ref()),
        (Some(3), Some(0), None)
    );
}

#[tokio::test]
async fn domain_answers_are_split_into_lists() {
    let server = MockServer::start(Reply::json(
        r#"{"errno":0,"msg":"success","data":{"request_domain":"https://www.baidu.com,https://www.baidu.com","socket_domain":"wss://www.baidu.com,wss://www.baidu.com","download_domain":"wss://www.baidu.com,wss://www.baidu.com","upload_domain":"wss://www.baidu.com,wss://www.baidu.com"}}"#,
    ))
    .await;
    let app = app(&server).await;
    let mut get = ModifyDomainRequest::new();
    get.action = Some(DomainAction::Get);
    let now = app.modify_domain(&get).await.unwrap();
    assert_eq!(
        now.request_domain,
        Some(vec!["https://www.baidu.com".to_owned(); 2])
    );
    assert_eq!(
        now.socket_domain,
        Some(vec!["wss://www.baidu.com".to_owned(); 2])
    );

    server.set_reply(Reply::json(
        r#"{"errno":0,"msg":"success","data":"https://www.baidu.com,https://m.baidu.com"}"#,
    ));
    let mut get = ModifyWebviewDomainRequest::new();
    get.action = Some(DomainAction::Get);
    let web = app.modify_webview_domain(&get).await.unwrap();
    assert_eq!(
        web.web_view_domain,
        Some(vec![
            "https://www.baidu.com".to_owned(),
            "https://m.baidu.com".to_owned()
        ])
    );

    // Writes answer without `data`.
    server.set_reply(Reply::json(OK));
    let mut add = ModifyWebviewDomainRequest::new();
    add.action = Some(DomainAction::Add);
    add.web_view_domain = Some(vec!["https://www.baidu.com".into()]);
    assert_eq!(
        app.modify_webview_domain(&add)
            .await
            .unwrap()
            .web_view_domain,
        None
    );
    let seen = server.take();
    assert_eq!(
        seen.last().unwrap().body_text(),
        "access_token=45.TOKEN&action=add&web_view_domain=https%3A%2F%2Fwww.baidu.com"
    );
}

#[tokio::test]
async fn data_answers_decode() {
    let server = MockServer::start(Reply::json(
        r#"{"errno":0,"msg":"success","data":{"now_version":"2.5.15","items":[{"version":"1.10.15"},{"version":"1.10.17"}]}}"#,
    ))
    .await;
    let app = app(&server).await;
    let v = app
        .get_support_version(&GetSupportVersionRequest::new())
        .await
        .unwrap();
    assert_eq!(v.now_version, "2.5.15");
    assert_eq!(v.items.unwrap()[1].version.as_deref(), Some("1.10.17"));

    server.set_reply(Reply::json(
        r#"{"errno":0,"msg":"success","data":{"checkResult":0}}"#,
    ));
    let c = app
        .check_name(&CheckNameRequest::new("appName"))
        .await
        .unwrap();
    assert_eq!((c.check_result, c.check_words), (0, None));

    server.set_reply(Reply::json(
        r#"{"errno":0,"msg":"success","data":{"examine_id":123}}"#,
    ));
    assert_eq!(
        app.offline_update(&OfflineUpdateRequest::new())
            .await
            .unwrap()
            .examine_id,
        123
    );

    server.set_reply(Reply::json(
        r#"{"errno":0,"msg":"success","data":{"status":1,"reason":"原因"}}"#,
    ));
    let s = app
        .get_mobile_auth_status(&GetMobileAuthStatusRequest::new())
        .await
        .unwrap();
    assert_eq!((s.status, s.reason.as_deref()), (1, Some("原因")));

    server.set_reply(Reply::json(r#"{"errno":0,"msg":"success","data":{}}"#));
    app.cancel_mobile_auth(&CancelMobileAuthRequest::new())
        .await
        .unwrap();
}

#[tokio::test]
async fn qr_code_is_bytes_or_the_vendor_error() {
    let png: Vec<u8> = (0..=255u8).cycle().take(65536).collect();
    let server = MockServer::start(Reply {
        status: 200,
        content_type: "image/png".into(),
        body: png.clone().into(),
    })
    .await;
    let app = app(&server).await;
    let qr = app.get_qr_code(&GetQrCodeRequest::new()).await.unwrap();
    assert_eq!(
        (qr.content_type.as_str(), &qr.bytes[..]),
        ("image/png", &png[..])
    );
    assert_eq!(
        server.only().query.as_deref(),
        Some("access_token=45.TOKEN")
    );

    server.set_reply(Reply::json(
        r#"{"errno":470018,"msg":"width out of range"}"#,
    ));
    let err = app.get_qr_code(&GetQrCodeRequest::new()).await.unwrap_err();
    let v = err.vendor().unwrap();
    assert_eq!(
        (v.code, v.message.as_str(), v.documented),
        (
            470018,
            "width out of range",
            Some("二维码 width 字段超过指定范围")
        )
    );

    let wide = GetQrCodeRequest {
        width: Some(1281),
        ..Default::default()
    };
    let Err(Error::InvalidRequest(e)) = app.get_qr_code(&wide).await else {
        panic!()
    };
    assert_eq!(
        (e.field, e.rule.as_str()),
        ("width", "between 200 and 1280")
    );
    let narrow = GetQrCodeRequest {
        width: Some(199),
        ..Default::default()
    };
    assert!(matches!(
        app.get_qr_code(&narrow).await,
        Err(Error::InvalidRequest(_))
    ));
}

#[tokio::test]
async fn limits_are_checked_before_sending() {
    let server = MockServer::start(Reply::json(OK)).await;
    let app = app(&server).await;

    let too_long = ApplyFlowRecoveryRequest::new("审".repeat(101));
    let Err(Error::InvalidRequest(e)) = app.apply_flow_recovery(&too_long).await else {
        panic!()
    };
    assert_eq!(
        e.to_string(),
        "ApplyFlowRecovery.audit_desc: 1 to 100 characters; got 101 characters"
    );
    app.apply_flow_recovery(&ApplyFlowRecoveryRequest::new("审".repeat(100)))
        .await
        .unwrap();
    let Err(Error::InvalidRequest(e)) = app
        .apply_flow_recovery(&ApplyFlowRecoveryRequest::new(""))
        .await
    else {
        panic!()
    };
    assert_eq!(e.field, "audit_desc");

    let six = UpdateCategoryRequest::new(
        (0..6)
            .map(|i| CategoryUpdate {
                sub_category_id: i,
                qualis: None,
            })
            .collect(),
    );
    let Err(Error::InvalidRequest(e)) = app.update_category(&six).await else {
        panic!()
    };
    assert_eq!(
        (e.field, e.rule.as_str()),
        ("categories", "at most 5 items")
    );

    let mut http = ModifyDomainRequest::new();
    http.action = Some(DomainAction::Add);
    http.request_domain = Some(vec!["http://insecure.example.com".into()]);
    let Err(Error::InvalidRequest(e)) = app.modify_domain(&http).await else {
        panic!()
    };
    assert_eq!(e.field, "request_domain");
    // A domain is an origin: a path, a query or user info is refused before sending.
    for not_a_domain in [
        "https://x/path?q",
        "https://x/",
        "wss://x?q=1",
        "https://user@x",
        "https://x:port",
    ] {
        let mut path = ModifyDomainRequest::new();
        path.action = Some(DomainAction::Add);
        path.socket_domain = Some(vec!["wss://ok.example.com".into(), not_a_domain.into()]);
        let Err(Error::InvalidRequest(e)) = app.modify_domain(&path).await else {
            panic!("{not_a_domain} was accepted")
        };
        assert_eq!(e.field, "socket_domain");
        assert!(e.rule.contains("no path or query"), "{e}");
        assert_eq!(e.given, format!("{not_a_domain:?}"));
    }

    let scene = ApplyMobileAuthRequest::new(
        MobileAuthReason::Other,
        MobileAuthUsedScene::Reservation,
        "描".repeat(501),
        "https://x/demo.png",
    );
    let Err(Error::InvalidRequest(e)) = app.apply_mobile_auth(&scene).await else {
        panic!()
    };
    assert_eq!(e.field, "scene_desc");

    // add/delete/set need at least one domain; get and "no action" (add the platform's) do not.
    let mut empty_set = ModifyDomainRequest::new();
    empty_set.action = Some(DomainAction::Set);
    let Err(Error::InvalidRequest(e)) = app.modify_domain(&empty_set).await else {
        panic!()
    };
    assert_eq!(
        (e.field, e.given.as_str()),
        ("download_domain", "none of them")
    );
    empty_set.upload_domain = Some(vec![]);
    assert!(
        app.modify_domain(&empty_set).await.is_err(),
        "an empty list is no domain"
    );
    let mut web = ModifyWebviewDomainRequest::new();
    web.action = Some(DomainAction::Delete);
    assert!(matches!(
        app.modify_webview_domain(&web).await,
        Err(Error::InvalidRequest(_))
    ));

    // Only the one valid request reached the server.
    assert_eq!(server.take().len(), 1);
}

#[tokio::test]
async fn gateway_and_oauth_errors_are_vendor_errors() {
    let server = MockServer::start(Reply::json(
        r#"{"error_code":111,"error_msg":"Access token expired"}"#,
    ))
    .await;
    let app = app(&server).await;
    let err = app
        .pause_service(&PauseServiceRequest::new())
        .await
        .unwrap_err();
    let v = err.vendor().unwrap();
    assert_eq!((v.code, v.message.as_str()), (111, "Access token expired"));

    server.set_reply(Reply::json(r#"{"errno":47005,"msg":"limit"}"#));
    let err = app
        .modify_head_image(&ModifyHeadImageRequest::new("https://x/icon.png"))
        .await
        .unwrap_err();
    assert_eq!(
        err.vendor().unwrap().documented,
        Some("修改头像超过限制次数")
    );
    assert_eq!(
        err.to_string(),
        "baidu ModifyHeadImage failed with code 47005: limit (documented: 修改头像超过限制次数)"
    );
}

/// A token with bytes that form encoding changes is percent-encoded in the query (reads) and
/// in the form body (writes); a plain one goes as it is (the secret checks its text once).
#[tokio::test]
async fn tokens_with_reserved_bytes_are_percent_encoded_in_query_and_form() {
    let server = MockServer::start(Reply::json(r#"{"errno":0,"msg":"success","data":[]}"#)).await;
    let app = Client::with_base_url(server.base_url()).authorizer("45.a+b/c=d e");
    app.get_category_list(&GetCategoryListRequest::new(CategoryType::Personal))
        .await
        .unwrap();
    assert_eq!(
        server.only().query.as_deref(),
        Some("access_token=45.a%2Bb%2Fc%3Dd+e&category_type=1")
    );

    let server = MockServer::start(Reply::json(r#"{"errno":0,"msg":"success","data":{}}"#)).await;
    let app = Client::with_base_url(server.base_url()).authorizer("45.a+b/c=d e");
    let mut set = ModifyDomainRequest::new();
    set.action = Some(DomainAction::Set);
    set.download_domain = Some(vec!["https://dl.example.com".into()]);
    app.modify_domain(&set).await.unwrap();
    assert_eq!(
        server.only().body_text(),
        "access_token=45.a%2Bb%2Fc%3Dd+e&action=set&download_domain=https%3A%2F%2Fdl.example.com"
    );
}
