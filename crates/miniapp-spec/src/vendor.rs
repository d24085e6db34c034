//! `specs/<vendor>/vendor.toml`: the facts that hold for every endpoint of a vendor (envelope,
//! busy and token codes, base URL, crate). The generator writes them into core-http's vendor
//! table, which the client and the sandbox both read, so the two cannot disagree.

use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Confidence, SpecError, Vendor};

/// One vendor's `vendor.toml`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VendorFile {
    /// Which vendor (the folder's name).
    pub vendor: Vendor,
    /// The name in prose ("WeChat").
    pub title: String,
    /// The vendor crate, relative to the workspace root ("crates/wechat-component-api").
    pub crate_dir: String,
    /// Production origin.
    pub base_url: String,
    /// The JSON envelope of every answer.
    pub envelope: EnvelopeSpec,
    /// "System busy, try again later": retried like a 503.
    pub busy_codes: Vec<CodeText>,
    /// "Too many calls, slow down": the vendor's rate-limit answers. Never a lost
    /// authorization; the SDK's adaptive rate limiter slows down on them and the call may be
    /// repeated later. Empty when none is documented (then HTTP 429 is the only sign).
    #[serde(default)]
    pub rate_limit_codes: Vec<CodeText>,
    /// Rate-limit errors come in the gateway's shape (`envelope.gateway`), not the envelope's.
    #[serde(default)]
    pub rate_limit_from_gateway: bool,
    /// "Access token invalid or expired": the SDK refreshes a provider's token and retries once.
    pub token_invalid_codes: Vec<CodeText>,
    /// Of `token_invalid_codes`, the one for an expired token.
    pub token_expired: i64,
    /// Of `token_invalid_codes`, the one for an unknown or revoked token.
    pub token_invalid: i64,
    /// Token errors come in the gateway's shape (`envelope.gateway`), not the envelope's.
    #[serde(default)]
    pub token_errors_from_gateway: bool,
    /// The answer that refuses a refresh token for good (the authorization is lost).
    pub refresh_refused: RefreshRefused,
    /// The code of a malformed request (what the sandbox answers to one).
    pub invalid_request: CodeText,
    /// The code of a request without its token.
    pub missing_credential: CodeText,
    /// The code of a platform-token request with a ticket the vendor did not push, if
    /// documented.
    #[serde(default)]
    pub ticket_refused: Option<CodeText>,
    /// How the SDK gets the platform token and renews an authorized app's token: the vendor
    /// crate's `tokens` module is generated from it.
    pub tokens: TokenFlow,
    /// The authorization page an app's owner is sent to, if the vendor documents one: the
    /// vendor crate's `authorization::link` is generated from it.
    #[serde(default)]
    pub authorization: Option<AuthorizationPage>,
    /// The shapes of what the sandbox makes up when it plays this vendor.
    pub sandbox: SandboxShapes,
    /// How the vendor encrypts its pushes, when it uses WeChat's message encryption (AES-CBC
    /// over random bytes, the length, the message and the app id).
    #[serde(default)]
    pub push: Option<PushCrypto>,
}

/// The parameters of WeChat's message encryption as a vendor uses it (`[push]` of
/// `vendor.toml`).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PushCrypto {
    /// How many random bytes start the plaintext, before the 4-byte message length (WeChat
    /// and Baidu: 16; Douyin's V2 platform: 32).
    pub random_prefix: usize,
}

/// What the sandbox makes up for a vendor (`[sandbox]` of `vendor.toml`): app ids, tokens and
/// tickets in the vendor's style, where a document shows one, else recognisably the sandbox's.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SandboxShapes {
    /// The prefix of the sandbox's fleet app ids (`wx` → `wx_fleet_00001`).
    pub app_prefix: String,
    /// Where the vendor's app ids are numbers (Baidu's pushes carry `appId` as an integer):
    /// the sandbox's fleet apps are numbered from this one instead (`1452001`, `1452002`, …).
    #[serde(default)]
    pub numeric_app_ids_from: Option<i64>,
    /// An issued token or code: `{role}` (from `token_roles`), `{n}` (a counter) and `{hex}`
    /// (16 random hex digits) are replaced.
    pub token_format: String,
    /// What `{role}` is for each kind of token.
    #[serde(default)]
    pub token_roles: TokenRoleNames,
    /// A pushed ticket: `{hex}` is replaced.
    pub ticket_format: String,
    /// The pushes the sandbox sends as this vendor (`[sandbox.pushes]`); none if absent.
    #[serde(default)]
    pub pushes: Option<SandboxPushes>,
}

