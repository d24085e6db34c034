//! The `miniapp` command as operators run it, in child processes against a sandbox in this
//! test: `apply` killed (SIGKILL) at random points and started again reaches the desired
//! state with at most one write per app and resource; three workers on one PostgreSQL journal
//! apply every app exactly once; bad input exits 2 with the file and line.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use miniapp_fleet::credentials::{self, StoreSpec};
use miniapp_fleet::plan::Quiet;
use miniapp_fleet::vendors::Vendor;
use miniapp_fleet::DesiredState;
use miniapp_sandbox::{Sandbox, SandboxOptions};
use miniapp_tests::postgres::PostgresServer;
use miniapp_tests::redis::RedisServer;

const DESIRED: &str = r#"
[[set]]
vendor = "wechat"
resource = "platform_server_domains"
value = { wxa_server_domain = ["example.com"] }

[[set]]
vendor = "wechat"
resource = "server_domains"
value = { requestdomain = ["https://api.example.com"] }

[[set]]
vendor = "baidu"
resource = "server_domains"
value = { request_domain = ["https://api.example.com"] }

[[set]]
vendor = "baidu"
resource = "min_support_version"
value = { version = "3.60.2" }

[[set]]
vendor = "kuaishou"
resource = "webview_domains"
value = { webview = ["https://h5.example.com"] }
"#;

/// Writes per app: WeChat 1, Baidu 2, Kuaishou 1.
fn resources_per_app(v: Vendor) -> usize {
    match v {
        Vendor::Baidu => 2,
        _ => 1,
    }
}

struct Job {
    sandbox: Sandbox,
    dir: tempfile::TempDir,
    plan: PathBuf,
    credentials: PathBuf,
}

/// A sandbox with `apps` per vendor and `latency`, the inventory, the credentials (tokens in
/// the Redis at `redis_url`, shared by every process) and the plan, made in this process.
async fn job(apps: usize, latency: Duration, redis_url: &str) -> Job {
    let sandbox = Sandbox::start_with(SandboxOptions {
        enforce_tokens: true,
        apps,
        latency,
        ..Default::default()
    })
    .await
    .unwrap();
    job_on(sandbox, redis_url).await
}

/// The job of [`job`] on a sandbox of the caller's.
async fn job_on(sandbox: Sandbox, redis_url: &str) -> Job {
    let apps = sandbox.fleet_apps(Vendor::Wechat).len();
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("inventory.jsonl");
    miniapp_fleet::sandbox::write_inventory(&sandbox, Vendor::ALL, &inventory).unwrap();
    let credentials_path = dir.path().join("credentials.toml");
    std::fs::write(
        &credentials_path,
        format!(
            "store = \"{redis_url}\"\n\n[wechat]\napp_id = \"wechat_sandbox_platform\"\nsecret = \"env:MINIAPP_TEST_SECRET\"\nticket = \"sandbox-ticket\"\n\n[baidu]\napp_id = \"baidu_sandbox_platform\"\nticket = \"sandbox-ticket\"\n\n[kuaishou]\napp_id = \"kuaishou_sandbox_platform\"\nsecret = \"env:MINIAPP_TEST_SECRET\"\nticket = \"sandbox-ticket\"\n"
        ),
    )
    .unwrap();
    let creds =
        miniapp_fleet::sandbox::credentials(StoreSpec::Redis(redis_url.to_owned()), Vendor::ALL);
    let clients = credentials::clients(&creds, Some(&sandbox.base_url()))
        .await
        .unwrap();
    // Listing the Redis store's authorizations (nothing imported yet).
    let listed = dir.path().join("listed.jsonl");
    let n = miniapp_fleet::inventory::write_from_store(&clients, &listed)
        .await
        .unwrap();
    assert_eq!(n, 0);
    let desired_path = dir.path().join("desired.toml");
    std::fs::write(&desired_path, DESIRED).unwrap();
    let desired = DesiredState::load(&desired_path).unwrap();
    let plan = dir.path().join("plan.jsonl");
    miniapp_fleet::plan(
        &desired,
        &inventory,
        &clients,
        Some(&sandbox.base_url()),
        &plan,
        16,
        &Quiet,
    )
    .await
    .unwrap();
    let n = miniapp_fleet::inventory::write_from_store(&clients, &listed)
        .await
        .unwrap();
    assert_eq!(
        n,
        3 * apps,
        "every imported authorization is listed from Redis"
    );
    Job {
        sandbox,
        dir,
        plan,
        credentials: credentials_path,
    }
}

fn apply(job: &Job, journal: &str, report: Option<&Path>) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_miniapp"));
    cmd.arg("apply")
        .arg(&job.plan)
        .args(["--journal", journal, "--concurrency", "8"])
        .arg("--credentials")
        .arg(&job.credentials)
        .env("MINIAPP_TEST_SECRET", "sandbox-secret")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(r) = report {
        cmd.arg("--report").arg(r);
    }
    cmd
}

