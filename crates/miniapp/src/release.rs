//! `miniapp release run|status|withdraw|rollback|speedup|retry`: ship a template version to
//! every app (see `miniapp_fleet::release`). `run` makes one pass (cron), or passes until every
//! app is done (`--watch`); `status` reads the journal only; the other four are the operator's
//! actions on chosen apps (`miniapp_fleet::operate`), which the job never takes on its own.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::{BTreeMap, BTreeSet};

use miniapp_fleet::operate::{self, AppOutcome, Operation, Selection};
use miniapp_fleet::release::{self, PassOptions, ReleaseFile, ReleaseJournal, ReleaseSummary};
use miniapp_fleet::ship::Wait;
use miniapp_fleet::vendors::Vendor;

use crate::{bad_input, connect, failed, parse_duration, settle_tokens, Connection, Failure, Pace};

#[derive(Subcommand)]
pub(crate) enum ReleaseCommand {
    /// Move every app of the release as far as it can go now: upload, wait for the code check,
    /// submit for audit, read the audit, release. Journaled and resumable: run it from cron,
    /// or once with --watch.
    Run(RunArgs),
    /// Where every app of the release stands, from the journal (nothing is sent).
    Status(StatusArgs),
    /// Withdraw the running audits of the chosen apps.
    ///
    /// Each audit is read first; an ended one is adopted, not withdrawn. Vendors limit withdrawals (WeChat: 5 a day, 10 a month):
    /// once one says they are spent, no more of its apps are tried. The apps end `withdrawn`;
    /// `retry` ships to them again. To stop uploads to the apps not reached yet, set
    /// `max_in_audit = 0` in the release file.
    Withdraw(ActArgs),
    /// Roll the chosen released apps back to the version online before.
    ///
    /// An app in a gray release has its gray release reverted. The apps end `rolled_back`;
    /// `retry --stage rolled_back` ships to them again.
    Rollback(ActArgs),
    /// Ask the vendor to audit the chosen apps' running audits sooner.
    ///
    /// WeChat only, limited per month: once the vendor says the speed-ups are spent, no more
    /// apps are tried. A repeat for an audit already sped up is done.
    Speedup(ActArgs),
    /// Put the chosen rejected apps back to planned, to ship to them again.
    ///
    /// By default the apps that ended rejected or failed their upload; with --stage, also
    /// withdrawn or rolled back ones. The next `run` uploads to them again, with the inventory
    /// and release file of then (a fixed column, a new template). Nothing is sent now.
    Retry(RetryArgs),
}

/// Which apps an operator's action takes.
#[derive(Args)]
#[group(id = "targets", required = true, multiple = true)]
pub(crate) struct Targets {
    /// This app (repeat for more).
    #[arg(long = "app", value_name = "APP_ID")]
    app: Vec<String>,
    /// The apps listed in FILE: a CSV with an `app_id` column (such as the report's
    /// `….rejected.csv`), or one app id per line.
    #[arg(long, value_name = "FILE")]
    apps: Option<PathBuf>,
    /// Every app of the release in a stage the action applies to.
    #[arg(long)]
    all: bool,
}

impl Targets {
    /// The apps chosen, of `vendors` (none: every vendor of the release).
    fn selection(&self, vendors: &[Vendor]) -> Result<Selection, Failure> {
        let mut named: Option<BTreeSet<String>> = None;
        if !self.app.is_empty() {
            named
                .get_or_insert_with(BTreeSet::new)
                .extend(self.app.iter().cloned());
        }
        if let Some(path) = &self.apps {
            named
                .get_or_insert_with(BTreeSet::new)
                .extend(read_app_ids(path)?);
        }
        Ok(Selection {
            vendors: (!vendors.is_empty()).then(|| vendors.iter().copied().collect()),
            apps: if self.all { None } else { named },
        })
    }
}

