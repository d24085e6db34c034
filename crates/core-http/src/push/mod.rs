//! Helpers behind each vendor's push-event entry point (`BaiduEvent::parse` and friends).
//!
//! Event names are normalized before matching: the documents' examples carry a leading space
//! (`" BASE_INFO_OFFLINE_AUDIT_SUCCESS"`) and markdown escapes (`APPLY_APP\_MOBILE_AUTH_PASS`).

use serde::de::DeserializeOwned;
use serde::Deserialize;

mod replay;
pub use replay::{Admission, ReplayGuard, DEFAULT_REMEMBERED, UNCHECKED_WINDOW};

/// A platform's push settings, as its page shows them: the message token (WeChat and Baidu
/// 消息校验Token, Kuaishou 消息校检Token) and the EncodingAESKey (Kuaishou: the message key).
/// Both are secrets: `Debug` shows neither.
#[derive(Clone)]
pub struct PushSettings {
    /// The message token.
    pub token: crate::Secret,
    /// The 43-character EncodingAESKey.
    pub encoding_aes_key: crate::Secret,
}

impl PushSettings {
    /// The WeChat-style message cipher (WeChat and Baidu pushes) of the platform `app_id`
    /// with these settings.
    pub fn message_crypto(
        &self,
        app_id: impl Into<String>,
    ) -> Result<crate::crypto::wechat::MessageCrypto, crate::crypto::CryptoError> {
        crate::crypto::wechat::MessageCrypto::new(
            self.token.clone(),
            self.encoding_aes_key.expose(),
            app_id,
        )
    }
}

impl std::fmt::Debug for PushSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushSettings")
            .field("token", &"***")
            .field("encoding_aes_key", &"***")
            .finish()
    }
}

/// A push body that could not be decoded.
#[derive(Debug, thiserror::Error)]
#[error("push event undecodable at `{path}`: {message}")]
pub struct PushError {
    /// JSON path of the offending value.
    pub path: String,
    /// The decoder's message.
    pub message: String,
    /// The body names no event at all (none of the document's event members is present): it
    /// may belong to another document's pushes.
    pub no_event_name: bool,
}

impl PushError {
    fn at(path: impl Into<String>, message: impl Into<String>) -> Self {
        PushError {
            path: path.into(),
            message: message.into(),
            no_event_name: false,
        }
    }
}

/// An event this SDK version does not know; kept, not rejected. `Debug` shows the event name
/// and the member names only (an unknown event may carry a code or a ticket).
#[derive(Clone, PartialEq)]
pub struct UnknownEvent {
    /// The normalized event name.
    pub event: String,
    /// The whole payload.
    pub payload: serde_json::Value,
}

/// Trims spaces and drops markdown backslashes from an event name.
pub fn normalize_event_name(name: &str) -> String {
    name.trim().chars().filter(|c| *c != '\\').collect()
}

/// The normalized `event` (or `Event`) member of a JSON push body.
pub fn event_name(body: &[u8]) -> Result<String, PushError> {
    event_name_in(body, &["event", "Event"])
}

/// The normalized event name of a JSON push body: the first of `members` that is present (it
/// must be a string).
pub fn event_name_in(body: &[u8], members: &[&str]) -> Result<String, PushError> {
    let names = event_names(body, members)?;
    Ok(names.into_iter().flatten().next().unwrap_or_default())
}

/// The normalized value of each of `members` in a JSON push body (`None` where absent or
/// `null`), for dispatch by each event family's own member; an error when the body is not an
/// object, when a member is not a string, or when none is present.
pub fn event_names(body: &[u8], members: &[&str]) -> Result<Vec<Option<String>>, PushError> {
    let head: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(body).map_err(|e| PushError::at(".", e.to_string()))?;
    let mut names = Vec::with_capacity(members.len());
    for member in members {
        names.push(match head.get(*member) {
            Some(serde_json::Value::String(s)) => Some(normalize_event_name(s)),
            None | Some(serde_json::Value::Null) => None,
            Some(other) => {
                return Err(PushError::at(
                    format!(".{member}"),
                    format!("expected the event name as a string, got {other}"),
                ))
            }
        });
    }
    if names.iter().all(Option::is_none) {
        return Err(PushError {
            no_event_name: true,
            ..PushError::at(
                format!(".{}", members.first().copied().unwrap_or("event")),
                format!("missing `{}`", members.join("` or `")),
            )
        });
    }
    Ok(names)
}

/// An XML push whose event this SDK version does not know; kept, not rejected. `Debug` shows
/// the event name and the field names only (an unknown push may carry a code or a ticket).
#[derive(Clone, PartialEq)]
pub struct UnknownXmlEvent {
    /// The normalized event name.
    pub event: String,
    /// Every field of the decrypted XML.
    pub fields: crate::crypto::XmlFields,
}

impl std::fmt::Debug for UnknownEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let members: Vec<&str> = self
            .payload
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        f.debug_struct("UnknownEvent")
            .field("event", &self.event)
            .field("members", &members)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for UnknownXmlEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fields: Vec<&str> = self.fields.0.keys().map(String::as_str).collect();
        f.debug_struct("UnknownXmlEvent")
            .field("event", &self.event)
            .field("fields", &fields)
            .finish_non_exhaustive()
    }
}

/// Readers of WeChat-style XML push fields, for the generated event types.
#[doc(hidden)]
pub mod xml {
    use std::str::FromStr;

    use super::{normalize_event_name, PushError};
    use crate::crypto::XmlFields;
    use crate::Secret;

    fn missing(member: &str) -> PushError {
        PushError::at(member, format!("the push has no `{member}`"))
    }

