//! The documented limits of a value, as specs write them (`limits = { max_chars = 30 }`) and
//! as the derive reads them (`#[param(max_chars = 30)]`): one struct for the spec, the
//! generator, the derive and the sandbox. Each limit's check is a function of this crate
//! ([`crate::chars`], [`crate::range`], [`crate::format`], …).

use crate::Format;

// A new kind of limit is a field here (specs read it through serde, the derive by its name),
// its check in this crate, and its call in the generated validation (`miniapp-codegen`'s
// `endpoint.rs`) and in the sandbox's check (`crates/sandbox/src/check.rs`).

/// Documented limits of a value.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Limits {
    /// Minimum length in characters (not bytes).
    #[cfg_attr(feature = "serde", serde(default))]
    pub min_chars: Option<u32>,
    /// Maximum length in characters (not bytes).
    #[cfg_attr(feature = "serde", serde(default))]
    pub max_chars: Option<u32>,
    /// Minimum numeric value.
    #[cfg_attr(feature = "serde", serde(default))]
    pub min: Option<i64>,
    /// Maximum numeric value.
    #[cfg_attr(feature = "serde", serde(default))]
    pub max: Option<i64>,
    /// Maximum number of list items.
    #[cfg_attr(feature = "serde", serde(default))]
    pub max_items: Option<u32>,
    /// Format each (list item) value must have.
    #[cfg_attr(feature = "serde", serde(default))]
    pub format: Option<Format>,
    /// When present, the value holds something: a text with a character other than white
    /// space; a list with at least one item, each such a text (the documents' 必填 values that
    /// an empty one would waste, such as a quota-limited name change).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "std::ops::Not::not")
    )]
    pub non_empty: bool,
}

impl Limits {
    /// True when no limit is set.
    pub fn is_empty(&self) -> bool {
        *self == Limits::default()
    }
}
