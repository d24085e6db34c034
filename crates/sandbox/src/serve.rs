//! Answering one request matched to its endpoint: spec checks, token checks (token mode),
//! injected errors, token issuing.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use core_http::vendor::EnvelopeShape;
use miniapp_spec::{CredentialKind, Endpoint, ResponseKind, SpecFile, Vendor};

use crate::check::{self, Checked, Incoming, Params, Rejection};
use crate::envelope;
use crate::fleet::{Answer, Fleet};
use crate::respond;
use crate::tokens::{RefreshInvalid, Tokens};
use crate::ERROR_HEADER;

/// The answer to a request, and whether it was accepted.
pub(crate) struct Outcome {
    /// Whether the request passed every check (spec, and tokens in token mode).
    pub accepted: bool,
    /// The HTTP answer.
    pub response: Response,
}

fn accepted(response: Response) -> Outcome {
    Outcome {
        accepted: true,
        response,
    }
}

fn refused(response: Response) -> Outcome {
    Outcome {
        accepted: false,
        response,
    }
}

/// How much of a request to serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Work {
    /// Check it and answer it (issuing tokens, using refresh tokens).
    Answer,
    /// Only check it: an injected fault answers instead, and nothing is issued or used. An
    /// accepted request gets an empty placeholder answer.
    CheckOnly,
}

