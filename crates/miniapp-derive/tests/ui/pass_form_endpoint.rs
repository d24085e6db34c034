use core_http::{BodyKind, Endpoint, Location, Method, ParamSink, Vendor};

#[derive(Debug, Default, serde::Deserialize)]
pub struct Answer {}

const ERRORS: &[(i64, &str)] = &[(470011, "修改服务器域名超过限制次数。")];

#[derive(miniapp_derive::Endpoint)]
#[endpoint(vendor = baidu, method = POST, path = "/rest/2.0/smartapp/app/modifydomain", body = form,
           response = Answer, errors = ERRORS, idempotent = false,
           credential(name = "access_token", kind = authorizer_access_token, location = form))]
pub struct ModifyDomainRequest {
    #[param(form)]
    pub action: Option<String>,
    #[param(form, join = ",", required, optional_when(param = "action", equals = "get"), max_items = 2, format = https_or_wss_url)]
    pub request_domain: Option<Vec<String>>,
    #[param(query, name = "w", min = 200, max = 1280)]
    pub width: Option<i64>,
}

/// At least one of a text and a list: an empty text sends nothing, so it does not count.
#[derive(miniapp_derive::Endpoint)]
#[endpoint(vendor = kuaishou, method = POST, path = "/x", body = json, response = Answer,
           at_least_one(params = "name, hosts", rule = "name or hosts"))]
pub struct EitherRequest {
    #[param(json)]
    pub name: Option<String>,
    #[param(json, join = ";")]
    pub hosts: Option<Vec<String>>,
}

fn main() {
    let either = |name: Option<&str>, hosts: Option<Vec<String>>| EitherRequest { name: name.map(Into::into), hosts };
    assert!(either(Some("a"), None).validate().is_ok());
    assert!(either(None, Some(vec!["h".into()])).validate().is_ok());
    assert_eq!(either(Some(""), None).validate().unwrap_err().rule, "name or hosts");
    assert_eq!(either(None, Some(vec!["".into()])).validate().unwrap_err().rule, "name or hosts");

    assert_eq!(ModifyDomainRequest::NAME, "ModifyDomain");
    assert_eq!(ModifyDomainRequest::METHOD, Method::Post);
    assert_eq!(ModifyDomainRequest::BODY, BodyKind::Form);
    assert_eq!(ModifyDomainRequest::VENDOR, Vendor::Baidu);
    assert!(!ModifyDomainRequest::IDEMPOTENT);
    assert_eq!(ModifyDomainRequest::CREDENTIALS[0].location, Location::Form);
    assert_eq!(ModifyDomainRequest::error_text(470011), Some("修改服务器域名超过限制次数。"));

    let req = ModifyDomainRequest {
        action: Some("set".into()),
        request_domain: Some(vec!["https://a.com".into(), "wss://b.com".into()]),
        width: Some(430),
    };
    req.validate().unwrap();
    let mut form = String::new();
    let mut sink = ParamSink::new(&mut form);
    req.write_form(&mut sink);
    sink.finish();
    assert_eq!(form, "action=set&request_domain=https%3A%2F%2Fa.com%2Cwss%3A%2F%2Fb.com");
    let mut query = String::new();
    let mut sink = ParamSink::new(&mut query);
    req.write_query(&mut sink);
    sink.finish();
    assert_eq!(query, "w=430");

    let get = ModifyDomainRequest { action: Some("get".into()), request_domain: None, width: None };
    get.validate().unwrap();
    let missing = ModifyDomainRequest { action: Some("set".into()), request_domain: None, width: None };
    assert_eq!(missing.validate().unwrap_err().field, "request_domain");
    let wide = ModifyDomainRequest { width: Some(1281), ..get };
    assert_eq!(wide.validate().unwrap_err().to_string(), "ModifyDomain.w: between 200 and 1280; got 1281");
}
