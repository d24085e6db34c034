//! The operator's actions on a release against the sandbox's code lifecycle: withdrawing running
//! audits (read first, one withdrawal per app, never a second), speeding them up (a repeat is
//! done; a vendor without it is refused with nothing sent), rolling released apps back, and
//! retrying rejected and rolled-back apps, which the next pass uploads to again. Each request
//! is checked on the wire.

use std::collections::BTreeSet;
use std::time::Duration;

use miniapp_fleet::credentials::{self, StoreSpec};
use miniapp_fleet::operate::{self, AppOutcome, Operation, Outcome, Selection};
use miniapp_fleet::release::{self, PassOptions, ReleaseFile, ReleaseJournal, ReleaseSummary};
use miniapp_fleet::ship::Stage;
use miniapp_fleet::vendors::{Backends, Vendor};
use miniapp_sandbox::{CodeOptions, RecordedRequest, Sandbox, SandboxOptions};

const RELEASE: &str = r#"
name = "autumn"

[wechat]
template_id = 7
version = "3.0.0"
description = "autumn release"

[baidu]
template_id = 3
version = "3.0.0"
description = "autumn release"
"#;

struct Job {
    sandbox: Sandbox,
    dir: tempfile::TempDir,
    release: ReleaseFile,
    backends: Backends,
    journal: ReleaseJournal,
}

impl Job {
    async fn start(apps: usize, audit_time: Duration, rejected_share: f64) -> Job {
        Job::start_on(apps, audit_time, rejected_share, None).await
    }

    /// With the journal at `journal` (default: SQLite in the job's directory).
    async fn start_on(
        apps: usize,
        audit_time: Duration,
        rejected_share: f64,
        journal: Option<String>,
    ) -> Job {
        let sandbox = Sandbox::start_with(SandboxOptions {
            enforce_tokens: true,
            apps,
            code: CodeOptions {
                audit_time,
                rejected_share,
                ..CodeOptions::default()
            },
            ..SandboxOptions::default()
        })
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let vendors = [Vendor::Wechat, Vendor::Baidu];
        miniapp_fleet::sandbox::write_inventory(&sandbox, &vendors, &dir.path().join("apps.jsonl"))
            .unwrap();
        std::fs::write(dir.path().join("release.toml"), RELEASE).unwrap();
        let release = ReleaseFile::load(&dir.path().join("release.toml")).unwrap();
        let creds = miniapp_fleet::sandbox::credentials(
            StoreSpec::Sqlite(Some(dir.path().join("tokens.sqlite"))),
            &vendors,
        );
        let backends = credentials::clients(&creds, Some(&sandbox.base_url()))
            .await
            .unwrap();
        let journal = ReleaseJournal::open(&journal.unwrap_or_else(|| {
            format!(
                "sqlite:{}",
                dir.path().join("release.journal.sqlite").display()
            )
        }))
        .await
        .unwrap();
        Job {
            sandbox,
            dir,
            release,
            backends,
            journal,
        }
    }

    async fn pass(&self) -> ReleaseSummary {
        release::run_pass(
            &self.release,
            &self.dir.path().join("apps.jsonl"),
            &self.journal,
            &self.backends,
            &PassOptions {
                concurrency: 16,
                check_poll: Duration::from_millis(20),
                audit_poll: Duration::from_millis(50),
                ..PassOptions::default()
            },
        )
        .await
        .unwrap()
    }

