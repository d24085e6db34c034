//! `apply`: execute a plan through the journal, with bounded concurrency per vendor (each
//! vendor's calls are paced by its client's adaptive rate limiter). Each row's state is
//! written before its write is sent, so a run killed at any moment and started again resumes:
//! finished rows are skipped, and a row whose outcome is not known is read and compared before
//! anything is sent again (a quota-limited write is never blindly repeated). Rows that may
//! still succeed (throttled, busy, unreachable, a token call that failed) are taken again in
//! further passes, with a growing pause between passes, until every row is final or the
//! budget (passes, deadline) runs out.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use core_http::resource::ResourceValue;
use core_http::retry::{self, Failure};
use core_http::Error;
use futures_util::stream::{self, StreamExt};

use crate::journal::{Journal, JournalError, JournalRow, RowState};
use crate::plan::{self, Action, PlanError, Progress};
use crate::vendors::{Backend, Backends, Vendor};

/// How `apply` runs.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Calls in flight per vendor.
    pub concurrency: usize,
    /// This worker's name in the journal (several workers share a Postgres job).
    pub worker: String,
    /// How long a claimed row is this worker's before another may take it over.
    pub lease: Duration,
    /// Passes over the rows at most: the first, then the rows left to retry (a write never
    /// sent or throttled, an outcome a read could not settle, a token call that failed).
    pub max_passes: usize,
    /// No new pass starts after this long (`None`: only `max_passes` bounds the run).
    pub deadline: Option<Duration>,
    /// The pause before the second pass; doubled before each further one, up to 30 s.
    pub pass_backoff: Duration,
    /// Set it to stop early and cleanly (Ctrl-C): no new write leaves, the calls in flight
    /// finish and are recorded, and the job can be resumed.
    pub stop: Arc<AtomicBool>,
}

impl Default for ApplyOptions {
    /// 64 in flight per vendor, a worker name from the process id, a 15 s lease, at most 8
    /// passes, no deadline, 1 s before the second pass.
    fn default() -> Self {
        ApplyOptions {
            concurrency: 64,
            worker: format!("worker-{}-{:08x}", std::process::id(), fastrand::u32(..)),
            lease: Duration::from_secs(15),
            max_passes: 8,
            deadline: None,
            pass_backoff: Duration::from_secs(1),
            stop: Arc::new(AtomicBool::new(false)),
        }
    }
}

/// How an apply run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyEnd {
    /// Every row is final.
    Finished,
    /// Stopped on request (Ctrl-C): run it again to resume.
    Stopped,
    /// Rows may still succeed, but `max_passes` passes were made.
    PassesSpent,
    /// Rows may still succeed, but the deadline passed.
    DeadlineReached,
}

/// What an apply run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApplyOutcome {
    /// How it ended.
    pub end: ApplyEnd,
    /// Passes made.
    pub passes: usize,
}

/// Why apply stopped early.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The plan file is unusable.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The journal failed.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The plan names a vendor the credentials do not configure.
    #[error("the plan has {0} entries, but the credentials have no [{0}] platform")]
    NoPlatform(Vendor),
}

fn state_of(action: Action) -> RowState {
    match action {
        Action::Set => RowState::Planned,
        Action::Unchanged => RowState::Unchanged,
        Action::Unreachable => RowState::Unknown,
        Action::Reauth => RowState::Reauth,
    }
}

/// Loads the plan at `path` into the journal (rows already there keep their state), 1,000
/// rows at a time, and returns its job id.
pub async fn load_plan(path: &Path, journal: &Journal) -> Result<String, ApplyError> {
    let (header, entries) = plan::open_plan(path)?;
    let mut batch = Vec::with_capacity(1000);
    for entry in entries {
        let e = entry?;
        let app_id = e.app_id.unwrap_or_default();
        batch.push(JournalRow {
            seq: e.seq,
            vendor: e.vendor,
            // Platform resources (no app) are applied before any app's.
            phase: if app_id.is_empty() { 0 } else { 1 },
            app_id,
            resource: e.resource,
            desired: serde_json::to_string(&e.desired).expect("values serialize"),
            state: state_of(e.action),
            attempts: 0,
            writes: 0,
            vendor_code: e.vendor_code,
            message: e.message,
            elapsed_ms: 0,
            attempt: 0,
        });
        if batch.len() == 1000 {
            journal.insert(&header.job, &batch).await?;
            batch.clear();
        }
    }
    journal.insert(&header.job, &batch).await?;
    journal.analyze().await?;
    Ok(header.job)
}

