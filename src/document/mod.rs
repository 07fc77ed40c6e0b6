//! Turns one received frame into one JSON document (the fields of SCHEMA.md).
//!
//! The last pure stage of the flow: it runs the syslog header parser, picks and runs a
//! vendor grammar, resolves times, derives the sums, and writes nested JSON straight
//! into the caller's buffer. Every frame becomes exactly one document, whatever its
//! bytes: a stage that fails leaves a document with the raw line in `event.original`,
//! a tag ending in `parse_failure` and an `error.message` saying what failed where.
//!
//! Per message nothing is allocated on the common path: parsed values borrow from the
//! frame, and the few owned bytes (lower-cased names, error text) go to a per-thread
//! scratch buffer that is reused.

mod fields;
mod json;
mod output;

use std::cell::RefCell;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

pub use fields::{compare_paths, Doc, Extra, Field, FieldDef, FieldType, Value, FIELDS};
pub use json::{write_ip, write_string};

use crate::syslog::{self, facility_name, severity_name, Message};
use crate::time::{Clock, Instant, Zone};
use crate::vendor::{self, Applied, ExecContext, GrammarError, Grammars};

/// Everything the pipeline knows about a message besides its bytes.
#[derive(Debug, Clone, Copy)]
pub struct Received {
    /// When nat-ingest received the message (`event.created`).
    pub at: jiff::Timestamp,
    /// The address the datagram or connection came from (`observer.ip` fallback).
    pub peer: Option<IpAddr>,
    /// The framer cut this frame at the size limit; the document is tagged.
    pub truncated: bool,
    /// The octet count in front of this frame was invalid, so the framer read it
    /// up to its delimiter instead; the document is tagged.
    pub misframed: bool,
}

/// Which kind of document a message became.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dataset {
    /// A grammar read (or failed to read) a session record; `event.dataset` is the
    /// grammar's own (`huawei.session` for the built-in ones).
    HuaweiSession,
    /// A Huawei message no grammar reads (`huawei.log`).
    HuaweiLog,
    /// Any other syslog message (`syslog`).
    Syslog,
}

/// What [`Encoder::encode`] learned about the message, for routing and counting.
#[derive(Debug, Clone, Copy)]
pub struct Encoded {
    /// The document's `@timestamp`.
    pub timestamp: jiff::Timestamp,
    pub dataset: Dataset,
    /// The failure tag, e.g. `_nat_parse_failure`, when a stage failed.
    pub failure: Option<&'static str>,
    /// [`fingerprint`] of the message: the same line from the same sender always has
    /// the same one, so it makes a document id that retries and replays cannot
    /// duplicate. `None` when the encoder was set up without document ids
    /// ([`EncoderSettings::document_ids`]), for sinks that name no documents.
    pub fingerprint: Option<u128>,
}

impl Encoded {
    /// The fingerprint a sink names `document` by: the message's, or, from an
    /// encoder set up without ids, the document's own (unique per document, but a
    /// replay of the same line gets another one).
    pub fn fingerprint_or_of(&self, document: &[u8]) -> u128 {
        self.fingerprint
            .unwrap_or_else(|| fingerprint(document, None))
    }
}

/// A 128-bit hash (XXH3) of the sender's address and the line without its ending.
///
/// Stable across versions: changing it would give replayed messages new ids. The
/// receive time is deliberately not part of it, so a replay of last month's capture
/// meets the documents it already wrote. Two byte-identical lines from one sender
/// share a fingerprint; Huawei lines carry a sequence number or distinct ports and
/// times, so in practice only true duplicates do.
pub fn fingerprint(frame: &[u8], peer: Option<IpAddr>) -> u128 {
    /// Lines up to this long are hashed in one call over a copy on the stack,
    /// which is cheaper than setting up the streaming hasher (and gives the same
    /// digest: XXH3's streaming form is defined to equal the one-shot one).
    const ONE_SHOT_BYTES: usize = 512;

    let line = syslog::trim_line_ending(frame);
    let sender = match peer {
        Some(IpAddr::V4(v4)) => v4.to_ipv6_mapped().octets(),
        Some(IpAddr::V6(v6)) => v6.octets(),
        None => [0; 16],
    };
    if line.len() <= ONE_SHOT_BYTES {
        let mut input = [0u8; 16 + ONE_SHOT_BYTES];
        input[..16].copy_from_slice(&sender);
        input[16..16 + line.len()].copy_from_slice(line);
        return xxhash_rust::xxh3::xxh3_128(&input[..16 + line.len()]);
    }
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(&sender);
    hasher.update(line);
    hasher.digest128()
}

