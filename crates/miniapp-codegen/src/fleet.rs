//! The fleet's table of vendor crates (`crates/fleet/src/generated/vendor_crates.rs`): an enum
//! of the vendor crates' clients and one `match` per operation the fleet needs, so that the
//! fleet reaches every vendor crate through plain, typed code.

use miniapp_spec::VendorFile;

/// `crates/fleet/src/generated/vendor_crates.rs`: the fleet's one table of vendor crates, as
/// plain typed code (an enum of the crates' clients and a `match` per operation).
pub(crate) fn vendor_crates(vendor_files: &[VendorFile]) -> proc_macro2::TokenStream {
    use proc_macro2::{Ident, Span};
    let arms: Vec<(Ident, Ident)> = vendor_files
        .iter()
        .map(|v| {
            (
                crate::module::vendor_variant(v.vendor),
                Ident::new(&crate::client::crate_name(v), Span::call_site()),
            )
        })
        .collect();
    let variants = arms.iter().map(|(variant, krate)| {
        let doc = format!(" `{krate}`'s client.");
        quote::quote!(#[doc = #doc] #variant(#krate::Client))
    });
    let resources = arms
        .iter()
        .map(|(v, k)| quote::quote!(Vendor::#v => #k::resources::RESOURCES));
    let descriptor = arms
        .iter()
        .map(|(v, k)| quote::quote!(Vendor::#v => #k::resources::descriptor(name)));
    let validate = arms
        .iter()
        .map(|(v, k)| quote::quote!(Vendor::#v => #k::resources::validate(name, value)));
    let connect = arms.iter().map(|(v, k)| {
        quote::quote! {
            Vendor::#v => {
                let (client, tokens) = #k::tokens::platform_on(
                    transport,
                    &creds.app_id,
                    creds.secret.clone(),
                    store,
                    policy,
                )?;
                Ok((Client::#v(client), tokens))
            }
        }
    });
    let retry = arms
        .iter()
        .map(|(v, _)| quote::quote!(Client::#v(c) => Client::#v(c.with_retry_policy(policy))));
    let shipper = arms
        .iter()
        .map(|(v, k)| quote::quote!(Client::#v(c) => #k::shipping::shipper(c.clone(), tokens)));
    let pushes = arms.iter().map(|(v, k)| {
        quote::quote!(Client::#v(_) => #k::shipping::audit_pushes(tokens, settings, on_audit))
    });
    let read = arms.iter().map(|(v, k)| {
        quote::quote! {
            Client::#v(c) => match app {
                Some(app) => {
                    let handle = c.authorizer(tokens.authorizer_token(app));
                    #k::resources::read(name, #k::resources::Target::App(&handle)).await
                }
                None => {
                    let handle = c.component(tokens.component_token());
                    #k::resources::read(name, #k::resources::Target::Platform(&handle)).await
                }
            }
        }
    });
    let write = arms.iter().map(|(v, k)| {
        quote::quote! {
            Client::#v(c) => match app {
                Some(app) => {
                    let handle = c.authorizer(tokens.authorizer_token(app));
                    #k::resources::write(name, #k::resources::Target::App(&handle), value).await
                }
                None => {
                    let handle = c.component(tokens.component_token());
                    #k::resources::write(name, #k::resources::Target::Platform(&handle), value).await
                }
            }
        }
    });
    quote::quote! {
        //! The vendor crates, one per `specs/*/vendor.toml`: the fleet's one table of them. Each
        //! operation the fleet needs of a vendor crate is a `match` over [`Client`]; the rest of
        //! the fleet names no vendor crate.

        use std::sync::Arc;

        use core_http::resource::{ResourceDescriptor, ResourceValue};
        use core_http::token::{RefreshPolicy, TokenManager, TokenStore};
        use core_http::{Error, InvalidRequest, RetryPolicy, Vendor};

        use crate::vendors::PlatformCredentials;

        /// One vendor crate's client.
        pub(crate) enum Client {
            #(#variants,)*
        }

        /// Every resource `vendor` declares (its crate's `resources::RESOURCES`).
        pub(crate) fn resources(vendor: Vendor) -> &'static [ResourceDescriptor] {
            match vendor {
                #(#resources,)*
            }
        }

        /// The resource `name` of `vendor`.
        pub(crate) fn descriptor(vendor: Vendor, name: &str) -> Option<&'static ResourceDescriptor> {
            match vendor {
                #(#descriptor,)*
            }
        }

        /// Checks `value` with the write endpoint's own validators; nothing is sent.
        pub(crate) fn validate(vendor: Vendor, name: &str, value: &ResourceValue) -> Result<(), InvalidRequest> {
            match vendor {
                #(#validate,)*
            }
        }

        impl Client {
            /// The vendor crate's client and token manager for a platform (`tokens::platform_on`).
            pub(crate) fn connect(
                vendor: Vendor,
                transport: Arc<core_http::Transport>,
                creds: &PlatformCredentials,
                store: Arc<dyn TokenStore>,
                policy: RefreshPolicy,
            ) -> Result<(Client, TokenManager), Error> {
                match vendor {
                    #(#connect)*
                }
            }

            /// The same client with `policy` for every handle made from it.
            pub(crate) fn with_retry_policy(self, policy: RetryPolicy) -> Client {
                match self {
                    #(#retry,)*
                }
            }

            /// The vendor crate's shipping adapter (`shipping::shipper`), or why it has none.
            pub(crate) fn shipper(
                &self,
                tokens: Arc<TokenManager>,
            ) -> Result<Arc<dyn core_http::shipping::ShipCode>, &'static str> {
                match self {
                    #(#shipper,)*
                }
            }

            /// The vendor crate's audit push receiver (`shipping::audit_pushes`), if the vendor
            /// pushes audit results.
            pub(crate) fn audit_pushes(
                &self,
                tokens: Arc<TokenManager>,
                settings: &core_http::push::PushSettings,
                on_audit: core_http::shipping::OnAudit,
            ) -> Result<Option<(axum::Router, &'static str)>, Error> {
                match self {
                    #(#pushes,)*
                }
            }

            /// Reads resource `name` of `app` (`None`: the platform) through the crate's
            /// `resources::read`.
            pub(crate) async fn read(
                &self,
                tokens: &TokenManager,
                app: Option<&str>,
                name: &str,
            ) -> Result<ResourceValue, Error> {
                match self {
                    #(#read,)*
                }
            }

            /// Replaces resource `name` of `app` (`None`: the platform) with `value` through the
            /// crate's `resources::write`.
            pub(crate) async fn write(
                &self,
                tokens: &TokenManager,
                app: Option<&str>,
                name: &str,
                value: &ResourceValue,
            ) -> Result<(), Error> {
                match self {
                    #(#write,)*
                }
            }
        }
    }
}
