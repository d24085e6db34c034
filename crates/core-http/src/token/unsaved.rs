//! Rotated tokens the store has not taken yet: kept in this process, saved again with backoff
//! by a task that outlives the refresh, consulted by every refresh of the same key and store
//! (so a refresh never starts from the store's dead refresh token while the store is down).
//!
//! With a rescue file ([`set_rescue_file`]) they are also on disk while unsaved: the file
//! (mode 0600) is a log of JSON lines, one per rotated token about to be saved and one per
//! save that landed (the last line of a key wins), appended with one write each; it is
//! rewritten atomically to exactly the unsaved tokens when a save fails or the log grows, and
//! removed when none is left. The next process imports it ([`import_rescued`]) with the same
//! compare-and-set as any save.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use super::{StoredToken, TokenKey, TokenStore};
use crate::{Error, Secret};

/// A rotated token and the refresh token the store held when it was fetched (what the save
/// compares with).
#[derive(Clone)]
pub(super) struct Unsaved {
    pub(super) token: StoredToken,
    pub(super) expected: Option<Secret>,
}

/// One store's key: the store's identity (its address) and the key.
type Slot = (usize, TokenKey);

struct Entry {
    unsaved: Unsaved,
    store: Arc<dyn TokenStore>,
    /// A saver task runs for this entry.
    saving: bool,
}

fn registry() -> &'static Mutex<HashMap<Slot, Entry>> {
    static REGISTRY: OnceLock<Mutex<HashMap<Slot, Entry>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

fn lock() -> std::sync::MutexGuard<'static, HashMap<Slot, Entry>> {
    registry().lock().unwrap_or_else(|p| p.into_inner())
}

static SAVED_LATE: AtomicU64 = AtomicU64::new(0);
static IMPORTED: AtomicU64 = AtomicU64::new(0);

fn rescue_path() -> std::sync::MutexGuard<'static, Option<PathBuf>> {
    static RESCUE: OnceLock<Mutex<Option<PathBuf>>> = OnceLock::new();
    RESCUE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

/// Also keeps this process's unsaved rotated tokens in the file at `path` (`None`: memory
/// only, the default): a process killed while its token store is down leaves them there for
/// the next one ([`import_rescued`]).
pub fn set_rescue_file(path: Option<PathBuf>) {
    *rescue_path() = path;
    *appender() = Appender::default();
}

/// One line of the rescue file: a rotated token about to be saved, or (`saved`) that the save
/// of the key's last token landed.
#[derive(serde::Serialize, serde::Deserialize)]
struct Rescued {
    key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token: Option<StoredToken>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expected: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    saved: bool,
}

/// The rescue file open for appending, and the lines appended since it was last rewritten.
#[derive(Default)]
struct Appender {
    file: Option<std::fs::File>,
    appended: usize,
}

/// Lines appended before the log is rewritten to the unsaved tokens alone (more when many are
/// unsaved).
const COMPACT_AFTER: usize = 4096;

fn appender() -> std::sync::MutexGuard<'static, Appender> {
    static APPENDER: OnceLock<Mutex<Appender>> = OnceLock::new();
    APPENDER
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

