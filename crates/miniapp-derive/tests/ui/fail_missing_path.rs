#[derive(Debug, Default, serde::Deserialize)]
pub struct Answer {}

#[derive(core_http::Endpoint)]
#[endpoint(vendor = wechat, method = POST, response = Answer)]
pub struct XRequest {}

fn main() {}
