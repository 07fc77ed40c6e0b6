//! Runs a compiled grammar over one message body, filling a [`Doc`].
//!
//! Two passes over fixed-size state, no allocation: the first splits the body and
//! records, for each grammar field, the raw value and its byte offset; the second
//! converts each captured value to its type and stores it in the document. A failure in
//! either pass stops the grammar; the caller then keeps only the header fields.

use std::net::{IpAddr, Ipv6Addr};

use super::compile::{
    normalise_label, BodyPlan, FieldPlan, Grammar, Kind, Layout, NameIndex, Step, Target,
    MAX_FIELDS,
};
use super::key_order::{kind_table, KeyOrder, SpellingId};
use crate::document::{Doc, Extra, Value};
use crate::scan;
use crate::time::{CivilTime, Clock, Instant};

/// What the grammar needs besides the body.
#[derive(Debug, Clone, Copy)]
pub struct ExecContext<'c> {
    pub clock: &'c Clock,
    /// The header's explicit UTC offset: device-local body times take it (R5).
    pub header_offset: Option<i32>,
    pub reference: Instant,
    /// The message's kind (its BRIEF): `key_value` bodies guess their next key
    /// from earlier messages of the same kind.
    pub message_kind: &'c [u8],
}

/// Why a body could not be read: which field, where in the line, what was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrammarFailure<'a> {
    /// The document field (or `body`) at fault.
    pub field: &'static str,
    /// Byte offset in the line: where the bad value starts, or the body start.
    pub offset: usize,
    pub problem: Problem<'a>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem<'a> {
    Missing,
    Malformed {
        value: &'a [u8],
        expected: &'static str,
    },
    GroupCount {
        found: usize,
        expected: usize,
    },
    TwoGroups,
}

impl std::fmt::Display for GrammarFailure<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        /// Longest bad value quoted in an error message.
        const MAX_QUOTED_BYTES: usize = 64;
        match self.problem {
            Problem::Missing => write!(f, "{}: missing", self.field)?,
            Problem::Malformed { value, expected } => {
                let shown = String::from_utf8_lossy(&value[..value.len().min(MAX_QUOTED_BYTES)]);
                let more = if value.len() > MAX_QUOTED_BYTES {
                    "..."
                } else {
                    ""
                };
                write!(f, "{}: {:?}{} is not {}", self.field, shown, more, expected)?
            }
            Problem::GroupCount { found, expected } => write!(
                f,
                "{}: expected {} <...> groups, found {}",
                self.field, expected, found
            )?,
            Problem::TwoGroups => write!(f, "{}: two groups fill this field", self.field)?,
        }
        write!(f, " (byte {})", self.offset)
    }
}

/// Whether the grammar read the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The body is not in this grammar's form (a key_value grammar on prose).
    NotApplicable,
    Read,
}

type Captures<'a> = [Option<(&'a [u8], usize)>; MAX_FIELDS];

