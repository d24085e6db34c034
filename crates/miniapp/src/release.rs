//! `miniapp release run|status`: ship a template version to every app (see
//! `miniapp_fleet::release`). `run` makes one pass (cron), or passes until every app is done
//! (`--watch`); `status` reads the journal only.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use indicatif::{ProgressBar, ProgressStyle};
use miniapp_fleet::release::{self, PassOptions, ReleaseFile, ReleaseJournal, ReleaseSummary};
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
}

pub(crate) async fn run(command: ReleaseCommand) -> Result<u8, Failure> {
    match command {
        ReleaseCommand::Run(args) => run_release(args).await,
        ReleaseCommand::Status(args) => status(args).await,
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
template_id = 7
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
    let spinner = ProgressBar::new_spinner();
    spinner.set_style(
        ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("the template is valid"),
    );
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
    let spinner = ProgressBar::new_spinner();
    spinner.set_style(
        ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("the template is valid"),
    );
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
    Ok(0)
}

/// The table of stages per vendor, then what needs attention (five of each at most).
pub(crate) fn print_summary(name: &str, summary: &ReleaseSummary) {
    const STAGES: [&str; 10] = [
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
