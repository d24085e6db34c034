//! Micro benchmarks of the SDK's per-call work outside the network, each next to its
//! hand-written equivalent: request encoding, envelope decoding, the warm token look-up and a
//! per-app handle. `cargo bench -p miniapp-bench` (criterion; `-- <filter>` to pick).

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use core_http::token::{
    BoxFuture, MemoryStore, RefreshingToken, StoredToken, TokenFetcher, TokenGrant, TokenKey,
};
use core_http::{BodyKind, Endpoint, Location, ParamSink, RawResponse, Secret, TokenProvider};
use criterion::{criterion_group, criterion_main, Criterion};
use serde::ser::{Serialize, SerializeMap, Serializer};

use miniapp_bench::baseline::{
    self, BaiduDomainForm, KuaishouServerDomainBody, WechatJumpDomainBody,
};
use miniapp_bench::fixtures::*;
use miniapp_bench::server::{self, BAIDU_ANSWER, KUAISHOU_ANSWER, WECHAT_ANSWER};

const BASE: &str = "https://api.example.com";

/// The JSON body as `core_http::Session::send_with` serializes it (its `JsonBody` is private).
struct JsonBody<'a, E>(&'a E);

impl<E: Endpoint> Serialize for JsonBody<'_, E> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        self.0.write_json(&mut map)?;
        map.end()
    }
}

/// What `Session::send` does to a request before handing it to reqwest: validate, collect the
/// credentials (`resolve`), then `send_with`'s query/form/URL/JSON encoding.
fn sdk_encode<E: Endpoint>(request: &E, tokens: &[Secret]) -> (String, Vec<u8>) {
    request.validate().expect("valid");
    let mut secrets = Vec::with_capacity(E::CREDENTIALS.len());
    secrets.extend(tokens.iter().cloned());
    let mut query = String::new();
    let mut form = String::new();
    {
        let mut q = ParamSink::new(&mut query);
        let mut f = ParamSink::new(&mut form);
        for (cred, value) in E::CREDENTIALS.iter().zip(&secrets) {
            match cred.location {
                Location::Query => q.put(cred.name, value.expose()),
                Location::Form => f.put(cred.name, value.expose()),
                // No benchmarked endpoint carries a credential elsewhere.
                Location::Header | Location::Json => {}
            }
        }
        request.write_query(&mut q);
        if E::BODY == BodyKind::Form {
            request.write_form(&mut f);
        }
        q.finish();
        f.finish();
    }
    let mut url = String::with_capacity(BASE.len() + E::PATH.len() + 1 + query.len());
    url.push_str(BASE);
    url.push_str(E::PATH);
    if !query.is_empty() {
        url.push('?');
        url.push_str(&query);
    }
    let body = match E::BODY {
        BodyKind::None => Vec::new(),
        BodyKind::Form => form.into_bytes(),
        BodyKind::Json => serde_json::to_vec(&JsonBody(request)).expect("encodes"),
    };
    (url, body)
}

