//! Secret values (tokens, app secrets, tickets) that never print.

use std::fmt;
use std::sync::Arc;

/// A credential value. `Debug` and `Display` print `Secret(***)`; only [`Secret::expose`]
/// gives the text, and only the transport calls it. Cloning is cheap (shared).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    value: Arc<str>,
    /// Whether form encoding leaves the value as it is (most tokens): checked once here
    /// rather than on every call that sends it.
    unreserved: bool,
}

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<Arc<str>>) -> Self {
        let value = value.into();
        let unreserved = crate::endpoint::is_unreserved(value.as_bytes());
        Secret { value, unreserved }
    }

    /// The secret text, for putting on the wire.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// Whether `application/x-www-form-urlencoded` leaves the text as it is.
    pub(crate) fn is_unreserved(&self) -> bool {
        self.unreserved
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl crate::wire::ToParam for Secret {
    fn to_param(&self) -> Option<std::borrow::Cow<'_, str>> {
        Some(std::borrow::Cow::Borrowed(self.expose()))
    }
}

/// Secrets arrive in responses (tokens, refresh tokens); they are decoded straight into
/// `Secret`. There is deliberately no `Serialize`: re-emitting a response never leaks one.
impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <String as serde::Deserialize>::deserialize(d).map(Secret::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_its_value() {
        let s = Secret::from("45.secret-token");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(Secret(***))");
        assert_eq!(s.expose(), "45.secret-token");
        assert!(s.is_unreserved());
        assert!(!Secret::from("a+b/c=").is_unreserved());
    }
}
