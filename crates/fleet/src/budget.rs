//! One rate budget per vendor for the workers of a job, kept in its journal.
//!
//! Each worker's clients find the vendor's rate with their own adaptive limiter
//! ([`core_http::RateLimiter`]). Several workers sharing a PostgreSQL journal would each find
//! it, and each probe above it: N workers, N times the throttles. Instead, every
//! [`SHARE_EVERY`] each worker writes what its limiter of a vendor saw (the rates it sent and
//! had answered) and reads the job's:
//! - the first throttle of an episode, seen by any worker, makes **the job's cut**, from what
//!   all live workers sent and had answered together ([`SharedCut::after_throttle`]), once:
//!   the row changes only if no other worker cut since it was read;
//! - the job's rate follows CUBIC from that cut ([`SharedCut::rate_at`]), the same curve for
//!   every worker, capped by the ceiling (`--rate`, the job's whole);
//! - each worker paces at its share, the job's rate ÷ the live workers
//!   ([`core_http::RateLimiter::follow`]); a worker alone finds the rate on its own.
//!
//! A worker is live while it writes its row (within [`LIVE_MS`]) and sends, or is the one
//! asking. A SQLite journal has one worker (its file is locked by one process).

use std::time::Duration;

use core_http::{RateLimiter, SharedCut};
use sqlx::Row;

use crate::journal::{Journal, JournalError};
use crate::vendors::Vendor;

/// How often a worker shares what it saw and takes its share.
pub const SHARE_EVERY: Duration = Duration::from_millis(200);

/// A worker that has not written its row for this long is not counted.
pub const LIVE_MS: i64 = 2_000;

/// The tables (created with the journal's).
pub(crate) const SCHEMA: [&str; 2] = [
    "CREATE TABLE IF NOT EXISTS miniapp_rate (
        job TEXT NOT NULL,
        vendor TEXT NOT NULL,
        last_max_rate DOUBLE PRECISION NOT NULL,
        rate_after_cut DOUBLE PRECISION NOT NULL,
        cut_at_ms BIGINT NOT NULL,
        cuts BIGINT NOT NULL DEFAULT 1,
        PRIMARY KEY (job, vendor)
    )",
    "CREATE TABLE IF NOT EXISTS miniapp_rate_worker (
        job TEXT NOT NULL,
        vendor TEXT NOT NULL,
        worker TEXT NOT NULL,
        sending DOUBLE PRECISION NOT NULL,
        answered DOUBLE PRECISION NOT NULL,
        seen_ms BIGINT NOT NULL,
        PRIMARY KEY (job, vendor, worker)
    )",
];

/// What a job's workers of one vendor do together, as one worker read it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JobRate {
    /// Live workers, this one included.
    pub workers: i64,
    /// Calls they send per second, together.
    pub sending: f64,
    /// Calls the vendor answers them per second, together.
    pub answered: f64,
    /// The job's last cut, if the vendor ever throttled it.
    pub cut: Option<SharedCut>,
    /// Throttling episodes of the job (cuts).
    pub cuts: i64,
    /// The rate this worker paces at now (its share), if it paces.
    pub share: Option<f64>,
}

fn at(what: &'static str) -> impl FnOnce(sqlx::Error) -> JournalError {
    move |source| JournalError::new(what, source)
}

