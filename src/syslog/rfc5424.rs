//! RFC 5424: `<PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD [SP MSG]`.
//!
//! Read in field order; `-` is the nil value. A header that breaks the grammar is a
//! [`SyslogError`] with the offset of the field that broke it. When MSG itself starts
//! with a Huawei header (a relay rewrote a VRP line into RFC 5424), the Huawei fields
//! are read from MSG and its time and host win.

use super::{
    huawei, offset_in, split_token, stamp_at_boundary, structured_data, Message, SyslogError,
};

/// Whether `rest` (after PRI) starts like RFC 5424: a version number and a space.
pub fn looks_like(rest: &[u8]) -> bool {
    let digits = rest
        .iter()
        .take(4)
        .take_while(|b| b.is_ascii_digit())
        .count();
    (1..=3).contains(&digits) && rest[0] != b'0' && rest.get(digits) == Some(&b' ')
}

pub fn parse<'a>(
    line: &'a [u8],
    rest: &'a [u8],
    priority: Option<u8>,
) -> Result<Message<'a>, SyslogError> {
    let mut message = Message {
        priority,
        ..Message::default()
    };
    let (version, mut cursor) = split_token(rest);
    message.version = std::str::from_utf8(version)
        .ok()
        .and_then(|v| v.parse().ok());
    cursor = expect_space(line, cursor, "a space after VERSION")?;

    // TIMESTAMP
    if cursor.starts_with(b"- ") {
        cursor = &cursor[1..];
    } else {
        let (stamp, after) = stamp_at_boundary(cursor).ok_or(SyslogError::new(
            offset_in(line, cursor),
            "an RFC 3339 TIMESTAMP or '-'",
        ))?;
        message.stamp = Some(stamp);
        message.stamp_offset = offset_in(line, cursor);
        cursor = after;
    }
    cursor = expect_space(line, cursor, "a space after TIMESTAMP")?;

    // HOSTNAME, APP-NAME, PROCID, MSGID
    let mut fields = [None; 4];
    for (slot, name) in fields
        .iter_mut()
        .zip(["HOSTNAME", "APP-NAME", "PROCID", "MSGID"])
    {
        let (token, after) = split_token(cursor);
        if token.is_empty() {
            return Err(SyslogError::new(
                offset_in(line, cursor),
                field_expected(name),
            ));
        }
        *slot = (token != b"-").then_some(token);
        cursor = expect_space(line, after, field_expected(name))?;
    }
    [
        message.hostname,
        message.appname,
        message.procid,
        message.msgid,
    ] = fields;

    // STRUCTURED-DATA
    if cursor.first() == Some(&b'-') {
        cursor = &cursor[1..];
    } else {
        let (data, after) = structured_data::validate(cursor)
            .map_err(|(at, why)| SyslogError::new(offset_in(line, cursor) + at, why))?;
        message.structured_data = Some(data);
        cursor = after;
    }

    // MSG, after one space; a UTF-8 byte order mark is dropped.
    if !cursor.is_empty() {
        cursor = expect_space(line, cursor, "a space before MSG")?;
    }
    if let Some(without_bom) = cursor.strip_prefix(b"\xEF\xBB\xBF") {
        cursor = without_bom;
    }
    message.body = cursor;
    message.body_offset = offset_in(line, cursor);

    if let Some(inner) = huawei::parse(line, cursor, priority) {
        message.huawei = inner.huawei;
        message.body = inner.body;
        message.body_offset = inner.body_offset;
        if inner.stamp.is_some() {
            message.stamp = inner.stamp;
            message.stamp_offset = inner.stamp_offset;
        }
        message.hostname = inner.hostname.or(message.hostname);
    }
    Ok(message)
}

fn expect_space<'a>(
    line: &[u8],
    input: &'a [u8],
    expected: &'static str,
) -> Result<&'a [u8], SyslogError> {
    match input.first() {
        Some(b' ') => Ok(&input[1..]),
        _ => Err(SyslogError::new(offset_in(line, input), expected)),
    }
}

fn field_expected(name: &str) -> &'static str {
    match name {
        "HOSTNAME" => "HOSTNAME and a space",
        "APP-NAME" => "APP-NAME and a space",
        "PROCID" => "PROCID and a space",
        _ => "MSGID and a space",
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse as parse_line;

    #[test]
    fn full_header_with_structured_data() {
        let line = br#"<165>1 2025-07-23T03:37:41.003Z mymachine.example evntslog - ID47 [exampleSDID@32473 iut="3"] An application event"#;
        let m = parse_line(line).unwrap();
        assert_eq!(m.version, Some(1));
        assert_eq!(m.hostname, Some(&b"mymachine.example"[..]));
        assert_eq!(m.appname, Some(&b"evntslog"[..]));
        assert_eq!(m.procid, None);
        assert_eq!(m.msgid, Some(&b"ID47"[..]));
        assert_eq!(
            m.structured_data,
            Some(&br#"[exampleSDID@32473 iut="3"]"#[..])
        );
        assert_eq!(m.body, b"An application event");
    }

    #[test]
    fn nil_everything() {
        let m = parse_line(b"<13>1 - - - - - -").unwrap();
        assert_eq!((m.stamp, m.hostname, m.body), (None, None, &b""[..]));
    }

    #[test]
    fn broken_headers_say_where() {
        let e = parse_line(b"<13>1 yesterday host app - - - msg").unwrap_err();
        assert_eq!(e.offset, 6);
        let e = parse_line(br#"<13>1 - host app - - [x a="1] msg"#).unwrap_err();
        assert_eq!(e.offset, 27);
    }

    #[test]
    fn huawei_line_inside_msg() {
        let line = b"<189>1 2025-07-23T02:11:14Z relay - - - - Jul 23 2025 10:11:12 AR1 %%01FW-LOG/5/SESSION_LOG(l)[9]:x";
        let m = parse_line(line).unwrap();
        assert_eq!(m.hostname, Some(&b"AR1"[..]));
        assert_eq!(m.huawei.unwrap().sequence, Some(9));
        assert_eq!(m.body, b"x");
    }
}
