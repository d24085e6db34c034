//! Shipping a template version to every authorized app, as a job that lasts days: the release
//! file, the journal of each app's [`Stage`], and [`run_pass`], one pass that makes all the
//! progress possible now and returns (idempotent, safe from cron; `--watch` repeats it).
//!
//! Each app moves through [`ship::step`]; every stage it reaches is journaled before the next
//! call, so a pass killed at any point resumes where it stood: a submission whose answer was
//! lost is adopted from the latest audit, never sent twice; a release is done once. Apps of a
//! vendor that cannot ship code (no documented endpoints) are refused, nothing sent.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use core_http::shipping::{ShipCode, Template, Upload};
use core_http::Error;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use sqlx::{AnyPool, Row};

use crate::inventory::{self, InventoryError};
use crate::ship::{self, Stage, Wait};
use crate::vendors::{Backends, Vendor};

/// A release file: what to ship, per vendor.
///
/// ```toml
/// name = "spring-2027"           # the job's name in the journal
///
/// [wechat]
/// template_id = 7                # from the platform's template library, or "newest" (pinned
///                                # in the journal when the release begins)
/// version = "2.0.0"              # shown to the vendor (free text, never a key)
/// description = "spring release"
/// max_in_audit = 500             # at most this many apps in audit at once (optional)
/// gray = [5, 20, 50]             # release in stages (optional), then to everyone
/// gray_pause = "6h"
/// # Per app: "{app_id}" in any string is the app's id.
/// ext_json = { extAppid = "{app_id}", ext = { shop = "{app_id}" } }
/// ```
// No `deny_unknown_fields` (serde refuses it beside `flatten`): an unknown table fails as a
// vendor name that is not one.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
pub struct ReleaseFile {
    /// The job's name: its rows in the journal.
    pub name: String,
    /// What to ship to each vendor's apps.
    #[serde(flatten)]
    pub vendors: BTreeMap<Vendor, VendorRelease>,
}

/// What to ship to one vendor's apps.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VendorRelease {
    /// The template's id in the platform's library, or `"newest"`: the newest template in the
    /// library when the release's first pass runs, pinned in the journal for the rest of the
    /// release (a template added later does not change it).
    pub template_id: TemplateId,
    /// The version (free text).
    pub version: String,
    /// The version's description.
    pub description: String,
    /// The `ext_json` of every app; `{app_id}` in a string is replaced by the app's id.
    #[serde(default)]
    pub ext_json: serde_json::Value,
    /// At most this many apps of the vendor uploaded and not through their audit at once
    /// (default: no limit).
    #[serde(default)]
    pub max_in_audit: Option<usize>,
    /// Upload to no more apps of the vendor once this share of its ended audits was rejected
    /// (`0.2`: a fifth), counted after `min_audits` audits ended: a template the audit refuses
    /// is not sent on to thousands of apps. Apps already uploaded go on. Default: never stop.
    #[serde(default)]
    pub stop_at_rejected_share: Option<f64>,
    /// Submit no more apps of the vendor once the provider's audit quota (shared by all its
    /// apps, read with the vendor's quota call once per pass) is down to this many: they are
    /// kept for hotfixes and new merchants; the apps wait (`quota_reserve`). Only for vendors
    /// with a quota call (WeChat `queryquota`). Default: no reserve.
    #[serde(default)]
    pub quota_reserve: Option<i64>,
    /// How many audits must have ended before `stop_at_rejected_share` counts (default 20).
    #[serde(default = "default_min_audits")]
    pub min_audits: usize,
    /// Release an approved version in stages: to these shares of each app's users in turn
    /// (whole percentages, rising, below 100), then to everyone. Empty (default): at once.
    /// Only for vendors with gray releases (WeChat); an app with no version online yet is
    /// released in full.
    #[serde(default)]
    pub gray: Vec<u32>,
    /// The pause after each gray stage (`30m`, `6h`, `1d`; default `1h`).
    #[serde(default)]
    pub gray_pause: Option<String>,
    /// What the audit submission tells the vendor, in the vendor's own members (WeChat
    /// SubmitAudit: `item_list`, `privacy_api_not_use`, `ugc_declare`, `feedback_info`, …);
    /// checked by the vendor's adapter before anything is sent. Default: none.
    #[serde(default)]
    pub audit: serde_json::Value,
}

/// Which template a vendor's apps are sent: an id in the platform's library, or the newest
/// one there (`"newest"`, resolved once and pinned in the journal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateId {
    /// This template.
    Id(i64),
    /// The newest template in the library when the release began.
    Newest,
}

impl TemplateId {
    /// The template's id, once known (`None` for an unresolved `"newest"`).
    pub fn id(self) -> Option<i64> {
        match self {
            TemplateId::Id(id) => Some(id),
            TemplateId::Newest => None,
        }
    }
}

impl Serialize for TemplateId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            TemplateId::Id(id) => serializer.serialize_i64(*id),
            TemplateId::Newest => serializer.serialize_str("newest"),
        }
    }
}

impl<'de> Deserialize<'de> for TemplateId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = TemplateId;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a template id from the platform's library (a number), or \"newest\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<TemplateId, E> {
                Ok(TemplateId::Id(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<TemplateId, E> {
                i64::try_from(v)
                    .map(TemplateId::Id)
                    .map_err(|_| E::custom("the template id is too large"))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<TemplateId, E> {
                match v {
                    "newest" => Ok(TemplateId::Newest),
                    other => Err(E::custom(format!(
                        "template_id {other:?}: give the template's id as a number (template_id = 7), or \"newest\""
                    ))),
                }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl schemars::JsonSchema for TemplateId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "TemplateId".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A template id from the platform's library, or \"newest\" (the newest template there when the release begins, pinned in the journal).",
            "anyOf": [
                { "type": "integer", "minimum": 0 },
                { "const": "newest" }
            ]
        })
    }
}

/// `90s`, `30m`, `6h`, `1d`, or seconds.
fn parse_pause(text: &str) -> Option<std::time::Duration> {
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = number.parse().ok()?;
    let seconds = match unit.trim() {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return None,
    };
    Some(std::time::Duration::from_secs(seconds))
}

fn default_min_audits() -> usize {
    20
}

/// The JSON Schema of release files (checked in as `crates/fleet/release.schema.json`; add
/// `#:schema <path>` to a release file for your editor).
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(ReleaseFile);
    serde_json::to_string_pretty(&schema).expect("the schema serializes") + "\n"
}

/// A release file or journal that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// The release file.
    #[error("{}: {message}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The inventory.
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    /// The journal.
    #[error("release journal ({what}): {source}")]
    Journal {
        /// The operation.
        what: &'static str,
        /// The database's error.
        source: sqlx::Error,
    },
}

fn journal_error(what: &'static str) -> impl Fn(sqlx::Error) -> ReleaseError {
    move |source| ReleaseError::Journal { what, source }
}

impl ReleaseFile {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<ReleaseFile, ReleaseError> {
        let file_error = |message: String| ReleaseError::File {
            path: path.to_owned(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
        let release: ReleaseFile = toml::from_str(&text).map_err(|e| file_error(e.to_string()))?;
        if release.name.trim().is_empty() {
            return Err(file_error("`name` is empty".into()));
        }
        if release.vendors.is_empty() {
            return Err(file_error(
                "no vendor table: add one such as [wechat] with template_id, version and description"
                    .into(),
            ));
        }
        for (vendor, r) in &release.vendors {
            if r.version.trim().is_empty() {
                return Err(file_error(format!("[{vendor}] `version` is empty")));
            }
            if r.template_id.id().is_some_and(|id| id < 0) {
                return Err(file_error(format!("[{vendor}] `template_id` is negative")));
            }
            if r.stop_at_rejected_share
                .is_some_and(|share| !(0.0..=1.0).contains(&share))
            {
                return Err(file_error(format!(
                    "[{vendor}] `stop_at_rejected_share` must be between 0 and 1 (0.2: a fifth)"
                )));
            }
        }
        Ok(release)
    }
}

impl VendorRelease {
    /// The pause after each gray stage (default 1 h).
    pub fn gray_pause(&self) -> std::time::Duration {
        self.gray_pause
            .as_deref()
            .and_then(parse_pause)
            .unwrap_or(std::time::Duration::from_secs(3600))
    }

    /// The upload of `app`: `{app_id}` filled in `ext_json` (no other column is known). Panics
    /// on a placeholder naming another column, or a `"newest"` template not resolved yet.
    pub fn upload(&self, app: &str) -> Upload {
        self.upload_with(app, &BTreeMap::new())
            .expect("an ext_json without column placeholders fills, and the template is known")
    }

