//! The workspace's manifests that name every vendor crate, kept in step with `specs/`: the
//! root `Cargo.toml` (a member, and a `[workspace.dependencies]` entry) and
//! `crates/fleet/Cargo.toml` (the fleet's generated table names every vendor crate). Edited
//! with `toml_edit`, so their comments and layout stay as they are.

use std::path::Path;

use anyhow::{Context, Result};
use miniapp_spec::VendorFile;
use toml_edit::{value, Array, DocumentMut, InlineTable, Item};

/// The manifest that depends on every vendor crate, besides the workspace's.
pub const FLEET_MANIFEST: &str = "crates/fleet/Cargo.toml";

/// Adds what `vendors` need to the manifests under `root` (or, with `check`, only says what
/// is missing) and returns one line per entry added or missing. A manifest that does not
/// exist is left alone (a scratch copy of the specs has none).
pub fn wire_vendors(root: &Path, vendors: &[VendorFile], check: bool) -> Result<Vec<String>> {
    let mut changes = Vec::new();
    edit(root, "Cargo.toml", check, &mut changes, |doc, changes| {
        let version = doc["workspace"]["package"]["version"]
            .as_str()
            .unwrap_or("0.1.0")
            .to_owned();
        for v in vendors {
            let package = package_of(v);
            let members = doc["workspace"]["members"]
                .as_array_mut()
                .context("Cargo.toml: `workspace.members` is not an array")?;
            if !members.iter().any(|m| m.as_str() == Some(&v.crate_dir)) {
                members.push(v.crate_dir.as_str());
                changes.push(format!("Cargo.toml: workspace member \"{}\"", v.crate_dir));
            }
            let deps = doc["workspace"]["dependencies"]
                .as_table_like_mut()
                .context("Cargo.toml: no `[workspace.dependencies]`")?;
            if !deps.contains_key(package) {
                let mut entry = InlineTable::new();
                entry.insert("path", v.crate_dir.as_str().into());
                entry.insert("version", version.as_str().into());
                deps.insert(package, value(entry));
                changes.push(format!("Cargo.toml: workspace dependency `{package}`"));
            }
        }
        Ok(())
    })?;
    edit(root, FLEET_MANIFEST, check, &mut changes, |doc, changes| {
        for v in vendors {
            let package = package_of(v);
            let deps = doc["dependencies"]
                .as_table_like_mut()
                .with_context(|| format!("{FLEET_MANIFEST}: no `[dependencies]`"))?;
            if !deps.contains_key(package) {
                let mut entry = InlineTable::new();
                entry.insert("workspace", true.into());
                entry.insert("features", Array::from_iter(["axum"]).into());
                deps.insert(package, value(entry));
                changes.push(format!("{FLEET_MANIFEST}: dependency `{package}`"));
            }
        }
        Ok(())
    })?;
    Ok(changes)
}

/// The package of a vendor's crate: the last part of its `crate_dir`.
fn package_of(v: &VendorFile) -> &str {
    v.crate_dir.rsplit('/').next().unwrap_or_default()
}

/// Reads `rel` under `root`, lets `change` add entries, and writes it back if any was added
/// (unless `check`).
fn edit(
    root: &Path,
    rel: &str,
    check: bool,
    changes: &mut Vec<String>,
    change: impl FnOnce(&mut DocumentMut, &mut Vec<String>) -> Result<()>,
) -> Result<()> {
    let path = root.join(rel);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(());
    };
    let mut doc: DocumentMut = text.parse().with_context(|| format!("reading {rel}"))?;
    let before = changes.len();
    change(&mut doc, changes)?;
    if changes.len() > before && !check {
        if let Some(Item::Table(_)) = doc.get("workspace") {
            // Keep a members array one per line, as it is written.
            if let Some(members) = doc["workspace"]["members"].as_array_mut() {
                for m in members.iter_mut() {
                    m.decor_mut().set_prefix("\n    ");
                }
                members.set_trailing("\n");
                members.set_trailing_comma(true);
            }
        }
        std::fs::write(&path, doc.to_string()).with_context(|| format!("writing {rel}"))?;
    }
    Ok(())
}
