//! The load benchmark: the SDK against hand-written `reqwest` code, on the loopback bench
//! server, in one process. Each round runs every scenario with the two sides interleaved in
//! blocks; the report gives medians over the rounds (see `BENCHMARKS.md`).
//!
//! ```text
//! cargo xtask bench [--quick] [--rounds N] [--verbose] [--help]
//! cargo run --release -p miniapp-bench --bin load -- [flags]
//! ```
//!
//! Scenarios: sequential latency of one call per vendor; concurrent throughput over one client;
//! bulk fan-out over distinct authorized apps; 64 KiB QR-code downloads with peak heap. The
//! client runs on the main thread (a current-thread runtime unless `--client-threads` says
//! otherwise), the server on its own thread, each pinned to its own CPU by default, so each
//! side's CPU time is measured apart. Allocations are counted in an untimed pass before the
//! rounds.
//!
//! `--callgrind` counts the client's instructions alone: the server runs in another process
//! (`--serve`), each side under `valgrind --tool=callgrind` (`--only … --server URL`) at two
//! sizes, the difference divided by the difference of the calls.

use std::collections::BTreeMap;
use std::future::Future;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use miniapp_bench::alloc::{self, CountingAlloc};
use miniapp_bench::baseline::{Baseline, KuaishouServerDomainBody};
use miniapp_bench::cpu;
use miniapp_bench::fixtures::*;
use miniapp_bench::server::{BenchServer, QR_SIZE};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const USAGE: &str = "usage: load [--quick] [--rounds N] [--seq N] [--calls N] [--concurrency N] [--apps N] [--qr N] [--client-threads N] [--blocks N] [--no-pin] [--verbose]
       load --only SCENARIO [--side sdk|baseline] [--count-allocs] [--server URL] [sizes]   (for profilers: no warm-up, no report)
       load --callgrind [--callgrind-dir DIR] [--small N] [--large N] [--concurrency N]
       load --serve [--no-pin]

  --quick             smoke run: 2 rounds of small N
  --rounds N          rounds, alternating SDK and baseline (default 5)
  --seq N             sequential calls per vendor per round (default 2000)
  --calls N           calls of the concurrent-throughput phase per round (default 50000)
  --concurrency N     in-flight calls of the concurrent and bulk phases (default 64)
  --apps N            distinct authorized apps of the bulk fan-out per round (default 10000)
  --qr N              QR-code downloads per round (default 2000)
  --client-threads N  client runtime worker threads; 1 = a current-thread runtime (default 1)
  --blocks N          SDK and baseline blocks interleaved within each phase of a round (default 10)
  --no-pin            do not pin the threads (default: the server thread on the last CPU, the
                      client's threads on the others, which steadies the latencies)
  --verbose           also print every round's figures
  --only SCENARIO     run one scenario (seq-wechat, seq-baidu, seq-kuaishou, concurrent, bulk, qr)
                      --rounds times, on one side or both, and print its raw figures
  --count-allocs      with --only: count allocations (the full run always counts them in a
                      separate, untimed pass)
  --server URL        call the bench server at URL (one started by `load --serve`) instead of
                      one on a thread of this process; its CPU time is then not measured
  --serve             only run the bench server: print its URL, serve until stdin closes
  --callgrind         client-only instructions per call: runs every scenario but the QR code
                      under `valgrind --tool=callgrind`, SDK and baseline, at --small and
                      --large calls (default 1000 and 5000), against a server in another
                      process; prints instructions and allocations per call side by side
                      (with --only SCENARIO: that scenario alone)
  --callgrind-dir DIR keep the callgrind profiles in DIR (for callgrind_annotate)";

#[derive(Clone, Debug)]
struct Config {
    rounds: usize,
    seq: usize,
    calls: usize,
    concurrency: usize,
    apps: usize,
    qr: usize,
    client_threads: usize,
    quick: bool,
    blocks: usize,
    verbose: bool,
    pin: bool,
    count_allocs: bool,
    only: Option<(Scenario, Vec<Side>)>,
    /// `--server URL`: an external bench server.
    server: Option<String>,
    mode: Mode,
    /// `--callgrind-dir`.
    callgrind_dir: Option<std::path::PathBuf>,
    /// `--small` / `--large`: the two sizes of the callgrind runs.
    small: usize,
    large: usize,
}

/// What the program does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// The comparison (or one scenario with `--only`).
    Load,
    /// `--serve`: the bench server alone.
    Serve,
    /// `--callgrind`: client-only instruction counts.
    Callgrind,
}

