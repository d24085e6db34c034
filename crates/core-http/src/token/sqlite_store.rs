//! [`TokenStore`] in an SQLite file: the embedded store, with the Redis store's semantics for
//! every process on one host. One row per key (access token, its times and the refresh token
//! together, so a rotation is one statement), compare-and-set on the refresh token used,
//! compare-and-invalidate on the access token, and a refresh lock per key with a fencing value
//! and an expiry. Every operation is a single statement: no transaction is held across a call.
//! The writes of this process are group-committed: one task writes whatever is queued in one
//! transaction (SQLite has one writer; a fleet's token refreshes would otherwise queue on it
//! one commit at a time), and answers each write with its own result.
//!
//! The file is created `0600` (it holds tokens; SQLite gives its `-wal` and `-shm` files the
//! same mode), in WAL mode with `synchronous = NORMAL` and a 10 s busy timeout, so several
//! processes on the host (a `plan`, then an `apply`, or a few workers) share it. It holds only
//! what the token managers store: tokens and tickets, never a platform's secret.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use super::store::store_error;
use super::{now_ms, BoxFuture, Fence, StoredToken, TokenKey, TokenStore};
use crate::{Error, Secret};

const SCHEMA: [&str; 2] = [
    "CREATE TABLE IF NOT EXISTS miniapp_tokens (
        key TEXT PRIMARY KEY NOT NULL,
        access TEXT,
        issued_at_ms INTEGER NOT NULL,
        expires_at_ms INTEGER NOT NULL,
        refresh TEXT
    )",
    "CREATE TABLE IF NOT EXISTS miniapp_token_locks (
        name TEXT PRIMARY KEY NOT NULL,
        holder TEXT NOT NULL,
        expires_at_ms INTEGER NOT NULL
    )",
];

/// Tokens in an SQLite file shared by the processes of one host (feature `sqlite`).
///
/// Writes go through one connection and one task that commits what is queued together
/// (SQLite has one writer: in this process they queue instead of sleeping in SQLite's busy
/// handler); reads go through a few more connections (WAL lets them run beside the writer).
#[derive(Clone)]
pub struct SqliteStore {
    writes: tokio::sync::mpsc::Sender<Write>,
    reader: SqlitePool,
    path: PathBuf,
    /// Locks taken: every [`PRUNE_LOCKS_EVERY`]th also deletes the expired ones (the replay
    /// memory of pushes takes one per push).
    locks_taken: Arc<AtomicU64>,
}

/// How often (in locks taken) expired locks are deleted.
const PRUNE_LOCKS_EVERY: u64 = 1024;

/// A value bound to a write.
enum Arg {
    Text(Option<String>),
    Int(i64),
}

/// One queued write and where its result goes (rows changed, or the error's text).
struct Write {
    sql: &'static str,
    args: Vec<Arg>,
    reply: tokio::sync::oneshot::Sender<Result<u64, String>>,
}

/// The most writes committed together.
const GROUP: usize = 256;

/// The writer task: everything queued, in one transaction, until the store is dropped.
async fn write_all(pool: SqlitePool, mut queue: tokio::sync::mpsc::Receiver<Write>) {
    let mut group = Vec::with_capacity(GROUP);
    while queue.recv_many(&mut group, GROUP).await > 0 {
        let results = commit(&pool, &group).await;
        for (write, result) in group.drain(..).zip(results) {
            let _ = write.reply.send(result);
        }
    }
}

/// Runs `group` in one transaction: each write's own result, or every write the commit's error.
async fn commit(pool: &SqlitePool, group: &[Write]) -> Vec<Result<u64, String>> {
    let mut tx = match pool.begin().await {
        Ok(tx) => tx,
        Err(e) => return group.iter().map(|_| Err(e.to_string())).collect(),
    };
    let mut results = Vec::with_capacity(group.len());
    for write in group {
        let mut query = sqlx::query(write.sql);
        for arg in &write.args {
            query = match arg {
                Arg::Text(t) => query.bind(t.as_deref()),
                Arg::Int(i) => query.bind(*i),
            };
        }
        results.push(
            query
                .execute(&mut *tx)
                .await
                .map(|done| done.rows_affected())
                .map_err(|e| e.to_string()),
        );
    }
    match tx.commit().await {
        Ok(()) => results,
        Err(e) => group.iter().map(|_| Err(e.to_string())).collect(),
    }
}

fn text(value: Option<&str>) -> Arg {
    Arg::Text(value.map(str::to_owned))
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish()
    }
}

fn sqlite_error(e: sqlx::Error) -> Error {
    store_error(format!("sqlite: {e}"))
}

