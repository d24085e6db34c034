//! The code lifecycle of each app, from the specs' `[shipping]`: an upload starts a code check
//! that takes [`CodeOptions::check_time`]; a submission during it answers the check-running
//! code, one while an audit runs the in-audit code, one past the provider's quota the
//! quota code; an audit takes [`CodeOptions::audit_time`] and rejects a share of the apps
//! with a reason; a release of approved code releases it once (then the already-released
//! code). Where the spec has a `list` (packages rather than audits), the upload makes a
//! development package with an id, listed as uploading until its check ends; the submission
//! and the release name that id, and the list shows the online, audit and development
//! packages. A refusal the spec has no code for answers the endpoint's first documented
//! error. Nothing here names a vendor: the roles, members, state values and codes are the
//! spec's.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use miniapp_spec::{Endpoint, Shipping, SpecFile, Vendor};
use serde_json::Value;

use crate::check::Params;
use crate::envelope;
use crate::fleet::Answer;

/// How the sandbox's audits behave.
#[derive(Debug, Clone)]
pub struct CodeOptions {
    /// How long the code check after an upload runs (default zero).
    pub check_time: Duration,
    /// How long an audit takes (default zero: decided at once).
    pub audit_time: Duration,
    /// The share of audits rejected, in `0.0..=1.0` (default 0), chosen by a hash of the app
    /// and its submission (the same run rejects the same apps).
    pub rejected_share: f64,
    /// The reason a rejection gives (default `1:小程序内容不符合规范`).
    pub rejection_reason: String,
    /// Submissions the provider may make per vendor (default `None`: unlimited); then the
    /// quota code answers.
    pub audit_quota: Option<u32>,
    /// Where each vendor's audit results are pushed when an audit ends (default none: poll
    /// only).
    pub audit_pushes: Vec<AuditPushTarget>,
    /// The share of audit pushes never sent, in `0.0..=1.0` (default 0), chosen by a hash of
    /// the app and its submission: the poll must find those results.
    pub lost_push_share: f64,
    /// How many times each audit push is sent (default 1; more: duplicates, as vendors
    /// deliver again).
    pub push_copies: u32,
    /// The templates each vendor's library starts with (ids, added a minute apart in this
    /// order: the last is the newest; default 1 to 9). An upload naming another is refused.
    pub templates: Vec<i64>,
    /// The drafts each vendor's draft box starts with (ids; default 101 and 102): adding one to
    /// the library makes the newest template.
    pub drafts: Vec<i64>,
}

/// Where a vendor's audit results are pushed.
#[derive(Debug, Clone)]
pub struct AuditPushTarget {
    /// The vendor.
    pub vendor: core_http::Vendor,
    /// The URL; `$APPID$` in it is replaced by the app's id (WeChat's message and event URL
    /// may carry it).
    pub url: String,
    /// What the pushes are encrypted with.
    pub secrets: crate::PushSecrets,
}

impl Default for CodeOptions {
    fn default() -> Self {
        CodeOptions {
            check_time: Duration::ZERO,
            audit_time: Duration::ZERO,
            rejected_share: 0.0,
            rejection_reason: "1:小程序内容不符合规范".into(),
            audit_quota: None,
            audit_pushes: Vec::new(),
            lost_push_share: 0.0,
            push_copies: 1,
            templates: (1..=9).collect(),
            drafts: vec![101, 102],
        }
    }
}

/// The roles of `[shipping]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Commit,
    Check,
    Submit,
    Status,
    Latest,
    List,
    Release,
    Quota,
    Gray,
    Withdraw,
    Rollback,
    RevertGray,
    Speedup,
}

#[derive(Debug, Clone)]
struct Audit {
    id: i64,
    decided_at: Instant,
    rejected: bool,
    version: String,
    /// Withdrawn while it ran (final).
    withdrawn: bool,
    /// Sped up once (a second time answers the spec's `speedup_done`).
    sped_up: bool,
}

