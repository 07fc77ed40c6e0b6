//! Whole-line behaviour of the encoder on the variants the format notes list and on
//! hostile input. Each test says which variant or failure it pins.

mod support;

use nat_ingest::document::{Encoded, Encoder, EncoderSettings, Received};
use serde_json::{Map, Value};
use support::flatten;

const RECEIVED: &str = "2025-07-23T02:11:45Z";

fn encoder(keep_original: bool) -> Encoder {
    let settings =
        EncoderSettings::from_options(Some("+08:00"), None, None, keep_original).unwrap();
    Encoder::new(settings)
}

fn encode_with(
    encoder: &Encoder,
    line: &[u8],
    received: Received,
) -> (Map<String, Value>, Encoded, Vec<u8>) {
    let mut out = Vec::new();
    let encoded = encoder.encode(line, &received, &mut out);
    let text = std::str::from_utf8(&out).expect("documents are UTF-8");
    let document: Value = serde_json::from_str(text).expect("documents are JSON");
    (flatten(&document), encoded, out)
}

fn encode(line: &str) -> (Map<String, Value>, Encoded) {
    let received = Received {
        at: RECEIVED.parse().unwrap(),
        peer: None,
        truncated: false,
        misframed: false,
    };
    let (doc, encoded, _) = encode_with(&encoder(true), line.as_bytes(), received);
    (doc, encoded)
}

fn text<'m>(doc: &'m Map<String, Value>, field: &str) -> &'m str {
    doc.get(field)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{field} missing in {doc:?}"))
}

#[test]
fn generic_huawei_log_keeps_component_id_in_message() {
    // E11: unpadded format-date, a second fraction group, flag s, component id.
    let (doc, encoded) = encode("<189>2025-7-23 10:11:16.150.1 AR3260-HQ %%01SHELL/5/CMDRECORD(s)[20442]:CID=0x80ca2713;Recorded command information. (Task=VT0, Ip=192.0.2.10, User=admin, Command=\"display nat session all\")");
    assert_eq!(encoded.failure, None);
    assert_eq!(text(&doc, "event.dataset"), "huawei.log");
    assert_eq!(text(&doc, "@timestamp"), "2025-07-23T02:11:16.150Z");
    assert_eq!(text(&doc, "huawei.flag"), "s");
    assert!(text(&doc, "message").starts_with("CID=0x80ca2713;Recorded"));
    assert_eq!(doc.get("source.ip"), None);
}

#[test]
fn trap_form_is_a_generic_huawei_log() {
    // E12: no %%01, no flag, no count.
    let (doc, encoded) = encode("<188>Jul 23 2025 10:11:12 AR1220-EDGE NAT/4/NAT_PACKET_DISCARD:OID 1.3.6.1.4.1.2011.5.25.226.1.1 Interface 5 had discarded packets, due to lack of mapping space when NAT is out of addresses.");
    assert_eq!(
        (encoded.failure, text(&doc, "event.dataset")),
        (None, "huawei.log")
    );
    assert_eq!(text(&doc, "event.code"), "NAT/4/NAT_PACKET_DISCARD");
    assert_eq!(text(&doc, "observer.hostname"), "AR1220-EDGE");
    assert_eq!(doc.get("huawei.flag"), None);
}

#[test]
fn tenth_second_precision_is_kept() {
    // E13
    let (doc, _) = encode("<189>Jul 23 2025 10:11:12.3 AR1220-EDGE %%01FW-LOG/5/STREAM(l)[1540]:In Last Five Minutes Stream Statistic is :IF-GE0/0/1,STATE-D,IN-1024,OUT-2048.");
    assert_eq!(text(&doc, "@timestamp"), "2025-07-23T02:11:12.3Z");
}

