//! A fleet scenario: a sandbox with seeded apps, the inventory of them, a desired state,
//! clients and a SQLite journal in a temporary directory.

#![allow(dead_code)]

use std::path::PathBuf;

use miniapp_fleet::credentials::{self, StoreSpec};
use miniapp_fleet::plan::{PlanSummary, Quiet};
use miniapp_fleet::vendors::{Backends, Vendor};
use miniapp_fleet::{ApplyOptions, DesiredState, Journal};
use miniapp_sandbox::{Sandbox, SandboxOptions};

pub struct Scenario {
    pub sandbox: Sandbox,
    pub dir: tempfile::TempDir,
    pub inventory: PathBuf,
    pub clients: Backends,
}

impl Scenario {
    /// `apps` per vendor, with `options` (token mode and the seeded apps are set here).
    pub async fn start(apps: usize, options: SandboxOptions) -> Scenario {
        let sandbox = Sandbox::start_with(SandboxOptions {
            enforce_tokens: true,
            apps,
            ..options
        })
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let inventory = dir.path().join("inventory.jsonl");
        miniapp_fleet::sandbox::write_inventory(&sandbox, Vendor::ALL, &inventory).unwrap();
        let clients = credentials::clients(
            &miniapp_fleet::sandbox::credentials(StoreSpec::Memory, Vendor::ALL),
            Some(&sandbox.base_url()),
        )
        .await
        .unwrap();
        Scenario {
            sandbox,
            dir,
            inventory,
            clients,
        }
    }

    pub fn desired(&self, text: &str) -> DesiredState {
        let path = self.dir.path().join("desired.toml");
        std::fs::write(&path, text).unwrap();
        DesiredState::load(&path).unwrap()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub async fn plan(&self, desired: &DesiredState, name: &str) -> PlanSummary {
        miniapp_fleet::plan(
            desired,
            &self.inventory,
            &self.clients,
            Some(&self.sandbox.base_url()),
            &self.path(name),
            16,
            &Quiet,
        )
        .await
        .unwrap()
    }

    pub async fn journal(&self) -> Journal {
        Journal::open(&format!("sqlite:{}", self.path("journal.sqlite").display()))
            .await
            .unwrap()
    }

    /// Loads and applies plan `name`; the job id.
    pub async fn apply(&self, journal: &Journal, name: &str) -> String {
        let job = miniapp_fleet::load_plan(&self.path(name), journal)
            .await
            .unwrap();
        let options = ApplyOptions {
            concurrency: 8,
            ..Default::default()
        };
        miniapp_fleet::apply(&job, journal, &self.clients, &options, &Quiet)
            .await
            .unwrap();
        job
    }

    /// Writes attempted at the sandbox for `app` of `vendor`.
    pub fn writes(&self, vendor: Vendor, app: &str) -> usize {
        self.sandbox.counters(vendor, app).writes_attempted
    }
}
