//! `miniapp-sandbox [--addr 127.0.0.1:PORT] [--enforce-tokens] [--token-lifetime-ms N]
//! [--token-delay-ms N] [--fault-rate F] [--fault-seed N] [--apps N] [--stateful]
//! [--latency-ms N] [--jitter-ms N] [--rate R] [--quota N] [--check-ms N] [--audit-ms N]
//! [--rejected-share F] [--audit-quota N] [--push-audits URL] [--lost-pushes F]
//! [--push-copies N]`: serves every spec endpoint until Ctrl-C.
//!
//! `--apps N` seeds N authorized apps per vendor (their ids and refresh tokens are printed
//! after the base URL, one `vendor app_id refresh_token` line each) and serves every declared
//! resource from per-app state (`--stateful` does that without seeding); `--latency-ms`,
//! `--jitter-ms`, `--rate` (requests per second per vendor) and `--quota` (counted writes per
//! app and resource) shape the answers. The apps' code lifecycle (specs' `[shipping]`) takes
//! `--check-ms` for the code check, `--audit-ms` per audit, rejects `--rejected-share` (0.0 to
//! 1.0) of the audits and allows `--audit-quota` submissions per vendor. `--push-audits URL`
//! pushes each audit result when it is decided, as the vendors do, to what `miniapp release
//! run --watch --listen` serves at URL (`URL/wechat/events/$APPID$`, `URL/baidu/events`),
//! encrypted for the sandbox credentials' platforms; `--lost-pushes F` never sends that share,
//! `--push-copies N` sends each N times.
//!
//! `--fault-rate F` (0.0 to 1.0) answers that share of requests with a random fault (the
//! default choice of `SandboxOptions::random_faults`), chosen by a generator seeded with
//! `--fault-seed N` (default 0).

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use miniapp_sandbox::{Sandbox, SandboxOptions};

const USAGE: &str = "usage: miniapp-sandbox [--addr 127.0.0.1:PORT] [--enforce-tokens] \
[--token-lifetime-ms N] [--token-delay-ms N] [--fault-rate F] [--fault-seed N] [--apps N] \
[--stateful] [--latency-ms N] [--jitter-ms N] [--rate R] [--quota N] [--check-ms N] \
[--audit-ms N] [--rejected-share F] [--audit-quota N] [--push-audits URL] [--lost-pushes F] \
[--push-copies N]";

/// The command line: where to listen and how to treat tokens.
struct Args {
    addr: SocketAddr,
    options: SandboxOptions,
}

/// `Err("")` asks for the usage text.
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        options: SandboxOptions::default(),
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag.to_owned(), Some(value.into())),
            _ => (arg, None),
        };
        let mut value = |flag: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        let millis = |flag: &str, v: String| -> Result<Duration, String> {
            v.parse::<u64>()
                .map(Duration::from_millis)
                .map_err(|e| format!("bad {flag} `{v}`: {e}"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Err(String::new()),
            "--addr" => {
                let v = value("--addr")?;
                parsed.addr = v.parse().map_err(|e| format!("bad --addr `{v}`: {e}"))?;
            }
            "--enforce-tokens" if inline.is_none() => parsed.options.enforce_tokens = true,
            "--token-lifetime-ms" => {
                parsed.options.token_lifetime = millis(&flag, value(&flag)?)?;
            }
            "--token-delay-ms" => parsed.options.token_delay = millis(&flag, value(&flag)?)?,
            "--fault-rate" => {
                let v = value(&flag)?;
                parsed.options.fault_rate = match v.parse::<f64>() {
                    Ok(rate) if (0.0..=1.0).contains(&rate) => rate,
                    Ok(_) => return Err(format!("bad {flag} `{v}`: not within 0.0..=1.0")),
                    Err(e) => return Err(format!("bad {flag} `{v}`: {e}")),
                };
            }
            "--fault-seed" => {
                let v = value(&flag)?;
                parsed.options.fault_seed =
                    v.parse().map_err(|e| format!("bad {flag} `{v}`: {e}"))?;
            }
            "--apps" => parsed.options.apps = number(&flag, value(&flag)?)?,
            "--stateful" if inline.is_none() => parsed.options.stateful = true,
            "--latency-ms" => parsed.options.latency = millis(&flag, value(&flag)?)?,
            "--jitter-ms" => parsed.options.latency_jitter = millis(&flag, value(&flag)?)?,
            "--rate" => parsed.options.rate_limit = Some(number(&flag, value(&flag)?)?),
            "--quota" => parsed.options.quota = Some(number(&flag, value(&flag)?)?),
            "--check-ms" => parsed.options.code.check_time = millis(&flag, value(&flag)?)?,
            "--audit-ms" => parsed.options.code.audit_time = millis(&flag, value(&flag)?)?,
            "--audit-quota" => {
                parsed.options.code.audit_quota = Some(number(&flag, value(&flag)?)?)
            }
            "--rejected-share" => {
                let v = value(&flag)?;
                parsed.options.code.rejected_share = match v.parse::<f64>() {
                    Ok(f) if (0.0..=1.0).contains(&f) => f,
                    Ok(_) => return Err(format!("bad {flag} `{v}`: not within 0.0..=1.0")),
                    Err(e) => return Err(format!("bad {flag} `{v}`: {e}")),
                };
            }
            "--push-audits" => {
                let base = value(&flag)?;
                let base = base.trim_end_matches('/');
                parsed.options.code.audit_pushes = [
                    (core_http::Vendor::Wechat, "/wechat/events/$APPID$"),
                    (core_http::Vendor::Baidu, "/baidu/events"),
                ]
                .into_iter()
                .map(|(vendor, path)| miniapp_sandbox::AuditPushTarget {
                    vendor,
                    url: format!("{base}{path}"),
                    secrets: miniapp_sandbox::PushSecrets::sandbox_platform(vendor),
                })
                .collect();
            }
            "--lost-pushes" => {
                let v = value(&flag)?;
                parsed.options.code.lost_push_share = match v.parse::<f64>() {
                    Ok(f) if (0.0..=1.0).contains(&f) => f,
                    Ok(_) => return Err(format!("bad {flag} `{v}`: not within 0.0..=1.0")),
                    Err(e) => return Err(format!("bad {flag} `{v}`: {e}")),
                };
            }
            "--push-copies" => parsed.options.code.push_copies = number(&flag, value(&flag)?)?,
            _ => return Err(format!("unknown argument `{flag}`")),
        }
    }
    Ok(parsed)
}

