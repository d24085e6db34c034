//! Shipping code app by app against the sandbox's code lifecycle (specs' `[shipping]`): an
//! upload's check takes time, audits take time and reject a share with a reason, the quota
//! runs out; the state machine submits each app once, adopts an audit whose answer was lost,
//! never uploads over a running audit, and ends every app released or in a reported final
//! state.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use core_http::shipping::{ShipCode, Upload};
use miniapp_fleet::credentials::{self, StoreSpec};
use miniapp_fleet::ship::{self, Stage, Wait};
use miniapp_fleet::vendors::Vendor;
use miniapp_sandbox::{CodeOptions, Sandbox, SandboxOptions};

/// The vendors that ship code (Kuaishou documents no code management).
const SHIPPING: [Vendor; 2] = [Vendor::Wechat, Vendor::Baidu];

async fn sandbox(apps: usize, code: CodeOptions) -> Sandbox {
    Sandbox::start_with(SandboxOptions {
        enforce_tokens: true,
        apps,
        code,
        ..Default::default()
    })
    .await
    .unwrap()
}

/// The vendor's shipping adapter for the sandbox's seeded apps (their authorizations
/// imported), as a fleet job gets it.
async fn shipper(sandbox: &Sandbox, vendor: Vendor) -> (Arc<dyn ShipCode>, Vec<String>) {
    let creds = miniapp_fleet::sandbox::credentials(StoreSpec::Memory, &[vendor]);
    let backends = credentials::clients(&creds, Some(&sandbox.base_url()))
        .await
        .unwrap();
    let backend = &backends[&vendor];
    let mut apps = Vec::new();
    for app in sandbox.fleet_apps(vendor) {
        backend
            .import(
                &app.app_id,
                core_http::Secret::from(app.refresh_token.clone()),
            )
            .await
            .unwrap();
        apps.push(app.app_id.clone());
    }
    (backend.shipper().unwrap(), apps)
}

fn upload(app: &str) -> Upload {
    Upload {
        template_id: 7,
        ext_json: serde_json::json!({"extAppid": app, "ext": {"shop": app}}),
        version: "2.0.0".into(),
        description: "spring release".into(),
        audit: serde_json::Value::Null,
    }
}

/// The vendor's endpoint that plays `role` of its `[shipping]`.
fn endpoint(vendor: Vendor, role: &str) -> &'static str {
    match (vendor, role) {
        (Vendor::Wechat, "commit") => "Commit",
        (Vendor::Wechat, "submit") => "SubmitAudit",
        (Vendor::Baidu, "commit") => "UploadPackage",
        (Vendor::Baidu, "submit") => "SubmitPackageAudit",
        other => panic!("{other:?}"),
    }
}

