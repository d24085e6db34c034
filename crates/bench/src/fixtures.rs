//! What both sides send: tokens, domain lists, and the SDK's request values.
//!
//! The tokens have the length and alphabet of real ones (letters, digits, `.`, `-`, `_`), none
//! of which percent-encoding changes, so the baseline may format them into URLs directly.

use baidu_smartapp_api::basic_info::{
    DomainAction as BaiduAction, GetQrCodeRequest, ModifyDomainRequest,
};
use kuaishou_api::basic_info::{DomainAction as KuaishouAction, ServerDomainRequest};
use wechat_component_api::third_party_domain::{JumpDomainAction, ModifyWxaJumpDomainRequest};

/// WeChat `component_access_token`.
pub const WECHAT_TOKEN: &str = "85_tQ2kAyd9w3Hk8fRZyqmXy5uUjY0Gm1VbqgqD3XhM7pPz4Yc2_ZRrLxWqJ1oN9sK4eT6vB8nM0aS2dF5gH7jK9lZ3xC5vB7nM9qW1eR3tY5uI7oP9";
/// Baidu authorizer access token (the document's example).
pub const BAIDU_TOKEN: &str =
    "45.6fe3b83637bcf969ecbd076390aff5be.3600.1574865809.HPiKUxSxNQ-3Fy3JR1wLsECD15bpJHQ-1W3JTSQkkj5RZ9lgfC";
/// Kuaishou platform app id.
pub const KUAISHOU_APP_ID: &str = "ks651332865385913398";
/// Kuaishou authorizer access token.
pub const KUAISHOU_TOKEN: &str =
    "ChFvYXV0aC5hY2Nlc3NUb2tlbhJgY2V5Q3JvX2ZkZmJmRjNkVmRkTjBmNjJjOWVlZTVmOTQxYjM0ZjE4MWY2ZmJmMGE4";

/// WeChat jump domains (sent as `www.qq.com;wx.qq.com`).
pub const WECHAT_DOMAINS: &[&str] = &["www.qq.com", "wx.qq.com"];
/// Baidu `download_domain`.
pub const BAIDU_DOWNLOAD: &[&str] = &["https://dl.example.com"];
/// Baidu `request_domain`.
pub const BAIDU_REQUEST: &[&str] = &["https://api.example.com", "https://api2.example.com"];
/// Kuaishou lists: request, socket, upload_file, download_file, udp.
pub const KUAISHOU_REQUEST: &[&str] = &["https://api.example.com", "https://api2.example.com"];
/// Kuaishou `socket`.
pub const KUAISHOU_SOCKET: &[&str] = &["wss://ws.example.com"];
/// Kuaishou `upload_file`.
pub const KUAISHOU_UPLOAD: &[&str] = &["https://up.example.com"];
/// Kuaishou `download_file`.
pub const KUAISHOU_DOWNLOAD: &[&str] = &["https://dl.example.com"];
/// Kuaishou `udp`.
pub const KUAISHOU_UDP: &[&str] = &["udp://udp.example.com"];
/// Width of the QR code both sides ask for.
pub const QR_WIDTH: i64 = 430;

/// The token of authorized app number `i` in the bulk fan-out.
pub fn app_token(i: usize) -> String {
    format!("45.app-{i}")
}

/// Owned copies of a list.
pub fn owned(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// WeChat `modify_wxa_jump_domain`, action `set`.
pub fn wechat_set() -> ModifyWxaJumpDomainRequest {
    let mut r = ModifyWxaJumpDomainRequest::new(JumpDomainAction::Set);
    r.wxa_jump_h5_domain = Some(owned(WECHAT_DOMAINS));
    r.is_modify_published_together = Some(false);
    r
}

/// Baidu `modify_domain`, action `set`.
pub fn baidu_set() -> ModifyDomainRequest {
    let mut r = ModifyDomainRequest::new();
    r.action = Some(BaiduAction::Set);
    r.download_domain = Some(owned(BAIDU_DOWNLOAD));
    r.request_domain = Some(owned(BAIDU_REQUEST));
    r
}

/// Kuaishou `server_domain`, action `set`.
pub fn kuaishou_set() -> ServerDomainRequest {
    let mut r = ServerDomainRequest::new(KuaishouAction::Set);
    r.request = Some(owned(KUAISHOU_REQUEST));
    r.socket = Some(owned(KUAISHOU_SOCKET));
    r.upload_file = Some(owned(KUAISHOU_UPLOAD));
    r.download_file = Some(owned(KUAISHOU_DOWNLOAD));
    r.udp = Some(owned(KUAISHOU_UDP));
    r
}

/// Baidu `get_qr_code` of width [`QR_WIDTH`].
pub fn baidu_qr() -> GetQrCodeRequest {
    GetQrCodeRequest {
        width: Some(QR_WIDTH),
        ..GetQrCodeRequest::new()
    }
}
