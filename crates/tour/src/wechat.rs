//! WeChat calls of the tour.

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
    ]
}
