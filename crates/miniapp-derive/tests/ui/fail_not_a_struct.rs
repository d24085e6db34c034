#[derive(miniapp_derive::Endpoint)]
#[endpoint(vendor = wechat, method = POST, path = "/x", response = ())]
pub enum XRequest {
    A,
}

fn main() {}
