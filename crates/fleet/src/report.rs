//! The report of a job, streamed from the journal: JSON Lines, one record per app and resource
//! (outcome, vendor code and documented text, attempts, writes, elapsed); beside it one CSV
//! per category that needs someone's attention (apps to authorize again, failures with their
//! reasons, rows not finished) and a small summary file (counts per vendor and outcome, a few
//! ids of each category, the CSVs' paths, the rates found). Nothing is held per app: a report
//! of 100,000 apps costs what one of 10 does.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::Path;

use serde::Serialize;

use crate::journal::{Journal, JournalError, RowState};
use crate::vendors::Vendor;

/// One record (line) of the JSON Lines report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Record {
    /// The vendor.
    pub vendor: Vendor,
    /// The app (`null` for a platform resource).
    pub app_id: Option<String>,
    /// The resource's spec name.
    pub resource: String,
    /// `done`, `unchanged`, `failed`, `unknown`, `reauth` (or `planned`/`sending` when the job
    /// did not finish).
    pub outcome: RowState,
    /// The vendor's code, when it refused.
    pub vendor_code: Option<i64>,
    /// The vendor's message and the documented meaning (or the error).
    pub message: Option<String>,
    /// Calls made (reads and writes).
    pub attempts: i64,
    /// Writes sent.
    pub writes: i64,
    /// Time spent, in milliseconds.
    pub elapsed_ms: i64,
}

/// A category of rows that needs someone's attention, with a CSV of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Attention {
    /// The app's authorization is lost: ask the merchant to authorize the platform again.
    Reauthorize,
    /// The vendor refused (or the input is invalid): the reason is in the message.
    Failed,
    /// Not finished (the outcome of a write is unknown, or rows were left to retry when the
    /// budget ran out): run `apply` again.
    Unfinished,
}

impl Attention {
    /// The category of a row in `state`, if it needs attention.
    pub fn of(state: RowState) -> Option<Attention> {
        match state {
            RowState::Reauth => Some(Attention::Reauthorize),
            RowState::Failed => Some(Attention::Failed),
            RowState::Unknown | RowState::Planned | RowState::Sending => {
                Some(Attention::Unfinished)
            }
            RowState::Done | RowState::Unchanged => None,
        }
    }

    /// Its name in file names (`report.reauthorize.csv`).
    pub fn as_str(self) -> &'static str {
        match self {
            Attention::Reauthorize => "reauthorize",
            Attention::Failed => "failed",
            Attention::Unfinished => "unfinished",
        }
    }

    /// Every category.
    pub const ALL: [Attention; 3] = [
        Attention::Reauthorize,
        Attention::Failed,
        Attention::Unfinished,
    ];
}

/// How many ids of each category and vendor the summary keeps for the terminal.
pub const SAMPLE: usize = 5;

/// What a job came to.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// `(vendor, outcome)` → records.
    pub counts: BTreeMap<(Vendor, RowState), u64>,
    /// `(category, vendor)` → distinct apps (the platform counts as one, with an empty id).
    pub attention: BTreeMap<(Attention, Vendor), u64>,
    /// `(category, vendor)` → the first [`SAMPLE`] app ids.
    pub samples: BTreeMap<(Attention, Vendor), Vec<String>>,
    /// The CSV written for each category that has rows.
    pub csv: BTreeMap<Attention, std::path::PathBuf>,
    /// Writes sent in all.
    pub writes: u64,
    /// The rate each vendor's calls were paced at when the run ended (calls per second), if
    /// the vendor ever throttled or a ceiling was set.
    pub rates: BTreeMap<Vendor, f64>,
}

impl Summary {
    /// Records with `state`, all vendors.
    pub fn total(&self, state: RowState) -> u64 {
        self.counts
            .iter()
            .filter(|((_, s), _)| *s == state)
            .map(|(_, n)| n)
            .sum()
    }

    /// Apps whose authorization is lost, all vendors.
    pub fn reauthorize(&self) -> u64 {
        self.attention
            .iter()
            .filter(|((a, _), _)| *a == Attention::Reauthorize)
            .map(|(_, n)| n)
            .sum()
    }

    /// Whether every app and resource reached its desired value.
    pub fn all_ok(&self) -> bool {
        self.counts
            .keys()
            .all(|(_, s)| matches!(s, RowState::Done | RowState::Unchanged))
    }
}

/// The columns of the CSVs.
const CSV_HEADER: [&str; 6] = [
    "vendor",
    "app_id",
    "resource",
    "outcome",
    "vendor_code",
    "message",
];

/// The CSV of `category` beside the report at `path` (`report.jsonl` →
/// `report.reauthorize.csv`).
pub fn csv_path(path: &Path, category: Attention) -> std::path::PathBuf {
    path.with_extension(format!("{}.csv", category.as_str()))
}

/// The summary file beside the report at `path` (`report.jsonl` → `report.summary.json`).
pub fn summary_path(path: &Path) -> std::path::PathBuf {
    path.with_extension("summary.json")
}

