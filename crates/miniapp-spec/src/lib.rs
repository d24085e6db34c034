//! The spec format: every endpoint of the vendor documents, transcribed field by field as TOML.
//!
//! One file per vendor document lives under `specs/<vendor>/`. The generator (`cargo xtask
//! codegen`) and the sandbox both read these types; `specs/spec.schema.json` is produced from
//! them with `schemars`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod types;
mod vendor;
/// The endpoint vocabulary, shared with the generator, the derive, `core-http` and the sandbox.
pub use miniapp_rules::{BodyKind, CredentialKind, Format, Limits, Location, Method};
pub use types::{TypeRef, TypeRefError};
pub use vendor::{
    answer_field, answer_path, check_sandbox_pushes, check_token_flow, find_endpoint, find_event,
    load_vendor, parse_vendor, vendor_json_schema, AuthorizationPage, CodeMessage, CodeText,
    EnvelopeShape, EnvelopeSpec, Fill, FillSource, OAuthMembers, PageParam, PageSource,
    PushTransport, PushValue, RefreshRefused, SandboxPushes, SandboxShapes, SentPush, TokenCall,
    TokenFlow, TokenRoleNames, VendorFile,
};

/// One transcribed vendor document.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpecFile {
    /// Which vendor the document belongs to; selects the response envelope and credentials.
    pub vendor: Vendor,
    /// The document this file transcribes.
    pub source: Source,
    /// Rust module the generator writes for this document (named after the doc section).
    pub module: String,
    /// Endpoints of the document, in document order.
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
    /// Named object types used by parameters, response fields and events.
    #[serde(default)]
    pub objects: Vec<ObjectType>,
    /// Named enumerations (closed sets of documented values).
    #[serde(default)]
    pub enums: Vec<EnumType>,
    /// Push events the document describes.
    #[serde(default)]
    pub events: Vec<Event>,
    /// How this document's pushes read once verified and decrypted (default: JSON, the
    /// event name in `event` or `Event`).
    #[serde(default)]
    pub push: PushSpec,
    /// Settable properties (a release's desired settings), each read and written through
    /// this document's endpoints.
    #[serde(default)]
    pub resources: Vec<Resource>,
    /// How this document's endpoints ship code to an authorized app, when they do: the roles
    /// the sandbox's code lifecycle and the vendor crate's shipping adapter use.
    #[serde(default)]
    pub shipping: Option<Shipping>,
    /// The platform's template library (what an upload names), when this document manages it:
    /// the roles the sandbox keeps a library with and a release job reads it through.
    #[serde(default)]
    pub library: Option<TemplateLibrary>,
}

/// The endpoints of the platform's template library, by role, with the members that carry
/// each role's values.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateLibrary {
    /// The library as the documents describe it.
    pub description: String,
    /// Lists the templates (role `items`: the answer field holding the list; `template`,
    /// `version`, `description`, `created`: members of its items; `count`: an answer field with
    /// the library's size, where there is one; `page`, `page_size`: the parameters of a paged
    /// list, pages counted from 1).
    pub list: ShippingCall,
    /// Lists the drafts that may become templates (roles as `list`, `draft` for the id).
    #[serde(default)]
    pub drafts: Option<ShippingCall>,
    /// Adds a draft to the library (role `draft`: the parameter naming it).
    #[serde(default)]
    pub add: Option<ShippingCall>,
    /// Deletes a template (role `template`: the parameter naming it).
    #[serde(default)]
    pub delete: Option<ShippingCall>,
    /// The vendor codes of the library.
    #[serde(default)]
    pub codes: LibraryCodes,
}

/// The vendor codes of a template library.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LibraryCodes {
    /// No such template or draft.
    #[serde(default)]
    pub missing: Vec<i64>,
    /// The library is full (delete a template first).
    #[serde(default)]
    pub full: Vec<i64>,
}

/// The endpoints that ship code to an authorized app (upload, code check, audit, release),
/// by role, with the members that carry each role's values, the wire values of the audit
/// state and the codes that mean something to a release job. One fact in one place: the
/// sandbox simulates the lifecycle from it, the generator gives the vendor crate its codes.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Shipping {
    /// The lifecycle as the documents describe it.
    pub description: String,
    /// Uploads the code (roles `template`, `ext_json`, `version`, `description`: parameters).
    pub commit: ShippingCall,
    /// Reads the code check that must end before a submission, if the vendor has one (it
    /// answers one of `codes.check_running` while the check runs).
    #[serde(default)]
    pub check: Option<ShippingCall>,
    /// Submits for audit (role `audit_id`: the answer's member naming the audit).
    pub submit: ShippingCall,
    /// Reads one audit (roles `audit_id`: parameter; `state`, `reason`: answer members).
    pub status: ShippingCall,
    /// Reads the latest audit (roles `audit_id`, `state`, `reason`: answer members); required
    /// unless `list` is given.
    #[serde(default)]
    pub latest: Option<ShippingCall>,
    /// Lists the app's code packages, where the vendor keeps packages rather than audits
    /// (role `items`: the answer field holding the list; `audit_id`, `state`, `reason`,
    /// `version`, `uploading`: members of its items). With a list, an audit is named by its
    /// package's id, given at upload: the submission and the release send it (role
    /// `audit_id` of `submit` and `release` is then a parameter); the upload's check has
    /// ended when the development package of the uploaded version has an id; the latest
    /// audit is the listed package in an audit state.
    #[serde(default)]
    pub list: Option<ShippingCall>,
    /// Releases the approved code.
    pub release: ShippingCall,
    /// Reads the audit quota, if the vendor has the call (roles `rest`, `limit`).
    #[serde(default)]
    pub quota: Option<ShippingCall>,
    /// Releases the approved code to a share of users, if the vendor can (role `percent`: the
    /// parameter carrying the share, a whole percentage; called again with a higher one).
    #[serde(default)]
    pub gray: Option<ShippingCall>,
    /// Withdraws a running audit, if the vendor can (role `audit_id`: the parameter naming
    /// it, where one is sent). An operator's action, never the job's own.
    #[serde(default)]
    pub withdraw: Option<ShippingCall>,
    /// Rolls the released code back to the version online before it, if the vendor can (role
    /// `audit_id`: the parameter naming the released code, where one is sent).
    #[serde(default)]
    pub rollback: Option<ShippingCall>,
    /// Ends a gray release, back to the version online before it, if the vendor can.
    #[serde(default)]
    pub revert_gray: Option<ShippingCall>,
    /// Asks the vendor to audit a running audit sooner, if it can (role `audit_id`).
    #[serde(default)]
    pub speedup: Option<ShippingCall>,
    /// How often the vendor lets each app take an action (`withdraw`, `speedup`, `rollback`,
    /// `revert_gray`): a job counts its own and refuses locally before the vendor would.
    #[serde(default)]
    pub limits: BTreeMap<String, ActionLimit>,
    /// The wire values of the audit state member, per state.
    pub states: ShippingStates,
    /// The vendor codes a release job acts on.
    pub codes: ShippingCodes,
}

