//! `[[resources]]` to Rust: one typed value per resource (`read`, `write`, `validate`), the
//! descriptors generic code walks, and dispatch by descriptor for the release-day job.

use anyhow::{bail, Context, Result};
use miniapp_spec::{Endpoint, Resource, ResourceCall, ResourceFieldType, Scope, SpecFile, TypeRef};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::module::{doc, ident};

fn endpoint<'a>(spec: &'a SpecFile, call: &ResourceCall) -> Result<&'a Endpoint> {
    spec.endpoints
        .iter()
        .find(|e| e.name == call.endpoint)
        .with_context(|| format!("no endpoint `{}`", call.endpoint))
}

/// The expression of a fixed parameter's wire value in the parameter's Rust type.
fn fixed_value(spec: &SpecFile, ty: &TypeRef, wire: &str) -> Result<TokenStream> {
    Ok(match ty {
        TypeRef::String => quote!(#wire.to_owned()),
        TypeRef::Boolean => match wire {
            "true" => quote!(true),
            "false" => quote!(false),
            _ => bail!("`{wire}` is not a boolean"),
        },
        TypeRef::Integer => {
            let n: i64 = wire
                .parse()
                .with_context(|| format!("`{wire}` is not an integer"))?;
            quote!(#n)
        }
        TypeRef::Named(name) => {
            let e = spec
                .enums
                .iter()
                .find(|e| &e.name == name)
                .with_context(|| format!("`{name}` is not an enum of this document"))?;
            let v = e
                .values
                .iter()
                .find(|v| v.wire == wire)
                .with_context(|| format!("`{wire}` is not a value of {name}"))?;
            let (module, ty, variant) = (ident(&spec.module)?, ident(name)?, ident(&v.rust)?);
            quote!(crate::#module::#ty::#variant)
        }
        other => bail!("a fixed parameter of type {other:?} is not supported"),
    })
}

/// The request literal of `call`, the resource's fields taken from `self`.
fn request_literal(spec: &SpecFile, r: &Resource, call: &ResourceCall) -> Result<TokenStream> {
    let ep = endpoint(spec, call)?;
    let (module, req) = (ident(&spec.module)?, format_ident!("{}Request", ep.name));
    let mut inits = Vec::new();
    for p in &ep.params {
        let name = ident(&p.rust_ident())?;
        let mandatory = p.is_mandatory();
        let value = if let Some(wire) = call.params.get(&p.name) {
            fixed_value(spec, p.type_ref(), wire)?
        } else if let Some(f) = r.fields.iter().find(|f| f.param() == p.name) {
            let fname = ident(&f.name)?;
            match f.ty {
                ResourceFieldType::StringSet => quote!(self.#fname.iter().cloned().collect()),
                ResourceFieldType::String => quote!(self.#fname.clone()),
            }
        } else if mandatory {
            bail!("{} requires `{}`", ep.name, p.name);
        } else {
            inits.push(quote!(#name: None));
            continue;
        };
        inits.push(if mandatory {
            quote!(#name: #value)
        } else {
            quote!(#name: Some(#value))
        });
    }
    Ok(quote!(crate::#module::#req { #(#inits),* }))
}

fn call_doc(call: &ResourceCall) -> String {
    let fixed: Vec<String> = call
        .params
        .iter()
        .map(|(k, v)| format!("`{k} = {v}`"))
        .collect();
    if fixed.is_empty() {
        format!("`{}`", call.endpoint)
    } else {
        format!("`{}` with {}", call.endpoint, fixed.join(", "))
    }
}

fn resource(spec: &SpecFile, r: &Resource) -> Result<TokenStream> {
    let ty = ident(&r.rust_name)?;
    let vendor = crate::module::vendor_variant(spec.vendor);
    let (handle, scope) = match r.scope {
        Scope::App => (quote!(crate::AuthorizedApp), quote!(App)),
        Scope::Platform => (quote!(crate::Component), quote!(Platform)),
    };
    let read_ep = endpoint(spec, &r.read)?;
    let write_ep = endpoint(spec, &r.write)?;
    let (read_fn, write_fn) = (ident(&read_ep.fn_name)?, ident(&write_ep.fn_name)?);
    let write_req = format_ident!("{}Request", write_ep.name);
    let module = ident(&spec.module)?;

    let mut fields = Vec::new();
    let mut descriptors = Vec::new();
    let mut from_answer = Vec::new();
    let mut to_value = Vec::new();
    let mut from_value = Vec::new();
    for f in &r.fields {
        let fname = ident(&f.name)?;
        let d = doc(&f.description);
        let (name, description) = (&f.name, &f.description);
        let answer = read_ep
            .fields
            .iter()
            .find(|x| x.name == f.response())
            .with_context(|| format!("no answer field `{}`", f.response()))?;
        let aname = ident(&answer.rust_ident())?;
        let got = if answer.required {
            quote!(answer.#aname)
        } else {
            quote!(answer.#aname.unwrap_or_default())
        };
        match f.ty {
            ResourceFieldType::StringSet => {
                fields.push(quote!(#d pub #fname: std::collections::BTreeSet<String>,));
                descriptors.push(quote!(core_http::resource::FieldDescriptor {
                    name: #name, kind: core_http::resource::FieldKind::StringSet, description: #description,
                }));
                from_answer.push(quote!(#fname: #got.into_iter().collect(),));
                to_value.push(quote!((#name.to_owned(), core_http::resource::FieldValue::Set(self.#fname.clone())),));
                from_value.push(quote!(#fname: value.set(#name),));
            }
            ResourceFieldType::String => {
                fields.push(quote!(#d pub #fname: String,));
                descriptors.push(quote!(core_http::resource::FieldDescriptor {
                    name: #name, kind: core_http::resource::FieldKind::String, description: #description,
                }));
                from_answer.push(quote!(#fname: #got,));
                to_value.push(quote!((#name.to_owned(), core_http::resource::FieldValue::Text(self.#fname.clone())),));
                from_value.push(quote!(#fname: value.text(#name),));
            }
        }
    }
    let read_literal = {
        // The read call's fields are not part of the value: a read sends only fixed params.
        let mut none = r.clone();
        none.fields.clear();
        request_literal(spec, &none, &r.read)?
    };
    let write_literal = request_literal(spec, r, &r.write)?;
    let (name, description) = (&r.name, &r.description);
    let (read_name, write_name) = (&read_ep.name, &write_ep.name);
    let counted = r.counted;
    let quota_code = match r.quota.as_ref().map(|q| q.code) {
        Some(c) => quote!(Some(#c)),
        None => quote!(None),
    };
    let requires = match &r.requires {
        Some(req) => {
            let n = &req.resource;
            quote!(Some(#n))
        }
        None => quote!(None),
    };
    let mut text = format!(
        "Resource `{}` ({} scope): {}\n\nRead with {}; written (replaced) with {}.",
        r.name,
        match r.scope {
            Scope::App => "app",
            Scope::Platform => "platform",
        },
        r.description,
        call_doc(&r.read),
        call_doc(&r.write)
    );
    if r.counted {
        text.push_str(" Each write spends a vendor modification quota");
        if let Some(q) = &r.quota {
            if let (Some(limit), Some(period)) = (q.limit, &q.period) {
                text.push_str(&format!(" ({limit} per {period})"));
            }
            text.push_str(&format!("; code {} when it is spent", q.code));
        }
        text.push('.');
    }
    if let Some(req) = &r.requires {
        text.push_str(&format!(
            " Every item must first be registered in `{}` (code {} otherwise).",
            req.resource, req.code
        ));
    }
    for q in &r.quirks {
        text.push_str(&format!("\n\n{q}"));
    }
    let d = doc(&text);
    let read_doc = doc(&format!("Reads the current value ({}).", call_doc(&r.read)));
    let write_doc = doc(&format!(
        "Replaces the value ({}); the request is validated first.",
        call_doc(&r.write)
    ));
    Ok(quote! {
        #d
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct #ty {
            #(#fields)*
        }

        impl #ty {
            /// The description generic code walks.
            pub const DESCRIPTOR: core_http::resource::ResourceDescriptor =
                core_http::resource::ResourceDescriptor {
                    vendor: core_http::Vendor::#vendor,
                    name: #name,
                    scope: core_http::resource::Scope::#scope,
                    description: #description,
                    fields: &[#(#descriptors),*],
                    read_endpoint: #read_name,
                    write_endpoint: #write_name,
                    counted: #counted,
                    quota_code: #quota_code,
                    requires: #requires,
                };

            #read_doc
            pub async fn read(handle: &#handle) -> Result<Self, core_http::Error> {
                let answer = handle.#read_fn(&#read_literal).await?;
                Ok(Self { #(#from_answer)* })
            }

            /// The request that replaces the value with `self`.
            pub fn write_request(&self) -> crate::#module::#write_req {
                #write_literal
            }

            /// Checks `self` against the write endpoint's documented rules (schemes, counts,
            /// lengths); nothing is sent.
            pub fn validate(&self) -> Result<(), core_http::InvalidRequest> {
                core_http::Endpoint::validate(&self.write_request())
            }

            #write_doc
            pub async fn write(&self, handle: &#handle) -> Result<(), core_http::Error> {
                handle.#write_fn(&self.write_request()).await.map(|_| ())
            }

            /// The value as plain data.
            pub fn to_value(&self) -> core_http::resource::ResourceValue {
                core_http::resource::ResourceValue([#(#to_value)*].into_iter().collect())
            }

            /// The typed value of plain data (absent sets are empty).
            pub fn from_value(value: &core_http::resource::ResourceValue) -> Self {
                Self { #(#from_value)* }
            }
        }
    })
}

/// The `resources` module of one vendor crate (`None` when the vendor declares none).
pub fn module(specs: &[&SpecFile]) -> Result<Option<TokenStream>> {
    let mut items = Vec::new();
    let mut arms_read = Vec::new();
    let mut arms_write = Vec::new();
    let mut arms_validate = Vec::new();
    let mut all = Vec::new();
    for spec in specs {
        for r in &spec.resources {
            items.push(resource(spec, r).with_context(|| format!("resource `{}`", r.name))?);
            let ty = ident(&r.rust_name)?;
            let name = &r.name;
            let variant = match r.scope {
                Scope::App => quote!(Target::App(handle)),
                Scope::Platform => quote!(Target::Platform(handle)),
            };
            arms_read.push(quote! {
                (#name, #variant) => Ok(#ty::read(handle).await?.to_value()),
            });
            arms_write.push(quote! {
                (#name, #variant) => #ty::from_value(value).write(handle).await,
            });
            arms_validate.push(quote! {
                #name => #ty::from_value(value).validate(),
            });
            all.push(quote!(#ty::DESCRIPTOR));
        }
    }
    if items.is_empty() {
        return Ok(None);
    }
    Ok(Some(quote! {
        //! Settable properties declared in the specs (`[[resources]]`): typed values with
        //! `read`/`write`/`validate`, their descriptors, and dispatch by descriptor for generic
        //! code such as the release-day job.

        #(#items)*

        /// Every resource this vendor declares.
        pub const RESOURCES: &[core_http::resource::ResourceDescriptor] = &[#(#all),*];

        /// The handle a resource call goes through: the app's for app resources, the
        /// platform's for platform resources.
        #[derive(Debug, Clone, Copy)]
        pub enum Target<'a> {
            /// An authorized app.
            App(&'a crate::AuthorizedApp),
            /// The platform itself.
            Platform(&'a crate::Component),
        }

        /// The descriptor of the resource named `name`.
        pub fn descriptor(name: &str) -> Option<&'static core_http::resource::ResourceDescriptor> {
            RESOURCES.iter().find(|d| d.name == name)
        }

        /// Reads resource `name` through `target`.
        pub async fn read(
            name: &str,
            target: Target<'_>,
        ) -> Result<core_http::resource::ResourceValue, core_http::Error> {
            match (name, target) {
                #(#arms_read)*
                _ => Err(core_http::resource::unknown(name).into()),
            }
        }

        /// Replaces resource `name` with `value` through `target` (validated first).
        pub async fn write(
            name: &str,
            target: Target<'_>,
            value: &core_http::resource::ResourceValue,
        ) -> Result<(), core_http::Error> {
            match (name, target) {
                #(#arms_write)*
                _ => Err(core_http::resource::unknown(name).into()),
            }
        }

        /// Checks `value` against resource `name`'s write rules; nothing is sent.
        pub fn validate(
            name: &str,
            value: &core_http::resource::ResourceValue,
        ) -> Result<(), core_http::InvalidRequest> {
            match name {
                #(#arms_validate)*
                _ => Err(core_http::resource::unknown(name)),
            }
        }
    }))
}
