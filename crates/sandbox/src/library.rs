//! Each vendor's template library, from the specs' `[library]`: seeded with
//! [`CodeOptions::templates`](crate::CodeOptions::templates) and
//! [`CodeOptions::drafts`](crate::CodeOptions::drafts); the list answers the templates, adding a
//! draft makes a template (the newest), deleting removes one; a missing template or draft, and a
//! full library, answer the spec's codes. An upload naming a template the library does not have
//! answers its `[shipping]` code for that (see [`Code`](crate::code::Code)). Nothing here names
//! a vendor.

use std::collections::HashMap;
use std::sync::Mutex;

use miniapp_spec::{Endpoint, ShippingCall, SpecFile, TemplateLibrary, Vendor};
use serde_json::Value;

use crate::check::Params;
use crate::fleet::Answer;

/// The most templates a library holds (WeChat's overview page says 200).
const FULL_AT: usize = 200;

/// When the seeded templates were added (seconds since the epoch), one minute apart.
const SEEDED_AT: i64 = 1_700_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    List,
    Drafts,
    Add,
    Delete,
}

#[derive(Debug, Clone)]
struct Entry {
    id: i64,
    version: String,
    description: String,
    created: i64,
}

#[derive(Debug, Default)]
struct Shelf {
    templates: Vec<Entry>,
    drafts: Vec<Entry>,
}

/// Every vendor's library.
#[derive(Debug)]
pub(crate) struct Library {
    roles: HashMap<(Vendor, String), (Role, &'static TemplateLibrary)>,
    libraries: HashMap<Vendor, &'static TemplateLibrary>,
    seeded: (Vec<i64>, Vec<i64>),
    shelves: Mutex<HashMap<Vendor, Shelf>>,
}

impl Library {
    pub(crate) fn new(specs: &'static [SpecFile], templates: &[i64], drafts: &[i64]) -> Library {
        let mut roles = HashMap::new();
        let mut libraries = HashMap::new();
        for spec in specs {
            let Some(l) = &spec.library else { continue };
            libraries.insert(spec.vendor, l);
            let calls = [
                (Role::List, Some(&l.list)),
                (Role::Drafts, l.drafts.as_ref()),
                (Role::Add, l.add.as_ref()),
                (Role::Delete, l.delete.as_ref()),
            ];
            for (role, call) in calls {
                if let Some(call) = call {
                    roles.insert((spec.vendor, call.endpoint.clone()), (role, l));
                }
            }
        }
        Library {
            roles,
            libraries,
            seeded: (templates.to_vec(), drafts.to_vec()),
            shelves: Mutex::default(),
        }
    }

    /// Runs `f` on `vendor`'s shelf, seeding it first.
    fn shelf<T>(&self, vendor: Vendor, f: impl FnOnce(&mut Shelf) -> T) -> T {
        let mut shelves = self.shelves.lock().unwrap_or_else(|e| e.into_inner());
        let shelf = shelves.entry(vendor).or_insert_with(|| {
            let entry = |id: i64, at: i64, kind: &str| Entry {
                id,
                version: format!("1.0.{id}"),
                description: format!("{kind} {id}"),
                created: at,
            };
            let (templates, drafts) = &self.seeded;
            Shelf {
                templates: templates
                    .iter()
                    .enumerate()
                    .map(|(i, id)| entry(*id, SEEDED_AT + 60 * i as i64, "template"))
                    .collect(),
                drafts: drafts
                    .iter()
                    .enumerate()
                    .map(|(i, id)| entry(*id, SEEDED_AT + 86_400 + 60 * i as i64, "draft"))
                    .collect(),
            }
        });
        f(shelf)
    }

    /// Adds a template to `vendor`'s library (the newest); its id.
    pub(crate) fn add(&self, vendor: Vendor) -> Option<i64> {
        if !self.libraries.contains_key(&vendor) {
            return None;
        }
        Some(self.shelf(vendor, |s| {
            let id = s.templates.iter().map(|t| t.id).max().unwrap_or(0) + 1;
            let created = s
                .templates
                .iter()
                .map(|t| t.created)
                .max()
                .unwrap_or(SEEDED_AT)
                + 60;
            s.templates.push(Entry {
                id,
                version: format!("1.0.{id}"),
                description: format!("template {id}"),
                created,
            });
            id
        }))
    }

