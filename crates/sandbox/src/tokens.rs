//! Token mode: the tokens the sandbox issued, their lifetimes, revocations and injected
//! token-endpoint failures, behind one mutex.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use miniapp_spec::{CredentialKind, TokenRole, Vendor};
use serde_json::{Map, Value};

use crate::SandboxOptions;

/// Why a presented access token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenFault {
    /// Issued here, but its lifetime is over.
    Expired,
    /// Never issued here (for this vendor and kind), or revoked.
    Invalid,
}

/// The refresh token a token-endpoint call presented is not usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RefreshInvalid;

/// What one token-endpoint call issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Issued {
    /// The new access token.
    pub access_token: String,
    /// Its lifetime in whole seconds (rounded up, at least 1).
    pub expires_in: u64,
    /// The new refresh token, when the endpoint issues one.
    pub refresh_token: Option<String>,
    /// The app the tokens are for, when known.
    pub app: Option<String>,
}

impl Issued {
    /// Writes the issued values into `body` at the role's dotted paths, below `prefix`
    /// (`data` for Baidu enveloped answers, empty otherwise).
    pub(crate) fn patch(&self, body: &mut Value, role: &TokenRole, prefix: &str) {
        let at = |path: &str| {
            if prefix.is_empty() {
                path.to_owned()
            } else {
                format!("{prefix}.{path}")
            }
        };
        set_path(
            body,
            &at(&role.access_token),
            Value::String(self.access_token.clone()),
        );
        set_path(body, &at(&role.expires_in), Value::from(self.expires_in));
        if let (Some(path), Some(token)) = (&role.refresh_token, &self.refresh_token) {
            set_path(body, &at(path), Value::String(token.clone()));
        }
        // An answer that names the app names the one the tokens were issued for.
        if let (Some(path), Some(app)) = (&role.app_id, &self.app) {
            set_path(body, &at(path), Value::String(app.clone()));
        }
    }
}

/// Sets the member at a dotted `path` of `root`, creating (or replacing non-object)
/// intermediate members as objects.
pub(crate) fn set_path(root: &mut Value, path: &str, value: Value) {
    let (parents, last) = match path.rsplit_once('.') {
        Some((parents, last)) => (Some(parents), last),
        None => (None, path),
    };
    let mut cur = root;
    for part in parents.into_iter().flat_map(|p| p.split('.')) {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        cur = cur
            .as_object_mut()
            .expect("made an object above")
            .entry(part)
            .or_insert_with(|| Value::Object(Map::new()));
    }
    if !cur.is_object() {
        *cur = Value::Object(Map::new());
    }
    cur.as_object_mut()
        .expect("made an object above")
        .insert(last.to_owned(), value);
}

/// Whether a caller's endpoint key (`Name` or `vendor/Name`) names this endpoint.
pub(crate) fn key_matches(key: &str, vendor: Vendor, name: &str) -> bool {
    key == name
        || key
            .split_once('/')
            .is_some_and(|(v, n)| v == vendor.as_str() && n == name)
}

#[derive(Debug)]
struct AccessToken {
    vendor: Vendor,
    kind: CredentialKind,
    expires: Instant,
    revoked: bool,
    /// The authorized app it was issued for, when known.
    app: Option<String>,
}

#[derive(Debug)]
struct RefreshToken {
    vendor: Vendor,
    kind: CredentialKind,
    used: bool,
    /// The authorized app it was issued for, when known.
    app: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    access: HashMap<String, AccessToken>,
    refresh: HashMap<String, RefreshToken>,
    /// Issues per `(vendor, endpoint name)`.
    issued: HashMap<(Vendor, String), usize>,
    /// `fail_token_endpoint` settings, by the caller's key.
    failing: HashMap<String, i64>,
    /// Single-use codes (Kuaishou re-authorization codes) issued for an app.
    codes: HashMap<String, (Vendor, String)>,
    /// Tickets this sandbox pushed, by vendor.
    pushed: std::collections::HashSet<(Vendor, String)>,
    counter: u64,
}

/// The token state of one sandbox.
#[derive(Debug)]
pub(crate) struct Tokens {
    options: SandboxOptions,
    state: Mutex<State>,
}

