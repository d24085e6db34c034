//! The sandbox as the vendor that pushes: encrypted ticket pushes POSTed to a platform's
//! handler exactly as each vendor sends them, so a user's handler can be tested end to end.

use miniapp_spec::Vendor;

use core_http::crypto::kuaishou::PushCrypto;
use core_http::crypto::wechat::MessageCrypto;

use miniapp_spec::{PushTransport, PushValue, SandboxPushes, SentPush};
use serde_json::Value;

use crate::events::{element_text, event_body};

/// The platform settings the pushes are encrypted with (what the platform's page shows).
#[derive(Clone)]
pub struct PushSecrets {
    /// The message token (WeChat and Baidu "消息校验Token", Kuaishou "消息校检Token").
    pub token: String,
    /// The 43-character EncodingAESKey (Kuaishou: the message key).
    pub encoding_aes_key: String,
    /// WeChat: the component app id; Baidu: the TP `client_id`; Kuaishou: the component app id.
    pub app_id: String,
}

impl std::fmt::Debug for PushSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushSecrets")
            .field("token", &"***")
            .field("encoding_aes_key", &"***")
            .field("app_id", &self.app_id)
            .finish()
    }
}

/// The message token of the sandbox's platforms (what `miniapp`'s sandbox credentials verify
/// pushes with).
pub const PUSH_TOKEN: &str = "sandbox-push-token";
/// The EncodingAESKey of the sandbox's platforms (43 characters).
pub const ENCODING_AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

impl PushSecrets {
    /// The secrets of the sandbox's platform of `vendor` (app id `{vendor}_sandbox_platform`,
    /// [`PUSH_TOKEN`], [`ENCODING_AES_KEY`]): what `miniapp`'s sandbox credentials hold.
    pub fn sandbox_platform(vendor: core_http::Vendor) -> PushSecrets {
        PushSecrets {
            token: PUSH_TOKEN.into(),
            encoding_aes_key: ENCODING_AES_KEY.into(),
            app_id: format!("{vendor}_sandbox_platform"),
        }
    }
}

/// What one push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// The ticket it carried.
    pub ticket: String,
    /// The HTTP status the handler answered.
    pub status: u16,
    /// The handler's answer body (WeChat and Baidu expect `success`).
    pub reply: String,
}

/// Why a push could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PushSendError {
    /// The secrets are not valid for the vendor's scheme.
    #[error("push secrets: {0}")]
    Secrets(#[from] core_http::crypto::CryptoError),
    /// The handler could not be reached.
    #[error("the push could not be sent: {0}")]
    Send(String),
}

/// The client every push is sent with (one connection pool for the sandbox's life: a client
/// per push would build a pool, and load the system's certificates, each time).
fn http_client() -> &'static reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(reqwest::Client::new)
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Which of a vendor's pushes (`[sandbox.pushes]` of its `vendor.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PushRole {
    /// The platform's ticket.
    Ticket,
    /// An app authorized the platform.
    Authorized,
    /// An app's code audit passed.
    AuditApproved,
    /// An app's code audit failed.
    AuditRejected,
}

impl PushRole {
    /// The push `pushes` describes for this role, if it has one.
    fn of(self, pushes: &SandboxPushes) -> Option<&SentPush> {
        match self {
            PushRole::Ticket => pushes.ticket.as_ref(),
            PushRole::Authorized => pushes.authorized.as_ref(),
            PushRole::AuditApproved => pushes.audit_approved.as_ref(),
            PushRole::AuditRejected => pushes.audit_rejected.as_ref(),
        }
    }

    fn key(self) -> &'static str {
        match self {
            PushRole::Ticket => "ticket",
            PushRole::Authorized => "authorized",
            PushRole::AuditApproved => "audit_approved",
            PushRole::AuditRejected => "audit_rejected",
        }
    }
}