impl Config {
    fn parse() -> Result<Config, String> {
        let mut c = Config {
            rounds: 5,
            seq: 2_000,
            calls: 50_000,
            concurrency: 64,
            apps: 10_000,
            qr: 2_000,
            client_threads: 1,
            quick: false,
            blocks: 10,
            verbose: false,
            pin: true,
            count_allocs: false,
            only: None,
            server: None,
            mode: Mode::Load,
            callgrind_dir: None,
            small: 1_000,
            large: 5_000,
        };
        let args: Vec<String> = std::env::args().skip(1).collect();
        if args.iter().any(|a| a == "--quick") {
            c = Config {
                rounds: 2,
                seq: 300,
                calls: 5_000,
                apps: 1_000,
                qr: 200,
                quick: true,
                ..c
            };
        }
        let mut it = args.iter();
        let mut only = None;
        let mut sides = vec![Side::Sdk, Side::Baseline];
        while let Some(flag) = it.next() {
            match flag.as_str() {
                "--quick" => continue,
                "--verbose" => {
                    c.verbose = true;
                    continue;
                }
                "--count-allocs" => {
                    c.count_allocs = true;
                    continue;
                }
                "--no-pin" => {
                    c.pin = false;
                    continue;
                }
                "-h" | "--help" => return Err(String::new()),
                "--serve" => {
                    c.mode = Mode::Serve;
                    continue;
                }
                "--callgrind" => {
                    c.mode = Mode::Callgrind;
                    continue;
                }
                "--server" => {
                    let url = it
                        .next()
                        .ok_or("--server needs a URL (http://127.0.0.1:PORT)")?;
                    c.server = Some(url.trim_end_matches('/').to_owned());
                    continue;
                }
                "--callgrind-dir" => {
                    let dir = it.next().ok_or("--callgrind-dir needs a directory")?;
                    c.callgrind_dir = Some(dir.into());
                    continue;
                }
                "--only" => {
                    let v = it.next().ok_or("--only needs a scenario")?;
                    only = Some(
                        SCENARIOS
                            .into_iter()
                            .find(|s| s.key() == v)
                            .ok_or_else(|| format!("--only: unknown scenario {v:?}"))?,
                    );
                    continue;
                }
                "--side" => {
                    sides = match it.next().map(String::as_str) {
                        Some("sdk") => vec![Side::Sdk],
                        Some("baseline") => vec![Side::Baseline],
                        other => {
                            return Err(format!("--side: expected sdk or baseline, got {other:?}"))
                        }
                    };
                    continue;
                }
                _ => {}
            }
            let slot = match flag.as_str() {
                "--rounds" => &mut c.rounds,
                "--seq" => &mut c.seq,
                "--calls" => &mut c.calls,
                "--concurrency" => &mut c.concurrency,
                "--apps" => &mut c.apps,
                "--qr" => &mut c.qr,
                "--client-threads" => &mut c.client_threads,
                "--blocks" => &mut c.blocks,
                "--small" => &mut c.small,
                "--large" => &mut c.large,
                other => return Err(format!("unknown flag {other:?}")),
            };
            let value = it.next().ok_or_else(|| format!("{flag} needs a number"))?;
            *slot = value
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{flag}: {value:?} is not a positive number"))?;
        }
        c.only = only.map(|s| (s, sides));
        if c.mode == Mode::Callgrind && c.large <= c.small {
            return Err(format!(
                "--large ({}) must be more than --small ({})",
                c.large, c.small
            ));
        }
        Ok(c)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    Sdk,
    Baseline,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Scenario {
    SeqWechat,
    SeqBaidu,
    SeqKuaishou,
    Concurrent,
    Bulk,
    Qr,
}

const SCENARIOS: [Scenario; 6] = [
    Scenario::SeqWechat,
    Scenario::SeqBaidu,
    Scenario::SeqKuaishou,
    Scenario::Concurrent,
    Scenario::Bulk,
    Scenario::Qr,
];

impl Scenario {
    fn key(self) -> &'static str {
        match self {
            Scenario::SeqWechat => "seq-wechat",
            Scenario::SeqBaidu => "seq-baidu",
            Scenario::SeqKuaishou => "seq-kuaishou",
            Scenario::Concurrent => "concurrent",
            Scenario::Bulk => "bulk",
            Scenario::Qr => "qr",
        }
    }

    fn title(self, c: &Config) -> String {
        match self {
            Scenario::SeqWechat => format!("sequential WeChat modify_wxa_jump_domain (x{})", c.seq),
            Scenario::SeqBaidu => format!("sequential Baidu modify_domain (x{})", c.seq),
            Scenario::SeqKuaishou => format!("sequential Kuaishou server_domain (x{})", c.seq),
            Scenario::Concurrent => format!(
                "concurrent WeChat, one client ({} calls, {} in flight)",
                c.calls, c.concurrency
            ),
            Scenario::Bulk => format!(
                "bulk Baidu set over {} apps ({} in flight)",
                c.apps, c.concurrency
            ),
            Scenario::Qr => format!("Baidu get_qr_code, 64 KiB (x{}, sequential)", c.qr),
        }
    }
}

/// The server the calls go to.
enum Server {
    /// On a thread of this process (its CPU time measured apart).
    Local(BenchServer),
    /// In another process (`--server URL`): the process's CPU time is the client's alone.
    Remote(String),
}

impl Server {
    fn base_url(&self) -> String {
        match self {
            Server::Local(s) => s.base_url(),
            Server::Remote(url) => url.clone(),
        }
    }

