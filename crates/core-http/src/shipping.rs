//! Shipping code to an authorized app (upload, code check, audit, release), in one vocabulary
//! for every vendor: what a vendor crate's shipping adapter answers, and the facts of its spec's
//! `[shipping]` (which codes mean "the check still runs", "an audit already runs", "the quota
//! is spent", which wire values are which audit state), generated as [`ShippingFacts`].

use std::sync::Arc;

use crate::token::BoxFuture;
use crate::Error;

/// What a vendor crate's audit push receiver (`shipping::audit_pushes`) calls when a verified
/// push says an app's audit ended or changed: with the app's id, or `None` when the push names
/// the app only by another id (WeChat's original id `gh_…` on a URL without `$APPID$`). A push
/// is a hint: the job reads the audit, never trusts the push's content.
pub type OnAudit = Arc<dyn Fn(Option<String>) + Send + Sync>;

/// Where an app's submitted code stands in the vendor's audit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AuditState {
    /// Being audited.
    InAudit,
    /// Delayed by the vendor: not final, a result follows.
    Delayed,
    /// Passed: the code may be released.
    Approved,
    /// Refused, with the vendor's reason.
    Rejected {
        /// The vendor's reason, as sent.
        reason: String,
    },
    /// Withdrawn (by the platform, or the vendor).
    Withdrawn,
    /// Approved and already released (a vendor whose state member says so).
    Released,
    /// A state value the spec does not name, kept as sent.
    Unknown {
        /// The wire value.
        value: String,
    },
}

impl AuditState {
    /// Whether the audit has ended (approved, rejected or withdrawn).
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            AuditState::Approved
                | AuditState::Rejected { .. }
                | AuditState::Withdrawn
                | AuditState::Released
        )
    }
}

/// Which audit state a wire value is, per the spec's `[shipping.states]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateKind {
    /// `approved`.
    Approved,
    /// `rejected`.
    Rejected,
    /// `in_audit`.
    InAudit,
    /// `withdrawn`.
    Withdrawn,
    /// `delayed`.
    Delayed,
    /// `released`.
    Released,
    /// `development`: uploaded, not submitted (not an audit state).
    Development,
}

/// The facts of a spec's `[shipping]` a release job acts on (generated as `SHIPPING` in the
/// vendor crate's module of that document).
#[derive(Debug, Clone, Copy)]
pub struct ShippingFacts {
    /// The code check has not ended: submit again later, never upload again.
    pub check_running: &'static [i64],
    /// An audit already runs: adopt it.
    pub in_audit: &'static [i64],
    /// The provider's audit quota is spent.
    pub quota_exhausted: &'static [i64],
    /// Already released.
    pub already_released: &'static [i64],
    /// No audit exists.
    pub no_audit: &'static [i64],
    /// A gray release's share is not higher than the current one.
    pub gray_not_higher: &'static [i64],
    /// A gray release needs a version online first.
    pub no_online_release: &'static [i64],
    /// The upload names a template the library does not have.
    pub template_missing: &'static [i64],
    /// The audit cannot be withdrawn (it has ended).
    pub withdraw_refused: &'static [i64],
    /// The provider's withdrawals are spent for the period.
    pub withdraw_quota_exhausted: &'static [i64],
    /// The release cannot be rolled back.
    pub rollback_refused: &'static [i64],
    /// The audit was already sped up (a repeat: done).
    pub speedup_done: &'static [i64],
    /// The audit cannot be sped up.
    pub speedup_refused: &'static [i64],
    /// The provider's speed-ups are spent for the period.
    pub speedup_quota_exhausted: &'static [i64],
    /// The operator's actions the spec has a role for.
    pub actions: &'static [Action],
    /// Whether the spec has a call reading the audit quota.
    pub reads_quota: bool,
    /// How often each app may take an action: (action name, per day, per month).
    pub limits: &'static [(&'static str, Option<u32>, Option<u32>)],
    /// Wire value of the state member → state.
    pub states: &'static [(&'static str, StateKind)],
    /// Values of a listed package's upload member while the upload is processed.
    pub uploading: &'static [&'static str],
    /// Values of a listed package's upload member when the upload failed.
    pub upload_failed: &'static [&'static str],
}

impl ShippingFacts {
    /// Which state wire value `value` is, if the spec names it.
    pub fn kind(&self, value: &str) -> Option<StateKind> {
        self.states
            .iter()
            .find(|(wire, _)| *wire == value)
            .map(|(_, kind)| *kind)
    }

