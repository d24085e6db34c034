//! The journal: one row per app and resource of a job, its state written *before* a write is
//! sent, in SQLite (a file, embedded: the default) or PostgreSQL (several workers share a job,
//! claiming rows with `FOR UPDATE SKIP LOCKED`). The same `sqlx` code serves both.
//!
//! States: `planned` → `sending` → `done` / `failed` / `unknown` / `reauth`; `unchanged` rows
//! need nothing. A row left in `sending` (the process died mid-write) or `unknown` (the
//! answer was lost) is read first and compared before anything is sent again.
//!
//! Several workers (PostgreSQL) are kept apart by River's shape with fencing: a claim leases a
//! row to one worker and bumps its `attempt` (the fence); the worker renews its leases while it
//! holds rows ([`Journal::renew`], a heartbeat); every state change it makes carries its name
//! and that attempt, and marking a row `sending` also needs an unexpired lease, so a worker
//! whose lease ran out (stalled, or taken over) changes nothing and sends nothing. A rescuer
//! ([`Journal::rescue`], run by any worker) turns an expired `sending` row into `unknown`,
//! which the next claimer reads before any write. Leases are timed by each worker's clock.

use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

use crate::vendors::Vendor;

/// A journal row's state.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum RowState {
    /// To be written.
    Planned,
    /// A write is being (or was being) sent: outcome not known yet.
    Sending,
    /// The desired value is in place (written, or found in place by a read).
    Done,
    /// Already right when planned: nothing sent.
    Unchanged,
    /// The vendor refused (or the input is invalid): see the code and message.
    Failed,
    /// The write may or may not have been applied, and a read could not tell.
    Unknown,
    /// The app's authorization is lost: the merchant must authorize the platform again.
    Reauth,
}

impl RowState {
    /// Its name in the journal.
    pub fn as_str(self) -> &'static str {
        match self {
            RowState::Planned => "planned",
            RowState::Sending => "sending",
            RowState::Done => "done",
            RowState::Unchanged => "unchanged",
            RowState::Failed => "failed",
            RowState::Unknown => "unknown",
            RowState::Reauth => "reauth",
        }
    }

    fn parse(s: &str) -> RowState {
        match s {
            "planned" => RowState::Planned,
            "sending" => RowState::Sending,
            "done" => RowState::Done,
            "unchanged" => RowState::Unchanged,
            "failed" => RowState::Failed,
            "reauth" => RowState::Reauth,
            _ => RowState::Unknown,
        }
    }

    /// Whether apply has nothing more to do for the row.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RowState::Done | RowState::Unchanged | RowState::Failed | RowState::Reauth
        )
    }
}

/// One row: an app (or the platform: `app_id` empty) and resource of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalRow {
    /// Plan order.
    pub seq: i64,
    /// The vendor.
    pub vendor: Vendor,
    /// The app, empty for a platform resource.
    pub app_id: String,
    /// The resource's name.
    pub resource: String,
    /// The desired value (JSON of a `ResourceValue`).
    pub desired: String,
    /// 0 for platform resources (applied first), 1 for app resources.
    pub phase: i64,
    /// Its state.
    pub state: RowState,
    /// Calls made for it (reads and writes).
    pub attempts: i64,
    /// Writes sent for it.
    pub writes: i64,
    /// The last vendor code, if any.
    pub vendor_code: Option<i64>,
    /// The last error's text (vendor message and documented meaning), if any.
    pub message: Option<String>,
    /// Time spent on it, in milliseconds.
    pub elapsed_ms: i64,
    /// The claim that gave it to this worker (the fence of its state changes); 0 before any.
    pub attempt: i64,
}

/// A journal that failed.
#[derive(Debug, thiserror::Error)]
#[error("journal {what}: {source}")]
pub struct JournalError {
    what: &'static str,
    #[source]
    source: sqlx::Error,
}

impl JournalError {
    pub(crate) fn new(what: &'static str, source: sqlx::Error) -> JournalError {
        JournalError { what, source }
    }
}

fn at(what: &'static str) -> impl FnOnce(sqlx::Error) -> JournalError {
    move |source| JournalError { what, source }
}