    /// The server's CPU time so far (zero when it runs in another process).
    fn cpu_time(&self) -> Duration {
        match self {
            Server::Local(s) => s.cpu_time(),
            Server::Remote(_) => Duration::ZERO,
        }
    }
}

/// Everything both sides call with, built once.
struct Fixture {
    wechat: wechat_component_api::Component,
    baidu: baidu_smartapp_api::Client,
    baidu_app: baidu_smartapp_api::AuthorizedApp,
    kuaishou: kuaishou_api::AuthorizedApp,
    wechat_req: wechat_component_api::third_party_domain::ModifyWxaJumpDomainRequest,
    baidu_req: baidu_smartapp_api::basic_info::ModifyDomainRequest,
    kuaishou_req: kuaishou_api::basic_info::ServerDomainRequest,
    qr_req: baidu_smartapp_api::basic_info::GetQrCodeRequest,

    base_wechat: Baseline,
    base_baidu: Baseline,
    base_kuaishou: Baseline,
    wechat_domains: Vec<String>,
    baidu_download: Vec<String>,
    baidu_request: Vec<String>,
    kuaishou_lists: [Vec<String>; 5],
}

impl Fixture {
    fn new(url: &str) -> Fixture {
        // SDK defaults throughout (default retry policy: a successful call never retries).
        let wechat = wechat_component_api::Client::with_base_url(url);
        let baidu = baidu_smartapp_api::Client::with_base_url(url);
        let kuaishou = kuaishou_api::Client::with_base_url(url, KUAISHOU_APP_ID);
        Fixture {
            wechat: wechat.component(WECHAT_TOKEN),
            baidu_app: baidu.authorizer(BAIDU_TOKEN),
            baidu,
            kuaishou: kuaishou.authorizer(KUAISHOU_TOKEN),
            wechat_req: wechat_set(),
            baidu_req: baidu_set(),
            kuaishou_req: kuaishou_set(),
            qr_req: baidu_qr(),
            base_wechat: Baseline::new(url),
            base_baidu: Baseline::new(url),
            base_kuaishou: Baseline::new(url),
            wechat_domains: owned(WECHAT_DOMAINS),
            baidu_download: owned(BAIDU_DOWNLOAD),
            baidu_request: owned(BAIDU_REQUEST),
            kuaishou_lists: [
                owned(KUAISHOU_REQUEST),
                owned(KUAISHOU_SOCKET),
                owned(KUAISHOU_UPLOAD),
                owned(KUAISHOU_DOWNLOAD),
                owned(KUAISHOU_UDP),
            ],
        }
    }

    async fn wechat(&self, side: Side) {
        match side {
            Side::Sdk => {
                let a = self.wechat.modify_wxa_jump_domain(&self.wechat_req).await;
                black_box(a.expect("SDK WeChat call"));
            }
            Side::Baseline => {
                let a = self
                    .base_wechat
                    .wechat_modify_wxa_jump_domain(WECHAT_TOKEN, "set", &self.wechat_domains, false)
                    .await;
                black_box(a.expect("baseline WeChat call"));
            }
        }
    }

    async fn baidu(&self, side: Side, token: Option<String>) {
        match side {
            Side::Sdk => {
                let a = match token {
                    // One handle per authorized app, as the bulk fan-out would make them.
                    Some(t) => {
                        self.baidu
                            .authorizer(t)
                            .modify_domain(&self.baidu_req)
                            .await
                    }
                    None => self.baidu_app.modify_domain(&self.baidu_req).await,
                };
                black_box(a.expect("SDK Baidu call"));
            }
            Side::Baseline => {
                let a = self
                    .base_baidu
                    .baidu_modify_domain(
                        token.as_deref().unwrap_or(BAIDU_TOKEN),
                        "set",
                        Some(&self.baidu_download),
                        Some(&self.baidu_request),
                    )
                    .await;
                black_box(a.expect("baseline Baidu call"));
            }
        }
    }

    async fn kuaishou(&self, side: Side) {
        match side {
            Side::Sdk => {
                let a = self.kuaishou.server_domain(&self.kuaishou_req).await;
                black_box(a.expect("SDK Kuaishou call"));
            }
            Side::Baseline => {
                let l = &self.kuaishou_lists;
                let body = KuaishouServerDomainBody {
                    action: "set",
                    request: &l[0],
                    socket: &l[1],
                    upload_file: &l[2],
                    download_file: &l[3],
                    udp: &l[4],
                };
                let a = self
                    .base_kuaishou
                    .kuaishou_server_domain(KUAISHOU_APP_ID, KUAISHOU_TOKEN, &body)
                    .await;
                black_box(a.expect("baseline Kuaishou call"));
            }
        }
    }