    /// The normalized event name: the first of `members` that is present.
    pub fn name(fields: &XmlFields, members: &[&str]) -> Result<String, PushError> {
        members
            .iter()
            .find_map(|m| fields.get(m))
            .map(normalize_event_name)
            .ok_or_else(|| missing(members.first().copied().unwrap_or("InfoType")))
    }

    /// The normalized value of each of `members` (`None` where absent); an error when none is
    /// present.
    pub fn names(fields: &XmlFields, members: &[&str]) -> Result<Vec<Option<String>>, PushError> {
        let names: Vec<_> = members
            .iter()
            .map(|m| fields.get(m).map(normalize_event_name))
            .collect();
        if names.iter().all(Option::is_none) {
            return Err(PushError {
                no_event_name: true,
                ..missing(members.first().copied().unwrap_or("InfoType"))
            });
        }
        Ok(names)
    }

    /// The event kind in `member`.
    pub fn kind<T: FromStr>(fields: &XmlFields, member: &str) -> Result<T, PushError> {
        let name = normalize_event_name(fields.get(member).ok_or_else(|| missing(member))?);
        name.parse()
            .map_err(|_| PushError::at(member, "unknown event name"))
    }

    /// A required, non-empty text field.
    pub fn text(fields: &XmlFields, member: &str) -> Result<String, PushError> {
        opt_text(fields, member).ok_or_else(|| missing(member))
    }

    /// An optional text field (empty is absent).
    pub fn opt_text(fields: &XmlFields, member: &str) -> Option<String> {
        fields
            .get(member)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    }

    /// A required integer field.
    pub fn integer(fields: &XmlFields, member: &str) -> Result<i64, PushError> {
        let text = fields
            .get(member)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| missing(member))?;
        text.trim()
            .parse()
            .map_err(|_| PushError::at(member, "not a number"))
    }

    /// An optional integer field (absent or not a number: `None`).
    pub fn opt_integer(fields: &XmlFields, member: &str) -> Option<i64> {
        fields.get(member)?.trim().parse().ok()
    }

    /// A required secret (a ticket, a code).
    pub fn secret(fields: &XmlFields, member: &str) -> Result<Secret, PushError> {
        text(fields, member).map(Secret::from)
    }

    /// An optional secret.
    pub fn opt_secret(fields: &XmlFields, member: &str) -> Option<Secret> {
        opt_text(fields, member).map(Secret::from)
    }
}

/// Decodes a push body as `T`, naming the offending path on failure.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, PushError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de)
        .map_err(|e| PushError::at(e.path().to_string(), e.into_inner().to_string()))
}

/// Keeps an unknown event whole.
pub fn unknown(event: String, body: &[u8]) -> Result<UnknownEvent, PushError> {
    Ok(UnknownEvent {
        event,
        payload: decode(body)?,
    })
}

/// Deserializes an event-name member through [`normalize_event_name`] into `T: FromStr`.
pub fn event_kind<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
{
    let raw = String::deserialize(d)?;
    let name = normalize_event_name(&raw);
    name.parse()
        .map_err(|_| serde::de::Error::custom(format!("unknown event name {name:?}")))
}

/// A user's hook, called with every verified push (the vendor crates' push handlers).
pub type PushHook<T> =
    std::sync::Arc<dyn Fn(T) -> crate::token::BoxFuture<'static, ()> + Send + Sync>;

/// Wraps an async closure as a [`PushHook`].
pub fn hook<T, F, Fut>(f: F) -> PushHook<T>
where
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    std::sync::Arc::new(move |push| Box::pin(f(push)))
}

/// What a push handler answers (HTTP status, body) for the outcome of handling one push: the
/// vendor's reply with 200; a push received before ([`CryptoError::Replayed`], nothing
/// stored or hooked) `200 success`, so the vendor stops pushing it; a refused push
/// ([`crate::Error::Push`], nothing stored) 400; any other failure (the store, a code
/// exchange) 500, so that the vendor pushes again. Failures are logged at WARN (never a
/// secret), replays at DEBUG.
///
/// [`CryptoError::Replayed`]: crate::crypto::CryptoError::Replayed
pub fn answer(result: Result<String, crate::Error>) -> (u16, String) {
    match result {
        Ok(reply) => (200, reply),
        Err(crate::Error::Push(crate::crypto::CryptoError::Replayed)) => {
            tracing::debug!("push received before; acknowledged and ignored");
            (200, "success".into())
        }
        Err(e @ crate::Error::Push(_)) => {
            tracing::warn!(error = %e, "push refused");
            (400, e.to_string())
        }
        Err(e) => {
            tracing::warn!(error = %e, "push not handled");
            (500, "not handled".into())
        }
    }
}

/// Runs the handling of one push in its own task and waits for it: when the vendor's
/// connection drops mid-way (hyper then drops the request's future), the handling still runs
/// to its end, so a ticket is stored and an exchanged authorization code's tokens are saved.
/// `None` when the task panicked.
pub async fn run_detached<T, F>(handling: F) -> Option<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    tokio::spawn(handling).await.ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_the_documented_quirks() {
        assert_eq!(
            normalize_event_name(" BASE_INFO_OFFLINE_AUDIT_SUCCESS"),
            "BASE_INFO_OFFLINE_AUDIT_SUCCESS"
        );
        assert_eq!(
            normalize_event_name("APPLY_APP\\_MOBILE_AUTH_PASS"),
            "APPLY_APP_MOBILE_AUTH_PASS"
        );
        assert_eq!(event_name(br#"{"event":" X\\_Y "}"#).unwrap(), "X_Y");
        assert!(event_name(b"not json").is_err());
        assert_eq!(event_name(b"{}").unwrap_err().path, ".event");
    }
}
