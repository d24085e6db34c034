//! Shipping code app by app against the sandbox's code lifecycle (specs' `[shipping]`): an
//! upload's check takes time, audits take time and reject a share with a reason, the quota
//! runs out; the state machine submits each app once, adopts an audit whose answer was lost,
//! never uploads over a running audit, and ends every app released or in a reported final
//! state.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use core_http::shipping::{ShipCode, Upload};
use core_http::token::{MemoryStore, RefreshPolicy, TokenStore};
use miniapp_fleet::ship::{self, Stage, Wait};
use miniapp_sandbox::{CodeOptions, Sandbox, SandboxOptions};
use wechat_component_api::shipping::Shipper;

const PLATFORM: &str = "wx_ship_platform";

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

/// A shipper for the sandbox's seeded WeChat apps (their authorizations imported).
async fn shipper(sandbox: &Sandbox) -> (Shipper, Vec<String>) {
    let client = wechat_component_api::Client::with_base_url(sandbox.base_url());
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
    let tokens = Arc::new(wechat_component_api::tokens::manager(
        &client,
        PLATFORM,
        "secret",
        store,
        RefreshPolicy::default(),
    ));
    tokens
        .store_ticket(
            "ticket@@@ship",
            wechat_component_api::tokens::TICKET_LIFETIME,
        )
        .await
        .unwrap();
    let mut apps = Vec::new();
    for app in sandbox.fleet_apps(wechat_component_api::Vendor::Wechat) {
        tokens
            .import_authorization(
                &app.app_id,
                core_http::Secret::from(app.refresh_token.clone()),
            )
            .await
            .unwrap();
        apps.push(app.app_id.clone());
    }
    (Shipper::new(client, tokens), apps)
}

fn upload(app: &str) -> Upload {
    Upload {
        template_id: 7,
        ext_json: serde_json::json!({"extAppid": app, "ext": {"shop": app}}),
        version: "2.0.0".into(),
        description: "spring release".into(),
    }
}

fn submissions(sandbox: &Sandbox, app: &str) -> usize {
    sandbox
        .counters(wechat_component_api::Vendor::Wechat, app)
        .requests
        .get("SubmitAudit")
        .copied()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_apps_reach_released_or_rejected_with_the_reason() {
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
    let (shipper, apps) = shipper(&sandbox).await;
    let shipper: Arc<dyn ShipCode> = Arc::new(shipper);
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
            "{app}: {seen:?}"
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
    assert_eq!(released + rejected.len(), 40, "{ends:?}");
    assert!(
        (2..=16).contains(&rejected.len()),
        "about a fifth rejected: {}",
        rejected.len()
    );
    assert!(rejected.iter().all(|r| r == "1:小程序内容不符合规范"));
    let (approved, refused, live) = sandbox.code_outcomes(wechat_component_api::Vendor::Wechat);
    assert_eq!(
        (approved, refused, live),
        (released, rejected.len(), released)
    );
    // Every app was submitted once: a submission during the check is answered 61039 and
    // retried, but the sandbox opened exactly one audit per app.
    let audits: std::collections::BTreeSet<_> = ends
        .values()
        .map(|s| match s {
            Stage::Released { audit_id } | Stage::Rejected { audit_id, .. } => audit_id.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(audits.len(), 40, "one audit per app");
}

#[tokio::test]
async fn a_submission_whose_answer_was_lost_is_adopted_not_repeated() {
    let sandbox = sandbox(
        1,
        CodeOptions {
            audit_time: Duration::from_millis(200),
            ..CodeOptions::default()
        },
    )
    .await;
    let (shipper, apps) = shipper(&sandbox).await;
    let app = &apps[0];
    let up = upload(app);
    let committed = ship::step(&shipper, app, &up, &Stage::Planned)
        .await
        .unwrap();
    let Stage::Committed { previous_audit } = committed.stage.clone() else {
        panic!("{committed:?}")
    };
    assert_eq!(previous_audit, None);
    let submitting = ship::step(&shipper, app, &up, &committed.stage)
        .await
        .unwrap();
    assert!(matches!(submitting.stage, Stage::Submitting { .. }));
    // The job submits, then dies before journaling the answer.
    let lost = shipper.submit(app).await.unwrap();
    assert!(matches!(lost, core_http::shipping::Submitted::Audit { .. }));
    assert_eq!(submissions(&sandbox, app), 1);
    // Resumed in `Submitting`: the latest audit is new, so it is adopted.
    let resumed = ship::step(&shipper, app, &up, &submitting.stage)
        .await
        .unwrap();
    let Stage::InAudit { audit_id, .. } = &resumed.stage else {
        panic!("{resumed:?}")
    };
    let core_http::shipping::Submitted::Audit { audit_id: sent } = lost else {
        unreachable!()
    };
    assert_eq!(audit_id, &sent);
    assert_eq!(submissions(&sandbox, app), 1, "nothing submitted twice");

    // A new job on the same app while that audit runs uploads nothing over it.
    let next = ship::step(&shipper, app, &up, &Stage::Planned)
        .await
        .unwrap();
    assert_eq!(next.stage, Stage::Planned);
    assert_eq!(next.wait, Some(Wait::OtherAuditRunning));
    assert_eq!(
        sandbox
            .counters(wechat_component_api::Vendor::Wechat, app)
            .requests
            .get("Commit"),
        Some(&1)
    );

    // Released once; a release resumed after a lost answer (85052) still ends released.
    let end = ship::drive(
        &shipper,
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
        &shipper,
        app,
        &up,
        &Stage::Releasing {
            audit_id: released.clone(),
        },
    )
    .await
    .unwrap();
    assert_eq!(again.stage, end.stage);
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
    let (shipper, apps) = shipper(&sandbox).await;
    assert_eq!(
        shipper.quota(&apps[0]).await.unwrap(),
        Some(core_http::shipping::AuditQuota { rest: 4, limit: 4 })
    );
    let mut blocked = Vec::new();
    let mut released = 0;
    for app in &apps {
        let end = ship::drive(
            &shipper,
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