    /// The upload of `app` with the inventory's `columns`: every `{name}` in an `ext_json`
    /// string is the app's column `name` (`{app_id}`: its id); a string that is only a
    /// placeholder takes the column's JSON value as it is (a number stays a number). A
    /// placeholder naming no column is an error naming it.
    pub fn upload_with(
        &self,
        app: &str,
        columns: &BTreeMap<String, serde_json::Value>,
    ) -> Result<Upload, String> {
        let template_id = self.template_id.id().ok_or(
            "template_id = \"newest\" is not resolved yet: the pass pins it from the library first",
        )?;
        Ok(Upload {
            template_id,
            ext_json: fill(&self.ext_json, app, columns)?,
            version: self.version.clone(),
            description: self.description.clone(),
            audit: self.audit.clone(),
        })
    }
}

/// The value of placeholder `name` for `app`.
fn column(
    name: &str,
    app: &str,
    columns: &BTreeMap<String, serde_json::Value>,
) -> Result<serde_json::Value, String> {
    if name == "app_id" {
        return Ok(serde_json::Value::from(app));
    }
    columns.get(name).cloned().ok_or_else(|| {
        format!("ext_json names {{{name}}}, but the inventory has no `{name}` column for this app")
    })
}

fn fill(
    value: &serde_json::Value,
    app: &str,
    columns: &BTreeMap<String, serde_json::Value>,
) -> Result<serde_json::Value, String> {
    Ok(match value {
        serde_json::Value::String(s) => {
            let whole = s
                .strip_prefix('{')
                .and_then(|r| r.strip_suffix('}'))
                .filter(|name| is_placeholder(name));
            match whole {
                Some(name) => column(name, app, columns)?,
                None => serde_json::Value::String(fill_text(s, app, columns)?),
            }
        }
        serde_json::Value::Array(items) => items
            .iter()
            .map(|v| fill(v, app, columns))
            .collect::<Result<_, _>>()?,
        serde_json::Value::Object(members) => members
            .iter()
            .map(|(k, v)| Ok((k.clone(), fill(v, app, columns)?)))
            .collect::<Result<_, String>>()?,
        other => other.clone(),
    })
}

fn is_placeholder(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `text` with every `{name}` replaced by the column's text.
fn fill_text(
    text: &str,
    app: &str,
    columns: &BTreeMap<String, serde_json::Value>,
) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if is_placeholder(&after[..close]) => {
                out.push_str(&rest[..open]);
                match column(&after[..close], app, columns)? {
                    serde_json::Value::String(s) => out.push_str(&s),
                    other => out.push_str(&other.to_string()),
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push_str(&rest[..=open]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The journal of a release: one row per app with its stage (SQLite or PostgreSQL).
#[derive(Debug, Clone)]
pub struct ReleaseJournal {
    pool: AnyPool,
    postgres: bool,
    /// The inventory this handle last planned from, as it was then, with the apps it refused:
    /// a pass plans again only when the file changed.
    planned_from: Arc<std::sync::Mutex<Option<InventoryMark>>>,
    /// Templates a vendor refused as missing (release, vendor, template), so that a later pass
    /// that cannot read the library holds the uploads too instead of trying them again.
    templates_gone: Arc<std::sync::Mutex<BTreeSet<(String, Vendor, i64)>>>,
}

/// An inventory file as planned: which release, its path, size and modification time, and
/// the apps of vendors that cannot ship (counted per vendor, with the reason).
#[derive(Debug, Clone, PartialEq)]
struct InventoryMark {
    release: String,
    path: PathBuf,
    len: u64,
    modified: Option<SystemTime>,
    /// The vendors refused when it was planned (a vendor refused then and not now has its
    /// apps planned again).
    refused: BTreeSet<Vendor>,
    unsupported: BTreeMap<Vendor, (usize, String)>,
}

/// Apps of one vendor in one stage, as [`ReleaseJournal::stage_counts`] groups them.
#[derive(Debug, Clone, PartialEq)]
struct StageCount {
    vendor: Vendor,
    stage_name: String,
    /// Their last step found the authorization lost.
    reauthorize: bool,
    apps: usize,
    /// When the first of them is due (its next read, or its claim's end).
    due: i64,
}

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS miniapp_release (
    release TEXT NOT NULL,
    vendor TEXT NOT NULL,
    app_id TEXT NOT NULL,
    stage TEXT NOT NULL,
    stage_name TEXT NOT NULL,
    wait TEXT,
    message TEXT,
    updated_ms BIGINT NOT NULL,
    next_ms BIGINT NOT NULL DEFAULT 0,
    polls BIGINT NOT NULL DEFAULT 0,
    claimed_by TEXT,
    claim_until BIGINT NOT NULL DEFAULT 0,
    inventory_columns TEXT,
    reauthorize BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (release, vendor, app_id)
)";

/// The template each vendor's apps of a release get when the release file says `"newest"`:
/// resolved from the library once, then kept for the release's days.
const TEMPLATES: &str = "CREATE TABLE IF NOT EXISTS miniapp_release_template (
    release TEXT NOT NULL,
    vendor TEXT NOT NULL,
    template_id BIGINT NOT NULL,
    version TEXT NOT NULL,
    pinned_ms BIGINT NOT NULL,
    PRIMARY KEY (release, vendor)
)";

/// The operator's actions on apps (`miniapp release withdraw` …), one row per app and call:
/// written before the call (`sent`), its outcome after. What an audit of the job reads, and
/// what the vendors' per-app limits are counted against (across releases).
const ACTIONS: &str = "CREATE TABLE IF NOT EXISTS miniapp_release_action (
    vendor TEXT NOT NULL,
    app_id TEXT NOT NULL,
    action TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    release TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT
)";

/// Columns added after the first release journals (added to an older table on open).
const ADDED: [&str; 4] = [
    "ALTER TABLE miniapp_release ADD COLUMN claimed_by TEXT",
    "ALTER TABLE miniapp_release ADD COLUMN claim_until BIGINT NOT NULL DEFAULT 0",
    "ALTER TABLE miniapp_release ADD COLUMN inventory_columns TEXT",
    "ALTER TABLE miniapp_release ADD COLUMN reauthorize BIGINT NOT NULL DEFAULT 0",
];

/// The indexes a pass reads through: the apps due per vendor (claims), and the claimed apps
/// (a gone worker's claims), so that neither walks the whole release.
const INDEXES: [&str; 4] = [
    "CREATE INDEX IF NOT EXISTS miniapp_release_action_app
     ON miniapp_release_action (vendor, app_id, action, at_ms)",
    // Named for its set of final stages: a journal made before `rolled_back` drops the old one.
    "DROP INDEX IF EXISTS miniapp_release_due",
    "CREATE INDEX IF NOT EXISTS miniapp_release_due_2 ON miniapp_release (release, vendor, next_ms, app_id)
     WHERE stage_name NOT IN ('released', 'rejected', 'withdrawn', 'upload_failed', 'rolled_back')",
    "CREATE INDEX IF NOT EXISTS miniapp_release_claimed ON miniapp_release (release, claimed_by)
     WHERE claimed_by IS NOT NULL",
];

/// The stages no step changes.
const FINAL_STAGES: &str = "('released', 'rejected', 'withdrawn', 'upload_failed', 'rolled_back')";

/// This process's name as a worker of release journals: its pid (so that, on one host, a
/// claim of a process that died is taken over at once) and a random part.
pub fn worker_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| format!("pid:{}:{:08x}", std::process::id(), fastrand::u32(..)))
}

/// Whether the process that named itself `worker` ([`worker_id`]) is known to be gone: its
/// pid is not running on this host (Linux; elsewhere nothing is known, and its claims run out
/// with their lease).
fn worker_is_gone(worker: &str) -> bool {
    let Some(pid) = worker
        .strip_prefix("pid:")
        .and_then(|rest| rest.split(':').next())
        .and_then(|pid| pid.parse::<u32>().ok())
    else {
        return false;
    };
    cfg!(target_os = "linux") && !Path::new(&format!("/proc/{pid}")).exists()
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// One app's row.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseRow {
    /// The vendor.
    pub vendor: Vendor,
    /// The app.
    pub app_id: String,
    /// Where it stands.
    pub stage: Stage,
    /// Why it waits, when it does.
    pub wait: Option<Wait>,
    /// The last error of a step (the stage stayed), when there was one.
    pub message: Option<String>,
    /// When the app is worth reading again (ms since the epoch; 0: now): an app waiting for
    /// its code check or its audit is read again after a pause that doubles per read.
    pub next_ms: i64,
    /// Reads in a row that found the app waiting.
    pub polls: i64,
    /// Until when a worker holds the app (ms since the epoch; 0: none does).
    pub claim_until: i64,
    /// The app's other inventory columns (the ext_json placeholders), as last planned.
    pub columns: BTreeMap<String, serde_json::Value>,
    /// The last step found the app's authorization lost: its owner must authorize the platform
    /// again (the step's error is in `message`).
    pub reauthorize: bool,
}

impl ReleaseJournal {
    /// Opens (creating) the journal at `url`: `sqlite:PATH` or `postgres://…`.
    pub async fn open(url: &str) -> Result<ReleaseJournal, ReleaseError> {
        let (pool, postgres) = crate::journal::connect(url)
            .await
            .map_err(journal_error("open"))?;
        if !postgres {
            for pragma in ["PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL"] {
                sqlx::query(pragma)
                    .execute(&pool)
                    .await
                    .map_err(journal_error("open"))?;
            }
        }
        if postgres {
            // Workers starting together: one creates the table.
            let mut tx = pool.begin().await.map_err(journal_error("create"))?;
            sqlx::query("SELECT pg_advisory_xact_lock(724302)")
                .execute(&mut *tx)
                .await
                .map_err(journal_error("create"))?;
            for table in [SCHEMA, TEMPLATES, ACTIONS] {
                sqlx::query(table)
                    .execute(&mut *tx)
                    .await
                    .map_err(journal_error("create"))?;
            }
            for added in ADDED {
                let added = added.replace("ADD COLUMN", "ADD COLUMN IF NOT EXISTS");
                sqlx::query(&added)
                    .execute(&mut *tx)
                    .await
                    .map_err(journal_error("create"))?;
            }
            for index in INDEXES {
                sqlx::query(index)
                    .execute(&mut *tx)
                    .await
                    .map_err(journal_error("create"))?;
            }
            tx.commit().await.map_err(journal_error("create"))?;
        } else {
            for table in [SCHEMA, TEMPLATES, ACTIONS] {
                sqlx::query(table)
                    .execute(&pool)
                    .await
                    .map_err(journal_error("create"))?;
            }
            for added in ADDED {
                // An error here is the column that exists already (SQLite has no IF NOT
                // EXISTS for columns).
                let _ = sqlx::query(added).execute(&pool).await;
            }
            for index in INDEXES {
                sqlx::query(index)
                    .execute(&pool)
                    .await
                    .map_err(journal_error("create"))?;
            }
        }
        Ok(ReleaseJournal {
            pool,
            postgres,
            planned_from: Arc::default(),
            templates_gone: Arc::default(),
        })
    }

    /// Closes the journal's connections (a SQLite file is free for another process at once;
    /// dropping the last handle closes them too, in the background).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Adds the inventory apps of `apps` as planned unless the release has them (in one
    /// transaction), keeping each app's inventory columns (the ext_json placeholders; a mended
    /// inventory replaces them); returns those still planned.
    async fn plan_apps(
        &self,
        release: &str,
        apps: &[inventory::InventoryApp],
    ) -> Result<std::collections::HashSet<(Vendor, String)>, ReleaseError> {
        let stage = serde_json::to_string(&Stage::Planned).expect("a stage serializes");
        let mut tx = self.pool.begin().await.map_err(journal_error("plan"))?;
        let mut planned = std::collections::HashSet::new();
        for app in apps {
            let columns = (!app.columns.is_empty())
                .then(|| serde_json::to_string(&app.columns).expect("columns serialize"));
            let row = sqlx::query(
                "INSERT INTO miniapp_release
                     (release, vendor, app_id, stage, stage_name, updated_ms, inventory_columns)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (release, vendor, app_id)
                 DO UPDATE SET inventory_columns = excluded.inventory_columns
                 RETURNING stage_name",
            )
            .bind(release)
            .bind(app.vendor.as_str())
            .bind(&app.app_id)
            .bind(&stage)
            .bind(Stage::Planned.name())
            .bind(now_ms())
            .bind(columns)
            .fetch_one(&mut *tx)
            .await
            .map_err(journal_error("plan"))?;
            let stage_name: String = row.try_get(0).map_err(journal_error("plan"))?;
            if stage_name == Stage::Planned.name() {
                planned.insert((app.vendor, app.app_id.clone()));
            }
        }
        tx.commit().await.map_err(journal_error("plan"))?;
        Ok(planned)
    }

