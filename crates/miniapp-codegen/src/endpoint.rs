//! The `core_http::Endpoint` impl of one request type, from an [`EndpointModel`].
//!
//! Both front ends build the same model: `#[derive(Endpoint)]` from a hand-written struct's
//! attributes and field types, the spec generator from a spec endpoint. Everything the impl
//! says (method, path, where each field goes, limits, rules, decoding) is written here once.

use miniapp_rules::{BodyKind, CredentialKind, Location, Method};
use proc_macro2::{Literal, Span, TokenStream};
use quote::{format_ident, quote};
use syn::{Error, Ident, Result};

/// The vendor whose envelope and conventions the endpoint follows: the name of a
/// `core_http::Vendor` variant (`Wechat`, `Baidu`, `Kuaishou`).
pub type VendorVariant = Ident;

/// What the endpoint answers and how it is decoded.
#[derive(Clone)]
pub enum Answer {
    /// The vendor's JSON envelope around this type.
    Envelope(syn::Type),
    /// JSON without the vendor envelope (an OAuth-style token answer).
    BareJson(syn::Type),
    /// Bytes (an image), or the vendor's JSON error.
    Binary,
}

/// A credential parameter.
#[derive(Clone)]
pub struct Credential {
    /// Wire name.
    pub name: String,
    /// What it carries.
    pub kind: CredentialKind,
    /// Query or form (never JSON).
    pub location: Location,
    /// For error messages.
    pub span: Span,
}

/// `param == equals`, naming another parameter by its wire name.
#[derive(Clone)]
pub struct Condition {
    /// Wire name of the parameter.
    pub param: String,
    /// The value, as text on the wire.
    pub equals: String,
    /// For error messages.
    pub span: Span,
}

/// "At least one of these parameters", optionally only when another has one of some values.
#[derive(Clone)]
pub struct AtLeastOne {
    /// Wire names.
    pub params: Vec<String>,
    /// `(param, values)`: the rule applies only when `param` is one of `values`.
    pub when: Option<(String, Vec<String>)>,
    /// The rule in words (for the error).
    pub rule: String,
    /// For error messages.
    pub span: Span,
}

/// The Rust shape of a field's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Shape {
    /// `Option<..>`.
    pub optional: bool,
    /// `Vec<..>` (inside the option, if any).
    pub list: bool,
    /// `Secret` (inside the option, if any).
    pub secret: bool,
    /// `String` (inside the option, if any): an empty one sends nothing.
    pub text: bool,
    /// `Vec<String>` (inside the option, if any): a list of only empty texts holds nothing.
    pub text_items: bool,
}

/// The documented limits of a parameter, checked before sending (the spec's own struct).
pub use miniapp_rules::Limits;

/// One field of the request type.
#[derive(Clone)]
pub struct Param {
    /// The Rust field.
    pub ident: Ident,
    /// Its type's shape.
    pub shape: Shape,
    /// Where it travels.
    pub loc: Location,
    /// Wire name.
    pub wire: String,
    /// Sent as one string joined by this separator.
    pub join: Option<String>,
    /// Sent as JSON text in a string.
    pub json_string: bool,
    /// Must be present...
    pub required: bool,
    /// ...unless this holds.
    pub optional_when: Option<Condition>,
    /// Limits checked before sending.
    pub limits: Limits,
}

/// Everything the impl of one request type needs.
#[derive(Clone)]
pub struct EndpointModel {
    /// The request type.
    pub ty: Ident,
    /// Operation name (for errors and logs).
    pub name: String,
    /// `core_http::Vendor` variant.
    pub vendor: VendorVariant,
    /// HTTP method.
    pub method: Method,
    /// Path, starting with `/`.
    pub path: String,
    /// Request body.
    pub body: BodyKind,
    /// Span of the body's declaration, for error messages.
    pub body_span: Span,
    /// Answer and decoding.
    pub answer: Answer,
    /// The error table's path (`&'static [(i64, &'static str)]`), if any.
    pub errors: Option<syn::Path>,
    /// Whether every call may be repeated safely.
    pub idempotent: bool,
    /// Calls with this value only read (idempotent although the endpoint is not).
    pub read_when: Option<Condition>,
    /// Credential parameters.
    pub credentials: Vec<Credential>,
    /// Cross-field rules.
    pub rules: Vec<AtLeastOne>,
    /// Fields, in declaration order.
    pub params: Vec<Param>,
    /// The path the impl names the runtime by: `::core_http` (the vendor crates, and users who
    /// depend on it), or the runtime re-exported by a vendor crate (`::acme_api::core_http`).
    pub krate: TokenStream,
}

