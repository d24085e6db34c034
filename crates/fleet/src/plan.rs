//! `plan`: read every managed resource of the platform and of each app, compute the change
//! (nothing when already right, one `set` otherwise), and write the plan: JSON lines, a header
//! then one entry per app and resource, platform resources first.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use core_http::resource::ResourceValue;
use core_http::Error;
use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};

use crate::desired::DesiredState;
use crate::inventory::{self, InventoryError};
use crate::vendors::{Backend, Backends, Vendor};

/// What the plan does for one app and resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Replace the value with `desired` (one write).
    Set,
    /// Already right: nothing to send.
    Unchanged,
    /// The current value could not be read (apply reads it again first).
    Unreachable,
    /// The app's authorization is lost: the merchant must authorize again.
    Reauth,
}

/// The plan file's first line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanHeader {
    /// The job this plan is (the journal's key): unique per plan.
    pub job: String,
    /// When it was made (Unix milliseconds).
    pub created_ms: i64,
    /// The origin all vendors were planned against, when one was given.
    pub base_url: Option<String>,
}

/// One entry of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanEntry {
    /// Order: platform resources first, then apps as their reads finished.
    pub seq: i64,
    /// The vendor.
    pub vendor: Vendor,
    /// The app, `None` for a platform resource.
    pub app_id: Option<String>,
    /// The resource's spec name.
    pub resource: String,
    /// What to do.
    pub action: Action,
    /// The value read (absent when it could not be read).
    pub current: Option<ResourceValue>,
    /// The whole value wanted (desired fields over the current value).
    pub desired: ResourceValue,
    /// The vendor code of a failed read, if any.
    pub vendor_code: Option<i64>,
    /// The error of a failed read, if any.
    pub message: Option<String>,
}

/// Counts per vendor, resource and action.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PlanSummary {
    /// The job id.
    pub job: String,
    /// `(vendor, resource, action)` → entries.
    pub counts: BTreeMap<(Vendor, String, Action), usize>,
}

impl PlanSummary {
    /// Entries with `action`, all vendors.
    pub fn total(&self, action: Action) -> usize {
        self.counts
            .iter()
            .filter(|((_, _, a), _)| *a == action)
            .map(|(_, n)| n)
            .sum()
    }
}

/// Why a plan could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The inventory is unusable.
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    /// The plan file could not be written or read.
    #[error("plan file {}: {message}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The token store failed.
    #[error("importing a refresh token: {0}")]
    Store(Error),
}

/// How a failed call counts. Only [`Error::AuthorizationLost`] (the vendor's documented
/// refusal of a refresh token) says the merchant must authorize again; anything else, a
/// throttled or failed token call included, leaves the entry to be read again.
pub(crate) fn failure(error: &Error) -> (Action, Option<i64>, String) {
    match error {
        Error::AuthorizationLost { cause, .. } => {
            (Action::Reauth, Some(cause.code), error.to_string())
        }
        Error::Vendor(v) | Error::TokenRejected(v) => {
            (Action::Unreachable, Some(v.code), vendor_text(v))
        }
        other => (
            Action::Unreachable,
            other.vendor().map(|v| v.code),
            other.to_string(),
        ),
    }
}

/// A vendor error as the report shows it: code, the vendor's message, the documented meaning.
pub(crate) fn vendor_text(v: &core_http::VendorError) -> String {
    match v.documented {
        Some(doc) => format!("{} {} ({doc})", v.code, v.message),
        None => format!("{} {}", v.code, v.message),
    }
}

fn file_error(path: &Path) -> impl Fn(std::io::Error) -> PlanError + '_ {
    move |e| PlanError::File {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

/// A new job id: the time and 64 random bits.
pub fn new_job_id() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!("job-{ms}-{:016x}", fastrand::u64(..))
}

/// Progress callbacks (the CLI draws bars; tests pass nothing).
pub trait Progress: Send + Sync {
    /// `total` entries of `vendor` are coming.
    fn start(&self, vendor: Vendor, total: u64);
    /// One entry of `vendor` is done.
    fn step(&self, vendor: Vendor);
    /// Every entry of `vendor` is done.
    fn finish(&self, vendor: Vendor);
    /// `vendor`'s calls are paced at `per_second` now (its adaptive rate limiter).
    fn rate(&self, vendor: Vendor, per_second: f64) {
        let _ = (vendor, per_second);
    }
}

/// Progress that shows nothing.
pub struct Quiet;

impl Progress for Quiet {
    fn start(&self, _: Vendor, _: u64) {}
    fn step(&self, _: Vendor) {}
    fn finish(&self, _: Vendor) {}
}

