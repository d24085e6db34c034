//! WeChat calls of the tour: the platform's token and domain endpoints, code management of an
//! authorized mini-program, and the platform's code template library.

use serde_json::json;
use wechat_component_api::code_management as code;
use wechat_component_api::code_template as template;
use wechat_component_api::component_auth::*;
use wechat_component_api::domain_management::*;
use wechat_component_api::third_party_domain::*;
use wechat_component_api::third_party_server_domain::*;

use crate::Call;

pub(crate) fn calls() -> Vec<Call> {
    vec![
        Call::new("wechat", "GetComponentAccessToken", |c| {
            Box::pin(async move {
                let req = GetComponentAccessTokenRequest::new(
                    "wx_tour_component",
                    "TOUR_SECRET",
                    "ticket@@@tour",
                );
                let t = c.wechat_client.get_component_access_token(&req).await?;
                Ok(format!(
                    "component_access_token = {:?}, expires_in = {:?}",
                    t.component_access_token, t.expires_in
                ))
            })
        }),
        Call::new("wechat", "StartPushTicket", |c| {
            Box::pin(async move {
                let req = StartPushTicketRequest::new("wx_tour_component", "TOUR_SECRET");
                c.wechat_client.start_push_ticket(&req).await?;
                Ok("ticket push restarted".into())
            })
        }),
        Call::new("wechat", "CreatePreauthCode", |c| {
            Box::pin(async move {
                let code = c
                    .wechat
                    .create_preauthcode(&CreatePreauthCodeRequest::new("wx_tour_component"))
                    .await?;
                Ok(format!(
                    "pre_auth_code = {:?}, expires_in = {:?}",
                    code.pre_auth_code, code.expires_in
                ))
            })
        }),
        Call::new("wechat", "QueryAuth", |c| {
            Box::pin(async move {
                let info = c
                    .wechat
                    .query_auth(&QueryAuthRequest::new(
                        "wx_tour_component",
                        "queryauthcode@@@tour",
                    ))
                    .await?
                    .authorization_info;
                Ok(format!("authorized {}", info.authorizer_appid))
            })
        }),
        Call::new("wechat", "GetAuthorizerToken", |c| {
            Box::pin(async move {
                let req = GetAuthorizerTokenRequest::new(
                    "wx_tour_component",
                    "wx_authorizer",
                    "refreshtoken@@@tour",
                );
                let t = c.wechat.get_authorizer_token(&req).await?;
                Ok(format!(
                    "authorizer_access_token = {:?}, rotated refresh token = {:?}",
                    t.authorizer_access_token, t.authorizer_refresh_token
                ))
            })
        }),
        Call::new("wechat", "ModifyWxaJumpDomain", |c| {
            Box::pin(async move {
                let mut set = ModifyWxaJumpDomainRequest::new(JumpDomainAction::Set);
                set.wxa_jump_h5_domain = Some(vec!["www.qq.com".into(), "wx.qq.com".into()]);
                set.is_modify_published_together = Some(false);
                let answer = c.wechat.modify_wxa_jump_domain(&set).await?;
                Ok(format!(
                    "set: testing = {:?}, published = {:?}",
                    answer.testing_wxa_jump_h5_domain, answer.published_wxa_jump_h5_domain
                ))
            })
        }),
        Call::new("wechat", "ModifyWxaServerDomain", |c| {
            Box::pin(async move {
                let mut add = ModifyWxaServerDomainRequest::new(ServerDomainAction::Add);
                add.wxa_server_domain = Some(vec!["www.qq.com".into()]);
                let answer = c.wechat.modify_wxa_server_domain(&add).await?;
                Ok(format!(
                    "platform server domains (testing) = {:?}",
                    answer.testing_wxa_server_domain
                ))
            })
        }),
        Call::new("wechat", "GetDomainConfirmFile", |c| {
            Box::pin(async move {
                let file = c
                    .wechat
                    .get_domain_confirm_file(&GetDomainConfirmFileRequest::new())
                    .await?;
                Ok(format!(
                    "serve {} at the jump domains' root",
                    file.file_name
                ))
            })
        }),
        Call::new("wechat", "ModifyDomain", |c| {
            Box::pin(async move {
                let mut add = ModifyDomainRequest::new(DomainAction::Add);
                add.requestdomain = Some(vec!["https://www.qq.com".into()]);
                let answer = c.wechat_app.modify_domain(&add).await?;
                Ok(format!("requestdomain = {:?}", answer.requestdomain))
            })
        }),
        Call::new("wechat", "ModifyDomainDirectly", |c| {
            Box::pin(async move {
                let mut set = ModifyDomainDirectlyRequest::new(DomainAction::Set);
                set.requestdomain = Some(vec!["https://www.qq.com".into()]);
                c.wechat_app.modify_domain_directly(&set).await?;
                Ok("set; effective after the next release".into())
            })
        }),
        Call::new("wechat", "GetEffectiveDomain", |c| {
            Box::pin(async move {
                let answer = c
                    .wechat_app
                    .get_effective_domain(&GetEffectiveDomainRequest::new())
                    .await?;
                Ok(format!(
                    "effective requestdomain = {:?}",
                    answer.effective_domain.and_then(|d| d.requestdomain)
                ))
            })
        }),
        Call::new("wechat", "SetWebviewDomain", |c| {
            Box::pin(async move {
                let mut get = SetWebviewDomainRequest::new();
                get.action = Some(DomainAction::Get);
                let answer = c.wechat_app.set_webview_domain(&get).await?;
                Ok(format!("webviewdomain = {:?}", answer.webviewdomain))
            })
        }),
        Call::new("wechat", "SetWebviewDomainDirectly", |c| {
            Box::pin(async move {
                let get = SetWebviewDomainDirectlyRequest::new(DomainAction::Get);
                let answer = c.wechat_app.set_webview_domain_directly(&get).await?;
                Ok(format!("webviewdomain = {:?}", answer.webviewdomain))
            })
        }),
        Call::new("wechat", "GetWebviewDomainConfirmFile", |c| {
            Box::pin(async move {
                let file = c
                    .wechat_app
                    .get_webview_domain_confirm_file(&GetWebviewDomainConfirmFileRequest::new())
                    .await?;
                Ok(format!(
                    "serve {} at the webview domains' root",
                    file.file_name
                ))
            })
        }),
        Call::new("wechat", "Commit", |c| {
            Box::pin(async move {
                let ext_json = json!({
                    "extAppid": "",
                    "ext": {"attr1": "value1", "attr2": "value2"},
                    "extPages": {"index": {}, "search/index": {}},
                    "pages": ["index", "search/index"],
                    "window": {},
                    "networkTimeout": {},
                    "tabBar": {},
                    "plugin": {}
                });
                let req = code::CommitRequest::new(0, ext_json, "V1.0", "test");
                c.wechat_app.commit(&req).await?;
                Ok("trial version uploaded".into())
            })
        }),
        Call::new("wechat", "GetPage", |c| {
            Box::pin(async move {
                let pages = c
                    .wechat_app
                    .get_page(&code::GetPageRequest::new())
                    .await?
                    .page_list
                    .unwrap_or_default();
                Ok(format!("{} pages: {pages:?}", pages.len()))
            })
        }),
        Call::new("wechat", "GetQrcode", |c| {
            Box::pin(async move {
                let req = code::GetQrcodeRequest {
                    path: Some("page/index?action=1".into()),
                };
                let qr = c.wechat_app.get_qrcode(&req).await?;
                Ok(format!("{} bytes of {}", qr.bytes.len(), qr.content_type))
            })
        }),
        Call::new("wechat", "GetCodePrivacyInfo", |c| {
            Box::pin(async move {
                let info = c
                    .wechat_app
                    .get_code_privacy_info(&code::GetCodePrivacyInfoRequest::new())
                    .await?;
                Ok(format!(
                    "without auth = {:?}, without conf = {:?}",
                    info.without_auth_list, info.without_conf_list
                ))
            })
        }),
        Call::new("wechat", "SubmitAudit", |c| {
            Box::pin(async move {
                let mut req = code::SubmitAuditRequest::new();
                req.item_list = Some(vec![
                    code::AuditItem {
                        address: Some("index".into()),
                        tag: Some("学习 生活".into()),
                        first_class: "文娱".into(),
                        second_class: "资讯".into(),
                        third_class: None,
                        title: Some("首页".into()),
                        first_id: 1,
                        second_id: 2,
                        third_id: None,
                    },
                    code::AuditItem {
                        address: Some("page/logs/logs".into()),
                        tag: Some("学习 工作".into()),
                        first_class: "教育".into(),
                        second_class: "学历教育".into(),
                        third_class: Some("高等".into()),
                        title: Some("日志".into()),
                        first_id: 3,
                        second_id: 4,
                        third_id: Some(5),
                    },
                ]);
                req.feedback_info = Some("blablabla".into());
                req.feedback_stuff = Some(vec!["xx".into(), "yy".into(), "zz".into()]);
                req.preview_info = Some(code::PreviewInfo {
                    video_id_list: vec!["xxxx".into()],
                    pic_id_list: vec!["xxxx".into(), "yyyy".into(), "zzzz".into()],
                });
                req.version_desc = Some("blablabla".into());
                req.ugc_declare = Some(code::UgcDeclare {
                    scene: Some(vec![1, 2]),
                    method: Some(vec![1]),
                    other_scene_desc: None,
                    has_audit_team: Some(1),
                    audit_desc: Some("blablabla".into()),
                });
                let answer = c.wechat_app.submit_audit(&req).await?;
                Ok(format!("auditid = {:?}", answer.auditid))
            })
        }),
        Call::new("wechat", "GetAuditStatus", |c| {
            Box::pin(async move {
                let s = c
                    .wechat_app
                    .get_audit_status(&code::GetAuditStatusRequest::new(1234567))
                    .await?;
                Ok(format!(
                    "status = {} ({:?}), reason = {:?}",
                    s.status,
                    code::AuditStatus::from_wire(&s.status.to_string()),
                    s.reason
                ))
            })
        }),
        Call::new("wechat", "GetLatestAuditStatus", |c| {
            Box::pin(async move {
                let s = c
                    .wechat_app
                    .get_latest_audit_status(&code::GetLatestAuditStatusRequest::new())
                    .await?;
                Ok(format!(
                    "auditid = {:?}, status = {} ({:?}), reason = {:?}",
                    s.auditid,
                    s.status,
                    code::AuditStatus::from_wire(&s.status.to_string()),
                    s.reason
                ))
            })
        }),
        Call::new("wechat", "UndoCodeAudit", |c| {
            Box::pin(async move {
                c.wechat_app
                    .undo_code_audit(&code::UndoCodeAuditRequest::new())
                    .await?;
                Ok("audit withdrawn".into())
            })
        }),
        Call::new("wechat", "SpeedupAudit", |c| {
            Box::pin(async move {
                c.wechat_app
                    .speedup_audit(&code::SpeedupAuditRequest::new(12345))
                    .await?;
                Ok("audit sped up".into())
            })
        }),
        Call::new("wechat", "Release", |c| {
            Box::pin(async move {
                c.wechat_app.release(&code::ReleaseRequest::new()).await?;
                Ok("released".into())
            })
        }),
        Call::new("wechat", "RevertCodeRelease", |c| {
            Box::pin(async move {
                let mut list = code::RevertCodeReleaseRequest::new();
                list.action = Some(code::RevertCodeReleaseAction::GetHistoryVersion);
                let versions = c
                    .wechat_app
                    .revert_code_release(&list)
                    .await?
                    .version_list
                    .unwrap_or_default();
                let listed: Vec<Option<i64>> = versions.iter().map(|v| v.app_version).collect();
                let mut revert = code::RevertCodeReleaseRequest::new();
                revert.app_version = listed.first().copied().flatten().map(|v| v.to_string());
                c.wechat_app.revert_code_release(&revert).await?;
                Ok(format!(
                    "history {listed:?}, rolled back to {:?}",
                    revert.app_version
                ))
            })
        }),
        Call::new("wechat", "GrayRelease", |c| {
            Box::pin(async move {
                let mut req = code::GrayReleaseRequest::new(1);
                req.support_experiencer_first = Some(true);
                req.support_debuger_first = Some(true);
                c.wechat_app.gray_release(&req).await?;
                Ok("phased release at 1%".into())
            })
        }),
        Call::new("wechat", "GetGrayReleasePlan", |c| {
            Box::pin(async move {
                let plan = c
                    .wechat_app
                    .get_gray_release_plan(&code::GetGrayReleasePlanRequest::new())
                    .await?
                    .gray_release_plan;
                Ok(format!(
                    "status = {:?}, gray_percentage = {:?}",
                    plan.as_ref().and_then(|p| p.status),
                    plan.as_ref().and_then(|p| p.gray_percentage)
                ))
            })
        }),
        Call::new("wechat", "RevertGrayRelease", |c| {
            Box::pin(async move {
                c.wechat_app
                    .revert_gray_release(&code::RevertGrayReleaseRequest::new())
                    .await?;
                Ok("phased release cancelled".into())
            })
        }),
        Call::new("wechat", "ChangeVisitStatus", |c| {
            Box::pin(async move {
                let req = code::ChangeVisitStatusRequest::new(code::VisitAction::Close);
                c.wechat_app.change_visit_status(&req).await?;
                Ok("service closed to visitors".into())
            })
        }),
        Call::new("wechat", "GetCategory", |c| {
            Box::pin(async move {
                let cats = c
                    .wechat_app
                    .get_category(&code::GetCategoryRequest::new())
                    .await?
                    .category_list
                    .unwrap_or_default();
                let first = cats.first().and_then(|c| c.second_class.clone());
                Ok(format!("{} categories, first {first:?}", cats.len()))
            })
        }),
        Call::new("wechat", "QueryQuota", |c| {
            Box::pin(async move {
                let q = c
                    .wechat_app
                    .query_quota(&code::QueryQuotaRequest::new())
                    .await?;
                Ok(format!(
                    "rest {} of {}, speed-ups {} of {}",
                    q.rest, q.limit, q.speedup_rest, q.speedup_limit
                ))
            })
        }),
        Call::new("wechat", "GetTemplateDraftList", |c| {
            Box::pin(async move {
                let drafts = c
                    .wechat
                    .get_template_draft_list(&template::GetTemplateDraftListRequest::new())
                    .await?
                    .draft_list
                    .unwrap_or_default();
                let ids: Vec<i64> = drafts.iter().map(|d| d.draft_id).collect();
                Ok(format!("draft ids {ids:?}"))
            })
        }),
        Call::new("wechat", "AddToTemplate", |c| {
            Box::pin(async move {
                c.wechat
                    .add_to_template(&template::AddToTemplateRequest::new(1))
                    .await?;
                Ok("draft added to the template library".into())
            })
        }),
        Call::new("wechat", "GetTemplateList", |c| {
            Box::pin(async move {
                let mut req = template::GetTemplateListRequest::new();
                req.template_type = Some(template::TemplateType::Standard);
                let list = c
                    .wechat
                    .get_template_list(&req)
                    .await?
                    .template_list
                    .unwrap_or_default();
                let ids: Vec<Option<i64>> = list.iter().map(|t| t.template_id).collect();
                Ok(format!("template ids {ids:?}"))
            })
        }),
        Call::new("wechat", "DeleteTemplate", |c| {
            Box::pin(async move {
                c.wechat
                    .delete_template(&template::DeleteTemplateRequest::new(0))
                    .await?;
                Ok("template deleted".into())
            })
        }),
    ]
}
