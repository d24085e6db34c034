//! Token endpoints and token mode, end to end with raw HTTP requests.

use std::time::{Duration, Instant};

use miniapp_sandbox::{Sandbox, SandboxOptions};
use miniapp_spec::{BodyKind, Location, Method};
use serde_json::{json, Value};

const WX_COMPONENT_TOKEN: &str = "/cgi-bin/component/api_component_token";
const WX_QUERY_AUTH: &str = "/cgi-bin/component/api_query_auth";
const WX_AUTHORIZER_TOKEN: &str = "/cgi-bin/component/api_authorizer_token";
const WX_JUMP: &str = "/cgi-bin/component/modify_wxa_jump_domain";
const BD_TP_TOKEN: &str = "/public/2.0/smartapp/auth/tp/token";
const BD_OAUTH: &str = "/rest/2.0/oauth/token";
const BD_PREAUTH: &str = "/rest/2.0/smartapp/tp/createpreauthcode";
const BD_SIGNATURE: &str = "/rest/2.0/smartapp/app/modifysignature";
const KS_COMPONENT_TOKEN: &str = "/mp/tp/oauth/access_token";
const KS_AUTHORIZER_TOKEN: &str = "/mp/tp/oauth/authorizer_access_token";
const KS_INFO: &str = "/openapi/mp/auth/app/info";

/// A short token lifetime (`expires_in` answers 1), with room for the calls made before expiry.
const SHORT: Duration = Duration::from_millis(600);

/// A raw client around one sandbox.
struct Client {
    sandbox: Sandbox,
    http: reqwest::Client,
}

impl Client {
    async fn start(options: SandboxOptions) -> Client {
        Client {
            sandbox: Sandbox::start_with(options).await.expect("sandbox starts"),
            http: reqwest::Client::new(),
        }
    }

    /// Token mode with `lifetime`.
    async fn enforcing(lifetime: Duration) -> Client {
        Client::start(SandboxOptions {
            enforce_tokens: true,
            token_lifetime: lifetime,
            ..SandboxOptions::default()
        })
        .await
    }

    fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.sandbox.base_url())
    }

    async fn get(&self, path_and_query: &str) -> (u16, Value) {
        let resp = self
            .http
            .get(self.url(path_and_query))
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    async fn post_json(&self, path_and_query: &str, body: Value) -> Value {
        self.http
            .post(self.url(path_and_query))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Value {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        self.http
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    fn last_accepted(&self) -> bool {
        self.sandbox.requests().pop().expect("a request").accepted
    }

    // WeChat

    async fn wx_component_token(&self) -> Value {
        self.post_json(
            WX_COMPONENT_TOKEN,
            json!({
                "component_appid": "wx_COMPONENT",
                "component_appsecret": "secret",
                "component_verify_ticket": "ticket@@@x",
            }),
        )
        .await
    }

    async fn wx_query_auth(&self, ctoken: &str) -> Value {
        self.post_json(
            &format!("{WX_QUERY_AUTH}?component_access_token={ctoken}"),
            json!({ "component_appid": "wx_COMPONENT", "authorization_code": "code@@@1" }),
        )
        .await
    }

    async fn wx_refresh(&self, ctoken: &str, refresh: &str) -> Value {
        self.post_json(
            &format!("{WX_AUTHORIZER_TOKEN}?component_access_token={ctoken}"),
            json!({
                "component_appid": "wx_COMPONENT",
                "authorizer_appid": "wxAPP",
                "authorizer_refresh_token": refresh,
            }),
        )
        .await
    }

    async fn wx_jump_get(&self, ctoken: &str) -> Value {
        self.post_json(
            &format!("{WX_JUMP}?access_token={ctoken}"),
            json!({ "action": "get" }),
        )
        .await
    }

    // Baidu

    async fn bd_tp_token(&self) -> Value {
        self.get(&format!("{BD_TP_TOKEN}?client_id=TP_KEY&ticket=TICKET"))
            .await
            .1
    }

    async fn bd_code(&self, tp: &str) -> (u16, Value) {
        self.get(&format!(
            "{BD_OAUTH}?access_token={tp}&grant_type=app_to_tp_authorization_code&code=CODE"
        ))
        .await
    }

    async fn bd_refresh(&self, tp: &str, refresh: &str) -> (u16, Value) {
        self.get(&format!(
            "{BD_OAUTH}?access_token={tp}&grant_type=app_to_tp_refresh_token&refresh_token={refresh}"
        ))
        .await
    }

    async fn bd_signature(&self, token: &str) -> Value {
        self.post_form(
            BD_SIGNATURE,
            &[("access_token", token), ("signature", "描述")],
        )
        .await
    }

    // Kuaishou

    async fn ks_component_token(&self) -> Value {
        self.get(&format!(
            "{KS_COMPONENT_TOKEN}?component_app_id=ks1&component_app_secret=s&component_verify_ticket=t"
        ))
        .await
        .1
    }

    async fn ks_authorizer_token(&self, ctoken: &str) -> Value {
        self.get(&format!(
            "{KS_AUTHORIZER_TOKEN}?component_app_id=ks1&component_access_token={ctoken}&authorization_code=AC"
        ))
        .await
        .1
    }

    async fn ks_info(&self, atoken: &str) -> Value {
        self.get(&format!(
            "{KS_INFO}?component_app_id=ks1&authorizer_access_token={atoken}"
        ))
        .await
        .1
    }
}

fn text(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_owned()
}

#[tokio::test]
async fn every_auth_endpoint_accepts_its_example_request() {
    let c = Client::start(SandboxOptions::default()).await;
    let mut served = 0;
    for spec in miniapp_sandbox::specs() {
        if !["component_auth", "tp_auth", "oauth"].contains(&spec.module.as_str()) {
            continue;
        }
        for ep in &spec.endpoints {
            for ex in &ep.examples {
                let request = ex.request.clone().unwrap_or_default();
                let in_request = |name: &str| {
                    form_urlencoded::parse(request.as_bytes()).any(|(k, _)| k == name)
                        || request.contains(&format!("\"{name}\""))
                };
                let mut query = Vec::new();
                let mut body = if ep.body == BodyKind::None {
                    query.push(request.clone());
                    String::new()
                } else {
                    request.clone()
                };
                for cred in ep.credentials.iter().filter(|c| !in_request(&c.name)) {
                    match cred.location {
                        Location::Form => body = format!("{}=x&{body}", cred.name),
                        _ => query.push(format!("{}=x", cred.name)),
                    }
                }
                query.retain(|q| !q.is_empty());
                let url = c.url(&format!("{}?{}", ep.path, query.join("&")));
                let builder = match ep.method {
                    Method::Get => c.http.get(url),
                    Method::Post => c.http.post(url),
                };
                let builder = match ep.body {
                    BodyKind::None => builder,
                    BodyKind::Json => builder.header("content-type", "application/json"),
                    BodyKind::Form => {
                        builder.header("content-type", "application/x-www-form-urlencoded")
                    }
                };
                let resp = builder.body(body).send().await.unwrap();
                assert_eq!(resp.status(), 200, "{}", ep.name);
                let answer: Value = resp.json().await.unwrap();
                let rec = c.sandbox.requests().pop().unwrap();
                assert_eq!(rec.endpoint.as_deref(), Some(ep.name.as_str()));
                assert!(rec.accepted, "{} {}: {answer}", ep.name, ex.description);
                let expected: Value =
                    serde_json::from_str(ex.response.as_deref().unwrap()).unwrap();
                assert_eq!(answer, expected, "{}", ep.name);
                served += 1;
            }
        }
    }
    assert!(served >= 14, "{served}");
}

#[tokio::test]
async fn plain_mode_keeps_example_tokens_and_accepts_any_token() {
    let c = Client::start(SandboxOptions::default()).await;
    let answer = c.wx_component_token().await;
    assert_eq!(answer["component_access_token"], "61_COMPONENT_TOKEN");
    assert_eq!(answer["expires_in"], 7200);
    assert_eq!(c.wx_jump_get("anything").await["errcode"], 0);
    assert_eq!(
        c.wx_refresh("x", "never-issued").await["errcode"],
        Value::Null
    );

    let (status, answer) = c.bd_code("42.whatever").await;
    assert_eq!(status, 200);
    assert_eq!(
        answer,
        json!({ "access_token": "45.xxx", "refresh_token": "46.yyy", "expires_in": 3600 })
    );
    assert_eq!(c.bd_signature("45.anything").await["errno"], 0);
    assert_eq!(c.ks_info("tok").await["result"], 1);

    assert_eq!(c.sandbox.issued("GetComponentAccessToken"), 1);
    assert_eq!(c.sandbox.issued("GetAuthorizerToken"), 1);
    assert_eq!(c.sandbox.issued("GetOAuthToken"), 1);
    assert_eq!(c.sandbox.issued("baidu/GetOAuthToken"), 1);
    assert_eq!(c.sandbox.issued("GetTpToken"), 0);
    assert!(c.sandbox.requests().iter().all(|r| r.accepted));
}

#[tokio::test]
async fn wechat_tokens_are_issued_checked_and_expire() {
    let c = Client::enforcing(SHORT).await;
    let answer = c.wx_component_token().await;
    let ctoken = text(&answer["component_access_token"]);
    assert!(ctoken.starts_with("wx-ctoken-"), "{answer}");
    assert_eq!(answer["expires_in"], 1);
    assert_ne!(
        text(&c.wx_component_token().await["component_access_token"]),
        ctoken
    );

    assert_eq!(c.wx_jump_get(&ctoken).await["errcode"], 0);
    assert!(c.last_accepted());
    assert_eq!(
        wechat_error(c.wx_jump_get("61_COMPONENT_TOKEN").await),
        json!({ "errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest" })
    );
    assert!(!c.last_accepted());

    // Code exchange, then refresh: the refresh token stays valid (WeChat).
    let auth = c.wx_query_auth(&ctoken).await;
    let info = &auth["authorization_info"];
    let atoken = text(&info["authorizer_access_token"]);
    let refresh = text(&info["authorizer_refresh_token"]);
    assert!(atoken.starts_with("wx-atoken-"), "{auth}");
    assert!(refresh.starts_with("wx-rtoken-"), "{auth}");
    assert_eq!(info["expires_in"], 1);
    assert_eq!(info["authorizer_appid"], "wxf8b4f85f3a794e77");
    assert_eq!(info["func_info"][0]["funcscope_category"]["id"], 17);
    for _ in 0..2 {
        let answer = c.wx_refresh(&ctoken, &refresh).await;
        assert!(text(&answer["authorizer_access_token"]).starts_with("wx-atoken-"));
        assert_ne!(text(&answer["authorizer_refresh_token"]), refresh);
        assert_eq!(answer["expires_in"], 1);
    }
    // An authorizer token is not a component token.
    assert_eq!(c.wx_jump_get(&atoken).await["errcode"], 40001);
    assert_eq!(
        wechat_error(
            c.wx_refresh(&ctoken, "refreshtoken@@@AUTHORIZER_REFRESH")
                .await
        ),
        json!({ "errcode": 61023, "errmsg": "refresh_token is invalid" })
    );
    assert!(!c.last_accepted());
    assert_eq!(c.sandbox.issued("GetComponentAccessToken"), 2);
    assert_eq!(c.sandbox.issued("wechat/GetComponentAccessToken"), 2);
    assert_eq!(c.sandbox.issued("QueryAuth"), 1);
    assert_eq!(c.sandbox.issued("GetAuthorizerToken"), 2);

    tokio::time::sleep(SHORT + Duration::from_millis(100)).await;
    assert_eq!(
        wechat_error(c.wx_jump_get(&ctoken).await),
        json!({ "errcode": 42001, "errmsg": "access_token expired" })
    );
    assert!(!c.last_accepted());
    assert_eq!(c.wx_query_auth(&ctoken).await["errcode"], 42001);
    let fresh = text(&c.wx_component_token().await["component_access_token"]);
    assert_eq!(c.wx_jump_get(&fresh).await["errcode"], 0);
}

#[tokio::test]
async fn baidu_tokens_are_issued_checked_and_expire() {
    let c = Client::enforcing(SHORT).await;
    let answer = c.bd_tp_token().await;
    assert_eq!(answer["errno"], 0, "{answer}");
    let tp = text(&answer["data"]["access_token"]);
    assert!(tp.starts_with("42."), "{answer}");
    assert_eq!(answer["data"]["expires_in"], 1);
    assert_eq!(answer["data"]["scope"], "...");
    assert_eq!(
        c.get(&format!("{BD_PREAUTH}?access_token={tp}")).await.1["errno"],
        0
    );

    let (status, answer) = c.bd_code(&tp).await;
    assert_eq!(status, 200);
    let token = text(&answer["access_token"]);
    let refresh = text(&answer["refresh_token"]);
    assert!(token.starts_with("45."), "{answer}");
    assert!(refresh.starts_with("46."), "{answer}");
    assert_eq!(answer["expires_in"], 1);
    assert_eq!(c.bd_signature(&token).await["errno"], 0);
    assert!(c.last_accepted());

    // A TP token is not a mini-program token, and vice versa.
    let invalid =
        json!({ "error_code": 110, "error_msg": "Access token invalid or no longer valid" });
    assert_eq!(c.bd_signature(&tp).await, invalid);
    assert!(!c.last_accepted());
    assert_eq!(
        c.get(&format!("{BD_PREAUTH}?access_token={token}")).await.1,
        invalid
    );
    assert_eq!(c.bd_code("42.forged").await, (200, invalid.clone()));

    // Grants need their own parameter.
    let (status, answer) = c
        .get(&format!(
            "{BD_OAUTH}?access_token={tp}&grant_type=app_to_tp_authorization_code"
        ))
        .await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"], "invalid_request", "{answer}");
    let (status, answer) = c
        .get(&format!(
            "{BD_OAUTH}?access_token={tp}&grant_type=app_to_tp_refresh_token"
        ))
        .await;
    assert_eq!((status, &answer["error"]), (400, &json!("invalid_grant")));

    tokio::time::sleep(SHORT + Duration::from_millis(100)).await;
    let expired = json!({ "error_code": 111, "error_msg": "Access token expired" });
    assert_eq!(c.bd_signature(&token).await, expired);
    assert!(!c.last_accepted());
    assert_eq!(c.bd_refresh(&tp, &refresh).await, (200, expired));
    // The refresh token survived the refused call.
    let tp = text(&c.bd_tp_token().await["data"]["access_token"]);
    let (status, answer) = c.bd_refresh(&tp, &refresh).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        c.bd_signature(&text(&answer["access_token"])).await["errno"],
        0
    );
    assert_eq!(c.sandbox.issued("GetTpToken"), 2);
    assert_eq!(c.sandbox.issued("GetOAuthToken"), 2);
}

#[tokio::test]
async fn baidu_refresh_tokens_are_single_use() {
    let c = Client::enforcing(Duration::from_secs(60)).await;
    let tp = text(&c.bd_tp_token().await["data"]["access_token"]);
    let first = c.bd_code(&tp).await.1;
    let refresh = text(&first["refresh_token"]);

    let (status, second) = c.bd_refresh(&tp, &refresh).await;
    assert_eq!(status, 200, "{second}");
    let next_refresh = text(&second["refresh_token"]);
    assert!(next_refresh.starts_with("46.") && next_refresh != refresh);
    assert_ne!(second["access_token"], first["access_token"]);

    let (status, again) = c.bd_refresh(&tp, &refresh).await;
    assert_eq!(status, 400);
    assert_eq!(
        again,
        json!({ "error": "invalid_grant", "error_description": "refresh token invalid or already used" })
    );
    assert!(!c.last_accepted());
    assert_eq!(c.bd_refresh(&tp, "46.forged").await.0, 400);
    assert_eq!(c.bd_refresh(&tp, &next_refresh).await.0, 200);
    // Refreshing does not revoke the earlier access token.
    assert_eq!(
        c.bd_signature(&text(&first["access_token"])).await["errno"],
        0
    );
    assert_eq!(c.sandbox.issued("GetOAuthToken"), 3);
}

#[tokio::test]
async fn concurrent_refreshes_with_one_single_use_token_issue_once() {
    let c = Client::start(SandboxOptions {
        enforce_tokens: true,
        token_delay: Duration::from_millis(200),
        ..SandboxOptions::default()
    })
    .await;
    let tp = text(&c.bd_tp_token().await["data"]["access_token"]);
    let refresh = text(&c.bd_code(&tp).await.1["refresh_token"]);
    let started = Instant::now();
    let (a, b) = tokio::join!(c.bd_refresh(&tp, &refresh), c.bd_refresh(&tp, &refresh));
    assert!(started.elapsed() >= Duration::from_millis(200));
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [200, 400], "{a:?} {b:?}");
    assert_eq!(c.sandbox.issued("GetOAuthToken"), 2);
}