/// Shares what `limiter` (this worker's, for `vendor`) saw with the job's other workers and
/// sets it to this worker's share of the job's rate at `now_ms` (milliseconds since the Unix
/// epoch; the workers' clocks are taken to agree within a few hundred milliseconds).
pub async fn share(
    journal: &Journal,
    job: &str,
    worker: &str,
    vendor: Vendor,
    limiter: &RateLimiter,
    now_ms: i64,
) -> Result<JobRate, JournalError> {
    let seen = limiter.observe();
    let pool = journal.pool();
    sqlx::query(
        "INSERT INTO miniapp_rate_worker (job, vendor, worker, sending, answered, seen_ms)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (job, vendor, worker) DO UPDATE
         SET sending = excluded.sending, answered = excluded.answered, seen_ms = excluded.seen_ms",
    )
    .bind(job)
    .bind(vendor.as_str())
    .bind(worker)
    .bind(seen.sending)
    .bind(seen.answered)
    .bind(now_ms)
    .execute(pool)
    .await
    .map_err(at("share the rate"))?;
    let r = sqlx::query(
        "SELECT COUNT(*) AS workers, SUM(sending) AS sending, SUM(answered) AS answered
         FROM miniapp_rate_worker
         WHERE job = $1 AND vendor = $2 AND seen_ms >= $3 AND (sending > 0 OR worker = $4)",
    )
    .bind(job)
    .bind(vendor.as_str())
    .bind(now_ms - LIVE_MS)
    .bind(worker)
    .fetch_one(pool)
    .await
    .map_err(at("read the rate"))?;
    let workers: i64 = r.try_get("workers").map_err(at("read the rate"))?;
    let sending: f64 = r.try_get("sending").map_err(at("read the rate"))?;
    let answered: f64 = r.try_get("answered").map_err(at("read the rate"))?;
    let now = now_ms as f64 / 1000.0;
    let ceiling = limiter.ceiling();
    let capped = |rate: f64| ceiling.map_or(rate, |c| rate.min(c));
    let (mut cut, mut cuts) = last_cut(journal, job, vendor).await?;
    if seen.throttled && cut.is_none_or(|c| c.may_cut_again(now)) {
        let paced = cut.map(|c| capped(c.rate_at(now))).or(ceiling);
        let new = SharedCut::after_throttle(paced, sending, answered, now);
        let sql = if cut.is_none() {
            // The first cut of the job: another worker's first cut, made meanwhile, stands.
            "INSERT INTO miniapp_rate (job, vendor, last_max_rate, rate_after_cut, cut_at_ms, cuts)
             VALUES ($1, $2, $3, $4, $5, 1) ON CONFLICT (job, vendor) DO NOTHING"
        } else {
            // Only if no other worker cut since it was read (one cut per episode).
            "UPDATE miniapp_rate SET last_max_rate = $3, rate_after_cut = $4, cut_at_ms = $5,
                cuts = cuts + 1
             WHERE job = $1 AND vendor = $2 AND cut_at_ms = $6"
        };
        let mut query = sqlx::query(sql)
            .bind(job)
            .bind(vendor.as_str())
            .bind(new.last_max_rate)
            .bind(new.rate_after_cut)
            .bind(ms(new.at));
        if let Some(old) = cut {
            query = query.bind(ms(old.at));
        }
        query.execute(pool).await.map_err(at("cut the rate"))?;
        (cut, cuts) = last_cut(journal, job, vendor).await?;
    }
    let share = if workers > 1 {
        let job_rate = cut.map(|c| capped(c.rate_at(now))).or(ceiling);
        let share = job_rate.map(|r| r / workers as f64);
        limiter.follow(share);
        share
    } else {
        limiter.follow(None);
        None
    };
    Ok(JobRate {
        workers,
        sending,
        answered,
        cut,
        cuts,
        share: share.or(limiter.current_rate()),
    })
}

fn ms(seconds: f64) -> i64 {
    (seconds * 1000.0).round() as i64
}

/// The job's last cut of `vendor`'s rate (none while the vendor never throttled a worker of
/// its that shares the rate) and how many cuts there were.
pub async fn last_cut(
    journal: &Journal,
    job: &str,
    vendor: Vendor,
) -> Result<(Option<SharedCut>, i64), JournalError> {
    let row = sqlx::query(
        "SELECT last_max_rate, rate_after_cut, cut_at_ms, cuts FROM miniapp_rate
         WHERE job = $1 AND vendor = $2",
    )
    .bind(job)
    .bind(vendor.as_str())
    .fetch_optional(journal.pool())
    .await
    .map_err(at("read the rate"))?;
    let Some(r) = row else {
        return Ok((None, 0));
    };
    let cut = SharedCut {
        last_max_rate: r.try_get("last_max_rate").map_err(at("read the rate"))?,
        rate_after_cut: r.try_get("rate_after_cut").map_err(at("read the rate"))?,
        at: r
            .try_get::<i64, _>("cut_at_ms")
            .map_err(at("read the rate"))? as f64
            / 1000.0,
    };
    Ok((Some(cut), r.try_get("cuts").map_err(at("read the rate"))?))
}

/// Forgets `worker`'s rows (at the end of its run: it no longer takes a share).
pub async fn leave(journal: &Journal, job: &str, worker: &str) -> Result<(), JournalError> {
    sqlx::query("DELETE FROM miniapp_rate_worker WHERE job = $1 AND worker = $2")
        .bind(job)
        .bind(worker)
        .execute(journal.pool())
        .await
        .map_err(at("leave the rate"))?;
    Ok(())
}