#[test]
fn pri_out_of_range_is_a_syslog_failure_read_no_further() {
    // E26: PRI 192.
    let (doc, encoded) = encode(
        "<192>Jul 23 2025 10:11:23 AR1220-EDGE %%01FW-LOG/5/STREAM(l)[1541]:In Last Five Minutes",
    );
    assert_eq!(encoded.failure, Some("_syslog_parse_failure"));
    assert_eq!(text(&doc, "@timestamp"), RECEIVED);
    assert!(text(&doc, "error.message").contains("byte 1"));
    assert!(text(&doc, "event.original").starts_with("<192>"));
    assert_eq!(doc.get("event.code"), None);
    assert_eq!(doc.get("log.syslog.hostname"), None);
}

#[test]
fn h3c_look_alikes_take_the_generic_path() {
    // E27–E29: H3C Comware, not Huawei.
    for line in [
        "<134> 1 2025 Jul 23 10:11:12 198.51.100.1 F1000-CGN - NAT444:sessionbasedA [6 10.50.0.8 - 203.0.113.44 50000 12000 -]",
        "<190>Jul 23 10:11:12 2025 SecPath-FW %%10SESSION/6/SESSION_IPV4_FLOW:Protocol(1001)=TCP;SrcIPAddr(1003)=10.50.0.8;",
        "%@250006%Jul 23 10:11:12:345 2025 MSR-EDGE USERLOG/7/NAT:ICMP; 10.50.0.8:768--->203.0.113.44:12288;",
    ] {
        let (doc, encoded) = encode(line);
        assert_eq!((encoded.failure, text(&doc, "event.dataset")), (None, "syslog"), "{line}");
        assert_eq!(doc.get("observer.vendor"), None);
    }
}

#[test]
fn february_30th_is_a_syslog_failure() {
    let (doc, encoded) = encode("<13>Feb 30 10:00:00 host app: text");
    assert_eq!(encoded.failure, Some("_syslog_parse_failure"));
    assert!(text(&doc, "error.message").starts_with("@timestamp: no such date"));
    assert_eq!(text(&doc, "@timestamp"), RECEIVED);
}

#[test]
fn rfc5424_with_structured_data() {
    let (doc, encoded) = encode(
        r#"<165>1 2025-07-23T03:37:41.003Z mymachine.example evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application"] An application event log entry"#,
    );
    assert_eq!(encoded.failure, None);
    assert_eq!(text(&doc, "@timestamp"), "2025-07-23T03:37:41.003Z");
    assert_eq!(text(&doc, "log.syslog.msgid"), "ID47");
    assert_eq!(text(&doc, "log.syslog.version"), "1");
    assert_eq!(
        doc["log.syslog.structured_data"]["exampleSDID@32473"]["iut"],
        "3"
    );
    assert_eq!(text(&doc, "log.syslog.severity.name"), "notice");
    assert_eq!(text(&doc, "log.syslog.facility.name"), "local4");
}

#[test]
fn invalid_utf8_nul_and_controls_still_give_valid_json() {
    let line = b"<13>Jul 23 10:00:00 host app: bad \xff\xfe bytes \x00 and \x1b[31m";
    let received = Received {
        at: RECEIVED.parse().unwrap(),
        peer: None,
        truncated: false,
        misframed: false,
    };
    let (doc, _, raw) = encode_with(&encoder(true), line, received);
    let tags: Vec<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(tags.contains(&"_invalid_utf8_replaced"), "{tags:?}");
    assert!(text(&doc, "message").contains('\u{FFFD}'));
    assert!(text(&doc, "message").contains('\0'));
    assert!(std::str::from_utf8(&raw).is_ok());
}

#[test]
fn a_ten_megabyte_line_is_one_document() {
    let mut line = b"<13>Jul 23 10:00:00 host app: ".to_vec();
    line.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
    let received = Received {
        at: RECEIVED.parse().unwrap(),
        peer: None,
        truncated: false,
        misframed: false,
    };
    let (doc, _, _) = encode_with(&encoder(true), &line, received);
    assert_eq!(text(&doc, "message").len(), 10 * 1024 * 1024);
}