/// Every app holds the desired values, with at most (or, `exact`, exactly) one write per
/// app and resource.
fn assert_reached(job: &Job, exact: bool) {
    for &v in Vendor::ALL {
        for app in job.sandbox.fleet_apps(v) {
            let writes = job.sandbox.counters(v, &app.app_id).writes_attempted;
            if exact {
                assert_eq!(writes, resources_per_app(v), "{v} {}", app.app_id);
            } else {
                assert!(
                    writes <= resources_per_app(v),
                    "{v} {}: {writes} writes",
                    app.app_id
                );
            }
        }
        let name = match v {
            Vendor::Kuaishou => "webview_domains",
            _ => "server_domains",
        };
        for app in job.sandbox.fleet_apps(v) {
            assert!(
                job.sandbox.resource(v, &app.app_id, name).is_some(),
                "{v} {} has no {name}",
                app.app_id
            );
        }
    }
}

/// The writes the sandbox received for every app of the job.
fn writes(job: &Job) -> usize {
    Vendor::ALL
        .iter()
        .flat_map(|&v| {
            job.sandbox
                .fleet_apps(v)
                .iter()
                .map(move |a| job.sandbox.counters(v, &a.app_id).writes_attempted)
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_killed_at_random_points_resumes_to_the_desired_state() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let job = job(80, Duration::from_millis(20), &redis.url()).await;
    let journal = format!("sqlite:{}", job.dir.path().join("journal.sqlite").display());
    for round in 0..4usize {
        let mut child = apply(&job, &journal, None).spawn().unwrap();
        // Kill it once the sandbox has seen some more of its writes (a different number each
        // round), however fast this machine starts the process.
        let target = writes(&job) + 20 + (round * 37) % 30;
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while writes(&job) < target && std::time::Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    // The kills interrupted the job: some rows are done, some are not.
    {
        let j = miniapp_fleet::Journal::open(&journal).await.unwrap();
        let header = miniapp_fleet::plan::read_plan(&job.plan, |_| Ok(())).unwrap();
        let counts = j.counts(&header.job).await.unwrap();
        let done: i64 = counts
            .iter()
            .filter(|(_, s, _)| s.is_final())
            .map(|(_, _, n)| n)
            .sum();
        let total: i64 = counts.iter().map(|(_, _, n)| n).sum();
        assert!(
            done > 0 && done < total,
            "done {done} of {total}: the kills did not land mid-job"
        );
    }
    let report = job.dir.path().join("report.jsonl");
    let out = apply(&job, &journal, Some(&report))
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_reached(&job, false);
    let records = miniapp_tests::json_lines(&report);
    assert!(!records.is_empty());
    assert!(records.iter().all(|r| r["outcome"] == "done"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_on_one_postgres_journal_apply_every_app_exactly_once() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let Some(pg) = PostgresServer::start() else {
        return;
    };
    let job = job(60, Duration::from_millis(5), &redis.url()).await;
    let workers: Vec<_> = (0..3)
        .map(|_| apply(&job, &pg.url(), None).spawn().unwrap())
        .collect();
    for w in workers {
        let out = w.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_reached(&job, true);
}

/// The README's two commands as two processes, with nothing but the defaults (the embedded
/// token store beside the plan, no rate given) against vendors that enforce a rate with their
/// own rate-limit codes, token calls included: the rate is found, every app is set with one
/// write per resource, no app is called lost, and Baidu's single-use refresh tokens that
/// `plan` rotated are the ones `apply` uses (a dead one would be refused, `invalid_grant`,
/// and show as a lost authorization).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_and_apply_as_two_processes_find_the_rate_and_keep_the_tokens() {
    let apps = 80;
    let sandbox = Sandbox::start_with(SandboxOptions {
        enforce_tokens: true,
        apps,
        latency: Duration::from_millis(2),
        rate_limit: Some(60),
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("inventory.jsonl");
    miniapp_fleet::sandbox::write_inventory(&sandbox, Vendor::ALL, &inventory).unwrap();
    let desired = dir.path().join("desired.toml");
    std::fs::write(&desired, DESIRED).unwrap();
    let plan = dir.path().join("release.plan.jsonl");

    let planned = Command::new(env!("CARGO_BIN_EXE_miniapp"))
        .arg("plan")
        .arg("--desired")
        .arg(&desired)
        .arg("--inventory")
        .arg(&inventory)
        .args(["--base-url", &sandbox.base_url(), "--concurrency", "16"])
        .arg("--out")
        .arg(&plan)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&planned.stdout);
    assert!(
        planned.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&planned.stderr)
    );
    let entries = std::fs::read_to_string(&plan).unwrap();
    assert!(
        !entries.contains("\"action\":\"reauth\""),
        "a throttled read or token call is not a lost authorization:\n{text}"
    );
    let tokens = dir.path().join("release.plan.jsonl.tokens.sqlite");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&tokens).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let report = dir.path().join("report.jsonl");
    let applied = Command::new(env!("CARGO_BIN_EXE_miniapp"))
        .arg("apply")
        .arg(&plan)
        .args(["--concurrency", "16"])
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&applied.stdout);
    assert!(
        applied.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    assert!(text.contains("paced at"), "{text}");
    let records = miniapp_tests::json_lines(&report);
    assert_eq!(records.len(), 1 + apps * 4);
    for r in &records {
        assert!(r["outcome"] == "done" || r["outcome"] == "unchanged", "{r}");
    }
    // The summary in its own small file: counts per vendor and outcome, the rates found.
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("report.summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["all_ok"], true, "{summary}");
    assert_eq!(summary["report"], report.display().to_string());
    let counted: u64 = summary["outcomes"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|by_outcome| by_outcome.as_object().unwrap().values())
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(counted as usize, records.len());
    // The rates the apply's clients paced at (a vendor that never throttled the apply, only
    // the plan, has none): the same the terminal says ("paced at").
    let rates = summary["rates"].as_object().unwrap();
    assert!(
        !rates.is_empty(),
        "the rates found are in the summary: {summary}"
    );
    for (vendor, rate) in rates {
        assert!(
            Vendor::ALL.iter().any(|v| v.as_str() == vendor) && rate.as_f64().unwrap() > 0.0,
            "{summary}"
        );
    }
    assert!(summary["attention"].as_object().unwrap().is_empty());
    for &v in Vendor::ALL {
        let traffic = sandbox.traffic(v);
        assert!(
            traffic.throttled > 0,
            "{v}: the vendor's limit was met ({traffic:?})"
        );
        for app in sandbox.fleet_apps(v) {
            assert_eq!(
                sandbox.counters(v, &app.app_id).writes_attempted,
                resources_per_app(v),
                "{v} {}: one write per resource, none repeated",
                app.app_id
            );
        }
    }
}

/// Three workers on one PostgreSQL journal whose run outlasts their 1 s lease several times
/// (the vendors enforce a low rate, shared by the workers), one of them killed with SIGKILL
/// while it writes: the others take its rows over once its lease runs out, read those it left
/// mid-write first, and every app and resource is written exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_outlasting_their_lease_with_one_killed_write_each_row_once() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let Some(pg) = PostgresServer::start() else {
        return;
    };
    let job = {
        let sandbox = Sandbox::start_with(SandboxOptions {
            enforce_tokens: true,
            apps: 40,
            latency: Duration::from_millis(20),
            rate_limit: Some(25),
            ..Default::default()
        })
        .await
        .unwrap();
        job_on(sandbox, &redis.url()).await
    };
    let worker = || {
        let mut cmd = apply(&job, &pg.url(), None);
        cmd.args(["--lease", "1s", "--max-passes", "20"]);
        cmd
    };
    let started = std::time::Instant::now();
    let mut doomed = worker().spawn().unwrap();
    let others: Vec<_> = (0..2).map(|_| worker().spawn().unwrap()).collect();
    // Kill one once writes are flowing.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while writes(&job) < 15 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    doomed.kill().unwrap();
    let _ = doomed.wait();
    for w in others {
        let out = w.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let took = started.elapsed();
    assert!(
        took > Duration::from_secs(3),
        "the run ({took:?}) outlasted the 1 s lease several times"
    );
    assert_reached(&job, true);
}

#[test]
fn bad_input_exits_2_with_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let desired = dir.path().join("desired.toml");
    std::fs::write(
        &desired,
        "[[set]]\nvendor = \"wechat\"\nresource = \"platform_server_domains\"\nvalue = { wxa_server_domain = [\"https://example.com\"] }\n",
    )
    .unwrap();
    let inventory = dir.path().join("inventory.jsonl");
    std::fs::write(&inventory, "").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_miniapp"))
        .arg("plan")
        .arg("--desired")
        .arg(&desired)
        .arg("--inventory")
        .arg(&inventory)
        .args(["--base-url", "http://127.0.0.1:9"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("desired.toml:4:"), "{err}");
    assert!(err.contains("a bare host"), "{err}");

    // A memory store cannot carry tokens from `plan` to `apply`: refused, saying what to use.
    let creds = dir.path().join("credentials.toml");
    std::fs::write(&creds, "store = \"memory\"\n\n[baidu]\napp_id = \"tp\"\n").unwrap();
    std::fs::write(
        &desired,
        "[[set]]\nvendor = \"baidu\"\nresource = \"min_support_version\"\nvalue = { version = \"3.60.2\" }\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_miniapp"))
        .arg("plan")
        .arg("--desired")
        .arg(&desired)
        .arg("--inventory")
        .arg(&inventory)
        .arg("--credentials")
        .arg(&creds)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("store = \"memory\""), "{err}");
    assert!(err.contains("sqlite:PATH"), "{err}");

    let help = Command::new(env!("CARGO_BIN_EXE_miniapp"))
        .args(["apply", "--help"])
        .output()
        .unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--journal"));
}
