//! Checks of documented limits, called by derived [`Endpoint::validate`](crate::Endpoint)
//! impls. Lengths count characters, not bytes.

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
        self.iter().any(|s| !s.is_empty())
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
        self.0.texts().filter(|s| !s.is_empty())
    }
}

/// Documented-required parameter (a present, non-empty value).
/// `present` is false for `None` and for an empty list; `unless` names a condition under which
/// the parameter may be left out, and whether it holds.
pub fn required(
    endpoint: &'static str,
    field: &'static str,
    present: bool,
    unless: Option<(&'static str, bool)>,
) -> Result<(), InvalidRequest> {
    if present || matches!(unless, Some((_, true))) {
        return Ok(());
    }
    let rule = match unless {
        Some((cond, _)) => format!("required unless {cond}"),
        None => "required".to_owned(),
    };
    Err(invalid(endpoint, field, rule, "nothing".into()))
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
        let n = text.chars().count();
        if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
            let rule = match (min, max) {
                (Some(a), Some(b)) => format!("{a} to {b} characters"),
                (Some(a), None) => format!("at least {a} characters"),
                (None, Some(b)) => format!("at most {b} characters"),
                (None, None) => unreachable!(),
            };
            return Err(invalid(endpoint, field, rule, format!("{n} characters")));
        }
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
    if let Some(n) = value.number() {
        if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
            let lo = min.map_or(String::new(), |m| m.to_string());
            let hi = max.map_or(String::new(), |m| m.to_string());
            return Err(invalid(
                endpoint,
                field,
                format!("between {lo} and {hi}"),
                n.to_string(),
            ));
        }
    }
    Ok(())
}

/// At most `max` list items.
pub fn max_items(
    endpoint: &'static str,
    field: &'static str,
    n: usize,
    max: usize,
) -> Result<(), InvalidRequest> {
    if n > max {
        return Err(invalid(
            endpoint,
            field,
            format!("at most {max} items"),
            format!("{n} items"),
        ));
    }
    Ok(())
}

/// Every item has the documented `format` (the one implementation in `miniapp-rules`, which
/// the sandbox runs too).
pub fn format<T: Checked + ?Sized>(
    endpoint: &'static str,
    field: &'static str,
    value: &T,
    format: miniapp_rules::Format,
) -> Result<(), InvalidRequest> {
    match value.texts().find(|text| !format.accepts(text)) {
        Some(text) => Err(invalid(
            endpoint,
            field,
            format.rule().into(),
            format!("{text:?}"),
        )),
        None => Ok(()),
    }
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
