//! Kuaishou's (decrypted) ticket push: typed, the ticket a secret, unknown events kept.

use kuaishou_api::oauth::{ComponentTicketKind, Event};
use kuaishou_api::parse_event;

#[test]
fn the_ticket_push_decodes_and_never_prints_the_ticket() {
    let body = br#"{"componentAppId":"ks_app","componentTicket":"ticket-xyz","event":"COMPONENT_TICKET","eventTime":1700000000000,"expiresIn":"2400"}"#;
    let Event::ComponentTicket(e) = parse_event(body).unwrap() else {
        panic!()
    };
    assert_eq!(e.event, ComponentTicketKind::ComponentTicket);
    assert_eq!(e.component_app_id.as_deref(), Some("ks_app"));
    assert_eq!(
        e.component_ticket.as_ref().map(|t| t.expose()),
        Some("ticket-xyz")
    );
    assert_eq!(
        (e.event_time, e.expires_in),
        (Some(1_700_000_000_000), Some(2400))
    );
    assert!(!format!("{e:?}").contains("ticket-xyz"));
}

#[test]
fn other_events_are_kept_and_bad_bodies_are_errors() {
    let Event::Unknown(u) = parse_event(br#"{"event":"SOMETHING_ELSE","x":1}"#).unwrap() else {
        panic!()
    };
    assert_eq!(u.event, "SOMETHING_ELSE");
    assert!(parse_event(b"{").is_err());
    assert!(parse_event(br#"{"event":"COMPONENT_TICKET","eventTime":"soon"}"#).is_err());
}