    /// The audit state of wire value `value`, with `reason` for a rejection (a value that is
    /// no audit state is [`AuditState::Unknown`]).
    pub fn state(&self, value: &str, reason: Option<&str>) -> AuditState {
        match self.states.iter().find(|(wire, _)| *wire == value) {
            Some((_, StateKind::Approved)) => AuditState::Approved,
            Some((_, StateKind::Rejected)) => AuditState::Rejected {
                reason: reason.unwrap_or_default().to_owned(),
            },
            Some((_, StateKind::InAudit)) => AuditState::InAudit,
            Some((_, StateKind::Withdrawn)) => AuditState::Withdrawn,
            Some((_, StateKind::Delayed)) => AuditState::Delayed,
            Some((_, StateKind::Released)) => AuditState::Released,
            Some((_, StateKind::Development)) | None => AuditState::Unknown {
                value: value.to_owned(),
            },
        }
    }

    /// How often each app may take `action` (`None`: the spec gives no limit).
    pub fn limit(&self, action: Action) -> Option<ActionLimit> {
        self.limits
            .iter()
            .find(|(name, _, _)| *name == action.name())
            .map(|(_, per_day, per_month)| ActionLimit {
                per_day: *per_day,
                per_month: *per_month,
            })
    }

    /// Whether `error` is a vendor answer with one of `codes`.
    pub fn is(&self, error: &Error, codes: &[i64]) -> bool {
        error.vendor().is_some_and(|v| codes.contains(&v.code))
    }
}

/// What to upload to an app: the template (by id), the per-app `ext_json`, and the version;
/// and what to submit with it for audit.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Upload {
    /// The template's id in the platform's template library.
    pub template_id: i64,
    /// The app's `ext_json` (serialized once, as the JSON text the vendor expects).
    pub ext_json: serde_json::Value,
    /// The version shown to the vendor (free text; never a key: `user_version` repeats).
    pub version: String,
    /// The version's description.
    pub description: String,
    /// The vendor's own members of the audit submission, as the release file gives them
    /// (WeChat: `item_list`, `privacy_api_not_use`, `ugc_declare`, …); `Null`: none. The
    /// adapter checks them ([`ShipCode::check_submission`]) before anything is sent.
    pub audit: serde_json::Value,
}

/// Where the code check after an upload stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// Still running: read again later, never upload again.
    Running,
    /// Ended: the code may be submitted.
    Done,
    /// The upload failed at the vendor (final for this upload), with the vendor's reason.
    Failed {
        /// The vendor's reason, as sent.
        reason: String,
    },
}

/// What a submission did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    /// A new audit, with its id (persist it before anything else).
    Audit {
        /// The vendor's audit id.
        audit_id: String,
    },
    /// An audit already ran (a submission whose answer was lost, or another's): read the
    /// latest audit and adopt it.
    AlreadyInAudit,
    /// The code check has not ended: submit again later (never upload again).
    CheckRunning,
    /// The provider's audit quota is spent: pause every submission.
    QuotaExhausted,
}

/// The latest audit of an app, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatestAudit {
    /// Its id.
    pub audit_id: String,
    /// Its state.
    pub state: AuditState,
}

/// What a gray release did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gray {
    /// The share of users now on the new version.
    Released,
    /// The share was already this high (a repeat after a lost answer): done.
    AlreadyHigher,
    /// The app has no version online, so there is nothing to release in stages: release it in
    /// full.
    NoOnlineRelease,
    /// The vendor has no gray release.
    Unsupported,
}

/// The provider's audit quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditQuota {
    /// Submissions left in the period.
    pub rest: i64,
    /// Submissions in the period.
    pub limit: i64,
}

/// A template of the platform's template library (what an upload names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// Its id (what an upload sends).
    pub template_id: i64,
    /// The version it was made from (free text).
    pub version: String,
    /// Its description.
    pub description: String,
    /// When it was added (seconds since the epoch).
    pub created: i64,
}

/// The newest template of `library` (the latest `created`; the higher id when two tie).
pub fn newest(library: &[Template]) -> Option<&Template> {
    library.iter().max_by_key(|t| (t.created, t.template_id))
}

/// An operator's action on one app's code, outside the release's own way: explicit, never
/// taken by a job on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Withdraw the app's running audit (vendors limit how often).
    Withdraw,
    /// Roll the released code back to the version online before it.
    Rollback,
    /// End a gray release: everyone back on the version online before it.
    RevertGray,
    /// Ask the vendor to audit the running audit sooner (vendors limit how often).
    Speedup,
}

impl Action {
    /// The action's name, as commands and reports write it.
    pub fn name(self) -> &'static str {
        match self {
            Action::Withdraw => "withdraw",
            Action::Rollback => "rollback",
            Action::RevertGray => "revert_gray",
            Action::Speedup => "speedup",
        }
    }
}