    /// The release's apps grouped by vendor, stage and lost authorization.
    async fn stage_counts(&self, release: &str) -> Result<Vec<StageCount>, ReleaseError> {
        let rows = sqlx::query(
            "SELECT vendor, stage_name,
                 CAST(CASE WHEN reauthorize <> 0 OR message LIKE 'reauthorize:%' THEN 1 ELSE 0 END
                     AS BIGINT) AS must_reauthorize,
                 COUNT(*) AS apps,
                 MIN(CASE WHEN next_ms > claim_until THEN next_ms ELSE claim_until END) AS due
             FROM miniapp_release WHERE release = $1
             GROUP BY vendor, stage_name, must_reauthorize",
        )
        .bind(release)
        .fetch_all(&self.pool)
        .await
        .map_err(journal_error("count"))?;
        rows.iter()
            .map(|r| {
                let reauthorize: i64 = r.try_get("must_reauthorize")?;
                let apps: i64 = r.try_get("apps")?;
                Ok(StageCount {
                    vendor: crate::journal::vendor_of(r)?,
                    stage_name: r.try_get("stage_name")?,
                    reauthorize: reauthorize != 0,
                    apps: apps as usize,
                    due: r.try_get("due")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(journal_error("count"))
    }

    /// The release's apps waiting, per reason.
    async fn wait_counts(&self, release: &str) -> Result<BTreeMap<String, usize>, ReleaseError> {
        let rows = sqlx::query(
            "SELECT wait, COUNT(*) AS apps FROM miniapp_release
             WHERE release = $1 AND wait IS NOT NULL GROUP BY wait",
        )
        .bind(release)
        .fetch_all(&self.pool)
        .await
        .map_err(journal_error("count"))?;
        let mut waiting = BTreeMap::new();
        for r in &rows {
            let wait: String = r.try_get("wait").map_err(journal_error("count"))?;
            let apps: i64 = r.try_get("apps").map_err(journal_error("count"))?;
            // Stored as a JSON string: its name without the quotes.
            let name = serde_json::from_str::<String>(&wait).unwrap_or(wait);
            *waiting.entry(name).or_default() += apps as usize;
        }
        Ok(waiting)
    }

    /// The rows of `release` that were rejected, failed their upload, or whose last step
    /// failed, in app order.
    async fn rows_to_report(&self, release: &str) -> Result<Vec<ReleaseRow>, ReleaseError> {
        let rows = sqlx::query(&format!(
            "SELECT {ROW_COLUMNS} FROM miniapp_release
             WHERE release = $1 AND (stage_name IN ('rejected', 'upload_failed') OR message IS NOT NULL)
             ORDER BY vendor, app_id"
        ))
        .bind(release)
        .fetch_all(&self.pool)
        .await
        .map_err(journal_error("read"))?;
        read_rows(&rows, "read")
    }

    /// Adds `app` as planned unless the release already has it; whether it was added.
    pub async fn plan(
        &self,
        release: &str,
        vendor: Vendor,
        app: &str,
    ) -> Result<bool, ReleaseError> {
        let done = sqlx::query(
            "INSERT INTO miniapp_release (release, vendor, app_id, stage, stage_name, updated_ms)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (release, vendor, app_id) DO NOTHING",
        )
        .bind(release)
        .bind(vendor.as_str())
        .bind(app)
        .bind(serde_json::to_string(&Stage::Planned).expect("a stage serializes"))
        .bind(Stage::Planned.name())
        .bind(now_ms())
        .execute(&self.pool)
        .await
        .map_err(journal_error("plan"))?;
        Ok(done.rows_affected() == 1)
    }

    /// Records where `app` stands now; `next` is when it is worth reading again (`None`: at
    /// once) and `polls` how many reads in a row found it waiting. Any worker's claim on the
    /// app ends.
    #[allow(clippy::too_many_arguments)]
    pub async fn record(
        &self,
        release: &str,
        vendor: Vendor,
        app: &str,
        stage: &Stage,
        wait: Option<&Wait>,
        message: Option<&str>,
        next: Option<(i64, i64)>,
    ) -> Result<(), ReleaseError> {
        let step = Step {
            reauthorize: false,
            stage,
            wait,
            message,
            next,
        };
        self.write_step(release, vendor, app, &step, None)
            .await
            .map(drop)
    }

    /// [`record`](Self::record) by `worker`, only while it holds the app (`last`: and lets
    /// it go): whether it did (a worker whose claim was taken over records nothing).
    async fn record_claimed(
        &self,
        release: &str,
        row: &ReleaseRow,
        step: &Step<'_>,
        worker: &str,
        last: bool,
    ) -> Result<bool, ReleaseError> {
        self.write_step(release, row.vendor, &row.app_id, step, Some((worker, last)))
            .await
    }

    async fn write_step(
        &self,
        release: &str,
        vendor: Vendor,
        app: &str,
        step: &Step<'_>,
        worker: Option<(&str, bool)>,
    ) -> Result<bool, ReleaseError> {
        let wait = step
            .wait
            .map(|w| serde_json::to_string(w).expect("a wait serializes"));
        let (next_ms, polls) = step.next.unwrap_or((0, 0));
        // The claim ends with the last record of a pass (and with any unfenced one).
        let (unclaim, fence) = match worker {
            None => (", claimed_by = NULL, claim_until = 0", ""),
            Some((_, true)) => (
                ", claimed_by = NULL, claim_until = 0",
                " AND claimed_by = $11",
            ),
            Some((_, false)) => ("", " AND claimed_by = $11"),
        };
        // A push that woke the app while this worker held it ([`wake`](Self::wake): next_ms
        // below zero) keeps it due: the step may have read before the push.
        let next = if worker.is_some() {
            "CASE WHEN next_ms < 0 THEN 0 ELSE $6 END"
        } else {
            "$6"
        };
        let sql = format!(
            "UPDATE miniapp_release SET stage = $1, stage_name = $2, wait = $3, message = $4,
                 updated_ms = $5, next_ms = {next}, polls = $7, reauthorize = {reauthorize}{unclaim}
             WHERE release = $8 AND vendor = $9 AND app_id = $10{fence}",
            reauthorize = i64::from(step.reauthorize),
        );
        let mut query = sqlx::query(&sql)
            .bind(serde_json::to_string(step.stage).expect("a stage serializes"))
            .bind(step.stage.name())
            .bind(wait)
            .bind(step.message)
            .bind(now_ms())
            .bind(next_ms)
            .bind(polls)
            .bind(release)
            .bind(vendor.as_str())
            .bind(app);
        if let Some((worker, _)) = worker {
            query = query.bind(worker);
        }
        let done = query
            .execute(&self.pool)
            .await
            .map_err(journal_error("record"))?;
        Ok(done.rows_affected() == 1)
    }

    /// Claims up to `limit` apps of `release` and `vendors` that are due by `due_by` (not
    /// final, their read time reached) and that no live worker holds, for `worker`, until
    /// `lease_ms` from
    /// now ([`renew`](Self::renew) extends it; recording a step ends it). PostgreSQL skips rows
    /// another claim is taking (`FOR UPDATE SKIP LOCKED`); on this host, a claim of a process
    /// that died is taken over at once, others when their lease runs out.
    pub async fn claim(
        &self,
        release: &str,
        vendors: &[Vendor],
        worker: &str,
        limit: i64,
        lease_ms: i64,
        due_by: i64,
    ) -> Result<Vec<ReleaseRow>, ReleaseError> {
        if vendors.is_empty() {
            return Ok(Vec::new());
        }
        let now = now_ms();
        self.free_claims_of_the_dead(release, now).await?;
        let vendors = vendors
            .iter()
            .map(|v| format!("'{}'", v.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = if self.postgres {
            // Picked and locked once in a materialized CTE, then updated by key (as the
            // settings journal's claim: a sub-select of `IN (…)` may be re-run per row by a
            // generic plan, and `SKIP LOCKED … LIMIT` then takes more and more rows).
            format!(
                "WITH picked AS MATERIALIZED (
                     SELECT vendor AS picked_vendor, app_id AS picked_app FROM miniapp_release
                     WHERE release = $3 AND vendor IN ({vendors})
                       AND stage_name NOT IN {FINAL_STAGES}
                       AND next_ms <= $6 AND claim_until < $4
                     ORDER BY next_ms, vendor, app_id LIMIT $5 FOR UPDATE SKIP LOCKED)
                 UPDATE miniapp_release SET claimed_by = $1, claim_until = $2,
                     next_ms = CASE WHEN next_ms < 0 THEN 0 ELSE next_ms END
                 FROM picked
                 WHERE release = $3 AND vendor = picked_vendor AND app_id = picked_app
                 RETURNING {ROW_COLUMNS}"
            )
        } else {
            format!(
                "UPDATE miniapp_release SET claimed_by = $1, claim_until = $2,
                     next_ms = CASE WHEN next_ms < 0 THEN 0 ELSE next_ms END
                 WHERE (release, vendor, app_id) IN (
                     SELECT release, vendor, app_id FROM miniapp_release
                     WHERE release = $3 AND vendor IN ({vendors})
                       AND stage_name NOT IN {FINAL_STAGES}
                       AND next_ms <= $6 AND claim_until < $4
                     ORDER BY next_ms, vendor, app_id LIMIT $5)
                 RETURNING {ROW_COLUMNS}"
            )
        };
        let rows = sqlx::query(&sql)
            .bind(worker)
            .bind(now + lease_ms)
            .bind(release)
            .bind(now)
            .bind(limit)
            .bind(due_by)
            .fetch_all(&self.pool)
            .await
            .map_err(journal_error("claim"))?;
        read_rows(&rows, "claim")
    }

    /// Ends the unexpired claims on `release` of processes of this host that are gone.
    pub(crate) async fn free_claims_of_the_dead(
        &self,
        release: &str,
        now: i64,
    ) -> Result<(), ReleaseError> {
        let holders = sqlx::query(
            "SELECT DISTINCT claimed_by FROM miniapp_release
             WHERE release = $1 AND claimed_by IS NOT NULL AND claim_until >= $2",
        )
        .bind(release)
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(journal_error("claim"))?;
        for holder in holders {
            let holder: String = holder.try_get(0).map_err(journal_error("claim"))?;
            if worker_is_gone(&holder) {
                tracing::info!(worker = %holder, "taking over the claims of a process that is gone");
                sqlx::query(
                    "UPDATE miniapp_release SET claimed_by = NULL, claim_until = 0
                     WHERE release = $1 AND claimed_by = $2",
                )
                .bind(release)
                .bind(&holder)
                .execute(&self.pool)
                .await
                .map_err(journal_error("claim"))?;
            }
        }
        Ok(())
    }

    /// Extends `worker`'s claims on `release` to `lease_ms` from now (its heartbeat).
    pub async fn renew(
        &self,
        release: &str,
        worker: &str,
        lease_ms: i64,
    ) -> Result<u64, ReleaseError> {
        let done = sqlx::query(
            "UPDATE miniapp_release SET claim_until = $1
             WHERE release = $2 AND claimed_by = $3 AND claim_until > 0",
        )
        .bind(now_ms() + lease_ms)
        .bind(release)
        .bind(worker)
        .execute(&self.pool)
        .await
        .map_err(journal_error("renew"))?;
        Ok(done.rows_affected())
    }

    /// Marks the rows of `release` that wait for a vendor (their code check, their audit, or
    /// another audit) worth reading at once: app `app` of `vendor`, or with `None` every app
    /// of `vendor` in audit. A push's content is never trusted: the next pass reads the
    /// vendor. The mark (a `next_ms` below zero) outlives a step in flight: an app woken while
    /// a worker reads it stays due after that step, which may have read before the push.
    /// Returns the rows marked.
    pub async fn wake(
        &self,
        release: &str,
        vendor: Vendor,
        app: Option<&str>,
    ) -> Result<u64, ReleaseError> {
        let query = match app {
            Some(_) => {
                "UPDATE miniapp_release SET next_ms = -1
                 WHERE release = $1 AND vendor = $2 AND app_id = $3
                   AND stage_name IN ('planned', 'committed', 'submitting', 'in_audit', 'releasing')"
            }
            None => {
                "UPDATE miniapp_release SET next_ms = -1
                 WHERE release = $1 AND vendor = $2 AND stage_name = 'in_audit' AND $3 = ''"
            }
        };
        let done = sqlx::query(query)
            .bind(release)
            .bind(vendor.as_str())
            .bind(app.unwrap_or_default())
            .execute(&self.pool)
            .await
            .map_err(journal_error("wake"))?;
        Ok(done.rows_affected())
    }

    /// Logs that `action` is about to be sent for `app` of `vendor` (outcome `sent`); returns
    /// the entry's time, which [`action_outcome`](Self::action_outcome) names it by.
    pub async fn log_action(
        &self,
        release: &str,
        vendor: Vendor,
        app: &str,
        action: &str,
    ) -> Result<i64, ReleaseError> {
        let at = now_ms();
        sqlx::query(
            "INSERT INTO miniapp_release_action (vendor, app_id, action, at_ms, release, outcome)
             VALUES ($1, $2, $3, $4, $5, 'sent')",
        )
        .bind(vendor.as_str())
        .bind(app)
        .bind(action)
        .bind(at)
        .bind(release)
        .execute(&self.pool)
        .await
        .map_err(journal_error("action"))?;
        Ok(at)
    }

    /// Records the outcome of the action logged at `at` ([`log_action`](Self::log_action)).
    pub async fn action_outcome(
        &self,
        vendor: Vendor,
        app: &str,
        action: &str,
        at: i64,
        outcome: &str,
        detail: &str,
    ) -> Result<(), ReleaseError> {
        sqlx::query(
            "UPDATE miniapp_release_action SET outcome = $1, detail = $2
             WHERE vendor = $3 AND app_id = $4 AND action = $5 AND at_ms = $6",
        )
        .bind(outcome)
        .bind(detail)
        .bind(vendor.as_str())
        .bind(app)
        .bind(action)
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(journal_error("action"))?;
        Ok(())
    }

    /// How many times `action` was done for `app` of `vendor` since `since_ms` (in any release
    /// of this journal), counting calls whose answer never came (`sent`).
    pub async fn actions_since(
        &self,
        vendor: Vendor,
        app: &str,
        action: &str,
        since_ms: i64,
    ) -> Result<u32, ReleaseError> {
        let row = sqlx::query(
            "SELECT COUNT(*) FROM miniapp_release_action
             WHERE vendor = $1 AND app_id = $2 AND action = $3 AND at_ms >= $4
               AND outcome IN ('sent', 'done')",
        )
        .bind(vendor.as_str())
        .bind(app)
        .bind(action)
        .bind(since_ms)
        .fetch_one(&self.pool)
        .await
        .map_err(journal_error("action"))?;
        let n: i64 = row.try_get(0).map_err(journal_error("action"))?;
        Ok(n as u32)
    }

    /// The template pinned for `vendor`'s apps of `release` (its id and version), if any.
    pub async fn pinned_template(
        &self,
        release: &str,
        vendor: Vendor,
    ) -> Result<Option<(i64, String)>, ReleaseError> {
        let row = sqlx::query(
            "SELECT template_id, version FROM miniapp_release_template
             WHERE release = $1 AND vendor = $2",
        )
        .bind(release)
        .bind(vendor.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(journal_error("template"))?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .transpose()
            .map_err(journal_error("template"))
    }

    /// Every template pinned for `release`, per vendor.
    pub async fn pinned_templates(
        &self,
        release: &str,
    ) -> Result<BTreeMap<Vendor, (i64, String)>, ReleaseError> {
        let rows = sqlx::query(
            "SELECT vendor, template_id, version FROM miniapp_release_template WHERE release = $1",
        )
        .bind(release)
        .fetch_all(&self.pool)
        .await
        .map_err(journal_error("template"))?;
        rows.iter()
            .filter_map(|r| {
                let vendor: String = match r.try_get(0) {
                    Ok(v) => v,
                    Err(e) => return Some(Err(e)),
                };
                let vendor = vendor.parse::<Vendor>().ok()?;
                Some((|| Ok((vendor, (r.try_get(1)?, r.try_get(2)?))))())
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(journal_error("template"))
    }

    /// Pins `template` for `vendor`'s apps of `release` unless one is pinned already (another
    /// worker may have been first); returns the pinned one.
    pub async fn pin_template(
        &self,
        release: &str,
        vendor: Vendor,
        template: &Template,
    ) -> Result<(i64, String), ReleaseError> {
        sqlx::query(
            "INSERT INTO miniapp_release_template (release, vendor, template_id, version, pinned_ms)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (release, vendor) DO NOTHING",
        )
        .bind(release)
        .bind(vendor.as_str())
        .bind(template.template_id)
        .bind(&template.version)
        .bind(now_ms())
        .execute(&self.pool)
        .await
        .map_err(journal_error("template"))?;
        Ok(self
            .pinned_template(release, vendor)
            .await?
            .expect("a template was just pinned"))
    }

    /// The rows of `release` and `vendor` in one of the stages named `stages`, in app order.
    pub async fn rows_in(
        &self,
        release: &str,
        vendor: Vendor,
        stages: &[&'static str],
    ) -> Result<Vec<ReleaseRow>, ReleaseError> {
        if stages.is_empty() {
            return Ok(Vec::new());
        }
        // The stage names are this crate's own words, never input.
        let stages = stages
            .iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let rows = sqlx::query(&format!(
            "SELECT {ROW_COLUMNS} FROM miniapp_release
             WHERE release = $1 AND vendor = $2 AND stage_name IN ({stages})
             ORDER BY app_id"
        ))
        .bind(release)
        .bind(vendor.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(journal_error("read"))?;
        read_rows(&rows, "read")
    }

    /// Claims app `app` of `vendor` for `worker` until `lease_ms` from now, due or not, unless
    /// another live worker holds it (`None` then): an operator's action on the app, which no
    /// pass steps meanwhile. Recording its result ([`record_action`](Self::record_action))
    /// ends the claim.
    pub async fn claim_app(
        &self,
        release: &str,
        vendor: Vendor,
        app: &str,
        worker: &str,
        lease_ms: i64,
    ) -> Result<Option<ReleaseRow>, ReleaseError> {
        let now = now_ms();
        let row = sqlx::query(&format!(
            "UPDATE miniapp_release SET claimed_by = $1, claim_until = $2
             WHERE release = $3 AND vendor = $4 AND app_id = $5
               AND (claim_until < $6 OR claimed_by = $1)
             RETURNING {ROW_COLUMNS}"
        ))
        .bind(worker)
        .bind(now + lease_ms)
        .bind(release)
        .bind(vendor.as_str())
        .bind(app)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(journal_error("claim"))?;
        row.as_ref()
            .map(read_row)
            .transpose()
            .map_err(journal_error("claim"))
    }

    /// Records `stage` (with `message`) for app `row`, claimed by `worker` with
    /// [`claim_app`](Self::claim_app), and ends the claim; the app's wait and next read stay
    /// when the stage did not change. Whether it did (a claim taken over records nothing).
    pub async fn record_action(
        &self,
        release: &str,
        row: &ReleaseRow,
        stage: &Stage,
        message: Option<&str>,
        worker: &str,
    ) -> Result<bool, ReleaseError> {
        let same = *stage == row.stage;
        let step = Step {
            reauthorize: false,
            stage,
            wait: if same { row.wait.as_ref() } else { None },
            message,
            next: same.then_some((row.next_ms.max(0), row.polls)),
        };
        self.record_claimed(release, row, &step, worker, true).await
    }

    /// Puts app `app` of `vendor` back to planned when it is in one of the stages named
    /// `stages` and no live worker holds it (its next pass uploads again, with the inventory
    /// and release file of then); the stage it left, when it did.
    pub async fn replan(
        &self,
        release: &str,
        vendor: Vendor,
        app: &str,
        stages: &[&'static str],
    ) -> Result<Option<Stage>, ReleaseError> {
        let stages = stages
            .iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut tx = self.pool.begin().await.map_err(journal_error("retry"))?;
        let row = sqlx::query(&format!(
            "SELECT {ROW_COLUMNS} FROM miniapp_release
             WHERE release = $1 AND vendor = $2 AND app_id = $3 AND stage_name IN ({stages})
               AND claim_until < $4"
        ))
        .bind(release)
        .bind(vendor.as_str())
        .bind(app)
        .bind(now_ms())
        .fetch_optional(&mut *tx)
        .await
        .map_err(journal_error("retry"))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let row = read_row(&row).map_err(journal_error("retry"))?;
        sqlx::query(&format!(
            "UPDATE miniapp_release SET stage = $1, stage_name = $2, wait = NULL, message = NULL,
                 updated_ms = $3, next_ms = 0, polls = 0, reauthorize = 0
             WHERE release = $4 AND vendor = $5 AND app_id = $6 AND stage_name IN ({stages})"
        ))
        .bind(serde_json::to_string(&Stage::Planned).expect("a stage serializes"))
        .bind(Stage::Planned.name())
        .bind(now_ms())
        .bind(release)
        .bind(vendor.as_str())
        .bind(app)
        .execute(&mut *tx)
        .await
        .map_err(journal_error("retry"))?;
        tx.commit().await.map_err(journal_error("retry"))?;
        Ok(Some(row.stage))
    }

    /// Calls `each` with every row of `release`, in vendor and app order, one at a time (the
    /// rows are streamed from the journal, never all held).
    pub async fn each_row<E: From<ReleaseError>>(
        &self,
        release: &str,
        mut each: impl FnMut(ReleaseRow) -> Result<(), E>,
    ) -> Result<(), E> {
        let sql = format!(
            "SELECT {ROW_COLUMNS} FROM miniapp_release WHERE release = $1 ORDER BY vendor, app_id"
        );
        let mut rows = sqlx::query(&sql).bind(release).fetch(&self.pool);
        while let Some(row) = rows
            .next()
            .await
            .transpose()
            .map_err(journal_error("read"))?
        {
            each(read_row(&row).map_err(journal_error("read"))?)?;
        }
        Ok(())
    }

    /// Every row of `release`, in app order.
    pub async fn rows(&self, release: &str) -> Result<Vec<ReleaseRow>, ReleaseError> {
        let rows = sqlx::query(&format!(
            "SELECT {ROW_COLUMNS} FROM miniapp_release WHERE release = $1 ORDER BY vendor, app_id"
        ))
        .bind(release)
        .fetch_all(&self.pool)
        .await
        .map_err(journal_error("read"))?;
        read_rows(&rows, "read")
    }
}

/// What a step leaves in an app's row.
struct Step<'a> {
    stage: &'a Stage,
    wait: Option<&'a Wait>,
    message: Option<&'a str>,
    next: Option<(i64, i64)>,
    /// The step found the app's authorization lost: its owner must authorize again.
    reauthorize: bool,
}

const ROW_COLUMNS: &str = "vendor, app_id, stage, wait, message, next_ms, polls, claim_until, \
     inventory_columns, reauthorize";

/// The journal rows `rows` (read for `what`).
fn read_rows(
    rows: &[sqlx::any::AnyRow],
    what: &'static str,
) -> Result<Vec<ReleaseRow>, ReleaseError> {
    rows.iter()
        .map(read_row)
        .collect::<Result<_, sqlx::Error>>()
        .map_err(journal_error(what))
}

fn read_row(r: &sqlx::any::AnyRow) -> Result<ReleaseRow, sqlx::Error> {
    let stage: String = r.try_get("stage")?;
    let wait: Option<String> = r.try_get("wait")?;
    let columns: Option<String> = r.try_get("inventory_columns")?;
    let reauthorize: i64 = r.try_get("reauthorize")?;
    let message: Option<String> = r.try_get("message")?;
    Ok(ReleaseRow {
        vendor: crate::journal::vendor_of(r)?,
        app_id: r.try_get("app_id")?,
        // An unreadable stage is an error, never `Planned`: that would upload and submit
        // again an app whose audit may be under way.
        stage: serde_json::from_str(&stage).map_err(|e| {
            sqlx::Error::Decode(
                format!("unreadable stage `{stage}` ({e}); was this journal written by another build of the SDK?")
                    .into(),
            )
        })?,
        wait: wait.and_then(|w| serde_json::from_str(&w).ok()),
        // Journals older than the column marked it in the message.
        reauthorize: reauthorize != 0
            || message
                .as_deref()
                .is_some_and(|m| m.starts_with("reauthorize:")),
        message,
        next_ms: r.try_get("next_ms")?,
        polls: r.try_get("polls")?,
        claim_until: r.try_get("claim_until")?,
        columns: columns
            .and_then(|c| serde_json::from_str(&c).ok())
            .unwrap_or_default(),
    })
}

/// How a pass runs.
#[derive(Debug, Clone)]
pub struct PassOptions {
    /// Apps stepped at once per vendor (each vendor's apps are claimed and stepped on their
    /// own, so that one vendor's rate limit never holds another's apps back).
    pub concurrency: usize,
    /// How long after an app was found in its code check it is read again, doubling per read
    /// up to `max_poll` (default 1 s).
    pub check_poll: std::time::Duration,
    /// How long after an app was found in audit (or behind another audit) it is read again,
    /// doubling per read up to `max_poll` (default 5 s: audits take hours, so an app is read a
    /// few dozen times a day, not once per pass).
    pub audit_poll: std::time::Duration,
    /// The longest pause between two reads of a waiting app (default 15 min).
    pub max_poll: std::time::Duration,
    /// Keep taking apps that come due while the pass runs (their check or audit pause ended,
    /// a push woke them), until none is due: the pass ends when nothing can move now. `false`
    /// (default): the pass takes the apps due when it starts, once each.
    pub continuous: bool,
    /// How long this worker's claim on an app lasts unless renewed (default 30 s; renewed every
    /// third of it while the pass runs). Another worker takes an app over once its claim ran
    /// out, or at once when its process is gone from this host.
    pub lease: std::time::Duration,
}

impl Default for PassOptions {
    fn default() -> Self {
        PassOptions {
            concurrency: 32,
            check_poll: std::time::Duration::from_secs(1),
            audit_poll: std::time::Duration::from_secs(5),
            max_poll: std::time::Duration::from_secs(15 * 60),
            lease: std::time::Duration::from_secs(30),
            continuous: false,
        }
    }
}

impl PassOptions {
    /// The due time a claim of a pass that started at `start` takes apps up to.
    fn due_by(&self, start: i64) -> i64 {
        if self.continuous {
            now_ms()
        } else {
            start
        }
    }

    /// When an app that `wait`s after `polls` reads in a row is worth reading again, and the
    /// reads counted; `None` for an app that does not wait. An app behind the release's
    /// `max_in_audit` looks again after `audit_poll` (no doubling: slots free up as audits
    /// end); one behind a spent quota like an audit (the quota comes back with its period).
    fn next_read(&self, wait: Option<&Wait>, polls: i64) -> Option<(i64, i64)> {
        let first = match wait? {
            Wait::CheckRunning => self.check_poll,
            Wait::InAudit
            | Wait::OtherAuditRunning
            | Wait::QuotaExhausted
            | Wait::QuotaReserve
            | Wait::TemplateMissing
            | Wait::TooManyRejected
            | Wait::GrayPause => self.audit_poll,
            Wait::AuditSlots => {
                return Some((now_ms() + self.audit_poll.as_millis() as i64, polls));
            }
        };
        let pause = first
            .saturating_mul(1u32 << polls.clamp(0, 20) as u32)
            .min(self.max_poll);
        Some((now_ms() + pause.as_millis() as i64, polls + 1))
    }
}

/// What a release looks like after a pass.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReleaseSummary {
    /// Apps per vendor per stage.
    pub stages: BTreeMap<Vendor, BTreeMap<String, usize>>,
    /// Apps waiting, per reason.
    pub waiting: BTreeMap<String, usize>,
    /// Rejected apps with the vendor's reason.
    pub rejected: Vec<(Vendor, String, String)>,
    /// Apps whose last step failed (the stage stayed; the next pass tries again), with the
    /// error.
    pub errors: Vec<(Vendor, String, String)>,
    /// Apps whose owner must authorize the platform again.
    pub reauthorize: Vec<(Vendor, String)>,
    /// Apps refused because their vendor cannot ship code, per vendor, with the reason.
    pub unsupported: BTreeMap<Vendor, (usize, String)>,
    /// The template pinned per vendor (id, version) where the release file says `"newest"`.
    pub templates: BTreeMap<Vendor, (i64, String)>,
    /// Vendors whose template is not in their library (nothing is uploaded), with the reason.
    pub template_missing: BTreeMap<Vendor, String>,
    /// Vendors whose audit quota is down to the release's `quota_reserve` (their submissions
    /// wait), with what is left.
    pub quota_reserve_reached: BTreeMap<Vendor, i64>,
    /// Vendors whose audit quota is spent (their submissions wait).
    pub quota_exhausted: Vec<Vendor>,
    /// Vendors whose rejected share reached the release's `stop_at_rejected_share`: no more
    /// uploads, with (rejected, ended audits).
    pub stopped: BTreeMap<Vendor, (usize, usize)>,
    /// Apps the job can still move: not final, and not waiting for a new authorization.
    pub open: usize,
    /// When the first of those apps is worth reading again (ms since the epoch; `None`: no
    /// app is open): a `--watch` loop passes again then, not later.
    pub next_read_ms: Option<i64>,
}

impl ReleaseSummary {
    /// How long until the next pass is worth making, at most `longest`: until the first open
    /// app is due (at least 50 ms), or `longest` when none is.
    pub fn next_pass_in(&self, longest: std::time::Duration) -> std::time::Duration {
        match self.next_read_ms {
            Some(due) => {
                let wait = (due - now_ms()).max(50) as u64;
                std::time::Duration::from_millis(wait).min(longest)
            }
            None => longest,
        }
    }

    /// Whether nothing is left for the job to do: every app is released, rejected or
    /// withdrawn, waits for its owner to authorize the platform again, or was held back by
    /// its vendor's rejections (refused vendors aside). `--watch` stops then.
    pub fn finished(&self) -> bool {
        self.open == 0
    }

    /// Apps per stage name, all vendors.
    pub fn count(&self, stage: &str) -> usize {
        self.stages
            .values()
            .map(|s| s.get(stage).copied().unwrap_or(0))
            .sum()
    }
}

/// One pass of `release`: adds the inventory's apps of its vendors to the journal (and their
/// refresh tokens to the token store), then moves every app that is not final as far as it
/// can go now, journaling each stage. Returns what the journal holds afterwards.
pub async fn run_pass(
    release: &ReleaseFile,
    inventory_path: &Path,
    journal: &ReleaseJournal,
    backends: &Backends,
    options: &PassOptions,
) -> Result<ReleaseSummary, ReleaseError> {
    let pass_started = std::time::Instant::now();
    let mut summary = ReleaseSummary::default();
    let mut shippers: BTreeMap<Vendor, Arc<dyn ShipCode>> = BTreeMap::new();
    let mut refused: BTreeMap<Vendor, String> = BTreeMap::new();
    for (vendor, spec) in &release.vendors {
        match backends.get(vendor).map(|b| b.shipper()) {
            Some(Ok(s)) if !spec.gray.is_empty() && !s.supports_gray() => {
                refused.insert(
                    *vendor,
                    "this vendor documents no gray release: remove `gray` from its table to release at once".into(),
                );
            }
            Some(Ok(s)) if spec.quota_reserve.is_some() && !s.reads_quota() => {
                refused.insert(
                    *vendor,
                    "this vendor documents no call reading the audit quota: remove `quota_reserve` from its table".into(),
                );
            }
            Some(Ok(s)) => {
                let audit = Upload {
                    audit: spec.audit.clone(),
                    ..Upload::default()
                };
                match s.check_submission(&audit) {
                    Ok(()) => {
                        shippers.insert(*vendor, s);
                    }
                    Err(reason) => {
                        refused.insert(*vendor, format!("[{vendor}] audit: {reason}"));
                    }
                }
            }
            Some(Err(reason)) => {
                refused.insert(*vendor, reason.into());
            }
            None => {
                refused.insert(
                    *vendor,
                    "the credentials have no platform for this vendor".into(),
                );
            }
        }
    }
    // A vendor shipping the newest template gets the one pinned when the release began.
    let mut resolved = None;
    for (vendor, spec) in &release.vendors {
        if spec.template_id != TemplateId::Newest {
            continue;
        }
        let Some(shipper) = shippers.get(vendor) else {
            continue;
        };
        match newest_template(journal, &release.name, *vendor, shipper.as_ref()).await? {
            Ok((id, version)) => {
                resolved
                    .get_or_insert_with(|| release.clone())
                    .vendors
                    .get_mut(vendor)
                    .expect("the vendor is in the release")
                    .template_id = TemplateId::Id(id);
                summary.templates.insert(*vendor, (id, version));
            }
            Err(reason) => {
                shippers.remove(vendor);
                refused.insert(*vendor, reason);
            }
        }
    }
    let release = resolved.as_ref().unwrap_or(release);
    // The inventory's apps join the release (again only when the file or the refused vendors
    // changed), their refresh tokens in the token store before they are stepped; refused
    // vendors' apps are counted, nothing is sent for them.
    summary.unsupported =
        plan_inventory(release, inventory_path, journal, backends, &refused).await?;
    let counts = journal.stage_counts(&release.name).await?;
    let count_of = |vendor: Vendor, stage: &dyn Fn(&str) -> bool| -> usize {
        counts
            .iter()
            .filter(|c| c.vendor == vendor && stage(&c.stage_name))
            .map(|c| c.apps)
            .sum()
    };

    // A vendor whose audits reject too much gets no more uploads (an ended audit is released,
    // being released, or rejected).
    let mut stopped: BTreeMap<Vendor, bool> = BTreeMap::new();
    for (vendor, spec) in &release.vendors {
        let rejected = count_of(*vendor, &|s| s == "rejected");
        let ended = count_of(*vendor, &|s| {
            matches!(s, "rejected" | "released" | "releasing")
        });
        let stop = spec.stop_at_rejected_share.is_some_and(|share| {
            ended >= spec.min_audits && rejected as f64 >= share * ended as f64
        });
        if stop {
            summary.stopped.insert(*vendor, (rejected, ended));
        }
        stopped.insert(*vendor, stop);
    }
    // A template the library does not have (deleted, or never there) holds the vendor's
    // uploads: one read of the library per pass while apps wait to be uploaded, instead of a
    // refused upload per app.
    for (vendor, spec) in &release.vendors {
        let (Some(id), Some(shipper)) = (spec.template_id.id(), shippers.get(vendor)) else {
            continue;
        };
        if count_of(*vendor, &|s| s == Stage::Planned.name()) == 0 {
            continue;
        }
        let gone_key = (release.name.clone(), *vendor, id);
        let mut gone = journal
            .templates_gone
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&gone_key);
        match shipper.templates().await {
            Ok(Some(library)) if library.iter().any(|t| t.template_id == id) => gone = false,
            Ok(Some(library)) => {
                gone = false;
                let mut listed: Vec<String> =
                    library.iter().map(|t| t.template_id.to_string()).collect();
                if listed.len() > 10 {
                    listed.truncate(10);
                    listed.push("…".into());
                }
                summary.template_missing.insert(
                    *vendor,
                    format!(
                        "template {id} is not in the platform's template library (it has {}): nothing is uploaded; name one that is, or \"newest\"",
                        if listed.is_empty() { "none".to_owned() } else { listed.join(", ") }
                    ),
                );
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(%vendor, error = %e, "could not read the template library");
            }
        }
        if gone {
            summary.template_missing.insert(
                *vendor,
                format!("the vendor answered that template {id} does not exist: nothing more is uploaded; name a template of the library, or \"newest\""),
            );
        } else {
            journal
                .templates_gone
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&gone_key);
        }
    }
    let in_audit: BTreeMap<Vendor, Arc<AtomicUsize>> = release
        .vendors
        .keys()
        .map(|v| {
            let n = count_of(*v, &|s| {
                matches!(s, "committed" | "submitting" | "in_audit")
            });
            (*v, Arc::new(AtomicUsize::new(n)))
        })
        .collect();
    let quota_spent: BTreeMap<Vendor, Arc<AtomicBool>> = release
        .vendors
        .keys()
        .map(|v| (*v, Arc::new(AtomicBool::new(false))))
        .collect();
    // Apps waiting for their check or audit are read when that is worth it, not every pass;
    // each is claimed first, so that workers sharing the journal never step one app at once.
    let worker = worker_id();
    let lease_ms = options.lease.as_millis() as i64;
    let heartbeat = {
        let (journal, name, every) = (journal.clone(), release.name.clone(), options.lease / 3);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if let Err(e) = journal.renew(&name, worker, lease_ms).await {
                    tracing::warn!(error = %e, "could not renew this worker's claims");
                }
            }
        })
    };
    let _stop = AbortOnDrop(heartbeat);
    tracing::debug!(
        ms = pass_started.elapsed().as_millis() as u64,
        "pass prepared"
    );
    let batch = (options.concurrency.max(1) * 2) as i64;
    // Apps due when the pass starts: one read each; what they wait for next is a later pass's.
    let due_by = now_ms();
    let context = Arc::new(PassContext {
        release: release.clone(),
        journal: journal.clone(),
        options: options.clone(),
    });
    // Each vendor's apps are claimed and stepped on their own, `concurrency` at once, so that
    // one vendor's rate limit never holds another's apps back; each app's steps run as a task
    // of its own (the runtime spreads them over its threads).
    let busy_lanes = Arc::new(AtomicUsize::new(shippers.len()));
    let mut lanes = Vec::new();
    let vendor_runs = shippers.iter().map(|(&vendor, shipper)| {
        let busy_lanes = busy_lanes.clone();
        let lane = Arc::new(VendorLane {
            vendor,
            shipper: shipper.clone(),
            in_audit: in_audit[&vendor].clone(),
            quota_spent: quota_spent[&vendor].clone(),
            stopped: stopped.get(&vendor).copied().unwrap_or(false),
            template_missing: AtomicBool::new(summary.template_missing.contains_key(&vendor)),
            reserve: context.release.vendors[&vendor]
                .quota_reserve
                .map(|reserve| QuotaReserve {
                    reserve,
                    left: tokio::sync::OnceCell::new(),
                }),
        });
        lanes.push(lane.clone());
        let context = context.clone();
        async move {
            // Claims are taken a batch at a time as the apps in flight need more, so that the
            // concurrency stays full while other workers can claim the rest.
            // Watching, a lane with nothing due keeps looking while another vendor's lane
            // still finds apps (a push may wake one of its apps meanwhile); the pass ends when
            // every lane is dry at once.
            let claims = futures_util::stream::unfold((false, false), |(failed, dry)| {
                let context = &context;
                let busy = &busy_lanes;
                async move {
                    let mut dry = dry;
                    loop {
                        if failed {
                            if !dry {
                                busy.fetch_sub(1, Ordering::SeqCst);
                            }
                            return None;
                        }
                        let claiming = std::time::Instant::now();
                        let claimed = context
                            .journal
                            .claim(
                                &context.release.name,
                                &[vendor],
                                worker,
                                batch,
                                lease_ms,
                                context.options.due_by(due_by),
                            )
                            .await;
                        tracing::debug!(
                            %vendor,
                            ms = claiming.elapsed().as_millis() as u64,
                            rows = claimed.as_ref().map_or(0, |r| r.len()),
                            "claimed"
                        );
                        match claimed {
                            Ok(rows) if rows.is_empty() => {
                                if !dry {
                                    dry = true;
                                    busy.fetch_sub(1, Ordering::SeqCst);
                                }
                                if !context.options.continuous || busy.load(Ordering::SeqCst) == 0 {
                                    return None;
                                }
                                tokio::time::sleep(DRY_LANE_LOOKS_EVERY).await;
                            }
                            Ok(rows) => {
                                if dry {
                                    busy.fetch_add(1, Ordering::SeqCst);
                                }
                                return Some((Ok(rows), (false, false)));
                            }
                            Err(e) => return Some((Err(e), (true, dry))),
                        }
                    }
                }
            });
            let rows = claims.flat_map(|claimed| {
                let rows: Vec<Result<ReleaseRow, ReleaseError>> = match claimed {
                    Ok(rows) => rows.into_iter().map(Ok).collect(),
                    Err(e) => vec![Err(e)],
                };
                futures_util::stream::iter(rows)
            });
            rows.map(|row| {
                // Spawned as the buffer takes it, so that at most `concurrency` run.
                let task = row.map(|row| {
                    AbortOnDrop(tokio::spawn(step_app(context.clone(), lane.clone(), row)))
                });
                async move {
                    match task?.await {
                        Ok(outcome) => outcome,
                        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                        // Aborted (the runtime is shutting down): the app stays claimed until
                        // its lease runs out, and its last journaled stage is the truth.
                        Err(_) => Ok(()),
                    }
                }
            })
            .buffer_unordered(context.options.concurrency.max(1))
            // Counted as they end (a pass may step hundreds of thousands of apps): how many,
            // and the first error.
            .fold((0usize, None), |(stepped, first), outcome| async move {
                (stepped + 1, first.or(outcome.err()))
            })
            .await
        }
    });
    let mut stepped = 0;
    let mut first_error = None;
    for (n, error) in futures_util::future::join_all(vendor_runs).await {
        stepped += n;
        first_error = first_error.or(error);
    }
    tracing::debug!(
        ms = pass_started.elapsed().as_millis() as u64,
        stepped,
        "pass stepped"
    );
    if let Some(error) = first_error {
        return Err(error);
    }
    for (vendor, spent) in &quota_spent {
        if spent.load(Ordering::SeqCst) {
            summary.quota_exhausted.push(*vendor);
        }
    }
    for lane in &lanes {
        if lane.template_missing.load(Ordering::SeqCst) {
            let id = release.vendors[&lane.vendor]
                .template_id
                .id()
                .unwrap_or_default();
            journal
                .templates_gone
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert((release.name.clone(), lane.vendor, id));
            summary.template_missing.entry(lane.vendor).or_insert_with(|| {
                format!("the vendor answered that template {id} does not exist: nothing more is uploaded; name a template of the library, or \"newest\"")
            });
        }
        let Some(reserve) = &lane.reserve else {
            continue;
        };
        if let Some(left) = reserve.left.get() {
            let left = left.load(Ordering::SeqCst);
            if left <= reserve.reserve {
                summary.quota_reserve_reached.insert(lane.vendor, left);
            }
        }
    }
    summarize(&release.name, journal, summary).await
}

/// Whether an app in `stage` counts against `max_in_audit`: uploaded, and its audit not
/// ended.
fn holds_audit_slot(stage: &Stage) -> bool {
    matches!(
        stage,
        Stage::Committed { .. } | Stage::Submitting { .. } | Stage::InAudit { .. }
    )
}

/// A task that ends with its owner; awaiting it awaits the task.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> std::future::Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0).poll(cx)
    }
}

/// What every app's task of a pass shares.
struct PassContext {
    release: ReleaseFile,
    journal: ReleaseJournal,
    options: PassOptions,
}

/// What the tasks of one vendor's apps share in a pass.
struct VendorLane {
    vendor: Vendor,
    shipper: Arc<dyn ShipCode>,
    /// Apps of the vendor holding an audit slot (`max_in_audit`).
    in_audit: Arc<AtomicUsize>,
    /// The vendor answered that its audit quota is spent.
    quota_spent: Arc<AtomicBool>,
    /// Too many of the vendor's audits were rejected: no more uploads.
    stopped: bool,
    /// The release's template is not in the vendor's library: no more uploads.
    template_missing: AtomicBool,
    /// The release's `quota_reserve`, with what is left of the quota in this pass.
    reserve: Option<QuotaReserve>,
}

/// The audit quota a vendor's lane may still spend in a pass.
struct QuotaReserve {
    /// Submissions stop at this many left.
    reserve: i64,
    /// Left: read through the first app about to submit, then counted down per submission.
    left: tokio::sync::OnceCell<std::sync::atomic::AtomicI64>,
}

impl QuotaReserve {
    /// Takes one submission from the quota, reading it first through `app`; `false` when the
    /// quota is down to the reserve.
    async fn take(&self, shipper: &dyn ShipCode, app: &str) -> Result<bool, Error> {
        let left = self
            .left
            .get_or_try_init(|| async {
                let quota = shipper.quota(app).await?;
                // A vendor without the call is refused before its apps are stepped.
                let rest = quota.map_or(i64::MAX, |q| q.rest);
                tracing::info!(rest, reserve = self.reserve, "read the audit quota");
                Ok::<_, Error>(std::sync::atomic::AtomicI64::new(rest))
            })
            .await?;
        Ok(left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n > self.reserve).then_some(n - 1)
            })
            .is_ok())
    }

