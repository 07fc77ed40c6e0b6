//! The document's known fields (SCHEMA.md) and the values gathered for one message.
//!
//! Every known field has a slot in [`FIELDS`], a table sorted by path segment so that the
//! JSON writer can open and close nested objects in one pass. A [`Doc`] holds one value
//! per slot plus a bit set of which slots are present; fields outside the table (a
//! grammar's `huawei.<key>` for keys it does not know) go to a short list of extras.

use std::net::IpAddr;

use crate::time::Instant;

/// How the index template types a field; grammars are checked against it at load time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Date,
    Ip,
    Long,
    Keyword,
    Text,
    Object,
    KeywordList,
}

/// A known document field: its dotted path and its type.
#[derive(Debug, Clone, Copy)]
pub struct FieldDef {
    pub path: &'static str,
    pub kind: FieldType,
}

macro_rules! fields {
    ($($name:ident = $path:literal : $kind:ident,)*) => {
        /// Slots of the known fields, in [`FIELDS`] order.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(u8)]
        pub enum Field { $($name,)* }

        /// Every known field, sorted by path segments (see the `table_is_sorted` test).
        pub const FIELDS: &[FieldDef] = &[$(FieldDef { path: $path, kind: FieldType::$kind },)*];

        /// Every known field, in [`FIELDS`] order.
        pub const ALL_FIELDS: &[Field] = &[$(Field::$name,)*];
    };
}

fields! {
    Timestamp = "@timestamp": Date,
    DestinationBytes = "destination.bytes": Long,
    DestinationIp = "destination.ip": Ip,
    DestinationNatIp = "destination.nat.ip": Ip,
    DestinationNatPort = "destination.nat.port": Long,
    DestinationPackets = "destination.packets": Long,
    DestinationPort = "destination.port": Long,
    ErrorMessage = "error.message": Text,
    EventCode = "event.code": Keyword,
    EventCreated = "event.created": Date,
    EventDataset = "event.dataset": Keyword,
    EventDuration = "event.duration": Long,
    EventEnd = "event.end": Date,
    EventOriginal = "event.original": Keyword,
    EventReason = "event.reason": Keyword,
    EventStart = "event.start": Date,
    HuaweiDestinationVpnId = "huawei.destination_vpn_id": Long,
    HuaweiFlag = "huawei.flag": Keyword,
    HuaweiSequence = "huawei.sequence": Long,
    HuaweiSourceVpnId = "huawei.source_vpn_id": Long,
    HuaweiTos = "huawei.tos": Long,
    SyslogAppname = "log.syslog.appname": Keyword,
    SyslogFacilityCode = "log.syslog.facility.code": Long,
    SyslogFacilityName = "log.syslog.facility.name": Keyword,
    SyslogHostname = "log.syslog.hostname": Keyword,
    SyslogMsgid = "log.syslog.msgid": Keyword,
    SyslogPriority = "log.syslog.priority": Long,
    SyslogProcid = "log.syslog.procid": Keyword,
    SyslogSeverityCode = "log.syslog.severity.code": Long,
    SyslogSeverityName = "log.syslog.severity.name": Keyword,
    SyslogStructuredData = "log.syslog.structured_data": Object,
    SyslogVersion = "log.syslog.version": Keyword,
    Message = "message": Text,
    NetworkBytes = "network.bytes": Long,
    NetworkPackets = "network.packets": Long,
    NetworkTransport = "network.transport": Keyword,
    NetworkType = "network.type": Keyword,
    ObserverEgressZone = "observer.egress.zone": Keyword,
    ObserverHostname = "observer.hostname": Keyword,
    ObserverIngressZone = "observer.ingress.zone": Keyword,
    ObserverIp = "observer.ip": Ip,
    ObserverVendor = "observer.vendor": Keyword,
    RuleName = "rule.name": Keyword,
    SourceBytes = "source.bytes": Long,
    SourceIp = "source.ip": Ip,
    SourceNatIp = "source.nat.ip": Ip,
    SourceNatPort = "source.nat.port": Long,
    SourcePackets = "source.packets": Long,
    SourcePort = "source.port": Long,
    Tags = "tags": KeywordList,
    UrlDomain = "url.domain": Keyword,
    UrlPath = "url.path": Keyword,
    UserName = "user.name": Keyword,
}

impl Field {
    pub fn def(self) -> &'static FieldDef {
        &FIELDS[self as usize]
    }

    pub fn path(self) -> &'static str {
        self.def().path
    }

    /// The known field with this dotted path.
    pub fn from_path(path: &str) -> Option<Field> {
        FIELDS
            .iter()
            .position(|def| def.path == path)
            .map(|i| ALL_FIELDS[i])
    }

    fn bit(self) -> u64 {
        1 << self as u8
    }
}

