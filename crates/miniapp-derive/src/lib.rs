//! `#[derive(Endpoint)]`: turns an annotated request struct into its
//! `core_http::Endpoint` impl (method, path, where each field goes, documented limits,
//! response type, error table).
//!
//! A thin front end: it reads the attributes and field types into a
//! [`miniapp_codegen::endpoint::EndpointModel`] and lets `miniapp-codegen` write the impl, the
//! same code `cargo xtask codegen` writes for the generated vendor crates.
//!
//! Each vendor crate re-exports it (`baidu_smartapp_api::Endpoint`), so a user who depends
//! on one vendor crate writes:
//!
//! ```ignore
//! #[derive(baidu_smartapp_api::Endpoint)]
//! #[endpoint(vendor = baidu, method = POST, path = "/rest/2.0/smartapp/app/modifydomain",
//!            body = form, response = ModifyDomainResponse, errors = MODIFY_DOMAIN_ERRORS,
//!            idempotent = false,
//!            credential(name = "access_token", kind = authorizer_access_token, location = form))]
//! pub struct ModifyDomainRequest {
//!     #[param(form)]
//!     pub action: Option<DomainAction>,
//!     #[param(form, join = ",", format = https_or_wss_url)]
//!     pub request_domain: Option<Vec<String>>,
//! }
//! ```
//!
//! Struct attribute `#[endpoint(..)]`: `vendor` (a vendor of `specs/*/vendor.toml`: wechat | baidu | kuaishou), `method`
//! (GET | POST), `path`, `body` (none | json | form; default none), `response` (a type, or
//! `binary`), optional `name` (defaults to the struct name without `Request`), `errors` (a
//! `&'static [(i64, &'static str)]`), `idempotent` (default true), `crate = "path"` (the path
//! the impl names the runtime by; by default `::core_http` when the caller's `Cargo.toml`
//! depends on `core-http`, else the runtime re-exported by the vendor's crate it depends on,
//! e.g. `::baidu_smartapp_api::core_http`), `envelope` (default true;
//! `false` for answers without the vendor envelope), any number of
//! `at_least_one(params = "a, b", when_param = "action", when_in = "add, set", rule = "..")`, and
//! any number of
//! `credential(name = "..", kind = component_access_token | authorizer_access_token |
//! component_app_id, location = query | form | header)`; a header credential is sent as a
//! sensitive header value, e.g. `credential(name = "access-token", kind = authorizer_access_token,
//! location = header)`.
//!
//! Field attribute `#[param(..)]`, required on every field: a location (query | form | json),
//! then optionally `name = ".."` (wire name), `join = ";"`, `json_string`, `required`,
//! `optional_when(param = "..", equals = "..")`, `max_items = N`, `min_chars = N`,
//! `max_chars = N`, `min = N`, `max = N`, `format = NAME` (a [`miniapp_rules::Format`] name: `bare_host`, `https_or_wss_url`,
//! `https_url`, `https_url_without_port`, `wss_url`, `udp_url`, `tcp_url`).

use miniapp_codegen::endpoint::{
    Answer, AtLeastOne, Condition, Credential, EndpointModel, Limits, Param, Shape,
};
use miniapp_rules::{BodyKind, CredentialKind, Location, Method};
use proc_macro::TokenStream;
use proc_macro2::Span;
use syn::{parse_macro_input, Data, DeriveInput, Error, Fields, Ident, LitStr, Result, Type};

/// Derives `core_http::Endpoint`; see the crate documentation for the attributes.
#[proc_macro_derive(Endpoint, attributes(endpoint, param))]
pub fn derive_endpoint(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    model(&input)
        .and_then(|m| miniapp_codegen::endpoint::impl_endpoint(&m))
        .unwrap_or_else(Error::into_compile_error)
        .into()
}

fn one_of<'a>(ident: &Ident, allowed: &[&'a str], what: &str) -> Result<&'a str> {
    allowed
        .iter()
        .find(|a| ident == *a)
        .copied()
        .ok_or_else(|| {
            Error::new(
                ident.span(),
                format!(
                    "unknown {what} `{ident}`; expected one of: {}",
                    allowed.join(", ")
                ),
            )
        })
}