/// How often the vendor lets one app take an [`Action`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ActionLimit {
    /// At most this many a day.
    pub per_day: Option<u32>,
    /// At most this many a month.
    pub per_month: Option<u32>,
}

/// What an [`Action`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acted {
    /// Done now.
    Done,
    /// It was done already (a repeat after a lost answer).
    AlreadyDone,
    /// The vendor refused it for the app's state, with the vendor's message: nothing changed.
    Refused {
        /// The vendor's message, as sent.
        reason: String,
    },
    /// The provider's allowance for this action is spent: nothing changed.
    QuotaExhausted,
    /// The vendor has no such action.
    Unsupported,
}

/// Reads a vendor answer with one of the action codes of `facts` as what it means for
/// `action`; any other result stays as it is.
pub fn acted(
    facts: &ShippingFacts,
    action: Action,
    result: Result<(), Error>,
) -> Result<Acted, Error> {
    let (done, refused, quota): (&[i64], &[i64], &[i64]) = match action {
        Action::Withdraw => (&[], facts.withdraw_refused, facts.withdraw_quota_exhausted),
        Action::Rollback => (&[], facts.rollback_refused, &[]),
        Action::RevertGray => (&[], &[], &[]),
        Action::Speedup => (
            facts.speedup_done,
            facts.speedup_refused,
            facts.speedup_quota_exhausted,
        ),
    };
    match result {
        Ok(()) => Ok(Acted::Done),
        Err(e) if facts.is(&e, done) => Ok(Acted::AlreadyDone),
        Err(e) if facts.is(&e, refused) => Ok(Acted::Refused {
            reason: e
                .vendor()
                .map(|v| match v.documented {
                    Some(doc) => format!("{} {} (documented: {doc})", v.code, v.message),
                    None => format!("{} {}", v.code, v.message),
                })
                .unwrap_or_default(),
        }),
        Err(e) if facts.is(&e, quota) => Ok(Acted::QuotaExhausted),
        Err(e) => Err(e),
    }
}

