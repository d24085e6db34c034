//! Shipping code to authorized apps: Kuaishou documents no third-party endpoint that uploads,
//! audits or releases an authorized app's code (see `specs/kuaishou/CODE_MANAGEMENT.md` for
//! what was searched), so there is no adapter and a fleet job refuses Kuaishou apps, sending
//! nothing.

use std::sync::Arc;

use core_http::shipping::ShipCode;
use core_http::token::TokenManager;

use crate::Client;

/// Why Kuaishou apps cannot be shipped code through the SDK.
pub const UNSUPPORTED: &str = "Kuaishou documents no third-party endpoint to upload, audit or release an authorized mini-program's code (specs/kuaishou/CODE_MANAGEMENT.md): ship it from Kuaishou's own console or developer tools";

/// Always [`UNSUPPORTED`].
pub fn shipper(
    _client: Client,
    _tokens: Arc<TokenManager>,
) -> Result<Arc<dyn ShipCode>, &'static str> {
    Err(UNSUPPORTED)
}

/// Kuaishou documents no code audit, so it pushes no audit result: always `None`.
#[cfg(feature = "axum")]
pub fn audit_pushes(
    _tokens: Arc<TokenManager>,
    _settings: &core_http::push::PushSettings,
    _on_audit: core_http::shipping::OnAudit,
) -> Result<Option<(axum::Router, &'static str)>, core_http::Error> {
    Ok(None)
}
