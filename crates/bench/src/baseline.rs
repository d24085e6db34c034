//! The hand-written baseline: what a careful developer writes without the SDK. A plain
//! `reqwest::Client` with the SDK's timeouts, `serde` structs for the wire, the URL formatted
//! by hand, the status code and the vendor envelope checked, `;`/`,` lists split.
//!
//! Each call sends exactly the bytes the SDK sends (method, path, query, headers, body;
//! `tests/wire.rs` compares them on the wire) and decodes into the same values.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// What can go wrong, as a hand-written client would tell it apart.
#[derive(Debug)]
pub enum BaselineError {
    /// Connect, send or receive failed.
    Transport(reqwest::Error),
    /// A non-2xx status whose body is not the vendor's envelope.
    Http {
        /// HTTP status.
        status: u16,
        /// Body.
        body: Bytes,
    },
    /// The body is not what the vendor documents.
    Decode(String),
    /// The vendor answered an error code.
    Vendor {
        /// The vendor's code.
        code: i64,
        /// The vendor's message.
        message: String,
    },
}

impl std::fmt::Display for BaselineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BaselineError::Transport(e) => write!(f, "transport: {e}"),
            BaselineError::Http { status, .. } => write!(f, "HTTP {status}"),
            BaselineError::Decode(e) => write!(f, "undecodable answer: {e}"),
            BaselineError::Vendor { code, message } => write!(f, "vendor error {code}: {message}"),
        }
    }
}

impl std::error::Error for BaselineError {}

impl From<reqwest::Error> for BaselineError {
    fn from(e: reqwest::Error) -> Self {
        BaselineError::Transport(e)
    }
}

/// A JSON body that did not decode: an HTTP error when the status says so.
fn undecodable(status: u16, body: &Bytes, e: serde_json::Error) -> BaselineError {
    if (200..300).contains(&status) {
        BaselineError::Decode(e.to_string())
    } else {
        BaselineError::Http {
            status,
            body: body.clone(),
        }
    }
}

fn split(text: &str, sep: char) -> Vec<String> {
    text.split(sep)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

// ---------------------------------------------------------------------------------------
// Wire types.

/// WeChat `modify_wxa_jump_domain` body.
#[derive(Serialize)]
pub struct WechatJumpDomainBody<'a> {
    /// `add`, `delete`, `set`, `get`.
    pub action: &'a str,
    /// The domains joined by `;`.
    pub wxa_jump_h5_domain: String,
    /// Also change the published version.
    pub is_modify_published_together: bool,
}

#[derive(Deserialize)]
struct WechatJumpDomainWire {
    errcode: Option<i64>,
    errmsg: Option<String>,
    published_wxa_jump_h5_domain: Option<String>,
    testing_wxa_jump_h5_domain: Option<String>,
    invalid_wxa_jump_h5_domain: Option<String>,
}

/// WeChat `modify_wxa_jump_domain` answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WechatJumpDomainAnswer {
    /// Published version's domains.
    pub published: Option<Vec<String>>,
    /// Testing version's domains.
    pub testing: Option<Vec<String>>,
    /// Domains that failed verification.
    pub invalid: Option<Vec<String>>,
}

/// Baidu `modifydomain` form body, token included (as the SDK sends it).
#[derive(Serialize)]
pub struct BaiduDomainForm<'a> {
    /// The authorized app's token.
    pub access_token: &'a str,
    /// `add`, `delete`, `set`, `get`.
    pub action: &'a str,
    /// Joined by `,`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download_domain: Option<String>,
    /// Joined by `,`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_domain: Option<String>,
    /// Joined by `,`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub socket_domain: Option<String>,
    /// Joined by `,`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload_domain: Option<String>,
}

#[derive(Deserialize)]
struct BaiduEnvelope {
    errno: Option<i64>,
    msg: Option<String>,
    data: Option<BaiduDomainWire>,
    error_code: Option<i64>,
    error_msg: Option<String>,
}

#[derive(Deserialize)]
struct BaiduDomainWire {
    download_domain: Option<String>,
    request_domain: Option<String>,
    socket_domain: Option<String>,
    upload_domain: Option<String>,
}

