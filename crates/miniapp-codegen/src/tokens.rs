//! A vendor crate's `tokens` module, from `[tokens]` of its `vendor.toml` and the token roles
//! of the endpoints it names: `manager` (a `TokenManager` wired to the vendor's calls), the two
//! fetchers, `TICKET_LIFETIME` and the re-exported token types.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use miniapp_spec::{
    find_endpoint, Endpoint, Fill, FillSource, SpecFile, TokenCall, TypeRef, VendorFile,
};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::module::{escape_brackets, ident, vendor_variant, Handle};

/// What the calls of a flow read from their fetcher.
#[derive(Default)]
struct Uses {
    platform_app_id: bool,
    platform_secret: bool,
    client: bool,
    component: bool,
    refresh: bool,
}

/// A call of the flow, resolved against the specs.
struct Step<'a> {
    spec: &'a SpecFile,
    ep: &'a Endpoint,
    call: &'a TokenCall,
}

fn resolve<'a>(
    vendor: &VendorFile,
    specs: &'a [(PathBuf, SpecFile)],
    call: &'a TokenCall,
) -> Result<Step<'a>> {
    let (spec, ep) = find_endpoint(specs, vendor.vendor, &call.call)
        .with_context(|| format!("no endpoint `{}`", call.call))?;
    Ok(Step { spec, ep, call })
}

impl Uses {
    fn add(&mut self, step: &Step<'_>) {
        for fill in step.call.fill.values() {
            match fill {
                Fill::From(FillSource::PlatformAppId) => self.platform_app_id = true,
                Fill::From(FillSource::PlatformSecret) => self.platform_secret = true,
                _ => {}
            }
        }
        match Handle::of(step.ep) {
            Handle::Client => self.client = true,
            _ => self.component = true,
        }
        if step
            .ep
            .token
            .as_ref()
            .is_some_and(|r| r.refresh_param.is_some())
        {
            self.refresh = true;
        }
    }
}

