//! Shipping code to authorized apps in the vocabulary every vendor shares
//! ([`core_http::shipping`]): [`Shipper`] calls the generated package endpoints
//! ([`crate::package`]) and reads their answers with the facts of the spec's `[shipping]`
//! ([`package::SHIPPING`](crate::package::SHIPPING)).
//!
//! Baidu keeps packages, not audits: an upload becomes the development package of its version
//! once processed (about 3 s), listed by [`GetPackagesRequest`]; the submission names that
//! package, which becomes the audit package; its id is the audit's id. Baidu documents no code
//! for "already in audit" or "already released", so the shipper reads the list before it
//! submits, and reads the package after a refused release (online: done).
//!
//! ```no_run
//! # async fn demo(client: baidu_smartapp_api::Client, tokens: std::sync::Arc<baidu_smartapp_api::tokens::TokenManager>) -> Result<(), baidu_smartapp_api::Error> {
//! use baidu_smartapp_api::shipping::{Check, ShipCode, Shipper, Submitted, Upload};
//!
//! let shipper = Shipper::new(client, tokens);
//! let upload = Upload {
//!     template_id: 42,
//!     ext_json: serde_json::json!({"extEnable": true, "extAppid": "1452365"}),
//!     version: "1.2.0".into(),
//!     description: "spring release".into(),
//!     audit: serde_json::Value::Null,
//! };
//! shipper.commit("1452365", &upload).await?;
//! while shipper.check("1452365", &upload).await? == Check::Running { /* wait */ }
//! if let Submitted::Audit { audit_id } = shipper.submit("1452365", &upload).await? {
//!     println!("package {audit_id} in audit");
//! }
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::time::Instant;

pub use core_http::shipping::{
    Acted, Action, AuditQuota, AuditState, Check, LatestAudit, ShipCode, ShippingFacts, StateKind,
    Submitted, Template, Upload,
};
use core_http::token::{BoxFuture, TokenManager};
use core_http::{Error, InvalidRequest};

use crate::package::{
    GetPackageDetailRequest, GetPackagesRequest, Package, ReleasePackageRequest,
    RollbackPackageRequest, SubmitPackageAuditRequest, UploadPackageRequest,
    WithdrawPackageAuditRequest, SHIPPING,
};
use crate::template::GetTemplateListRequest;

/// Templates asked for per page of the library (the page's example asks for 50).
const TEMPLATES_PER_PAGE: i64 = 50;
/// Pages of the library read at most (a list that never ends is cut there).
const TEMPLATE_PAGES: i64 = 100;
use crate::Client;

/// Ships code to the platform's authorized apps (see the [module](self)).
#[derive(Clone)]
pub struct Shipper {
    client: Client,
    tokens: Arc<TokenManager>,
    /// Development packages a check just found, per app: (version, package id, when). The
    /// submission that follows the check takes its package from here instead of listing the
    /// packages again.
    checked: Arc<std::sync::Mutex<std::collections::HashMap<String, CheckedPackage>>>,
}

/// A development package a check found: (version, package id, when).
type CheckedPackage = (String, i64, Instant);

/// How long a package a check found stands for the submission after it.
const CHECKED_FOR: std::time::Duration = std::time::Duration::from_secs(30);
/// Checked packages kept at most (older ones are dropped past this).
const CHECKED_KEPT: usize = 4096;

impl std::fmt::Debug for Shipper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shipper")
            .field("platform", &self.tokens.platform_app_id())
            .finish_non_exhaustive()
    }
}

/// The platform's shipper as the vendor-neutral [`ShipCode`] (what a fleet job takes).
pub fn shipper(
    client: Client,
    tokens: Arc<TokenManager>,
) -> Result<Arc<dyn ShipCode>, &'static str> {
    Ok(Arc::new(Shipper::new(client, tokens)))
}

