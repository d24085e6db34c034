//! Completing an authorization: the authorization code exchanged and saved in one call.
//! (Kuaishou's documents describe no authorization page link.)
//!
//! ```no_run
//! # async fn demo(client: kuaishou_api::Client, tokens: kuaishou_api::tokens::TokenManager) -> Result<(), kuaishou_api::Error> {
//! let app_id = kuaishou_api::authorization::complete(&client, &tokens, "APP_ID", "AUTHORIZATION_CODE").await?;
//! let app = client.authorizer(tokens.authorizer_token(&app_id));
//! # Ok(()) }
//! ```

use core_http::token::TokenGrant;
use core_http::Error;

use crate::oauth::GetAuthorizerAccessTokenRequest;
use crate::tokens::TokenManager;
use crate::Client;

/// Exchanges an app's authorization code (`authorizer_access_token`), saves its tokens in
/// `tokens`' store, and returns the app id (the answer's `authorizerAppId`, else `app_id`).
pub async fn complete(
    client: &Client,
    tokens: &TokenManager,
    app_id: &str,
    authorization_code: &str,
) -> Result<String, Error> {
    let a = client
        .component(tokens.component_token())
        .get_authorizer_access_token(&GetAuthorizerAccessTokenRequest::new(authorization_code))
        .await?;
    let app_id = a
        .authorizer_app_id
        .clone()
        .unwrap_or_else(|| app_id.to_owned());
    let grant = TokenGrant::from_answer(
        "GetAuthorizerAccessToken",
        a.authorizer_access_token,
        a.expires_in,
        a.authorizer_refresh_token,
    )?;
    tokens.save_authorization(&app_id, grant).await?;
    Ok(app_id)
}
