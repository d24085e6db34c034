//! A spec file to its generated module: request types (with their `Endpoint` impl from
//! [`crate::endpoint`]), responses, objects, enums, error tables, handle methods, push events.

use anyhow::{bail, Result};
use miniapp_spec::{
    Confidence, CredentialKind, DataShape, Endpoint, EnumRepr, EnumType, Event, Field, Idempotency,
    Location, ObjectType, PushFormat, ResponseKind, SpecFile, TypeRef, Vendor,
};
use proc_macro2::{Ident, Literal, Span, TokenStream};

use crate::endpoint::EndpointModel;
use quote::{format_ident, quote};

pub(crate) fn ident(name: &str) -> Result<Ident> {
    match syn::parse_str::<Ident>(name) {
        Ok(i) => Ok(i),
        Err(_) => bail!("`{name}` is not a usable Rust identifier; set `rust_name` in the spec"),
    }
}

/// Escapes `[` and `]` of document text for rustdoc (the notes' `[m]`/`[?]` marks are not
/// links); the generator's own intra-doc links are written as ``[`Name`]`` and kept.
pub(crate) fn escape_brackets(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len());
    for (i, &c) in chars.iter().enumerate() {
        let link_open = c == '[' && chars.get(i + 1) == Some(&'`');
        let link_close = c == ']' && i > 0 && chars[i - 1] == '`';
        if (c == '[' || c == ']') && !link_open && !link_close {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub(crate) fn doc(text: &str) -> TokenStream {
    let lines: Vec<TokenStream> = text
        .trim()
        .lines()
        .map(|l| {
            let l = format!(" {}", escape_brackets(l.trim_end()));
            quote!(#[doc = #l])
        })
        .collect();
    quote!(#(#lines)*)
}

fn screaming(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// The Rust type of a spec type.
fn rust_type(ty: &TypeRef) -> Result<TokenStream> {
    Ok(match ty {
        TypeRef::String => quote!(String),
        TypeRef::Integer => quote!(i64),
        TypeRef::Boolean => quote!(bool),
        TypeRef::Json => quote!(core_http::__private::serde_json::Value),
        TypeRef::Named(n) => {
            let i = ident(n)?;
            quote!(#i)
        }
        TypeRef::List(t) => {
            let t = rust_type(t)?;
            quote!(Vec<#t>)
        }
        TypeRef::Map(t) => {
            let t = rust_type(t)?;
            quote!(std::collections::BTreeMap<String, #t>)
        }
    })
}

/// The Rust type of a field: its spec type, or `Secret` for credential values.
fn field_type(f: &Field) -> Result<TokenStream> {
    if f.secret {
        return Ok(quote!(core_http::Secret));
    }
    rust_type(f.type_ref())
}

/// What the docs say of a fact that is not verified.
fn confidence_note(c: Confidence) -> &'static str {
    match c {
        Confidence::Verified => "",
        Confidence::Mirror => {
            "Unverified: seen only in a mirror, a community post or third-party code."
        }
        Confidence::Unverified => {
            "Unverified: not found in the vendor's documents, or sources conflict."
        }
    }
}

fn limits_doc(f: &Field) -> String {
    let l = &f.limits;
    let mut parts = Vec::new();
    if l.non_empty {
        parts.push("not empty when present".into());
    }
    if let Some(n) = l.max_items {
        parts.push(format!("at most {n} items"));
    }
    match (l.min_chars, l.max_chars) {
        (Some(a), Some(b)) => parts.push(format!("{a} to {b} characters")),
        (None, Some(b)) => parts.push(format!("at most {b} characters")),
        (Some(a), None) => parts.push(format!("at least {a} characters")),
        _ => {}
    }
    match (l.min, l.max) {
        (Some(a), Some(b)) => parts.push(format!("{a} to {b}")),
        (None, Some(b)) => parts.push(format!("at most {b}")),
        (Some(a), None) => parts.push(format!("at least {a}")),
        _ => {}
    }
    if let Some(format) = l.format {
        parts.push(format!("each {}", format.rule()));
    }
    parts.join(", ")
}

fn field_doc(f: &Field, wire_note: String) -> TokenStream {
    let mut text = f.description.clone();
    if text.is_empty() {
        text = "(no description in the document)".into();
    }
    text.push_str("\n\n");
    text.push_str(&wire_note);
    let limits = limits_doc(f);
    if !limits.is_empty() {
        text.push_str(&format!("\nLimits (checked before sending): {limits}."));
    }
    if let Some(cond) = &f.optional_when {
        text.push_str(&format!(
            "\nRequired unless `{} = \"{}\"`.",
            cond.param, cond.equals
        ));
    }
    if let Some(q) = &f.quirk {
        text.push_str(&format!("\nDocument quirk: {q}"));
    }
    if let Some(c) = f.confidence.filter(|c| *c != Confidence::Verified) {
        text.push_str(&format!("\n{}", confidence_note(c)));
    }
    doc(&text)
}

fn wire_note(f: &Field) -> String {
    let mut note = format!("Wire name `{}`", f.name);
    if let Some(sep) = &f.join {
        note.push_str(&format!(", sent as one string joined by `{sep}`"));
    }
    if f.json_string {
        note.push_str(", sent as JSON text in a string");
    }
    if !f.aliases.is_empty() {
        note.push_str(&format!(", also accepted as `{}`", f.aliases.join("`, `")));
    }
    if f.lenient {
        note.push_str(", accepted as a number or a numeric string");
    }
    note.push('.');
    note
}

/// Serde attributes and type of a decoded (response, object, event) field.
fn decoded_field(f: &Field, optional: bool) -> Result<TokenStream> {
    decoded_field_in(f, optional, false)
}

/// `transparent`: the field is the whole payload (`#[serde(transparent)]`), which allows no
/// `default`; `null` decodes as `None`.
fn decoded_field_in(f: &Field, optional: bool, transparent: bool) -> Result<TokenStream> {
    let name = ident(&f.rust_ident())?;
    let ty = f.type_ref().clone();
    let mut attrs = Vec::new();
    if f.rust_ident() != f.name {
        let wire = &f.name;
        attrs.push(quote!(rename = #wire));
    }
    for alias in &f.aliases {
        attrs.push(quote!(alias = #alias));
    }
    let inner = field_type(f)?;
    let mut with = None;
    if let Some(sep) = &f.join {
        with = Some(match sep.as_str() {
            ";" => "core_http::__private::de::semicolon_list",
            "," => "core_http::__private::de::comma_list",
            other => bail!("field `{}`: unsupported join separator `{other}`", f.name),
        });
    } else if f.lenient {
        if ty != TypeRef::Integer {
            bail!("field `{}`: `lenient` is for integers", f.name);
        }
        with = Some("core_http::__private::de::lenient_int");
    } else if f.json_string {
        with = Some("core_http::__private::de::json_string");
    }
    let optional = optional || with.is_some();
    if let Some(with) = with {
        if transparent {
            attrs.push(quote!(deserialize_with = #with));
        } else {
            attrs.push(quote!(default, deserialize_with = #with));
        }
    } else if optional && !transparent {
        attrs.push(quote!(default));
    }
    if optional && !transparent {
        attrs.push(quote!(skip_serializing_if = "Option::is_none"));
    }
    let ty = if optional {
        quote!(Option<#inner>)
    } else {
        inner
    };
    let doc = field_doc(f, wire_note(f));
    let serde = if attrs.is_empty() {
        quote!()
    } else {
        quote!(#[serde(#(#attrs),*)])
    };
    Ok(quote! {
        #doc
        #serde
        pub #name: #ty,
    })
}

/// Names of the objects that hold a secret, directly or through another object: they get no
/// `Serialize` (re-emitting them must not leak a token).
fn secret_types(spec: &SpecFile) -> std::collections::BTreeSet<String> {
    let mut found = std::collections::BTreeSet::new();
    loop {
        let before = found.len();
        for o in &spec.objects {
            if o.fields.iter().any(|f| holds_secret(f, &found)) {
                found.insert(o.name.clone());
            }
        }
        if found.len() == before {
            return found;
        }
    }
}

fn holds_secret(f: &Field, secret_types: &std::collections::BTreeSet<String>) -> bool {
    f.secret
        || f.type_ref()
            .named()
            .is_some_and(|n| secret_types.contains(n))
}

/// The derives of a decoded struct: no `Default` when a required field holds a secret.
fn decoded_derives(
    fields: &[Field],
    secret_types: &std::collections::BTreeSet<String>,
) -> TokenStream {
    let secret = fields.iter().any(|f| holds_secret(f, secret_types));
    let required_secret = fields
        .iter()
        .any(|f| f.required && holds_secret(f, secret_types));
    let default = if required_secret {
        quote!()
    } else {
        quote!(Default,)
    };
    if secret {
        quote!(#[derive(Debug, Clone, #default PartialEq, serde::Deserialize)])
    } else {
        quote!(#[derive(Debug, Clone, #default PartialEq, serde::Serialize, serde::Deserialize)])
    }
}

fn object(
    o: &ObjectType,
    secret_types: &std::collections::BTreeSet<String>,
) -> Result<TokenStream> {
    let name = ident(&o.name)?;
    let doc = doc(if o.description.is_empty() {
        &o.name
    } else {
        &o.description
    });
    let fields = o
        .fields
        .iter()
        .map(|f| decoded_field(f, !f.required))
        .collect::<Result<Vec<_>>>()?;
    let derives = decoded_derives(&o.fields, secret_types);
    Ok(quote! {
        #doc
        #derives
        pub struct #name {
            #(#fields)*
        }
    })
}

fn enumeration(e: &EnumType) -> Result<TokenStream> {
    let name = ident(&e.name)?;
    let mut type_doc = if e.description.is_empty() {
        e.name.clone()
    } else {
        e.description.clone()
    };
    type_doc.push_str("\n\nWire values: ");
    type_doc.push_str(
        &e.values
            .iter()
            .map(|v| format!("`{}`", v.wire))
            .collect::<Vec<_>>()
            .join(", "),
    );
    type_doc.push('.');
    let type_doc = doc(&type_doc);
    let variants = e
        .values
        .iter()
        .map(|v| {
            let i = ident(&v.rust)?;
            let d = doc(&format!("`{}`: {}", v.wire, v.description));
            Ok(quote!(#d #i,))
        })
        .collect::<Result<Vec<_>>>()?;
    let idents = e
        .values
        .iter()
        .map(|v| ident(&v.rust))
        .collect::<Result<Vec<_>>>()?;
    let wires: Vec<&str> = e.values.iter().map(|v| v.wire.as_str()).collect();
    let repr = match e.repr {
        EnumRepr::String => quote!(string),
        EnumRepr::Integer => {
            for w in &wires {
                if w.parse::<i64>().is_err() {
                    bail!("enum {}: wire value `{w}` is not an integer", e.name);
                }
            }
            quote!(integer)
        }
    };
    Ok(quote! {
        #type_doc
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum #name {
            #(#variants)*
        }

        impl #name {
            /// Every documented value.
            pub const ALL: &'static [Self] = &[#(Self::#idents),*];

            /// The wire value, as text.
            pub const fn as_str(&self) -> &'static str {
                match self {
                    #(Self::#idents => #wires,)*
                }
            }

            /// The value for a wire text, if documented.
            pub fn from_wire(text: &str) -> Option<Self> {
                match text {
                    #(#wires => Some(Self::#idents),)*
                    _ => None,
                }
            }
        }

        core_http::wire_enum_impls!(#name, #repr);
    })
}

/// The endpoint model `miniapp-codegen` writes the `Endpoint` impl from: the same model the
/// derive macro builds from a hand-written struct.
fn endpoint_model(spec: &SpecFile, ep: &Endpoint, errors_const: &Ident) -> Result<EndpointModel> {
    use crate::endpoint as m;
    let span = Span::call_site();
    let answer = match ep.response {
        ResponseKind::BinaryOrJsonError => m::Answer::Binary,
        ResponseKind::BareJson => {
            m::Answer::BareJson(syn::parse_str(&format!("{}Response", ep.name))?)
        }
        _ => m::Answer::Envelope(syn::parse_str(&format!("{}Response", ep.name))?),
    };
    let condition = |c: &miniapp_spec::Condition| m::Condition {
        param: c.param.clone(),
        equals: c.equals.clone(),
        span,
    };
    let params = ep
        .params
        .iter()
        .map(|p| {
            let mandatory = p.is_mandatory();
            Ok(m::Param {
                ident: ident(&p.rust_ident())?,
                shape: m::Shape {
                    optional: !mandatory,
                    list: matches!(p.type_ref(), TypeRef::List(_)),
                    secret: p.secret,
                    text: !p.secret && *p.type_ref() == TypeRef::String,
                    text_items: matches!(p.type_ref(), TypeRef::List(inner) if **inner == TypeRef::String),
                },
                loc: p.location.expect("validated by the spec loader"),
                wire: p.name.clone(),
                join: p.join.clone(),
                json_string: p.json_string,
                required: p.required,
                optional_when: p.optional_when.as_ref().map(condition),
                limits: p.limits.clone(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(EndpointModel {
        ty: format_ident!("{}Request", ep.name),
        name: ep.name.clone(),
        vendor: vendor_variant(spec.vendor),
        method: ep.method,
        path: ep.path.clone(),
        body: ep.body,
        body_span: span,
        answer,
        errors: Some(errors_const.clone().into()),
        krate: quote!(::core_http),
        idempotent: ep.idempotency == Idempotency::Idempotent,
        read_when: ep.read_when.as_ref().map(condition),
        credentials: ep
            .credentials
            .iter()
            .map(|c| m::Credential {
                name: c.name.clone(),
                kind: c.kind,
                location: c.location,
                span,
            })
            .collect(),
        rules: ep
            .rules
            .iter()
            .map(|r| m::AtLeastOne {
                params: r.at_least_one_of.clone(),
                when: r.when.as_ref().map(|w| (w.param.clone(), w.values.clone())),
                rule: r.description.clone(),
                span,
            })
            .collect(),
        params,
    })
}

fn request(spec: &SpecFile, ep: &Endpoint, errors_const: &Ident) -> Result<TokenStream> {
    let name = format_ident!("{}Request", ep.name);
    let model = endpoint_model(spec, ep, errors_const)?;
    let endpoint_impl = crate::endpoint::impl_endpoint(&model)
        .map_err(|e| anyhow::anyhow!("endpoint `{}`: {e}", ep.name))?;

    let mut fields = Vec::new();
    let mut ctor_args = Vec::new();
    let mut ctor_inits = Vec::new();
    for p in &ep.params {
        let fname = ident(&p.rust_ident())?;
        let ty = p.type_ref().clone();
        let inner = field_type(p)?;
        let mandatory = p.is_mandatory();
        let rust_ty = if mandatory {
            inner.clone()
        } else {
            quote!(Option<#inner>)
        };
        let mut note = wire_note(p);
        note.push_str(&format!(
            " Sent in the {}.",
            match p.location {
                Some(Location::Query) => "query string",
                Some(Location::Form) => "form body",
                _ => "JSON body",
            }
        ));
        let d = field_doc(p, note);
        fields.push(quote! {
            #d
            pub #fname: #rust_ty,
        });
        if mandatory && p.secret {
            ctor_args.push(quote!(#fname: impl Into<core_http::Secret>));
            ctor_inits.push(quote!(#fname: #fname.into()));
        } else if mandatory && ty == TypeRef::String {
            ctor_args.push(quote!(#fname: impl Into<String>));
            ctor_inits.push(quote!(#fname: #fname.into()));
        } else if mandatory {
            ctor_args.push(quote!(#fname: #inner));
            ctor_inits.push(quote!(#fname));
        } else {
            ctor_inits.push(quote!(#fname: None));
        }
    }
    let mut d = format!("Request of 「{}」.\n\n{}", ep.title, ep.description);
    d.push_str(&format!(
        "\n\n`{} {}{}`",
        ep.method.as_str(),
        ep.base_url,
        ep.path
    ));
    if let Some(url) = &ep.doc_url {
        d.push_str(&format!("\n\nDocument: <{url}>"));
    }
    if ep.confidence != Confidence::Verified {
        d.push_str(&format!("\n\n{}", confidence_note(ep.confidence)));
    }
    if !ep.quirks.is_empty() {
        d.push_str("\n\nDocument quirks:");
        for q in &ep.quirks {
            d.push_str(&format!("\n- {q}"));
        }
    }
    let d = doc(&d);
    let ctor_doc = if ctor_args.is_empty() {
        " A request with every optional parameter left out."
    } else {
        " A request with the required parameters; optional ones are left out."
    };
    let derive_default = if ctor_args.is_empty() {
        quote!(Default,)
    } else {
        quote!()
    };
    Ok(quote! {
        #d
        #[derive(Debug, Clone, PartialEq, #derive_default)]
        pub struct #name {
            #(#fields)*
        }

        #endpoint_impl

        impl #name {
            #[doc = #ctor_doc]
            #[allow(clippy::new_without_default)]
            pub fn new(#(#ctor_args),*) -> Self {
                Self { #(#ctor_inits),* }
            }
        }
    })
}

fn response(
    ep: &Endpoint,
    secret_types: &std::collections::BTreeSet<String>,
) -> Result<TokenStream> {
    if ep.response == ResponseKind::BinaryOrJsonError {
        return Ok(quote!());
    }
    let name = format_ident!("{}Response", ep.name);
    let d = doc(&format!(
        "Successful answer of 「{}」 (the envelope's status members are checked and dropped).",
        ep.title
    ));
    // A field the document guarantees on success is not an `Option`: an answer without it
    // is an `Error::Decode` naming it.
    for f in &ep.fields {
        if f.required && (f.join.is_some() || f.lenient || f.json_string) {
            bail!(
                "endpoint `{}`, field `{}`: a required response field cannot use `join`, `lenient` or `json_string` yet",
                ep.name,
                f.name
            );
        }
    }
    if ep.data == DataShape::Transparent {
        let f = &ep.fields[0];
        let field = decoded_field_in(f, !f.required, true)?;
        let derives = decoded_derives(&ep.fields, secret_types);
        return Ok(quote! {
            #d
            #derives
            #[serde(transparent)]
            pub struct #name {
                #field
            }
        });
    }
    let fields = ep
        .fields
        .iter()
        .map(|f| decoded_field(f, !f.required))
        .collect::<Result<Vec<_>>>()?;
    let derives = decoded_derives(&ep.fields, secret_types);
    Ok(quote! {
        #d
        #derives
        pub struct #name {
            #(#fields)*
        }
    })
}

fn errors_table(ep: &Endpoint, name: &Ident) -> TokenStream {
    let rows = ep.errors.iter().map(|e| {
        let code = proc_macro2::Literal::i64_unsuffixed(e.code);
        let text = match &e.solution {
            Some(s) if s != &e.message => format!("{} ({s})", e.message),
            _ => e.message.clone(),
        };
        quote!((#code, #text))
    });
    let d = format!(
        " Documented error codes of 「{}」 and their text.",
        ep.title
    );
    quote! {
        #[doc = #d]
        pub const #name: &[(i64, &str)] = &[#(#rows),*];
    }
}

/// The handle an endpoint's method is on: the one that carries the credentials it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Handle {
    /// No token (the token endpoints).
    Client,
    /// The platform's token.
    Component,
    /// An authorized app's token.
    AuthorizedApp,
}

impl Handle {
    pub(crate) fn of(ep: &Endpoint) -> Handle {
        let has = |k: CredentialKind| ep.credentials.iter().any(|c| c.kind == k);
        if has(CredentialKind::AuthorizerAccessToken) {
            Handle::AuthorizedApp
        } else if has(CredentialKind::ComponentAccessToken) {
            Handle::Component
        } else {
            Handle::Client
        }
    }
}

fn handle_method(ep: &Endpoint) -> Result<TokenStream> {
    let handle = match Handle::of(ep) {
        Handle::AuthorizedApp => quote!(crate::AuthorizedApp),
        Handle::Component => quote!(crate::Component),
        Handle::Client => quote!(crate::Client),
    };
    let f = ident(&ep.fn_name)?;
    let req = format_ident!("{}Request", ep.name);
    let resp = if ep.response == ResponseKind::BinaryOrJsonError {
        quote!(core_http::Binary)
    } else {
        let r = format_ident!("{}Response", ep.name);
        quote!(#r)
    };
    let d = doc(&format!(
        "「{}」: {}\n\nSends [`{req}`].",
        ep.title,
        ep.description.lines().next().unwrap_or("")
    ));
    Ok(quote! {
        impl #handle {
            #d
            pub async fn #f(&self, request: &#req) -> Result<#resp, core_http::Error> {
                self.session().send(request).await
            }
        }
    })
}

fn event(
    spec: &SpecFile,
    ev: &Event,
    secret_types: &std::collections::BTreeSet<String>,
) -> Result<(TokenStream, TokenStream, Vec<String>)> {
    let kind_name = format_ident!("{}Kind", ev.name);
    let struct_name = format_ident!("{}Event", ev.name);
    let variant = ident(&ev.name)?;
    let member = ev.discriminator(&spec.push);
    let kinds = EnumType {
        name: kind_name.to_string(),
        description: format!("The `{member}` values of 「{}」.", ev.title),
        repr: EnumRepr::String,
        values: ev.kinds.clone(),
    };
    let kind_enum = enumeration(&kinds)?;
    let mut d = format!("「{}」 push event.\n\n{}", ev.title, ev.description);
    if !ev.quirks.is_empty() {
        d.push_str("\n\nDocument quirks:");
        for q in &ev.quirks {
            d.push_str(&format!("\n- {q}"));
        }
    }
    let d = doc(&d);
    let kind_doc = format!(
        " Which event of the family (`{member}`; the name is normalized: spaces trimmed, markdown backslashes dropped)."
    );
    let tokens = match spec.push.format {
        PushFormat::Json => {
            // Events that carry a secret (a pushed ticket) are not `Serialize`.
            let derives = if ev.fields.iter().any(|f| holds_secret(f, secret_types)) {
                quote!(#[derive(Debug, Clone, PartialEq, serde::Deserialize)])
            } else {
                quote!(#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)])
            };
            let fields = ev
                .fields
                .iter()
                .map(|f| decoded_field(f, true))
                .collect::<Result<Vec<_>>>()?;
            let rename = (member != "event").then(|| quote!(rename = #member,));
            quote! {
                #kind_enum

                #d
                #derives
                pub struct #struct_name {
                    #[doc = #kind_doc]
                    #[serde(#rename deserialize_with = "core_http::push::event_kind")]
                    pub event: #kind_name,
                    #(#fields)*
                }
            }
        }
        PushFormat::Xml => {
            let mut fields = Vec::new();
            let mut reads = Vec::new();
            for f in &ev.fields {
                let name = ident(&f.rust_ident())?;
                let wire = &f.name;
                let ty = f.type_ref().clone();
                let (inner, read) = match (f.secret, ty, f.required) {
                    (true, _, true) => {
                        (quote!(core_http::Secret), quote!(x::secret(fields, #wire)?))
                    }
                    (true, _, false) => (
                        quote!(core_http::Secret),
                        quote!(x::opt_secret(fields, #wire)),
                    ),
                    (false, TypeRef::Integer, true) => {
                        (quote!(i64), quote!(x::integer(fields, #wire)?))
                    }
                    (false, TypeRef::Integer, false) => {
                        (quote!(i64), quote!(x::opt_integer(fields, #wire)))
                    }
                    (false, _, true) => (quote!(String), quote!(x::text(fields, #wire)?)),
                    (false, _, false) => (quote!(String), quote!(x::opt_text(fields, #wire))),
                };
                let rust_ty = if f.required {
                    inner
                } else {
                    quote!(Option<#inner>)
                };
                let fd = field_doc(f, format!("XML element `{wire}`."));
                fields.push(quote!(#fd pub #name: #rust_ty,));
                reads.push(quote!(#name: #read,));
            }
            quote! {
                #kind_enum

                #d
                #[derive(Debug, Clone, PartialEq)]
                pub struct #struct_name {
                    #[doc = #kind_doc]
                    pub event: #kind_name,
                    #(#fields)*
                }

                impl #struct_name {
                    /// Reads the decrypted push's fields; a required field that is missing (or a
                    /// number that is not one) is an error naming it.
                    pub fn from_fields(fields: &core_http::crypto::XmlFields) -> Result<Self, core_http::push::PushError> {
                        use core_http::push::xml as x;
                        Ok(Self {
                            event: x::kind(fields, #member)?,
                            #(#reads)*
                        })
                    }
                }
            }
        }
    };
    let vd = doc(&format!("「{}」", ev.title));
    let variant_tokens = quote!(#vd #variant(#struct_name),);
    let wires = ev.kinds.iter().map(|k| k.wire.clone()).collect();
    Ok((tokens, variant_tokens, wires))
}

fn events(spec: &SpecFile) -> Result<TokenStream> {
    if spec.events.is_empty() {
        return Ok(quote!());
    }
    let mut items = Vec::new();
    let mut variants = Vec::new();
    let members = &spec.push.discriminators;
    // One dispatch per member, in the document's order: a family is chosen only by its own
    // member (a body naming an event in another member is not mistaken for it).
    let mut arms_by_member: Vec<Vec<TokenStream>> = vec![Vec::new(); members.len()];
    for ev in &spec.events {
        let (tokens, variant, wires) = event(spec, ev, &secret_types(spec))?;
        items.push(tokens);
        variants.push(variant);
        let v = ident(&ev.name)?;
        let struct_name = format_ident!("{}Event", ev.name);
        let at = members
            .iter()
            .position(|m| m == ev.discriminator(&spec.push))
            .expect("the loader checks discriminators");
        arms_by_member[at].push(match spec.push.format {
            PushFormat::Json => quote! {
                if matches!(name, #(#wires)|*) {
                    return core_http::push::decode(body).map(Self::#v);
                }
            },
            PushFormat::Xml => quote! {
                if matches!(name, #(#wires)|*) {
                    return #struct_name::from_fields(&fields).map(Self::#v);
                }
            },
        });
    }
    let dispatch: Vec<TokenStream> = arms_by_member
        .iter()
        .enumerate()
        .filter(|(_, arms)| !arms.is_empty())
        .map(|(i, arms)| {
            let i = proc_macro2::Literal::usize_unsuffixed(i);
            quote! {
                if let Some(name) = names[#i].as_deref() {
                    #(#arms)*
                }
            }
        })
        .collect();
    let members_text = members
        .iter()
        .map(|m| format!("`{m}`"))
        .collect::<Vec<_>>()
        .join(" or ");
    let mut enum_doc = format!(
        "Every push event of this document, named by {members_text}; events this SDK does not know are kept in [`Event::Unknown`]."
    );
    if !spec.push.description.is_empty() {
        enum_doc.push_str("\n\n");
        enum_doc.push_str(&spec.push.description);
    }
    let enum_doc = doc(&enum_doc);
    Ok(match spec.push.format {
        PushFormat::Json => quote! {
            #enum_doc
            #[derive(Debug, Clone, PartialEq)]
            #[non_exhaustive]
            pub enum Event {
                #(#variants)*
                /// An event name the document does not describe, kept whole.
                Unknown(core_http::push::UnknownEvent),
            }

            impl Event {
                /// Decodes a received push body (JSON). Event names are matched after trimming
                /// spaces and dropping markdown backslashes, as the document's examples need.
                pub fn parse(body: &[u8]) -> Result<Self, core_http::push::PushError> {
                    let names = core_http::push::event_names(body, &[#(#members),*])?;
                    #(#dispatch)*
                    let name = names.into_iter().flatten().next().unwrap_or_default();
                    core_http::push::unknown(name, body).map(Self::Unknown)
                }
            }

            #(#items)*
        },
        PushFormat::Xml => quote! {
            #enum_doc
            #[derive(Debug, Clone, PartialEq)]
            #[non_exhaustive]
            pub enum Event {
                #(#variants)*
                /// An event name the document does not describe, kept with all its fields.
                Unknown(core_http::push::UnknownXmlEvent),
            }

            impl Event {
                /// Reads a decrypted push's XML fields (`core_http::crypto::xml_fields`).
                pub fn from_fields(fields: core_http::crypto::XmlFields) -> Result<Self, core_http::push::PushError> {
                    let names = core_http::push::xml::names(&fields, &[#(#members),*])?;
                    #(#dispatch)*
                    let event = names.into_iter().flatten().next().unwrap_or_default();
                    Ok(Self::Unknown(core_http::push::UnknownXmlEvent { event, fields }))
                }
            }

            #(#items)*
        },
    })
}

/// The `core_http::Vendor` variant of a vendor: its name in CamelCase (`wechat` → `Wechat`,
/// `my_vendor` → `MyVendor`).
pub(crate) fn vendor_variant(vendor: Vendor) -> Ident {
    let variant: String = vendor
        .as_str()
        .split('_')
        .flat_map(|word| {
            let mut chars = word.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase());
            first.into_iter().chain(chars)
        })
        .collect();
    Ident::new(&variant, Span::call_site())
}

/// The module generated for one spec file; `vendor_name` is the vendor's name in prose (its
/// `vendor.toml` title).
pub fn module(spec: &SpecFile, vendor_name: &str) -> Result<TokenStream> {
    // Rendered docs name the document, never a path of this repository.
    let mut mdoc = format!(
        "{vendor_name}: 「{}」, generated from the SDK's field-by-field transcription of this \
         vendor document (marked *Unverified* where a fact comes from elsewhere).",
        spec.source.title
    );
    if let Some(url) = &spec.source.url {
        mdoc.push_str(&format!("\n\nDocument: <{url}>"));
    }
    let mdoc_lines: Vec<TokenStream> = mdoc
        .lines()
        .map(|l| {
            let l = format!(" {}", escape_brackets(l));
            quote!(#![doc = #l])
        })
        .collect();
    let enums = spec
        .enums
        .iter()
        .map(enumeration)
        .collect::<Result<Vec<_>>>()?;
    let secrets = secret_types(spec);
    let objects = spec
        .objects
        .iter()
        .map(|o| object(o, &secrets))
        .collect::<Result<Vec<_>>>()?;
    let mut endpoints = Vec::new();
    for ep in &spec.endpoints {
        let errors = format_ident!("{}_ERRORS", screaming(&ep.name));
        let table = errors_table(ep, &errors);
        let req = request(spec, ep, &errors)?;
        let resp = response(ep, &secrets)?;
        let method = handle_method(ep)?;
        endpoints.push(quote!(#req #resp #table #method));
    }
    let events = events(spec)?;
    let shipping = shipping_facts(spec);
    Ok(quote! {
        #(#mdoc_lines)*
        // Document text is transcribed verbatim, bare URLs included.
        #![allow(rustdoc::bare_urls)]

        #(#endpoints)*
        #(#enums)*
        #(#objects)*
        #events
        #shipping
    })
}

/// `SHIPPING`: the codes and audit states of the document's `[shipping]`, for the vendor
/// crate's shipping adapter.
fn shipping_facts(spec: &SpecFile) -> TokenStream {
    let Some(s) = &spec.shipping else {
        return TokenStream::new();
    };
    let codes = |c: &[i64]| {
        let c = c.iter().map(|n| Literal::i64_unsuffixed(*n));
        quote!(&[#(#c),*])
    };
    let c = &s.codes;
    let (check, in_audit, quota, released, none) = (
        codes(&c.check_running),
        codes(&c.in_audit),
        codes(&c.quota_exhausted),
        codes(&c.already_released),
        codes(&c.no_audit),
    );
    let (gray_not_higher, no_online) = (codes(&c.gray_not_higher), codes(&c.no_online_release));
    let (withdraw_refused, withdraw_quota) = (
        codes(&c.withdraw_refused),
        codes(&c.withdraw_quota_exhausted),
    );
    let rollback_refused = codes(&c.rollback_refused);
    let template_missing = codes(&c.template_missing);
    let (speedup_done, speedup_refused, speedup_quota) = (
        codes(&c.speedup_done),
        codes(&c.speedup_refused),
        codes(&c.speedup_quota_exhausted),
    );
    let mut states = Vec::new();
    for (values, kind) in [
        (&s.states.approved, quote!(Approved)),
        (&s.states.rejected, quote!(Rejected)),
        (&s.states.in_audit, quote!(InAudit)),
        (&s.states.withdrawn, quote!(Withdrawn)),
        (&s.states.delayed, quote!(Delayed)),
        (&s.states.released, quote!(Released)),
        (&s.states.development, quote!(Development)),
    ] {
        for v in values {
            states.push(quote!((#v, ::core_http::shipping::StateKind::#kind)));
        }
    }
    let (uploading, upload_failed) = (&s.states.uploading, &s.states.upload_failed);
    let opt = |n: Option<u32>| match n {
        Some(n) => quote!(Some(#n)),
        None => quote!(None),
    };
    // The operator's actions the document has a role for, and whether it reads the quota.
    let actions = [
        (s.withdraw.is_some(), quote!(Withdraw)),
        (s.rollback.is_some(), quote!(Rollback)),
        (s.revert_gray.is_some(), quote!(RevertGray)),
        (s.speedup.is_some(), quote!(Speedup)),
    ]
    .into_iter()
    .filter(|(has, _)| *has)
    .map(|(_, action)| quote!(::core_http::shipping::Action::#action));
    let reads_quota = s.quota.is_some();
    let limits = s.limits.iter().map(|(action, limit)| {
        let (day, month) = (opt(limit.per_day), opt(limit.per_month));
        quote!((#action, #day, #month))
    });
    let d = doc(&format!(
        "The codes and audit states of this document's code lifecycle (its `[shipping]`): {}",
        s.description.lines().next().unwrap_or_default()
    ));
    quote! {
        #d
        pub const SHIPPING: ::core_http::shipping::ShippingFacts = ::core_http::shipping::ShippingFacts {
            check_running: #check,
            in_audit: #in_audit,
            quota_exhausted: #quota,
            already_released: #released,
            no_audit: #none,
            gray_not_higher: #gray_not_higher,
            no_online_release: #no_online,
            template_missing: #template_missing,
            withdraw_refused: #withdraw_refused,
            withdraw_quota_exhausted: #withdraw_quota,
            rollback_refused: #rollback_refused,
            speedup_done: #speedup_done,
            speedup_refused: #speedup_refused,
            speedup_quota_exhausted: #speedup_quota,
            states: &[#(#states),*],
            actions: &[#(#actions),*],
            reads_quota: #reads_quota,
            limits: &[#(#limits),*],
            uploading: &[#(#uploading),*],
            upload_failed: &[#(#upload_failed),*],
        };
    }
}

/// `generated/mod.rs` of a vendor crate; `parse_event` names the module whose events the
/// crate's `parse_event` decodes (`[push] parse_event = true`), with its title.
pub fn mod_rs(modules: &[String], parse_event: Option<(&str, &str)>) -> TokenStream {
    let parse_event = match parse_event {
        Some((module, title)) => {
            let m = Ident::new(module, Span::call_site());
            let d = doc(&format!(
                "Decodes a (decrypted) push body of 「{title}」 ([`{module}::Event`]); unknown \
                 events are kept."
            ));
            quote! {
                #d
                pub fn parse_event(body: &[u8]) -> Result<#m::Event, core_http::push::PushError> {
                    #m::Event::parse(body)
                }
            }
        }
        None => quote!(),
    };
    let mods = modules.iter().map(|m| {
        let i = Ident::new(m, Span::call_site());
        quote!(pub mod #i;)
    });
    quote! {
        //! Modules generated from `specs/`, one per vendor document section, and the client.
        mod client;
        pub use client::*;
        /// The runtime, for what the re-exports below leave out (and what
        /// `#[derive(Endpoint)]` names when this crate is the runtime's only path).
        pub use ::core_http;
        /// `#[derive(Endpoint)]`: a request type of your own, sent like the generated ones.
        pub use ::miniapp_derive::Endpoint;
        /// Everything a user needs from the runtime, so that this crate is the only dependency.
        pub use core_http::{
            push::PushError, redirect_policy, Binary, Credentials, Error, InvalidRequest, RateLimiter,
            RawBody,
            RetryPolicy, Secret, Session, TokenProvider, TokenSource, Transport, Vendor,
            VendorError, DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT,
        };
        #(#mods)*
        #parse_event
    }
}
