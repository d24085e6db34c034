//! Pushes to the platform's event URLs, verified and decrypted: the ticket every 10 minutes
//! and the seed document's events ([`basic_info::Event`](crate::basic_info::Event)).
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

use core_http::{Error, Secret};
use serde::Deserialize;

use crate::basic_info::Event;
use crate::tokens::{TokenManager, TICKET_LIFETIME};

/// A verified, decrypted Baidu push.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum TpPush {
    /// The ticket push (`MsgType` `ticket`).
    Ticket(Ticket),
    /// Any other push: the seed document's events, unknown ones kept.
    Event(Event),
}

/// The ticket push.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticket {
    /// `Ticket`: what the TP token is fetched with.
    pub ticket: Secret,
    /// `CreateTime` (Unix seconds; sent as a number or a string).
    pub create_time: Option<i64>,
}

/// The push envelope; members may arrive as strings or numbers.
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

#[derive(Deserialize)]
struct TicketBody {
    #[serde(rename = "MsgType")]
    msg_type: Option<String>,
    #[serde(rename = "Ticket")]
    ticket: Option<String>,
    #[serde(
        rename = "CreateTime",
        default,
        deserialize_with = "core_http::__private::de::lenient_int"
    )]
    create_time: Option<i64>,
}

/// Verifies a push body (signature, then the replay window of its `TimeStamp`), decrypts it
/// and reads it.
pub fn open(crypto: &MessageCrypto, body: &[u8]) -> Result<TpPush, CryptoError> {
    let envelope: Envelope = serde_json::from_slice(body)
        .map_err(|e| CryptoError::Body(format!("not Baidu's push envelope: {e}")))?;
    crypto.verify(
        &envelope.msg_signature,
        &envelope.timestamp,
        &envelope.nonce,
        &envelope.encrypt,
    )?;
    crypto.check_timestamp(&envelope.timestamp)?;
    let plain = crypto.decrypt(&envelope.encrypt)?;
    let head: TicketBody = serde_json::from_str(&plain)
        .map_err(|e| CryptoError::Body(format!("the decrypted push is not JSON: {e}")))?;
    if head
        .msg_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("ticket"))
    {
        let ticket = head
            .ticket
            .filter(|t| !t.is_empty())
            .ok_or_else(|| CryptoError::Body("the ticket push has no `Ticket`".into()))?;
        return Ok(TpPush::Ticket(Ticket {
            ticket: Secret::from(ticket),
            create_time: head.create_time,
        }));
    }
    Event::parse(plain.as_bytes())
        .map(TpPush::Event)
        .map_err(|e| CryptoError::Body(e.to_string()))
}

/// [`open`], then stores a pushed ticket in `tokens`' store. A push that fails verification
/// stores nothing and is [`Error::Push`].
pub async fn receive(
    tokens: &TokenManager,
    crypto: &MessageCrypto,
    body: &[u8],
) -> Result<TpPush, Error> {
    let push = open(crypto, body)?;
    if let TpPush::Ticket(t) = &push {
        tokens
            .store_ticket(t.ticket.clone(), TICKET_LIFETIME)
            .await?;
    }
    Ok(push)
}
