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

fn submissions(sandbox: &Sandbox) -> Vec<usize> {
    sandbox
        .fleet_apps(Vendor::Wechat)
        .iter()
        .map(|a| {
            sandbox
                .counters(Vendor::Wechat, &a.app_id)
                .requests
                .get("SubmitAudit")
                .copied()
                .unwrap_or(0)
        })
        .collect()
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
    let (approved, rejected, released) = sandbox.code_outcomes(Vendor::Wechat);
    assert_eq!((approved + rejected, released), (60, approved));
    assert!(
        out.contains(&format!("rejected by the audit: {rejected}")),
        "{out}"
    );
    let csv = std::fs::read_to_string(dir.path().join("release.toml.report.rejected.csv")).unwrap();
    assert_eq!(csv.lines().count(), rejected + 1, "{csv}");
    assert!(submissions(&sandbox).iter().all(|n| *n == 1));

    // `status` reads the journal; nothing is sent.
    let before = sandbox.requests().len();
    let status = Command::new(env!("CARGO_BIN_EXE_miniapp"))
        .current_dir(dir.path())
        .args(["release", "status", "release.toml"])
        .output()
        .unwrap();
    let out = text(&status);
    assert!(status.status.success(), "{out}");
    assert!(out.contains(&format!("┆ {approved} ")), "{out}");
    assert_eq!(sandbox.requests().len(), before);
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
    assert!(done.status.success(), "{out}");
    assert!(
        out.contains("every app is released, rejected or withdrawn"),
        "{out}"
    );
    let (approved, rejected, released) = sandbox.code_outcomes(Vendor::Wechat);
    assert_eq!((approved + rejected, released), (80, approved), "{out}");
    let counts = submissions(&sandbox);
    assert!(
        counts.iter().all(|n| *n == 1),
        "an app was submitted twice: {counts:?}"
    );
}
