//! `miniapp`: the release-day job. `miniapp plan` reads the current value of every managed
//! setting and writes the plan; `miniapp apply` executes it through a resumable journal;
//! `miniapp release run|status` ships a template version to every app (upload, code check,
//! audit, release), journaled and resumable; `miniapp demo` runs plan and apply over 1,000
//! sandbox apps per vendor with nothing to install.

mod release;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use miniapp_fleet::apply::ApplyEnd;
use miniapp_fleet::credentials::{self, Credentials, StoreSpec};
use miniapp_fleet::journal::RowState;
use miniapp_fleet::plan::{Action, PlanSummary, Progress};
use miniapp_fleet::report::Attention;
use miniapp_fleet::report::{self, Summary};
use miniapp_fleet::vendors::{Backends, ClientOptions, Vendor};
use miniapp_fleet::{ApplyOptions, DesiredState, Journal};

#[derive(Parser)]
#[command(
    name = "miniapp",
    version,
    about = "Plan and apply the settings of every authorized mini-program on WeChat, Baidu and Kuaishou"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read every managed setting of the platform and of each app, and write the plan.
    Plan(PlanArgs),
    /// Execute a plan: resumable, quota-aware, with a progress bar per vendor and a report.
    Apply(ApplyArgs),
    /// Ship a template version to every app: upload, code check, audit, release (journaled,
    /// resumable, safe from cron).
    #[command(subcommand)]
    Release(release::ReleaseCommand),
    /// Plan and apply a demo desired state over sandbox apps (in-process sandbox, SQLite
    /// journal in a temporary directory): nothing to install, no credentials.
    Demo(DemoArgs),
}

#[derive(Args)]
struct Connection {
    /// Platform credentials (TOML: `[wechat]`/`[baidu]`/`[kuaishou]` app_id, secret or env:NAME,
    /// ticket; store = "memory" or "redis://…"). Without it, sandbox credentials are used,
    /// which only a sandbox accepts.
    #[arg(long, value_name = "FILE")]
    credentials: Option<PathBuf>,
    /// Send every vendor's calls to this origin (a sandbox, a test server), as
    /// `cargo xtask tour --base-url` does.
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
}

/// How fast each vendor is called: shared by `plan` and `apply`.
#[derive(Args)]
struct Pace {
    /// Calls in flight per vendor.
    #[arg(long, value_name = "N", default_value_t = 64)]
    concurrency: usize,
    /// The most calls per second per vendor. Without it the rate is found: each vendor's calls
    /// slow down on its rate-limit answers and probe back up (a ceiling, not a requirement).
    #[arg(long, value_name = "R")]
    rate: Option<f64>,
}

impl Pace {
    fn client_options(&self) -> ClientOptions {
        ClientOptions {
            max_rate: self.rate,
            ..Default::default()
        }
    }
}

#[derive(Args)]
struct PlanArgs {
    /// The desired state (TOML: `[[set]]` vendor, resource, value, optional apps).
    #[arg(long, value_name = "FILE")]
    desired: PathBuf,
    /// The apps: JSON lines {"vendor", "app_id", "refresh_token"?} or CSV with those columns;
    /// `store:` for the apps whose authorization the token store holds.
    #[arg(long, value_name = "FILE")]
    inventory: PathBuf,
    #[command(flatten)]
    connection: Connection,
    /// Also load the plan into this journal (sqlite:PATH or postgres://…).
    #[arg(long, value_name = "URL")]
    journal: Option<String>,
    /// Where to write the plan (the embedded token store goes beside it:
    /// `PLAN.tokens.sqlite`, unless the credentials name a store).
    #[arg(long, value_name = "PLAN", default_value = "miniapp.plan.jsonl")]
    out: PathBuf,
    #[command(flatten)]
    pace: Pace,
}

#[derive(Args)]
struct ApplyArgs {
    /// The plan `miniapp plan` wrote.
    #[arg(value_name = "PLAN", default_value = "miniapp.plan.jsonl")]
    plan: PathBuf,
    /// The journal: sqlite:PATH (default: next to the plan) or postgres://… (several workers
    /// share one job).
    #[arg(long, value_name = "URL")]
    journal: Option<String>,
    #[command(flatten)]
    connection: Connection,
    #[command(flatten)]
    pace: Pace,
    /// Passes over the rows at most: the first, then those left to retry (throttled, busy,
    /// unreachable), with a growing pause between passes.
    #[arg(long, value_name = "N", default_value_t = 8)]
    max_passes: usize,
    /// Start no new pass after this long (`90s`, `30m`, `2h`, or seconds).
    #[arg(long, value_name = "TIME", value_parser = parse_duration)]
    deadline: Option<std::time::Duration>,
    /// How long a claimed row stays this worker's if its heartbeat stops (a dead worker's rows
    /// are taken over after it); renewed every third of it while the worker lives.
    #[arg(long, value_name = "TIME", value_parser = parse_duration, default_value = "15s")]
    lease: std::time::Duration,
    /// The report, JSON Lines (one record per app and resource); beside it a CSV per category
    /// that needs attention and the summary (`….summary.json`). Default: `PLAN.report.jsonl`.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
}

