//! WeChat calls of the tour.

use wechat_component_api::component_auth::*;
use wechat_component_api::third_party_domain::*;

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
    ]
}
