//! The operator's actions on a release's apps, outside the job's own way and never taken by
//! it: withdraw running audits, roll released apps back (a gray release is reverted), speed
//! audits up, and put apps that ended rejected, failed, withdrawn or rolled back back to
//! `planned` so that the next pass ships them again (with the inventory and release file of
//! then: a fixed `ext_json` column, a new template).
//!
//! Each app is claimed as a pass claims it, so no worker steps it meanwhile; its row records
//! what the action did. A withdrawal reads the audit first and acts only on one that runs (a
//! vendor refuses, and counts, a withdrawal of an audit that has ended); once a vendor says
//! the provider's allowance is spent, no more of its apps are tried.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};

use core_http::shipping::{Acted, Action, AuditState, ShipCode};
use futures_util::StreamExt;
use serde::Serialize;

use crate::release::{worker_id, ReleaseError, ReleaseFile, ReleaseJournal, ReleaseRow};
use crate::ship::{audit_stage, Stage};
use crate::vendors::{Backends, Vendor};

/// An operator's action on apps of a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Withdraw the running audits (stage `in_audit`): the apps end `withdrawn`.
    Withdraw,
    /// Roll the released apps back to the version before (stage `released`; an app in a gray
    /// release has its gray release reverted): the apps end `rolled_back`.
    Rollback,
    /// Ask the vendor to audit the running audits sooner (stage `in_audit`).
    Speedup,
}

impl Operation {
    /// The stages an app must be in for the operation.
    fn stages(self) -> &'static [&'static str] {
        match self {
            Operation::Withdraw | Operation::Speedup => &["in_audit"],
            Operation::Rollback => &["released", "gray"],
        }
    }

    /// The operation's name, as the command names it.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Withdraw => "withdraw",
            Operation::Rollback => "rollback",
            Operation::Speedup => "speedup",
        }
    }

    /// The vendor action it takes on an app in `stage`, with the audit it names.
    fn action(self, stage: &Stage) -> Option<(Action, &str)> {
        match (self, stage) {
            (Operation::Withdraw, Stage::InAudit { audit_id, .. }) => {
                Some((Action::Withdraw, audit_id))
            }
            (Operation::Speedup, Stage::InAudit { audit_id, .. }) => {
                Some((Action::Speedup, audit_id))
            }
            (Operation::Rollback, Stage::Released { audit_id }) => {
                Some((Action::Rollback, audit_id))
            }
            (Operation::Rollback, Stage::Gray { audit_id, .. }) => {
                Some((Action::RevertGray, audit_id))
            }
            _ => None,
        }
    }
}

/// Which apps an action or a retry takes: every app of the release (in a stage it applies
/// to), or the apps named, of the vendors named.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only these vendors (`None`: every vendor of the release).
    pub vendors: Option<BTreeSet<Vendor>>,
    /// Only these apps (`None`: every app).
    pub apps: Option<BTreeSet<String>>,
}

impl Selection {
    fn vendor(&self, vendor: Vendor) -> bool {
        self.vendors.as_ref().is_none_or(|v| v.contains(&vendor))
    }

    fn app(&self, app: &str) -> bool {
        self.apps.as_ref().is_none_or(|a| a.contains(app))
    }
}

/// What an action did to one app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Done; the app is in `stage` now.
    Done {
        /// The stage it is in now.
        stage: String,
    },
    /// The vendor refused it for the app's state (nothing changed), with its message.
    Refused {
        /// The vendor's code and message.
        reason: String,
    },
    /// The app was not in a stage the action applies to any more (the vendor's audit had
    /// ended, say): its stage now, nothing sent but the read.
    NotApplicable {
        /// The stage it is in now.
        stage: String,
    },
    /// The provider's allowance for the action is spent (nothing changed); the vendor's other
    /// apps were not tried.
    QuotaExhausted,
    /// The app took the action as often as the vendor allows in a day or a month, as this
    /// journal counts: nothing sent.
    LimitReached {
        /// How often, and the vendor's limit.
        reason: String,
    },
    /// The vendor has no such action, or ships no code: nothing sent.
    Unsupported {
        /// Why.
        reason: String,
    },
    /// Another worker holds the app (a pass steps it): try again in a moment.
    Busy,
    /// The call failed (the stage stayed); the error.
    Failed {
        /// The error.
        error: String,
    },
}