/// Tag of a document whose syslog header could not be read.
pub const SYSLOG_FAILURE_TAG: &str = "_syslog_parse_failure";
/// Tag of a document whose frame was cut at the size limit.
pub const TRUNCATED_TAG: &str = "_frame_truncated";
/// Tag of a document whose frame came with an invalid octet count.
pub const MISFRAMED_TAG: &str = "_frame_octet_count_invalid";
/// Tag of a document in which invalid UTF-8 was replaced by U+FFFD.
pub const INVALID_UTF8_TAG: &str = "_invalid_utf8_replaced";

/// Settings the encoder needs: zone, reference time, grammars.
#[derive(Debug, Clone)]
pub struct EncoderSettings {
    /// Zone of device-local times without an offset. Default: the host's zone.
    pub zone: Zone,
    /// A fixed reference time for year inference instead of each receive time.
    pub fixed_reference: Option<jiff::Timestamp>,
    pub grammars: Arc<Grammars>,
    /// Write `event.original` on every document (failures always carry it).
    pub keep_original: bool,
    /// Compute each message's [`fingerprint`] for [`Encoded::fingerprint`]: the
    /// Elasticsearch and Kafka sinks name documents by it; `parse` and the
    /// archive do not, and save the hash (a few percent of the encoding time).
    pub document_ids: bool,
}

