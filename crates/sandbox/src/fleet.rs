//! The stateful fleet: every declared resource (spec `[[resources]]`) of every app and of the
//! platform, served by the resource's own read and write calls; quotas, a per-vendor rate
//! limit, latency, and counters tests read.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use core_http::resource::{FieldValue, ResourceValue};
use miniapp_spec::{
    DataShape, Endpoint, Resource, ResourceCall, ResourceFieldType, Scope, SpecFile, Vendor,
};
use serde_json::Value;

use crate::check::{Params, Wire};
use crate::envelope;
use crate::SandboxOptions;

/// The owner key of the platform's own resources.
const PLATFORM: &str = "platform";

/// One seeded authorized app: its id and the refresh token of its authorization.
#[derive(Clone, PartialEq, Eq)]
pub struct FleetApp {
    /// The app id (`wx_fleet_00001`, …).
    pub app_id: String,
    /// The refresh token its authorization left (import it into a token manager).
    pub refresh_token: String,
}

impl std::fmt::Debug for FleetApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetApp")
            .field("app_id", &self.app_id)
            .field("refresh_token", &"***")
            .finish()
    }
}

/// What one app (or the platform) has been sent, for tests to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppCounters {
    /// Requests per endpoint (spec name) that reached the app's resources or carried its
    /// token.
    pub requests: BTreeMap<String, usize>,
    /// Resource writes received (add, delete, set, default), whether applied or refused.
    pub writes_attempted: usize,
    /// Resource writes applied.
    pub writes_applied: usize,
}

/// A resource call recognised in a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Read,
    Set,
    Add,
    Delete,
    Default,
}

