//! Settable properties ("resources") as generic code sees them: a description generated from
//! each vendor's `[[resources]]` declarations, and values as plain data.
//!
//! Each vendor crate's `resources` module has the typed values (`ServerDomains`, …) with
//! `read`/`write`, the [`ResourceDescriptor`]s, and functions that read, write and validate
//! a resource by name with a [`ResourceValue`]; the release-day job (`miniapp-fleet`) walks
//! the descriptors and knows no vendor.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::Vendor;

/// Whose property a resource is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// One authorized app (written with the app's token).
    App,
    /// The third-party platform itself (written with the platform's token).
    Platform,
}

/// The value type of one part of a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldKind {
    /// A set of strings (domains): order and duplicates do not matter.
    StringSet,
    /// One string (a version).
    String,
}

/// One part of a resource's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldDescriptor {
    /// Name in the value.
    pub name: &'static str,
    /// Its type.
    pub kind: FieldKind,
    /// What it holds.
    pub description: &'static str,
}

/// A declared resource: what generic code needs to plan and apply it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceDescriptor {
    /// The vendor.
    pub vendor: Vendor,
    /// Name in desired-state files and reports (`server_domains`).
    pub name: &'static str,
    /// Whose property it is.
    pub scope: Scope,
    /// What it is.
    pub description: &'static str,
    /// The parts of its value.
    pub fields: &'static [FieldDescriptor],
    /// The endpoint that reads it.
    pub read_endpoint: &'static str,
    /// The endpoint that replaces it.
    pub write_endpoint: &'static str,
    /// Whether each write spends a vendor modification quota (never repeated blindly).
    pub counted: bool,
    /// The vendor code answered when the quota is spent, where documented.
    pub quota_code: Option<i64>,
    /// The resource (same vendor) whose hosts every item must be registered in first.
    pub requires: Option<&'static str>,
}

impl ResourceDescriptor {
    /// The field named `name`.
    pub fn field(&self, name: &str) -> Option<&'static FieldDescriptor> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// One part of a value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FieldValue {
    /// A set of strings.
    Set(BTreeSet<String>),
    /// One string.
    Text(String),
}

impl FieldValue {
    /// The strings, as a sorted list (a text is one item).
    pub fn items(&self) -> Vec<String> {
        match self {
            FieldValue::Set(s) => s.iter().cloned().collect(),
            FieldValue::Text(t) => vec![t.clone()],
        }
    }
}

/// A resource's value: its fields by name. Missing set fields mean "empty".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ResourceValue(pub BTreeMap<String, FieldValue>);

impl ResourceValue {
    /// The set field `name` (empty when absent or not a set).
    pub fn set(&self, name: &str) -> BTreeSet<String> {
        match self.0.get(name) {
            Some(FieldValue::Set(s)) => s.clone(),
            _ => BTreeSet::new(),
        }
    }

    /// The text field `name` (empty when absent).
    pub fn text(&self, name: &str) -> String {
        match self.0.get(name) {
            Some(FieldValue::Text(t)) => t.clone(),
            Some(FieldValue::Set(s)) => s.iter().next().cloned().unwrap_or_default(),
            None => String::new(),
        }
    }

    /// Whether the two values are the same for `descriptor`'s fields (absent sets are
    /// empty).
    pub fn same_as(&self, other: &ResourceValue, descriptor: &ResourceDescriptor) -> bool {
        descriptor.fields.iter().all(|f| match f.kind {
            FieldKind::StringSet => self.set(f.name) == other.set(f.name),
            FieldKind::String => self.text(f.name) == other.text(f.name),
        })
    }

    /// `self` with `desired`'s fields laid over it: fields `desired` leaves out keep their
    /// current value (a desired-state file may manage only some of the lists).
    pub fn overlaid(&self, desired: &ResourceValue) -> ResourceValue {
        let mut out = self.clone();
        for (k, v) in &desired.0 {
            out.0.insert(k.clone(), v.clone());
        }
        out
    }
}

/// The error of a resource name (or scope) a vendor does not declare.
pub fn unknown(name: &str) -> crate::InvalidRequest {
    crate::InvalidRequest {
        endpoint: "resource",
        field: "name",
        rule: "a resource this vendor declares, called through the handle of its scope".into(),
        given: format!("{name:?}"),
    }
}
