#[derive(Debug, Default, serde::Deserialize)]
pub struct Answer {}

#[derive(core_http::Endpoint)]
#[endpoint(vendor = wechat, method = POST, path = "/x", body = json, response = Answer)]
pub struct XRequest {
    pub action: String,
}

fn main() {}
