//! Checks of documented limits, called by derived [`Endpoint::validate`](crate::Endpoint)
//! impls: the rules of `miniapp-rules` (the ones the sandbox runs too), applied to typed
//! values, with the endpoint and field named. Lengths count characters, not bytes.

use miniapp_rules::{self as rules, Broken};

use crate::InvalidRequest;

fn invalid(
    endpoint: &'static str,
    field: &'static str,
    rule: String,
    given: String,
) -> InvalidRequest {
    InvalidRequest {
        endpoint,
        field,
        rule,
        given,
    }
}

/// A value whose text items or number the limits look at: `String`, `i64`, `Secret`, lists
/// and options of them (enums and objects are checked by type, not by limits).
pub trait Checked {
    /// Each text item (none for non-text values), without allocating.
    fn texts(&self) -> impl Iterator<Item = &str>;
    /// The numeric value, for range checks.
    fn number(&self) -> Option<i64> {
        None
    }
}

impl Checked for String {
    fn texts(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.as_str())
    }
}

impl Checked for crate::Secret {
    fn texts(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.expose())
    }
}

impl Checked for i64 {
    fn texts(&self) -> impl Iterator<Item = &str> {
        std::iter::empty()
    }
    fn number(&self) -> Option<i64> {
        Some(*self)
    }
}

impl<T: Checked> Checked for Vec<T> {
    fn texts(&self) -> impl Iterator<Item = &str> {
        self.iter().flat_map(Checked::texts)
    }
}

impl<T: Checked> Checked for Option<T> {
    fn texts(&self) -> impl Iterator<Item = &str> {
        self.iter().flat_map(Checked::texts)
    }
    fn number(&self) -> Option<i64> {
        self.as_ref().and_then(Checked::number)
    }
}

/// A value that holds something to send: a non-empty text, or a list with a non-empty text.
/// (Empty items of a joined list are dropped on the wire, so `[""]` holds nothing.)
pub trait HasItems {
    /// Whether anything would reach the wire.
    fn has_items(&self) -> bool;
}

impl HasItems for String {
    fn has_items(&self) -> bool {
        !self.is_empty()
    }
}

impl HasItems for Vec<String> {
    fn has_items(&self) -> bool {
        self.iter().any(|s| rules::is_sent_item(s))
    }
}

impl<T: HasItems> HasItems for Option<T> {
    fn has_items(&self) -> bool {
        self.as_ref().is_some_and(HasItems::has_items)
    }
}

/// The non-empty text items of a joined list (what reaches the wire), for the format checks.
pub struct JoinedItems<'a, T: ?Sized>(pub &'a T);

impl<T: Checked + ?Sized> Checked for JoinedItems<'_, T> {
    fn texts(&self) -> impl Iterator<Item = &str> {
        self.0.texts().filter(|s| rules::is_sent_item(s))
    }
}

fn at(endpoint: &'static str, field: &'static str) -> impl Fn(Broken) -> InvalidRequest {
    move |b| invalid(endpoint, field, b.rule, b.given)
}

/// Documented-required parameter. `present` is false for `None` (an explicit empty list is a
/// value: "clear these"); `unless` names a condition under which the parameter may be left
/// out, and whether it holds.
pub fn required(
    endpoint: &'static str,
    field: &'static str,
    present: bool,
    unless: Option<(&'static str, bool)>,
) -> Result<(), InvalidRequest> {
    rules::required(present, unless).map_err(at(endpoint, field))
}

/// Character length of each text item within `min..=max`.
pub fn chars<T: Checked + ?Sized>(
    endpoint: &'static str,
    field: &'static str,
    value: &T,
    min: Option<usize>,
    max: Option<usize>,
) -> Result<(), InvalidRequest> {
    for text in value.texts() {
        rules::chars(text, min, max).map_err(at(endpoint, field))?;
    }
    Ok(())
}

/// Numeric value within `min..=max`.
pub fn range<T: Checked + ?Sized>(
    endpoint: &'static str,
    field: &'static str,
    value: &T,
    min: Option<i64>,
    max: Option<i64>,
) -> Result<(), InvalidRequest> {
    match value.number() {
        Some(n) => rules::range(n, min, max).map_err(at(endpoint, field)),
        None => Ok(()),
    }
}

/// At most `max` list items.
pub fn max_items(
    endpoint: &'static str,
    field: &'static str,
    n: usize,
    max: usize,
) -> Result<(), InvalidRequest> {
    rules::max_items(n, max).map_err(at(endpoint, field))
}

/// A value documented as needing one holds something when present: each text has a
/// character other than white space, and a list (`items`: its length) has at least one item.
pub fn non_empty<T: Checked + ?Sized>(
    endpoint: &'static str,
    field: &'static str,
    value: &T,
    items: Option<usize>,
) -> Result<(), InvalidRequest> {
    if let Some(n) = items {
        rules::non_empty_list(n).map_err(at(endpoint, field))?;
    }
    for text in value.texts() {
        rules::non_empty_text(text).map_err(at(endpoint, field))?;
    }
    Ok(())
}

/// Every item has the documented `format`.
pub fn format<T: Checked + ?Sized>(
    endpoint: &'static str,
    field: &'static str,
    value: &T,
    format: rules::Format,
) -> Result<(), InvalidRequest> {
    for text in value.texts() {
        rules::format(text, format).map_err(at(endpoint, field))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_characters_not_bytes() {
        let hundred_han = "审".repeat(100);
        assert!(chars("E", "f", &hundred_han, Some(1), Some(100)).is_ok());
        let err = chars("E", "f", &format!("{hundred_han}审"), Some(1), Some(100)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "E.f: 1 to 100 characters; got 101 characters"
        );
    }

    #[test]
    fn hosts_and_urls() {
        assert!(format(
            "E",
            "f",
            &vec!["www.qq.com".to_owned()],
            miniapp_rules::Format::BareHost
        )
        .is_ok());
        assert!(format(
            "E",
            "f",
            &vec!["https://www.qq.com".to_owned()],
            miniapp_rules::Format::BareHost
        )
        .is_err());
        assert!(format(
            "E",
            "f",
            &vec!["www.qq.com/a".to_owned()],
            miniapp_rules::Format::BareHost
        )
        .is_err());
        assert!(format(
            "E",
            "f",
            &Some(vec!["wss://a.com".to_owned()]),
            miniapp_rules::Format::HttpsOrWssOrigin
        )
        .is_ok());
        assert!(format(
            "E",
            "f",
            &Some(vec!["http://a.com".to_owned()]),
            miniapp_rules::Format::HttpsOrWssOrigin
        )
        .is_err());
    }

    #[test]
    fn required_unless_condition() {
        assert!(required("E", "f", false, Some(("action = get", true))).is_ok());
        let err = required("E", "f", false, Some(("action = get", false))).unwrap_err();
        assert_eq!(err.rule, "required unless action = get");
        assert!(required("E", "f", true, None).is_ok());
        assert_eq!(
            max_items("E", "f", 201, 200).unwrap_err().given,
            "201 items"
        );
    }
}
