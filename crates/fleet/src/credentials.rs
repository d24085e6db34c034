//! The platform credentials file (TOML): per vendor the platform's app id, its secret (or
//! `env:NAME` to read it from the environment) and optionally the current ticket, and the
//! token store: left out, an embedded SQLite file next to the job's files (`miniapp` puts it
//! beside the plan), `sqlite:PATH`, `redis://…` (several hosts), or `memory` (one process
//! only: tests and the library).
//!
//! ```toml
//! # store = "redis://127.0.0.1:6379"
//!
//! [wechat]
//! app_id = "wx_component_appid"
//! secret = "env:WECHAT_COMPONENT_SECRET"
//! # To receive pushes (`miniapp release run --watch --listen`): the platform's 消息校验Token
//! # and EncodingAESKey.
//! push_token = "env:WECHAT_PUSH_TOKEN"
//! encoding_aes_key = "env:WECHAT_ENCODING_AES_KEY"
//!
//! [baidu]
//! app_id = "tp_client_id"
//!
//! [kuaishou]
//! app_id = "ks_component_app_id"
//! secret = "env:KUAISHOU_COMPONENT_SECRET"
//! ```
//!
//! Nothing of it is ever written to a log, a plan, the journal or the report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use core_http::Secret;
use serde::Deserialize;

use crate::vendors::{ClientOptions, PlatformCredentials, Vendor};

/// A credentials file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct CredentialsError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong (never a secret).
    pub message: String,
}

/// `store`, and one table per vendor named by its lowercase name (`[wechat]`); any other key
/// is refused, since it must be a vendor's name.
#[derive(Deserialize)]
struct File {
    #[serde(default)]
    store: Option<String>,
    #[serde(flatten)]
    platforms: BTreeMap<Vendor, Platform>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Platform {
    app_id: String,
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    ticket: Option<String>,
    #[serde(default)]
    push_token: Option<String>,
    #[serde(default)]
    encoding_aes_key: Option<String>,
}

/// Where tokens are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreSpec {
    /// In this process only: what it refreshes is gone when it ends (a later command finds
    /// no token, and a single-use refresh token it rotated is lost). Tests and demos.
    Memory,
    /// An SQLite file shared by the processes of this host: the default. `None` until the
    /// command that runs the job places it ([`Credentials::place_store`]).
    Sqlite(Option<PathBuf>),
    /// A Redis server shared by every process (the URL is not a secret here; put a password
    /// in the environment of the Redis client instead).
    Redis(String),
}

/// The parsed credentials.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The token store.
    pub store: StoreSpec,
    /// The platform of each vendor given.
    pub platforms: BTreeMap<Vendor, PlatformCredentials>,
}

impl Credentials {
    /// Gives the default SQLite store (no `store` in the file) its file, `path`; any other
    /// store is kept.
    pub fn place_store(&mut self, path: &Path) {
        if self.store == StoreSpec::Sqlite(None) {
            self.store = StoreSpec::Sqlite(Some(path.to_owned()));
        }
    }