/// The journal database.
#[derive(Debug, Clone)]
pub struct Journal {
    pool: AnyPool,
    postgres: bool,
}

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS miniapp_journal (
    job TEXT NOT NULL,
    seq BIGINT NOT NULL,
    vendor TEXT NOT NULL,
    app_id TEXT NOT NULL,
    resource TEXT NOT NULL,
    desired TEXT NOT NULL,
    phase BIGINT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('planned', 'sending', 'done', 'unchanged', 'failed', 'unknown', 'reauth')),
    attempts BIGINT NOT NULL DEFAULT 0,
    writes BIGINT NOT NULL DEFAULT 0,
    vendor_code BIGINT,
    message TEXT,
    elapsed_ms BIGINT NOT NULL DEFAULT 0,
    worker TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0,
    attempt BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (job, vendor, app_id, resource)
)";

/// Journals made before the fence column: add it (an error means it is there).
const ADD_ATTEMPT: &str =
    "ALTER TABLE miniapp_journal ADD COLUMN attempt BIGINT NOT NULL DEFAULT 0";

/// The claim's index: a vendor's open rows of a phase, in plan order (its condition is the
/// claim's own `state IN (…)`, so the claim reads the first rows of it and sorts nothing; an
/// index on the state too gave each state in order, which a claim of three states had to sort:
/// every claim sorted every open row of the vendor).
const CLAIM_INDEX: &str =
    "CREATE INDEX IF NOT EXISTS miniapp_journal_open ON miniapp_journal (job, vendor, phase, seq)
     WHERE state IN ('planned', 'sending', 'unknown')";

/// The open rows a worker holds: its heartbeat, its release at the end, the rescue of a dead
/// worker's rows and the wait for another worker's platform rows read these, not the job.
const HELD_INDEX: &str =
    "CREATE INDEX IF NOT EXISTS miniapp_journal_held ON miniapp_journal (job, worker, lease_until)
     WHERE state IN ('planned', 'sending', 'unknown')";

/// The claim index of journals made before [`CLAIM_INDEX`] (dropped on open).
const OLD_CLAIM_INDEX: &str = "DROP INDEX IF EXISTS miniapp_journal_claim";

/// Says that a row's update was refused by its fence.
fn lease_lost(r: &JournalRow) {
    tracing::warn!(vendor = %r.vendor, app = %r.app_id, resource = %r.resource, "this worker's lease on the row is lost (taken over, or expired): not recorded, nothing sent");
}

/// The fenced update of `rows` rows in one statement: `$1` job, `$2` worker, `$3` the lease
/// must be live after; then per row its vendor, app, resource, state, attempts, writes, vendor
/// code, message, elapsed and attempt (the fence). Returns the `seq` of each row updated (unique
/// in a job).
fn fenced_update_sql(rows: usize) -> String {
    let values = value_rows(
        rows,
        4,
        &[
            "?",
            "?",
            "?",
            "?",
            "CAST(? AS BIGINT)",
            "CAST(? AS BIGINT)",
            "CAST(? AS BIGINT)",
            "?",
            "CAST(? AS BIGINT)",
            "CAST(? AS BIGINT)",
        ],
    );
    format!(
        "WITH v (v_vendor, v_app, v_resource, v_state, v_attempts, v_writes, v_code, v_message, v_elapsed, v_attempt)
             AS (VALUES {values})
         UPDATE miniapp_journal SET state = v_state, attempts = v_attempts, writes = v_writes,
             vendor_code = v_code, message = v_message, elapsed_ms = v_elapsed
         FROM v
         WHERE job = $1 AND vendor = v_vendor AND app_id = v_app AND resource = v_resource
           AND worker = $2 AND attempt = v_attempt AND lease_until > $3
         RETURNING seq"
    )
}

/// [`fenced_update_sql`] of [`SQLITE_CHUNK`] rows, built once.
fn sqlite_chunk_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| fenced_update_sql(SQLITE_CHUNK))
}

/// Rows updated by one statement on PostgreSQL (10 parameters each, well under its limit).
const UPDATE_CHUNK: usize = 256;

/// Rows a statement of [`Journal::insert`] adds (10 values each: far below SQLite's and
/// PostgreSQL's limits on bound values; a statement a row made loading 30,000 rows take 3 s).
const INSERT_CHUNK: usize = 100;

/// The `INSERT` of `n` journal rows (new rows only: a resumed job keeps its states).
fn insert_sql(n: usize) -> String {
    let columns = [
        "?", "?", "?", "?", "?", "?", "?", "?", "0", "0", "?", "?", "0",
    ];
    format!(
        "INSERT INTO miniapp_journal (job, seq, vendor, app_id, resource, desired, phase, state, attempts, writes, vendor_code, message, elapsed_ms)
         VALUES {}
         ON CONFLICT DO NOTHING",
        value_rows(n, 1, &columns)
    )
}