#[tokio::test]
async fn kuaishou_tokens_are_issued_checked_and_expire() {
    let c = Client::enforcing(SHORT).await;
    let answer = c.ks_component_token().await;
    assert_eq!(answer["result"], 1, "{answer}");
    assert_eq!(answer["errorMsg"], "success");
    let ctoken = text(&answer["componentAccessToken"]);
    assert!(ctoken.starts_with("ks-ctoken-"), "{answer}");
    assert_eq!(answer["expiresIn"], 1);

    let answer = c.ks_authorizer_token(&ctoken).await;
    let atoken = text(&answer["authorizerAccessToken"]);
    assert!(atoken.starts_with("ks-atoken-"), "{answer}");
    assert!(text(&answer["authorizerRefreshToken"]).starts_with("ks-rtoken-"));
    assert_eq!(answer["expiresIn"], 1);
    assert_eq!(answer["refreshExpiresIn"], 2592000);
    assert_eq!(c.ks_info(&atoken).await["result"], 1);
    assert!(c.last_accepted());

    let invalid = json!({ "result": 100200102, "error_msg": "invalid token" });
    assert_eq!(c.ks_info(&ctoken).await, invalid);
    assert!(!c.last_accepted());
    assert_eq!(c.ks_authorizer_token(&atoken).await, invalid);
    assert_eq!(c.ks_info("AUTHORIZER_ACCESS_TOKEN").await, invalid);

    tokio::time::sleep(SHORT + Duration::from_millis(100)).await;
    let expired = json!({ "result": 100200108, "error_msg": "access_token expired" });
    assert_eq!(c.ks_info(&atoken).await, expired);
    assert_eq!(c.ks_authorizer_token(&ctoken).await, expired);
    assert_eq!(c.sandbox.issued("kuaishou/GetComponentAccessToken"), 1);
    assert_eq!(c.sandbox.issued("wechat/GetComponentAccessToken"), 0);
    assert_eq!(c.sandbox.issued("GetAuthorizerAccessToken"), 1);
}

