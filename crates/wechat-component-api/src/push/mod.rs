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
//!     ComponentPush::Authorized(a) => println!("{} authorized the platform", a.authorizer_appid),
//!     ComponentPush::Unauthorized(u) => println!("{} revoked it", u.authorizer_appid),
//!     _ => {}
//! }
//! Ok("success") // WeChat expects the plain string `success`
//! # }
//! ```
//!
//! Facts: WeChat's third-party platform documents ("授权事件推送", "验证票据"); the
//! meaning of `AuthorizationCodeExpiredTime` (a lifetime or an instant, "单位秒") is
//! unverified, so it is kept as the number it is.

#[cfg(feature = "axum")]
pub mod handler;

pub use core_http::crypto::wechat::{MessageCrypto, PushQuery};
pub use core_http::crypto::{CryptoError, XmlFields};

use core_http::{Error, Secret};

use crate::tokens::{TokenManager, TICKET_LIFETIME};

/// A verified, decrypted push of the authorization event URL, by `InfoType`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ComponentPush {
    /// `component_verify_ticket`: the ticket the platform token is fetched with.
    VerifyTicket(VerifyTicket),
    /// `authorized`: an app authorized the platform.
    Authorized(Authorization),
    /// `updateauthorized`: an app changed the permissions it grants.
    UpdateAuthorized(Authorization),
    /// `unauthorized`: an app revoked the authorization.
    Unauthorized(Unauthorization),
    /// Another `InfoType`: kept with all its fields, not rejected.
    Other {
        /// The `InfoType`.
        info_type: String,
        /// Every field of the decrypted XML.
        fields: XmlFields,
    },
}

/// The `component_verify_ticket` push.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyTicket {
    /// `AppId`: the platform's component app id.
    pub app_id: String,
    /// `CreateTime` (Unix seconds).
    pub create_time: i64,
    /// `ComponentVerifyTicket` (valid 12 h).
    pub ticket: Secret,
}

/// The `authorized` and `updateauthorized` pushes.
#[derive(Debug, Clone, PartialEq)]
pub struct Authorization {
    /// `AppId`: the platform's component app id.
    pub app_id: String,
    /// `CreateTime` (Unix seconds).
    pub create_time: i64,
    /// `AuthorizerAppid`: the app that authorized the platform.
    pub authorizer_appid: String,
    /// `AuthorizationCode`: exchange it with `query_auth` for the app's tokens.
    pub authorization_code: Secret,
    /// `AuthorizationCodeExpiredTime`, as sent (unverified whether a lifetime or an instant).
    pub authorization_code_expired_time: Option<i64>,
    /// `PreAuthCode`, when sent.
    pub pre_auth_code: Option<Secret>,
}

/// The `unauthorized` push.
#[derive(Debug, Clone, PartialEq)]
pub struct Unauthorization {
    /// `AppId`: the platform's component app id.
    pub app_id: String,
    /// `CreateTime` (Unix seconds).
    pub create_time: i64,
    /// `AuthorizerAppid`: the app that revoked the authorization.
    pub authorizer_appid: String,
}

fn required<'a>(fields: &'a XmlFields, name: &str) -> Result<&'a str, CryptoError> {
    fields
        .get(name)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| CryptoError::Body(format!("the decrypted push has no `{name}`")))
}

fn number(fields: &XmlFields, name: &str) -> Result<i64, CryptoError> {
    required(fields, name)?
        .trim()
        .parse()
        .map_err(|_| CryptoError::Body(format!("`{name}` is not a number")))
}

impl ComponentPush {
    /// The push in the decrypted `fields` (of [`MessageCrypto::open`]). Its `AppId` must be the
    /// platform's.
    pub fn from_fields(crypto: &MessageCrypto, fields: XmlFields) -> Result<Self, CryptoError> {
        let app_id = required(&fields, "AppId")?.to_owned();
        if app_id != crypto.app_id() {
            return Err(CryptoError::WrongAppId {
                expected: crypto.app_id().to_owned(),
                got: app_id,
            });
        }
        let info_type = required(&fields, "InfoType")?.trim().to_owned();
        let create_time = number(&fields, "CreateTime")?;
        let authorization = |fields: &XmlFields| -> Result<Authorization, CryptoError> {
            Ok(Authorization {
                app_id: app_id.clone(),
                create_time,
                authorizer_appid: required(fields, "AuthorizerAppid")?.to_owned(),
                authorization_code: Secret::from(required(fields, "AuthorizationCode")?),
                authorization_code_expired_time: number(fields, "AuthorizationCodeExpiredTime")
                    .ok(),
                pre_auth_code: fields
                    .get("PreAuthCode")
                    .filter(|v| !v.is_empty())
                    .map(Secret::from),
            })
        };
        Ok(match info_type.as_str() {
            "component_verify_ticket" => ComponentPush::VerifyTicket(VerifyTicket {
                ticket: Secret::from(required(&fields, "ComponentVerifyTicket")?),
                app_id,
                create_time,
            }),
            "authorized" => ComponentPush::Authorized(authorization(&fields)?),
            "updateauthorized" => ComponentPush::UpdateAuthorized(authorization(&fields)?),
            "unauthorized" => ComponentPush::Unauthorized(Unauthorization {
                authorizer_appid: required(&fields, "AuthorizerAppid")?.to_owned(),
                app_id,
                create_time,
            }),
            _ => ComponentPush::Other { info_type, fields },
        })
    }
}

/// Verifies and decrypts a push (`query` from the push URL, `body` as received) and reads it.
pub fn open(
    crypto: &MessageCrypto,
    query: &PushQuery,
    body: &[u8],
) -> Result<ComponentPush, CryptoError> {
    ComponentPush::from_fields(crypto, crypto.open(query, body)?)
}

/// [`open`], then stores a pushed ticket in `tokens`' store (where the platform token is
/// fetched from). A push that fails verification stores nothing and is
/// [`Error::Push`]; reply `success` to every push that returns `Ok`.
pub async fn receive(
    tokens: &TokenManager,
    crypto: &MessageCrypto,
    query: &PushQuery,
    body: &[u8],
) -> Result<ComponentPush, Error> {
    let push = open(crypto, query, body)?;
    if let ComponentPush::VerifyTicket(t) = &push {
        tokens
            .store_ticket(t.ticket.clone(), TICKET_LIFETIME)
            .await?;
    }
    Ok(push)
}
