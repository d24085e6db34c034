//! `#[derive(Endpoint)]`: turns an annotated request struct into its
//! `core_http::Endpoint` impl (method, path, where each field goes, documented limits,
//! response type, error table).
//!
//! ```ignore
//! #[derive(core_http::Endpoint)]
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
//! Struct attribute `#[endpoint(..)]`: `vendor` (wechat | baidu | kuaishou), `method`
//! (GET | POST), `path`, `body` (none | json | form; default none), `response` (a type, or
//! `binary`), optional `name` (defaults to the struct name without `Request`), `errors` (a
//! `&'static [(i64, &'static str)]`), `idempotent` (default true), `envelope` (default true;
//! `false` for answers without the vendor envelope), any number of
//! `at_least_one(params = "a, b", when_param = "action", when_in = "add, set", rule = "..")`, and
//! any number of
//! `credential(name = "..", kind = component_access_token | authorizer_access_token |
//! component_app_id, location = query | form)`.
//!
//! Field attribute `#[param(..)]`, required on every field: a location (query | form | json),
//! then optionally `name = ".."` (wire name), `join = ";"`, `json_string`, `required`,
//! `optional_when(param = "..", equals = "..")`, `max_items = N`, `min_chars = N`,
//! `max_chars = N`, `min = N`, `max = N`, `format = NAME` (a [`miniapp_rules::Format`] name: `bare_host`, `https_or_wss_url`,
//! `https_url`, `https_url_without_port`, `wss_url`, `udp_url`, `tcp_url`).

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote};
use syn::{
    parse_macro_input, Data, DeriveInput, Error, Fields, Ident, LitInt, LitStr, Path, Result, Type,
};

/// Derives `core_http::Endpoint`; see the crate documentation for the attributes.
#[proc_macro_derive(Endpoint, attributes(endpoint, param))]
pub fn derive_endpoint(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand(&input)
        .unwrap_or_else(Error::into_compile_error)
        .into()
}

#[derive(Clone, Copy, PartialEq)]
enum Loc {
    Query,
    Form,
    Json,
}

struct Credential {
    name: LitStr,
    kind: Ident,
    location: Ident,
}

struct EndpointAttr {
    vendor: Ident,
    method: Ident,
    path: LitStr,
    body: Ident,
    response: Type,
    name: Option<LitStr>,
    errors: Option<Path>,
    idempotent: bool,
    /// `read_when(param = "..", equals = "..")`: calls with that value only read.
    read_when: Option<(LitStr, LitStr)>,
    envelope: bool,
    credentials: Vec<Credential>,
    rules: Vec<AtLeastOne>,
}

/// `at_least_one(params = "a, b", when_param = "action", when_in = "add, set", rule = "..")`.
struct AtLeastOne {
    params: Vec<String>,
    when: Option<(String, Vec<String>)>,
    rule: String,
    span: Span,
}