    /// Deletes template `id` of `vendor`'s library; whether it was there.
    pub(crate) fn delete(&self, vendor: Vendor, id: i64) -> bool {
        self.shelf(vendor, |s| {
            let before = s.templates.len();
            s.templates.retain(|t| t.id != id);
            s.templates.len() < before
        })
    }

    /// Whether `vendor` has a library and it has no template `id` (an upload naming it is
    /// refused).
    pub(crate) fn lacks(&self, vendor: Vendor, id: &str) -> bool {
        if !self.libraries.contains_key(&vendor) {
            return false;
        }
        let id = id.trim().parse::<i64>().ok();
        !self.shelf(vendor, |s| s.templates.iter().any(|t| Some(t.id) == id))
    }

    /// Serves `ep` when it has a `[library]` role.
    pub(crate) fn serve(&self, vendor: Vendor, ep: &Endpoint, params: &Params) -> Option<Answer> {
        let (role, library) = *self.roles.get(&(vendor, ep.name.clone()))?;
        let param = |call: &ShippingCall, role: &str| {
            call.member(role)
                .and_then(|m| params.get(m))
                .map(|w| w.as_text().trim().to_owned())
        };
        let refuse = |codes: &[i64]| {
            Answer::Error(
                codes
                    .first()
                    .copied()
                    .or_else(|| ep.errors.iter().map(|e| e.code).find(|c| *c > 0))
                    .unwrap_or(-1),
            )
        };
        Some(match role {
            Role::List | Role::Drafts => {
                let call = if role == Role::List {
                    &library.list
                } else {
                    library.drafts.as_ref().expect("a drafts role has its call")
                };
                let id_role = if role == Role::List {
                    "template"
                } else {
                    "draft"
                };
                let entries = self.shelf(vendor, |s| {
                    if role == Role::List {
                        s.templates.clone()
                    } else {
                        s.drafts.clone()
                    }
                });
                let items: Vec<Value> = entries
                    .iter()
                    .map(|e| {
                        let mut item = serde_json::Map::new();
                        for (role, value) in [
                            (id_role, Value::from(e.id)),
                            ("version", Value::from(e.version.clone())),
                            ("description", Value::from(e.description.clone())),
                            ("created", Value::from(e.created)),
                        ] {
                            if let Some(member) = call.member(role) {
                                item.insert(member.to_owned(), value);
                            }
                        }
                        Value::Object(item)
                    })
                    .collect();
                let count = Value::from(items.len());
                // A paged list answers its page (the page's default size, 10, when not asked).
                let items = match param(call, "page").and_then(|p| p.parse::<usize>().ok()) {
                    Some(page) if call.member("page").is_some() => {
                        let size = param(call, "page_size")
                            .and_then(|s| s.parse::<usize>().ok())
                            .unwrap_or(10)
                            .max(1);
                        items
                            .into_iter()
                            .skip(page.saturating_sub(1) * size)
                            .take(size)
                            .collect()
                    }
                    _ => items,
                };
                crate::code::body(
                    vendor,
                    ep,
                    params,
                    &[
                        (call.member("items"), Value::Array(items)),
                        (call.member("count"), count),
                    ],
                )
            }
            Role::Add => {
                let call = library.add.as_ref().expect("an add role has its call");
                let draft = param(call, "draft").and_then(|d| d.parse::<i64>().ok());
                let added = self.shelf(vendor, |s| {
                    let draft = s.drafts.iter().find(|d| Some(d.id) == draft)?.clone();
                    if s.templates.len() >= FULL_AT {
                        return Some(false);
                    }
                    let id = s.templates.iter().map(|t| t.id).max().unwrap_or(0) + 1;
                    let created = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs() as i64);
                    s.templates.push(Entry {
                        id,
                        created: created.max(draft.created + 1),
                        ..draft
                    });
                    Some(true)
                });
                match added {
                    Some(true) => crate::code::body(vendor, ep, params, &[]),
                    Some(false) => refuse(&library.codes.full),
                    None => refuse(&library.codes.missing),
                }
            }
            Role::Delete => {
                let call = library.delete.as_ref().expect("a delete role has its call");
                let id = param(call, "template").and_then(|t| t.parse::<i64>().ok());
                if id.is_some_and(|id| self.delete(vendor, id)) {
                    crate::code::body(vendor, ep, params, &[])
                } else {
                    refuse(&library.codes.missing)
                }
            }
        })
    }
}
