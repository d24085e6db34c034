//! [`TokenStore`] in an SQLite file: the embedded store, with the Redis store's semantics for
//! every process on one host. One row per key (access token, its times and the refresh token
//! together, so a rotation is one statement), compare-and-set on the refresh token used,
//! compare-and-invalidate on the access token, and a refresh lock per key with a fencing value
//! and an expiry. Every operation is a single statement: no transaction is held across a call.
//!
//! The statements of this process run on one thread of the store's own, which owns the
//! connection: it takes whatever is queued (reads and writes), runs it in one transaction and
//! answers each operation with its own result once the transaction commits. A fleet's token
//! refreshes thus cost one commit per group, not one per write, and no operation crosses
//! threads more than twice (queued, answered). Measured: an async driver's hand-off per
//! statement (sqlx, before) cost the fleet's plan about 200 µs of CPU per vendor request
//! (BENCHMARKS.md, "Client CPU per request").
//!
//! The file is created `0600` (it holds tokens; SQLite gives its `-wal` and `-shm` files the
//! same mode), in WAL mode with `synchronous = NORMAL` and a 10 s busy timeout, so several
//! processes on the host (a `plan`, then an `apply`, or a few workers) share it. It holds only
//! what the token managers store: tokens and tickets, never a platform's secret.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use rusqlite::{params_from_iter, Connection, OptionalExtension, ToSql};
use tokio::sync::oneshot;

use super::store::{lock_left_to_expire, store_error};
use super::{now_ms, BoxFuture, Fence, Locked, StoredToken, TokenKey, TokenStore};
use crate::{Error, Secret};

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS miniapp_tokens (
        key TEXT PRIMARY KEY NOT NULL,
        access TEXT,
        issued_at_ms INTEGER NOT NULL,
        expires_at_ms INTEGER NOT NULL,
        refresh TEXT
    );
    CREATE TABLE IF NOT EXISTS miniapp_token_locks (
        name TEXT PRIMARY KEY NOT NULL,
        holder TEXT NOT NULL,
        expires_at_ms INTEGER NOT NULL
    );";

/// Tokens in an SQLite file shared by the processes of one host (feature `sqlite`).
///
/// Every operation is queued to the store's thread, which runs what is queued in one
/// transaction (SQLite has one writer: in this process operations queue instead of sleeping
/// in SQLite's busy handler). Clones share the thread; it ends with the last clone.
#[derive(Clone)]
pub struct SqliteStore {
    ops: mpsc::Sender<Op>,
    path: PathBuf,
    /// Locks taken: every [`PRUNE_LOCKS_EVERY`]th also deletes the expired ones (the replay
    /// memory of pushes takes one per push).
    locks_taken: Arc<AtomicU64>,
}

/// How often (in locks taken) expired locks are deleted.
const PRUNE_LOCKS_EVERY: u64 = 1024;

/// How long the first operation of a group waits for others to join it, when the store is
/// busy: a fleet's refreshes then share one transaction and one wake-up of the store's thread
/// (measured: a third of the thread's CPU per operation), for at most this much latency.
const GATHER: Duration = Duration::from_micros(500);

/// A group that begins within this of the last one finds the store busy.
const BUSY: Duration = Duration::from_millis(2);

/// The most operations run in one transaction.
const GROUP: usize = 256;

/// A value bound to a write.
enum Arg {
    Text(Option<String>),
    Int(i64),
}

impl ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Arg::Text(t) => t.to_sql(),
            Arg::Int(i) => i.to_sql(),
        }
    }
}

fn text(value: Option<&str>) -> Arg {
    Arg::Text(value.map(str::to_owned))
}

/// Where an operation's result goes (the error as text: it is one value for a whole group
/// when the commit fails).
type Reply<T> = oneshot::Sender<Result<T, String>>;