/// How often one app may take an action.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionLimit {
    /// At most this many a day.
    #[serde(default)]
    pub per_day: Option<u32>,
    /// At most this many a month.
    #[serde(default)]
    pub per_month: Option<u32>,
}

/// One role's endpoint and the members that carry its values.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShippingCall {
    /// The endpoint's `name` in this document.
    pub endpoint: String,
    /// Role → member (wire name of a parameter or an answer field).
    #[serde(default)]
    pub members: BTreeMap<String, String>,
}

impl ShippingCall {
    /// The member carrying `role`.
    pub fn member(&self, role: &str) -> Option<&str> {
        self.members.get(role).map(String::as_str)
    }
}

/// The wire values of the audit state, per state.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShippingStates {
    /// Passed the audit.
    pub approved: Vec<String>,
    /// Refused (the answer's reason says why).
    pub rejected: Vec<String>,
    /// Being audited.
    pub in_audit: Vec<String>,
    /// Withdrawn by the platform.
    #[serde(default)]
    pub withdrawn: Vec<String>,
    /// Delayed: not final, a result follows.
    #[serde(default)]
    pub delayed: Vec<String>,
    /// Released (online), where the state member says so (packages).
    #[serde(default)]
    pub released: Vec<String>,
    /// Uploaded and checked, not submitted (a development package).
    #[serde(default)]
    pub development: Vec<String>,
    /// The upload is still being processed: values of the list's `uploading` member (not of
    /// the state member).
    #[serde(default)]
    pub uploading: Vec<String>,
    /// The upload failed: values of the list's `uploading` member (the item's `upload_error`
    /// member, when given, says why).
    #[serde(default)]
    pub upload_failed: Vec<String>,
}

/// The vendor codes a release job acts on.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShippingCodes {
    /// The code check has not ended: submit again later, never upload again.
    #[serde(default)]
    pub check_running: Vec<i64>,
    /// An audit is already running: adopt it (read the latest audit), do not submit again.
    #[serde(default)]
    pub in_audit: Vec<i64>,
    /// The provider's audit quota is spent: pause every submission.
    #[serde(default)]
    pub quota_exhausted: Vec<i64>,
    /// The code was already released: the release is done.
    #[serde(default)]
    pub already_released: Vec<i64>,
    /// No audit exists (the latest-audit read).
    #[serde(default)]
    pub no_audit: Vec<i64>,
    /// A gray release's share is not higher than the current one (a repeat: done).
    #[serde(default)]
    pub gray_not_higher: Vec<i64>,
    /// A gray release needs a version online first (a first release goes out in full).
    #[serde(default)]
    pub no_online_release: Vec<i64>,
    /// The upload names a template the library does not have (deleted, or never there): no
    /// app of the vendor can be uploaded to.
    #[serde(default)]
    pub template_missing: Vec<i64>,
    /// The audit cannot be withdrawn (it has ended): read its state.
    #[serde(default)]
    pub withdraw_refused: Vec<i64>,
    /// The provider's withdrawals are spent for the period.
    #[serde(default)]
    pub withdraw_quota_exhausted: Vec<i64>,
    /// The release cannot be rolled back (no version before it, or already rolled back).
    #[serde(default)]
    pub rollback_refused: Vec<i64>,
    /// The audit was already sped up (a repeat: done).
    #[serde(default)]
    pub speedup_done: Vec<i64>,
    /// The audit cannot be sped up (not in the queue, or not of a kind the vendor speeds up).
    #[serde(default)]
    pub speedup_refused: Vec<i64>,
    /// The provider's speed-ups are spent for the period.
    #[serde(default)]
    pub speedup_quota_exhausted: Vec<i64>,
}

/// A settable property of one authorized app or of the platform: its value, the endpoint call
/// that reads it and the one that replaces it. The generator emits a typed value with
/// `read`/`write` and a description generic code walks; the sandbox stores it per app.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    /// Name in desired-state files and reports (snake_case, unique per vendor).
    pub name: String,
    /// Rust type of the value (PascalCase).
    pub rust_name: String,
    /// Whose property it is.
    pub scope: Scope,
    /// What the property is (from the document).
    pub description: String,
    /// The parts of the value.
    pub fields: Vec<ResourceField>,
    /// The call that reads the current value (its fixed parameters, e.g. `action = "get"`).
    pub read: ResourceCall,
    /// The call that replaces the whole value (e.g. `action = "set"`).
    pub write: ResourceCall,
    /// The call that adds items to the lists, where the endpoint has one.
    #[serde(default)]
    pub add: Option<ResourceCall>,
    /// The call that removes items from the lists, where the endpoint has one.
    #[serde(default)]
    pub delete: Option<ResourceCall>,
    /// The call with no action, where the document gives it a meaning (Baidu: "no `action` =
    /// add every domain registered on the platform"); the sandbox serves it.
    #[serde(default)]
    pub default_write: Option<DefaultWrite>,
    /// Whether the vendor counts modifications against a quota (each write spends one).
    #[serde(default)]
    pub counted: bool,
    /// The documented limit of counted modifications, and its period, where known.
    #[serde(default)]
    pub quota: Option<Quota>,
    /// What must exist first: every item must be a host (or subdomain of a host) of this
    /// resource of the same vendor (the platform's registration).
    #[serde(default)]
    pub requires: Option<Requirement>,
    /// Quirks of the mapping (which answer field is the current value, …).
    #[serde(default)]
    pub quirks: Vec<String>,
}

/// Whose property a resource is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// One authorized app (written with the app's token).
    App,
    /// The third-party platform itself (written with the platform's token).
    Platform,
}

/// One part of a resource's value.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceField {
    /// Name in the value (desired-state files, reports).
    pub name: String,
    /// `set<string>` (order and duplicates do not matter) or `string`.
    #[serde(rename = "type")]
    pub ty: ResourceFieldType,
    /// The write call's parameter that carries it (default: `name`).
    #[serde(default)]
    pub param: Option<String>,
    /// The read call's answer field that carries it (default: `param`).
    #[serde(default)]
    pub response: Option<String>,
    /// What it holds.
    pub description: String,
}

impl ResourceField {
    /// The write call's parameter.
    pub fn param(&self) -> &str {
        self.param.as_deref().unwrap_or(&self.name)
    }

    /// The read call's answer field.
    pub fn response(&self) -> &str {
        self.response.as_deref().unwrap_or_else(|| self.param())
    }
}

