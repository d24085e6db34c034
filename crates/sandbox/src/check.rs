//! Checks one request against its endpoint's spec: credentials, body kind, parameter names,
//! required parameters, types and documented limits.

use std::collections::BTreeMap;

use miniapp_spec::{
    BodyKind, CredentialKind, Endpoint, EnumRepr, Field, Limits, Location, SpecFile, TypeRef,
};
use serde_json::Value;

/// The parts of a request the checks look at.
pub(crate) struct Incoming<'a> {
    /// The raw URL query string.
    pub query: Option<&'a str>,
    /// The `content-type` header.
    pub content_type: Option<&'a str>,
    /// The raw body.
    pub body: &'a [u8],
    /// The request headers (header credentials are read from them).
    pub headers: Option<&'a axum::http::HeaderMap>,
}

/// Why a request was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// A credential is missing or empty.
    Credential(String),
    /// The body or a parameter breaks the spec.
    Params(String),
}

/// A parameter value as it arrived.
#[derive(Debug, Clone)]
pub(crate) enum Wire {
    /// A query or form value.
    Text(String),
    /// A member of a JSON body.
    Json(Value),
}

impl Wire {
    /// The value as the spec's `when` / `optional_when` compare it.
    pub(crate) fn as_text(&self) -> String {
        match self {
            Wire::Text(t) => t.clone(),
            Wire::Json(Value::String(s)) => s.clone(),
            Wire::Json(v) => v.to_string(),
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Wire::Text(t) => Some(t),
            Wire::Json(Value::String(s)) => Some(s),
            Wire::Json(_) => None,
        }
    }
}

/// The accepted parameters of a request (credentials excluded), by wire name.
pub(crate) type Params = BTreeMap<String, Wire>;

/// A request that passed the checks.
#[derive(Debug)]
pub(crate) struct Checked {
    /// Its parameters (credentials excluded).
    pub params: Params,
    /// Its credentials (each non-empty), in spec order.
    pub credentials: Vec<(CredentialKind, String)>,
}

/// Checks `req` against `ep`; on success returns its parameters and credentials.
pub(crate) fn check(
    spec: &SpecFile,
    ep: &Endpoint,
    req: &Incoming<'_>,
) -> Result<Checked, Rejection> {
    let mut values = collect(ep, req).map_err(Rejection::Params)?;

    let mut credentials = Vec::with_capacity(ep.credentials.len());
    for cred in &ep.credentials {
        // A header credential is read from the headers; the others from the query or body,
        // where the parameter must be in the credential's own place.
        let value = if cred.location == Location::Header {
            req.headers
                .and_then(|h| h.get(cred.name.as_str()))
                .and_then(|v| v.to_str().ok())
        } else {
            values
                .get(&cred.name)
                .filter(|(loc, _)| *loc == cred.location)
                .and_then(|(_, w)| w.as_str())
        }
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
        let Some(value) = value else {
            return Err(Rejection::Credential(format!(
                "`{}` missing or empty in the {}",
                cred.name,
                cred.location.describe()
            )));
        };
        credentials.push((cred.kind, value));
        if cred.location != Location::Header {
            values.remove(&cred.name);
        }
    }

    let mut params = Params::new();
    for (name, (loc, wire)) in values {
        let Some(field) = ep.params.iter().find(|p| p.name == name) else {
            return Err(Rejection::Params(format!("unknown parameter `{name}`")));
        };
        let expected = field.location.unwrap_or(Location::Query);
        if expected != loc {
            return Err(Rejection::Params(format!(
                "parameter `{name}` belongs in the {}, not the {}",
                expected.describe(),
                loc.describe()
            )));
        }
        params.insert(name, wire);
    }

    check_members(spec, "", &ep.params, &params).map_err(Rejection::Params)?;
    check_rules(ep, &params).map_err(Rejection::Params)?;
    Ok(Checked {
        params,
        credentials,
    })
}

