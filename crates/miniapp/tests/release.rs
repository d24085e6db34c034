//! `miniapp release` as operators run it, in child processes against a sandbox in this test:
//! one pass from cron, then `--watch` to the end; killed (SIGKILL) mid-release and started
//! again, every app ends released or rejected with each app submitted once; `status` reads the
//! journal; Kuaishou apps are refused with the reason.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use miniapp_fleet::vendors::Vendor;
use miniapp_sandbox::{CodeOptions, Sandbox, SandboxOptions};

const RELEASE: &str = r#"
name = "spring-2027"

[wechat]
template_id = 7
version = "2.0.0"
description = "spring release"
ext_json = { extAppid = "{app_id}" }

[baidu]
template_id = 3
version = "2.0.0"
description = "spring release"
ext_json = { extEnable = true, extAppid = "{app_id}" }

[kuaishou]
template_id = 1
version = "2.0.0"
description = "spring release"
"#;

fn miniapp(dir: &Path, sandbox: &Sandbox, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_miniapp"));
    command
        .current_dir(dir)
        .args(["release"])
        .args(args)
        .args(["--base-url", &sandbox.base_url()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Runs `command` to its end, killing it (and failing) after 90 s.
async fn finish(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(90);
        while child.try_wait().unwrap().is_none() {
            if std::time::Instant::now() > deadline {
                child.kill().unwrap();
                let out = child.wait_with_output().unwrap();
                panic!("`miniapp release` did not finish in 90 s: {}", text(&out));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

async fn setup(apps: usize, code: CodeOptions) -> (Sandbox, tempfile::TempDir) {
    let sandbox = Sandbox::start_with(SandboxOptions {
        enforce_tokens: true,
        apps,
        code,
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    miniapp_fleet::sandbox::write_inventory(&sandbox, Vendor::ALL, &dir.path().join("apps.jsonl"))
        .unwrap();
    std::fs::write(dir.path().join("release.toml"), RELEASE).unwrap();
    (sandbox, dir)
}

/// Submissions per WeChat and Baidu app.
fn submissions(sandbox: &Sandbox) -> Vec<usize> {
    [
        (Vendor::Wechat, "SubmitAudit"),
        (Vendor::Baidu, "SubmitPackageAudit"),
    ]
    .into_iter()
    .flat_map(|(vendor, submit)| {
        sandbox.fleet_apps(vendor).iter().map(move |a| {
            sandbox
                .counters(vendor, &a.app_id)
                .requests
                .get(submit)
                .copied()
                .unwrap_or(0)
        })
    })
    .collect()
}

/// (approved, rejected, released) over WeChat and Baidu.
fn outcomes(sandbox: &Sandbox) -> (usize, usize, usize) {
    let (w, b) = (
        sandbox.code_outcomes(Vendor::Wechat),
        sandbox.code_outcomes(Vendor::Baidu),
    );
    (w.0 + b.0, w.1 + b.1, w.2 + b.2)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_from_cron_then_watch_to_the_end() {
    let (sandbox, dir) = setup(
        60,
        CodeOptions {
            audit_time: Duration::from_millis(400),
            rejected_share: 0.1,
            ..CodeOptions::default()
        },
    )
    .await;
    let run = ["run", "release.toml", "--inventory", "apps.jsonl"];
    let first = finish(miniapp(dir.path(), &sandbox, &run)).await;
    let out = text(&first);
    assert!(first.status.success(), "{out}");
    assert!(
        out.contains("kuaishou: 60 app(s) refused, nothing sent"),
        "{out}"
    );
    assert!(out.contains("in_audit"), "{out}");

    let mut watch = run.to_vec();
    watch.extend(["--watch", "--poll", "0.2s"]);
    let done = finish(miniapp(dir.path(), &sandbox, &watch)).await;
    let out = text(&done);
    assert!(done.status.success(), "{out}");
    assert!(
        out.contains("every app is released, rejected or withdrawn"),
        "{out}"
    );
    let (approved, rejected, released) = outcomes(&sandbox);
    assert_eq!((approved + rejected, released), (120, approved));
    assert!(
        out.contains(&format!(
            "rejected (by the audit, or the upload failed): {rejected}"
        )),
        "{out}"
    );
    let csv = std::fs::read_to_string(dir.path().join("release.toml.report.rejected.csv")).unwrap();
    assert_eq!(csv.lines().count(), rejected + 1, "{csv}");
    let counts = submissions(&sandbox);
    assert_eq!(counts.len(), 120);
    assert!(counts.iter().all(|n| *n == 1), "{counts:?}");

    // `status` reads the journal; nothing is sent.
    let before = sandbox.requests().len();
    let status = Command::new(env!("CARGO_BIN_EXE_miniapp"))
        .current_dir(dir.path())
        .args(["release", "status", "release.toml"])
        .output()
        .unwrap();
    let out = text(&status);
    assert!(status.status.success(), "{out}");
    for vendor in [Vendor::Wechat, Vendor::Baidu] {
        let released = sandbox.code_outcomes(vendor).2;
        let row = out
            .lines()
            .find(|l| l.starts_with(&format!("│ {vendor} ")))
            .unwrap_or_else(|| panic!("no {vendor} row: {out}"));
        assert!(row.contains(&format!("┆ {released} ")), "{row}");
    }
    assert_eq!(sandbox.requests().len(), before);

    // Every app's row, streamed from the journal to a CSV.
    let export = Command::new(env!("CARGO_BIN_EXE_miniapp"))
        .current_dir(dir.path())
        .args(["release", "status", "release.toml", "--csv", "apps.csv"])
        .output()
        .unwrap();
    assert!(export.status.success(), "{}", text(&export));
    let apps_csv = std::fs::read_to_string(dir.path().join("apps.csv")).unwrap();
    let lines: Vec<&str> = apps_csv.lines().collect();
    assert_eq!(
        lines[0],
        "vendor,app_id,stage,audit_id,wait,reason,message,reauthorize,next_read_ms"
    );
    assert_eq!(lines.len(), 121, "{apps_csv}");
    assert_eq!(
        lines.iter().filter(|l| l.contains(",released,")).count(),
        approved
    );
    assert!(lines
        .iter()
        .filter(|l| l.contains(",rejected,"))
        .all(|l| l.contains("1:小程序内容不符合规范")));
    assert_eq!(sandbox.requests().len(), before);

    // The operator's actions: a rollback needs a choice of apps (nothing is sent without one).
    let unchosen = finish(miniapp(dir.path(), &sandbox, &["rollback", "release.toml"])).await;
    assert_eq!(unchosen.status.code(), Some(2), "{}", text(&unchosen));
    assert!(text(&unchosen).contains("--app"), "{}", text(&unchosen));
    assert_eq!(sandbox.requests().len(), before);
    // One released WeChat app rolled back (a rejected one named beside it is not in a stage
    // a rollback applies to: said, nothing sent for it).
    let rejected_apps: Vec<String> = csv
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(1).map(str::to_owned))
        .collect();
    let live = sandbox
        .fleet_apps(Vendor::Wechat)
        .iter()
        .map(|a| a.app_id.clone())
        .find(|a| !rejected_apps.contains(a))
        .unwrap();
    let rollback = finish(miniapp(
        dir.path(),
        &sandbox,
        &[
            "rollback",
            "release.toml",
            "--vendor",
            "wechat",
            "--app",
            &live,
            "--app",
            &rejected_apps[0],
        ],
    ))
    .await;
    let out = text(&rollback);
    assert!(rollback.status.success(), "{out}");
    assert!(out.contains("│ wechat ┆ done"), "{out}");
    assert!(
        out.contains("1 named app(s) not in a stage rollback applies to"),
        "{out}"
    );
    assert_eq!(sandbox.hits("RevertCodeRelease"), 1);
    let outcomes_csv =
        std::fs::read_to_string(dir.path().join("release.toml.rollback.csv")).unwrap();
    assert_eq!(
        outcomes_csv,
        format!("vendor,app_id,outcome,detail\nwechat,{live},done,\n")
    );
    // The rejected apps, from the report's CSV, back to planned: nothing sent now.
    let sent = sandbox.requests().len();
    let retry = Command::new(env!("CARGO_BIN_EXE_miniapp"))
        .current_dir(dir.path())
        .args([
            "release",
            "retry",
            "release.toml",
            "--apps",
            "release.toml.report.rejected.csv",
        ])
        .output()
        .unwrap();
    let out = text(&retry);
    assert!(retry.status.success(), "{out}");
    assert!(
        out.contains(&format!("{rejected} app(s) back to planned")),
        "{out}"
    );
    assert_eq!(sandbox.requests().len(), sent);
    let status = Command::new(env!("CARGO_BIN_EXE_miniapp"))
        .current_dir(dir.path())
        .args(["release", "status", "release.toml"])
        .output()
        .unwrap();
    let out = text(&status);
    assert!(out.contains("rolled_back"), "{out}");
    let planned: usize = ["wechat", "baidu"]
        .iter()
        .map(|v| {
            let row = out
                .lines()
                .find(|l| l.starts_with(&format!("│ {v} ")))
                .unwrap();
            // The first count after the vendor is `planned`.
            row.split('┆')
                .nth(1)
                .unwrap()
                .trim()
                .parse::<usize>()
                .unwrap()
        })
        .sum();
    assert_eq!(planned, rejected, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_release_and_run_again_submits_each_app_once() {
    let (sandbox, dir) = setup(
        80,
        CodeOptions {
            audit_time: Duration::from_millis(600),
            rejected_share: 0.1,
            ..CodeOptions::default()
        },
    )
    .await;
    let watch = [
        "run",
        "release.toml",
        "--inventory",
        "apps.jsonl",
        "--watch",
        "--poll",
        "0.1s",
        "--concurrency",
        "8",
    ];
    // Killed at three points of the release, then left to finish.
    for kill_after in [150u64, 450, 900] {
        let mut child = miniapp(dir.path(), &sandbox, &watch).spawn().unwrap();
        tokio::time::sleep(Duration::from_millis(kill_after)).await;
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let done = finish(miniapp(dir.path(), &sandbox, &watch)).await;
    let out = text(&done);
    assert!(out.contains("released, rejected or withdrawn"), "{out}");
    // A Baidu refresh token is single-use (使用后失效): a process killed after Baidu rotated
    // an app's token and before the store saved the new one leaves the spent token behind, and
    // only the app's owner can mend that. Those apps are reported, never lost silently; every
    // other app ends released or rejected.
    let lost = out
        .lines()
        .find_map(|l| l.strip_prefix("must authorize the platform again: "))
        .map_or(0, |rest| {
            rest.split(' ').next().unwrap().parse::<usize>().unwrap()
        });
    assert!(
        lost <= 3 * 8,
        "at most the refreshes in flight per kill: {out}"
    );
    eprintln!("authorizations lost to the kills: {lost}");
    // Exit 0 unless an app waits for its owner.
    assert_eq!(done.status.success(), lost == 0, "{out}");
    let (approved, rejected, released) = outcomes(&sandbox);
    assert_eq!(
        (approved + rejected + lost, released),
        (160, approved),
        "{out}"
    );
    let counts = submissions(&sandbox);
    assert_eq!(
        counts.iter().filter(|n| **n == 0).count(),
        lost,
        "{counts:?}"
    );
    assert!(
        counts.iter().all(|n| *n <= 1),
        "an app was submitted twice: {counts:?}"
    );
    for vendor in [Vendor::Wechat, Vendor::Baidu] {
        assert_eq!(sandbox.code_repeats(vendor), (0, 0), "{vendor}: a repeat");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_with_listen_serves_the_audit_pushes() {
    // The port the job will listen on, known before the sandbox starts (it pushes there).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let push_to = |vendor: Vendor, path: &str| miniapp_sandbox::AuditPushTarget {
        vendor,
        url: format!("http://127.0.0.1:{port}{path}"),
        secrets: miniapp_fleet::sandbox::push_secrets(vendor),
    };
    let (sandbox, dir) = setup(
        20,
        CodeOptions {
            audit_time: Duration::from_millis(300),
            rejected_share: 0.1,
            audit_pushes: vec![
                push_to(Vendor::Wechat, "/wechat/events/$APPID$"),
                push_to(Vendor::Baidu, "/baidu/events"),
            ],
            push_copies: 2,
            ..CodeOptions::default()
        },
    )
    .await;
    let listen = format!("127.0.0.1:{port}");
    // --listen without --watch: refused by the command line, nothing sent.
    let refused = miniapp(
        dir.path(),
        &sandbox,
        &[
            "run",
            "release.toml",
            "--inventory",
            "apps.jsonl",
            "--listen",
            &listen,
        ],
    )
    .output()
    .unwrap();
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(sandbox.requests().is_empty());

    let run = [
        "run",
        "release.toml",
        "--inventory",
        "apps.jsonl",
        "--watch",
        "--poll",
        "60s",
        "--listen",
        &listen,
    ];
    let done = finish(miniapp(dir.path(), &sandbox, &run)).await;
    let out = text(&done);
    assert!(done.status.success(), "{out}");
    assert!(
        out.contains(&format!(
            "listening for wechat audit pushes on http://{listen}/wechat/events/$APPID$"
        )) && out.contains(&format!(
            "listening for baidu audit pushes on http://{listen}/baidu/events"
        )),
        "{out}"
    );
    assert!(
        out.contains("every app is released, rejected or withdrawn"),
        "{out}"
    );
    let (approved, rejected, released) = outcomes(&sandbox);
    assert_eq!((approved + rejected, released), (40, approved), "{out}");
    assert!(submissions(&sandbox).iter().all(|n| *n == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_on_one_postgres_journal_ship_each_app_once() {
    let Some(pg) = miniapp_tests::postgres::PostgresServer::start() else {
        return;
    };
    let (sandbox, dir) = setup(
        60,
        CodeOptions {
            check_time: Duration::from_millis(100),
            audit_time: Duration::from_millis(400),
            rejected_share: 0.1,
            ..CodeOptions::default()
        },
    )
    .await;
    let url = pg.url();
    let watch = [
        "run",
        "release.toml",
        "--inventory",
        "apps.jsonl",
        "--journal",
        url.as_str(),
        "--watch",
        "--poll",
        "0.2s",
        "--lease",
        "3s",
        "--concurrency",
        "4",
    ];
    let mut workers: Vec<_> = (0..3)
        .map(|_| miniapp(dir.path(), &sandbox, &watch).spawn().unwrap())
        .collect();
    // One worker dies mid-release (kill -9): the others take its apps over.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let mut killed = workers.remove(0);
    killed.kill().unwrap();
    killed.wait().unwrap();
    for worker in workers {
        let out = tokio::task::spawn_blocking(move || worker.wait_with_output().unwrap())
            .await
            .unwrap();
        let out = text(&out);
        assert!(out.contains("released, rejected or withdrawn"), "{out}");
    }
    let (approved, rejected, released) = outcomes(&sandbox);
    let lost = 120 - (approved + rejected);
    // As in the kill test: only a Baidu token rotated while its answer was on the wire is lost.
    assert!(lost <= 4, "{lost} apps not shipped");
    assert_eq!(released, approved);
    let counts = submissions(&sandbox);
    assert!(
        counts.iter().all(|n| *n <= 1),
        "an app was submitted twice: {counts:?}"
    );
    for vendor in [Vendor::Wechat, Vendor::Baidu] {
        let endpoint = if vendor == Vendor::Wechat {
            "Release"
        } else {
            "ReleasePackage"
        };
        for app in sandbox.fleet_apps(vendor) {
            let n = sandbox
                .counters(vendor, &app.app_id)
                .requests
                .get(endpoint)
                .copied()
                .unwrap_or(0);
            assert!(n <= 1, "{vendor} {}: released {n} times", app.app_id);
        }
    }
}