/// The pushes the sandbox sends as a vendor (`[sandbox.pushes]` of `vendor.toml`): how they
/// travel, and for each push it can send, the event kind (a `kinds` wire name of the specs'
/// `[[events]]`, whose example is the body) and the members it fills in.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SandboxPushes {
    /// How a push travels (its envelope and signature).
    pub transport: PushTransport,
    /// The ticket push (the platform's ticket, every few minutes).
    #[serde(default)]
    pub ticket: Option<SentPush>,
    /// The push that says an app authorized the platform, with its authorization code.
    #[serde(default)]
    pub authorized: Option<SentPush>,
    /// The push that says an app's code audit passed.
    #[serde(default)]
    pub audit_approved: Option<SentPush>,
    /// The push that says an app's code audit failed, with the reason.
    #[serde(default)]
    pub audit_rejected: Option<SentPush>,
}

/// How a vendor's pushes travel: the envelope around the encrypted event and its signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PushTransport {
    /// WeChat's: XML `<xml><AppId|ToUserName/><Encrypt/></xml>` (the event's first member
    /// beside the ciphertext), `timestamp`, `nonce`, `encrypt_type=aes` and `msg_signature` in
    /// the query (an account's message push adds `signature` and `openid`); WeChat's cipher.
    XmlMsgSignature,
    /// Baidu's: JSON `{Nonce, TimeStamp, Encrypt, MsgSignature}`; WeChat's cipher.
    JsonMsgSignature,
    /// Kuaishou's: JSON `{encryptedMsg, msgId, componentAppId, timestamp}`, the body signed in
    /// the `kwaisign` header; Kuaishou's cipher.
    JsonBodySignature,
}

/// One push the sandbox sends: its event kind and what it fills in.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SentPush {
    /// The event kind (the discriminator's value, e.g. `component_verify_ticket`).
    pub kind: String,
    /// Members of the example set to the push's own values, by member name.
    #[serde(default)]
    pub fill: std::collections::BTreeMap<String, PushValue>,
}

/// A value the sandbox knows when it sends a push.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PushValue {
    /// The platform's app id (what the pushes are encrypted for).
    PlatformAppId,
    /// The time of sending, in seconds since the Unix epoch.
    NowSecs,
    /// The time of sending, in milliseconds since the Unix epoch.
    NowMillis,
    /// An hour after sending, in seconds since the Unix epoch.
    InAnHourSecs,
    /// The ticket pushed.
    Ticket,
    /// The app's id, as text.
    AppId,
    /// The app's id as a number where it is one (Baidu's), else as text.
    AppIdNumber,
    /// The app's original id (`gh_` and the app id: WeChat's `ToUserName`).
    OriginalId,
    /// The authorization code pushed.
    Code,
    /// Why the audit failed.
    Reason,
}

/// The `{role}` of each kind of sandbox token.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRoleNames {
    /// The platform's token.
    pub component: String,
    /// An authorized app's token.
    pub authorizer: String,
    /// A refresh token.
    pub refresh: String,
    /// A code bound to an app (authorization codes).
    pub code: String,
}

impl Default for TokenRoleNames {
    fn default() -> Self {
        TokenRoleNames {
            component: "ctoken".into(),
            authorizer: "atoken".into(),
            refresh: "rtoken".into(),
            code: "appid".into(),
        }
    }
}

/// The authorization page (`[authorization]` of `vendor.toml`): its address, the call that
/// makes the fresh pre-auth code it needs, and its query in order.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorizationPage {
    /// The page's address, without a query.
    pub page: String,
    /// How sure the transcription of the page and its query is.
    #[serde(default)]
    pub confidence: Confidence,
    /// The call that makes a pre-auth code (its `fill` as in `[tokens]`).
    pub pre_auth: TokenCall,
    /// The member of that call's answer holding the code.
    pub pre_auth_code: String,
    /// The page's query parameters, in order.
    pub query: Vec<PageParam>,
}

/// One query parameter of the authorization page.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageParam {
    /// Its name in the query.
    pub name: String,
    /// The argument's Rust name when the query name is not a usable one.
    #[serde(default)]
    pub rust_name: Option<String>,
    /// Where its value comes from; absent: an argument of `link` named like the parameter
    /// (or `rust_name`).
    #[serde(default)]
    pub from: Option<PageSource>,
    /// The argument's type when it is an enum of the pre-auth call's spec (its wire value is
    /// sent); otherwise a text.
    #[serde(default, rename = "enum")]
    pub enumeration: Option<String>,
    /// The argument may be left out (`Option`), and the parameter is then not sent.
    #[serde(default)]
    pub optional: bool,
    /// What the parameter does (the argument's documentation).
    #[serde(default)]
    pub description: String,
}