fn encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode");

    let wechat = wechat_set();
    let wechat_tokens = [Secret::from(WECHAT_TOKEN)];
    let wechat_domains = owned(WECHAT_DOMAINS);
    g.bench_function("wechat/sdk", |b| {
        b.iter(|| sdk_encode(black_box(&wechat), &wechat_tokens))
    });
    g.bench_function("wechat/hand-written", |b| {
        b.iter(|| {
            let url = format!("{BASE}{}?access_token={WECHAT_TOKEN}", server::WECHAT_PATH);
            let body = serde_json::to_vec(&WechatJumpDomainBody {
                action: "set",
                wxa_jump_h5_domain: black_box(&wechat_domains).join(";"),
                is_modify_published_together: false,
            })
            .unwrap();
            (url, body)
        })
    });

    let baidu = baidu_set();
    let baidu_tokens = [Secret::from(BAIDU_TOKEN)];
    let (download, request) = (owned(BAIDU_DOWNLOAD), owned(BAIDU_REQUEST));
    g.bench_function("baidu/sdk", |b| {
        b.iter(|| sdk_encode(black_box(&baidu), &baidu_tokens))
    });
    g.bench_function("baidu/hand-written", |b| {
        b.iter(|| {
            let url = format!("{BASE}{}", server::BAIDU_PATH);
            let body = serde_urlencoded::to_string(BaiduDomainForm {
                access_token: BAIDU_TOKEN,
                action: "set",
                download_domain: Some(black_box(&download).join(",")),
                request_domain: Some(black_box(&request).join(",")),
                socket_domain: None,
                upload_domain: None,
            })
            .unwrap();
            (url, body.into_bytes())
        })
    });

    let kuaishou = kuaishou_set();
    let kuaishou_tokens = [Secret::from(KUAISHOU_APP_ID), Secret::from(KUAISHOU_TOKEN)];
    let lists = [
        owned(KUAISHOU_REQUEST),
        owned(KUAISHOU_SOCKET),
        owned(KUAISHOU_UPLOAD),
        owned(KUAISHOU_DOWNLOAD),
        owned(KUAISHOU_UDP),
    ];
    g.bench_function("kuaishou/sdk", |b| {
        b.iter(|| sdk_encode(black_box(&kuaishou), &kuaishou_tokens))
    });
    g.bench_function("kuaishou/hand-written", |b| {
        b.iter(|| {
            let l = black_box(&lists);
            let url = format!(
                "{BASE}{}?component_app_id={KUAISHOU_APP_ID}&authorizer_access_token={KUAISHOU_TOKEN}",
                server::KUAISHOU_PATH
            );
            let body = serde_json::to_vec(&KuaishouServerDomainBody {
                action: "set",
                request: &l[0],
                socket: &l[1],
                upload_file: &l[2],
                download_file: &l[3],
                udp: &l[4],
            })
            .unwrap();
            (url, body)
        })
    });
    g.finish();
}

/// The documented answer to Baidu `modifydomain` `action=get` (with `data`).
const BAIDU_GET_ANSWER: &[u8] = br#"{"errno":0,"msg":"success","data":{"request_domain":"https://www.baidu.com,https://www.baidu.com","socket_domain":"wss://www.baidu.com,wss://www.baidu.com","download_domain":"wss://www.baidu.com,wss://www.baidu.com","upload_domain":"wss://www.baidu.com,wss://www.baidu.com"}}"#;

/// The answer as `send_with` hands it to `decode` (content type copied out of the headers).
fn raw(body: &Bytes, content_type: &str) -> RawResponse {
    RawResponse {
        status: 200,
        content_type: Some(content_type.to_owned()),
        retry_after: None,
        body: body.clone(),
    }
}

fn decode(c: &mut Criterion) {
    use baidu_smartapp_api::basic_info::{GetQrCodeRequest, ModifyDomainRequest};
    use kuaishou_api::basic_info::ServerDomainRequest;
    use wechat_component_api::third_party_domain::ModifyWxaJumpDomainRequest;

    let mut g = c.benchmark_group("decode");
    let json = "application/json";

    let body = Bytes::from_static(WECHAT_ANSWER);
    g.bench_function("wechat/sdk", |b| {
        b.iter(|| {
            <ModifyWxaJumpDomainRequest as Endpoint>::decode(raw(black_box(&body), json)).unwrap()
        })
    });
    g.bench_function("wechat/hand-written", |b| {
        b.iter(|| baseline::decode_wechat_jump_domain(200, black_box(&body)).unwrap())
    });

    let body = Bytes::from_static(BAIDU_ANSWER);
    g.bench_function("baidu-set/sdk", |b| {
        b.iter(|| <ModifyDomainRequest as Endpoint>::decode(raw(black_box(&body), json)).unwrap())
    });
    g.bench_function("baidu-set/hand-written", |b| {
        b.iter(|| baseline::decode_baidu_domain(200, black_box(&body)).unwrap())
    });

    let body = Bytes::from_static(BAIDU_GET_ANSWER);
    g.bench_function("baidu-get/sdk", |b| {
        b.iter(|| <ModifyDomainRequest as Endpoint>::decode(raw(black_box(&body), json)).unwrap())
    });
    g.bench_function("baidu-get/hand-written", |b| {
        b.iter(|| baseline::decode_baidu_domain(200, black_box(&body)).unwrap())
    });

    let body = Bytes::from_static(KUAISHOU_ANSWER);
    g.bench_function("kuaishou/sdk", |b| {
        b.iter(|| <ServerDomainRequest as Endpoint>::decode(raw(black_box(&body), json)).unwrap())
    });
    g.bench_function("kuaishou/hand-written", |b| {
        b.iter(|| baseline::decode_kuaishou_server_domain(200, black_box(&body)).unwrap())
    });

    let body = server::qr_image();
    g.bench_function("qr-64KiB/sdk", |b| {
        b.iter(|| {
            <GetQrCodeRequest as Endpoint>::decode(raw(black_box(&body), "image/png")).unwrap()
        })
    });
    g.bench_function("qr-64KiB/hand-written", |b| {
        b.iter(|| baseline::decode_qr(200, Some("image/png"), black_box(&body).clone()).unwrap())
    });
    g.finish();
}

