//! Compile-time behaviour of `#[derive(Endpoint)]`: what compiles, and the messages of what
//! does not.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass_*.rs");
    t.compile_fail("tests/ui/fail_*.rs");
}