#[tokio::test]
async fn tokens_are_not_shared_across_vendors() {
    let c = Client::enforcing(Duration::from_secs(60)).await;
    let wx = text(&c.wx_component_token().await["component_access_token"]);
    let ks = text(&c.ks_component_token().await["componentAccessToken"]);
    assert_eq!(c.wx_jump_get(&ks).await["errcode"], 40001);
    assert_eq!(c.ks_authorizer_token(&wx).await["result"], 100200102);
    assert_eq!(c.ks_authorizer_token(&ks).await["result"], 1);
}

#[tokio::test]
async fn revoked_tokens_are_invalid_and_refresh_tokens_survive() {
    let c = Client::enforcing(Duration::from_secs(60)).await;
    let one = text(&c.wx_component_token().await["component_access_token"]);
    let two = text(&c.wx_component_token().await["component_access_token"]);
    c.sandbox.revoke(&one);
    assert_eq!(c.wx_jump_get(&one).await["errcode"], 40001);
    assert_eq!(c.wx_jump_get(&two).await["errcode"], 0);
    c.sandbox.revoke("never-issued");

    let refresh =
        text(&c.wx_query_auth(&two).await["authorization_info"]["authorizer_refresh_token"]);
    let tp = text(&c.bd_tp_token().await["data"]["access_token"]);
    let bd = c.bd_code(&tp).await.1;
    let ks = text(&c.ks_component_token().await["componentAccessToken"]);

    c.sandbox.revoke_access_tokens();
    assert_eq!(c.wx_jump_get(&two).await["errcode"], 40001);
    assert_eq!(
        c.bd_signature(&text(&bd["access_token"])).await["error_code"],
        110
    );
    assert_eq!(c.ks_authorizer_token(&ks).await["result"], 100200102);

    // Refresh tokens stay valid; tokens issued after the revocation work.
    let three = text(&c.wx_component_token().await["component_access_token"]);
    let answer = c.wx_refresh(&three, &refresh).await;
    assert!(answer["authorizer_access_token"].is_string(), "{answer}");
    let tp = text(&c.bd_tp_token().await["data"]["access_token"]);
    let (status, answer) = c.bd_refresh(&tp, &text(&bd["refresh_token"])).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        c.bd_signature(&text(&answer["access_token"])).await["errno"],
        0
    );
}

