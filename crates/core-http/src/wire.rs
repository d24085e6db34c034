//! Encoders the derived [`Endpoint`](crate::Endpoint) impls call to put values on the wire.

use std::borrow::Cow;

use serde::Serialize;

/// A value that can be a query or form parameter. `None` means "leave the parameter out".
pub trait ToParam {
    /// The wire text, or `None` to omit the parameter.
    fn to_param(&self) -> Option<Cow<'_, str>>;
}

impl ToParam for String {
    fn to_param(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed(self))
    }
}

impl ToParam for &str {
    fn to_param(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed(self))
    }
}

impl ToParam for bool {
    fn to_param(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed(if *self { "true" } else { "false" }))
    }
}

macro_rules! int_to_param {
    ($($t:ty),*) => {$(
        impl ToParam for $t {
            fn to_param(&self) -> Option<Cow<'_, str>> {
                Some(Cow::Owned(self.to_string()))
            }
        }
    )*};
}
int_to_param!(i32, i64, u32, u64);

impl<T: ToParam> ToParam for Option<T> {
    fn to_param(&self) -> Option<Cow<'_, str>> {
        self.as_ref().and_then(ToParam::to_param)
    }
}

/// A list whose items can be joined into one parameter.
pub trait JoinItems {
    /// The items, or `None` when the parameter is absent.
    fn items(&self) -> Option<&[String]>;
}

impl JoinItems for Vec<String> {
    fn items(&self) -> Option<&[String]> {
        Some(self)
    }
}

impl JoinItems for Option<Vec<String>> {
    fn items(&self) -> Option<&[String]> {
        self.as_deref()
    }
}

/// The list joined by `sep` (WeChat `;`, Baidu `,`), or `None` when absent. Empty items are
/// dropped: `a;;b` would mean the same to the vendor, and `[""]` is sent as an empty list.
pub fn join(list: &impl JoinItems, sep: &str) -> Option<String> {
    list.items().map(|items| miniapp_rules::join(items, sep))
}

/// The value as JSON text (Baidu sends the category list as a JSON string parameter).
pub fn json_text<T: Serialize + ?Sized>(value: &T) -> Option<String> {
    // Serializing plain data structs to a String cannot fail.
    serde_json::to_string(value).ok()
}

/// Whether an optional JSON member is present.
pub trait Presence {
    /// False for `None`.
    fn is_present(&self) -> bool;
}

impl<T> Presence for Option<T> {
    fn is_present(&self) -> bool {
        self.is_some()
    }
}

macro_rules! always_present {
    ($($t:ty),*) => {$(
        impl Presence for $t {
            fn is_present(&self) -> bool {
                true
            }
        }
    )*};
}
always_present!(String, bool, i32, i64, u32, u64);

impl<T> Presence for Vec<T> {
    fn is_present(&self) -> bool {
        true
    }
}

/// Serializes a list as one joined string: the JSON form of a `join`ed parameter.
pub struct Joined<'a, L: ?Sized>(pub &'a L, pub &'a str);

impl<L: JoinItems + ?Sized> Serialize for Joined<'_, L> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.items() {
            Some(items) => serializer.serialize_str(&miniapp_rules::join(items, self.1)),
            None => serializer.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_and_omits() {
        let some = Some(vec!["a.com".to_owned(), "b.com".to_owned()]);
        assert_eq!(join(&some, ";").as_deref(), Some("a.com;b.com"));
        assert_eq!(join(&None::<Vec<String>>, ","), None);
        assert_eq!(
            serde_json::to_string(&Joined(&some, ",")).unwrap(),
            "\"a.com,b.com\""
        );
        assert_eq!(Some(5_i64).to_param().as_deref(), Some("5"));
        assert_eq!(None::<String>.to_param(), None);
    }
}