/// Answers `req` for endpoint `ep` of `spec`; `error_header` is the `x-sandbox-error` value.
pub(crate) async fn serve(
    tokens: &Tokens,
    fleet: &Fleet,
    spec: &SpecFile,
    ep: &Endpoint,
    req: &Incoming<'_>,
    error_header: Option<&HeaderValue>,
    work: Work,
) -> Outcome {
    let vendor = spec.vendor;
    let Checked {
        params,
        credentials,
    } = match check::check(spec, ep, req) {
        Ok(checked) => checked,
        Err(rejection) => {
            tracing::debug!("sandbox: {} rejected: {rejection:?}", ep.name);
            return refused(respond::rejection(vendor, ep, &rejection));
        }
    };

    let enforce = tokens.enforcing();
    if enforce {
        for (kind, value) in &credentials {
            if !matches!(
                kind,
                CredentialKind::ComponentAccessToken | CredentialKind::AuthorizerAccessToken
            ) {
                continue;
            }
            if let Err(fault) = tokens.verify(vendor, *kind, value) {
                tracing::debug!("sandbox: {} token refused: {fault:?}", ep.name);
                return refused(respond::json(envelope::token_fault(vendor, fault)));
            }
        }
        if let Err(rejection) = check_secrets(ep, &params) {
            tracing::debug!("sandbox: {} rejected: {rejection}", ep.name);
            return refused(respond::rejection(
                vendor,
                ep,
                &Rejection::Params(rejection),
            ));
        }
    }

    // The app the request is about: the one its token was issued for, else the token itself
    // (without token mode any non-empty token stands for an app of its own).
    let owner = credentials
        .iter()
        .find(|(kind, _)| *kind == CredentialKind::AuthorizerAccessToken)
        .map(|(_, token)| tokens.app_of(token).unwrap_or_else(|| token.clone()));
    if let Some(owner) = &owner {
        fleet.count(vendor, owner, &ep.name);
    }

    if work == Work::CheckOnly {
        return accepted(Response::default());
    }

    if let Some(code) = error_header {
        return accepted(injected_error(vendor, ep, code.to_str().ok()));
    }

    let Some(role) = &ep.token else {
        let owner = owner.as_deref().unwrap_or("platform");
        if let Some(answer) = fleet.serve(vendor, ep, &params, owner) {
            return accepted(match answer {
                Answer::Body(body) => respond::json(body),
                Answer::Error(code) => respond::json(envelope::endpoint_error(
                    vendor,
                    ep,
                    code,
                    documented_message(ep, code),
                )),
            });
        }
        if enforce {
            if let Some(app) = app_param(ep, &params) {
                // A code issued for an app (Kuaishou re-authorization) names that app later.
                let mut body =
                    respond::example_json(vendor, respond::select_example(&ep.examples, &params));
                for field in ep.fields.iter().filter(|f| f.secret) {
                    crate::tokens::set_path(
                        &mut body,
                        &field.name,
                        serde_json::Value::String(tokens.issue_code(vendor, &app)),
                    );
                }
                return accepted(respond::json(body));
            }
        }
        return accepted(respond::success(vendor, ep, &params));
    };

    let delay = tokens.delay();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if let Some(code) = tokens.failing(vendor, &ep.name) {
        return accepted(respond::json(envelope::endpoint_error(
            vendor,
            ep,
            code,
            documented_message(ep, code),
        )));
    }
    let example = respond::select_example(&ep.examples, &params);
    if !enforce {
        tokens.count(vendor, &ep.name);
        return accepted(respond::json(respond::example_json(vendor, example)));
    }

    if let Some(param) = &role.ticket_param {
        let ticket = params.get(param).map(|w| w.as_text()).unwrap_or_default();
        if !tokens.ticket_accepted(vendor, &ticket) {
            tracing::debug!("sandbox: {} ticket not pushed by this sandbox", ep.name);
            let f = envelope::facts(vendor);
            let c = f.ticket_refused.unwrap_or(f.invalid_request);
            return refused(respond::json(envelope::endpoint_error(
                vendor,
                ep,
                c.code,
                &format!("{} (not a ticket this sandbox pushed)", c.message),
            )));
        }
    }
    let presented = match grant_refresh(ep, &params) {
        Ok(presented) => presented,
        Err(RefreshInvalid) => {
            let (status, body) = envelope::refresh_invalid(vendor);
            return refused(respond::json_status(status, body));
        }
    };
    // The app the tokens are for: named by a parameter, or by a code issued for it.
    let app = app_param(ep, &params).or_else(|| {
        ep.params
            .iter()
            .filter(|f| f.secret)
            .filter_map(|f| params.get(&f.name))
            .find_map(|w| tokens.take_code(vendor, &w.as_text()))
    });
    match tokens.issue(vendor, &ep.name, role, presented.as_deref(), app) {
        Err(RefreshInvalid) => {
            tracing::debug!("sandbox: {} refresh token refused", ep.name);
            let (status, body) = envelope::refresh_invalid(vendor);
            refused(respond::json_status(status, body))
        }
        Ok(issued) => {
            let mut body = respond::example_json(vendor, example);
            // A wrapped envelope's payload is its `data` member.
            let e = &envelope::facts(vendor).envelope;
            let prefix = match (e.shape, ep.response) {
                (EnvelopeShape::Wrapped, ResponseKind::Envelope) => e.data,
                _ => "",
            };
            issued.patch(&mut body, role, prefix);
            accepted(respond::json(body))
        }
    }
}

/// Token mode: every secret parameter (app secret, ticket, code, refresh token) that is sent
/// must be non-empty, and a grant selected by an example's `when` (Baidu `grant_type`) must
/// carry the secret parameters its example request carries (`code`, `refresh_token`), except
/// the refresh parameter, whose absence [`grant_refresh`] reports.
fn check_secrets(ep: &Endpoint, params: &Params) -> Result<(), String> {
    for field in ep.params.iter().filter(|f| f.secret) {
        if params
            .get(&field.name)
            .is_some_and(|w| w.as_text().is_empty())
        {
            return Err(format!("`{}` must not be empty", field.name));
        }
    }
    let refresh_param = ep.token.as_ref().and_then(|r| r.refresh_param.as_deref());
    for name in grant_secrets(ep, params) {
        if Some(name) != refresh_param && !params.contains_key(name) {
            return Err(format!("`{name}` is required with this grant"));
        }
    }
    Ok(())
}