/// A fetcher that answers at once (the warm path never calls it again).
struct Fixed;

impl TokenFetcher for Fixed {
    fn fetch<'a>(
        &'a self,
        _current: Option<&'a StoredToken>,
    ) -> BoxFuture<'a, Result<TokenGrant, core_http::Error>> {
        Box::pin(async {
            Ok(TokenGrant {
                access_token: Secret::from(WECHAT_TOKEN),
                expires_in: Duration::from_secs(7200),
                refresh_token: None,
            })
        })
    }
}

fn noop_raw() -> RawWaker {
    RawWaker::new(std::ptr::null(), &NOOP)
}
static NOOP: RawWakerVTable = RawWakerVTable::new(|_| noop_raw(), |_| {}, |_| {}, |_| {});

/// Polls a future that must complete without waiting (the warm token path never awaits).
fn ready<F: Future>(waker: &Waker, f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(waker)) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the warm path waited"),
    }
}

fn token(c: &mut Criterion) {
    // SAFETY: the vtable's functions do nothing and never touch the (null) data pointer.
    let waker = unsafe { Waker::from_raw(noop_raw()) };
    let token = Arc::new(RefreshingToken::new(
        TokenKey::component(core_http::Vendor::Wechat, "wx_platform"),
        Arc::new(Fixed),
        Arc::new(MemoryStore::new()),
    ));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(token.get()).unwrap();
    let provider: Arc<dyn TokenProvider> = token.clone();

    // What a hand-written cache does: a lock, an expiry check, a clone.
    let hand: RwLock<Option<(Arc<str>, Instant)>> = RwLock::new(Some((
        Arc::from(WECHAT_TOKEN),
        Instant::now() + Duration::from_secs(7200),
    )));

    let mut g = c.benchmark_group("token-warm");
    g.bench_function("RefreshingToken::get", |b| {
        b.iter(|| ready(&waker, black_box(&token).get()).unwrap())
    });
    g.bench_function("dyn TokenProvider::token", |b| {
        b.iter(|| ready(&waker, black_box(&provider).token()).unwrap())
    });
    g.bench_function("hand-written RwLock cache", |b| {
        b.iter(|| {
            let guard = black_box(&hand).read().unwrap();
            match &*guard {
                Some((t, exp)) if *exp > Instant::now() => t.clone(),
                _ => unreachable!(),
            }
        })
    });
    g.finish();

    // A per-app handle (bulk fan-out): the token string is made in both.
    let client = baidu_smartapp_api::Client::with_base_url(BASE);
    let mut g = c.benchmark_group("handle");
    g.bench_function("baidu authorizer/sdk", |b| {
        let mut i = 0usize;
        b.iter(|| {
            i += 1;
            client.authorizer(app_token(i))
        })
    });
    g.bench_function("baidu authorizer/hand-written", |b| {
        let mut i = 0usize;
        b.iter(|| {
            i += 1;
            app_token(i)
        })
    });
    g.finish();
}

