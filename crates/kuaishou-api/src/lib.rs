//! Typed client for the Kuaishou third-party platform APIs on authorized mini-programs.
//!
//! ```no_run
//! # async fn demo() -> Result<(), kuaishou_api::Error> {
//! use kuaishou_api::{Client, basic_info::*};
//!
//! let client = Client::new("COMPONENT_APP_ID"); // one pool for every authorized app
//! let app = client.authorizer("AUTHORIZER_ACCESS_TOKEN");
//! let info = app.get_app_info(&GetAppInfoRequest::new()).await?;
//! println!("{:?}", info.app_name);
//! # Ok(()) }
//! ```
//!
//! This crate is the only dependency you need: it re-exports the runtime's types ([`Error`],
//! [`Secret`], [`RetryPolicy`], [`Transport`], …) and, in [`tokens`], the token store, policies
//! and grants. Features: `rustls` (default), `native-tls`, `redis` (`tokens::RedisStore`).
//!
//! Generated items carry the vendor document's description; a fact the transcription could not
//! confirm in the vendor's own documents or SDK is marked *Unverified* where it appears. In the
//! document notes, **\[v\]** marks a fact verified in the vendor's documents or SDK, **\[m\]** one
//! seen only in a mirror, a community post or third-party code, and **\[?\]** one the sources
//! leave open.

#[rustfmt::skip] // formatted by the generator (prettyplease)
mod generated;
pub mod push;
pub mod shipping;

// The client, its handles and the runtime types a user needs are generated
// (`generated/client.rs`, `generated/mod.rs`), so that this crate is the only dependency.
pub use generated::*;