/// The value types of resource fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum ResourceFieldType {
    /// A set of strings (domains): compared without order or duplicates.
    #[serde(rename = "set<string>")]
    StringSet,
    /// One string (a version).
    #[serde(rename = "string")]
    String,
}

/// An endpoint of the same document called with fixed parameters.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceCall {
    /// The endpoint's `name`.
    pub endpoint: String,
    /// Parameters with a fixed wire value (`action = "get"`).
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

/// The documented meaning of a write without the action parameter.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DefaultWrite {
    /// The parameter whose absence selects it (`action`).
    pub when_absent: String,
    /// What it does: add every item of the required resource (the platform's registration).
    pub adds_required: bool,
}

/// A documented modification quota.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    /// How many counted writes the period allows, where documented.
    #[serde(default)]
    pub limit: Option<u32>,
    /// The period (`month`, or as the document says).
    #[serde(default)]
    pub period: Option<String>,
    /// The vendor code answered once it is spent.
    pub code: i64,
}

/// A resource whose items must be registered first.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    /// The required resource's name (same vendor; usually platform scope).
    pub resource: String,
    /// The vendor code answered when an item is not registered there.
    pub code: i64,
}

/// A vendor, by the name of its folder (`specs/<vendor>/`, with its `vendor.toml`): lowercase
/// ASCII letters, digits and `_`, starting with a letter. The set is open: a new folder is a
/// new vendor, and the generator writes `core_http::Vendor` (the runtime's closed enum) from
/// the folders it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Vendor(&'static str);

impl Vendor {
    /// The vendor named `name`, if it is a usable name (`wechat`, `baidu`, `kuaishou`, …).
    pub fn new(name: &str) -> Result<Vendor, String> {
        let usable = name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !usable {
            return Err(format!(
                "`{name}` is not a vendor name: lowercase ASCII letters, digits and `_`, \
                 starting with a letter (the name of its folder below specs/)"
            ));
        }
        // Names are interned, so that a vendor is `Copy`; there are a handful per process.
        static NAMES: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
        let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
        let interned = match names.iter().find(|n| **n == name) {
            Some(n) => *n,
            None => {
                let n: &'static str = Box::leak(name.to_owned().into_boxed_str());
                names.push(n);
                n
            }
        };
        Ok(Vendor(interned))
    }

    /// The lowercase name used in spec files and folder names.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl std::fmt::Display for Vendor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for Vendor {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Vendor {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Vendor::new(&name).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Vendor {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Vendor".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A vendor: the name of its folder below specs/ (wechat, baidu, kuaishou, ...).",
            "type": "string",
            "pattern": "^[a-z][a-z0-9_]*$"
        })
    }
}

/// Where a spec file's facts come from.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// File name of the document in `shared/seeds/`.
    pub document: String,
    /// The document's title.
    pub title: String,
    /// Public URL of the document, when known.
    #[serde(default)]
    pub url: Option<String>,
}

/// What a successful response looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResponseKind {
    /// The vendor's JSON envelope.
    #[default]
    Envelope,
    /// Raw bytes (e.g. an image) on success, the vendor's JSON error envelope on failure.
    BinaryOrJsonError,
    /// A JSON object without the vendor's envelope (Baidu `oauth/token`); errors come as
    /// `{error, error_description}`.
    BareJson,
}

/// How sure the transcription is of a fact (the marks of `shared/vendor-auth.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// Seen in an official document or the vendor's own SDK (the seeds, `[v]`).
    #[default]
    Verified,
    /// Seen only in a mirror, a community post or third-party code (`[m]`).
    Mirror,
    /// Not found, or sources conflict (`[?]`).
    Unverified,
}

/// How the response fields sit in the envelope's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DataShape {
    /// The fields are members of an object (top level for WeChat/Kuaishou, `data` for Baidu).
    #[default]
    Object,
    /// The payload is a single value described by the one field (e.g. `data` is a string or an
    /// array); the generated response wraps it transparently.
    Transparent,
}

/// A credential the endpoint needs, and where it goes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    /// Wire name of the parameter, e.g. `access_token`.
    pub name: String,
    /// Which credential fills it.
    pub kind: CredentialKind,
    /// Where it travels.
    pub location: Location,
}

/// Whether repeating a call is harmless.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Idempotency {
    /// A read, or a write that sets the same state when repeated.
    #[default]
    Idempotent,
    /// A write that spends a limited vendor quota or cannot be checked; never retried blindly.
    QuotaLimited,
}

/// One endpoint of a vendor document.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// Operation name in PascalCase; types are `<name>Request` and `<name>Response`.
    pub name: String,
    /// Method name on the client handle (snake_case).
    pub fn_name: String,
    /// The section heading in the document.
    pub title: String,
    /// The document's description of the endpoint.
    pub description: String,
    /// Link to the section, when known.
    #[serde(default)]
    pub doc_url: Option<String>,
    /// HTTP method.
    pub method: Method,
    /// Production base URL, e.g. `https://openapi.baidu.com`.
    pub base_url: String,
    /// Path below the base URL, starting with `/`.
    pub path: String,
    /// Credentials the endpoint needs.
    pub credentials: Vec<Credential>,
    /// The request body kind.
    #[serde(default)]
    pub body: BodyKind,
    /// The response kind.
    #[serde(default)]
    pub response: ResponseKind,
    /// How the response fields sit in the payload.
    #[serde(default)]
    pub data: DataShape,
    /// Whether a repeat is harmless (drives retries).
    #[serde(default)]
    pub idempotency: Idempotency,
    /// Request parameters (credentials excluded).
    #[serde(default)]
    pub params: Vec<Field>,
    /// Response fields (envelope members excluded).
    #[serde(default)]
    pub fields: Vec<Field>,
    /// Every documented error code.
    #[serde(default)]
    pub errors: Vec<ErrorCode>,
    /// Document examples; the sandbox answers with them.
    #[serde(default)]
    pub examples: Vec<Example>,
    /// Where the document contradicts itself, and what the SDK does about it.
    #[serde(default)]
    pub quirks: Vec<String>,
    /// How sure the transcription is of this endpoint (per-field marks in `Field::confidence`).
    #[serde(default)]
    pub confidence: Confidence,
    /// For token endpoints: which credential the answer issues, and where it is.
    #[serde(default)]
    pub token: Option<TokenRole>,
    /// Rules across parameters (e.g. "at least one domain unless `action = get`").
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// A quota-limited endpoint that only reads when a parameter has a value (e.g.
    /// `action = "get"`): such calls are retried like reads and spend no quota.
    #[serde(default)]
    pub read_when: Option<Condition>,
}

/// A documented rule across several parameters, checked before sending.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// At least one of these parameters (wire names) must be present and non-empty...
    pub at_least_one_of: Vec<String>,
    /// ...when this condition holds (always, when absent).
    #[serde(default)]
    pub when: Option<ConditionIn>,
    /// The rule as the document states it.
    pub description: String,
}

