//! Pushes to the platform's event URLs: `{"encryptedMsg","msgId","componentAppId",
//! "timestamp"}` signed in the `kwaisign` header, decrypted to the JSON event
//! ([`oauth::Event`](crate::oauth::Event): the component ticket, unknown events kept).
//!
//! **Unverified**: Kuaishou does not publish the signing and encryption scheme in full and no
//! test vector exists; see [`PushCrypto`] for what the SDK implements and how to confirm it on
//! the first real push. Reply with [`reply`] (`{"result":1,"message_id":…}`), or Kuaishou
//! retries three times.
//!
//! ```no_run
//! # async fn handler(tokens: kuaishou_api::tokens::TokenManager, kwaisign: &str, body: &[u8]) -> Result<String, kuaishou_api::Error> {
//! use kuaishou_api::push::{self, PushCrypto};
//!
//! let crypto = PushCrypto::new("MESSAGE_TOKEN", "MESSAGE_KEY_43_CHARACTERS_XXXXXXXXXXXXXXXXX")?;
//! let received = push::receive(&tokens, &crypto, kwaisign, body).await?;
//! Ok(push::reply(&received.msg_id))
//! # }
//! ```

#[cfg(feature = "axum")]
pub mod handler;

pub use core_http::crypto::kuaishou::{Diagnosis, PushCrypto};
pub use core_http::crypto::CryptoError;
pub use core_http::push::{Admission, ReplayGuard};

use core_http::Error;
use serde::Deserialize;

use crate::oauth::Event;
use crate::tokens::{TokenManager, TICKET_LIFETIME};

/// A verified, decrypted push.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// `msgId`: echo it in the [`reply`].
    pub msg_id: String,
    /// `componentAppId` of the envelope.
    pub component_app_id: Option<String>,
    /// The decrypted event.
    pub event: Event,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "encryptedMsg")]
    encrypted_msg: String,
    #[serde(rename = "msgId", default)]
    msg_id: Option<String>,
    #[serde(rename = "componentAppId", default)]
    component_app_id: Option<String>,
    #[serde(default)]
    timestamp: Option<serde_json::Value>,
}

/// Verifies `kwaisign` over the raw body and the replay window of `timestamp` (ms), decrypts
/// `encryptedMsg` and reads the event.
/// A body over the crypto's limit ([`PushCrypto::with_max_body`]) is not read at all.
pub fn open(crypto: &PushCrypto, kwaisign: &str, body: &[u8]) -> Result<Received, CryptoError> {
    crypto.check_body(body)?;
    crypto.verify(kwaisign, body)?;
    let envelope: Envelope = serde_json::from_slice(body).map_err(|e| {
        CryptoError::Body(format!(
            "not Kuaishou's push envelope: {}",
            core_http::crypto::redact(&e.to_string())
        ))
    })?;
    let timestamp = match &envelope.timestamp {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    crypto.check_timestamp(&timestamp)?;
    let plain = crypto.decrypt(&envelope.encrypted_msg)?;
    let event = Event::parse(plain.as_bytes()).map_err(CryptoError::from)?;
    Ok(Received {
        msg_id: envelope.msg_id.unwrap_or_default(),
        component_app_id: envelope.component_app_id,
        event,
    })
}

/// [`open`], refuses a push received before, then stores a pushed component ticket in
/// `tokens`' store unless a newer one is stored. A push that fails verification stores nothing
/// and is [`Error::Push`]; one received before (the same `kwaisign` within the replay window,
/// on any instance sharing the store) is [`CryptoError::Replayed`] and stores nothing: answer
/// it with [`reply`] like a handled push (its `msgId` is [`msg_id`]).
pub async fn receive(
    tokens: &TokenManager,
    crypto: &PushCrypto,
    kwaisign: &str,
    body: &[u8],
) -> Result<Received, Error> {
    receive_admitted(tokens, crypto, kwaisign, body)
        .await
        .map(|(received, _)| received)
}

/// [`receive`], also returning its [`Admission`]: hand it to
/// `tokens.replay_guard().release(..)` when your own handling of the push fails and you answer
/// an error, so that Kuaishou's next delivery of it is handled rather than refused.
pub async fn receive_admitted(
    tokens: &TokenManager,
    crypto: &PushCrypto,
    kwaisign: &str,
    body: &[u8],
) -> Result<(Received, Admission), Error> {
    let received = open(crypto, kwaisign, body)?;
    let guard = tokens.replay_guard();
    let admission = guard
        .admit(kwaisign, ReplayGuard::remembered_for(crypto.max_age()))
        .await?;
    if let Event::ComponentTicket(t) = &received.event {
        if let Some(ticket) = &t.component_ticket {
            let pushed_at_ms = t.event_time.and_then(|ms| u64::try_from(ms).ok());
            let stored = tokens
                .store_pushed_ticket(ticket.clone(), pushed_at_ms, TICKET_LIFETIME)
                .await;
            if let Err(e) = stored {
                guard.release(admission).await;
                return Err(e);
            }
        }
    }
    Ok((received, admission))
}

/// The `msgId` of a push envelope, read without verifying it (to [`reply`] to a push
/// received before); empty when the body has none.
pub fn msg_id(body: &[u8]) -> String {
    serde_json::from_slice::<Envelope>(body)
        .ok()
        .and_then(|e| e.msg_id)
        .unwrap_or_default()
}

/// The answer Kuaishou expects: `{"result":1,"message_id":"<msgId>"}`.
pub fn reply(msg_id: &str) -> String {
    serde_json::json!({ "result": 1, "message_id": msg_id }).to_string()
}