/// Runs `grammar` over `body`, which starts at byte `body_offset` of the line.
pub fn run<'a>(
    grammar: &'a Grammar,
    body: &'a [u8],
    body_offset: usize,
    context: &ExecContext<'_>,
    doc: &mut Doc<'a>,
) -> Result<Applied, GrammarFailure<'a>> {
    let mut captures: Captures<'a> = [None; MAX_FIELDS];
    let body_failure = |problem| GrammarFailure {
        field: "body",
        offset: body_offset,
        problem,
    };

    match &grammar.body {
        BodyPlan::KeyValue {
            strip_suffix,
            unknown_keys_prefix,
            keys,
            order,
        } => {
            let body = match (strip_suffix, body.last()) {
                (Some(suffix), Some(last)) if suffix == last => &body[..body.len() - 1],
                _ => body,
            };
            if key_length(body).is_none() {
                return Ok(Applied::NotApplicable);
            }
            let table = kind_table(context.message_kind);
            for_each_pair(body, keys, order, table, |key, spelling, value, at| {
                match spelling.map(|id| order.field(id)) {
                    Some(i) if captures[i as usize].is_none() => {
                        captures[i as usize] = Some((value, at))
                    }
                    Some(_) => {} // a repeated key keeps its first value
                    None => {
                        if let Some(prefix) = unknown_keys_prefix {
                            let path = doc.scratch_with(|s| {
                                s.extend_from_slice(prefix.as_bytes());
                                s.push(b'.');
                                snake_case_into(key, s);
                            });
                            let Value::Scratch(start, end) = path else {
                                unreachable!()
                            };
                            doc.extras.push(Extra {
                                path: (start, end),
                                value: Value::Text(value),
                            });
                        }
                    }
                }
            });
        }
        BodyPlan::Groups {
            count,
            labels,
            by_position,
            position_labels,
        } => {
            let mut found = 0;
            for (label, value, at) in groups(body) {
                found += 1;
                if found > *count {
                    continue;
                }
                let position = found - 1;
                let spelt_as_expected = position_labels[position]
                    .iter()
                    .any(|expected| **expected == *label);
                let index = if spelt_as_expected {
                    by_position[position]
                } else {
                    let mut buffer = [0u8; 64];
                    let by_label = normalise_label(label, &mut buffer)
                        .filter(|n| !n.is_empty())
                        .and_then(|n| labels.get(n));
                    by_label.or(by_position[position])
                };
                let Some(index) = index else {
                    continue;
                };
                let slot = &mut captures[index as usize];
                if slot.is_some() {
                    let field = grammar.fields[index as usize].label;
                    return Err(GrammarFailure {
                        field,
                        offset: body_offset + at,
                        problem: Problem::TwoGroups,
                    });
                }
                *slot = Some((value, at));
            }
            if found != *count {
                return Err(body_failure(Problem::GroupCount {
                    found,
                    expected: *count,
                }));
            }
        }
    }

    for (plan, capture) in grammar.fields.iter().zip(captures.iter()) {
        let present = capture.filter(|(value, _)| !value.is_empty() && *value != b"-");
        let Some((value, at)) = present else {
            if plan.required {
                return Err(GrammarFailure {
                    field: plan.label,
                    offset: body_offset,
                    problem: Problem::Missing,
                });
            }
            continue;
        };
        convert(plan, value, body_offset + at, context, doc)?;
    }
    Ok(Applied::Read)
}

fn convert<'a>(
    plan: &'a FieldPlan,
    raw: &'a [u8],
    at: usize,
    context: &ExecContext<'_>,
    doc: &mut Doc<'a>,
) -> Result<(), GrammarFailure<'a>> {
    let malformed = |value, expected| GrammarFailure {
        field: plan.label,
        offset: at,
        problem: Problem::Malformed { value, expected },
    };
    let value = match &plan.kind {
        Kind::Text => Value::Text(raw),
        Kind::Lowercase if !raw.iter().any(u8::is_ascii_uppercase) => Value::Text(raw),
        Kind::Lowercase => doc.scratch_with(|s| s.extend(raw.iter().map(u8::to_ascii_lowercase))),
        Kind::Ip => ip_value(raw).ok_or_else(|| malformed(raw, "an IP address"))?,
        Kind::Port => Value::Unsigned(
            parse_port(raw).ok_or_else(|| malformed(raw, "a port number (0-65535)"))? as u64,
        ),
        Kind::Integer => Value::Unsigned(
            parse_unsigned(raw).ok_or_else(|| malformed(raw, "an unsigned integer"))?,
        ),
        Kind::Seconds => {
            let seconds = parse_unsigned(raw).filter(|s| *s <= i64::MAX as u64 / 1_000_000_000);
            Value::Unsigned(
                seconds.ok_or_else(|| malformed(raw, "a number of seconds"))? * 1_000_000_000,
            )
        }
        Kind::EpochSeconds => {
            Value::Time(epoch(raw).ok_or_else(|| malformed(raw, "Unix seconds"))?)
        }
        Kind::DateTime(layouts) => {
            let instant = layouts
                .iter()
                .find_map(|layout| read_layout(layout, raw, context));
            Value::Time(
                instant
                    .ok_or_else(|| malformed(raw, "a date-time in one of the grammar's layouts"))?,
            )
        }
        Kind::Enum(values) => match values.iter().find(|(from, _)| **from == *raw) {
            Some((_, to)) => Value::Text(to.as_bytes()),
            None => Value::Text(raw),
        },
        Kind::Endpoint => {
            let (ip, port, port_at) =
                split_endpoint(raw).ok_or_else(|| malformed(raw, "an ip:port pair"))?;
            let ip = ip_value(ip).ok_or_else(|| malformed(ip, "an IP address"))?;
            let port_failure = || GrammarFailure {
                field: target_label(&plan.targets[1]),
                offset: at + port_at,
                problem: Problem::Malformed {
                    value: port,
                    expected: "a port number (0-65535)",
                },
            };
            let port = parse_port(port).ok_or_else(port_failure)?;
            store(&plan.targets[0], ip, doc);
            store(&plan.targets[1], Value::Unsigned(port as u64), doc);
            return Ok(());
        }
    };
    store(&plan.targets[0], value, doc);
    Ok(())
}

