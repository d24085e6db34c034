//! The report of a job: one JSON record per app and resource (outcome, vendor code and
//! documented text, attempts, writes, elapsed), counts per vendor and outcome, and the apps
//! whose authorization is lost, listed apart.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::Path;

use serde::Serialize;

use crate::journal::{Journal, JournalError, RowState};
use crate::vendors::Vendor;

/// One record of the JSON report.
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

/// What a job came to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// `(vendor, outcome)` → records.
    pub counts: BTreeMap<(Vendor, RowState), u64>,
    /// Apps whose authorization is lost, per vendor: ask these merchants to authorize again.
    pub reauthorize: BTreeMap<Vendor, Vec<String>>,
    /// Writes sent in all.
    pub writes: u64,
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

    /// Whether every app and resource reached its desired value.
    pub fn all_ok(&self) -> bool {
        self.counts
            .keys()
            .all(|(_, s)| matches!(s, RowState::Done | RowState::Unchanged))
    }
}

/// Walks `job`'s rows in plan order, writing the JSON report to `path` when given.
pub async fn report(
    journal: &Journal,
    job: &str,
    path: Option<&Path>,
) -> Result<Summary, ReportError> {
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
    if let Some(w) = writer.as_mut() {
        w.write_all(b"[").map_err(io)?;
    }
    let mut summary = Summary::default();
    let mut after = 0;
    let mut first = true;
    loop {
        let rows = journal.rows_after(job, after, 1000).await?;
        let Some(last) = rows.last() else { break };
        after = last.seq;
        for r in rows {
            *summary.counts.entry((r.vendor, r.state)).or_default() += 1;
            summary.writes += r.writes as u64;
            if r.state == RowState::Reauth && !r.app_id.is_empty() {
                let list = summary.reauthorize.entry(r.vendor).or_default();
                if list.last() != Some(&r.app_id) {
                    list.push(r.app_id.clone());
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
                if !first {
                    w.write_all(b",").map_err(io)?;
                }
                first = false;
                w.write_all(b"\n").map_err(io)?;
                serde_json::to_writer(&mut *w, &record).map_err(|e| io(e.into()))?;
            }
        }
    }
    if let Some(mut w) = writer {
        w.write_all(b"\n]\n").map_err(io)?;
        w.flush().map_err(io)?;
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
