//! A ready `axum` handler for the event URLs (feature `axum`): checks `kwaisign`, decrypts,
//! stores component tickets, calls the user's hook, answers `{"result":1,"message_id":…}`.
//!
//! ```no_run
//! # fn demo(tokens: std::sync::Arc<kuaishou_api::tokens::TokenManager>, crypto: kuaishou_api::push::PushCrypto) {
//! use kuaishou_api::push::handler::PushHandler;
//!
//! let pushes = PushHandler::new(tokens, crypto).on_push(|push| async move { println!("{:?}", push.event) });
//! let app = axum::Router::new().nest("/kuaishou/events", pushes.router());
//! # let _ = app; }
//! ```

use std::future::Future;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use core_http::push::PushHook;

use super::{PushCrypto, Received};
use crate::tokens::TokenManager;

/// Receives Kuaishou's pushes for the platform of `tokens`.
pub struct PushHandler {
    tokens: Arc<TokenManager>,
    crypto: PushCrypto,
    hook: Option<PushHook<Received>>,
}

impl PushHandler {
    /// A handler for the platform of `tokens`.
    pub fn new(tokens: Arc<TokenManager>, crypto: PushCrypto) -> Self {
        PushHandler {
            tokens,
            crypto,
            hook: None,
        }
    }

    /// Calls `hook` with every verified push, after a component ticket is stored.
    pub fn on_push<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(Received) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.hook = Some(core_http::push::hook(hook));
        self
    }

    /// Handles one push: `200` with Kuaishou's reply (also for a push received before:
    /// nothing stored or hooked), `400` for a refused push (nothing stored), `500` when the ticket could not be stored (Kuaishou pushes again).
    pub async fn handle(&self, kwaisign: &str, body: &[u8]) -> (StatusCode, String) {
        let result = match super::receive(&self.tokens, &self.crypto, kwaisign, body).await {
            Ok(received) => {
                let reply = super::reply(&received.msg_id);
                if let Some(hook) = &self.hook {
                    hook(received).await;
                }
                Ok(reply)
            }
            // Received before: acknowledged as handled, so Kuaishou stops pushing it.
            Err(core_http::Error::Push(super::CryptoError::Replayed)) => {
                Ok(super::reply(&super::msg_id(body)))
            }
            Err(e) => Err(e),
        };
        let (status, body) = core_http::push::answer(result);
        (StatusCode::from_u16(status).expect("a valid status"), body)
    }

    /// An `axum` router answering `POST /`. A body over the crypto's limit
    /// ([`PushCrypto::with_max_body`]) is refused with `413` before it is read whole.
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
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let sign = headers
        .get("kwaisign")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let handled =
        core_http::push::run_detached(async move { handler.handle(&sign, &body).await }).await;
    handled.unwrap_or((StatusCode::INTERNAL_SERVER_ERROR, "not handled".into()))
}
