//! Shipping code to authorized apps: Baidu's package endpoints are specified and typed
//! ([`crate::package`], [`crate::template`]), but the shipping adapter over them (packages
//! found by listing, no audit id) is not written yet, so a fleet job refuses Baidu apps for
//! now, sending nothing.

use std::sync::Arc;

use core_http::shipping::ShipCode;
use core_http::token::TokenManager;

use crate::Client;

/// Why Baidu apps cannot be shipped code through a fleet job yet.
pub const UNSUPPORTED: &str = "shipping code to Baidu apps through a fleet job is not available yet (the package endpoints are typed in baidu_smartapp_api::package; the job's adapter is the next step)";

/// Always [`UNSUPPORTED`] for now.
pub fn shipper(
    _client: Client,
    _tokens: Arc<TokenManager>,
) -> Result<Arc<dyn ShipCode>, &'static str> {
    Err(UNSUPPORTED)
}
