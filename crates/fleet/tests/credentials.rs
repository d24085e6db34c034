//! The credentials file: a table per vendor the SDK knows, `env:` secrets, and refusals that
//! say what is wrong without quoting a secret.

use miniapp_fleet::credentials::{Credentials, StoreSpec};
use miniapp_fleet::Vendor;

fn load(text: &str) -> Result<Credentials, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("credentials.toml");
    std::fs::write(&path, text).unwrap();
    Credentials::load(&path).map_err(|e| e.to_string())
}

#[test]
fn a_table_per_vendor_with_secrets_from_the_environment() {
    std::env::set_var("MINIAPP_TEST_WECHAT_SECRET", "s3cr3t-from-env");
    let c = load(
        "store = \"memory\"\n\
         [wechat]\napp_id = \"wx1\"\nsecret = \"env:MINIAPP_TEST_WECHAT_SECRET\"\n\
         [baidu]\napp_id = \"bd1\"\nticket = \"t-inline\"\n",
    )
    .unwrap();
    assert_eq!(c.store, StoreSpec::Memory);
    assert_eq!(
        c.platforms.keys().copied().collect::<Vec<_>>(),
        [Vendor::Baidu, Vendor::Wechat]
    );
    let wechat = &c.platforms[&Vendor::Wechat];
    assert_eq!(wechat.app_id, "wx1");
    assert_eq!(
        wechat.secret.as_ref().map(|s| s.expose()),
        Some("s3cr3t-from-env")
    );
    assert!(c.platforms[&Vendor::Baidu].secret.is_none());
    // Debug never shows a secret.
    assert!(!format!("{c:?}").contains("s3cr3t"));
}

#[test]
fn unknown_tables_and_keys_are_refused_without_quoting_the_file() {
    for text in [
        "[alipay]\napp_id = \"x\"\nsecret = \"hunter2\"\n",
        "stroe = \"memory\"\n[wechat]\napp_id = \"x\"\nsecret = \"hunter2\"\n",
        "[wechat]\napp_id = \"x\"\nsecrte = \"hunter2\"\n",
    ] {
        let err = load(text).unwrap_err();
        assert!(
            err.contains("not a valid credentials file (expected store, [baidu], [kuaishou], [wechat] with app_id, secret, ticket, push_token, encoding_aes_key)"),
            "{err}"
        );
        assert!(!err.contains("hunter2"), "{err}");
    }
    // Push settings come in pairs, and are never shown.
    let err = load("[wechat]\napp_id = \"x\"\npush_token = \"tok3n\"\n").unwrap_err();
    assert!(
        err.contains("[wechat] give both push_token and encoding_aes_key"),
        "{err}"
    );
    assert!(!err.contains("tok3n"), "{err}");
    let both =
        load("[wechat]\napp_id = \"x\"\npush_token = \"tok3n\"\nencoding_aes_key = \"k3y\"\n")
            .unwrap();
    assert!(both.platforms[&Vendor::Wechat].push.is_some());
    let shown = format!("{both:?}");
    assert!(
        !shown.contains("tok3n") && !shown.contains("k3y"),
        "{shown}"
    );
    let err =
        load("[wechat]\napp_id = \"x\"\nsecret = \"env:MINIAPP_TEST_UNSET_VAR\"\n").unwrap_err();
    assert!(
        err.ends_with("[wechat] secret: environment variable MINIAPP_TEST_UNSET_VAR is not set"),
        "{err}"
    );
}
