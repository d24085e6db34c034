//! Typed client for the WeChat Open Platform third-party platform (component) APIs.
//!
//! ```no_run
//! # async fn demo() -> Result<(), wechat_component_api::Error> {
//! use wechat_component_api::{Client, third_party_domain::*};
//!
//! let client = Client::new(); // https://api.weixin.qq.com; `with_base_url` for a proxy or the sandbox
//! let component = client.component("COMPONENT_ACCESS_TOKEN");
//! let mut set = ModifyWxaJumpDomainRequest::new(JumpDomainAction::Set);
//! set.wxa_jump_h5_domain = Some(vec!["www.qq.com".into(), "wx.qq.com".into()]);
//! let answer = component.modify_wxa_jump_domain(&set).await?;
//! println!("{:?}", answer.testing_wxa_jump_h5_domain);
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