/// `param` has one of `values`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConditionIn {
    /// The parameter's wire name.
    pub param: String,
    /// Its wire values that make the condition hold.
    #[serde(rename = "in")]
    pub values: Vec<String>,
}

/// What a token endpoint issues; the sandbox issues and checks tokens from this, and the
/// token providers rely on it.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRole {
    /// The credential kind the answer carries.
    pub issues: CredentialKind,
    /// Response member holding the token (dotted path below the payload, e.g.
    /// `authorization_info.authorizer_access_token`).
    pub access_token: String,
    /// Response member holding the lifetime in seconds.
    pub expires_in: String,
    /// Response member holding the (rotated) refresh token, if any.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Request parameter that carries the refresh token this call consumes, if any.
    #[serde(default)]
    pub refresh_param: Option<String>,
    /// Response member naming the app the tokens are for (dotted path below the payload),
    /// when the answer names it (WeChat `authorization_info.authorizer_appid`).
    #[serde(default)]
    pub app_id: Option<String>,
    /// Request parameter that carries the pushed ticket the platform token is fetched with
    /// (the platform token's endpoint).
    #[serde(default)]
    pub ticket_param: Option<String>,
    /// Whether a refresh token stops working once used (Baidu).
    #[serde(default)]
    pub single_use_refresh: bool,
}

/// A request parameter, a response field, an object member or an event member.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// Wire name.
    pub name: String,
    /// Rust field name when the wire name is not a good one (misspelled, camelCase, keyword).
    #[serde(default)]
    pub rust_name: Option<String>,
    /// Type: `string`, `integer`, `boolean`, `json`, a named object or enum, `list<T>` or
    /// `map<T>` (string keys).
    #[serde(rename = "type")]
    pub ty: TypeRef,
    /// Where a request parameter travels (ignored for response fields).
    #[serde(default)]
    pub location: Option<Location>,
    /// Documented as required (request), or guaranteed on success (response: the generated
    /// field is not an `Option`, and a success without it is an `Error::Decode` naming it).
    #[serde(default)]
    pub required: bool,
    /// A required parameter that may be left out when another parameter has this value
    /// (e.g. the domain lists when `action = "get"`).
    #[serde(default)]
    pub optional_when: Option<Condition>,
    /// The document's description.
    #[serde(default)]
    pub description: String,
    /// Other wire names the vendor sends for this field (misspellings such as `reson`).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The wire value is the list joined by this separator (`;` or `,`); Rust sees a list.
    #[serde(default)]
    pub join: Option<String>,
    /// The wire value is JSON text inside a string (Baidu `categories`, `category_quali`).
    #[serde(default)]
    pub json_string: bool,
    /// The documents disagree on number vs string: accept both.
    #[serde(default)]
    pub lenient: bool,
    /// Documented limits, checked before sending.
    #[serde(default)]
    pub limits: Limits,
    /// A contradiction in the document about this field.
    #[serde(default)]
    pub quirk: Option<String>,
    /// A credential value (secret, ticket, token, refresh token): typed as
    /// `core_http::Secret`, which never prints.
    #[serde(default)]
    pub secret: bool,
    /// How sure the transcription is of this field, when less than its endpoint.
    #[serde(default)]
    pub confidence: Option<Confidence>,
    /// The parameter names the authorized app the call is about (WeChat
    /// `authorizer_appid`, Kuaishou `authorized_app_id`): the sandbox binds what it issues to
    /// that app.
    #[serde(default)]
    pub app_id: bool,
}

impl Field {
    /// The Rust identifier for this field.
    pub fn rust_ident(&self) -> String {
        self.rust_name.clone().unwrap_or_else(|| self.name.clone())
    }

    /// The parsed type.
    pub fn type_ref(&self) -> &TypeRef {
        &self.ty
    }

    /// A request parameter every request must carry: required, with no condition that lets it
    /// be left out (`optional_when`). The generated `new(..)` takes exactly these.
    pub fn is_mandatory(&self) -> bool {
        self.required && self.optional_when.is_none()
    }
}

/// `param = value`: a condition on another parameter.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The other parameter's wire name.
    pub param: String,
    /// Its wire value.
    pub equals: String,
}

/// A documented error code.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorCode {
    /// The vendor's code.
    pub code: i64,
    /// The document's text for it (verbatim).
    pub message: String,
    /// The document's advice, when it gives one.
    #[serde(default)]
    pub solution: Option<String>,
}

/// A document example.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Example {
    /// What the example shows.
    #[serde(default)]
    pub description: String,
    /// Request parameters that select this example in the sandbox (`action = "get"`).
    #[serde(default)]
    pub when: BTreeMap<String, String>,
    /// The request body or query of the example, as the document gives it.
    #[serde(default)]
    pub request: Option<String>,
    /// The response body (valid JSON; cleaned where the document's is not, see `quirks`).
    #[serde(default)]
    pub response: Option<String>,
    /// Content type of a binary response.
    #[serde(default)]
    pub content_type: Option<String>,
}

/// A named object type.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectType {
    /// Rust type name.
    pub name: String,
    /// The document's description.
    #[serde(default)]
    pub description: String,
    /// Members.
    pub fields: Vec<Field>,
}

/// A closed set of documented values.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnumType {
    /// Rust type name.
    pub name: String,
    /// The document's description.
    #[serde(default)]
    pub description: String,
    /// Whether the wire form is a string or an integer.
    #[serde(default)]
    pub repr: EnumRepr,
    /// The documented values.
    pub values: Vec<EnumValue>,
}

/// Wire representation of an enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EnumRepr {
    /// A string such as `"add"`.
    #[default]
    String,
    /// An integer such as `1`.
    Integer,
}

/// One documented value.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnumValue {
    /// Wire value (for integer enums, the number as text).
    pub wire: String,
    /// Rust variant name.
    pub rust: String,
    /// The document's description.
    #[serde(default)]
    pub description: String,
}

/// A family of push events that share one payload.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// Rust name of the family: the variant of the vendor's event enum, and `<name>Event`.
    pub name: String,
    /// The document section that describes it.
    pub title: String,
    /// The document's description.
    #[serde(default)]
    pub description: String,
    /// The event names (`event` member) of the family, with their meaning.
    pub kinds: Vec<EnumValue>,
    /// The member that names this family's events, when not the document's first
    /// (`[push] discriminators`); it must be one of them.
    #[serde(default)]
    pub discriminator: Option<String>,
    /// Payload members other than `event`.
    pub fields: Vec<Field>,
    /// Document examples (cleaned to valid JSON where needed, see `quirks`).
    #[serde(default)]
    pub examples: Vec<String>,
    /// Where the document contradicts itself.
    #[serde(default)]
    pub quirks: Vec<String>,
}