/// Runs `job` of `journal` to its end with `clients`: passes until every row is final, or
/// the budget of `options` is spent (the outcome says which).
pub async fn apply(
    job: &str,
    journal: &Journal,
    clients: &Backends,
    options: &ApplyOptions,
    progress: &dyn Progress,
) -> Result<ApplyOutcome, ApplyError> {
    let started = Instant::now();
    let counts = journal.counts(job).await?;
    let mut todo: BTreeMap<Vendor, u64> = BTreeMap::new();
    for (vendor, state, n) in &counts {
        if !state.is_final() {
            if !clients.contains_key(vendor) {
                return Err(ApplyError::NoPlatform(*vendor));
            }
            *todo.entry(*vendor).or_default() += *n as u64;
        }
    }
    for (vendor, n) in &todo {
        progress.start(*vendor, *n);
    }
    let todo = &todo;
    let run_phase = |phase: i64| async move {
        let runs = todo.keys().map(|vendor| {
            let client = Arc::clone(&clients[vendor]);
            run_vendor(job, journal, client, phase, options, progress)
        });
        for result in futures_util::future::join_all(runs).await {
            result?;
        }
        Ok::<_, ApplyError>(())
    };
    let run_phase = &run_phase;
    let one_pass = || async {
        // A dead worker's rows left mid-write are read before anything is sent again.
        journal.rescue(job).await?;
        // Platform resources first, on every vendor, awaited by every worker (one may hold
        // them, or have died holding them: their leases run out and they are taken over);
        // then the apps.
        run_phase(0).await?;
        while journal
            .phase_held_elsewhere(job, 0, &options.worker)
            .await?
            && !options.stop.load(Ordering::Relaxed)
        {
            tokio::time::sleep(Duration::from_millis(200)).await;
            journal.rescue(job).await?;
            run_phase(0).await?;
        }
        run_phase(1).await?;
        journal.release(job, &options.worker).await?;
        Ok::<_, ApplyError>(())
    };
    // The heartbeat: this worker's leases are renewed while it runs, so no other worker takes
    // over a row it is still working on.
    let heartbeat = {
        let (journal, job, worker) = (journal.clone(), job.to_owned(), options.worker.clone());
        let lease = options.lease;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(lease / 3).await;
                if let Err(e) = journal.renew(&job, &worker, lease.as_millis() as i64).await {
                    tracing::warn!(error = %e, "could not renew this worker's leases");
                }
            }
        })
    };
    let _stop_heartbeat = AbortOnDrop(heartbeat);
    // Workers sharing a job (a PostgreSQL journal) share each vendor's rate: one budget, found
    // together (`budget`), not one each.
    let _stop_sharing = journal.is_postgres().then(|| {
        let limiters: Vec<(Vendor, Arc<core_http::RateLimiter>)> = todo
            .keys()
            .filter_map(|v| Some((*v, clients[v].rate_limiter()?.clone())))
            .collect();
        let (journal, job, worker) = (journal.clone(), job.to_owned(), options.worker.clone());
        AbortOnDrop(tokio::spawn(async move {
            loop {
                for (vendor, limiter) in &limiters {
                    let now = crate::journal::now_ms();
                    if let Err(e) =
                        crate::budget::share(&journal, &job, &worker, *vendor, limiter, now).await
                    {
                        tracing::warn!(error = %e, "could not share the rate with the job's other workers");
                    }
                }
                tokio::time::sleep(crate::budget::SHARE_EVERY).await;
            }
        }))
    });
    let mut passes = 0;
    let mut pause = options.pass_backoff;
    let end = loop {
        one_pass().await?;
        passes += 1;
        if options.stop.load(Ordering::Relaxed) {
            break ApplyEnd::Stopped;
        }
        if journal.finished(job).await? {
            break ApplyEnd::Finished;
        }
        // Other workers still hold rows: wait for them to finish, or for their leases to run
        // out (a worker that died), and take those over; that is not a pass of ours.
        if journal.busy_elsewhere(job, &options.worker).await? {
            tokio::time::sleep(Duration::from_millis(100)).await;
            passes -= 1;
            continue;
        }
        if passes >= options.max_passes.max(1) {
            break ApplyEnd::PassesSpent;
        }
        if let Some(deadline) = options.deadline {
            if started.elapsed() + pause >= deadline {
                break ApplyEnd::DeadlineReached;
            }
        }
        tracing::info!(
            passes,
            pause_ms = pause.as_millis() as u64,
            "rows left to retry; pausing before the next pass"
        );
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(30));
    };
    drop(_stop_sharing);
    if journal.is_postgres() {
        crate::budget::leave(journal, job, &options.worker).await?;
    }
    for vendor in todo.keys() {
        progress.finish(*vendor);
    }
    Ok(ApplyOutcome { end, passes })
}