impl Outcome {
    /// The outcome's name, as tables and reports write it.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Done { .. } => "done",
            Outcome::Refused { .. } => "refused",
            Outcome::NotApplicable { .. } => "not_applicable",
            Outcome::QuotaExhausted => "quota_exhausted",
            Outcome::LimitReached { .. } => "limit_reached",
            Outcome::Unsupported { .. } => "unsupported",
            Outcome::Busy => "busy",
            Outcome::Failed { .. } => "failed",
        }
    }

    /// What to show beside the app (empty for `done`).
    pub fn detail(&self) -> String {
        match self {
            Outcome::Done { .. } | Outcome::QuotaExhausted | Outcome::Busy => String::new(),
            Outcome::Refused { reason }
            | Outcome::Unsupported { reason }
            | Outcome::LimitReached { reason } => reason.clone(),
            Outcome::NotApplicable { stage } => format!("now {stage}"),
            Outcome::Failed { error } => error.clone(),
        }
    }
}

/// One app's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppOutcome {
    /// The vendor.
    pub vendor: Vendor,
    /// The app.
    pub app_id: String,
    /// What happened.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// Takes `operation` on the apps of `release` that `selection` names and that are in a stage
/// it applies to, `concurrency` apps at once per vendor, each claimed for `lease` while its
/// calls run. Returns each app's outcome, in vendor and app order.
pub async fn act(
    release: &ReleaseFile,
    journal: &ReleaseJournal,
    backends: &Backends,
    operation: Operation,
    selection: &Selection,
    concurrency: usize,
    lease: std::time::Duration,
) -> Result<Vec<AppOutcome>, ReleaseError> {
    let worker = worker_id();
    let lease_ms = lease.as_millis() as i64;
    journal
        .free_claims_of_the_dead(&release.name, now_ms())
        .await?;
    let mut outcomes = Vec::new();
    for vendor in release.vendors.keys().copied() {
        if !selection.vendor(vendor) {
            continue;
        }
        let rows: Vec<ReleaseRow> = journal
            .rows_in(&release.name, vendor, operation.stages())
            .await?
            .into_iter()
            .filter(|r| selection.app(&r.app_id))
            .collect();
        if rows.is_empty() {
            continue;
        }
        let unsupported = |reason: String| {
            rows.iter()
                .map(|r| AppOutcome {
                    vendor,
                    app_id: r.app_id.clone(),
                    outcome: Outcome::Unsupported {
                        reason: reason.clone(),
                    },
                })
                .collect::<Vec<_>>()
        };
        let ship = match backends.get(&vendor).map(|b| b.shipper()) {
            Some(Ok(ship)) => ship,
            Some(Err(reason)) => {
                outcomes.extend(unsupported(reason.to_owned()));
                continue;
            }
            None => {
                outcomes.extend(unsupported(format!("no credentials for {vendor}")));
                continue;
            }
        };
        let spent = AtomicBool::new(false);
        let context = Context {
            release: &release.name,
            journal,
            ship: ship.as_ref(),
            worker,
            lease_ms,
            spent: &spent,
        };
        let mut done: Vec<AppOutcome> = futures_util::stream::iter(rows)
            .map(|row| {
                let context = &context;
                async move {
                    let app_id = row.app_id.clone();
                    let outcome = match context.one(operation, row).await {
                        Ok(outcome) => outcome,
                        Err(e) => Outcome::Failed {
                            error: e.to_string(),
                        },
                    };
                    AppOutcome {
                        vendor,
                        app_id,
                        outcome,
                    }
                }
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        done.sort_by(|a, b| a.app_id.cmp(&b.app_id));
        outcomes.extend(done);
    }
    Ok(outcomes)
}

/// What every app of one vendor's operation shares.
struct Context<'a> {
    release: &'a str,
    journal: &'a ReleaseJournal,
    ship: &'a dyn ShipCode,
    worker: &'a str,
    lease_ms: i64,
    /// The vendor said the provider's allowance is spent.
    spent: &'a AtomicBool,
}

impl Context<'_> {
    /// Takes `operation` on the app of `listed` (as listed before it was claimed).
    async fn one(&self, operation: Operation, listed: ReleaseRow) -> Result<Outcome, ReleaseError> {
        if self.spent.load(Ordering::Relaxed) {
            return Ok(Outcome::QuotaExhausted);
        }
        // An action the vendor does not have: said without claiming (nor sending) anything.
        if let Some((action, _)) = operation.action(&listed.stage) {
            if !self.ship.actions().contains(&action) {
                return Ok(Outcome::Unsupported {
                    reason: format!("this vendor has no {}", action.name()),
                });
            }
        }
        let Some(row) = self
            .journal
            .claim_app(
                self.release,
                listed.vendor,
                &listed.app_id,
                self.worker,
                self.lease_ms,
            )
            .await?
        else {
            return Ok(Outcome::Busy);
        };
        // The stage may have moved between the listing and the claim.
        let Some((action, audit_id)) = operation.action(&row.stage) else {
            self.let_go(&row).await?;
            return Ok(Outcome::NotApplicable {
                stage: row.stage.name().into(),
            });
        };
        if !self.ship.actions().contains(&action) {
            self.let_go(&row).await?;
            return Ok(Outcome::Unsupported {
                reason: format!("this vendor has no {}", action.name()),
            });
        }
        let audit_id = audit_id.to_owned();
        if let Some(reason) = self.over_limit(&row, action).await? {
            self.let_go(&row).await?;
            return Ok(Outcome::LimitReached { reason });
        }
        // Logged before the call: a call whose answer never comes still counts.
        let at = self
            .journal
            .log_action(self.release, row.vendor, &row.app_id, action.name())
            .await?;
        let result = self.call(&row, action, &audit_id).await;
        let (outcome_name, detail) = match &result {
            Ok((_, outcome)) => (outcome.name(), outcome.detail()),
            Err(e) => ("failed", e.to_string()),
        };
        self.journal
            .action_outcome(
                row.vendor,
                &row.app_id,
                action.name(),
                at,
                outcome_name,
                &detail,
            )
            .await?;
        let (stage, outcome) = match result {
            Ok(pair) => pair,
            Err(e) => {
                // The stage stays, with the error, as a failed step's does.
                let message = format!("{} failed: {e}", operation.name());
                self.journal
                    .record_action(self.release, &row, &row.stage, Some(&message), self.worker)
                    .await?;
                return Ok(Outcome::Failed {
                    error: e.to_string(),
                });
            }
        };
        self.journal
            .record_action(self.release, &row, &stage, None, self.worker)
            .await?;
        Ok(outcome)
    }

    /// Ends this command's claim on `row`, which nothing changed.
    async fn let_go(&self, row: &ReleaseRow) -> Result<(), ReleaseError> {
        self.journal
            .record_action(
                self.release,
                row,
                &row.stage,
                row.message.as_deref(),
                self.worker,
            )
            .await
            .map(drop)
    }

    /// Why `row`'s app may not take `action` now: it took it as often as the vendor allows in
    /// the last day or month (counted over the last 24 h and 31 days, which never allows more
    /// than a calendar day or month would).
    async fn over_limit(
        &self,
        row: &ReleaseRow,
        action: Action,
    ) -> Result<Option<String>, ReleaseError> {
        let Some(limit) = self.ship.limit(action) else {
            return Ok(None);
        };
        const DAY_MS: i64 = 86_400_000;
        let now = now_ms();
        for (max, window, per) in [
            (limit.per_day, DAY_MS, "day"),
            (limit.per_month, 31 * DAY_MS, "month"),
        ] {
            let Some(max) = max else { continue };
            let taken = self
                .journal
                .actions_since(row.vendor, &row.app_id, action.name(), now - window)
                .await?;
            if taken >= max {
                return Ok(Some(format!(
                    "{taken} {}(s) of this app in the last {}, and the vendor allows {max} a {per}: nothing sent",
                    action.name(),
                    if per == "day" { "24 h" } else { "31 days" }
                )));
            }
        }
        Ok(None)
    }

    /// The vendor calls of `action` on the claimed `row`: the stage to record and the outcome.
    async fn call(
        &self,
        row: &ReleaseRow,
        action: Action,
        audit_id: &str,
    ) -> Result<(Stage, Outcome), core_http::Error> {
        let app = row.app_id.as_str();
        if action == Action::Withdraw {
            // Only a running audit is withdrawn: an ended one is adopted.
            let state = self.ship.status(app, audit_id).await?;
            if !running(&state) {
                let stage = audit_stage(audit_id.to_owned(), state);
                let name = stage.name().to_owned();
                return Ok((stage, Outcome::NotApplicable { stage: name }));
            }
        }
        let acted = self.ship.act(app, action, audit_id).await?;
        Ok(match acted {
            Acted::Done | Acted::AlreadyDone => {
                let stage = match action {
                    Action::Withdraw => Stage::Withdrawn {
                        audit_id: audit_id.to_owned(),
                    },
                    Action::Rollback | Action::RevertGray => Stage::RolledBack {
                        audit_id: audit_id.to_owned(),
                    },
                    Action::Speedup => row.stage.clone(),
                };
                let name = stage.name().to_owned();
                (stage, Outcome::Done { stage: name })
            }
            Acted::Refused { reason } => {
                let stage = match action {
                    // The audit ended meanwhile: adopt its state.
                    Action::Withdraw | Action::Speedup => {
                        audit_stage(audit_id.to_owned(), self.ship.status(app, audit_id).await?)
                    }
                    Action::Rollback | Action::RevertGray => row.stage.clone(),
                };
                (stage, Outcome::Refused { reason })
            }
            Acted::QuotaExhausted => {
                self.spent.store(true, Ordering::Relaxed);
                (row.stage.clone(), Outcome::QuotaExhausted)
            }
            Acted::Unsupported => (
                row.stage.clone(),
                Outcome::Unsupported {
                    reason: format!("this vendor has no {}", action.name()),
                },
            ),
        })
    }
}