fn store<'a>(target: &Target, value: Value<'a>, doc: &mut Doc<'a>) {
    match target {
        Target::Known(field) => doc.set(*field, value),
        Target::Extra(path) => {
            let Value::Scratch(start, end) = doc.scratch_text(path.as_bytes()) else {
                unreachable!()
            };
            doc.extras.push(Extra {
                path: (start, end),
                value,
            });
        }
    }
}

fn target_label(target: &Target) -> &'static str {
    match target {
        Target::Known(field) => field.path(),
        Target::Extra(_) => "endpoint port",
    }
}

/// Calls `each(key, spelling, value, value offset)` for the `Key=Value` pairs of
/// `body`, which starts with a key: what [`pairs`] yields, with the key's spelling id
/// when `keys` knows it. Where the guess of [`KeyOrder`] is right, as it is for most
/// keys of a steady sender, a key is recognised by one comparison.
fn for_each_pair<'b>(
    body: &'b [u8],
    keys: &NameIndex,
    order: &KeyOrder,
    table: usize,
    mut each: impl FnMut(&'b [u8], Option<SpellingId>, &'b [u8], usize),
) {
    // Reads the key at `at`, already known to be `len` bytes, the slow way, and
    // learns that it followed `previous`.
    let look_up = |at: usize, len: usize, previous: Option<SpellingId>| {
        let id = keys.get(&body[at..at + len]);
        if let (Some(previous), Some(id)) = (previous, id) {
            order.learn(table, previous, id);
        }
        id
    };

    // The first key.
    let start = order.start();
    let (mut key_at, mut key_len, mut spelling) =
        match order.match_guesses(order.guesses_after(table, start), body) {
            Some((len, id)) => (0, len, Some(id)),
            None => {
                let Some(len) = key_length(body) else { return };
                (0, len, look_up(0, len, Some(start)))
            }
        };

    loop {
        let value_start = key_at + key_len + 1;
        let guesses = spelling.map_or([None; 2], |id| order.guesses_after(table, id));
        let mut search = value_start;
        // The value ends at the first comma that a key follows (after optional
        // spaces); `next` is that key.
        let (value_end, next) = loop {
            let Some(i) = scan::find(&body[search..], b',') else {
                break (body.len(), None);
            };
            let comma = search + i;
            let after = comma + 1;
            let mut at = after;
            while body.get(at) == Some(&b' ') {
                at += 1;
            }
            if let Some((len, guess)) = order.match_guesses(guesses, &body[at..]) {
                break (comma, Some((at, len, Some(guess))));
            }
            if let Some(len) = key_length(&body[at..]) {
                break (comma, Some((at, len, look_up(at, len, spelling))));
            }
            search = after;
        };

        each(
            &body[key_at..key_at + key_len],
            spelling,
            &body[value_start..value_end],
            value_start,
        );
        let Some(next) = next else { return };
        (key_at, key_len, spelling) = next;
    }
}

/// `Key=Value` pairs: (key, value, value offset). A pair ends at a comma followed by
/// optional spaces and another `Key=`; any other comma belongs to the value. The
/// plain form of [`for_each_pair`], which a property holds it to.
#[cfg_attr(not(test), allow(dead_code))]
fn pairs(body: &[u8]) -> impl Iterator<Item = (&[u8], &[u8], usize)> {
    // (where the next key starts, its length), found while ending the previous value.
    let mut next = key_length(body).map(|len| (0, len));
    std::iter::from_fn(move || {
        let (start, key_len) = next?;
        let value_start = start + key_len + 1;
        let mut search = value_start;
        let value_end = loop {
            // Values are short: a plain scan beats memchr's set-up cost here.
            let Some(i) = body[search..].iter().position(|b| *b == b',') else {
                next = None;
                break body.len();
            };
            let comma = search + i;
            let mut key_at = comma + 1;
            while body.get(key_at) == Some(&b' ') {
                key_at += 1;
            }
            if let Some(len) = key_length(&body[key_at..]) {
                next = Some((key_at, len));
                break comma;
            }
            search = comma + 1;
        };
        Some((
            &body[start..start + key_len],
            &body[value_start..value_end],
            value_start,
        ))
    })
}

