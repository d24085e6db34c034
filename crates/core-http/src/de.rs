//! Lenient decoders for what the wire really carries, used by generated response types through
//! `#[serde(deserialize_with = ...)]`. Each takes `null` or a missing member as `None`.

use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::Deserialize;

/// An integer the documents call `int` but the examples also send as a string (`"2"`).
pub fn lenient_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<i64>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an integer, or a string holding one")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            i64::try_from(v).map(Some).map_err(E::custom)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            let t = v.trim();
            if t.is_empty() {
                return Ok(None);
            }
            t.parse()
                .map(Some)
                .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
    }
    d.deserialize_any(V)
}

fn split(text: &str, sep: char) -> Vec<String> {
    text.split(sep)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A `;`-joined string (WeChat domain lists) as a list.
pub fn semicolon_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(|s| split(&s, ';')))
}

/// A `,`-joined string (Baidu domain lists, illegal fields) as a list.
pub fn comma_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(|s| split(&s, ',')))
}

/// JSON text inside a string (Baidu `category_quali`); an empty string is `None`.
pub fn json_string<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    d: D,
) -> Result<Option<T>, D::Error> {
    match Option::<String>::deserialize(d)? {
        Some(s) if !s.trim().is_empty() => serde_json::from_str(&s)
            .map(Some)
            .map_err(de::Error::custom),
        _ => Ok(None),
    }
}

/// A wire value that is not one of an enum's documented values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a documented value of {type_name}")]
pub struct UnknownValue {
    /// The enum's name.
    pub type_name: &'static str,
    /// The value received.
    pub value: String,
}

impl UnknownValue {
    /// The error for `value` of `type_name`.
    pub fn new(type_name: &'static str, value: &str) -> Self {
        UnknownValue {
            type_name,
            value: value.to_owned(),
        }
    }
}

/// Deserializes a generated enum from its wire text; integers (and numeric strings) are
/// matched by their decimal text, so integer enums accept `1` and `"1"`.
pub fn wire_enum<'de, D: Deserializer<'de>, T>(
    d: D,
    from_wire: fn(&str) -> Option<T>,
    type_name: &'static str,
) -> Result<T, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string or an integer")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_owned())
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
    }
    let text = d.deserialize_any(V)?;
    from_wire(text.trim()).ok_or_else(|| de::Error::custom(UnknownValue::new(type_name, &text)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct T {
        #[serde(default, deserialize_with = "lenient_int")]
        id: Option<i64>,
        #[serde(default, deserialize_with = "comma_list")]
        list: Option<Vec<String>>,
        #[serde(default, deserialize_with = "json_string")]
        inner: Option<Vec<i64>>,
    }

    #[test]
    fn accepts_what_the_wire_carries() {
        let t: T = serde_json::from_str(r#"{"id":"2","list":"a, b,","inner":"[1,2]"}"#).unwrap();
        assert_eq!(t.id, Some(2));
        assert_eq!(t.list, Some(vec!["a".into(), "b".into()]));
        assert_eq!(t.inner, Some(vec![1, 2]));
        let t: T = serde_json::from_str(r#"{"id":7,"inner":""}"#).unwrap();
        assert_eq!((t.id, t.list, t.inner), (Some(7), None, None));
        assert!(serde_json::from_str::<T>(r#"{"id":"x"}"#).is_err());
    }
}