/// Whether an audit in `state` runs (may be withdrawn).
fn running(state: &AuditState) -> bool {
    matches!(
        state,
        AuditState::InAudit | AuditState::Delayed | AuditState::Unknown { .. }
    )
}

/// The final stages an app may be retried from.
pub const RETRYABLE: [&str; 4] = ["rejected", "upload_failed", "withdrawn", "rolled_back"];

/// Puts the apps of `release` that `selection` names and that are in one of `stages` (names
/// from [`RETRYABLE`]; others are ignored) back to `planned`: the next pass uploads to them again, with the
/// inventory and release file of then. An app a worker holds is left. Returns the apps put
/// back, per vendor, with the stage each left.
pub async fn retry(
    release: &ReleaseFile,
    journal: &ReleaseJournal,
    selection: &Selection,
    stages: &[&'static str],
) -> Result<BTreeMap<Vendor, Vec<(String, String)>>, ReleaseError> {
    // Only final stages that did not ship: a released app is never planned again by a retry.
    let stages: Vec<&'static str> = stages
        .iter()
        .copied()
        .filter(|s| RETRYABLE.contains(s))
        .collect();
    let stages = stages.as_slice();
    let mut replanned: BTreeMap<Vendor, Vec<(String, String)>> = BTreeMap::new();
    for vendor in release.vendors.keys().copied() {
        if !selection.vendor(vendor) {
            continue;
        }
        for row in journal.rows_in(&release.name, vendor, stages).await? {
            if !selection.app(&row.app_id) {
                continue;
            }
            if let Some(left) = journal
                .replan(&release.name, vendor, &row.app_id, stages)
                .await?
            {
                replanned
                    .entry(vendor)
                    .or_default()
                    .push((row.app_id, left.name().to_owned()));
            }
        }
    }
    Ok(replanned)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