/// The app ids of `path`: a CSV's `app_id` column, or one id per line.
fn read_app_ids(path: &Path) -> Result<Vec<String>, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad_input(format!("--apps {}: {e}", path.display())))?;
    let first = text.lines().next().unwrap_or_default();
    if first.split(',').any(|c| c.trim() == "app_id") {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let column = reader
            .headers()
            .map_err(|e| bad_input(format!("--apps {}: {e}", path.display())))?
            .iter()
            .position(|h| h.trim() == "app_id")
            .expect("the header has app_id");
        let mut ids = Vec::new();
        for record in reader.records() {
            let record =
                record.map_err(|e| bad_input(format!("--apps {}: {e}", path.display())))?;
            if let Some(id) = record
                .get(column)
                .map(str::trim)
                .filter(|id| !id.is_empty())
            {
                ids.push(id.to_owned());
            }
        }
        Ok(ids)
    } else {
        Ok(text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect())
    }
}

#[derive(Args)]
pub(crate) struct ActArgs {
    /// The release file.
    #[arg(value_name = "RELEASE")]
    release: PathBuf,
    #[command(flatten)]
    targets: Targets,
    /// Only apps of this vendor (repeat for more; default: every vendor of the release).
    #[arg(long, value_name = "VENDOR")]
    vendor: Vec<Vendor>,
    #[command(flatten)]
    connection: Connection,
    /// The journal (default: next to the release file).
    #[arg(long, value_name = "URL")]
    journal: Option<String>,
    #[command(flatten)]
    pace: Pace,
    /// How long this command's claim on an app lasts while its calls run.
    #[arg(long, value_name = "TIME", value_parser = parse_duration, default_value = "30s")]
    lease: std::time::Duration,
    /// Each app's outcome as CSV (vendor, app_id, outcome, detail). Default:
    /// `RELEASE.ACTION.csv`.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct RetryArgs {
    /// The release file.
    #[arg(value_name = "RELEASE")]
    release: PathBuf,
    #[command(flatten)]
    targets: Targets,
    /// Only apps of this vendor (repeat for more; default: every vendor of the release).
    #[arg(long, value_name = "VENDOR")]
    vendor: Vec<Vendor>,
    /// The stages to take apps from (default: rejected and upload_failed).
    #[arg(long, value_name = "STAGE", value_delimiter = ',', value_parser = clap::builder::PossibleValuesParser::new(operate::RETRYABLE))]
    stage: Vec<String>,
    /// The journal (default: next to the release file).
    #[arg(long, value_name = "URL")]
    journal: Option<String>,
}

#[derive(Args)]
pub(crate) struct RunArgs {
    /// The release file (TOML: `name`, then per vendor `[wechat]` template_id, version,
    /// description, ext_json with "{app_id}", max_in_audit).
    #[arg(value_name = "RELEASE")]
    release: PathBuf,
    /// The apps: JSON lines {"vendor", "app_id", "refresh_token"?} or CSV with those columns.
    #[arg(long, value_name = "FILE")]
    inventory: PathBuf,
    #[command(flatten)]
    connection: Connection,
    /// The journal: sqlite:PATH (default: next to the release file) or postgres://….
    #[arg(long, value_name = "URL")]
    journal: Option<String>,
    #[command(flatten)]
    pace: Pace,
    /// Pass again and again until every app is released, rejected or withdrawn.
    #[arg(long)]
    watch: bool,
    /// The longest pause between passes with --watch (`30s`, `5m`, or seconds); a pass comes
    /// sooner when an app is due to be read again (its code check, its audit: pauses that
    /// double per read) or a push arrives (--listen).
    #[arg(long, value_name = "TIME", value_parser = parse_duration, default_value = "30s")]
    poll: std::time::Duration,
    /// With --watch, receive the vendors' audit-result pushes on ADDR (e.g. 0.0.0.0:8080):
    /// WeChat's message and event URL is `https://HOST/wechat/events/$APPID$`, Baidu's
    /// `https://HOST/baidu/events`. An app is read when its result is pushed, not at its next
    /// poll; the polls go on for pushes that never come. Needs push_token and
    /// encoding_aes_key in the credentials.
    #[arg(long, value_name = "ADDR", requires = "watch")]
    listen: Option<std::net::SocketAddr>,
    /// How long this worker's claim on an app lasts unless renewed (renewed while it works):
    /// several workers may share one journal (--journal postgres://…); one that stops
    /// answering loses its apps to the others after this (at once, on this host, when its
    /// process is gone).
    #[arg(long, value_name = "TIME", value_parser = parse_duration, default_value = "30s")]
    lease: std::time::Duration,
    /// The JSON report; the rejected apps are also written as CSV beside it. Default:
    /// `RELEASE.report.json`.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct StatusArgs {
    /// The release file.
    #[arg(value_name = "RELEASE")]
    release: PathBuf,
    /// The journal (default: next to the release file).
    #[arg(long, value_name = "URL")]
    journal: Option<String>,
    /// Also write where every app stands to FILE (CSV: vendor, app_id, stage, audit_id, wait,
    /// reason, message, reauthorize, next_read_ms), streamed from the journal.
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
}