/// Length of `Key` when `input` starts with `Key=` (a letter, then letters, digits, `_`, `-`).
fn key_length(input: &[u8]) -> Option<usize> {
    if !input.first()?.is_ascii_alphabetic() {
        return None;
    }
    let mut len = 1;
    while let Some(&b) = input.get(len) {
        if !KEY_BYTES[b as usize] {
            return (b == b'=').then_some(len);
        }
        len += 1;
    }
    None
}

/// Bytes that may follow the first letter of a key: letters, digits, `_`, `-`.
static KEY_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
        b += 1;
    }
    table
};

/// `label<value>` groups: (label, value, value offset), both trimmed; a label loses one
/// trailing `:` or `=`. A `<` inside a group starts the group afresh.
fn groups(body: &[u8]) -> impl Iterator<Item = (&[u8], &[u8], usize)> {
    let mut position = 0;
    std::iter::from_fn(move || {
        let mut open = position + scan::find(&body[position..], b'<')?;
        let close = loop {
            let i = open + 1 + scan::find_either(&body[open + 1..], b'<', b'>')?;
            if body[i] == b'<' {
                open = i;
            } else {
                break i;
            }
        };
        let mut label = trim(&body[position..open]);
        if let [rest @ .., b':' | b'='] = label {
            label = trim(rest);
        }
        let inner = &body[open + 1..close];
        let leading = inner.iter().take_while(|b| **b == b' ').count();
        let value = trim(inner);
        position = close + 1;
        Some((label, value, open + 1 + leading))
    })
}

fn trim(bytes: &[u8]) -> &[u8] {
    bytes.trim_ascii()
}

/// Splits `ip:port`, `[v6]:port` or (unbracketed) `v6:port` at the last colon.
fn split_endpoint(raw: &[u8]) -> Option<(&[u8], &[u8], usize)> {
    if raw.first() == Some(&b'[') {
        let close = memchr::memchr(b']', raw)?;
        if raw.get(close + 1) != Some(&b':') {
            return None;
        }
        return Some((&raw[1..close], &raw[close + 2..], close + 2));
    }
    let colon = memchr::memrchr(b':', raw)?;
    Some((&raw[..colon], &raw[colon + 1..], colon + 1))
}

/// `raw` as an address value, IPv4 without passing through `IpAddr`.
#[inline]
fn ip_value(raw: &[u8]) -> Option<Value<'static>> {
    match parse_dotted_quad(raw) {
        Some(v4) => Some(Value::Ipv4(v4.to_bits())),
        None if raw.len() > 45 => None,
        None => parse_ipv6(raw).map(|v6| Value::ip(IpAddr::V6(v6))),
    }
}

pub fn parse_ip(raw: &[u8]) -> Option<IpAddr> {
    if let Some(v4) = parse_dotted_quad(raw) {
        return Some(IpAddr::V4(v4));
    }
    if raw.len() > 45 {
        return None;
    }
    parse_ipv6(raw).map(IpAddr::V6)
}

/// RFC 4291 text, read as std's parser reads it: one to four hex digits per group,
/// at most one `::` standing for one or more zero groups, and a dotted quad allowed
/// only as the last 32 bits. The fast path for IPv6, checked against std by a property.
fn parse_ipv6(raw: &[u8]) -> Option<Ipv6Addr> {
    let mut groups = [0u16; 8];
    let mut count = 0;
    // Where `::` stands, as a count of the groups before it.
    let mut gap = None;
    let mut at = 0;
    if raw.starts_with(b"::") {
        gap = Some(0);
        at = 2;
        if raw.len() == 2 {
            return Some(Ipv6Addr::UNSPECIFIED);
        }
    }

    loop {
        // A group: hex digits, or a dotted quad that ends the address.
        let start = at;
        let mut value = 0u16;
        while let Some(digit) = raw.get(at).and_then(|b| hex_value(*b)) {
            if at - start == 4 {
                return None;
            }
            value = value << 4 | digit;
            at += 1;
        }
        if at == start {
            return None;
        }
        if raw.get(at) == Some(&b'.') {
            if count + 2 > groups.len() {
                return None;
            }
            let [a, b, c, d] = parse_dotted_quad(&raw[start..])?.octets();
            groups[count] = u16::from_be_bytes([a, b]);
            groups[count + 1] = u16::from_be_bytes([c, d]);
            count += 2;
            break;
        }
        *groups.get_mut(count)? = value;
        count += 1;

        // The separator: the end, `:` before the next group, or the one `::`.
        match raw.get(at) {
            None => break,
            Some(b':') if raw.get(at + 1) == Some(&b':') => {
                if gap.is_some() {
                    return None;
                }
                gap = Some(count);
                at += 2;
                if at == raw.len() {
                    break;
                }
            }
            Some(b':') => at += 1,
            Some(_) => return None,
        }
    }

    match gap {
        None if count == 8 => Some(Ipv6Addr::from(groups)),
        // `::` stands for at least one zero group.
        Some(before) if count < 8 => {
            let mut full = [0u16; 8];
            full[..before].copy_from_slice(&groups[..before]);
            full[8 - (count - before)..].copy_from_slice(&groups[before..count]);
            Some(Ipv6Addr::from(full))
        }
        _ => None,
    }
}

