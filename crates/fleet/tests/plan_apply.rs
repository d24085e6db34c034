//! Plan and apply against the stateful sandbox: minimal plans, overrides, unchanged apps left
//! alone, outcomes the answers lost settled by a read (never a second write), quotas, lost
//! authorizations, bad desired-state files with their line.

mod common;

use std::path::Path;

use common::Scenario;
use miniapp_fleet::journal::RowState;
use miniapp_fleet::plan::Action;
use miniapp_fleet::report::{self, Attention};
use miniapp_fleet::vendors::Vendor;
use miniapp_fleet::DesiredState;
use miniapp_sandbox::{Fault, FieldValue, ResourceValue, SandboxOptions};

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
vendor = "wechat"
resource = "server_domains"
apps = ["wx_fleet_00002"]
value = { requestdomain = ["https://beta.example.com"] }

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

fn value(field: &str, items: &[&str]) -> ResourceValue {
    ResourceValue(
        [(
            field.to_owned(),
            FieldValue::Set(items.iter().map(|s| s.to_string()).collect()),
        )]
        .into_iter()
        .collect(),
    )
}

#[tokio::test]
async fn the_plan_is_minimal_and_apply_reaches_the_desired_state() {
    let s = Scenario::start(3, SandboxOptions::default()).await;
    // One Baidu app already has the desired server domains.
    s.sandbox.set_resource(
        core_http::Vendor::Baidu,
        "1452003",
        "server_domains",
        value("request_domain", &["https://api.example.com"]),
    );
    let desired = s.desired(DESIRED);
    let summary = s.plan(&desired, "plan.jsonl").await;
    let count = |v, r: &str, a| {
        summary
            .counts
            .get(&(v, r.to_owned(), a))
            .copied()
            .unwrap_or(0)
    };
    assert_eq!(
        count(Vendor::Wechat, "platform_server_domains", Action::Set),
        1
    );
    assert_eq!(count(Vendor::Wechat, "server_domains", Action::Set), 3);
    assert_eq!(count(Vendor::Baidu, "server_domains", Action::Set), 2);
    assert_eq!(count(Vendor::Baidu, "server_domains", Action::Unchanged), 1);
    assert_eq!(count(Vendor::Baidu, "min_support_version", Action::Set), 3);
    assert_eq!(count(Vendor::Kuaishou, "webview_domains", Action::Set), 3);
    // Planning only reads.
    for &v in Vendor::ALL {
        for app in s.sandbox.fleet_apps(v) {
            assert_eq!(s.writes(v, &app.app_id), 0, "{v} {}", app.app_id);
        }
    }

    let journal = s.journal().await;
    let job = s.apply(&journal, "plan.jsonl").await;
    let summary = report::report(&journal, &job, Some(&s.path("report.jsonl")))
        .await
        .unwrap();
    assert!(summary.all_ok(), "{summary:?}");
    assert_eq!(summary.total(RowState::Unchanged), 1);
    // The override, the platform registration first, one write per app and resource.
    let wechat = |app: &str| {
        s.sandbox
            .resource(core_http::Vendor::Wechat, app, "server_domains")
            .unwrap()
            .set("requestdomain")
    };
    assert_eq!(
        wechat("wx_fleet_00001"),
        ["https://api.example.com".to_owned()].into()
    );
    assert_eq!(
        wechat("wx_fleet_00002"),
        ["https://beta.example.com".to_owned()].into()
    );
    assert_eq!(s.writes(Vendor::Baidu, "1452003"), 1, "only the version");
    assert_eq!(s.writes(Vendor::Baidu, "1452001"), 2);
    let records = miniapp_tests::json_lines(&s.path("report.jsonl"));
    assert_eq!(records.len(), 1 + 3 + 3 + 3 + 3);
    assert!(records
        .iter()
        .all(|r| r["outcome"] == "done" || r["outcome"] == "unchanged"));
    let report_text = std::fs::read_to_string(s.path("report.jsonl")).unwrap();
    for app in s.sandbox.fleet_apps(core_http::Vendor::Baidu) {
        assert!(
            !report_text.contains(&app.refresh_token),
            "a refresh token in the report"
        );
    }

    // Applying again (or planning again) sends nothing.
    let before: usize = (1..=3)
        .map(|i| s.writes(Vendor::Baidu, &(1_452_000 + i).to_string()))
        .sum();
    s.apply(&journal, "plan.jsonl").await;
    let again = s.plan(&desired, "again.jsonl").await;
    assert_eq!(again.total(Action::Set), 0);
    let after: usize = (1..=3)
        .map(|i| s.writes(Vendor::Baidu, &(1_452_000 + i).to_string()))
        .sum();
    assert_eq!(before, after);
}

