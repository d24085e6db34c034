#[derive(Debug, Default, serde::Deserialize)]
pub struct Answer {}

#[derive(core_http::Endpoint)]
#[endpoint(vendor = alipay, method = POST, path = "/x", response = Answer)]
pub struct XRequest {}

fn main() {}
