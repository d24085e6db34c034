//! The SDK tour: every endpoint of all three vendors, called through the public client API.
//!
//! [`calls`] lists one call per endpoint; [`run`] makes them all against a base URL that serves
//! the three vendors' paths on one origin (the built-in sandbox, or any such server) and reports
//! what each returned. The integration tests reuse [`calls`] to drive every endpoint.

pub mod the_loop;

use std::future::Future;
use std::pin::Pin;

use core_http::Error;

mod baidu;
mod kuaishou;
mod wechat;

/// The handles of each vendor, all pointing at the same origin.
pub struct Clients {
    /// WeChat client (endpoints without a token).
    pub wechat_client: wechat_component_api::Client,
    /// WeChat platform (component) handle.
    pub wechat: wechat_component_api::Component,
    /// WeChat authorized mini-program handle.
    pub wechat_app: wechat_component_api::AuthorizedApp,
    /// Baidu client (endpoints without a token).
    pub baidu_client: baidu_smartapp_api::Client,
    /// Baidu platform (TP token) handle.
    pub baidu_component: baidu_smartapp_api::Component,
    /// Baidu authorized mini-program handle.
    pub baidu: baidu_smartapp_api::AuthorizedApp,
    /// Kuaishou client (endpoints without a token).
    pub kuaishou_client: kuaishou_api::Client,
    /// Kuaishou platform handle.
    pub kuaishou_component: kuaishou_api::Component,
    /// Kuaishou authorized mini-program handle.
    pub kuaishou: kuaishou_api::AuthorizedApp,
}

/// Tokens the tour uses; the sandbox accepts any non-empty token.
pub const TOUR_TOKEN: &str = "tour-token";

impl Clients {
    /// Handles for `base_url`, with the tour's demo credentials.
    pub fn new(base_url: &str) -> Self {
        let wechat_client = wechat_component_api::Client::with_base_url(base_url);
        let baidu_client = baidu_smartapp_api::Client::with_base_url(base_url);
        let kuaishou_client = kuaishou_api::Client::with_base_url(base_url, "tour-component-app");
        Clients {
            wechat: wechat_client.component(TOUR_TOKEN),
            wechat_app: wechat_client.authorizer(TOUR_TOKEN),
            baidu_component: baidu_client.component(TOUR_TOKEN),
            baidu: baidu_client.authorizer(TOUR_TOKEN),
            kuaishou_component: kuaishou_client.component(TOUR_TOKEN),
            kuaishou: kuaishou_client.authorizer(TOUR_TOKEN),
            wechat_client,
            baidu_client,
            kuaishou_client,
        }
    }
}

/// The future of one call: a one-line summary of the answer.
pub type CallFuture<'a> = Pin<Box<dyn Future<Output = Result<String, Error>> + Send + 'a>>;

/// One endpoint's call in the tour.
pub struct Call {
    /// `wechat`, `baidu` or `kuaishou`.
    pub vendor: &'static str,
    /// The spec's operation name, e.g. `ModifyDomain`.
    pub endpoint: &'static str,
    /// Makes the call.
    pub run: for<'a> fn(&'a Clients) -> CallFuture<'a>,
}

impl Call {
    /// The call of `vendor`'s `endpoint`.
    pub fn new(
        vendor: &'static str,
        endpoint: &'static str,
        run: for<'a> fn(&'a Clients) -> CallFuture<'a>,
    ) -> Self {
        Call {
            vendor,
            endpoint,
            run,
        }
    }
}

/// Every endpoint's call, vendor by vendor in document order.
pub fn calls() -> Vec<Call> {
    let mut all = wechat::calls();
    all.extend(baidu::calls());
    all.extend(kuaishou::calls());
    all
}

/// What one call of the tour did.
pub struct Outcome {
    /// The call.
    pub vendor: &'static str,
    /// The operation.
    pub endpoint: &'static str,
    /// Summary or error.
    pub result: Result<String, Error>,
}

/// Runs every call against `base_url`, printing each outcome when `print` is set.
pub async fn run(base_url: &str, print: bool) -> Vec<Outcome> {
    let clients = Clients::new(base_url);
    let mut outcomes = Vec::new();
    for call in calls() {
        let result = (call.run)(&clients).await;
        if print {
            match &result {
                Ok(summary) => println!("ok   {:<8} {:<22} {summary}", call.vendor, call.endpoint),
                Err(e) => println!("FAIL {:<8} {:<22} {e}", call.vendor, call.endpoint),
            }
        }
        outcomes.push(Outcome {
            vendor: call.vendor,
            endpoint: call.endpoint,
            result,
        });
    }
    outcomes
}
