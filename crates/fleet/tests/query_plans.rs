//! Every query the journals run per batch or per row reads through an index for what it asks:
//! the statements are taken from sqlx's own log while a real `plan` + `apply` (the settings
//! job) and a real release pass run over sandbox apps; each one that ran more than a few times
//! is then read with SQLite's `EXPLAIN QUERY PLAN` on the journal file, and the test fails on a
//! full scan of a table, a temporary B-tree (a sort or a grouping the index does not give), or a
//! search constrained by the job or release alone (which walks every vendor's rows). The
//! settings job runs again on a PostgreSQL journal, whose statements are read with
//! `EXPLAIN EXECUTE` of their generic plan, sequential scans off: a `Seq Scan` or a `Sort` fails.
//!
//! One test in this binary: it installs the process's tracing subscriber.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::Scenario;
use miniapp_fleet::release::{self, PassOptions, ReleaseFile, ReleaseJournal};
use miniapp_sandbox::{CodeOptions, SandboxOptions};
use sqlx::{Connection, Row};
use tracing_subscriber::layer::SubscriberExt;

const DESIRED: &str = r#"
[[set]]
vendor = "wechat"
resource = "server_domains"
value = { requestdomain = ["https://api.example.com"] }

[[set]]
vendor = "baidu"
resource = "server_domains"
value = { request_domain = ["https://api.example.com"] }

[[set]]
vendor = "kuaishou"
resource = "webview_domains"
value = { webview = ["https://h5.example.com"] }
"#;

const RELEASE: &str = r#"
name = "plans"

[wechat]
template_id = 7
version = "2.0.0"
description = "query plans"

[baidu]
template_id = 3
version = "2.0.0"
description = "query plans"
"#;

/// The statements sqlx ran, with how often each ran.
#[derive(Clone, Default)]
struct Statements(Arc<Mutex<BTreeMap<String, usize>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Statements {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        struct Visit(Option<String>);
        impl tracing::field::Visit for Visit {
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                if field.name() == "db.statement" {
                    self.0 = Some(value.to_owned());
                }
            }
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "db.statement" {
                    self.0 = Some(format!("{value:?}"));
                }
            }
        }
        let mut visit = Visit(None);
        event.record(&mut visit);
        if let Some(sql) = visit.0 {
            let sql = sql.split_whitespace().collect::<Vec<_>>().join(" ");
            *self.0.lock().unwrap().entry(sql).or_default() += 1;
        }
    }
}

impl Statements {
    fn take(&self) -> BTreeMap<String, usize> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// The plan of `sql` on the SQLite database at `path`, one detail per line.
async fn plan_of(path: &std::path::Path, sql: &str) -> Vec<String> {
    let mut db = sqlx::SqliteConnection::connect(&format!("sqlite:{}", path.display()))
        .await
        .unwrap();
    let rows = sqlx::query(&format!("EXPLAIN QUERY PLAN {sql}"))
        .fetch_all(&mut db)
        .await
        .unwrap_or_else(|e| panic!("{e}: {sql}"));
    rows.iter()
        .map(|r| r.try_get::<String, _>("detail").unwrap())
        .collect()
}

/// The generic plan of `sql` on the PostgreSQL database at `url` (sequential scans off, so a
/// `Seq Scan` means no index can answer it), one line per row of `EXPLAIN`.
async fn postgres_plan_of(url: &str, sql: &str) -> Vec<String> {
    let mut db = sqlx::PgConnection::connect(url).await.unwrap();
    for set in [
        "SET enable_seqscan = off",
        "SET plan_cache_mode = force_generic_plan",
        "DEALLOCATE ALL",
    ] {
        sqlx::query(set).execute(&mut db).await.unwrap();
    }
    let params = (1..=4000)
        .rev()
        .find(|n| sql.contains(&format!("${n}")))
        .unwrap_or(0);
    sqlx::raw_sql(&format!("PREPARE checked AS {sql}"))
        .execute(&mut db)
        .await
        .unwrap_or_else(|e| panic!("{e}: {sql}"));
    let nulls = vec!["NULL"; params].join(", ");
    let explain = if params == 0 {
        "EXPLAIN EXECUTE checked".to_owned()
    } else {
        format!("EXPLAIN EXECUTE checked({nulls})")
    };
    let rows = sqlx::query(&explain)
        .fetch_all(&mut db)
        .await
        .unwrap_or_else(|e| panic!("{e}: {sql}"));
    rows.iter()
        .map(|r| r.try_get::<String, _>(0).unwrap().trim().to_owned())
        .collect()
}

/// What is wrong with the PostgreSQL plan of `sql`, if anything: a sequential scan, or a sort
/// outside a count.
fn postgres_fault<'p>(sql: &str, plan: &'p [String]) -> Option<&'p String> {
    let summary = sql.contains("COUNT(");
    plan.iter().find(|step| {
        let step = step.trim_start_matches("->").trim_start();
        step.starts_with("Seq Scan on miniapp_")
            || (!summary && (step.starts_with("Sort ") || step.starts_with("Incremental Sort")))
    })
}