fn split_list(lit: &LitStr) -> Vec<String> {
    lit.value()
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

struct Param {
    ident: Ident,
    ty: Type,
    loc: Loc,
    wire: String,
    join: Option<LitStr>,
    json_string: bool,
    required: bool,
    optional_when: Option<(LitStr, LitStr)>,
    max_items: Option<LitInt>,
    min_chars: Option<LitInt>,
    max_chars: Option<LitInt>,
    min: Option<syn::Expr>,
    max: Option<syn::Expr>,
    format: Option<Ident>,
}

fn one_of(ident: &Ident, allowed: &[&str], what: &str) -> Result<()> {
    if allowed.iter().any(|a| ident == a) {
        Ok(())
    } else {
        Err(Error::new(
            ident.span(),
            format!(
                "unknown {what} `{ident}`; expected one of: {}",
                allowed.join(", ")
            ),
        ))
    }
}

fn parse_endpoint_attr(input: &DeriveInput) -> Result<EndpointAttr> {
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
    let (mut vendor, mut method, mut path, mut body) = (None, None, None, None);
    let (mut response, mut name, mut errors) = (None, None, None);
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
                one_of(&v, &["wechat", "baidu", "kuaishou"], "vendor")?;
                vendor = Some(v);
            }
            "method" => {
                let v: Ident = meta.value()?.parse()?;
                one_of(&v, &["GET", "POST"], "method")?;
                method = Some(v);
            }
            "path" => {
                let v: LitStr = meta.value()?.parse()?;
                if !v.value().starts_with('/') {
                    return Err(Error::new(v.span(), "`path` must start with `/`"));
                }
                path = Some(v);
            }
            "body" => {
                let v: Ident = meta.value()?.parse()?;
                one_of(&v, &["none", "json", "form"], "body")?;
                body = Some(v);
            }
            "response" => response = Some(meta.value()?.parse()?),
            "name" => name = Some(meta.value()?.parse()?),
            "errors" => errors = Some(meta.value()?.parse()?),
            "idempotent" => idempotent = meta.value()?.parse::<syn::LitBool>()?.value,
            "envelope" => envelope = meta.value()?.parse::<syn::LitBool>()?.value,
            "read_when" => {
                let (mut param, mut equals) = (None, None);
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
                    (Some(a), Some(b)) => read_when = Some((a, b)),
                    _ => return Err(meta.error("read_when needs `param = \"..\"` and `equals = \"..\"`")),
                }
            }
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
                let params = params.ok_or_else(|| meta.error("at_least_one needs `params = \"a, b\"`"))?;
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
                let (mut cname, mut kind, mut location) = (None, None, None);
                meta.parse_nested_meta(|inner| {
                    if inner.path.is_ident("name") {
                        cname = Some(inner.value()?.parse()?);
                    } else if inner.path.is_ident("kind") {
                        let k: Ident = inner.value()?.parse()?;
                        one_of(
                            &k,
                            &["component_access_token", "authorizer_access_token", "component_app_id"],
                            "credential kind",
                        )?;
                        kind = Some(k);
                    } else if inner.path.is_ident("location") {
                        let l: Ident = inner.value()?.parse()?;
                        one_of(&l, &["query", "form"], "credential location")?;
                        location = Some(l);
                    } else {
                        return Err(inner.error("expected `name`, `kind` or `location`"));
                    }
                    Ok(())
                })?;
                let missing = |what: &str| meta.error(format!("credential needs `{what}`"));
                credentials.push(Credential {
                    name: cname.ok_or_else(|| missing("name"))?,
                    kind: kind.ok_or_else(|| missing("kind"))?,
                    location: location.ok_or_else(|| missing("location"))?,
                });
            }
            _ => {
                return Err(meta.error(
                    "unknown key; expected vendor, method, path, body, response, name, errors, idempotent, read_when, envelope or credential",
                ))
            }
        }
        Ok(())
    })?;
    let need = |what: &str| Error::new_spanned(attr, format!("#[endpoint] needs `{what} = ..`"));
    let body = body.unwrap_or_else(|| Ident::new("none", Span::call_site()));
    Ok(EndpointAttr {
        vendor: vendor.ok_or_else(|| need("vendor"))?,
        method: method.ok_or_else(|| need("method"))?,
        path: path.ok_or_else(|| need("path"))?,
        body,
        response: response.ok_or_else(|| need("response"))?,
        name,
        errors,
        idempotent,
        read_when,
        envelope,
        credentials,
        rules,
    })
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
        ty: field.ty.clone(),
        loc: Loc::Query,
        join: None,
        json_string: false,
        required: false,
        optional_when: None,
        max_items: None,
        min_chars: None,
        max_chars: None,
        min: None,
        max: None,
        format: None,
    };
    let mut loc = None;
    attr.parse_nested_meta(|meta| {
        let key = meta.path.get_ident().map(Ident::to_string).unwrap_or_default();
        match key.as_str() {
            "query" => loc = Some(Loc::Query),
            "form" => loc = Some(Loc::Form),
            "json" => loc = Some(Loc::Json),
            "name" => p.wire = meta.value()?.parse::<LitStr>()?.value(),
            "join" => p.join = Some(meta.value()?.parse()?),
            "json_string" => p.json_string = true,
            "required" => p.required = true,
            "optional_when" => {
                let (mut param, mut equals) = (None, None);
                meta.parse_nested_meta(|inner| {
                    if inner.path.is_ident("param") {
                        param = Some(inner.value()?.parse()?);
                    } else if inner.path.is_ident("equals") {
                        equals = Some(inner.value()?.parse()?);
                    } else {
                        return Err(inner.error("expected `param` or `equals`"));
                    }
                    Ok(())
                })?;
                match (param, equals) {
                    (Some(a), Some(b)) => p.optional_when = Some((a, b)),
                    _ => return Err(meta.error("optional_when needs `param = \"..\"` and `equals = \"..\"`")),
                }
            }
            "max_items" => p.max_items = Some(meta.value()?.parse()?),
            "min_chars" => p.min_chars = Some(meta.value()?.parse()?),
            "max_chars" => p.max_chars = Some(meta.value()?.parse()?),
            "min" => p.min = Some(meta.value()?.parse()?),
            "max" => p.max = Some(meta.value()?.parse()?),
            "format" => {
                let f: Ident = meta.value()?.parse()?;
                if miniapp_rules::Format::from_name(&f.to_string()).is_none() {
                    let names: Vec<_> = miniapp_rules::Format::ALL.iter().map(|f| f.name()).collect();
                    return Err(syn::Error::new(f.span(), format!("unknown format; expected one of {}", names.join(", "))));
                }
                p.format = Some(f);
            }
            _ => return Err(meta.error(
                "unknown key; expected query, form, json, name, join, json_string, required, optional_when, max_items, min_chars, max_chars, min, max or format",
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

/// Whether `ty` is `Secret` or `Option<Secret>` (by its last path segment).
fn is_secret(ty: &Type) -> bool {
    let ty = wrapper(ty, "Option").unwrap_or(ty);
    matches!(ty, Type::Path(tp) if tp.path.segments.last().is_some_and(|s| s.ident == "Secret"))
}

fn encode_pair(p: &Param, sink: &Ident) -> TokenStream2 {
    let (ident, wire) = (&p.ident, &p.wire);
    if let Some(sep) = &p.join {
        quote! {
            if let ::core::option::Option::Some(v) = ::core_http::wire::join(&self.#ident, #sep) {
                #sink.put(#wire, &v);
            }
        }
    } else if p.json_string {
        if wrapper(&p.ty, "Option").is_some() {
            quote! {
                if let ::core::option::Option::Some(value) = &self.#ident {
                    if let ::core::option::Option::Some(v) = ::core_http::wire::json_text(value) {
                        #sink.put(#wire, &v);
                    }
                }
            }
        } else {
            quote! {
                if let ::core::option::Option::Some(v) = ::core_http::wire::json_text(&self.#ident) {
                    #sink.put(#wire, &v);
                }
            }
        }
    } else {
        quote! {
            if let ::core::option::Option::Some(v) = ::core_http::wire::ToParam::to_param(&self.#ident) {
                #sink.put(#wire, &v);
            }
        }
    }
}

fn encode_json(p: &Param) -> TokenStream2 {
    let (ident, wire) = (&p.ident, &p.wire);
    let is_option = wrapper(&p.ty, "Option").is_some();
    let secret = is_secret(&p.ty);
    if secret {
        // A credential value: exposed on the wire only.
        return if is_option {
            quote! {
                if let ::core::option::Option::Some(v) = &self.#ident {
                    map.serialize_entry(#wire, v.expose())?;
                }
            }
        } else {
            quote!(map.serialize_entry(#wire, self.#ident.expose())?;)
        };
    }
    let value = if let Some(sep) = &p.join {
        quote!(&::core_http::wire::Joined(&self.#ident, #sep))
    } else if p.json_string {
        quote!(&::core_http::wire::json_text(&self.#ident))
    } else {
        quote!(&self.#ident)
    };
    if is_option {
        quote! {
            if self.#ident.is_some() {
                map.serialize_entry(#wire, #value)?;
            }
        }
    } else {
        quote!(map.serialize_entry(#wire, #value)?;)
    }
}

fn checks(p: &Param, all: &[Param], name: &LitStr) -> Result<TokenStream2> {
    let (ident, wire) = (&p.ident, &p.wire);
    let mut out = TokenStream2::new();
    if p.required {
        // An explicit empty list is a value (e.g. "clear these domains"); only `None` is absent.
        let present = if wrapper(&p.ty, "Option").is_some() {
            quote!(self.#ident.is_some())
        } else {
            quote!(true)
        };
        let unless = match &p.optional_when {
            Some((param, equals)) => {
                let other = all.iter().find(|o| o.wire == param.value()).ok_or_else(|| {
                    Error::new(param.span(), format!("optional_when names `{}`, which is not a parameter of this request", param.value()))
                })?;
                let other_ident = &other.ident;
                let text = format!("{} = {}", param.value(), equals.value());
                quote! {
                    ::core::option::Option::Some((#text,
                        ::core_http::wire::ToParam::to_param(&self.#other_ident).as_deref() == ::core::option::Option::Some(#equals)))
                }
            }
            None => quote!(::core::option::Option::None),
        };
        out.extend(quote! { ::core_http::validate::required(#name, #wire, #present, #unless)?; });
    } else if let Some((param, _)) = &p.optional_when {
        return Err(Error::new(
            param.span(),
            "optional_when only makes sense with `required`",
        ));
    }
    if let Some(max) = &p.max_items {
        let count = if let Some(inner) = wrapper(&p.ty, "Option") {
            if wrapper(inner, "Vec").is_none() {
                return Err(Error::new(
                    max.span(),
                    "max_items needs a Vec or Option<Vec> field",
                ));
            }
            quote!(self.#ident.as_ref().map_or(0, |v| v.len()))
        } else if wrapper(&p.ty, "Vec").is_some() {
            quote!(self.#ident.len())
        } else {
            return Err(Error::new(
                max.span(),
                "max_items needs a Vec or Option<Vec> field",
            ));
        };
        out.extend(quote! { ::core_http::validate::max_items(#name, #wire, #count, #max)?; });
    }
    let opt = |v: &Option<LitInt>| match v {
        Some(v) => quote!(::core::option::Option::Some(#v)),
        None => quote!(::core::option::Option::None),
    };
    if p.min_chars.is_some() || p.max_chars.is_some() {
        let (lo, hi) = (opt(&p.min_chars), opt(&p.max_chars));
        out.extend(quote! { ::core_http::validate::chars(#name, #wire, &self.#ident, #lo, #hi)?; });
    }
    if p.min.is_some() || p.max.is_some() {
        let some = |v: &Option<syn::Expr>| match v {
            Some(v) => quote!(::core::option::Option::Some(#v)),
            None => quote!(::core::option::Option::None),
        };
        let (lo, hi) = (some(&p.min), some(&p.max));
        out.extend(quote! { ::core_http::validate::range(#name, #wire, &self.#ident, #lo, #hi)?; });
    }
    if let Some(f) = &p.format {
        let format = miniapp_rules::Format::from_name(&f.to_string()).expect("checked when parsed");
        let variant = format_ident!("{}", format.variant());
        // A joined list sends only its non-empty items; check what is sent.
        let value = if p.join.is_some() {
            quote!(&::core_http::validate::JoinedItems(&self.#ident))
        } else {
            quote!(&self.#ident)
        };
        out.extend(quote! { ::core_http::validate::format(#name, #wire, #value, ::core_http::__private::Format::#variant)?; });
    }
    Ok(out)
}

fn find_param<'a>(params: &'a [Param], wire: &str, span: Span) -> Result<&'a Param> {
    params
        .iter()
        .find(|p| p.wire == wire)
        .ok_or_else(|| Error::new(span, format!("`{wire}` is not a parameter of this request")))
}

fn at_least_one_check(rule: &AtLeastOne, params: &[Param], name: &LitStr) -> Result<TokenStream2> {
    let mut present = Vec::new();
    for wire in &rule.params {
        let p = find_param(params, wire, rule.span)?;
        let ident = &p.ident;
        present.push(if p.join.is_some() {
            // A joined list sends only its non-empty items.
            quote!(::core_http::validate::HasItems::has_items(&self.#ident))
        } else {
            match wrapper(&p.ty, "Option") {
                Some(inner) if wrapper(inner, "Vec").is_some() => {
                    quote!(self.#ident.as_ref().is_some_and(|v| !v.is_empty()))
                }
                Some(_) => quote!(self.#ident.is_some()),
                None if wrapper(&p.ty, "Vec").is_some() => quote!(!self.#ident.is_empty()),
                None => quote!(true),
            }
        });
    }
    let applies = match &rule.when {
        Some((param, values)) => {
            let ident = &find_param(params, param, rule.span)?.ident;
            quote! {
                matches!(::core_http::wire::ToParam::to_param(&self.#ident).as_deref(), ::core::option::Option::Some(#(#values)|*))
            }
        }
        None => quote!(true),
    };
    let field = &rule.params[0];
    let text = &rule.rule;
    Ok(quote! {
        if #applies && !(#(#present)||*) {
            return ::core::result::Result::Err(::core_http::InvalidRequest {
                endpoint: #name,
                field: #field,
                rule: ::std::string::String::from(#text),
                given: ::std::string::String::from("none of them"),
            });
        }
    })
}

fn expand(input: &DeriveInput) -> Result<TokenStream2> {
    let Data::Struct(data) = &input.data else {
        return Err(Error::new_spanned(
            &input.ident,
            "Endpoint can only be derived for a struct with named fields",
        ));
    };
    let Fields::Named(fields) = &data.fields else {
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
    let attr = parse_endpoint_attr(input)?;
    let params = fields
        .named
        .iter()
        .map(parse_param)
        .collect::<Result<Vec<_>>>()?;

    for p in &params {
        let ok = match p.loc {
            Loc::Query => true,
            Loc::Form => attr.body == "form",
            Loc::Json => attr.body == "json",
        };
        if !ok {
            return Err(Error::new(
                p.ident.span(),
                format!(
                    "`{}` goes in the {} body, but the endpoint's body is `{}`",
                    p.ident,
                    if p.loc == Loc::Form { "form" } else { "json" },
                    attr.body
                ),
            ));
        }
    }
    for c in &attr.credentials {
        if c.location == "form" && attr.body != "form" {
            return Err(Error::new(
                c.location.span(),
                "a form credential needs `body = form`",
            ));
        }
    }
    if attr.method == "GET" && attr.body != "none" {
        return Err(Error::new(
            attr.body.span(),
            "a GET endpoint cannot have a body",
        ));
    }

    let ty = &input.ident;
    let name = attr.name.clone().unwrap_or_else(|| {
        let s = ty.to_string();
        LitStr::new(s.strip_suffix("Request").unwrap_or(&s), ty.span())
    });
    let vendor = format_ident!(
        "{}",
        match attr.vendor.to_string().as_str() {
            "wechat" => "Wechat",
            "baidu" => "Baidu",
            _ => "Kuaishou",
        }
    );
    let method = if attr.method == "GET" {
        quote!(Get)
    } else {
        quote!(Post)
    };
    let body = format_ident!(
        "{}",
        match attr.body.to_string().as_str() {
            "json" => "Json",
            "form" => "Form",
            _ => "None",
        }
    );
    let path = &attr.path;
    let idempotent = attr.idempotent;
    let is_idempotent = match &attr.read_when {
        None => quote!(),
        Some((param, equals)) => {
            let field = params
                .iter()
                .find(|f| f.wire == param.value())
                .ok_or_else(|| {
                    Error::new(
                        param.span(),
                        format!(
                            "read_when names `{}`, which is not a parameter of this request",
                            param.value()
                        ),
                    )
                })?;
            let ident = &field.ident;
            quote! {
                fn is_idempotent(&self) -> bool {
                    Self::IDEMPOTENT
                        || ::core_http::wire::ToParam::to_param(&self.#ident).as_deref()
                            == ::core::option::Option::Some(#equals)
                }
            }
        }
    };
    let errors = match &attr.errors {
        Some(p) => quote!(#p),
        None => quote!(&[]),
    };
    let creds = attr.credentials.iter().map(|c| {
        let cname = &c.name;
        let kind = format_ident!(
            "{}",
            match c.kind.to_string().as_str() {
                "component_access_token" => "ComponentAccessToken",
                "authorizer_access_token" => "AuthorizerAccessToken",
                _ => "ComponentAppId",
            }
        );
        let loc = if c.location == "query" {
            quote!(Query)
        } else {
            quote!(Form)
        };
        quote! {
            ::core_http::CredentialParam {
                name: #cname,
                kind: ::core_http::CredentialKind::#kind,
                location: ::core_http::Location::#loc,
            }
        }
    });
    let response_ty = &attr.response;
    let binary = matches!(response_ty, Type::Path(tp) if tp.path.is_ident("binary"));
    let (response, decode) = if binary {
        (
            quote!(::core_http::Binary),
            quote!(::core_http::envelope::decode_binary::<Self>(raw)),
        )
    } else if !attr.envelope {
        (
            quote!(#response_ty),
            quote!(::core_http::envelope::decode_bare_json::<Self>(raw)),
        )
    } else {
        (
            quote!(#response_ty),
            quote!(::core_http::envelope::decode_json::<Self>(raw)),
        )
    };

    let q = format_ident!("query");
    let f = format_ident!("form");
    let query = params
        .iter()
        .filter(|p| p.loc == Loc::Query)
        .map(|p| encode_pair(p, &q));
    let form = params
        .iter()
        .filter(|p| p.loc == Loc::Form)
        .map(|p| encode_pair(p, &f));
    let json = params
        .iter()
        .filter(|p| p.loc == Loc::Json)
        .map(encode_json);
    let mut validations = params
        .iter()
        .map(|p| checks(p, &params, &name))
        .collect::<Result<Vec<_>>>()?;
    for rule in &attr.rules {
        validations.push(at_least_one_check(rule, &params, &name)?);
    }
    let uses_query = params.iter().any(|p| p.loc == Loc::Query);
    let uses_form = params.iter().any(|p| p.loc == Loc::Form);
    let uses_json = params.iter().any(|p| p.loc == Loc::Json);
    let qname = if uses_query {
        quote!(query)
    } else {
        quote!(_query)
    };
    let fname = if uses_form {
        quote!(form)
    } else {
        quote!(_form)
    };
    let mname = if uses_json { quote!(map) } else { quote!(_map) };

    Ok(quote! {
        impl ::core_http::Endpoint for #ty {
            type Response = #response;
            const VENDOR: ::core_http::Vendor = ::core_http::Vendor::#vendor;
            const NAME: &'static str = #name;
            const METHOD: ::core_http::Method = ::core_http::Method::#method;
            const PATH: &'static str = #path;
            const BODY: ::core_http::BodyKind = ::core_http::BodyKind::#body;
            const CREDENTIALS: &'static [::core_http::CredentialParam] = &[#(#creds),*];
            const ERRORS: &'static [(i64, &'static str)] = #errors;
            const IDEMPOTENT: bool = #idempotent;

            #is_idempotent

            fn validate(&self) -> ::core::result::Result<(), ::core_http::InvalidRequest> {
                #(#validations)*
                ::core::result::Result::Ok(())
            }

            fn write_query(&self, #qname: &mut ::core_http::ParamSink<'_>) {
                #(#query)*
            }

            fn write_form(&self, #fname: &mut ::core_http::ParamSink<'_>) {
                #(#form)*
            }

            fn write_json<M: ::core_http::__private::serde::ser::SerializeMap>(
                &self,
                #mname: &mut M,
            ) -> ::core::result::Result<(), M::Error> {
                #(#json)*
                ::core::result::Result::Ok(())
            }

            fn decode(raw: ::core_http::RawResponse) -> ::core::result::Result<Self::Response, ::core_http::Error> {
                #decode
            }
        }
    })
}
