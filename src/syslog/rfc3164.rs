//! RFC 3164 (BSD syslog), read loosely: `TIMESTAMP HOSTNAME TAG[PID]: MSG`.
//!
//! Real senders bend every part of RFC 3164, so nothing here fails: a part that is not
//! where it should be is simply absent and the rest becomes the body, as the RFC's own
//! relay rules (section 4.3) and Logstash's syslog input do. The timestamp may be the
//! RFC's `Mmm dd hh:mm:ss` or any other form the timestamp parser knows (rsyslog's
//! RFC 3339 "high precision" form among them).

use super::{offset_in, split_token, stamp_at_boundary, trim_start_spaces, Message};

/// Longest tag accepted; RFC 3164 says 32, real senders go beyond.
const MAX_TAG_BYTES: usize = 64;

pub fn parse<'a>(line: &'a [u8], rest: &'a [u8], priority: Option<u8>) -> Message<'a> {
    let mut message = Message {
        priority,
        ..Message::default()
    };
    let mut cursor = trim_start_spaces(rest);

    match stamp_at_boundary(cursor) {
        Some((stamp, after)) => {
            message.stamp = Some(stamp);
            message.stamp_offset = offset_in(line, cursor);
            cursor = trim_start_spaces(after);
            let (host, after_host) = split_token(cursor);
            if !host.is_empty() && !is_tag_token(host) {
                message.hostname = Some(host);
                cursor = trim_start_spaces(after_host);
            }
            if let Some((appname, procid, body)) = tag(cursor) {
                message.appname = Some(appname);
                message.procid = procid;
                cursor = body;
            }
        }
        None => cursor = rest,
    }

    message.body = cursor;
    message.body_offset = offset_in(line, cursor);
    message
}

/// A token that ends a tag (`sshd:` or `sshd[12]:`) rather than naming a host.
fn is_tag_token(token: &[u8]) -> bool {
    token.ends_with(b":") || token.contains(&b'[')
}

/// `TAG[PID]:` or `TAG:` followed by at most one space.
fn tag(input: &[u8]) -> Option<(&[u8], Option<&[u8]>, &[u8])> {
    let len = input
        .iter()
        .take(MAX_TAG_BYTES + 1)
        .take_while(|b| b.is_ascii_graphic() && !matches!(b, b'[' | b':'))
        .count();
    if len == 0 || len > MAX_TAG_BYTES {
        return None;
    }
    let appname = &input[..len];
    let mut at = len;
    let mut procid = None;
    if input.get(at) == Some(&b'[') {
        let close = memchr::memchr(b']', &input[at..])?;
        procid = Some(&input[at + 1..at + close]);
        at += close + 1;
    }
    if input.get(at) != Some(&b':') {
        return None;
    }
    at += 1;
    if input.get(at) == Some(&b' ') {
        at += 1;
    }
    Some((appname, procid, &input[at..]))
}

#[cfg(test)]
mod tests {
    use super::super::parse as parse_line;

    #[test]
    fn classic_bsd_line() {
        let m = parse_line(b"<38>Jul 23 11:56:28 web01 sshd[1234]: Accepted password").unwrap();
        assert_eq!(m.hostname, Some(&b"web01"[..]));
        assert_eq!(m.appname, Some(&b"sshd"[..]));
        assert_eq!(m.procid, Some(&b"1234"[..]));
        assert_eq!(m.body, b"Accepted password");
        assert_eq!(m.body_offset, 38);
    }

    #[test]
    fn tag_without_host_and_no_tag_at_all() {
        let m = parse_line(b"<13>Jul 23 11:56:28 cron: ran").unwrap();
        assert_eq!((m.hostname, m.appname), (None, Some(&b"cron"[..])));
        let m = parse_line(b"<13>Jul 23 11:56:28 host just words").unwrap();
        assert_eq!((m.hostname, m.appname), (Some(&b"host"[..]), None));
        assert_eq!(m.body, b"just words");
    }

    #[test]
    fn no_timestamp_means_all_body() {
        let m = parse_line(b"<13>hello world").unwrap();
        assert_eq!((m.stamp, m.body), (None, &b"hello world"[..]));
        let m = parse_line(b"no pri at all").unwrap();
        assert_eq!((m.priority, m.body), (None, &b"no pri at all"[..]));
    }
}
