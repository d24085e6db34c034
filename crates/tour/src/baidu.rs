//! Baidu calls of the tour: the platform's token endpoints, all 18 endpoints of 「基本信息设置」,
//! the code packages of an authorized mini-program (「小程序包管理」) and the platform's template
//! library (「模板列表」).

use baidu_smartapp_api::basic_info::*;
use baidu_smartapp_api::package as pkg;
use baidu_smartapp_api::template;
use baidu_smartapp_api::tp_auth::*;
use serde_json::json;

use crate::{Call, CallFuture, Clients};

fn call(endpoint: &'static str, run: for<'a> fn(&'a Clients) -> CallFuture<'a>) -> Call {
    Call::new("baidu", endpoint, run)
}

fn list(items: &[&str]) -> Option<Vec<String>> {
    Some(items.iter().map(|s| s.to_string()).collect())
}

pub(crate) fn calls() -> Vec<Call> {
    vec![
        call("GetTpToken", |c| {
            Box::pin(async move {
                let t = c
                    .baidu_client
                    .get_tp_token(&GetTpTokenRequest::new("tour_client_id", "tour-ticket"))
                    .await?;
                Ok(format!(
                    "tp token = {:?}, expires_in = {:?}",
                    t.access_token, t.expires_in
                ))
            })
        }),
        call("CreatePreAuthCode", |c| {
            Box::pin(async move {
                let code = c
                    .baidu_component
                    .create_pre_auth_code(&CreatePreAuthCodeRequest::new())
                    .await?;
                Ok(format!("pre_auth_code = {:?}", code.pre_auth_code))
            })
        }),
        call("GetOAuthToken", |c| {
            Box::pin(async move {
                let mut req = GetOAuthTokenRequest::new(OAuthGrantType::RefreshToken);
                req.refresh_token = Some("46.tour-refresh".into());
                let t = c.baidu_component.get_oauth_token(&req).await?;
                Ok(format!(
                    "access_token = {:?}, rotated refresh token = {:?}",
                    t.access_token, t.refresh_token
                ))
            })
        }),
        call("RetrieveAuthorizationCode", |c| {
            Box::pin(async move {
                let code = c
                    .baidu_component
                    .retrieve_authorization_code(&RetrieveAuthorizationCodeRequest::new(15263713))
                    .await?;
                Ok(format!(
                    "authorization_code = {:?}",
                    code.authorization_code
                ))
            })
        }),
        call("GetCategoryList", |c| {
            Box::pin(async move {
                let cats = c
                    .baidu
                    .get_category_list(&GetCategoryListRequest::new(CategoryType::Enterprise))
                    .await?
                    .categories;
                let first = cats.first().and_then(|c| c.category_name.clone());
                Ok(format!("{} categories, first {first:?}", cats.len()))
            })
        }),
        call("UpdateCategory", |c| {
            Box::pin(async move {
                let req = UpdateCategoryRequest::new(vec![
                    CategoryUpdate {
                        sub_category_id: 197,
                        qualis: Some(vec![CategoryQuali {
                            id: 1,
                            addr: "https://b.bdstatic.com/searchbox/mappconsole/image/20180903/1535970481267095.jpg".into(),
                        }]),
                    },
                    CategoryUpdate {
                        sub_category_id: 6,
                        qualis: None,
                    },
                ]);
                c.baidu.update_category(&req).await?;
                Ok("categories replaced".into())
            })
        }),
        call("ModifyHeadImage", |c| {
            Box::pin(async move {
                let req = ModifyHeadImageRequest::new(
                    "https://b.bdstatic.com/searchbox/mappconsole/image/20181204/icon.png",
                );
                c.baidu.modify_head_image(&req).await?;
                Ok("icon sent to audit".into())
            })
        }),
        call("ModifySignature", |c| {
            Box::pin(async move {
                c.baidu
                    .modify_signature(&ModifySignatureRequest::new("小程序的相关描述"))
                    .await?;
                Ok("signature sent to audit".into())
            })
        }),
        call("PauseService", |c| {
            Box::pin(async move {
                c.baidu.pause_service(&PauseServiceRequest::new()).await?;
                Ok("paused".into())
            })
        }),
        call("ResumeService", |c| {
            Box::pin(async move {
                c.baidu.resume_service(&ResumeServiceRequest::new()).await?;
                Ok("resumed".into())
            })
        }),
        call("ApplyFlowRecovery", |c| {
            Box::pin(async move {
                c.baidu
                    .apply_flow_recovery(&ApplyFlowRecoveryRequest::new("已修复违规内容，申请恢复"))
                    .await?;
                Ok("recovery applied".into())
            })
        }),
        call("GetQrCode", |c| {
            Box::pin(async move {
                let req = GetQrCodeRequest {
                    path: Some("pages/index/index".into()),
                    width: Some(430),
                    ..Default::default()
                };
                let qr = c.baidu.get_qr_code(&req).await?;
                Ok(format!("{} bytes of {}", qr.bytes.len(), qr.content_type))
            })
        }),
        call("SetNickname", |c| {
            Box::pin(async move {
                c.baidu
                    .set_nickname(&SetNicknameRequest::new("小程序名称"))
                    .await?;
                Ok("nickname sent to audit".into())
            })
        }),
        call("SetSupportVersion", |c| {
            Box::pin(async move {
                c.baidu
                    .set_support_version(&SetSupportVersionRequest::new("1.10.15"))
                    .await?;
                Ok("minimum version set".into())
            })
        }),
        call("GetSupportVersion", |c| {
            Box::pin(async move {
                let v = c
                    .baidu
                    .get_support_version(&GetSupportVersionRequest::new())
                    .await?;
                Ok(format!(
                    "now {:?}, {} versions",
                    v.now_version,
                    v.items.map_or(0, |i| i.len())
                ))
            })
        }),
        call("ModifyDomain", |c| {
            Box::pin(async move {
                let mut set = ModifyDomainRequest::new();
                set.action = Some(DomainAction::Set);
                set.request_domain = list(&["https://api.example.com"]);
                set.socket_domain = list(&["wss://ws.example.com"]);
                set.upload_domain = list(&["https://up.example.com"]);
                set.download_domain = list(&["https://dl.example.com"]);
                c.baidu.modify_domain(&set).await?;
                let mut get = ModifyDomainRequest::new();
                get.action = Some(DomainAction::Get);
                let now = c.baidu.modify_domain(&get).await?;
                Ok(format!("set, then get: request = {:?}", now.request_domain))
            })
        }),
        call("ModifyWebviewDomain", |c| {
            Box::pin(async move {
                let mut get = ModifyWebviewDomainRequest::new();
                get.action = Some(DomainAction::Get);
                let now = c.baidu.modify_webview_domain(&get).await?;
                Ok(format!("get: {:?}", now.web_view_domain))
            })
        }),
        call("CheckName", |c| {
            Box::pin(async move {
                let r = c
                    .baidu
                    .check_name(&CheckNameRequest::new("appName"))
                    .await?;
                Ok(format!("check_result = {:?}", r.check_result))
            })
        }),
        call("OfflineUpdate", |c| {
            Box::pin(async move {
                let mut req = OfflineUpdateRequest::new();
                req.app_name = Some("聊聊聊测试".into());
                let r = c.baidu.offline_update(&req).await?;
                Ok(format!("examine_id = {:?}", r.examine_id))
            })
        }),
        call("ApplyMobileAuth", |c| {
            Box::pin(async move {
                let req = ApplyMobileAuthRequest::new(
                    MobileAuthReason::DeliveryContact,
                    MobileAuthUsedScene::OnlineShopping,
                    "以购物小程序为例，需要手机号填写联系方式。",
                    "https://mbs1.bdstatic.com/searchbox/mappconsole/image/20191224/demo.png",
                );
                c.baidu.apply_mobile_auth(&req).await?;
                Ok("mobile auth applied".into())
            })
        }),
        call("CancelMobileAuth", |c| {
            Box::pin(async move {
                c.baidu
                    .cancel_mobile_auth(&CancelMobileAuthRequest::new())
                    .await?;
                Ok("mobile auth cancelled".into())
            })
        }),
        call("GetMobileAuthStatus", |c| {
            Box::pin(async move {
                let s = c
                    .baidu
                    .get_mobile_auth_status(&GetMobileAuthStatusRequest::new())
                    .await?;
                Ok(format!("status = {:?}, reason = {:?}", s.status, s.reason))
            })
        }),
        call("UploadPackage", |c| {
            Box::pin(async move {
                let req = pkg::UploadPackageRequest::new(
                    "754",
                    json!({"extEnable": true, "directCommit": false}),
                    "模板分包优化提包 case4",
                    "10.30.0.3",
                );
                c.baidu.upload_package(&req).await?;
                Ok("upload accepted; poll GetPackages".into())
            })
        }),
        call("SubmitPackageAudit", |c| {
            Box::pin(async move {
                let req = pkg::SubmitPackageAuditRequest::new("TP代送审开发包", "55106", "代提审");
                c.baidu.submit_package_audit(&req).await?;
                Ok("package sent to audit".into())
            })
        }),
        call("ReleasePackage", |c| {
            Box::pin(async move {
                c.baidu
                    .release_package(&pkg::ReleasePackageRequest::new("58210"))
                    .await?;
                Ok("package released".into())
            })
        }),
        call("RollbackPackage", |c| {
            Box::pin(async move {
                c.baidu
                    .rollback_package(&pkg::RollbackPackageRequest::new("58210"))
                    .await?;
                Ok("rolling back to the previous online version".into())
            })
        }),
        call("WithdrawPackageAudit", |c| {
            Box::pin(async move {
                c.baidu
                    .withdraw_package_audit(&pkg::WithdrawPackageAuditRequest::new("58210"))
                    .await?;
                Ok("audit withdrawn".into())
            })
        }),
        call("GetPackages", |c| {
            Box::pin(async move {
                let packages = c
                    .baidu
                    .get_packages(&pkg::GetPackagesRequest::new())
                    .await?
                    .packages
                    .unwrap_or_default();
                let seen: Vec<_> = packages
                    .iter()
                    .map(|p| (p.version.clone(), p.status, p.package_id))
                    .collect();
                Ok(format!(
                    "{} packages (version, status, id): {seen:?}",
                    packages.len()
                ))
            })
        }),
        call("GetPackageDetail", |c| {
            Box::pin(async move {
                let mut req = pkg::GetPackageDetailRequest::new();
                req.package_type = Some(pkg::PackageStatus::Auditing);
                let p = c.baidu.get_package_detail(&req).await?;
                Ok(format!(
                    "package {:?} version {:?}, status = {:?}",
                    p.package_id, p.version, p.status
                ))
            })
        }),
        call("GetTemplateList", |c| {
            Box::pin(async move {
                let mut req = template::GetTemplateListRequest::new();
                req.page = Some(1);
                req.page_size = Some(50);
                let page = c.baidu_component.get_template_list(&req).await?;
                let ids: Vec<Option<i64>> = page
                    .list
                    .unwrap_or_default()
                    .iter()
                    .map(|t| t.template_id)
                    .collect();
                Ok(format!(
                    "{:?} templates, first page ids {ids:?}",
                    page.count
                ))
            })
        }),
        call("GetTemplateDraftList", |c| {
            Box::pin(async move {
                let mut req = template::GetTemplateDraftListRequest::new();
                req.page = Some(1);
                req.page_size = Some(50);
                let page = c.baidu_component.get_template_draft_list(&req).await?;
                let ids: Vec<Option<i64>> = page
                    .list
                    .unwrap_or_default()
                    .iter()
                    .map(|d| d.draft_id)
                    .collect();
                Ok(format!("{:?} drafts, first page ids {ids:?}", page.count))
            })
        }),
        call("AddToTemplate", |c| {
            Box::pin(async move {
                let t = c
                    .baidu_component
                    .add_to_template(&template::AddToTemplateRequest::new("68", "haha"))
                    .await?;
                Ok(format!("template_id = {}", t.template_id))
            })
        }),
        call("DelTemplate", |c| {
            Box::pin(async move {
                let r = c
                    .baidu_component
                    .del_template(&template::DelTemplateRequest::new("301"))
                    .await?;
                Ok(format!("result = {:?}", r.result))
            })
        }),
    ]
}
