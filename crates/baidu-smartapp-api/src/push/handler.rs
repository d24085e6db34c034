//! A ready `axum` handler for the event URLs (feature `axum`): verifies and decrypts pushes,
//! stores tickets, calls the user's hook with every verified push, answers `success`.
//!
//! ```no_run
//! # fn demo(tokens: std::sync::Arc<baidu_smartapp_api::tokens::TokenManager>, crypto: baidu_smartapp_api::push::MessageCrypto) {
//! use baidu_smartapp_api::push::handler::PushHandler;
//!
//! let pushes = PushHandler::new(tokens, crypto).on_push(|push| async move { println!("{push:?}") });
//! let app = axum::Router::new().nest("/baidu/events", pushes.router());
//! # let _ = app; }
//! ```

use std::future::Future;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use core_http::push::PushHook;

use super::{AuthorizationKind, MessageCrypto, TpPush};
use crate::tokens::TokenManager;
use crate::{Client, Error};

/// Receives Baidu's pushes for the platform of `tokens`.
pub struct PushHandler {
    tokens: Arc<TokenManager>,
    crypto: MessageCrypto,
    client: Option<Client>,
    hook: Option<PushHook<TpPush>>,
}

impl PushHandler {
    /// A handler for the platform of `tokens`.
    pub fn new(tokens: Arc<TokenManager>, crypto: MessageCrypto) -> Self {
        PushHandler {
            tokens,
            crypto,
            client: None,
            hook: None,
        }
    }

    /// Exchanges the code of every `AUTHORIZED`/`UPDATE_AUTHORIZED` push through `client` and
    /// saves the app's tokens (`authorization::complete`) before the hook runs; a failed
    /// exchange answers 500, so Baidu pushes again.
    pub fn complete_authorizations(mut self, client: Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Calls `hook` with every verified push, after a ticket is stored.
    pub fn on_push<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(TpPush) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.hook = Some(core_http::push::hook(hook));
        self
    }

    /// Handles one push body: `200 success`, `400` for a refused push (nothing stored), `200
    /// success` for a push received before (nothing stored or hooked), `500` when the ticket
    /// could not be stored or an authorization completed (Baidu pushes again).
    pub async fn handle(&self, body: &[u8]) -> (StatusCode, String) {
        let result = self.process(body).await.map(|()| "success".to_owned());
        let (status, body) = core_http::push::answer(result);
        (StatusCode::from_u16(status).expect("a valid status"), body)
    }

    async fn process(&self, body: &[u8]) -> Result<(), Error> {
        let (push, admission) = super::receive_admitted(&self.tokens, &self.crypto, body).await?;
        if let Err(e) = self.complete(&push).await {
            // Baidu pushes it again (500): let that delivery through.
            self.tokens.replay_guard().release(admission).await;
            return Err(e);
        }
        if let Some(hook) = &self.hook {
            hook(push).await;
        }
        Ok(())
    }

    /// Completes an authorization push when a client was given.
    async fn complete(&self, push: &TpPush) -> Result<(), Error> {
        if let (Some(client), TpPush::Authorization(a)) = (&self.client, push) {
            let grants = matches!(
                a.event,
                AuthorizationKind::Authorized | AuthorizationKind::UpdateAuthorized
            );
            if grants {
                // An authorization that cannot be completed is refused (Baidu pushes again),
                // not answered `success` and lost.
                let (Some(app_id), Some(code)) = (a.app_id, &a.authorization_code) else {
                    return Err(Error::Push(core_http::crypto::CryptoError::Body(
                        "an AUTHORIZED push without `appId` or `authorizationCode`".into(),
                    )));
                };
                crate::authorization::complete(
                    client,
                    &self.tokens,
                    &app_id.to_string(),
                    code.expose(),
                )
                .await?;
            }
        }
        Ok(())
    }

    /// An `axum` router answering `POST /`. A body over the crypto's limit
    /// ([`MessageCrypto::with_max_body`]) is refused with `413` before it is read whole.
    pub fn router(self) -> axum::Router {
        let limit = self.crypto.max_body();
        axum::Router::new()
            .route("/", axum::routing::post(serve))
            .layer(axum::extract::DefaultBodyLimit::max(limit))
            .with_state(Arc::new(self))
    }
}

async fn serve(State(handler): State<Arc<PushHandler>>, body: Bytes) -> (StatusCode, String) {
    let handled = core_http::push::run_detached(async move { handler.handle(&body).await }).await;
    handled.unwrap_or((StatusCode::INTERNAL_SERVER_ERROR, "not handled".into()))
}
