//! Self-refreshing Baidu tokens: the platform's TP token (from the latest pushed ticket) and
//! each authorized app's token (from its stored refresh token).
//!
//! Baidu's refresh token is **single-use** (it lasts 10 years, and using it once invalidates
//! it): the refresh lock and the compare-and-set save of the rotated refresh token in the
//! [`TokenStore`] are what keep two processes from losing it. Use one shared store (Redis,
//! feature `redis` of this crate) for every process of a platform.
//!
//! ```no_run
//! # async fn demo(pushed_ticket: String) -> Result<(), baidu_smartapp_api::Error> {
//! use std::sync::Arc;
//! use baidu_smartapp_api::tokens::{self, MemoryStore, RefreshPolicy};
//! use baidu_smartapp_api::{basic_info::PauseServiceRequest, Client};
//!
//! let client = Client::new();
//! let tokens = tokens::manager(&client, "TP_CLIENT_ID", Arc::new(MemoryStore::new()), RefreshPolicy::default());
//! tokens.store_ticket(pushed_ticket, tokens::TICKET_LIFETIME).await?; // in the push handler
//! // After `save_authorization("APP_ID", grant)`, a handle that refreshes itself:
//! let app = client.authorizer(tokens.authorizer_token("APP_ID"));
//! app.pause_service(&PauseServiceRequest::new()).await?;
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
use core_http::{Error, Vendor};

use crate::tp_auth::{GetOAuthTokenRequest, GetTpTokenRequest, OAuthGrantType};
use crate::{Client, Component};

/// How long a pushed ticket is kept (Baidu pushes every 10 minutes; the lifetime is not
/// documented (unverified), so the SDK keeps the latest for 12 h).
pub const TICKET_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// The token manager of the platform whose TP key (`client_id`) is `client_id`.
pub fn manager(
    client: &Client,
    client_id: &str,
    store: Arc<dyn TokenStore>,
    policy: RefreshPolicy,
) -> TokenManager {
    let fetcher = Arc::new(TpTokenFetcher {
        client: client.clone(),
        client_id: client_id.into(),
        store: store.clone(),
        ticket_key: TokenKey::ticket(Vendor::Baidu, client_id),
    });
    TokenManager::build(
        Vendor::Baidu,
        client_id,
        store,
        policy,
        fetcher,
        |tp_token| {
            let component = client.component(tp_token);
            move |app_id: &str| -> Arc<dyn TokenFetcher> {
                Arc::new(AuthorizerTokenFetcher {
                    component: component.clone(),
                    app_id: app_id.into(),
                })
            }
        },
    )
}

/// Fetches the TP token with the latest stored ticket.
pub struct TpTokenFetcher {
    client: Client,
    client_id: Arc<str>,
    store: Arc<dyn TokenStore>,
    ticket_key: TokenKey,
}

impl TokenFetcher for TpTokenFetcher {
    fn fetch<'a>(
        &'a self,
        _current: Option<&'a StoredToken>,
    ) -> BoxFuture<'a, Result<TokenGrant, Error>> {
        Box::pin(async move {
            let ticket = load_ticket(self.store.as_ref(), &self.ticket_key).await?;
            let answer = self
                .client
                .get_tp_token(&GetTpTokenRequest::new(self.client_id.as_ref(), ticket))
                .await?;
            TokenGrant::from_answer("GetTpToken", answer.access_token, answer.expires_in, None)
        })
    }
}

/// Refreshes one authorized app's token with its (single-use) refresh token.
pub struct AuthorizerTokenFetcher {
    component: Component,
    app_id: Arc<str>,
}

impl TokenFetcher for AuthorizerTokenFetcher {
    fn fetch<'a>(
        &'a self,
        current: Option<&'a StoredToken>,
    ) -> BoxFuture<'a, Result<TokenGrant, Error>> {
        Box::pin(async move {
            let mut request = GetOAuthTokenRequest::new(OAuthGrantType::RefreshToken);
            request.refresh_token = Some(refresh_token_of(current, &self.app_id)?);
            let answer = self.component.get_oauth_token(&request).await?;
            TokenGrant::from_answer(
                "GetOAuthToken",
                answer.access_token,
                answer.expires_in,
                answer.refresh_token,
            )
        })
    }
}
