//! `specs/*/vendor.toml` to core-http's vendor table (`core_http::Vendor` and its facts).

use anyhow::Result;
use miniapp_spec::{CodeText, Confidence, EnvelopeShape, RefreshRefused, VendorFile};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::module::doc;

fn code_text(c: &CodeText) -> TokenStream {
    let (code, message) = (proc_macro2::Literal::i64_unsuffixed(c.code), &c.message);
    quote!(crate::vendor::CodeText { code: #code, message: #message })
}

fn code_list(codes: &[CodeText]) -> String {
    if codes.is_empty() {
        return "none documented".into();
    }
    codes
        .iter()
        .map(|c| {
            let mark = match c.confidence {
                Confidence::Verified => "",
                Confidence::Mirror => " (unverified: seen only in a mirror)",
                Confidence::Unverified => " (unverified)",
            };
            format!("`{}` {}{mark}", c.code, c.message)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `crates/core-http/src/generated/vendors.rs`.
pub fn module(vendors: &[VendorFile]) -> Result<TokenStream> {
    let mut variants = Vec::new();
    let mut arms = Vec::new();
    let mut tables = Vec::new();
    let mut all = Vec::new();
    for v in vendors {
        let variant = crate::module::vendor_variant(v.vendor);
        let table = format_ident!("{}", v.vendor.as_str().to_uppercase());
        let e = &v.envelope;
        let status = match e.shape {
            EnvelopeShape::Flat => format!(
                "`{}`/`{}` beside the payload members, `{}` is success{}",
                e.code,
                e.messages[0],
                e.success,
                if e.absent_is_success {
                    " (or absent)"
                } else {
                    ""
                }
            ),
            EnvelopeShape::Wrapped => format!(
                "`{}`/`{}`/`{}`, `{}` is success",
                e.code,
                e.messages[0],
                e.data.as_deref().unwrap_or(""),
                e.success
            ),
        };
        let d = doc(&format!(
            "{}: {status}.\n\nBusy codes: {}. Rate-limit codes: {}. Token codes: {}.",
            v.title,
            code_list(&v.busy_codes),
            code_list(&v.rate_limit_codes),
            code_list(&v.token_invalid_codes)
        ));
        variants.push(quote!(#d #variant,));
        arms.push(quote!(Self::#variant => &#table,));
        all.push(quote!(Self::#variant));

        let (name, title, base_url) = (v.vendor.as_str(), &v.title, &v.base_url);
        let shape = match e.shape {
            EnvelopeShape::Flat => quote!(Flat),
            EnvelopeShape::Wrapped => quote!(Wrapped),
        };
        let (code, messages, data) = (&e.code, &e.messages, e.data.as_deref().unwrap_or(""));
        let success = proc_macro2::Literal::i64_unsuffixed(e.success);
        let (success_message, absent) = (&e.success_message, e.absent_is_success);
        let gateway = match &e.gateway {
            Some(g) => {
                let (c, m) = (&g.code, &g.message);
                quote!(Some((#c, #m)))
            }
            None => quote!(None),
        };
        let oauth = match &e.oauth {
            Some(o) => {
                let (a, b) = (&o.error, &o.description);
                quote!(Some((#a, #b)))
            }
            None => quote!(None),
        };
        let option = |text: &Option<String>| match text {
            Some(t) => quote!(Some(#t)),
            None => quote!(None),
        };
        let request_id = option(&e.request_id);
        let request_id_in_message = option(&e.request_id_in_message);
        let busy = v.busy_codes.iter().map(code_text);
        let rate_limited = v.rate_limit_codes.iter().map(code_text);
        let rate_from_gateway = v.rate_limit_from_gateway;
        let tokens = v.token_invalid_codes.iter().map(code_text);
        let expired = proc_macro2::Literal::i64_unsuffixed(v.token_expired);
        let invalid = proc_macro2::Literal::i64_unsuffixed(v.token_invalid);
        let from_gateway = v.token_errors_from_gateway;
        let refused = match &v.refresh_refused {
            RefreshRefused::Code {
                code,
                message,
                confidence,
            } => {
                let c = code_text(&CodeText {
                    code: *code,
                    message: message.clone(),
                    confidence: *confidence,
                });
                quote!(crate::vendor::RefreshRefused::Code(#c))
            }
            RefreshRefused::OAuthError {
                oauth_error,
                message,
            } => {
                quote!(crate::vendor::RefreshRefused::OAuthError { error: #oauth_error, message: #message })
            }
        };
        let ticket_refused = match &v.ticket_refused {
            Some(c) => {
                let c = code_text(c);
                quote!(Some(#c))
            }
            None => quote!(None),
        };
        let (invalid_request, missing) = (
            code_text(&v.invalid_request),
            code_text(&v.missing_credential),
        );
        let push_random_prefix = match &v.push {
            Some(p) => {
                let n = proc_macro2::Literal::usize_unsuffixed(p.random_prefix);
                quote!(Some(#n))
            }
            None => quote!(None),
        };
        let table_doc = format!(" {}'s facts, from `specs/{name}/vendor.toml`.", v.title);
        tables.push(quote! {
            #[doc = #table_doc]
            static #table: crate::vendor::VendorFacts = crate::vendor::VendorFacts {
                name: #name,
                title: #title,
                base_url: #base_url,
                envelope: crate::vendor::EnvelopeFacts {
                    shape: crate::vendor::EnvelopeShape::#shape,
                    code: #code,
                    messages: &[#(#messages),*],
                    data: #data,
                    success: #success,
                    success_message: #success_message,
                    absent_is_success: #absent,
                    gateway: #gateway,
                    oauth: #oauth,
                    request_id: #request_id,
                    request_id_in_message: #request_id_in_message,
                },
                busy_codes: &[#(#busy),*],
                rate_limit_codes: &[#(#rate_limited),*],
                rate_limit_from_gateway: #rate_from_gateway,
                token_invalid_codes: &[#(#tokens),*],
                token_expired: #expired,
                token_invalid: #invalid,
                token_errors_from_gateway: #from_gateway,
                refresh_refused: #refused,
                invalid_request: #invalid_request,
                missing_credential: #missing,
                ticket_refused: #ticket_refused,
                push_random_prefix: #push_random_prefix,
            };
        });
    }
    Ok(quote! {
        //! The vendors this SDK knows and their facts, one `specs/<vendor>/vendor.toml` each.

        /// The vendor whose envelope and conventions an endpoint follows.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Vendor {
            #(#variants)*
        }

        impl Vendor {
            /// Every vendor.
            pub const ALL: &'static [Vendor] = &[#(#all),*];

            /// The vendor's envelope, codes and origin.
            pub const fn facts(self) -> &'static crate::vendor::VendorFacts {
                match self {
                    #(#arms)*
                }
            }
        }

        #(#tables)*
    })
}