fn open_private(path: &Path, append: bool) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    if append {
        options.append(true).create(true);
    } else {
        options.write(true).create(true).truncate(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Appends the line of `key` to the rescue file (with the registry `map` locked, after the
/// change): `unsaved` is its token about to be saved, `None` a save that landed. The log is
/// rewritten instead when it has grown long, and removed when nothing is unsaved.
fn append_rescue(map: &HashMap<Slot, Entry>, key: &TokenKey, unsaved: Option<&Unsaved>) {
    let Some(path) = rescue_path().clone() else {
        return;
    };
    let mut appender = appender();
    if map.is_empty() || appender.appended >= COMPACT_AFTER + 4 * map.len() {
        drop(appender);
        return write_rescue(map);
    }
    let line = Rescued {
        key: key.as_str().to_owned(),
        token: unsaved.map(|u| u.token.clone()),
        expected: unsaved.and_then(|u| u.expected.as_ref().map(|s| s.expose().to_owned())),
        saved: unsaved.is_none(),
    };
    let mut bytes = serde_json::to_vec(&line).expect("a rescued token serializes");
    bytes.push(b'\n');
    let written = match &mut appender.file {
        Some(file) => file.write_all(&bytes),
        None => open_private(&path, true).and_then(|mut file| {
            file.write_all(&bytes)?;
            appender.file = Some(file);
            Ok(())
        }),
    };
    match written {
        Ok(()) => appender.appended += 1,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "could not write the rescue file of unsaved tokens");
            appender.file = None;
        }
    }
}

/// Writes the rescue file from `map` (with the registry locked): replaced atomically, mode
/// 0600, removed when nothing is unsaved; flushed to the disk (`sync`) when the store is down,
/// left to the page cache otherwise (enough to outlive the process, which is what a save in
/// flight guards against).
fn write_rescue_with(map: &HashMap<Slot, Entry>, sync: bool) {
    let Some(path) = rescue_path().clone() else {
        return;
    };
    if let Err(e) = try_write_rescue(&path, map, sync) {
        tracing::warn!(path = %path.display(), error = %e, "could not write the rescue file of unsaved tokens");
    }
}

fn write_rescue(map: &HashMap<Slot, Entry>) {
    write_rescue_with(map, false);
}

fn try_write_rescue(path: &Path, map: &HashMap<Slot, Entry>, sync: bool) -> std::io::Result<()> {
    // The log is replaced: appends go to the new file.
    *appender() = Appender::default();
    if map.is_empty() {
        return match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
    }
    let mut temp = path.as_os_str().to_owned();
    temp.push(".tmp");
    let temp = PathBuf::from(temp);
    let mut file = std::io::BufWriter::new(open_private(&temp, false)?);
    for ((_, key), entry) in map {
        let line = Rescued {
            key: key.as_str().to_owned(),
            token: Some(entry.unsaved.token.clone()),
            expected: entry
                .unsaved
                .expected
                .as_ref()
                .map(|s| s.expose().to_owned()),
            saved: false,
        };
        serde_json::to_writer(&mut file, &line)?;
        file.write_all(b"\n")?;
    }
    let file = file.into_inner().map_err(|e| e.into_error())?;
    if sync {
        file.sync_all()?;
    }
    std::fs::rename(&temp, path)
}

/// Imports the tokens a process left in the rescue file (see [`set_rescue_file`]) into
/// `store`, each with the compare-and-set of any save (a store holding another refresh token
/// keeps it); one the store cannot take now is kept as unsaved, saved again in the background.
/// Returns how many landed.
pub async fn import_rescued(store: &Arc<dyn TokenStore>) -> Result<usize, Error> {
    let Some(path) = rescue_path().clone() else {
        return Ok(0);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => {
            return Err(super::store::store_error(format!(
                "cannot read the rescue file {}: {e}",
                path.display()
            )))
        }
    };
    // The last line of each key is what was left unsaved (in the order first written).
    let mut order: Vec<String> = Vec::new();
    let mut last: HashMap<String, Rescued> = HashMap::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let rescued: Rescued = serde_json::from_str(line)
            .map_err(|e| e.classify_name())
            .and_then(|r: Rescued| {
                if r.saved || r.token.is_some() {
                    Ok(r)
                } else {
                    Err("not a rescued token")
                }
            })
            .map_err(|what| {
                super::store::store_error(format!(
                    "the rescue file {} is broken at line {}: {what}",
                    path.display(),
                    n + 1,
                ))
            })?;
        if !last.contains_key(&rescued.key) {
            order.push(rescued.key.clone());
        }
        last.insert(rescued.key.clone(), rescued);
    }
    let mut landed = 0;
    for key in order {
        let Some(Rescued {
            token: Some(token),
            expected,
            saved: false,
            ..
        }) = last.remove(&key)
        else {
            continue;
        };
        let key = TokenKey::from_raw(key);
        let expected = expected.map(Secret::from);
        match store.save(&key, &token, expected.as_ref()).await {
            Ok(true) => landed += 1,
            Ok(false) => {
                tracing::warn!(key = %key, "the store holds another refresh token than the rescued one's; keeping the stored one");
            }
            Err(e) => {
                tracing::warn!(key = %key, error = %e, "the rescued token cannot be saved yet; keeping it and trying again");
                keep(store, &key, Unsaved { token, expected });
            }
        }
    }
    IMPORTED.fetch_add(landed as u64, Ordering::Relaxed);
    // What is left unsaved (in this process) is what the file keeps.
    write_rescue(&lock());
    Ok(landed)
}

/// How many rescued tokens [`import_rescued`] saved in this process.
pub fn rescued_imported() -> u64 {
    IMPORTED.load(Ordering::Relaxed)
}

/// A short name for a JSON error's kind (never its text, which may quote the line).
trait Classify {
    fn classify_name(&self) -> &'static str;
}

impl Classify for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "an I/O error",
            serde_json::error::Category::Syntax => "not JSON",
            serde_json::error::Category::Data => "not a rescued token",
            serde_json::error::Category::Eof => "cut short",
        }
    }
}

fn slot(store: &Arc<dyn TokenStore>, key: &TokenKey) -> Slot {
    (Arc::as_ptr(store) as *const () as usize, key.clone())
}

/// The token kept for `key` of `store`, if its save is pending.
pub(super) fn get(store: &Arc<dyn TokenStore>, key: &TokenKey) -> Option<Unsaved> {
    let map = lock();
    // Nearly always empty: no key is copied on a refresh's normal path.
    if map.is_empty() {
        return None;
    }
    map.get(&slot(store, key)).map(|e| e.unsaved.clone())
}

/// The store took what it was given for `key` (or refused it for a newer one): nothing is
/// pending any more.
pub(super) fn saved(store: &Arc<dyn TokenStore>, key: &TokenKey) {
    let mut map = lock();
    if !map.is_empty() && map.remove(&slot(store, key)).is_some() {
        append_rescue(&map, key, None);
    }
}

