//! The small type language of spec fields: `string`, `integer`, `list<T>`, `map<T>`, names.

use std::fmt;

/// A parsed field type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeRef {
    /// UTF-8 text.
    String,
    /// A 64-bit signed integer.
    Integer,
    /// `true` / `false`.
    Boolean,
    /// Any JSON value, kept as is.
    Json,
    /// A named object or enum of the same spec file.
    Named(String),
    /// A JSON array (or a joined string, with `join`).
    List(Box<TypeRef>),
    /// A JSON object with string keys.
    Map(Box<TypeRef>),
}

/// A type string that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeRefError(pub String);

impl fmt::Display for TypeRefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bad type `{}`: expected string, integer, boolean, json, list<T>, map<T> or a type name",
            self.0
        )
    }
}

impl std::error::Error for TypeRefError {}

impl TypeRef {
    /// Parses `list<map<Foo>>` and friends.
    pub fn parse(text: &str) -> Result<Self, TypeRefError> {
        let t = text.trim();
        let err = || TypeRefError(text.to_owned());
        let inner = |prefix: &str| {
            t.strip_prefix(prefix)
                .and_then(|rest| rest.strip_suffix('>'))
                .map(TypeRef::parse)
        };
        Ok(match t {
            "string" => TypeRef::String,
            "integer" => TypeRef::Integer,
            "boolean" => TypeRef::Boolean,
            "json" => TypeRef::Json,
            _ if t.starts_with("list<") => {
                TypeRef::List(Box::new(inner("list<").ok_or_else(err)??))
            }
            _ if t.starts_with("map<") => TypeRef::Map(Box::new(inner("map<").ok_or_else(err)??)),
            _ if !t.is_empty()
                && t.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && t.chars().all(|c| c.is_ascii_alphanumeric()) =>
            {
                TypeRef::Named(t.to_owned())
            }
            _ => return Err(err()),
        })
    }

    /// The innermost named type, if any.
    pub fn named(&self) -> Option<&str> {
        match self {
            TypeRef::Named(n) => Some(n),
            TypeRef::List(t) | TypeRef::Map(t) => t.named(),
            _ => None,
        }
    }
}

impl fmt::Display for TypeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeRef::String => f.write_str("string"),
            TypeRef::Integer => f.write_str("integer"),
            TypeRef::Boolean => f.write_str("boolean"),
            TypeRef::Json => f.write_str("json"),
            TypeRef::Named(n) => f.write_str(n),
            TypeRef::List(t) => write!(f, "list<{t}>"),
            TypeRef::Map(t) => write!(f, "map<{t}>"),
        }
    }
}

/// Specs write types as text (`list<string>`); they are parsed once, when the spec loads, so a
/// bad type is an error with its line and column.
impl<'de> serde::Deserialize<'de> for TypeRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        TypeRef::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for TypeRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl schemars::JsonSchema for TypeRef {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "TypeRef".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "`string`, `integer`, `boolean`, `json`, a named object or enum, `list<T>` or `map<T>` (string keys)."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_types() {
        assert_eq!(
            TypeRef::parse("list<map<SubCategory>>").unwrap(),
            TypeRef::List(Box::new(TypeRef::Map(Box::new(TypeRef::Named(
                "SubCategory".into()
            )))))
        );
        assert_eq!(TypeRef::parse("integer").unwrap(), TypeRef::Integer);
        assert!(TypeRef::parse("list<string").is_err());
        assert!(TypeRef::parse("int").is_err());
    }
}
