//! Kuaishou calls of the tour.

use kuaishou_api::basic_info::*;

use crate::{Call, Clients};

fn list(items: &[&str]) -> Option<Vec<String>> {
    Some(items.iter().map(|s| s.to_string()).collect())
}

pub(crate) fn calls() -> Vec<Call> {
    vec![
        Call {
            vendor: "kuaishou",
            endpoint: "ServerDomain",
            run: |c: &Clients| {
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
            },
        },
        Call {
            vendor: "kuaishou",
            endpoint: "WebviewDomain",
            run: |c: &Clients| {
                Box::pin(async move {
                    let answer = c
                        .kuaishou
                        .webview_domain(&WebviewDomainRequest::new(DomainAction::Get))
                        .await?;
                    Ok(format!("get: webview = {:?}", answer.webview))
                })
            },
        },
        Call {
            vendor: "kuaishou",
            endpoint: "GetAppInfo",
            run: |c: &Clients| {
                Box::pin(async move {
                    let info = c.kuaishou.get_app_info(&GetAppInfoRequest::new()).await?;
                    Ok(format!(
                        "app_name = {:?}, status = {:?}, {} categories",
                        info.app_name,
                        info.status,
                        info.app_category.map_or(0, |c| c.len())
                    ))
                })
            },
        },
    ]
}