/// Baidu `modifydomain` answer (empty for `set`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BaiduDomainAnswer {
    /// download domains.
    pub download_domain: Option<Vec<String>>,
    /// request domains.
    pub request_domain: Option<Vec<String>>,
    /// socket domains.
    pub socket_domain: Option<Vec<String>>,
    /// upload domains.
    pub upload_domain: Option<Vec<String>>,
}

/// Kuaishou `server_domain` body.
#[derive(Serialize)]
pub struct KuaishouServerDomainBody<'a> {
    /// `add`, `delete`, `set`, `get`.
    pub action: &'a str,
    /// request domains.
    pub request: &'a [String],
    /// socket domains.
    pub socket: &'a [String],
    /// upload_file domains.
    pub upload_file: &'a [String],
    /// download_file domains.
    pub download_file: &'a [String],
    /// udp domains.
    pub udp: &'a [String],
}

/// Kuaishou `server_domain` answer (status members included on the wire, checked and dropped).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct KuaishouServerDomainAnswer {
    result: Option<i64>,
    error_msg: Option<String>,
    /// Documented, never sent.
    pub action: Option<Vec<String>>,
    /// request domains.
    pub request: Option<Vec<String>>,
    /// socket domains.
    pub socket: Option<Vec<String>>,
    /// upload_file domains.
    pub upload_file: Option<Vec<String>>,
    /// download_file domains.
    pub download_file: Option<Vec<String>>,
    /// udp domains.
    pub udp: Option<Vec<String>>,
}

/// A QR-code image.
#[derive(Debug, Clone, PartialEq)]
pub struct QrImage {
    /// `Content-Type` as sent.
    pub content_type: String,
    /// The image, as received (not copied).
    pub bytes: Bytes,
}