#[tokio::test]
async fn a_lost_answer_is_settled_by_a_read_never_a_second_write() {
    let s = Scenario::start(2, SandboxOptions::default()).await;
    let desired = s.desired(
        r#"
[[set]]
vendor = "baidu"
resource = "server_domains"
value = { request_domain = ["https://api.example.com"] }
"#,
    );
    s.plan(&desired, "plan.jsonl").await;
    // The first write is applied but its answer lost; the second app's gets a 5xx after the
    // write (a quota-limited write: the SDK does not repeat it).
    s.sandbox
        .inject("baidu/ModifyDomain", Fault::AppliedThenReset, Some(1));
    s.sandbox
        .inject("baidu/ModifyDomain", Fault::AppliedThenStatus(502), Some(1));
    let journal = s.journal().await;
    let job = s.apply(&journal, "plan.jsonl").await;
    let summary = report::report(&journal, &job, None).await.unwrap();
    assert!(summary.all_ok(), "{summary:?}");
    for app in s.sandbox.fleet_apps(core_http::Vendor::Baidu) {
        assert_eq!(s.writes(Vendor::Baidu, &app.app_id), 1, "{}", app.app_id);
    }
    assert_eq!(summary.writes, 2);
}

#[tokio::test]
async fn a_spent_quota_fails_that_app_and_the_job_goes_on() {
    let s = Scenario::start(
        3,
        SandboxOptions {
            quota: Some(1),
            ..Default::default()
        },
    )
    .await;
    // 1452001 already spent its one modification.
    let app = s.clients[&Vendor::Baidu].clone();
    let first = s.sandbox.fleet_apps(core_http::Vendor::Baidu)[0].clone();
    app.import(&first.app_id, first.refresh_token.clone().into())
        .await
        .unwrap();
    app.write(
        Some("1452001"),
        "server_domains",
        &value("request_domain", &["https://old.example.com"]),
    )
    .await
    .unwrap();
    let desired = s.desired(
        r#"
[[set]]
vendor = "baidu"
resource = "server_domains"
value = { request_domain = ["https://api.example.com"] }
"#,
    );
    s.plan(&desired, "plan.jsonl").await;
    let journal = s.journal().await;
    let job = s.apply(&journal, "plan.jsonl").await;
    let summary = report::report(&journal, &job, Some(&s.path("report.jsonl")))
        .await
        .unwrap();
    assert_eq!(summary.total(RowState::Failed), 1);
    assert_eq!(summary.total(RowState::Done), 2);
    let failed = miniapp_tests::json_lines(&s.path("report.jsonl"))
        .into_iter()
        .find(|r| r["outcome"] == "failed")
        .unwrap();
    assert_eq!(failed["app_id"], "1452001");
    assert_eq!(failed["vendor_code"], 470011);
    assert!(
        failed["message"]
            .as_str()
            .unwrap()
            .contains("修改服务器域名超过限制次数"),
        "{failed}"
    );
    assert_eq!(
        s.writes(Vendor::Baidu, "1452001"),
        2,
        "the refused write, once"
    );
}

#[tokio::test]
async fn a_lost_authorization_is_reported_apart_and_the_job_goes_on() {
    let s = Scenario::start(3, SandboxOptions::default()).await;
    // The merchant revoked 1452002: its refresh token is no longer accepted.
    let mut text = std::fs::read_to_string(&s.inventory).unwrap();
    let revoked = s.sandbox.fleet_apps(core_http::Vendor::Baidu)[1]
        .refresh_token
        .clone();
    text = text.replace(&revoked, "46.revoked-refresh-token");
    std::fs::write(&s.inventory, text).unwrap();
    let desired = s.desired(
        r#"
[[set]]
vendor = "baidu"
resource = "min_support_version"
value = { version = "3.60.2" }
"#,
    );
    let plan = s.plan(&desired, "plan.jsonl").await;
    assert_eq!(plan.total(Action::Reauth), 1, "{plan:?}");
    let journal = s.journal().await;
    let job = s.apply(&journal, "plan.jsonl").await;
    let out = s.dir.path().join("report.jsonl");
    let summary = report::report(&journal, &job, Some(&out)).await.unwrap();
    assert_eq!(summary.total(RowState::Done), 2);
    assert_eq!(summary.reauthorize(), 1);
    assert_eq!(
        summary
            .samples
            .get(&(Attention::Reauthorize, Vendor::Baidu)),
        Some(&vec!["1452002".to_owned()])
    );
    // The CSV of apps to authorize again: a header and the one app, with the vendor's answer.
    let csv = std::fs::read_to_string(report::csv_path(&out, Attention::Reauthorize)).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "vendor,app_id,resource,outcome,vendor_code,message"
    );
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(
        lines[1].starts_with("baidu,1452002,min_support_version,reauth,"),
        "{csv}"
    );
    assert!(lines[1].contains("invalid_grant"), "{csv}");
    assert!(!report::csv_path(&out, Attention::Failed).exists());
    assert!(!summary.all_ok());
}

