//! Every checked-in spec loads; a malformed spec names file, line and field.

use std::path::{Path, PathBuf};

fn specs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../specs")
}

#[test]
fn every_checked_in_spec_loads() {
    let specs = miniapp_spec::load_dir(&specs_dir()).unwrap();
    assert!(!specs.is_empty());
}

#[test]
fn unknown_field_error_names_file_line_and_field() {
    let text = "vendor = \"wechat\"\nmodule = \"m\"\n[source]\ndocument = \"d\"\ntitle = \"t\"\n\n[[endpoints]]\nname = \"X\"\nfn_nam = \"x\"\n";
    let err = miniapp_spec::parse(Path::new("specs/wechat/bad.toml"), text)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("specs/wechat/bad.toml:9:"), "{err}");
    assert!(err.contains("fn_nam"), "{err}");
}

#[test]
fn wrong_value_type_names_line() {
    let text = "vendor = \"wechat\"\nmodule = \"m\"\n[source]\ndocument = \"d\"\ntitle = 5\n";
    let err = miniapp_spec::parse(Path::new("x.toml"), text)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("x.toml:5:"), "{err}");
}

#[test]
fn unknown_type_name_is_rejected_with_context() {
    let text = r#"vendor = "baidu"
module = "m"
[source]
document = "d"
title = "t"
[[objects]]
name = "A"
fields = [{ name = "b", type = "Missing" }]
"#;
    let err = miniapp_spec::parse(Path::new("x.toml"), text)
        .unwrap_err()
        .to_string();
    assert_eq!(err, "x.toml:8:13: objects.A.b: unknown type `Missing`");
}

/// Types are parsed once, when the spec loads: a bad one names its line and column.
#[test]
fn a_bad_type_is_refused_at_its_line() {
    let text = "vendor = \"baidu\"\nmodule = \"m\"\n[source]\ndocument = \"d\"\ntitle = \"t\"\n[[objects]]\nname = \"A\"\nfields = [{ name = \"b\", type = \"lst<string>\" }]\n";
    let err = miniapp_spec::parse(Path::new("x.toml"), text)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("x.toml:8:"), "{err}");
    assert!(err.contains("bad type `lst<string>`"), "{err}");
}

/// What the derive macro would refuse is refused when the spec loads, at the endpoint's line.
#[test]
fn endpoint_rules_are_checked_at_load_time_with_the_line() {
    let spec = |endpoint: &str| {
        format!(
            "vendor = \"kuaishou\"\nmodule = \"m\"\n[source]\ndocument = \"d\"\ntitle = \"t\"\n\n\
             [[endpoints]]\nname = \"Other\"\nfn_name = \"other\"\ntitle = \"o\"\ndescription = \"\"\nmethod = \"GET\"\n\
             base_url = \"https://x\"\npath = \"/o\"\ncredentials = []\n\n\
             [[endpoints]]\nname = \"X\"\nfn_name = \"x\"\ntitle = \"x\"\ndescription = \"\"\nbase_url = \"https://x\"\n\
             path = \"/x\"\n{endpoint}"
        )
    };
    let mut cases = vec![
        (
            "method = \"GET\"\nbody = \"json\"\ncredentials = []\n",
            "x.toml:18:1: endpoints.X: a GET endpoint cannot have a body",
        ),
        (
            "method = \"POST\"\nbody = \"json\"\ncredentials = [{ name = \"access_token\", kind = \"component_access_token\", location = \"form\" }]\n",
            "x.toml:26:18: endpoints.X.credentials.access_token: a credential goes in the query (`location = \"query\"`), a header (`location = \"header\"`, e.g. `name = \"access-token\"`), or the form of a `body = \"form\"` endpoint; never a JSON member",
        ),
        (
            "method = \"POST\"\nbody = \"json\"\ncredentials = [{ name = \"Access Token\", kind = \"authorizer_access_token\", location = \"header\" }]\n",
            "x.toml:26:18: endpoints.X.credentials.Access Token: a header credential's `name` is the header's name in lowercase letters, digits and `-` (e.g. `access-token`)",
        ),
        (
            "method = \"POST\"\nbody = \"json\"\ncredentials = []\nparams = [{ name = \"a\", type = \"string\", location = \"header\" }]\n",
            "x.toml:27:13: endpoints.X.params.a: only credentials travel in headers (`[[endpoints.credentials]]` with `location = \"header\"`); a parameter goes in the query, the form or the JSON body",
        ),
        (
            "method = \"POST\"\nbody = \"json\"\ncredentials = []\nparams = [{ name = \"a\", type = \"string\", location = \"json\", required = true, optional_when = { param = \"b\", equals = \"get\" } }]\n",
            "x.toml:27:13: endpoints.X.params.a.optional_when: `b` is not a parameter of this endpoint",
        ),
        (
            "method = \"POST\"\nbody = \"json\"\ncredentials = []\nparams = [{ name = \"a\", type = \"string\", location = \"json\", limits = { max_items = 3 } }]\n",
            "x.toml:27:13: endpoints.X.params.a: `max_items` needs a `list<..>` type",
        ),
    ];
    cases.push((
        // A field named like a parameter: the error points at the field, not the parameter.
        "method = \"POST\"\nbody = \"json\"\ncredentials = []\nparams = [{ name = \"a\", type = \"string\", location = \"json\" }]\nfields = [{ name = \"a\", type = \"string\", lenient = true }]\n",
        "x.toml:28:13: endpoints.X.fields.a: `lenient` is for integers",
    ));
    for (endpoint, want) in cases {
        let err = miniapp_spec::parse(Path::new("x.toml"), &spec(endpoint))
            .unwrap_err()
            .to_string();
        assert_eq!(err, want);
    }
    // A credential in a header is said with `location = "header"`, whatever the body.
    let ok = miniapp_spec::parse(
        Path::new("x.toml"),
        &spec("method = \"POST\"\nbody = \"json\"\ncredentials = [{ name = \"access-token\", kind = \"authorizer_access_token\", location = \"header\" }]\n"),
    )
    .unwrap();
    let cred = &ok.endpoints[1].credentials[0];
    assert_eq!(
        (cred.name.as_str(), cred.location),
        ("access-token", miniapp_spec::Location::Header)
    );
}

