//! Running the job against the built-in sandbox (feature `sandbox`): the credentials it
//! accepts, and the inventory of its seeded apps. Used by `miniapp demo`, the tests and the
//! benchmark.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use miniapp_sandbox::Sandbox;

use crate::credentials::{Credentials, StoreSpec};
use crate::vendors::{PlatformCredentials, Vendor};

pub use miniapp_sandbox::{ENCODING_AES_KEY, PUSH_TOKEN};

/// The platform app id of `vendor` in [`credentials`].
pub fn platform_app_id(vendor: Vendor) -> String {
    push_secrets(vendor).app_id
}

/// What the sandbox encrypts its pushes to `vendor`'s platform of [`credentials`] with.
pub fn push_secrets(vendor: Vendor) -> miniapp_sandbox::PushSecrets {
    miniapp_sandbox::PushSecrets::sandbox_platform(vendor)
}

/// Credentials the sandbox accepts (any non-empty secret and ticket), for `vendors`, with
/// tokens in `store`, and the push settings its pushes are encrypted with ([`push_secrets`]).
pub fn credentials(store: StoreSpec, vendors: &[Vendor]) -> Credentials {
    let platforms: BTreeMap<_, _> = vendors
        .iter()
        .map(|v| {
            let platform = PlatformCredentials {
                app_id: platform_app_id(*v),
                secret: Some("sandbox-secret".into()),
                ticket: Some("sandbox-ticket".into()),
                push: Some(core_http::push::PushSettings {
                    token: PUSH_TOKEN.into(),
                    encoding_aes_key: ENCODING_AES_KEY.into(),
                }),
            };
            (*v, platform)
        })
        .collect();
    Credentials { store, platforms }
}

/// Writes the inventory (JSON lines, with refresh tokens) of `sandbox`'s seeded apps of
/// `vendors` to `path`.
pub fn write_inventory(sandbox: &Sandbox, vendors: &[Vendor], path: &Path) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for v in vendors {
        for app in sandbox.fleet_apps(*v) {
            let line = serde_json::json!({
                "vendor": v.as_str(),
                "app_id": app.app_id,
                "refresh_token": app.refresh_token,
            });
            writeln!(out, "{line}")?;
        }
    }
    out.flush()
}