/// The spec's cross-parameter rules: at least one of some parameters carries something (a
/// non-empty value: a joined list with at least one non-empty item, a non-empty JSON array or
/// string) when the rule's condition holds.
fn check_rules(ep: &Endpoint, params: &Params) -> Result<(), String> {
    for rule in &ep.rules {
        let applies = rule.when.as_ref().is_none_or(|w| {
            params
                .get(&w.param)
                .is_some_and(|v| w.values.contains(&v.as_text()))
        });
        if !applies {
            continue;
        }
        let carries = |name: &String| {
            let sep = ep
                .params
                .iter()
                .find(|p| &p.name == name)
                .and_then(|p| p.join.clone());
            match params.get(name) {
                // A list of only empty texts holds nothing (the client's `HasItems`).
                Some(Wire::Json(Value::Array(items))) => items
                    .iter()
                    .any(|i| i.as_str().is_none_or(miniapp_rules::is_sent_item)),
                Some(wire) => match (wire.as_str(), sep) {
                    (Some(text), Some(sep)) => {
                        miniapp_rules::joined_items(text, &sep).next().is_some()
                    }
                    (Some(text), None) => miniapp_rules::is_sent_item(text),
                    (None, _) => true,
                },
                None => false,
            }
        };
        if !rule.at_least_one_of.iter().any(carries) {
            return Err(format!(
                "at least one of {} is needed: {}",
                rule.at_least_one_of.join(", "),
                rule.description
            ));
        }
    }
    Ok(())
}

/// Checks the body kind and gathers every named value with where it came from.
fn collect(
    ep: &Endpoint,
    req: &Incoming<'_>,
) -> Result<BTreeMap<String, (Location, Wire)>, String> {
    let mut values = BTreeMap::new();
    let mut add = |loc: Location, name: String, wire: Wire| {
        if values.contains_key(&name) {
            return Err(format!("parameter `{name}` given twice"));
        }
        values.insert(name, (loc, wire));
        Ok(())
    };

    if let Some(query) = req.query {
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            add(Location::Query, k.into_owned(), Wire::Text(v.into_owned()))?;
        }
    }

    let mime = req.content_type.map(|ct| {
        ct.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    });
    match ep.body {
        BodyKind::None => {
            if !req.body.is_empty() {
                return Err("this endpoint takes no request body".into());
            }
        }
        BodyKind::Json => {
            if mime.as_deref() != Some("application/json") {
                return Err(format!(
                    "content-type must be application/json, got {}",
                    req.content_type.unwrap_or("none")
                ));
            }
            let body: Value =
                serde_json::from_slice(req.body).map_err(|e| format!("body is not JSON: {e}"))?;
            let Value::Object(members) = body else {
                return Err("body must be a JSON object".into());
            };
            for (k, v) in members {
                if v.is_null() {
                    return Err(format!("`{k}` is null; leave the member out instead"));
                }
                add(Location::Json, k, Wire::Json(v))?;
            }
        }
        BodyKind::Form => {
            if mime.as_deref() != Some("application/x-www-form-urlencoded") {
                return Err(format!(
                    "content-type must be application/x-www-form-urlencoded, got {}",
                    req.content_type.unwrap_or("none")
                ));
            }
            for (k, v) in form_urlencoded::parse(req.body) {
                add(Location::Form, k.into_owned(), Wire::Text(v.into_owned()))?;
            }
        }
    }
    Ok(values)
}