#[test]
fn misframed_frames_are_tagged() {
    let received = Received {
        at: RECEIVED.parse().unwrap(),
        peer: None,
        truncated: false,
        misframed: true,
    };
    let (doc, _, _) = encode_with(
        &encoder(true),
        b"<13>Jul 23 10:00:00 host app: read up to its LF",
        received,
    );
    assert_eq!(
        doc["tags"],
        serde_json::json!(["_frame_octet_count_invalid"])
    );
    assert_eq!(doc["message"], "read up to its LF");
}

#[test]
fn truncated_frames_are_tagged() {
    let received = Received {
        at: RECEIVED.parse().unwrap(),
        peer: None,
        truncated: true,
        misframed: false,
    };
    let (doc, encoded, _) = encode_with(
        &encoder(true),
        b"<13>Jul 23 10:00:00 host app: cut her",
        received,
    );
    assert_eq!(doc["tags"], serde_json::json!(["_frame_truncated"]));
    assert_eq!(encoded.failure, None);
}

#[test]
fn peer_address_is_the_observer_unless_the_header_names_one() {
    let peer = Some("192.0.2.77".parse().unwrap());
    let received = Received {
        at: RECEIVED.parse().unwrap(),
        peer,
        truncated: false,
        misframed: false,
    };
    let (doc, _, _) = encode_with(&encoder(true), b"<13>Jul 23 10:00:00 host app: x", received);
    assert_eq!(text(&doc, "observer.ip"), "192.0.2.77");
    let line = b"<189>Jul 23 2025 10:11:12 AR1220-EDGE 10.255.0.1 %%01SHELL/5/X(l):y";
    let (doc, _, _) = encode_with(&encoder(true), line, received);
    assert_eq!(text(&doc, "observer.ip"), "10.255.0.1");
}

#[test]
fn original_can_be_left_out_but_failures_always_keep_it() {
    let received = Received {
        at: RECEIVED.parse().unwrap(),
        peer: None,
        truncated: false,
        misframed: false,
    };
    let quiet = encoder(false);
    let (doc, _, _) = encode_with(&quiet, b"<13>Jul 23 10:00:00 host app: fine", received);
    assert_eq!(doc.get("event.original"), None);
    let (doc, _, _) = encode_with(&quiet, b"<999>broken", received);
    assert_eq!(text(&doc, "event.original"), "<999>broken");
}

#[test]
fn line_endings_are_not_part_of_the_document() {
    let (doc, _) = encode("<13>Jul 23 10:00:00 host app: text\r\n\0\0");
    assert_eq!(text(&doc, "message"), "text");
    assert_eq!(
        text(&doc, "event.original"),
        "<13>Jul 23 10:00:00 host app: text"
    );
}

#[test]
fn a_repeated_seclog_key_keeps_its_first_value() {
    let (doc, _) = encode("<190>2025-07-23 10:11:20 FW %%01SECLOG/6/SESSION_BUILT(l):IPVer=4,Protocol=udp,SourceIP=10.1.1.1,SourceIP=10.9.9.9,DestinationIP=10.1.1.2,SourcePort=1,DestinationPort=2,BeginTime=1753236680.");
    assert_eq!(text(&doc, "source.ip"), "10.1.1.1");
}

#[test]
fn year_less_times_take_their_year_from_the_reference() {
    let settings =
        EncoderSettings::from_options(Some("UTC"), Some("2026-01-01T00:00:10Z"), None, true)
            .unwrap();
    let received = Received {
        at: "2030-06-01T00:00:00Z".parse().unwrap(),
        peer: None,
        truncated: false,
        misframed: false,
    };
    let (doc, _, _) = encode_with(
        &Encoder::new(settings),
        b"<13>Dec 31 23:59:59 host app: x",
        received,
    );
    assert_eq!(text(&doc, "@timestamp"), "2025-12-31T23:59:59Z");
    assert_eq!(text(&doc, "event.created"), "2030-06-01T00:00:00Z");
}
