//! Shipping code to authorized apps in the vocabulary every vendor shares
//! ([`core_http::shipping`]): [`Shipper`] calls the generated code-management endpoints
//! ([`crate::code_management`]) and reads their answers with the facts of the spec's
//! `[shipping]` ([`code_management::SHIPPING`](crate::code_management::SHIPPING)).
//!
//! ```no_run
//! # async fn demo(client: wechat_component_api::Client, tokens: std::sync::Arc<wechat_component_api::tokens::TokenManager>) -> Result<(), wechat_component_api::Error> {
//! use wechat_component_api::shipping::{Check, ShipCode, Shipper, Submitted, Upload};
//!
//! let shipper = Shipper::new(client, tokens);
//! let upload = Upload {
//!     template_id: 42,
//!     ext_json: serde_json::json!({"extAppid": "wx_app", "ext": {"name": "Shop"}}),
//!     version: "1.2.0".into(),
//!     description: "spring release".into(),
//!     // What the audit is told (SubmitAudit's members): optional.
//!     audit: serde_json::json!({"privacy_api_not_use": true}),
//! };
//! shipper.commit("wx_app", &upload).await?;
//! while shipper.check("wx_app", &upload).await? == Check::Running { /* wait */ }
//! if let Submitted::Audit { audit_id } = shipper.submit("wx_app", &upload).await? {
//!     println!("in audit: {audit_id}");
//! }
//! # Ok(()) }
//! ```

use std::sync::Arc;

pub use core_http::shipping::{
    Acted, Action, AuditQuota, AuditState, Check, Gray, LatestAudit, ShipCode, ShippingFacts,
    Submitted, Template, Upload,
};
use core_http::token::{BoxFuture, TokenManager};
use core_http::Error;

use crate::code_management::{
    AuditItem, CommitRequest, GetAuditStatusRequest, GetCodePrivacyInfoRequest,
    GetLatestAuditStatusRequest, GrayReleaseRequest, PreviewInfo, QueryQuotaRequest,
    ReleaseRequest, RevertCodeReleaseRequest, RevertGrayReleaseRequest, SpeedupAuditRequest,
    SubmitAuditRequest, UgcDeclare, UndoCodeAuditRequest, SHIPPING,
};
use crate::code_template::GetTemplateListRequest;
use crate::Client;

/// SubmitAudit's own members, as a release file gives them ([`Upload::audit`]).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Submission {
    item_list: Option<Vec<AuditItem>>,
    feedback_info: Option<String>,
    feedback_stuff: Option<Vec<String>>,
    version_desc: Option<String>,
    preview_info: Option<PreviewInfo>,
    ugc_declare: Option<UgcDeclare>,
    privacy_api_not_use: Option<bool>,
    order_path: Option<String>,
}

impl Submission {
    fn read(audit: &serde_json::Value) -> Result<Submission, String> {
        if audit.is_null() {
            return Ok(Submission::default());
        }
        // The release file's own text (no secret): its error names the member.
        serde_json::from_value(audit.clone()).map_err(|e| {
            format!(
                "`audit` is not SubmitAudit's members (item_list, feedback_info, feedback_stuff, version_desc, preview_info, ugc_declare, privacy_api_not_use, order_path): {e}"
            )
        })
    }

    fn request(self) -> SubmitAuditRequest {
        let mut request = SubmitAuditRequest::new();
        request.item_list = self.item_list;
        request.feedback_info = self.feedback_info;
        request.feedback_stuff = self.feedback_stuff;
        request.version_desc = self.version_desc;
        request.preview_info = self.preview_info;
        request.ugc_declare = self.ugc_declare;
        request.privacy_api_not_use = self.privacy_api_not_use;
        request.order_path = self.order_path;
        request
    }
}

/// Ships code to the platform's authorized apps (see the [module](self)).
#[derive(Clone)]
pub struct Shipper {
    client: Client,
    tokens: Arc<TokenManager>,
}

impl std::fmt::Debug for Shipper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shipper")
            .field("platform", &self.tokens.platform_app_id())
            .finish_non_exhaustive()
    }
}

impl Shipper {
    /// A shipper for the authorized apps of the platform of `tokens`.
    pub fn new(client: Client, tokens: Arc<TokenManager>) -> Self {
        Shipper { client, tokens }
    }

