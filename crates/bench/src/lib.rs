//! Benchmarks of the SDK against hand-written HTTP code.
//!
//! - [`server`]: a minimal hyper server on loopback that answers the benchmarked paths from
//!   memory, on its own thread, so its CPU time can be measured apart from the client's.
//! - [`baseline`]: the same calls written by hand with `reqwest` + `serde`, sending
//!   byte-identical requests (checked by `tests/wire.rs`).
//! - [`fixtures`]: the requests both sides send.
//! - [`alloc`]: a counting global allocator (installed by the `load` binary).
//! - [`cpu`]: per-thread CPU time from `/proc`.
//! - [`callgrind`]: client-only instruction counts (the server in another process).
//!
//! `cargo xtask bench` runs the load binary; `cargo bench -p miniapp-bench` the criterion
//! micro benchmarks. Results and how to read them: `BENCHMARKS.md`.

pub mod alloc;
pub mod baseline;
pub mod callgrind;
pub mod cpu;
pub mod fixtures;
pub mod server;