/// Milliseconds as SQLite's integer.
fn ms(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl SqliteStore {
    /// Opens the store at `path`, creating the file (mode `0600`) and its tables if needed.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref().to_owned();
        create_private(&path)
            .map_err(|e| store_error(format!("cannot create {}: {e}", path.display())))?;
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(sqlite_error)?
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(sqlite_error)?;
        for statement in SCHEMA {
            sqlx::query(statement)
                .execute(&writer)
                .await
                .map_err(sqlite_error)?;
        }
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(sqlite_error)?;
        let (writes, queue) = tokio::sync::mpsc::channel(4 * GROUP);
        tokio::spawn(write_all(writer, queue));
        Ok(SqliteStore {
            writes,
            reader,
            path,
            locks_taken: Arc::default(),
        })
    }

    /// Queues one write and waits for its result: the rows it changed.
    async fn write(&self, sql: &'static str, args: Vec<Arg>) -> Result<u64, Error> {
        let result = self.queue(sql, args).await?;
        Self::result(result).await
    }

    /// Queues one write; its result arrives on the receiver.
    async fn queue(
        &self,
        sql: &'static str,
        args: Vec<Arg>,
    ) -> Result<tokio::sync::oneshot::Receiver<Result<u64, String>>, Error> {
        let (reply, result) = tokio::sync::oneshot::channel();
        self.writes
            .send(Write { sql, args, reply })
            .await
            .map_err(|_| store_error("sqlite: the writer task has ended"))?;
        Ok(result)
    }

    /// A queued write's result.
    async fn result(
        result: tokio::sync::oneshot::Receiver<Result<u64, String>>,
    ) -> Result<u64, Error> {
        result
            .await
            .map_err(|_| store_error("sqlite: the writer task has ended"))?
            .map_err(|e| store_error(format!("sqlite: {e}")))
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
        Box::pin(async move {
            let row = sqlx::query(
                "SELECT access, issued_at_ms, expires_at_ms, refresh FROM miniapp_tokens WHERE key = ?1",
            )
            .bind(key.as_str())
            .fetch_optional(&self.reader)
            .await
            .map_err(sqlite_error)?;
            row.map(|r| {
                Ok(StoredToken {
                    access_token: r.try_get::<Option<String>, _>(0)?.map(Secret::from),
                    issued_at_ms: r.try_get::<i64, _>(1)?.max(0) as u64,
                    expires_at_ms: r.try_get::<i64, _>(2)?.max(0) as u64,
                    refresh_token: r.try_get::<Option<String>, _>(3)?.map(Secret::from),
                })
            })
            .transpose()
            .map_err(sqlite_error)
        })
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
            let saved = self.queue(sql, args).await?;
            let (sql, args) = unlock_write(key, fence);
            let unlocked = self.queue(sql, args).await?;
            let saved = Self::result(saved).await? == 1;
            if let Err(e) = Self::result(unlocked).await {
                tracing::warn!(key = %key, error = %e, "could not release the refresh lock; it expires by itself");
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
            let fence = Fence::random();
            let now = ms(now_ms());
            if self.locks_taken.fetch_add(1, Ordering::Relaxed) % PRUNE_LOCKS_EVERY
                == PRUNE_LOCKS_EVERY - 1
            {
                self.write(
                    "DELETE FROM miniapp_token_locks WHERE expires_at_ms <= ?1",
                    vec![Arg::Int(now)],
                )
                .await?;
            }
            let taken = self
                .write(
                    "INSERT INTO miniapp_token_locks (name, holder, expires_at_ms) VALUES (?1, ?2, ?3)
                     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,
                         expires_at_ms = excluded.expires_at_ms
                     WHERE miniapp_token_locks.expires_at_ms <= ?4",
                    vec![
                        Arg::Text(Some(lock_name(key))),
                        text(Some(&fence.0)),
                        Arg::Int(now.saturating_add(ms(ttl.as_millis() as u64))),
                        Arg::Int(now),
                    ],
                )
                .await?;
            Ok((taken == 1).then_some(fence))
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
            let rows = sqlx::query(
                "SELECT key FROM miniapp_tokens WHERE key >= ?1 AND key < ?2 ORDER BY key",
            )
            .bind(prefix)
            .bind(format!("{prefix}\u{10FFFF}"))
            .fetch_all(&self.reader)
            .await
            .map_err(sqlite_error)?;
            rows.iter()
                .map(|r| r.try_get::<String, _>(0).map(TokenKey::from_raw))
                .collect::<Result<Vec<_>, _>>()
                .map_err(sqlite_error)
        })
    }
}
