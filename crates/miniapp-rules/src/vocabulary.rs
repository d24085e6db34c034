//! The words every floor of the house uses for an endpoint's shape: its method, its body,
//! where a parameter or credential travels and which credential it is. Specs spell them
//! (with the `serde` feature), the generator and the derive read them, `core-http` sends by
//! them and the sandbox checks by them: one type each, no translation between crates.

/// HTTP method of an endpoint (`"GET"`, `"POST"` in specs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Method {
    /// `GET`
    #[cfg_attr(feature = "serde", serde(rename = "GET"))]
    Get,
    /// `POST`
    #[cfg_attr(feature = "serde", serde(rename = "POST"))]
    Post,
}

impl Method {
    /// `GET` or `POST`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// The request body an endpoint sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum BodyKind {
    /// No body.
    #[default]
    None,
    /// `application/json`.
    Json,
    /// `application/x-www-form-urlencoded`.
    Form,
}

impl BodyKind {
    /// The spec's name: `none`, `json`, `form`.
    pub fn as_str(self) -> &'static str {
        match self {
            BodyKind::None => "none",
            BodyKind::Json => "json",
            BodyKind::Form => "form",
        }
    }
}

/// Where a parameter or a credential travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Location {
    /// URL query string.
    Query,
    /// `application/x-www-form-urlencoded` body.
    Form,
    /// JSON body member.
    Json,
    /// An HTTP request header (credentials only; sent as a sensitive value, never logged).
    Header,
}

impl Location {
    /// Where it is, in words, for error messages: `query string`, `form body`, …
    pub fn describe(self) -> &'static str {
        match self {
            Location::Query => "query string",
            Location::Form => "form body",
            Location::Json => "JSON body",
            Location::Header => "request headers",
        }
    }

    /// The spec's name: `query`, `form`, `json`, `header`.
    pub fn as_str(self) -> &'static str {
        match self {
            Location::Query => "query",
            Location::Form => "form",
            Location::Json => "json",
            Location::Header => "header",
        }
    }

    /// Whether a credential may travel here in an endpoint whose body is `body`: the query
    /// and headers always, the form only in a form body, never a JSON member.
    pub fn carries_credentials_with(self, body: BodyKind) -> bool {
        match self {
            Location::Query | Location::Header => true,
            Location::Form => body == BodyKind::Form,
            Location::Json => false,
        }
    }
}

/// The kinds of credential the vendors use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum CredentialKind {
    /// The third-party platform's own token (WeChat `component_access_token`, Baidu TP token).
    ComponentAccessToken,
    /// The token of one authorized mini-program.
    AuthorizerAccessToken,
    /// The third-party platform's app id (not a secret; Kuaishou sends it with every call).
    ComponentAppId,
}