/// `90s`, `30m`, `2h` or a number of seconds.
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration: write 90s, 30m, 2h or seconds"))?;
    let seconds = match unit {
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("`{text}`: the unit must be s, m or h")),
    };
    if !seconds.is_finite() || seconds <= 0.0 {
        return Err(format!("`{text}`: a deadline must be positive"));
    }
    Ok(std::time::Duration::from_secs_f64(seconds))
}

#[derive(Args)]
struct DemoArgs {
    /// Sandbox apps per vendor.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    apps: usize,
    /// Sandbox latency per request, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 2)]
    latency_ms: u64,
    /// Calls per second each sandbox vendor accepts, token calls included; beyond it each
    /// answers its own rate-limit code, and the job finds the rate (0: no limit).
    #[arg(long, value_name = "R", default_value_t = 1500)]
    rate_limit: u32,
    /// Keep the demo's files (desired state, inventory, plan, journal, report) here instead of
    /// a temporary directory.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// A failure and its exit status: 1 when the job ran but not everything succeeded, 2 for
/// bad input.
struct Failure(u8, String);

fn bad_input(e: impl std::fmt::Display) -> Failure {
    Failure(2, e.to_string())
}

fn failed(e: impl std::fmt::Display) -> Failure {
    Failure(1, e.to_string())
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Logs go to stderr, off unless asked for: `MINIAPP_LOG=info` (a line per retry pass),
    // `MINIAPP_LOG=debug` (every retry and rate change), or any `tracing` filter. They never
    // contain a token or a secret.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MINIAPP_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Plan(args) => run_plan(args).await,
        Command::Apply(args) => run_apply(args).await,
        Command::Release(command) => release::run(command).await,
        Command::Demo(args) => run_demo(args).await,
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Failure(code, message)) => {
            eprintln!("error: {message}");
            ExitCode::from(code)
        }
    }
}

/// Progress bars, one per vendor.
struct Bars {
    multi: MultiProgress,
    verb: &'static str,
    bars: std::sync::Mutex<BTreeMap<Vendor, ProgressBar>>,
}

impl Bars {
    fn new(verb: &'static str) -> Bars {
        Bars {
            multi: MultiProgress::new(),
            verb,
            bars: std::sync::Mutex::new(BTreeMap::new()),
        }
    }
}

impl Progress for Bars {
    fn start(&self, vendor: Vendor, total: u64) {
        let bar = self.multi.add(ProgressBar::new(total));
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>9} {msg} [{bar:32.cyan/blue}] {pos}/{len} {per_sec} eta {eta}",
            )
            .expect("the template is valid")
            .progress_chars("=> "),
        );
        bar.set_prefix(vendor.as_str());
        bar.set_message(self.verb);
        self.bars.lock().unwrap().insert(vendor, bar);
    }

    fn step(&self, vendor: Vendor) {
        if let Some(bar) = self.bars.lock().unwrap().get(&vendor) {
            bar.inc(1);
        }
    }

    fn finish(&self, vendor: Vendor) {
        if let Some(bar) = self.bars.lock().unwrap().get(&vendor) {
            bar.finish();
        }
    }

    fn rate(&self, vendor: Vendor, per_second: f64) {
        if let Some(bar) = self.bars.lock().unwrap().get(&vendor) {
            bar.set_message(format!("{} at {per_second:.0}/s", self.verb));
        }
    }
}

fn sandbox_credentials() -> Credentials {
    miniapp_fleet::sandbox::credentials(StoreSpec::Sqlite(None), Vendor::ALL)
}

/// The embedded token store of a plan: beside it, shared by `plan` and `apply`.
fn default_token_store(plan: &Path) -> PathBuf {
    let mut name = plan.as_os_str().to_owned();
    name.push(".tokens.sqlite");
    PathBuf::from(name)
}

