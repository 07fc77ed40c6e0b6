//! Render → parse round trips: random NAT sessions written in every header variant and
//! both body grammars (key order shuffled, labels of each firmware) come back with the
//! fields they were rendered from.

mod support;

use std::net::IpAddr;

use jiff::tz::{Offset, TimeZone};
use nat_ingest::document::{Encoder, EncoderSettings, Received};
use proptest::prelude::*;
use serde_json::Value;
use support::flatten;

/// The listener's zone in these tests.
const LISTENER_OFFSET_HOURS: i8 = 8;

#[derive(Debug, Clone)]
struct Session {
    protocol: &'static str,
    source: (IpAddr, u16),
    destination: (IpAddr, u16),
    source_nat: Option<(IpAddr, u16)>,
    begin: i64,
    duration: i64,
    counters: [u32; 4],
}

#[derive(Debug, Clone, Copy)]
enum Header {
    Date,
    DateWithOffset(i8),
    DateWithOffsetAndDst(i8),
    ShortDate,
    FormatDate,
    FormatDateMillis,
    HostOnly,
    Relay,
}

#[derive(Debug, Clone, Copy)]
enum Body {
    Seclog { spaces: bool },
    ArShortLabels,
    ArLongLabels,
    ArNoLabels,
}

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<std::net::Ipv4Addr>().prop_map(IpAddr::V4),
        any::<std::net::Ipv6Addr>().prop_map(IpAddr::V6)
    ]
}

fn session() -> impl Strategy<Value = Session> {
    (
        prop::sample::select(vec!["tcp", "udp", "icmp"]),
        (ip(), any::<u16>()),
        (ip(), any::<u16>()),
        prop::option::of((ip(), any::<u16>())),
        1_577_836_800i64..1_893_456_000,
        0i64..200_000,
        any::<[u32; 4]>(),
    )
        .prop_map(
            |(protocol, source, destination, source_nat, begin, duration, counters)| Session {
                protocol,
                source,
                destination,
                source_nat,
                begin,
                duration,
                counters,
            },
        )
}

fn header() -> impl Strategy<Value = Header> {
    prop_oneof![
        Just(Header::Date),
        (-12i8..=14).prop_map(Header::DateWithOffset),
        (-12i8..=14).prop_map(Header::DateWithOffsetAndDst),
        Just(Header::ShortDate),
        Just(Header::FormatDate),
        Just(Header::FormatDateMillis),
        Just(Header::HostOnly),
        Just(Header::Relay),
    ]
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        any::<bool>().prop_map(|spaces| Body::Seclog { spaces }),
        Just(Body::ArShortLabels),
        Just(Body::ArLongLabels),
        Just(Body::ArNoLabels),
    ]
}

fn local(seconds: i64, offset_hours: i8, layout: &str) -> String {
    let zone = TimeZone::fixed(Offset::constant(offset_hours));
    jiff::Timestamp::from_second(seconds)
        .unwrap()
        .to_zoned_datetime(zone)
        .strftime(layout)
        .to_string()
}

fn endpoint(ip: IpAddr, port: u16, bracket_v6: bool) -> String {
    match ip {
        IpAddr::V6(v6) if bracket_v6 => format!("[{v6}]:{port}"),
        other => format!("{other}:{port}"),
    }
}