/// How a document's pushes read once verified and decrypted: their format and the member that
/// names the event.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PushSpec {
    /// JSON (Baidu, Kuaishou) or XML (WeChat).
    #[serde(default)]
    pub format: PushFormat,
    /// The members that name the event, tried in order (the first present one counts); an
    /// event family may name its own with `Event::discriminator`.
    #[serde(default = "default_discriminators")]
    pub discriminators: Vec<String>,
    /// Where the pushes go and what the platform answers, in the document's words.
    #[serde(default)]
    pub description: String,
    /// The vendor crate's `parse_event` decodes these (a JSON family; one spec per vendor).
    #[serde(default)]
    pub parse_event: bool,
}

fn default_discriminators() -> Vec<String> {
    vec!["event".into(), "Event".into()]
}

impl Default for PushSpec {
    fn default() -> Self {
        PushSpec {
            format: PushFormat::default(),
            discriminators: default_discriminators(),
            description: String::new(),
            parse_event: false,
        }
    }
}

/// The format of a decrypted push.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PushFormat {
    /// A JSON object.
    #[default]
    Json,
    /// WeChat's flat `<xml>` element of text fields.
    Xml,
}

impl Event {
    /// The member that names this family's events: its own, or the document's first.
    pub fn discriminator<'a>(&'a self, push: &'a PushSpec) -> &'a str {
        self.discriminator
            .as_deref()
            .or(push.discriminators.first().map(String::as_str))
            .unwrap_or("event")
    }
}

/// A spec that could not be read; the message names the file, line and field.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The TOML does not match the format.
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line of the offending value.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong, naming the field.
        message: String,
    },
    /// The TOML parses but breaks a rule of the format.
    #[error("{}{}: {context}: {message}", .path.display(), at(*.line, *.column))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line of the named item (`0` when it could not be found in the text).
        line: usize,
        /// 1-based column.
        column: usize,
        /// Which endpoint/field.
        context: String,
        /// What is wrong.
        message: String,
    },
}

fn at(line: usize, column: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(":{line}:{column}")
    }
}

/// Every role names an endpoint of the document, and every member one of its parameters or
/// answer fields.
fn validate_shipping(spec: &SpecFile, shipping: &Shipping) -> Result<(), String> {
    let calls = [
        ("commit", Some(&shipping.commit)),
        ("check", shipping.check.as_ref()),
        ("submit", Some(&shipping.submit)),
        ("status", Some(&shipping.status)),
        ("latest", shipping.latest.as_ref()),
        ("release", Some(&shipping.release)),
        ("quota", shipping.quota.as_ref()),
        ("gray", shipping.gray.as_ref()),
        ("withdraw", shipping.withdraw.as_ref()),
        ("rollback", shipping.rollback.as_ref()),
        ("revert_gray", shipping.revert_gray.as_ref()),
        ("speedup", shipping.speedup.as_ref()),
    ];
    for action in shipping.limits.keys() {
        let call = match action.as_str() {
            "withdraw" => &shipping.withdraw,
            "rollback" => &shipping.rollback,
            "revert_gray" => &shipping.revert_gray,
            "speedup" => &shipping.speedup,
            other => {
                return Err(format!(
                    "`limits.{other}`: limits are for withdraw, rollback, revert_gray or speedup"
                ))
            }
        };
        if call.is_none() {
            return Err(format!(
                "`limits.{action}` limits an action this document has no `{action}` for"
            ));
        }
    }
    if shipping.latest.is_none() && shipping.list.is_none() {
        return Err("give `latest` (the latest audit) or `list` (the app's packages)".into());
    }
    if let Some(list) = &shipping.list {
        validate_shipping_list(spec, list, "list")?;
    }
    for (role, call) in calls {
        let Some(call) = call else { continue };
        let ep = spec
            .endpoints
            .iter()
            .find(|e| e.name == call.endpoint)
            .ok_or_else(|| {
                format!(
                    "`{role}` names no endpoint `{}` of this document",
                    call.endpoint
                )
            })?;
        for (what, member) in &call.members {
            let known = ep
                .params
                .iter()
                .chain(&ep.fields)
                .any(|f| &f.name == member);
            if !known {
                return Err(format!(
                    "`{role}.members.{what}` names `{member}`, which is neither a parameter nor an answer field of `{}`",
                    ep.name
                ));
            }
        }
    }
    Ok(())
}

/// `list`: `items` is a list field of the endpoint; the other members are fields of its items.
fn validate_shipping_list(spec: &SpecFile, list: &ShippingCall, role: &str) -> Result<(), String> {
    let ep = spec
        .endpoints
        .iter()
        .find(|e| e.name == list.endpoint)
        .ok_or_else(|| {
            format!(
                "`{role}` names no endpoint `{}` of this document",
                list.endpoint
            )
        })?;
    let items = list.member("items").ok_or_else(|| {
        format!("`{role}.members.items` is missing: name the answer field holding the list")
    })?;
    let field = ep.fields.iter().find(|f| f.name == items).ok_or_else(|| {
        format!(
            "`{role}.members.items` names `{items}`, which is not an answer field of `{}`",
            ep.name
        )
    })?;
    let object = match &field.ty {
        TypeRef::List(item) => match item.as_ref() {
            TypeRef::Named(name) => spec.objects.iter().find(|o| &o.name == name),
            _ => None,
        },
        _ => None,
    }
        .ok_or_else(|| format!("`{role}.members.items` names `{items}`, which is not a list of an object of this document"))?;
    for (what, member) in &list.members {
        // `count` is a field of the answer, beside the list; `page` and `page_size` are
        // parameters (a paged list).
        let known = match what.as_str() {
            "items" => true,
            "count" => ep.fields.iter().any(|f| &f.name == member),
            "page" | "page_size" => ep.params.iter().any(|p| &p.name == member),
            _ => object.fields.iter().any(|f| &f.name == member),
        };
        if !known {
            return Err(format!(
                "`{role}.members.{what}` names `{member}`, which is not a field of `{}`",
                object.name
            ));
        }
    }
    Ok(())
}

/// The library's lists name list fields of their endpoints; `add` and `delete` name
/// parameters of theirs.
fn validate_library(spec: &SpecFile, library: &TemplateLibrary) -> Result<(), String> {
    validate_shipping_list(spec, &library.list, "list")?;
    if let Some(drafts) = &library.drafts {
        validate_shipping_list(spec, drafts, "drafts")?;
    }
    for (role, call) in [("add", &library.add), ("delete", &library.delete)] {
        let Some(call) = call else { continue };
        let ep = spec
            .endpoints
            .iter()
            .find(|e| e.name == call.endpoint)
            .ok_or_else(|| {
                format!(
                    "`{role}` names no endpoint `{}` of this document",
                    call.endpoint
                )
            })?;
        for (what, member) in &call.members {
            if !ep.params.iter().any(|p| &p.name == member) {
                return Err(format!(
                    "`{role}.members.{what}` names `{member}`, which is not a parameter of `{}`",
                    ep.name
                ));
            }
        }
    }
    Ok(())
}