    fn app(&self, app: &str) -> crate::AuthorizedApp {
        self.client.authorizer(self.tokens.authorizer_token(app))
    }

    fn state(status: i64, reason: Option<&str>) -> AuditState {
        SHIPPING.state(&status.to_string(), reason)
    }

    fn audit_number(endpoint: &'static str, audit_id: &str) -> Result<i64, Error> {
        audit_id.parse::<i64>().map_err(|_| {
            Error::InvalidRequest(core_http::InvalidRequest {
                endpoint,
                field: "auditid",
                rule: "a number".into(),
                given: format!("{audit_id:?}"),
            })
        })
    }
}

/// Receives the audit results WeChat pushes to the platform's message and event URL
/// (`weapp_audit_success` / `weapp_audit_fail` / `weapp_audit_delay`, through
/// [`push::app_events`](crate::push::app_events)): verified, decrypted, replays refused, then
/// `on_audit` is called with the app's id from the URL's `$APPID$` segment (`None` on a URL
/// without it: the push names the app only by its original id). Returns the router and the
/// path to configure below where it is mounted (`/$APPID$`): nested at `/wechat/events`, the
/// message and event URL is `https://HOST/wechat/events/$APPID$`.
#[cfg(feature = "axum")]
pub fn audit_pushes(
    tokens: Arc<TokenManager>,
    settings: &core_http::push::PushSettings,
    on_audit: core_http::shipping::OnAudit,
) -> Result<Option<(axum::Router, &'static str)>, Error> {
    use crate::code_management::Event;
    let crypto = settings
        .message_crypto(tokens.platform_app_id())
        .map_err(Error::Push)?;
    let handler = crate::push::app_events::handler::AppEventHandler::new(tokens, crypto).on_push(
        move |push| {
            let on_audit = on_audit.clone();
            async move {
                if matches!(
                    push.event,
                    Event::AuditSuccess(_) | Event::AuditFail(_) | Event::AuditDelay(_)
                ) {
                    on_audit(push.app_id.clone());
                }
            }
        },
    );
    Ok(Some((handler.router(), "/$APPID$")))
}

/// The platform's shipper as the vendor-neutral [`ShipCode`] (what a fleet job takes).
pub fn shipper(
    client: Client,
    tokens: Arc<TokenManager>,
) -> Result<Arc<dyn ShipCode>, &'static str> {
    Ok(Arc::new(Shipper::new(client, tokens)))
}

