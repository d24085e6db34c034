//! One app's way from template to release, as a state machine a job can journal: each
//! [`step`] makes at most one call that changes anything at the vendor, and every stage is
//! safe to resume after a crash at any point.
//!
//! ```text
//! Planned ──(no audit running: upload)──▶ Committed ──(check ended)──▶ Submitting
//!    ▲ waits while another audit runs        │ waits while the check runs    │
//!                                             ◀──(check running)──────────────┤
//!                  (resumed: the latest audit is new: adopt it; else submit)  ▼
//!                                           InAudit ──approved──▶ Releasing ──▶ Released
//!                                              ├──rejected──▶ Rejected (reason)
//!                                              └──withdrawn─▶ Withdrawn
//! Committed ──(the vendor could not process the upload, or its check still ran 2 h later)──▶ UploadFailed (reason)
//! Released / Gray ──(the operator: `miniapp release rollback`)──▶ RolledBack
//! ```
//!
//! The rules the providers learned the hard way (`shared/release-pains.md`): never upload over
//! an app whose audit runs; after the code check answers "running", submit again later and
//! never upload again; a submission whose outcome is unknown (the stage is `Submitting` when
//! the job resumes) reads the latest audit first and adopts an audit newer than the one seen
//! before the upload, so nothing is submitted twice; "already in audit" adopts the running
//! audit; a spent quota pauses submissions; a rejection is final and carries its reason; a
//! release already done counts as done.

use core_http::shipping::{AuditState, Check, Gray, ShipCode, Submitted, Upload};
use core_http::Error;
use serde::{Deserialize, Serialize};

/// Where one app is on its way to release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum Stage {
    /// Nothing sent yet.
    Planned,
    /// The code was uploaded; its check may still run. `previous_audit`: the latest audit
    /// before the upload (an audit with another id is this job's).
    Committed {
        /// The latest audit's id before the upload.
        previous_audit: Option<String>,
        /// When the upload was sent (ms since the epoch; 0 in journals older than this
        /// member): a check still running [`CHECK_GIVES_UP_AFTER`] later ends the app.
        #[serde(default)]
        uploaded_ms: i64,
    },
    /// A submission may have been sent (journaled before the call): its outcome is read from
    /// the latest audit before anything is submitted again.
    Submitting {
        /// The latest audit's id before the upload.
        previous_audit: Option<String>,
        /// When the upload was sent (as in `Committed`).
        #[serde(default)]
        uploaded_ms: i64,
    },
    /// Being audited.
    InAudit {
        /// The vendor's audit id.
        audit_id: String,
        /// The vendor delayed the audit (not final).
        delayed: bool,
    },
    /// Approved; a release may have been sent (journaled before the call).
    Releasing {
        /// The approved audit.
        audit_id: String,
    },
    /// Released to `percent` % of the app's users (a gray release), waiting for the next
    /// stage.
    Gray {
        /// The approved audit.
        audit_id: String,
        /// The share of users on it.
        percent: u32,
    },
    /// Released: final.
    Released {
        /// The released audit.
        audit_id: String,
    },
    /// Refused by the audit: final, reported with the reason, not retried.
    Rejected {
        /// The refused audit.
        audit_id: String,
        /// The vendor's reason.
        reason: String,
    },
    /// The audit was withdrawn: final.
    Withdrawn {
        /// The withdrawn audit.
        audit_id: String,
    },
    /// The vendor could not process the upload (its code check failed): final, reported with
    /// the vendor's reason, not retried.
    UploadFailed {
        /// The vendor's reason.
        reason: String,
    },
    /// Released (in full or to a share of users), then rolled back by the operator
    /// (`miniapp release rollback`): the version before it is online. Final.
    RolledBack {
        /// The audit whose release was rolled back.
        audit_id: String,
    },
}

