//! The sandbox as the vendor that pushes: encrypted ticket pushes POSTed to a platform's
//! handler exactly as each vendor sends them, so a user's handler can be tested end to end.

use miniapp_spec::Vendor;

use core_http::crypto::kuaishou::PushCrypto;
use core_http::crypto::wechat::MessageCrypto;

use crate::events::event_body;
use crate::AnyVendor;

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

/// POSTs WeChat's `authorized` push for `authorizer_appid` with `code` to `url`.
pub(crate) async fn push_wechat_authorized(
    url: &str,
    secrets: &PushSecrets,
    authorizer_appid: &str,
    code: &str,
) -> Result<Pushed, PushSendError> {
    let crypto = MessageCrypto::for_vendor(
        core_http::Vendor::Wechat,
        secrets.token.as_str(),
        &secrets.encoding_aes_key,
        secrets.app_id.as_str(),
    )?;
    let now = now_secs();
    let inner = event_body(
        &core_http::Vendor::Wechat.spec_vendor(),
        "authorized",
        &[
            ("AppId", secrets.app_id.as_str().into()),
            ("CreateTime", now.into()),
            ("AuthorizerAppid", authorizer_appid.into()),
            ("AuthorizationCode", code.into()),
            ("AuthorizationCodeExpiredTime", (now + 3600).into()),
        ],
    )?;
    send_wechat(url, &crypto, &secrets.app_id, &inner, code.to_owned()).await
}