    /// Gives back a submission taken for one that did not start an audit.
    fn give_back(&self) {
        if let Some(left) = self.left.get() {
            left.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// One app's task: [`advance`]s it.
async fn step_app(
    context: Arc<PassContext>,
    lane: Arc<VendorLane>,
    row: ReleaseRow,
) -> Result<(), ReleaseError> {
    advance(
        &context.release,
        &context.journal,
        &lane,
        &context.release.vendors[&lane.vendor],
        row,
        &context.options,
    )
    .await
}

/// How often a vendor's lane with nothing due looks again while another vendor's lane runs.
const DRY_LANE_LOOKS_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// Apps of the inventory planned (and their tokens imported) per transaction.
const PLAN_CHUNK: usize = 500;

/// Adds the apps of the inventory at `path` whose vendor ships in `release` to the journal
/// (once per file version: a pass plans again only when the file changed since this journal
/// handle last planned from it), a chunk at a time so that memory stays flat, and puts the
/// refresh tokens of those not stepped yet in the token store (it keeps an authorization it
/// holds: its refresh token may be newer). Returns the apps refused, per vendor with the
/// reason.
async fn plan_inventory(
    release: &ReleaseFile,
    path: &Path,
    journal: &ReleaseJournal,
    backends: &Backends,
    refused: &BTreeMap<Vendor, String>,
) -> Result<BTreeMap<Vendor, (usize, String)>, ReleaseError> {
    let metadata = std::fs::metadata(path).map_err(|e| InventoryError {
        path: path.to_owned(),
        line: 0,
        message: format!("cannot read the inventory: {e}"),
    })?;
    let mut mark = InventoryMark {
        release: release.name.clone(),
        path: path.to_owned(),
        len: metadata.len(),
        modified: metadata.modified().ok(),
        refused: refused.keys().copied().collect(),
        unsupported: BTreeMap::new(),
    };
    {
        let last = journal
            .planned_from
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(last) = last.as_ref() {
            let same_file = last.release == mark.release
                && last.path == mark.path
                && last.len == mark.len
                && last.modified == mark.modified
                && last.refused == mark.refused;
            if same_file && last.modified.is_some() {
                return Ok(last.unsupported.clone());
            }
        }
    }
    let mut apps = inventory::iter(path)?;
    let mut chunk = Vec::with_capacity(PLAN_CHUNK);
    loop {
        chunk.clear();
        for app in apps.by_ref() {
            let app = app?;
            if let Some(reason) = refused.get(&app.vendor) {
                mark.unsupported
                    .entry(app.vendor)
                    .or_insert((0, reason.clone()))
                    .0 += 1;
            } else if release.vendors.contains_key(&app.vendor) {
                chunk.push(app);
                if chunk.len() == PLAN_CHUNK {
                    break;
                }
            }
        }
        if chunk.is_empty() {
            break;
        }
        let planned = journal.plan_apps(&release.name, &chunk).await?;
        futures_util::stream::iter(chunk.drain(..))
            .filter(|app| {
                let open = planned.contains(&(app.vendor, app.app_id.clone()));
                async move { open }
            })
            .for_each_concurrent(32, |app| async move {
                let (Some(token), Some(backend)) = (app.refresh_token, backends.get(&app.vendor))
                else {
                    return;
                };
                if let Err(e) = backend.import(&app.app_id, token).await {
                    tracing::warn!(app = %app.app_id, error = %e, "could not import the app's refresh token");
                }
            })
            .await;
    }
    let unsupported = mark.unsupported.clone();
    *journal
        .planned_from
        .lock()
        .unwrap_or_else(|p| p.into_inner()) = Some(mark);
    Ok(unsupported)
}

/// The template pinned for `vendor`'s apps of `release`, pinning the newest of the library
/// first when none is; `Err` with the reason when there is none to pin (nothing is sent for
/// the vendor's apps this pass).
async fn newest_template(
    journal: &ReleaseJournal,
    release: &str,
    vendor: Vendor,
    shipper: &dyn ShipCode,
) -> Result<Result<(i64, String), String>, ReleaseError> {
    if let Some(pinned) = journal.pinned_template(release, vendor).await? {
        return Ok(Ok(pinned));
    }
    let library = match shipper.templates().await {
        Ok(Some(library)) => library,
        Ok(None) => {
            return Ok(Err(
                "template_id = \"newest\": this vendor has no call listing its template library; give the template's id".into(),
            ))
        }
        Err(e) => {
            return Ok(Err(format!(
                "template_id = \"newest\": the template library could not be read ({e}); the next pass tries again"
            )))
        }
    };
    match core_http::shipping::newest(&library) {
        Some(newest) => {
            let pinned = journal.pin_template(release, vendor, newest).await?;
            tracing::info!(%vendor, template = pinned.0, version = %pinned.1, "pinned the newest template of the library");
            Ok(Ok(pinned))
        }
        None => Ok(Err(
            "template_id = \"newest\": the platform's template library is empty; add a draft to it first (addtotemplate)".into(),
        )),
    }
}

/// Moves one app until it must wait, is final, or a step fails; journals every stage (only
/// while this worker holds the app: a worker whose claim was taken over stops).
async fn advance(
    release: &ReleaseFile,
    journal: &ReleaseJournal,
    lane: &VendorLane,
    spec: &VendorRelease,
    row: ReleaseRow,
    options: &PassOptions,
) -> Result<(), ReleaseError> {
    let (shipper, in_audit, quota_spent, stopped) = (
        lane.shipper.as_ref(),
        &*lane.in_audit,
        &*lane.quota_spent,
        lane.stopped,
    );
    let worker = worker_id();
    let upload = match spec.upload_with(&row.app_id, &row.columns) {
        Ok(upload) => upload,
        Err(message) => {
            // Nothing is sent for an app whose ext_json cannot be filled; the next pass (with
            // a mended inventory) tries again.
            let next = options.next_read(Some(&Wait::CheckRunning), row.polls);
            let step = Step {
                reauthorize: false,
                stage: &row.stage,
                wait: None,
                message: Some(&message),
                next,
            };
            return save_step(journal, &release.name, &row, step, worker, true)
                .await
                .map(drop);
        }
    };
    let worker = worker_id();
    // Every step is journaled under this worker's claim ([`save_step`]); a claim lost to
    // another worker stops the app here.
    let mut stage = row.stage.clone();
    let mut polls = row.polls;
    // The first stage is the journal's; later ones this loop journaled itself.
    let mut fresh = false;
    loop {
        // Submissions wait while the quota is spent; new uploads while the vendor's audits are
        // at the release's limit.
        let submits = matches!(stage, Stage::Committed { .. } | Stage::Submitting { .. });
        // The step that submits takes one submission from the quota above the reserve first.
        let mut took = false;
        let reserve_reached = match (&lane.reserve, &stage) {
            (Some(reserve), Stage::Submitting { .. }) => {
                match reserve.take(shipper, &row.app_id).await {
                    Ok(taken) => {
                        took = taken;
                        !taken
                    }
                    Err(e) => {
                        let step = Step {
                            reauthorize: false,
                            stage: &stage,
                            wait: None,
                            message: Some(&format!("reading the audit quota: {e}")),
                            next: options.next_read(Some(&Wait::CheckRunning), polls),
                        };
                        return save_step(journal, &release.name, &row, step, worker, true)
                            .await
                            .map(drop);
                    }
                }
            }
            _ => false,
        };
        let blocked = if submits && quota_spent.load(Ordering::SeqCst) {
            Some(Wait::QuotaExhausted)
        } else if reserve_reached {
            Some(Wait::QuotaReserve)
        } else if stage == Stage::Planned && stopped {
            Some(Wait::TooManyRejected)
        } else if stage == Stage::Planned && lane.template_missing.load(Ordering::SeqCst) {
            Some(Wait::TemplateMissing)
        } else if stage == Stage::Planned
            && spec.max_in_audit.is_some_and(|max| {
                // Take a slot before the upload, or wait.
                in_audit
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                        (n < max).then_some(n + 1)
                    })
                    .is_err()
            })
        {
            Some(Wait::AuditSlots)
        } else {
            None
        };
        if let Some(wait) = blocked {
            if took {
                if let Some(reserve) = &lane.reserve {
                    reserve.give_back();
                }
            }
            let next = options.next_read(Some(&wait), polls);
            let step = Step {
                reauthorize: false,
                stage: &stage,
                wait: Some(&wait),
                message: None,
                next,
            };
            return save_step(journal, &release.name, &row, step, worker, true)
                .await
                .map(drop);
        }
        // An app holds a slot from its upload until its audit ends (a planned app took one
        // above when the release has a limit).
        let slotted = spec.max_in_audit.is_some();
        let held = holds_audit_slot(&stage) || (slotted && stage == Stage::Planned);
        let outcome =
            ship::step_staged(shipper, &row.app_id, &upload, &spec.gray, &stage, fresh).await;
        let holds = outcome
            .as_ref()
            .map_or(holds_audit_slot(&stage), |p| holds_audit_slot(&p.stage));
        // A submission taken from the quota that started no audit (already in audit, check
        // running, quota spent, an error) is given back.
        let audited = outcome
            .as_ref()
            .is_ok_and(|p| matches!(p.stage, Stage::InAudit { .. }) && p.wait.is_some());
        if took && !audited {
            if let Some(reserve) = &lane.reserve {
                reserve.give_back();
            }
        }
        if held && !holds {
            in_audit.fetch_sub(1, Ordering::SeqCst);
        } else if holds && !held {
            in_audit.fetch_add(1, Ordering::SeqCst);
        }
        match outcome {
            Ok(progress) => {
                if progress.wait == Some(Wait::QuotaExhausted) {
                    quota_spent.store(true, Ordering::SeqCst);
                }
                // A wait in the same stage counts reads in a row; a move starts over.
                if progress.stage != stage {
                    polls = 0;
                }
                let last = progress.wait.is_some() || progress.stage.is_final();
                let next = match progress.wait {
                    // The next gray stage comes after the release's pause.
                    Some(Wait::GrayPause) => {
                        Some((now_ms() + spec.gray_pause().as_millis() as i64, 0))
                    }
                    _ => options.next_read(progress.wait.as_ref(), polls),
                };
                let step = Step {
                    reauthorize: false,
                    stage: &progress.stage,
                    wait: progress.wait.as_ref(),
                    message: None,
                    next,
                };
                if !save_step(journal, &release.name, &row, step, worker, last).await? || last {
                    return Ok(());
                }
                stage = progress.stage;
                fresh = true;
            }
            Err(e) if stage == Stage::Planned && shipper.template_missing(&e) => {
                // The template left the library: every upload of the vendor would be refused.
                lane.template_missing.store(true, Ordering::SeqCst);
                tracing::warn!(app = %row.app_id, error = %e, "the release's template is not in the library; holding the vendor's uploads");
                let wait = Wait::TemplateMissing;
                let step = Step {
                    reauthorize: false,
                    stage: &stage,
                    wait: Some(&wait),
                    message: None,
                    next: options.next_read(Some(&wait), polls),
                };
                return save_step(journal, &release.name, &row, step, worker, true)
                    .await
                    .map(drop);
            }
            Err(e) => {
                let message = e.to_string();
                tracing::warn!(app = %row.app_id, stage = stage.name(), error = %e, "release step failed; a later pass tries again");
                // Tried again after a pause that grows like a check's.
                let next = options.next_read(Some(&Wait::CheckRunning), polls);
                let step = Step {
                    reauthorize: matches!(e, Error::AuthorizationLost { .. }),
                    stage: &stage,
                    wait: None,
                    message: Some(&message),
                    next,
                };
                return save_step(journal, &release.name, &row, step, worker, true)
                    .await
                    .map(drop);
            }
        }
    }
}

/// Journals `step` of `row` under `worker`'s claim (`last`: and ends the claim); whether the
/// claim was still `worker`'s.
async fn save_step(
    journal: &ReleaseJournal,
    release: &str,
    row: &ReleaseRow,
    step: Step<'_>,
    worker: &str,
    last: bool,
) -> Result<bool, ReleaseError> {
    let kept = journal
        .record_claimed(release, row, &step, worker, last)
        .await?;
    if !kept {
        tracing::warn!(app = %row.app_id, "another worker took this app over; stopping");
    }
    Ok(kept)
}

/// Receives the audit-result pushes of the release's vendors (each vendor crate's
/// `shipping::audit_pushes`, verified with the platform's push settings) at `/{vendor}/events`
/// (the path to configure at the vendor is returned: WeChat `/wechat/events/$APPID$`, Baidu
/// `/baidu/events`):
/// each push marks its app worth reading at once ([`ReleaseJournal::wake`]) and notifies
/// `wakeup`, so a `--watch` loop passes now instead of at its next poll. Pushes are hints: a
/// lost one is made up by the polls, a duplicated or late one only causes a read. Vendors
/// that push no audit results (Kuaishou) are left out; returns the router and, per vendor
/// served, the path to configure as its push URL.
pub fn audit_listener(
    release: &ReleaseFile,
    journal: &ReleaseJournal,
    backends: &Backends,
    wakeup: Arc<tokio::sync::Notify>,
) -> Result<(axum::Router, Vec<(Vendor, String)>), Error> {
    let mut router = axum::Router::new();
    let mut served = Vec::new();
    for vendor in release.vendors.keys() {
        let Some(backend) = backends.get(vendor) else {
            continue;
        };
        let (journal, name, wakeup, vendor_) = (
            journal.clone(),
            release.name.clone(),
            wakeup.clone(),
            *vendor,
        );
        let on_audit: core_http::shipping::OnAudit = Arc::new(move |app: Option<String>| {
            let (journal, name, wakeup) = (journal.clone(), name.clone(), wakeup.clone());
            tokio::spawn(async move {
                match journal.wake(&name, vendor_, app.as_deref()).await {
                    Ok(rows) => {
                        tracing::debug!(vendor = %vendor_, app = ?app, rows, "audit push: read again now");
                        wakeup.notify_one();
                    }
                    Err(e) => tracing::warn!(error = %e, "audit push: could not mark the app"),
                }
            });
        });
        if let Some((events, below)) = backend.audit_pushes(on_audit)? {
            let mount = format!("/{vendor}/events");
            router = router.nest(&mount, events);
            served.push((*vendor, format!("{mount}{below}")));
        }
    }
    Ok((router, served))
}

/// Writes `summary` as JSON to `report`, the rejected apps (vendor, app, reason) as CSV beside
/// it (`….rejected.csv`) and the apps whose owner must authorize the platform again (vendor,
/// app, the vendor's answer) as `….reauthorize.csv` (only when there are some); returns the
/// CSVs' paths.
pub fn write_report(report: &Path, summary: &ReleaseSummary) -> std::io::Result<ReportFiles> {
    std::fs::write(report, serde_json::to_vec_pretty(summary)?)?;
    let rejected = report.with_extension("rejected.csv");
    let mut csv = csv::Writer::from_path(&rejected)?;
    csv.write_record(["vendor", "app_id", "reason"])?;
    for (vendor, app, reason) in &summary.rejected {
        csv.write_record([vendor.as_str(), app, reason])?;
    }
    csv.flush()?;
    let reauthorize = report.with_extension("reauthorize.csv");
    let reauthorize = if summary.reauthorize.is_empty() {
        // A file from an earlier pass would name apps that are fine now.
        match std::fs::remove_file(&reauthorize) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => None,
        }
    } else {
        let messages: BTreeMap<(Vendor, &str), &str> = summary
            .errors
            .iter()
            .map(|(v, app, message)| ((*v, app.as_str()), message.as_str()))
            .collect();
        let mut csv = csv::Writer::from_path(&reauthorize)?;
        csv.write_record(["vendor", "app_id", "message"])?;
        for (vendor, app) in &summary.reauthorize {
            let message = messages
                .get(&(*vendor, app.as_str()))
                .copied()
                .unwrap_or_default();
            csv.write_record([
                vendor.as_str(),
                app,
                // Journals older than the `reauthorize` column marked it in the message.
                message.trim_start_matches("reauthorize: "),
            ])?;
        }
        csv.flush()?;
        Some(reauthorize)
    };
    Ok(ReportFiles {
        rejected,
        reauthorize,
    })
}

/// The CSVs [`write_report`] wrote beside the report.
#[derive(Debug, Clone)]
pub struct ReportFiles {
    /// The rejected apps with the vendor's reason.
    pub rejected: PathBuf,
    /// The apps to authorize again, when there are some.
    pub reauthorize: Option<PathBuf>,
}

/// What the journal holds for `release`.
pub async fn summarize(
    release: &str,
    journal: &ReleaseJournal,
    mut summary: ReleaseSummary,
) -> Result<ReleaseSummary, ReleaseError> {
    summary.templates = journal.pinned_templates(release).await?;
    for count in journal.stage_counts(release).await? {
        *summary
            .stages
            .entry(count.vendor)
            .or_default()
            .entry(count.stage_name.clone())
            .or_default() += count.apps;
        let is_final = matches!(
            count.stage_name.as_str(),
            "released" | "rejected" | "withdrawn" | "upload_failed" | "rolled_back"
        );
        // Apps never uploaded because their vendor's rejections stopped the release, or its
        // template is gone, wait for the operator, not for the job.
        let held = count.stage_name == Stage::Planned.name()
            && (summary.stopped.contains_key(&count.vendor)
                || summary.template_missing.contains_key(&count.vendor));
        if !is_final && !count.reauthorize && !held {
            summary.open += count.apps;
            // An app another worker holds is due when its claim runs out, at the latest.
            summary.next_read_ms =
                Some(summary.next_read_ms.map_or(count.due, |n| n.min(count.due)));
        }
    }
    summary.waiting = journal.wait_counts(release).await?;
    for row in journal.rows_to_report(release).await? {
        match &row.stage {
            Stage::Rejected { reason, .. } => {
                summary
                    .rejected
                    .push((row.vendor, row.app_id.clone(), reason.clone()));
            }
            Stage::UploadFailed { reason } => {
                summary.rejected.push((
                    row.vendor,
                    row.app_id.clone(),
                    format!("upload failed: {reason}"),
                ));
            }
            _ => {}
        }
        if let Some(message) = &row.message {
            if row.reauthorize {
                summary.reauthorize.push((row.vendor, row.app_id.clone()));
            }
            summary
                .errors
                .push((row.vendor, row.app_id.clone(), message.clone()));
        }
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn journal() -> (tempfile::TempDir, ReleaseJournal) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("journal.sqlite").display());
        (dir, ReleaseJournal::open(&url).await.unwrap())
    }