    async fn qr(&self, side: Side) {
        let len = match side {
            Side::Sdk => {
                let a = self.baidu_app.get_qr_code(&self.qr_req).await;
                black_box(a.expect("SDK QR call")).bytes.len()
            }
            Side::Baseline => {
                let a = self.base_baidu.baidu_qr_code(BAIDU_TOKEN, QR_WIDTH).await;
                black_box(a.expect("baseline QR call")).bytes.len()
            }
        };
        assert_eq!(len, QR_SIZE);
    }
}

/// One phase of one side.
#[derive(Clone, Debug, Default)]
struct Sample {
    calls: u64,
    wall: Duration,
    /// Per-call latencies in ns (sequential phases only).
    lat_ns: Vec<u64>,
    server_cpu: Duration,
    client_cpu: Duration,
    allocs: u64,
    alloc_bytes: u64,
    peak_growth: i64,
}

impl Sample {
    /// Adds another block of the same phase.
    fn merge(&mut self, other: Sample) {
        self.calls += other.calls;
        self.wall += other.wall;
        self.lat_ns.extend(other.lat_ns);
        self.server_cpu += other.server_cpu;
        self.client_cpu += other.client_cpu;
        self.allocs += other.allocs;
        self.alloc_bytes += other.alloc_bytes;
        self.peak_growth = self.peak_growth.max(other.peak_growth);
    }

    fn percentile_us(&self, p: usize) -> f64 {
        if self.lat_ns.is_empty() {
            return f64::NAN;
        }
        let mut v = self.lat_ns.clone();
        v.sort_unstable();
        let i = (v.len() * p / 100).min(v.len() - 1);
        v[i] as f64 / 1_000.0
    }
    fn rps(&self) -> f64 {
        self.calls as f64 / self.wall.as_secs_f64()
    }
    fn client_cpu_us_per_call(&self) -> f64 {
        self.client_cpu.as_secs_f64() * 1e6 / self.calls as f64
    }
    fn allocs_per_call(&self) -> f64 {
        self.allocs as f64 / self.calls as f64
    }
    fn alloc_kib_per_call(&self) -> f64 {
        self.alloc_bytes as f64 / 1024.0 / self.calls as f64
    }
    fn server_share(&self) -> f64 {
        self.server_cpu.as_secs_f64() / self.wall.as_secs_f64()
    }
}

/// Runs `body` (which makes `calls` calls and returns their latencies, if it times them) and
/// records wall time, both sides' CPU time and the client's allocations.
async fn measure<Fut>(server: &Server, calls: usize, body: Fut) -> Sample
where
    Fut: Future<Output = Vec<u64>>,
{
    let server0 = server.cpu_time();
    let process0 = cpu::process_cpu();
    alloc::reset_peak();
    let a0 = alloc::snapshot();
    let t0 = Instant::now();
    let lat_ns = body.await;
    let wall = t0.elapsed();
    let a1 = alloc::snapshot();
    let process1 = cpu::process_cpu();
    let server1 = server.cpu_time();
    let server_cpu = server1.saturating_sub(server0);
    Sample {
        calls: calls as u64,
        wall,
        lat_ns,
        server_cpu,
        client_cpu: process1.saturating_sub(process0).saturating_sub(server_cpu),
        allocs: a1.allocs - a0.allocs,
        alloc_bytes: a1.bytes - a0.bytes,
        peak_growth: a1.peak - a0.live,
    }
}

/// `n` calls one after the other, each timed.
async fn sequential<F, Fut>(n: usize, mut call: F) -> Vec<u64>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut lat = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        call(i).await;
        lat.push(t.elapsed().as_nanos() as u64);
    }
    lat
}

/// `n` calls by `workers` tasks pulling the next index from a shared counter.
async fn concurrent<F, Fut>(n: usize, workers: usize, call: F) -> Vec<u64>
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let next = next.clone();
            let call = call.clone();
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    call(i).await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("a worker panicked");
    }
    Vec::new()
}

/// Calls of one side in one round of `scenario`.
fn phase_calls(c: &Config, scenario: Scenario) -> usize {
    match scenario {
        Scenario::SeqWechat | Scenario::SeqBaidu | Scenario::SeqKuaishou => c.seq,
        Scenario::Concurrent => c.calls,
        Scenario::Bulk => c.apps,
        Scenario::Qr => c.qr,
    }
}