/// One field's value. Text borrows from the frame or from the doc's scratch buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// Text from the frame, written with JSON escaping (and UTF-8 repair if needed).
    Text(&'a [u8]),
    /// Text that needs no JSON escaping, written as is: the code's own constants
    /// and grammar names, which the grammar compiler checks.
    Static(&'static str),
    /// Text in `Doc::scratch`, by byte range.
    Scratch(u32, u32),
    /// An IPv4 address as its 32 bits, and an IPv6 one as four 32-bit words (most
    /// significant first): word-aligned, where an `IpAddr` would sit at an odd
    /// offset and make the stores and loads of a value mismatch in size, which
    /// stalls store-to-load forwarding. Build and read them with [`Value::ip`] and
    /// [`Value::as_ip`].
    Ipv4(u32),
    Ipv6([u32; 4]),
    Unsigned(u64),
    Signed(i64),
    Time(Instant),
    /// Validated RFC 5424 structured data, written as an object of objects.
    StructuredData(&'a [u8]),
    /// The doc's tag list.
    Tags,
}

impl Value<'_> {
    #[inline]
    pub fn ip(ip: IpAddr) -> Value<'static> {
        match ip {
            IpAddr::V4(v4) => Value::Ipv4(v4.to_bits()),
            IpAddr::V6(v6) => {
                let bits = v6.to_bits();
                Value::Ipv6([96, 64, 32, 0].map(|shift| (bits >> shift) as u32))
            }
        }
    }

    /// The address of an `Ipv4` or `Ipv6` value.
    #[inline]
    pub fn as_ip(&self) -> Option<IpAddr> {
        match *self {
            Value::Ipv4(bits) => Some(IpAddr::V4(bits.into())),
            Value::Ipv6(words) => {
                let bits = words
                    .iter()
                    .fold(0u128, |bits, w| bits << 32 | u128::from(*w));
                Some(IpAddr::V6(bits.into()))
            }
            _ => None,
        }
    }
}

/// A field outside the known table: its dotted path (in scratch) and value.
#[derive(Debug, Clone, Copy)]
pub struct Extra<'a> {
    pub path: (u32, u32),
    pub value: Value<'a>,
}

/// Which fields a doc had at one point; see [`Doc::snapshot`].
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    present: u64,
    extras: usize,
}

/// The values gathered for one message before it is written.
#[derive(Debug)]
pub struct Doc<'a> {
    present: u64,
    values: [Value<'a>; FIELDS.len()],
    pub extras: Vec<Extra<'a>>,
    pub tags: [&'static str; 4],
    pub tag_count: usize,
    /// Owned bytes for values and extra paths that are not in the frame.
    pub scratch: Vec<u8>,
    /// A frame known to need no JSON escaping (empty when none): text inside it is
    /// copied as is.
    clean: &'a [u8],
}

impl<'a> Doc<'a> {
    /// An empty doc that reuses `scratch`'s allocation.
    pub fn new(mut scratch: Vec<u8>) -> Doc<'a> {
        scratch.clear();
        Doc {
            present: 0,
            values: [Value::Tags; FIELDS.len()],
            extras: Vec::new(),
            tags: [""; 4],
            tag_count: 0,
            scratch,
            clean: &[],
        }
    }

    /// Declares `frame` free of bytes that need JSON escaping.
    pub fn set_clean_frame(&mut self, frame: &'a [u8]) {
        self.clean = frame;
    }

    /// Whether `text` lies inside the frame declared clean.
    #[inline]
    pub fn is_clean(&self, text: &[u8]) -> bool {
        self.clean_from(text).is_some()
    }

    /// When `text` lies inside the frame declared clean, the rest of that frame from
    /// where `text` starts (so at least `text.len()` bytes, often more).
    #[inline]
    pub fn clean_from(&self, text: &[u8]) -> Option<&'a [u8]> {
        let frame_start = self.clean.as_ptr() as usize;
        let start = (text.as_ptr() as usize).checked_sub(frame_start)?;
        let rest = self.clean.get(start..)?;
        (text.len() <= rest.len() && !self.clean.is_empty()).then_some(rest)
    }

    pub fn set(&mut self, field: Field, value: Value<'a>) {
        self.present |= field.bit();
        self.values[field as usize] = value;
    }

    pub fn get(&self, field: Field) -> Option<Value<'a>> {
        self.is_set(field).then(|| self.values[field as usize])
    }

    pub fn is_set(&self, field: Field) -> bool {
        self.present & field.bit() != 0
    }

    pub fn unset(&mut self, field: Field) {
        self.present &= !field.bit();
    }

    /// Puts the extras in path order, as the writer needs them.
    pub fn sort_extras(&mut self) {
        let scratch = &self.scratch;
        let path = |e: &Extra<'_>| &scratch[e.path.0 as usize..e.path.1 as usize];
        self.extras.sort_by(|a, b| compare_paths(path(a), path(b)));
    }

    /// Remembers which fields are set, to undo a grammar that failed half-way.
    pub fn snapshot(&self) -> Mark {
        Mark {
            present: self.present,
            extras: self.extras.len(),
        }
    }

    /// Forgets every field set since `mark` was taken.
    pub fn restore(&mut self, mark: Mark) {
        self.present = mark.present;
        self.extras.truncate(mark.extras);
    }

    /// Keeps only the fields in `keep`.
    pub fn retain(&mut self, keep: &[Field]) {
        let mask = keep.iter().fold(0, |mask, field| mask | field.bit());
        self.present &= mask;
        self.extras.clear();
    }

    /// Appends a tag (at most four; a fifth is ignored, as no path adds that many).
    pub fn tag(&mut self, tag: &'static str) {
        if self.tag_count < self.tags.len() && !self.tags[..self.tag_count].contains(&tag) {
            self.tags[self.tag_count] = tag;
            self.tag_count += 1;
        }
        self.set(Field::Tags, Value::Tags);
    }

    /// Copies `bytes` into scratch and returns the value that refers to them.
    pub fn scratch_text(&mut self, bytes: &[u8]) -> Value<'a> {
        let start = self.scratch.len() as u32;
        self.scratch.extend_from_slice(bytes);
        Value::Scratch(start, self.scratch.len() as u32)
    }

    /// Runs `write` to append text to scratch and returns the value that refers to it.
    pub fn scratch_with(&mut self, write: impl FnOnce(&mut Vec<u8>)) -> Value<'a> {
        let start = self.scratch.len() as u32;
        write(&mut self.scratch);
        Value::Scratch(start, self.scratch.len() as u32)
    }

    pub fn scratch_slice(&self, range: (u32, u32)) -> &[u8] {
        &self.scratch[range.0 as usize..range.1 as usize]
    }

    /// Present known fields in table order.
    pub fn present(&self) -> impl Iterator<Item = (Field, Value<'a>)> + '_ {
        let mut bits = self.present;
        std::iter::from_fn(move || {
            if bits == 0 {
                return None;
            }
            let index = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            Some((ALL_FIELDS[index], self.values[index]))
        })
    }

    pub fn into_scratch(self) -> Vec<u8> {
        self.scratch
    }
}

