//! The generator's output for a fixture that uses every construct of the format, compared with
//! the checked-in snapshot; `UPDATE_SNAPSHOTS=1` rewrites it after a deliberate change. The
//! workspace's `tests/tests/generator_fixture.rs` compiles the snapshot and runs it on the wire.

use std::path::Path;

#[test]
fn fixture_snapshot() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let spec = miniapp_spec::load(&dir.join("mini.toml")).unwrap();
    let resources = miniapp_codegen::resources_module(&[&spec])
        .unwrap()
        .expect("the fixture has one");
    for (file, tokens) in [
        ("mini.rs", miniapp_codegen::module(&spec, "Baidu").unwrap()),
        ("mini_resources.rs", resources),
    ] {
        let got = miniapp_codegen::format_file(tokens).unwrap();
        let snapshot = dir.join(file);
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(&snapshot, &got).unwrap();
        }
        let want = std::fs::read_to_string(&snapshot).unwrap_or_default();
        assert!(
            got == want,
            "the fixture's generated {file} changed; review it and rerun with UPDATE_SNAPSHOTS=1:\n{got}"
        );
    }
}
