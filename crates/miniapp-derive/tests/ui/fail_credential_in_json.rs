#[derive(Debug, Default, serde::Deserialize)]
pub struct Answer {}

// A credential travels in the query, a header or a form body; a JSON member is refused with
// the places it may go.
#[derive(miniapp_derive::Endpoint)]
#[endpoint(vendor = kuaishou, method = POST, path = "/x", body = json, response = Answer,
           credential(name = "access_token", kind = authorizer_access_token, location = json))]
pub struct XRequest {
    #[param(json)]
    pub action: String,
}

fn main() {}