fn hex_value(b: u8) -> Option<u16> {
    match b {
        b'0'..=b'9' => Some((b - b'0') as u16),
        b'a'..=b'f' => Some((b - b'a' + 10) as u16),
        b'A'..=b'F' => Some((b - b'A' + 10) as u16),
        _ => None,
    }
}

/// Four decimal octets 0–255 without leading zeros; the fast path for IPv4.
fn parse_dotted_quad(raw: &[u8]) -> Option<std::net::Ipv4Addr> {
    if raw.len() < 7 || raw.len() > 15 {
        return None;
    }
    // Built in a register, not a byte array: four byte stores read back as one word
    // would stall on store forwarding.
    let mut address = 0u32;
    let mut at = 0;
    for i in 0..4 {
        if i > 0 {
            (raw.get(at) == Some(&b'.')).then_some(())?;
            at += 1;
        }
        let (value, len) = octet_at(raw, at)?;
        address = address << 8 | u32::from(value);
        at += len;
    }
    (at == raw.len()).then_some(std::net::Ipv4Addr::from(address))
}

/// The octet at `raw[at..]`: one to three digits (a fourth is left for the caller
/// to refuse), at most 255, and no leading zero (`01` is refused, as std does).
#[inline]
fn octet_at(raw: &[u8], at: usize) -> Option<(u8, usize)> {
    let digit = |i: usize| raw.get(i).map(|b| b.wrapping_sub(b'0')).filter(|d| *d < 10);
    let first = digit(at)?;
    let Some(second) = digit(at + 1) else {
        return Some((first, 1));
    };
    if first == 0 {
        return None;
    }
    let Some(third) = digit(at + 2) else {
        return Some((first * 10 + second, 2));
    };
    let value = u16::from(first) * 100 + u16::from(second) * 10 + u16::from(third);
    u8::try_from(value).ok().map(|value| (value, 3))
}

/// Decimal digits only, in one pass: a non-digit or an overflow refuses the text.
fn parse_unsigned(raw: &[u8]) -> Option<u64> {
    /// Nineteen digits cannot overflow a `u64`; only a twentieth needs checks.
    const UNCHECKED_DIGITS: usize = 19;
    if raw.is_empty() || raw.len() > 20 {
        return None;
    }
    let (head, last) = match raw.len() > UNCHECKED_DIGITS {
        true => (&raw[..UNCHECKED_DIGITS], Some(raw[UNCHECKED_DIGITS])),
        false => (raw, None),
    };
    let mut value = 0u64;
    for b in head {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        value = value * 10 + u64::from(digit);
    }
    match last {
        None => Some(value),
        Some(b) => {
            let digit = b.wrapping_sub(b'0');
            (digit <= 9).then_some(())?;
            value.checked_mul(10)?.checked_add(u64::from(digit))
        }
    }
}

fn parse_port(raw: &[u8]) -> Option<u16> {
    parse_unsigned(raw).and_then(|n| u16::try_from(n).ok())
}

fn epoch(raw: &[u8]) -> Option<Instant> {
    let seconds = parse_unsigned(raw).filter(|s| *s < 253_402_300_800)?;
    Some(Instant::from_unix_seconds(seconds as i64))
}

