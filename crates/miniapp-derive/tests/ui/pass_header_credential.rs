use core_http::{CredentialKind, Endpoint, Location};

#[derive(Debug, Default, serde::Deserialize)]
pub struct Answer {}

/// Douyin's style: the token in an `access-token` header, with a JSON body.
#[derive(miniapp_derive::Endpoint)]
#[endpoint(vendor = kuaishou, method = POST, path = "/x", body = json, response = Answer,
           credential(name = "access-token", kind = authorizer_access_token, location = header))]
pub struct XRequest {
    #[param(json)]
    pub action: String,
}

fn main() {
    let c = XRequest::CREDENTIALS[0];
    assert_eq!((c.name, c.kind, c.location), ("access-token", CredentialKind::AuthorizerAccessToken, Location::Header));
}