/// Plans `desired` for the apps of `inventory_path` with `clients`, writing the plan to
/// `out`. Reads run `concurrency` at a time per vendor; they are retried by the SDK.
pub async fn plan(
    desired: &DesiredState,
    inventory_path: &Path,
    clients: &Backends,
    base_url: Option<&str>,
    out: &Path,
    concurrency: usize,
    progress: &dyn Progress,
) -> Result<PlanSummary, PlanError> {
    // The whole inventory is checked first (bad input is refused before any call), without
    // keeping it: it is read again, one app at a time, per vendor.
    let mut per_vendor: BTreeMap<Vendor, u64> = BTreeMap::new();
    inventory::read(inventory_path, |app| {
        if !clients.contains_key(&app.vendor) {
            return Err(InventoryError {
                path: inventory_path.to_owned(),
                line: 0,
                message: format!(
                    "the inventory names {} apps, but the credentials have no [{}] platform",
                    app.vendor, app.vendor
                ),
            });
        }
        *per_vendor.entry(app.vendor).or_default() += 1;
        Ok(())
    })?;

    let header = PlanHeader {
        job: new_job_id(),
        created_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
        base_url: base_url.map(str::to_owned),
    };
    let file = std::fs::File::create(out).map_err(file_error(out))?;
    let mut writer = BufWriter::new(file);
    let mut line = serde_json::to_string(&header).expect("the header serializes");
    line.push('\n');
    writer.write_all(line.as_bytes()).map_err(file_error(out))?;
    let mut summary = PlanSummary {
        job: header.job.clone(),
        ..Default::default()
    };
    let mut seq = 0;
    let mut emit = |entry: &mut PlanEntry, writer: &mut BufWriter<std::fs::File>| {
        seq += 1;
        entry.seq = seq;
        *summary
            .counts
            .entry((entry.vendor, entry.resource.clone(), entry.action))
            .or_default() += 1;
        let mut line = serde_json::to_string(entry).expect("entries serialize");
        line.push('\n');
        writer.write_all(line.as_bytes())
    };

    // Platform resources first: an app's domains may need the platform's registration.
    for (vendor, client) in clients {
        for (name, wanted) in desired.for_platform(*vendor) {
            let mut entry = entry_for(&**client, None, name, &wanted).await;
            emit(&mut entry, &mut writer).map_err(file_error(out))?;
        }
    }
    // Every vendor at once, `concurrency` apps in flight each, in no fixed order (an app
    // whose call waits for a retry holds up no other); entries are written as they come, each
    // app's entries together.
    let mut streams = Vec::new();
    for (vendor, total) in &per_vendor {
        let vendor = *vendor;
        let client = Arc::clone(&clients[&vendor]);
        progress.start(vendor, *total);
        let apps = inventory::iter(inventory_path)?
            .filter(move |app| app.as_ref().map_or(true, |a| a.vendor == vendor));
        let results = stream::iter(apps)
            .map(move |app| {
                let client = Arc::clone(&client);
                async move {
                    let app = app?;
                    if let Some(token) = app.refresh_token.clone() {
                        client
                            .import(&app.app_id, token)
                            .await
                            .map_err(PlanError::Store)?;
                    }
                    let mut entries = Vec::new();
                    for (name, value) in desired.for_app(vendor, &app.app_id) {
                        entries.push(entry_for(&*client, Some(&app.app_id), name, &value).await);
                    }
                    Ok::<_, PlanError>((vendor, entries))
                }
            })
            .buffer_unordered(concurrency.max(1));
        streams.push(Box::pin(results));
    }
    let mut all = stream::select_all(streams);
    while let Some(result) = all.next().await {
        let (vendor, entries) = result?;
        for mut entry in entries {
            emit(&mut entry, &mut writer).map_err(file_error(out))?;
        }
        progress.step(vendor);
        if let Some(rate) = clients[&vendor]
            .rate_limiter()
            .and_then(|l| l.current_rate())
        {
            progress.rate(vendor, rate);
        }
    }
    for vendor in per_vendor.keys() {
        progress.finish(*vendor);
    }
    writer.flush().map_err(file_error(out))?;
    Ok(summary)
}

/// Reads one resource and decides what to do.
async fn entry_for(
    client: &dyn Backend,
    app: Option<&str>,
    name: &str,
    wanted: &ResourceValue,
) -> PlanEntry {
    let descriptor = client
        .descriptor(name)
        .expect("validated by the desired state");
    let mut entry = PlanEntry {
        seq: 0,
        vendor: client.vendor(),
        app_id: app.map(str::to_owned),
        resource: name.to_owned(),
        action: Action::Unreachable,
        current: None,
        desired: wanted.clone(),
        vendor_code: None,
        message: None,
    };
    match client.read(app, name).await {
        Ok(current) => {
            let target = current.overlaid(wanted);
            entry.action = if current.same_as(&target, descriptor) {
                Action::Unchanged
            } else {
                Action::Set
            };
            entry.desired = target;
            entry.current = Some(current);
        }
        Err(e) => {
            let (action, code, message) = failure(&e);
            entry.action = action;
            entry.vendor_code = code;
            entry.message = Some(message);
        }
    }
    entry
}

/// Reads a plan file: its header, then `each` entry in order.
pub fn read_plan(
    path: &Path,
    mut each: impl FnMut(PlanEntry) -> Result<(), PlanError>,
) -> Result<PlanHeader, PlanError> {
    let (header, entries) = open_plan(path)?;
    for entry in entries {
        each(entry?)?;
    }
    Ok(header)
}

/// Opens a plan file: its header, and its entries one at a time.
pub fn open_plan(
    path: &Path,
) -> Result<
    (
        PlanHeader,
        impl Iterator<Item = Result<PlanEntry, PlanError>>,
    ),
    PlanError,
> {
    let file = std::fs::File::open(path).map_err(file_error(path))?;
    let mut lines = BufReader::new(file).lines();
    let owned = path.to_owned();
    let bad = move |n: usize, e: String| PlanError::File {
        path: owned.clone(),
        message: format!("line {n}: {e} (not a plan written by `miniapp plan`)"),
    };
    let header: PlanHeader = match lines.next() {
        Some(line) => serde_json::from_str(&line.map_err(file_error(path))?)
            .map_err(|e| bad(1, e.to_string()))?,
        None => return Err(bad(1, "empty file".into())),
    };
    let io_path = path.to_owned();
    let entries = lines
        .enumerate()
        .filter(|(_, line)| !matches!(line, Ok(l) if l.trim().is_empty()))
        .map(move |(i, line)| {
            let line = line.map_err(|e| PlanError::File {
                path: io_path.clone(),
                message: e.to_string(),
            })?;
            serde_json::from_str::<PlanEntry>(&line).map_err(|e| bad(i + 2, e.to_string()))
        });
    Ok((header, entries))
}