pub(crate) async fn run(command: ReleaseCommand) -> Result<u8, Failure> {
    match command {
        ReleaseCommand::Run(args) => run_release(args).await,
        ReleaseCommand::Status(args) => status(args).await,
        ReleaseCommand::Withdraw(args) => act(args, Operation::Withdraw).await,
        ReleaseCommand::Rollback(args) => act(args, Operation::Rollback).await,
        ReleaseCommand::Speedup(args) => act(args, Operation::Speedup).await,
        ReleaseCommand::Retry(args) => retry(args).await,
    }
}

fn journal_url(release: &Path, given: Option<&str>) -> String {
    given.map_or_else(
        || format!("sqlite:{}.journal.sqlite", release.display()),
        str::to_owned,
    )
}

fn beside(release: &Path, suffix: &str) -> PathBuf {
    let mut name = release.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// How long a `--watch` loop waits after a push before its pass, to take the pushes of a
/// burst in one pass.
const PUSH_GATHER: std::time::Duration = std::time::Duration::from_millis(200);

/// The demo's release: a template version for the sandbox's apps.
pub(crate) const DEMO_RELEASE: &str = r#"name = "demo-release"

[wechat]
template_id = "newest"             # the library's newest, pinned for the release's days
version = "2.0.0"
description = "the demo's release"
ext_json = { extAppid = "{app_id}", ext = { shop = "{app_id}" } }

[baidu]
template_id = 3
version = "2.0.0"
description = "the demo's release"

[kuaishou]
template_id = 1
version = "2.0.0"
description = "the demo's release"
"#;

/// The demo's third part: ships [`DEMO_RELEASE`] to the sandbox's apps, serving the audit
/// pushes on `listener` (as `--listen`), a pass when an app is due or a push arrives, until
/// every app is released or rejected; whether it ended so.
pub(crate) async fn demo(
    dir: &Path,
    inventory: &Path,
    backends: &miniapp_fleet::vendors::Backends,
    listener: tokio::net::TcpListener,
) -> Result<bool, Failure> {
    let path = dir.join("release.toml");
    std::fs::write(&path, DEMO_RELEASE).map_err(failed)?;
    let release = ReleaseFile::load(&path).map_err(bad_input)?;
    let url = journal_url(&path, None);
    let listen = listener.local_addr().map_err(failed)?;
    println!(
        "\n== miniapp release run {} --inventory {} --watch --listen {listen}",
        path.display(),
        inventory.display()
    );
    let journal = ReleaseJournal::open(&url).await.map_err(failed)?;
    let wakeup = std::sync::Arc::new(tokio::sync::Notify::new());
    let (router, served) =
        release::audit_listener(&release, &journal, backends, wakeup.clone()).map_err(failed)?;
    for (vendor, path) in &served {
        println!("listening for {vendor} audit pushes on http://{listen}{path}");
    }
    let _server = AbortOnDrop(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::warn!(error = %e, "the push listener stopped");
        }
    }));
    let started = std::time::Instant::now();
    let spinner = spinner();
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let mut summary;
    loop {
        summary = release::run_pass(
            &release,
            inventory,
            &journal,
            backends,
            &PassOptions::default(),
        )
        .await
        .map_err(failed)?;
        spinner.set_message(format!(
            "{} released, {} rejected, {} in audit, {} in the code check",
            summary.count("released"),
            summary.rejected.len(),
            summary.count("in_audit"),
            summary.count("committed"),
        ));
        if summary.finished() || started.elapsed() > std::time::Duration::from_secs(120) {
            break;
        }
        let pause = summary.next_pass_in(std::time::Duration::from_secs(1));
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = wakeup.notified() => tokio::time::sleep(PUSH_GATHER.min(pause)).await,
        }
    }
    spinner.finish_and_clear();
    let report = beside(&path, ".report.json");
    release::write_report(&report, &summary).map_err(failed)?;
    print_summary(&release.name, &summary);
    println!(
        "shipped in {:.1} s; report written to {}",
        started.elapsed().as_secs_f64(),
        report.display()
    );
    Ok(summary.finished() && summary.errors.is_empty())
}