/// `rows` tuples of a `VALUES` list, each of `columns`: a `?` in a column is the next
/// numbered parameter (`$first`, `$first + 1`, … across the rows), a column without one is
/// written as it is (a literal).
fn value_rows(rows: usize, first: usize, columns: &[&str]) -> String {
    let mut next = first;
    (0..rows)
        .map(|_| {
            let row: Vec<String> = columns
                .iter()
                .map(|c| match c.split_once('?') {
                    Some((before, after)) => {
                        next += 1;
                        format!("{before}${}{after}", next - 1)
                    }
                    None => (*c).to_owned(),
                })
                .collect();
            format!("({})", row.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Rows updated by one statement on SQLite: always this many (the rest one by one).
const SQLITE_CHUNK: usize = 16;

const COLUMNS: &str = "seq, vendor, app_id, resource, desired, phase, state, attempts, writes, vendor_code, message, elapsed_ms, attempt";

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The vendor a row names; a name this build does not know is an error (a journal written by
/// a build with another vendor), never another vendor.
/// The row's `vendor` column: a vendor this build knows, or a decode error that names it.
pub(crate) fn vendor_of(r: &AnyRow) -> Result<Vendor, sqlx::Error> {
    let name: String = r.try_get("vendor")?;
    name.parse().map_err(|e: String| {
        sqlx::Error::Decode(
            format!("{e}; was this journal written by a build of the SDK with another vendor?")
                .into(),
        )
    })
}

fn row(r: &AnyRow) -> Result<JournalRow, sqlx::Error> {
    Ok(JournalRow {
        seq: r.try_get("seq")?,
        vendor: vendor_of(r)?,
        app_id: r.try_get("app_id")?,
        resource: r.try_get("resource")?,
        desired: r.try_get("desired")?,
        phase: r.try_get("phase")?,
        state: RowState::parse(&r.try_get::<String, _>("state")?),
        attempts: r.try_get("attempts")?,
        writes: r.try_get("writes")?,
        vendor_code: r.try_get("vendor_code")?,
        message: r.try_get("message")?,
        elapsed_ms: r.try_get("elapsed_ms")?,
        attempt: r.try_get("attempt")?,
    })
}

/// A pool on the database at `url` (`sqlite:PATH`, the file created; or `postgres://…`):
/// one connection for SQLite (one writer), eight for PostgreSQL; whether it is PostgreSQL.
pub(crate) async fn connect(url: &str) -> Result<(AnyPool, bool), sqlx::Error> {
    sqlx::any::install_default_drivers();
    let postgres = url.starts_with("postgres://") || url.starts_with("postgresql://");
    let url = if postgres || url.contains("mode=") {
        url.to_owned()
    } else {
        format!("{url}?mode=rwc")
    };
    let pool = AnyPoolOptions::new()
        .max_connections(if postgres { 8 } else { 1 })
        .connect(&url)
        .await?;
    Ok((pool, postgres))
}

impl Journal {
    /// Opens (creating) the journal at `url`: `sqlite:PATH` (the file is created) or
    /// `postgres://…`.
    pub async fn open(url: &str) -> Result<Journal, JournalError> {
        let (pool, postgres) = connect(url).await.map_err(at("open"))?;
        if postgres {
            // Workers starting together: one creates the table.
            let mut tx = pool.begin().await.map_err(at("create"))?;
            sqlx::query("SELECT pg_advisory_xact_lock(724301)")
                .execute(&mut *tx)
                .await
                .map_err(at("create"))?;
            sqlx::query(SCHEMA)
                .execute(&mut *tx)
                .await
                .map_err(at("create"))?;
            sqlx::query(
                "ALTER TABLE miniapp_journal ADD COLUMN IF NOT EXISTS attempt BIGINT NOT NULL DEFAULT 0",
            )
            .execute(&mut *tx)
            .await
            .map_err(at("create"))?;
            for index in [OLD_CLAIM_INDEX, CLAIM_INDEX, HELD_INDEX]
                .into_iter()
                .chain(crate::budget::SCHEMA)
            {
                sqlx::query(index)
                    .execute(&mut *tx)
                    .await
                    .map_err(at("create"))?;
            }
            tx.commit().await.map_err(at("create"))?;
        } else {
            // One process at a time: the exclusive lock is held from the first write until the
            // process ends (a second `apply` on the same file waits, then says so), so rows a
            // killed process leased are free to take. A crash loses at most the transaction in
            // flight.
            for pragma in [
                "PRAGMA locking_mode = EXCLUSIVE",
                "PRAGMA journal_mode = WAL",
                "PRAGMA synchronous = NORMAL",
            ] {
                sqlx::query(pragma)
                    .execute(&pool)
                    .await
                    .map_err(at("open"))?;
            }
            sqlx::query(SCHEMA)
                .execute(&pool)
                .await
                .map_err(at("create"))?;
            let _ = sqlx::query(ADD_ATTEMPT).execute(&pool).await;
            for index in [OLD_CLAIM_INDEX, CLAIM_INDEX, HELD_INDEX]
                .into_iter()
                .chain(crate::budget::SCHEMA)
            {
                sqlx::query(index)
                    .execute(&pool)
                    .await
                    .map_err(at("create"))?;
            }
        }
        Ok(Journal { pool, postgres })
    }

    /// Closes the journal's connections (a SQLite file is free for another process at once;
    /// dropping the last handle closes them too, in the background).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Whether this is a PostgreSQL journal.
    pub fn is_postgres(&self) -> bool {
        self.postgres
    }

    /// The connections (for the tables of [`crate::budget`]).
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Refreshes the planner's statistics of the journal (PostgreSQL; after a plan is loaded).
    /// Without them, a new job's rows look few and the per-batch updates read every row of the
    /// job instead of each row by its key: 57 ms against 3 ms a batch, measured at 30,000 rows.
    pub async fn analyze(&self) -> Result<(), JournalError> {
        if self.postgres {
            sqlx::query("ANALYZE miniapp_journal")
                .execute(&self.pool)
                .await
                .map_err(at("analyze"))?;
        }
        Ok(())
    }

    /// Adds the rows of a job that are not there yet (a resumed job keeps its states), in one
    /// transaction, 100 rows to a statement.
    pub async fn insert(&self, job: &str, rows: &[JournalRow]) -> Result<(), JournalError> {
        let mut tx = self.pool.begin().await.map_err(at("insert"))?;
        for chunk in rows.chunks(INSERT_CHUNK) {
            let sql = insert_sql(chunk.len());
            let mut query = sqlx::query(&sql);
            for r in chunk {
                query = query
                    .bind(job)
                    .bind(r.seq)
                    .bind(r.vendor.as_str())
                    .bind(&r.app_id)
                    .bind(&r.resource)
                    .bind(&r.desired)
                    .bind(r.phase)
                    .bind(r.state.as_str())
                    .bind(r.vendor_code)
                    .bind(r.message.clone());
            }
            query.execute(&mut *tx).await.map_err(at("insert"))?;
        }
        tx.commit().await.map_err(at("insert"))?;
        Ok(())
    }

    /// Claims up to `limit` rows of `vendor` and `phase` after `after_seq` in plan order that
    /// still need work (planned, sending, unknown) and no worker leases (or whose lease ran
    /// out), for `lease_ms`. A pass claims with a cursor (the last seq it claimed), so it
    /// takes each row once and never walks again the rows it already passed (those left to
    /// retry, and on PostgreSQL the dead versions of those it finished); rows this worker
    /// processed also stay leased until [`Journal::release`].
    #[allow(clippy::too_many_arguments)]
    pub async fn claim(
        &self,
        job: &str,
        vendor: Vendor,
        phase: i64,
        worker: &str,
        after_seq: i64,
        limit: i64,
        lease_ms: i64,
    ) -> Result<Vec<JournalRow>, JournalError> {
        let now = now_ms();
        let sql = if self.postgres {
            // Rows another live worker leases are skipped. The rows are picked and locked once,
            // in a materialized CTE (River's shape), then updated by key: as a sub-select of
            // `IN (…)`, a generic plan re-ran the `SKIP LOCKED … LIMIT` per outer row, and
            // claims of three workers spun for minutes holding locks on every row.
            format!(
                "WITH picked AS MATERIALIZED (
                     SELECT app_id AS picked_app, resource AS picked_resource FROM miniapp_journal
                     WHERE job = $3 AND vendor = $4 AND phase = $5 AND seq > $8
                       AND state IN ('planned', 'sending', 'unknown')
                       AND (worker IS NULL OR lease_until < $6)
                     ORDER BY seq LIMIT $7 FOR UPDATE SKIP LOCKED)
                 UPDATE miniapp_journal SET worker = $1, lease_until = $2, attempt = attempt + 1
                 FROM picked
                 WHERE job = $3 AND vendor = $4 AND app_id = picked_app AND resource = picked_resource
                 RETURNING {COLUMNS}"
            )
        } else {
            // One process: a lease not this worker's belongs to a process that died.
            format!(
                "UPDATE miniapp_journal SET worker = $1, lease_until = $2, attempt = attempt + 1
                 WHERE job = $3 AND vendor = $4 AND (app_id, resource) IN (
                     SELECT app_id, resource FROM miniapp_journal
                     WHERE job = $3 AND vendor = $4 AND phase = $5 AND seq > $8
                       AND state IN ('planned', 'sending', 'unknown')
                       AND (worker IS NULL OR worker <> $1 OR lease_until < $6)
                     ORDER BY seq LIMIT $7)
                 RETURNING {COLUMNS}"
            )
        };
        let rows = sqlx::query(&sql)
            .bind(worker)
            .bind(now + lease_ms)
            .bind(job)
            .bind(vendor.as_str())
            .bind(phase)
            .bind(now)
            .bind(limit)
            .bind(after_seq)
            .fetch_all(&self.pool)
            .await
            .map_err(at("claim"))?;
        let mut out = rows
            .iter()
            .map(row)
            .collect::<Result<Vec<_>, _>>()
            .map_err(at("claim"))?;
        out.sort_by_key(|r| r.seq);
        Ok(out)
    }

    /// Marks `rows` `sending` (with one more write each) in one transaction, before any of
    /// their writes leaves, so the journal never says less than what may have been sent. Only
    /// rows `worker` still holds under their claim's fence, with an unexpired lease, are
    /// marked; the others are taken out of `rows` (their lease is lost: no write for them).
    pub async fn mark_sending(
        &self,
        job: &str,
        worker: &str,
        rows: &mut Vec<JournalRow>,
    ) -> Result<(), JournalError> {
        for r in rows.iter_mut() {
            r.state = RowState::Sending;
            r.writes += 1;
        }
        let kept = self
            .update_fenced(job, worker, rows, Some(now_ms()))
            .await?;
        let mut kept = kept.into_iter();
        rows.retain(|_| kept.next().unwrap_or(false));
        Ok(())
    }

    /// Records every row of `rows` in one transaction, each only if `worker` still holds it
    /// under its claim's fence; returns how many were not (taken over by another worker).
    pub async fn update_many(
        &self,
        job: &str,
        worker: &str,
        rows: &[JournalRow],
    ) -> Result<usize, JournalError> {
        let kept = self.update_fenced(job, worker, rows, None).await?;
        Ok(kept.iter().filter(|k| !**k).count())
    }

    /// The fenced update of each row (and, with `live_at`, only under a lease unexpired at
    /// that time); whether each row was updated.
    async fn update_fenced(
        &self,
        job: &str,
        worker: &str,
        rows: &[JournalRow],
        live_at: Option<i64>,
    ) -> Result<Vec<bool>, JournalError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        // A deadlock (PostgreSQL aborts one side; a worker taking over an expired row while
        // its first worker records it) is tried again, whole.
        let mut tries = 0;
        let updated = loop {
            let attempt = async {
                let mut updated = std::collections::HashSet::new();
                let mut tx = self.pool.begin().await?;
                self.update_rows(&mut tx, job, worker, rows, live_at, &mut updated)
                    .await?;
                tx.commit().await?;
                Ok::<_, sqlx::Error>(updated)
            };
            match attempt.await {
                Ok(updated) => break updated,
                Err(sqlx::Error::Database(e))
                    if e.code().as_deref() == Some("40P01") && tries < 3 =>
                {
                    tries += 1;
                    tracing::debug!("journal update deadlocked; trying again");
                }
                Err(e) => return Err(at("update")(e)),
            }
        };
        let kept = rows
            .iter()
            .map(|r| {
                let ok = updated.contains(&r.seq);
                if !ok {
                    lease_lost(r);
                }
                ok
            })
            .collect();
        Ok(kept)
    }

    /// The statements of [`Journal::update_fenced`] in transaction `tx`, adding the `seq` of
    /// each row updated to `updated`. Rows go many to a statement (a `VALUES` list joined by key):
    /// on PostgreSQL each statement is a round trip, on SQLite a hand-off to its connection's
    /// thread. On PostgreSQL any number of rows to a statement; on SQLite only whole chunks of
    /// [`SQLITE_CHUNK`] (one prepared statement, reused: one per batch size tripled the
    /// apply's time), the rest a statement each.
    async fn update_rows(
        &self,
        tx: &mut sqlx::AnyConnection,
        job: &str,
        worker: &str,
        rows: &[JournalRow],
        live_at: Option<i64>,
        updated: &mut std::collections::HashSet<i64>,
    ) -> Result<(), sqlx::Error> {
        let (many, each) = if self.postgres {
            (rows, &[][..])
        } else {
            rows.split_at(rows.len() / SQLITE_CHUNK * SQLITE_CHUNK)
        };
        let chunk = if self.postgres {
            UPDATE_CHUNK
        } else {
            SQLITE_CHUNK
        };
        for chunk in many.chunks(chunk) {
            let sized;
            let sql = if chunk.len() == SQLITE_CHUNK && !self.postgres {
                sqlite_chunk_sql()
            } else {
                sized = fenced_update_sql(chunk.len());
                &sized
            };
            let mut query = sqlx::query(sql)
                .bind(job)
                .bind(worker)
                .bind(live_at.unwrap_or(i64::MIN));
            for r in chunk {
                query = query
                    .bind(r.vendor.as_str())
                    .bind(&r.app_id)
                    .bind(&r.resource)
                    .bind(r.state.as_str())
                    .bind(r.attempts)
                    .bind(r.writes)
                    .bind(r.vendor_code)
                    .bind(r.message.clone())
                    .bind(r.elapsed_ms)
                    .bind(r.attempt);
            }
            for done in query.fetch_all(&mut *tx).await? {
                updated.insert(done.try_get::<i64, _>("seq")?);
            }
        }
        for r in each {
            let done = sqlx::query(
                "UPDATE miniapp_journal SET state = $1, attempts = $2, writes = $3, vendor_code = $4, message = $5, elapsed_ms = $6
                 WHERE job = $7 AND vendor = $8 AND app_id = $9 AND resource = $10
                   AND worker = $11 AND attempt = $12 AND lease_until > $13",
            )
            .bind(r.state.as_str())
            .bind(r.attempts)
            .bind(r.writes)
            .bind(r.vendor_code)
            .bind(r.message.clone())
            .bind(r.elapsed_ms)
            .bind(job)
            .bind(r.vendor.as_str())
            .bind(&r.app_id)
            .bind(&r.resource)
            .bind(worker)
            .bind(r.attempt)
            .bind(live_at.unwrap_or(i64::MIN))
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 1 {
                updated.insert(r.seq);
            }
        }
        Ok(())
    }

    /// Records `r`'s state and counters (`sending` before a write, the outcome after), if
    /// `worker` still holds it; whether it did.
    pub async fn update(
        &self,
        job: &str,
        worker: &str,
        r: &JournalRow,
    ) -> Result<bool, JournalError> {
        let kept = self
            .update_fenced(job, worker, std::slice::from_ref(r), None)
            .await?;
        Ok(kept[0])
    }

    /// Marks one row `sending` under an unexpired lease before its write; whether it did (a
    /// row whose lease is lost must not be written).
    pub async fn update_sending(
        &self,
        job: &str,
        worker: &str,
        r: &JournalRow,
    ) -> Result<bool, JournalError> {
        let kept = self
            .update_fenced(job, worker, std::slice::from_ref(r), Some(now_ms()))
            .await?;
        Ok(kept[0])
    }

    /// Renews the leases `worker` holds on rows of `job` that are not final and not expired,
    /// to `lease_ms` from now (the heartbeat); returns how many.
    pub async fn renew(&self, job: &str, worker: &str, lease_ms: i64) -> Result<u64, JournalError> {
        let now = now_ms();
        // PostgreSQL: rows this worker is recording right now are skipped (renewed at the next
        // beat), so the heartbeat never waits on, nor deadlocks with, its own transactions.
        let sql = if self.postgres {
            "WITH held AS MATERIALIZED (
                 SELECT app_id AS held_app, vendor AS held_vendor, resource AS held_resource
                 FROM miniapp_journal
                 WHERE job = $2 AND worker = $3 AND lease_until > $4
                   AND state IN ('planned', 'sending', 'unknown')
                 FOR UPDATE SKIP LOCKED)
             UPDATE miniapp_journal SET lease_until = $1 FROM held
             WHERE job = $2 AND vendor = held_vendor AND app_id = held_app
               AND resource = held_resource"
        } else {
            "UPDATE miniapp_journal SET lease_until = $1
             WHERE job = $2 AND worker = $3 AND lease_until > $4
               AND state IN ('planned', 'sending', 'unknown')"
        };
        let done = sqlx::query(sql)
            .bind(now + lease_ms)
            .bind(job)
            .bind(worker)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(at("renew"))?;
        Ok(done.rows_affected())
    }

    /// The rescuer: rows of `job` left `sending` under an expired lease (their worker died or
    /// stalled mid-write) become `unknown` and free, so the next claimer reads them before
    /// any write. Idempotent; any worker may run it. Returns how many.
    pub async fn rescue(&self, job: &str) -> Result<u64, JournalError> {
        // `state IN (…)` as the held index says it, then the one state. PostgreSQL: a row
        // being recorded right now is skipped (its worker still writes it).
        let sql = if self.postgres {
            "WITH dead AS MATERIALIZED (
                 SELECT app_id AS dead_app, vendor AS dead_vendor, resource AS dead_resource
                 FROM miniapp_journal
                 WHERE job = $1 AND state IN ('planned', 'sending', 'unknown') AND state = 'sending'
                   AND worker IS NOT NULL AND lease_until < $2
                 FOR UPDATE SKIP LOCKED)
             UPDATE miniapp_journal SET state = 'unknown', worker = NULL, lease_until = 0
             FROM dead
             WHERE job = $1 AND vendor = dead_vendor AND app_id = dead_app
               AND resource = dead_resource"
        } else {
            "UPDATE miniapp_journal SET state = 'unknown', worker = NULL, lease_until = 0
             WHERE job = $1 AND state IN ('planned', 'sending', 'unknown') AND state = 'sending'
               AND worker IS NOT NULL AND lease_until < $2"
        };
        let done = sqlx::query(sql)
            .bind(job)
            .bind(now_ms())
            .execute(&self.pool)
            .await
            .map_err(at("rescue"))?;
        Ok(done.rows_affected())
    }

    /// Whether another worker holds, under a live lease, a row of `job`'s `phase` that is not
    /// final (the platform's resources, which every worker awaits before the apps'; a dead
    /// worker's rows are free once its lease runs out).
    pub async fn phase_held_elsewhere(
        &self,
        job: &str,
        phase: i64,
        worker: &str,
    ) -> Result<bool, JournalError> {
        let r = sqlx::query(
            "SELECT COUNT(*) AS n FROM miniapp_journal WHERE job = $1 AND phase = $2
               AND state IN ('planned', 'sending', 'unknown')
               AND worker IS NOT NULL AND worker <> $3 AND lease_until > $4",
        )
        .bind(job)
        .bind(phase)
        .bind(worker)
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await
        .map_err(at("read"))?;
        Ok(r.try_get::<i64, _>("n").map_err(at("read"))? > 0)
    }

    /// Releases the rows `worker` still leases (at the end of its run).
    pub async fn release(&self, job: &str, worker: &str) -> Result<(), JournalError> {
        // Final rows are never claimed again: only the open ones are let go.
        sqlx::query(
            "UPDATE miniapp_journal SET worker = NULL, lease_until = 0
             WHERE job = $1 AND worker = $2 AND state IN ('planned', 'sending', 'unknown')",
        )
        .bind(job)
        .bind(worker)
        .execute(&self.pool)
        .await
        .map_err(at("release"))?;
        Ok(())
    }

    /// How many rows of `job` are in each state, per vendor.
    pub async fn counts(&self, job: &str) -> Result<Vec<(Vendor, RowState, i64)>, JournalError> {
        let rows = sqlx::query(
            "SELECT vendor, state, COUNT(*) AS n FROM miniapp_journal WHERE job = $1 GROUP BY vendor, state",
        )
        .bind(job)
        .fetch_all(&self.pool)
        .await
        .map_err(at("count"))?;
        rows.iter()
            .map(|r| {
                let state: String = r.try_get("state")?;
                Ok((vendor_of(r)?, RowState::parse(&state), r.try_get("n")?))
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(at("count"))
    }

    /// Every row of `job`, in plan order, `batch` at a time (for the report).
    pub async fn rows_after(
        &self,
        job: &str,
        after_seq: i64,
        batch: i64,
    ) -> Result<Vec<JournalRow>, JournalError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM miniapp_journal WHERE job = $1 AND seq > $2 ORDER BY seq LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(job)
            .bind(after_seq)
            .bind(batch)
            .fetch_all(&self.pool)
            .await
            .map_err(at("read"))?;
        rows.iter()
            .map(row)
            .collect::<Result<Vec<_>, _>>()
            .map_err(at("read"))
    }

    /// Whether another worker holds an unexpired lease on a row of `job` that is not final
    /// (this worker then waits for it, or for the lease to run out).
    pub async fn busy_elsewhere(&self, job: &str, worker: &str) -> Result<bool, JournalError> {
        if !self.postgres {
            return Ok(false);
        }
        let r = sqlx::query(
            "SELECT COUNT(*) AS n FROM miniapp_journal WHERE job = $1 AND worker IS NOT NULL AND worker <> $2
               AND lease_until >= $3 AND state IN ('planned', 'sending', 'unknown')",
        )
        .bind(job)
        .bind(worker)
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await
        .map_err(at("read"))?;
        Ok(r.try_get::<i64, _>("n").map_err(at("read"))? > 0)
    }

    /// Whether every row of `job` is final.
    pub async fn finished(&self, job: &str) -> Result<bool, JournalError> {
        let r = sqlx::query(
            "SELECT COUNT(*) AS n FROM miniapp_journal WHERE job = $1 AND state IN ('planned', 'sending', 'unknown')",
        )
        .bind(job)
        .fetch_one(&self.pool)
        .await
        .map_err(at("read"))?;
        Ok(r.try_get::<i64, _>("n").map_err(at("read"))? == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `VALUES` lists number their parameters across rows after the fixed ones.
    #[test]
    fn value_lists_number_their_parameters_across_rows() {
        let insert = insert_sql(2);
        assert!(
            insert.contains(
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, 0, $9, $10, 0), \
                 ($11, $12, $13, $14, $15, $16, $17, $18, 0, 0, $19, $20, 0)\n"
            ),
            "{insert}"
        );
        let update = fenced_update_sql(2);
        assert!(
            update.contains(
                "AS (VALUES ($4, $5, $6, $7, CAST($8 AS BIGINT), CAST($9 AS BIGINT), \
                 CAST($10 AS BIGINT), $11, CAST($12 AS BIGINT), CAST($13 AS BIGINT)), ($14, $15, "
            ),
            "{update}"
        );
        assert!(update.contains("CAST($23 AS BIGINT)))\n"), "{update}");
    }

    #[tokio::test]
    async fn an_unknown_vendor_name_is_an_error_not_another_vendor() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("j.sqlite").display());
        let journal = Journal::open(&url).await.unwrap();
        let row = JournalRow {
            seq: 0,
            vendor: Vendor::Baidu,
            app_id: "app".into(),
            resource: "domains".into(),
            desired: "{}".into(),
            phase: 1,
            state: RowState::Planned,
            attempts: 0,
            writes: 0,
            vendor_code: None,
            message: None,
            elapsed_ms: 0,
            attempt: 0,
        };
        journal.insert("job", &[row]).await.unwrap();
        assert_eq!(journal.counts("job").await.unwrap()[0].0, Vendor::Baidu);
        sqlx::query("UPDATE miniapp_journal SET vendor = 'douyin'")
            .execute(journal.pool())
            .await
            .unwrap();
        let err = journal.counts("job").await.unwrap_err().to_string();
        assert!(err.contains("unknown vendor `douyin`"), "{err}");
        let err = journal
            .rows_after("job", -1, 10)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown vendor `douyin`"), "{err}");
    }

    /// 250 rows go in as statements of 100, 100 and 50, every value in its column; loading
    /// them again (a resumed job) adds the new ones and keeps the states of those there.
    #[tokio::test]
    async fn insert_adds_rows_in_chunks_and_keeps_the_states_already_there() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("j.sqlite").display());
        let journal = Journal::open(&url).await.unwrap();
        let row = |seq: i64, state: RowState| JournalRow {
            seq,
            vendor: if seq % 2 == 0 {
                Vendor::Wechat
            } else {
                Vendor::Kuaishou
            },
            app_id: format!("app{seq}"),
            resource: "domains".into(),
            desired: format!("{{\"n\":{seq}}}"),
            phase: 1,
            state,
            attempts: 0,
            writes: 0,
            vendor_code: (seq % 3 == 0).then_some(seq),
            message: Some(format!("m{seq}")),
            elapsed_ms: 0,
            attempt: 0,
        };
        let first: Vec<JournalRow> = (0..250).map(|i| row(i, RowState::Planned)).collect();
        journal.insert("job", &first).await.unwrap();
        assert_eq!(journal.rows_after("job", -1, 1000).await.unwrap(), first);
        let again: Vec<JournalRow> = (0..260).map(|i| row(i, RowState::Unknown)).collect();
        journal.insert("job", &again).await.unwrap();
        let rows = journal.rows_after("job", -1, 1000).await.unwrap();
        assert_eq!(rows.len(), 260);
        assert_eq!(rows[..250], first[..], "states already there are kept");
        assert_eq!(rows[250..], again[250..], "new rows added");
    }
}
