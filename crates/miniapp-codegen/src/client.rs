//! A vendor crate's client facade, generated so that the code generated for its endpoints
//! names only what the generator itself defines: `BASE_URL`, `Client` (one connection pool),
//! the handles `Component` and `AuthorizedApp`, and the runtime types a user needs.

use anyhow::Result;
use miniapp_spec::{CredentialKind, SpecFile, VendorFile};
use proc_macro2::TokenStream;
use quote::quote;

/// The Rust name of `vendor`'s crate (its folder's name, `-` as `_`).
pub(crate) fn crate_name(vendor: &VendorFile) -> String {
    vendor
        .crate_dir
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .replace('-', "_")
}

/// Whether `vendor`'s client carries the platform's app id (its endpoints send it: Kuaishou).
pub(crate) fn carries_app_id(specs: &[&SpecFile]) -> bool {
    specs
        .iter()
        .flat_map(|s| &s.endpoints)
        .flat_map(|e| &e.credentials)
        .any(|c| c.kind == CredentialKind::ComponentAppId)
}

/// A doc example for a handle: one of its calls that needs no parameter (the first in the
/// specs), with tokens from a token manager.
fn handle_example(
    krate: &str,
    specs: &[&SpecFile],
    handle: crate::module::Handle,
    make: &str,
    var: &str,
) -> TokenStream {
    let fits = |e: &miniapp_spec::Endpoint| {
        crate::module::Handle::of(e) == handle
            && e.response != miniapp_spec::ResponseKind::BinaryOrJsonError
            && e.params.iter().all(|p| !p.is_mandatory())
    };
    // A read (`Get…`) when there is one: an example is copied, and should change nothing.
    let pick = |read: bool| {
        specs.iter().find_map(|s| {
            s.endpoints
                .iter()
                .find(|e| fits(e) && (!read || e.name.starts_with("Get")))
                .map(|e| (s, e))
        })
    };
    let found = pick(true).or_else(|| pick(false));
    let Some((spec, ep)) = found else {
        return quote!();
    };
    let text = format!(
        "\n```no_run\n\
         # async fn demo(client: {krate}::Client, tokens: {krate}::tokens::TokenManager) -> Result<(), {krate}::Error> {{\n\
         use {krate}::{module}::{name}Request;\n\n\
         {make}\n\
         let answer = {var}.{f}(&{name}Request::new()).await?; // {title}\n\
         # let _ = answer;\n\
         # Ok(()) }}\n\
         ```",
        module = spec.module,
        name = ep.name,
        f = ep.fn_name,
        title = ep.title,
    );
    let lines = text.lines().map(|l| {
        let l = format!(" {l}");
        quote!(#[doc = #l])
    });
    quote!(#(#lines)*)
}

/// `src/generated/client.rs` of `vendor`'s crate.
pub fn module(vendor: &VendorFile, specs: &[&SpecFile]) -> Result<TokenStream> {
    let variant = crate::module::vendor_variant(vendor.vendor);
    let title = &vendor.title;
    // A vendor whose endpoints carry the platform's app id (Kuaishou) gets it in its client.
    let with_app_id = carries_app_id(specs);
    let base_doc = format!(
        " {title}'s production origin (`base_url` of `specs/{}/vendor.toml`).",
        vendor.vendor.as_str()
    );
    let krate = crate_name(vendor);
    let new_call = if with_app_id {
        "Client::new(\"COMPONENT_APP_ID\")"
    } else {
        "Client::new()"
    };
    let client_doc = crate::module::doc(&format!(
        "One client (one connection pool) for a {title} platform and every app it manages; \
         hand out cheap handles with [`Client::component`] and [`Client::authorizer`].\n\n\
         ```no_run\n\
         # fn demo() {{\n\
         use {krate}::Client;\n\n\
         let client = {new_call};\n\
         // Against the sandbox or a proxy: Client::with_base_url(\"http://127.0.0.1:8080\"{app_arg})\n\
         let platform = client.component(\"COMPONENT_ACCESS_TOKEN\");\n\
         let app = client.authorizer(\"AUTHORIZER_ACCESS_TOKEN\"); // per app, no new pool\n\
         # let _ = (platform, app);\n\
         # }}\n\
         ```\n\n\
         For tokens that refresh themselves, pass a token manager's providers instead of \
         fixed tokens (see the `tokens` module).",
        app_arg = if with_app_id { ", \"COMPONENT_APP_ID\"" } else { "" },
    ));
    let (field, arg, arg_name, init, creds, accessor, default_impl) = if with_app_id {
        (
            quote!(component_app_id: ::std::sync::Arc<str>,),
            quote!(, component_app_id: impl Into<::std::sync::Arc<str>>),
            quote!(, component_app_id),
            quote! {
                let component_app_id = component_app_id.into();
                Client {
                    session: core_http::Session::new(
                        transport,
                        core_http::Credentials {
                            component_app_id: Some(component_app_id.clone()),
                            ..Default::default()
                        },
                    ),
                    component_app_id,
                }
            },
            quote!(component_app_id: Some(self.component_app_id.clone()),),
            quote! {
                /// The platform's app id.
                pub fn component_app_id(&self) -> &str {
                    &self.component_app_id
                }
            },
            quote!(),
        )
    } else {
        (
            quote!(),
            quote!(),
            quote!(),
            quote! {
                Client {
                    session: core_http::Session::new(transport, Default::default()),
                }
            },
            quote!(),
            quote!(),
            quote! {
                impl Default for Client {
                    fn default() -> Self {
                        Self::new()
                    }
                }
            },
        )
    };
    let app_example = handle_example(
        &krate,
        specs,
        crate::module::Handle::AuthorizedApp,
        "let app = client.authorizer(tokens.authorizer_token(\"APP_ID\"));",
        "app",
    );
    let component_example = handle_example(
        &krate,
        specs,
        crate::module::Handle::Component,
        "let platform = client.component(tokens.component_token());",
        "platform",
    );
    let new_param = if with_app_id {
        quote!(component_app_id: impl Into<::std::sync::Arc<str>>)
    } else {
        quote!()
    };
    let new_arg = if with_app_id {
        quote!(, component_app_id)
    } else {
        quote!()
    };
    let new_doc = if with_app_id {
        " A client for the production API, for the platform `component_app_id`."
    } else {
        " A client for the production API."
    };
    Ok(quote! {
        //! The client and its handles (generated from `vendor.toml` and the specs' credentials).

        #[doc = #base_doc]
        pub const BASE_URL: &str = core_http::Vendor::#variant.facts().base_url;

        #client_doc
        #[derive(Clone, Debug)]
        pub struct Client {
            session: core_http::Session,
            #field
        }

        #default_impl

        impl Client {
            #[doc = #new_doc]
            pub fn new(#new_param) -> Self {
                Self::with_base_url(BASE_URL #new_arg)
            }

            /// A client for another origin (a proxy, the sandbox, a test server).
            pub fn with_base_url(base_url: impl Into<String> #arg) -> Self {
                Self::with_transport(
                    ::std::sync::Arc::new(core_http::Transport::new(base_url)) #arg_name
                )
            }

            /// A client over a configured transport (timeouts, proxy, TLS, a shared pool).
            pub fn with_transport(transport: ::std::sync::Arc<core_http::Transport> #arg) -> Self {
                #init
            }

            /// The same client with another retry policy, inherited by every handle made from
            /// it (default: [`core_http::RetryPolicy::default`]).
            pub fn with_retry_policy(mut self, policy: core_http::RetryPolicy) -> Self {
                self.session = self.session.with_retry_policy(policy);
                self
            }

            /// The session without tokens, for the endpoints that take none (the token
            /// endpoints), and for [`core_http::Session::send`] with any request type.
            pub fn session(&self) -> &core_http::Session {
                &self.session
            }

            #accessor

            /// A handle on the platform's own endpoints, with the platform's access token: a
            /// fixed token (`&str`, `String`, [`core_http::Secret`]) or a
            /// [`core_http::TokenSource::Provider`] such as a token manager's.
            pub fn component(&self, token: impl Into<core_http::TokenSource>) -> Component {
                Component {
                    session: self.session.with_credentials(core_http::Credentials {
                        #creds
                        component_access_token: Some(token.into()),
                        ..Default::default()
                    }),
                }
            }

            /// A handle on one authorized mini-program, with its access token: a fixed token
            /// or a [`core_http::TokenSource::Provider`]. Cheap: no new connection pool.
            pub fn authorizer(&self, token: impl Into<core_http::TokenSource>) -> AuthorizedApp {
                AuthorizedApp {
                    session: self.session.with_credentials(core_http::Credentials {
                        #creds
                        authorizer_access_token: Some(token.into()),
                        ..Default::default()
                    }),
                }
            }
        }

        core_http::handle! {
            /// A handle on one authorized mini-program (its access token). Cheap to clone.
            #app_example
            AuthorizedApp
        }

        core_http::handle! {
            /// A handle on the platform's own endpoints (the platform's access token). Cheap to
            /// clone.
            #component_example
            Component
        }
    })
}
