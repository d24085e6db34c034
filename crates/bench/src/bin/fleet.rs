//! `cargo xtask bench --fleet` (`cargo run --release -p miniapp-bench --bin fleet -- [flags]`):
//! the release-day job against an in-process sandbox fleet.
//!
//! 1. **Fan-out**: APPS apps per vendor, sandbox latency LATENCY ± JITTER, each vendor
//!    enforcing RATE/s with its own rate-limit code (the job is not told the rate: it finds
//!    it) and CONCURRENCY in flight per vendor: plan and plan + apply against the physical
//!    minimum, the requests the vendor answered ÷ RATE (worst vendor).
//! 2. **Memory**: the job's peak heap (the sandbox's threads are not counted) planning and
//!    applying 10× fewer and 10× more apps on one vendor, no latency, no rate limit.
//! 3. **Resume**: apply stopped at half way, then resumed: how many rows were read again
//!    (only those whose outcome was unknown should be), and the journal's cost per row.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use miniapp_bench::alloc::{self, CountingAlloc};
use miniapp_fleet::credentials::{self, Credentials, StoreSpec};
use miniapp_fleet::plan::{Progress, Quiet};
use miniapp_fleet::vendors::{Backend, Backends, BoxFuture, Vendor};
use miniapp_fleet::{ApplyOptions, DesiredState, Journal};
use miniapp_sandbox::{Sandbox, SandboxOptions};

#[global_allocator]
static A: CountingAlloc = CountingAlloc;

struct Args {
    apps: usize,
    latency_ms: u64,
    jitter_ms: u64,
    rate: u32,
    concurrency: usize,
    memory_apps: usize,
    skip_memory: bool,
    /// The fan-out's token store: `sqlite` (the CLI's default) or `memory`.
    token_store: String,
    /// The fan-out's journal: `sqlite` (the CLI's default) or `postgres` (a fresh local
    /// server, fsync off).
    journal: String,
    /// Apply workers on the journal (each with its own clients and limiters, as processes).
    workers: usize,
    /// The memory run's token store: `sqlite` (the CLI's default) or `redis`.
    memory_store: String,
    skip_resume: bool,
    skip_baseline: bool,
    /// Print, once a second during a several-worker apply, each vendor's answered and
    /// throttled calls, each worker's paced rate and the journal's rows by state.
    trace_rates: bool,
}

fn parse() -> Args {
    let mut a = Args {
        apps: 10_000,
        latency_ms: 30,
        jitter_ms: 5,
        rate: 1000,
        concurrency: 64,
        memory_apps: 10_000,
        skip_memory: false,
        token_store: "sqlite".into(),
        journal: "sqlite".into(),
        workers: 1,
        memory_store: "sqlite".into(),
        skip_resume: false,
        skip_baseline: false,
        trace_rates: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut num = || -> u64 {
            it.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{flag} needs a number"))
        };
        match flag.as_str() {
            "--apps" => a.apps = num() as usize,
            "--latency-ms" => a.latency_ms = num(),
            "--jitter-ms" => a.jitter_ms = num(),
            "--rate" => a.rate = num() as u32,
            "--concurrency" => a.concurrency = num() as usize,
            "--memory-apps" => a.memory_apps = num() as usize,
            "--skip-memory" => a.skip_memory = true,
            "--token-store" => a.token_store = it.next().expect("--token-store sqlite|memory"),
            "--journal" => a.journal = it.next().expect("--journal sqlite|postgres"),
            "--workers" => a.workers = num().max(1) as usize,
            "--memory-store" => a.memory_store = it.next().expect("--memory-store sqlite|redis"),
            "--skip-resume" => a.skip_resume = true,
            "--skip-baseline" => a.skip_baseline = true,
            "--trace-rates" => a.trace_rates = true,
            "--help" | "-h" => {
                println!("usage: fleet [--apps N] [--latency-ms MS] [--jitter-ms MS] [--rate R] [--concurrency N] [--memory-apps N] [--skip-memory] [--token-store sqlite|memory] [--journal sqlite|postgres] [--workers N] [--memory-store sqlite|redis] [--skip-resume] [--skip-baseline] [--trace-rates]");
                std::process::exit(0);
            }
            other => panic!("unknown flag {other}; see --help"),
        }
    }
    a
}

const DESIRED: &str = r#"
[[set]]
vendor = "wechat"
resource = "platform_jump_domains"
value = { wxa_jump_h5_domain = ["h5.example.com"] }