fn split_list(lit: &LitStr) -> Vec<String> {
    lit.value()
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// `name(param = "..", equals = "..")`.
fn condition(meta: &syn::meta::ParseNestedMeta<'_>, what: &str) -> Result<Condition> {
    let (mut param, mut equals) = (None::<LitStr>, None::<LitStr>);
    meta.parse_nested_meta(|inner| {
        let v: LitStr = inner.value()?.parse()?;
        if inner.path.is_ident("param") {
            param = Some(v);
        } else if inner.path.is_ident("equals") {
            equals = Some(v);
        } else {
            return Err(inner.error("expected `param` or `equals`"));
        }
        Ok(())
    })?;
    match (param, equals) {
        (Some(a), Some(b)) => Ok(Condition {
            param: a.value(),
            equals: b.value(),
            span: a.span(),
        }),
        _ => Err(meta.error(format!(
            "{what} needs `param = \"..\"` and `equals = \"..\"`"
        ))),
    }
}

/// An integer literal, possibly negative.
fn int(meta: &syn::meta::ParseNestedMeta<'_>) -> Result<i64> {
    let expr: syn::Expr = meta.value()?.parse()?;
    let (negative, lit) = match &expr {
        syn::Expr::Unary(u) if matches!(u.op, syn::UnOp::Neg(_)) => (true, &*u.expr),
        other => (false, other),
    };
    match lit {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(i),
            ..
        }) => {
            let v: i64 = i.base10_parse()?;
            Ok(if negative { -v } else { v })
        }
        _ => Err(Error::new_spanned(&expr, "expected an integer literal")),
    }
}

fn count(meta: &syn::meta::ParseNestedMeta<'_>) -> Result<u32> {
    meta.value()?.parse::<syn::LitInt>()?.base10_parse()
}