impl Stage {
    /// Whether the app is done (released, rejected or withdrawn).
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            Stage::Released { .. }
                | Stage::Rejected { .. }
                | Stage::Withdrawn { .. }
                | Stage::UploadFailed { .. }
                | Stage::RolledBack { .. }
        )
    }

    /// The audit (or released code) the stage names, if any.
    pub fn audit_id(&self) -> Option<&str> {
        match self {
            Stage::InAudit { audit_id, .. }
            | Stage::Releasing { audit_id }
            | Stage::Gray { audit_id, .. }
            | Stage::Released { audit_id }
            | Stage::Rejected { audit_id, .. }
            | Stage::Withdrawn { audit_id }
            | Stage::RolledBack { audit_id } => Some(audit_id),
            Stage::Planned
            | Stage::Committed { .. }
            | Stage::Submitting { .. }
            | Stage::UploadFailed { .. } => None,
        }
    }

    /// The vendor's reason, for a rejected app or a failed upload.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Stage::Rejected { reason, .. } | Stage::UploadFailed { reason } => Some(reason),
            _ => None,
        }
    }

    /// The stage's name, as journals and reports write it.
    pub fn name(&self) -> &'static str {
        match self {
            Stage::Planned => "planned",
            Stage::Committed { .. } => "committed",
            Stage::Submitting { .. } => "submitting",
            Stage::InAudit { .. } => "in_audit",
            Stage::Releasing { .. } => "releasing",
            Stage::Gray { .. } => "gray",
            Stage::Released { .. } => "released",
            Stage::Rejected { .. } => "rejected",
            Stage::Withdrawn { .. } => "withdrawn",
            Stage::UploadFailed { .. } => "upload_failed",
            Stage::RolledBack { .. } => "rolled_back",
        }
    }
}

/// How long after its upload a code check that still runs is given up: the app ends
/// [`Stage::UploadFailed`] (the vendor lost the upload: Baidu never listed its package), to be
/// retried by the operator. Checks take seconds to minutes.
pub const CHECK_GIVES_UP_AFTER: std::time::Duration = std::time::Duration::from_secs(2 * 3600);

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Why an app cannot move now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Wait {
    /// Another audit of the app runs: nothing is uploaded over it.
    OtherAuditRunning,
    /// The uploaded code's check has not ended.
    CheckRunning,
    /// The audit has not ended (or was delayed).
    InAudit,
    /// The provider's audit quota is spent: no app is submitted until it is back.
    QuotaExhausted,
    /// The release's template is not in the platform's library (deleted, or never there):
    /// nothing is uploaded until the release names one that is (set by the job).
    TemplateMissing,
    /// The provider's audit quota is down to the release's `quota_reserve`: no more apps are
    /// submitted, the rest is kept (for hotfixes, new merchants) (set by the job).
    QuotaReserve,
    /// Released to a share of users: the next stage comes after the release's pause.
    GrayPause,
    /// The release's `max_in_audit` apps of the vendor are in audit: nothing more is uploaded
    /// until one ends (set by the job, not by a step).
    AuditSlots,
    /// The release's `stop_at_rejected_share` of the vendor's audits were rejected: nothing
    /// more is uploaded (set by the job).
    TooManyRejected,
}

impl Wait {
    /// The reason's name, as journals and reports write it.
    pub fn name(&self) -> &'static str {
        match self {
            Wait::OtherAuditRunning => "other_audit_running",
            Wait::CheckRunning => "check_running",
            Wait::InAudit => "in_audit",
            Wait::QuotaExhausted => "quota_exhausted",
            Wait::TemplateMissing => "template_missing",
            Wait::QuotaReserve => "quota_reserve",
            Wait::GrayPause => "gray_pause",
            Wait::AuditSlots => "audit_slots",
            Wait::TooManyRejected => "too_many_rejected",
        }
    }
}

/// What a step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The stage the app is in now (journal it).
    pub stage: Stage,
    /// Why it did not move further, when it must wait (poll again later).
    pub wait: Option<Wait>,
}

fn moved(stage: Stage) -> Progress {
    Progress { stage, wait: None }
}

fn waiting(stage: Stage, wait: Wait) -> Progress {
    Progress {
        stage,
        wait: Some(wait),
    }
}

