//! Helpers behind each vendor's push-event entry point (`BaiduEvent::parse` and friends).
//!
//! Event names are normalized before matching: the documents' examples carry a leading space
//! (`" BASE_INFO_OFFLINE_AUDIT_SUCCESS"`) and markdown escapes (`APPLY_APP\_MOBILE_AUTH_PASS`).

use serde::de::DeserializeOwned;
use serde::Deserialize;

/// A push body that could not be decoded.
#[derive(Debug, thiserror::Error)]
#[error("push event undecodable at `{path}`: {message}")]
pub struct PushError {
    /// JSON path of the offending value.
    pub path: String,
    /// The decoder's message.
    pub message: String,
}

/// An event this SDK version does not know; kept, not rejected.
#[derive(Debug, Clone, PartialEq)]
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

#[derive(Deserialize)]
struct Head {
    event: Option<String>,
    #[serde(rename = "Event")]
    event_upper: Option<String>,
}

/// The normalized `event` member of a JSON push body.
pub fn event_name(body: &[u8]) -> Result<String, PushError> {
    let head: Head = serde_json::from_slice(body).map_err(|e| PushError {
        path: ".".into(),
        message: e.to_string(),
    })?;
    head.event
        .or(head.event_upper)
        .map(|n| normalize_event_name(&n))
        .ok_or_else(|| PushError {
            path: ".event".into(),
            message: "missing `event`".into(),
        })
}

/// Decodes a push body as `T`, naming the offending path on failure.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, PushError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| PushError {
        path: e.path().to_string(),
        message: e.into_inner().to_string(),
    })
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
/// vendor's reply with 200; a refused push ([`crate::Error::Push`], nothing stored) 400; any
/// other failure (the store, a code exchange) 500, so that the vendor pushes again. Failures
/// are logged at WARN (never a secret).
pub fn answer(result: Result<String, crate::Error>) -> (u16, String) {
    match result {
        Ok(reply) => (200, reply),
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
