//! Pushes to the platform's event URLs, verified and decrypted: the ticket every 10 minutes and
//! the authorization events ([`tp_auth::Event`](crate::tp_auth::Event)), and the seed
//! document's events ([`basic_info::Event`](crate::basic_info::Event)), all generated from the
//! specs' `[[events]]`.
//!
//! Baidu's envelope is JSON, `{"Nonce","TimeStamp","Encrypt","MsgSignature"}`; the signature
//! and the cipher are WeChat's ([`MessageCrypto`]), with the platform's `client_id` (TP key)
//! as the trailing id, and the plaintext is JSON. Reply the plain string `success` to every
//! push that returns `Ok`, or Baidu pushes it again.
//!
//! ```no_run
//! # async fn handler(tokens: baidu_smartapp_api::tokens::TokenManager, body: &[u8]) -> Result<&'static str, baidu_smartapp_api::Error> {
//! use baidu_smartapp_api::push::{self, MessageCrypto, TpPush};
//!
//! let crypto = MessageCrypto::new("MESSAGE_TOKEN", "ENCODING_AES_KEY_43_CHARACTERS_XXXXXXXXXXXX", "TP_CLIENT_ID")?;
//! match push::receive(&tokens, &crypto, body).await? {
//!     TpPush::Ticket(_) => {} // stored in the token store
//!     TpPush::Event(event) => println!("{event:?}"),
//!     _ => {}
//! }
//! Ok("success")
//! # }
//! ```
//!
//! Unverified: no published test vector exists for Baidu (its scheme is byte-identical to
//! WeChat's, whose vectors the SDK is tested on); the ticket's `FromUserName` (`SmartAPP` vs
//! `SmartApp`) and `CreateTime` (number or string) are not matched strictly.

#[cfg(feature = "axum")]
pub mod handler;

pub use core_http::crypto::wechat::MessageCrypto;
pub use core_http::crypto::CryptoError;
pub use core_http::push::{Admission, ReplayGuard};

use core_http::Error;
use serde::Deserialize;

use crate::basic_info::Event;
use crate::tokens::{TokenManager, TICKET_LIFETIME};

/// A verified, decrypted Baidu push.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum TpPush {
    /// The ticket push (`MsgType` `ticket`); its `ticket` is always present.
    Ticket(TicketEvent),
    /// An authorization event (`AUTHORIZED`, `UNAUTHORIZED`, `UPDATE_AUTHORIZED`).
    Authorization(AuthorizationEvent),
    /// A package's audit ended (`PACKAGE_AUDIT_PASS` / `PACKAGE_AUDIT_FAIL`, 「代码包审核状态推送」
    /// of [`crate::package`]): a hint that the app's audit package changed; read the package.
    PackageAudit(crate::package::PackageAuditEvent),
    /// Any other push: the seed document's events, unknown ones kept.
    Event(Event),
}

pub use crate::tp_auth::{AuthorizationEvent, AuthorizationKind, TicketEvent};

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Nonce", deserialize_with = "text")]
    nonce: String,
    #[serde(rename = "TimeStamp", deserialize_with = "text")]
    timestamp: String,
    #[serde(rename = "Encrypt")]
    encrypt: String,
    #[serde(rename = "MsgSignature")]
    msg_signature: String,
}

fn text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    })
}

/// Verifies, checks the timestamp and decrypts a push `body`, then reads it: the pushes of
/// the authorization event URL (`tp_auth::Event`, generated from the spec) first, the seed
/// document's events otherwise. A body over the crypto's limit
/// ([`MessageCrypto::with_max_body`]) is not read at all.
pub fn open(crypto: &MessageCrypto, body: &[u8]) -> Result<TpPush, CryptoError> {
    open_signed(crypto, body).map(|(push, _)| push)
}

/// [`open`], also returning the push's `MsgSignature` (what identifies it for the replay
/// memory).
fn open_signed(crypto: &MessageCrypto, body: &[u8]) -> Result<(TpPush, String), CryptoError> {
    crypto.check_body(body)?;
    let envelope: Envelope = serde_json::from_slice(body).map_err(|e| {
        CryptoError::Body(format!(
            "not Baidu's push envelope: {}",
            core_http::crypto::redact(&e.to_string())
        ))
    })?;
    crypto.verify(
        &envelope.msg_signature,
        &envelope.timestamp,
        &envelope.nonce,
        &envelope.encrypt,
    )?;
    crypto.check_timestamp(&envelope.timestamp)?;
    let plain = crypto.decrypt(&envelope.encrypt)?;
    Ok((read(&plain)?, envelope.msg_signature))
}