/// What the sandbox knows when it sends a push: the values `[sandbox.pushes]` fills in.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct PushFacts<'a> {
    /// The ticket pushed.
    pub ticket: Option<&'a str>,
    /// The app the push is about.
    pub app: Option<&'a str>,
    /// The authorization code pushed.
    pub code: Option<&'a str>,
    /// Why an audit failed.
    pub reason: Option<&'a str>,
}

impl PushFacts<'_> {
    /// The value `what` stands for in a push of `secrets`'s platform at `now` (seconds).
    fn value(&self, what: PushValue, secrets: &PushSecrets, now: u64) -> Result<Value, String> {
        let need = |v: Option<&str>, name: &str| {
            v.map(Value::from)
                .ok_or_else(|| format!("this push has no {name} to fill in"))
        };
        Ok(match what {
            PushValue::PlatformAppId => secrets.app_id.as_str().into(),
            PushValue::NowSecs => now.into(),
            PushValue::NowMillis => (now * 1000).into(),
            PushValue::InAnHourSecs => (now + 3600).into(),
            PushValue::Ticket => need(self.ticket, "ticket")?,
            PushValue::AppId => need(self.app, "app")?,
            PushValue::AppIdNumber => match self.app.map(str::parse::<i64>) {
                Some(Ok(n)) => n.into(),
                _ => need(self.app, "app")?,
            },
            PushValue::OriginalId => {
                format!("gh_{}", self.app.ok_or("this push has no app")?).into()
            }
            PushValue::Code => need(self.code, "authorization code")?,
            PushValue::Reason => need(self.reason, "reason")?,
        })
    }
}

/// Builds and POSTs the `role` push of `vendor` to `url`, as `[sandbox.pushes]` of its
/// `vendor.toml` says: the example of its event kind with `facts` filled in, encrypted and
/// wrapped as its transport says. `carried` is what [`Pushed::ticket`] returns.
pub(crate) async fn send_push(
    vendor: Vendor,
    role: PushRole,
    url: &str,
    secrets: &PushSecrets,
    facts: PushFacts<'_>,
    carried: String,
) -> Result<Pushed, PushSendError> {
    let pushes = crate::embedded::shapes(vendor).pushes.as_ref();
    let Some((pushes, sent)) = pushes.and_then(|p| Some((p, role.of(p)?))) else {
        return Err(PushSendError::Send(format!(
            "the sandbox sends no {} push as {vendor}: `[sandbox.pushes]` of specs/{vendor}/vendor.toml names none (its documents describe none)",
            role.key()
        )));
    };
    let now = now_secs();
    let fills = sent
        .fill
        .iter()
        .map(|(member, what)| Ok((member.as_str(), facts.value(*what, secrets, now)?)))
        .collect::<Result<Vec<_>, String>>()
        .map_err(PushSendError::Send)?;
    let inner = event_body(&vendor, &sent.kind, &fills)?;
    let request = match pushes.transport {
        PushTransport::XmlMsgSignature => xml_msg_signature(vendor, url, secrets, &inner)?,
        PushTransport::JsonMsgSignature => json_msg_signature(vendor, url, secrets, &inner)?,
        PushTransport::JsonBodySignature => json_body_signature(url, secrets, &inner)?,
    };
    send(request, carried).await
}

/// WeChat's cipher (`[push] random_prefix`) of `vendor` for `secrets`'s platform.
fn message_crypto(vendor: Vendor, secrets: &PushSecrets) -> Result<MessageCrypto, PushSendError> {
    Ok(MessageCrypto::for_vendor(
        crate::envelope::runtime(vendor),
        secrets.token.as_str(),
        &secrets.encoding_aes_key,
        secrets.app_id.as_str(),
    )?)
}