/// One operation for the store's thread.
enum Op {
    /// The row of a key.
    Load {
        key: String,
        reply: Reply<Option<StoredToken>>,
    },
    /// The keys in `[from, to)`.
    Keys {
        from: String,
        to: String,
        reply: Reply<Vec<TokenKey>>,
    },
    /// A statement that changes rows; its answer is the rows changed, once committed.
    Write {
        sql: &'static str,
        args: Vec<Arg>,
        reply: Reply<u64>,
    },
}

/// An operation run, waiting for its transaction's commit to be answered.
enum Ran {
    Load(
        Reply<Option<StoredToken>>,
        Result<Option<StoredToken>, String>,
    ),
    Keys(Reply<Vec<TokenKey>>, Result<Vec<TokenKey>, String>),
    Write(Reply<u64>, Result<u64, String>),
}

/// The store's thread: everything queued, a group at a time, until the last handle is gone.
fn serve(connection: Connection, queue: mpsc::Receiver<Op>) {
    let mut group = Vec::with_capacity(GROUP);
    let mut last_group: Option<std::time::Instant> = None;
    while let Ok(first) = queue.recv() {
        group.push(first);
        // Busy (the last group began moments ago): others join during a short sleep, without
        // a wake-up each. After a quiet spell an operation runs at once.
        let now = std::time::Instant::now();
        if last_group.is_some_and(|last| now.duration_since(last) < BUSY) {
            std::thread::sleep(GATHER);
        }
        last_group = Some(now);
        while group.len() < GROUP {
            match queue.try_recv() {
                Ok(op) => group.push(op),
                Err(_) => break,
            }
        }
        run(&connection, &mut group);
    }
}

/// Runs `group` in one transaction (`IMMEDIATE` when it writes, so it never fails to upgrade
/// a read snapshot), then answers each operation: a write's result stands only if the commit
/// lands, reads keep what they read.
fn run(connection: &Connection, group: &mut Vec<Op>) {
    let writes = group.iter().any(|op| matches!(op, Op::Write { .. }));
    let begin = if writes { "BEGIN IMMEDIATE" } else { "BEGIN" };
    if let Err(e) = connection.execute_batch(begin) {
        let e = e.to_string();
        for op in group.drain(..) {
            match op {
                Op::Load { reply, .. } => drop(reply.send(Err(e.clone()))),
                Op::Keys { reply, .. } => drop(reply.send(Err(e.clone()))),
                Op::Write { reply, .. } => drop(reply.send(Err(e.clone()))),
            }
        }
        return;
    }
    let ran: Vec<Ran> = group
        .drain(..)
        .map(|op| match op {
            Op::Load { key, reply } => Ran::Load(reply, load(connection, &key)),
            Op::Keys { from, to, reply } => Ran::Keys(reply, keys(connection, &from, &to)),
            Op::Write { sql, args, reply } => Ran::Write(
                reply,
                connection
                    .prepare_cached(sql)
                    .and_then(|mut s| s.execute(params_from_iter(args.iter())))
                    .map(|n| n as u64)
                    .map_err(|e| e.to_string()),
            ),
        })
        .collect();
    let committed = connection
        .execute_batch("COMMIT")
        .map_err(|e| e.to_string());
    if committed.is_err() {
        // Nothing of the group stays: a failed COMMIT may leave the transaction open.
        let _ = connection.execute_batch("ROLLBACK");
    }
    for ran in ran {
        match ran {
            Ran::Load(reply, result) => drop(reply.send(result)),
            Ran::Keys(reply, result) => drop(reply.send(result)),
            Ran::Write(reply, result) => drop(reply.send(match &committed {
                Ok(()) => result,
                Err(e) => Err(e.clone()),
            })),
        }
    }
}

fn load(connection: &Connection, key: &str) -> Result<Option<StoredToken>, String> {
    connection
        .prepare_cached(
            "SELECT access, issued_at_ms, expires_at_ms, refresh FROM miniapp_tokens WHERE key = ?1",
        )
        .and_then(|mut s| {
            s.query_row([key], |r| {
                Ok(StoredToken {
                    access_token: r.get::<_, Option<String>>(0)?.map(Secret::from),
                    issued_at_ms: r.get::<_, i64>(1)?.max(0) as u64,
                    expires_at_ms: r.get::<_, i64>(2)?.max(0) as u64,
                    refresh_token: r.get::<_, Option<String>>(3)?.map(Secret::from),
                })
            })
            .optional()
        })
        .map_err(|e| e.to_string())
}

