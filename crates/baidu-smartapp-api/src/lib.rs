//! Typed client for the Baidu Smart Program third-party platform APIs, on behalf of authorized
//! mini-programs.
//!
//! ```no_run
//! # async fn demo() -> Result<(), baidu_smartapp_api::Error> {
//! use baidu_smartapp_api::{Client, basic_info::*};
//!
//! let client = Client::new(); // one pool for every authorized app
//! let app = client.authorizer("45.AUTHORIZER_ACCESS_TOKEN"); // cheap per-app handle
//! let mut set = ModifyDomainRequest::new();
//! set.action = Some(DomainAction::Set);
//! set.request_domain = Some(vec!["https://api.example.com".into()]);
//! app.modify_domain(&set).await?;
//! let qr = app.get_qr_code(&GetQrCodeRequest { width: Some(430), ..Default::default() }).await?;
//! println!("{} bytes of {}", qr.bytes.len(), qr.content_type);
//! # Ok(()) }
//! ```
//!
//! Wire choice: POST parameters, the token included, travel as an
//! `application/x-www-form-urlencoded` body (as Baidu's own SDK sends them); GET parameters in
//! the query string. Push events: [`parse_event`].
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