    /// Reads `path`, resolving `env:NAME` secrets.
    pub fn load(path: &Path) -> Result<Credentials, CredentialsError> {
        let err = |message: String| CredentialsError {
            path: path.to_owned(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
        // toml's messages quote the offending line, which could hold a secret: keep the
        // position only.
        let file: File = toml::from_str(&text).map_err(|e| {
            let line = e
                .span()
                .map_or(0, |s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            let tables: Vec<String> = Vendor::ALL.iter().map(|v| format!("[{v}]")).collect();
            err(format!(
                "line {line}: not a valid credentials file (expected store, {} with app_id, secret, ticket, push_token, encoding_aes_key)",
                tables.join(", ")
            ))
        })?;
        let store = match file.store.as_deref() {
            None => StoreSpec::Sqlite(None),
            Some("memory") => StoreSpec::Memory,
            Some(url) if url.starts_with("sqlite:") => {
                let file = url.trim_start_matches("sqlite:").trim_start_matches("//");
                if file.is_empty() {
                    return Err(err("`store = \"sqlite:PATH\"` needs a path".into()));
                }
                StoreSpec::Sqlite(Some(PathBuf::from(file)))
            }
            Some(url) if url.starts_with("redis://") || url.starts_with("rediss://") => {
                StoreSpec::Redis(url.to_owned())
            }
            Some(_) => {
                return Err(err(
                    "`store` must be `sqlite:PATH`, a redis:// URL or `memory` (left out: an SQLite file next to the plan)".into(),
                ))
            }
        };
        let resolve = |vendor: Vendor,
                       what: &str,
                       v: Option<String>|
         -> Result<Option<Secret>, CredentialsError> {
            match v {
                None => Ok(None),
                Some(v) => match v.strip_prefix("env:") {
                    Some(name) => {
                        std::env::var(name)
                            .map(|s| Some(Secret::from(s)))
                            .map_err(|_| {
                                err(format!(
                                    "[{vendor}] {what}: environment variable {name} is not set"
                                ))
                            })
                    }
                    None => Ok(Some(Secret::from(v))),
                },
            }
        };
        let mut platforms = BTreeMap::new();
        for (vendor, p) in file.platforms {
            let push = match (
                resolve(vendor, "push_token", p.push_token)?,
                resolve(vendor, "encoding_aes_key", p.encoding_aes_key)?,
            ) {
                (Some(token), Some(encoding_aes_key)) => Some(core_http::push::PushSettings {
                    token,
                    encoding_aes_key,
                }),
                (None, None) => None,
                _ => {
                    return Err(err(format!(
                        "[{vendor}] give both push_token and encoding_aes_key (the platform's 消息校验Token and EncodingAESKey), or neither"
                    )))
                }
            };
            platforms.insert(
                vendor,
                PlatformCredentials {
                    app_id: p.app_id,
                    secret: resolve(vendor, "secret", p.secret)?,
                    ticket: resolve(vendor, "ticket", p.ticket)?,
                    push,
                },
            );
        }
        Ok(Credentials { store, platforms })
    }
}

/// The token store `spec` names.
pub async fn open_store(
    spec: &StoreSpec,
) -> Result<std::sync::Arc<dyn core_http::token::TokenStore>, core_http::Error> {
    Ok(match spec {
        StoreSpec::Memory => std::sync::Arc::new(core_http::token::MemoryStore::new()),
        StoreSpec::Sqlite(Some(path)) => {
            std::sync::Arc::new(core_http::token::SqliteStore::open(path).await?)
        }
        StoreSpec::Sqlite(None) => {
            return Err(core_http::Error::Credentials {
                endpoint: "token store",
                message: "the SQLite token store has no file: give `store = \"sqlite:PATH\"`"
                    .into(),
            })
        }
        StoreSpec::Redis(url) => {
            std::sync::Arc::new(core_http::token::RedisStore::connect(url).await?)
        }
    })
}

/// A client per configured vendor, sharing one token store; `base_url` points every vendor at
/// one origin (a sandbox, a test server). Each vendor's calls find its rate
/// ([`ClientOptions::default`]).
pub async fn clients(
    credentials: &Credentials,
    base_url: Option<&str>,
) -> Result<crate::vendors::Backends, core_http::Error> {
    clients_with(credentials, base_url, &ClientOptions::default()).await
}

/// [`clients`] with `options` (a rate ceiling, a retry policy).
pub async fn clients_with(
    credentials: &Credentials,
    base_url: Option<&str>,
    options: &ClientOptions,
) -> Result<crate::vendors::Backends, core_http::Error> {
    let store = open_store(&credentials.store).await?;
    // Rotated tokens a killed process could not save (see `token::set_rescue_file`).
    let rescued = core_http::token::import_rescued(&store).await?;
    if rescued > 0 {
        tracing::info!(rescued, "imported rotated tokens from the rescue file");
    }
    let mut out = std::collections::BTreeMap::new();
    for (vendor, platform) in &credentials.platforms {
        let client = crate::vendors::VendorClient::with_options(
            *vendor,
            base_url,
            platform,
            store.clone(),
            options,
        )
        .await?;
        out.insert(
            *vendor,
            std::sync::Arc::new(client) as std::sync::Arc<dyn crate::vendors::Backend>,
        );
    }
    Ok(out)
}