    /// Passes until `done` holds of the summary (at most 200, 50 ms apart).
    async fn pass_until(&self, done: impl Fn(&ReleaseSummary) -> bool) -> ReleaseSummary {
        for _ in 0..200 {
            let summary = self.pass().await;
            if done(&summary) {
                return summary;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the release did not get there in 200 passes");
    }

    async fn act(&self, operation: Operation, selection: &Selection) -> Vec<AppOutcome> {
        operate::act(
            &self.release,
            &self.journal,
            &self.backends,
            operation,
            selection,
            8,
            Duration::from_secs(30),
        )
        .await
        .unwrap()
    }

    async fn stage_of(&self, vendor: Vendor, app: &str) -> Stage {
        self.journal
            .rows("autumn")
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.vendor == vendor && r.app_id == app)
            .unwrap()
            .stage
    }

    fn sent(&self, endpoint: &str) -> Vec<RecordedRequest> {
        self.sandbox
            .requests()
            .into_iter()
            .filter(|r| r.endpoint.as_deref() == Some(endpoint))
            .collect()
    }
}

fn only(vendor: Vendor, apps: &[&str]) -> Selection {
    Selection {
        vendors: Some(BTreeSet::from([vendor])),
        apps: Some(apps.iter().map(|a| (*a).to_owned()).collect()),
    }
}

fn every(vendor: Vendor) -> Selection {
    Selection {
        vendors: Some(BTreeSet::from([vendor])),
        apps: None,
    }
}

/// The form or query member `name` of `request`.
fn member(request: &RecordedRequest, name: &str) -> Option<String> {
    let text = if request.body.is_empty() {
        request.query.clone().unwrap_or_default()
    } else {
        String::from_utf8(request.body.to_vec()).unwrap()
    };
    text.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| v.to_owned())
    })
}

