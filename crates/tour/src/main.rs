//! `cargo xtask tour [--base-url URL]`: call every endpoint of all three vendors, against the
//! built-in sandbox (started in-process) or a server that serves all three on one origin.

use anyhow::{bail, Context, Result};

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let base_url = match args.as_slice() {
        [] => None,
        [flag, url] if flag == "--base-url" => Some(url.clone()),
        [flag] if flag.starts_with("--base-url=") => Some(flag["--base-url=".len()..].to_owned()),
        _ => bail!("usage: cargo xtask tour [--base-url http://127.0.0.1:PORT]"),
    };
    let sandbox;
    // The loop needs the sandbox's pushes: only when the tour started it.
    let sandbox_started = base_url.is_none();
    let base_url = match base_url {
        Some(url) => url,
        None => {
            sandbox = miniapp_sandbox::Sandbox::start()
                .await
                .context("starting the sandbox")?;
            println!("sandbox serving on {}", sandbox.base_url());
            sandbox.base_url()
        }
    };
    println!("touring every endpoint against {base_url}\n");
    let outcomes = miniapp_tour::run(&base_url, true).await;
    let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
    println!(
        "\n{} calls, {} ok, {failed} failed",
        outcomes.len(),
        outcomes.len() - failed
    );
    if failed > 0 {
        bail!("{failed} calls failed");
    }
    if sandbox_started {
        println!("\nthe loop: pushes -> token managers -> authorization -> the new app's calls\n");
        let steps = miniapp_tour::the_loop::run(true)
            .await
            .context("the loop against the sandbox")?;
        println!("\n{steps} steps, all ok");
    }
    Ok(())
}