/// The refresh token this token-endpoint call presents, if any; `Err` when the grant's
/// example names the refresh parameter but the request leaves it out.
fn grant_refresh(ep: &Endpoint, params: &Params) -> Result<Option<String>, RefreshInvalid> {
    let Some(name) = ep.token.as_ref().and_then(|r| r.refresh_param.as_deref()) else {
        return Ok(None);
    };
    match params.get(name) {
        Some(wire) => Ok(Some(wire.as_text())),
        None if grant_secrets(ep, params).contains(&name) => Err(RefreshInvalid),
        None => Ok(None),
    }
}

/// The secret parameters that the request of the example selected by a non-empty `when`
/// carries (query/form text or a JSON object).
fn grant_secrets<'a>(ep: &'a Endpoint, params: &Params) -> Vec<&'a str> {
    let Some(request) =
        respond::when_example(&ep.examples, params).and_then(|ex| ex.request.as_deref())
    else {
        return Vec::new();
    };
    let names: Vec<String> = match serde_json::from_str::<serde_json::Value>(request) {
        Ok(serde_json::Value::Object(members)) => members.keys().cloned().collect(),
        _ => form_urlencoded::parse(request.trim().as_bytes())
            .map(|(k, _)| k.into_owned())
            .collect(),
    };
    ep.params
        .iter()
        .filter(|f| f.secret && names.contains(&f.name))
        .map(|f| f.name.as_str())
        .collect()
}

/// The document's message for `code`, or a generic one.
fn documented_message(ep: &Endpoint, code: i64) -> &str {
    ep.errors
        .iter()
        .find(|e| e.code == code)
        .map_or("sandbox error", |e| e.message.as_str())
}

/// The answer to `x-sandbox-error: <code>`.
fn injected_error(vendor: Vendor, ep: &Endpoint, code: Option<&str>) -> Response {
    let Some(code) = code.and_then(|c| c.trim().parse::<i64>().ok()) else {
        return Response::builder()
            .status(StatusCode::BAD_REQUEST)
            .body(Body::from(format!(
                "{ERROR_HEADER} must be an integer code\n"
            )))
            .expect("static response");
    };
    respond::json(envelope::endpoint_error(
        vendor,
        ep,
        code,
        documented_message(ep, code),
    ))
}

/// The value of the parameter that names the authorized app (spec `app_id = true`).
fn app_param(ep: &Endpoint, params: &Params) -> Option<String> {
    ep.params
        .iter()
        .find(|f| f.app_id)
        .and_then(|f| params.get(&f.name))
        .map(|w| w.as_text())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Wire;

    fn oauth_token() -> Endpoint {
        crate::specs()
            .into_iter()
            .flat_map(|s| s.endpoints)
            .find(|ep| ep.name == "GetOAuthToken")
            .expect("GetOAuthToken is specified")
    }

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Wire::Text(v.to_string())))
            .collect()
    }

    #[test]
    fn grants_need_their_example_secrets() {
        let ep = oauth_token();
        let code = params(&[("grant_type", "app_to_tp_authorization_code")]);
        assert_eq!(grant_secrets(&ep, &code), ["code"]);
        assert!(check_secrets(&ep, &code).unwrap_err().contains("`code`"));
        let code = params(&[("grant_type", "app_to_tp_authorization_code"), ("code", "")]);
        assert!(check_secrets(&ep, &code).unwrap_err().contains("empty"));
        let code = params(&[
            ("grant_type", "app_to_tp_authorization_code"),
            ("code", "c"),
        ]);
        assert_eq!(check_secrets(&ep, &code), Ok(()));
        assert_eq!(grant_refresh(&ep, &code), Ok(None));

        let refresh = params(&[("grant_type", "app_to_tp_refresh_token")]);
        assert_eq!(check_secrets(&ep, &refresh), Ok(()));
        assert_eq!(grant_refresh(&ep, &refresh), Err(RefreshInvalid));
        let refresh = params(&[
            ("grant_type", "app_to_tp_refresh_token"),
            ("refresh_token", "46.x"),
        ]);
        assert_eq!(grant_refresh(&ep, &refresh), Ok(Some("46.x".into())));
    }
}
