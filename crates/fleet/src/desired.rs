//! The desired state: a TOML file of `[[set]]` entries, each a vendor, a declared resource
//! (by its spec name), the value of some or all of its fields, and optionally the apps it is
//! for (later entries override earlier ones for those apps).
//!
//! ```toml
//! [[set]]
//! vendor = "wechat"
//! resource = "platform_server_domains"
//! value = { wxa_server_domain = ["example.com"] }
//!
//! [[set]]
//! vendor = "wechat"
//! resource = "server_domains"
//! value = { requestdomain = ["https://api.example.com"] }
//!
//! [[set]]                       # an override for two apps
//! vendor = "wechat"
//! resource = "server_domains"
//! apps = ["wx_fleet_00001", "wx_fleet_00002"]
//! value = { requestdomain = ["https://beta.example.com"] }
//! ```
//!
//! Every value is checked with the write endpoint's own generated validators (schemes, bare
//! hosts, counts) when the file is read; errors name the file and line.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use core_http::resource::{FieldKind, FieldValue, ResourceDescriptor, ResourceValue, Scope};
use serde::Deserialize;

use crate::vendors::{self, Backends, Vendor};

/// A desired-state file that cannot be used, with where.
#[derive(Debug, thiserror::Error)]
#[error("{}:{line}: {message}", path.display())]
pub struct DesiredError {
    /// The file.
    pub path: PathBuf,
    /// The line (1-based; 0 when unknown).
    pub line: usize,
    /// What is wrong and what to do.
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    set: Vec<toml::Spanned<Entry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    vendor: toml::Spanned<String>,
    resource: toml::Spanned<String>,
    #[serde(default)]
    apps: Option<Vec<String>>,
    value: toml::Spanned<toml::Table>,
}

/// The file's shape, for its JSON Schema ([`json_schema`]); the parser reads [`File`].
#[derive(schemars::JsonSchema)]
#[schemars(title = "miniapp desired state")]
#[allow(dead_code)]
struct DesiredFile {
    /// The settings, in order; an entry with `apps` overrides the ones without for those apps.
    set: Vec<SetEntry>,
}

/// One `[[set]]` entry.
#[derive(schemars::JsonSchema)]
#[allow(dead_code)]
struct SetEntry {
    /// The vendor.
    vendor: Vendor,
    /// The resource, by its spec name.
    resource: String,
    /// Only these apps (default: every app of the vendor); not for platform resources.
    apps: Option<Vec<String>>,
    /// The fields to set, by name: a list of strings (domains) or a string (a version).
    /// Fields left out keep their current value.
    value: BTreeMap<String, FieldValueSchema>,
}

#[derive(schemars::JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum FieldValueSchema {
    Set(Vec<String>),
    Text(String),
}

/// The JSON Schema of desired-state files (editors pick it up through a `#:schema` line),
/// with the resource names the three vendor crates declare; pretty-printed, trailing newline.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(DesiredFile);
    let mut value = serde_json::to_value(&schema).expect("the schema serializes");
    let names: std::collections::BTreeSet<&str> = Vendor::ALL
        .iter()
        .flat_map(|&v| vendors::resources(v).iter().map(|d| d.name))
        .collect();
    if let Some(resource) = value.pointer_mut("/$defs/SetEntry/properties/resource") {
        resource["enum"] = serde_json::Value::from(names.into_iter().collect::<Vec<_>>());
    }
    let mut text = serde_json::to_string_pretty(&value).expect("the schema serializes");
    text.push('\n');
    text
}

/// One resource's desired value, for all apps or some.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The vendor.
    pub vendor: Vendor,
    /// The resource's descriptor.
    pub resource: &'static ResourceDescriptor,
    /// The fields it sets (others keep their current value).
    pub value: ResourceValue,
    /// Only these apps (`None`: every app of the vendor; platform resources: the platform).
    pub apps: Option<BTreeSet<String>>,
}

/// The parsed, validated desired state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DesiredState {
    /// The settings, in file order.
    pub settings: Vec<Setting>,
}

impl DesiredState {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<DesiredState, DesiredError> {
        let text = std::fs::read_to_string(path).map_err(|e| DesiredError {
            path: path.to_owned(),
            line: 0,
            message: format!("cannot read the desired-state file: {e}"),
        })?;
        Self::parse(path, &text)
    }

    /// Parses and validates `text` (`path` names it in errors) against the three vendor
    /// crates' resources.
    pub fn parse(path: &Path, text: &str) -> Result<DesiredState, DesiredError> {
        Self::parse_in(path, text, &vendors::resources, &vendors::validate)
    }

    /// Reads and validates `path` against the resources `backends` declare (a backend of
    /// your own: the resources it declares, checked by its validators).
    pub fn load_with(path: &Path, backends: &Backends) -> Result<DesiredState, DesiredError> {
        let text = std::fs::read_to_string(path).map_err(|e| DesiredError {
            path: path.to_owned(),
            line: 0,
            message: format!("cannot read the desired-state file: {e}"),
        })?;
        let resources = |v: Vendor| backends.get(&v).map_or(&[][..], |b| b.resources());
        let validate = |v: Vendor, name: &str, value: &ResourceValue| match backends.get(&v) {
            Some(b) => b.validate(name, value),
            None => Err(core_http::resource::unknown(name)),
        };
        Self::parse_in(path, &text, &resources, &validate)
    }

