//! Kuaishou calls of the tour.

use kuaishou_api::basic_info::*;
use kuaishou_api::oauth::*;

use crate::Call;

fn list(items: &[&str]) -> Option<Vec<String>> {
    Some(items.iter().map(|s| s.to_string()).collect())
}

pub(crate) fn calls() -> Vec<Call> {
    vec![
        Call::new("kuaishou", "StartPushTicket", |c| {
            Box::pin(async move {
                let req = StartPushTicketRequest::new("tour-component-app", "TOUR_SECRET");
                c.kuaishou_client.start_push_ticket(&req).await?;
                Ok("ticket push started".into())
            })
        }),
        Call::new("kuaishou", "GetComponentAccessToken", |c| {
            Box::pin(async move {
                let req = GetComponentAccessTokenRequest::new(
                    "tour-component-app",
                    "TOUR_SECRET",
                    "tour-ticket",
                );
                let t = c.kuaishou_client.get_component_access_token(&req).await?;
                Ok(format!(
                    "component_access_token = {:?}, expires_in = {:?}",
                    t.component_access_token, t.expires_in
                ))
            })
        }),
        Call::new("kuaishou", "GetPreAuthCode", |c| {
            Box::pin(async move {
                let code = c
                    .kuaishou_component
                    .get_pre_auth_code(&GetPreAuthCodeRequest::new())
                    .await?;
                Ok(format!("pre_auth_code = {:?}", code.pre_auth_code))
            })
        }),
        Call::new("kuaishou", "GetAuthorizerAccessToken", |c| {
            Box::pin(async move {
                let t = c
                    .kuaishou_component
                    .get_authorizer_access_token(&GetAuthorizerAccessTokenRequest::new(
                        "tour-auth-code",
                    ))
                    .await?;
                Ok(format!(
                    "authorizer_access_token = {:?}, app = {:?}",
                    t.authorizer_access_token, t.authorizer_app_id
                ))
            })
        }),
        Call::new("kuaishou", "GetReAuthorizationCode", |c| {
            Box::pin(async move {
                let code = c
                    .kuaishou_component
                    .get_re_authorization_code(&GetReAuthorizationCodeRequest::new(
                        "tour-authorized-app",
                    ))
                    .await?;
                Ok(format!(
                    "authorization_code = {:?}",
                    code.authorization_code
                ))
            })
        }),
        Call::new("kuaishou", "ServerDomain", |c| {
            Box::pin(async move {
                let mut set = ServerDomainRequest::new(DomainAction::Set);
                set.request = list(&["api.example.com"]);
                set.socket = list(&["ws.example.com"]);
                set.upload_file = list(&["up.example.com"]);
                set.download_file = list(&["dl.example.com"]);
                set.udp = list(&[]);
                let answer = c.kuaishou.server_domain(&set).await?;
                Ok(format!("set: request = {:?}", answer.request))
            })
        }),
        Call::new("kuaishou", "WebviewDomain", |c| {
            Box::pin(async move {
                let answer = c
                    .kuaishou
                    .webview_domain(&WebviewDomainRequest::new(DomainAction::Get))
                    .await?;
                Ok(format!("get: webview = {:?}", answer.webview))
            })
        }),
        Call::new("kuaishou", "GetAppInfo", |c| {
            Box::pin(async move {
                let info = c.kuaishou.get_app_info(&GetAppInfoRequest::new()).await?;
                Ok(format!(
                    "app_name = {:?}, status = {:?}, {} categories",
                    info.app_name,
                    info.status,
                    info.app_category.map_or(0, |c| c.len())
                ))
            })
        }),
    ]
}