/// Where the item a validation context names (`endpoints.ModifyDomain.params.action`) is in
/// the text: each named segment is looked up as `name = "<segment>"` after the previous one.
fn locate(text: &str, context: &str) -> (usize, usize) {
    // The top-level tables: a search for one item's parts stops at the next one.
    const TABLES: [&str; 6] = [
        "\n[[endpoints]]",
        "\n[[objects]]",
        "\n[[enums]]",
        "\n[[events]]",
        "\n[[resources]]",
        "\n[push]",
    ];
    let mut from = 0;
    let mut limit = text.len();
    let mut found = None;
    for segment in context.split('.') {
        let key = segment.split('[').next().unwrap_or(segment);
        match key {
            // Table kinds: the named item that follows is searched from anywhere.
            "endpoints" | "objects" | "events" | "resources" | "enums" => continue,
            // Sections of an item: the search moves into the section (`params = [` or
            // `[[endpoints.params]]`), when the item has it.
            "params" | "fields" | "rules" | "examples" | "credentials" | "errors" | "kinds"
            | "response" | "requires" | "optional_when" | "read_when" | "token" => {
                let inline = format!("\n{key} = ");
                let table = format!(".{key}]]");
                let section = [inline, table]
                    .iter()
                    .filter_map(|n| text[from..limit].find(n.as_str()))
                    .min();
                if let Some(i) = section {
                    from += i;
                    found = Some(from + 1);
                }
                continue;
            }
            _ => {}
        }
        let needle = format!("\"{key}\"");
        let mut search = from;
        while let Some(i) = text[search..limit].find(&needle) {
            let at = search + i;
            let line_start = text[..at].rfind('\n').map_or(0, |n| n + 1);
            // `name = "<key>"`, at the start of a line or inside an inline table.
            let before = text[line_start..at].trim_end();
            let key_end = before.strip_suffix('=').map(str::trim_end);
            if let Some(b) = key_end.filter(|b| {
                b.strip_suffix("name")
                    .is_some_and(|rest| !rest.ends_with(|c: char| c.is_alphanumeric() || c == '_'))
            }) {
                found = Some(line_start + b.len() - "name".len());
                from = at + needle.len();
                if limit == text.len() {
                    limit = TABLES
                        .iter()
                        .filter_map(|t| text[from..].find(t))
                        .min()
                        .map_or(text.len(), |i| from + i);
                }
                break;
            }
            search = at + needle.len();
        }
    }
    found.map_or((0, 0), |offset| line_col(text, offset))
}

/// Deserializes TOML text, naming file, line and column on error.
fn from_toml<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, SpecError> {
    toml::from_str(text).map_err(|e| {
        let (line, column) = e
            .span()
            .map(|span| line_col(text, span.start))
            .unwrap_or((0, 0));
        SpecError::Parse {
            path: path.to_owned(),
            line,
            column,
            message: e.message().trim().to_owned(),
        }
    })
}

/// Parses one spec from its text; `path` is only used in error messages.
pub fn parse(path: &Path, text: &str) -> Result<SpecFile, SpecError> {
    let spec: SpecFile = from_toml(path, text)?;
    validate(path, &spec).map_err(|e| match e {
        SpecError::Invalid {
            path,
            context,
            message,
            ..
        } => {
            let (line, column) = locate(text, &context);
            SpecError::Invalid {
                path,
                line,
                column,
                context,
                message,
            }
        }
        other => other,
    })?;
    Ok(spec)
}

/// Reads and parses one spec file.
pub fn load(path: &Path) -> Result<SpecFile, SpecError> {
    let text = std::fs::read_to_string(path).map_err(|source| SpecError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse(path, &text)
}

/// Whether `path` is a folder's `vendor.toml` (not an endpoint spec).
pub fn is_vendor_file(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == VENDOR_FILE)
}

/// The name of each vendor folder's vendor file.
pub const VENDOR_FILE: &str = "vendor.toml";

/// Reads `specs_dir/<vendor>/vendor.toml` of every vendor folder, sorted by folder; each names
/// the vendor of its folder.
pub fn load_vendors(specs_dir: &Path) -> Result<Vec<VendorFile>, SpecError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| SpecError::Io { path, source }
    };
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(specs_dir).map_err(io(specs_dir))? {
        let dir = entry.map_err(io(specs_dir))?.path();
        if dir.is_dir() {
            dirs.push(dir);
        }
    }
    dirs.sort();
    let files: Vec<VendorFile> = dirs
        .iter()
        .map(|dir| {
            let path = dir.join(VENDOR_FILE);
            let file = load_vendor(&path)?;
            let folder = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if file.vendor.as_str() != folder {
                return Err(SpecError::Invalid {
                    path,
                    line: 1,
                    column: 1,
                    context: "vendor".into(),
                    message: format!("`{}` in the folder of `{folder}`", file.vendor.as_str()),
                });
            }
            Ok(file)
        })
        .collect::<Result<_, _>>()?;
    // The sandbox tells the vendors' made-up app ids apart by their prefix.
    let mut prefixes = BTreeMap::new();
    for (dir, f) in dirs.iter().zip(&files) {
        if let Some(other) = prefixes.insert(f.sandbox.app_prefix.as_str(), f.vendor) {
            return Err(SpecError::Invalid {
                path: dir.join(VENDOR_FILE),
                line: 0,
                column: 0,
                context: "sandbox.app_prefix".into(),
                message: format!("`{}` is {other}'s prefix too", f.sandbox.app_prefix),
            });
        }
    }
    Ok(files)
}

/// Reads every spec `*.toml` below `specs_dir/<vendor>/` (not `vendor.toml`), sorted by path.
pub fn load_dir(specs_dir: &Path) -> Result<Vec<(PathBuf, SpecFile)>, SpecError> {
    let mut paths = Vec::new();
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| SpecError::Io { path, source }
    };
    for vendor in std::fs::read_dir(specs_dir).map_err(io(specs_dir))? {
        let vendor = vendor.map_err(io(specs_dir))?.path();
        if !vendor.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&vendor).map_err(io(&vendor))? {
            let file = file.map_err(io(&vendor))?.path();
            if file.extension().is_some_and(|e| e == "toml") && !is_vendor_file(&file) {
                paths.push(file);
            }
        }
    }
    paths.sort();
    let specs = paths
        .into_iter()
        .map(|p| load(&p).map(|s| (p, s)))
        .collect::<Result<Vec<_>, _>>()?;
    // A spec belongs to the vendor of its folder (whose vendor.toml describes it).
    for (path, spec) in &specs {
        let folder = path
            .parent()
            .and_then(|d| d.file_name())
            .and_then(|n| n.to_str())
            .unwrap_or("");
        if spec.vendor.as_str() != folder {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let (line, column) = text.find("vendor").map_or((0, 0), |at| line_col(&text, at));
            return Err(SpecError::Invalid {
                path: path.clone(),
                line,
                column,
                context: "vendor".into(),
                message: format!(
                    "`{}` in the folder of `{folder}`: a spec lives in its vendor's folder",
                    spec.vendor
                ),
            });
        }
    }
    check_resources_across_files(&specs)?;
    Ok(specs)
}