/// The values the authorization page's query is filled from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PageSource {
    /// The platform's app id.
    PlatformAppId,
    /// The fresh pre-auth code.
    PreAuthCode,
    /// Where the page sends the owner back (`link`'s `redirect_uri`).
    RedirectUri,
}

/// The calls behind a vendor's tokens (`[tokens]` of `vendor.toml`). The endpoints they name
/// carry the token roles (`token = {..}`): what each answer issues, the ticket and refresh
/// parameters. This says in which order they are called and where every other parameter's
/// value comes from.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenFlow {
    /// How long the SDK keeps a pushed ticket, in seconds.
    pub ticket_lifetime_secs: u64,
    /// Why that long (what the document says), for the docs.
    pub ticket_lifetime_note: String,
    /// What a user of this vendor's tokens should know (the module docs' second paragraph).
    #[serde(default)]
    pub note: Option<String>,
    /// The platform token: one call, with the latest pushed ticket.
    pub platform: TokenCall,
    /// Renewing an authorized app's token: the calls in order; the last one's answer is the new
    /// token, an earlier one's answer feeds the next (`{ previous = "member" }`).
    pub renew: Vec<TokenCall>,
    /// Exchanging the authorization code an app's owner grants (`authorization_code`) for the
    /// app's first tokens: the vendor crate's `authorization::complete`. The app id comes from
    /// the answer when the token role names it (`app_id`), else from the caller.
    pub exchange: TokenCall,
}

/// One call of a token flow.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenCall {
    /// The endpoint (its `name` in the spec).
    pub call: String,
    /// Its parameters (wire names) and where each value comes from. The token role's
    /// `ticket_param` and `refresh_param` are filled without being named here.
    #[serde(default)]
    pub fill: std::collections::BTreeMap<String, Fill>,
}

/// Where a token call's parameter gets its value.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Fill {
    /// One of the values the token manager holds.
    From(FillSource),
    /// A member of the previous call's answer (its wire name).
    Previous {
        /// The member.
        previous: String,
    },
    /// A fixed wire value (an enum's value or a text).
    Value {
        /// The value.
        value: String,
    },
}

/// The values a token manager holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FillSource {
    /// The platform's app id (a `manager` argument, or the client's when it carries one).
    PlatformAppId,
    /// The platform's app secret (a `manager` argument).
    PlatformSecret,
    /// The authorized app whose token is renewed (or, in `exchange`, the app the caller names).
    AppId,
    /// The authorization code being exchanged (only in `exchange`).
    AuthorizationCode,
}

/// Where the status members sit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EnvelopeShape {
    /// Beside the payload members (`{"errcode":0,"errmsg":"ok","domain":[..]}`).
    Flat,
    /// Around the payload (`{"errno":0,"msg":"success","data":{..}}`).
    Wrapped,
}

/// A vendor's envelope.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeSpec {
    /// Flat or wrapped.
    pub shape: EnvelopeShape,
    /// The status member.
    pub code: String,
    /// The message member, with its other spellings (the first is what the vendor writes).
    pub messages: Vec<String>,
    /// The payload member of a wrapped envelope.
    #[serde(default)]
    pub data: Option<String>,
    /// The status of success.
    pub success: i64,
    /// The message of success (what the sandbox writes).
    pub success_message: String,
    /// An answer without the status member is a success (WeChat's token endpoints).
    #[serde(default)]
    pub absent_is_success: bool,
    /// The API gateway's own error members, checked before the envelope.
    #[serde(default)]
    pub gateway: Option<CodeMessage>,
    /// OAuth-style error members (`error`/`error_description`).
    #[serde(default)]
    pub oauth: Option<OAuthMembers>,
    /// The member that carries the vendor's id of the request (what its support asks for,
    /// e.g. Douyin's `log_id`), when the envelope has one.
    #[serde(default)]
    pub request_id: Option<String>,
    /// The marker after which the error message carries the request id, when the id travels
    /// inside the message (WeChat: `… rid: 6899a148-5929c88a-767d57ca`, marker `rid: `).
    #[serde(default)]
    pub request_id_in_message: Option<String>,
}

/// Names of a code member and a message member.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeMessage {
    /// Code member.
    pub code: String,
    /// Message member.
    pub message: String,
}

/// Names of OAuth's error members.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OAuthMembers {
    /// Error code member (`invalid_grant`).
    pub error: String,
    /// Description member.
    pub description: String,
}

/// A documented code and its text.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeText {
    /// The code.
    pub code: i64,
    /// The vendor's text.
    pub message: String,
    /// How sure the transcription is.
    #[serde(default)]
    pub confidence: Confidence,
}