impl EndpointModel {
    /// Checks what the type system cannot: locations against the body, references to other
    /// parameters, limits against the field's shape.
    pub fn check(&self) -> Result<()> {
        if self.method == Method::Get && self.body != BodyKind::None {
            return Err(Error::new(
                self.body_span,
                "a GET endpoint cannot have a body",
            ));
        }
        for p in &self.params {
            if p.loc == Location::Header {
                return Err(Error::new(
                    p.ident.span(),
                    "only credentials travel in headers; a parameter goes in the query, the form or the JSON body",
                ));
            }
            let ok = match p.loc {
                Location::Query | Location::Header => true,
                Location::Form => self.body == BodyKind::Form,
                Location::Json => self.body == BodyKind::Json,
            };
            if !ok {
                return Err(Error::new(
                    p.ident.span(),
                    format!(
                        "`{}` goes in the {} body, but the endpoint's body is `{}`",
                        p.ident,
                        if p.loc == Location::Form {
                            "form"
                        } else {
                            "json"
                        },
                        self.body.as_str()
                    ),
                ));
            }
            if let Some(cond) = &p.optional_when {
                if !p.required {
                    return Err(Error::new(
                        cond.span,
                        "optional_when only makes sense with `required`",
                    ));
                }
                self.find(&cond.param, cond.span, "optional_when")?;
            }
            if p.limits.max_items.is_some() && !p.shape.list {
                return Err(Error::new(
                    p.ident.span(),
                    "max_items needs a Vec or Option<Vec> field",
                ));
            }
            if p.join.is_some() && !p.shape.list {
                return Err(Error::new(
                    p.ident.span(),
                    "join needs a Vec or Option<Vec> field",
                ));
            }
        }
        for c in &self.credentials {
            if c.location == Location::Form && self.body != BodyKind::Form {
                return Err(Error::new(c.span, "a form credential needs `body = form`"));
            }
            if !c.location.carries_credentials_with(self.body) {
                return Err(Error::new(
                    c.span,
                    "a credential goes in the query, a header or the form",
                ));
            }
        }
        if let Some(cond) = &self.read_when {
            self.find(&cond.param, cond.span, "read_when")?;
        }
        for rule in &self.rules {
            for wire in rule.params.iter().chain(rule.when.as_ref().map(|w| &w.0)) {
                self.find(wire, rule.span, "at_least_one")?;
            }
        }
        Ok(())
    }

    fn find(&self, wire: &str, span: Span, what: &str) -> Result<&Param> {
        self.params.iter().find(|p| p.wire == wire).ok_or_else(|| {
            Error::new(
                span,
                format!("{what} names `{wire}`, which is not a parameter of this request"),
            )
        })
    }
}

fn encode_pair(p: &Param, sink: &Ident, krate: &TokenStream) -> TokenStream {
    let (ident, wire) = (&p.ident, &p.wire);
    if let Some(sep) = &p.join {
        quote! {
            if let ::core::option::Option::Some(v) = #krate::__private::wire::join(&self.#ident, #sep) {
                #sink.put(#wire, &v);
            }
        }
    } else if p.json_string {
        if p.shape.optional {
            quote! {
                if let ::core::option::Option::Some(value) = &self.#ident {
                    if let ::core::option::Option::Some(v) = #krate::__private::wire::json_text(value) {
                        #sink.put(#wire, &v);
                    }
                }
            }
        } else {
            quote! {
                if let ::core::option::Option::Some(v) = #krate::__private::wire::json_text(&self.#ident) {
                    #sink.put(#wire, &v);
                }
            }
        }
    } else {
        quote! {
            if let ::core::option::Option::Some(v) = #krate::__private::wire::ToParam::to_param(&self.#ident) {
                #sink.put(#wire, &v);
            }
        }
    }
}