/// Writes `summary` of `job` (whose report is at `report`) to [`summary_path`] as one small
/// JSON document: `{"job", "all_ok", "writes", "outcomes": {vendor: {outcome: n}},
/// "attention": {category: {vendor: {"apps", "sample"}}}, "csv": {category: path},
/// "rates": {vendor: calls per second}, "report"}`; returns its path.
pub fn write_summary(
    report: &Path,
    job: &str,
    summary: &Summary,
) -> Result<std::path::PathBuf, ReportError> {
    let mut outcomes: BTreeMap<&str, BTreeMap<&str, u64>> = BTreeMap::new();
    for ((vendor, state), n) in &summary.counts {
        outcomes
            .entry(vendor.as_str())
            .or_default()
            .insert(state.as_str(), *n);
    }
    let mut attention: BTreeMap<&str, BTreeMap<&str, serde_json::Value>> = BTreeMap::new();
    for ((category, vendor), apps) in &summary.attention {
        let sample = summary
            .samples
            .get(&(*category, *vendor))
            .cloned()
            .unwrap_or_default();
        attention.entry(category.as_str()).or_default().insert(
            vendor.as_str(),
            serde_json::json!({ "apps": apps, "sample": sample }),
        );
    }
    let csv: BTreeMap<&str, String> = summary
        .csv
        .iter()
        .map(|(c, p)| (c.as_str(), p.display().to_string()))
        .collect();
    let rates: BTreeMap<&str, f64> = summary
        .rates
        .iter()
        .map(|(v, r)| (v.as_str(), *r))
        .collect();
    let document = serde_json::json!({
        "job": job,
        "all_ok": summary.all_ok(),
        "writes": summary.writes,
        "outcomes": outcomes,
        "attention": attention,
        "csv": csv,
        "rates": rates,
        "report": report.display().to_string(),
    });
    let path = summary_path(report);
    let text = serde_json::to_vec_pretty(&document).expect("a JSON value serializes");
    std::fs::write(&path, text).map_err(|e| ReportError::File(path.display().to_string(), e))?;
    Ok(path)
}

/// Walks `job`'s rows in plan order, writing the JSON Lines report to `path` when given (one
/// [`Record`] a line), and beside it a CSV per category that has rows
/// (`vendor,app_id,resource,outcome,vendor_code,message`; a category without rows has no
/// file, and an old one is removed). The summary file is [`write_summary`]'s.
pub async fn report(
    journal: &Journal,
    job: &str,
    path: Option<&Path>,
) -> Result<Summary, ReportError> {
    let mut csvs: BTreeMap<Attention, csv::Writer<std::fs::File>> = BTreeMap::new();
    if let Some(p) = path {
        for category in Attention::ALL {
            let _ = std::fs::remove_file(csv_path(p, category));
        }
    }
    let mut writer = match path {
        Some(p) => {
            Some(BufWriter::new(std::fs::File::create(p).map_err(|e| {
                ReportError::File(p.display().to_string(), e)
            })?))
        }
        None => None,
    };
    let io = |e: std::io::Error| {
        ReportError::File(path.map(|p| p.display().to_string()).unwrap_or_default(), e)
    };
    let mut summary = Summary::default();
    let mut last_app: BTreeMap<(Attention, Vendor), String> = BTreeMap::new();
    let mut after = 0;
    loop {
        let rows = journal.rows_after(job, after, 1000).await?;
        let Some(last) = rows.last() else { break };
        after = last.seq;
        for r in rows {
            *summary.counts.entry((r.vendor, r.state)).or_default() += 1;
            summary.writes += r.writes as u64;
            if let Some(category) = Attention::of(r.state) {
                let list = summary.samples.entry((category, r.vendor)).or_default();
                // An app's rows are together (plan order): count it once.
                let last = last_app.insert((category, r.vendor), r.app_id.clone());
                if last.as_deref() != Some(r.app_id.as_str()) {
                    *summary.attention.entry((category, r.vendor)).or_default() += 1;
                    if list.len() < SAMPLE {
                        list.push(r.app_id.clone());
                    }
                }
                if let Some(p) = path {
                    let w = match csvs.entry(category) {
                        std::collections::btree_map::Entry::Occupied(w) => w.into_mut(),
                        std::collections::btree_map::Entry::Vacant(slot) => {
                            let file = csv_path(p, category);
                            let failed = |e: csv::Error| {
                                ReportError::File(file.display().to_string(), e.into())
                            };
                            let mut w = csv::Writer::from_path(&file).map_err(failed)?;
                            w.write_record(CSV_HEADER).map_err(failed)?;
                            summary.csv.insert(category, file);
                            slot.insert(w)
                        }
                    };
                    w.write_record([
                        r.vendor.as_str(),
                        &r.app_id,
                        &r.resource,
                        r.state.as_str(),
                        &r.vendor_code.map(|c| c.to_string()).unwrap_or_default(),
                        r.message.as_deref().unwrap_or(""),
                    ])
                    .map_err(|e| {
                        ReportError::File(summary.csv[&category].display().to_string(), e.into())
                    })?;
                }
            }
            if let Some(w) = writer.as_mut() {
                let record = Record {
                    vendor: r.vendor,
                    app_id: (!r.app_id.is_empty()).then(|| r.app_id.clone()),
                    resource: r.resource,
                    outcome: r.state,
                    vendor_code: r.vendor_code,
                    message: r.message,
                    attempts: r.attempts,
                    writes: r.writes,
                    elapsed_ms: r.elapsed_ms,
                };
                serde_json::to_writer(&mut *w, &record).map_err(|e| io(e.into()))?;
                w.write_all(b"\n").map_err(io)?;
            }
        }
    }
    if let Some(mut w) = writer {
        w.flush().map_err(io)?;
    }
    for (category, mut w) in csvs {
        w.flush()
            .map_err(|e| ReportError::File(summary.csv[&category].display().to_string(), e))?;
    }
    Ok(summary)
}

/// Why the report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The journal failed.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The report file could not be written.
    #[error("report file {0}: {1}")]
    File(String, #[source] std::io::Error),
}
