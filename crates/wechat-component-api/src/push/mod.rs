//! Pushes to the platform's authorization event URL (授权事件接收 URL), verified and
//! decrypted: the `component_verify_ticket` every 10 minutes, and authorization changes.
//!
//! ```no_run
//! # async fn handler(tokens: wechat_component_api::tokens::TokenManager, query: &str, body: &[u8]) -> Result<&'static str, wechat_component_api::Error> {
//! use wechat_component_api::push::{self, ComponentPush, MessageCrypto, PushQuery};
//!
//! let crypto = MessageCrypto::new("MESSAGE_TOKEN", "ENCODING_AES_KEY_43_CHARACTERS_XXXXXXXXXXXX", "wx_component_appid")?;
//! // Verifies, decrypts, stores a pushed ticket in the token store; nothing is stored from a
//! // push that fails verification.
//! match push::receive(&tokens, &crypto, &PushQuery::from_query(query), body).await? {
//!     ComponentPush::Authorization(a) => println!("{} authorized the platform", a.authorizer_appid),
//!     ComponentPush::Unauthorization(u) => println!("{} revoked it", u.authorizer_appid),
//!     _ => {}
//! }
//! Ok("success") // WeChat expects the plain string `success`
//! # }
//! ```
//!
//! The push types are generated from the `[[events]]` of `specs/wechat/component_auth.toml`
//! (WeChat's "授权事件推送" and "验证票据"); the meaning of `AuthorizationCodeExpiredTime` (a
//! lifetime or an instant, "单位秒") is unverified, so it is kept as the number it is.

pub mod app_events;
#[cfg(feature = "axum")]
pub mod handler;

pub use core_http::crypto::wechat::{MessageCrypto, PushQuery};
pub use core_http::crypto::{CryptoError, XmlFields};

use core_http::Error;

use crate::tokens::{TokenManager, TICKET_LIFETIME};

/// A verified, decrypted push of the authorization event URL, by `InfoType`: the generated
/// [`component_auth::Event`](crate::component_auth::Event) of the spec's `[[events]]`.
pub use crate::component_auth::Event as ComponentPush;
pub use crate::component_auth::{
    AuthorizationEvent, AuthorizationKind, UnauthorizationEvent, VerifyTicketEvent,
};
pub use core_http::push::{Admission, ReplayGuard, UnknownXmlEvent};

/// Reads the decrypted `fields` (of [`MessageCrypto::open`]) as a push; its `AppId` must be the
/// platform's.
pub fn from_fields(
    crypto: &MessageCrypto,
    fields: XmlFields,
) -> Result<ComponentPush, CryptoError> {
    let app_id = fields.get("AppId").unwrap_or_default();
    if app_id != crypto.app_id() {
        return Err(CryptoError::WrongAppId {
            expected: crypto.app_id().to_owned(),
            found_len: app_id.len(),
        });
    }
    ComponentPush::from_fields(fields).map_err(CryptoError::from)
}

/// Verifies and decrypts a push (`query` from the push URL, `body` as received) and reads it.
pub fn open(
    crypto: &MessageCrypto,
    query: &PushQuery,
    body: &[u8],
) -> Result<ComponentPush, CryptoError> {
    from_fields(crypto, crypto.open(query, body)?)
}

/// [`open`], refuses a push received before, then stores a pushed ticket in `tokens`' store
/// (where the platform token is fetched from) unless a newer one is stored.
///
/// A push that fails verification stores nothing and is [`Error::Push`]; one received before
/// (the same `msg_signature` within the replay window, on any instance sharing the store) is
/// [`CryptoError::Replayed`], stores nothing, and is answered `success` like every push that
/// returns `Ok`.
pub async fn receive(
    tokens: &TokenManager,
    crypto: &MessageCrypto,
    query: &PushQuery,
    body: &[u8],
) -> Result<ComponentPush, Error> {
    receive_admitted(tokens, crypto, query, body)
        .await
        .map(|(push, _)| push)
}

/// [`receive`], also returning its [`Admission`]: hand it to
/// `tokens.replay_guard().release(..)` when your own handling of the push fails and you answer
/// an error, so that WeChat's next delivery of it is handled rather than refused.
pub async fn receive_admitted(
    tokens: &TokenManager,
    crypto: &MessageCrypto,
    query: &PushQuery,
    body: &[u8],
) -> Result<(ComponentPush, Admission), Error> {
    let push = open(crypto, query, body)?;
    let guard = tokens.replay_guard();
    let admission = guard
        .admit(
            &query.msg_signature,
            ReplayGuard::remembered_for(crypto.max_age()),
        )
        .await?;
    if let ComponentPush::VerifyTicket(t) = &push {
        let pushed_at_ms = u64::try_from(t.create_time).ok().map(|s| s * 1000);
        let stored = tokens
            .store_pushed_ticket(t.ticket.clone(), pushed_at_ms, TICKET_LIFETIME)
            .await;
        if let Err(e) = stored {
            guard.release(admission).await;
            return Err(e);
        }
    }
    Ok((push, admission))
}