fn join_path(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

/// Checks a set of values against `fields`: no unknown names, required ones present (unless
/// `optional_when` holds), every value well typed and within its limits.
fn check_members(
    spec: &SpecFile,
    prefix: &str,
    fields: &[Field],
    values: &BTreeMap<String, Wire>,
) -> Result<(), String> {
    if let Some(name) = values
        .keys()
        .find(|k| !fields.iter().any(|f| &f.name == *k))
    {
        return Err(format!("unknown parameter `{}`", join_path(prefix, name)));
    }
    for field in fields {
        let path = join_path(prefix, &field.name);
        match values.get(&field.name) {
            Some(wire) => check_field(spec, &path, field, wire)?,
            None if field.required => {
                let unless = field.optional_when.as_ref().map(|c| {
                    (
                        format!("{} = {}", c.param, c.equals),
                        values
                            .get(&c.param)
                            .is_some_and(|w| w.as_text() == c.equals),
                    )
                });
                miniapp_rules::required(
                    false,
                    unless.as_ref().map(|(t, holds)| (t.as_str(), *holds)),
                )
                .map_err(|b| broken(&path, b))?;
            }
            None => {}
        }
    }
    Ok(())
}

/// Checks one value, decoding `join` and `json_string` first.
fn check_field(spec: &SpecFile, path: &str, field: &Field, wire: &Wire) -> Result<(), String> {
    let ty = field.type_ref().clone();
    let value = if field.json_string {
        let text = wire
            .as_str()
            .ok_or_else(|| format!("`{path}`: expected a string holding JSON text"))?;
        serde_json::from_str(text).map_err(|e| format!("`{path}`: not JSON text: {e}"))?
    } else if let Some(sep) = &field.join {
        let text = wire
            .as_str()
            .ok_or_else(|| format!("`{path}`: expected one string joined by `{sep}`"))?;
        let inner = match &ty {
            TypeRef::List(inner) => inner.as_ref(),
            other => other,
        };
        // The items the vendor receives (the SDK drops empty ones when it joins).
        let items = miniapp_rules::joined_items(text, sep)
            .map(|item| coerce_text(spec, path, inner, item))
            .collect::<Result<_, _>>()?;
        Value::Array(items)
    } else {
        match wire {
            Wire::Text(text) => coerce_text(spec, path, &ty, text)?,
            Wire::Json(v) => v.clone(),
        }
    };
    check_value(spec, path, &ty, field.lenient, &field.limits, &value)
}

/// Turns a query/form text into the JSON value the type expects.
fn coerce_text(spec: &SpecFile, path: &str, ty: &TypeRef, text: &str) -> Result<Value, String> {
    let as_integer = || {
        text.parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("`{path}`: expected an integer, got {text:?}"))
    };
    let as_json = |what: &str| {
        serde_json::from_str::<Value>(text)
            .map_err(|_| format!("`{path}`: expected {what} as JSON text, got {text:?}"))
    };
    match ty {
        TypeRef::String => Ok(Value::String(text.to_owned())),
        TypeRef::Integer => as_integer(),
        TypeRef::Boolean => match text {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(format!("`{path}`: expected true or false, got {text:?}")),
        },
        TypeRef::Json => Ok(as_json("JSON").unwrap_or_else(|_| Value::String(text.to_owned()))),
        TypeRef::Named(name) => match spec.enums.iter().find(|e| &e.name == name) {
            Some(e) if e.repr == EnumRepr::Integer => as_integer(),
            Some(_) => Ok(Value::String(text.to_owned())),
            None => as_json("an object"),
        },
        TypeRef::List(_) => as_json("a list"),
        TypeRef::Map(_) => as_json("an object"),
    }
}

