//! Every checked-in spec loads; a malformed spec names file, line and field.

use std::path::{Path, PathBuf};

fn specs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../specs")
}

#[test]
fn every_checked_in_spec_loads() {
    let specs = miniapp_spec::load_dir(&specs_dir()).unwrap();
    assert!(!specs.is_empty());
}

#[test]
fn unknown_field_error_names_file_line_and_field() {
    let text = "vendor = \"wechat\"\nmodule = \"m\"\n[source]\ndocument = \"d\"\ntitle = \"t\"\n\n[[endpoints]]\nname = \"X\"\nfn_nam = \"x\"\n";
    let err = miniapp_spec::parse(Path::new("specs/wechat/bad.toml"), text)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("specs/wechat/bad.toml:9:"), "{err}");
    assert!(err.contains("fn_nam"), "{err}");
}

#[test]
fn wrong_value_type_names_line() {
    let text = "vendor = \"wechat\"\nmodule = \"m\"\n[source]\ndocument = \"d\"\ntitle = 5\n";
    let err = miniapp_spec::parse(Path::new("x.toml"), text).unwrap_err().to_string();
    assert!(err.starts_with("x.toml:5:"), "{err}");
}

#[test]
fn unknown_type_name_is_rejected_with_context() {
    let text = r#"vendor = "baidu"
module = "m"
[source]
document = "d"
title = "t"
[[objects]]
name = "A"
fields = [{ name = "b", type = "Missing" }]
"#;
    let err = miniapp_spec::parse(Path::new("x.toml"), text).unwrap_err().to_string();
    assert_eq!(err, "x.toml: objects.A.b: unknown type `Missing`");
}
