//! `crate = ".."`: the impl names the runtime by the path given (here a module that re-exports
//! it, as a vendor crate does), not by `::core_http`.
mod runtime {
    pub use core_http::*;
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct Answer {}

#[derive(miniapp_derive::Endpoint)]
#[endpoint(crate = "crate::runtime", vendor = wechat, method = GET, path = "/x", response = Answer)]
pub struct XRequest {
    #[param(query)]
    pub id: Option<String>,
}

fn main() {
    use runtime::Endpoint;
    assert_eq!(XRequest::PATH, "/x");
}