fn encode_json(p: &Param, krate: &TokenStream) -> TokenStream {
    let (ident, wire) = (&p.ident, &p.wire);
    if p.shape.secret {
        // A credential value: exposed on the wire only.
        return if p.shape.optional {
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
        quote!(&#krate::__private::wire::Joined(&self.#ident, #sep))
    } else if p.json_string {
        quote!(&#krate::__private::wire::json_text(&self.#ident))
    } else {
        quote!(&self.#ident)
    };
    if p.shape.optional {
        quote! {
            if self.#ident.is_some() {
                map.serialize_entry(#wire, #value)?;
            }
        }
    } else {
        quote!(map.serialize_entry(#wire, #value)?;)
    }
}

fn some<T: quote::ToTokens>(v: Option<T>) -> TokenStream {
    match v {
        Some(v) => quote!(::core::option::Option::Some(#v)),
        None => quote!(::core::option::Option::None),
    }
}

fn checks(p: &Param, m: &EndpointModel) -> Result<TokenStream> {
    let krate = &m.krate;
    let (ident, wire, name) = (&p.ident, &p.wire, &m.name);
    let mut out = TokenStream::new();
    if p.required {
        // An explicit empty list is a value (e.g. "clear these domains"); only `None` is absent.
        let present = if p.shape.optional {
            quote!(self.#ident.is_some())
        } else {
            quote!(true)
        };
        let unless = match &p.optional_when {
            Some(cond) => {
                let other = &m.find(&cond.param, cond.span, "optional_when")?.ident;
                let text = format!("{} = {}", cond.param, cond.equals);
                let equals = &cond.equals;
                quote! {
                    ::core::option::Option::Some((#text,
                        #krate::__private::wire::ToParam::to_param(&self.#other).as_deref() == ::core::option::Option::Some(#equals)))
                }
            }
            None => quote!(::core::option::Option::None),
        };
        out.extend(
            quote! { #krate::__private::validate::required(#name, #wire, #present, #unless)?; },
        );
    }
    let l = &p.limits;
    if let Some(max) = l.max_items {
        let max = Literal::u64_unsuffixed(u64::from(max));
        let count = if p.shape.optional {
            quote!(self.#ident.as_ref().map_or(0, |v| v.len()))
        } else {
            quote!(self.#ident.len())
        };
        out.extend(quote! { #krate::__private::validate::max_items(#name, #wire, #count, #max)?; });
    }
    if l.non_empty {
        let check = match (p.shape.list, p.shape.optional) {
            (true, false) => quote! {
                #krate::__private::validate::non_empty(#name, #wire, &self.#ident, ::core::option::Option::Some(self.#ident.len()))?;
            },
            (true, true) => quote! {
                if let ::core::option::Option::Some(items) = &self.#ident {
                    #krate::__private::validate::non_empty(#name, #wire, items, ::core::option::Option::Some(items.len()))?;
                }
            },
            (false, _) => quote! {
                #krate::__private::validate::non_empty(#name, #wire, &self.#ident, ::core::option::Option::None)?;
            },
        };
        out.extend(check);
    }
    if l.min_chars.is_some() || l.max_chars.is_some() {
        let lo = some(l.min_chars.map(|n| Literal::u64_unsuffixed(u64::from(n))));
        let hi = some(l.max_chars.map(|n| Literal::u64_unsuffixed(u64::from(n))));
        out.extend(
            quote! { #krate::__private::validate::chars(#name, #wire, &self.#ident, #lo, #hi)?; },
        );
    }
    if l.min.is_some() || l.max.is_some() {
        let lo = some(l.min.map(Literal::i64_unsuffixed));
        let hi = some(l.max.map(Literal::i64_unsuffixed));
        out.extend(
            quote! { #krate::__private::validate::range(#name, #wire, &self.#ident, #lo, #hi)?; },
        );
    }
    if let Some(format) = l.format {
        let variant = format_ident!("{}", format.variant());
        // A joined list sends only its non-empty items; check what is sent.
        let value = if p.join.is_some() {
            quote!(&#krate::__private::validate::JoinedItems(&self.#ident))
        } else {
            quote!(&self.#ident)
        };
        out.extend(quote! { #krate::__private::validate::format(#name, #wire, #value, #krate::__private::Format::#variant)?; });
    }
    Ok(out)
}

fn at_least_one_check(rule: &AtLeastOne, m: &EndpointModel) -> Result<TokenStream> {
    let krate = &m.krate;
    let mut present = Vec::new();
    for wire in &rule.params {
        let p = m.find(wire, rule.span, "at_least_one")?;
        let ident = &p.ident;
        present.push(
            if p.join.is_some() || (p.shape.text && !p.shape.list) || p.shape.text_items {
                // A joined list sends only its non-empty items; an empty text counts as nothing
                // (the rule `miniapp_rules::is_sent_item`, which the sandbox applies too).
                quote!(#krate::__private::validate::HasItems::has_items(&self.#ident))
            } else {
                match (p.shape.optional, p.shape.list) {
                    (true, true) => quote!(self.#ident.as_ref().is_some_and(|v| !v.is_empty())),
                    (true, false) => quote!(self.#ident.is_some()),
                    (false, true) => quote!(!self.#ident.is_empty()),
                    (false, false) => quote!(true),
                }
            },
        );
    }
    let applies = match &rule.when {
        Some((param, values)) => {
            let ident = &m.find(param, rule.span, "at_least_one")?.ident;
            quote! {
                matches!(#krate::__private::wire::ToParam::to_param(&self.#ident).as_deref(), ::core::option::Option::Some(#(#values)|*))
            }
        }
        None => quote!(true),
    };
    let field = &rule.params[0];
    let (text, name) = (&rule.rule, &m.name);
    // The items are counted only when the rule applies.
    Ok(quote! {
        if #applies && !{ #(#present)||* } {
            return ::core::result::Result::Err(#krate::InvalidRequest {
                endpoint: #name,
                field: #field,
                rule: ::std::string::String::from(#text),
                given: ::std::string::String::from("none of them"),
            });
        }
    })
}

/// The `impl core_http::Endpoint for ..` of a checked model.
pub fn impl_endpoint(m: &EndpointModel) -> Result<TokenStream> {
    m.check()?;
    let krate = &m.krate;
    let (ty, name, vendor, path) = (&m.ty, &m.name, &m.vendor, &m.path);
    let method = match m.method {
        Method::Get => quote!(Get),
        Method::Post => quote!(Post),
    };
    let body = match m.body {
        BodyKind::None => quote!(None),
        BodyKind::Json => quote!(Json),
        BodyKind::Form => quote!(Form),
    };
    let idempotent = m.idempotent;
    let is_idempotent = match &m.read_when {
        None => quote!(),
        Some(cond) => {
            let ident = &m.find(&cond.param, cond.span, "read_when")?.ident;
            let equals = &cond.equals;
            quote! {
                fn is_idempotent(&self) -> bool {
                    Self::IDEMPOTENT
                        || #krate::__private::wire::ToParam::to_param(&self.#ident).as_deref()
                            == ::core::option::Option::Some(#equals)
                }
            }
        }
    };
    let errors = match &m.errors {
        Some(p) => quote!(#p),
        None => quote!(&[]),
    };
    let creds = m.credentials.iter().map(|c| {
        let cname = &c.name;
        // The variants' own names: the vocabulary is the same type on both sides.
        let kind = Ident::new(&format!("{:?}", c.kind), Span::call_site());
        let loc = Ident::new(&format!("{:?}", c.location), Span::call_site());
        quote! {
            #krate::CredentialParam {
                name: #cname,
                kind: #krate::CredentialKind::#kind,
                location: #krate::Location::#loc,
            }
        }
    });
    let (response, decode) = match &m.answer {
        Answer::Binary => (
            quote!(#krate::Binary),
            quote!(#krate::__private::envelope::decode_binary::<Self>(raw)),
        ),
        Answer::BareJson(t) => (
            quote!(#t),
            quote!(#krate::__private::envelope::decode_bare_json::<Self>(
                raw
            )),
        ),
        Answer::Envelope(t) => (
            quote!(#t),
            quote!(#krate::__private::envelope::decode_json::<Self>(raw)),
        ),
    };
    let (q, f) = (format_ident!("query"), format_ident!("form"));
    let at = |loc: Location| m.params.iter().filter(move |p| p.loc == loc);
    let query = at(Location::Query).map(|p| encode_pair(p, &q, krate));
    let form = at(Location::Form).map(|p| encode_pair(p, &f, krate));
    let json = at(Location::Json).map(|p| encode_json(p, krate));
    let mut validations = m
        .params
        .iter()
        .map(|p| checks(p, m))
        .collect::<Result<Vec<_>>>()?;
    for rule in &m.rules {
        validations.push(at_least_one_check(rule, m)?);
    }
    let used = |loc: Location, name: &str| {
        let i = if at(loc).next().is_some() {
            format_ident!("{name}")
        } else {
            format_ident!("_{name}")
        };
        quote!(#i)
    };
    let (qname, fname, mname) = (
        used(Location::Query, "query"),
        used(Location::Form, "form"),
        used(Location::Json, "map"),
    );

    Ok(quote! {
        impl #krate::Endpoint for #ty {
            type Response = #response;
            const VENDOR: #krate::Vendor = #krate::Vendor::#vendor;
            const NAME: &'static str = #name;
            const METHOD: #krate::Method = #krate::Method::#method;
            const PATH: &'static str = #path;
            const BODY: #krate::BodyKind = #krate::BodyKind::#body;
            const CREDENTIALS: &'static [#krate::CredentialParam] = &[#(#creds),*];
            const ERRORS: &'static [(i64, &'static str)] = #errors;
            const IDEMPOTENT: bool = #idempotent;

            #is_idempotent

            fn validate(&self) -> ::core::result::Result<(), #krate::InvalidRequest> {
                #(#validations)*
                ::core::result::Result::Ok(())
            }

            fn write_query(&self, #qname: &mut #krate::ParamSink<'_>) {
                #(#query)*
            }

            fn write_form(&self, #fname: &mut #krate::ParamSink<'_>) {
                #(#form)*
            }

            fn write_json<M: #krate::__private::serde::ser::SerializeMap>(
                &self,
                #mname: &mut M,
            ) -> ::core::result::Result<(), M::Error> {
                #(#json)*
                ::core::result::Result::Ok(())
            }

            fn decode(raw: #krate::RawResponse) -> ::core::result::Result<Self::Response, #krate::Error> {
                #decode
            }
        }
    })
}