/// Aborts a task when dropped (the heartbeat ends with the run, however it ends).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Claims and processes `vendor`'s rows of `phase` until none is left for this worker.
///
/// A pipeline: a claimer takes the next rows (the planned ones marked `sending` together
/// before any of their writes leaves) into a bounded queue while `concurrency` callers work
/// through it, so the calls in flight never drain between batches. Outcomes are recorded in
/// batches; a row whose outcome was not recorded yet is still `sending`, so a resumed run
/// reads it before anything else.
async fn run_vendor(
    job: &str,
    journal: &Journal,
    client: Arc<dyn Backend>,
    phase: i64,
    options: &ApplyOptions,
    progress: &dyn Progress,
) -> Result<(), ApplyError> {
    let vendor = client.vendor();
    let concurrency = options.concurrency.max(1);
    let batch = (concurrency * 2) as i64;
    let lease = options.lease.as_millis() as i64;
    let worker = options.worker.as_str();
    let (queue, queued) = tokio::sync::mpsc::channel::<(JournalRow, bool)>(concurrency * 2);
    let claimer = async move {
        let queue = queue;
        // The pass's cursor: each claim starts after the last row claimed.
        let mut after = i64::MIN;
        while !options.stop.load(Ordering::Relaxed) {
            let rows = journal
                .claim(job, vendor, phase, worker, after, batch, lease)
                .await?;
            let Some(last) = rows.last() else {
                break;
            };
            after = last.seq;
            let (mut fresh, doubtful): (Vec<_>, Vec<_>) =
                rows.into_iter().partition(|r| r.state == RowState::Planned);
            journal.mark_sending(job, worker, &mut fresh).await?;
            let rows = doubtful
                .into_iter()
                .map(|r| (r, false))
                .chain(fresh.into_iter().map(|r| (r, true)));
            for row in rows {
                if queue.send(row).await.is_err() {
                    // The callers stopped (an error): nothing more to hand out.
                    return Ok(());
                }
            }
        }
        Ok::<_, ApplyError>(())
    };
    // Outcomes go to a recorder of their own: the callers never wait on the journal, so a
    // call that holds the journal's connection (marking a row in doubt `sending`) is always
    // polled to its end. Unbounded, as the rows in the pipeline are.
    let (outcomes, mut recorded) = tokio::sync::mpsc::unbounded_channel::<JournalRow>();
    let client = &client;
    let callers = async move {
        let outcomes = outcomes;
        let rows = stream::unfold(queued, |mut queued| async move {
            queued.recv().await.map(|row| (row, queued))
        });
        let done = rows
            .map(|(row, fresh)| async move {
                if options.stop.load(Ordering::Relaxed) {
                    // Left as claimed: a resumed run settles it.
                    return Ok(row);
                }
                process(job, journal, worker, &**client, row, fresh).await
            })
            .buffer_unordered(concurrency);
        let mut done = std::pin::pin!(done);
        while let Some(row) = done.next().await {
            let _ = outcomes.send(row?);
        }
        Ok::<_, ApplyError>(())
    };
    let recorder = async {
        let mut finished = Vec::with_capacity(concurrency);
        while let Some(row) = recorded.recv().await {
            finished.push(row);
            while finished.len() < concurrency {
                match recorded.try_recv() {
                    Ok(row) => finished.push(row),
                    Err(_) => break,
                }
            }
            record(job, journal, worker, &mut finished, &**client, progress).await?;
        }
        Ok::<_, ApplyError>(())
    };
    let (claimed, called, recorded) = futures_util::future::join3(claimer, callers, recorder).await;
    called?;
    recorded?;
    claimed
}