/// [`PushTransport::XmlMsgSignature`]: `<xml>` with the event's first member (`AppId`, or an
/// account's `ToUserName`) and `Encrypt`; the signatures in the query.
fn xml_msg_signature(
    vendor: Vendor,
    url: &str,
    secrets: &PushSecrets,
    inner: &str,
) -> Result<reqwest::RequestBuilder, PushSendError> {
    let crypto = message_crypto(vendor, secrets)?;
    let (to_name, to) = first_element(inner).ok_or_else(|| {
        PushSendError::Send("the event's example has no first member to address it by".into())
    })?;
    let nonce = fastrand::u32(100_000_000..999_999_999).to_string();
    let timestamp = now_secs().to_string();
    let encrypt = crypto.encrypt(inner);
    let msg_signature = crypto.signature(&timestamp, &nonce, &encrypt);
    let mut query = vec![
        ("timestamp", timestamp.clone()),
        ("nonce", nonce.clone()),
        ("encrypt_type", "aes".to_owned()),
        ("msg_signature", msg_signature),
    ];
    if to_name == "ToUserName" {
        // An account's message push also carries the plain `signature` (token, timestamp and
        // nonce: an empty fourth part adds nothing to the sorted concatenation) and the
        // sender's `openid`.
        query.insert(0, ("signature", crypto.signature(&timestamp, &nonce, "")));
        let openid = element_text(inner, "FromUserName").unwrap_or_default();
        query.insert(3, ("openid", openid.to_owned()));
    }
    let body = format!(
        "<xml><{to_name}><![CDATA[{to}]]></{to_name}><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    );
    Ok(http_client()
        .post(url)
        .query(&query)
        .header("content-type", "text/xml")
        .body(body))
}

/// The name and text of the first element inside `<xml>`.
fn first_element(xml: &str) -> Option<(&str, &str)> {
    let rest = xml.trim().strip_prefix("<xml>")?;
    let name = rest.strip_prefix('<')?.split('>').next()?;
    Some((name, element_text(xml, name)?))
}

/// [`PushTransport::JsonMsgSignature`]: WeChat's cipher with the platform's id as trailing
/// id, `{Nonce, TimeStamp, Encrypt, MsgSignature}`.
fn json_msg_signature(
    vendor: Vendor,
    url: &str,
    secrets: &PushSecrets,
    inner: &str,
) -> Result<reqwest::RequestBuilder, PushSendError> {
    let crypto = message_crypto(vendor, secrets)?;
    let nonce = fastrand::u32(100_000_000..999_999_999).to_string();
    let encrypt = crypto.encrypt(inner);
    let timestamp = now_secs().to_string();
    let body = serde_json::json!({
        "Nonce": nonce,
        "TimeStamp": timestamp,
        "Encrypt": encrypt,
        "MsgSignature": crypto.signature(&timestamp, &nonce, &encrypt),
    })
    .to_string();
    Ok(http_client()
        .post(url)
        .header("content-type", "application/json")
        .body(body))
}

/// [`PushTransport::JsonBodySignature`]: `{encryptedMsg, msgId, componentAppId, timestamp}`,
/// the body signed in the `kwaisign` header.
fn json_body_signature(
    url: &str,
    secrets: &PushSecrets,
    inner: &str,
) -> Result<reqwest::RequestBuilder, PushSendError> {
    let crypto = PushCrypto::new(secrets.token.as_str(), &secrets.encoding_aes_key)?;
    let now = now_secs();
    let nonce = fastrand::u32(100_000_000..999_999_999);
    let body = serde_json::json!({
        "encryptedMsg": crypto.encrypt(inner),
        "msgId": format!("sandbox-{nonce}"),
        "componentAppId": secrets.app_id,
        "timestamp": now * 1000,
    })
    .to_string();
    Ok(http_client()
        .post(url)
        .header("content-type", "application/json")
        .header("kwaisign", crypto.signature(body.as_bytes()))
        .body(body))
}

async fn send(request: reqwest::RequestBuilder, carried: String) -> Result<Pushed, PushSendError> {
    let response = request
        .send()
        .await
        .map_err(|e| PushSendError::Send(e.without_url().to_string()))?;
    let status = response.status().as_u16();
    let reply = response
        .text()
        .await
        .map_err(|e| PushSendError::Send(e.without_url().to_string()))?;
    Ok(Pushed {
        ticket: carried,
        status,
        reply,
    })
}

/// Builds and POSTs one ticket push of `vendor` to `url`.
pub(crate) async fn push_ticket(
    vendor: Vendor,
    url: &str,
    secrets: &PushSecrets,
    ticket: String,
) -> Result<Pushed, PushSendError> {
    let facts = PushFacts {
        ticket: Some(&ticket),
        ..Default::default()
    };
    send_push(
        vendor,
        PushRole::Ticket,
        url,
        secrets,
        facts,
        ticket.clone(),
    )
    .await
}

/// POSTs the push that says `app`'s audit ended to `url` (`$APPID$` in it is replaced by the
/// app's id, as WeChat does): approved, or rejected with `rejected` as the reason.
pub(crate) async fn push_audit(
    vendor: Vendor,
    url: &str,
    secrets: &PushSecrets,
    app: &str,
    rejected: Option<&str>,
) -> Result<Pushed, PushSendError> {
    let url = url.replace("$APPID$", app);
    let role = match rejected {
        None => PushRole::AuditApproved,
        Some(_) => PushRole::AuditRejected,
    };
    let facts = PushFacts {
        app: Some(app),
        reason: rejected,
        ..Default::default()
    };
    send_push(vendor, role, &url, secrets, facts, app.to_owned()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every push `[sandbox.pushes]` names, for every vendor, builds from its `[[events]]`
    /// example with the values it fills in: the kind is documented and each member is set.
    #[test]
    fn every_configured_push_builds_from_the_specs() {
        let secrets = PushSecrets::sandbox_platform(core_http::Vendor::Wechat);
        let facts = PushFacts {
            ticket: Some("t-1"),
            app: Some("1452001"),
            code: Some("c-1"),
            reason: Some("r-1"),
        };
        let mut built = 0;
        for &runtime in core_http::Vendor::ALL {
            let vendor = Vendor::new(runtime.facts().name).unwrap();
            let Some(pushes) = crate::embedded::shapes(vendor).pushes.as_ref() else {
                continue;
            };
            for role in [
                PushRole::Ticket,
                PushRole::Authorized,
                PushRole::AuditApproved,
                PushRole::AuditRejected,
            ] {
                let Some(sent) = role.of(pushes) else {
                    continue;
                };
                let fills: Vec<(&str, Value)> = sent
                    .fill
                    .iter()
                    .map(|(m, what)| (m.as_str(), facts.value(*what, &secrets, 7).unwrap()))
                    .collect();
                let body = event_body(&vendor, &sent.kind, &fills).unwrap();
                assert!(body.contains(&sent.kind), "{vendor} {role:?}: {body}");
                for (_, value) in &fills {
                    let text = value.as_str().map_or(value.to_string(), str::to_owned);
                    assert!(
                        body.contains(&text),
                        "{vendor} {role:?} lacks {text}: {body}"
                    );
                }
                built += 1;
            }
        }
        assert!(
            built >= 9,
            "WeChat and Baidu 4 each, Kuaishou its ticket: {built}"
        );
    }

    #[test]
    fn an_xml_push_is_addressed_by_its_first_member() {
        let inner = "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o_x]]></FromUserName><CreateTime>7</CreateTime></xml>";
        assert_eq!(first_element(inner), Some(("ToUserName", "gh_1")));
        assert_eq!(element_text(inner, "FromUserName"), Some("o_x"));
        assert_eq!(element_text(inner, "CreateTime"), Some("7"));
        assert_eq!(element_text(inner, "Missing"), None);
    }

    #[test]
    fn a_push_a_vendor_does_not_document_is_refused_with_where_to_say_it() {
        let vendor = Vendor::new("kuaishou").unwrap();
        let secrets = PushSecrets::sandbox_platform(core_http::Vendor::Kuaishou);
        let err = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(push_audit(
                vendor,
                "http://127.0.0.1:9/",
                &secrets,
                "a",
                None,
            ))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no audit_approved push as kuaishou")
                && err.contains("[sandbox.pushes]` of specs/kuaishou/vendor.toml"),
            "{err}"
        );
    }
}
