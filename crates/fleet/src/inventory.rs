//! The apps to manage: JSON lines (`{"vendor": "wechat", "app_id": "…", "refresh_token": "…"}`,
//! the refresh token optional) or CSV with the same columns, read one record at a time.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use core_http::Secret;
use serde::Deserialize;

use crate::vendors::Vendor;

/// One app of the inventory.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct InventoryApp {
    /// Its vendor.
    pub vendor: Vendor,
    /// Its app id.
    pub app_id: String,
    /// Its refresh token, imported into the token store when the store has no authorization
    /// for the app.
    #[serde(default, deserialize_with = "secret")]
    pub refresh_token: Option<Secret>,
    /// Every other column (CSV: as text) or member (JSON lines: as sent), for a release's
    /// `ext_json` placeholders (`"{shop_name}"`).
    #[serde(flatten)]
    pub columns: std::collections::BTreeMap<String, serde_json::Value>,
}

fn secret<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    let text: Option<String> = Option::deserialize(d)?;
    Ok(text.filter(|t| !t.is_empty()).map(Secret::from))
}

impl std::fmt::Debug for InventoryApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InventoryApp")
            .field("vendor", &self.vendor)
            .field("app_id", &self.app_id)
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "***"))
            .field("columns", &self.columns.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// An inventory line that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{}:{line}: {message}", path.display())]
pub struct InventoryError {
    /// The file.
    pub path: PathBuf,
    /// The line (1-based; 0 when the file cannot be read).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Reads `path` (CSV when it ends in `.csv`, JSON lines otherwise), calling `each` per app.
pub fn read(
    path: &Path,
    mut each: impl FnMut(InventoryApp) -> Result<(), InventoryError>,
) -> Result<usize, InventoryError> {
    let err = |line: usize, message: String| InventoryError {
        path: path.to_owned(),
        line,
        message,
    };
    let file =
        std::fs::File::open(path).map_err(|e| err(0, format!("cannot read the inventory: {e}")))?;
    let mut count = 0;
    if path.extension().is_some_and(|e| e == "csv") {
        for app in iter(path)? {
            each(app?)?;
            count += 1;
        }
        return Ok(count);
    }
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| err(i + 1, e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let app: InventoryApp =
            serde_json::from_str(&line).map_err(|e| err(i + 1, e.to_string()))?;
        check(&app).map_err(|m| err(i + 1, m))?;
        each(app)?;
        count += 1;
    }
    Ok(count)
}

fn check(app: &InventoryApp) -> Result<(), String> {
    if app.app_id.trim().is_empty() {
        return Err("`app_id` is empty".into());
    }
    Ok(())
}

/// The apps of `path` (CSV when it ends in `.csv`, JSON lines otherwise), one at a time, with
/// their line numbers checked as they come.
pub fn iter(
    path: &Path,
) -> Result<Box<dyn Iterator<Item = Result<InventoryApp, InventoryError>> + Send>, InventoryError> {
    let owned = path.to_owned();
    let err = move |line: usize, message: String| InventoryError {
        path: owned.clone(),
        line,
        message,
    };
    let file =
        std::fs::File::open(path).map_err(|e| err(0, format!("cannot read the inventory: {e}")))?;
    if path.extension().is_some_and(|e| e == "csv") {
        let mut reader = csv::Reader::from_reader(file);
        let headers = reader.headers().map_err(|e| err(1, e.to_string()))?.clone();
        return Ok(Box::new(reader.into_records().enumerate().map(
            move |(i, record)| {
                let record = record.map_err(|e| err(i + 2, e.to_string()))?;
                let mut app: InventoryApp = record
                    .deserialize(Some(&headers))
                    .map_err(|e| err(i + 2, e.to_string()))?;
                // A CSV cell is text: "00123" stays "00123".
                for (name, cell) in headers.iter().zip(record.iter()) {
                    if let Some(value) = app.columns.get_mut(name) {
                        *value = serde_json::Value::from(cell);
                    }
                }
                check(&app).map_err(|m| err(i + 2, m))?;
                Ok(app)
            },
        )));
    }
    Ok(Box::new(
        BufReader::new(file)
            .lines()
            .enumerate()
            .filter(|(_, line)| !matches!(line, Ok(l) if l.trim().is_empty()))
            .map(move |(i, line)| {
                let line = line.map_err(|e| err(i + 1, e.to_string()))?;
                let app: InventoryApp =
                    serde_json::from_str(&line).map_err(|e| err(i + 1, e.to_string()))?;
                check(&app).map_err(|m| err(i + 1, m))?;
                Ok(app)
            }),
    ))
}

/// Writes, as a JSON-lines inventory at `path`, the apps whose authorization each backend's
/// token store holds (no refresh tokens: they are in the store already); how many.
pub async fn write_from_store(
    backends: &crate::vendors::Backends,
    path: &Path,
) -> Result<usize, core_http::Error> {
    use std::io::Write;
    let io = |e: std::io::Error| core_http::Error::Credentials {
        endpoint: "inventory",
        message: format!("cannot write {}: {e}", path.display()),
    };
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
    let mut count = 0;
    for (vendor, backend) in backends {
        for app in backend.authorized_apps().await? {
            let line = serde_json::json!({ "vendor": vendor.as_str(), "app_id": app });
            writeln!(out, "{line}").map_err(io)?;
            count += 1;
        }
    }
    out.flush().map_err(io)?;
    Ok(count)
}
