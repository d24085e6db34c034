#[derive(Debug, Default, serde::Deserialize)]
pub struct Answer {}

#[derive(miniapp_derive::Endpoint)]
#[endpoint(vendor = wechat, method = POST, path = "/x", body = json, response = Answer)]
pub struct XRequest {
    #[param(json, required, optional_when(param = "acton", equals = "get"))]
    pub domains: Option<Vec<String>>,
}

fn main() {}
