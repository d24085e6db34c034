#[derive(miniapp_derive::Endpoint)]
pub struct NoAttrRequest {
    #[param(query)]
    pub a: Option<String>,
}

fn main() {}
