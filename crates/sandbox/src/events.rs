//! The plaintext of the pushes the sandbox sends, built from the specs' `[[events]]`: the
//! document's example of the event, with the values of this push put in. A vendor's pushes
//! therefore read exactly as its specs say they do, and a new event needs no code here.

use miniapp_spec::{PushFormat, Vendor};
use serde_json::Value;

use crate::pushes::PushSendError;

/// The decrypted body of the `kind` push (its wire name, e.g. `component_verify_ticket`) of
/// `vendor`: the example of the event family that documents `kind` whose discriminator says
/// `kind` (else its first), the discriminator set to `kind`, and each of `values` put in (a
/// member the example has keeps its place; another is added). Strings are text (XML:
/// CDATA), numbers plain.
pub(crate) fn event_body(
    vendor: &Vendor,
    kind: &str,
    values: &[(&str, Value)],
) -> Result<String, PushSendError> {
    let (event, push) = miniapp_spec::find_event(crate::embedded::parsed(), *vendor, kind)
        .ok_or_else(|| {
            PushSendError::Send(format!(
                "no `[[events]]` of the {vendor} specs documents a `{kind}` push"
            ))
        })?;
    let discriminator = event.discriminator(push);
    let names = |example: &str| match push.format {
        PushFormat::Json => serde_json::from_str::<Value>(example)
            .is_ok_and(|body| body.get(discriminator).and_then(Value::as_str) == Some(kind)),
        PushFormat::Xml => element_text(example, discriminator) == Some(kind),
    };
    let example = event
        .examples
        .iter()
        .find(|e| names(e))
        .or(event.examples.first())
        .ok_or_else(|| {
            PushSendError::Send(format!(
                "the {vendor} spec's event `{}` has no example to build its push from",
                event.name
            ))
        })?;
    let set = std::iter::once((discriminator, Value::from(kind)))
        .chain(values.iter().map(|(name, value)| (*name, value.clone())));
    match push.format {
        PushFormat::Json => {
            let mut body: serde_json::Map<String, Value> =
                serde_json::from_str(example).map_err(|e| {
                    PushSendError::Send(format!(
                        "the {vendor} spec's example of `{}` is not a JSON object: {e}",
                        event.name
                    ))
                })?;
            for (name, value) in set {
                body.insert(name.to_owned(), value);
            }
            Ok(Value::Object(body).to_string())
        }
        PushFormat::Xml => {
            let mut body = example.trim().to_owned();
            for (name, value) in set {
                body = xml_set(&body, name, &value);
            }
            Ok(body)
        }
    }
}

/// The text of the element `name` of a flat `<xml>` (CDATA unwrapped).
pub(crate) fn element_text<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&format!("</{name}>"))?;
    let text = &xml[start..end];
    Some(
        text.strip_prefix("<![CDATA[")
            .and_then(|t| t.strip_suffix("]]>"))
            .unwrap_or(text),
    )
}

/// `xml` (a flat `<xml>` element) with the text of its `name` element set to `value`: in
/// place when the element is there, else added before `</xml>`.
fn xml_set(xml: &str, name: &str, value: &Value) -> String {
    let text = match value {
        Value::String(s) => format!("<![CDATA[{s}]]>"),
        other => other.to_string(),
    };
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    if let Some(start) = xml.find(&open) {
        let inner = start + open.len();
        if let Some(end) = xml[inner..].find(&close) {
            return format!("{}{text}{}", &xml[..inner], &xml[inner + end..]);
        }
    }
    match xml.rfind("</xml>") {
        Some(end) => format!("{}{open}{text}{close}{}", &xml[..end], &xml[end..]),
        None => format!("{xml}{open}{text}{close}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vendor(name: &str) -> Vendor {
        Vendor::new(name).unwrap()
    }

    #[test]
    fn an_xml_push_is_the_documents_example_with_its_values() {
        let body = event_body(
            &vendor("wechat"),
            "component_verify_ticket",
            &[
                ("AppId", "wx_platform".into()),
                ("CreateTime", 1_700_000_000.into()),
                ("ComponentVerifyTicket", "ticket@@@t1".into()),
            ],
        )
        .unwrap();
        assert_eq!(
            body,
            "<xml><AppId><![CDATA[wx_platform]]></AppId><CreateTime>1700000000</CreateTime><InfoType><![CDATA[component_verify_ticket]]></InfoType><ComponentVerifyTicket><![CDATA[ticket@@@t1]]></ComponentVerifyTicket></xml>"
        );
        // A family of two kinds: the example of the kind asked for; a member the example
        // lacks is added before `</xml>`.
        let body = event_body(
            &vendor("wechat"),
            "updateauthorized",
            &[("Extra", "x".into())],
        )
        .unwrap();
        assert!(
            body.contains("<InfoType><![CDATA[updateauthorized]]></InfoType>"),
            "{body}"
        );
        assert!(
            body.ends_with("<Extra><![CDATA[x]]></Extra></xml>"),
            "{body}"
        );
    }

    #[test]
    fn a_json_push_sets_its_discriminator_and_values() {
        // One example for both kinds: the discriminator says which.
        let body = event_body(
            &vendor("baidu"),
            "PACKAGE_AUDIT_FAIL",
            &[("appId", 42.into()), ("reason", "r".into())],
        )
        .unwrap();
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["event"], "PACKAGE_AUDIT_FAIL");
        assert_eq!(body["appId"], 42);
        assert_eq!(body["reason"], "r");
        assert!(
            body.get("tpAppId").is_some(),
            "the example's other members stay"
        );
    }

    #[test]
    fn an_undocumented_kind_is_refused_with_its_vendor() {
        let err = event_body(&vendor("kuaishou"), "PACKAGE_AUDIT_PASS", &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no `[[events]]` of the kuaishou specs"),
            "{err}"
        );
    }
}