#[test]
fn bad_desired_state_is_refused_with_its_line() {
    let check = |text: &str, line: usize, needle: &str| {
        let err = DesiredState::parse(Path::new("desired.toml"), text).unwrap_err();
        assert_eq!(err.line, line, "{err}");
        assert!(err.to_string().contains(needle), "{err}");
        assert!(
            err.to_string()
                .starts_with(&format!("desired.toml:{line}: ")),
            "{err}"
        );
    };
    // A scheme where a bare host is required: the endpoint's own validator.
    check(
        "[[set]]\nvendor = \"wechat\"\nresource = \"platform_server_domains\"\nvalue = { wxa_server_domain = [\"https://example.com\"] }\n",
        4,
        "a bare host",
    );
    // Too many domains.
    let many: Vec<String> = (0..101)
        .map(|i| format!("\"https://d{i}.example.com\""))
        .collect();
    check(
        &format!("[[set]]\nvendor = \"wechat\"\nresource = \"webview_domains\"\n\nvalue = {{ webviewdomain = [{}] }}\n", many.join(", ")),
        5,
        "at most 100 items",
    );
    check(
        "[[set]]\nvendor = \"baidu\"\nresource = \"nope\"\nvalue = {}\n",
        3,
        "declares no resource `nope`",
    );
    check(
        "[[set]]\nvendor = \"qq\"\nresource = \"x\"\nvalue = {}\n",
        2,
        "unknown vendor `qq`",
    );
    check(
        "[[set]]\nvendor = \"kuaishou\"\nresource = \"server_domains\"\nvalue = { requests = [] }\n",
        4,
        "has no field `requests`",
    );
}

#[tokio::test]
async fn tokens_that_expire_during_the_job_are_refreshed_once_per_expiry() {
    let s = Scenario::start(
        10,
        SandboxOptions {
            // Long enough that the apply (well under 1.6 s, the lifetime less the refresh margin)
            // sees one expiry per token, short enough for a test.
            token_lifetime: std::time::Duration::from_secs(2),
            ..Default::default()
        },
    )
    .await;
    let desired = s.desired(
        r#"
[[set]]
vendor = "baidu"
resource = "server_domains"
value = { request_domain = ["https://api.example.com"] }

[[set]]
vendor = "baidu"
resource = "min_support_version"
value = { version = "3.60.2" }
"#,
    );
    s.plan(&desired, "plan.jsonl").await;
    assert_eq!(
        s.sandbox.issued("baidu/GetOAuthToken"),
        10,
        "one token per app to plan"
    );
    // Every token issued for the plan expires before the apply.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let journal = s.journal().await;
    let job = s.apply(&journal, "plan.jsonl").await;
    let summary = report::report(&journal, &job, None).await.unwrap();
    assert!(summary.all_ok(), "{summary:?}");
    assert_eq!(summary.writes, 20);
    assert_eq!(
        s.sandbox.issued("baidu/GetOAuthToken"),
        20,
        "one refresh per app for the expiry, whatever the number of its writes"
    );
    assert_eq!(s.sandbox.issued("baidu/GetTpToken"), 2);
}

/// The checked-in `crates/fleet/desired.schema.json` matches the format (and the declared
/// resource names); `UPDATE_SNAPSHOTS=1` rewrites it.
#[test]
fn the_desired_state_schema_is_fresh() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("desired.schema.json");
    let got = miniapp_fleet::desired::json_schema();
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &got).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        got == want,
        "desired.schema.json is stale: rerun with UPDATE_SNAPSHOTS=1"
    );
    assert!(got.contains("\"min_support_version\""), "{got}");
}

#[tokio::test]
async fn the_token_store_is_an_inventory() {
    let apps = 4;
    let s = Scenario::start(apps, SandboxOptions::default()).await;
    let desired = s.desired(
        r#"
[[set]]
vendor = "kuaishou"
resource = "webview_domains"
value = { webview = ["https://h5.example.com"] }
"#,
    );
    // The first plan imports the inventory's refresh tokens into the store.
    s.plan(&desired, "plan.jsonl").await;
    let from_store = s.path("store.jsonl");
    let n = miniapp_fleet::inventory::write_from_store(&s.clients, &from_store)
        .await
        .unwrap();
    // Every app of every vendor the sandbox serves.
    assert_eq!(n, core_http::Vendor::ALL.len() * apps);
    let text = std::fs::read_to_string(&from_store).unwrap();
    assert!(
        text.contains(r#"{"app_id":"ks_fleet_00004","vendor":"kuaishou"}"#),
        "{text}"
    );
    for app in s.sandbox.fleet_apps(core_http::Vendor::Baidu) {
        assert!(!text.contains(&app.refresh_token));
    }
    let summary = miniapp_fleet::plan(
        &desired,
        &from_store,
        &s.clients,
        None,
        &s.path("again.jsonl"),
        4,
        &miniapp_fleet::plan::Quiet,
    )
    .await
    .unwrap();
    assert_eq!(summary.total(Action::Set), 4);
}