/// Writes the outcomes of `rows` in one transaction and counts the final ones.
async fn record(
    job: &str,
    journal: &Journal,
    worker: &str,
    rows: &mut Vec<JournalRow>,
    client: &dyn Backend,
    progress: &dyn Progress,
) -> Result<(), ApplyError> {
    journal.update_many(job, worker, rows).await?;
    let vendor = client.vendor();
    for r in rows.drain(..) {
        if r.state.is_final() {
            progress.step(vendor);
        }
    }
    if let Some(rate) = client.rate_limiter().and_then(|l| l.current_rate()) {
        progress.rate(vendor, rate);
    }
    Ok(())
}

/// Takes one row as far as it can go and returns it (its outcome not yet recorded). A
/// `fresh` row is already marked `sending`: its write goes at once. Any other row's last write
/// may have been applied (or the plan could not read it): it is read first and compared, and
/// written only if the value is not in place, after being marked `sending`.
async fn process(
    job: &str,
    journal: &Journal,
    worker: &str,
    client: &dyn Backend,
    mut row: JournalRow,
    fresh: bool,
) -> Result<JournalRow, ApplyError> {
    let started = Instant::now();
    let app = (!row.app_id.is_empty()).then_some(row.app_id.clone());
    let app = app.as_deref();
    // A value the journal cannot give back is never written (an empty value would clear the
    // app's settings): the row fails and says why.
    let desired: ResourceValue = match serde_json::from_str(&row.desired) {
        Ok(v) => v,
        Err(e) => {
            row.message = Some(format!("the journal's desired value is unreadable: {e}"));
            row.state = RowState::Failed;
            return Ok(row);
        }
    };
    let descriptor = client.descriptor(&row.resource);
    let finish = |mut row: JournalRow, state: RowState| {
        row.state = state;
        row.elapsed_ms += started.elapsed().as_millis() as i64;
        row
    };

    if !fresh {
        row.attempts += 1;
        match client.read(app, &row.resource).await {
            Ok(current) => {
                if descriptor.is_some_and(|d| current.same_as(&desired, d)) {
                    row.vendor_code = None;
                    row.message = None;
                    return Ok(finish(row, RowState::Done));
                }
            }
            Err(e) => {
                let state = settle(&mut row, &e, RowState::Unknown);
                return Ok(finish(row, state));
            }
        }
        // Not in place: the state is on disk before the write leaves, and only while this
        // worker's lease holds (else another worker owns the row now: no write).
        row.state = RowState::Sending;
        row.writes += 1;
        if !journal.update_sending(job, worker, &row).await? {
            return Ok(row);
        }
    }

    row.attempts += 1;
    let result = client.write(app, &row.resource, &desired).await;
    let state = match result {
        Ok(()) => {
            row.vendor_code = None;
            row.message = None;
            RowState::Done
        }
        Err(e) => match retry::classify(client.vendor(), &e) {
            // Never sent, or refused for the vendor's rate limit (not applied): safe to send
            // again in a later pass.
            Failure::NotSent | Failure::Throttled if !matches!(e, Error::InvalidRequest(_)) => {
                row.writes -= 1;
                settle(&mut row, &e, RowState::Planned)
            }
            // It may have been applied: the next pass reads before anything else.
            Failure::MaybeReached => settle(&mut row, &e, RowState::Unknown),
            _ => settle(&mut row, &e, RowState::Failed),
        },
    };
    Ok(finish(row, state))
}

/// Records `error` on `row`; the state is `otherwise` unless the authorization is lost.
fn settle(row: &mut JournalRow, error: &Error, otherwise: RowState) -> RowState {
    let (action, code, message) = plan::failure(error);
    row.vendor_code = code;
    row.message = Some(message);
    if action == Action::Reauth {
        RowState::Reauth
    } else {
        otherwise
    }
}