/// Receives the package audit results Baidu pushes to the platform's message and event URL
/// (`PACKAGE_AUDIT_PASS` / `PACKAGE_AUDIT_FAIL`, [`crate::push::TpPush::PackageAudit`]) with
/// every other push of that URL (tickets are stored as by
/// [`PushHandler`](crate::push::handler::PushHandler)): verified, decrypted, replays refused,
/// then `on_audit` is called with the app's id (`appId`). Returns the router and the path to
/// configure below where it is mounted (none: the mount point is the URL).
#[cfg(feature = "axum")]
pub fn audit_pushes(
    tokens: Arc<TokenManager>,
    settings: &core_http::push::PushSettings,
    on_audit: core_http::shipping::OnAudit,
) -> Result<Option<(axum::Router, &'static str)>, Error> {
    let crypto = settings
        .message_crypto(tokens.platform_app_id())
        .map_err(Error::Push)?;
    let handler = crate::push::handler::PushHandler::new(tokens, crypto).on_push(move |push| {
        let on_audit = on_audit.clone();
        async move {
            if let crate::push::TpPush::PackageAudit(audit) = push {
                on_audit(audit.app_id.map(|id| id.to_string()));
            }
        }
    });
    Ok(Some((handler.router(), "")))
}

/// What a listed package is, by the spec's state values.
fn kind(package: &Package) -> Option<StateKind> {
    package.status.and_then(|s| SHIPPING.kind(&s.to_string()))
}

fn upload_is(package: &Package, values: &[&str]) -> bool {
    package
        .upload_status
        .is_some_and(|u| values.contains(&u.to_string().as_str()))
}

impl Shipper {
    /// A shipper for the authorized apps of the platform of `tokens`.
    pub fn new(client: Client, tokens: Arc<TokenManager>) -> Self {
        Shipper {
            client,
            tokens,
            checked: Arc::default(),
        }
    }

    /// Remembers that a check found `id` the development package of `version` of `app`.
    fn remember_checked(&self, app: &str, version: &str, id: i64) {
        let mut checked = self.checked.lock().unwrap_or_else(|p| p.into_inner());
        if checked.len() >= CHECKED_KEPT {
            checked.retain(|_, (_, _, at)| at.elapsed() < CHECKED_FOR);
        }
        checked.insert(app.to_owned(), (version.to_owned(), id, Instant::now()));
    }

    /// The development package of `version` a check of `app` found just before, if any.
    fn take_checked(&self, app: &str, version: &str) -> Option<i64> {
        let mut checked = self.checked.lock().unwrap_or_else(|p| p.into_inner());
        match checked.remove(app) {
            Some((v, id, at)) if v == version && at.elapsed() < CHECKED_FOR => Some(id),
            _ => None,
        }
    }

    fn app(&self, app: &str) -> crate::AuthorizedApp {
        self.client.authorizer(self.tokens.authorizer_token(app))
    }

    /// The app's packages (none when the answer lists none).
    pub async fn packages(&self, app: &str) -> Result<Vec<Package>, Error> {
        let answer = self
            .app(app)
            .get_packages(&GetPackagesRequest::new())
            .await?;
        Ok(answer.packages.unwrap_or_default())
    }

    /// Submits package `id` of `app` for audit.
    async fn submit_package(
        &self,
        app: &str,
        upload: &Upload,
        id: i64,
    ) -> Result<Submitted, Error> {
        let request = SubmitPackageAuditRequest::new(
            upload.description.clone(),
            id.to_string(),
            upload.version.clone(),
        );
        self.app(app).submit_package_audit(&request).await?;
        Ok(Submitted::Audit {
            audit_id: id.to_string(),
        })
    }

    /// The audit state of package `id`, read alone.
    async fn package_state(&self, app: &str, id: i64) -> Result<AuditState, Error> {
        let mut request = GetPackageDetailRequest::new();
        request.package_id = Some(id);
        let answer = self.app(app).get_package_detail(&request).await?;
        Ok(match answer.status {
            Some(status) => SHIPPING.state(&status.to_string(), answer.msg.as_deref()),
            None => AuditState::Unknown {
                value: String::new(),
            },
        })
    }
}