fn read_layout(layout: &Layout, raw: &[u8], context: &ExecContext<'_>) -> Option<Instant> {
    let steps = match layout {
        Layout::Epoch => return epoch(raw),
        Layout::Steps(steps) => steps,
    };
    let mut civil = CivilTime::default();
    let mut year = 0;
    let mut at = 0;
    for step in steps {
        if let Step::Literal(b) = step {
            (raw.get(at) == Some(b)).then_some(())?;
            at += 1;
            continue;
        }
        // A year is four digits; the other steps one or two.
        let max = if *step == Step::Year { 4 } else { 2 };
        let mut n = 0u32;
        let mut len = 0;
        while len < max {
            let Some(digit) = raw.get(at + len).map(|b| b.wrapping_sub(b'0')) else {
                break;
            };
            if digit > 9 {
                break;
            }
            n = n * 10 + u32::from(digit);
            len += 1;
        }
        if len == 0 || (*step == Step::Year && len != 4) {
            return None;
        }
        at += len;
        match step {
            Step::Year => year = n as i32,
            Step::Month => civil.month = n as u8,
            Step::Day => civil.day = n as u8,
            Step::Hour => civil.hour = n as u8,
            Step::Minute => civil.minute = n as u8,
            Step::Second => civil.second = n as u8,
            Step::Literal(_) => unreachable!(),
        }
    }
    if at != raw.len() {
        return None;
    }
    civil.year = Some(year);
    context
        .clock
        .resolve(&civil, context.header_offset, context.reference)
        .ok()
}

