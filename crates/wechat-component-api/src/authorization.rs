//! Authorizing the platform: the authorization page link (with a fresh pre-auth code), and
//! the redirect's `auth_code` exchanged and saved in one call.
//!
//! ```no_run
//! # async fn demo(client: wechat_component_api::Client, tokens: wechat_component_api::tokens::TokenManager) -> Result<(), wechat_component_api::Error> {
//! use wechat_component_api::authorization::{self, AuthType};
//!
//! // 1. Send the merchant to this link (it is valid while the pre-auth code is).
//! let link = authorization::link(&client, &tokens, "https://example.com/wechat/authorized", AuthType::MiniProgram, None).await?;
//! // 2. The redirect brings `auth_code`: exchange it, save the tokens, get the app id.
//! let app_id = authorization::complete(&client, &tokens, "AUTH_CODE_FROM_THE_REDIRECT").await?;
//! let app = client.authorizer(tokens.authorizer_token(&app_id)); // refreshes itself from now on
//! # Ok(()) }
//! ```

use core_http::Error;

use crate::component_auth::CreatePreauthCodeRequest;
use crate::tokens::TokenManager;
use crate::Client;

/// The authorization page (`componentloginpage`).
pub const AUTHORIZATION_PAGE: &str = "https://mp.weixin.qq.com/cgi-bin/componentloginpage";

/// Which accounts the page offers (`auth_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthType {
    /// `1`: official accounts only.
    OfficialAccount,
    /// `2`: mini-programs only.
    MiniProgram,
    /// `3`: both.
    Both,
}

impl AuthType {
    fn wire(self) -> &'static str {
        match self {
            AuthType::OfficialAccount => "1",
            AuthType::MiniProgram => "2",
            AuthType::Both => "3",
        }
    }
}

/// The authorization page link for the platform of `tokens`, with a fresh pre-auth code
/// (`api_create_preauthcode`); `biz_appid` restricts it to one account.
pub async fn link(
    client: &Client,
    tokens: &TokenManager,
    redirect_uri: &str,
    auth_type: AuthType,
    biz_appid: Option<&str>,
) -> Result<String, Error> {
    let component = client.component(tokens.component_token());
    let code = component
        .create_preauthcode(&CreatePreauthCodeRequest::new(tokens.platform_app_id()))
        .await?
        .pre_auth_code;
    let mut url = url::Url::parse(AUTHORIZATION_PAGE).expect("a valid constant URL");
    url.query_pairs_mut()
        .append_pair("component_appid", tokens.platform_app_id())
        .append_pair("pre_auth_code", &code)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("auth_type", auth_type.wire());
    if let Some(biz) = biz_appid {
        url.query_pairs_mut().append_pair("biz_appid", biz);
    }
    Ok(url.into())
}

/// Exchanges an app's authorization code and saves its tokens: generated from
/// `[tokens.exchange]` of the vendor's `vendor.toml` ([`crate::tokens::complete_authorization`]).
pub use crate::tokens::complete_authorization as complete;
