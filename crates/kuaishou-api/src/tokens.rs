//! Self-refreshing Kuaishou tokens: the platform's `component_access_token` (from the latest
//! pushed `component_ticket`) and each authorized app's `authorizer_access_token`.
//!
//! No Kuaishou endpoint that consumes `authorizerRefreshToken` was found (unverified): an app's token is
//! renewed through a re-authorization code (`re_authorization_code`) exchanged for a new token
//! (`authorizer_access_token`); the returned refresh token is still stored.
//!
//! ```no_run
//! # async fn demo(pushed_ticket: String) -> Result<(), kuaishou_api::Error> {
//! use std::sync::Arc;
//! use kuaishou_api::tokens::{self, MemoryStore, RefreshPolicy};
//! use kuaishou_api::{basic_info::GetAppInfoRequest, Client};
//!
//! let client = Client::new("COMPONENT_APP_ID");
//! let tokens = tokens::manager(&client, "COMPONENT_APP_SECRET", Arc::new(MemoryStore::new()), RefreshPolicy::default());
//! tokens.store_ticket(pushed_ticket, tokens::TICKET_LIFETIME).await?; // in the push handler
//! // After `save_authorization("APP_ID", grant)`, a handle that refreshes itself:
//! let app = client.authorizer(tokens.authorizer_token("APP_ID"));
//! let info = app.get_app_info(&GetAppInfoRequest::new()).await?;
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

use core_http::token::{load_ticket, BoxFuture, TokenFetcher};
use core_http::{Error, Secret, Vendor};

use crate::oauth::{
    GetAuthorizerAccessTokenRequest, GetComponentAccessTokenRequest, GetReAuthorizationCodeRequest,
};
use crate::{Client, Component};

/// How long a pushed ticket is kept (the document says 3 h, its example 2400 s (unverified): the SDK
/// keeps it 40 minutes, well past the 10-minute push interval).
pub const TICKET_LIFETIME: Duration = Duration::from_secs(2400);

/// The token manager of the client's platform (`component_app_id`).
pub fn manager(
    client: &Client,
    component_app_secret: impl Into<Secret>,
    store: Arc<dyn TokenStore>,
    policy: RefreshPolicy,
) -> TokenManager {
    let id = client.component_app_id();
    let fetcher = Arc::new(ComponentTokenFetcher {
        client: client.clone(),
        component_app_secret: component_app_secret.into(),
        store: store.clone(),
        ticket_key: TokenKey::ticket(Vendor::Kuaishou, id),
    });
    TokenManager::build(Vendor::Kuaishou, id, store, policy, fetcher, |token| {
        let component = client.component(token);
        move |app_id: &str| -> Arc<dyn TokenFetcher> {
            Arc::new(AuthorizerTokenFetcher {
                component: component.clone(),
                app_id: app_id.into(),
            })
        }
    })
}

/// Fetches `component_access_token` with the latest stored ticket.
pub struct ComponentTokenFetcher {
    client: Client,
    component_app_secret: Secret,
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
                self.client.component_app_id(),
                self.component_app_secret.clone(),
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

/// Renews one authorized app's token: re-authorization code, then a new token.
pub struct AuthorizerTokenFetcher {
    component: Component,
    app_id: Arc<str>,
}

impl TokenFetcher for AuthorizerTokenFetcher {
    fn fetch<'a>(
        &'a self,
        _current: Option<&'a StoredToken>,
    ) -> BoxFuture<'a, Result<TokenGrant, Error>> {
        Box::pin(async move {
            let code = self
                .component
                .get_re_authorization_code(&GetReAuthorizationCodeRequest::new(
                    self.app_id.as_ref(),
                ))
                .await?
                .authorization_code;
            let answer = self
                .component
                .get_authorizer_access_token(&GetAuthorizerAccessTokenRequest::new(code))
                .await?;
            TokenGrant::from_answer(
                "GetAuthorizerAccessToken",
                answer.authorizer_access_token,
                answer.expires_in,
                answer.authorizer_refresh_token,
            )
        })
    }
}
