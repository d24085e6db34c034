//! Pushes to the platform's message and event URL (消息与事件接收 URL): events about one
//! authorized app, such as the code audit results (`weapp_audit_success`, `weapp_audit_fail`,
//! `weapp_audit_delay`), read as the generated [`code_management::Event`](crate::code_management::Event).
//!
//! This is not the authorization event URL ([`super::receive`]): the envelope is the
//! authorizer's message, `<xml><ToUserName>gh_…</ToUserName><Encrypt>…</Encrypt></xml>`, with
//! `msg_signature`, `timestamp`, `nonce` and `openid` in the query, encrypted with the
//! platform's own key and component app id. The app is named by `ToUserName` (its original id,
//! `gh_…`) and, when the URL was configured with `$APPID$` (`…/events/$APPID$`), by that path
//! segment. A push is sent once and may not arrive: treat it as a hint and poll
//! `get_auditstatus` too. Mini-program and official-account events share the URL; an event the
//! spec does not describe is kept (`Event::Unknown`), never refused.
//!
//! ```no_run
//! # async fn handler(tokens: wechat_component_api::tokens::TokenManager, crypto: wechat_component_api::push::MessageCrypto, app_id: Option<String>, query: &str, body: &[u8]) -> Result<&'static str, wechat_component_api::Error> {
//! use wechat_component_api::code_management::Event;
//! use wechat_component_api::push::{app_events, PushQuery};
//!
//! let push = app_events::receive(&tokens, &crypto, app_id, &PushQuery::from_query(query), body).await?;
//! if let Event::AuditFail(fail) = &push.event {
//!     println!("{} rejected: {:?}", push.app(), fail.reason);
//! }
//! Ok("success")
//! # }
//! ```

use core_http::Error;

use super::{Admission, CryptoError, MessageCrypto, PushQuery, ReplayGuard};
use crate::code_management::Event;
use crate::tokens::TokenManager;

/// A verified, decrypted push about one authorized app.
#[derive(Debug, Clone, PartialEq)]
pub struct AppPush {
    /// The app id from the URL's `$APPID$` segment, when the URL carries one.
    pub app_id: Option<String>,
    /// `ToUserName`: the app's original id (`gh_…`).
    pub original_id: String,
    /// The event.
    pub event: Event,
}

impl AppPush {
    /// The app id when the URL gave one, its original id (`gh_…`) otherwise.
    pub fn app(&self) -> &str {
        self.app_id.as_deref().unwrap_or(&self.original_id)
    }
}

/// Verifies and decrypts a push of the message and event URL and reads its event; `app_id` is
/// the URL's `$APPID$` segment, if configured. Nothing is decrypted when a check fails.
pub fn open(
    crypto: &MessageCrypto,
    app_id: Option<String>,
    query: &PushQuery,
    body: &[u8],
) -> Result<AppPush, CryptoError> {
    let fields = crypto.open(query, body)?;
    let original_id = fields.get("ToUserName").unwrap_or_default().to_owned();
    let event = Event::from_fields(fields).map_err(CryptoError::from)?;
    Ok(AppPush {
        app_id: app_id.filter(|id| !id.is_empty()),
        original_id,
        event,
    })
}

/// [`open`], refusing a push received before (the same `msg_signature` within the replay
/// window, on any instance sharing the store: [`CryptoError::Replayed`], answered `success`
/// like a handled push), so that an audit result is acted on once.
pub async fn receive(
    tokens: &TokenManager,
    crypto: &MessageCrypto,
    app_id: Option<String>,
    query: &PushQuery,
    body: &[u8],
) -> Result<AppPush, Error> {
    receive_admitted(tokens, crypto, app_id, query, body)
        .await
        .map(|(push, _)| push)
}

/// [`receive`], also returning its [`Admission`]: release it
/// (`tokens.replay_guard().release(..)`) when your handling fails and you answer an error, so
/// that WeChat's next delivery is handled.
pub async fn receive_admitted(
    tokens: &TokenManager,
    crypto: &MessageCrypto,
    app_id: Option<String>,
    query: &PushQuery,
    body: &[u8],
) -> Result<(AppPush, Admission), Error> {
    let push = open(crypto, app_id, query, body)?;
    let admission = tokens
        .replay_guard()
        .admit(
            &query.msg_signature,
            ReplayGuard::remembered_for(crypto.max_age()),
        )
        .await?;
    Ok((push, admission))
}