    /// A row naming a vendor this build does not know, or a stage it cannot read, is an
    /// error that says so: never WeChat, never `Planned` (which would submit the app again).
    #[tokio::test]
    async fn an_unreadable_row_is_an_error_not_a_guess() {
        let (_dir, journal) = journal().await;
        assert!(journal.plan("r", Vendor::Baidu, "1").await.unwrap());
        assert_eq!(journal.rows("r").await.unwrap()[0].vendor, Vendor::Baidu);
        assert_eq!(
            journal.stage_counts("r").await.unwrap()[0].vendor,
            Vendor::Baidu
        );
        let set = |sql: &'static str| sqlx::query(sql).execute(&journal.pool);
        set("UPDATE miniapp_release SET vendor = 'douyin'")
            .await
            .unwrap();
        for err in [
            journal.rows("r").await.unwrap_err().to_string(),
            journal.stage_counts("r").await.unwrap_err().to_string(),
        ] {
            assert!(err.contains("unknown vendor `douyin`"), "{err}");
        }
        set("UPDATE miniapp_release SET vendor = 'baidu', stage = '{\"Uploaded\":'")
            .await
            .unwrap();
        let err = journal.rows("r").await.unwrap_err().to_string();
        assert!(err.contains("unreadable stage"), "{err}");
    }