/// The struct attribute's part of the model (everything but the fields).
fn parse_endpoint_attr(input: &DeriveInput) -> Result<EndpointModel> {
    let attr = input
        .attrs
        .iter()
        .find(|a| a.path().is_ident("endpoint"))
        .ok_or_else(|| {
            Error::new(
                Span::call_site(),
                "missing #[endpoint(vendor = .., method = .., path = \"..\", response = ..)]",
            )
        })?;
    let (mut vendor, mut method, mut path) = (None, None, None);
    let mut vendor_package: Option<&str> = None;
    let mut krate: Option<syn::Path> = None;
    let (mut body, mut body_span) = (BodyKind::None, Span::call_site());
    let (mut response, mut name, mut errors) = (None::<Type>, None::<LitStr>, None);
    let mut idempotent = true;
    let mut read_when = None;
    let mut envelope = true;
    let mut credentials = Vec::new();
    let mut rules = Vec::new();
    attr.parse_nested_meta(|meta| {
        let key = meta.path.get_ident().map(Ident::to_string).unwrap_or_default();
        match key.as_str() {
            "vendor" => {
                let v: Ident = meta.value()?.parse()?;
                let names: Vec<&str> =
                    miniapp_codegen::VENDORS.iter().map(|(n, _, _)| *n).collect();
                let known = one_of(&v, &names, "vendor")?;
                let (_, variant, package) = miniapp_codegen::VENDORS
                    .iter()
                    .find(|(n, _, _)| *n == known)
                    .expect("one of the names");
                vendor = Some(Ident::new(variant, v.span()));
                vendor_package = Some(*package);
            }
            "crate" => {
                let v: LitStr = meta.value()?.parse()?;
                krate = Some(v.parse()?);
            }
            "method" => {
                let v: Ident = meta.value()?.parse()?;
                method = Some(match one_of(&v, &["GET", "POST"], "method")? {
                    "GET" => Method::Get,
                    _ => Method::Post,
                });
            }
            "path" => {
                let v: LitStr = meta.value()?.parse()?;
                if !v.value().starts_with('/') {
                    return Err(Error::new(v.span(), "`path` must start with `/`"));
                }
                path = Some(v.value());
            }
            "body" => {
                let v: Ident = meta.value()?.parse()?;
                body = match one_of(&v, &["none", "json", "form"], "body")? {
                    "json" => BodyKind::Json,
                    "form" => BodyKind::Form,
                    _ => BodyKind::None,
                };
                body_span = v.span();
            }
            "response" => response = Some(meta.value()?.parse()?),
            "name" => name = Some(meta.value()?.parse()?),
            "errors" => errors = Some(meta.value()?.parse()?),
            "idempotent" => idempotent = meta.value()?.parse::<syn::LitBool>()?.value,
            "envelope" => envelope = meta.value()?.parse::<syn::LitBool>()?.value,
            "read_when" => read_when = Some(condition(&meta, "read_when")?),
            "at_least_one" => {
                let (mut params, mut when_param, mut when_in, mut rule) = (None, None, None, None);
                meta.parse_nested_meta(|inner| {
                    let v: LitStr = inner.value()?.parse()?;
                    if inner.path.is_ident("params") {
                        params = Some(split_list(&v));
                    } else if inner.path.is_ident("when_param") {
                        when_param = Some(v.value());
                    } else if inner.path.is_ident("when_in") {
                        when_in = Some(split_list(&v));
                    } else if inner.path.is_ident("rule") {
                        rule = Some(v.value());
                    } else {
                        return Err(inner.error("expected `params`, `when_param`, `when_in` or `rule`"));
                    }
                    Ok(())
                })?;
                let params: Vec<String> = params.ok_or_else(|| meta.error("at_least_one needs `params = \"a, b\"`"))?;
                let when = match (when_param, when_in) {
                    (Some(p), Some(v)) => Some((p, v)),
                    (None, None) => None,
                    _ => return Err(meta.error("`when_param` and `when_in` go together")),
                };
                rules.push(AtLeastOne {
                    rule: rule.unwrap_or_else(|| format!("at least one of {}", params.join(", "))),
                    params,
                    when,
                    span: meta.path.get_ident().map_or_else(Span::call_site, Ident::span),
                });
            }
            "credential" => {
                let (mut cname, mut kind, mut location) = (None::<LitStr>, None, None);
                meta.parse_nested_meta(|inner| {
                    if inner.path.is_ident("name") {
                        cname = Some(inner.value()?.parse()?);
                    } else if inner.path.is_ident("kind") {
                        let k: Ident = inner.value()?.parse()?;
                        let known = one_of(
                            &k,
                            &["component_access_token", "authorizer_access_token", "component_app_id"],
                            "credential kind",
                        )?;
                        kind = Some(match known {
                            "component_access_token" => CredentialKind::ComponentAccessToken,
                            "authorizer_access_token" => CredentialKind::AuthorizerAccessToken,
                            _ => CredentialKind::ComponentAppId,
                        });
                    } else if inner.path.is_ident("location") {
                        let l: Ident = inner.value()?.parse()?;
                        let known = one_of(&l, &["query", "form", "header"], "credential location")?;
                        let at = match known {
                            "query" => Location::Query,
                            "header" => Location::Header,
                            _ => Location::Form,
                        };
                        location = Some((at, l.span()));
                    } else {
                        return Err(inner.error("expected `name`, `kind` or `location`"));
                    }
                    Ok(())
                })?;
                let missing = |what: &str| meta.error(format!("credential needs `{what}`"));
                let (location, span) = location.ok_or_else(|| missing("location"))?;
                credentials.push(Credential {
                    name: cname.ok_or_else(|| missing("name"))?.value(),
                    kind: kind.ok_or_else(|| missing("kind"))?,
                    location,
                    span,
                });
            }
            _ => {
                return Err(meta.error(
                    "unknown key; expected vendor, method, path, body, response, name, errors, idempotent, read_when, envelope, credential or crate",
                ))
            }
        }
        Ok(())
    })?;
    let need = |what: &str| Error::new_spanned(attr, format!("#[endpoint] needs `{what} = ..`"));
    let (vendor, method, path) = (
        vendor.ok_or_else(|| need("vendor"))?,
        method.ok_or_else(|| need("method"))?,
        path.ok_or_else(|| need("path"))?,
    );
    let response = response.ok_or_else(|| need("response"))?;
    let answer = match &response {
        Type::Path(tp) if tp.path.is_ident("binary") => Answer::Binary,
        _ if !envelope => Answer::BareJson(response),
        _ => Answer::Envelope(response),
    };
    let ty = input.ident.clone();
    let name = name.map(|n| n.value()).unwrap_or_else(|| {
        let s = ty.to_string();
        s.strip_suffix("Request").unwrap_or(&s).to_owned()
    });
    Ok(EndpointModel {
        ty,
        name,
        vendor,
        method,
        path,
        body,
        body_span,
        answer,
        errors,
        idempotent,
        read_when,
        credentials,
        rules,
        params: Vec::new(),
        krate: match krate {
            Some(path) => quote::quote!(#path),
            None => runtime_path(vendor_package.unwrap_or_default()),
        },
    })
}

/// How the caller's crate reaches the runtime: `core-http` when it depends on it, else the
/// runtime re-exported by the vendor crate `package` (a user who depends on one vendor crate
/// only), read from the caller's `Cargo.toml`. Neither found: `::core_http`, and the compiler
/// says what is missing (`crate = ".."` names it explicitly).
fn runtime_path(package: &str) -> proc_macro2::TokenStream {
    use proc_macro_crate::{crate_name, FoundCrate};
    let named = |name: &str| Ident::new(&name.replace('-', "_"), Span::call_site());
    match crate_name("core-http") {
        Ok(FoundCrate::Name(name)) => {
            let name = named(&name);
            quote::quote!(::#name)
        }
        Ok(FoundCrate::Itself) => quote::quote!(crate),
        Err(_) => match crate_name(package) {
            Ok(FoundCrate::Name(name)) => {
                let name = named(&name);
                quote::quote!(::#name::core_http)
            }
            Ok(FoundCrate::Itself) => quote::quote!(crate::core_http),
            Err(_) => quote::quote!(::core_http),
        },
    }
}

/// The first generic argument of `Option<..>` / `Vec<..>`, when `ty` is one.
fn wrapper<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    let Type::Path(tp) = ty else { return None };
    let seg = tp.path.segments.last()?;
    if seg.ident != name {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &seg.arguments else {
        return None;
    };
    match args.args.first()? {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    }
}

/// `Option`, `Vec` and `Secret` read from the field's type (by last path segment).
fn shape(ty: &Type) -> Shape {
    let inner = wrapper(ty, "Option");
    let ty = inner.unwrap_or(ty);
    let is_string = |ty: &Type| matches!(ty, Type::Path(tp) if tp.path.segments.last().is_some_and(|s| s.ident == "String"));
    Shape {
        optional: inner.is_some(),
        list: wrapper(ty, "Vec").is_some(),
        text_items: wrapper(ty, "Vec").is_some_and(is_string),
        secret: matches!(ty, Type::Path(tp) if tp.path.segments.last().is_some_and(|s| s.ident == "Secret")),
        text: matches!(ty, Type::Path(tp) if tp.path.segments.last().is_some_and(|s| s.ident == "String")),
    }
}

fn parse_param(field: &syn::Field) -> Result<Param> {
    let ident = field.ident.clone().expect("named field");
    let attr = field
        .attrs
        .iter()
        .find(|a| a.path().is_ident("param"))
        .ok_or_else(|| {
            Error::new(
                ident.span(),
                format!(
                    "field `{ident}` needs #[param(query | form | json, ..)] to say where it goes"
                ),
            )
        })?;
    let mut p = Param {
        wire: ident.to_string().trim_start_matches("r#").to_owned(),
        ident,
        shape: shape(&field.ty),
        loc: Location::Query,
        join: None,
        json_string: false,
        required: false,
        optional_when: None,
        limits: Limits::default(),
    };
    let mut loc = None;
    attr.parse_nested_meta(|meta| {
        let key = meta.path.get_ident().map(Ident::to_string).unwrap_or_default();
        match key.as_str() {
            "query" => loc = Some(Location::Query),
            "form" => loc = Some(Location::Form),
            "json" => loc = Some(Location::Json),
            "name" => p.wire = meta.value()?.parse::<LitStr>()?.value(),
            "join" => p.join = Some(meta.value()?.parse::<LitStr>()?.value()),
            "json_string" => p.json_string = true,
            "required" => p.required = true,
            "optional_when" => p.optional_when = Some(condition(&meta, "optional_when")?),
            "max_items" => p.limits.max_items = Some(count(&meta)?),
            "min_chars" => p.limits.min_chars = Some(count(&meta)?),
            "non_empty" => p.limits.non_empty = true,
            "max_chars" => p.limits.max_chars = Some(count(&meta)?),
            "min" => p.limits.min = Some(int(&meta)?),
            "max" => p.limits.max = Some(int(&meta)?),
            "format" => {
                let f: Ident = meta.value()?.parse()?;
                let Some(format) = miniapp_rules::Format::from_name(&f.to_string()) else {
                    let names: Vec<_> = miniapp_rules::Format::ALL.iter().map(|f| f.name()).collect();
                    return Err(Error::new(f.span(), format!("unknown format; expected one of {}", names.join(", "))));
                };
                p.limits.format = Some(format);
            }
            _ => return Err(meta.error(
                "unknown key; expected query, form, json, name, join, json_string, required, optional_when, max_items, min_chars, non_empty, max_chars, min, max or format",
            )),
        }
        Ok(())
    })?;
    p.loc = loc.ok_or_else(|| {
        Error::new_spanned(
            attr,
            format!(
                "#[param] on `{}` needs a location: query, form or json",
                p.ident
            ),
        )
    })?;
    Ok(p)
}

fn model(input: &DeriveInput) -> Result<EndpointModel> {
    let named = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(fields) => Some(fields),
            _ => None,
        },
        _ => None,
    };
    let Some(fields) = named else {
        return Err(Error::new_spanned(
            &input.ident,
            "Endpoint can only be derived for a struct with named fields",
        ));
    };
    if !input.generics.params.is_empty() {
        return Err(Error::new_spanned(
            &input.generics,
            "Endpoint cannot be derived for a generic struct",
        ));
    }
    let mut model = parse_endpoint_attr(input)?;
    model.params = fields
        .named
        .iter()
        .map(parse_param)
        .collect::<Result<Vec<_>>>()?;
    Ok(model)
}
