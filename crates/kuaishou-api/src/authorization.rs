//! Completing an authorization: the authorization code exchanged and saved in one call.
//! (Kuaishou's documents describe no authorization page link.)
//!
//! ```no_run
//! # async fn demo(client: kuaishou_api::Client, tokens: kuaishou_api::tokens::TokenManager) -> Result<(), kuaishou_api::Error> {
//! let app_id = kuaishou_api::authorization::complete(&client, &tokens, "APP_ID", "AUTHORIZATION_CODE").await?;
//! let app = client.authorizer(tokens.authorizer_token(&app_id));
//! # Ok(()) }
//! ```

/// Exchanges an app's authorization code and saves its tokens: generated from
/// `[tokens.exchange]` of the vendor's `vendor.toml` ([`crate::tokens::complete_authorization`]).
pub use crate::tokens::complete_authorization as complete;
