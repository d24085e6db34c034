//! `cargo run --release -p miniapp-bench --bin sandbox_fleet [-- APPS]`: how long a sandbox
//! with APPS (default 10,000) seeded apps per vendor takes to start, and the heap its state
//! holds: after the start, and after one server-domain write per app on every vendor.

use std::time::Instant;

use miniapp_bench::alloc::{self, CountingAlloc};
use miniapp_sandbox::{FieldValue, ResourceValue, Sandbox, SandboxOptions};

#[global_allocator]
static A: CountingAlloc = CountingAlloc;

fn mib(bytes: i64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let apps: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("APPS is a number"))
        .unwrap_or(10_000);
    // The built-in specs are parsed once per process: parse them before measuring.
    let _ = miniapp_sandbox::specs();
    alloc::set_counting(true);
    let before = alloc::snapshot().live;
    let started = Instant::now();
    let sandbox = Sandbox::start_with(SandboxOptions {
        enforce_tokens: true,
        apps,
        ..Default::default()
    })
    .await
    .expect("the sandbox starts");
    let start = started.elapsed();
    let seeded = alloc::snapshot().live - before;

    let vendors = [
        (core_http::Vendor::Wechat, "requestdomain"),
        (core_http::Vendor::Baidu, "request_domain"),
        (core_http::Vendor::Kuaishou, "request"),
    ];
    for (vendor, field) in vendors {
        let ids: Vec<String> = sandbox
            .fleet_apps(vendor)
            .iter()
            .map(|a| a.app_id.clone())
            .collect();
        for id in ids {
            let value = ResourceValue(
                [(
                    field.to_owned(),
                    FieldValue::Set(["https://api.example.com".to_owned()].into()),
                )]
                .into_iter()
                .collect(),
            );
            assert!(sandbox.set_resource(vendor, &id, "server_domains", value));
        }
    }
    let written = alloc::snapshot().live - before;
    println!("apps per vendor        {apps}");
    println!("start                  {:.1} ms", start.as_secs_f64() * 1e3);
    println!(
        "heap after start       {:.2} MiB ({} bytes per app)",
        mib(seeded),
        seeded / (3 * apps.max(1)) as i64
    );
    println!(
        "heap after one write   {:.2} MiB ({} bytes per app)",
        mib(written),
        written / (3 * apps.max(1)) as i64
    );
}
