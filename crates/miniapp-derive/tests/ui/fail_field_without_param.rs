#[derive(Debug, Default, serde::Deserialize)]
pub struct Answer {}

#[derive(miniapp_derive::Endpoint)]
#[endpoint(vendor = wechat, method = POST, path = "/x", body = json, response = Answer)]
pub struct XRequest {
    pub action: String,
}

fn main() {}