/// WeChat's envelope head as `core_http::envelope` reads it (private there).
#[derive(serde::Deserialize)]
struct WechatHead {
    #[allow(dead_code)]
    errcode: Option<i64>,
    #[allow(dead_code)]
    errmsg: Option<String>,
}

/// The same head, borrowing its message.
#[derive(serde::Deserialize)]
struct WechatHeadBorrowed<'a> {
    #[allow(dead_code)]
    errcode: Option<i64>,
    #[serde(borrow)]
    #[allow(dead_code)]
    errmsg: Option<std::borrow::Cow<'a, str>>,
}

/// The steps of the SDK's per-call work, one by one, next to cheaper ways to do each: where
/// the differences in `encode` and `decode` come from (see BENCHMARKS.md).
fn parts(c: &mut Criterion) {
    use wechat_component_api::third_party_domain::ModifyWxaJumpDomainResponse;

    let mut g = c.benchmark_group("parts");
    let body = Bytes::from_static(WECHAT_ANSWER);
    let text = std::str::from_utf8(WECHAT_ANSWER).unwrap();

    g.bench_function("decode: from_utf8 of the body", |b| {
        b.iter(|| std::str::from_utf8(black_box(&body)).is_ok())
    });
    g.bench_function("decode: envelope head, owned errmsg (SDK)", |b| {
        b.iter(|| serde_json::from_str::<WechatHead>(black_box(text)).unwrap())
    });
    g.bench_function("decode: envelope head, borrowed errmsg", |b| {
        b.iter(|| serde_json::from_str::<WechatHeadBorrowed<'_>>(black_box(text)).unwrap())
    });
    g.bench_function("decode: payload via serde_path_to_error (SDK)", |b| {
        b.iter(|| {
            let de = &mut serde_json::Deserializer::from_str(black_box(text));
            serde_path_to_error::deserialize::<_, Option<ModifyWxaJumpDomainResponse>>(de).unwrap()
        })
    });
    g.bench_function("decode: payload via serde_json only", |b| {
        b.iter(|| {
            serde_json::from_str::<Option<ModifyWxaJumpDomainResponse>>(black_box(text)).unwrap()
        })
    });
    g.bench_function("decode: content type to_owned (SDK)", |b| {
        b.iter(|| black_box("application/json").to_owned())
    });

    g.bench_function("encode: ParamSink::put of the WeChat token (SDK)", |b| {
        b.iter(|| {
            let mut q = String::new();
            let mut sink = ParamSink::new(&mut q);
            sink.put("access_token", black_box(WECHAT_TOKEN));
            sink.finish();
            q
        })
    });
    g.bench_function("encode: pre-sized, unreserved fast path", |b| {
        b.iter(|| {
            let token = black_box(WECHAT_TOKEN);
            let mut q = String::with_capacity(13 + token.len());
            q.push_str("access_token=");
            if token
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'*' | b'-' | b'.' | b'_'))
            {
                q.push_str(token);
            } else {
                q.extend(form_urlencoded::byte_serialize(token.as_bytes()));
            }
            q
        })
    });
    g.bench_function("encode: Content-Type from &str (SDK)", |b| {
        b.iter(|| http::HeaderValue::try_from(black_box("application/json")).unwrap())
    });
    g.bench_function("encode: Content-Type from_static", |b| {
        b.iter(|| http::HeaderValue::from_static(black_box("application/json")))
    });
    let wechat = wechat_set();
    g.bench_function("encode: validate (SDK)", |b| {
        b.iter(|| black_box(&wechat).validate().unwrap())
    });
    g.bench_function("encode: JSON body, Vec::new (SDK)", |b| {
        b.iter(|| serde_json::to_vec(&JsonBody(black_box(&wechat))).unwrap())
    });
    g.bench_function("encode: JSON body, Vec::with_capacity(128)", |b| {
        b.iter(|| {
            let mut v = Vec::with_capacity(128);
            serde_json::to_writer(&mut v, &JsonBody(black_box(&wechat))).unwrap();
            v
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    // Short runs: the whole suite takes about a minute on 2 cores.
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = encode, decode, token, parts
}
criterion_main!(benches);
