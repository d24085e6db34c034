//! Project automation, run as `cargo xtask <command>`:
//!
//! - `cargo xtask codegen`: regenerate the vendor crates' `src/generated/` modules and
//!   `specs/spec.schema.json` from `specs/`.
//! - `cargo xtask codegen --check`: fail when the checked-in output is stale.
//! - `cargo xtask tour [--base-url URL]`: run the SDK tour (against the built-in sandbox, or a
//!   server that serves all three vendors' paths on one origin).
//! - `cargo xtask bench [--quick] [--rounds N] [..]`: the load benchmark, SDK against
//!   hand-written `reqwest` code on a loopback server (see `BENCHMARKS.md`).
//! - `cargo xtask bench --callgrind [..]`: the client's own instructions per call, SDK beside
//!   hand-written, the server in another process (needs `valgrind`).
//! - `cargo xtask bench --fleet [..]`: the release-day job against a sandbox fleet (fan-out
//!   against the physical minimum, peak memory, resume cost).

mod codegen;
mod manifests;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_owned()
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("codegen") => {
            let check = match &args[1..] {
                [] => false,
                [flag] if flag == "--check" => true,
                other => {
                    bail!("unexpected arguments {other:?}; usage: cargo xtask codegen [--check]")
                }
            };
            codegen::run(&project_root(), check)
        }
        Some("tour") => {
            // The tour is its own binary so that `cargo xtask codegen` never needs the
            // generated crates to compile.
            let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .current_dir(project_root())
                .args(["run", "--quiet", "--package", "miniapp-tour", "--"])
                .args(&args[1..])
                .status()
                .context("running the tour")?;
            if !status.success() {
                bail!("the tour failed ({status})");
            }
            Ok(())
        }
        Some("bench") => {
            // Its own binary in release mode, like the tour: xtask never depends on the
            // vendor crates. `--fleet` runs the release-day job's benchmark instead.
            let fleet = args[1..].iter().any(|a| a == "--fleet");
            let rest: Vec<&String> = args[1..].iter().filter(|a| *a != "--fleet").collect();
            let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .current_dir(project_root())
                .args([
                    "run",
                    "--release",
                    "--package",
                    "miniapp-bench",
                    "--bin",
                    if fleet { "fleet" } else { "load" },
                    "--",
                ])
                .args(rest)
                .status()
                .context("running the benchmark")?;
            if !status.success() {
                bail!("the benchmark failed ({status})");
            }
            Ok(())
        }
        _ => {
            eprintln!(
                "usage:\n  cargo xtask codegen [--check]\n  cargo xtask tour [--base-url URL]\n  cargo xtask bench [--quick] [--rounds N] [--help]\n  cargo xtask bench --callgrind [--only SCENARIO] [--small N] [--large N]\n  cargo xtask bench --fleet [--apps N] [--latency-ms MS] [--rate R (0: none)] [--concurrency N] [--journal sqlite|postgres] [--workers N] [--help]"
            );
            bail!("unknown command {:?}", args.first());
        }
    }
}