/// A whole number flag value.
fn number<T: std::str::FromStr>(flag: &str, v: String) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    v.parse().map_err(|e| format!("bad {flag} `{v}`: {e}"))
}

#[tokio::main]
async fn main() -> ExitCode {
    let Args { addr, options } = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("miniapp-sandbox: {msg}");
            }
            eprintln!("{USAGE}");
            return if msg.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    let sandbox = match Sandbox::start_on_with(addr, options).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("miniapp-sandbox: cannot bind {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", sandbox.base_url());
    for &vendor in core_http::Vendor::ALL {
        for app in sandbox.fleet_apps(vendor) {
            println!("{} {} {}", vendor.as_str(), app.app_id, app.refresh_token);
        }
    }
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("miniapp-sandbox: cannot wait for Ctrl-C: {e}");
        return ExitCode::FAILURE;
    }
    let total = sandbox.requests().len();
    for &vendor in core_http::Vendor::ALL {
        let (approved, rejected, released) = sandbox.code_outcomes(vendor);
        if approved + rejected + released == 0 {
            continue;
        }
        let (submitted_twice, released_twice) = sandbox.code_repeats(vendor);
        eprintln!(
            "miniapp-sandbox: {vendor}: {approved} approved, {rejected} rejected, {released} released; submitted twice for one upload: {submitted_twice}, released twice: {released_twice}"
        );
    }
    eprintln!("miniapp-sandbox: stopping after {total} request(s)");
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        parse_args(args.iter().map(|a| a.to_string()))
    }

    #[test]
    fn flags_parse() {
        let a = parse(&[]).unwrap();
        assert!(!a.options.enforce_tokens);
        assert_eq!(a.options.token_lifetime, Duration::from_secs(7200));
        assert_eq!(a.addr.ip(), Ipv4Addr::LOCALHOST);

        let a = parse(&[
            "--addr",
            "127.0.0.1:4000",
            "--enforce-tokens",
            "--token-lifetime-ms",
            "300",
            "--token-delay-ms=50",
        ])
        .unwrap();
        assert_eq!(a.addr.port(), 4000);
        assert!(a.options.enforce_tokens);
        assert_eq!(a.options.token_lifetime, Duration::from_millis(300));
        assert_eq!(a.options.token_delay, Duration::from_millis(50));
        assert_eq!(parse(&["--addr=127.0.0.1:5"]).unwrap().addr.port(), 5);

        assert_eq!(parse(&["--help"]).err().as_deref(), Some(""));
        assert!(parse(&["--token-lifetime-ms"]).is_err());
        assert!(parse(&["--token-lifetime-ms", "x"]).is_err());
        assert!(parse(&["--enforce-tokens=1"]).is_err());
        assert!(parse(&["--bogus"]).is_err());
    }

    #[test]
    fn fault_flags_parse() {
        let a = parse(&[]).unwrap();
        assert_eq!(a.options.fault_rate, 0.0);
        assert_eq!(a.options.fault_seed, 0);
        let a = parse(&["--fault-rate", "0.25", "--fault-seed=17"]).unwrap();
        assert_eq!(a.options.fault_rate, 0.25);
        assert_eq!(a.options.fault_seed, 17);
        assert_eq!(parse(&["--fault-rate=1"]).unwrap().options.fault_rate, 1.0);
        assert!(parse(&["--fault-rate", "1.5"]).is_err());
        assert!(parse(&["--fault-rate", "-0.1"]).is_err());
        assert!(parse(&["--fault-rate", "NaN"]).is_err());
        assert!(parse(&["--fault-rate"]).is_err());
        assert!(parse(&["--fault-seed", "-1"]).is_err());
        assert!(parse(&["--fault-seed", "x"]).is_err());
    }
}
