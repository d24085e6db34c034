#[derive(Debug, Default, serde::Deserialize)]
pub struct Answer {}

#[derive(miniapp_derive::Endpoint)]
#[endpoint(vendor = kuaishou, method = GET, path = "/x", body = json, response = Answer)]
pub struct XRequest {}

fn main() {}