fn calls(sandbox: &Sandbox, vendor: Vendor, app: &str, role: &str) -> usize {
    sandbox
        .counters(vendor, app)
        .requests
        .get(endpoint(vendor, role))
        .copied()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_apps_reach_released_or_rejected_with_the_reason() {
    for vendor in SHIPPING {
        forty_apps(vendor).await;
    }
}

async fn forty_apps(vendor: Vendor) {
    let sandbox = sandbox(
        40,
        CodeOptions {
            check_time: Duration::from_millis(150),
            audit_time: Duration::from_millis(300),
            rejected_share: 0.2,
            ..CodeOptions::default()
        },
    )
    .await;
    let (shipper, apps) = shipper(&sandbox, vendor).await;
    let runs = apps
        .iter()
        .map(|app| {
            let (shipper, app) = (shipper.clone(), app.clone());
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let end = ship::drive(
                    shipper.as_ref(),
                    &app,
                    &upload(&app),
                    Stage::Planned,
                    Duration::from_millis(50),
                    |s| seen.push(s.name()),
                )
                .await
                .unwrap();
                (app, end.stage, seen)
            })
        })
        .collect::<Vec<_>>();
    let mut ends = BTreeMap::new();
    for run in runs {
        let (app, stage, seen) = run.await.unwrap();
        // The check ran, so the app waited in `committed` before it was submitted.
        assert!(
            seen.contains(&"committed") && seen.contains(&"in_audit"),
            "{vendor} {app}: {seen:?}"
        );
        ends.insert(app, stage);
    }
    let released = ends
        .values()
        .filter(|s| matches!(s, Stage::Released { .. }))
        .count();
    let rejected: Vec<_> = ends
        .values()
        .filter_map(|s| match s {
            Stage::Rejected { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(released + rejected.len(), 40, "{vendor}: {ends:?}");
    assert!(
        (2..=16).contains(&rejected.len()),
        "about a fifth rejected: {}",
        rejected.len()
    );
    assert!(rejected.iter().all(|r| r == "1:小程序内容不符合规范"));
    let (approved, refused, live) = sandbox.code_outcomes(vendor);
    assert_eq!(
        (approved, refused, live),
        (released, rejected.len(), released)
    );
    // Every app was submitted once: a submission during the check waits (WeChat answers
    // 61039; Baidu lists the package as uploading), and the sandbox opened one audit per app.
    let audits: std::collections::BTreeSet<_> = ends
        .values()
        .map(|s| match s {
            Stage::Released { audit_id } | Stage::Rejected { audit_id, .. } => audit_id.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(audits.len(), 40, "{vendor}: one audit per app");
    for app in &apps {
        assert_eq!(calls(&sandbox, vendor, app, "submit"), 1, "{vendor} {app}");
        assert_eq!(calls(&sandbox, vendor, app, "commit"), 1, "{vendor} {app}");
    }
}

#[tokio::test]
async fn a_submission_whose_answer_was_lost_is_adopted_not_repeated() {
    for vendor in SHIPPING {
        lost_submission(vendor).await;
    }
}

async fn lost_submission(vendor: Vendor) {
    let sandbox = sandbox(
        1,
        CodeOptions {
            audit_time: Duration::from_millis(200),
            ..CodeOptions::default()
        },
    )
    .await;
    let (shipper, apps) = shipper(&sandbox, vendor).await;
    let shipper = shipper.as_ref();
    let app = &apps[0];
    let up = upload(app);
    let committed = ship::step(shipper, app, &up, &Stage::Planned)
        .await
        .unwrap();
    let Stage::Committed { previous_audit, .. } = committed.stage.clone() else {
        panic!("{committed:?}")
    };
    assert_eq!(previous_audit, None);
    let submitting = ship::step(shipper, app, &up, &committed.stage)
        .await
        .unwrap();
    assert!(
        matches!(submitting.stage, Stage::Submitting { .. }),
        "{vendor}: {submitting:?}"
    );
    // The job submits, then dies before journaling the answer.
    let lost = shipper.submit(app, &up).await.unwrap();
    assert!(matches!(lost, core_http::shipping::Submitted::Audit { .. }));
    assert_eq!(calls(&sandbox, vendor, app, "submit"), 1);
    // Resumed in `Submitting`: the latest audit is new, so it is adopted.
    let resumed = ship::step(shipper, app, &up, &submitting.stage)
        .await
        .unwrap();
    let Stage::InAudit { audit_id, .. } = &resumed.stage else {
        panic!("{resumed:?}")
    };
    let core_http::shipping::Submitted::Audit { audit_id: sent } = lost else {
        unreachable!()
    };
    assert_eq!(audit_id, &sent);
    assert_eq!(
        calls(&sandbox, vendor, app, "submit"),
        1,
        "{vendor}: nothing submitted twice"
    );

    // A new job on the same app while that audit runs uploads nothing over it.
    let next = ship::step(shipper, app, &up, &Stage::Planned)
        .await
        .unwrap();
    assert_eq!(next.stage, Stage::Planned);
    assert_eq!(next.wait, Some(Wait::OtherAuditRunning));
    assert_eq!(calls(&sandbox, vendor, app, "commit"), 1);

    // Released once; a release resumed after a lost answer (WeChat answers 85052; Baidu a
    // refusal, and the package reads online) still ends released.
    let end = ship::drive(
        shipper,
        app,
        &up,
        resumed.stage,
        Duration::from_millis(50),
        |_| {},
    )
    .await
    .unwrap();
    let Stage::Released { audit_id: released } = &end.stage else {
        panic!("{end:?}")
    };
    let again = ship::step(
        shipper,
        app,
        &up,
        &Stage::Releasing {
            audit_id: released.clone(),
        },
    )
    .await
    .unwrap();
    assert_eq!(again.stage, end.stage, "{vendor}");
    assert_eq!(sandbox.code_outcomes(vendor).2, 1, "{vendor}: live once");
}

#[tokio::test]
async fn a_spent_quota_stops_submissions_and_says_so() {
    let sandbox = sandbox(
        6,
        CodeOptions {
            audit_quota: Some(4),
            ..CodeOptions::default()
        },
    )
    .await;
    let (shipper, apps) = shipper(&sandbox, Vendor::Wechat).await;
    let shipper = shipper.as_ref();
    assert_eq!(
        shipper.quota(&apps[0]).await.unwrap(),
        Some(core_http::shipping::AuditQuota { rest: 4, limit: 4 })
    );
    let mut blocked = Vec::new();
    let mut released = 0;
    for app in &apps {
        let end = ship::drive(
            shipper,
            app,
            &upload(app),
            Stage::Planned,
            Duration::from_millis(20),
            |_| {},
        )
        .await
        .unwrap();
        match (&end.stage, &end.wait) {
            (Stage::Released { .. }, _) => released += 1,
            (Stage::Committed { .. }, Some(Wait::QuotaExhausted)) => blocked.push(app.clone()),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((released, blocked.len()), (4, 2));
    assert_eq!(
        shipper.quota(&apps[0]).await.unwrap(),
        Some(core_http::shipping::AuditQuota { rest: 0, limit: 4 })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_that_never_ends_is_given_up_hours_after_the_upload() {
    for vendor in SHIPPING {
        // A check that outlasts the test: WeChat answers 61039, Baidu lists the package as
        // uploading.
        let sandbox = sandbox(
            1,
            CodeOptions {
                check_time: Duration::from_secs(3600),
                ..CodeOptions::default()
            },
        )
        .await;
        let (shipper, apps) = shipper(&sandbox, vendor).await;
        let (shipper, app) = (shipper.as_ref(), &apps[0]);
        let up = upload(app);
        let committed = ship::step(shipper, app, &up, &Stage::Planned)
            .await
            .unwrap();
        let Stage::Committed { uploaded_ms, .. } = committed.stage else {
            panic!("{committed:?}")
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        assert!((now - 5_000..=now).contains(&uploaded_ms), "{uploaded_ms}");
        let at = |uploaded_ms: i64| Stage::Committed {
            previous_audit: None,
            uploaded_ms,
        };
        // Within the bound, and in a journal from before the upload time was kept: it waits.
        let hour = 3_600_000;
        for stage in [at(now - hour), at(0)] {
            let next = ship::step(shipper, app, &up, &stage).await.unwrap();
            assert_eq!(next.stage, stage, "{vendor}");
            assert_eq!(next.wait, Some(Wait::CheckRunning), "{vendor}");
        }
        // Past it: the app ends with the reason, reported for a retry.
        let late = ship::step(shipper, app, &up, &at(now - 3 * hour))
            .await
            .unwrap();
        let Stage::UploadFailed { reason } = &late.stage else {
            panic!("{vendor}: {late:?}")
        };
        assert!(reason.contains("miniapp release retry"), "{reason}");
        assert_eq!(late.wait, None);
        assert_eq!(calls(&sandbox, vendor, app, "submit"), 0, "{vendor}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_template_library_is_read_whole_page_by_page() {
    let sandbox = sandbox(
        1,
        CodeOptions {
            templates: (1..=120).collect(),
            ..CodeOptions::default()
        },
    )
    .await;
    for vendor in SHIPPING {
        let (shipper, _) = shipper(&sandbox, vendor).await;
        let library = shipper.templates().await.unwrap().unwrap();
        assert_eq!(library.len(), 120, "{vendor}");
        let newest = core_http::shipping::newest(&library).unwrap();
        assert_eq!(
            (newest.template_id, newest.version.as_str()),
            (120, "1.0.120"),
            "{vendor}"
        );
    }
    // WeChat answers the whole library at once; Baidu pages of 50, until a short page.
    let pages: Vec<(String, Option<String>)> = sandbox
        .requests()
        .into_iter()
        .filter(|r| r.endpoint.as_deref() == Some("GetTemplateList"))
        .map(|r| (r.path.clone(), r.query.clone()))
        .collect();
    assert_eq!(pages.len(), 4, "{pages:?}");
    assert_eq!(pages[0].0, "/wxa/gettemplatelist");
    for (n, (path, query)) in pages[1..].iter().enumerate() {
        assert_eq!(path, "/rest/2.0/smartapp/template/gettemplatelist");
        let query = query.as_deref().unwrap();
        assert!(
            query.ends_with(&format!("&page={}&page_size=50", n + 1)),
            "{query}"
        );
    }
}