fn keys(connection: &Connection, from: &str, to: &str) -> Result<Vec<TokenKey>, String> {
    connection
        .prepare_cached("SELECT key FROM miniapp_tokens WHERE key >= ?1 AND key < ?2 ORDER BY key")
        .and_then(|mut s| {
            s.query_map([from, to], |r| {
                r.get::<_, String>(0).map(TokenKey::from_raw)
            })?
            .collect()
        })
        .map_err(|e| e.to_string())
}

/// Opens `path` as the store wants it: WAL, `synchronous = NORMAL`, a 10 s busy timeout, the
/// tables created.
fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open(path)?;
    connection.busy_timeout(Duration::from_secs(10))?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    connection.set_prepared_statement_cache_capacity(32);
    connection.execute_batch(SCHEMA)?;
    Ok(connection)
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish()
    }
}

/// Milliseconds as SQLite's integer.
fn ms(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The store's thread has ended (it only ends with the last handle, or by a panic).
fn gone() -> Error {
    store_error("sqlite: the store's thread has ended")
}

impl SqliteStore {
    /// Opens the store at `path`, creating the file (mode `0600`) and its tables if needed.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref().to_owned();
        create_private(&path)
            .map_err(|e| store_error(format!("cannot create {}: {e}", path.display())))?;
        let (ops, queue) = mpsc::channel();
        let (ready, opened) = oneshot::channel();
        let file = path.clone();
        std::thread::Builder::new()
            .name("miniapp-token-store".into())
            .spawn(move || match connect(&file) {
                Ok(connection) => {
                    let _ = ready.send(Ok(()));
                    serve(connection, queue);
                }
                Err(e) => {
                    let _ = ready.send(Err(e.to_string()));
                }
            })
            .map_err(|e| store_error(format!("sqlite: cannot start the store's thread: {e}")))?;
        opened
            .await
            .map_err(|_| gone())?
            .map_err(|e| store_error(format!("sqlite: {}: {e}", path.display())))?;
        Ok(SqliteStore {
            ops,
            path,
            locks_taken: Arc::default(),
        })
    }

    /// Queues `op` (made around its reply channel) and waits for its answer.
    async fn ask<T>(&self, op: impl FnOnce(Reply<T>) -> Op) -> Result<T, Error> {
        let answer = self.send(op)?;
        Self::answer(answer).await
    }

    /// Queues `op`; its answer arrives on the receiver.
    fn send<T>(
        &self,
        op: impl FnOnce(Reply<T>) -> Op,
    ) -> Result<oneshot::Receiver<Result<T, String>>, Error> {
        let (reply, answer) = oneshot::channel();
        self.ops.send(op(reply)).map_err(|_| gone())?;
        Ok(answer)
    }

    /// A queued operation's answer.
    async fn answer<T>(answer: oneshot::Receiver<Result<T, String>>) -> Result<T, Error> {
        answer
            .await
            .map_err(|_| gone())?
            .map_err(|e| store_error(format!("sqlite: {e}")))
    }

    /// Queues one write and waits for its result: the rows it changed.
    async fn write(&self, sql: &'static str, args: Vec<Arg>) -> Result<u64, Error> {
        self.ask(|reply| Op::Write { sql, args, reply }).await
    }

    /// Queues the take of `key`'s refresh lock for `ttl` (with, every
    /// [`PRUNE_LOCKS_EVERY`]th time, the deletion of expired locks before it): the fence it
    /// would hold, and the rows the take changed (1: taken).
    fn send_lock(
        &self,
        key: &TokenKey,
        ttl: Duration,
    ) -> Result<(Fence, oneshot::Receiver<Result<u64, String>>), Error> {
        let fence = Fence::random();
        let now = ms(now_ms());
        if self.locks_taken.fetch_add(1, Ordering::Relaxed) % PRUNE_LOCKS_EVERY
            == PRUNE_LOCKS_EVERY - 1
        {
            // Housekeeping: its result is not waited for (a lock that stays is taken over
            // once expired all the same).
            let sql = "DELETE FROM miniapp_token_locks WHERE expires_at_ms <= ?1";
            let args = vec![Arg::Int(now)];
            self.send(|reply| Op::Write { sql, args, reply })?;
        }
        let sql =
            "INSERT INTO miniapp_token_locks (name, holder, expires_at_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,
                 expires_at_ms = excluded.expires_at_ms
             WHERE miniapp_token_locks.expires_at_ms <= ?4";
        let args = vec![
            Arg::Text(Some(lock_name(key))),
            text(Some(&fence.0)),
            Arg::Int(now.saturating_add(ms(ttl.as_millis() as u64))),
            Arg::Int(now),
        ];
        let taken = self.send(|reply| Op::Write { sql, args, reply })?;
        Ok((fence, taken))
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Creates `path` readable and writable by its owner only, if it does not exist.
fn create_private(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map(drop)
}

/// The compare-and-set save of `token` under `key`: only over the refresh token the caller
/// expects (none: a new key, or one that holds none).
fn save_write(
    key: &TokenKey,
    token: &StoredToken,
    expected_refresh: Option<&Secret>,
) -> (&'static str, Vec<Arg>) {
    let sql = match expected_refresh {
        None => {
            "INSERT INTO miniapp_tokens (key, access, issued_at_ms, expires_at_ms, refresh)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (key) DO UPDATE SET access = excluded.access,
                 issued_at_ms = excluded.issued_at_ms, expires_at_ms = excluded.expires_at_ms,
                 refresh = excluded.refresh
             WHERE miniapp_tokens.refresh IS NULL"
        }
        Some(_) => {
            "UPDATE miniapp_tokens SET access = ?2, issued_at_ms = ?3, expires_at_ms = ?4,
                 refresh = ?5
             WHERE key = ?1 AND refresh = ?6"
        }
    };
    let mut args = token_args(key, token);
    if let Some(expected) = expected_refresh {
        args.push(text(Some(expected.expose())));
    }
    (sql, args)
}

/// The release of `key`'s lock, if `fence` still holds it.
fn unlock_write(key: &TokenKey, fence: &Fence) -> (&'static str, Vec<Arg>) {
    (
        "DELETE FROM miniapp_token_locks WHERE name = ?1 AND holder = ?2",
        vec![Arg::Text(Some(lock_name(key))), text(Some(&fence.0))],
    )
}

/// The key and a token's columns, as `?1`..`?5`.
fn token_args(key: &TokenKey, token: &StoredToken) -> Vec<Arg> {
    vec![
        text(Some(key.as_str())),
        text(token.access_token.as_ref().map(Secret::expose)),
        Arg::Int(ms(token.issued_at_ms)),
        Arg::Int(ms(token.expires_at_ms)),
        text(token.refresh_token.as_ref().map(Secret::expose)),
    ]
}

fn lock_name(key: &TokenKey) -> String {
    format!("{key}:lock")
}

impl TokenStore for SqliteStore {
    fn load<'a>(&'a self, key: &'a TokenKey) -> BoxFuture<'a, Result<Option<StoredToken>, Error>> {
        Box::pin(self.ask(|reply| Op::Load {
            key: key.as_str().to_owned(),
            reply,
        }))
    }

    fn save<'a>(
        &'a self,
        key: &'a TokenKey,
        token: &'a StoredToken,
        expected_refresh: Option<&'a Secret>,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async move {
            let (sql, args) = save_write(key, token, expected_refresh);
            Ok(self.write(sql, args).await? == 1)
        })
    }

    fn save_and_unlock<'a>(
        &'a self,
        key: &'a TokenKey,
        token: &'a StoredToken,
        expected_refresh: Option<&'a Secret>,
        fence: &'a Fence,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async move {
            // Both queued before either is awaited: committed together, in order.
            let (sql, args) = save_write(key, token, expected_refresh);
            let saved = self.send(|reply| Op::Write { sql, args, reply })?;
            let (sql, args) = unlock_write(key, fence);
            let unlocked = self.send(|reply| Op::Write { sql, args, reply })?;
            let saved = Self::answer(saved).await? == 1;
            if let Err(e) = Self::answer(unlocked).await {
                lock_left_to_expire(key, &e);
            }
            Ok(saved)
        })
    }

    fn lock<'a>(
        &'a self,
        key: &'a TokenKey,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<Fence>, Error>> {
        Box::pin(async move {
            let (fence, taken) = self.send_lock(key, ttl)?;
            Ok((Self::answer(taken).await? == 1).then_some(fence))
        })
    }

    fn lock_then_load<'a>(
        &'a self,
        key: &'a TokenKey,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<Locked>, Error>> {
        Box::pin(async move {
            // Both queued before either is awaited: one trip to the store's thread, and the
            // load runs after the lock, in the same transaction when they share a group.
            let (fence, taken) = self.send_lock(key, ttl)?;
            let loaded = self.send(|reply| Op::Load {
                key: key.as_str().to_owned(),
                reply,
            })?;
            if Self::answer(taken).await? != 1 {
                return Ok(None);
            }
            match Self::answer(loaded).await {
                Ok(stored) => Ok(Some((fence, stored))),
                Err(e) => {
                    let (sql, args) = unlock_write(key, &fence);
                    let _ = self.send(|reply| Op::Write { sql, args, reply });
                    Err(e)
                }
            }
        })
    }

    fn unlock<'a>(
        &'a self,
        key: &'a TokenKey,
        fence: &'a Fence,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let (sql, args) = unlock_write(key, fence);
            self.write(sql, args).await?;
            Ok(())
        })
    }

    fn invalidate<'a>(
        &'a self,
        key: &'a TokenKey,
        failed: &'a Secret,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            self.write(
                "UPDATE miniapp_tokens SET access = NULL WHERE key = ?1 AND access = ?2",
                vec![text(Some(key.as_str())), text(Some(failed.expose()))],
            )
            .await?;
            Ok(())
        })
    }

    fn put<'a>(
        &'a self,
        key: &'a TokenKey,
        token: &'a StoredToken,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            self.write(
                "INSERT INTO miniapp_tokens (key, access, issued_at_ms, expires_at_ms, refresh)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (key) DO UPDATE SET access = excluded.access,
                     issued_at_ms = excluded.issued_at_ms, expires_at_ms = excluded.expires_at_ms,
                     refresh = excluded.refresh",
                token_args(key, token),
            )
            .await?;
            Ok(())
        })
    }

    fn put_if_newer<'a>(
        &'a self,
        key: &'a TokenKey,
        token: &'a StoredToken,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async move {
            let stored = self
                .write(
                    "INSERT INTO miniapp_tokens (key, access, issued_at_ms, expires_at_ms, refresh)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (key) DO UPDATE SET access = excluded.access,
                         issued_at_ms = excluded.issued_at_ms,
                         expires_at_ms = excluded.expires_at_ms, refresh = excluded.refresh
                     WHERE miniapp_tokens.issued_at_ms < excluded.issued_at_ms",
                    token_args(key, token),
                )
                .await?;
            Ok(stored == 1)
        })
    }

    fn keys_with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> BoxFuture<'a, Result<Vec<TokenKey>, Error>> {
        Box::pin(async move {
            // A range on the primary key: every text that starts with `prefix` sorts at or
            // after it and before `prefix` followed by the largest character.
            self.ask(|reply| Op::Keys {
                from: prefix.to_owned(),
                to: format!("{prefix}\u{10FFFF}"),
                reply,
            })
            .await
        })
    }
}