/// The clients of a command of the job whose plan is `plan`. A memory store is refused: the
/// next command of the job runs in another process and would find none of its tokens.
async fn connect(
    connection: &Connection,
    base_url: Option<&str>,
    plan: &Path,
    options: &ClientOptions,
) -> Result<Backends, Failure> {
    let mut creds = match &connection.credentials {
        Some(path) => Credentials::load(path).map_err(bad_input)?,
        None if base_url.is_some() => sandbox_credentials(),
        None => {
            return Err(bad_input(
                "give --credentials FILE (the platforms' app ids and secrets), or --base-url URL for a sandbox",
            ))
        }
    };
    if creds.store == StoreSpec::Memory {
        return Err(bad_input(
            "credentials: `store = \"memory\"` keeps tokens in this process only, but `plan` and `apply` run as separate processes: `apply` would find no token, and single-use refresh tokens (Baidu) rotated by `plan` would be lost. Remove `store` to use the embedded SQLite store beside the plan, or give `store = \"sqlite:PATH\"` or a redis:// URL",
        ));
    }
    creds.place_store(&default_token_store(plan));
    // Rotated tokens the store cannot take yet are also kept on disk beside the plan, and a
    // file left by a killed run is imported first.
    miniapp_fleet::token::set_rescue_file(Some(rescue_file(plan)));
    let clients = credentials::clients_with(&creds, base_url, options)
        .await
        .map_err(|e| match e {
            // A platform without what its vendor's token call needs: the credentials file.
            miniapp_fleet::Error::Credentials { .. } => bad_input(format!("credentials: {e}")),
            e => failed(format!("connecting: {e}")),
        })?;
    let rescued = miniapp_fleet::token::rescued_imported();
    if rescued > 0 {
        println!("tokens: {rescued} rotated token(s) a previous run could not save were imported from its rescue file");
    }
    Ok(clients)
}

/// Where the rotated tokens the store could not take yet are kept on disk: beside the plan's
/// token store.
fn rescue_file(plan: &Path) -> PathBuf {
    let mut name = default_token_store(plan).into_os_string();
    name.push(".rescue");
    PathBuf::from(name)
}

/// The rate each vendor's calls were paced at, for the report.
fn rates(clients: &Backends) -> BTreeMap<Vendor, f64> {
    clients
        .iter()
        .filter_map(|(v, c)| Some((*v, c.rate_limiter()?.current_rate()?)))
        .collect()
}

fn default_journal(plan: &Path) -> String {
    format!("sqlite:{}.journal.sqlite", plan.display())
}

async fn run_plan(args: PlanArgs) -> Result<u8, Failure> {
    let desired = DesiredState::load(&args.desired).map_err(bad_input)?;
    let base_url = args.connection.base_url.clone();
    let clients = connect(
        &args.connection,
        base_url.as_deref(),
        &args.out,
        &args.pace.client_options(),
    )
    .await?;
    let inventory = if args.inventory.as_os_str() == "store:" {
        let path = args.out.with_extension("inventory.jsonl");
        let n = miniapp_fleet::inventory::write_from_store(&clients, &path)
            .await
            .map_err(failed)?;
        println!(
            "inventory: {n} authorized apps from the token store, written to {}",
            path.display()
        );
        path
    } else {
        args.inventory.clone()
    };
    let bars = Bars::new("reading");
    let summary = miniapp_fleet::plan(
        &desired,
        &inventory,
        &clients,
        base_url.as_deref(),
        &args.out,
        args.pace.concurrency,
        &bars,
    )
    .await
    .map_err(|e| match e {
        miniapp_fleet::plan::PlanError::Inventory(e) => bad_input(e),
        other => failed(other),
    })?;
    print_plan(&summary);
    settle_tokens(&args.out).await;
    if let Some(url) = &args.journal {
        let journal = Journal::open(url).await.map_err(failed)?;
        miniapp_fleet::load_plan(&args.out, &journal)
            .await
            .map_err(failed)?;
    }
    println!(
        "plan written to {} (job {})",
        args.out.display(),
        summary.job
    );
    println!("apply it with: miniapp apply {}", args.out.display());
    Ok(0)
}