/// Checks a JSON value against a type and its limits.
fn check_value(
    spec: &SpecFile,
    path: &str,
    ty: &TypeRef,
    lenient: bool,
    limits: &Limits,
    value: &Value,
) -> Result<(), String> {
    let integer_of = |v: &Value| {
        v.as_i64()
            .or_else(|| lenient.then(|| v.as_str()?.parse().ok()).flatten())
    };
    match ty {
        TypeRef::String => {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) if lenient => n.to_string(),
                other => return Err(format!("`{path}`: expected a string, got {other}")),
            };
            check_text_limits(path, limits, &text)
        }
        TypeRef::Integer => {
            let n = integer_of(value)
                .ok_or_else(|| format!("`{path}`: expected an integer, got {value}"))?;
            miniapp_rules::range(n, limits.min, limits.max).map_err(|b| broken(path, b))
        }
        TypeRef::Boolean => match value {
            Value::Bool(_) => Ok(()),
            other => Err(format!("`{path}`: expected true or false, got {other}")),
        },
        TypeRef::Json => Ok(()),
        TypeRef::Named(name) => {
            if let Some(e) = spec.enums.iter().find(|e| &e.name == name) {
                let wire = match e.repr {
                    EnumRepr::String => value.as_str().map(str::to_owned),
                    EnumRepr::Integer => integer_of(value).map(|n| n.to_string()),
                };
                let allowed: Vec<&str> = e.values.iter().map(|v| v.wire.as_str()).collect();
                match wire {
                    Some(w) if allowed.contains(&w.as_str()) => Ok(()),
                    _ => Err(format!(
                        "`{path}`: {value} is not one of {}",
                        allowed.join(", ")
                    )),
                }
            } else if let Some(obj) = spec.objects.iter().find(|o| &o.name == name) {
                let Value::Object(members) = value else {
                    return Err(format!("`{path}`: expected an object, got {value}"));
                };
                let mut values = BTreeMap::new();
                for (k, v) in members {
                    if v.is_null() {
                        return Err(format!(
                            "`{path}.{k}` is null; leave the member out instead"
                        ));
                    }
                    values.insert(k.clone(), Wire::Json(v.clone()));
                }
                check_members(spec, path, &obj.fields, &values)
            } else {
                Err(format!("`{path}`: the spec has no type `{name}`"))
            }
        }
        TypeRef::List(inner) => {
            let Value::Array(items) = value else {
                return Err(format!("`{path}`: expected a list, got {value}"));
            };
            if limits.non_empty {
                miniapp_rules::non_empty_list(items.len()).map_err(|b| broken(path, b))?;
            }
            if let Some(max) = limits.max_items {
                miniapp_rules::max_items(items.len(), max as usize).map_err(|b| broken(path, b))?;
            }
            for (i, item) in items.iter().enumerate() {
                check_value(spec, &format!("{path}[{i}]"), inner, lenient, limits, item)?;
            }
            Ok(())
        }
        TypeRef::Map(inner) => {
            let Value::Object(members) = value else {
                return Err(format!("`{path}`: expected an object, got {value}"));
            };
            for (k, v) in members {
                check_value(spec, &format!("{path}.{k}"), inner, lenient, limits, v)?;
            }
            Ok(())
        }
    }
}

/// Length in characters and format of one text value.
fn check_text_limits(path: &str, limits: &Limits, text: &str) -> Result<(), String> {
    let count = |n: Option<u32>| n.map(|n| n as usize);
    if limits.non_empty {
        miniapp_rules::non_empty_text(text).map_err(|b| broken(path, b))?;
    }
    miniapp_rules::chars(text, count(limits.min_chars), count(limits.max_chars))
        .map_err(|b| broken(path, b))?;
    match limits.format {
        Some(format) => miniapp_rules::format(text, format).map_err(|b| broken(path, b)),
        None => Ok(()),
    }
}

