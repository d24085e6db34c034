//! `crate = ".."` is the path the impl names: a path that is not there is the compiler's error.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Answer {}

#[derive(miniapp_derive::Endpoint)]
#[endpoint(crate = "no_such_runtime", vendor = wechat, method = GET, path = "/x", response = Answer)]
pub struct XRequest {
    #[param(query)]
    pub id: Option<String>,
}

fn main() {}
