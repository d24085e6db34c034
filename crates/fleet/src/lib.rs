//! The release-day job: bring declared settings (the specs' `[[resources]]`) of thousands of
//! authorized mini-programs on WeChat, Baidu and Kuaishou to a desired value, in the manner of
//! `terraform plan` / `apply`.
//!
//! - [`desired`]: the desired-state file, checked with the write endpoints' own validators;
//! - [`inventory`]: the apps (JSON lines or CSV), read one at a time;
//! - [`credentials`]: the platforms' credentials and the token store;
//! - [`mod@plan`]: read every managed value, compute the change, write the plan;
//! - [`budget`]: one rate per vendor for the workers of a job, found together;
//! - [`journal`]: every row's state, written before a write is sent (SQLite or PostgreSQL);
//! - [`mod@apply`]: run the plan with bounded concurrency and a per-vendor rate limit, resumable;
//! - [`report`]: one record per app and resource, counts, and the apps to authorize again;
//! - [`release`]: shipping a template version to every app as a journaled job (release file,
//!   one resumable pass at a time);
//! - [`operate`]: the operator's actions on a release's apps (withdraw, roll back, speed up,
//!   retry), never taken by the job on its own;
//! - [`ship`]: one app's way from template to release (upload, code check, audit, release) as a
//!   resumable state machine over a vendor crate's shipping adapter.
//!
//! The engine knows no vendor and no setting: it walks the resource descriptors the generator
//! emits; [`vendors`] reaches the vendor crates through the one table the generator writes
//! from `specs/*/vendor.toml` (`generated/vendor_crates.rs`), and each crate's
//! `tokens::platform`, which has the same signature in all of them.

pub mod apply;
pub mod budget;
pub mod credentials;
pub mod desired;
#[rustfmt::skip] // formatted by the generator (prettyplease)
mod generated;
pub mod inventory;
pub mod journal;
pub mod operate;
pub mod plan;
pub mod release;
pub mod report;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod ship;
pub mod vendors;

pub use apply::{apply, load_plan, ApplyOptions};
/// The token stores and what a job reports of them (rotated tokens saved late or not yet).
pub use core_http::token;
/// The error of every call the engine makes (the vendor crates' own).
pub use core_http::Error;
pub use desired::DesiredState;
pub use journal::Journal;
pub use plan::plan;
pub use vendors::{Vendor, VendorClient};