fn audit_of(stage: &Stage) -> String {
    match stage {
        Stage::InAudit { audit_id, .. }
        | Stage::Released { audit_id }
        | Stage::Withdrawn { audit_id }
        | Stage::RolledBack { audit_id }
        | Stage::Rejected { audit_id, .. } => audit_id.clone(),
        other => panic!("no audit in {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_audits_are_sped_up_then_withdrawn_once_each() {
    // Audits that outlast the test: every app stays in audit until the operator acts.
    let job = Job::start(6, Duration::from_secs(600), 0.0).await;
    let summary = job.pass_until(|s| s.count("in_audit") == 12).await;
    assert_eq!(summary.count("in_audit"), 12, "{summary:?}");
    let apps = |vendor| -> Vec<String> {
        job.sandbox
            .fleet_apps(vendor)
            .iter()
            .map(|a| a.app_id.clone())
            .collect()
    };
    let (wechat, baidu) = (apps(Vendor::Wechat), apps(Vendor::Baidu));

    // Speed-up: WeChat's audits, each by its id; a second time is a repeat the vendor answers
    // 89404 to, which is done. Baidu has no speed-up: refused, nothing sent.
    let first = job.act(Operation::Speedup, &every(Vendor::Wechat)).await;
    assert_eq!(first.len(), 6);
    assert!(
        first.iter().all(|o| o.outcome
            == Outcome::Done {
                stage: "in_audit".into()
            }),
        "{first:?}"
    );
    let sent = job.sent("SpeedupAudit");
    assert_eq!(sent.len(), 6);
    for request in &sent {
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/wxa/speedupaudit");
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        let audit: i64 = body["auditid"].as_i64().expect("auditid is a number");
        assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
        assert!(request.accepted);
        assert!(audit > 0);
    }
    let again = job.act(Operation::Speedup, &every(Vendor::Wechat)).await;
    assert!(again
        .iter()
        .all(|o| matches!(o.outcome, Outcome::Done { .. })));
    assert_eq!(job.sent("SpeedupAudit").len(), 12);
    let baidu_speedup = job.act(Operation::Speedup, &every(Vendor::Baidu)).await;
    assert_eq!(baidu_speedup.len(), 6);
    assert!(
        baidu_speedup.iter().all(
            |o| matches!(&o.outcome, Outcome::Unsupported { reason } if reason.contains("speedup"))
        ),
        "{baidu_speedup:?}"
    );

    // Withdraw two WeChat apps: the audit read first, then one undocodeaudit each.
    let before = job.sent("GetAuditStatus").len();
    let chosen = [wechat[0].as_str(), wechat[1].as_str()];
    let outcomes = job
        .act(Operation::Withdraw, &only(Vendor::Wechat, &chosen))
        .await;
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
    assert!(outcomes.iter().all(|o| o.outcome
        == Outcome::Done {
            stage: "withdrawn".into()
        }));
    assert_eq!(job.sent("GetAuditStatus").len(), before + 2);
    let undo = job.sent("UndoCodeAudit");
    assert_eq!(undo.len(), 2);
    for request in &undo {
        assert_eq!(
            (request.method.as_str(), request.path.as_str()),
            ("GET", "/wxa/undocodeaudit")
        );
        assert!(request.body.is_empty());
        let query = request.query.as_deref().unwrap();
        assert!(
            query.starts_with("access_token=") && !query.contains('&'),
            "{query}"
        );
    }
    for app in chosen {
        assert!(matches!(
            job.stage_of(Vendor::Wechat, app).await,
            Stage::Withdrawn { .. }
        ));
    }
    // Withdrawn apps are no longer in audit: a second withdrawal takes only the others.
    let rest = job.act(Operation::Withdraw, &every(Vendor::Wechat)).await;
    assert_eq!(rest.len(), 4);
    assert!(rest.iter().all(|o| !chosen.contains(&o.app_id.as_str())));
    assert_eq!(job.sent("UndoCodeAudit").len(), 6);
    assert!(job
        .act(Operation::Withdraw, &every(Vendor::Wechat))
        .await
        .is_empty());

    // Baidu: the audit package named by its id.
    let app = baidu[0].as_str();
    let package = audit_of(&job.stage_of(Vendor::Baidu, app).await);
    let outcomes = job
        .act(Operation::Withdraw, &only(Vendor::Baidu, &[app]))
        .await;
    assert_eq!(
        outcomes[0].outcome,
        Outcome::Done {
            stage: "withdrawn".into()
        }
    );
    let withdraw = job.sent("WithdrawPackageAudit");
    assert_eq!(withdraw.len(), 1);
    assert_eq!(withdraw[0].method, "POST");
    assert_eq!(withdraw[0].path, "/rest/2.0/smartapp/package/withdraw");
    assert_eq!(member(&withdraw[0], "package_id"), Some(package));
    assert!(withdraw[0].accepted);

    // The job's own passes leave withdrawn apps alone (final).
    let summary = job.pass().await;
    assert_eq!(summary.count("withdrawn"), 7, "{summary:?}");
    assert_eq!(
        job.sent("UndoCodeAudit").len() + job.sent("WithdrawPackageAudit").len(),
        7
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn released_apps_roll_back_and_retried_apps_ship_again() {
    roll_back_and_retry(None).await;
}

/// The operator's actions, the action log, the pinned template and the limits on a PostgreSQL
/// journal (several workers' journal).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operators_actions_on_a_postgres_journal() {
    for test in 0..2 {
        let Some(pg) = miniapp_tests::postgres::PostgresServer::start() else {
            return;
        };
        match test {
            0 => roll_back_and_retry(Some(pg.url())).await,
            _ => withdrawal_limit(Some(pg.url())).await,
        }
    }
}

async fn roll_back_and_retry(journal: Option<String>) {
    // A third of the audits rejected, decided at once.
    let job = Job::start_on(12, Duration::ZERO, 0.34, journal).await;
    let summary = job.pass_until(ReleaseSummary::finished).await;
    let rejected: Vec<(Vendor, String)> = summary
        .rejected
        .iter()
        .map(|(v, app, _)| (*v, app.clone()))
        .collect();
    assert!(!rejected.is_empty(), "{summary:?}");
    let job = &job;
    let released = |vendor: Vendor| async move {
        let mut apps: Vec<String> = job
            .journal
            .rows_in("autumn", vendor, &["released"])
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.app_id)
            .collect();
        apps.sort();
        apps
    };
    let wechat_live = released(Vendor::Wechat).await;
    let baidu_live = released(Vendor::Baidu).await;

    // Roll one app of each vendor back; a rejected app is not in a stage rollback applies to.
    let wechat_app = wechat_live[0].clone();
    let outcomes = job
        .act(
            Operation::Rollback,
            &only(Vendor::Wechat, &[&wechat_app, &rejected[0].1]),
        )
        .await;
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    assert_eq!(outcomes[0].app_id, wechat_app);
    assert_eq!(
        outcomes[0].outcome,
        Outcome::Done {
            stage: "rolled_back".into()
        }
    );
    let revert = job.sent("RevertCodeRelease");
    assert_eq!(revert.len(), 1);
    assert_eq!(revert[0].method, "GET");
    assert_eq!(revert[0].path, "/wxa/revertcoderelease");
    // Never `action` (it would only list the versions).
    let query = revert[0].query.as_deref().unwrap();
    assert!(
        query.starts_with("access_token=") && !query.contains('&'),
        "{query}"
    );

    let baidu_app = baidu_live[0].clone();
    let package = audit_of(&job.stage_of(Vendor::Baidu, &baidu_app).await);
    let outcomes = job
        .act(Operation::Rollback, &only(Vendor::Baidu, &[&baidu_app]))
        .await;
    assert_eq!(
        outcomes[0].outcome,
        Outcome::Done {
            stage: "rolled_back".into()
        }
    );
    let rollback = job.sent("RollbackPackage");
    assert_eq!(rollback.len(), 1);
    assert_eq!(rollback[0].path, "/rest/2.0/smartapp/package/rollback");
    assert_eq!(member(&rollback[0], "package_id"), Some(package.clone()));
    assert!(matches!(
        job.stage_of(Vendor::Baidu, &baidu_app).await,
        Stage::RolledBack { audit_id } if audit_id == package
    ));
    // Once rolled back, the vendor refuses a second rollback of it; the job does not send one.
    assert!(job
        .act(Operation::Rollback, &only(Vendor::Baidu, &[&baidu_app]))
        .await
        .is_empty());

    // Retry: the rejected apps and the rolled-back WeChat app go back to planned; the next
    // passes upload to them again and they end released or rejected once more.
    let commits_before = job.sent("Commit").len() + job.sent("UploadPackage").len();
    let everyone = Selection::default();
    let replanned = operate::retry(&job.release, &job.journal, &everyone, &["rejected"])
        .await
        .unwrap();
    let retried: usize = replanned.values().map(Vec::len).sum();
    assert_eq!(retried, rejected.len(), "{replanned:?}");
    let again = operate::retry(
        &job.release,
        &job.journal,
        &only(Vendor::Wechat, &[&wechat_app]),
        &["rolled_back"],
    )
    .await
    .unwrap();
    assert_eq!(
        again[&Vendor::Wechat],
        vec![(wechat_app.clone(), "rolled_back".to_owned())]
    );
    // Nothing else moved: the Baidu app stays rolled back (not chosen).
    assert!(matches!(
        job.stage_of(Vendor::Baidu, &baidu_app).await,
        Stage::RolledBack { .. }
    ));

    let summary = job.pass_until(ReleaseSummary::finished).await;
    let uploads = job.sent("Commit").len() + job.sent("UploadPackage").len() - commits_before;
    assert_eq!(uploads, retried + 1, "one upload per retried app");
    assert!(matches!(
        job.stage_of(Vendor::Wechat, &wechat_app).await,
        Stage::Released { .. }
    ));
    for (vendor, app) in &rejected {
        let stage = job.stage_of(*vendor, app).await;
        assert!(
            matches!(stage, Stage::Released { .. } | Stage::Rejected { .. }),
            "{vendor} {app}: {stage:?}"
        );
    }
    assert_eq!(summary.count("rolled_back"), 1, "{summary:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_newest_template_is_pinned_once_for_the_whole_release() {
    let mut job = Job::start(4, Duration::from_millis(300), 0.0).await;
    let newest = RELEASE
        .replace("template_id = 7", "template_id = \"newest\"")
        .replace("template_id = 3", "template_id = \"newest\"");
    std::fs::write(job.dir.path().join("release.toml"), &newest).unwrap();
    job.release = ReleaseFile::load(&job.dir.path().join("release.toml")).unwrap();
    // The first pass pins the newest of the library (the sandbox seeds templates 1 to 9).
    let first = job.pass().await;
    assert_eq!(
        first.templates[&Vendor::Wechat],
        (9, "1.0.9".to_owned()),
        "{first:?}"
    );
    assert_eq!(first.templates[&Vendor::Baidu], (9, "1.0.9".to_owned()));
    let list = job.sent("GetTemplateList");
    assert!(!list.is_empty());
    // WeChat's list with the platform's token in the query; Baidu's paged.
    let wechat = list
        .iter()
        .find(|r| r.path == "/wxa/gettemplatelist")
        .unwrap();
    assert_eq!(wechat.method, "GET");
    assert!(wechat
        .query
        .as_deref()
        .unwrap()
        .starts_with("access_token="));
    let baidu = list
        .iter()
        .find(|r| r.path == "/rest/2.0/smartapp/template/gettemplatelist")
        .unwrap();
    assert_eq!(member(baidu, "page").as_deref(), Some("1"));
    assert_eq!(member(baidu, "page_size").as_deref(), Some("50"));

    // A template added to the library meanwhile changes nothing for this release.
    assert_eq!(job.sandbox.add_template(Vendor::Wechat), Some(10));
    assert_eq!(job.sandbox.add_template(Vendor::Baidu), Some(10));
    let summary = job.pass_until(ReleaseSummary::finished).await;
    assert_eq!(summary.count("released"), 8, "{summary:?}");
    for commit in job.sent("Commit") {
        let body: serde_json::Value = serde_json::from_slice(&commit.body).unwrap();
        assert_eq!(
            body["template_id"],
            serde_json::json!(9),
            "a number, the pinned one"
        );
    }
    let uploads = job.sent("UploadPackage");
    assert_eq!(uploads.len(), 4);
    for upload in uploads {
        assert_eq!(member(&upload, "template_id").as_deref(), Some("9"));
    }

    // Days later, another process: the pin holds, and an app shipped again (rolled back, then
    // retried) is sent the pinned template.
    job.journal = ReleaseJournal::open(&format!(
        "sqlite:{}",
        job.dir.path().join("release.journal.sqlite").display()
    ))
    .await
    .unwrap();
    let app = job.sandbox.fleet_apps(Vendor::Wechat)[0].app_id.clone();
    let back = operate::retry(
        &job.release,
        &job.journal,
        &only(Vendor::Wechat, &[&app]),
        &["released"],
    )
    .await
    .unwrap();
    assert!(back.is_empty(), "released apps are never retried: {back:?}");
    let rolled = job
        .act(Operation::Rollback, &only(Vendor::Wechat, &[&app]))
        .await;
    assert_eq!(
        rolled[0].outcome,
        Outcome::Done {
            stage: "rolled_back".into()
        }
    );
    operate::retry(
        &job.release,
        &job.journal,
        &only(Vendor::Wechat, &[&app]),
        &["rolled_back"],
    )
    .await
    .unwrap();
    let commits = job.sent("Commit").len();
    let summary = job.pass_until(ReleaseSummary::finished).await;
    assert_eq!(summary.templates[&Vendor::Wechat].0, 9);
    let sent = job.sent("Commit");
    assert_eq!(sent.len(), commits + 1);
    let body: serde_json::Value = serde_json::from_slice(&sent[commits].body).unwrap();
    assert_eq!(body["template_id"], serde_json::json!(9));

    // A new release pins the newest of then.
    std::fs::write(
        job.dir.path().join("release.toml"),
        newest.replace("autumn", "winter"),
    )
    .unwrap();
    job.release = ReleaseFile::load(&job.dir.path().join("release.toml")).unwrap();
    let winter = job.pass().await;
    assert_eq!(winter.templates[&Vendor::Wechat].0, 10, "{winter:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_not_in_the_library_holds_the_uploads_with_nothing_sent() {
    let mut job = Job::start(6, Duration::ZERO, 0.0).await;
    std::fs::write(
        job.dir.path().join("release.toml"),
        RELEASE.replace("template_id = 7", "template_id = 42"),
    )
    .unwrap();
    job.release = ReleaseFile::load(&job.dir.path().join("release.toml")).unwrap();
    let summary = job.pass_until(ReleaseSummary::finished).await;
    // WeChat: read once, nothing uploaded, the apps held and the reason given; Baidu ships.
    let reason = &summary.template_missing[&Vendor::Wechat];
    assert!(
        reason.starts_with("template 42 is not in the platform's template library (it has 1, 2,"),
        "{reason}"
    );
    assert_eq!(job.sent("Commit").len(), 0);
    assert_eq!(summary.stages[&Vendor::Wechat].get("planned"), Some(&6));
    assert_eq!(summary.stages[&Vendor::Baidu].get("released"), Some(&6));

    // The library cannot be read (the preflight lets the uploads go) and the template was
    // deleted: WeChat refuses the upload (85014), which holds the vendor's uploads, reported
    // once, not as an error per app.
    let job = Job::start(6, Duration::ZERO, 0.0).await;
    assert!(job.sandbox.delete_template(Vendor::Wechat, 7));
    job.sandbox.inject(
        "wechat/GetTemplateList",
        miniapp_sandbox::Fault::HtmlStatus(404),
        None,
    );
    let summary = job.pass_until(ReleaseSummary::finished).await;
    let reason = &summary.template_missing[&Vendor::Wechat];
    assert!(reason.contains("template 7 does not exist"), "{reason}");
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    assert_eq!(summary.stages[&Vendor::Wechat].get("planned"), Some(&6));
    // Refused in the first pass (its uploads were in flight together), never tried again.
    let refused = job.sent("Commit").len();
    assert!((1..=6).contains(&refused), "{refused}");
    for _ in 0..3 {
        job.pass().await;
    }
    assert_eq!(job.sent("Commit").len(), refused);
    let rows = job
        .journal
        .rows_in("autumn", Vendor::Wechat, &["planned"])
        .await
        .unwrap();
    assert!(rows.iter().all(
        |r| r.wait == Some(miniapp_fleet::ship::Wait::TemplateMissing) && r.message.is_none()
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submissions_stop_at_the_quota_reserve_and_the_reserve_is_kept() {
    // The provider may submit 10 audits; the release keeps 4 of them.
    let sandbox = Sandbox::start_with(SandboxOptions {
        enforce_tokens: true,
        apps: 10,
        code: CodeOptions {
            audit_quota: Some(10),
            ..CodeOptions::default()
        },
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let mut job = Job::start(10, Duration::ZERO, 0.0).await;
    job.sandbox = sandbox;
    let vendors = [Vendor::Wechat, Vendor::Baidu];
    miniapp_fleet::sandbox::write_inventory(
        &job.sandbox,
        &vendors,
        &job.dir.path().join("apps.jsonl"),
    )
    .unwrap();
    let creds = miniapp_fleet::sandbox::credentials(
        StoreSpec::Sqlite(Some(job.dir.path().join("tokens2.sqlite"))),
        &vendors,
    );
    job.backends = credentials::clients(&creds, Some(&job.sandbox.base_url()))
        .await
        .unwrap();
    std::fs::write(
        job.dir.path().join("release.toml"),
        RELEASE.replace(
            "description = \"autumn release\"\n\n[baidu]",
            "description = \"autumn release\"\nquota_reserve = 4\n\n[baidu]",
        ),
    )
    .unwrap();
    job.release = ReleaseFile::load(&job.dir.path().join("release.toml")).unwrap();
    let summary = job
        .pass_until(|s| s.count("released") == 16 && s.waiting.get("quota_reserve") == Some(&4))
        .await;
    // Six WeChat submissions, the quota read once per pass; the four other apps wait with
    // their code checked, and the reserve is reported.
    assert_eq!(job.sent("SubmitAudit").len(), 6, "{summary:?}");
    assert_eq!(
        summary.quota_reserve_reached.get(&Vendor::Wechat),
        Some(&4),
        "{summary:?}"
    );
    let quota = job.sent("QueryQuota");
    assert!(!quota.is_empty());
    assert_eq!(
        (quota[0].method.as_str(), quota[0].path.as_str()),
        ("GET", "/wxa/queryquota")
    );
    // Baidu has no quota call and no reserve: all ten shipped.
    assert_eq!(job.sent("SubmitPackageAudit").len(), 10);
    // Passes later nothing more is submitted while the quota stays at the reserve.
    for _ in 0..3 {
        job.pass().await;
    }
    assert_eq!(job.sent("SubmitAudit").len(), 6);

    // A reserve for a vendor without a quota call is refused, nothing sent for its apps.
    std::fs::write(
        job.dir.path().join("release.toml"),
        RELEASE
            .replace("autumn", "winter")
            .replace("template_id = 3", "template_id = 3\nquota_reserve = 1"),
    )
    .unwrap();
    job.release = ReleaseFile::load(&job.dir.path().join("release.toml")).unwrap();
    let uploads = job.sent("UploadPackage").len();
    let summary = job.pass().await;
    let (apps, reason) = &summary.unsupported[&Vendor::Baidu];
    assert_eq!(*apps, 10);
    assert!(reason.contains("quota_reserve"), "{reason}");
    assert_eq!(job.sent("UploadPackage").len(), uploads);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withdrawals_past_the_vendors_daily_limit_are_refused_here_with_nothing_sent() {
    withdrawal_limit(None).await;
}

async fn withdrawal_limit(journal: Option<String>) {
    // WeChat allows 5 withdrawals a day per app (its spec's `limits`): the sixth of the same
    // app is refused by the job itself.
    let job = Job::start_on(1, Duration::from_secs(600), 0.0, journal).await;
    let app = job.sandbox.fleet_apps(Vendor::Wechat)[0].app_id.clone();
    let chosen = only(Vendor::Wechat, &[&app]);
    for round in 1..=5 {
        job.pass_until(|s| {
            s.stages
                .get(&Vendor::Wechat)
                .and_then(|s| s.get("in_audit"))
                == Some(&1)
        })
        .await;
        let outcomes = job.act(Operation::Withdraw, &chosen).await;
        assert_eq!(
            outcomes[0].outcome,
            Outcome::Done {
                stage: "withdrawn".into()
            },
            "round {round}"
        );
        let back = operate::retry(&job.release, &job.journal, &chosen, &["withdrawn"])
            .await
            .unwrap();
        assert_eq!(back[&Vendor::Wechat].len(), 1);
    }
    job.pass_until(|s| {
        s.stages
            .get(&Vendor::Wechat)
            .and_then(|s| s.get("in_audit"))
            == Some(&1)
    })
    .await;
    let sent = job.sent("UndoCodeAudit").len();
    assert_eq!(sent, 5);
    let sixth = job.act(Operation::Withdraw, &chosen).await;
    let Outcome::LimitReached { reason } = &sixth[0].outcome else {
        panic!("{sixth:?}")
    };
    assert!(reason.contains("allows 5 a day"), "{reason}");
    assert_eq!(job.sent("UndoCodeAudit").len(), sent, "nothing sent");
    assert!(matches!(
        job.stage_of(Vendor::Wechat, &app).await,
        Stage::InAudit { .. }
    ));
}