/// The header, and the offset the device's local times are written in.
fn render_header(header: Header, end: i64, sequence: Option<u32>, code: &str) -> (String, i8) {
    let host = "AR1220-LAB";
    let count = sequence.map(|n| format!("[{n}]")).unwrap_or_default();
    let zone = LISTENER_OFFSET_HOURS;
    let (prefix, offset) = match header {
        Header::Date => (local(end, zone, "%b %e %Y %H:%M:%S"), zone),
        Header::DateWithOffset(o) => (
            format!("{}{}", local(end, o, "%b %e %Y %H:%M:%S"), offset_text(o)),
            o,
        ),
        Header::DateWithOffsetAndDst(o) => (
            format!(
                "{}{} DST",
                local(end, o, "%b %e %Y %H:%M:%S"),
                offset_text(o)
            ),
            o,
        ),
        Header::ShortDate => (local(end, zone, "%b %e %H:%M:%S"), zone),
        Header::FormatDate => (local(end, zone, "%Y-%m-%d %H:%M:%S"), zone),
        Header::FormatDateMillis => (local(end, zone, "%Y-%m-%d %H:%M:%S.000"), zone),
        Header::HostOnly => (String::new(), zone),
        Header::Relay => (
            format!(
                "{} relay-1 {}",
                local(end + 1, zone, "%b %e %H:%M:%S"),
                local(end, zone, "%Y-%m-%d %H:%M:%S")
            ),
            zone,
        ),
    };
    let separator = if prefix.is_empty() { "" } else { " " };
    (
        format!("<189>{prefix}{separator}{host} %%01{code}(l){count}:"),
        offset,
    )
}

fn offset_text(hours: i8) -> String {
    format!(
        "{}{:02}:00",
        if hours < 0 { '-' } else { '+' },
        hours.unsigned_abs()
    )
}

fn render_body(session: &Session, body: Body, offset: i8) -> (String, &'static str) {
    let end = session.begin + session.duration;
    let [sp, sb, rp, rb] = session.counters;
    match body {
        Body::Seclog { spaces } => {
            let mut pairs = vec![
                format!("IPVer={}", if session.source.0.is_ipv4() { 4 } else { 6 }),
                format!("Protocol={}", session.protocol),
                format!("SourceIP={}", session.source.0),
                format!("DestinationIP={}", session.destination.0),
                format!("SourcePort={}", session.source.1),
                format!("DestinationPort={}", session.destination.1),
                format!("BeginTime={}", session.begin),
                format!("EndTime={end}"),
                format!("SendPkts={sp}"),
                format!("SendBytes={sb}"),
                format!("RcvPkts={rp}"),
                format!("RcvBytes={rb}"),
                "PolicyName=lab,out".to_string(),
            ];
            if let Some((ip, port)) = session.source_nat {
                pairs.push(format!("SourceNatIP={ip}"));
                pairs.push(format!("SourceNatPort={port}"));
            }
            // A fixed rotation stands in for the firmware's free key order.
            let turn = (session.begin as usize) % pairs.len();
            pairs.rotate_left(turn);
            let joined = pairs.join(if spaces { ", " } else { "," });
            (format!("{joined}."), "SECLOG/6/SESSION_TEARDOWN")
        }
        ar => {
            let nat = session.source_nat.unwrap_or(session.source);
            let values = [
                session.protocol.to_uppercase(),
                "Normal over".to_string(),
                if session.source.0.is_ipv4() { "4" } else { "6" }.to_string(),
                "0".to_string(),
                endpoint(session.source.0, session.source.1, true),
                endpoint(session.destination.0, session.destination.1, true),
                endpoint(nat.0, nat.1, true),
                endpoint(session.destination.0, session.destination.1, true),
                local(session.begin, offset, "%Y/%m/%d %H:%M:%S"),
                local(end, offset, "%Y/%m/%d %H:%M:%S"),
                session.duration.to_string(),
                sp.to_string(),
                sb.to_string(),
                rp.to_string(),
                rb.to_string(),
            ];
            let labels: [&str; 15] = match ar {
                Body::ArShortLabels => [
                    "Protocol:",
                    "Operator:",
                    "IPVer:",
                    "TOS:",
                    "Src:",
                    "Dst:",
                    "SrcNat:",
                    "DstNat:",
                    "Begin:",
                    "End:",
                    "Duration:",
                    "PosPkts:",
                    "PosBytes:",
                    "NegPkts:",
                    "NegBytes:",
                ],
                Body::ArLongLabels => [
                    "Protocol:",
                    "Operator:",
                    "IpVersion:",
                    "TOS:",
                    "SourceIP:",
                    "DestinationIP:",
                    "SourceNatIP:",
                    "DestinationNatIP:",
                    "BeginTime:",
                    "EndTime:",
                    "Duration:",
                    "SendPkts:",
                    "SendBytes:",
                    "RcvPkts:",
                    "RcvBytes:",
                ],
                _ => [""; 15],
            };
            let groups: Vec<String> = labels
                .iter()
                .zip(values)
                .map(|(l, v)| format!("{l}<{v}>"))
                .collect();
            (groups.join(" "), "FW-LOG/5/SESSION_LOG")
        }
    }
}