async fn run_release(args: RunArgs) -> Result<u8, Failure> {
    let release = ReleaseFile::load(&args.release).map_err(bad_input)?;
    let journal = ReleaseJournal::open(&journal_url(&args.release, args.journal.as_deref()))
        .await
        .map_err(failed)?;
    let backends = connect(
        &args.connection,
        args.connection.base_url.as_deref(),
        &args.release,
        &args.pace.client_options(),
    )
    .await?;
    let options = PassOptions {
        concurrency: args.pace.concurrency,
        lease: args.lease,
        // Watching, a pass goes on while apps come due; from cron, it reads what is due now.
        continuous: args.watch,
        ..PassOptions::default()
    };
    let wakeup = std::sync::Arc::new(tokio::sync::Notify::new());
    let _server = match args.listen {
        Some(addr) => Some(listen(addr, &release, &journal, &backends, wakeup.clone()).await?),
        None => None,
    };
    let spinner = spinner();
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let mut pass = 0;
    let summary = loop {
        pass += 1;
        spinner.set_message(format!("release {}: pass {pass}", release.name));
        let summary = release::run_pass(&release, &args.inventory, &journal, &backends, &options)
            .await
            .map_err(|e| match e {
                release::ReleaseError::Inventory(_) | release::ReleaseError::File { .. } => {
                    bad_input(e)
                }
                e => failed(e),
            })?;
        if !args.watch || summary.finished() {
            break summary;
        }
        let pause = summary.next_pass_in(args.poll);
        spinner.set_message(format!(
            "release {}: {} released, {} rejected, {} in audit; next pass in {:.1} s",
            release.name,
            summary.count("released"),
            summary.rejected.len(),
            summary.count("in_audit"),
            pause.as_secs_f64()
        ));
        // The next pass when an app is due, or soon after a push marks one (pushes come in
        // bursts: a short wait gathers them into one pass).
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = wakeup.notified() => tokio::time::sleep(PUSH_GATHER.min(pause)).await,
        }
    };
    spinner.finish_and_clear();
    settle_tokens(&args.release).await;
    let report = args
        .report
        .unwrap_or_else(|| beside(&args.release, ".report.json"));
    let files = release::write_report(&report, &summary).map_err(failed)?;
    print_summary(&release.name, &summary);
    println!("report: {}", report.display());
    if !summary.rejected.is_empty() {
        println!("rejected apps: {}", files.rejected.display());
    }
    if let Some(path) = &files.reauthorize {
        println!("apps to authorize again: {}", path.display());
    }
    Ok(if summary.errors.is_empty() { 0 } else { 1 })
}

/// Serves the audit push receivers on `addr` until the returned task is dropped (aborted).
async fn listen(
    addr: std::net::SocketAddr,
    release: &ReleaseFile,
    journal: &ReleaseJournal,
    backends: &miniapp_fleet::vendors::Backends,
    wakeup: std::sync::Arc<tokio::sync::Notify>,
) -> Result<AbortOnDrop, Failure> {
    let (router, served) = release::audit_listener(release, journal, backends, wakeup)
        .map_err(|e| bad_input(format!("--listen: {e}")))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| bad_input(format!("--listen {addr}: cannot listen there: {e}")))?;
    let bound = listener.local_addr().map_err(failed)?;
    for (vendor, path) in &served {
        println!("listening for {vendor} audit pushes on http://{bound}{path}");
    }
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::warn!(error = %e, "the push listener stopped");
        }
    });
    Ok(AbortOnDrop(task))
}