#[tokio::test]
async fn failing_token_endpoints_answer_the_vendor_error_and_issue_nothing() {
    let c = Client::enforcing(Duration::from_secs(60)).await;
    c.sandbox
        .fail_token_endpoint("GetComponentAccessToken", Some(61005));
    assert_eq!(
        wechat_error(c.wx_component_token().await),
        json!({ "errcode": 61005, "errmsg": "ticket expired" })
    );
    assert_eq!(
        c.ks_component_token().await,
        json!({ "result": 61005, "error_msg": "sandbox error" })
    );
    assert_eq!(c.sandbox.issued("GetComponentAccessToken"), 0);
    c.sandbox
        .fail_token_endpoint("GetComponentAccessToken", None);
    let ctoken = text(&c.wx_component_token().await["component_access_token"]);
    assert_eq!(c.sandbox.issued("GetComponentAccessToken"), 1);

    c.sandbox
        .fail_token_endpoint("wechat/QueryAuth", Some(61010));
    assert_eq!(c.wx_query_auth(&ctoken).await["errcode"], 61010);
    c.sandbox.fail_token_endpoint("wechat/QueryAuth", None);
    assert!(c.wx_query_auth(&ctoken).await["authorization_info"].is_object());

    let tp = text(&c.bd_tp_token().await["data"]["access_token"]);
    c.sandbox.fail_token_endpoint("GetOAuthToken", Some(44003));
    let (status, answer) = c.bd_code(&tp).await;
    assert_eq!(status, 200);
    assert_eq!(
        answer,
        json!({ "error_code": 44003, "error_msg": "sandbox error" })
    );
    assert_eq!(c.sandbox.issued("GetOAuthToken"), 0);

    c.sandbox.fail_token_endpoint("GetTpToken", Some(50003));
    assert_eq!(
        c.bd_tp_token().await,
        json!({ "errno": 50003, "msg": "ticket invalid" })
    );
    assert_eq!(c.sandbox.issued("GetTpToken"), 1);
}

