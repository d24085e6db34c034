//! The spec files, embedded at compile time.

use std::path::Path;
use std::sync::OnceLock;

use miniapp_spec::SpecFile;

/// Every spec file below `specs/`, as `(path relative to specs/, text)`: the crate's own copies
/// in `crates/sandbox/specs/`, listed by `cargo xtask codegen`. Unit tests check that this list
/// matches the workspace's `specs/*/*.toml` files, text included.
pub(crate) use crate::generated::embedded::EMBEDDED;

/// Every vendor's `vendor.toml`, embedded the same way.
pub(crate) use crate::generated::embedded::VENDOR_FILES;

/// What the sandbox makes up for `vendor` (`[sandbox]` of its `vendor.toml`).
pub(crate) fn shapes(vendor: miniapp_spec::Vendor) -> &'static miniapp_spec::SandboxShapes {
    static FILES: OnceLock<Vec<miniapp_spec::VendorFile>> = OnceLock::new();
    let files = FILES.get_or_init(|| {
        VENDOR_FILES
            .iter()
            .map(|(path, text)| {
                let path = Path::new("specs").join(path);
                miniapp_spec::parse_vendor(&path, text)
                    .unwrap_or_else(|e| panic!("embedded vendor.toml does not parse: {e}"))
            })
            .collect()
    });
    &files
        .iter()
        .find(|f| f.vendor == vendor)
        .unwrap_or_else(|| {
            panic!("no specs/{vendor}/vendor.toml is embedded: run `cargo xtask codegen`")
        })
        .sandbox
}

/// The parsed specs, parsed once.
pub(crate) fn parsed() -> &'static [SpecFile] {
    static SPECS: OnceLock<Vec<SpecFile>> = OnceLock::new();
    SPECS.get_or_init(|| {
        EMBEDDED
            .iter()
            .map(|(path, text)| {
                let path = Path::new("specs").join(path);
                miniapp_spec::parse(&path, text)
                    .unwrap_or_else(|e| panic!("embedded spec does not parse: {e}"))
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::PathBuf;

    use super::*;

    fn specs_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../specs")
    }

    #[test]
    fn every_spec_on_disk_is_embedded() {
        let mut on_disk = BTreeSet::new();
        for vendor in std::fs::read_dir(specs_dir()).unwrap() {
            let vendor = vendor.unwrap().path();
            if !vendor.is_dir() {
                continue;
            }
            for file in std::fs::read_dir(&vendor).unwrap() {
                let file = file.unwrap().path();
                // vendor.toml is embedded on its own (`VENDOR_FILES`), checked below.
                if file.extension().is_some_and(|e| e == "toml")
                    && !miniapp_spec::is_vendor_file(&file)
                {
                    let rel = file.strip_prefix(specs_dir()).unwrap();
                    on_disk.insert(rel.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        let embedded: BTreeSet<String> = EMBEDDED.iter().map(|(p, _)| p.to_string()).collect();
        assert_eq!(
            on_disk, embedded,
            "the embedded list is stale: run `cargo xtask codegen`"
        );
        for (path, text) in VENDOR_FILES {
            let on_disk = std::fs::read_to_string(specs_dir().join(path)).unwrap();
            assert_eq!(&on_disk, text, "{path} is stale: run `cargo xtask codegen`");
        }
        let vendors = miniapp_spec::load_vendors(&specs_dir()).unwrap();
        assert_eq!(vendors.len(), VENDOR_FILES.len());
    }

    #[test]
    fn embedded_text_matches_disk() {
        for (path, text) in EMBEDDED {
            let on_disk = std::fs::read_to_string(specs_dir().join(path)).unwrap();
            assert_eq!(&on_disk, text, "{path}");
        }
    }

    #[test]
    fn every_embedded_spec_parses() {
        assert_eq!(parsed().len(), EMBEDDED.len());
    }

    #[test]
    fn no_two_endpoints_share_method_and_path() {
        let mut seen = BTreeSet::new();
        for spec in parsed() {
            for ep in &spec.endpoints {
                let key = format!("{:?} {}", ep.method, ep.path);
                assert!(seen.insert(key.clone()), "two endpoints answer {key}");
            }
        }
    }
}