    /// A push that wakes an app while a worker reads it keeps the app due after that step
    /// (which may have read before the push), and a wake consumed by a claim is not kept.
    #[tokio::test]
    async fn a_push_during_a_step_keeps_the_app_due() {
        let (_dir, journal) = journal().await;
        let (release, vendor, app) = ("r", Vendor::Wechat, "wx1");
        assert!(journal.plan(release, vendor, app).await.unwrap());
        let in_audit = Stage::InAudit {
            audit_id: "1".into(),
            delayed: false,
        };
        let later = now_ms() + 60_000;
        let step = Step {
            reauthorize: false,
            stage: &in_audit,
            wait: Some(&Wait::InAudit),
            message: None,
            next: Some((later, 1)),
        };
        let vendors = [vendor];
        let claim = |due| journal.claim(release, &vendors, "w", 10, 30_000, due);

        // Claimed, then woken by a push while the step reads: the step's pause is not kept.
        let row = claim(now_ms()).await.unwrap().pop().unwrap();
        assert_eq!(journal.wake(release, vendor, Some(app)).await.unwrap(), 1);
        assert!(journal
            .record_claimed(release, &row, &step, "w", true)
            .await
            .unwrap());
        let row = &journal.rows(release).await.unwrap()[0];
        assert_eq!((row.stage.clone(), row.next_ms), (in_audit.clone(), 0));

        // Woken before the claim: the claim consumes the wake, the step's pause holds.
        assert_eq!(journal.wake(release, vendor, Some(app)).await.unwrap(), 1);
        let row = claim(now_ms()).await.unwrap().pop().unwrap();
        assert_eq!(row.next_ms, 0);
        assert!(journal
            .record_claimed(release, &row, &step, "w", true)
            .await
            .unwrap());
        assert_eq!(journal.rows(release).await.unwrap()[0].next_ms, later);
        assert!(claim(now_ms()).await.unwrap().is_empty(), "not due");
    }
}