impl ShipCode for Shipper {
    fn commit<'a>(&'a self, app: &'a str, upload: &'a Upload) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let request = CommitRequest::new(
                upload.template_id,
                upload.ext_json.clone(),
                upload.version.clone(),
                upload.description.clone(),
            );
            self.app(app).commit(&request).await.map(drop)
        })
    }

    fn check<'a>(&'a self, app: &'a str, _: &'a Upload) -> BoxFuture<'a, Result<Check, Error>> {
        Box::pin(async move {
            match self
                .app(app)
                .get_code_privacy_info(&GetCodePrivacyInfoRequest::new())
                .await
            {
                Ok(_) => Ok(Check::Done),
                Err(e) if SHIPPING.is(&e, SHIPPING.check_running) => Ok(Check::Running),
                Err(e) => Err(e),
            }
        })
    }

    fn check_submission(&self, upload: &Upload) -> Result<(), String> {
        let request = Submission::read(&upload.audit)?.request();
        core_http::Endpoint::validate(&request).map_err(|e| e.to_string())
    }

    fn submit<'a>(
        &'a self,
        app: &'a str,
        upload: &'a Upload,
    ) -> BoxFuture<'a, Result<Submitted, Error>> {
        Box::pin(async move {
            let request = Submission::read(&upload.audit)
                .map_err(|rule| {
                    Error::InvalidRequest(core_http::InvalidRequest {
                        endpoint: "SubmitAudit",
                        field: "audit",
                        rule,
                        given: "the release file's `audit`".into(),
                    })
                })?
                .request();
            match self.app(app).submit_audit(&request).await {
                Ok(answer) => match answer.auditid {
                    Some(id) => Ok(Submitted::Audit {
                        audit_id: id.to_string(),
                    }),
                    // Accepted without an id: the latest audit names it.
                    None => Ok(Submitted::AlreadyInAudit),
                },
                Err(e) if SHIPPING.is(&e, SHIPPING.in_audit) => Ok(Submitted::AlreadyInAudit),
                Err(e) if SHIPPING.is(&e, SHIPPING.check_running) => Ok(Submitted::CheckRunning),
                Err(e) if SHIPPING.is(&e, SHIPPING.quota_exhausted) => {
                    Ok(Submitted::QuotaExhausted)
                }
                Err(e) => Err(e),
            }
        })
    }

    fn status<'a>(
        &'a self,
        app: &'a str,
        audit_id: &'a str,
    ) -> BoxFuture<'a, Result<AuditState, Error>> {
        Box::pin(async move {
            let id = Self::audit_number("GetAuditStatus", audit_id)?;
            let answer = self
                .app(app)
                .get_audit_status(&GetAuditStatusRequest::new(id))
                .await?;
            Ok(Self::state(answer.status, answer.reason.as_deref()))
        })
    }

    fn latest<'a>(&'a self, app: &'a str) -> BoxFuture<'a, Result<Option<LatestAudit>, Error>> {
        Box::pin(async move {
            match self
                .app(app)
                .get_latest_audit_status(&GetLatestAuditStatusRequest::new())
                .await
            {
                Ok(answer) => Ok(answer.auditid.map(|id| LatestAudit {
                    audit_id: id.to_string(),
                    state: Self::state(answer.status, answer.reason.as_deref()),
                })),
                Err(e) if SHIPPING.is(&e, SHIPPING.no_audit) => Ok(None),
                Err(e) => Err(e),
            }
        })
    }

    fn release<'a>(&'a self, app: &'a str, _: &'a str) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async move {
            match self.app(app).release(&ReleaseRequest::new()).await {
                Ok(_) => Ok(true),
                Err(e) if SHIPPING.is(&e, SHIPPING.already_released) => Ok(false),
                Err(e) => Err(e),
            }
        })
    }

    fn supports_gray(&self) -> bool {
        true
    }

    fn templates(&self) -> BoxFuture<'_, Result<Option<Vec<Template>>, Error>> {
        Box::pin(async move {
            let answer = self
                .client
                .component(self.tokens.component_token())
                .get_template_list(&GetTemplateListRequest::new())
                .await?;
            Ok(Some(
                answer
                    .template_list
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|t| {
                        Some(Template {
                            template_id: t.template_id?,
                            version: t.user_version.unwrap_or_default(),
                            description: t.user_desc.unwrap_or_default(),
                            created: t.create_time.unwrap_or_default(),
                        })
                    })
                    .collect(),
            ))
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
                    .undo_code_audit(&UndoCodeAuditRequest::new())
                    .await
                    .map(drop),
                // No `action` (it would only list the versions): back to the version before.
                Action::Rollback => client
                    .revert_code_release(&RevertCodeReleaseRequest::new())
                    .await
                    .map(drop),
                Action::RevertGray => client
                    .revert_gray_release(&RevertGrayReleaseRequest::new())
                    .await
                    .map(drop),
                Action::Speedup => {
                    let id = Self::audit_number("SpeedupAudit", audit_id)?;
                    client
                        .speedup_audit(&SpeedupAuditRequest::new(id))
                        .await
                        .map(drop)
                }
            };
            core_http::shipping::acted(&SHIPPING, action, result)
        })
    }

    fn gray<'a>(
        &'a self,
        app: &'a str,
        _: &'a str,
        percent: u32,
    ) -> BoxFuture<'a, Result<Gray, Error>> {
        Box::pin(async move {
            let request = GrayReleaseRequest::new(i64::from(percent));
            match self.app(app).gray_release(&request).await {
                Ok(_) => Ok(Gray::Released),
                Err(e) if SHIPPING.is(&e, SHIPPING.gray_not_higher) => Ok(Gray::AlreadyHigher),
                Err(e) if SHIPPING.is(&e, SHIPPING.no_online_release) => Ok(Gray::NoOnlineRelease),
                Err(e) => Err(e),
            }
        })
    }

    fn reads_quota(&self) -> bool {
        SHIPPING.reads_quota
    }

    fn quota<'a>(&'a self, app: &'a str) -> BoxFuture<'a, Result<Option<AuditQuota>, Error>> {
        Box::pin(async move {
            let answer = self.app(app).query_quota(&QueryQuotaRequest::new()).await?;
            Ok(Some(AuditQuota {
                rest: answer.rest,
                limit: answer.limit,
            }))
        })
    }
}
