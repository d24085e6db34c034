//! Authorizing the platform: the authorization page link (with a fresh pre-auth code), and
//! the authorization code exchanged and saved in one call.
//!
//! ```no_run
//! # async fn demo(client: baidu_smartapp_api::Client, tokens: baidu_smartapp_api::tokens::TokenManager) -> Result<(), baidu_smartapp_api::Error> {
//! use baidu_smartapp_api::authorization;
//!
//! let link = authorization::link(&client, &tokens, "https://example.com/baidu/authorized").await?;
//! // The `AUTHORIZED` push (or the redirect) brings the app id and the code:
//! authorization::complete(&client, &tokens, "APP_ID", "AUTHORIZATION_CODE").await?;
//! let app = client.authorizer(tokens.authorizer_token("APP_ID"));
//! # Ok(()) }
//! ```
//!
//! Unverified: the authorization page's address and parameters come from a mirror of Baidu's
//! documents, not from the documents themselves.

use core_http::Error;

use crate::tokens::TokenManager;
use crate::tp_auth::CreatePreAuthCodeRequest;
use crate::Client;

/// The authorization page (unverified).
pub const AUTHORIZATION_PAGE: &str = "https://smartprogram.baidu.com/mappconsole/tp/authorization";

/// The authorization page link for the platform of `tokens` (its `client_id`), with a fresh
/// pre-auth code (`tp/createpreauthcode`).
pub async fn link(
    client: &Client,
    tokens: &TokenManager,
    redirect_uri: &str,
) -> Result<String, Error> {
    let code = client
        .component(tokens.component_token())
        .create_pre_auth_code(&CreatePreAuthCodeRequest::new())
        .await?
        .pre_auth_code;
    let mut url = url::Url::parse(AUTHORIZATION_PAGE).expect("a valid constant URL");
    url.query_pairs_mut()
        .append_pair("client_id", tokens.platform_app_id())
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("pre_auth_code", &code);
    Ok(url.into())
}

/// Exchanges an app's authorization code and saves its tokens: generated from
/// `[tokens.exchange]` of the vendor's `vendor.toml` ([`crate::tokens::complete_authorization`]).
pub use crate::tokens::complete_authorization as complete;
