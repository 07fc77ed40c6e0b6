//! Syslog headers: PRI, timestamp, host and the rest, borrowed from the received bytes.
//!
//! Sits between framing and the vendor grammars: it takes one whole frame and returns a
//! [`Message`] whose slices point into that frame, so nothing is copied. Three header
//! families are recognised, in this order:
//!
//! 1. RFC 5424 (`rfc5424.rs`): `<PRI>1 ` and its structured data; a Huawei header inside
//!    MSG is read too.
//! 2. Huawei VRP (`huawei.rs`): `%%01MODULE/SEVERITY/BRIEF(flag)[count]:` after a header
//!    that may hold a relay's RFC 3164 prefix, a year between day and time, an offset,
//!    `DST`, a host name with spaces and an IPv4; or the trap form without `%%01`.
//! 3. RFC 3164 (`rfc3164.rs`), read loosely as Logstash's and rsyslog's inputs do: any
//!    line that is not one of the above is still a message, at worst all body.
//!
//! Only a bad PRI or a malformed RFC 5424 header is an error; it carries the byte offset
//! and what was expected there. This module never touches sockets or tokio.

mod huawei;
mod pri;
mod rfc3164;
mod rfc5424;
mod structured_data;
mod timestamp;

pub use pri::{facility_name, severity_name, MAX_PRIORITY};
pub use structured_data::{unescape_into as unescape_sd_value, SdElement, SdParams};
pub use timestamp::{Layout, Stamp};

use std::net::Ipv4Addr;

/// A parsed syslog message. Every slice borrows from the frame it was parsed from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message<'a> {
    /// PRI, 0–191; `None` for a line without one.
    pub priority: Option<u8>,
    /// The sender's (device's) timestamp.
    pub stamp: Option<Stamp>,
    /// Byte offset of `stamp` in the frame, for error messages.
    pub stamp_offset: usize,
    /// The device's host name (not a relay's).
    pub hostname: Option<&'a [u8]>,
    /// RFC 3164 tag or RFC 5424 APP-NAME.
    pub appname: Option<&'a [u8]>,
    pub procid: Option<&'a [u8]>,
    pub msgid: Option<&'a [u8]>,
    /// RFC 5424 VERSION.
    pub version: Option<u16>,
    /// RFC 5424 STRUCTURED-DATA as sent, already validated; iterate with [`SdElement::iter`].
    pub structured_data: Option<&'a [u8]>,
    /// The Huawei part of the header, when the line is a Huawei VRP message.
    pub huawei: Option<Huawei<'a>>,
    /// The body after the header (`message`).
    pub body: &'a [u8],
    /// Byte offset of `body` in the frame.
    pub body_offset: usize,
}

/// The Huawei-specific part of a VRP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Huawei<'a> {
    /// `MODULE/SEVERITY/BRIEF` as one slice (`event.code`).
    pub code: &'a [u8],
    pub module: &'a [u8],
    pub severity: u8,
    pub brief: &'a [u8],
    /// `l`, `s`, `d`, `t` or whatever letter was sent.
    pub flag: Option<u8>,
    /// The `[count]` serial number.
    pub sequence: Option<u64>,
    /// The header IPv4 (source-interface address toward the log host).
    pub ip: Option<Ipv4Addr>,
    /// The body a grammar reads: `body` without a leading component id (`slot=1;`).
    pub grammar_body: &'a [u8],
    pub grammar_body_offset: usize,
}

/// A header that cannot be read: where, and what was expected there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected} (byte {offset})")]
pub struct SyslogError {
    pub offset: usize,
    pub expected: &'static str,
}

impl SyslogError {
    pub(crate) fn new(offset: usize, expected: &'static str) -> SyslogError {
        SyslogError { offset, expected }
    }
}

/// Parses one frame (line ending already removed) into a [`Message`].
pub fn parse(line: &[u8]) -> Result<Message<'_>, SyslogError> {
    let (priority, rest) = match pri::parse_pri(line)? {
        Some((priority, rest)) => (Some(priority), rest),
        None => (None, line),
    };

    if rfc5424::looks_like(rest) {
        return rfc5424::parse(line, rest, priority);
    }
    if let Some(message) = huawei::parse(line, rest, priority) {
        return Ok(message);
    }
    Ok(rfc3164::parse(line, rest, priority))
}

/// Byte offset of `part` inside `whole`; `part` must be a subslice of `whole`.
pub(crate) fn offset_in(whole: &[u8], part: &[u8]) -> usize {
    (part.as_ptr() as usize)
        .saturating_sub(whole.as_ptr() as usize)
        .min(whole.len())
}

pub(crate) fn trim_start_spaces(input: &[u8]) -> &[u8] {
    let n = input.iter().take_while(|b| **b == b' ').count();
    &input[n..]
}

/// Splits at the first space: (token, rest starting at the space).
pub(crate) fn split_token(input: &[u8]) -> (&[u8], &[u8]) {
    let end = crate::scan::find(input, b' ').unwrap_or(input.len());
    input.split_at(end)
}

/// Reads a timestamp that ends at a token boundary (end of input or a space).
pub(crate) fn stamp_at_boundary(input: &[u8]) -> Option<(Stamp, &[u8])> {
    let (rest, stamp) = timestamp::timestamp(input).ok()?;
    match rest.first() {
        None | Some(b' ') => Some((stamp, rest)),
        _ => None,
    }
}

/// Strips a trailing `\n`, `\r\n` or NUL bytes: what a frame may carry at its end.
pub fn trim_line_ending(mut line: &[u8]) -> &[u8] {
    while let [rest @ .., b'\n' | b'\r' | b'\0'] = line {
        line = rest;
    }
    line
}