/// Resource names are unique per vendor and `requires` names a resource of the same vendor.
pub fn check_resources_across_files(specs: &[(PathBuf, SpecFile)]) -> Result<(), SpecError> {
    let mut seen: BTreeMap<(Vendor, &str), &Path> = BTreeMap::new();
    for (path, spec) in specs {
        for r in &spec.resources {
            if let Some(first) = seen.insert((spec.vendor, &r.name), path) {
                return Err(SpecError::Invalid {
                    path: path.clone(),
                    line: 0,
                    column: 0,
                    context: format!("resources.{}", r.name),
                    message: format!("declared twice (also in {})", first.display()),
                });
            }
        }
    }
    for (path, spec) in specs {
        for r in &spec.resources {
            if let Some(req) = &r.requires {
                if !seen.contains_key(&(spec.vendor, req.resource.as_str())) {
                    return Err(SpecError::Invalid {
                        path: path.clone(),
                        line: 0,
                        column: 0,
                        context: format!("resources.{}.requires", r.name),
                        message: format!(
                            "no {} resource named `{}`",
                            spec.vendor.as_str(),
                            req.resource
                        ),
                    });
                }
            }
        }
    }
    Ok(())
}

/// The JSON Schema of the format, pretty-printed with a trailing newline.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(SpecFile);
    let mut text = serde_json::to_string_pretty(&schema).expect("schema serializes");
    text.push('\n');
    text
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Rules the TOML types cannot express: names resolve, types parse, examples are JSON.
fn validate(path: &Path, spec: &SpecFile) -> Result<(), SpecError> {
    // The line is found by `parse`, which has the text.
    let invalid = |context: String, message: String| SpecError::Invalid {
        path: path.to_owned(),
        line: 0,
        column: 0,
        context,
        message,
    };
    let known: Vec<&str> = spec
        .objects
        .iter()
        .map(|o| o.name.as_str())
        .chain(spec.enums.iter().map(|e| e.name.as_str()))
        .collect();
    let check_fields = |context: &str, fields: &[Field], is_param: bool| {
        for f in fields {
            let ctx = format!("{context}.{}", f.name);
            let ty = f.type_ref();
            if let Some(name) = ty.named() {
                if !known.contains(&name) {
                    return Err(invalid(ctx, format!("unknown type `{name}`")));
                }
            }
            if is_param && f.location.is_none() {
                return Err(invalid(ctx, "a request parameter needs `location`".into()));
            }
            if f.secret && *ty != TypeRef::String {
                return Err(invalid(ctx, "`secret` needs type `string`".into()));
            }
            if f.join.is_some() && !matches!(ty, TypeRef::List(_)) {
                return Err(invalid(ctx, "`join` needs a `list<..>` type".into()));
            }
            if let Some(sep) = f
                .join
                .as_deref()
                .filter(|sep| !is_param && !matches!(*sep, ";" | ","))
            {
                return Err(invalid(
                    ctx,
                    format!("answers can be split on `;` or `,`, not `{sep}`"),
                ));
            }
            if f.lenient && *ty != TypeRef::Integer {
                return Err(invalid(ctx, "`lenient` is for integers".into()));
            }
            if f.limits.max_items.is_some() && !matches!(ty, TypeRef::List(_)) {
                return Err(invalid(ctx, "`max_items` needs a `list<..>` type".into()));
            }
            if f.limits.format.is_some()
                && !matches!(&ty, TypeRef::String)
                && !matches!(&ty, TypeRef::List(inner) if **inner == TypeRef::String)
            {
                return Err(invalid(
                    ctx,
                    "`format` needs type `string` or `list<string>`".into(),
                ));
            }
            if is_param && f.optional_when.is_some() && !f.required {
                return Err(invalid(
                    ctx,
                    "`optional_when` only makes sense with `required = true`".into(),
                ));
            }
        }
        Ok(())
    };
    for o in &spec.objects {
        check_fields(&format!("objects.{}", o.name), &o.fields, false)?;
    }
    for e in &spec.enums {
        if e.repr == EnumRepr::Integer {
            if let Some(v) = e.values.iter().find(|v| v.wire.parse::<i64>().is_err()) {
                return Err(invalid(
                    format!("enums.{}", e.name),
                    format!("wire value `{}` is not an integer", v.wire),
                ));
            }
        }
    }
    let mut kinds_seen = BTreeMap::new();
    for ev in &spec.events {
        let ctx = format!("events.{}", ev.name);
        check_fields(&ctx, &ev.fields, false)?;
        if let Some(d) = &ev.discriminator {
            if !spec.push.discriminators.contains(d) {
                return Err(invalid(
                    ctx,
                    format!("discriminator `{d}` is not in `[push] discriminators`"),
                ));
            }
        }
        for k in &ev.kinds {
            if let Some(other) = kinds_seen.insert(k.wire.as_str(), ev.name.as_str()) {
                return Err(invalid(
                    ctx,
                    format!("event `{}` is also a kind of `{other}`", k.wire),
                ));
            }
        }
        for (i, ex) in ev.examples.iter().enumerate() {
            let ok = match spec.push.format {
                PushFormat::Json => serde_json::from_str::<serde_json::Value>(ex)
                    .map(drop)
                    .map_err(|e| format!("not JSON: {e}")),
                PushFormat::Xml => {
                    if ex.trim_start().starts_with("<xml>") && ex.trim_end().ends_with("</xml>") {
                        Ok(())
                    } else {
                        Err("not an <xml>…</xml> document".into())
                    }
                }
            };
            ok.map_err(|message| invalid(format!("{ctx}.examples[{i}]"), message))?;
        }
        if spec.push.format == PushFormat::Xml {
            for f in &ev.fields {
                if !matches!(f.type_ref(), TypeRef::String | TypeRef::Integer) {
                    return Err(invalid(
                        format!("{ctx}.{}", f.name),
                        "an XML push field is a `string` or an `integer`".into(),
                    ));
                }
            }
        }
    }
    if spec.push.discriminators.is_empty() {
        return Err(invalid(
            "push".into(),
            "name at least one discriminator".into(),
        ));
    }
    if spec.push.parse_event && (spec.push.format != PushFormat::Json || spec.events.is_empty()) {
        return Err(invalid(
            "push".into(),
            "`parse_event` decodes a JSON body: it needs `format = \"json\"` and `[[events]]`"
                .into(),
        ));
    }
    for r in &spec.resources {
        validate_resource(spec, r)
            .map_err(|message| invalid(format!("resources.{}", r.name), message))?;
    }
    if let Some(shipping) = &spec.shipping {
        validate_shipping(spec, shipping).map_err(|message| invalid("shipping".into(), message))?;
    }
    if let Some(library) = &spec.library {
        validate_library(spec, library).map_err(|message| invalid("library".into(), message))?;
    }
    for ep in &spec.endpoints {
        let ctx = format!("endpoints.{}", ep.name);
        if !ep.path.starts_with('/') {
            return Err(invalid(ctx, "`path` must start with `/`".into()));
        }
        if ep.method == Method::Get && ep.body != BodyKind::None {
            return Err(invalid(ctx, "a GET endpoint cannot have a body".into()));
        }
        for c in &ep.credentials {
            if c.location == Location::Header
                && (c.name.is_empty()
                    || !c
                        .name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
            {
                return Err(invalid(
                    format!("{ctx}.credentials.{}", c.name),
                    "a header credential's `name` is the header's name in lowercase letters, digits and `-` (e.g. `access-token`)".into(),
                ));
            }
            let ok = c.location.carries_credentials_with(ep.body);
            if !ok {
                return Err(invalid(
                    format!("{ctx}.credentials.{}", c.name),
                    "a credential goes in the query (`location = \"query\"`), a header (`location = \"header\"`, e.g. `name = \"access-token\"`), or the form of a `body = \"form\"` endpoint; never a JSON member".into(),
                ));
            }
        }
        let names_param = |context: String, name: &str| {
            if ep.params.iter().any(|p| p.name == name) {
                Ok(())
            } else {
                Err(invalid(
                    context,
                    format!("`{name}` is not a parameter of this endpoint"),
                ))
            }
        };
        if let Some(c) = &ep.read_when {
            names_param(format!("{ctx}.read_when"), &c.param)?;
        }
        if let Some(role) = &ep.token {
            for p in role.ticket_param.iter().chain(&role.refresh_param) {
                names_param(format!("{ctx}.token"), p)?;
            }
        }
        for p in &ep.params {
            if let Some(c) = &p.optional_when {
                names_param(format!("{ctx}.params.{}.optional_when", p.name), &c.param)?;
            }
        }
        check_fields(&format!("{ctx}.params"), &ep.params, true)?;
        check_fields(&format!("{ctx}.fields"), &ep.fields, false)?;
        if let Some(f) = ep
            .fields
            .iter()
            .find(|f| f.required && (f.join.is_some() || f.lenient || f.json_string))
        {
            return Err(invalid(
                format!("{ctx}.fields.{}", f.name),
                "a required answer field cannot use `join`, `lenient` or `json_string` yet".into(),
            ));
        }
        for p in &ep.params {
            if p.location == Some(Location::Header) {
                return Err(invalid(
                    format!("{ctx}.params.{}", p.name),
                    "only credentials travel in headers (`[[endpoints.credentials]]` with `location = \"header\"`); a parameter goes in the query, the form or the JSON body".into(),
                ));
            }
            let body_ok = match p.location {
                Some(Location::Json) => ep.body == BodyKind::Json,
                Some(Location::Form) => ep.body == BodyKind::Form,
                _ => true,
            };
            if !body_ok {
                return Err(invalid(
                    format!("{ctx}.params.{}", p.name),
                    format!(
                        "location {:?} does not match body {:?}",
                        p.location, ep.body
                    ),
                ));
            }
        }
        for rule in &ep.rules {
            for name in rule
                .at_least_one_of
                .iter()
                .chain(rule.when.as_ref().map(|w| &w.param))
            {
                if !ep.params.iter().any(|p| &p.name == name) {
                    return Err(invalid(
                        format!("{ctx}.rules"),
                        format!("`{name}` is not a parameter of this endpoint"),
                    ));
                }
            }
        }
        if ep.data == DataShape::Transparent && ep.fields.len() != 1 {
            return Err(invalid(
                ctx,
                "`data = \"transparent\"` needs exactly one field".into(),
            ));
        }
        for (i, ex) in ep.examples.iter().enumerate() {
            if let (Some(body), None) = (&ex.response, &ex.content_type) {
                serde_json::from_str::<serde_json::Value>(body).map_err(|e| {
                    invalid(
                        format!("{ctx}.examples[{i}].response"),
                        format!("not JSON: {e}"),
                    )
                })?;
            }
        }
    }
    Ok(())
}

/// A resource's calls name endpoints of its document, their parameters and answer fields,
/// and every required parameter of the write is fixed or carried by a field.
fn validate_resource(spec: &SpecFile, r: &Resource) -> Result<(), String> {
    let endpoint = |call: &ResourceCall| {
        spec.endpoints
            .iter()
            .find(|e| e.name == call.endpoint)
            .ok_or_else(|| format!("`{}` is not an endpoint of this document", call.endpoint))
    };
    let fixed = |call: &ResourceCall, ep: &Endpoint| {
        for name in call.params.keys() {
            if !ep.params.iter().any(|p| &p.name == name) {
                return Err(format!("`{name}` is not a parameter of {}", ep.name));
            }
        }
        Ok(())
    };
    let read = endpoint(&r.read)?;
    fixed(&r.read, read)?;
    for f in &r.fields {
        if !read.fields.iter().any(|x| x.name == f.response()) {
            return Err(format!(
                "field `{}`: `{}` is not an answer field of {}",
                f.name,
                f.response(),
                read.name
            ));
        }
    }
    for call in std::iter::once(&r.write).chain(&r.add).chain(&r.delete) {
        let ep = endpoint(call)?;
        fixed(call, ep)?;
        for f in &r.fields {
            if !ep.params.iter().any(|p| p.name == f.param()) {
                return Err(format!(
                    "field `{}`: `{}` is not a parameter of {}",
                    f.name,
                    f.param(),
                    ep.name
                ));
            }
        }
        for p in ep.params.iter().filter(|p| p.is_mandatory()) {
            if !call.params.contains_key(&p.name) && !r.fields.iter().any(|f| f.param() == p.name) {
                return Err(format!(
                    "{} requires `{}`, which is neither fixed nor a field",
                    ep.name, p.name
                ));
            }
        }
    }
    if r.fields.is_empty() {
        return Err("a resource needs at least one field".into());
    }
    Ok(())
}
