//! One rate budget per vendor for the workers of a job (`miniapp_fleet::budget`): the job's
//! cut made once per episode from what all workers saw, each worker pacing at its share; and
//! three workers on one PostgreSQL journal against vendors that throttle, the rate found
//! together, every row written once.

mod common;

use std::time::{Duration, Instant};

use core_http::RateLimiter;
use miniapp_fleet::budget;
use miniapp_fleet::credentials::{self, StoreSpec};
use miniapp_fleet::journal::RowState;
use miniapp_fleet::plan::Quiet;
use miniapp_fleet::vendors::Vendor;
use miniapp_fleet::{ApplyOptions, Journal};
use miniapp_sandbox::SandboxOptions;

/// `answered` calls answered, then (if `throttled`) one throttled, through the public API.
async fn saw(limiter: &RateLimiter, answered: usize, throttled: bool) {
    for _ in 0..answered {
        let slot = limiter.acquire().await;
        limiter.record(slot, false);
    }
    if throttled {
        let slot = limiter.acquire().await;
        limiter.record(slot, true);
    }
}

async fn one_cut_shared(journal: &Journal) {
    let job = "job-budget";
    let (a, b) = (RateLimiter::new(), RateLimiter::new());
    saw(&a, 60, true).await;
    saw(&b, 60, false).await;
    let t = 1_000_000_000_000;
    // B first: no throttle yet, so nothing to share; both live.
    let rb = budget::share(journal, job, "b", Vendor::Baidu, &b, t)
        .await
        .unwrap();
    assert_eq!((rb.workers, rb.cut, rb.cuts), (1, None, 0), "{rb:?}");
    assert_eq!(
        b.current_rate(),
        None,
        "alone and never throttled: not paced"
    );
    // A's throttle makes the job's cut, from what both of them had answered.
    let ra = budget::share(journal, job, "a", Vendor::Baidu, &a, t)
        .await
        .unwrap();
    assert_eq!((ra.workers, ra.cuts), (2, 1), "{ra:?}");
    let cut = ra.cut.expect("the job's cut");
    assert_eq!(cut.at, t as f64 / 1000.0);
    assert!(
        (ra.answered - (a.observe().answered + b.observe().answered)).abs() < 1e-6
            || ra.answered > 0.0,
        "{ra:?}"
    );
    let job_rate = cut.rate_at(t as f64 / 1000.0);
    assert_eq!(a.current_rate(), Some(job_rate / 2.0), "A paces at half");
    let rb = budget::share(journal, job, "b", Vendor::Baidu, &b, t + 100)
        .await
        .unwrap();
    let half = cut.rate_at((t + 100) as f64 / 1000.0) / 2.0;
    assert_eq!(
        b.current_rate(),
        Some(half),
        "B follows the same cut: {rb:?}"
    );
    // B's own throttle within the episode cuts nothing more for the job.
    saw(&b, 0, true).await;
    let rb = budget::share(journal, job, "b", Vendor::Baidu, &b, t + 500)
        .await
        .unwrap();
    assert_eq!(rb.cuts, 1, "{rb:?}");
    assert_eq!(rb.cut, Some(cut));
    // Past the cooldown it does, once (the limiter counts one throttle a second too).
    tokio::time::sleep(Duration::from_millis(1_050)).await;
    saw(&b, 0, true).await;
    let rb = budget::share(journal, job, "b", Vendor::Baidu, &b, t + 1_500)
        .await
        .unwrap();
    assert_eq!(rb.cuts, 2, "{rb:?}");
    assert!(rb.cut.unwrap().at > cut.at);
    // Another vendor, another job: their own budgets.
    assert_eq!(
        budget::last_cut(journal, job, Vendor::Wechat)
            .await
            .unwrap(),
        (None, 0)
    );
    assert_eq!(
        budget::last_cut(journal, "other", Vendor::Baidu)
            .await
            .unwrap(),
        (None, 0)
    );
    // A leaves: B is alone again and finds the rate on its own, from where it is.
    budget::leave(journal, job, "a").await.unwrap();
    let rb = budget::share(journal, job, "b", Vendor::Baidu, &b, t + 1_700)
        .await
        .unwrap();
    assert_eq!(rb.workers, 1);
    // A worker not heard of for longer than LIVE_MS is not counted either.
    budget::share(journal, job, "a", Vendor::Baidu, &a, t + 1_700)
        .await
        .unwrap();
    let rb = budget::share(
        journal,
        job,
        "b",
        Vendor::Baidu,
        &b,
        t + 1_700 + budget::LIVE_MS + 1,
    )
    .await
    .unwrap();
    assert_eq!(rb.workers, 1, "{rb:?}");
}

#[tokio::test]
async fn workers_share_one_cut_through_a_sqlite_journal() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&format!("sqlite:{}", dir.path().join("j.sqlite").display()))
        .await
        .unwrap();
    one_cut_shared(&journal).await;
}

#[tokio::test]
async fn workers_share_one_cut_through_a_postgres_journal() {
    let Some(pg) = miniapp_tests::postgres::PostgresServer::start() else {
        return;
    };
    let journal = Journal::open(&pg.url()).await.unwrap();
    one_cut_shared(&journal).await;
}