#[derive(Debug, Default)]
struct State {
    values: HashMap<(Vendor, String, &'static str), ResourceValue>,
    quota_used: HashMap<(Vendor, String, &'static str), u32>,
    counters: HashMap<(Vendor, String), AppCounters>,
    window: HashMap<Vendor, (Instant, u32)>,
    traffic: HashMap<Vendor, Traffic>,
}

/// The calls a vendor received, for benchmarks and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Requests for a specified endpoint that were served (not refused for the rate limit).
    pub answered: u64,
    /// Requests refused for the rate limit ([`crate::SandboxOptions::rate_limit`]).
    pub throttled: u64,
}

/// The fleet's state and settings.
#[derive(Debug)]
pub(crate) struct Fleet {
    stateful: bool,
    specs: &'static [SpecFile],
    quota: Option<u32>,
    rate_limit: Option<u32>,
    latency: Duration,
    jitter: Duration,
    state: Mutex<State>,
    code: crate::code::Code,
}

/// The answer of a resource call: a JSON body, or a vendor error code.
pub(crate) enum Answer {
    Body(Value),
    Error(i64),
}

impl Fleet {
    pub(crate) fn new(specs: &'static [SpecFile], options: &SandboxOptions) -> Fleet {
        Fleet {
            stateful: options.stateful || options.apps > 0,
            specs,
            quota: options.quota,
            rate_limit: options.rate_limit,
            latency: options.latency,
            jitter: options.latency_jitter,
            state: Mutex::new(State::default()),
            code: crate::code::Code::new(specs, &options.code),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// This request's latency: fixed plus uniform jitter.
    pub(crate) fn delay(&self) -> Duration {
        if self.jitter.is_zero() {
            return self.latency;
        }
        let j = self.jitter.as_secs_f64();
        let offset = (fastrand::f64() * 2.0 - 1.0) * j;
        Duration::from_secs_f64((self.latency.as_secs_f64() + offset).max(0.0))
    }

    /// Whether `vendor` is over its rate limit now (counts this request).
    pub(crate) fn over_rate(&self, vendor: Vendor) -> bool {
        let mut state = self.state();
        let over = match self.rate_limit {
            None => false,
            Some(limit) => {
                let now = Instant::now();
                let (start, count) = state.window.entry(vendor).or_insert((now, 0));
                if now.duration_since(*start) >= Duration::from_secs(1) {
                    *start = now;
                    *count = 0;
                }
                *count += 1;
                *count > limit
            }
        };
        let traffic = state.traffic.entry(vendor).or_default();
        if over {
            traffic.throttled += 1;
        } else {
            traffic.answered += 1;
        }
        over
    }

    /// What `vendor` received so far.
    pub(crate) fn traffic(&self, vendor: Vendor) -> Traffic {
        self.state()
            .traffic
            .get(&vendor)
            .copied()
            .unwrap_or_default()
    }

    /// Counts a request of `owner` (an app id, or a token the sandbox cannot place).
    pub(crate) fn count(&self, vendor: Vendor, owner: &str, endpoint: &str) {
        *self
            .state()
            .counters
            .entry((vendor, owner.to_owned()))
            .or_default()
            .requests
            .entry(endpoint.to_owned())
            .or_default() += 1;
    }

    /// What `owner` of `vendor` has been sent.
    pub(crate) fn counters(&self, vendor: Vendor, owner: &str) -> AppCounters {
        self.state()
            .counters
            .get(&(vendor, owner.to_owned()))
            .cloned()
            .unwrap_or_default()
    }

    /// The stored value of resource `name` of `owner` (`None`: never written).
    pub(crate) fn value(&self, vendor: Vendor, owner: &str, name: &str) -> Option<ResourceValue> {
        let (_, r) = self.resource(vendor, name)?;
        self.state()
            .values
            .get(&(vendor, owner_key(r, owner), r.name.as_str()))
            .cloned()
    }

    /// Sets the stored value of resource `name` of `owner` (platform resources: any owner).
    pub(crate) fn set_value(
        &self,
        vendor: Vendor,
        owner: &str,
        name: &str,
        value: ResourceValue,
    ) -> bool {
        let Some((_, r)) = self.resource(vendor, name) else {
            return false;
        };
        self.state()
            .values
            .insert((vendor, owner_key(r, owner), r.name.as_str()), value);
        true
    }

    fn resource(
        &self,
        vendor: Vendor,
        name: &str,
    ) -> Option<(&'static SpecFile, &'static Resource)> {
        self.specs
            .iter()
            .filter(|s| s.vendor == vendor)
            .find_map(|s| s.resources.iter().find(|r| r.name == name).map(|r| (s, r)))
    }

    /// The resource call `ep` with `params` is, if any.
    fn recognise(
        &self,
        vendor: Vendor,
        ep: &Endpoint,
        params: &Params,
    ) -> Option<(&'static Resource, Kind)> {
        let matches = |call: &ResourceCall| {
            call.endpoint == ep.name
                && call
                    .params
                    .iter()
                    .all(|(k, v)| params.get(k).is_some_and(|w| &w.as_text() == v))
        };
        for spec in self.specs.iter().filter(|s| s.vendor == vendor) {
            for r in &spec.resources {
                if matches(&r.read) {
                    return Some((r, Kind::Read));
                }
                if r.add.as_ref().is_some_and(matches) {
                    return Some((r, Kind::Add));
                }
                if r.delete.as_ref().is_some_and(matches) {
                    return Some((r, Kind::Delete));
                }
                if matches(&r.write) {
                    return Some((r, Kind::Set));
                }
                if let Some(d) = &r.default_write {
                    if r.write.endpoint == ep.name && !params.contains_key(&d.when_absent) {
                        return Some((r, Kind::Default));
                    }
                }
            }
        }
        None
    }

    /// Every vendor's template library.
    pub(crate) fn library(&self) -> &crate::library::Library {
        self.code.library()
    }

    /// The apps of `vendor` submitted more than once per upload, and released more than once
    /// per submission.
    pub(crate) fn code_repeats(&self, vendor: Vendor) -> (usize, usize) {
        self.code.repeats(vendor)
    }

    /// The code lifecycle's audit decisions for `vendor`: (approved, rejected, released) apps.
    pub(crate) fn code_outcomes(&self, vendor: Vendor) -> (usize, usize, usize) {
        self.code.outcomes(vendor)
    }

    /// Serves `ep` when it is a resource call of `owner` (the app the token belongs to).
    pub(crate) fn serve(
        &self,
        vendor: Vendor,
        ep: &Endpoint,
        params: &Params,
        owner: &str,
    ) -> Option<Answer> {
        if !self.stateful {
            return None;
        }
        if let Some(answer) = self.code.serve(vendor, ep, params, owner) {
            return Some(answer);
        }
        let (r, kind) = self.recognise(vendor, ep, params)?;
        let key = (vendor, owner_key(r, owner), r.name.as_str());
        let mut state = self.state();
        if kind == Kind::Read {
            let value = state.values.get(&key).cloned().unwrap_or_default();
            return Some(Answer::Body(answer(vendor, r, ep, &value)));
        }
        state
            .counters
            .entry((vendor, key.1.clone()))
            .or_default()
            .writes_attempted += 1;
        if r.counted {
            if let (Some(limit), Some(q)) = (self.quota, &r.quota) {
                if state.quota_used.get(&key).copied().unwrap_or(0) >= limit {
                    return Some(Answer::Error(q.code));
                }
            }
        }
        let current = state.values.get(&key).cloned().unwrap_or_default();
        let mut sent = sent_value(r, ep, params);
        if kind == Kind::Default && r.default_write.as_ref().is_some_and(|d| d.adds_required) {
            // "No action: add every domain the platform registered" (as https:// origins).
            if let (Some(req), Some(f)) = (&r.requires, r.fields.first()) {
                let hosts = self
                    .resource(vendor, &req.resource)
                    .and_then(|(_, reg)| {
                        state
                            .values
                            .get(&(vendor, PLATFORM.to_owned(), reg.name.as_str()))
                            .map(|v| hosts_of(reg, v))
                    })
                    .unwrap_or_default();
                let items = hosts.into_iter().map(|h| format!("https://{h}")).collect();
                sent.0.insert(f.name.clone(), FieldValue::Set(items));
            }
        }
        let next = match kind {
            Kind::Set => current.overlaid(&sent),
            Kind::Add | Kind::Default => {
                let mut next = current.clone();
                for f in &r.fields {
                    if let Some(FieldValue::Set(items)) = sent.0.get(&f.name) {
                        let mut set = current.set(&f.name);
                        set.extend(items.iter().cloned());
                        next.0.insert(f.name.clone(), FieldValue::Set(set));
                    }
                }
                next
            }
            Kind::Delete => {
                let mut next = current.clone();
                for f in &r.fields {
                    if let Some(FieldValue::Set(items)) = sent.0.get(&f.name) {
                        let set = current.set(&f.name).difference(items).cloned().collect();
                        next.0.insert(f.name.clone(), FieldValue::Set(set));
                    }
                }
                next
            }
            Kind::Read => unreachable!("answered above"),
        };
        if let Some(req) = &r.requires {
            if kind != Kind::Delete {
                let registered = self
                    .resource(vendor, &req.resource)
                    .and_then(|(_, reg)| {
                        state
                            .values
                            .get(&(vendor, PLATFORM.to_owned(), reg.name.as_str()))
                            .map(|v| hosts_of(reg, v))
                    })
                    .unwrap_or_default();
                let new_items = r.fields.iter().flat_map(|f| sent.set(&f.name));
                for item in new_items {
                    if !registered_host(&item, &registered) {
                        return Some(Answer::Error(req.code));
                    }
                }
            }
        }
        state.values.insert(key.clone(), next.clone());
        state
            .counters
            .entry((vendor, key.1.clone()))
            .or_default()
            .writes_applied += 1;
        if r.counted {
            *state.quota_used.entry(key).or_default() += 1;
        }
        Some(Answer::Body(if r.read.endpoint == ep.name {
            answer(vendor, r, ep, &next)
        } else {
            envelope::success(vendor)
        }))
    }
}

/// The state key of `owner` for resource `r`.
fn owner_key(r: &Resource, owner: &str) -> String {
    match r.scope {
        Scope::App => owner.to_owned(),
        Scope::Platform => PLATFORM.to_owned(),
    }
}

/// The value a write request carries (fields it leaves out are absent).
fn sent_value(r: &Resource, ep: &Endpoint, params: &Params) -> ResourceValue {
    let mut value = ResourceValue::default();
    for f in &r.fields {
        let Some(wire) = params.get(f.param()) else {
            continue;
        };
        // The separator the spec gives the parameter (`join`), as the client joined it.
        let join = ep
            .params
            .iter()
            .find(|p| p.name == f.param())
            .and_then(|p| p.join.as_deref());
        let v = match f.ty {
            ResourceFieldType::StringSet => FieldValue::Set(items(wire, join)),
            ResourceFieldType::String => FieldValue::Text(wire.as_text()),
        };
        value.0.insert(f.name.clone(), v);
    }
    value
}

/// The items of a list parameter: a JSON array, or a string joined by the spec's `join`.
fn items(wire: &Wire, join: Option<&str>) -> BTreeSet<String> {
    match wire {
        Wire::Json(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .filter(|s| !s.is_empty())
            .collect(),
        other => other
            .as_text()
            .split(join.unwrap_or(","))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    }
}

/// The answer of a read: the vendor's success envelope with the value in the read
/// endpoint's answer fields (joined where the answer joins).
fn answer(vendor: Vendor, r: &Resource, ep: &Endpoint, value: &ResourceValue) -> Value {
    let mut body = envelope::success(vendor);
    if ep.data == DataShape::Transparent {
        // The payload is the one field itself (Baidu `data` as a joined string).
        if let (Some(f), Some(data)) = (r.fields.first(), body.get_mut("data")) {
            let field = ep.fields.first();
            let items: Vec<String> = value.set(&f.name).into_iter().collect();
            *data = match (f.ty, field.and_then(|x| x.join.as_deref())) {
                (ResourceFieldType::String, _) => Value::String(value.text(&f.name)),
                (_, Some(sep)) => Value::String(items.join(sep)),
                (_, None) => Value::from(items),
            };
            return body;
        }
    }
    let e = &crate::envelope::facts(vendor).envelope;
    let target = match e.shape {
        core_http::vendor::EnvelopeShape::Wrapped => body
            .get_mut(e.data)
            .expect("a wrapped success has its payload member"),
        core_http::vendor::EnvelopeShape::Flat => &mut body,
    };
    let members = target.as_object_mut().expect("envelopes are objects");
    for f in &r.fields {
        let field = ep.fields.iter().find(|x| x.name == f.response());
        let v = match f.ty {
            ResourceFieldType::StringSet => {
                let items: Vec<String> = value.set(&f.name).into_iter().collect();
                match field.and_then(|x| x.join.as_deref()) {
                    Some(sep) => Value::String(items.join(sep)),
                    None => Value::from(items),
                }
            }
            ResourceFieldType::String => Value::String(value.text(&f.name)),
        };
        members.insert(f.response().to_owned(), v);
    }
    body
}

/// The hosts of every item of a (registration) value.
fn hosts_of(r: &Resource, value: &ResourceValue) -> Vec<String> {
    r.fields
        .iter()
        .flat_map(|f| value.set(&f.name))
        .map(|item| host(&item))
        .collect()
}

/// The host of a domain item: `https://a.example.com:8443` → `a.example.com`.
fn host(item: &str) -> String {
    let rest = item.split_once("://").map_or(item, |(_, rest)| rest);
    let end = rest.find([':', '/', '?']).unwrap_or(rest.len());
    rest[..end].to_ascii_lowercase()
}

/// Whether `item`'s host is one of `registered` or a subdomain of one.
fn registered_host(item: &str, registered: &[String]) -> bool {
    let h = host(item);
    registered
        .iter()
        .any(|r| h == *r || h.strip_suffix(r.as_str()).is_some_and(|p| p.ends_with('.')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_subdomains() {
        assert_eq!(host("https://A.example.com:8443"), "a.example.com");
        assert_eq!(host("www.qq.com"), "www.qq.com");
        let reg = vec!["example.com".to_owned()];
        assert!(registered_host("https://api.example.com", &reg));
        assert!(registered_host("wss://example.com", &reg));
        assert!(!registered_host("https://badexample.com", &reg));
        assert!(!registered_host("https://example.org", &reg));
    }
}
