//! A ready `axum` handler for the authorization event URL (feature `axum`).
//!
//! ```no_run
//! # async fn demo(client: wechat_component_api::Client, tokens: std::sync::Arc<wechat_component_api::tokens::TokenManager>, crypto: wechat_component_api::push::MessageCrypto) {
//! use wechat_component_api::push::{handler::PushHandler, ComponentPush};
//!
//! let pushes = PushHandler::new(client, tokens, crypto).on_push(|push| async move {
//!     if let ComponentPush::Unauthorization(u) = push {
//!         println!("{} revoked the authorization", u.authorizer_appid);
//!     }
//! });
//! let app = axum::Router::new().nest("/wechat/authorization-events", pushes.router());
//! # let _ = app; }
//! ```

use std::future::Future;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use core_http::push::PushHook;
use core_http::Error;

use super::{ComponentPush, MessageCrypto, PushQuery};
use crate::tokens::TokenManager;
use crate::Client;

/// Receives the platform's pushes: verifies and decrypts them, stores tickets, completes
/// authorizations (exchanges the code and saves the app's tokens), then calls the user's hook.
pub struct PushHandler {
    client: Client,
    tokens: Arc<TokenManager>,
    crypto: MessageCrypto,
    complete_authorizations: bool,
    hook: Option<PushHook<ComponentPush>>,
}

impl PushHandler {
    /// A handler for the platform of `tokens`, completing authorizations by default.
    pub fn new(client: Client, tokens: Arc<TokenManager>, crypto: MessageCrypto) -> Self {
        PushHandler {
            client,
            tokens,
            crypto,
            complete_authorizations: true,
            hook: None,
        }
    }

    /// Whether `authorized`/`updateauthorized` pushes exchange their code and save the app's
    /// tokens (`authorization::complete`) before the hook runs (default true).
    pub fn complete_authorizations(mut self, complete: bool) -> Self {
        self.complete_authorizations = complete;
        self
    }

    /// Calls `hook` with every verified push, after the SDK's own handling.
    pub fn on_push<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(ComponentPush) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.hook = Some(core_http::push::hook(hook));
        self
    }

    /// Handles one push: the status and body to answer. A refused push is `400` (nothing
    /// stored); a push received before is `200 success` (nothing stored or hooked); a failed
    /// code exchange or store is `500`, so WeChat pushes again; anything else is
    /// `200 success`. Run it to its end: the [`router`](Self::router) does so in a task
    /// of its own, since the code is single-use and a drop between the exchange and the save
    /// would lose the authorization.
    pub async fn handle(&self, query: &str, body: &[u8]) -> (StatusCode, String) {
        let result = self
            .process(query, body)
            .await
            .map(|()| "success".to_owned());
        let (status, body) = core_http::push::answer(result);
        (StatusCode::from_u16(status).expect("a valid status"), body)
    }

    async fn process(&self, query: &str, body: &[u8]) -> Result<(), Error> {
        let (push, admission) = super::receive_admitted(
            &self.tokens,
            &self.crypto,
            &PushQuery::from_query(query),
            body,
        )
        .await?;
        if self.complete_authorizations {
            if let ComponentPush::Authorization(a) = &push {
                let completed = crate::authorization::complete(
                    &self.client,
                    &self.tokens,
                    a.authorization_code.expose(),
                )
                .await;
                if let Err(e) = completed {
                    // WeChat pushes it again (500): let that delivery through.
                    self.tokens.replay_guard().release(admission).await;
                    return Err(e);
                }
            }
        }
        if let Some(hook) = &self.hook {
            hook(push).await;
        }
        Ok(())
    }

    /// An `axum` router answering `POST /` (nest it at the authorization event URL's path).
    /// A body over the crypto's limit ([`MessageCrypto::with_max_body`]) is refused with `413`
    /// before it is read whole.
    pub fn router(self) -> axum::Router {
        let limit = self.crypto.max_body();
        axum::Router::new()
            .route("/", axum::routing::post(serve))
            .layer(axum::extract::DefaultBodyLimit::max(limit))
            .with_state(Arc::new(self))
    }
}

async fn serve(
    State(handler): State<Arc<PushHandler>>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> (StatusCode, String) {
    let query = query.unwrap_or_default();
    let handled =
        core_http::push::run_detached(async move { handler.handle(&query, &body).await }).await;
    handled.unwrap_or((StatusCode::INTERNAL_SERVER_ERROR, "not handled".into()))
}