/// Drops `u` for `key` if it is still the one kept (the store holds something newer).
pub(super) fn forget(store: &Arc<dyn TokenStore>, key: &TokenKey, u: &Unsaved) {
    let mut map = lock();
    let s = slot(store, key);
    if map.get(&s).is_some_and(|e| e.unsaved.token == u.token) {
        map.remove(&s);
        append_rescue(&map, key, None);
    }
}

/// With a rescue file, puts `u` (a rotated token about to be saved) in it before the save, so
/// that a process killed between the vendor's answer and the store's taking it leaves the
/// token for the next process: a single-use refresh token (Baidu) is then never lost to a
/// kill. The save's outcome removes it ([`saved`]) or keeps it ([`keep`]). Without a rescue
/// file, nothing.
pub(super) fn pending(store: &Arc<dyn TokenStore>, key: &TokenKey, u: Unsaved) {
    if rescue_path().is_none() {
        return;
    }
    let mut map = lock();
    map.entry(slot(store, key))
        .and_modify(|e| e.unsaved = u.clone())
        .or_insert_with(|| Entry {
            unsaved: u.clone(),
            store: store.clone(),
            saving: false,
        });
    append_rescue(&map, key, Some(&u));
}

/// A rotated token between [`pending`] and the store's answer: if the refresh is dropped
/// there (its caller cancelled), the token is handed to a saver task ([`keep`]) instead of
/// waiting in the registry for a refresh that may never come.
pub(super) struct PendingSave {
    armed: Option<(Arc<dyn TokenStore>, TokenKey, Unsaved)>,
}

impl PendingSave {
    /// Puts `u` in the rescue file ([`pending`]) until [`PendingSave::done`].
    pub(super) fn start(store: &Arc<dyn TokenStore>, key: &TokenKey, u: Unsaved) -> PendingSave {
        pending(store, key, u.clone());
        PendingSave {
            armed: Some((store.clone(), key.clone(), u)),
        }
    }

    /// The store answered: the caller records the outcome itself.
    pub(super) fn done(mut self) {
        self.armed = None;
    }
}

impl Drop for PendingSave {
    fn drop(&mut self) {
        if let Some((store, key, u)) = self.armed.take() {
            keep(&store, &key, u);
        }
    }
}

/// Keeps `u` for `key` of `store` and makes sure a task is saving it.
pub(super) fn keep(store: &Arc<dyn TokenStore>, key: &TokenKey, u: Unsaved) {
    let s = slot(store, key);
    let start = {
        let mut map = lock();
        let entry = map.entry(s.clone()).or_insert_with(|| Entry {
            unsaved: u.clone(),
            store: store.clone(),
            saving: false,
        });
        entry.unsaved = u;
        let start = !std::mem::replace(&mut entry.saving, true);
        write_rescue_with(&map, true);
        start
    };
    if start {
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(save_until_taken(s));
            }
            Err(_) => {
                if let Some(e) = lock().get_mut(&s) {
                    e.saving = false;
                }
            }
        }
    }
}

/// Saves the entry at `s` with backoff (50 ms doubling to 5 s) until the store takes it or
/// holds a newer one.
async fn save_until_taken(s: Slot) {
    let mut delay = Duration::from_millis(50);
    loop {
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
        let Some((u, store)) = lock().get(&s).map(|e| (e.unsaved.clone(), e.store.clone())) else {
            return;
        };
        match store.save(&s.1, &u.token, u.expected.as_ref()).await {
            Ok(taken) => {
                let mut map = lock();
                // Only if nothing newer was kept meanwhile; else save that one next.
                if map.get(&s).is_some_and(|e| e.unsaved.token == u.token) {
                    map.remove(&s);
                    append_rescue(&map, &s.1, None);
                    drop(map);
                    if taken {
                        SAVED_LATE.fetch_add(1, Ordering::Relaxed);
                        tracing::info!(key = %s.1, "the rotated token was saved after the store answered again");
                    } else {
                        tracing::warn!(key = %s.1, "the store holds a newer refresh token than the unsaved one; keeping the stored one");
                    }
                    return;
                }
                delay = Duration::from_millis(50);
            }
            Err(e) => {
                tracing::warn!(key = %s.1, error = %e, "the rotated token is still not saved; trying again");
            }
        }
    }
}

/// The keys whose rotated token is only in this process's memory, because the store failed
/// to take it (the tokens themselves are never handed out).
pub fn unsaved_keys() -> Vec<TokenKey> {
    let mut keys: Vec<TokenKey> = lock().keys().map(|(_, k)| k.clone()).collect();
    keys.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    keys
}

/// How many rotated tokens were saved late (after a failed first save), in this process.
pub fn saved_late() -> u64 {
    SAVED_LATE.load(Ordering::Relaxed)
}

/// Waits up to `timeout` for every unsaved rotated token to be saved; returns the keys still
/// unsaved (call it before a process ends, and tell the operator about those).
pub async fn flush_unsaved(timeout: Duration) -> Vec<TokenKey> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let left = unsaved_keys();
        if left.is_empty() || tokio::time::Instant::now() >= deadline {
            return left;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