#[tokio::test]
async fn fail_token_endpoint_works_without_enforcement() {
    let c = Client::start(SandboxOptions::default()).await;
    c.sandbox.fail_token_endpoint("GetTpToken", Some(50001));
    assert_eq!(c.bd_tp_token().await["errno"], 50001);
    assert_eq!(c.sandbox.issued("GetTpToken"), 0);
}

#[tokio::test]
async fn token_delay_applies_to_token_endpoints_only() {
    let c = Client::start(SandboxOptions {
        token_delay: Duration::from_millis(250),
        ..SandboxOptions::default()
    })
    .await;
    let started = Instant::now();
    c.wx_component_token().await;
    assert!(started.elapsed() >= Duration::from_millis(250));
    let started = Instant::now();
    c.wx_jump_get("t").await;
    assert!(started.elapsed() < Duration::from_millis(250));
}

#[tokio::test]
async fn enforced_secrets_must_not_be_empty() {
    let c = Client::enforcing(Duration::from_secs(60)).await;
    let answer = c
        .post_json(
            WX_COMPONENT_TOKEN,
            json!({
                "component_appid": "wx",
                "component_appsecret": "",
                "component_verify_ticket": "t",
            }),
        )
        .await;
    assert_eq!(answer["errcode"], 40097, "{answer}");
    assert!(text(&answer["errmsg"]).contains("component_appsecret"));
    assert_eq!(c.sandbox.issued("GetComponentAccessToken"), 0);
}

#[tokio::test]
async fn bare_json_endpoint_errors_have_no_envelope() {
    let c = Client::start(SandboxOptions::default()).await;
    let (status, answer) = c
        .get(&format!("{BD_OAUTH}?access_token=42.x&grant_type=bogus"))
        .await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"], "invalid_request", "{answer}");
    assert!(text(&answer["error_description"]).contains("grant_type"));

    let (status, answer) = c
        .get(&format!("{BD_OAUTH}?grant_type=app_to_tp_refresh_token"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(answer["error_code"], 110, "{answer}");

    let answer: Value = c
        .http
        .get(c.url(&format!(
            "{BD_OAUTH}?access_token=42.x&grant_type=app_to_tp_authorization_code&code=c"
        )))
        .header("x-sandbox-error", "44002")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        answer,
        json!({ "error_code": 44002, "error_msg": "sandbox error" })
    );
}

/// A WeChat error answer without the request id the sandbox ends its message with, as WeChat
/// does (`… rid: 6899a148-5929c88a-767d57ca`); fails when there is none.
fn wechat_error(mut answer: serde_json::Value) -> serde_json::Value {
    let id = miniapp_sandbox::take_request_id(core_http::Vendor::Wechat, &mut answer);
    assert!(id.is_some_and(|id| id.len() == 26), "no rid in {answer}");
    answer
}