/// Moves `app` from `stage` as far as one change at the vendor allows (reads may precede
/// it), releasing in full once approved. A job journals the returned stage; it journals
/// `Submitting` and `Releasing` before the call they lead to, which this function makes on
/// the next step.
pub async fn step(
    ship: &dyn ShipCode,
    app: &str,
    upload: &Upload,
    stage: &Stage,
) -> Result<Progress, Error> {
    step_staged(ship, app, upload, &[], stage, false).await
}

/// [`step`], releasing an approved version in stages: to each share of `gray` (percentages,
/// rising) in turn, waiting ([`Wait::GrayPause`]) after each, then to everyone. A vendor
/// without gray releases, or an app with no version online yet, is released in full. A stage
/// repeated after a lost answer is done (the share is already that high).
///
/// `fresh`: the caller journaled `stage` itself, from this function's last answer, with
/// nothing sent since (not a stage read back from a journal, which a crash may lie behind).
/// A fresh `Submitting` submits without reading the latest audit first: no submission of
/// this job can have reached the vendor since the code check was read.
pub async fn step_staged(
    ship: &dyn ShipCode,
    app: &str,
    upload: &Upload,
    gray: &[u32],
    stage: &Stage,
    fresh: bool,
) -> Result<Progress, Error> {
    match stage {
        Stage::Planned => {
            let latest = ship.latest(app).await?;
            if latest.as_ref().is_some_and(|l| !l.state.is_final()) {
                return Ok(waiting(Stage::Planned, Wait::OtherAuditRunning));
            }
            // Journaled as sent before the answer is known: the clock starts at the call.
            let uploaded_ms = now_ms();
            ship.commit(app, upload).await?;
            // The code check has only begun: it is read after a pause, not at once.
            Ok(waiting(
                Stage::Committed {
                    previous_audit: latest.map(|l| l.audit_id),
                    uploaded_ms,
                },
                Wait::CheckRunning,
            ))
        }
        Stage::Committed {
            previous_audit,
            uploaded_ms,
        } => match ship.check(app, upload).await? {
            Check::Done => Ok(moved(Stage::Submitting {
                previous_audit: previous_audit.clone(),
                uploaded_ms: *uploaded_ms,
            })),
            Check::Running
                if *uploaded_ms > 0
                    && now_ms() - uploaded_ms > CHECK_GIVES_UP_AFTER.as_millis() as i64 =>
            {
                Ok(moved(Stage::UploadFailed {
                    reason: format!(
                        "the code check still ran {} h after the upload (the vendor lost it, or never listed its package): retry the app with `miniapp release retry`",
                        CHECK_GIVES_UP_AFTER.as_secs() / 3600
                    ),
                }))
            }
            Check::Running => Ok(waiting(stage.clone(), Wait::CheckRunning)),
            Check::Failed { reason } => Ok(moved(Stage::UploadFailed { reason })),
        },
        Stage::Submitting {
            previous_audit,
            uploaded_ms,
        } => {
            // Resumed, a submission of ours may have reached the vendor: its audit is the
            // latest one with another id than the one before the upload.
            if !fresh {
                if let Some(latest) = ship.latest(app).await? {
                    if Some(&latest.audit_id) != previous_audit.as_ref() {
                        return Ok(moved(audit_stage(latest.audit_id, latest.state)));
                    }
                }
            }
            match ship.submit(app, upload).await? {
                // The audit has only begun: it is read after a pause (or its push).
                Submitted::Audit { audit_id } => Ok(waiting(
                    Stage::InAudit {
                        audit_id,
                        delayed: false,
                    },
                    Wait::InAudit,
                )),
                Submitted::AlreadyInAudit => match ship.latest(app).await? {
                    Some(latest) => Ok(moved(audit_stage(latest.audit_id, latest.state))),
                    None => Ok(waiting(stage.clone(), Wait::InAudit)),
                },
                Submitted::CheckRunning => Ok(waiting(
                    Stage::Committed {
                        previous_audit: previous_audit.clone(),
                        uploaded_ms: *uploaded_ms,
                    },
                    Wait::CheckRunning,
                )),
                Submitted::QuotaExhausted => Ok(waiting(
                    Stage::Committed {
                        previous_audit: previous_audit.clone(),
                        uploaded_ms: *uploaded_ms,
                    },
                    Wait::QuotaExhausted,
                )),
            }
        }
        Stage::InAudit { audit_id, .. } => {
            let state = ship.status(app, audit_id).await?;
            let next = audit_stage(audit_id.clone(), state);
            Ok(match &next {
                Stage::InAudit { .. } => waiting(next, Wait::InAudit),
                _ => moved(next),
            })
        }
        Stage::Releasing { audit_id } => match gray.first() {
            Some(first) => gray_stage(ship, app, audit_id, *first).await,
            None => release(ship, app, audit_id).await,
        },
        Stage::Gray { audit_id, percent } => match gray.iter().find(|p| **p > *percent) {
            Some(next) => gray_stage(ship, app, audit_id, *next).await,
            None => release(ship, app, audit_id).await,
        },
        Stage::Released { .. }
        | Stage::Rejected { .. }
        | Stage::Withdrawn { .. }
        | Stage::UploadFailed { .. }
        | Stage::RolledBack { .. } => Ok(moved(stage.clone())),
    }
}

