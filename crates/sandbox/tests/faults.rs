//! Fault injection, observed from the client side with reqwest.

use std::time::{Duration, Instant};

use miniapp_sandbox::{Fault, Sandbox, SandboxOptions};
use serde_json::{json, Value};

const WX_JUMP: &str = "/cgi-bin/component/modify_wxa_jump_domain?access_token=ctok";
const WX_COMPONENT_TOKEN: &str = "/cgi-bin/component/api_component_token";
const BD_CATEGORIES: &str =
    "/rest/2.0/smartapp/app/category/list?access_token=45.x&category_type=2";
const KS_INFO: &str =
    "/openapi/mp/auth/app/info?component_app_id=ks123&authorizer_access_token=tok";
const KS_COMPONENT_TOKEN: &str =
    "/mp/tp/oauth/access_token?component_app_id=ks1&component_app_secret=s&component_verify_ticket=t";

/// Every request of these tests gives up after this long, so no test can hang.
const LIMIT: Duration = Duration::from_secs(5);

/// A raw client around one sandbox.
struct Client {
    sandbox: Sandbox,
    http: reqwest::Client,
}

/// One of the three vendors' cheap endpoints.
#[derive(Debug, Clone, Copy)]
enum Call {
    /// WeChat `ModifyWxaJumpDomain` (POST JSON).
    Wechat,
    /// Baidu `GetCategoryList` (GET).
    Baidu,
    /// Kuaishou `GetAppInfo` (GET).
    Kuaishou,
}

impl Call {
    const ALL: [Call; 3] = [Call::Wechat, Call::Baidu, Call::Kuaishou];

    fn name(self) -> &'static str {
        match self {
            Call::Wechat => "ModifyWxaJumpDomain",
            Call::Baidu => "GetCategoryList",
            Call::Kuaishou => "GetAppInfo",
        }
    }
}

impl Client {
    async fn start() -> Client {
        Client::with(SandboxOptions::default()).await
    }

    async fn with(options: SandboxOptions) -> Client {
        Client {
            sandbox: Sandbox::start_with(options).await.expect("sandbox starts"),
            http: reqwest::Client::builder()
                .timeout(LIMIT)
                .build()
                .expect("client builds"),
        }
    }

    fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.sandbox.base_url())
    }

    fn request(&self, call: Call) -> reqwest::RequestBuilder {
        match call {
            Call::Wechat => self
                .http
                .post(self.url(WX_JUMP))
                .json(&json!({ "action": "get" })),
            Call::Baidu => self.http.get(self.url(BD_CATEGORIES)),
            Call::Kuaishou => self.http.get(self.url(KS_INFO)),
        }
    }

    async fn send(&self, call: Call) -> Result<reqwest::Response, reqwest::Error> {
        self.request(call).send().await
    }

    /// Status, content type and body of a call that must get a complete answer.
    async fn answer(&self, call: Call) -> (u16, String, bytes::Bytes) {
        let resp = self.send(call).await.expect("an answer");
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (
            status,
            content_type,
            resp.bytes().await.expect("a whole body"),
        )
    }

    async fn json(&self, call: Call) -> Value {
        let (status, _, body) = self.answer(call).await;
        assert_eq!(status, 200);
        serde_json::from_slice(&body).expect("a JSON body")
    }

    /// The normal (successful) answer of `call` has this success code.
    async fn assert_normal(&self, call: Call) {
        let answer = self.json(call).await;
        match call {
            Call::Wechat => assert_eq!(answer["errcode"], 0, "{answer}"),
            Call::Baidu => assert_eq!(answer["errno"], 0, "{answer}"),
            Call::Kuaishou => assert_eq!(answer["result"], 1, "{answer}"),
        }
    }

    fn last_accepted(&self) -> bool {
        self.sandbox
            .requests()
            .pop()
            .expect("a recorded request")
            .accepted
    }
}

