//! Baidu push events: every example of the document decodes into its typed event, quirks
//! included (leading spaces, markdown backslashes, `reson`); unknown events are kept; no body
//! makes the decoder panic.

use std::path::Path;

use baidu_smartapp_api::basic_info::*;
use baidu_smartapp_api::parse_event;

#[test]
fn status_change_with_force_offline_details() {
    let body = r#"{"appId":15263713,"tpAppId":14242323,"eventTime":"2019-01-14 12:45:10","event":"APP_FORCE_OFFLINE","reason":"强制下线原因","offlineReason":3,"illegalFields":"appName,photoAddr,appDesc"}"#.as_bytes();
    let Event::AppStatusChange(e) = parse_event(body).unwrap() else {
        panic!()
    };
    assert_eq!(e.event, AppStatusChangeKind::AppForceOffline);
    assert_eq!((e.app_id, e.tp_app_id), (Some(15263713), Some(14242323)));
    assert_eq!(e.event_time.as_deref(), Some("2019-01-14 12:45:10"));
    assert_eq!(e.offline_reason, Some(3));
    assert_eq!(
        e.illegal_fields,
        Some(vec!["appName".into(), "photoAddr".into(), "appDesc".into()])
    );
}

#[test]
fn quirks_of_the_examples_are_accepted() {
    // Leading space in the event name, `reson`, ids as strings.
    let body = r#"{"appId":"15263713","examineId":15237,"tpAppId":"14242323","eventTime":"2019-01-14 12:45:10","event":" BASE_INFO_OFFLINE_AUDIT_FAIL","reson":"审核失败原因"}"#.as_bytes();
    let Event::OfflineUpdateAudit(e) = parse_event(body).unwrap() else {
        panic!()
    };
    assert_eq!(e.event, OfflineUpdateAuditKind::BaseInfoOfflineAuditFail);
    assert_eq!((e.app_id, e.examine_id), (Some(15263713), Some(15237)));
    assert_eq!(e.reason.as_deref(), Some("审核失败原因"));

    // Markdown backslash inside the name.
    let body = br#"{"appId":15263713,"tpAppId":14242323,"eventTime":"2019-01-14 12:45:10","event":"APPLY_APP\\_MOBILE_AUTH_PASS"}"#;
    let Event::MobileAuthAudit(e) = parse_event(body).unwrap() else {
        panic!()
    };
    assert_eq!(e.event, MobileAuthAuditKind::ApplyAppMobileAuthPass);

    let body =
        br#"{"appId":1,"tpAppId":2,"eventTime":"t","event":"FLOW_CLOSE_AUDIT_FAIL","reson":"r"}"#;
    let Event::FlowRecoveryAudit(e) = parse_event(body).unwrap() else {
        panic!()
    };
    assert_eq!(
        (e.event, e.reason.as_deref()),
        (FlowRecoveryAuditKind::FlowCloseAuditFail, Some("r"))
    );

    let body = r#"{"appId":1,"tpAppId":2,"eventTime":"t","event":"APP_MOBILE_AUTH_CANCEL","reason":"主体信息变更"}"#.as_bytes();
    assert!(matches!(
        parse_event(body).unwrap(),
        Event::MobileAuthCancel(_)
    ));

    let body = br#"{"appId":1,"tpAppId":2,"eventTime":"t","event":"APP_CATEGORY_AUDIT_FAIL","reason":"x"}"#;
    let Event::BaseInfoAudit(e) = parse_event(body).unwrap() else {
        panic!()
    };
    assert_eq!(e.event, BaseInfoAuditKind::AppCategoryAuditFail);
}

#[test]
fn every_example_in_the_spec_decodes_to_its_family() {
    let specs =
        miniapp_spec::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs")).unwrap();
    let mut n = 0;
    for (_, spec) in specs.iter().filter(|(_, s)| s.vendor.as_str() == "baidu") {
        for family in &spec.events {
            for example in &family.examples {
                // Each document's examples go through that document's generated parser.
                let got = match spec.module.as_str() {
                    "tp_auth" => baidu_smartapp_api::tp_auth::Event::parse(example.as_bytes())
                        .map(|e| format!("{e:?}")),
                    "package" => baidu_smartapp_api::package::Event::parse(example.as_bytes())
                        .map(|e| format!("{e:?}")),
                    _ => parse_event(example.as_bytes()).map(|e| format!("{e:?}")),
                }
                .unwrap_or_else(|e| panic!("{example}: {e}"));
                // The cancel example carries the audit event's name (a document quirk).
                let expected =
                    if family.name == "MobileAuthCancel" && example.contains("MOBILE_AUTH_PASS") {
                        "MobileAuthAudit"
                    } else {
                        family.name.as_str()
                    };
                assert!(got.starts_with(expected), "{example} decoded as {got}");
                n += 1;
            }
        }
    }
    // basic_info 10, tp_auth 2, package 2.
    assert_eq!(n, 10 + 2 + 2, "examples decoded");
}

#[test]
fn unknown_events_are_kept() {
    let body = br#"{"appId":1,"event":"SOMETHING_NEW","extra":{"a":1}}"#;
    let Event::Unknown(u) = parse_event(body).unwrap() else {
        panic!()
    };
    assert_eq!(u.event, "SOMETHING_NEW");
    assert_eq!(u.payload["extra"]["a"], 1);
}

#[test]
fn hostile_bodies_are_errors_not_panics() {
    for body in [
        &b""[..],
        b"null",
        b"[]",
        b"{",
        b"{\"event\":5}",
        b"{\"event\":\"APP_FORCE_OFFLINE\",\"appId\":\"abc\"}",
        b"{\"event\":\"APP_FORCE_OFFLINE\",\"appId\":99999999999999999999999}",
        b"\xff\xfe",
    ] {
        assert!(
            parse_event(body).is_err(),
            "{:?}",
            String::from_utf8_lossy(body)
        );
    }
    let err = parse_event(br#"{"event":"APP_FORCE_OFFLINE","appId":"abc"}"#).unwrap_err();
    assert_eq!(err.path, "appId");
}