/// The development package of `version` once its upload was processed.
fn development<'p>(packages: &'p [Package], version: &str) -> Option<(&'p Package, i64)> {
    packages.iter().find_map(|p| {
        let id = p.package_id?;
        (p.version.as_deref() == Some(version) && kind(p) == Some(StateKind::Development))
            .then_some((p, id))
    })
}

fn package_id(endpoint: &'static str, audit_id: &str) -> Result<i64, Error> {
    audit_id.parse::<i64>().map_err(|_| {
        Error::InvalidRequest(InvalidRequest {
            endpoint,
            field: "package_id",
            rule: "a package id (a number)".into(),
            given: format!("{audit_id:?}"),
        })
    })
}

impl ShipCode for Shipper {
    fn commit<'a>(&'a self, app: &'a str, upload: &'a Upload) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let request = UploadPackageRequest::new(
                upload.template_id.to_string(),
                upload.ext_json.clone(),
                upload.description.clone(),
                upload.version.clone(),
            );
            self.app(app).upload_package(&request).await.map(drop)
        })
    }

    fn check<'a>(
        &'a self,
        app: &'a str,
        upload: &'a Upload,
    ) -> BoxFuture<'a, Result<Check, Error>> {
        Box::pin(async move {
            let packages = self.packages(app).await?;
            if let Some((_, id)) = development(&packages, &upload.version) {
                // No audit runs beside a development package that is listed with none in
                // audit: the submission may take it at once.
                if !packages.iter().any(|p| kind(p) == Some(StateKind::InAudit)) {
                    self.remember_checked(app, &upload.version, id);
                }
                return Ok(Check::Done);
            }
            let failed = packages.iter().find(|p| {
                p.version.as_deref() == Some(upload.version.as_str())
                    && upload_is(p, SHIPPING.upload_failed)
            });
            Ok(match failed {
                Some(p) => Check::Failed {
                    reason: match (&p.upload_err_code, &p.upload_err_msg) {
                        (Some(code), Some(msg)) => format!("{code}: {msg}"),
                        (None, Some(msg)) => msg.clone(),
                        _ => p
                            .upload_status_desc
                            .clone()
                            .unwrap_or_else(|| "上传失败".into()),
                    },
                },
                // Uploading, or not listed yet (an upload takes effect after about 3 s).
                None => Check::Running,
            })
        })
    }

    fn submit<'a>(
        &'a self,
        app: &'a str,
        upload: &'a Upload,
    ) -> BoxFuture<'a, Result<Submitted, Error>> {
        Box::pin(async move {
            if let Some(id) = self.take_checked(app, &upload.version) {
                return self.submit_package(app, upload, id).await;
            }
            let packages = self.packages(app).await?;
            if packages.iter().any(|p| kind(p) == Some(StateKind::InAudit)) {
                return Ok(Submitted::AlreadyInAudit);
            }
            let Some((_, id)) = development(&packages, &upload.version) else {
                let uploading = packages.iter().any(|p| {
                    p.version.as_deref() == Some(upload.version.as_str())
                        && upload_is(p, SHIPPING.uploading)
                });
                if uploading {
                    return Ok(Submitted::CheckRunning);
                }
                return Err(Error::InvalidRequest(InvalidRequest {
                    endpoint: "SubmitPackageAudit",
                    field: "package_id",
                    rule: "the development package of the uploaded version, listed by GetPackages"
                        .into(),
                    given: format!("no development package of version {:?}", upload.version),
                }));
            };
            self.submit_package(app, upload, id).await
        })
    }

    fn status<'a>(
        &'a self,
        app: &'a str,
        audit_id: &'a str,
    ) -> BoxFuture<'a, Result<AuditState, Error>> {
        Box::pin(async move {
            let id = package_id("GetPackageDetail", audit_id)?;
            self.package_state(app, id).await
        })
    }

    fn latest<'a>(&'a self, app: &'a str) -> BoxFuture<'a, Result<Option<LatestAudit>, Error>> {
        Box::pin(async move {
            let packages = self.packages(app).await?;
            Ok(packages.iter().find_map(|p| {
                let id = p.package_id?;
                let status = p.status?.to_string();
                let audited = matches!(
                    SHIPPING.kind(&status),
                    Some(
                        StateKind::InAudit
                            | StateKind::Delayed
                            | StateKind::Approved
                            | StateKind::Rejected
                            | StateKind::Withdrawn
                    )
                );
                audited.then(|| LatestAudit {
                    audit_id: id.to_string(),
                    state: SHIPPING.state(&status, p.msg.as_deref()),
                })
            }))
        })
    }

    fn release<'a>(
        &'a self,
        app: &'a str,
        audit_id: &'a str,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async move {
            let id = package_id("ReleasePackage", audit_id)?;
            match self
                .app(app)
                .release_package(&ReleasePackageRequest::new(id.to_string()))
                .await
            {
                Ok(_) => Ok(true),
                // No documented code says "already released": the package says it.
                Err(e) if e.vendor().is_some() => match self.package_state(app, id).await {
                    Ok(AuditState::Released) => Ok(false),
                    _ => Err(e),
                },
                Err(e) => Err(e),
            }
        })
    }

    fn quota<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Option<AuditQuota>, Error>> {
        // The audit quota call is only in Baidu's SDKs, not on the page: not specified.
        Box::pin(async { Ok(None) })
    }

    fn templates(&self) -> BoxFuture<'_, Result<Option<Vec<Template>>, Error>> {
        Box::pin(async move {
            let platform = self.client.component(self.tokens.component_token());
            let mut library = Vec::new();
            // Page by page until a short page or `count` (whichever comes first).
            for page in 1..=TEMPLATE_PAGES {
                let mut request = GetTemplateListRequest::new();
                request.page = Some(page);
                request.page_size = Some(TEMPLATES_PER_PAGE);
                let answer = platform.get_template_list(&request).await?;
                let list = answer.list.unwrap_or_default();
                let short = (list.len() as i64) < TEMPLATES_PER_PAGE;
                library.extend(list.into_iter().filter_map(|t| {
                    Some(Template {
                        template_id: t.template_id?,
                        version: t.user_version.unwrap_or_default(),
                        description: t.user_desc.unwrap_or_default(),
                        created: t.create_time.unwrap_or_default(),
                    })
                }));
                if short || answer.count.is_some_and(|c| library.len() as i64 >= c) {
                    break;
                }
            }
            Ok(Some(library))
        })
    }

    fn template_missing(&self, error: &Error) -> bool {
        SHIPPING.is(error, SHIPPING.template_missing)
    }

    fn limit(&self, action: Action) -> Option<core_http::shipping::ActionLimit> {
        SHIPPING.limit(action)
    }

    fn actions(&self) -> &'static [Action] {
        SHIPPING.actions
    }

    fn reads_quota(&self) -> bool {
        SHIPPING.reads_quota
    }

    fn act<'a>(
        &'a self,
        app: &'a str,
        action: Action,
        audit_id: &'a str,
    ) -> BoxFuture<'a, Result<Acted, Error>> {
        Box::pin(async move {
            let client = self.app(app);
            let result = match action {
                Action::Withdraw => client
                    .withdraw_package_audit(&WithdrawPackageAuditRequest::new(audit_id))
                    .await
                    .map(drop),
                Action::Rollback => client
                    .rollback_package(&RollbackPackageRequest::new(audit_id))
                    .await
                    .map(drop),
                Action::RevertGray | Action::Speedup => return Ok(Acted::Unsupported),
            };
            core_http::shipping::acted(&SHIPPING, action, result)
        })
    }
}