[[set]]
vendor = "wechat"
resource = "webview_domains"
value = { webviewdomain = ["https://h5.example.com"] }

[[set]]
vendor = "baidu"
resource = "min_support_version"
value = { version = "3.60.2" }

[[set]]
vendor = "kuaishou"
resource = "webview_domains"
value = { webview = ["https://h5.example.com"] }
"#;

/// Per vendor: when its last row finished (and how many it finished), and a stop at a count.
#[derive(Default)]
struct Clock {
    started: Mutex<Option<Instant>>,
    last: Mutex<BTreeMap<Vendor, Duration>>,
    done: AtomicU64,
    stop_at: Option<u64>,
    stop: tokio::sync::Notify,
}

impl Progress for Clock {
    fn start(&self, _: Vendor, _: u64) {
        self.started
            .lock()
            .unwrap()
            .get_or_insert_with(Instant::now);
    }
    fn step(&self, vendor: Vendor) {
        let at = self
            .started
            .lock()
            .unwrap()
            .map(|s| s.elapsed())
            .unwrap_or_default();
        self.last.lock().unwrap().insert(vendor, at);
        let n = self.done.fetch_add(1, Relaxed) + 1;
        if self.stop_at == Some(n) {
            self.stop.notify_one();
        }
    }
    fn finish(&self, _: Vendor) {}
}

/// A sandbox on its own runtime, whose threads the allocation counter skips.
struct OwnSandbox {
    sandbox: Option<Sandbox>,
    rt: Option<tokio::runtime::Runtime>,
}

impl std::ops::Deref for OwnSandbox {
    type Target = Sandbox;
    fn deref(&self) -> &Sandbox {
        self.sandbox.as_ref().expect("running")
    }
}