impl Tokens {
    pub(crate) fn new(options: SandboxOptions) -> Tokens {
        Tokens {
            options,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether credentials are checked against issued tokens.
    pub(crate) fn enforcing(&self) -> bool {
        self.options.enforce_tokens
    }

    /// The extra delay before answering token endpoints.
    pub(crate) fn delay(&self) -> Duration {
        self.options.token_delay
    }

    /// Checks an access token presented as a credential of `kind` to a `vendor` endpoint.
    pub(crate) fn verify(
        &self,
        vendor: Vendor,
        kind: CredentialKind,
        token: &str,
    ) -> Result<(), TokenFault> {
        let state = self.state();
        match state.access.get(token) {
            Some(t) if t.vendor == vendor && t.kind == kind && !t.revoked => {
                if Instant::now() >= t.expires {
                    Err(TokenFault::Expired)
                } else {
                    Ok(())
                }
            }
            _ => Err(TokenFault::Invalid),
        }
    }

    /// Issues the tokens of one call of the token endpoint `name`, after checking (and, when
    /// single-use, consuming) the presented refresh token.
    /// The app an access token was issued for, when known.
    pub(crate) fn app_of(&self, token: &str) -> Option<String> {
        self.state().access.get(token).and_then(|t| t.app.clone())
    }

    /// A fresh refresh token for `app` of `vendor` (the sandbox fleet's authorizations).
    pub(crate) fn seed_authorization(&self, vendor: Vendor, app: &str) -> String {
        let mut state = self.state();
        let token = state.fresh(vendor, CredentialKind::AuthorizerAccessToken, true);
        state.refresh.insert(
            token.clone(),
            RefreshToken {
                vendor,
                kind: CredentialKind::AuthorizerAccessToken,
                used: false,
                app: Some(app.to_owned()),
            },
        );
        token
    }

    /// A fresh single-use code bound to `app` (what a re-authorization answers).
    pub(crate) fn issue_code(&self, vendor: Vendor, app: &str) -> String {
        let mut state = self.state();
        let code = format!(
            "code-{}",
            state.fresh(vendor, CredentialKind::ComponentAppId, true)
        );
        state.codes.insert(code.clone(), (vendor, app.to_owned()));
        code
    }

    /// Remembers a ticket this sandbox pushes.
    pub(crate) fn record_pushed_ticket(&self, vendor: Vendor, ticket: &str) {
        self.state().pushed.insert((vendor, ticket.to_owned()));
    }

    /// Whether `ticket` may fetch the platform token: any ticket, unless
    /// [`SandboxOptions::pushed_tickets_only`], then only one this sandbox pushed.
    pub(crate) fn ticket_accepted(&self, vendor: Vendor, ticket: &str) -> bool {
        !self.options.pushed_tickets_only
            || self.state().pushed.contains(&(vendor, ticket.to_owned()))
    }

    /// The app a code issued by [`Tokens::issue_code`] names (and uses it up).
    pub(crate) fn take_code(&self, vendor: Vendor, code: &str) -> Option<String> {
        let mut state = self.state();
        match state.codes.get(code) {
            Some((v, _)) if *v == vendor => state.codes.remove(code).map(|(_, app)| app),
            _ => None,
        }
    }

    /// Issues the tokens of one token-endpoint call; `app` is the authorized app the call
    /// names, if any (a presented refresh token's app counts too).
    pub(crate) fn issue(
        &self,
        vendor: Vendor,
        name: &str,
        role: &TokenRole,
        presented_refresh: Option<&str>,
        app: Option<String>,
    ) -> Result<Issued, RefreshInvalid> {
        let mut state = self.state();
        let mut app = app;
        if let Some(presented) = presented_refresh {
            match state.refresh.get_mut(presented) {
                Some(r) if r.vendor == vendor && r.kind == role.issues && !r.used => {
                    if role.single_use_refresh {
                        r.used = true;
                    }
                    if app.is_none() {
                        app = r.app.clone();
                    }
                }
                _ => return Err(RefreshInvalid),
            }
        }
        let lifetime = self.options.token_lifetime;
        let access_token = state.fresh(vendor, role.issues, false);
        state.access.insert(
            access_token.clone(),
            AccessToken {
                vendor,
                kind: role.issues,
                expires: Instant::now() + lifetime,
                revoked: false,
                app: app.clone(),
            },
        );
        let refresh_token = role.refresh_token.as_ref().map(|_| {
            let token = state.fresh(vendor, role.issues, true);
            state.refresh.insert(
                token.clone(),
                RefreshToken {
                    vendor,
                    kind: role.issues,
                    used: false,
                    app: app.clone(),
                },
            );
            token
        });
        *state.issued.entry((vendor, name.to_owned())).or_default() += 1;
        Ok(Issued {
            access_token,
            expires_in: expires_in_secs(lifetime),
            refresh_token,
            app,
        })
    }

    /// Counts a token-endpoint answer that issued no tracked token (plain mode: the example).
    pub(crate) fn count(&self, vendor: Vendor, name: &str) {
        *self
            .state()
            .issued
            .entry((vendor, name.to_owned()))
            .or_default() += 1;
    }

    /// How many tokens the endpoint(s) named by `key` issued.
    pub(crate) fn issued(&self, key: &str) -> usize {
        self.state()
            .issued
            .iter()
            .filter(|((vendor, name), _)| key_matches(key, *vendor, name))
            .map(|(_, n)| n)
            .sum()
    }

    /// Revokes every access token issued so far.
    pub(crate) fn revoke_all(&self) {
        for t in self.state().access.values_mut() {
            t.revoked = true;
        }
    }

    /// Revokes one access token (unknown tokens are ignored).
    pub(crate) fn revoke(&self, token: &str) {
        if let Some(t) = self.state().access.get_mut(token) {
            t.revoked = true;
        }
    }

    /// Sets or clears the injected failure of the endpoint(s) named by `key`.
    pub(crate) fn set_failing(&self, key: &str, code: Option<i64>) {
        let mut state = self.state();
        match code {
            Some(code) => state.failing.insert(key.to_owned(), code),
            None => state.failing.remove(key),
        };
    }

    /// The injected failure code of endpoint `name`, if any (a `vendor/Name` setting wins).
    pub(crate) fn failing(&self, vendor: Vendor, name: &str) -> Option<i64> {
        let state = self.state();
        state
            .failing
            .get(&format!("{}/{name}", vendor.as_str()))
            .or_else(|| state.failing.get(name))
            .copied()
    }
}

impl State {
    /// A fresh, unique token text in the vendor's style.
    fn fresh(&mut self, vendor: Vendor, kind: CredentialKind, refresh: bool) -> String {
        self.counter += 1;
        let n = self.counter;
        let shapes = crate::embedded::shapes(vendor);
        let roles = &shapes.token_roles;
        let role = match (refresh, kind) {
            (true, _) => &roles.refresh,
            (false, CredentialKind::ComponentAccessToken) => &roles.component,
            (false, CredentialKind::AuthorizerAccessToken) => &roles.authorizer,
            (false, CredentialKind::ComponentAppId) => &roles.code,
        };
        shapes
            .token_format
            .replace("{role}", role)
            .replace("{n}", &n.to_string())
            .replace("{hex}", &format!("{:016x}", fastrand::u64(..)))
    }
}

/// Whole seconds, rounded up, at least 1.
fn expires_in_secs(lifetime: Duration) -> u64 {
    let secs = lifetime.as_nanos().div_ceil(1_000_000_000).max(1);
    u64::try_from(secs).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn role(refresh: bool, single_use: bool) -> TokenRole {
        TokenRole {
            issues: CredentialKind::AuthorizerAccessToken,
            access_token: "info.token".into(),
            expires_in: "info.expires_in".into(),
            refresh_token: refresh.then(|| "refresh".into()),
            refresh_param: refresh.then(|| "refresh".into()),
            single_use_refresh: single_use,
            app_id: Some("info.app".into()),
            ticket_param: None,
        }
    }

    #[test]
    fn set_path_replaces_and_creates_members() {
        let mut v = json!({ "a": { "b": 1, "c": 2 }, "d": 3 });
        set_path(&mut v, "a.b", json!("x"));
        set_path(&mut v, "e.f.g", json!(4));
        set_path(&mut v, "d.h", json!(5));
        set_path(&mut v, "top", json!(true));
        assert_eq!(
            v,
            json!({ "a": { "b": "x", "c": 2 }, "d": { "h": 5 }, "e": { "f": { "g": 4 } }, "top": true })
        );
    }

    #[test]
    fn patch_writes_below_the_prefix() {
        let issued = Issued {
            access_token: "A".into(),
            expires_in: 9,
            refresh_token: Some("R".into()),
            app: Some("app_1".into()),
        };
        let mut v = json!({ "errno": 0, "data": { "info": { "token": "old", "keep": 1 } } });
        issued.patch(&mut v, &role(true, false), "data");
        assert_eq!(
            v,
            json!({ "errno": 0, "data": { "info": { "token": "A", "expires_in": 9, "keep": 1, "app": "app_1" }, "refresh": "R" } })
        );
    }

    #[test]
    fn expires_in_rounds_up_to_whole_seconds() {
        assert_eq!(expires_in_secs(Duration::ZERO), 1);
        assert_eq!(expires_in_secs(Duration::from_millis(300)), 1);
        assert_eq!(expires_in_secs(Duration::from_millis(1001)), 2);
        assert_eq!(expires_in_secs(Duration::from_secs(7200)), 7200);
    }

    #[test]
    fn tokens_are_checked_by_vendor_kind_expiry_and_revocation() {
        let tokens = Tokens::new(SandboxOptions {
            enforce_tokens: true,
            token_lifetime: Duration::from_secs(60),
            ..SandboxOptions::default()
        });
        let kind = CredentialKind::AuthorizerAccessToken;
        let a = tokens
            .issue(
                Vendor::new("baidu").unwrap(),
                "T",
                &role(true, true),
                None,
                None,
            )
            .unwrap();
        assert!(a.access_token.starts_with("45."), "{a:?}");
        assert!(a.refresh_token.as_deref().unwrap().starts_with("46."));
        assert_eq!(
            tokens.verify(Vendor::new("baidu").unwrap(), kind, &a.access_token),
            Ok(())
        );
        assert_eq!(
            tokens.verify(Vendor::new("wechat").unwrap(), kind, &a.access_token),
            Err(TokenFault::Invalid)
        );
        assert_eq!(
            tokens.verify(
                Vendor::new("baidu").unwrap(),
                CredentialKind::ComponentAccessToken,
                &a.access_token
            ),
            Err(TokenFault::Invalid)
        );
        let refresh = a.refresh_token.clone().unwrap();
        let b = tokens
            .issue(
                Vendor::new("baidu").unwrap(),
                "T",
                &role(true, true),
                Some(&refresh),
                None,
            )
            .unwrap();
        assert_ne!(a, b);
        assert_eq!(
            tokens.issue(
                Vendor::new("baidu").unwrap(),
                "T",
                &role(true, true),
                Some(&refresh),
                None
            ),
            Err(RefreshInvalid)
        );
        tokens.revoke(&a.access_token);
        assert_eq!(
            tokens.verify(Vendor::new("baidu").unwrap(), kind, &a.access_token),
            Err(TokenFault::Invalid)
        );
        assert_eq!(
            tokens.verify(Vendor::new("baidu").unwrap(), kind, &b.access_token),
            Ok(())
        );
        assert_eq!(tokens.issued("T"), 2);
        assert_eq!(tokens.issued("baidu/T"), 2);
        assert_eq!(tokens.issued("wechat/T"), 0);

        let w = tokens
            .issue(
                Vendor::new("wechat").unwrap(),
                "T",
                &role(true, false),
                None,
                None,
            )
            .unwrap();
        let r = w.refresh_token.unwrap();
        for _ in 0..2 {
            tokens
                .issue(
                    Vendor::new("wechat").unwrap(),
                    "T",
                    &role(true, false),
                    Some(&r),
                    None,
                )
                .unwrap();
        }
        assert_eq!(tokens.issued("T"), 5);
    }

    #[test]
    fn failing_prefers_the_vendor_qualified_key() {
        let tokens = Tokens::new(SandboxOptions::default());
        tokens.set_failing("T", Some(1));
        tokens.set_failing("wechat/T", Some(2));
        assert_eq!(tokens.failing(Vendor::new("wechat").unwrap(), "T"), Some(2));
        assert_eq!(
            tokens.failing(Vendor::new("kuaishou").unwrap(), "T"),
            Some(1)
        );
        tokens.set_failing("T", None);
        assert_eq!(tokens.failing(Vendor::new("kuaishou").unwrap(), "T"), None);
    }
}
