//! The Huawei VRP information-centre header.
//!
//! ```text
//! <PRI>[RELAY ]TIMESTAMP[OFFSET][ DST] HOSTNAME[ IPv4] [%%: ]%%ddMODULE/SEV/BRIEF(F)[N]:[CID;]BODY
//! ```
//!
//! The anchor is `%%` and two digits: everything before it is the device header,
//! everything after it the message code and body. Reading the device header from the
//! anchor's side would be simpler, but host names may contain spaces, so it is read
//! from the front: a timestamp of any form (possibly twice, when a relay's RFC 3164
//! header stands in front of the device's), then `DST`, then the host name up to an
//! optional trailing IPv4. `%%10` is H3C Comware and is left to the generic parsers.
//!
//! Without the anchor, only the trap form is Huawei: an optional timestamp, exactly one
//! host token, an optional IPv4, then `MODULE/SEVERITY/BRIEF:`.

use std::net::Ipv4Addr;

use super::timestamp::Layout;
use super::{offset_in, split_token, stamp_at_boundary, trim_start_spaces, Huawei, Message, Stamp};
use crate::scan;

/// Longest component id (`VS=0-CID=0x807a0001;`) looked for before the body.
const MAX_COMPONENT_BYTES: usize = 64;

/// Parses `rest` (the line after PRI) as a Huawei message, or returns `None`.
pub fn parse<'a>(line: &'a [u8], rest: &'a [u8], priority: Option<u8>) -> Option<Message<'a>> {
    match find_anchor(rest) {
        Some(anchor) => {
            let prefix = &rest[..anchor];
            let (code, body) = message_code(&rest[anchor + 4..], true)?;
            let header = device_header(prefix)?;
            Some(assemble(line, priority, header, code, body))
        }
        None => {
            let (header, code, body) = trap_form(rest)?;
            Some(assemble(line, priority, header, code, body))
        }
    }
}

/// What the device header before the message code holds.
#[derive(Debug, Default)]
struct DeviceHeader<'a> {
    stamp: Option<(Stamp, &'a [u8])>,
    hostname: Option<&'a [u8]>,
    ip: Option<Ipv4Addr>,
}

/// The code part: `MODULE/SEVERITY/BRIEF(flag)[count]`.
#[derive(Debug)]
struct Code<'a> {
    code: &'a [u8],
    module: &'a [u8],
    severity: u8,
    brief: &'a [u8],
    flag: Option<u8>,
    sequence: Option<u64>,
}

fn assemble<'a>(
    line: &'a [u8],
    priority: Option<u8>,
    header: DeviceHeader<'a>,
    code: Code<'a>,
    body: &'a [u8],
) -> Message<'a> {
    let grammar_body = skip_component_id(body);
    Message {
        priority,
        stamp: header.stamp.map(|(stamp, _)| stamp),
        stamp_offset: header.stamp.map_or(0, |(_, at)| offset_in(line, at)),
        hostname: header.hostname,
        huawei: Some(Huawei {
            code: code.code,
            module: code.module,
            severity: code.severity,
            brief: code.brief,
            flag: code.flag,
            sequence: code.sequence,
            ip: header.ip,
            grammar_body,
            grammar_body_offset: offset_in(line, grammar_body),
        }),
        body,
        body_offset: offset_in(line, body),
        ..Message::default()
    }
}

/// Position of `%%dd` (two digits, not H3C's `10`), looking at `%%` pairs left to
/// right without overlap. A search for single `%` bytes: a two-byte `memmem` searcher
/// costs more to set up than this whole scan, and so does `memchr` over the few dozen
/// bytes of a header.
fn find_anchor(rest: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = scan::find(&rest[from..], b'%') {
        let at = from + i;
        if rest.get(at + 1) != Some(&b'%') {
            from = at + 1;
            continue;
        }
        match rest.get(at + 2..at + 4) {
            Some(b"10") => return None,
            Some([a, b]) if a.is_ascii_digit() && b.is_ascii_digit() => return Some(at),
            _ => from = at + 2,
        }
    }
    None
}

/// Bytes of a MODULE: upper-case letters, digits, `_` and `-`. Tables, so that
/// each byte costs one load instead of a chain of range checks.
static MODULE_BYTES: [bool; 256] = ascii_class(false, b"_-");

/// Bytes of a BRIEF: letters, digits and `_`.
static BRIEF_BYTES: [bool; 256] = ascii_class(true, b"_");