/// A broken rule of `miniapp-rules` (the client's validators break the same ones) as the
/// sandbox's refusal text.
fn broken(path: &str, b: miniapp_rules::Broken) -> String {
    format!("`{path}`: {b}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> SpecFile {
        let text = r#"
vendor = "wechat"
module = "m"
[source]
document = "d"
title = "t"

[[enums]]
name = "Action"
values = [{ wire = "get", rust = "Get" }, { wire = "set", rust = "Set" }]

[[enums]]
name = "Kind"
repr = "integer"
values = [{ wire = "1", rust = "One" }, { wire = "2", rust = "Two" }]

[[objects]]
name = "Item"
fields = [{ name = "id", type = "integer", required = true }]

[[endpoints]]
name = "J"
fn_name = "j"
title = "t"
description = "d"
method = "POST"
base_url = "https://x"
path = "/j"
credentials = [{ name = "access_token", kind = "component_access_token", location = "query" }]
body = "json"
params = [
  { name = "action", type = "Action", location = "json", required = true },
  { name = "hosts", type = "list<string>", location = "json", join = ";", required = true, optional_when = { param = "action", equals = "get" }, limits = { max_items = 2, format = "bare_host" } },
  { name = "kind", type = "Kind", location = "json" },
  { name = "items", type = "list<Item>", location = "json" },
  { name = "cats", type = "list<string>", location = "json", json_string = true },
  { name = "name", type = "string", location = "json", limits = { min_chars = 2, max_chars = 3 } },
  { name = "url", type = "string", location = "json", limits = { format = "https_or_wss_url" } },
  { name = "flag", type = "boolean", location = "json" },
]

[[endpoints]]
name = "F"
fn_name = "f"
title = "t"
description = "d"
method = "POST"
base_url = "https://x"
path = "/f"
credentials = [{ name = "access_token", kind = "component_access_token", location = "query" }]
body = "form"
params = [
  { name = "n", type = "integer", location = "form", required = true, limits = { min = 1, max = 10 } },
  { name = "kind", type = "Kind", location = "form" },
  { name = "flag", type = "boolean", location = "form" },
  { name = "ids", type = "list<integer>", location = "form", join = "," },
  { name = "q", type = "string", location = "query" },
]

[[endpoints]]
name = "H"
fn_name = "h"
title = "t"
description = "d"
method = "GET"
base_url = "https://x"
path = "/h"
credentials = [{ name = "access-token", kind = "authorizer_access_token", location = "header" }]
params = [{ name = "q", type = "string", location = "query" }]
"#;
        miniapp_spec::parse(std::path::Path::new("t.toml"), text).unwrap()
    }

    #[test]
    fn header_credentials_are_read_from_the_headers_only() {
        let spec = spec();
        let ep = &spec.endpoints[2];
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("access-token", "tok".parse().unwrap());
        let ok = check(
            &spec,
            ep,
            &Incoming {
                query: Some("q=1"),
                content_type: None,
                body: b"",
                headers: Some(&headers),
            },
        )
        .unwrap();
        assert_eq!(
            ok.credentials,
            vec![(CredentialKind::AuthorizerAccessToken, "tok".to_owned())]
        );
        // The token in the query instead of the header: missing, and an unknown parameter.
        let wrong_place = check(
            &spec,
            ep,
            &Incoming {
                query: Some("q=1&access-token=tok"),
                content_type: None,
                body: b"",
                headers: None,
            },
        );
        assert_eq!(
            wrong_place.unwrap_err(),
            Rejection::Credential("`access-token` missing or empty in the request headers".into())
        );
    }

    fn json(body: &str) -> Result<Checked, Rejection> {
        let spec = spec();
        check(
            &spec,
            &spec.endpoints[0],
            &Incoming {
                query: Some("access_token=t"),
                content_type: Some("application/json; charset=utf-8"),
                body: body.as_bytes(),
                headers: None,
            },
        )
    }

    fn form(query: &str, body: &str) -> Result<Checked, Rejection> {
        let spec = spec();
        check(
            &spec,
            &spec.endpoints[1],
            &Incoming {
                query: Some(query),
                content_type: Some("application/x-www-form-urlencoded"),
                body: body.as_bytes(),
                headers: None,
            },
        )
    }

    fn params_err(r: Result<Checked, Rejection>) -> String {
        match r {
            Err(Rejection::Params(m)) => m,
            other => panic!("expected a params rejection, got {other:?}"),
        }
    }

    #[test]
    fn json_body_checks() {
        assert!(json(r#"{"action":"get"}"#).is_ok());
        assert!(json(r#"{"action":"set","hosts":"a.com;b.com"}"#).is_ok());
        assert_eq!(
            params_err(json(r#"{"action":"set"}"#)),
            "`hosts`: required unless action = get; got nothing"
        );
        assert!(params_err(json(r#"{"action":"put"}"#)).contains("not one of get, set"));
        assert!(params_err(json(r#"{"action":"get","x":1}"#)).contains("unknown parameter `x`"));
        assert!(params_err(json(r#"{"action":"set","hosts":"a;b;c"}"#)).contains("at most 2"));
        assert!(params_err(json(r#"{"action":"set","hosts":"https://a"}"#)).contains("bare host"));
        assert!(params_err(json(r#"{"action":"set","hosts":["a"]}"#)).contains("joined by"));
        assert!(json(r#"{"action":"get","kind":2}"#).is_ok());
        assert!(params_err(json(r#"{"action":"get","kind":3}"#)).contains("not one of 1, 2"));
        assert!(params_err(json(r#"{"action":"get","kind":"2"}"#)).contains("not one of"));
        assert!(json(r#"{"action":"get","items":[{"id":1}]}"#).is_ok());
        assert!(params_err(json(r#"{"action":"get","items":[{}]}"#)).contains("`items[0].id`"));
        assert!(
            params_err(json(r#"{"action":"get","items":[{"id":1,"z":2}]}"#))
                .contains("`items[0].z`")
        );
        assert!(json(r#"{"action":"get","cats":"[\"a\"]"}"#).is_ok());
        assert!(params_err(json(r#"{"action":"get","cats":"{}"}"#)).contains("expected a list"));
        assert!(params_err(json(r#"{"action":"get","cats":["a"]}"#)).contains("JSON text"));
        assert!(json(r#"{"action":"get","name":"好好"}"#).is_ok());
        // The same rule text as the client's validator (both come from miniapp-rules).
        assert_eq!(
            params_err(json(r#"{"action":"get","name":"好好好好"}"#)),
            "`name`: 2 to 3 characters; got 4 characters"
        );
        assert!(params_err(json(r#"{"action":"get","name":"a"}"#)).contains("2 to 3 characters"));
        assert!(json(r#"{"action":"get","url":"wss://a"}"#).is_ok());
        assert!(params_err(json(r#"{"action":"get","url":"http://a"}"#)).contains("https://"));
        assert!(params_err(json(r#"{"action":"get","flag":"true"}"#)).contains("true or false"));
        assert!(params_err(json(r#"{"action":"get","flag":null}"#)).contains("null"));
        assert!(params_err(json(r#"[1]"#)).contains("JSON object"));
        assert!(params_err(json(r#"{"#)).contains("not JSON"));
    }

    #[test]
    fn credentials_must_be_present_and_non_empty() {
        let spec = spec();
        let ep = &spec.endpoints[0];
        for query in [None, Some("access_token="), Some("other=1")] {
            let r = check(
                &spec,
                ep,
                &Incoming {
                    query,
                    content_type: Some("application/json"),
                    body: b"{\"action\":\"get\"}",
                    headers: None,
                },
            );
            assert!(
                matches!(r, Err(Rejection::Credential(_))),
                "{query:?}: {r:?}"
            );
        }
    }

    #[test]
    fn form_body_checks() {
        assert!(form("access_token=t", "n=3&kind=1&flag=true&ids=1,2").is_ok());
        assert!(form("access_token=t&q=x", "n=3").is_ok());
        assert!(params_err(form("access_token=t", "n=x")).contains("expected an integer"));
        assert_eq!(
            params_err(form("access_token=t", "n=11")),
            "`n`: between 1 and 10; got 11"
        );
        assert!(params_err(form("access_token=t", "n=1&kind=3")).contains("not one of"));
        assert!(params_err(form("access_token=t", "n=1&flag=1")).contains("true or false"));
        assert!(params_err(form("access_token=t", "n=1&ids=1,x")).contains("`ids`"));
        assert!(params_err(form("access_token=t", "n=1&n=2")).contains("twice"));
        assert!(params_err(form("access_token=t&n=1", "")).contains("belongs in the form body"));
        assert!(params_err(form("access_token=t", "n=1&q=x")).contains("belongs in the query"));
        let spec = spec();
        let r = check(
            &spec,
            &spec.endpoints[1],
            &Incoming {
                query: Some("access_token=t"),
                content_type: Some("application/json"),
                body: b"n=1",
                headers: None,
            },
        );
        assert!(params_err(r).contains("content-type"));
    }
}
