#[derive(Debug, Default, serde::Deserialize)]
pub struct Answer {}

#[derive(miniapp_derive::Endpoint)]
#[endpoint(vendor = wechat, method = POST, response = Answer)]
pub struct XRequest {}

fn main() {}
