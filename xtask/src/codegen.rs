//! `cargo xtask codegen [--check]`: writes (or compares) every file `miniapp-codegen` generates
//! from `specs/`: one module per spec file in `crates/<vendor crate>/src/generated/`, each
//! vendor's `resources` module, the sandbox's copies of the specs and `specs/spec.schema.json`.

use std::path::Path;

use anyhow::{bail, Context, Result};

/// Writes (or, with `check`, compares) every generated file.
pub fn run(root: &Path, check: bool) -> Result<()> {
    let files = miniapp_codegen::generate(root)?;
    let rel = |path: &Path| {
        path.strip_prefix(root)
            .unwrap_or(path)
            .display()
            .to_string()
    };
    // A vendor folder whose crate does not exist yet: its first files, once.
    let vendors = miniapp_spec::load_vendors(&root.join("specs"))?;
    for vendor in &vendors {
        let crate_dir = root.join(&vendor.crate_dir);
        if crate_dir.join("Cargo.toml").exists() {
            continue;
        }
        if check {
            bail!(
                "{} (crate_dir of specs/{}/vendor.toml) does not exist: run `cargo xtask codegen`",
                vendor.crate_dir,
                vendor.vendor
            );
        }
        for (path, contents) in miniapp_codegen::scaffold(root, vendor) {
            if path.exists() {
                eprintln!("kept {} (it exists)", rel(&path));
                continue;
            }
            std::fs::create_dir_all(path.parent().expect("file has a parent"))?;
            std::fs::write(&path, contents).with_context(|| format!("writing {}", rel(&path)))?;
            eprintln!("created {}", rel(&path));
        }
        eprintln!(
            "new vendor `{}`: its crate, its generated modules and the workspace's manifests are \
             written; the sandbox sends its pushes as `[sandbox.pushes]` of its vendor.toml \
             says. Left by hand: its push receiver (src/push/ of the crate, over \
             core_http::crypto) and its arm in tests/tests/push_loop.rs; the compiler names it",
            vendor.vendor
        );
    }
    // Every vendor crate is a workspace member and a dependency of the fleet.
    let mut stale = Vec::new();
    for change in crate::manifests::wire_vendors(root, &vendors, check)? {
        if check {
            stale.push(format!("{change} (missing)"));
        } else {
            eprintln!("added {change}");
        }
    }
    for (path, contents) in &files {
        let current = std::fs::read_to_string(path).ok();
        if current.as_deref() == Some(contents.as_str()) {
            continue;
        }
        if check {
            stale.push(rel(path));
        } else {
            std::fs::create_dir_all(path.parent().expect("file has a parent"))?;
            std::fs::write(path, contents).with_context(|| format!("writing {}", rel(path)))?;
            eprintln!("updated {}", rel(path));
        }
    }
    // Generated files whose spec is gone.
    for dir in miniapp_codegen::generated_dirs(root)? {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if !files.contains_key(&path) {
                if check {
                    stale.push(format!("{} (no spec)", rel(&path)));
                } else {
                    std::fs::remove_file(&path)?;
                    eprintln!("removed {}", rel(&path));
                }
            }
        }
    }
    if !stale.is_empty() {
        bail!(
            "generated files are stale: {}\nrun `cargo xtask codegen` and commit the result",
            stale.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checked-in generated code matches the specs (the rust-analyzer habit).
    #[test]
    fn generated_code_is_fresh() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        run(root, true).unwrap();
    }

    /// A new vendor is a folder of specs with its `vendor.toml`: codegen writes its crate's
    /// first files and every generated module (client, handles, token managers, authorization
    /// link and code exchange, its variant of `core_http::Vendor`, its row in the fleet's
    /// table, the sandbox's copies), with no Rust written by hand, and is fresh right after.
    #[test]
    fn a_new_vendor_folder_becomes_a_crate() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let scratch =
            std::env::temp_dir().join(format!("miniapp-new-vendor-{}", std::process::id()));
        let specs = scratch.join("specs");
        for entry in std::fs::read_dir(root.join("specs")).unwrap().flatten() {
            let from = entry.path();
            let to = specs.join(entry.file_name());
            if from.is_dir() {
                std::fs::create_dir_all(&to).unwrap();
                for file in std::fs::read_dir(&from).unwrap().flatten() {
                    std::fs::copy(file.path(), to.join(file.file_name())).unwrap();
                }
            } else {
                std::fs::create_dir_all(&specs).unwrap();
                std::fs::copy(&from, &to).unwrap();
            }
        }
        // "acme": WeChat's token documents and envelope under another name.
        let acme = specs.join("acme");
        std::fs::create_dir_all(&acme).unwrap();
        let vendor = std::fs::read_to_string(root.join("specs/wechat/vendor.toml"))
            .unwrap()
            .replace("vendor = \"wechat\"", "vendor = \"acme\"")
            .replace("title = \"WeChat\"", "title = \"Acme\"")
            .replace("crates/wechat-component-api", "crates/acme-api")
            .replace("app_prefix = \"wx\"", "app_prefix = \"ac\"")
            // Only the token document is copied: no audit events to push.
            .lines()
            .filter(|l| !l.starts_with("audit_"))
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(acme.join("vendor.toml"), vendor).unwrap();
        let auth = std::fs::read_to_string(root.join("specs/wechat/component_auth.toml"))
            .unwrap()
            .replacen("vendor = \"wechat\"", "vendor = \"acme\"", 1);
        std::fs::write(acme.join("component_auth.toml"), auth).unwrap();

        // The manifests that name every vendor crate.
        for manifest in ["Cargo.toml", crate::manifests::FLEET_MANIFEST] {
            let to = scratch.join(manifest);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(root.join(manifest), to).unwrap();
        }

        run(&scratch, false).unwrap();
        let read = |rel: &str| std::fs::read_to_string(scratch.join(rel)).unwrap();
        let workspace = read("Cargo.toml");
        assert!(
            workspace.contains("    \"crates/acme-api\",\n]"),
            "a member, one per line: {workspace}"
        );
        assert!(
            workspace.contains("acme-api = { path = \"crates/acme-api\", version = \"0.1.0\" }"),
            "{workspace}"
        );
        assert!(
            workspace.contains("# Tools, tests and benchmarks"),
            "comments kept"
        );
        let fleet = read(crate::manifests::FLEET_MANIFEST);
        assert!(
            fleet.contains("acme-api = { workspace = true, features = [\"axum\"] }"),
            "{fleet}"
        );
        assert!(read("crates/acme-api/Cargo.toml").contains("name = \"acme-api\""));
        assert!(read("crates/acme-api/src/lib.rs").contains("pub use generated::*;"));
        let tokens = read("crates/acme-api/src/generated/tokens.rs");
        assert!(tokens.contains("core_http::Vendor::Acme"), "{tokens}");
        assert!(tokens.contains("pub fn manager("));
        assert!(read("crates/acme-api/src/generated/client.rs").contains("pub struct Client"));
        assert!(read("crates/acme-api/src/generated/mod.rs").contains("pub mod component_auth;"));
        let vendors = read("crates/core-http/src/generated/vendors.rs");
        assert!(vendors.contains("    Acme,"), "{vendors}");
        assert!(
            read("crates/miniapp-codegen/src/generated/known_vendors.rs")
                .contains("(\"acme\", \"Acme\", \"acme-api\")")
        );
        let embedded = read("crates/sandbox/src/generated/embedded.rs");
        assert!(
            embedded.contains("acme/component_auth.toml") && embedded.contains("acme/vendor.toml")
        );
        let authorization = read("crates/acme-api/src/generated/authorization.rs");
        assert!(
            authorization.contains("pub async fn link("),
            "{authorization}"
        );
        assert!(authorization.contains("pub async fn complete("));
        assert!(read("crates/acme-api/src/generated/tokens.rs").contains("pub fn platform("));
        assert!(read("crates/fleet/src/generated/vendor_crates.rs").contains("Acme => acme_api"));
        run(&scratch, true).unwrap();
        std::fs::remove_dir_all(&scratch).unwrap();
    }

    /// Generation is deterministic: twice the same bytes.
    #[test]
    fn generation_is_deterministic() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        assert_eq!(
            miniapp_codegen::generate(root).unwrap(),
            miniapp_codegen::generate(root).unwrap()
        );
    }
}