impl Drop for OwnSandbox {
    fn drop(&mut self) {
        drop(self.sandbox.take());
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// The CPU each thread name used since `before` (threads that ended in between are missing).
fn threads_since(before: &BTreeMap<String, Duration>) -> BTreeMap<String, Duration> {
    miniapp_bench::cpu::cpu_by_thread_name()
        .into_iter()
        .map(|(name, now)| {
            let then = before.get(&name).copied().unwrap_or_default();
            (name, now.saturating_sub(then))
        })
        .collect()
}

/// The in-process sandbox's threads (their CPU is not the client's).
static SANDBOX_THREADS: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// The CPU time of sandbox threads that have ended (the process's total keeps it).
static ENDED_SANDBOX_CPU: Mutex<Duration> = Mutex::new(Duration::ZERO);

/// CPU time of the job so far: the process's, less the sandbox threads' (live and ended).
fn client_cpu() -> Duration {
    let threads = SANDBOX_THREADS.lock().unwrap();
    let sandbox: Duration = threads
        .iter()
        .map(|tid| miniapp_bench::cpu::thread_cpu(*tid))
        .sum::<Duration>()
        + *ENDED_SANDBOX_CPU.lock().unwrap();
    miniapp_bench::cpu::process_cpu_total().saturating_sub(sandbox)
}

async fn sandbox(options: SandboxOptions) -> OwnSandbox {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("sandbox")
        .on_thread_start(|| {
            alloc::exclude_this_thread();
            if let Some(tid) = miniapp_bench::cpu::current_tid() {
                SANDBOX_THREADS.lock().unwrap().push(tid);
            }
        })
        .on_thread_stop(|| {
            // Its time moves from the live list to the ended total in one step (a thread
            // that ends between two readings is counted once).
            if let Some(tid) = miniapp_bench::cpu::current_tid() {
                let mut threads = SANDBOX_THREADS.lock().unwrap();
                *ENDED_SANDBOX_CPU.lock().unwrap() += miniapp_bench::cpu::thread_cpu(tid);
                threads.retain(|t| *t != tid);
            }
        })
        .enable_all()
        .build()
        .unwrap();
    let sandbox = rt
        .spawn(Sandbox::start_with(options))
        .await
        .unwrap()
        .unwrap();
    OwnSandbox {
        sandbox: Some(sandbox),
        rt: Some(rt),
    }
}

struct Setup {
    dir: tempfile::TempDir,
    inventory: std::path::PathBuf,
    desired: DesiredState,
}

fn setup(sandbox: &Sandbox, vendors: &[Vendor], desired: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("inventory.jsonl");
    miniapp_fleet::sandbox::write_inventory(sandbox, vendors, &inventory).unwrap();
    let path = dir.path().join("desired.toml");
    std::fs::write(&path, desired).unwrap();
    let desired = DesiredState::load(&path).unwrap();
    Setup {
        dir,
        inventory,
        desired,
    }
}

fn creds() -> Credentials {
    miniapp_fleet::sandbox::credentials(StoreSpec::Memory, Vendor::ALL)
}

/// The plan's calls written by hand with `reqwest`, as a user without the SDK would: per app
/// of WeChat's shape, the authorizer-token call then the read of the webview domains, each
/// answer parsed and a JSON line written per app; as many apps in flight as the job has over
/// its three vendors (3 × `--concurrency`), against a sandbox of the same latency. Its client
/// CPU per request is the floor the job's own figure is read against.
async fn baseline(a: &Args) {
    // The same sandbox as the job's, without the rate limit (the baseline is not paced).
    let sandbox = sandbox(fan_out_options(a, None)).await;
    let base = sandbox.base_url();
    let platform = miniapp_fleet::sandbox::platform_app_id(Vendor::Wechat);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(usize::MAX)
        .build()
        .unwrap();
    // The platform token, once (not measured).
    let answer: serde_json::Value = http
        .post(format!("{base}/cgi-bin/component/api_component_token"))
        .json(&serde_json::json!({
            "component_appid": platform,
            "component_appsecret": "sandbox-secret",
            "component_verify_ticket": "sandbox-ticket",
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let component = answer["component_access_token"]
        .as_str()
        .expect("a component token")
        .to_owned();
    // Three rounds over WeChat's apps: as many requests as the three vendors' plan.
    let apps: Vec<&miniapp_sandbox::FleetApp> = (0..3)
        .flat_map(|_| sandbox.fleet_apps(Vendor::Wechat))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let out = Mutex::new(std::io::BufWriter::new(
        std::fs::File::create(dir.path().join("baseline.jsonl")).unwrap(),
    ));
    let (http, component, platform, out, base) = (&http, &component, &platform, &out, &base);
    let failed = AtomicU64::new(0);
    let failed = &failed;
    // Heap counted as in the job's phases (the counting costs CPU: both sides pay it).
    alloc::set_counting(true);
    alloc::reset_peak();
    let heap_before = alloc::snapshot().live;
    let cpu_before = client_cpu();
    let started = Instant::now();
    futures_util::stream::iter(apps)
        .map(|app| async move {
            let token: serde_json::Value = http
                .post(format!("{base}/cgi-bin/component/api_authorizer_token"))
                .query(&[("component_access_token", component.as_str())])
                .json(&serde_json::json!({
                    "component_appid": platform,
                    "authorizer_appid": app.app_id,
                    "authorizer_refresh_token": app.refresh_token,
                }))
                .send()
                .await?
                .json()
                .await?;
            let Some(access) = token["authorizer_access_token"].as_str() else {
                failed.fetch_add(1, Relaxed);
                return Ok(());
            };
            let current: serde_json::Value = http
                .post(format!("{base}/wxa/setwebviewdomain"))
                .query(&[("access_token", access)])
                .json(&serde_json::json!({ "action": "get" }))
                .send()
                .await?
                .json()
                .await?;
            if current["errcode"].as_i64().unwrap_or(0) != 0 {
                failed.fetch_add(1, Relaxed);
            }
            let line = serde_json::json!({ "app_id": app.app_id, "current": current });
            use std::io::Write;
            writeln!(out.lock().unwrap(), "{line}").unwrap();
            Ok::<_, reqwest::Error>(())
        })
        .buffer_unordered(3 * a.concurrency)
        .for_each(|r| async move {
            if r.is_err() {
                failed.fetch_add(1, Relaxed);
            }
        })
        .await;
    let took = started.elapsed();
    let cpu = client_cpu() - cpu_before;
    let heap = alloc::snapshot().peak - heap_before;
    alloc::set_counting(false);
    let requests = 2 * 3 * a.apps as u64;
    println!(
        "\nbaseline (hand-written reqwest, the plan's WeChat calls: token then read, {} apps in flight, latency {} ± {} ms): {} requests in {:.2} s, {} failed, client CPU {:.1} µs per request, heap peak {:.2} MiB",
        3 * a.concurrency,
        a.latency_ms,
        a.jitter_ms,
        requests,
        took.as_secs_f64(),
        failed.load(Relaxed),
        cpu.as_secs_f64() * 1e6 / requests as f64,
        heap as f64 / 1048576.0
    );
}

/// A vendor's backend that counts its writes in flight (the apply's calls).
struct Counted {
    inner: Arc<dyn Backend>,
    in_flight: Arc<std::sync::atomic::AtomicUsize>,
}

impl Backend for Counted {
    fn vendor(&self) -> Vendor {
        self.inner.vendor()
    }
    fn resources(&self) -> &'static [core_http::resource::ResourceDescriptor] {
        self.inner.resources()
    }
    fn validate(
        &self,
        name: &str,
        value: &core_http::resource::ResourceValue,
    ) -> Result<(), core_http::InvalidRequest> {
        self.inner.validate(name, value)
    }
    fn import<'a>(
        &'a self,
        app: &'a str,
        refresh_token: core_http::Secret,
    ) -> BoxFuture<'a, Result<bool, core_http::Error>> {
        self.inner.import(app, refresh_token)
    }
    fn read<'a>(
        &'a self,
        app: Option<&'a str>,
        name: &'a str,
    ) -> BoxFuture<'a, Result<core_http::resource::ResourceValue, core_http::Error>> {
        self.inner.read(app, name)
    }
    fn write<'a>(
        &'a self,
        app: Option<&'a str>,
        name: &'a str,
        value: &'a core_http::resource::ResourceValue,
    ) -> BoxFuture<'a, Result<(), core_http::Error>> {
        Box::pin(async move {
            self.in_flight.fetch_add(1, Relaxed);
            let result = self.inner.write(app, name, value).await;
            self.in_flight.fetch_sub(1, Relaxed);
            result
        })
    }
    fn rate_limiter(&self) -> Option<&Arc<core_http::RateLimiter>> {
        self.inner.rate_limiter()
    }
}

