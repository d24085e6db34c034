//! The bench server answers what it should, and the baseline sends exactly the bytes the SDK
//! sends (method, path and query, every header, body) and decodes the same values. No timing
//! here: the benchmarks are `cargo xtask bench` and `cargo bench -p miniapp-bench`.

use miniapp_bench::baseline::{Baseline, KuaishouServerDomainBody};
use miniapp_bench::fixtures::*;
use miniapp_bench::server::{self, BenchServer, Recorded};

/// The last two requests the server received: the SDK's, then the baseline's.
fn pair(server: &BenchServer) -> (Recorded, Recorded) {
    let mut r = server.recorded();
    assert_eq!(
        r.len(),
        2,
        "expected one SDK and one baseline request: {r:#?}"
    );
    let base = r.pop().unwrap();
    let sdk = r.pop().unwrap();
    (sdk, base)
}

#[tokio::test]
async fn baseline_sends_the_sdks_bytes_and_decodes_the_same() {
    let server = BenchServer::start_recording().unwrap();
    let url = server.base_url();
    let base = Baseline::new(&url);

    // WeChat.
    let wechat = wechat_component_api::Client::with_base_url(url.clone());
    let sdk = wechat
        .component(WECHAT_TOKEN)
        .modify_wxa_jump_domain(&wechat_set())
        .await
        .unwrap();
    let hand = base
        .wechat_modify_wxa_jump_domain(WECHAT_TOKEN, "set", &owned(WECHAT_DOMAINS), false)
        .await
        .unwrap();
    let (s, b) = pair(&server);
    assert_eq!(s, b);
    assert_eq!(s.method, "POST");
    assert_eq!(
        s.uri,
        format!("{}?access_token={WECHAT_TOKEN}", server::WECHAT_PATH)
    );
    assert_eq!(
        &s.body[..],
        br#"{"action":"set","wxa_jump_h5_domain":"www.qq.com;wx.qq.com","is_modify_published_together":false}"#
    );
    let domains = Some(owned(WECHAT_DOMAINS));
    assert_eq!(sdk.published_wxa_jump_h5_domain, domains);
    assert_eq!(sdk.testing_wxa_jump_h5_domain, domains);
    assert_eq!(hand.published, sdk.published_wxa_jump_h5_domain);
    assert_eq!(hand.testing, sdk.testing_wxa_jump_h5_domain);
    assert_eq!(hand.invalid, sdk.invalid_wxa_jump_h5_domain);

    // Baidu modifydomain, one of the bulk fan-out's apps.
    let baidu = baidu_smartapp_api::Client::with_base_url(url.clone());
    let token = app_token(7);
    let sdk = baidu
        .authorizer(token.clone())
        .modify_domain(&baidu_set())
        .await
        .unwrap();
    let hand = base
        .baidu_modify_domain(
            &token,
            "set",
            Some(&owned(BAIDU_DOWNLOAD)),
            Some(&owned(BAIDU_REQUEST)),
        )
        .await
        .unwrap();
    let (s, b) = pair(&server);
    assert_eq!(s, b);
    assert_eq!(s.uri, server::BAIDU_PATH);
    assert_eq!(
        &s.body[..],
        &b"access_token=45.app-7&action=set&download_domain=https%3A%2F%2Fdl.example.com&request_domain=https%3A%2F%2Fapi.example.com%2Chttps%3A%2F%2Fapi2.example.com"[..]
    );
    assert_eq!(sdk.download_domain, hand.download_domain);
    assert_eq!(sdk.request_domain, hand.request_domain);
    assert_eq!(sdk.socket_domain, hand.socket_domain);
    assert_eq!(sdk.upload_domain, hand.upload_domain);
    assert_eq!(sdk, Default::default());

    // Kuaishou.
    let kuaishou = kuaishou_api::Client::with_base_url(url.clone(), KUAISHOU_APP_ID);
    let sdk = kuaishou
        .authorizer(KUAISHOU_TOKEN)
        .server_domain(&kuaishou_set())
        .await
        .unwrap();
    let lists = [
        owned(KUAISHOU_REQUEST),
        owned(KUAISHOU_SOCKET),
        owned(KUAISHOU_UPLOAD),
        owned(KUAISHOU_DOWNLOAD),
        owned(KUAISHOU_UDP),
    ];
    let body = KuaishouServerDomainBody {
        action: "set",
        request: &lists[0],
        socket: &lists[1],
        upload_file: &lists[2],
        download_file: &lists[3],
        udp: &lists[4],
    };
    let hand = base
        .kuaishou_server_domain(KUAISHOU_APP_ID, KUAISHOU_TOKEN, &body)
        .await
        .unwrap();
    let (s, b) = pair(&server);
    assert_eq!(s, b);
    assert_eq!(
        s.uri,
        format!(
            "{}?component_app_id={KUAISHOU_APP_ID}&authorizer_access_token={KUAISHOU_TOKEN}",
            server::KUAISHOU_PATH
        )
    );
    let stars = Some(vec!["***.com".to_owned()]);
    assert_eq!(sdk.request, stars);
    assert_eq!(sdk.udp, stars);
    assert_eq!(
        (
            &sdk.action,
            &sdk.request,
            &sdk.socket,
            &sdk.upload_file,
            &sdk.download_file,
            &sdk.udp
        ),
        (
            &hand.action,
            &hand.request,
            &hand.socket,
            &hand.upload_file,
            &hand.download_file,
            &hand.udp
        )
    );

    // Baidu QR code: 64 KiB of image, not copied on the way.
    let sdk = baidu
        .authorizer(BAIDU_TOKEN)
        .get_qr_code(&baidu_qr())
        .await
        .unwrap();
    let hand = base.baidu_qr_code(BAIDU_TOKEN, QR_WIDTH).await.unwrap();
    let (s, b) = pair(&server);
    assert_eq!(s, b);
    assert_eq!(s.method, "GET");
    assert_eq!(
        s.uri,
        format!(
            "{}?access_token={BAIDU_TOKEN}&width={QR_WIDTH}",
            server::QR_PATH
        )
    );
    assert!(s.body.is_empty());
    assert_eq!(sdk.content_type, "image/png");
    assert_eq!(sdk.bytes.len(), server::QR_SIZE);
    assert_eq!(sdk.bytes, server::qr_image());
    assert_eq!(
        (hand.content_type.as_str(), &hand.bytes),
        (sdk.content_type.as_str(), &sdk.bytes)
    );
}

#[tokio::test]
async fn unknown_paths_are_404() {
    let server = BenchServer::start().unwrap();
    let r = reqwest::get(format!("{}/nope", server.base_url()))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
}

#[test]
fn server_thread_cpu_is_readable() {
    let server = BenchServer::start().unwrap();
    if std::path::Path::new("/proc/thread-self").exists() {
        assert!(server.tid().is_some());
        // The thread has run (bound the runtime, parked): its CPU time reads, maybe as zero.
        let _ = server.cpu_time();
    }
}