/// `n` calls of `scenario` on `side`, measured. The bulk fan-out's apps are numbered from
/// `first_app`.
async fn run_phase(
    server: &Server,
    fx: &Arc<Fixture>,
    c: &Config,
    scenario: Scenario,
    side: Side,
    n: usize,
    first_app: usize,
) -> Sample {
    match scenario {
        Scenario::SeqWechat => measure(server, n, sequential(n, |_| fx.wechat(side))).await,
        Scenario::SeqBaidu => measure(server, n, sequential(n, |_| fx.baidu(side, None))).await,
        Scenario::SeqKuaishou => measure(server, n, sequential(n, |_| fx.kuaishou(side))).await,
        Scenario::Concurrent => {
            let fx = fx.clone();
            let call = move |_| {
                let fx = fx.clone();
                async move { fx.wechat(side).await }
            };
            measure(server, n, concurrent(n, c.concurrency, call)).await
        }
        Scenario::Bulk => {
            let fx = fx.clone();
            let call = move |i| {
                let fx = fx.clone();
                async move { fx.baidu(side, Some(app_token(first_app + i))).await }
            };
            measure(server, n, concurrent(n, c.concurrency, call)).await
        }
        Scenario::Qr => measure(server, n, sequential(n, |_| fx.qr(side))).await,
    }
}

/// A tenth of a round's calls (warm-up, allocation census), at least a few per worker.
async fn run_small(
    server: &Server,
    fx: &Arc<Fixture>,
    c: &Config,
    scenario: Scenario,
    side: Side,
) -> Sample {
    let mut n = (phase_calls(c, scenario) / 10).max(1);
    if matches!(scenario, Scenario::Concurrent | Scenario::Bulk) {
        n = n.max(c.concurrency * 4);
    }
    run_phase(server, fx, c, scenario, side, n, 0).await
}

/// One round of `scenario`: the calls of each side split into `c.blocks` blocks, SDK and
/// baseline blocks interleaved (which side goes first alternates), so that slow drift of
/// the machine (other processes, frequency, the VM's neighbours) hits both sides alike.
async fn run_round(
    server: &Server,
    fx: &Arc<Fixture>,
    c: &Config,
    scenario: Scenario,
    round: usize,
) -> [Sample; 2] {
    let total = phase_calls(c, scenario);
    let blocks = c.blocks.clamp(1, total);
    let mut out = [Sample::default(), Sample::default()];
    let mut done = 0;
    for b in 0..blocks {
        let n = total * (b + 1) / blocks - done;
        let order = if (round + b) % 2 == 1 {
            [Side::Baseline, Side::Sdk]
        } else {
            [Side::Sdk, Side::Baseline]
        };
        for side in order {
            // Distinct apps in every block and round of the bulk fan-out.
            let first_app = round * total + done;
            let sample = run_phase(server, fx, c, scenario, side, n, first_app).await;
            out[side as usize].merge(sample);
        }
        done += n;
    }
    out
}

fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

#[derive(Clone, Copy)]
enum Target {
    None,
    /// SDK minus baseline at most this much.
    OverheadAtMost(f64),
    /// SDK / baseline at least this much.
    RatioAtLeast(f64),
    /// SDK / baseline at most this much.
    RatioAtMost(f64),
}

struct Figure {
    name: &'static str,
    unit: &'static str,
    get: fn(&Sample) -> f64,
    target: Target,
    /// From the allocation census (one counted run) rather than the timed rounds.
    census: bool,
}

fn figures(s: Scenario) -> Vec<Figure> {
    let p50 = |target| Figure {
        name: "p50 latency",
        unit: "µs",
        get: |s| s.percentile_us(50),
        target,
        census: false,
    };
    let p99 = Figure {
        name: "p99 latency",
        unit: "µs",
        get: |s| s.percentile_us(99),
        target: Target::None,
        census: false,
    };
    let rps = |target| Figure {
        name: "throughput",
        unit: "req/s",
        get: Sample::rps,
        target,
        census: false,
    };
    let cpu = Figure {
        name: "client CPU per call",
        unit: "µs",
        get: Sample::client_cpu_us_per_call,
        target: Target::None,
        census: false,
    };
    let allocs = Figure {
        name: "client allocations per call",
        unit: "",
        get: Sample::allocs_per_call,
        target: Target::None,
        census: true,
    };
    match s {
        Scenario::SeqWechat | Scenario::SeqBaidu | Scenario::SeqKuaishou => {
            vec![p50(Target::OverheadAtMost(5.0)), p99, cpu, allocs]
        }
        Scenario::Concurrent | Scenario::Bulk => {
            vec![rps(Target::RatioAtLeast(0.97)), cpu, allocs]
        }
        Scenario::Qr => vec![
            p50(Target::None),
            Figure {
                name: "peak live heap growth",
                unit: "KiB",
                get: |s| s.peak_growth as f64 / 1024.0,
                target: Target::RatioAtMost(1.10),
                census: true,
            },
            Figure {
                name: "bytes allocated per call",
                unit: "KiB",
                get: Sample::alloc_kib_per_call,
                target: Target::None,
                census: true,
            },
            cpu,
            allocs,
        ],
    }
}

fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        "n/a".into()
    } else if v.abs() >= 10_000.0 {
        format!("{v:.0}")
    } else if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

type Results = BTreeMap<(Scenario, Side), Vec<Sample>>;

fn report(c: &Config, results: &Results, census: &Results) {
    println!();
    println!(
        "| scenario | figure | SDK | baseline | SDK/baseline (rounds min–max) | SDK−baseline | target |"
    );
    println!("|---|---|---:|---:|---:|---:|---|");
    for s in SCENARIOS {
        for (k, f) in figures(s).iter().enumerate() {
            let from = if f.census { census } else { results };
            let sdk = &from[&(s, Side::Sdk)];
            let base = &from[&(s, Side::Baseline)];
            let vs: Vec<f64> = sdk.iter().map(f.get).collect();
            let vb: Vec<f64> = base.iter().map(f.get).collect();
            let (ms, mb) = (median(vs.clone()), median(vb.clone()));
            let ratio = ms / mb;
            let per_round: Vec<f64> = vs.iter().zip(&vb).map(|(a, b)| a / b).collect();
            let lo = per_round.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = per_round.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let verdict = match f.target {
                Target::None => String::new(),
                Target::OverheadAtMost(x) => format!(
                    "≤ +{x} {}: {}",
                    f.unit,
                    if ms - mb <= x { "met" } else { "MISSED" }
                ),
                Target::RatioAtLeast(x) => {
                    format!("≥ {x}×: {}", if ratio >= x { "met" } else { "MISSED" })
                }
                Target::RatioAtMost(x) => {
                    format!("≤ {x}×: {}", if ratio <= x { "met" } else { "MISSED" })
                }
            };
            let spread = if f.census {
                "census".to_owned()
            } else {
                format!("{lo:.3}–{hi:.3}")
            };
            println!(
                "| {} | {}{} | {} | {} | {:.3} ({}) | {} | {} |",
                if k == 0 { s.title(c) } else { String::new() },
                f.name,
                if f.unit.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", f.unit)
                },
                fmt_num(ms),
                fmt_num(mb),
                ratio,
                spread,
                fmt_num(ms - mb),
                verdict
            );
        }
    }
    println!();
    println!("Server CPU share (server thread CPU time / phase wall time, median over rounds; 100% = the one server core is saturated):");
    println!();
    println!("| scenario | SDK | baseline |");
    println!("|---|---:|---:|");
    for s in SCENARIOS {
        let share = |side| {
            median(
                results[&(s, side)]
                    .iter()
                    .map(|x| x.server_share() * 100.0)
                    .collect(),
            )
        };
        println!(
            "| {} | {:.0}% | {:.0}% |",
            s.title(c),
            share(Side::Sdk),
            share(Side::Baseline)
        );
    }
}

fn verbose_report(c: &Config, results: &Results, census: &Results) {
    println!();
    println!("Every round (SDK / baseline):");
    for s in SCENARIOS {
        let (Some(sdk), Some(base)) = (
            results.get(&(s, Side::Sdk)),
            results.get(&(s, Side::Baseline)),
        ) else {
            continue;
        };
        println!("  {}", s.title(c));
        for f in figures(s) {
            let (sdk, base) = if f.census {
                (&census[&(s, Side::Sdk)], &census[&(s, Side::Baseline)])
            } else {
                (sdk, base)
            };
            let rounds: Vec<String> = sdk
                .iter()
                .zip(base)
                .map(|(a, b)| format!("{}/{}", fmt_num((f.get)(a)), fmt_num((f.get)(b))))
                .collect();
            println!("    {:<30} {}", f.name, rounds.join("  "));
        }
        let shares: Vec<String> = sdk
            .iter()
            .zip(base)
            .map(|(a, b)| {
                format!(
                    "{:.0}%/{:.0}%",
                    a.server_share() * 100.0,
                    b.server_share() * 100.0
                )
            })
            .collect();
        println!("    {:<30} {}", "server CPU share", shares.join("  "));
    }
}

/// `--serve`: the bench server alone (pinned to the last CPU unless `--no-pin`), its URL on
/// the first line of stdout, until stdin closes.
fn serve(c: &Config) {
    alloc::set_counting(false);
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let server = if c.pin && cpus >= 2 {
        BenchServer::start_on_cpu(cpus - 1)
    } else {
        BenchServer::start()
    }
    .expect("start the bench server");
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", server.base_url()).expect("stdout");
        out.flush().expect("stdout");
    }
    let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
}

/// The scenarios `--callgrind` measures (the QR code's cost is the body's copy, measured by
/// its heap figures instead).
const CALLGRIND_SCENARIOS: [Scenario; 5] = [
    Scenario::SeqWechat,
    Scenario::SeqBaidu,
    Scenario::SeqKuaishou,
    Scenario::Concurrent,
    Scenario::Bulk,
];