/// A spinner with a message and the time spent (ticks set by the caller).
fn spinner() -> ProgressBar {
    let spinner = ProgressBar::new_spinner();
    spinner.set_style(
        ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("the template is valid"),
    );
    spinner
}

/// A server task that ends with its owner.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn status(args: StatusArgs) -> Result<u8, Failure> {
    let release = ReleaseFile::load(&args.release).map_err(bad_input)?;
    let url = journal_url(&args.release, args.journal.as_deref());
    let journal = ReleaseJournal::open(&url).await.map_err(failed)?;
    let summary = release::summarize(&release.name, &journal, ReleaseSummary::default())
        .await
        .map_err(failed)?;
    if summary.stages.is_empty() {
        println!(
            "release {}: no app in the journal {url} yet (run `miniapp release run` first)",
            release.name
        );
        return Ok(0);
    }
    print_summary(&release.name, &summary);
    if let Some(path) = &args.csv {
        let apps = write_apps(&journal, &release.name, path).await?;
        println!("{apps} app(s) written to {}", path.display());
    }
    Ok(0)
}

/// Writes every app's row of `release` to `path` as CSV; how many.
async fn write_apps(
    journal: &ReleaseJournal,
    release: &str,
    path: &Path,
) -> Result<usize, Failure> {
    let cannot = |e: &dyn std::fmt::Display| failed(format!("--csv {}: {e}", path.display()));
    let mut csv = csv::Writer::from_path(path).map_err(|e| cannot(&e))?;
    csv.write_record([
        "vendor",
        "app_id",
        "stage",
        "audit_id",
        "wait",
        "reason",
        "message",
        "reauthorize",
        "next_read_ms",
    ])
    .map_err(|e| cannot(&e))?;
    let mut apps = 0;
    journal
        .each_row(release, |row| {
            apps += 1;
            let wait = row.wait.as_ref().map(Wait::name).unwrap_or_default();
            csv.write_record([
                row.vendor.as_str(),
                &row.app_id,
                row.stage.name(),
                row.stage.audit_id().unwrap_or_default(),
                wait,
                row.stage.reason().unwrap_or_default(),
                row.message.as_deref().unwrap_or_default(),
                if row.reauthorize { "true" } else { "false" },
                &row.next_ms.max(0).to_string(),
            ])
            .map_err(|e| cannot(&e))
        })
        .await?;
    csv.flush().map_err(|e| cannot(&e))?;
    Ok(apps)
}

impl From<release::ReleaseError> for Failure {
    fn from(e: release::ReleaseError) -> Failure {
        failed(e)
    }
}