/// A ready `axum` handler for the message and event URL (feature `axum`).
#[cfg(feature = "axum")]
pub mod handler {
    use std::future::Future;
    use std::sync::Arc;

    use axum::body::Bytes;
    use axum::extract::{Path, RawQuery, State};
    use axum::http::StatusCode;
    use core_http::push::PushHook;

    use super::{AppPush, MessageCrypto, PushQuery};
    use crate::tokens::TokenManager;

    /// Receives the pushes about authorized apps: verifies, decrypts, refuses replays, calls
    /// the user's hook, answers `success`.
    ///
    /// ```no_run
    /// # fn demo(tokens: std::sync::Arc<wechat_component_api::tokens::TokenManager>, crypto: wechat_component_api::push::MessageCrypto) {
    /// use wechat_component_api::push::app_events::handler::AppEventHandler;
    ///
    /// let events = AppEventHandler::new(tokens, crypto).on_push(|push| async move {
    ///     println!("{}: {:?}", push.app(), push.event);
    /// });
    /// // Configure the message and event URL as https://…/wechat/app-events/$APPID$
    /// let app = axum::Router::new().nest("/wechat/app-events", events.router());
    /// # let _ = app; }
    /// ```
    pub struct AppEventHandler {
        tokens: Arc<TokenManager>,
        crypto: MessageCrypto,
        hook: Option<PushHook<AppPush>>,
    }

    impl AppEventHandler {
        /// A handler for the platform of `tokens`.
        pub fn new(tokens: Arc<TokenManager>, crypto: MessageCrypto) -> Self {
            AppEventHandler {
                tokens,
                crypto,
                hook: None,
            }
        }

        /// Calls `hook` with every verified push received for the first time.
        pub fn on_push<F, Fut>(mut self, hook: F) -> Self
        where
            F: Fn(AppPush) -> Fut + Send + Sync + 'static,
            Fut: Future<Output = ()> + Send + 'static,
        {
            self.hook = Some(core_http::push::hook(hook));
            self
        }

        /// Handles one push (`app_id`: the URL's `$APPID$` segment): `200 success` (also for a
        /// push received before, not hooked again), `400` for a refused push.
        pub async fn handle(
            &self,
            app_id: Option<String>,
            query: &str,
            body: &[u8],
        ) -> (StatusCode, String) {
            let result = super::receive(
                &self.tokens,
                &self.crypto,
                app_id,
                &PushQuery::from_query(query),
                body,
            )
            .await;
            let result = match result {
                Ok(push) => {
                    if let Some(hook) = &self.hook {
                        hook(push).await;
                    }
                    Ok("success".to_owned())
                }
                Err(e) => Err(e),
            };
            let (status, body) = core_http::push::answer(result);
            (StatusCode::from_u16(status).expect("a valid status"), body)
        }

        /// An `axum` router answering `POST /` and `POST /{appid}` (configure the URL with
        /// `$APPID$` as its last segment to have pushes name their app). A body over the
        /// crypto's limit is refused with `413` before it is read whole.
        pub fn router(self) -> axum::Router {
            let limit = self.crypto.max_body();
            axum::Router::new()
                .route("/", axum::routing::post(serve))
                .route("/{appid}", axum::routing::post(serve_app))
                .layer(axum::extract::DefaultBodyLimit::max(limit))
                .with_state(Arc::new(self))
        }
    }

    async fn serve(
        State(handler): State<Arc<AppEventHandler>>,
        RawQuery(query): RawQuery,
        body: Bytes,
    ) -> (StatusCode, String) {
        run(handler, None, query, body).await
    }

    async fn serve_app(
        State(handler): State<Arc<AppEventHandler>>,
        Path(app_id): Path<String>,
        RawQuery(query): RawQuery,
        body: Bytes,
    ) -> (StatusCode, String) {
        run(handler, Some(app_id), query, body).await
    }

    async fn run(
        handler: Arc<AppEventHandler>,
        app_id: Option<String>,
        query: Option<String>,
        body: Bytes,
    ) -> (StatusCode, String) {
        let query = query.unwrap_or_default();
        let handled =
            core_http::push::run_detached(
                async move { handler.handle(app_id, &query, &body).await },
            )
            .await;
        handled.unwrap_or((StatusCode::INTERNAL_SERVER_ERROR, "not handled".into()))
    }
}
