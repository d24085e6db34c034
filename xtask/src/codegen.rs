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
    let mut stale = Vec::new();
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
