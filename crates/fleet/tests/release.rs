//! The release job against the sandbox's code lifecycle, one pass at a time as cron runs it:
//! every WeChat and Baidu app ends released or rejected with its reason, Kuaishou apps are
//! refused with the reason and nothing is sent for them, a pass after the end sends nothing,
//! and a job killed between a submission and its journal entry resumes (in a new process's
//! journal and clients) without submitting twice.

use std::collections::BTreeSet;
use std::time::Duration;

use miniapp_fleet::credentials::{self, StoreSpec};
use miniapp_fleet::release::{self, PassOptions, ReleaseFile, ReleaseJournal, ReleaseSummary};
use miniapp_fleet::ship::Stage;
use miniapp_fleet::vendors::{Backends, Vendor};
use miniapp_sandbox::{CodeOptions, Sandbox, SandboxOptions};

const RELEASE: &str = r#"
name = "spring-2027"

[wechat]
template_id = 7
version = "2.0.0"
description = "spring release"
ext_json = { extAppid = "{app_id}", ext = { shop = "{app_id}" } }

[baidu]
template_id = 3
version = "2.0.0"
description = "spring release"

[kuaishou]
template_id = 1
version = "2.0.0"
description = "spring release"
"#;

/// The same release for WeChat alone.
const RELEASE_WECHAT: &str = r#"
name = "spring-2027"

[wechat]
template_id = 7
version = "2.0.0"
description = "spring release"
"#;

struct Job {
    sandbox: Sandbox,
    dir: tempfile::TempDir,
    release: ReleaseFile,
}

impl Job {
    async fn start(apps: usize) -> Job {
        Job::start_with(apps, RELEASE).await
    }

    async fn start_with(apps: usize, release: &str) -> Job {
        let sandbox = Sandbox::start_with(SandboxOptions {
            enforce_tokens: true,
            apps,
            code: CodeOptions {
                check_time: Duration::from_millis(100),
                audit_time: Duration::from_millis(300),
                rejected_share: 0.1,
                ..CodeOptions::default()
            },
            ..SandboxOptions::default()
        })
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        miniapp_fleet::sandbox::write_inventory(
            &sandbox,
            Vendor::ALL,
            &dir.path().join("apps.jsonl"),
        )
        .unwrap();
        std::fs::write(dir.path().join("release.toml"), release).unwrap();
        let release = ReleaseFile::load(&dir.path().join("release.toml")).unwrap();
        Job {
            sandbox,
            dir,
            release,
        }
    }

    /// A process's view: its clients (tokens in the shared SQLite file) and journal.
    async fn process(&self) -> (Backends, ReleaseJournal) {
        let creds = miniapp_fleet::sandbox::credentials(
            StoreSpec::Sqlite(Some(self.dir.path().join("tokens.sqlite"))),
            Vendor::ALL,
        );
        let backends = credentials::clients(&creds, Some(&self.sandbox.base_url()))
            .await
            .unwrap();
        let journal = ReleaseJournal::open(&format!(
            "sqlite:{}",
            self.dir.path().join("release.journal.sqlite").display()
        ))
        .await
        .unwrap();
        (backends, journal)
    }

    async fn pass(&self, backends: &Backends, journal: &ReleaseJournal) -> ReleaseSummary {
        release::run_pass(
            &self.release,
            &self.dir.path().join("apps.jsonl"),
            journal,
            backends,
            &PassOptions {
                concurrency: 16,
                check_poll: Duration::from_millis(50),
                audit_poll: Duration::from_millis(100),
                ..PassOptions::default()
            },
        )
        .await
        .unwrap()
    }