/// A setting the encoder cannot use.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("time zone")]
    Zone(#[from] crate::time::ZoneError),
    #[error("reference time {0:?} is not an RFC 3339 time")]
    ReferenceTime(String),
    #[error("grammar")]
    Grammar(#[from] GrammarError),
}

impl Default for EncoderSettings {
    fn default() -> EncoderSettings {
        EncoderSettings {
            zone: Zone::system(),
            fixed_reference: None,
            // The built-in grammars are compiled in and checked by the test suite.
            grammars: Arc::new(Grammars::built_in().expect("built-in grammars compile")),
            keep_original: true,
            document_ids: true,
        }
    }
}

impl EncoderSettings {
    /// From the user's words: a zone name or offset (default: the host's), an RFC 3339
    /// reference time, a grammar directory. Document ids are on; a caller whose
    /// sink names no documents turns them off.
    pub fn from_options(
        timezone: Option<&str>,
        reference_time: Option<&str>,
        grammars: Option<&Path>,
        keep_original: bool,
    ) -> Result<EncoderSettings, SettingsError> {
        let zone = match timezone {
            Some(name) => Zone::parse(name)?,
            None => Zone::system(),
        };
        let fixed_reference = match reference_time {
            Some(text) => Some(
                text.parse::<jiff::Timestamp>()
                    .map_err(|_| SettingsError::ReferenceTime(text.to_string()))?,
            ),
            None => None,
        };
        let grammars = Arc::new(Grammars::load(grammars)?);
        Ok(EncoderSettings {
            zone,
            fixed_reference,
            grammars,
            keep_original,
            document_ids: true,
        })
    }
}

/// Parses frames and writes documents. `Send + Sync`: share one behind an `Arc`.
#[derive(Debug)]
pub struct Encoder {
    clock: Clock,
    grammars: Arc<Grammars>,
    keep_original: bool,
    document_ids: bool,
}

thread_local! {
    /// Owned bytes of the document being built, reused from message to message.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Room reserved for a document's keys, braces, numbers and times, on top of the
/// text it copies from the line; an estimate, which the writer grows past if needed.
const EXPECTED_STRUCTURE_BYTES: usize = 1024;

/// Scratch buffers larger than this are not kept between messages.
const MAX_KEPT_SCRATCH_BYTES: usize = 64 * 1024;

impl Encoder {
    pub fn new(settings: EncoderSettings) -> Encoder {
        let fixed_reference = settings.fixed_reference.map(Instant::from_timestamp);
        Encoder {
            clock: Clock {
                zone: settings.zone,
                fixed_reference,
            },
            grammars: settings.grammars,
            keep_original: settings.keep_original,
            document_ids: settings.document_ids,
        }
    }

    pub fn grammars(&self) -> &Grammars {
        &self.grammars
    }

    /// Parses `frame` and appends exactly one JSON object (no trailing newline) to `out`.
    pub fn encode(&self, frame: &[u8], received: &Received, out: &mut Vec<u8>) -> Encoded {
        let scratch = SCRATCH.with(|cell| std::mem::take(&mut *cell.borrow_mut()));
        let mut doc = Doc::new(scratch);
        let encoded = self.build(frame, received, &mut doc);
        // The line (twice: event.original and message) and the fields' structure.
        let expected_bytes = 2 * frame.len() + EXPECTED_STRUCTURE_BYTES;
        let written = json::write_doc(&mut doc, out, expected_bytes);
        if written.replaced_invalid_utf8 {
            // The tag goes in after the fact: rewrite with it (rare: invalid UTF-8 only).
            out.truncate(out.len() - written.bytes);
            doc.tag(INVALID_UTF8_TAG);
            json::write_doc(&mut doc, out, expected_bytes);
        }
        let mut scratch = doc.into_scratch();
        if scratch.capacity() <= MAX_KEPT_SCRATCH_BYTES {
            scratch.clear();
            SCRATCH.with(|cell| *cell.borrow_mut() = scratch);
        }
        encoded
    }

    fn build<'a>(&'a self, frame: &'a [u8], received: &Received, doc: &mut Doc<'a>) -> Encoded {
        let line = syslog::trim_line_ending(frame);
        if !json::needs_escaping(line) {
            doc.set_clean_frame(line);
        }
        let received_at = Instant::from_timestamp(received.at);
        doc.set(Field::EventCreated, Value::Time(received_at));
        doc.set(Field::Timestamp, Value::Time(received_at));
        if let Some(peer) = received.peer {
            doc.set(Field::ObserverIp, Value::ip(peer));
        }
        if received.truncated {
            doc.tag(TRUNCATED_TAG);
        }
        if received.misframed {
            doc.tag(MISFRAMED_TAG);
        }
        if self.keep_original {
            doc.set(Field::EventOriginal, Value::Text(line));
        }

        let mut encoded = Encoded {
            timestamp: received.at,
            dataset: Dataset::Syslog,
            failure: None,
            fingerprint: self.document_ids.then(|| fingerprint(line, received.peer)),
        };
        let message = match syslog::parse(line) {
            Ok(message) => message,
            Err(error) => {
                let text = doc.scratch_with(|s| write_error(s, "syslog header", &error));
                self.fail(
                    doc,
                    line,
                    SYSLOG_FAILURE_TAG,
                    text,
                    Dataset::Syslog,
                    &mut encoded,
                );
                doc.set(Field::EventDataset, Value::Static("syslog"));
                return encoded;
            }
        };

        self.header_fields(&message, doc);
        let reference = self.clock.reference(received_at);
        let offset = message
            .stamp
            .and_then(|s| s.time)
            .and_then(|t| t.offset_seconds);
        if let Some(time) = message.stamp.and_then(|s| s.time) {
            match self.clock.resolve(&time, None, reference) {
                Ok(instant) => {
                    doc.set(Field::Timestamp, Value::Time(instant));
                    encoded.timestamp = to_timestamp(instant).unwrap_or(received.at);
                }
                Err(error) => {
                    let at = message.stamp_offset;
                    let text = doc.scratch_with(|s| {
                        use std::io::Write;
                        let _ = write!(s, "@timestamp: {error} (byte {at})");
                    });
                    let dataset = if message.huawei.is_some() {
                        Dataset::HuaweiLog
                    } else {
                        Dataset::Syslog
                    };
                    self.fail(doc, line, SYSLOG_FAILURE_TAG, text, dataset, &mut encoded);
                    doc.set(Field::EventDataset, Value::Static(dataset_name(dataset)));
                    return encoded;
                }
            }
        }

        let Some(huawei) = message.huawei else {
            doc.set(Field::EventDataset, Value::Static("syslog"));
            return encoded;
        };
        encoded.dataset = Dataset::HuaweiLog;
        doc.set(Field::EventDataset, Value::Static("huawei.log"));
        let Some(grammar) = self.grammars.choose(huawei.module, huawei.brief) else {
            return encoded;
        };

        let context = ExecContext {
            clock: &self.clock,
            header_offset: offset,
            reference,
            message_kind: huawei.brief,
        };
        let mark = doc.snapshot();
        match vendor::run(
            grammar,
            huawei.grammar_body,
            huawei.grammar_body_offset,
            &context,
            doc,
        ) {
            Ok(Applied::NotApplicable) => {}
            Ok(Applied::Read) => {
                encoded.dataset = Dataset::HuaweiSession;
                doc.set(Field::EventDataset, Value::Static(grammar.dataset));
                derive_session_fields(doc);
            }
            Err(failure) => {
                doc.restore(mark);
                let text = doc.scratch_with(|s| {
                    use std::io::Write;
                    let _ = write!(s, "{failure}");
                });
                self.fail(
                    doc,
                    line,
                    grammar.failure_tag,
                    text,
                    Dataset::HuaweiSession,
                    &mut encoded,
                );
                doc.set(Field::EventDataset, Value::Static(grammar.dataset));
            }
        }
        encoded
    }

    /// Marks the document failed: tag, error text, the raw line whatever the settings.
    fn fail<'a>(
        &self,
        doc: &mut Doc<'a>,
        line: &'a [u8],
        tag: &'static str,
        error_text: Value<'a>,
        dataset: Dataset,
        encoded: &mut Encoded,
    ) {
        doc.tag(tag);
        doc.set(Field::ErrorMessage, error_text);
        doc.set(Field::EventOriginal, Value::Text(line));
        encoded.failure = Some(tag);
        encoded.dataset = dataset;
    }

    fn header_fields<'a>(&self, message: &Message<'a>, doc: &mut Doc<'a>) {
        if let Some(priority) = message.priority {
            let (facility, severity) = (priority / 8, priority % 8);
            doc.set(Field::SyslogPriority, Value::Unsigned(priority as u64));
            doc.set(Field::SyslogFacilityCode, Value::Unsigned(facility as u64));
            doc.set(
                Field::SyslogFacilityName,
                Value::Static(facility_name(facility)),
            );
            doc.set(Field::SyslogSeverityCode, Value::Unsigned(severity as u64));
            doc.set(
                Field::SyslogSeverityName,
                Value::Static(severity_name(severity)),
            );
        }
        let optional = [
            (Field::SyslogHostname, message.hostname),
            (Field::SyslogAppname, message.appname),
            (Field::SyslogProcid, message.procid),
            (Field::SyslogMsgid, message.msgid),
        ];
        for (field, value) in optional {
            if let Some(value) = value {
                doc.set(field, Value::Text(value));
            }
        }
        if let Some(version) = message.version {
            let version = doc_number_text(doc, version);
            doc.set(Field::SyslogVersion, version);
        }
        if let Some(data) = message.structured_data {
            doc.set(Field::SyslogStructuredData, Value::StructuredData(data));
        }
        doc.set(Field::Message, Value::Text(message.body));

        if let Some(huawei) = &message.huawei {
            doc.set(Field::EventCode, Value::Text(huawei.code));
            doc.set(Field::ObserverVendor, Value::Static("Huawei"));
            if let Some(host) = message.hostname {
                doc.set(Field::ObserverHostname, Value::Text(host));
            }
            if let Some(flag) = huawei.flag {
                let flag = flag_value(flag, doc);
                doc.set(Field::HuaweiFlag, flag);
            }
            if let Some(sequence) = huawei.sequence {
                doc.set(Field::HuaweiSequence, Value::Unsigned(sequence));
            }
            if let Some(ip) = huawei.ip {
                doc.set(Field::ObserverIp, Value::Ipv4(ip.to_bits()));
            }
        }
    }
}