/// An uploaded package not submitted yet (a spec with a `list`).
#[derive(Debug, Clone)]
struct Package {
    id: i64,
    version: String,
    ready_at: Instant,
}

#[derive(Debug, Default)]
struct AppCode {
    /// When the uploaded code's check ends (`None`: nothing uploaded since the last audit).
    check_ends: Option<Instant>,
    /// Uploads so far (a submission audits the latest).
    uploads: u32,
    /// The development package (a spec with a `list`).
    dev: Option<Package>,
    audit: Option<Audit>,
    /// The audit whose code was released, and its version.
    released: Option<(i64, String)>,
    /// The approved audit released to a share of users, and the share (every seeded app has
    /// a version online, so a gray release is always possible).
    gray: Option<(i64, u32)>,
    /// Submissions that started an audit, and releases that released (a job must make one of
    /// each per upload).
    submitted: u32,
    releases: u32,
}

#[derive(Debug, Default)]
struct State {
    apps: HashMap<(Vendor, String), AppCode>,
    submitted: HashMap<Vendor, u32>,
}

/// Every app's code lifecycle.
#[derive(Debug)]
pub(crate) struct Code {
    roles: HashMap<(Vendor, String), (Role, &'static Shipping)>,
    library: crate::library::Library,
    options: CodeOptions,
    next_id: AtomicI64,
    state: Mutex<State>,
}

impl Code {
    pub(crate) fn new(specs: &'static [SpecFile], options: &CodeOptions) -> Code {
        let mut roles = HashMap::new();
        for spec in specs {
            let Some(s) = &spec.shipping else { continue };
            let calls = [
                (Role::Commit, Some(&s.commit)),
                (Role::Check, s.check.as_ref()),
                (Role::Submit, Some(&s.submit)),
                (Role::Status, Some(&s.status)),
                (Role::Latest, s.latest.as_ref()),
                (Role::List, s.list.as_ref()),
                (Role::Release, Some(&s.release)),
                (Role::Quota, s.quota.as_ref()),
                (Role::Gray, s.gray.as_ref()),
                (Role::Withdraw, s.withdraw.as_ref()),
                (Role::Rollback, s.rollback.as_ref()),
                (Role::RevertGray, s.revert_gray.as_ref()),
                (Role::Speedup, s.speedup.as_ref()),
            ];
            for (role, call) in calls {
                if let Some(call) = call {
                    roles.insert((spec.vendor, call.endpoint.clone()), (role, s));
                }
            }
        }
        Code {
            roles,
            library: crate::library::Library::new(specs, &options.templates, &options.drafts),
            options: options.clone(),
            next_id: AtomicI64::new(451_000_000),
            state: Mutex::default(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Serves `ep` when it has a `[shipping]` role, for the app `owner`.
    pub(crate) fn serve(
        &self,
        vendor: Vendor,
        ep: &Endpoint,
        params: &Params,
        owner: &str,
    ) -> Option<Answer> {
        if let Some(answer) = self.library.serve(vendor, ep, params) {
            return Some(answer);
        }
        let (role, s) = *self.roles.get(&(vendor, ep.name.clone()))?;
        let now = Instant::now();
        let packages = s.list.is_some();
        let mut state = self.state();
        let state = &mut *state;
        let app = state.apps.entry((vendor, owner.to_owned())).or_default();
        // A refusal: the spec's code for it, else the endpoint's first documented error that
        // is the app's own (not a token, busy or rate-limit code, which a client acts on).
        let facts = envelope::facts(vendor);
        let generic = |code: i64| {
            facts
                .token_invalid_codes
                .iter()
                .chain(facts.busy_codes)
                .chain(facts.rate_limit_codes)
                .any(|c| c.code == code)
                || [facts.token_expired, facts.token_invalid].contains(&code)
        };
        let refuse = |codes: &[i64]| {
            Answer::Error(
                codes
                    .first()
                    .copied()
                    .or_else(|| {
                        ep.errors.iter().map(|e| e.code).find(|c| {
                            *c > 0 && !generic(*c) && !s.codes.gray_not_higher.contains(c)
                        })
                    })
                    .unwrap_or(-1),
            )
        };
        let param = |call: &miniapp_spec::ShippingCall, role: &str| {
            call.member(role)
                .and_then(|m| params.get(m))
                .map(|w| w.as_text().trim().to_owned())
        };
        let id_param = |call: &miniapp_spec::ShippingCall| {
            param(call, "audit_id").and_then(|t| t.parse::<i64>().ok())
        };
        let pick = |values: &[String]| values.first().cloned().unwrap_or_default();
        let state_of = |audit: &Audit| -> (String, Option<String>) {
            if audit.withdrawn {
                (pick(&s.states.withdrawn), None)
            } else if now < audit.decided_at {
                (pick(&s.states.in_audit), None)
            } else if audit.rejected {
                (
                    pick(&s.states.rejected),
                    Some(self.options.rejection_reason.clone()),
                )
            } else {
                (pick(&s.states.approved), None)
            }
        };
        Some(match role {
            Role::Commit => {
                if param(&s.commit, "template").is_some_and(|t| self.library.lacks(vendor, &t)) {
                    return Some(refuse(&s.codes.template_missing));
                }
                app.uploads += 1;
                let ready_at = now + self.options.check_time;
                app.check_ends = Some(ready_at);
                if packages {
                    app.dev = Some(Package {
                        id: self.next_id.fetch_add(1, Ordering::Relaxed),
                        version: param(&s.commit, "version").unwrap_or_default(),
                        ready_at,
                    });
                }
                body(vendor, ep, params, &[])
            }
            Role::Check => match app.check_ends {
                Some(end) if now < end => refuse(&s.codes.check_running),
                _ => body(vendor, ep, params, &[]),
            },
            Role::Submit => {
                let running = app
                    .audit
                    .as_ref()
                    .is_some_and(|a| now < a.decided_at && !a.withdrawn);
                if running {
                    return Some(refuse(&s.codes.in_audit));
                }
                let (id, version) = if packages {
                    // The submission names the development package.
                    match (&app.dev, id_param(&s.submit)) {
                        (Some(dev), Some(asked)) if dev.id == asked => {
                            if now < dev.ready_at {
                                return Some(refuse(&s.codes.check_running));
                            }
                            (dev.id, dev.version.clone())
                        }
                        _ => return Some(refuse(&[])),
                    }
                } else {
                    if app.check_ends.is_some_and(|end| now < end) {
                        return Some(refuse(&s.codes.check_running));
                    }
                    (self.next_id.fetch_add(1, Ordering::Relaxed), String::new())
                };
                let used = state.submitted.entry(vendor).or_default();
                if self.options.audit_quota.is_some_and(|q| *used >= q) {
                    return Some(refuse(&s.codes.quota_exhausted));
                }
                *used += 1;
                app.submitted += 1;
                let rejected = share(owner, app.uploads) < self.options.rejected_share;
                app.audit = Some(Audit {
                    id,
                    decided_at: now + self.options.audit_time,
                    rejected,
                    version,
                    withdrawn: false,
                    sped_up: false,
                });
                self.push_when_decided(vendor, owner, app.uploads, rejected);
                app.check_ends = None;
                app.dev = None;
                let answer = if packages {
                    None
                } else {
                    s.submit.member("audit_id")
                };
                body(vendor, ep, params, &[(answer, Value::from(id))])
            }
            Role::Status => {
                let asked = id_param(&s.status);
                let (wire, reason) = match (&app.audit, &app.released, &app.dev) {
                    (_, Some((id, _)), _) if packages && Some(*id) == asked => {
                        (pick(&s.states.released), None)
                    }
                    (Some(audit), _, _) if Some(audit.id) == asked => state_of(audit),
                    (_, _, Some(dev)) if packages && Some(dev.id) == asked => {
                        (pick(&s.states.development), None)
                    }
                    _ => return Some(refuse(&[])),
                };
                body(
                    vendor,
                    ep,
                    params,
                    &[
                        (s.status.member("state"), state_value(&wire)),
                        (
                            s.status.member("reason"),
                            reason.map_or(Value::Null, Value::from),
                        ),
                    ],
                )
            }
            Role::Latest => {
                let latest = s.latest.as_ref().expect("a latest role has its call");
                match &app.audit {
                    None => refuse(&s.codes.no_audit),
                    Some(audit) => {
                        let (wire, reason) = state_of(audit);
                        body(
                            vendor,
                            ep,
                            params,
                            &[
                                (latest.member("audit_id"), Value::from(audit.id)),
                                (latest.member("state"), state_value(&wire)),
                                (
                                    latest.member("reason"),
                                    reason.map_or(Value::Null, Value::from),
                                ),
                            ],
                        )
                    }
                }
            }
            Role::List => {
                let list = s.list.as_ref().expect("a list role has its call");
                let item = |members: &[(&str, Value)]| {
                    let mut item = serde_json::Map::new();
                    for (role, value) in members {
                        if let (Some(member), false) = (list.member(role), value.is_null()) {
                            item.insert(member.to_owned(), value.clone());
                        }
                    }
                    Value::Object(item)
                };
                let mut items = Vec::new();
                if let Some((id, version)) = &app.released {
                    items.push(item(&[
                        ("audit_id", Value::from(*id)),
                        ("state", state_value(&pick(&s.states.released))),
                        ("version", Value::from(version.clone())),
                    ]));
                }
                if let Some(audit) = app
                    .audit
                    .as_ref()
                    .filter(|a| app.released.as_ref().map(|r| r.0) != Some(a.id))
                {
                    let (wire, reason) = state_of(audit);
                    items.push(item(&[
                        ("audit_id", Value::from(audit.id)),
                        ("state", state_value(&wire)),
                        ("reason", reason.map_or(Value::Null, Value::from)),
                        ("version", Value::from(audit.version.clone())),
                    ]));
                }
                if let Some(dev) = &app.dev {
                    items.push(if now < dev.ready_at {
                        item(&[
                            ("version", Value::from(dev.version.clone())),
                            ("uploading", state_value(&pick(&s.states.uploading))),
                        ])
                    } else {
                        item(&[
                            ("audit_id", Value::from(dev.id)),
                            ("state", state_value(&pick(&s.states.development))),
                            ("version", Value::from(dev.version.clone())),
                        ])
                    });
                }
                list_body(vendor, ep, params, list.member("items"), items)
            }
            Role::Release => {
                let target = if packages {
                    id_param(&s.release)
                } else {
                    app.audit.as_ref().map(|a| a.id)
                };
                match &app.audit {
                    _ if target.is_some() && app.released.as_ref().map(|r| r.0) == target => {
                        refuse(&s.codes.already_released)
                    }
                    Some(audit)
                        if Some(audit.id) == target
                            && now >= audit.decided_at
                            && !audit.rejected
                            && !audit.withdrawn =>
                    {
                        app.released = Some((audit.id, audit.version.clone()));
                        app.releases += 1;
                        body(vendor, ep, params, &[])
                    }
                    // Nothing approved to release: the endpoint's first documented refusal.
                    _ => Answer::Error(
                        ep.errors
                            .iter()
                            .map(|e| e.code)
                            .find(|c| *c > 0 && !s.codes.already_released.contains(c))
                            .unwrap_or(-1),
                    ),
                }
            }
            Role::Gray => {
                let call = s.gray.as_ref().expect("a gray role has its call");
                let percent = param(call, "percent").and_then(|p| p.parse::<u32>().ok());
                match (&app.audit, percent) {
                    (Some(audit), Some(percent))
                        if now >= audit.decided_at
                            && !audit.rejected
                            && !audit.withdrawn
                            && app.released.as_ref().map(|r| r.0) != Some(audit.id) =>
                    {
                        match app.gray {
                            Some((id, current)) if id == audit.id && percent <= current => {
                                refuse(&s.codes.gray_not_higher)
                            }
                            _ => {
                                app.gray = Some((audit.id, percent));
                                body(vendor, ep, params, &[])
                            }
                        }
                    }
                    _ => refuse(&[]),
                }
            }
            Role::Withdraw => {
                let call = s.withdraw.as_ref().expect("a withdraw role has its call");
                let asked = id_param(call);
                match app.audit.as_mut() {
                    Some(audit)
                        if now < audit.decided_at
                            && !audit.withdrawn
                            && (call.member("audit_id").is_none() || asked == Some(audit.id)) =>
                    {
                        if packages {
                            // The audit package is a development package again.
                            app.dev = Some(Package {
                                id: audit.id,
                                version: audit.version.clone(),
                                ready_at: now,
                            });
                            app.audit = None;
                        } else {
                            audit.withdrawn = true;
                        }
                        body(vendor, ep, params, &[])
                    }
                    _ => refuse(&s.codes.withdraw_refused),
                }
            }
            Role::Rollback => {
                let call = s.rollback.as_ref().expect("a rollback role has its call");
                let asked = id_param(call);
                match &app.released {
                    Some((id, _)) if call.member("audit_id").is_none() || asked == Some(*id) => {
                        // Back to the version before (the seeded one, which the sandbox does
                        // not list).
                        app.released = None;
                        app.gray = None;
                        body(vendor, ep, params, &[])
                    }
                    _ => refuse(&s.codes.rollback_refused),
                }
            }
            Role::RevertGray => {
                app.gray = None;
                body(vendor, ep, params, &[])
            }
            Role::Speedup => {
                let call = s.speedup.as_ref().expect("a speedup role has its call");
                let asked = id_param(call);
                match app.audit.as_mut() {
                    Some(audit)
                        if now < audit.decided_at
                            && !audit.withdrawn
                            && (call.member("audit_id").is_none() || asked == Some(audit.id)) =>
                    {
                        if audit.sped_up {
                            refuse(&s.codes.speedup_done)
                        } else {
                            audit.sped_up = true;
                            body(vendor, ep, params, &[])
                        }
                    }
                    _ => refuse(&s.codes.speedup_refused),
                }
            }
            Role::Quota => {
                let used = state.submitted.get(&vendor).copied().unwrap_or(0);
                let limit = self.options.audit_quota.unwrap_or(1000);
                body(
                    vendor,
                    ep,
                    params,
                    &[
                        (
                            s.quota.as_ref().and_then(|q| q.member("rest")),
                            Value::from(limit.saturating_sub(used)),
                        ),
                        (
                            s.quota.as_ref().and_then(|q| q.member("limit")),
                            Value::from(limit),
                        ),
                    ],
                )
            }
        })
    }

    /// Pushes the audit result of `app` once its audit ends, if the vendor's pushes go
    /// somewhere (some lost, some sent more than once, as configured).
    fn push_when_decided(&self, vendor: Vendor, app: &str, upload: u32, rejected: bool) {
        let runtime = crate::envelope::runtime(vendor);
        let Some(target) = self
            .options
            .audit_pushes
            .iter()
            .find(|t| t.vendor == runtime)
            .cloned()
        else {
            return;
        };
        if share(&format!("push:{app}"), upload) < self.options.lost_push_share {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (app, delay, copies) = (
            app.to_owned(),
            self.options.audit_time,
            self.options.push_copies.max(1),
        );
        let reason = rejected.then(|| self.options.rejection_reason.clone());
        handle.spawn(async move {
            tokio::time::sleep(delay).await;
            for _ in 0..copies {
                if let Err(e) = crate::pushes::push_audit(
                    vendor,
                    &target.url,
                    &target.secrets,
                    &app,
                    reason.as_deref(),
                )
                .await
                {
                    tracing::debug!(app = %app, error = %e, "audit push not delivered");
                }
            }
        });
    }

    /// Every vendor's template library.
    pub(crate) fn library(&self) -> &crate::library::Library {
        &self.library
    }

    /// The apps of `vendor` with more submissions than uploads (a submission repeated for
    /// one upload), and those released more often than submitted.
    pub(crate) fn repeats(&self, vendor: Vendor) -> (usize, usize) {
        let state = self.state();
        let mut out = (0, 0);
        for ((v, _), app) in &state.apps {
            if *v == vendor {
                out.0 += usize::from(app.submitted > app.uploads);
                out.1 += usize::from(app.releases > app.submitted);
            }
        }
        out
    }

    /// The audit decisions so far for `vendor`: (approved, rejected, released) apps.
    pub(crate) fn outcomes(&self, vendor: Vendor) -> (usize, usize, usize) {
        let now = Instant::now();
        let state = self.state();
        let mut out = (0, 0, 0);
        for ((v, _), app) in &state.apps {
            if *v != vendor {
                continue;
            }
            if let Some(a) = app.audit.as_ref().filter(|a| now >= a.decided_at) {
                if a.rejected {
                    out.1 += 1;
                } else {
                    out.0 += 1;
                }
            }
            if app.released.is_some() {
                out.2 += 1;
            }
        }
        out
    }
}

/// A state's wire value as JSON: a number when it reads as one.
fn state_value(wire: &str) -> Value {
    wire.parse::<i64>()
        .map_or_else(|_| Value::from(wire), Value::from)
}

/// The endpoint's example answer (every member the document guarantees) with `members` set
/// where its payload goes (a `null` removes the member).
pub(crate) fn body(
    vendor: Vendor,
    ep: &Endpoint,
    params: &Params,
    members: &[(Option<&str>, Value)],
) -> Answer {
    let mut body =
        crate::respond::example_json(vendor, crate::respond::select_example(&ep.examples, params));
    let e = &envelope::facts(vendor).envelope;
    if members.iter().all(|(member, _)| member.is_none()) {
        return Answer::Body(body);
    }
    let target = match e.shape {
        // A success example without its payload member (an answer with no fields) gets one.
        core_http::vendor::EnvelopeShape::Wrapped => match body.as_object_mut() {
            Some(map) => map
                .entry(e.data)
                .or_insert_with(|| Value::Object(Default::default())),
            None => &mut body,
        },
        core_http::vendor::EnvelopeShape::Flat => &mut body,
    };
    if let Some(map) = target.as_object_mut() {
        for (member, value) in members {
            match (member, value.is_null()) {
                (Some(member), false) => {
                    map.insert((*member).to_owned(), value.clone());
                }
                (Some(member), true) => {
                    map.remove(*member);
                }
                (None, _) => {}
            }
        }
    }
    Answer::Body(body)
}

/// The endpoint's example answer with the list `items` as its payload: the payload itself for
/// a transparent answer, else its member `member`.
fn list_body(
    vendor: Vendor,
    ep: &Endpoint,
    params: &Params,
    member: Option<&str>,
    items: Vec<Value>,
) -> Answer {
    if ep.data == miniapp_spec::DataShape::Transparent {
        let mut body = crate::respond::example_json(
            vendor,
            crate::respond::select_example(&ep.examples, params),
        );
        let e = &envelope::facts(vendor).envelope;
        match e.shape {
            core_http::vendor::EnvelopeShape::Wrapped => {
                if let Some(map) = body.as_object_mut() {
                    map.insert(e.data.to_owned(), Value::Array(items));
                }
            }
            core_http::vendor::EnvelopeShape::Flat => body = Value::Array(items),
        }
        Answer::Body(body)
    } else {
        body(vendor, ep, params, &[(member, Value::Array(items))])
    }
}

/// A number in `0.0..1.0` from the app and its upload (FNV-1a), for the rejected share.
fn share(app: &str, upload: u32) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in app.bytes().chain(upload.to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h >> 11) as f64 / (1u64 << 53) as f64
}