/// How a vendor refuses a refresh token for good.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged, deny_unknown_fields)]
pub enum RefreshRefused {
    /// An envelope error code.
    Code {
        /// The code.
        code: i64,
        /// The vendor's text.
        message: String,
        /// How sure the transcription is.
        #[serde(default)]
        confidence: Confidence,
    },
    /// An OAuth error (answered with HTTP 400).
    OAuthError {
        /// The OAuth error code.
        oauth_error: String,
        /// The description the vendor gives.
        message: String,
    },
}

/// Reads and checks one `vendor.toml`.
pub fn load_vendor(path: &Path) -> Result<VendorFile, SpecError> {
    let text = std::fs::read_to_string(path).map_err(|source| SpecError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse_vendor(path, &text)
}

/// Parses one `vendor.toml` from its text; `path` is only used in error messages.
pub fn parse_vendor(path: &Path, text: &str) -> Result<VendorFile, SpecError> {
    let file: VendorFile = crate::from_toml(path, text)?;
    let invalid = |context: &str, message: String| SpecError::Invalid {
        path: path.to_owned(),
        line: 0,
        column: 0,
        context: context.into(),
        message,
    };
    let e = &file.envelope;
    if e.messages.is_empty() {
        return Err(invalid(
            "envelope.messages",
            "name at least one member".into(),
        ));
    }
    if (e.shape == EnvelopeShape::Wrapped) != e.data.is_some() {
        return Err(invalid(
            "envelope.data",
            "a wrapped envelope names its `data` member; a flat one has none".into(),
        ));
    }
    for (what, code) in [
        ("token_expired", file.token_expired),
        ("token_invalid", file.token_invalid),
    ] {
        if !file.token_invalid_codes.iter().any(|c| c.code == code) {
            return Err(invalid(
                what,
                format!("{code} is not in `token_invalid_codes`"),
            ));
        }
    }
    if file.token_errors_from_gateway && e.gateway.is_none() {
        return Err(invalid(
            "token_errors_from_gateway",
            "needs `envelope.gateway`".into(),
        ));
    }
    // The sandbox's shapes: every issued token unique (`{n}`), only the known placeholders.
    let shapes = &file.sandbox;
    let placeholders_ok = |format: &str, allowed: &[&str]| {
        let mut rest = format;
        while let Some(i) = rest.find('{') {
            let Some(j) = rest[i..].find('}') else {
                return false;
            };
            if !allowed.contains(&&rest[i..i + j + 1]) {
                return false;
            }
            rest = &rest[i + j + 1..];
        }
        true
    };
    if !shapes.token_format.contains("{n}")
        || !placeholders_ok(&shapes.token_format, &["{role}", "{n}", "{hex}"])
    {
        return Err(invalid(
            "sandbox.token_format",
            "use `{n}` (a counter, so every token is unique) and only `{role}`, `{n}`, `{hex}`"
                .into(),
        ));
    }
    if !shapes.ticket_format.contains("{hex}")
        || !placeholders_ok(&shapes.ticket_format, &["{hex}"])
    {
        return Err(invalid(
            "sandbox.ticket_format",
            "use `{hex}` (16 random hex digits) and no other placeholder".into(),
        ));
    }
    if shapes.app_prefix.is_empty() || !shapes.app_prefix.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return Err(invalid(
            "sandbox.app_prefix",
            "a short prefix of ASCII letters and digits (`wx`)".into(),
        ));
    }
    if matches!(file.refresh_refused, RefreshRefused::OAuthError { .. }) && e.oauth.is_none() {
        return Err(invalid(
            "refresh_refused",
            "an OAuth error needs `envelope.oauth`".into(),
        ));
    }
    Ok(file)
}

/// The JSON Schema of `vendor.toml`, pretty-printed with a trailing newline.
pub fn vendor_json_schema() -> String {
    let schema = schemars::schema_for!(VendorFile);
    let mut text = serde_json::to_string_pretty(&schema).expect("schema serializes");
    text.push('\n');
    text
}

/// The endpoint named `name` among `vendor`'s specs, with its spec.
pub fn find_endpoint<'a>(
    specs: &'a [(std::path::PathBuf, crate::SpecFile)],
    vendor: Vendor,
    name: &str,
) -> Option<(&'a crate::SpecFile, &'a crate::Endpoint)> {
    specs
        .iter()
        .filter(|(_, s)| s.vendor == vendor)
        .find_map(|(_, s)| s.endpoints.iter().find(|e| e.name == name).map(|e| (s, e)))
}

/// The event family of `vendor` that documents the event kind `kind` (a `kinds` wire name),
/// with its document's push settings.
pub fn find_event<'a>(
    specs: impl IntoIterator<Item = &'a crate::SpecFile>,
    vendor: Vendor,
    kind: &str,
) -> Option<(&'a crate::Event, &'a crate::PushSpec)> {
    specs
        .into_iter()
        .filter(|s| s.vendor == vendor)
        .flat_map(|s| s.events.iter().map(move |e| (e, &s.push)))
        .find(|(e, _)| e.kinds.iter().any(|k| k.wire == kind))
}