    fn parse_in(
        path: &Path,
        text: &str,
        resources: &dyn Fn(Vendor) -> &'static [ResourceDescriptor],
        validate: &dyn Fn(Vendor, &str, &ResourceValue) -> Result<(), core_http::InvalidRequest>,
    ) -> Result<DesiredState, DesiredError> {
        let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
        let err = |offset: usize, message: String| DesiredError {
            path: path.to_owned(),
            line: line_of(offset),
            message,
        };
        let file: File = toml::from_str(text).map_err(|e| {
            err(
                e.span().map_or(0, |s| s.start),
                e.message().trim().to_owned(),
            )
        })?;
        let mut settings = Vec::new();
        for entry in file.set {
            let entry = entry.into_inner();
            let vendor: Vendor = entry
                .vendor
                .get_ref()
                .parse()
                .map_err(|m| err(entry.vendor.span().start, m))?;
            let name = entry.resource.get_ref();
            let resource = resources(vendor)
                .iter()
                .find(|d| d.name == *name)
                .ok_or_else(|| {
                    let known: Vec<&str> = resources(vendor).iter().map(|d| d.name).collect();
                    err(
                        entry.resource.span().start,
                        format!(
                            "{} declares no resource `{name}`; it declares {}",
                            vendor.as_str(),
                            known.join(", ")
                        ),
                    )
                })?;
            let at = entry.value.span().start;
            let mut value = ResourceValue::default();
            for (field, v) in entry.value.get_ref() {
                let Some(f) = resource.field(field) else {
                    let known: Vec<&str> = resource.fields.iter().map(|f| f.name).collect();
                    return Err(err(
                        at,
                        format!(
                            "`{name}` has no field `{field}`; its fields are {}",
                            known.join(", ")
                        ),
                    ));
                };
                let fv = match (f.kind, v) {
                    (FieldKind::StringSet, toml::Value::Array(items)) => {
                        let mut set = BTreeSet::new();
                        for item in items {
                            match item.as_str() {
                                Some(s) => set.insert(s.to_owned()),
                                None => {
                                    return Err(err(
                                        at,
                                        format!("`{field}` holds strings, not {item}"),
                                    ))
                                }
                            };
                        }
                        FieldValue::Set(set)
                    }
                    (FieldKind::String, toml::Value::String(s)) => FieldValue::Text(s.clone()),
                    (FieldKind::StringSet, _) => {
                        return Err(err(at, format!("`{field}` is a list of strings")))
                    }
                    (FieldKind::String, _) => {
                        return Err(err(at, format!("`{field}` is a string")))
                    }
                };
                value.0.insert(field.clone(), fv);
            }
            // The write endpoint's own rules, on the value as it will be sent (unset fields
            // count as empty here; the plan lays the value over the current one).
            validate(vendor, name, &value).map_err(|e| err(at, format!("{name}: {e}")))?;
            if resource.scope == Scope::Platform && entry.apps.is_some() {
                return Err(err(
                    at,
                    format!("`{name}` is a platform resource: `apps` does not apply"),
                ));
            }
            settings.push(Setting {
                vendor,
                resource,
                value,
                apps: entry.apps.map(|a| a.into_iter().collect()),
            });
        }
        Ok(DesiredState { settings })
    }

    /// The desired value of every resource of `vendor` for `app`: the settings for all apps,
    /// then the ones naming `app`, later fields over earlier ones.
    pub fn for_app(&self, vendor: Vendor, app: &str) -> BTreeMap<&'static str, ResourceValue> {
        let mut out: BTreeMap<&'static str, ResourceValue> = BTreeMap::new();
        for pass_for_some in [false, true] {
            for s in &self.settings {
                if s.vendor != vendor || s.resource.scope != Scope::App {
                    continue;
                }
                let applies = match &s.apps {
                    None => !pass_for_some,
                    Some(apps) => pass_for_some && apps.contains(app),
                };
                if applies {
                    let entry = out.entry(s.resource.name).or_default();
                    *entry = entry.overlaid(&s.value);
                }
            }
        }
        out
    }

    /// The desired platform resources of `vendor`.
    pub fn for_platform(&self, vendor: Vendor) -> BTreeMap<&'static str, ResourceValue> {
        let mut out: BTreeMap<&'static str, ResourceValue> = BTreeMap::new();
        for s in self
            .settings
            .iter()
            .filter(|s| s.vendor == vendor && s.resource.scope == Scope::Platform)
        {
            let entry = out.entry(s.resource.name).or_default();
            *entry = entry.overlaid(&s.value);
        }
        out
    }

    /// The vendors the file sets anything for.
    pub fn vendors(&self) -> BTreeSet<Vendor> {
        self.settings.iter().map(|s| s.vendor).collect()
    }
}
