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