fn print_plan(summary: &PlanSummary) {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    table.set_header([
        "vendor",
        "resource",
        "unchanged",
        "to change",
        "unreachable",
        "re-authorize",
    ]);
    let mut rows: BTreeMap<(Vendor, String), [usize; 4]> = BTreeMap::new();
    for ((vendor, resource, action), n) in &summary.counts {
        let row = rows.entry((*vendor, resource.clone())).or_default();
        let i = match action {
            Action::Unchanged => 0,
            Action::Set => 1,
            Action::Unreachable => 2,
            Action::Reauth => 3,
        };
        row[i] += n;
    }
    for ((vendor, resource), n) in rows {
        table.add_row([
            vendor.to_string(),
            resource,
            n[0].to_string(),
            n[1].to_string(),
            n[2].to_string(),
            n[3].to_string(),
        ]);
    }
    println!("{table}");
}

async fn run_apply(args: ApplyArgs) -> Result<u8, Failure> {
    let journal_url = args
        .journal
        .clone()
        .unwrap_or_else(|| default_journal(&args.plan));
    let journal = Journal::open(&journal_url).await.map_err(failed)?;
    let job = miniapp_fleet::load_plan(&args.plan, &journal)
        .await
        .map_err(|e| match e {
            miniapp_fleet::apply::ApplyError::Plan(e) => bad_input(e),
            other => failed(other),
        })?;
    let mut base_url = args.connection.base_url.clone();
    if base_url.is_none() {
        base_url = miniapp_fleet::plan::read_plan(&args.plan, |_| Ok(()))
            .map_err(bad_input)?
            .base_url;
    }
    let clients = connect(
        &args.connection,
        base_url.as_deref(),
        &args.plan,
        &args.pace.client_options(),
    )
    .await?;
    let options = ApplyOptions {
        concurrency: args.pace.concurrency,
        max_passes: args.max_passes,
        deadline: args.deadline,
        lease: args.lease,
        ..Default::default()
    };
    // Ctrl-C: no new write leaves, the calls in flight are recorded, resume later.
    let stop = Arc::clone(&options.stop);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("stopping: the calls in flight finish and are recorded; run the same apply again to resume");
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    });
    let bars = Bars::new("applying");
    let outcome = miniapp_fleet::apply(&job, &journal, &clients, &options, &bars)
        .await
        .map_err(failed)?;
    let report_path = args.report.clone().unwrap_or_else(|| {
        let mut name = args.plan.as_os_str().to_owned();
        name.push(".report.jsonl");
        PathBuf::from(name)
    });
    let mut summary = report::report(&journal, &job, Some(&report_path))
        .await
        .map_err(failed)?;
    summary.rates = rates(&clients);
    let summary_file = report::write_summary(&report_path, &job, &summary).map_err(failed)?;
    print_report(&summary);
    println!(
        "report written to {} (summary: {})",
        report_path.display(),
        summary_file.display()
    );
    print_end(outcome);
    settle_tokens(&args.plan).await;
    println!("journal: {journal_url} (job {job})");
    Ok(if summary.all_ok() { 0 } else { 1 })
}

/// Waits a little for rotated tokens the store has not taken yet, and says how many were
/// saved late and which are still only in this process (they are lost when it ends: those
/// apps may have to authorize again).
async fn settle_tokens(plan: &Path) {
    use miniapp_fleet::token;
    let left = token::flush_unsaved(std::time::Duration::from_secs(10)).await;
    let late = token::saved_late();
    if late > 0 {
        println!("tokens: {late} rotated token(s) were saved late, after the token store failed to take them at first");
    }
    if !left.is_empty() {
        println!(
            "tokens: {} rotated token(s) are not saved yet (the token store kept failing): they are kept in {}, which the next `miniapp plan` or `apply` imports; fix the store first. Keys: {}",
            left.len(),
            rescue_file(plan).display(),
            left.iter().take(5).map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
        );
    }
}

/// Says why apply stopped when rows are left.
fn print_end(outcome: miniapp_fleet::apply::ApplyOutcome) {
    let passes = outcome.passes;
    match outcome.end {
        ApplyEnd::Finished => {}
        ApplyEnd::Stopped => {
            println!("stopped after {passes} pass(es): run the same apply again to resume")
        }
        ApplyEnd::PassesSpent => println!(
            "rows may still succeed, but --max-passes {passes} were made: run the same apply again (or raise --max-passes)"
        ),
        ApplyEnd::DeadlineReached => println!(
            "rows may still succeed, but the --deadline passed after {passes} pass(es): run the same apply again"
        ),
    }
}

