#[derive(Debug, Default, serde::Deserialize)]
pub struct Answer {}

#[derive(miniapp_derive::Endpoint)]
#[endpoint(vendor = alipay, method = POST, path = "/x", response = Answer)]
pub struct XRequest {}

fn main() {}