/// What is wrong with the plan of `sql`, a statement that ran per batch or per row, if
/// anything. A count (the summary a pass ends with) reads every row of its job by nature: it
/// may, but no other job's rows.
fn fault<'p>(sql: &str, plan: &'p [String]) -> Option<&'p String> {
    let summary = sql.contains("COUNT(");
    plan.iter().find(|step| {
        // A journal table's (a CTE's list of values, `SCAN v`, is the batch itself).
        let scan = step.starts_with("SCAN miniapp_");
        let sort = step.contains("USE TEMP B-TREE");
        // `(job=?)` or `(release=?)` alone: every vendor's rows of the job.
        let only_job = step.starts_with("SEARCH ")
            && (step.ends_with("(job=?)") || step.ends_with("(release=?)"));
        scan || (!summary && (sort || only_job))
    })
}

/// Statements worth checking: journal reads and writes that ran more than `min` times.
fn frequent(statements: &BTreeMap<String, usize>, table: &str, min: usize) -> Vec<String> {
    statements
        .iter()
        .filter(|(sql, n)| {
            **n > min
                && sql.contains(table)
                && ["SELECT", "UPDATE", "DELETE", "INSERT", "WITH"]
                    .iter()
                    .any(|k| sql.starts_with(k))
        })
        .map(|(sql, _)| sql.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journals_per_row_queries_read_through_an_index() {
    let statements = Statements::default();
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry()
            .with(statements.clone())
            .with(
                tracing_subscriber::filter::Targets::new()
                    .with_target("sqlx::query", tracing::Level::TRACE),
            ),
    )
    .unwrap();

    // The settings job: 300 apps per vendor, planned and applied in batches.
    let scenario = Scenario::start(300, SandboxOptions::default()).await;
    let desired = scenario.desired(DESIRED);
    scenario.plan(&desired, "plan.jsonl").await;
    statements.take();
    {
        let journal = scenario.journal().await;
        scenario.apply(&journal, "plan.jsonl").await;
        journal.close().await;
    }
    let ran = statements.take();
    // The settings job's every statement (its heartbeat, rescue and release run once or twice
    // in a run this short, and walk as much per run as a batch's would).
    let checked = frequent(&ran, "miniapp_journal", 0);
    assert!(
        checked
            .iter()
            .any(|s| s.contains("claim") || s.contains("lease_until")),
        "the claim ran: {ran:#?}"
    );
    let mut faults = Vec::new();
    for sql in &checked {
        let plan = plan_of(&scenario.path("journal.sqlite"), sql).await;
        if let Some(step) = fault(sql, &plan) {
            faults.push(format!("{step}\n    in: {sql}\n    plan: {plan:?}"));
        }
    }

    // The release job: 300 apps per vendor, passes until every app is done.
    let sandbox_opts = SandboxOptions {
        code: CodeOptions {
            audit_time: Duration::from_millis(200),
            ..CodeOptions::default()
        },
        ..SandboxOptions::default()
    };
    let shipping = Scenario::start(300, sandbox_opts).await;
    std::fs::write(shipping.path("release.toml"), RELEASE).unwrap();
    let file = ReleaseFile::load(&shipping.path("release.toml")).unwrap();
    let path = shipping.path("release.journal.sqlite");
    {
        let journal = ReleaseJournal::open(&format!("sqlite:{}", path.display()))
            .await
            .unwrap();
        let options = PassOptions {
            concurrency: 16,
            check_poll: Duration::from_millis(20),
            audit_poll: Duration::from_millis(50),
            ..PassOptions::default()
        };
        for _ in 0..100 {
            let summary = release::run_pass(
                &file,
                &shipping.inventory,
                &journal,
                &shipping.clients,
                &options,
            )
            .await
            .unwrap();
            if summary.finished() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        journal.close().await;
    }
    let ran = statements.take();
    let release_statements = frequent(&ran, "miniapp_release", 3);
    let release_checked = release_statements.len();
    for sql in release_statements {
        let plan = plan_of(&path, &sql).await;
        if let Some(step) = fault(&sql, &plan) {
            faults.push(format!("{step}\n    in: {sql}\n    plan: {plan:?}"));
        }
    }
    assert!(
        faults.is_empty(),
        "queries walking more than they ask:\n{}",
        faults.join("\n")
    );
    assert!(checked.len() >= 6, "{checked:#?}");

    // The settings job on a PostgreSQL journal (the several-workers one): the same apply, its
    // statements read with PostgreSQL's own planner.
    let Some(pg) = miniapp_tests::postgres::PostgresServer::start() else {
        return;
    };
    {
        let journal = miniapp_fleet::Journal::open(&pg.url()).await.unwrap();
        statements.take();
        let job = miniapp_fleet::load_plan(&scenario.path("plan.jsonl"), &journal)
            .await
            .unwrap();
        // Again from the start: the sandbox's apps took the values, so this apply reads them.
        miniapp_fleet::apply(
            &job,
            &journal,
            &scenario.clients,
            &miniapp_fleet::ApplyOptions {
                concurrency: 8,
                ..Default::default()
            },
            &miniapp_fleet::plan::Quiet,
        )
        .await
        .unwrap();
        journal.close().await;
    }
    let ran = statements.take();
    let postgres_checked = frequent(&ran, "miniapp_journal", 0);
    let mut faults = Vec::new();
    for sql in &postgres_checked {
        let plan = postgres_plan_of(&pg.url(), sql).await;
        if let Some(step) = postgres_fault(sql, &plan) {
            faults.push(format!("{step}\n    in: {sql}\n    plan: {plan:#?}"));
        }
    }
    assert!(
        faults.is_empty(),
        "PostgreSQL: queries walking more than they ask:\n{}",
        faults.join("\n")
    );
    assert!(postgres_checked.len() >= 6, "{postgres_checked:#?}");
    assert!(release_checked >= 4, "{release_checked}");
}