/// The coverage: 1 WeChat + 18 Baidu + 3 Kuaishou endpoints and 6 Baidu event families from the
/// seed documents, plus the token endpoints of `shared/vendor-auth.md` (5 + 4 + 5) and the
/// WeChat domain endpoints of `shared/vendor-push.md` §4 (6 per app + 2 platform), and the
/// authorization-URL pushes of `shared/vendor-push.md` (WeChat 3 families, Baidu ticket and
/// authorization events, Kuaishou ticket); and the release endpoints of `release-pains.md`:
/// WeChat code management (17 endpoints and the 3 audit result push families,
/// `wechat/code_management.toml`) and the platform's code template library (4,
/// `wechat/code_template.toml`); Baidu's 小程序包管理 (`apppage.md`: 7 endpoints and the package
/// audit push family, `baidu/package.toml`) and 模板列表 (`module.md`: 4, `baidu/template.toml`).
#[test]
fn specs_cover_every_documented_endpoint_and_event() {
    let specs = miniapp_spec::load_dir(&specs_dir()).unwrap();
    let count = |v: miniapp_spec::Vendor| {
        specs
            .iter()
            .filter(|(_, s)| s.vendor == v)
            .map(|(_, s)| (s.endpoints.len(), s.events.len()))
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    };
    assert_eq!(
        count(miniapp_spec::Vendor::new("wechat").unwrap()),
        (1 + 5 + 8 + 17 + 4, 3 + 3)
    );
    assert_eq!(
        count(miniapp_spec::Vendor::new("baidu").unwrap()),
        (18 + 4 + 7 + 4, 6 + 2 + 1)
    );
    assert_eq!(
        count(miniapp_spec::Vendor::new("kuaishou").unwrap()),
        (3 + 5, 1)
    );
    for (path, spec) in &specs {
        for ep in &spec.endpoints {
            assert!(
                !ep.description.is_empty(),
                "{}: {} has no description",
                path.display(),
                ep.name
            );
            for p in ep.params.iter().chain(&ep.fields) {
                assert!(
                    !p.description.is_empty() || p.quirk.is_some(),
                    "{}: {}.{} has no description",
                    path.display(),
                    ep.name,
                    p.name
                );
            }
        }
    }
}