/// `withdraw`, `rollback`, `speedup`: the action on the chosen apps, a table of outcomes per
/// vendor, a few apps of each outcome that is not `done`, every app's outcome as CSV.
async fn act(args: ActArgs, operation: Operation) -> Result<u8, Failure> {
    let release = ReleaseFile::load(&args.release).map_err(bad_input)?;
    let selection = args.targets.selection(&args.vendor)?;
    let journal = ReleaseJournal::open(&journal_url(&args.release, args.journal.as_deref()))
        .await
        .map_err(failed)?;
    let backends = connect(
        &args.connection,
        args.connection.base_url.as_deref(),
        &args.release,
        &args.pace.client_options(),
    )
    .await?;
    let spinner = spinner();
    spinner.set_message(format!("release {}: {}", release.name, operation.name()));
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let outcomes = operate::act(
        &release,
        &journal,
        &backends,
        operation,
        &selection,
        args.pace.concurrency,
        args.lease,
    )
    .await
    .map_err(failed)?;
    spinner.finish_and_clear();
    settle_tokens(&args.release).await;
    let report = args
        .report
        .unwrap_or_else(|| beside(&args.release, &format!(".{}.csv", operation.name())));
    write_outcomes(&report, &outcomes).map_err(failed)?;
    let mut counts: BTreeMap<(String, &str), usize> = BTreeMap::new();
    for o in &outcomes {
        *counts
            .entry((o.vendor.to_string(), o.outcome.name()))
            .or_default() += 1;
    }
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    table.set_header(["vendor", "outcome", "apps"]);
    for ((vendor, outcome), n) in &counts {
        table.add_row([vendor.clone(), (*outcome).to_owned(), n.to_string()]);
    }
    println!("release {}: {}", release.name, operation.name());
    if outcomes.is_empty() {
        println!(
            "no chosen app is in a stage {} applies to",
            operation.name()
        );
    } else {
        println!("{table}");
    }
    let mut trouble = false;
    for name in [
        "refused",
        "quota_exhausted",
        "limit_reached",
        "unsupported",
        "busy",
        "failed",
        "not_applicable",
    ] {
        let some: Vec<&AppOutcome> = outcomes
            .iter()
            .filter(|o| o.outcome.name() == name)
            .collect();
        if some.is_empty() {
            continue;
        }
        trouble |= name != "not_applicable";
        println!("{name}: {}", some.len());
        for o in some.iter().take(5) {
            println!("  {} {}: {}", o.vendor, o.app_id, o.outcome.detail());
        }
        if some.len() > 5 {
            println!("  … and {} more (see {})", some.len() - 5, report.display());
        }
    }
    if let Some(named) = &selection.apps {
        let acted: BTreeSet<&str> = outcomes.iter().map(|o| o.app_id.as_str()).collect();
        let left: Vec<&str> = named
            .iter()
            .map(String::as_str)
            .filter(|a| !acted.contains(a))
            .collect();
        if !left.is_empty() {
            println!(
                "{} named app(s) not in a stage {} applies to (see `miniapp release status`): {}{}",
                left.len(),
                operation.name(),
                left.iter().take(5).copied().collect::<Vec<_>>().join(", "),
                if left.len() > 5 { ", …" } else { "" }
            );
        }
    }
    if outcomes.iter().any(|o| o.outcome.name() == "busy") {
        println!("busy apps are being stepped by a running `miniapp release run`: run this again in a moment");
    }
    println!("outcomes: {}", report.display());
    Ok(u8::from(trouble))
}

fn write_outcomes(path: &Path, outcomes: &[AppOutcome]) -> std::io::Result<()> {
    let mut csv = csv::Writer::from_path(path)?;
    csv.write_record(["vendor", "app_id", "outcome", "detail"])?;
    for o in outcomes {
        csv.write_record([
            o.vendor.as_str(),
            &o.app_id,
            o.outcome.name(),
            &o.outcome.detail(),
        ])?;
    }
    csv.flush()
}

/// `retry`: the chosen apps back to planned, nothing sent.
async fn retry(args: RetryArgs) -> Result<u8, Failure> {
    let release = ReleaseFile::load(&args.release).map_err(bad_input)?;
    let selection = args.targets.selection(&args.vendor)?;
    let stages: Vec<&'static str> = if args.stage.is_empty() {
        vec!["rejected", "upload_failed"]
    } else {
        operate::RETRYABLE
            .iter()
            .copied()
            .filter(|s| args.stage.iter().any(|given| given == s))
            .collect()
    };
    let journal = ReleaseJournal::open(&journal_url(&args.release, args.journal.as_deref()))
        .await
        .map_err(failed)?;
    let replanned = operate::retry(&release, &journal, &selection, &stages)
        .await
        .map_err(failed)?;
    let total: usize = replanned.values().map(Vec::len).sum();
    println!(
        "release {}: {total} app(s) back to planned (from {})",
        release.name,
        stages.join(", ")
    );
    for (vendor, apps) in &replanned {
        let ids: Vec<&str> = apps.iter().take(5).map(|(a, _)| a.as_str()).collect();
        println!(
            "  {vendor}: {} ({}{})",
            apps.len(),
            ids.join(", "),
            if apps.len() > 5 { ", …" } else { "" }
        );
    }
    if total > 0 {
        println!(
            "the next `miniapp release run {}` uploads to them again",
            args.release.display()
        );
    }
    Ok(0)
}

