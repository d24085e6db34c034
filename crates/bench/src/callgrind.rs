//! Client-only instruction counts: a program run under `valgrind --tool=callgrind` while the
//! server it calls runs in another process, so the counts hold the client's work alone.
//!
//! The load benchmark's `--callgrind` mode runs each scenario twice per side, at two sizes,
//! and divides the difference of the totals by the difference of the calls: start-up,
//! connection set-up and the runtime's own cost cancel, what is left is the cost of a call.

use std::path::Path;
use std::process::Command;

/// What went wrong running or reading callgrind.
#[derive(Debug)]
pub struct CallgrindError(pub String);

impl std::fmt::Display for CallgrindError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CallgrindError {}

/// Runs `program args` under callgrind, writing its profile to `out`, and returns the total
/// instructions executed (`Ir`) by every thread of the program.
pub fn instructions(program: &Path, args: &[String], out: &Path) -> Result<u64, CallgrindError> {
    let output = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(program)
        .args(args)
        .output()
        .map_err(|e| {
            CallgrindError(format!(
                "could not run valgrind ({e}); install it (`apt-get install valgrind`)"
            ))
        })?;
    if !output.status.success() {
        return Err(CallgrindError(format!(
            "{} {} under callgrind failed ({}): {}",
            program.display(),
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    let text = std::fs::read_to_string(out)
        .map_err(|e| CallgrindError(format!("reading {}: {e}", out.display())))?;
    total_instructions(&text).ok_or_else(|| {
        CallgrindError(format!(
            "{} has no `summary:` or `totals:` line",
            out.display()
        ))
    })
}

/// The total `Ir` of a callgrind profile (its `summary:` line, or `totals:` where a dump has
/// no summary). The first event is `Ir` unless `--collect` options changed the events.
pub fn total_instructions(profile: &str) -> Option<u64> {
    let mut totals = None;
    for line in profile.lines() {
        let value = |rest: &str| rest.split_whitespace().next()?.parse::<u64>().ok();
        if let Some(rest) = line.strip_prefix("summary:") {
            return value(rest);
        }
        if let Some(rest) = line.strip_prefix("totals:") {
            totals = value(rest);
        }
    }
    totals
}

/// Instructions per call from two runs of `small` and `large` calls: the difference of the
/// totals over the difference of the calls.
pub fn per_call(small: (u64, usize), large: (u64, usize)) -> f64 {
    (large.0 as f64 - small.0 as f64) / (large.1 as f64 - small.1 as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_summary_line_or_the_totals() {
        let profile = "version: 1\ncreator: callgrind-3.19.0\nevents: Ir\n\nfn=(1) main\n3 10\n\nsummary: 123456\ntotals: 99\n";
        assert_eq!(total_instructions(profile), Some(123_456));
        assert_eq!(total_instructions("events: Ir\ntotals: 42 7\n"), Some(42));
        assert_eq!(total_instructions("events: Ir\n"), None);
    }

    #[test]
    fn per_call_cancels_start_up() {
        // 1M of start-up, 80 instructions per call.
        let small = (1_000_000 + 80 * 1_000, 1_000);
        let large = (1_000_000 + 80 * 5_000, 5_000);
        assert_eq!(per_call(small, large), 80.0);
    }
}