/// Every vendor's `[tokens]` fits its specs, and a flow that does not is refused at its line,
/// saying what to change.
#[test]
fn token_flows_are_checked_against_the_specs() {
    let dir = specs_dir();
    let specs = miniapp_spec::load_dir(&dir).unwrap();
    for vendor in miniapp_spec::load_vendors(&dir).unwrap() {
        let path = dir.join(vendor.vendor.as_str()).join("vendor.toml");
        miniapp_spec::check_token_flow(&path, &vendor, &specs).unwrap();
    }

    let original = std::fs::read_to_string(dir.join("wechat/vendor.toml")).unwrap();
    let scratch = std::env::temp_dir().join(format!("miniapp-spec-flow-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let path = scratch.join("vendor.toml");
    let platform = r#"fill = { component_appid = "platform_app_id", component_appsecret = "platform_secret" }"#;
    let renew = r#"fill = { component_appid = "platform_app_id", authorizer_appid = "app_id" }"#;
    assert!(original.contains(platform) && original.contains(renew));
    let line_of =
        |text: &str, needle: &str| text[..text.find(needle).unwrap()].matches('\n').count() + 1;
    let cases: [(&str, &str, &str, &str); 9] = [
        (
            "[[tokens.renew]]\ncall = \"GetAuthorizerToken\"",
            "[[tokens.renew]]\ncall = \"GetComponentAccessToken\"\n[[tokens.renew]]\ncall = \"GetAuthorizerToken\"",
            "call = \"GetComponentAccessToken\"\n[[",
            "tokens.renew[0]: `GetComponentAccessToken` needs the pushed ticket, which only the platform's call has",
        ),
        (
            "call = \"QueryAuth\"",
            "call = \"GetAuthorizerToken\"",
            "call = \"GetAuthorizerToken\"\nfill = { component_appid = \"platform_app_id\", authorization_code",
            "tokens.exchange: `GetAuthorizerToken` needs a stored refresh token, which only a renewing call has",
        ),
        (
            r#"fill = { component_appid = "platform_app_id", authorization_code = "authorization_code" }"#,
            r#"fill = { component_appid = "platform_app_id" }"#,
            "\"QueryAuth\"",
            "tokens.exchange: `QueryAuth` needs `authorization_code`: say where its value comes from in `fill`",
        ),
        (
            "call = \"GetComponentAccessToken\"",
            "call = \"GetComponentAccessTokn\"",
            "\"GetComponentAccessTokn\"",
            "tokens.platform: no wechat endpoint is named `GetComponentAccessTokn`",
        ),
        (
            renew,
            r#"fill = { component_appid = "platform_app_id" }"#,
            "\"GetAuthorizerToken\"",
            "tokens.renew[0]: `GetAuthorizerToken` needs `authorizer_appid`: say where its value comes from in `fill`",
        ),
        (
            renew,
            r#"fill = { component_appid = "platform_app_id", authorizer_appid = "app_id", authorizer_refresh_token = "app_id" }"#,
            "\"GetAuthorizerToken\"",
            "tokens.renew[0]: `authorizer_refresh_token` is the token role's parameter; it is filled without being named",
        ),
        (
            platform,
            r#"fill = { component_appid = "app_id", component_appsecret = "platform_secret" }"#,
            "\"GetComponentAccessToken\"",
            "tokens.platform: `component_appid` cannot take `AppId` (an app id fills a text parameter, `app_id` not the platform's call; the secret a secret parameter, not in `exchange`; the authorization code only in `exchange`)",
        ),
        (
            renew,
            r#"fill = { component_appid = "platform_app_id", authorizer_appid = { previous = "authorizer_appid" } }"#,
            "\"GetAuthorizerToken\"",
            "tokens.renew[0]: `authorizer_appid` takes the previous call's answer, but `GetAuthorizerToken` is the first call",
        ),
        (
            "call = \"GetAuthorizerToken\"",
            "call = \"QueryAuth\"\nfill = { component_appid = \"platform_app_id\", authorization_code = \"app_id\" }\n[[tokens.renew]]\ncall = \"GetAuthorizerToken\"",
            "\"QueryAuth\"",
            "tokens.renew[0]: `authorization_code` cannot take `AppId` (an app id fills a text parameter, `app_id` not the platform's call; the secret a secret parameter, not in `exchange`; the authorization code only in `exchange`)",
        ),
    ];
    for (from, to, at, want) in cases {
        let text = original.replacen(from, to, 1);
        assert_ne!(text, original);
        std::fs::write(&path, &text).unwrap();
        let vendor = miniapp_spec::parse_vendor(&path, &text).unwrap();
        let err = miniapp_spec::check_token_flow(&path, &vendor, &specs)
            .unwrap_err()
            .to_string();
        let line = line_of(&text, at);
        assert!(
            err.starts_with(&format!("{}:{line}:", path.display())),
            "{err} (expected at line {line})"
        );
        assert!(err.ends_with(want), "{err}\nwanted: {want}");
    }
    std::fs::remove_dir_all(&scratch).unwrap();
}

/// A spec in another vendor's folder is refused at its `vendor` line.
#[test]
fn a_spec_lives_in_its_vendors_folder() {
    let scratch = std::env::temp_dir().join(format!("miniapp-spec-folder-{}", std::process::id()));
    std::fs::create_dir_all(scratch.join("wechat")).unwrap();
    std::fs::write(
        scratch.join("wechat/m.toml"),
        "vendor = \"baidu\"\nmodule = \"m\"\n[source]\ndocument = \"d\"\ntitle = \"t\"\n",
    )
    .unwrap();
    let err = miniapp_spec::load_dir(&scratch).unwrap_err().to_string();
    assert!(
        err.ends_with("m.toml:1:1: vendor: `baidu` in the folder of `wechat`: a spec lives in its vendor's folder"),
        "{err}"
    );
    std::fs::remove_dir_all(&scratch).unwrap();
}

/// `[authorization]` is checked against the pre-auth call's spec, at its line.
#[test]
fn the_authorization_page_is_checked() {
    let dir = specs_dir();
    let specs = miniapp_spec::load_dir(&dir).unwrap();
    let original = std::fs::read_to_string(dir.join("wechat/vendor.toml")).unwrap();
    let scratch = std::env::temp_dir().join(format!("miniapp-spec-page-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let path = scratch.join("vendor.toml");
    let cases = [
        (
            "pre_auth = { call = \"CreatePreauthCode\", fill = { component_appid = \"platform_app_id\" } }",
            "pre_auth = { call = \"CreatePreauthCode\" }",
            "`CreatePreauthCode` needs `component_appid`: say where its value comes from in `fill`",
        ),
        (
            "  { name = \"redirect_uri\", from = \"redirect_uri\" },\n",
            "",
            "the query does not send `RedirectUri`",
        ),
        (
            "enum = \"AuthType\"",
            "enum = \"AuthKind\"",
            "`auth_type`: `enum = \"AuthKind\"` names no enum of component_auth (or the parameter has a `from`)",
        ),
        (
            "pre_auth_code = \"pre_auth_code\"",
            "pre_auth_code = \"code\"",
            "`CreatePreauthCode` answers no required text `code`",
        ),
        (
            "{ name = \"biz_appid\", optional = true",
            "{ name = \"type\", optional = true",
            "`type` cannot name an argument of `link` (a lowercase Rust name, not a keyword nor one of client, tokens, redirect_uri, url, code, request, answer, component, self): set `rust_name`",
        ),
        (
            "{ name = \"biz_appid\", optional = true",
            "{ name = \"auth_type\", optional = true",
            "`auth_type` is in the query twice",
        ),
    ];
    for (from, to, want) in cases {
        let text = original.replacen(from, to, 1);
        assert_ne!(text, original, "{from}");
        std::fs::write(&path, &text).unwrap();
        let vendor = miniapp_spec::parse_vendor(&path, &text).unwrap();
        let err = miniapp_spec::check_token_flow(&path, &vendor, &specs)
            .unwrap_err()
            .to_string();
        let line = text[..text.find("[authorization]").unwrap()]
            .matches('\n')
            .count()
            + 1;
        assert_eq!(
            err,
            format!("{}:{line}:1: authorization: {want}", path.display())
        );
    }
    std::fs::remove_dir_all(&scratch).unwrap();
}

/// `[sandbox]` shapes that would issue equal tokens, or name unknown placeholders, are refused.
#[test]
fn sandbox_shapes_are_checked() {
    let dir = specs_dir();
    let path = dir.join("kuaishou/vendor.toml");
    let original = std::fs::read_to_string(&path).unwrap();
    for (from, to, want) in [
        (
            "token_format = \"ks-{role}-{n}-{hex}\"",
            "token_format = \"ks-{role}-{hex}\"",
            "sandbox.token_format: use `{n}` (a counter, so every token is unique) and only `{role}`, `{n}`, `{hex}`",
        ),
        (
            "token_format = \"ks-{role}-{n}-{hex}\"",
            "token_format = \"ks-{rol}-{n}\"",
            "sandbox.token_format: use `{n}` (a counter, so every token is unique) and only `{role}`, `{n}`, `{hex}`",
        ),
        (
            "ticket_format = \"sandbox-ticket-{hex}\"",
            "ticket_format = \"sandbox-ticket\"",
            "sandbox.ticket_format: use `{hex}` (16 random hex digits) and no other placeholder",
        ),
    ] {
        let text = original.replacen(from, to, 1);
        assert_ne!(text, original, "{from}");
        let err = miniapp_spec::parse_vendor(&path, &text).unwrap_err().to_string();
        assert!(err.ends_with(want), "{err}");
    }
}

/// A format is named once, in `miniapp_rules::Format`: an unknown name is refused at its line
/// with every allowed name and its rule, and every name a spec may use reads back.
#[test]
fn an_unknown_format_names_the_allowed_ones() {
    let spec = |format: &str| {
        format!(
            "vendor = \"kuaishou\"\nmodule = \"m\"\n[source]\ndocument = \"d\"\ntitle = \"t\"\n\n\
             [[endpoints]]\nname = \"X\"\nfn_name = \"x\"\ntitle = \"x\"\ndescription = \"\"\nbase_url = \"https://x\"\n\
             path = \"/x\"\nmethod = \"POST\"\nbody = \"json\"\ncredentials = []\n\
             params = [{{ name = \"a\", type = \"string\", location = \"json\", limits = {{ format = \"{format}\" }} }}]\n"
        )
    };
    let err = miniapp_spec::parse(Path::new("x.toml"), &spec("https_origin"))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("x.toml:17:"), "{err}");
    assert!(err.contains("unknown format `https_origin`"), "{err}");
    for format in miniapp_rules::Format::ALL {
        assert!(
            err.contains(&format!("`{}` ({})", format.name(), format.rule())),
            "{err}"
        );
        let parsed = miniapp_spec::parse(Path::new("x.toml"), &spec(format.name())).unwrap();
        assert_eq!(
            parsed.endpoints[0].params[0].limits.format,
            Some(format),
            "{}",
            format.name()
        );
    }
}

/// Every vendor's `[sandbox.pushes]` names documented event kinds and their fields; a kind no
/// `[[events]]` documents, or a member the event does not have, is refused at its line with
/// what is known.
#[test]
fn sandbox_pushes_are_checked_against_the_events() {
    let dir = specs_dir();
    let specs = miniapp_spec::load_dir(&dir).unwrap();
    for vendor in miniapp_spec::load_vendors(&dir).unwrap() {
        let path = dir.join(vendor.vendor.as_str()).join("vendor.toml");
        miniapp_spec::check_sandbox_pushes(&path, &vendor, &specs).unwrap();
    }
    let original = std::fs::read_to_string(dir.join("wechat/vendor.toml")).unwrap();
    let scratch = std::env::temp_dir().join(format!("miniapp-spec-pushes-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let path = scratch.join("vendor.toml");
    for (from, to, wanted) in [
        (
            "kind = \"weapp_audit_fail\"",
            "kind = \"weapp_audit_failed\"",
            "`weapp_audit_failed` is not a kind of any `[[events]]` of the wechat specs; known: ",
        ),
        (
            "Reason = \"reason\"",
            "Reasons = \"reason\"",
            "`Reasons` is not a field of the event `AuditFail` (weapp_audit_fail); its fields: ",
        ),
    ] {
        assert!(original.contains(from), "{from}");
        let text = original.replace(from, to);
        std::fs::write(&path, &text).unwrap();
        let vendor = miniapp_spec::load_vendor(&path).unwrap();
        let err = miniapp_spec::check_sandbox_pushes(&path, &vendor, &specs).unwrap_err();
        let message = err.to_string();
        assert!(message.contains(wanted), "{message}");
        let line = text[..text.find(to).unwrap()].matches('\n').count() + 1;
        assert!(
            message.contains(&format!("vendor.toml:{line}:")),
            "at line {line}: {message}"
        );
    }
    std::fs::remove_dir_all(&scratch).unwrap();
}
