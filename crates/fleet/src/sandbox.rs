//! Running the job against the built-in sandbox (feature `sandbox`): the credentials it
//! accepts, and the inventory of its seeded apps. Used by `miniapp demo`, the tests and the
//! benchmark.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use miniapp_sandbox::Sandbox;

use crate::credentials::{Credentials, StoreSpec};
use crate::vendors::{PlatformCredentials, Vendor};

/// Credentials the sandbox accepts (any non-empty secret and ticket), for `vendors`, with
/// tokens in `store`.
pub fn credentials(store: StoreSpec, vendors: &[Vendor]) -> Credentials {
    let platforms: BTreeMap<_, _> = vendors
        .iter()
        .map(|v| {
            let platform = PlatformCredentials {
                app_id: format!("{v}_sandbox_platform"),
                secret: Some("sandbox-secret".into()),
                ticket: Some("sandbox-ticket".into()),
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