fn print_report(summary: &Summary) {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    let states = [
        RowState::Done,
        RowState::Unchanged,
        RowState::Failed,
        RowState::Unknown,
        RowState::Reauth,
        RowState::Planned,
    ];
    table.set_header([
        "vendor",
        "done",
        "unchanged",
        "failed",
        "unknown",
        "re-authorize",
        "not run",
    ]);
    let vendors: std::collections::BTreeSet<Vendor> =
        summary.counts.keys().map(|(v, _)| *v).collect();
    for vendor in vendors {
        let mut row = vec![vendor.to_string()];
        for s in states {
            let mut n = summary.counts.get(&(vendor, s)).copied().unwrap_or(0);
            if s == RowState::Planned {
                n += summary
                    .counts
                    .get(&(vendor, RowState::Sending))
                    .copied()
                    .unwrap_or(0);
            }
            row.push(n.to_string());
        }
        table.add_row(row);
    }
    println!("{table}");
    println!("{} writes sent", summary.writes);
    if !summary.rates.is_empty() {
        let rates: Vec<String> = summary
            .rates
            .iter()
            .map(|(v, r)| format!("{v} {r:.0}/s"))
            .collect();
        println!(
            "paced at (found from the vendors' rate-limit answers, or --rate): {}",
            rates.join(", ")
        );
    }
    for category in Attention::ALL {
        let what = match category {
            Attention::Reauthorize => "must authorize the platform again",
            Attention::Failed => "failed (the reason is in the CSV)",
            Attention::Unfinished => "not finished (run apply again)",
        };
        for ((c, vendor), n) in &summary.attention {
            if *c != category {
                continue;
            }
            let sample = &summary.samples[&(category, *vendor)];
            let shown: Vec<&str> = sample
                .iter()
                .map(|a| {
                    if a.is_empty() {
                        "(platform)"
                    } else {
                        a.as_str()
                    }
                })
                .collect();
            let more = if *n as usize > shown.len() {
                ", …"
            } else {
                ""
            };
            println!("{vendor}: {n} app(s) {what}: {}{more}", shown.join(", "));
        }
        if let Some(path) = summary.csv.get(&category) {
            println!("  all of them: {}", path.display());
        }
    }
}

const DEMO_DESIRED: &str = r#"# The demo's desired state: every setting a release needs, on three vendors.
# Its format: crates/fleet/desired.schema.json (add `#:schema <path>` for your editor).
[[set]]
vendor = "wechat"
resource = "platform_server_domains"
value = { wxa_server_domain = ["example.com"] }

[[set]]
vendor = "wechat"
resource = "platform_jump_domains"
value = { wxa_jump_h5_domain = ["h5.example.com"] }

[[set]]
vendor = "wechat"
resource = "server_domains"
value = { requestdomain = ["https://api.example.com"], wsrequestdomain = ["wss://ws.example.com"], uploaddomain = ["https://up.example.com"], downloaddomain = ["https://dl.example.com"] }

[[set]]
vendor = "wechat"
resource = "webview_domains"
value = { webviewdomain = ["https://h5.example.com"] }

[[set]]
vendor = "baidu"
resource = "server_domains"
value = { request_domain = ["https://api.example.com"], socket_domain = ["wss://ws.example.com"], upload_domain = ["https://up.example.com"], download_domain = ["https://dl.example.com"] }

[[set]]
vendor = "baidu"
resource = "webview_domains"
value = { web_view_domain = ["https://h5.example.com"] }

[[set]]
vendor = "baidu"
resource = "min_support_version"
value = { version = "3.60.2" }

[[set]]
vendor = "kuaishou"
resource = "server_domains"
value = { request = ["https://api.example.com"], socket = ["wss://ws.example.com"], upload_file = ["https://up.example.com"], download_file = ["https://dl.example.com"], udp = ["udp://udp.example.com"] }

[[set]]
vendor = "kuaishou"
resource = "webview_domains"
value = { webview = ["https://h5.example.com"] }
"#;

