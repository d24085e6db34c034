#[derive(Debug, Default, serde::Deserialize)]
pub struct Answer {}

#[derive(miniapp_derive::Endpoint)]
#[endpoint(vendor = baidu, method = POST, path = "/x", body = form, response = Answer)]
pub struct XRequest {
    #[param(json)]
    pub action: String,
}

fn main() {}
