#[derive(Debug, Default, serde::Deserialize)]
pub struct Answer {}

#[derive(core_http::Endpoint)]
#[endpoint(vendor = kuaishou, method = GET, path = "/x", body = json, response = Answer)]
pub struct XRequest {}

fn main() {}