/// `--callgrind`: for each scenario and side, the client-only instructions per call (two
/// runs under callgrind against a `--serve` process, at `--small` and `--large` calls) and
/// the allocations per call (counted in this process, same server, same sizes).
fn callgrind_mode(c: &Config) -> Result<(), String> {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    let exe = std::env::current_exe().map_err(|e| format!("finding this program: {e}"))?;
    let mut serve = Command::new(&exe);
    serve.arg("--serve");
    if !c.pin {
        serve.arg("--no-pin");
    }
    let mut child = serve
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting the bench server process: {e}"))?;
    let mut url = String::new();
    std::io::BufReader::new(child.stdout.take().expect("piped stdout"))
        .read_line(&mut url)
        .map_err(|e| format!("reading the bench server's URL: {e}"))?;
    let url = url.trim().to_owned();
    if url.is_empty() {
        let _ = child.kill();
        return Err("the bench server process printed no URL".into());
    }
    let temp;
    let dir = match &c.callgrind_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
            dir.clone()
        }
        None => {
            temp = tempfile::tempdir().map_err(|e| format!("a temporary directory: {e}"))?;
            temp.path().to_owned()
        }
    };
    eprintln!(
        "miniapp-bench load --callgrind: server process {} at {url}; {} and {} calls per run; profiles in {}",
        child.id(),
        c.small,
        c.large,
        dir.display()
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("client runtime: {e}"))?;
    let remote = Server::Remote(url.clone());
    let fx = Arc::new(Fixture::new(&url));
    let mut rows = Vec::new();
    let result = (|| {
        let chosen = CALLGRIND_SCENARIOS
            .into_iter()
            .filter(|s| c.only.as_ref().is_none_or(|(only, _)| only == s));
        for scenario in chosen {
            let mut per_side = Vec::new();
            for side in [Side::Baseline, Side::Sdk] {
                let side_name = match side {
                    Side::Sdk => "sdk",
                    Side::Baseline => "baseline",
                };
                let mut runs = Vec::new();
                for n in [c.small, c.large] {
                    let n_text = n.to_string();
                    let args: Vec<String> = [
                        "--only",
                        scenario.key(),
                        "--side",
                        side_name,
                        "--server",
                        &url,
                        "--rounds",
                        "1",
                        "--no-pin",
                        "--seq",
                        &n_text,
                        "--calls",
                        &n_text,
                        "--apps",
                        &n_text,
                        "--concurrency",
                        &c.concurrency.to_string(),
                    ]
                    .map(str::to_owned)
                    .into();
                    let out = dir.join(format!("{}-{side_name}-{n}.callgrind", scenario.key()));
                    let ir = miniapp_bench::callgrind::instructions(&exe, &args, &out)
                        .map_err(|e| e.to_string())?;
                    runs.push((ir, n));
                }
                let ir = miniapp_bench::callgrind::per_call(runs[0], runs[1]);
                // Allocations per call, counted here the same way (large minus small).
                let allocs = rt.block_on(async {
                    let counted = |n| {
                        let (remote, fx) = (&remote, &fx);
                        async move {
                            alloc::set_counting(true);
                            let s = run_phase(remote, fx, c, scenario, side, n, 0).await;
                            alloc::set_counting(false);
                            s.allocs
                        }
                    };
                    let small = counted(c.small).await;
                    let large = counted(c.large).await;
                    (large as f64 - small as f64) / (c.large - c.small) as f64
                });
                eprintln!(
                    "  {:<13} {:<8} {:>9.0} instructions, {:>6.1} allocations per call",
                    scenario.key(),
                    side_name,
                    ir,
                    allocs
                );
                per_side.push((ir, allocs));
            }
            rows.push((scenario, per_side[1], per_side[0]));
        }
        Ok::<(), String>(())
    })();
    drop(child.stdin.take());
    let _ = child.wait();
    result?;
    println!();
    println!("Client-only instructions per call (callgrind `Ir`, the server in another process; runs of {} and {} calls, the difference divided by {}):", c.small, c.large, c.large - c.small);
    println!();
    println!("| scenario | baseline | SDK | SDK / baseline | target | allocations per call (baseline / SDK) |");
    println!("|---|---:|---:|---:|---|---:|");
    let mut all_met = true;
    for (scenario, (sdk_ir, sdk_allocs), (base_ir, base_allocs)) in rows {
        let ratio = sdk_ir / base_ir;
        let met = ratio <= 1.03;
        all_met &= met;
        println!(
            "| {} | {:.0} | {:.0} | {:.3} | ≤ 1.03: {} | {:.1} / {:.1} |",
            scenario.key(),
            base_ir,
            sdk_ir,
            ratio,
            if met { "met" } else { "NOT met" },
            base_allocs,
            sdk_allocs
        );
    }
    println!();
    println!(
        "{}",
        if all_met {
            "Every scenario is within 3% of the hand-written client."
        } else {
            "Some scenario costs more than 3% over the hand-written client."
        }
    );
    Ok(())
}