/// The mean writes in flight per vendor over its busy span (first to last sample with a write
/// in flight), sampled every millisecond while `work` runs.
async fn in_flight_while<T, F: std::future::Future<Output = T>>(
    clients: &Backends,
    work: impl FnOnce(Backends) -> F,
) -> (T, BTreeMap<Vendor, f64>) {
    let counters: BTreeMap<Vendor, Arc<std::sync::atomic::AtomicUsize>> =
        clients.keys().map(|v| (*v, Arc::default())).collect();
    let counted: Backends = clients
        .iter()
        .map(|(v, inner)| {
            let backend: Arc<dyn Backend> = Arc::new(Counted {
                inner: inner.clone(),
                in_flight: counters[v].clone(),
            });
            (*v, backend)
        })
        .collect();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let (counters, done) = (counters.clone(), done.clone());
        tokio::spawn(async move {
            let mut samples: BTreeMap<Vendor, Vec<usize>> = BTreeMap::new();
            while !done.load(Relaxed) {
                for (v, c) in &counters {
                    samples.entry(*v).or_default().push(c.load(Relaxed));
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            samples
        })
    };
    let out = work(counted).await;
    done.store(true, Relaxed);
    let samples = sampler.await.unwrap();
    let means = samples
        .into_iter()
        .filter_map(|(v, s)| {
            let first = s.iter().position(|n| *n > 0)?;
            let last = s.iter().rposition(|n| *n > 0)?;
            let busy = &s[first..=last];
            Some((v, busy.iter().sum::<usize>() as f64 / busy.len() as f64))
        })
        .collect();
    (out, means)
}

/// The fan-out's sandbox: `--apps` per vendor in token mode, `--latency-ms` ± `--jitter-ms`,
/// each vendor answering its rate-limit code beyond `rate_limit` calls a second.
fn fan_out_options(a: &Args, rate_limit: Option<u32>) -> SandboxOptions {
    SandboxOptions {
        enforce_tokens: true,
        apps: a.apps,
        latency: Duration::from_millis(a.latency_ms),
        latency_jitter: Duration::from_millis(a.jitter_ms),
        rate_limit,
        ..Default::default()
    }
}

async fn fan_out(a: &Args) {
    // The vendors enforce the rate (each answers its own rate-limit code beyond it); the job
    // is not told it: each vendor's client finds it.
    let sandbox = sandbox(fan_out_options(a, (a.rate > 0).then_some(a.rate))).await;
    let s = setup(&sandbox, Vendor::ALL, DESIRED);
    let mut c = creds();
    if a.token_store == "sqlite" {
        c.store = StoreSpec::Sqlite(Some(s.dir.path().join("tokens.sqlite")));
    }
    let clients = credentials::clients(&c, Some(&sandbox.base_url()))
        .await
        .unwrap();
    let plan = s.dir.path().join("plan.jsonl");
    alloc::set_counting(true);
    alloc::reset_peak();
    let heap_before_plan = alloc::snapshot().live;
    let cpu_before_plan = client_cpu();
    let threads_before_plan = miniapp_bench::cpu::cpu_by_thread_name();
    let started = Instant::now();
    let summary = miniapp_fleet::plan(
        &s.desired,
        &s.inventory,
        &clients,
        None,
        &plan,
        a.concurrency,
        &Quiet,
    )
    .await
    .unwrap();
    let planned = started.elapsed();
    let plan_cpu = client_cpu() - cpu_before_plan;
    let plan_threads = threads_since(&threads_before_plan);
    let plan_heap = alloc::snapshot().peak - heap_before_plan;
    let after_plan: BTreeMap<Vendor, miniapp_sandbox::Traffic> = Vendor::ALL
        .iter()
        .map(|v| (*v, sandbox.traffic(*v)))
        .collect();
    let pg = (a.journal == "postgres").then(|| {
        miniapp_tests::postgres::PostgresServer::start()
            .expect("--journal postgres needs initdb and postgres (Debian: postgresql)")
    });
    let url = match &pg {
        Some(pg) => pg.url(),
        None => format!("sqlite:{}", s.dir.path().join("j.sqlite").display()),
    };
    let journal = Journal::open(&url).await.unwrap();
    let job = miniapp_fleet::load_plan(&plan, &journal).await.unwrap();
    let clock = Clock::default();
    let options = ApplyOptions {
        concurrency: a.concurrency,
        ..Default::default()
    };
    alloc::reset_peak();
    let heap_before_apply = alloc::snapshot().live;
    let cpu_before_apply = client_cpu();
    let threads_before_apply = miniapp_bench::cpu::cpu_by_thread_name();
    let applying = Instant::now();
    let mut shared = None;
    let (outcome, in_flight) = if a.workers == 1 {
        let (job, journal, options, clock) = (&job, &journal, &options, &clock);
        in_flight_while(&clients, move |counted| async move {
            miniapp_fleet::apply(job, journal, &counted, options, clock)
                .await
                .unwrap()
        })
        .await
    } else {
        // Several workers, each with its own clients (limiters, connections), as processes
        // on one host: one token file, one journal; they share each vendor's rate through it.
        let mut each = Vec::new();
        for w in 0..a.workers {
            let clients = credentials::clients(&c, Some(&sandbox.base_url()))
                .await
                .unwrap();
            let options = ApplyOptions {
                worker: format!("bench-{w}"),
                ..options.clone()
            };
            // Its own connections, as a process has.
            let journal = Journal::open(&url).await.unwrap();
            each.push((clients, options, journal));
        }
        let done = std::sync::atomic::AtomicBool::new(false);
        let tracer = async {
            if !a.trace_rates {
                return;
            }
            let limiters: Vec<(Vendor, Vec<Arc<core_http::RateLimiter>>)> = Vendor::ALL
                .iter()
                .map(|v| {
                    let each = each
                        .iter()
                        .filter_map(|(clients, _, _)| clients.get(v)?.rate_limiter().cloned())
                        .collect();
                    (*v, each)
                })
                .collect();
            let started = Instant::now();
            let mut last: BTreeMap<Vendor, (u64, u64)> = BTreeMap::new();
            while !done.load(Relaxed) {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let counts = journal.counts(&job).await.unwrap_or_default();
                for (v, limiters) in &limiters {
                    let t = sandbox.traffic(*v);
                    let (a0, t0) = last
                        .insert(*v, (t.answered, t.throttled))
                        .unwrap_or_default();
                    let rates: Vec<String> = limiters
                        .iter()
                        .map(|l| format!("{:.0}", l.current_rate().unwrap_or(f64::NAN)))
                        .collect();
                    let states: Vec<String> = counts
                        .iter()
                        .filter(|(cv, s, _)| cv == v && !s.is_final())
                        .map(|(_, s, n)| format!("{s:?} {n}"))
                        .collect();
                    let cut = miniapp_fleet::budget::last_cut(&journal, &job, *v)
                        .await
                        .ok()
                        .and_then(|(c, n)| Some((c?, n)))
                        .map_or("no cut".to_owned(), |(c, n)| {
                            format!(
                                "cut {n}: {:.0} after, max {:.0}",
                                c.rate_after_cut, c.last_max_rate
                            )
                        });
                    eprintln!(
                            "  t={:>5.1}s {:<8} answered {:>5}/s throttled {:>4}/s paced [{}] {cut} open rows [{}]",
                            started.elapsed().as_secs_f64(),
                            v.as_str(),
                            t.answered - a0,
                            t.throttled - t0,
                            rates.join(" "),
                            states.join(", ")
                        );
                }
            }
        };
        let work = async {
            let outcomes =
                futures_util::future::join_all(each.iter().map(|(clients, options, journal)| {
                    miniapp_fleet::apply(&job, journal, clients, options, &clock)
                }))
                .await;
            done.store(true, Relaxed);
            outcomes
        };
        let (outcomes, ()) = futures_util::future::join(work, tracer).await;
        let mut cuts = Vec::new();
        for v in Vendor::ALL {
            let (cut, n) = miniapp_fleet::budget::last_cut(&journal, &job, *v)
                .await
                .unwrap();
            cuts.push(format!(
                "{v} {n} cut(s), last to {:.0}/s",
                cut.map_or(f64::NAN, |c| c.rate_after_cut)
            ));
        }
        shared = Some(cuts.join(", "));
        (
            outcomes.into_iter().next().unwrap().unwrap(),
            BTreeMap::new(),
        )
    };
    let applied = applying.elapsed();
    let apply_cpu = client_cpu() - cpu_before_apply;
    let apply_threads = threads_since(&threads_before_apply);
    let apply_heap = alloc::snapshot().peak - heap_before_apply;
    alloc::set_counting(false);
    let report = miniapp_fleet::report::report(&journal, &job, None)
        .await
        .unwrap();
    let rate = a.rate as f64;
    println!(
        "\nfan-out: {} apps per vendor, latency {} ± {} ms, vendors enforce {}/s each (their own rate-limit codes; the job is not told), {} in flight per vendor, {} token store, {} journal, {} apply worker(s)",
        a.apps, a.latency_ms, a.jitter_ms, a.rate, a.concurrency, a.token_store, a.journal, a.workers
    );
    if let Some(shared) = &shared {
        println!("  the workers' shared rate: {shared}");
    }
    println!(
        "  plan entries: {} to change, {} unreachable, {} re-authorize; apply: {:?} after {} pass(es); rows re-authorize: {}, failed: {}, not done: {}",
        summary.total(miniapp_fleet::plan::Action::Set),
        summary.total(miniapp_fleet::plan::Action::Unreachable),
        summary.total(miniapp_fleet::plan::Action::Reauth),
        outcome.end,
        outcome.passes,
        report.total(miniapp_fleet::journal::RowState::Reauth),
        report.total(miniapp_fleet::journal::RowState::Failed),
        report.total(miniapp_fleet::journal::RowState::Unknown)
            + report.total(miniapp_fleet::journal::RowState::Planned)
            + report.total(miniapp_fleet::journal::RowState::Sending),
    );
    println!(
        "  {:<9} {:>9} {:>9} {:>9} {:>10} {:>10} {:>7} {:>8} {:>8}",
        "vendor",
        "answered",
        "throttled",
        "plan (s)",
        "plan min",
        "total (s)",
        "minimum",
        "plan ×",
        "total ×"
    );
    let mut worst_plan: f64 = 0.0;
    let mut plan_min: f64 = 0.0;
    let mut total_min: f64 = 0.0;
    for vendor in Vendor::ALL {
        let t = sandbox.traffic(*vendor);
        let p = after_plan[vendor];
        let pmin = p.answered as f64 / rate;
        let tmin = t.answered as f64 / rate;
        plan_min = plan_min.max(pmin);
        total_min = total_min.max(tmin);
        worst_plan = worst_plan.max(pmin);
        println!(
            "  {:<9} {:>9} {:>9} {:>9.2} {:>10.2} {:>10.2} {:>7.2} {:>8.3} {:>8.3}",
            vendor.as_str(),
            t.answered,
            t.throttled,
            planned.as_secs_f64(),
            pmin,
            (planned + applied).as_secs_f64(),
            tmin,
            planned.as_secs_f64() / pmin,
            (planned + applied).as_secs_f64() / tmin,
        );
    }
    println!(
        "  whole job: plan {:.2} s (minimum {:.2} s, {:.3}×), plan + apply {:.2} s (minimum {:.2} s, {:.3}×); rates found: {}",
        planned.as_secs_f64(),
        plan_min,
        planned.as_secs_f64() / plan_min,
        (planned + applied).as_secs_f64(),
        total_min,
        (planned + applied).as_secs_f64() / total_min,
        clients
            .iter()
            .map(|(v, c)| format!(
                "{v} {:.0}/s",
                c.rate_limiter().and_then(|l| l.current_rate()).unwrap_or(f64::NAN)
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = worst_plan;
    let requests =
        |traffic: &dyn Fn(Vendor) -> u64| Vendor::ALL.iter().map(|v| traffic(*v)).sum::<u64>();
    let plan_requests = requests(&|v| after_plan[&v].answered + after_plan[&v].throttled);
    let all_requests = requests(&|v| {
        let t = sandbox.traffic(v);
        t.answered + t.throttled
    });
    let apply_requests = all_requests - plan_requests;
    let apps = a.apps as f64;
    for (phase, threads, n) in [
        ("plan", &plan_threads, plan_requests),
        ("apply", &apply_threads, apply_requests),
    ] {
        let each: Vec<String> = threads
            .iter()
            .filter(|(name, _)| name.as_str() != "sandbox")
            .map(|(name, cpu)| format!("{name} {:.1}", cpu.as_secs_f64() * 1e6 / n.max(1) as f64))
            .collect();
        println!(
            "  {phase:<5} client CPU per request by thread (µs, live threads): {}",
            each.join(", ")
        );
    }
    for (phase, took, cpu, n, heap) in [
        ("plan", planned, plan_cpu, plan_requests, plan_heap),
        ("apply", applied, apply_cpu, apply_requests, apply_heap),
    ] {
        println!(
            "  {phase:<5} {:>8.2} s  {:>7.1} µs per app  {:>9} vendor requests  client CPU {:>6.1} µs per request  heap peak {:>7.2} MiB",
            took.as_secs_f64(),
            took.as_secs_f64() * 1e6 / apps,
            n,
            cpu.as_secs_f64() * 1e6 / n.max(1) as f64,
            heap as f64 / 1048576.0
        );
    }
    println!(
        "  apply's writes in flight over each vendor's busy span (mean ÷ --concurrency {}): {}",
        a.concurrency,
        in_flight
            .iter()
            .map(|(v, mean)| format!("{v} {mean:.1} ({:.2})", mean / a.concurrency as f64))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

/// Plan + apply of `apps` WeChat apps (no latency, no limit): the job's peak heap, with the
/// tokens in `store` (SQLite's own page cache is not on the Rust heap: it is bounded by its
/// `cache_size`).
async fn peak(apps: usize, store: StoreSpec) -> (i64, Duration) {
    let sandbox = sandbox(SandboxOptions {
        enforce_tokens: true,
        apps,
        ..Default::default()
    })
    .await;
    let s = setup(&sandbox, &[Vendor::Wechat], DESIRED);
    let mut c = creds();
    c.platforms.retain(|v, _| *v == Vendor::Wechat);
    c.store = match store {
        StoreSpec::Sqlite(None) => StoreSpec::Sqlite(Some(s.dir.path().join("tokens.sqlite"))),
        other => other,
    };
    alloc::set_counting(true);
    alloc::reset_peak();
    let base = alloc::snapshot().live;
    let started = Instant::now();
    let clients = credentials::clients(&c, Some(&sandbox.base_url()))
        .await
        .unwrap();
    let plan = s.dir.path().join("plan.jsonl");
    miniapp_fleet::plan(&s.desired, &s.inventory, &clients, None, &plan, 64, &Quiet)
        .await
        .unwrap();
    let journal = Journal::open(&format!(
        "sqlite:{}",
        s.dir.path().join("j.sqlite").display()
    ))
    .await
    .unwrap();
    let job = miniapp_fleet::load_plan(&plan, &journal).await.unwrap();
    miniapp_fleet::apply(&job, &journal, &clients, &ApplyOptions::default(), &Quiet)
        .await
        .unwrap();
    let took = started.elapsed();
    let peak = alloc::snapshot().peak - base;
    alloc::set_counting(false);
    drop(clients);
    (peak, took)
}

async fn resume(apps: usize) {
    let sandbox = sandbox(SandboxOptions {
        enforce_tokens: true,
        apps,
        latency: Duration::from_millis(2),
        ..Default::default()
    })
    .await;
    let s = setup(&sandbox, &[Vendor::Wechat], DESIRED);
    let mut c = creds();
    c.platforms.retain(|v, _| *v == Vendor::Wechat);
    let clients = credentials::clients(&c, Some(&sandbox.base_url()))
        .await
        .unwrap();
    let plan = s.dir.path().join("plan.jsonl");
    miniapp_fleet::plan(&s.desired, &s.inventory, &clients, None, &plan, 64, &Quiet)
        .await
        .unwrap();
    let reads = |sandbox: &Sandbox| -> usize {
        sandbox
            .fleet_apps(core_http::Vendor::Wechat)
            .iter()
            .map(|a| {
                let c = sandbox.counters(core_http::Vendor::Wechat, &a.app_id);
                c.requests.get("SetWebviewDomain").copied().unwrap_or(0) - c.writes_attempted
            })
            .sum()
    };
    let journal = Journal::open(&format!(
        "sqlite:{}",
        s.dir.path().join("j.sqlite").display()
    ))
    .await
    .unwrap();
    let job = miniapp_fleet::load_plan(&plan, &journal).await.unwrap();
    let clock = Arc::new(Clock {
        stop_at: Some(apps as u64 / 2),
        ..Default::default()
    });
    let options = ApplyOptions::default();
    let stop = Arc::clone(&options.stop);
    let started = Instant::now();
    let watcher = {
        let clock = Arc::clone(&clock);
        tokio::spawn(async move {
            clock.stop.notified().await;
            stop.store(true, Relaxed);
        })
    };
    miniapp_fleet::apply(&job, &journal, &clients, &options, &*clock)
        .await
        .unwrap();
    watcher.abort();
    let stopped = started.elapsed();
    let counts = journal.counts(&job).await.unwrap();
    let in_flight: i64 = counts
        .iter()
        .filter(|(_, s, _)| {
            matches!(
                s,
                miniapp_fleet::journal::RowState::Sending
                    | miniapp_fleet::journal::RowState::Unknown
            )
        })
        .map(|(_, _, n)| n)
        .sum();
    let before = reads(&sandbox);
    let started = Instant::now();
    miniapp_fleet::apply(&job, &journal, &clients, &ApplyOptions::default(), &Quiet)
        .await
        .unwrap();
    let resumed = started.elapsed();
    let reread = reads(&sandbox) - before;
    println!(
        "\nresume: {apps} WeChat apps, stopped at half way ({:.2} s), resumed ({:.2} s)",
        stopped.as_secs_f64(),
        resumed.as_secs_f64()
    );
    println!(
        "  rows left sending/unknown at the stop: {in_flight}; rows read again on resume: {reread}"
    );
    let done_before = clock.done.load(Relaxed);
    println!("  rows finished before the stop: {done_before}; none of them was read again");
    let per_row = (stopped + resumed).as_secs_f64() * 1e6 / apps as f64;
    println!(
        "  wall time per row (2 ms sandbox latency, 64 in flight, SQLite journal): {per_row:.0} µs"
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a = parse();
    if !a.skip_baseline {
        baseline(&a).await;
    }
    fan_out(&a).await;
    if !a.skip_memory {
        let small = a.memory_apps;
        // Tokens in the CLI's default store, or out of process in a fresh redis-server.
        let redis = if a.memory_store == "redis" {
            (0..2)
                .map(|_| miniapp_tests::redis::RedisServer::start().expect("redis-server"))
                .collect::<Vec<_>>()
        } else {
            Vec::new()
        };
        let store = |i: usize| {
            redis
                .get(i)
                .map_or(StoreSpec::Sqlite(None), |r| StoreSpec::Redis(r.url()))
        };
        let (p1, t1) = peak(small, store(0)).await;
        let (p2, t2) = peak(small * 10, store(1)).await;
        println!(
            "\nmemory: the job's peak heap (plan + apply, one vendor, sandbox not counted; tokens in {})",
            if redis.is_empty() { "the SQLite store (SQLite's page cache is not on the heap)" } else { "Redis" }
        );
        println!(
            "  {small:>7} apps: {:>8.2} MiB ({:.1} s)",
            p1 as f64 / 1048576.0,
            t1.as_secs_f64()
        );
        println!(
            "  {:>7} apps: {:>8.2} MiB ({:.1} s)",
            small * 10,
            p2 as f64 / 1048576.0,
            t2.as_secs_f64()
        );
        println!("  ratio: {:.2}", p2 as f64 / p1 as f64);
    }
    if !a.skip_resume {
        resume(a.memory_apps.min(10_000)).await;
    }
}