/// Checks `[sandbox.pushes]` of `vendor` against its specs: each push's `kind` is a kind of
/// one of the vendor's `[[events]]`, and each member it fills in is one of that event's
/// fields (or its discriminator). `path` is the `vendor.toml`, for the error's location.
pub fn check_sandbox_pushes(
    path: &Path,
    vendor: &VendorFile,
    specs: &[(std::path::PathBuf, crate::SpecFile)],
) -> Result<(), SpecError> {
    let Some(pushes) = &vendor.sandbox.pushes else {
        return Ok(());
    };
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let invalid = |role: &str, needle: &str, message: String| {
        let section = text.find("[sandbox.pushes]").unwrap_or(0);
        let at = text[section..]
            .find(&format!("{role} = "))
            .map(|r| section + r)
            .and_then(|r| text[r..].find(needle).map(|n| r + n));
        let (line, column) = at.map_or((0, 0), |at| crate::line_col(&text, at));
        SpecError::Invalid {
            path: path.to_owned(),
            line,
            column,
            context: format!("sandbox.pushes.{role}"),
            message,
        }
    };
    let roles = [
        ("ticket", &pushes.ticket),
        ("authorized", &pushes.authorized),
        ("audit_approved", &pushes.audit_approved),
        ("audit_rejected", &pushes.audit_rejected),
    ];
    for (role, sent) in roles {
        let Some(sent) = sent else { continue };
        let of_vendor = specs.iter().map(|(_, s)| s);
        let Some((event, push)) = find_event(of_vendor, vendor.vendor, &sent.kind) else {
            let known: Vec<&str> = specs
                .iter()
                .filter(|(_, s)| s.vendor == vendor.vendor)
                .flat_map(|(_, s)| s.events.iter())
                .flat_map(|e| e.kinds.iter().map(|k| k.wire.as_str()))
                .collect();
            return Err(invalid(
                role,
                &format!("\"{}\"", sent.kind),
                format!(
                    "`{}` is not a kind of any `[[events]]` of the {} specs; known: {}",
                    sent.kind,
                    vendor.vendor,
                    known.join(", ")
                ),
            ));
        };
        let discriminator = event.discriminator(push);
        for member in sent.fill.keys() {
            if member != discriminator && !event.fields.iter().any(|f| &f.name == member) {
                let fields: Vec<&str> = event.fields.iter().map(|f| f.name.as_str()).collect();
                return Err(invalid(
                    role,
                    member,
                    format!(
                        "`{member}` is not a field of the event `{}` ({}); its fields: {}",
                        event.name,
                        sent.kind,
                        fields.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Checks `vendor`'s `[tokens]` against its specs: every call names an endpoint with the right
/// token role, every parameter a generated call must set is filled, and each fill fits its
/// parameter. `path` is the `vendor.toml`, for the error's location.
pub fn check_token_flow(
    path: &Path,
    vendor: &VendorFile,
    specs: &[(std::path::PathBuf, crate::SpecFile)],
) -> Result<(), SpecError> {
    use crate::{CredentialKind, TypeRef};
    let flow = &vendor.tokens;
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let invalid = |call: &str, context: String, message: String| {
        // The call's line: its `call = "<name>"` inside the section the context names
        // (`tokens.renew[1]` is the second `[[tokens.renew]]`).
        let section = match context.split_once('[') {
            Some((_, index)) => {
                let n: usize = index.trim_end_matches(']').parse().unwrap_or(0);
                text.match_indices("[[tokens.renew]]")
                    .nth(n)
                    .map(|(at, _)| at)
            }
            None => text.find(&format!("[{context}]")),
        }
        .unwrap_or(0);
        let (line, column) = text[section..]
            .find(&format!("\"{call}\""))
            .map_or((0, 0), |at| crate::line_col(&text, section + at));
        SpecError::Invalid {
            path: path.to_owned(),
            line,
            column,
            context,
            message,
        }
    };
    if flow.renew.is_empty() {
        return Err(invalid(
            "",
            "tokens.renew".into(),
            "name at least one call".into(),
        ));
    }
    let steps = std::iter::once(("tokens.platform".to_owned(), &flow.platform))
        .chain(
            flow.renew
                .iter()
                .enumerate()
                .map(|(i, c)| (format!("tokens.renew[{i}]"), c)),
        )
        .chain(std::iter::once((
            "tokens.exchange".to_owned(),
            &flow.exchange,
        )));
    let mut previous: Option<(&crate::SpecFile, &crate::Endpoint)> = None;
    for (context, step) in steps {
        let call = step.call.as_str();
        let fail = |message: String| invalid(call, context.clone(), message);
        let (spec, ep) = find_endpoint(specs, vendor.vendor, call).ok_or_else(|| {
            fail(format!(
                "no {} endpoint is named `{call}`",
                vendor.vendor.as_str()
            ))
        })?;
        let platform = context == "tokens.platform";
        let exchange = context == "tokens.exchange";
        let last = exchange || flow.renew.last().is_some_and(|c| std::ptr::eq(c, step));
        let role = ep.token.as_ref();
        let needs = |k: CredentialKind| ep.credentials.iter().any(|c| c.kind == k);
        if platform {
            if !role.is_some_and(|r| {
                r.issues == CredentialKind::ComponentAccessToken && r.ticket_param.is_some()
            }) {
                return Err(fail(format!(
                    "`{call}` must have a token role issuing `component_access_token` with a `ticket_param`"
                )));
            }
            if needs(CredentialKind::ComponentAccessToken) {
                return Err(fail(format!(
                    "`{call}` needs the platform token it is to fetch"
                )));
            }
        }
        if last && !role.is_some_and(|r| r.issues == CredentialKind::AuthorizerAccessToken) {
            return Err(fail(format!(
                "`{call}` must have a token role issuing `authorizer_access_token`"
            )));
        }
        if needs(CredentialKind::AuthorizerAccessToken) {
            return Err(fail(format!(
                "`{call}` needs the app's token it is to renew"
            )));
        }
        if let Some(r) = role {
            check_answer_members(spec, ep, r).map_err(&fail)?;
        }
        // The ticket is at hand only in the platform's call, a stored refresh token only in
        // the renewing ones; elsewhere the role's parameter is left out, so it must be optional.
        let mandatory = |name: &Option<String>| {
            name.as_ref()
                .is_some_and(|n| ep.params.iter().any(|p| &p.name == n && p.is_mandatory()))
        };
        if let Some(r) = role {
            if !platform && mandatory(&r.ticket_param) {
                return Err(fail(format!(
                    "`{call}` needs the pushed ticket, which only the platform's call has"
                )));
            }
            if (platform || exchange) && mandatory(&r.refresh_param) {
                return Err(fail(format!(
                    "`{call}` needs a stored refresh token, which only a renewing call has"
                )));
            }
        }
        let by_role: Vec<&str> = role
            .iter()
            .flat_map(|r| [r.ticket_param.as_deref(), r.refresh_param.as_deref()])
            .flatten()
            .collect();
        for name in &by_role {
            let p = ep.params.iter().find(|p| p.name == *name);
            if !p.is_some_and(|p| p.ty == TypeRef::String && p.secret) {
                return Err(fail(format!(
                    "the token role's parameter `{name}` of `{call}` must be a secret string parameter"
                )));
            }
        }
        for (name, fill) in &step.fill {
            let p = ep
                .params
                .iter()
                .find(|p| &p.name == name)
                .ok_or_else(|| fail(format!("`{call}` has no parameter `{name}`")))?;
            if by_role.contains(&name.as_str()) {
                return Err(fail(format!(
                    "`{name}` is the token role's parameter; it is filled without being named"
                )));
            }
            let text_param = p.ty == TypeRef::String && !p.secret;
            match fill {
                Fill::From(FillSource::PlatformAppId) if text_param => {}
                Fill::From(FillSource::AppId) if text_param && !platform => {}
                Fill::From(FillSource::PlatformSecret)
                    if p.ty == TypeRef::String && p.secret && !exchange => {}
                Fill::From(FillSource::AuthorizationCode)
                    if p.ty == TypeRef::String && p.secret && exchange => {}
                Fill::From(source) => {
                    return Err(fail(format!(
                        "`{name}` cannot take `{source:?}` (an app id fills a text parameter, \
                         `app_id` not the platform's call; the secret a secret parameter, not in \
                         `exchange`; the authorization code only in `exchange`)"
                    )))
                }
                Fill::Value { value } => {
                    if !value_fits(spec, p, value) {
                        return Err(fail(format!(
                            "`{value}` is not a value of `{name}` (a text, or one of its enum's wire values)"
                        )));
                    }
                }
                Fill::Previous { previous: member } => {
                    let (before_spec, before) = previous.filter(|_| !exchange).ok_or_else(|| {
                        fail(format!(
                            "`{name}` takes the previous call's answer, but `{call}` is the first call"
                        ))
                    })?;
                    let f = answer_field(before_spec, before, member).ok_or_else(|| {
                        fail(format!("`{}` answers no member `{member}`", before.name))
                    })?;
                    if !f.required || f.ty != p.ty || f.secret != p.secret {
                        return Err(fail(format!(
                            "`{}`'s `{member}` must be a required field of `{name}`'s type and secrecy",
                            before.name
                        )));
                    }
                }
            }
        }
        for p in &ep.params {
            let mandatory = p.is_mandatory();
            if mandatory && !step.fill.contains_key(&p.name) && !by_role.contains(&p.name.as_str())
            {
                return Err(fail(format!(
                    "`{call}` needs `{}`: say where its value comes from in `fill`",
                    p.name
                )));
            }
        }
        if exchange
            && !step
                .fill
                .values()
                .any(|f| f == &Fill::From(FillSource::AuthorizationCode))
        {
            return Err(fail(format!(
                "`{call}` exchanges the authorization code: fill one parameter with `authorization_code`"
            )));
        }
        if !platform && !exchange {
            previous = Some((spec, ep));
        }
    }
    // A refresh token consumed by renewing must be the one the last answer gave.
    let consumes_refresh = flow.renew.iter().any(|c| {
        find_endpoint(specs, vendor.vendor, &c.call)
            .and_then(|(_, e)| e.token.as_ref())
            .is_some_and(|r| r.refresh_param.is_some())
    });
    if let Some(page) = &vendor.authorization {
        check_authorization_page(path, &text, vendor, page, specs)?;
    }
    if consumes_refresh {
        let last = flow.renew.last().expect("checked non-empty");
        for (context, step) in [
            (format!("tokens.renew[{}]", flow.renew.len() - 1), last),
            ("tokens.exchange".to_owned(), &flow.exchange),
        ] {
            let gives = find_endpoint(specs, vendor.vendor, &step.call)
                .and_then(|(_, e)| e.token.as_ref())
                .is_some_and(|r| r.refresh_token.is_some());
            if !gives {
                return Err(invalid(
                    &step.call,
                    context,
                    format!(
                        "renewing consumes a stored refresh token, but `{}`'s token role names no `refresh_token` to store",
                        step.call
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Whether a fixed wire `value` fits parameter `p`: a text (not a secret), or one of its enum's
/// wire values.
fn value_fits(spec: &crate::SpecFile, p: &crate::Field, value: &str) -> bool {
    match &p.ty {
        crate::TypeRef::String => !p.secret,
        crate::TypeRef::Named(n) => spec
            .enums
            .iter()
            .find(|e| &e.name == n)
            .is_some_and(|e| e.values.iter().any(|v| v.wire == value)),
        _ => false,
    }
}

/// The answer fields along a dotted member path of `ep` (`authorization_info.expires_in`:
/// the object member, then its field), through the spec's objects.
pub fn answer_path<'a>(
    spec: &'a crate::SpecFile,
    ep: &'a crate::Endpoint,
    dotted: &str,
) -> Option<Vec<&'a crate::Field>> {
    let mut fields = &ep.fields;
    let mut path: Vec<&'a crate::Field> = Vec::new();
    for segment in dotted.split('.') {
        if let Some(parent) = path.last() {
            let crate::TypeRef::Named(object) = &parent.ty else {
                return None;
            };
            fields = &spec.objects.iter().find(|o| &o.name == object)?.fields;
        }
        path.push(fields.iter().find(|f| f.name == segment)?);
    }
    Some(path)
}

/// The answer field at a dotted member path of `ep` (the last of [`answer_path`]).
pub fn answer_field<'a>(
    spec: &'a crate::SpecFile,
    ep: &'a crate::Endpoint,
    dotted: &str,
) -> Option<&'a crate::Field> {
    answer_path(spec, ep, dotted)?.pop()
}

/// A token role's answer members have the types the token store keeps: the token and the
/// refresh token secret texts, the lifetime an integer (both required), the app id a text.
fn check_answer_members(
    spec: &crate::SpecFile,
    ep: &crate::Endpoint,
    role: &crate::TokenRole,
) -> Result<(), String> {
    use crate::TypeRef;
    let members = [
        (
            "access_token",
            Some(&role.access_token),
            TypeRef::String,
            true,
            true,
        ),
        (
            "expires_in",
            Some(&role.expires_in),
            TypeRef::Integer,
            false,
            true,
        ),
        (
            "refresh_token",
            role.refresh_token.as_ref(),
            TypeRef::String,
            true,
            false,
        ),
        (
            "app_id",
            role.app_id.as_ref(),
            TypeRef::String,
            false,
            false,
        ),
    ];
    for (what, path, ty, secret, required) in members {
        let Some(path) = path else { continue };
        let f = answer_field(spec, ep, path)
            .ok_or_else(|| format!("`{}`'s token role: no answer member `{path}`", ep.name))?;
        if f.ty != ty || f.secret != secret || (required && !f.required) {
            return Err(format!(
                "`{}`'s token role: `{path}` ({what}) must be {}{}{}",
                ep.name,
                if required { "a required " } else { "a " },
                if secret { "secret " } else { "" },
                if ty == TypeRef::String {
                    "string"
                } else {
                    "integer"
                },
            ));
        }
    }
    Ok(())
}

/// `[authorization]`: the pre-auth call is a platform call whose parameters are all filled and
/// whose answer has the code; the query takes the code and the redirect, and its enums exist.
fn check_authorization_page(
    path: &Path,
    text: &str,
    vendor: &VendorFile,
    page: &AuthorizationPage,
    specs: &[(std::path::PathBuf, crate::SpecFile)],
) -> Result<(), SpecError> {
    use crate::{CredentialKind, TypeRef};
    let at = if text.starts_with("[authorization]") {
        0
    } else {
        text.find("\n[authorization]").map_or(0, |i| i + 1)
    };
    let fail = |message: String| {
        let (line, column) = if text.is_empty() {
            (0, 0)
        } else {
            crate::line_col(text, at)
        };
        SpecError::Invalid {
            path: path.to_owned(),
            line,
            column,
            context: "authorization".into(),
            message,
        }
    };
    if url::Url::parse(&page.page).map_or(true, |u| u.query().is_some()) {
        return Err(fail(format!(
            "`{}` is not an address without a query",
            page.page
        )));
    }
    let call = &page.pre_auth.call;
    let (spec, ep) = find_endpoint(specs, vendor.vendor, call)
        .ok_or_else(|| fail(format!("no {} endpoint is named `{call}`", vendor.vendor)))?;
    if ep
        .credentials
        .iter()
        .any(|c| c.kind == CredentialKind::AuthorizerAccessToken)
    {
        return Err(fail(format!(
            "`{call}` needs an app's token; a pre-auth code is the platform's"
        )));
    }
    for (name, fill) in &page.pre_auth.fill {
        let p = ep
            .params
            .iter()
            .find(|p| &p.name == name)
            .ok_or_else(|| fail(format!("`{call}` has no parameter `{name}`")))?;
        let fits = match fill {
            Fill::From(FillSource::PlatformAppId) => p.ty == TypeRef::String && !p.secret,
            Fill::Value { value } => value_fits(spec, p, value),
            _ => false,
        };
        if !fits {
            return Err(fail(format!(
                "`{name}` of `{call}`: a pre-auth call takes `platform_app_id` or a `{{ value = .. }}`"
            )));
        }
    }
    for p in &ep.params {
        if p.is_mandatory() && !page.pre_auth.fill.contains_key(&p.name) {
            return Err(fail(format!(
                "`{call}` needs `{}`: say where its value comes from in `fill`",
                p.name
            )));
        }
    }
    let code = answer_field(spec, ep, &page.pre_auth_code);
    if !code.is_some_and(|f| f.required && f.ty == TypeRef::String) {
        return Err(fail(format!(
            "`{call}` answers no required text `{}`",
            page.pre_auth_code
        )));
    }
    for source in [PageSource::PreAuthCode, PageSource::RedirectUri] {
        if !page.query.iter().any(|q| q.from == Some(source)) {
            return Err(fail(format!("the query does not send `{source:?}`")));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for q in &page.query {
        if !seen.insert(q.name.as_str()) {
            return Err(fail(format!("`{}` is in the query twice", q.name)));
        }
        if q.from.is_none() {
            // An argument of `link`: a usable name that is not one of `link`'s own.
            let arg = q.rust_name.as_deref().unwrap_or(&q.name);
            const TAKEN: [&str; 9] = [
                "client",
                "tokens",
                "redirect_uri",
                "url",
                "code",
                "request",
                "answer",
                "component",
                "self",
            ];
            let usable = arg.starts_with(|c: char| c.is_ascii_lowercase())
                && arg
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                && !TAKEN.contains(&arg)
                && ![
                    "type", "match", "fn", "mod", "ref", "use", "move", "loop", "impl", "in",
                ]
                .contains(&arg);
            if !usable {
                return Err(fail(format!(
                    "`{arg}` cannot name an argument of `link` (a lowercase Rust name, not a \
                     keyword nor one of {}): set `rust_name`",
                    TAKEN.join(", ")
                )));
            }
        }
        if let Some(e) = &q.enumeration {
            if q.from.is_some() || !spec.enums.iter().any(|x| &x.name == e) {
                return Err(fail(format!(
                    "`{}`: `enum = \"{e}\"` names no enum of {} (or the parameter has a `from`)",
                    q.name, spec.module
                )));
            }
        }
    }
    Ok(())
}