/// Upper-case letters, digits, lower-case letters when `lower`, and `extra`.
const fn ascii_class(lower: bool, extra: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        table[b] =
            c.is_ascii_uppercase() || c.is_ascii_digit() || (lower && c.is_ascii_lowercase());
        b += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        table[extra[i] as usize] = true;
        i += 1;
    }
    table
}

/// `MODULE/SEVERITY/BRIEF`, then (anchored form) `(flag)[count]`, then `:` and at most
/// one space. Returns the code and the body.
fn message_code(input: &[u8], anchored: bool) -> Option<(Code<'_>, &[u8])> {
    let module_len = input
        .iter()
        .take_while(|b| MODULE_BYTES[**b as usize])
        .count();
    if module_len == 0 || input.get(module_len) != Some(&b'/') {
        return None;
    }
    let severity = *input.get(module_len + 1)?;
    if !(b'0'..=b'7').contains(&severity) || input.get(module_len + 2) != Some(&b'/') {
        return None;
    }
    let brief_start = module_len + 3;
    let brief_len = input[brief_start..]
        .iter()
        .take_while(|b| BRIEF_BYTES[**b as usize])
        .count();
    if brief_len == 0 {
        return None;
    }
    let code_end = brief_start + brief_len;
    let mut at = code_end;

    let mut flag = None;
    if anchored {
        if let [b'(', letter, b')', ..] = &input[at..] {
            flag = Some(*letter);
            at += 3;
        }
    }
    let mut sequence = None;
    if anchored && input.get(at) == Some(&b'[') {
        let digits = input[at + 1..]
            .iter()
            .take(20)
            .take_while(|b| b.is_ascii_digit())
            .count();
        if (1..=19).contains(&digits) && input.get(at + 1 + digits) == Some(&b']') {
            // At most 19 digits: the fold cannot overflow a u64.
            let number = input[at + 1..at + 1 + digits]
                .iter()
                .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
            sequence = Some(number);
            at += digits + 2;
        }
    }
    if input.get(at) != Some(&b':') {
        return None;
    }
    at += 1;
    if input.get(at) == Some(&b' ') {
        at += 1;
    }

    let code = Code {
        code: &input[..code_end],
        module: &input[..module_len],
        severity: severity - b'0',
        brief: &input[brief_start..code_end],
        flag,
        sequence,
    };
    Some((code, &input[at..]))
}

/// `[RELAY ]TIMESTAMP[OFFSET][ DST] HOSTNAME[ IPv4] [%%: ]`, everything before `%%dd`.
fn device_header(prefix: &[u8]) -> Option<DeviceHeader<'_>> {
    let mut header = DeviceHeader::default();
    let mut rest = trim_start_spaces(prefix);

    if let Some((stamp, after)) = stamp_at_boundary(rest) {
        header.stamp = Some((stamp, rest));
        rest = after;
        // A relay's RFC 3164 header: timestamp, one host token, then the device's own.
        if stamp.layout == Layout::ShortDate {
            let (_relay_host, after_host) = split_token(trim_start_spaces(rest));
            let device = trim_start_spaces(after_host);
            if let Some((device_stamp, after_device)) = stamp_at_boundary(device) {
                header.stamp = Some((device_stamp, device));
                rest = after_device;
            }
        }
        rest = trim_start_spaces(rest);
        if rest == b"DST" || rest.starts_with(b"DST ") {
            rest = &rest[3..];
        }
    }

    let mut hosts = trim_end_spaces(trim_start_spaces(rest));
    if hosts.ends_with(b"%%:") && (hosts.len() == 3 || hosts[hosts.len() - 4] == b' ') {
        hosts = trim_end_spaces(&hosts[..hosts.len() - 3]);
    }
    if let Some(space) = scan::rfind(hosts, b' ') {
        if let Some(ip) = parse_ipv4(&hosts[space + 1..]) {
            header.ip = Some(ip);
            hosts = trim_end_spaces(&hosts[..space]);
        }
    }
    header.hostname = (!hosts.is_empty()).then_some(hosts);
    Some(header)
}

/// `[TIMESTAMP ]HOST[ IPv4] MODULE/SEVERITY/BRIEF:BODY`, with nothing else before the code.
fn trap_form(rest: &[u8]) -> Option<(DeviceHeader<'_>, Code<'_>, &[u8])> {
    let mut header = DeviceHeader::default();
    let mut rest = trim_start_spaces(rest);
    if let Some((stamp, after)) = stamp_at_boundary(rest) {
        header.stamp = Some((stamp, rest));
        rest = trim_start_spaces(after);
        if rest.starts_with(b"DST ") {
            rest = trim_start_spaces(&rest[4..]);
        }
    }

    let (host, after_host) = split_token(rest);
    if host.is_empty() || after_host.is_empty() {
        return None;
    }
    header.hostname = Some(host);
    let after_host = trim_start_spaces(after_host);
    if let Some((code, body)) = message_code(after_host, false) {
        return Some((header, code, body));
    }
    let (ip_token, after_ip) = split_token(after_host);
    header.ip = Some(parse_ipv4(ip_token)?);
    let (code, body) = message_code(trim_start_spaces(after_ip), false)?;
    Some((header, code, body))
}