/// A ceiling (`--rate`) is the job's whole: two workers take half of it each.
#[tokio::test]
async fn a_ceiling_is_shared_too() {
    let Some(pg) = miniapp_tests::postgres::PostgresServer::start() else {
        return;
    };
    let journal = Journal::open(&pg.url()).await.unwrap();
    let (a, b) = (
        RateLimiter::with_ceiling(90.0),
        RateLimiter::with_ceiling(90.0),
    );
    saw(&a, 3, false).await;
    saw(&b, 3, false).await;
    let t = 2_000_000_000_000;
    budget::share(&journal, "j", "a", Vendor::Wechat, &a, t)
        .await
        .unwrap();
    budget::share(&journal, "j", "b", Vendor::Wechat, &b, t)
        .await
        .unwrap();
    budget::share(&journal, "j", "a", Vendor::Wechat, &a, t)
        .await
        .unwrap();
    assert_eq!(a.current_rate(), Some(45.0));
    assert_eq!(b.current_rate(), Some(45.0));
}

const DESIRED: &str = r#"
[[set]]
vendor = "wechat"
resource = "platform_jump_domains"
value = { wxa_jump_h5_domain = ["h5.example.com"] }

[[set]]
vendor = "wechat"
resource = "webview_domains"
value = { webviewdomain = ["https://h5.example.com"] }

[[set]]
vendor = "baidu"
resource = "min_support_version"
value = { version = "3.60.2" }

[[set]]
vendor = "kuaishou"
resource = "webview_domains"
value = { webview = ["https://h5.example.com"] }
"#;

/// Three workers (each with its own clients and limiters, as three processes have) on one
/// PostgreSQL journal, vendors answering their own rate-limit codes beyond 60 calls a second,
/// the workers not told: the job's rate is found once per episode for all three, every
/// worker ends following it, and every app is written exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_find_one_rate_and_write_each_app_once() {
    let Some(pg) = miniapp_tests::postgres::PostgresServer::start() else {
        return;
    };
    let apps = 80;
    let s = common::Scenario::start(
        apps,
        SandboxOptions {
            latency: Duration::from_millis(10),
            rate_limit: Some(60),
            ..Default::default()
        },
    )
    .await;
    let desired = s.desired(DESIRED);
    // One token file for the plan and the three workers, as the CLI's default store is for
    // processes on one host (Baidu's refresh tokens rotate: one store must keep them).
    let store = StoreSpec::Sqlite(Some(s.path("tokens.sqlite")));
    let clients_of = || async {
        credentials::clients(
            &miniapp_fleet::sandbox::credentials(store.clone(), Vendor::ALL),
            Some(&s.sandbox.base_url()),
        )
        .await
        .unwrap()
    };
    miniapp_fleet::plan(
        &desired,
        &s.inventory,
        &clients_of().await,
        None,
        &s.path("plan.jsonl"),
        8,
        &Quiet,
    )
    .await
    .unwrap();
    let writes_before: Vec<usize> = Vendor::ALL
        .iter()
        .flat_map(|v| {
            s.sandbox
                .fleet_apps(*v)
                .iter()
                .map(|a| s.writes(*v, &a.app_id))
        })
        .collect();
    let after_plan: Vec<u64> = Vendor::ALL
        .iter()
        .map(|v| s.sandbox.traffic(*v).throttled)
        .collect();
    let journal = Journal::open(&pg.url()).await.unwrap();
    let job = miniapp_fleet::load_plan(&s.path("plan.jsonl"), &journal)
        .await
        .unwrap();
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..3 {
        let clients = clients_of().await;
        let (journal, job) = (journal.clone(), job.clone());
        workers.push(tokio::spawn(async move {
            let options = ApplyOptions {
                concurrency: 8,
                worker: format!("w{w}"),
                lease: Duration::from_secs(5),
                max_passes: 20,
                ..Default::default()
            };
            miniapp_fleet::apply(&job, &journal, &clients, &options, &Quiet)
                .await
                .unwrap()
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    let took = started.elapsed().as_secs_f64();
    let report = miniapp_fleet::report::report(&journal, &job, None)
        .await
        .unwrap();
    assert_eq!(
        report.total(RowState::Done),
        3 * apps as u64 + 1,
        "{report:?}"
    );
    let writes_after: Vec<usize> = Vendor::ALL
        .iter()
        .flat_map(|v| {
            s.sandbox
                .fleet_apps(*v)
                .iter()
                .map(|a| s.writes(*v, &a.app_id))
        })
        .collect();
    for (before, after) in writes_before.iter().zip(&writes_after) {
        assert_eq!(after - before, 1, "one write per app");
    }
    let mut throttled = 0;
    let mut cut_vendors = 0;
    for (vendor, before) in Vendor::ALL.iter().zip(after_plan) {
        let (cut, cuts) = budget::last_cut(&journal, &job, *vendor).await.unwrap();
        let traffic = s.sandbox.traffic(*vendor);
        throttled += traffic.throttled - before;
        eprintln!(
            "{vendor:?}: throttled in apply {}",
            traffic.throttled - before
        );
        eprintln!("{vendor:?}: {cuts} cuts in {took:.1} s, {traffic:?}, last {cut:?}");
        if let Some(cut) = cut {
            assert!(cut.last_max_rate > 0.0, "{cut:?}");
            cut_vendors += 1;
        }
        // One cut per throttling episode for the job, not one per worker: at most one a second.
        assert!((cuts as f64) <= took + 1.0, "{cuts} cuts in {took:.1} s");
    }
    assert!(throttled > 0, "the vendors throttled the three workers");
    // (A throttle in the last 200 ms of a vendor's run may end before it is shared: not every
    // vendor need have a cut, but the job's throttles were shared.)
    assert!(cut_vendors > 0, "no throttle was shared as the job's cut");
}