#[derive(Deserialize)]
struct BaiduErrorHead {
    errno: Option<i64>,
    msg: Option<String>,
    error_code: Option<i64>,
    error_msg: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Decoders (public: the micro benchmarks time them next to the SDK's).

/// Decodes a WeChat `modify_wxa_jump_domain` answer.
pub fn decode_wechat_jump_domain(
    status: u16,
    body: &Bytes,
) -> Result<WechatJumpDomainAnswer, BaselineError> {
    let w: WechatJumpDomainWire =
        serde_json::from_slice(body).map_err(|e| undecodable(status, body, e))?;
    if let Some(code) = w.errcode.filter(|c| *c != 0) {
        return Err(BaselineError::Vendor {
            code,
            message: w.errmsg.unwrap_or_default(),
        });
    }
    Ok(WechatJumpDomainAnswer {
        published: w.published_wxa_jump_h5_domain.map(|s| split(&s, ';')),
        testing: w.testing_wxa_jump_h5_domain.map(|s| split(&s, ';')),
        invalid: w.invalid_wxa_jump_h5_domain.map(|s| split(&s, ';')),
    })
}

/// Decodes a Baidu `modifydomain` answer.
pub fn decode_baidu_domain(status: u16, body: &Bytes) -> Result<BaiduDomainAnswer, BaselineError> {
    let env: BaiduEnvelope =
        serde_json::from_slice(body).map_err(|e| undecodable(status, body, e))?;
    if let Some(code) = env.error_code {
        return Err(BaselineError::Vendor {
            code,
            message: env.error_msg.unwrap_or_default(),
        });
    }
    match env.errno {
        Some(0) => {}
        Some(code) => {
            return Err(BaselineError::Vendor {
                code,
                message: env.msg.unwrap_or_default(),
            })
        }
        None => return Err(BaselineError::Decode("missing `errno`".into())),
    }
    let Some(d) = env.data else {
        return Ok(BaiduDomainAnswer::default());
    };
    Ok(BaiduDomainAnswer {
        download_domain: d.download_domain.map(|s| split(&s, ',')),
        request_domain: d.request_domain.map(|s| split(&s, ',')),
        socket_domain: d.socket_domain.map(|s| split(&s, ',')),
        upload_domain: d.upload_domain.map(|s| split(&s, ',')),
    })
}

/// Decodes a Kuaishou `server_domain` answer.
pub fn decode_kuaishou_server_domain(
    status: u16,
    body: &Bytes,
) -> Result<KuaishouServerDomainAnswer, BaselineError> {
    let a: KuaishouServerDomainAnswer =
        serde_json::from_slice(body).map_err(|e| undecodable(status, body, e))?;
    match a.result {
        Some(1) => Ok(a),
        code => Err(BaselineError::Vendor {
            code: code.unwrap_or_default(),
            message: a.error_msg.unwrap_or_default(),
        }),
    }
}

/// Decodes a Baidu QR-code answer: the image, or the JSON error.
pub fn decode_qr(
    status: u16,
    content_type: Option<&str>,
    body: Bytes,
) -> Result<QrImage, BaselineError> {
    let content_type = content_type.unwrap_or_default();
    let json = content_type.starts_with("application/json")
        || content_type.starts_with("text/")
        || body.first() == Some(&b'{');
    if !json {
        if !(200..300).contains(&status) {
            return Err(BaselineError::Http { status, body });
        }
        return Ok(QrImage {
            content_type: content_type.to_owned(),
            bytes: body,
        });
    }
    let head: BaiduErrorHead =
        serde_json::from_slice(&body).map_err(|e| undecodable(status, &body, e))?;
    match head.error_code.or(head.errno) {
        Some(code) if code != 0 => Err(BaselineError::Vendor {
            code,
            message: head.error_msg.or(head.msg).unwrap_or_default(),
        }),
        _ => Err(BaselineError::Decode("expected an image".into())),
    }
}

// ---------------------------------------------------------------------------------------
// The client.

/// One `reqwest` client (one pool) and a base URL, like `core_http::Transport`.
#[derive(Clone, Debug)]
pub struct Baseline {
    http: reqwest::Client,
    base: String,
}

impl Baseline {
    /// The client `core_http::Transport::new` builds: same connect and request timeouts.
    pub fn new(base_url: &str) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(core_http::DEFAULT_CONNECT_TIMEOUT)
            .timeout(core_http::DEFAULT_REQUEST_TIMEOUT)
            .build()
            .expect("a reqwest client");
        Baseline {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
        }
    }

    /// WeChat `modify_wxa_jump_domain` with `component_access_token` `token`.
    pub async fn wechat_modify_wxa_jump_domain(
        &self,
        token: &str,
        action: &str,
        domains: &[String],
        published_together: bool,
    ) -> Result<WechatJumpDomainAnswer, BaselineError> {
        let url = format!(
            "{}/cgi-bin/component/modify_wxa_jump_domain?access_token={token}",
            self.base
        );
        let body = WechatJumpDomainBody {
            action,
            wxa_jump_h5_domain: domains.join(";"),
            is_modify_published_together: published_together,
        };
        let response = self.http.post(url).json(&body).send().await?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        decode_wechat_jump_domain(status, &bytes)
    }

    /// Baidu `modifydomain` for the app whose token is `token` (form body, token in it).
    pub async fn baidu_modify_domain(
        &self,
        token: &str,
        action: &str,
        download: Option<&[String]>,
        request: Option<&[String]>,
    ) -> Result<BaiduDomainAnswer, BaselineError> {
        let url = format!("{}/rest/2.0/smartapp/app/modifydomain", self.base);
        let form = BaiduDomainForm {
            access_token: token,
            action,
            download_domain: download.map(|d| d.join(",")),
            request_domain: request.map(|d| d.join(",")),
            socket_domain: None,
            upload_domain: None,
        };
        let response = self.http.post(url).form(&form).send().await?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        decode_baidu_domain(status, &bytes)
    }

    /// Kuaishou `server_domain` for the app whose token is `token`.
    pub async fn kuaishou_server_domain(
        &self,
        component_app_id: &str,
        token: &str,
        body: &KuaishouServerDomainBody<'_>,
    ) -> Result<KuaishouServerDomainAnswer, BaselineError> {
        let url = format!(
            "{}/openapi/mp/auth/app/server_domain?component_app_id={component_app_id}&authorizer_access_token={token}",
            self.base
        );
        let response = self.http.post(url).json(body).send().await?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        decode_kuaishou_server_domain(status, &bytes)
    }

    /// Baidu QR code of `width` pixels for the app whose token is `token`.
    pub async fn baidu_qr_code(&self, token: &str, width: i64) -> Result<QrImage, BaselineError> {
        let url = format!(
            "{}/rest/2.0/smartapp/app/qrcode?access_token={token}&width={width}",
            self.base
        );
        let response = self.http.get(url).send().await?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = response.bytes().await?;
        decode_qr(status, content_type.as_deref(), bytes)
    }
}
