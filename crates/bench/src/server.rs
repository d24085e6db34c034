//! The fast loopback server: hyper 1, HTTP/1.1, a current-thread tokio runtime on its own
//! thread (one worker), answers from memory by path with precomputed bytes. It drains request
//! bodies and checks nothing, so nearly all of a call's cost is the client's.
//!
//! Its CPU time ([`BenchServer::cpu_time`]) is that thread's, read from `/proc`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

/// WeChat `POST /cgi-bin/component/modify_wxa_jump_domain`.
pub const WECHAT_PATH: &str = "/cgi-bin/component/modify_wxa_jump_domain";
/// Baidu `POST /rest/2.0/smartapp/app/modifydomain`.
pub const BAIDU_PATH: &str = "/rest/2.0/smartapp/app/modifydomain";
/// Kuaishou `POST /openapi/mp/auth/app/server_domain`.
pub const KUAISHOU_PATH: &str = "/openapi/mp/auth/app/server_domain";
/// Baidu `GET /rest/2.0/smartapp/app/qrcode`.
pub const QR_PATH: &str = "/rest/2.0/smartapp/app/qrcode";

/// The WeChat answer (the document's `set` example, compacted).
pub const WECHAT_ANSWER: &[u8] = br#"{"errcode":0,"errmsg":"ok","published_wxa_jump_h5_domain":"www.qq.com;wx.qq.com","testing_wxa_jump_h5_domain":"www.qq.com;wx.qq.com"}"#;
/// The Baidu answer to a `set` (the document's example).
pub const BAIDU_ANSWER: &[u8] = br#"{"errno":0,"msg":"success"}"#;
/// The Kuaishou answer (the document's example, `sucess` included).
pub const KUAISHOU_ANSWER: &[u8] = br#"{"result":1,"error_msg":"sucess","request":["***.com"],"socket":["***.com"],"upload_file":["***.com"],"download_file":["***.com"],"udp":["***.com"]}"#;
/// Size of the QR-code image.
pub const QR_SIZE: usize = 64 * 1024;

/// A 64 KiB body that starts like a PNG (never like JSON), filled with pseudo-random bytes.
pub fn qr_image() -> Bytes {
    let mut v = Vec::with_capacity(QR_SIZE);
    v.extend_from_slice(b"\x89PNG\r\n\x1a\n");
    let mut x: u32 = 0x9E37_79B9;
    while v.len() < QR_SIZE {
        // xorshift32
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        v.push(x as u8);
    }
    Bytes::from(v)
}

/// One request as the server received it (recording servers only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// Method.
    pub method: String,
    /// Path and query.
    pub uri: String,
    /// Every header, in order, names lower-case.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Bytes,
}

struct Answers {
    wechat: Bytes,
    baidu: Bytes,
    kuaishou: Bytes,
    qr: Bytes,
    record: Option<Arc<Mutex<Vec<Recorded>>>>,
}

const JSON: HeaderValue = HeaderValue::from_static("application/json");
const PNG: HeaderValue = HeaderValue::from_static("image/png");

impl Answers {
    fn answer(&self, method: &Method, path: &str) -> Response<Full<Bytes>> {
        let (content_type, body) = match (method, path) {
            (&Method::POST, WECHAT_PATH) => (JSON, self.wechat.clone()),
            (&Method::POST, BAIDU_PATH) => (JSON, self.baidu.clone()),
            (&Method::POST, KUAISHOU_PATH) => (JSON, self.kuaishou.clone()),
            (&Method::GET, QR_PATH) => (PNG, self.qr.clone()),
            _ => {
                let mut r = Response::new(Full::new(Bytes::from_static(b"not found")));
                *r.status_mut() = StatusCode::NOT_FOUND;
                return r;
            }
        };
        let mut r = Response::new(Full::new(body));
        r.headers_mut().insert(CONTENT_TYPE, content_type);
        r
    }
}

async fn handle(
    answers: Arc<Answers>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    // Drain the body (a client may wait for it to be read); a broken body is not our business.
    let body = match body.collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => Bytes::new(),
    };
    if let Some(record) = &answers.record {
        let recorded = Recorded {
            method: parts.method.to_string(),
            uri: parts
                .uri
                .path_and_query()
                .map_or_else(String::new, |p| p.to_string()),
            headers: parts
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: body.clone(),
        };
        record
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(recorded);
    }
    Ok(answers.answer(&parts.method, parts.uri.path()))
}

/// A running server; stops (and joins its thread) when dropped.
pub struct BenchServer {
    addr: SocketAddr,
    tid: Option<u32>,
    record: Option<Arc<Mutex<Vec<Recorded>>>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl BenchServer {
    /// Starts a server on `127.0.0.1:0`.
    pub fn start() -> std::io::Result<Self> {
        Self::spawn(false, None)
    }

    /// Starts a server whose thread is pinned to CPU `cpu` (where pinning works).
    pub fn start_on_cpu(cpu: usize) -> std::io::Result<Self> {
        Self::spawn(false, Some(cpu))
    }

    /// Starts a server that also records every request ([`BenchServer::recorded`]).
    pub fn start_recording() -> std::io::Result<Self> {
        Self::spawn(true, None)
    }

    fn spawn(record: bool, cpu: Option<usize>) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let record = record.then(|| Arc::new(Mutex::new(Vec::new())));
        let answers = Arc::new(Answers {
            wechat: Bytes::from_static(WECHAT_ANSWER),
            baidu: Bytes::from_static(BAIDU_ANSWER),
            kuaishou: Bytes::from_static(KUAISHOU_ANSWER),
            qr: qr_image(),
            record: record.clone(),
        });
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()?;
        let thread = std::thread::Builder::new()
            .name("bench-server".into())
            .spawn(move || {
                crate::alloc::exclude_this_thread();
                if let Some(cpu) = cpu {
                    crate::cpu::pin_current_thread(&[cpu]);
                }
                let _ = tid_tx.send(crate::cpu::current_tid());
                runtime.block_on(serve(listener, answers, rx));
            })?;
        let tid = tid_rx.recv().ok().flatten();
        Ok(BenchServer {
            addr,
            tid,
            record,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// CPU time the server's thread has used so far (zero where `/proc` is unavailable).
    pub fn cpu_time(&self) -> Duration {
        self.tid.map_or(Duration::ZERO, crate::cpu::thread_cpu)
    }

    /// The server thread's id, if known.
    pub fn tid(&self) -> Option<u32> {
        self.tid
    }

    /// Takes the requests recorded so far (empty unless started with
    /// [`BenchServer::start_recording`]).
    pub fn recorded(&self) -> Vec<Recorded> {
        match &self.record {
            Some(r) => std::mem::take(&mut *r.lock().unwrap_or_else(|p| p.into_inner())),
            None => Vec::new(),
        }
    }
}

impl Drop for BenchServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn serve(
    listener: std::net::TcpListener,
    answers: Arc<Answers>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("bench server: {e}");
            return;
        }
    };
    loop {
        let stream = tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
        };
        let _ = stream.set_nodelay(true);
        let answers = answers.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(answers.clone(), req));
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