/// Sums and differences SCHEMA.md defines over the grammar's fields.
fn derive_session_fields(doc: &mut Doc<'_>) {
    let number = |doc: &Doc<'_>, field| match doc.get(field) {
        Some(Value::Unsigned(n)) => Some(n),
        _ => None,
    };
    let sums = [
        (
            Field::NetworkPackets,
            Field::SourcePackets,
            Field::DestinationPackets,
        ),
        (
            Field::NetworkBytes,
            Field::SourceBytes,
            Field::DestinationBytes,
        ),
    ];
    for (total, a, b) in sums {
        if let (Some(a), Some(b)) = (number(doc, a), number(doc, b)) {
            doc.set(total, Value::Unsigned(a.saturating_add(b)));
        }
    }
    if !doc.is_set(Field::EventDuration) {
        if let (Some(Value::Time(start)), Some(Value::Time(end))) =
            (doc.get(Field::EventStart), doc.get(Field::EventEnd))
        {
            let nanos = start.nanos_until(end);
            if let Ok(nanos) = i64::try_from(nanos) {
                doc.set(Field::EventDuration, Value::Signed(nanos));
            }
        }
    }
    if !doc.is_set(Field::NetworkType) {
        match doc.get(Field::SourceIp) {
            Some(Value::Ipv4(_)) => doc.set(Field::NetworkType, Value::Static("ipv4")),
            Some(Value::Ipv6(_)) => doc.set(Field::NetworkType, Value::Static("ipv6")),
            _ => {}
        }
    }
}