/// Orders dotted paths segment by segment (`a.b` before `a-c`), as nesting needs.
///
/// That order is the byte order with `.` ranked below every other byte: up to
/// the first byte where the paths differ they share their segments, and there
/// either both bytes lie inside a segment (ordinary byte order), or one path's
/// segment ends (a dot, or the path's end) where the other's goes on, and the
/// shorter segment comes first. So one pass finds the first difference and ranks
/// only that pair, with no splitting.
pub fn compare_paths(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let rank = |byte: u8| if byte == b'.' { 0 } else { u16::from(byte) + 1 };
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(at) => rank(a[at]).cmp(&rank(b[at])),
        None => a.len().cmp(&b.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_by_segments() {
        assert!(FIELDS.len() <= 64, "present bits are a u64");
        for pair in FIELDS.windows(2) {
            assert_eq!(
                compare_paths(pair[0].path.as_bytes(), pair[1].path.as_bytes()),
                std::cmp::Ordering::Less,
                "{} must come before {}",
                pair[0].path,
                pair[1].path
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn path_order_is_segment_order(
            a in "[a-c.\\-_@0]{0,8}",
            b in "[a-c.\\-_@0]{0,8}",
        ) {
            let by_segments = a.as_bytes().split(|c| *c == b'.').cmp(b.as_bytes().split(|c| *c == b'.'));
            proptest::prop_assert_eq!(compare_paths(a.as_bytes(), b.as_bytes()), by_segments);
        }
    }

    #[test]
    fn paths_round_trip() {
        for (i, def) in FIELDS.iter().enumerate() {
            assert_eq!(Field::from_path(def.path).map(|f| f as usize), Some(i));
        }
        assert_eq!(Field::from_path("huawei.unknown"), None);
    }

    #[test]
    fn ip_values_round_trip() {
        for text in [
            "192.0.2.1",
            "0.0.0.0",
            "2001:db8::1",
            "::ffff:1.2.3.4",
            "ffff::",
        ] {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(Value::ip(ip).as_ip(), Some(ip), "{text}");
        }
        assert_eq!(Value::Unsigned(1).as_ip(), None);
    }

    #[test]
    fn present_fields_come_in_table_order() {
        let mut doc = Doc::new(Vec::new());
        doc.set(Field::SourceIp, Value::Static("x"));
        doc.set(Field::Timestamp, Value::Static("t"));
        doc.set(Field::EventCode, Value::Static("c"));
        let order: Vec<Field> = doc.present().map(|(f, _)| f).collect();
        assert_eq!(order, [Field::Timestamp, Field::EventCode, Field::SourceIp]);
    }
}
