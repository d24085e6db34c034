#[derive(core_http::Endpoint)]
pub struct NoAttrRequest {
    #[param(query)]
    pub a: Option<String>,
}

fn main() {}
