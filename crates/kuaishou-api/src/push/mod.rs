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
pub fn open(crypto: &PushCrypto, kwaisign: &str, body: &[u8]) -> Result<Received, CryptoError> {
    crypto.verify(kwaisign, body)?;
    let envelope: Envelope = serde_json::from_slice(body)
        .map_err(|e| CryptoError::Body(format!("not Kuaishou's push envelope: {e}")))?;
    let timestamp = match &envelope.timestamp {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    crypto.check_timestamp(&timestamp)?;
    let plain = crypto.decrypt(&envelope.encrypted_msg)?;
    let event = Event::parse(plain.as_bytes()).map_err(|e| CryptoError::Body(e.to_string()))?;
    Ok(Received {
        msg_id: envelope.msg_id.unwrap_or_default(),
        component_app_id: envelope.component_app_id,
        event,
    })
}

/// [`open`], then stores a pushed component ticket in `tokens`' store. A push that fails
/// verification stores nothing and is [`Error::Push`].
pub async fn receive(
    tokens: &TokenManager,
    crypto: &PushCrypto,
    kwaisign: &str,
    body: &[u8],
) -> Result<Received, Error> {
    let received = open(crypto, kwaisign, body)?;
    if let Event::ComponentTicket(t) = &received.event {
        if let Some(ticket) = &t.component_ticket {
            tokens.store_ticket(ticket.clone(), TICKET_LIFETIME).await?;
        }
    }
    Ok(received)
}

/// The answer Kuaishou expects: `{"result":1,"message_id":"<msgId>"}`.
pub fn reply(msg_id: &str) -> String {
    serde_json::json!({ "result": 1, "message_id": msg_id }).to_string()
}