/// `SourceVpnID` → `source_vpn_id`, `NATType` → `nat_type`, `-` → `_`.
pub fn snake_case_into(key: &[u8], out: &mut Vec<u8>) {
    for (i, &b) in key.iter().enumerate() {
        if b == b'-' {
            out.push(b'_');
            continue;
        }
        if b.is_ascii_uppercase() && i > 0 {
            let previous = key[i - 1];
            let next_is_lower = key.get(i + 1).is_some_and(u8::is_ascii_lowercase);
            let after_lower = previous.is_ascii_lowercase() || previous.is_ascii_digit();
            let ends_acronym = previous.is_ascii_uppercase() && next_is_lower;
            if after_lower || ends_acronym {
                out.push(b'_');
            }
        }
        out.push(b.to_ascii_lowercase());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snake(key: &str) -> String {
        let mut out = Vec::new();
        snake_case_into(key.as_bytes(), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn snake_case_of_huawei_keys() {
        assert_eq!(snake("SourceVpnID"), "source_vpn_id");
        assert_eq!(snake("NATType"), "nat_type");
        assert_eq!(snake("ApplicationName"), "application_name");
        assert_eq!(snake("IPVer"), "ip_ver");
        assert_eq!(snake("Src-Zone"), "src_zone");
    }

    #[test]
    fn pairs_split_only_before_a_key() {
        let body = b"IPVer=4, Protocol=tcp,Page=/stats?a=1,2,3&b=x,Host=example.test";
        let got: Vec<_> = pairs(body)
            .map(|(k, v, _)| (k.to_vec(), v.to_vec()))
            .collect();
        assert_eq!(got[1], (b"Protocol".to_vec(), b"tcp".to_vec()));
        assert_eq!(got[2], (b"Page".to_vec(), b"/stats?a=1,2,3&b=x".to_vec()));
        assert_eq!(got[3], (b"Host".to_vec(), b"example.test".to_vec()));
        let b_pair: Vec<_> = pairs(b"Page=/a?x=1,b=2")
            .map(|(k, _, _)| k.to_vec())
            .collect();
        assert_eq!(b_pair, [b"Page".to_vec(), b"b".to_vec()]);
    }

    /// Reads `body` with `for_each_pair`, as (key, field, value, offset).
    fn guessed_pairs(
        body: &[u8],
        keys: &NameIndex,
        order: &KeyOrder,
    ) -> Vec<(Vec<u8>, Option<u8>, Vec<u8>, usize)> {
        let mut got = Vec::new();
        for_each_pair(body, keys, order, 0, |key, spelling, value, at| {
            got.push((
                key.to_vec(),
                spelling.map(|id| order.field(id)),
                value.to_vec(),
                at,
            ))
        });
        got
    }

    proptest::proptest! {
        /// Whatever the guesses learnt from earlier bodies, the guessing reader splits
        /// a body as the plain one does and finds each known key's field.
        #[test]
        fn guessing_reads_what_the_plain_reader_reads(
            bodies in proptest::collection::vec(
                proptest::collection::vec(
                    (
                        proptest::sample::select(vec![
                            "Src", "SrcIP", "Dst", "A", "Unknown", "SourceNatPortNumberLong",
                            "x y", "9Key", "",
                        ]),
                        proptest::sample::select(vec![" ", "", "="]),
                        "[a-z0-9=, .]{0,6}",
                    ),
                    1..8,
                ),
                1..6,
            ),
        ) {
            let spellings: [(&[u8], u8); 5] = [
                (b"Src", 0), (b"SrcIP", 0), (b"Dst", 1), (b"A", 2),
                (b"SourceNatPortNumberLong", 3),
            ];
            let mut keys = NameIndex::default();
            for (id, (key, _)) in spellings.iter().enumerate() {
                keys.insert(key, id as u8);
            }
            let order = KeyOrder::new(&spellings);
            for parts in bodies {
                let mut body = Vec::new();
                for (i, (key, space, value)) in parts.iter().enumerate() {
                    if i > 0 {
                        body.push(b',');
                        body.extend_from_slice(space.as_bytes());
                    }
                    body.extend_from_slice(key.as_bytes());
                    body.push(b'=');
                    body.extend_from_slice(value.as_bytes());
                }
                if key_length(&body).is_none() {
                    continue;
                }
                let field_of = |key: &[u8]| keys.get(key).map(|id| order.field(id));
                let plain: Vec<_> = pairs(&body)
                    .map(|(k, v, at)| (k.to_vec(), field_of(k), v.to_vec(), at))
                    .collect();
                proptest::prop_assert_eq!(guessed_pairs(&body, &keys, &order), plain);
            }
        }
    }

    #[test]
    fn groups_with_and_without_labels() {
        let got: Vec<_> = groups(b"Protocol:<TCP> <Normal over> Src = <1.2.3.4:5>").collect();
        assert_eq!(got[0].0, b"Protocol");
        assert_eq!((got[1].0, got[1].1), (&b""[..], &b"Normal over"[..]));
        assert_eq!((got[2].0, got[2].1), (&b"Src"[..], &b"1.2.3.4:5"[..]));
        assert_eq!(got[2].2, 36);
        let restarted: Vec<_> = groups(b"a<b<c>").collect();
        assert_eq!(restarted[0].1, b"c");
    }

    #[test]
    fn dotted_quads() {
        assert_eq!(
            parse_ip(b"192.168.0.1"),
            Some("192.168.0.1".parse().unwrap())
        );
        assert_eq!(
            parse_ip(b"2001:0db8::0001"),
            Some("2001:db8::1".parse().unwrap())
        );
        for bad in [
            &b"999.1.1.1"[..],
            b"1.2.3",
            b"1.2.3.4.5",
            b"01.2.3.4",
            b"1..2.3",
            b"a.b.c.d",
            b"",
        ] {
            assert_eq!(parse_ip(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    /// std's reading of `text`, as `parse_ip` bounds it (at most 45 bytes).
    fn std_ip(text: &str) -> Option<IpAddr> {
        (text.len() <= 45).then(|| text.parse().ok()).flatten()
    }

    /// IPv6 text in the forms senders use: full or `::`-compressed, padded or not,
    /// upper- or lower-case, maybe ending in a dotted quad.
    fn ipv6_text(
        groups: [u16; 8],
        gap: (usize, usize),
        padded: bool,
        upper: bool,
        dotted: bool,
    ) -> String {
        let hex = |g: u16| match (padded, upper) {
            (true, true) => format!("{g:04X}"),
            (true, false) => format!("{g:04x}"),
            (false, true) => format!("{g:X}"),
            (false, false) => format!("{g:x}"),
        };
        let mut parts: Vec<String> = groups.iter().map(|g| hex(*g)).collect();
        if dotted {
            let [a, b] = groups[6].to_be_bytes();
            let [c, d] = groups[7].to_be_bytes();
            parts.truncate(6);
            parts.push(format!("{a}.{b}.{c}.{d}"));
        }
        let (start, len) = gap;
        if len == 0 || start >= parts.len() {
            return parts.join(":");
        }
        let end = (start + len).min(parts.len());
        format!("{}::{}", parts[..start].join(":"), parts[end..].join(":"))
    }

    proptest::proptest! {
        /// Digits (and the odd other byte) up to and past the 20 digits of u64::MAX.
        #[test]
        fn unsigned_numbers_agree_with_std(text in "[0-9]{0,22}|[0-9]{0,10}[a /-][0-9]{0,10}|1844674407370955161[0-9]") {
            let std_result = match text.bytes().all(|b| b.is_ascii_digit()) {
                true => text.parse::<u64>().ok(),
                false => None,
            };
            proptest::prop_assert_eq!(parse_unsigned(text.as_bytes()), std_result);
        }

        #[test]
        fn fast_ipv4_agrees_with_std(text in "[0-9.]{0,16}") {
            let std_result = text.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4);
            proptest::prop_assert_eq!(parse_ip(text.as_bytes()), std_result);
        }

        /// Dotted quads as senders write them, with octets out of range, padded with
        /// zeros, or missing, and separators doubled: the fast path must agree with std.
        #[test]
        fn fast_ipv4_agrees_with_std_on_quad_forms(
            octets in proptest::collection::vec((0u16..1100, 0usize..3), 2..6),
            separator in proptest::prop_oneof![
                proptest::strategy::Just("."), proptest::strategy::Just(".."),
                proptest::strategy::Just(""),
            ],
        ) {
            let parts: Vec<String> =
                octets.iter().map(|(n, zeros)| format!("{}{n}", "0".repeat(*zeros))).collect();
            let dotted = parts.join(".");
            let odd = parts.join(separator);
            for text in [dotted, odd] {
                let std_result = text.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4);
                proptest::prop_assert_eq!(parse_ip(text.as_bytes()), std_result);
            }
        }

        #[test]
        fn fast_ipv6_agrees_with_std_on_any_text(text in "[0-9a-fA-F:.]{0,46}") {
            proptest::prop_assert_eq!(parse_ip(text.as_bytes()), std_ip(&text));
        }

        #[test]
        fn fast_ipv6_agrees_with_std_on_address_forms(
            groups in proptest::array::uniform8(proptest::prop_oneof![
                proptest::strategy::Just(0u16), 0u16..=0xffff,
            ]),
            gap in (0usize..9, 0usize..9),
            padded: bool,
            upper: bool,
            dotted: bool,
            cut in 0usize..48,
            insert in proptest::prop_oneof![
                proptest::strategy::Just(""), proptest::strategy::Just(":"),
                proptest::strategy::Just("::"), proptest::strategy::Just("."),
                proptest::strategy::Just("0"), proptest::strategy::Just("g"),
            ],
        ) {
            let text = ipv6_text(groups, gap, padded, upper, dotted);
            proptest::prop_assert_eq!(parse_ip(text.as_bytes()), std_ip(&text));
            // The same text damaged at one place: a byte cut out or one put in.
            let at = cut.min(text.len());
            let mut damaged = text.clone();
            if insert.is_empty() && at < text.len() {
                damaged.remove(at);
            } else {
                damaged.insert_str(at, insert);
            }
            proptest::prop_assert_eq!(parse_ip(damaged.as_bytes()), std_ip(&damaged));
        }
    }

    /// The one-pass reader against a plain two-step one: all digits, then std's parse.
    fn unsigned_reference(raw: &[u8]) -> Option<u64> {
        if raw.is_empty() || raw.len() > 20 || !raw.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(raw).ok()?.parse().ok()
    }

    proptest::proptest! {
        #[test]
        fn unsigned_agrees_with_reference(text in "[0-9/:a]{0,3}[0-9]{0,19}[0-9/:]{0,3}") {
            proptest::prop_assert_eq!(
                parse_unsigned(text.as_bytes()),
                unsigned_reference(text.as_bytes())
            );
        }
    }

    #[test]
    fn unsigned_limits() {
        assert_eq!(parse_unsigned(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_unsigned(b"18446744073709551616"), None);
        assert_eq!(parse_unsigned(b"99999999999999999999"), None);
        assert_eq!(parse_unsigned(b"000000000000000000001"), None);
        assert_eq!(parse_unsigned(b"00042"), Some(42));
    }

    #[test]
    fn endpoints() {
        assert_eq!(
            split_endpoint(b"[2001:db8::1]:443").map(|e| (e.0, e.1)),
            Some((&b"2001:db8::1"[..], &b"443"[..]))
        );
        assert_eq!(split_endpoint(b"10.0.0.1:53").map(|e| e.2), Some(9));
        assert_eq!(split_endpoint(b"10.0.0.1"), None);
    }
}
