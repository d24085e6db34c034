//! Self-refreshing WeChat tokens: the platform's `component_access_token` (from the latest
//! pushed `component_verify_ticket`) and each authorized app's `authorizer_access_token` (from
//! its stored `authorizer_refresh_token`, rotated on every refresh).
//!
//! ```no_run
//! # async fn demo() -> Result<(), wechat_component_api::Error> {
//! use std::sync::Arc;
//! use wechat_component_api::tokens::{MemoryStore, RefreshPolicy};
//! use wechat_component_api::{tokens, Client};
//!
//! let client = Client::new();
//! let tokens = tokens::manager(&client, "wx_component_appid", "APP_SECRET", Arc::new(MemoryStore::new()), RefreshPolicy::default());
//! // In the ticket push handler (every 10 minutes):
//! tokens.store_ticket("ticket@@@xyz", tokens::TICKET_LIFETIME).await?;
//! // Handles that never need a token from the caller again:
//! let component = client.component(tokens.component_token());
//! # Ok(()) }
//! ```

// The token types, so that this crate is the only dependency.
#[cfg(feature = "redis")]
pub use core_http::token::RedisStore;
pub use core_http::token::{
    MemoryStore, RefreshPolicy, RefreshingToken, StoredToken, TokenGrant, TokenKey, TokenManager,
    TokenStore,
};

use std::sync::Arc;
use std::time::Duration;

use core_http::token::{load_ticket, refresh_token_of, BoxFuture, TokenFetcher};
use core_http::{Error, Secret, Vendor};

use crate::component_auth::{GetAuthorizerTokenRequest, GetComponentAccessTokenRequest};
use crate::{Client, Component};

/// How long a pushed ticket stays valid (12 h).
pub const TICKET_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// The token manager of the platform `component_appid`.
pub fn manager(
    client: &Client,
    component_appid: &str,
    component_appsecret: impl Into<Secret>,
    store: Arc<dyn TokenStore>,
    policy: RefreshPolicy,
) -> TokenManager {
    let appid: Arc<str> = component_appid.into();
    let fetcher = Arc::new(ComponentTokenFetcher {
        client: client.clone(),
        component_appid: appid.clone(),
        component_appsecret: component_appsecret.into(),
        store: store.clone(),
        ticket_key: TokenKey::ticket(Vendor::Wechat, &appid),
    });
    TokenManager::build(
        Vendor::Wechat,
        component_appid,
        store,
        policy,
        fetcher,
        |token| {
            let component = client.component(token);
            move |authorizer_appid: &str| -> Arc<dyn TokenFetcher> {
                Arc::new(AuthorizerTokenFetcher {
                    component: component.clone(),
                    component_appid: appid.clone(),
                    authorizer_appid: authorizer_appid.into(),
                })
            }
        },
    )
}

/// Fetches `component_access_token` with the latest stored ticket.
pub struct ComponentTokenFetcher {
    client: Client,
    component_appid: Arc<str>,
    component_appsecret: Secret,
    store: Arc<dyn TokenStore>,
    ticket_key: TokenKey,
}

impl TokenFetcher for ComponentTokenFetcher {
    fn fetch<'a>(
        &'a self,
        _current: Option<&'a StoredToken>,
    ) -> BoxFuture<'a, Result<TokenGrant, Error>> {
        Box::pin(async move {
            let ticket = load_ticket(self.store.as_ref(), &self.ticket_key).await?;
            let request = GetComponentAccessTokenRequest::new(
                self.component_appid.as_ref(),
                self.component_appsecret.clone(),
                ticket,
            );
            let answer = self.client.get_component_access_token(&request).await?;
            TokenGrant::from_answer(
                "GetComponentAccessToken",
                answer.component_access_token,
                answer.expires_in,
                None,
            )
        })
    }
}

/// Refreshes one authorized app's token with its stored refresh token.
pub struct AuthorizerTokenFetcher {
    component: Component,
    component_appid: Arc<str>,
    authorizer_appid: Arc<str>,
}

impl TokenFetcher for AuthorizerTokenFetcher {
    fn fetch<'a>(
        &'a self,
        current: Option<&'a StoredToken>,
    ) -> BoxFuture<'a, Result<TokenGrant, Error>> {
        Box::pin(async move {
            let refresh = refresh_token_of(current, &self.authorizer_appid)?;
            let request = GetAuthorizerTokenRequest::new(
                self.component_appid.as_ref(),
                self.authorizer_appid.as_ref(),
                refresh,
            );
            let answer = self.component.get_authorizer_token(&request).await?;
            TokenGrant::from_answer(
                "GetAuthorizerToken",
                answer.authorizer_access_token,
                answer.expires_in,
                answer.authorizer_refresh_token,
            )
        })
    }
}