#[tokio::test]
async fn status_fault_answers_the_status_then_stops() {
    let c = Client::start().await;
    c.sandbox.inject("GetAppInfo", Fault::Status(503), Some(1));
    let (status, content_type, body) = c.answer(Call::Kuaishou).await;
    assert_eq!(status, 503);
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    assert_eq!(&body[..], b"503 Service Unavailable (sandbox fault)\n");
    assert!(c.last_accepted(), "the request itself passed the checks");
    c.assert_normal(Call::Kuaishou).await;

    // A refused request is recorded as refused, and the fault still answers.
    c.sandbox.inject("GetAppInfo", Fault::Status(502), None);
    let resp = c
        .http
        .get(c.url("/openapi/mp/auth/app/info?component_app_id=ks123"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 502);
    let rec = c.sandbox.requests().pop().unwrap();
    assert_eq!(rec.endpoint.as_deref(), Some("GetAppInfo"));
    assert!(!rec.accepted);

    // Codes that are no final HTTP status answer 500.
    c.sandbox.clear_faults();
    c.sandbox.inject("GetAppInfo", Fault::Status(42), Some(1));
    assert_eq!(c.answer(Call::Kuaishou).await.0, 500);
}

#[tokio::test]
async fn busy_answers_each_vendors_system_busy_envelope() {
    let c = Client::start().await;
    for call in Call::ALL {
        c.sandbox.inject(call.name(), Fault::Busy, Some(1));
    }
    // WeChat's documented busy code, with HTTP 200.
    assert_eq!(
        wechat_error(c.json(Call::Wechat).await),
        json!({ "errcode": -1, "errmsg": "system error" })
    );
    // Baidu and Kuaishou document no busy code: HTTP 503 with -1 in their envelope, so the
    // client (which reads the same vendor.toml) sees a transient failure, not a vendor error.
    for (call, want) in [
        (Call::Baidu, json!({ "errno": -1, "msg": "system busy" })),
        (
            Call::Kuaishou,
            json!({ "result": -1, "error_msg": "system busy" }),
        ),
    ] {
        let (status, _, body) = c.answer(call).await;
        assert_eq!(status, 503);
        assert_eq!(serde_json::from_slice::<Value>(&body).unwrap(), want);
    }
    for call in Call::ALL {
        c.assert_normal(call).await;
    }
}

#[tokio::test]
async fn expired_token_answers_each_vendors_token_mode_body() {
    let c = Client::start().await;
    for call in Call::ALL {
        c.sandbox.inject(call.name(), Fault::ExpiredToken, Some(1));
    }
    assert_eq!(
        wechat_error(c.json(Call::Wechat).await),
        json!({ "errcode": 42001, "errmsg": "access_token expired" })
    );
    assert_eq!(
        c.json(Call::Baidu).await,
        json!({ "error_code": 111, "error_msg": "Access token expired" })
    );
    assert_eq!(
        c.json(Call::Kuaishou).await,
        json!({ "result": 100200108, "error_msg": "access_token expired" })
    );
    for call in Call::ALL {
        c.assert_normal(call).await;
    }
}

#[tokio::test]
async fn slow_goes_past_a_client_timeout() {
    let c = Client::start().await;
    c.sandbox.inject(
        "GetAppInfo",
        Fault::Slow(Duration::from_millis(800)),
        Some(1),
    );
    let started = Instant::now();
    let err = c
        .request(Call::Kuaishou)
        .timeout(Duration::from_millis(200))
        .send()
        .await
        .expect_err("the answer comes too late");
    assert!(err.is_timeout(), "{err:?}");
    assert!(started.elapsed() < Duration::from_millis(700));
    // Recorded although the client gave up.
    assert_eq!(c.sandbox.hits("GetAppInfo"), 1);
    assert!(c.last_accepted());

    // Without a timeout the normal answer arrives late.
    c.sandbox.inject(
        "GetAppInfo",
        Fault::Slow(Duration::from_millis(300)),
        Some(1),
    );
    let started = Instant::now();
    c.assert_normal(Call::Kuaishou).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn reset_before_response_fails_without_a_status() {
    let c = Client::start().await;
    for call in Call::ALL {
        c.sandbox
            .inject(call.name(), Fault::ResetBeforeResponse, Some(1));
        let started = Instant::now();
        let err = c.send(call).await.expect_err("no response");
        assert!(!err.is_timeout(), "{err:?}");
        assert!(err.status().is_none(), "{err:?}");
        assert!(!err.is_connect(), "the connection was made: {err:?}");
        assert!(err.is_request(), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(c.sandbox.hits(call.name()), 1, "sent once, not retried");
        assert!(c.last_accepted());
        c.assert_normal(call).await;
    }
}

#[tokio::test]
async fn reset_mid_body_sends_the_head_then_fails_the_body() {
    let c = Client::start().await;
    let (_, _, full) = c.answer(Call::Baidu).await;
    c.sandbox
        .inject("GetCategoryList", Fault::ResetMidBody, Some(1));
    let resp = c.send(Call::Baidu).await.expect("the head arrives");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert_eq!(resp.content_length(), Some(full.len() as u64));
    let err = resp.bytes().await.expect_err("the body is cut");
    assert!(!err.is_timeout(), "{err:?}");
    assert!(err.is_body() || err.is_decode(), "{err:?}");
    assert!(c.last_accepted());
    c.assert_normal(Call::Baidu).await;
}

#[tokio::test]
async fn truncated_is_a_complete_message_with_half_the_json() {
    let c = Client::start().await;
    let (_, _, full) = c.answer(Call::Wechat).await;
    c.sandbox
        .inject("wechat/ModifyWxaJumpDomain", Fault::Truncated, Some(1));
    let resp = c.send(Call::Wechat).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let length = resp.content_length();
    let body = resp.bytes().await.expect("a complete message");
    assert_eq!(length, Some(body.len() as u64));
    assert_eq!(body.len(), full.len() / 2);
    assert!(full.starts_with(&body));
    assert!(serde_json::from_slice::<Value>(&body).is_err());
    c.assert_normal(Call::Wechat).await;
}

#[tokio::test]
async fn not_json_and_html_page() {
    let c = Client::start().await;
    c.sandbox.inject("GetCategoryList", Fault::NotJson, Some(1));
    let (status, content_type, body) = c.answer(Call::Baidu).await;
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    assert_eq!(&body[..], b"not json at all");
    assert!(serde_json::from_slice::<Value>(&body).is_err());

    c.sandbox
        .inject("GetCategoryList", Fault::HtmlPage, Some(1));
    let (status, content_type, body) = c.answer(Call::Baidu).await;
    assert_eq!((status, content_type.as_str()), (200, "text/html"));
    assert!(String::from_utf8_lossy(&body).contains("<html>"));
    c.assert_normal(Call::Baidu).await;
}

#[tokio::test]
async fn times_limits_rules_and_clear_removes_them() {
    let c = Client::start().await;
    c.sandbox.inject("GetAppInfo", Fault::Status(500), Some(2));
    assert_eq!(c.answer(Call::Kuaishou).await.0, 500);
    assert_eq!(c.answer(Call::Kuaishou).await.0, 500);
    c.assert_normal(Call::Kuaishou).await;

    // The first rule with uses left wins; later rules take over when it runs out.
    c.sandbox.inject("GetAppInfo", Fault::Status(502), Some(1));
    c.sandbox.inject("GetAppInfo", Fault::Status(503), None);
    assert_eq!(c.answer(Call::Kuaishou).await.0, 502);
    for _ in 0..3 {
        assert_eq!(c.answer(Call::Kuaishou).await.0, 503);
    }
    c.sandbox.clear_faults();
    c.assert_normal(Call::Kuaishou).await;
    assert_eq!(c.sandbox.hits("GetAppInfo"), 8);
}

#[tokio::test]
async fn plain_names_match_every_vendor_and_qualified_names_one() {
    let c = Client::start().await;
    let wx_token = || {
        c.http.post(c.url(WX_COMPONENT_TOKEN)).json(&json!({
            "component_appid": "wx",
            "component_appsecret": "s",
            "component_verify_ticket": "t",
        }))
    };
    let ks_token = || c.http.get(c.url(KS_COMPONENT_TOKEN));
    let busy = |v: &Value| v["errcode"] == -1 || v["result"] == -1;
    let json = |r: reqwest::RequestBuilder| async move {
        r.send().await.unwrap().json::<Value>().await.unwrap()
    };

    c.sandbox
        .inject("GetComponentAccessToken", Fault::Busy, Some(2));
    assert!(busy(&json(wx_token()).await));
    assert!(busy(&json(ks_token()).await));
    assert!(!busy(&json(wx_token()).await));
    // A faulted token endpoint issues nothing; the normal answer counts.
    assert_eq!(c.sandbox.issued("GetComponentAccessToken"), 1);

    c.sandbox
        .inject("kuaishou/GetComponentAccessToken", Fault::Busy, None);
    assert!(!busy(&json(wx_token()).await));
    assert!(busy(&json(ks_token()).await));
    assert_eq!(c.sandbox.hits("GetComponentAccessToken"), 5);
    assert_eq!(c.sandbox.hits("wechat/GetComponentAccessToken"), 3);
    assert_eq!(c.sandbox.hits("kuaishou/GetComponentAccessToken"), 2);
    assert_eq!(c.sandbox.hits("baidu/GetComponentAccessToken"), 0);

    // Faults that deliver the normal answer serve the request in full.
    c.sandbox.clear_faults();
    c.sandbox
        .inject("wechat/GetComponentAccessToken", Fault::Truncated, Some(1));
    let body = wx_token().send().await.unwrap().bytes().await.unwrap();
    assert!(serde_json::from_slice::<Value>(&body).is_err());
    assert_eq!(c.sandbox.issued("wechat/GetComponentAccessToken"), 3);
}

#[tokio::test]
async fn hits_count_every_recorded_request() {
    let c = Client::start().await;
    assert_eq!(c.sandbox.hits("GetAppInfo"), 0);
    c.assert_normal(Call::Kuaishou).await;
    c.sandbox
        .inject("GetAppInfo", Fault::ResetBeforeResponse, Some(1));
    let _ = c.send(Call::Kuaishou).await;
    c.sandbox.inject("GetAppInfo", Fault::Busy, Some(1));
    let _ = c.answer(Call::Kuaishou).await;
    assert_eq!(c.sandbox.hits("GetAppInfo"), 3);
    assert_eq!(c.sandbox.hits("kuaishou/GetAppInfo"), 3);
    assert_eq!(c.sandbox.hits("wechat/GetAppInfo"), 0);
    assert_eq!(c.sandbox.hits("ModifyWxaJumpDomain"), 0);
    assert_eq!(c.sandbox.requests().len(), 3);
    // Unknown paths are recorded but count for no endpoint.
    let resp = c.http.get(c.url("/nowhere")).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(c.sandbox.requests().len(), 4);
    assert_eq!(c.sandbox.hits("GetAppInfo"), 3);
}

/// What the client saw, in a form that compares across runs.
async fn outcome(c: &Client, call: Call) -> String {
    let resp = match c.send(call).await {
        Ok(resp) => resp,
        Err(e) if e.is_timeout() => return "timeout".into(),
        Err(_) => return "reset before response".into(),
    };
    let status = resp.status().as_u16();
    match resp.bytes().await {
        Ok(body) => format!("{status} {}", String::from_utf8_lossy(&body)),
        Err(_) => format!("{status} reset mid-body"),
    }
}

async fn random_run(rate: f64, seed: u64) -> Vec<String> {
    let c = Client::with(SandboxOptions {
        fault_rate: rate,
        fault_seed: seed,
        ..SandboxOptions::default()
    })
    .await;
    let mut seen = Vec::new();
    for i in 0..51 {
        seen.push(outcome(&c, Call::ALL[i % 3]).await);
    }
    assert_eq!(c.sandbox.requests().len(), 51, "every request recorded");
    seen
}

#[tokio::test]
async fn random_faults_repeat_with_the_seed() {
    let normal = random_run(0.0, 7).await;
    let baseline = random_run(0.0, 8).await;
    assert_eq!(normal, baseline, "rate 0 injects nothing");
    assert!(normal.iter().all(|o| o.starts_with("200 {")), "{normal:?}");

    let a = random_run(0.5, 7).await;
    let b = random_run(0.5, 7).await;
    assert_eq!(a, b, "same seed, same outcomes");
    let faulted = a.iter().zip(&normal).filter(|(x, n)| x != n).count();
    assert!((10..=45).contains(&faulted), "{faulted} faulted: {a:?}");
    assert_ne!(a, random_run(0.5, 8).await, "another seed, other outcomes");

    let all = random_run(1.0, 7).await;
    assert!(all.iter().zip(&normal).all(|(x, n)| x != n), "{all:?}");
}

#[tokio::test]
async fn rules_win_over_random_faults() {
    let c = Client::with(SandboxOptions {
        fault_rate: 1.0,
        random_faults: vec![Fault::Status(500)],
        ..SandboxOptions::default()
    })
    .await;
    assert_eq!(c.answer(Call::Baidu).await.0, 500);
    c.sandbox.inject("GetCategoryList", Fault::NotJson, Some(1));
    assert_eq!(&c.answer(Call::Baidu).await.2[..], b"not json at all");
    assert_eq!(c.answer(Call::Baidu).await.0, 500);

    let c = Client::with(SandboxOptions {
        fault_rate: 1.0,
        random_faults: Vec::new(),
        ..SandboxOptions::default()
    })
    .await;
    c.assert_normal(Call::Baidu).await;
}

#[tokio::test]
async fn dropping_the_sandbox_stops_listening() {
    let c = Client::start().await;
    c.assert_normal(Call::Kuaishou).await;
    let addr = c.sandbox.addr();
    drop(c);
    let deadline = Instant::now() + LIMIT;
    while tokio::net::TcpStream::connect(addr).await.is_ok() {
        assert!(Instant::now() < deadline, "still listening on {addr}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A WeChat error answer without the request id the sandbox ends its message with, as WeChat
/// does (`… rid: 6899a148-5929c88a-767d57ca`); fails when there is none.
fn wechat_error(mut answer: serde_json::Value) -> serde_json::Value {
    let id = miniapp_sandbox::take_request_id(core_http::Vendor::Wechat, &mut answer);
    assert!(id.is_some_and(|id| id.len() == 26), "no rid in {answer}");
    answer
}