/// Reads a decrypted push: the authorization event URL's families (`tp_auth::Event`) first;
/// a push they do not name (no `MsgType` or `event`, or an event they do not know) is one of
/// the seed document's events, unknown ones kept. A known family that does not decode is
/// refused with its own error.
fn read(plain: &str) -> Result<TpPush, CryptoError> {
    let body_error = CryptoError::from;
    let mut parsed = crate::tp_auth::Event::parse(plain.as_bytes());
    // Only a push whose `MsgType` spells `ticket` in other letters is read a second time.
    let lowered = match &parsed {
        Ok(crate::tp_auth::Event::Unknown(u)) if u.event.eq_ignore_ascii_case("ticket") => {
            let lowered = ticket_in_lowercase(plain);
            parsed = crate::tp_auth::Event::parse(lowered.as_bytes());
            Some(lowered)
        }
        _ => None,
    };
    let plain = lowered.as_deref().unwrap_or(plain);
    let seed = || match crate::package::Event::parse(plain.as_bytes()) {
        Ok(crate::package::Event::PackageAudit(audit)) => Ok(TpPush::PackageAudit(audit)),
        _ => Event::parse(plain.as_bytes())
            .map(TpPush::Event)
            .map_err(body_error),
    };
    match parsed {
        Ok(crate::tp_auth::Event::Ticket(t))
            if t.ticket.as_ref().is_none_or(|t| t.expose().is_empty()) =>
        {
            Err(CryptoError::Body("the ticket push has no `Ticket`".into()))
        }
        Ok(crate::tp_auth::Event::Ticket(t)) => Ok(TpPush::Ticket(t)),
        Ok(crate::tp_auth::Event::Authorization(a)) => Ok(TpPush::Authorization(a)),
        Err(e) if !e.no_event_name => Err(body_error(e)),
        _ => seed(),
    }
}

/// The document writes `MsgType` `ticket`; a push spelling it `Ticket` or `TICKET` is still the
/// ticket (the spelling is not matched strictly).
fn ticket_in_lowercase(plain: &str) -> std::borrow::Cow<'_, str> {
    let Ok(serde_json::Value::Object(mut body)) = serde_json::from_str::<serde_json::Value>(plain)
    else {
        return plain.into();
    };
    match body.get("MsgType") {
        Some(serde_json::Value::String(t)) if t != "ticket" && t.eq_ignore_ascii_case("ticket") => {
            body.insert("MsgType".into(), "ticket".into());
            serde_json::Value::Object(body).to_string().into()
        }
        _ => plain.into(),
    }
}

/// [`open`], refuses a push received before, then stores a pushed ticket in `tokens`' store
/// unless a newer one is stored. A push that fails verification stores nothing and is
/// [`Error::Push`]; one received before (the same `MsgSignature` within the replay window, on
/// any instance sharing the store) is [`CryptoError::Replayed`], stores nothing, and is
/// answered `success` like every push that returns `Ok`.
pub async fn receive(
    tokens: &TokenManager,
    crypto: &MessageCrypto,
    body: &[u8],
) -> Result<TpPush, Error> {
    receive_admitted(tokens, crypto, body)
        .await
        .map(|(push, _)| push)
}

/// [`receive`], also returning its [`Admission`]: hand it to
/// `tokens.replay_guard().release(..)` when your own handling of the push fails and you answer
/// an error, so that Baidu's next delivery of it is handled rather than refused.
pub async fn receive_admitted(
    tokens: &TokenManager,
    crypto: &MessageCrypto,
    body: &[u8],
) -> Result<(TpPush, Admission), Error> {
    let (push, signature) = open_signed(crypto, body)?;
    let guard = tokens.replay_guard();
    let admission = guard
        .admit(&signature, ReplayGuard::remembered_for(crypto.max_age()))
        .await?;
    if let TpPush::Ticket(TicketEvent {
        ticket: Some(ticket),
        create_time,
        ..
    }) = &push
    {
        let pushed_at_ms = create_time
            .and_then(|s| u64::try_from(s).ok())
            .map(|s| s * 1000);
        let stored = tokens
            .store_pushed_ticket(ticket.clone(), pushed_at_ms, TICKET_LIFETIME)
            .await;
        if let Err(e) = stored {
            guard.release(admission).await;
            return Err(e);
        }
    }
    Ok((push, admission))
}