/// The table of stages per vendor, then what needs attention (five of each at most).
pub(crate) fn print_summary(name: &str, summary: &ReleaseSummary) {
    const STAGES: [&str; 11] = [
        "planned",
        "committed",
        "submitting",
        "in_audit",
        "releasing",
        "gray",
        "released",
        "rejected",
        "withdrawn",
        "upload_failed",
        "rolled_back",
    ];
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    let mut header = vec!["vendor".to_owned()];
    header.extend(STAGES.iter().map(|s| (*s).to_owned()));
    table.set_header(header);
    for (vendor, stages) in &summary.stages {
        let mut row = vec![vendor.to_string()];
        row.extend(
            STAGES
                .iter()
                .map(|s| stages.get(*s).copied().unwrap_or(0).to_string()),
        );
        table.add_row(row);
    }
    println!("release {name}");
    println!("{table}");
    for (vendor, (id, version)) in &summary.templates {
        println!("{vendor}: template {id} (version {version}), the library's newest when the release began (pinned)");
    }
    if !summary.waiting.is_empty() {
        let waits: Vec<String> = summary
            .waiting
            .iter()
            .map(|(why, n)| format!("{n} {why}"))
            .collect();
        println!("waiting: {}", waits.join(", "));
    }
    for vendor in &summary.quota_exhausted {
        println!("{vendor}: the audit quota is spent; submissions wait until it is back (ask the vendor for more, or run again later)");
    }
    for (vendor, reason) in &summary.template_missing {
        println!("{vendor}: {reason}");
    }
    for (vendor, left) in &summary.quota_reserve_reached {
        println!("{vendor}: the audit quota is down to the release's quota_reserve ({left} left): submissions wait, the rest is kept (lower quota_reserve to use it)");
    }
    for (vendor, (rejected, ended)) in &summary.stopped {
        println!(
            "{vendor}: {rejected} of {ended} audits rejected, at or above the release's stop_at_rejected_share: no more apps are uploaded (read the reasons, fix the template, then ship a new version)"
        );
    }
    for (vendor, (n, reason)) in &summary.unsupported {
        println!("{vendor}: {n} app(s) refused, nothing sent: {reason}");
    }
    let sample = |title: &str, rows: &[(Vendor, String, String)]| {
        if rows.is_empty() {
            return;
        }
        println!("{title}: {}", rows.len());
        for (vendor, app, text) in rows.iter().take(5) {
            println!("  {vendor} {app}: {text}");
        }
        if rows.len() > 5 {
            println!("  … and {} more (see the report)", rows.len() - 5);
        }
    };
    sample(
        "rejected (by the audit, or the upload failed)",
        &summary.rejected,
    );
    if !summary.rejected.is_empty() {
        println!("  to ship to them again once fixed: `miniapp release retry RELEASE --apps RELEASE.report.rejected.csv`, then `run`");
    }
    sample("failed this pass (tried again next pass)", &summary.errors);
    if !summary.reauthorize.is_empty() {
        println!(
            "must authorize the platform again: {} app(s) (see the report)",
            summary.reauthorize.len()
        );
    }
    let held: usize = summary
        .stopped
        .keys()
        .map(|v| {
            summary
                .stages
                .get(v)
                .and_then(|s| s.get("planned"))
                .copied()
                .unwrap_or(0)
        })
        .sum();
    if summary.finished() && summary.reauthorize.is_empty() && held == 0 {
        println!("every app is released, rejected or withdrawn");
    } else if summary.finished() {
        println!(
            "every other app is released, rejected or withdrawn; {} wait(s) for the owner to authorize the platform again, {held} held back by rejections",
            summary.reauthorize.len()
        );
    }
}