fn flag_value<'a>(flag: u8, doc: &mut Doc<'a>) -> Value<'a> {
    match flag {
        b'l' => Value::Static("l"),
        b's' => Value::Static("s"),
        b'd' => Value::Static("d"),
        b't' => Value::Static("t"),
        other => doc.scratch_text(&[other]),
    }
}

fn doc_number_text<'a>(doc: &mut Doc<'a>, n: u16) -> Value<'a> {
    doc.scratch_text(itoa::Buffer::new().format(n).as_bytes())
}

fn write_error(out: &mut Vec<u8>, stage: &str, error: &dyn std::fmt::Display) {
    use std::io::Write;
    let _ = write!(out, "{stage}: {error}");
}

fn dataset_name(dataset: Dataset) -> &'static str {
    match dataset {
        Dataset::HuaweiSession => "huawei.session",
        Dataset::HuaweiLog => "huawei.log",
        Dataset::Syslog => "syslog",
    }
}

fn to_timestamp(instant: Instant) -> Option<jiff::Timestamp> {
    jiff::Timestamp::new(instant.unix_seconds, instant.nanos as i32).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fingerprint is a document id: it must not change between versions.
    #[test]
    fn fingerprints_are_the_streaming_xxh3_of_sender_and_line() {
        let peer: IpAddr = "192.0.2.1".parse().unwrap();
        for len in [0, 1, 16, 17, 128, 129, 240, 241, 496, 497, 512, 513, 5000] {
            let line: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            let mut hasher = xxhash_rust::xxh3::Xxh3::new();
            hasher.update(
                &"::ffff:192.0.2.1"
                    .parse::<std::net::Ipv6Addr>()
                    .unwrap()
                    .octets(),
            );
            hasher.update(&line);
            assert_eq!(
                fingerprint(&line, Some(peer)),
                hasher.digest128(),
                "{len} bytes"
            );
        }
        // A fixed value, so that a change of hash (or of what it covers) shows.
        assert_eq!(
            fingerprint(b"<13>x", None),
            0x76f5c84c40e11ca2764abe93b63a8a02
        );
    }

    #[test]
    fn fingerprints_follow_line_and_sender_not_ending() {
        let peer = Some("192.0.2.1".parse().unwrap());
        let a = fingerprint(b"<13>x", peer);
        assert_eq!(a, fingerprint(b"<13>x\r\n", peer));
        assert_ne!(a, fingerprint(b"<13>y", peer));
        assert_ne!(a, fingerprint(b"<13>x", Some("192.0.2.2".parse().unwrap())));
        assert_ne!(a, fingerprint(b"<13>x", None));
    }
}
