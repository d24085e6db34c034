//! `miniapp-sandbox [--addr 127.0.0.1:PORT]`: serves every spec endpoint until Ctrl-C.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use miniapp_sandbox::Sandbox;

const USAGE: &str = "usage: miniapp-sandbox [--addr 127.0.0.1:PORT]";

fn parse_args() -> Result<SocketAddr, String> {
    let mut addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = match arg.as_str() {
            "--addr" => args.next().ok_or("--addr needs a value")?,
            _ => match arg.strip_prefix("--addr=") {
                Some(v) => v.to_owned(),
                None if arg == "-h" || arg == "--help" => return Err(String::new()),
                None => return Err(format!("unknown argument `{arg}`")),
            },
        };
        addr = value
            .parse()
            .map_err(|e| format!("bad --addr `{value}`: {e}"))?;
    }
    Ok(addr)
}

#[tokio::main]
async fn main() -> ExitCode {
    let addr = match parse_args() {
        Ok(addr) => addr,
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
    let sandbox = match Sandbox::start_on(addr).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("miniapp-sandbox: cannot bind {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", sandbox.base_url());
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("miniapp-sandbox: cannot wait for Ctrl-C: {e}");
        return ExitCode::FAILURE;
    }
    let total = sandbox.requests().len();
    eprintln!("miniapp-sandbox: stopping after {total} request(s)");
    ExitCode::SUCCESS
}