fn check(
    session: &Session,
    header: Header,
    body: Body,
    sequence: Option<u32>,
) -> Result<(), TestCaseError> {
    let end = session.begin + session.duration;
    let (_, code) = render_body(session, body, 0);
    let (head, offset) = render_header(header, end, sequence, code);
    let (text, _) = render_body(session, body, offset);
    let line = format!("{head}{text}");

    let settings = EncoderSettings::from_options(Some("+08:00"), None, None, true).unwrap();
    let encoder = Encoder::new(settings);
    let received = jiff::Timestamp::from_second(end + 3600).unwrap();
    let mut out = Vec::new();
    let encoded = encoder.encode(
        line.as_bytes(),
        &Received {
            at: received,
            peer: None,
            truncated: false,
            misframed: false,
        },
        &mut out,
    );
    let doc = flatten(&serde_json::from_slice::<Value>(&out).unwrap());
    prop_assert_eq!(
        encoded.failure,
        None,
        "{} -> {:?}",
        line,
        doc.get("error.message")
    );

    let time = |s: i64| jiff::Timestamp::from_second(s).unwrap();
    let field_time = |f: &str| {
        doc.get(f)
            .and_then(Value::as_str)
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
    };
    let expected_timestamp = if matches!(header, Header::HostOnly) {
        received
    } else {
        time(end)
    };
    prop_assert_eq!(
        field_time("@timestamp"),
        Some(expected_timestamp),
        "{}",
        line
    );
    prop_assert_eq!(
        field_time("event.start"),
        Some(time(session.begin)),
        "{}",
        line
    );
    prop_assert_eq!(field_time("event.end"), Some(time(end)), "{}", line);
    prop_assert_eq!(&doc["network.transport"], session.protocol);
    prop_assert_eq!(&doc["source.ip"], &session.source.0.to_string());
    prop_assert_eq!(&doc["source.port"], session.source.1);
    prop_assert_eq!(&doc["destination.ip"], &session.destination.0.to_string());
    prop_assert_eq!(&doc["destination.port"], session.destination.1);
    prop_assert_eq!(
        &doc["event.duration"],
        &Value::from(session.duration * 1_000_000_000)
    );
    prop_assert_eq!(&doc["source.packets"], session.counters[0]);
    prop_assert_eq!(&doc["destination.bytes"], session.counters[3]);
    prop_assert_eq!(
        &doc["network.packets"],
        &Value::from(session.counters[0] as u64 + session.counters[2] as u64)
    );
    prop_assert_eq!(
        doc.get("huawei.sequence").and_then(Value::as_u64),
        sequence.map(u64::from)
    );
    match (session.source_nat, body) {
        (Some((ip, port)), _) => {
            prop_assert_eq!(&doc["source.nat.ip"], &ip.to_string());
            prop_assert_eq!(&doc["source.nat.port"], port);
        }
        (None, Body::Seclog { .. }) => prop_assert!(doc.get("source.nat.ip").is_none()),
        (None, _) => prop_assert_eq!(&doc["source.nat.ip"], &session.source.0.to_string()),
    }
    if let Body::Seclog { .. } = body {
        prop_assert_eq!(&doc["rule.name"], "lab,out");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn rendered_sessions_parse_back(session in session(), header in header(), body in body(), sequence in prop::option::of(any::<u32>())) {
        check(&session, header, body, sequence)?;
    }
}