/// `--only`: one scenario, no warm-up and no comparison (for running under a profiler).
fn only_report(c: &Config, scenario: Scenario, side: Side, samples: &[Sample]) {
    for (round, x) in samples.iter().enumerate() {
        let figs: Vec<String> = figures(scenario)
            .iter()
            .map(|f| format!("{} {}{}", f.name, fmt_num((f.get)(x)), f.unit))
            .collect();
        println!(
            "{} {:?} round {}: {}; server CPU {:.0}%",
            scenario.title(c),
            side,
            round + 1,
            figs.join(", "),
            x.server_share() * 100.0
        );
    }
}

fn main() {
    let c = match Config::parse() {
        Ok(c) => c,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("{e}");
            }
            eprintln!("{USAGE}");
            std::process::exit(if e.is_empty() { 0 } else { 2 });
        }
    };
    match c.mode {
        Mode::Load => {}
        Mode::Serve => return serve(&c),
        Mode::Callgrind => {
            if let Err(e) = callgrind_mode(&c) {
                eprintln!("error: {e}");
                std::process::exit(1);
            }
            return;
        }
    }
    let started = Instant::now();
    alloc::set_counting(true);
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let server = if let Some(url) = &c.server {
        Server::Remote(url.clone())
    } else if c.pin && cpus >= 2 {
        // Server on the last CPU, the client (and its runtime's threads, which inherit the
        // mask) on the others.
        let client: Vec<usize> = (0..cpus - 1).collect();
        if !cpu::pin_current_thread(&client) {
            eprintln!("warning: could not pin the client threads");
        }
        Server::Local(BenchServer::start_on_cpu(cpus - 1).expect("start the bench server"))
    } else {
        Server::Local(BenchServer::start().expect("start the bench server"))
    };
    let rt = if c.client_threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(c.client_threads)
            .enable_all()
            .build()
    }
    .expect("client runtime");

    if let Some((scenario, sides)) = &c.only {
        if !c.count_allocs {
            alloc::set_counting(false);
        }
        rt.block_on(async {
            let fx = Arc::new(Fixture::new(&server.base_url()));
            for &side in sides {
                let mut samples = Vec::new();
                for round in 0..c.rounds {
                    let n = phase_calls(&c, *scenario);
                    samples.push(run_phase(&server, &fx, &c, *scenario, side, n, round * n).await);
                }
                only_report(&c, *scenario, side, &samples);
            }
        });
        return;
    }

    eprintln!(
        "miniapp-bench load: {} rounds{}; server {} (1 thread{}), client runtime {} thread(s); {} CPUs",
        c.rounds,
        if c.quick { " (--quick)" } else { "" },
        server.base_url(),
        if c.pin { ", pinned" } else { "" },
        c.client_threads,
        cpus
    );
    let results = rt.block_on(async {
        let fx = Arc::new(Fixture::new(&server.base_url()));
        // Warm-up: open the connections, fill the pools, settle the allocator.
        for s in SCENARIOS {
            for side in [Side::Sdk, Side::Baseline] {
                run_small(&server, &fx, &c, s, side).await;
            }
        }
        // Allocation census, untimed, before the rounds: counting has been on since the start
        // of `main`, so every live byte is accounted for. The timed rounds run with counting
        // off, because it costs a few atomic operations per allocation and would tax the side
        // that allocates more.
        let mut census: Results = BTreeMap::new();
        for s in SCENARIOS {
            for side in [Side::Sdk, Side::Baseline] {
                let sample = run_small(&server, &fx, &c, s, side).await;
                census.entry((s, side)).or_default().push(sample);
            }
        }
        alloc::set_counting(false);
        let mut results: Results = BTreeMap::new();
        for round in 0..c.rounds {
            let t = Instant::now();
            for s in SCENARIOS {
                let [sdk, base] = run_round(&server, &fx, &c, s, round).await;
                results.entry((s, Side::Sdk)).or_default().push(sdk);
                results.entry((s, Side::Baseline)).or_default().push(base);
            }
            eprintln!(
                "  round {}/{} done in {:.1} s",
                round + 1,
                c.rounds,
                t.elapsed().as_secs_f64()
            );
        }
        (results, census)
    });
    let (results, census) = results;
    report(&c, &results, &census);
    if c.verbose {
        verbose_report(&c, &results, &census);
    }
    println!();
    println!(
        "Total run time: {:.1} s ({} rounds{}).",
        started.elapsed().as_secs_f64(),
        c.rounds,
        if c.quick { ", --quick" } else { "" }
    );
}