/// Skips a component id such as `slot=1;` or `VS=0-CID=0x807a0001;` before the body.
fn skip_component_id(body: &[u8]) -> &[u8] {
    let window = &body[..body.len().min(MAX_COMPONENT_BYTES)];
    let Some(semicolon) = scan::find(window, b';') else {
        return body;
    };
    let id = &window[..semicolon];
    let well_formed = !id.is_empty()
        && id.contains(&b'=')
        && id[0].is_ascii_alphabetic()
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'-' | b'_' | b'.'));
    if well_formed {
        &body[semicolon + 1..]
    } else {
        body
    }
}

fn trim_end_spaces(input: &[u8]) -> &[u8] {
    let n = input.iter().rev().take_while(|b| **b == b' ').count();
    &input[..input.len() - n]
}

fn parse_ipv4(token: &[u8]) -> Option<Ipv4Addr> {
    if token.len() < 7 || token.len() > 15 {
        return None;
    }
    std::str::from_utf8(token).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::super::parse as parse_line;
    use super::*;

    /// The anchor search as first written, over `memmem`'s non-overlapping matches.
    fn find_anchor_reference(rest: &[u8]) -> Option<usize> {
        for at in memchr::memmem::find_iter(rest, b"%%") {
            match rest.get(at + 2..at + 4) {
                Some(b"10") => return None,
                Some([a, b]) if a.is_ascii_digit() && b.is_ascii_digit() => return Some(at),
                _ => continue,
            }
        }
        None
    }

    proptest::proptest! {
        #[test]
        fn anchor_search_agrees_with_memmem(text in "[%01a ]{0,24}") {
            proptest::prop_assert_eq!(
                find_anchor(text.as_bytes()),
                find_anchor_reference(text.as_bytes())
            );
        }
    }

    #[test]
    fn sequence_of_nineteen_digits_is_read_and_twenty_is_not() {
        let (code, _) =
            message_code(b"FW-LOG/5/SESSION_LOG(l)[9999999999999999999]:x", true).expect("a code");
        assert_eq!(code.sequence, Some(9_999_999_999_999_999_999));
        let (code, _) = message_code(b"FW-LOG/5/SESSION_LOG(l)[0042]:x", true).expect("a code");
        assert_eq!(code.sequence, Some(42));
        assert!(message_code(b"FW-LOG/5/SESSION_LOG(l)[99999999999999999999]:x", true).is_none());
    }

    #[test]
    fn anchor_pairs_do_not_overlap() {
        assert_eq!(find_anchor(b"x %%%01"), find_anchor_reference(b"x %%%01"));
        assert_eq!(find_anchor(b"%%x%%01FW"), Some(3));
        assert_eq!(find_anchor(b"%%10 %%01"), None);
    }

    fn huawei(line: &str) -> (Message<'_>, Huawei<'_>) {
        let message = parse_line(line.as_bytes()).unwrap();
        let huawei = message.huawei.expect("a Huawei message");
        (message, huawei)
    }

    fn text(bytes: Option<&[u8]>) -> Option<&str> {
        bytes.map(|b| std::str::from_utf8(b).unwrap())
    }

    #[test]
    fn date_form_with_count_and_flag() {
        let (m, h) = huawei("<189>Jul 23 2025 10:11:12 AR1220-EDGE %%01FW-LOG/5/SESSION_LOG(l)[1532]:Protocol:<TCP>");
        assert_eq!(m.priority, Some(189));
        assert_eq!(text(m.hostname), Some("AR1220-EDGE"));
        assert_eq!(
            (h.code, h.module, h.brief),
            (
                &b"FW-LOG/5/SESSION_LOG"[..],
                &b"FW-LOG"[..],
                &b"SESSION_LOG"[..]
            )
        );
        assert_eq!(
            (h.flag, h.sequence, h.severity),
            (Some(b'l'), Some(1532), 5)
        );
        assert_eq!(m.body, b"Protocol:<TCP>");
        assert_eq!(m.stamp.unwrap().layout, Layout::Date);
    }

    #[test]
    fn offset_dst_and_header_ipv4() {
        let (m, h) = huawei("<189>Mar 30 2025 03:30:05+02:00 DST br-ar2220-01 10.255.0.1 %%01FW-LOG/5/SESSION_LOG(l)[88]:x");
        assert_eq!(text(m.hostname), Some("br-ar2220-01"));
        assert_eq!(h.ip, Some(Ipv4Addr::new(10, 255, 0, 1)));
        assert_eq!(m.stamp.unwrap().time.unwrap().offset_seconds, Some(7200));
    }

    #[test]
    fn lone_ipv4_token_is_the_host_name() {
        let (m, h) = huawei("<189>Jul 23 2025 10:11:12 10.1.1.1 %%01SHELL/5/CMDRECORD(s):x");
        assert_eq!(text(m.hostname), Some("10.1.1.1"));
        assert_eq!(h.ip, None);
    }

    #[test]
    fn usg_host_name_and_none_headers() {
        let (m, _) = huawei("<190>USG6525E-FW1 %%: %%01SECLOG/6/SESSION_BUILT(l):IPVer=4");
        assert_eq!((text(m.hostname), m.stamp), (Some("USG6525E-FW1"), None));
        let (m, h) = huawei("<190>%%: %%01SECLOG/6/SESSION_BUILT(l):IPVer=4");
        assert_eq!((m.hostname, m.stamp, h.sequence), (None, None, None));
        assert_eq!(m.body, b"IPVer=4");
    }

    #[test]
    fn utc_form_with_space_after_pri_and_space_after_colon() {
        let (m, _) = huawei("<190> 2025-07-23 02:11:30 USG6525E-FW1 %%01SECLOG/6/SESSION_BUILT(l): Built an udp session.");
        assert_eq!(m.stamp.unwrap().layout, Layout::FormatDate);
        assert_eq!(m.body, b"Built an udp session.");
    }

    #[test]
    fn relay_prefix_gives_way_to_the_device_header() {
        let (m, _) = huawei("<190>Jul 23 10:11:41 10.0.0.1 2025-07-23 10:11:40 FW-OUT-01 %%01SECLOG/6/SESSION_TEARDOWN(l):IPVer=4");
        assert_eq!(text(m.hostname), Some("FW-OUT-01"));
        let t = m.stamp.unwrap().time.unwrap();
        assert_eq!((t.year, t.second), (Some(2025), 40));
        assert_eq!(m.stamp_offset, 30);
    }

    #[test]
    fn component_id_is_skipped_for_the_grammar_only() {
        let (m, h) = huawei("<189>2025-7-23 10:11:16.150.1 AR3260-HQ %%01SHELL/5/CMDRECORD(s)[20442]:CID=0x80ca2713;Recorded command.");
        assert_eq!(m.body, b"CID=0x80ca2713;Recorded command.");
        assert_eq!(h.grammar_body, b"Recorded command.");
    }

    #[test]
    fn trap_form_without_anchor() {
        let (m, h) = huawei("<188>Jul 23 2025 10:11:12 AR1220-EDGE NAT/4/NAT_PACKET_DISCARD:OID 1.3.6.1.4.1.2011.5.25.226.1.1 Interface 5");
        assert_eq!(h.code, b"NAT/4/NAT_PACKET_DISCARD");
        assert_eq!(text(m.hostname), Some("AR1220-EDGE"));
        assert_eq!((h.flag, h.sequence), (None, None));
        assert!(m.body.starts_with(b"OID 1.3.6"));
    }

    #[test]
    fn look_alikes_are_not_huawei() {
        for line in [
            "<190>Jul 23 10:11:12 2025 SecPath-FW %%10SESSION/6/SESSION_IPV4_FLOW:Protocol(1001)=TCP;",
            "<38>Jul 23 11:56:28 web01 sshd[1234]: Accepted password for root",
            "%@250006%Jul 23 10:11:12:345 2025 MSR-EDGE USERLOG/7/NAT:ICMP; 10.50.0.8:768",
            "<189>Jul 23 2025 10:11:12 two words NAT/4/X:body",
        ] {
            let m = parse_line(line.as_bytes()).unwrap();
            assert!(m.huawei.is_none(), "{line}");
        }
    }

    #[test]
    fn long_host_names_and_inner_spaces_survive() {
        let (m, _) = huawei("<189>Jul 23 2025 10:11:12 core router one %%01X/5/Y(l):b");
        assert_eq!(text(m.hostname), Some("core router one"));
    }
}