/// One vendor's way to ship code to its authorized apps; each vendor crate with a `[shipping]`
/// spec has one (`shipping::Shipper`). Every call names the app; the adapter holds the client
/// and the token manager.
pub trait ShipCode: Send + Sync {
    /// Uploads the code to `app`.
    fn commit<'a>(&'a self, app: &'a str, upload: &'a Upload) -> BoxFuture<'a, Result<(), Error>>;
    /// Where the code check of `upload` (uploaded to `app`) stands.
    fn check<'a>(&'a self, app: &'a str, upload: &'a Upload)
        -> BoxFuture<'a, Result<Check, Error>>;
    /// Submits `upload` (uploaded to `app` and checked) for audit.
    fn submit<'a>(
        &'a self,
        app: &'a str,
        upload: &'a Upload,
    ) -> BoxFuture<'a, Result<Submitted, Error>>;
    /// The state of audit `audit_id` of `app`.
    fn status<'a>(
        &'a self,
        app: &'a str,
        audit_id: &'a str,
    ) -> BoxFuture<'a, Result<AuditState, Error>>;
    /// The latest audit of `app` (`None`: none).
    fn latest<'a>(&'a self, app: &'a str) -> BoxFuture<'a, Result<Option<LatestAudit>, Error>>;
    /// Releases the code of `app`'s approved audit `audit_id`; `false` when it was already
    /// released.
    fn release<'a>(&'a self, app: &'a str, audit_id: &'a str)
        -> BoxFuture<'a, Result<bool, Error>>;
    /// Whether the vendor has a call reading the audit quota ([`quota`](Self::quota)).
    fn reads_quota(&self) -> bool {
        false
    }
    /// The provider's audit quota, read through `app` (`None`: the vendor has no such call).
    fn quota<'a>(&'a self, app: &'a str) -> BoxFuture<'a, Result<Option<AuditQuota>, Error>>;
    /// Checks the vendor's own submission members of `upload` ([`Upload::audit`]); a vendor
    /// that takes none refuses any.
    fn check_submission(&self, upload: &Upload) -> Result<(), String> {
        if upload.audit.is_null() {
            Ok(())
        } else {
            Err("this vendor's submission takes no members of its own: remove `audit`".into())
        }
    }
    /// Whether `error` (of [`commit`](Self::commit)) says the library has no such template:
    /// no app of the vendor can be uploaded to until the release names another.
    fn template_missing(&self, error: &Error) -> bool {
        let _ = error;
        false
    }
    /// The operator's actions the vendor has ([`act`](Self::act)).
    fn actions(&self) -> &'static [Action] {
        &[]
    }
    /// How often the vendor lets one app take `action` (`None`: no limit known).
    fn limit(&self, action: Action) -> Option<ActionLimit> {
        let _ = action;
        None
    }
    /// The platform's template library (`None`: the vendor has no call listing it).
    fn templates(&self) -> BoxFuture<'_, Result<Option<Vec<Template>>, Error>> {
        Box::pin(async { Ok(None) })
    }
    /// Takes `action` on `app`: `audit_id` names the running audit (withdraw, speed-up) or
    /// the released code (rollback). A vendor without the action: [`Acted::Unsupported`].
    fn act<'a>(
        &'a self,
        app: &'a str,
        action: Action,
        audit_id: &'a str,
    ) -> BoxFuture<'a, Result<Acted, Error>> {
        let _ = (app, audit_id);
        Box::pin(async move {
            let _ = action;
            Ok(Acted::Unsupported)
        })
    }
    /// Whether the vendor releases in stages ([`gray`](Self::gray)).
    fn supports_gray(&self) -> bool {
        false
    }
    /// Releases `app`'s approved audit `audit_id` to `percent` % of its users (a vendor
    /// without gray releases: [`Gray::Unsupported`]).
    fn gray<'a>(
        &'a self,
        app: &'a str,
        audit_id: &'a str,
        percent: u32,
    ) -> BoxFuture<'a, Result<Gray, Error>> {
        let _ = (app, audit_id, percent);
        Box::pin(async { Ok(Gray::Unsupported) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Vendor, VendorError};

    const FACTS: ShippingFacts = ShippingFacts {
        check_running: &[],
        in_audit: &[],
        quota_exhausted: &[],
        already_released: &[],
        no_audit: &[],
        gray_not_higher: &[],
        no_online_release: &[],
        template_missing: &[85014],
        withdraw_refused: &[87012],
        withdraw_quota_exhausted: &[87013],
        rollback_refused: &[87012],
        speedup_done: &[89404],
        speedup_refused: &[89402, 89403],
        speedup_quota_exhausted: &[89405],
        actions: &[Action::Withdraw],
        reads_quota: false,
        limits: &[("withdraw", Some(5), Some(10))],
        states: &[],
        uploading: &[],
        upload_failed: &[],
    };

    fn answer(code: i64) -> Result<(), Error> {
        Err(Error::Vendor(VendorError {
            vendor: Vendor::Wechat,
            endpoint: "UndoCodeAudit",
            status: 200,
            code,
            message: format!("message {code}"),
            documented: (code == 87012).then_some("forbid revert this version release"),
            request_id: None,
        }))
    }

    #[test]
    fn each_actions_codes_mean_what_the_spec_says_for_that_action() {
        assert_eq!(
            acted(&FACTS, Action::Withdraw, Ok(())).unwrap(),
            Acted::Done
        );
        assert_eq!(
            acted(&FACTS, Action::Withdraw, answer(87012)).unwrap(),
            Acted::Refused {
                reason: "87012 message 87012 (documented: forbid revert this version release)"
                    .into()
            }
        );
        assert_eq!(
            acted(&FACTS, Action::Withdraw, answer(87013)).unwrap(),
            Acted::QuotaExhausted
        );
        // 87013 means a spent withdrawal quota only for a withdrawal.
        assert!(acted(&FACTS, Action::Rollback, answer(87013)).is_err());
        assert!(matches!(
            acted(&FACTS, Action::Rollback, answer(87012)).unwrap(),
            Acted::Refused { .. }
        ));
        assert_eq!(
            acted(&FACTS, Action::Speedup, answer(89404)).unwrap(),
            Acted::AlreadyDone
        );
        assert!(matches!(
            acted(&FACTS, Action::Speedup, answer(89403)).unwrap(),
            Acted::Refused { .. }
        ));
        assert_eq!(
            acted(&FACTS, Action::Speedup, answer(89405)).unwrap(),
            Acted::QuotaExhausted
        );
        // A code no action names stays the error it is.
        let other = acted(&FACTS, Action::RevertGray, answer(-1)).unwrap_err();
        assert_eq!(other.vendor().map(|v| v.code), Some(-1));
    }

    #[test]
    fn the_newest_template_is_the_latest_added() {
        let t = |template_id, created| Template {
            template_id,
            version: String::new(),
            description: String::new(),
            created,
        };
        assert_eq!(newest(&[]), None);
        let library = [t(3, 100), t(9, 300), t(4, 200), t(8, 300)];
        assert_eq!(newest(&library).map(|t| t.template_id), Some(9));
    }
}