/// Releases to everyone: now, or already (a release whose answer was lost): done either way.
async fn release(ship: &dyn ShipCode, app: &str, audit_id: &str) -> Result<Progress, Error> {
    ship.release(app, audit_id).await?;
    Ok(moved(Stage::Released {
        audit_id: audit_id.to_owned(),
    }))
}

/// Releases to `percent` % of the users, then waits; in full where stages cannot be had.
async fn gray_stage(
    ship: &dyn ShipCode,
    app: &str,
    audit_id: &str,
    percent: u32,
) -> Result<Progress, Error> {
    match ship.gray(app, audit_id, percent).await? {
        Gray::Released | Gray::AlreadyHigher => Ok(waiting(
            Stage::Gray {
                audit_id: audit_id.to_owned(),
                percent,
            },
            Wait::GrayPause,
        )),
        Gray::NoOnlineRelease | Gray::Unsupported => release(ship, app, audit_id).await,
    }
}

/// The stage of an audit in `state`.
pub fn audit_stage(audit_id: String, state: AuditState) -> Stage {
    match state {
        AuditState::Approved => Stage::Releasing { audit_id },
        AuditState::Rejected { reason } => Stage::Rejected { audit_id, reason },
        AuditState::Withdrawn => Stage::Withdrawn { audit_id },
        AuditState::Released => Stage::Released { audit_id },
        AuditState::Delayed => Stage::InAudit {
            audit_id,
            delayed: true,
        },
        AuditState::InAudit | AuditState::Unknown { .. } => Stage::InAudit {
            audit_id,
            delayed: false,
        },
    }
}

/// Steps `app` until it is final, waiting `poll` whenever it must wait; stops early (with the
/// stage reached) when the quota is spent. Every stage reached is passed to `journal` first.
pub async fn drive(
    ship: &dyn ShipCode,
    app: &str,
    upload: &Upload,
    mut stage: Stage,
    poll: std::time::Duration,
    mut journal: impl FnMut(&Stage),
) -> Result<Progress, Error> {
    loop {
        let progress = step(ship, app, upload, &stage).await?;
        journal(&progress.stage);
        stage = progress.stage.clone();
        match &progress.wait {
            _ if stage.is_final() => return Ok(progress),
            Some(Wait::QuotaExhausted) => return Ok(progress),
            Some(_) => tokio::time::sleep(poll).await,
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_journals_words() {
        let waits = [
            Wait::OtherAuditRunning,
            Wait::CheckRunning,
            Wait::InAudit,
            Wait::QuotaExhausted,
            Wait::TemplateMissing,
            Wait::QuotaReserve,
            Wait::GrayPause,
            Wait::AuditSlots,
            Wait::TooManyRejected,
        ];
        for wait in waits {
            assert_eq!(serde_json::to_value(&wait).unwrap(), wait.name());
        }
        let stage = Stage::RolledBack {
            audit_id: "7".into(),
        };
        assert_eq!(serde_json::to_value(&stage).unwrap()["stage"], stage.name());
        assert_eq!(stage.audit_id(), Some("7"));
    }
}