async fn send_wechat(
    url: &str,
    crypto: &MessageCrypto,
    app_id: &str,
    inner: &str,
    carried: String,
) -> Result<Pushed, PushSendError> {
    let nonce = fastrand::u32(100_000_000..999_999_999).to_string();
    let timestamp = now_secs().to_string();
    let encrypt = crypto.encrypt(inner);
    let msg_signature = crypto.signature(&timestamp, &nonce, &encrypt);
    let body = format!(
        "<xml><AppId><![CDATA[{app_id}]]></AppId><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    );
    let request = http_client()
        .post(url)
        .query(&[
            ("timestamp", timestamp.as_str()),
            ("nonce", nonce.as_str()),
            ("encrypt_type", "aes"),
            ("msg_signature", msg_signature.as_str()),
        ])
        .header("content-type", "text/xml")
        .body(body);
    send(request, carried).await
}

async fn send(request: reqwest::RequestBuilder, ticket: String) -> Result<Pushed, PushSendError> {
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
        ticket,
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
    let http = http_client();
    let now = now_secs();
    let nonce = fastrand::u32(100_000_000..999_999_999).to_string();
    let request = match crate::envelope::runtime(vendor) {
        core_http::Vendor::Wechat => {
            let crypto = MessageCrypto::for_vendor(
                core_http::Vendor::Wechat,
                secrets.token.as_str(),
                &secrets.encoding_aes_key,
                secrets.app_id.as_str(),
            )?;
            let inner = event_body(
                &vendor,
                "component_verify_ticket",
                &[
                    ("AppId", secrets.app_id.as_str().into()),
                    ("CreateTime", now.into()),
                    ("ComponentVerifyTicket", ticket.as_str().into()),
                ],
            )?;
            return send_wechat(url, &crypto, &secrets.app_id, &inner, ticket).await;
        }
        core_http::Vendor::Baidu => {
            let inner = event_body(
                &vendor,
                "ticket",
                &[
                    ("Ticket", ticket.as_str().into()),
                    ("CreateTime", now.into()),
                ],
            )?;
            baidu_request(url, secrets, &inner)?
        }
        core_http::Vendor::Kuaishou => {
            let crypto = PushCrypto::new(secrets.token.as_str(), &secrets.encoding_aes_key)?;
            let inner = event_body(
                &vendor,
                "COMPONENT_TICKET",
                &[
                    ("componentAppId", secrets.app_id.as_str().into()),
                    ("componentTicket", ticket.as_str().into()),
                    ("eventTime", (now * 1000).into()),
                ],
            )?;
            let body = serde_json::json!({
                "encryptedMsg": crypto.encrypt(&inner),
                "msgId": format!("sandbox-{nonce}"),
                "componentAppId": secrets.app_id,
                "timestamp": now * 1000,
            })
            .to_string();
            http.post(url)
                .header("content-type", "application/json")
                .header("kwaisign", crypto.signature(body.as_bytes()))
                .body(body)
        }
    };
    send(request, ticket).await
}

/// Baidu's push envelope around the JSON `inner`: WeChat's cipher with the TP `client_id` as
/// trailing id, `{Nonce, TimeStamp, Encrypt, MsgSignature}`.
fn baidu_request(
    url: &str,
    secrets: &PushSecrets,
    inner: &str,
) -> Result<reqwest::RequestBuilder, PushSendError> {
    let crypto = MessageCrypto::for_vendor(
        core_http::Vendor::Baidu,
        secrets.token.as_str(),
        &secrets.encoding_aes_key,
        secrets.app_id.as_str(),
    )?;
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

/// POSTs Baidu's `AUTHORIZED` event for the mini-program `app_id` (numeric, as Baidu's are)
/// with `code` to `url`. `tpAppId` is the sandbox's own numeric TP id, 10000 (Baidu's TP id is
/// not the `client_id` the pushes are encrypted with).
pub(crate) async fn push_baidu_authorized(
    url: &str,
    secrets: &PushSecrets,
    app_id: &str,
    code: &str,
) -> Result<Pushed, PushSendError> {
    let Ok(app) = app_id.parse::<i64>() else {
        return Err(PushSendError::Send(format!(
            "Baidu app ids are numbers; `{app_id}` is not one"
        )));
    };
    let inner = event_body(
        &core_http::Vendor::Baidu.spec_vendor(),
        "AUTHORIZED",
        &[
            ("appId", app.into()),
            ("tpAppId", 10000.into()),
            ("eventTime", "2026-01-01 00:00:00".into()),
            ("authorizationCode", code.into()),
            ("authorizationCodeExpiresIn", 60.into()),
        ],
    )?;
    send(baidu_request(url, secrets, &inner)?, code.to_owned()).await
}

/// POSTs the push that says `app`'s audit ended to `url` (`$APPID$` in it is replaced by the
/// app's id, as WeChat does): approved, or rejected with `rejected` as the reason. WeChat: the
/// authorizer's message envelope (`ToUserName` = the app's original id, `gh_` and the app id)
/// with `weapp_audit_success` / `weapp_audit_fail`; Baidu: `PACKAGE_AUDIT_PASS` /
/// `PACKAGE_AUDIT_FAIL` with the numeric `appId`. Kuaishou documents no audit.
pub(crate) async fn push_audit(
    vendor: Vendor,
    url: &str,
    secrets: &PushSecrets,
    app: &str,
    rejected: Option<&str>,
) -> Result<Pushed, PushSendError> {
    let url = url.replace("$APPID$", app);
    let now = now_secs();
    match crate::envelope::runtime(vendor) {
        core_http::Vendor::Wechat => {
            let crypto = MessageCrypto::for_vendor(
                core_http::Vendor::Wechat,
                secrets.token.as_str(),
                &secrets.encoding_aes_key,
                secrets.app_id.as_str(),
            )?;
            let original = format!("gh_{app}");
            let mut values = vec![
                ("ToUserName", original.as_str().into()),
                ("FromUserName", "o_sandbox_system".into()),
                ("CreateTime", now.into()),
            ];
            let kind = match rejected {
                None => {
                    values.push(("SuccTime", now.into()));
                    "weapp_audit_success"
                }
                Some(reason) => {
                    values.extend([("Reason", reason.into()), ("FailTime", now.into())]);
                    "weapp_audit_fail"
                }
            };
            let inner = event_body(&vendor, kind, &values)?;
            let nonce = fastrand::u32(100_000_000..999_999_999).to_string();
            let timestamp = now.to_string();
            let encrypt = crypto.encrypt(&inner);
            let msg_signature = crypto.signature(&timestamp, &nonce, &encrypt);
            // The plain `signature` signs token, timestamp and nonce (an empty fourth part
            // adds nothing to the sorted concatenation).
            let signature = crypto.signature(&timestamp, &nonce, "");
            let body = format!(
                "<xml><ToUserName><![CDATA[{original}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
            );
            let request = http_client()
                .post(&url)
                .query(&[
                    ("signature", signature.as_str()),
                    ("timestamp", timestamp.as_str()),
                    ("nonce", nonce.as_str()),
                    ("openid", "o_sandbox_system"),
                    ("encrypt_type", "aes"),
                    ("msg_signature", msg_signature.as_str()),
                ])
                .header("content-type", "text/xml")
                .body(body);
            send(request, app.to_owned()).await
        }
        core_http::Vendor::Baidu => {
            let app_id = app
                .parse::<i64>()
                .map_or_else(|_| serde_json::Value::from(app), serde_json::Value::from);
            let mut values = vec![
                ("appId", app_id),
                ("tpAppId", 10000.into()),
                ("eventTime", "2026-01-01 00:00:00".into()),
            ];
            let kind = match rejected {
                None => "PACKAGE_AUDIT_PASS",
                Some(reason) => {
                    values.push(("reason", reason.into()));
                    "PACKAGE_AUDIT_FAIL"
                }
            };
            let inner = event_body(&vendor, kind, &values)?;
            send(baidu_request(&url, secrets, &inner)?, app.to_owned()).await
        }
        core_http::Vendor::Kuaishou => Err(PushSendError::Send(
            "Kuaishou documents no code audit, so no audit push".into(),
        )),
    }
}