    /// Passes every 100 ms (cron, quickly) until the release is finished.
    async fn until_finished(
        &self,
        backends: &Backends,
        journal: &ReleaseJournal,
    ) -> ReleaseSummary {
        for _ in 0..100 {
            let summary = self.pass(backends, journal).await;
            if summary.finished() {
                return summary;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("not finished after 100 passes");
    }

    fn mutating_calls(&self) -> usize {
        self.sandbox
            .requests()
            .iter()
            .filter(|r| {
                matches!(
                    r.endpoint.as_deref(),
                    Some(
                        "Commit"
                            | "SubmitAudit"
                            | "Release"
                            | "UploadPackage"
                            | "SubmitPackageAudit"
                            | "ReleasePackage"
                    )
                )
            })
            .count()
    }
}

fn audit_ids(summary_rows: &[release::ReleaseRow]) -> BTreeSet<String> {
    summary_rows
        .iter()
        .filter_map(|r| match &r.stage {
            Stage::Released { audit_id } | Stage::Rejected { audit_id, .. } => {
                Some(audit_id.clone())
            }
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_app_ends_released_or_rejected_and_unsupported_vendors_are_refused() {
    let job = Job::start(120).await;
    let (backends, journal) = job.process().await;
    let summary = job.until_finished(&backends, &journal).await;

    for vendor in [Vendor::Wechat, Vendor::Baidu] {
        let stages = &summary.stages[&vendor];
        let released = stages.get("released").copied().unwrap_or(0);
        let rejected: Vec<_> = summary
            .rejected
            .iter()
            .filter(|(v, _, _)| *v == vendor)
            .collect();
        assert_eq!(released + rejected.len(), 120, "{vendor}: {summary:?}");
        assert!(
            (3..=30).contains(&rejected.len()),
            "{vendor}: about a tenth: {summary:?}"
        );
        assert!(rejected
            .iter()
            .all(|(_, _, reason)| reason == "1:小程序内容不符合规范"));
        let (approved, refused, live) = job.sandbox.code_outcomes(vendor);
        assert_eq!(
            (approved, refused, live),
            (released, rejected.len(), released),
            "{vendor}"
        );
    }
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    // Kuaishou: refused with the reason, nothing sent.
    assert_eq!(summary.unsupported.len(), 1, "{:?}", summary.unsupported);
    let (kuaishou, reason) = &summary.unsupported[&Vendor::Kuaishou];
    assert_eq!(*kuaishou, 120);
    assert!(reason.contains("CODE_MANAGEMENT.md"), "{reason}");
    // One audit per app.
    assert_eq!(
        audit_ids(&journal.rows("spring-2027").await.unwrap()).len(),
        240
    );

    // Cron runs it again: nothing changes, nothing is sent that changes anything.
    let before = job.mutating_calls();
    let again = job.pass(&backends, &journal).await;
    assert_eq!(again.stages, summary.stages);
    assert_eq!(job.mutating_calls(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_killed_after_a_submission_resumes_without_submitting_twice() {
    for vendor in [Vendor::Wechat, Vendor::Baidu] {
        killed_after_a_submission(vendor).await;
    }
}

async fn killed_after_a_submission(vendor: Vendor) {
    let job = Job::start(20).await;
    let (backends, journal) = job.process().await;
    // Passes until some app of `vendor` waits to be submitted (its check ended).
    let mut target = None;
    for _ in 0..40 {
        job.pass(&backends, &journal).await;
        tokio::time::sleep(Duration::from_millis(120)).await;
        let rows = journal.rows("spring-2027").await.unwrap();
        if let Some(row) = rows
            .iter()
            .find(|r| r.vendor == vendor && matches!(r.stage, Stage::Committed { .. }))
        {
            target = Some(row.clone());
            break;
        }
    }
    let target = target.expect("an app waits in the code check");
    // The process journals `Submitting`, submits, and dies before journaling the answer.
    let Stage::Committed {
        previous_audit,
        uploaded_ms,
    } = &target.stage
    else {
        unreachable!()
    };
    let submitting = Stage::Submitting {
        previous_audit: previous_audit.clone(),
        uploaded_ms: *uploaded_ms,
    };
    journal
        .record(
            "spring-2027",
            vendor,
            &target.app_id,
            &submitting,
            None,
            None,
            None,
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await; // the check has ended
    let shipper = backends[&vendor].shipper().unwrap();
    let upload = job.release.vendors[&vendor].upload(&target.app_id);
    let sent = shipper.submit(&target.app_id, &upload).await.unwrap();
    assert!(
        matches!(sent, core_http::shipping::Submitted::Audit { .. }),
        "{sent:?}"
    );
    drop((backends, journal));

    // A new process: new clients on the same token file, the same journal file.
    let (backends, journal) = job.process().await;
    let summary = job.until_finished(&backends, &journal).await;
    assert_eq!(summary.count("released") + summary.rejected.len(), 40);
    let rows = journal.rows("spring-2027").await.unwrap();
    let ids = audit_ids(&rows);
    assert_eq!(
        ids.len(),
        40,
        "{vendor}: one audit per app: the lost submission was adopted"
    );
    let core_http::shipping::Submitted::Audit { audit_id } = sent else {
        unreachable!()
    };
    let row = rows.iter().find(|r| r.app_id == target.app_id).unwrap();
    assert!(
        matches!(&row.stage, Stage::Released { audit_id: a } | Stage::Rejected { audit_id: a, .. } if *a == audit_id),
        "{row:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_app_is_read_again_only_when_it_is_worth_it() {
    let job = Job::start(10).await;
    let (backends, journal) = job.process().await;
    let options = PassOptions {
        concurrency: 16,
        check_poll: Duration::from_secs(600),
        ..PassOptions::default()
    };
    let inventory = job.dir.path().join("apps.jsonl");
    let pass = || release::run_pass(&job.release, &inventory, &journal, &backends, &options);
    // WeChat reads the check; Baidu lists the packages (before the upload, and for the check:
    // not at once after the upload, when the check has only begun).
    let checks = || {
        (
            job.sandbox.hits("GetCodePrivacyInfo"),
            job.sandbox.hits("GetPackages"),
        )
    };
    let first = pass().await.unwrap();
    assert_eq!(first.count("committed"), 20, "{first:?}");
    let read = checks();
    assert_eq!(read, (0, 10), "no check read right after the upload");
    // Passes right after it read nothing: the apps are due in ten minutes.
    for _ in 0..3 {
        pass().await.unwrap();
    }
    assert_eq!(checks(), read);
    let rows = journal.rows("spring-2027").await.unwrap();
    assert_eq!(rows.len(), 20);
    assert!(
        rows.iter().all(|r| r.polls == 1 && r.next_ms > 0),
        "{rows:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_whose_authorization_is_lost_are_reported_and_end_the_watch() {
    let job = Job::start_with(5, RELEASE_WECHAT).await;
    // WeChat refuses every refresh token (61023: the owner must authorize again).
    job.sandbox
        .fail_token_endpoint("GetAuthorizerToken", Some(61023));
    let (backends, journal) = job.process().await;
    let summary = job.pass(&backends, &journal).await;
    assert_eq!(summary.reauthorize.len(), 5, "{summary:?}");
    // Marked in its own column; the message is the vendor's answer as it came.
    let rows = journal.rows("spring-2027").await.unwrap();
    assert!(
        rows.iter().all(|r| r.reauthorize
            && r.message
                .as_deref()
                .is_some_and(|m| m.contains("61023") && !m.starts_with("reauthorize"))),
        "{rows:?}"
    );
    assert!(
        summary.finished(),
        "nothing left the job can move: {summary:?}"
    );
    assert_eq!(summary.count("planned"), 5);
    assert_eq!(
        job.mutating_calls(),
        0,
        "nothing uploaded for an app without tokens"
    );
    // The report's CSV of apps to authorize again, with WeChat's answer.
    let report = job.dir.path().join("release.report.json");
    let files = release::write_report(&report, &summary).unwrap();
    let csv = std::fs::read_to_string(files.reauthorize.unwrap()).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "vendor,app_id,message");
    assert_eq!(lines.len(), 6, "{csv}");
    assert!(
        lines[1..]
            .iter()
            .all(|l| l.starts_with("wechat,wx_fleet_") && l.contains("61023")),
        "{csv}"
    );
}

/// A `--watch` job with its push listener, as `miniapp release run --watch --listen` runs it:
/// the listener is bound first (the sandbox pushes to it), the sandbox pushes each audit
/// result as configured, and a pass runs every `poll` or as soon as a push wakes an app.
async fn watch_with_pushes(
    apps: usize,
    code: CodeOptions,
    audit_poll: Duration,
) -> (Sandbox, ReleaseSummary, Duration) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = format!("http://{}", listener.local_addr().unwrap());
    let targets = [
        (Vendor::Wechat, format!("{at}/wechat/events/$APPID$")),
        (Vendor::Baidu, format!("{at}/baidu/events")),
    ];
    let sandbox = Sandbox::start_with(SandboxOptions {
        enforce_tokens: true,
        apps,
        code: CodeOptions {
            audit_pushes: targets
                .iter()
                .map(|(vendor, url)| miniapp_sandbox::AuditPushTarget {
                    vendor: *vendor,
                    url: url.clone(),
                    secrets: miniapp_fleet::sandbox::push_secrets(*vendor),
                })
                .collect(),
            ..code
        },
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("apps.jsonl");
    miniapp_fleet::sandbox::write_inventory(&sandbox, Vendor::ALL, &inventory).unwrap();
    std::fs::write(dir.path().join("release.toml"), RELEASE).unwrap();
    let release = ReleaseFile::load(&dir.path().join("release.toml")).unwrap();
    let creds = miniapp_fleet::sandbox::credentials(
        StoreSpec::Sqlite(Some(dir.path().join("tokens.sqlite"))),
        Vendor::ALL,
    );
    let backends = credentials::clients(&creds, Some(&sandbox.base_url()))
        .await
        .unwrap();
    let journal = ReleaseJournal::open(&format!(
        "sqlite:{}",
        dir.path().join("journal.sqlite").display()
    ))
    .await
    .unwrap();
    let wakeup = std::sync::Arc::new(tokio::sync::Notify::new());
    let (router, served) =
        release::audit_listener(&release, &journal, &backends, wakeup.clone()).unwrap();
    assert_eq!(
        served,
        vec![
            (Vendor::Baidu, "/baidu/events".to_owned()),
            (Vendor::Wechat, "/wechat/events/$APPID$".to_owned()),
        ],
        "Kuaishou pushes no audit result"
    );
    let server = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let options = PassOptions {
        concurrency: 16,
        check_poll: Duration::from_millis(50),
        audit_poll,
        ..PassOptions::default()
    };
    let started = std::time::Instant::now();
    let mut summary = None;
    for _ in 0..200 {
        let s = release::run_pass(&release, &inventory, &journal, &backends, &options)
            .await
            .unwrap();
        if s.finished() {
            summary = Some(s);
            break;
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(100)) => {}
            () = wakeup.notified() => {}
        }
    }
    server.abort();
    let summary = summary.expect("the release finishes");
    (sandbox, summary, started.elapsed())
}

fn release_calls(sandbox: &Sandbox, vendor: Vendor) -> Vec<usize> {
    let endpoint = match vendor {
        Vendor::Wechat => "Release",
        _ => "ReleasePackage",
    };
    sandbox
        .fleet_apps(vendor)
        .iter()
        .map(|a| {
            sandbox
                .counters(vendor, &a.app_id)
                .requests
                .get(endpoint)
                .copied()
                .unwrap_or(0)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_pushes_wake_the_apps_and_duplicates_release_nothing_twice() {
    // Audits end after 400 ms, but an app in audit would be read again only after a minute:
    // only the pushes (each sent twice) can finish the release in time.
    let (sandbox, summary, took) = watch_with_pushes(
        30,
        CodeOptions {
            check_time: Duration::from_millis(50),
            audit_time: Duration::from_millis(400),
            rejected_share: 0.1,
            push_copies: 2,
            ..CodeOptions::default()
        },
        Duration::from_secs(60),
    )
    .await;
    assert!(took < Duration::from_secs(30), "{took:?}");
    for vendor in [Vendor::Wechat, Vendor::Baidu] {
        let (approved, rejected, live) = sandbox.code_outcomes(vendor);
        assert_eq!((approved + rejected, live), (30, approved), "{vendor}");
        let released = release_calls(&sandbox, vendor);
        assert!(
            released.iter().all(|n| *n <= 1),
            "{vendor}: released once: {released:?}"
        );
        assert_eq!(released.iter().sum::<usize>(), approved, "{vendor}");
    }
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_audit_pushes_are_made_up_by_the_polls() {
    let (sandbox, summary, _) = watch_with_pushes(
        30,
        CodeOptions {
            check_time: Duration::from_millis(50),
            audit_time: Duration::from_millis(300),
            rejected_share: 0.1,
            lost_push_share: 0.4,
            ..CodeOptions::default()
        },
        Duration::from_millis(400),
    )
    .await;
    for vendor in [Vendor::Wechat, Vendor::Baidu] {
        let (approved, rejected, live) = sandbox.code_outcomes(vendor);
        assert_eq!((approved + rejected, live), (30, approved), "{vendor}");
    }
    assert_eq!(summary.count("released") + summary.rejected.len(), 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_rejections_stop_the_uploads_and_the_rest_is_held() {
    let job = Job::start_with(
        40,
        r#"
name = "spring-2027"

[wechat]
template_id = 7
version = "2.0.0"
description = "spring release"
max_in_audit = 4
stop_at_rejected_share = 0.3
min_audits = 6
"#,
    )
    .await;
    // Half the audits reject (the sandbox of `Job::start` rejects a tenth: a new one).
    let job = Job {
        sandbox: Sandbox::start_with(SandboxOptions {
            enforce_tokens: true,
            apps: 40,
            code: CodeOptions {
                audit_time: Duration::from_millis(100),
                rejected_share: 0.5,
                ..CodeOptions::default()
            },
            ..SandboxOptions::default()
        })
        .await
        .unwrap(),
        ..job
    };
    miniapp_fleet::sandbox::write_inventory(
        &job.sandbox,
        Vendor::ALL,
        &job.dir.path().join("apps.jsonl"),
    )
    .unwrap();
    let (backends, journal) = job.process().await;
    let summary = job.until_finished(&backends, &journal).await;
    let (rejected, ended) = summary.stopped[&Vendor::Wechat];
    assert!(ended >= 6 && rejected * 10 >= ended * 3, "{summary:?}");
    let held = summary.stages[&Vendor::Wechat]["planned"];
    assert!(held >= 15, "most apps were never uploaded: {summary:?}");
    // Nothing was uploaded to the held apps.
    let uploads = job
        .sandbox
        .requests()
        .iter()
        .filter(|r| r.endpoint.as_deref() == Some("Commit"))
        .count();
    assert_eq!(uploads, 40 - held, "{summary:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gray_stages_go_up_one_pause_apart_then_everyone_gets_it() {
    let job = Job::start_with(
        12,
        r#"
name = "spring-2027"

[wechat]
template_id = 7
version = "2.0.0"
description = "spring release"
gray = [10, 50]
gray_pause = "1s"

[baidu]
template_id = 3
version = "2.0.0"
description = "spring release"
gray = [10]
"#,
    )
    .await;
    let (backends, journal) = job.process().await;
    let started = std::time::Instant::now();
    let summary = job.until_finished(&backends, &journal).await;
    let took = started.elapsed();
    // Baidu documents no gray release: refused with the reason, nothing sent.
    let (baidu, reason) = &summary.unsupported[&Vendor::Baidu];
    assert_eq!(*baidu, 12);
    assert!(reason.contains("no gray release"), "{reason}");
    assert!(!job
        .sandbox
        .requests()
        .iter()
        .any(|r| r.endpoint.as_deref() == Some("UploadPackage")));
    // WeChat: every approved app went to 10 %, then 50 %, then everyone, a pause apart.
    let (approved, rejected, live) = job.sandbox.code_outcomes(Vendor::Wechat);
    assert_eq!((approved + rejected, live), (12, approved));
    let grays: Vec<String> = job
        .sandbox
        .requests()
        .iter()
        .filter(|r| r.endpoint.as_deref() == Some("GrayRelease"))
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert_eq!(grays.len(), 2 * approved, "{grays:?}");
    assert_eq!(
        grays
            .iter()
            .filter(|b| b.as_str() == r#"{"gray_percentage":10}"#)
            .count(),
        approved,
        "{grays:?}"
    );
    for app in job.sandbox.fleet_apps(Vendor::Wechat) {
        let counters = job.sandbox.counters(Vendor::Wechat, &app.app_id);
        let released = counters.requests.get("Release").copied().unwrap_or(0);
        assert!(released <= 1, "{}: {released} releases", app.app_id);
    }
    assert!(
        took >= Duration::from_secs(2),
        "two pauses of 1 s: {took:?}"
    );
}

/// The checked-in `crates/fleet/release.schema.json` matches the release file's format;
/// `UPDATE_SNAPSHOTS=1` rewrites it.
#[test]
fn the_release_file_schema_is_fresh() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("release.schema.json");
    let got = release::json_schema();
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &got).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        got == want,
        "release.schema.json is stale: rerun with UPDATE_SNAPSHOTS=1"
    );
    for key in [
        "template_id",
        "gray_pause",
        "stop_at_rejected_share",
        "wechat",
    ] {
        assert!(got.contains(&format!("\"{key}\"")), "{key}: {got}");
    }
}

#[test]
fn ext_json_is_filled_from_the_inventory_columns() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("apps.csv");
    std::fs::write(
        &csv,
        "vendor,app_id,refresh_token,shop_name,baidu_id\nwechat,wx_1,,Blue Cafe,\nbaidu,1452001,r,Red Tea,1452001\n",
    )
    .unwrap();
    let jsonl = dir.path().join("apps.jsonl");
    std::fs::write(
        &jsonl,
        "{\"vendor\":\"baidu\",\"app_id\":\"1452002\",\"shop_name\":\"Green\",\"baidu_id\":1452002}\n",
    )
    .unwrap();
    let mut apps = Vec::new();
    miniapp_fleet::inventory::read(&csv, |a| {
        apps.push(a);
        Ok(())
    })
    .unwrap();
    miniapp_fleet::inventory::read(&jsonl, |a| {
        apps.push(a);
        Ok(())
    })
    .unwrap();
    assert_eq!(apps[0].columns["shop_name"], "Blue Cafe");
    assert!(!apps[0].columns.contains_key("refresh_token"));
    // The columns are named in Debug, their values are not.
    assert!(!format!("{:?}", apps[1]).contains("Red Tea"));

    let release: ReleaseFile = toml::from_str(
        r#"
name = "r"
[baidu]
template_id = 3
version = "2.0.0"
description = "d"
ext_json = { extEnable = true, extAppid = "{baidu_id}", ext = { title = "{shop_name} ({app_id})", braces = "{not a placeholder}" } }
"#,
    )
    .unwrap();
    let spec = &release.vendors[&Vendor::Baidu];
    // JSON lines keep the column's type where the string is the placeholder alone.
    let upload = spec.upload_with(&apps[2].app_id, &apps[2].columns).unwrap();
    assert_eq!(
        upload.ext_json,
        serde_json::json!({"extEnable": true, "extAppid": 1452002, "ext": {"title": "Green (1452002)", "braces": "{not a placeholder}"}})
    );
    // CSV columns are text.
    let upload = spec.upload_with(&apps[1].app_id, &apps[1].columns).unwrap();
    assert_eq!(upload.ext_json["extAppid"], "1452001");
    assert_eq!(upload.ext_json["ext"]["title"], "Red Tea (1452001)");
    // A placeholder naming no column: an error naming it, nothing to upload.
    let err = spec
        .upload_with("1452009", &Default::default())
        .unwrap_err();
    assert!(
        err.contains("{shop_name}") && err.contains("no `shop_name` column"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_submission_carries_the_release_files_items_and_bad_ones_send_nothing() {
    let job = Job::start_with(
        2,
        r#"
name = "spring-2027"

[wechat]
template_id = 7
version = "2.0.0"
description = "spring release"
audit = { privacy_api_not_use = true, item_list = [{ address = "pages/index/index", tag = "shop", first_class = "生活服务", second_class = "家政", first_id = 150, second_id = 627 }] }
"#,
    )
    .await;
    let (backends, journal) = job.process().await;
    let summary = job.until_finished(&backends, &journal).await;
    assert_eq!(summary.count("released") + summary.rejected.len(), 2);
    let bodies: Vec<serde_json::Value> = job
        .sandbox
        .requests()
        .iter()
        .filter(|r| r.endpoint.as_deref() == Some("SubmitAudit"))
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(bodies.len(), 2);
    assert_eq!(
        bodies[0],
        serde_json::json!({
            "item_list": [{"address": "pages/index/index", "tag": "shop", "first_class": "生活服务", "second_class": "家政", "first_id": 150, "second_id": 627}],
            "privacy_api_not_use": true
        })
    );

    // A member SubmitAudit does not have: the vendor is refused with the reason, nothing sent.
    let job = Job::start_with(
        2,
        r#"
name = "spring-2027"

[wechat]
template_id = 7
version = "2.0.0"
description = "spring release"
audit = { privacy_api_not_used = true }
"#,
    )
    .await;
    let (backends, journal) = job.process().await;
    let summary = job.pass(&backends, &journal).await;
    let (n, reason) = &summary.unsupported[&Vendor::Wechat];
    assert_eq!(*n, 2);
    assert!(
        reason.contains("audit") && reason.contains("privacy_api_not_used"),
        "{reason}"
    );
    assert_eq!(job.mutating_calls(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_apps_with_lost_and_duplicated_pushes() {
    // 500 WeChat and 500 Baidu apps: a tenth rejected, a fifth of the audit pushes lost, each
    // pushed twice otherwise; audits are read a second apart when no push comes.
    let (sandbox, summary, _) = watch_with_pushes(
        500,
        CodeOptions {
            check_time: Duration::from_millis(50),
            audit_time: Duration::from_millis(300),
            rejected_share: 0.1,
            lost_push_share: 0.2,
            push_copies: 2,
            ..CodeOptions::default()
        },
        Duration::from_secs(1),
    )
    .await;
    assert!(
        summary.errors.is_empty(),
        "{:?}",
        &summary.errors[..3.min(summary.errors.len())]
    );
    for vendor in [Vendor::Wechat, Vendor::Baidu] {
        let (approved, rejected, live) = sandbox.code_outcomes(vendor);
        assert_eq!((approved + rejected, live), (500, approved), "{vendor}");
        assert_eq!(sandbox.code_repeats(vendor), (0, 0), "{vendor}: a repeat");
        assert!(
            (20..=80).contains(&rejected),
            "{vendor}: {rejected} rejected"
        );
        let released = release_calls(&sandbox, vendor);
        assert!(
            released.iter().all(|n| *n <= 1),
            "{vendor}: a second release"
        );
        let submit = if vendor == Vendor::Wechat {
            "SubmitAudit"
        } else {
            "SubmitPackageAudit"
        };
        for app in sandbox.fleet_apps(vendor) {
            let n = sandbox
                .counters(vendor, &app.app_id)
                .requests
                .get(submit)
                .copied();
            assert_eq!(n, Some(1), "{vendor} {}: submitted {n:?} times", app.app_id);
        }
    }
    let rejected_reasons = summary
        .rejected
        .iter()
        .filter(|(_, _, reason)| reason == "1:小程序内容不符合规范")
        .count();
    assert_eq!(rejected_reasons, summary.rejected.len());
}

/// The inventory is read again only when the file changed: apps added to it join the release
/// on the next pass, and an app whose ext_json column was missing (nothing sent for it) is
/// uploaded with the mended inventory's value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_added_to_the_inventory_join_and_a_mended_column_is_used() {
    const SHOP_RELEASE: &str = r#"
name = "spring-2027"

[wechat]
template_id = 7
version = "2.0.0"
description = "spring release"
ext_json = { ext = { shop = "{shop}" } }
"#;
    let job = Job::start_with(4, SHOP_RELEASE).await;
    let (backends, journal) = job.process().await;
    let inventory = job.dir.path().join("apps.jsonl");
    let full = std::fs::read_to_string(&inventory).unwrap();
    let wechat: Vec<serde_json::Value> = full
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|a| a["vendor"] == "wechat")
        .collect();
    assert_eq!(wechat.len(), 4);
    let write = |apps: &[serde_json::Value]| {
        let text: String = apps.iter().map(|a| format!("{a}\n")).collect();
        std::fs::write(&inventory, text).unwrap();
    };
    // Two apps, the second without its `shop` column.
    let mut first = wechat[..2].to_vec();
    first[0]["shop"] = "shop-0".into();
    write(&first);
    let summary = job.pass(&backends, &journal).await;
    assert_eq!(summary.stages[&Vendor::Wechat].values().sum::<usize>(), 2);
    let rows = journal.rows("spring-2027").await.unwrap();
    let missing = rows
        .iter()
        .find(|r| r.app_id == wechat[1]["app_id"])
        .unwrap();
    assert_eq!(missing.stage, Stage::Planned);
    assert!(
        missing
            .message
            .as_deref()
            .is_some_and(|m| m.contains("shop")),
        "{missing:?}"
    );
    assert_eq!(job.sandbox.hits("Commit"), 1, "nothing sent for the app");

    // The mended inventory, with two more apps: all four are in the release, and the second
    // app's upload carries its column.
    let mut all = wechat.clone();
    for (i, app) in all.iter_mut().enumerate() {
        app["shop"] = format!("shop-{i}").into();
    }
    write(&all);
    // (The app whose column was missing is tried again after a check's pause.)
    tokio::time::sleep(Duration::from_millis(100)).await;
    let summary = job.pass(&backends, &journal).await;
    assert_eq!(summary.stages[&Vendor::Wechat].values().sum::<usize>(), 4);
    let commit = job
        .sandbox
        .requests()
        .into_iter()
        .filter(|r| r.endpoint.as_deref() == Some("Commit"))
        .find(|r| String::from_utf8_lossy(&r.body).contains("shop-1"))
        .expect("the mended app is uploaded");
    let body: serde_json::Value = serde_json::from_slice(&commit.body).unwrap();
    let ext: serde_json::Value = serde_json::from_str(body["ext_json"].as_str().unwrap()).unwrap();
    assert_eq!(ext["ext"]["shop"], "shop-1", "{body}");
    assert_eq!(job.sandbox.hits("Commit"), 4);
}