/// The rust name of the first parameter filled from `source` in `steps`.
fn param_named_for(steps: &[&Step<'_>], source: FillSource) -> Option<String> {
    steps.iter().find_map(|s| {
        s.call.fill.iter().find_map(|(name, fill)| {
            (fill == &Fill::From(source)).then(|| {
                s.ep.params
                    .iter()
                    .find(|p| &p.name == name)
                    .map_or_else(|| name.clone(), |p| p.rust_ident())
            })
        })
    })
}

/// `answer.a.b` for a dotted member path of `ep`'s answer (every step but the last required).
fn answer_member(step: &Step<'_>, dotted: &str) -> Result<(TokenStream, bool)> {
    let fields = miniapp_spec::answer_path(step.spec, step.ep, dotted)
        .with_context(|| format!("`{}` answers no `{dotted}`", step.ep.name))?;
    let (last, parents) = fields.split_last().expect("a path has a field");
    if let Some(optional) = parents.iter().find(|f| !f.required) {
        bail!(
            "`{}`: `{}` of `{dotted}` must be required",
            step.ep.name,
            optional.name
        );
    }
    let mut path = quote!(answer);
    for f in &fields {
        let id = ident(&f.rust_ident())?;
        path = quote!(#path.#id);
    }
    Ok((path, last.required))
}

/// The expressions of the values a call's parameters are filled from, where it is written
/// (`None`: not at hand there; `check_token_flow` refuses such a fill first).
struct Sources {
    platform_app_id: TokenStream,
    platform_secret: Option<TokenStream>,
    app_id: Option<TokenStream>,
    authorization_code: Option<TokenStream>,
    /// The token role's ticket parameter, in the platform's call.
    ticket: Option<TokenStream>,
    /// The token role's refresh parameter, when the call consumes a stored refresh token.
    refresh: Option<TokenStream>,
}

impl Sources {
    /// Inside a fetcher (`self` holds the values; `ticket` and `refresh` are locals of the
    /// platform's and the renewing fetcher).
    fn fetcher(platform: bool) -> Sources {
        Sources {
            platform_app_id: quote!(&*self.platform_app_id),
            platform_secret: Some(quote!(self.platform_secret.clone())),
            app_id: Some(quote!(&*self.app_id)),
            authorization_code: None,
            ticket: platform.then(|| quote!(ticket)),
            refresh: (!platform).then(|| quote!(refresh.clone())),
        }
    }
}

/// The statements that build `request` for one call and send it, binding `answer`;
/// `previous` is the call before it, whose `answer` it may read.
fn call(
    step: &Step<'_>,
    previous: Option<&Step<'_>>,
    receiver: TokenStream,
    sources: &Sources,
) -> Result<TokenStream> {
    let ep = step.ep;
    let module = ident(&step.spec.module)?;
    let request_type = format_ident!("{}Request", ep.name);
    let method = ident(&ep.fn_name)?;
    let role = ep.token.as_ref();
    let mut ctor = Vec::new();
    let mut sets = Vec::new();
    for p in &ep.params {
        let at_hand = |source: &Option<TokenStream>| {
            source.clone().with_context(|| {
                format!(
                    "`{}`: the value of `{}` is not at hand in this call",
                    ep.name, p.name
                )
            })
        };
        let value = if role.and_then(|r| r.ticket_param.as_deref()) == Some(p.name.as_str()) {
            sources.ticket.clone()
        } else if role.and_then(|r| r.refresh_param.as_deref()) == Some(p.name.as_str()) {
            sources.refresh.clone()
        } else {
            match step.call.fill.get(&p.name) {
                None => None,
                Some(Fill::From(FillSource::PlatformAppId)) => {
                    let v = &sources.platform_app_id;
                    Some(quote!(String::from(#v)))
                }
                Some(Fill::From(FillSource::AppId)) => {
                    let v = at_hand(&sources.app_id)?;
                    Some(quote!(String::from(#v)))
                }
                Some(Fill::From(FillSource::PlatformSecret)) => {
                    Some(at_hand(&sources.platform_secret)?)
                }
                Some(Fill::From(FillSource::AuthorizationCode)) => {
                    let v = at_hand(&sources.authorization_code)?;
                    Some(if p.secret {
                        quote!(core_http::Secret::from(#v))
                    } else {
                        quote!(String::from(#v))
                    })
                }
                Some(Fill::Previous { previous: member }) => {
                    let before =
                        previous.with_context(|| format!("`{}` has no previous call", ep.name))?;
                    let (member, _) = answer_member(before, member)?;
                    Some(quote!(#member.clone()))
                }
                Some(Fill::Value { value }) => match &p.ty {
                    TypeRef::Named(name) => {
                        let e = step
                            .spec
                            .enums
                            .iter()
                            .find(|e| &e.name == name)
                            .with_context(|| format!("no enum `{name}`"))?;
                        let v = e
                            .values
                            .iter()
                            .find(|v| &v.wire == value)
                            .with_context(|| format!("`{value}` is not a value of `{name}`"))?;
                        let (t, v) = (ident(&e.name)?, ident(&v.rust)?);
                        Some(quote!(crate::#module::#t::#v))
                    }
                    _ => Some(quote!(String::from(#value))),
                },
            }
        };
        let field = ident(&p.rust_ident())?;
        let mandatory = p.is_mandatory();
        match (mandatory, value) {
            (true, Some(v)) => ctor.push(v),
            (true, None) => bail!("`{}` needs `{}` filled", ep.name, p.name),
            (false, Some(v)) => sets.push(quote!(request.#field = Some(#v);)),
            (false, None) => {}
        }
    }
    let binding = if sets.is_empty() {
        quote!(let request)
    } else {
        quote!(let mut request)
    };
    Ok(quote! {
        #binding = crate::#module::#request_type::new(#(#ctor),*);
        #(#sets)*
        let answer = #receiver.#method(&request).await?;
    })
}

/// `TokenGrant::from_answer(..)` from the last call's answer, by its token role.
fn grant(step: &Step<'_>) -> Result<TokenStream> {
    let role = step
        .ep
        .token
        .as_ref()
        .with_context(|| format!("`{}` has no token role", step.ep.name))?;
    let name = &step.ep.name;
    let (access, access_required) = answer_member(step, &role.access_token)?;
    let (expires, expires_required) = answer_member(step, &role.expires_in)?;
    if !access_required || !expires_required {
        bail!("`{name}`: the token and its lifetime must be required answer fields");
    }
    let refresh = match &role.refresh_token {
        Some(r) => answer_member(step, r)?.0,
        None => quote!(None),
    };
    Ok(quote!(TokenGrant::from_answer(#name, #access, #expires, #refresh)))
}

/// `complete`: the authorization code exchanged (`[tokens.exchange]`) and the app's tokens
/// saved.
fn complete_authorization(
    vendor: &VendorFile,
    specs: &[(PathBuf, SpecFile)],
) -> Result<(TokenStream, bool)> {
    let exchange = resolve(vendor, specs, &vendor.tokens.exchange)?;
    let role = exchange
        .ep
        .token
        .as_ref()
        .with_context(|| format!("`{}` has no token role", exchange.ep.name))?;
    let fills_app_id = exchange
        .call
        .fill
        .values()
        .any(|f| f == &Fill::From(FillSource::AppId));
    // The app id: the answer's when the role names it (falling back to the caller's when the
    // member is optional), else the caller's.
    let (takes_app_id, app_id) = match &role.app_id {
        Some(path) => {
            let (member, required) = answer_member(&exchange, path)?;
            if required {
                (fills_app_id, quote!(#member))
            } else {
                (true, quote!(#member.unwrap_or_else(|| app_id.to_owned())))
            }
        }
        None => (true, quote!(app_id.to_owned())),
    };
    let app_arg = if takes_app_id {
        quote!(app_id: &str,)
    } else {
        quote!()
    };
    let sources = Sources {
        platform_app_id: quote!(tokens.platform_app_id()),
        platform_secret: None,
        app_id: Some(quote!(app_id)),
        authorization_code: Some(quote!(authorization_code)),
        ticket: None,
        refresh: None,
    };
    let (receiver_init, receiver) = match Handle::of(exchange.ep) {
        Handle::Component => (
            quote!(let component = client.component(tokens.component_token());),
            quote!(component),
        ),
        _ => (quote!(), quote!(client)),
    };
    let call = call(&exchange, None, receiver, &sources)?;
    let grant = grant(&exchange)?;
    let name = &exchange.ep.name;
    let app_doc = match (&role.app_id, takes_app_id) {
        (Some(_), false) => "the authorized app id (the answer names it)".to_owned(),
        (Some(path), true) => {
            format!("the authorized app id (the answer's `{path}`, else `app_id`)")
        }
        (None, _) => "`app_id` (the answer does not name the app: the push or the redirect that \
                      brought the code does)"
            .to_owned(),
    };
    let d = crate::module::doc(&format!(
        "Exchanges an app's authorization code (`{name}`), saves the app's tokens in \
         `tokens`' store, and returns {app_doc}; from then on \
         [`TokenManager::authorizer_token`] renews them.\n\n\
         The code is single-use: if the caller may be cancelled (a web handler whose client \
         goes away), run this in a task of its own (`core_http::push::run_detached`), or a drop \
         between the exchange and the save loses the authorization."
    ));
    let f = quote! {
        #d
        pub async fn complete(
            client: &crate::Client,
            tokens: &TokenManager,
            #app_arg
            authorization_code: &str,
        ) -> Result<String, core_http::Error> {
            #receiver_init
            #call
            let app_id: String = #app_id;
            let grant = #grant?;
            tokens.save_authorization(&app_id, grant).await?;
            Ok(app_id)
        }
    };
    Ok((f, takes_app_id))
}

/// `src/generated/tokens.rs` of `vendor`'s crate.
pub fn module(
    vendor: &VendorFile,
    specs: &[(PathBuf, SpecFile)],
    client_carries_app_id: bool,
) -> Result<TokenStream> {
    let flow = &vendor.tokens;
    let variant = vendor_variant(vendor.vendor);
    let krate = crate::client::crate_name(vendor);
    let title = &vendor.title;
    let platform = resolve(vendor, specs, &flow.platform)?;
    let renew = flow
        .renew
        .iter()
        .map(|c| resolve(vendor, specs, c))
        .collect::<Result<Vec<_>>>()?;
    let mut platform_uses = Uses::default();
    platform_uses.add(&platform);
    let mut renew_uses = Uses::default();
    for s in &renew {
        renew_uses.add(s);
    }
    let renew_app_id = renew_uses.refresh
        || renew
            .iter()
            .flat_map(|s| s.call.fill.values())
            .any(|f| f == &Fill::From(FillSource::AppId));
    let all: Vec<&Step<'_>> = std::iter::once(&platform).chain(renew.iter()).collect();
    let app_id_arg = ident(
        &param_named_for(&all, FillSource::PlatformAppId).unwrap_or("platform_app_id".into()),
    )?;
    let secret_arg = param_named_for(&all, FillSource::PlatformSecret)
        .map(|n| ident(&n))
        .transpose()?;

    // `manager`'s arguments and the values it hands to the fetchers.
    let mut args = Vec::new();
    let mut example_args = Vec::new();
    let app_id_value = if client_carries_app_id {
        quote!(client.component_app_id())
    } else {
        args.push(quote!(#app_id_arg: &str));
        example_args.push("\"PLATFORM_APP_ID\"");
        quote!(#app_id_arg)
    };
    let mut secret_init = quote!();
    if let Some(secret) = &secret_arg {
        args.push(quote!(#secret: impl Into<core_http::Secret>));
        example_args.push("\"PLATFORM_APP_SECRET\"");
        secret_init = quote!(let platform_secret: core_http::Secret = #secret.into(););
    }
    let field_if = |on: bool, field: TokenStream| if on { field } else { quote!() };

    let platform_fields = [
        field_if(
            platform_uses.platform_app_id,
            quote!(platform_app_id: ::std::sync::Arc<str>,),
        ),
        field_if(
            platform_uses.platform_secret,
            quote!(platform_secret: core_http::Secret,),
        ),
    ];
    let platform_inits = [
        field_if(
            platform_uses.platform_app_id,
            quote!(platform_app_id: platform_app_id.clone(),),
        ),
        field_if(
            platform_uses.platform_secret,
            quote!(platform_secret: platform_secret.clone(),),
        ),
    ];
    let platform_call = call(
        &platform,
        None,
        quote!(self.client),
        &Sources::fetcher(true),
    )?;
    let platform_grant = grant(&platform)?;

    let renew_fields = [
        field_if(renew_uses.component, quote!(component: crate::Component,)),
        field_if(renew_uses.client, quote!(client: crate::Client,)),
        field_if(
            renew_uses.platform_app_id,
            quote!(platform_app_id: ::std::sync::Arc<str>,),
        ),
        field_if(
            renew_uses.platform_secret,
            quote!(platform_secret: core_http::Secret,),
        ),
        field_if(renew_app_id, quote!(app_id: ::std::sync::Arc<str>,)),
    ];
    let renew_captures = [
        field_if(
            renew_uses.component,
            quote!(let component = client.component(token);),
        ),
        field_if(renew_uses.client, quote!(let client = client.clone();)),
        field_if(
            renew_uses.platform_app_id,
            quote!(let platform_app_id = platform_app_id.clone();),
        ),
        field_if(
            renew_uses.platform_secret,
            quote!(let platform_secret = platform_secret.clone();),
        ),
    ];
    let renew_inits = [
        field_if(renew_uses.component, quote!(component: component.clone(),)),
        field_if(renew_uses.client, quote!(client: client.clone(),)),
        field_if(
            renew_uses.platform_app_id,
            quote!(platform_app_id: platform_app_id.clone(),),
        ),
        field_if(
            renew_uses.platform_secret,
            quote!(platform_secret: platform_secret.clone(),),
        ),
        field_if(renew_app_id, quote!(app_id: app_id.into(),)),
    ];
    let token_param = if renew_uses.component {
        quote!(token)
    } else {
        quote!(_token)
    };
    let app_id_param = if renew_app_id {
        quote!(app_id)
    } else {
        quote!(_app_id)
    };
    let mut renew_calls = Vec::new();
    for (i, step) in renew.iter().enumerate() {
        let receiver = match Handle::of(step.ep) {
            Handle::Client => quote!(self.client),
            _ => quote!(self.component),
        };
        let previous = i.checked_sub(1).map(|j| &renew[j]);
        renew_calls.push(call(step, previous, receiver, &Sources::fetcher(false))?);
    }
    let last = renew.last().context("`tokens.renew` names no call")?;
    let renew_grant = grant(last)?;
    let (current, refresh) = if renew_uses.refresh {
        (
            quote!(current),
            quote!(let refresh = core_http::token::refresh_token_of(current, &self.app_id)?;),
        )
    } else {
        (quote!(_current), quote!())
    };

    // Docs.
    let renew_names = renew
        .iter()
        .map(|s| format!("`{}`", s.ep.name))
        .collect::<Vec<_>>()
        .join(", then ");
    let new_client = if client_carries_app_id {
        "Client::new(\"COMPONENT_APP_ID\")"
    } else {
        "Client::new()"
    };
    let mut args_text = String::from("&client, ");
    for a in &example_args {
        args_text.push_str(a);
        args_text.push_str(", ");
    }
    let mut mdoc = format!(
        "Self-refreshing {title} tokens: the platform's token (`{}`, with the latest pushed \
         ticket) and each authorized app's token (renewed by {renew_names}), kept in a \
         [`TokenStore`] and renewed before they expire, once per expiry for every process \
         sharing the store.\n\n",
        platform.ep.name
    );
    if let Some(note) = &flow.note {
        mdoc.push_str(note.trim());
        mdoc.push_str("\n\n");
    }
    mdoc.push_str(&format!(
        "```no_run\n\
         # async fn demo(pushed_ticket: String) -> Result<(), {krate}::Error> {{\n\
         use std::sync::Arc;\n\
         use {krate}::tokens::{{self, MemoryStore, RefreshPolicy}};\n\
         use {krate}::Client;\n\n\
         let client = {new_client};\n\
         let tokens = tokens::manager({args_text}Arc::new(MemoryStore::new()), RefreshPolicy::default());\n\
         // In the ticket push handler:\n\
         tokens.store_ticket(pushed_ticket, tokens::TICKET_LIFETIME).await?;\n\
         // Handles that never need a token from the caller again:\n\
         let platform = client.component(tokens.component_token());\n\
         // Once an app's authorization is saved (`authorization::complete`):\n\
         let app = client.authorizer(tokens.authorizer_token(\"APP_ID\"));\n\
         # let _ = (platform, app);\n\
         # Ok(()) }}\n\
         ```"
    ));
    let mdoc_lines = mdoc.lines().map(|l| {
        let l = format!(" {}", escape_brackets(l));
        quote!(#![doc = #l])
    });
    let lifetime = proc_macro2::Literal::u64_unsuffixed(flow.ticket_lifetime_secs);
    let lifetime_doc = crate::module::doc(&format!(
        "How long a pushed ticket is kept: {}.",
        flow.ticket_lifetime_note.trim_end_matches('.')
    ));
    // `platform`: the same for every vendor, for code that handles several alike.
    let client_on = if client_carries_app_id {
        quote!(crate::Client::with_transport(transport, platform_app_id))
    } else {
        quote!(crate::Client::with_transport(transport))
    };
    let mut manager_args = Vec::new();
    if !client_carries_app_id {
        manager_args.push(quote!(platform_app_id));
    }
    let secret_take = if secret_arg.is_some() {
        let call_name = &platform.ep.name;
        let message = format!(
            "{title}'s platform token needs the platform's app secret (`secret`); none was given"
        );
        manager_args.push(quote!(platform_secret));
        quote! {
            let Some(platform_secret) = platform_secret else {
                return Err(core_http::Error::Credentials {
                    endpoint: #call_name,
                    message: #message.into(),
                });
            };
        }
    } else {
        quote!(let _ = platform_secret;)
    };
    let platform_fn_doc = crate::module::doc(&format!(
        "A client (at `base_url`, else {title}'s origin) and its token [`manager`], from what every \
         vendor's platform has: its app id and, when its token call takes one, its app secret \
         ({}). The same signature in every vendor crate, for code that handles several vendors \
         alike; an error names a missing secret.",
        if secret_arg.is_some() { "needed here" } else { "not used here" }
    ));
    let platform_on_doc = crate::module::doc(
        "[`platform`] over a transport of yours: its timeouts, proxy and connection pool, and its \
         rate limiter ([`core_http::Transport::with_rate_limiter`]), which then paces the token \
         manager's own calls too.",
    );
    let manager_doc = crate::module::doc(&format!(
        "The token manager of one platform: its token from `{}` with the ticket last stored \
         by [`TokenManager::store_ticket`], each app's token renewed by {renew_names} from \
         what [`TokenManager::save_authorization`] saved, all kept in `store` and renewed as \
         `policy` says.",
        platform.ep.name
    ));
    let platform_doc = crate::module::doc(&format!(
        "Fetches the platform's token (`{}`) with the latest stored ticket.",
        platform.ep.name
    ));
    let renew_doc = crate::module::doc(&format!(
        "Renews one authorized app's token ({renew_names})."
    ));
    Ok(quote! {
        #(#mdoc_lines)*

        #[cfg(feature = "redis")]
        pub use core_http::token::RedisStore;
        #[cfg(feature = "sqlite")]
        pub use core_http::token::SqliteStore;
        pub use core_http::token::{
            MemoryStore, RefreshPolicy, RefreshingToken, StoredToken, TokenGrant, TokenKey,
            TokenManager, TokenStore,
        };

        #lifetime_doc
        pub const TICKET_LIFETIME: ::std::time::Duration = ::std::time::Duration::from_secs(#lifetime);

        #platform_fn_doc
        pub fn platform(
            base_url: Option<&str>,
            platform_app_id: &str,
            platform_secret: Option<core_http::Secret>,
            store: ::std::sync::Arc<dyn TokenStore>,
            policy: RefreshPolicy,
        ) -> Result<(crate::Client, TokenManager), core_http::Error> {
            let transport = core_http::Transport::new(base_url.unwrap_or(crate::BASE_URL));
            platform_on(::std::sync::Arc::new(transport), platform_app_id, platform_secret, store, policy)
        }

        #platform_on_doc
        pub fn platform_on(
            transport: ::std::sync::Arc<core_http::Transport>,
            platform_app_id: &str,
            platform_secret: Option<core_http::Secret>,
            store: ::std::sync::Arc<dyn TokenStore>,
            policy: RefreshPolicy,
        ) -> Result<(crate::Client, TokenManager), core_http::Error> {
            #secret_take
            let client = #client_on;
            let tokens = manager(&client, #(#manager_args,)* store, policy);
            Ok((client, tokens))
        }

        #manager_doc
        pub fn manager(
            client: &crate::Client,
            #(#args,)*
            store: ::std::sync::Arc<dyn TokenStore>,
            policy: RefreshPolicy,
        ) -> TokenManager {
            let platform_app_id: ::std::sync::Arc<str> = #app_id_value.into();
            #secret_init
            let fetcher = ::std::sync::Arc::new(ComponentTokenFetcher {
                client: client.clone(),
                #(#platform_inits)*
                store: store.clone(),
                ticket_key: TokenKey::ticket(core_http::Vendor::#variant, &platform_app_id),
            });
            TokenManager::build(
                core_http::Vendor::#variant,
                &platform_app_id,
                store,
                policy,
                fetcher,
                |#token_param| {
                    #(#renew_captures)*
                    move |#app_id_param: &str| -> ::std::sync::Arc<dyn core_http::token::TokenFetcher> {
                        ::std::sync::Arc::new(AuthorizerTokenFetcher {
                            #(#renew_inits)*
                        })
                    }
                },
            )
        }

        #platform_doc
        pub struct ComponentTokenFetcher {
            client: crate::Client,
            #(#platform_fields)*
            store: ::std::sync::Arc<dyn TokenStore>,
            ticket_key: TokenKey,
        }

        impl core_http::token::TokenFetcher for ComponentTokenFetcher {
            fn fetch<'a>(
                &'a self,
                _current: Option<&'a StoredToken>,
            ) -> core_http::token::BoxFuture<'a, Result<TokenGrant, core_http::Error>> {
                Box::pin(async move {
                    let ticket = core_http::token::load_ticket(self.store.as_ref(), &self.ticket_key).await?;
                    #platform_call
                    #platform_grant
                })
            }
        }

        #renew_doc
        pub struct AuthorizerTokenFetcher {
            #(#renew_fields)*
        }

        impl core_http::token::TokenFetcher for AuthorizerTokenFetcher {
            fn fetch<'a>(
                &'a self,
                #current: Option<&'a StoredToken>,
            ) -> core_http::token::BoxFuture<'a, Result<TokenGrant, core_http::Error>> {
                Box::pin(async move {
                    #refresh
                    #(#renew_calls)*
                    #renew_grant
                })
            }
        }
    })
}

/// `src/generated/authorization.rs` of `vendor`'s crate: `complete` (from `[tokens.exchange]`)
/// and, when `vendor.toml` has `[authorization]`, `AUTHORIZATION_PAGE` and `link`.
pub fn authorization_module(
    vendor: &VendorFile,
    specs: &[(PathBuf, SpecFile)],
) -> Result<TokenStream> {
    let (complete, takes_app_id) = complete_authorization(vendor, specs)?;
    let krate = crate::client::crate_name(vendor);
    let exchange = resolve(vendor, specs, &vendor.tokens.exchange)?;
    let complete_args = if takes_app_id {
        "&client, &tokens, \"APP_ID\", \"AUTHORIZATION_CODE\""
    } else {
        "&client, &tokens, \"AUTHORIZATION_CODE\""
    };
    let mut mdoc = String::new();
    let mut items = Vec::new();
    let mut link_line = String::new();
    if let Some(page) = &vendor.authorization {
        let pre = resolve(vendor, specs, &page.pre_auth)?;
        let module = ident(&pre.spec.module)?;
        let sources = Sources {
            platform_app_id: quote!(tokens.platform_app_id()),
            platform_secret: None,
            app_id: None,
            authorization_code: None,
            ticket: None,
            refresh: None,
        };
        let (receiver_init, receiver) = match Handle::of(pre.ep) {
            Handle::Component => (
                quote!(let component = client.component(tokens.component_token());),
                quote!(component),
            ),
            _ => (quote!(), quote!(client)),
        };
        let pre_call = call(&pre, None, receiver, &sources)?;
        let (code_member, _) = answer_member(&pre, &page.pre_auth_code)?;
        let code_field = miniapp_spec::answer_field(pre.spec, pre.ep, &page.pre_auth_code)
            .context("no pre-auth code member")?;
        let code_text = if code_field.secret {
            quote!(code.expose())
        } else {
            quote!(&code)
        };
        let mut args = Vec::new();
        let mut arg_docs = Vec::new();
        let mut example_args = String::from("&client, &tokens, \"https://example.com/authorized\"");
        let mut pairs = Vec::new();
        let mut reexports = Vec::new();
        for q in &page.query {
            let name = &q.name;
            let value = match q.from {
                Some(miniapp_spec::PageSource::PlatformAppId) => quote!(tokens.platform_app_id()),
                Some(miniapp_spec::PageSource::PreAuthCode) => code_text.clone(),
                Some(miniapp_spec::PageSource::RedirectUri) => quote!(redirect_uri),
                None => {
                    let arg = ident(q.rust_name.as_deref().unwrap_or(name))?;
                    let (ty, text, example) = match &q.enumeration {
                        Some(e) => {
                            let t = ident(e)?;
                            reexports.push(quote!(pub use crate::#module::#t;));
                            let first = pre
                                .spec
                                .enums
                                .iter()
                                .find(|x| &x.name == e)
                                .and_then(|x| x.values.first())
                                .with_context(|| format!("enum `{e}` has no value"))?;
                            (
                                quote!(#t),
                                quote!(#arg.as_str()),
                                format!("authorization::{e}::{}", first.rust),
                            )
                        }
                        None => (
                            quote!(&str),
                            quote!(#arg),
                            format!("\"{}\"", name.to_uppercase()),
                        ),
                    };
                    if q.optional {
                        args.push(quote!(#arg: Option<#ty>));
                        example_args.push_str(", None");
                    } else {
                        args.push(quote!(#arg: #ty));
                        example_args.push_str(&format!(", {example}"));
                    }
                    arg_docs.push(format!("- `{name}`: {}", q.description));
                    if q.optional {
                        pairs.push(quote! {
                            if let Some(#arg) = #arg {
                                url.query_pairs_mut().append_pair(#name, #text);
                            }
                        });
                    } else {
                        pairs.push(quote!(url.query_pairs_mut().append_pair(#name, #text);));
                    }
                    continue;
                }
            };
            pairs.push(quote!(url.query_pairs_mut().append_pair(#name, #value);));
        }
        let page_url = &page.page;
        let unverified = match page.confidence {
            miniapp_spec::Confidence::Verified => "",
            miniapp_spec::Confidence::Mirror => {
                " Unverified: the page's address and parameters come from a mirror of the \
                 vendor's documents, not from the documents themselves."
            }
            miniapp_spec::Confidence::Unverified => {
                " Unverified: the page's address and parameters were not found in the vendor's \
                 documents, or the sources disagree."
            }
        };
        let page_doc = crate::module::doc(&format!("The authorization page.{unverified}"));
        let mut link_doc = format!(
            "The authorization page link for the platform of `tokens`, with a fresh pre-auth \
             code (`{}`); the page sends the owner back to `redirect_uri`.",
            pre.ep.name
        );
        if !arg_docs.is_empty() {
            link_doc.push_str("\n\n");
            link_doc.push_str(&arg_docs.join("\n"));
        }
        let link_doc = crate::module::doc(&link_doc);
        mdoc.push_str(&format!(
            "Authorizing the platform: the authorization page link (with a fresh pre-auth code), \
             and the authorization code exchanged and saved in one call.{unverified}\n\n"
        ));
        link_line = format!(
            "// 1. Send the owner to this link (valid while its pre-auth code is).\n\
             let link = authorization::link({example_args}).await?;\n\
             // 2. The redirect (or the authorization push) brings the code:\n"
        );
        items.push(quote! {
            #(#reexports)*

            #page_doc
            pub const AUTHORIZATION_PAGE: &str = #page_url;

            #link_doc
            pub async fn link(
                client: &crate::Client,
                tokens: &TokenManager,
                redirect_uri: &str,
                #(#args),*
            ) -> Result<String, core_http::Error> {
                #receiver_init
                #pre_call
                let code = #code_member;
                let mut url = url::Url::parse(AUTHORIZATION_PAGE).expect("a valid constant URL");
                #(#pairs)*
                Ok(url.into())
            }
        });
    } else {
        mdoc.push_str(&format!(
            "Completing an authorization: the authorization code exchanged (`{}`) and saved in \
             one call ({}'s documents describe no authorization page link).\n\n",
            exchange.ep.name, vendor.title
        ));
    }
    mdoc.push_str(&format!(
        "```no_run\n\
         # async fn demo(client: {krate}::Client, tokens: {krate}::tokens::TokenManager) -> Result<(), {krate}::Error> {{\n\
         use {krate}::authorization;\n\n\
         {link_line}\
         let app_id = authorization::complete({complete_args}).await?;\n\
         let app = client.authorizer(tokens.authorizer_token(&app_id)); // renews itself from now on\n\
         # let _ = app;\n\
         # Ok(()) }}\n\
         ```"
    ));
    let mdoc_lines = mdoc.lines().map(|l| {
        let l = format!(" {}", escape_brackets(l));
        quote!(#![doc = #l])
    });
    Ok(quote! {
        #(#mdoc_lines)*

        use crate::tokens::{TokenGrant, TokenManager};

        #(#items)*

        #complete
    })
}