async fn run_demo(args: DemoArgs) -> Result<u8, Failure> {
    use miniapp_sandbox::{Sandbox, SandboxOptions};

    let temp;
    let dir = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d).map_err(bad_input)?;
            d.clone()
        }
        None => {
            temp = tempfile::tempdir().map_err(failed)?;
            temp.path().to_owned()
        }
    };
    // The release part listens for the audit results the sandbox pushes (`--listen`).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(failed)?;
    let listen = listener.local_addr().map_err(failed)?;
    let sandbox = Sandbox::start_with(SandboxOptions {
        enforce_tokens: true,
        apps: args.apps,
        latency: std::time::Duration::from_millis(args.latency_ms),
        rate_limit: (args.rate_limit > 0).then_some(args.rate_limit),
        // Shipping code: a one-second code check, two-second audits, a twentieth rejected,
        // results pushed as the vendors push them.
        code: miniapp_sandbox::CodeOptions {
            check_time: std::time::Duration::from_secs(1),
            audit_time: std::time::Duration::from_secs(2),
            rejected_share: 0.05,
            audit_pushes: [
                (Vendor::Wechat, "/wechat/events/$APPID$"),
                (Vendor::Baidu, "/baidu/events"),
            ]
            .into_iter()
            .map(|(vendor, path)| miniapp_sandbox::AuditPushTarget {
                vendor,
                url: format!("http://{listen}{path}"),
                secrets: miniapp_sandbox::PushSecrets::sandbox_platform(vendor),
            })
            .collect(),
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .map_err(failed)?;
    println!(
        "sandbox at {} with {} apps per vendor{}; files in {}",
        sandbox.base_url(),
        args.apps,
        if args.rate_limit > 0 {
            format!(
                ", each vendor answering its own rate-limit code beyond {}/s (the job is not told)",
                args.rate_limit
            )
        } else {
            String::new()
        },
        dir.display()
    );

    let desired_path = dir.join("desired.toml");
    std::fs::write(&desired_path, DEMO_DESIRED).map_err(failed)?;
    let inventory_path = dir.join("inventory.jsonl");
    miniapp_fleet::sandbox::write_inventory(&sandbox, Vendor::ALL, &inventory_path)
        .map_err(failed)?;
    let plan_path = dir.join("miniapp.plan.jsonl");
    let report_path = dir.join("report.jsonl");
    let journal_url = default_journal(&plan_path);

    let base_url = sandbox.base_url();
    let mut creds = sandbox_credentials();
    creds.place_store(&default_token_store(&plan_path));
    let clients = credentials::clients(&creds, Some(&base_url))
        .await
        .map_err(failed)?;
    let desired = DesiredState::load(&desired_path).map_err(bad_input)?;

    println!(
        "\n== miniapp plan --desired {} --inventory {}",
        desired_path.display(),
        inventory_path.display()
    );
    let started = std::time::Instant::now();
    let summary = miniapp_fleet::plan(
        &desired,
        &inventory_path,
        &clients,
        Some(&base_url),
        &plan_path,
        64,
        &Bars::new("reading"),
    )
    .await
    .map_err(failed)?;
    print_plan(&summary);
    println!("planned in {:.1} s", started.elapsed().as_secs_f64());

    println!(
        "\n== miniapp apply {} --journal {journal_url}",
        plan_path.display()
    );
    let started = std::time::Instant::now();
    let journal = Journal::open(&journal_url).await.map_err(failed)?;
    let job = miniapp_fleet::load_plan(&plan_path, &journal)
        .await
        .map_err(failed)?;
    let outcome = miniapp_fleet::apply(
        &job,
        &journal,
        &clients,
        &ApplyOptions::default(),
        &Bars::new("applying"),
    )
    .await
    .map_err(failed)?;
    let mut result = report::report(&journal, &job, Some(&report_path))
        .await
        .map_err(failed)?;
    result.rates = rates(&clients);
    report::write_summary(&report_path, &job, &result).map_err(failed)?;
    print_report(&result);
    print_end(outcome);
    println!(
        "applied in {:.1} s; report written to {}",
        started.elapsed().as_secs_f64(),
        report_path.display()
    );

    println!("\n== miniapp plan again: everything is in place");
    let again = miniapp_fleet::plan(
        &desired,
        &inventory_path,
        &clients,
        Some(&base_url),
        &dir.join("again.plan.jsonl"),
        64,
        &Bars::new("reading"),
    )
    .await
    .map_err(failed)?;
    print_plan(&again);
    let ok = result.all_ok() && again.total(Action::Set) == 0;
    println!(
        "{}",
        if ok {
            "demo: all apps reached the desired state"
        } else {
            "demo: some apps did not reach the desired state"
        }
    );
    let shipped = release::demo(&dir, &inventory_path, &clients, listener).await?;
    println!(
        "{}",
        if shipped {
            "demo: the template version is live on every WeChat and Baidu app the audit approved"
        } else {
            "demo: the release did not finish"
        }
    );
    Ok(if ok && shipped { 0 } else { 1 })
}

#[cfg(test)]
mod tests {
    /// clap's own checks of every command's arguments (groups, names, conflicts), which
    /// otherwise fail only when that command is run.
    #[test]
    fn the_command_line_is_well_formed() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
