//! Capture inputs: pcap and pcapng files of syslog over UDP and TCP.
//!
//! Both formats are read here, by hand, as a stream of blocks: the formats are
//! small, and a crate would bring a second way of reading bytes for two headers.
//! pcap is a global header and then (time, length, frame) records; pcapng is a
//! run of typed blocks, in sections that each fix their byte order, with the link
//! type and time resolution carried per interface.
//!
//! Each frame goes through [`super::packet`]; a UDP payload that begins like a
//! syslog PRI (`<` and a digit) becomes a record, stamped with the capture time
//! and the sender's address. TCP segments are reassembled per flow and framed
//! by [`super::stream`]. Everything else (other traffic, fragments) is skipped
//! and counted. A capture cut short in its last record, as a killed tcpdump
//! leaves it, ends there without an error.

use std::io::{self, Read};

use super::packet::{self, Transport};
use super::stream::Flows;
use super::{Record, ReplayError, MAX_MESSAGE_BYTES};

/// Largest block or record accepted; a larger length is a corrupt file, not a
/// frame, and would otherwise make us allocate it.
const MAX_BLOCK_BYTES: usize = 16 * 1024 * 1024;

const PCAPNG_SECTION_HEADER: u32 = 0x0a0d_0d0a;
const PCAPNG_INTERFACE: u32 = 1;
const PCAPNG_SIMPLE_PACKET: u32 = 3;
const PCAPNG_ENHANCED_PACKET: u32 = 6;
const PCAPNG_BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;
const PCAPNG_OPTION_END: u16 = 0;
const PCAPNG_OPTION_TSRESOL: u16 = 9;

/// One captured frame, borrowed from the reader's buffer.
struct Frame {
    linktype: u32,
    /// Capture time, if the format records one (pcapng simple packets do not).
    at: Option<jiff::Timestamp>,
    /// Where the frame lies in the reader's buffer.
    start: usize,
    end: usize,
}

#[derive(Debug, Clone, Copy)]
enum Format {
    Pcap {
        big_endian: bool,
        nanoseconds: bool,
        linktype: u32,
    },
    Pcapng {
        big_endian: bool,
    },
}

/// A pcapng interface: its link type and ticks per second.
#[derive(Debug, Clone, Copy)]
struct Interface {
    linktype: u32,
    ticks_per_second: u64,
}

/// Reads the syslog messages of a capture.
pub struct CaptureReader<R: Read> {
    reader: R,
    format: Format,
    interfaces: Vec<Interface>,
    buffer: Vec<u8>,
    offset: u64,
    skipped: u64,
    flows: Flows,
    is_finished: bool,
}

impl<R: Read> CaptureReader<R> {
    /// Reads the file header (pcap) or leaves the first section header to
    /// `next_record` (pcapng).
    pub fn new(mut reader: R) -> Result<CaptureReader<R>, ReplayError> {
        let mut magic = [0; 4];
        reader.read_exact(&mut magic)?;
        let format = match magic {
            [0x0a, 0x0d, 0x0d, 0x0a] => Format::Pcapng { big_endian: false },
            _ => {
                let (big_endian, nanoseconds) = match magic {
                    [0xd4, 0xc3, 0xb2, 0xa1] => (false, false),
                    [0xa1, 0xb2, 0xc3, 0xd4] => (true, false),
                    [0x4d, 0x3c, 0xb2, 0xa1] => (false, true),
                    [0xa1, 0xb2, 0x3c, 0x4d] => (true, true),
                    _ => return Err(format_error("pcap", 0, "a pcap or pcapng magic number")),
                };
                // Version, zone, accuracy and snap length, then the link type.
                let mut header = [0; 20];
                reader.read_exact(&mut header)?;
                let linktype = u32_at(&header, 16, big_endian);
                Format::Pcap {
                    big_endian,
                    nanoseconds,
                    linktype,
                }
            }
        };
        let mut capture = CaptureReader {
            reader,
            format,
            interfaces: Vec::new(),
            buffer: Vec::new(),
            offset: 24,
            skipped: 0,
            flows: Flows::default(),
            is_finished: false,
        };
        if let Format::Pcapng { .. } = format {
            capture.offset = 0;
            capture.read_section_header(magic)?;
        }
        Ok(capture)
    }

    /// Frames that held no syslog message, and gaps in TCP flows given up on.
    pub fn skipped(&self) -> u64 {
        self.skipped + self.flows.skipped + self.flows.lost
    }

    pub fn next_record(&mut self) -> Result<Option<Record>, ReplayError> {
        loop {
            if let Some(record) = self.flows.pop() {
                return Ok(Some(record));
            }
            if self.is_finished {
                return Ok(None);
            }
            let Some(frame) = self.next_frame()? else {
                self.is_finished = true;
                self.flows.finish();
                if self.flows.lost > 0 {
                    tracing::warn!(
                        gaps = self.flows.lost,
                        "TCP flows in the capture had missing segments; messages around them are lost."
                    );
                }
                continue;
            };
            let bytes = &self.buffer[frame.start..frame.end];
            let datagram = match packet::transport(frame.linktype, bytes) {
                Some(Transport::Udp(datagram)) => datagram,
                Some(Transport::Tcp(segment)) => {
                    self.flows.segment(&segment, frame.at);
                    continue;
                }
                None => {
                    self.skipped += 1;
                    continue;
                }
            };
            if !looks_like_syslog(datagram.payload) {
                self.skipped += 1;
                continue;
            }
            let line = crate::syslog::trim_line_ending(datagram.payload);
            let line = &line[..line.len().min(MAX_MESSAGE_BYTES)];
            return Ok(Some(Record {
                line: line.to_vec(),
                received: frame.at,
                peer: Some(datagram.source),
            }));
        }
    }

    /// The next captured frame, `None` at the end (or a cut last record).
    fn next_frame(&mut self) -> Result<Option<Frame>, ReplayError> {
        match self.format {
            Format::Pcap {
                big_endian,
                nanoseconds,
                linktype,
            } => {
                let mut header = [0; 16];
                if !self.read_or_end(&mut header)? {
                    return Ok(None);
                }
                let seconds = u32_at(&header, 0, big_endian);
                let fraction = u32_at(&header, 4, big_endian);
                let captured = u32_at(&header, 8, big_endian) as usize;
                let nanos = if nanoseconds {
                    fraction
                } else {
                    fraction.saturating_mul(1000)
                };
                if !self.read_body(captured, "pcap")? {
                    return Ok(None);
                }
                Ok(Some(Frame {
                    linktype,
                    at: jiff::Timestamp::new(seconds.into(), nanos.min(999_999_999) as i32).ok(),
                    start: 0,
                    end: captured,
                }))
            }
            Format::Pcapng { .. } => self.next_pcapng_frame(),
        }
    }

    fn next_pcapng_frame(&mut self) -> Result<Option<Frame>, ReplayError> {
        loop {
            let mut head = [0; 8];
            if !self.read_or_end(&mut head)? {
                return Ok(None);
            }
            let block_type = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
            if block_type == PCAPNG_SECTION_HEADER {
                // A new section: new byte order, new interfaces.
                self.read_section_header_after(head)?;
                continue;
            }
            let big_endian = self.big_endian();
            let block_type = u32_at(&head, 0, big_endian);
            let total = u32_at(&head, 4, big_endian) as usize;
            if total < 12 || total % 4 != 0 {
                return Err(format_error("pcapng", self.offset - 8, "a block length"));
            }
            // The body, then the trailing copy of the length.
            if !self.read_body(total - 8, "pcapng")? {
                return Ok(None);
            }
            let body_bytes = total - 12;
            match block_type {
                PCAPNG_INTERFACE => {
                    let interface = parse_interface(&self.buffer[..body_bytes], big_endian)
                        .ok_or_else(|| format_error("pcapng", self.offset, "an interface"))?;
                    self.interfaces.push(interface);
                }
                PCAPNG_ENHANCED_PACKET => {
                    let body = &self.buffer[..body_bytes];
                    if body.len() < 20 {
                        return Err(format_error("pcapng", self.offset, "a packet block"));
                    }
                    let index = u32_at(body, 0, big_endian) as usize;
                    let ticks = (u64::from(u32_at(body, 4, big_endian)) << 32)
                        | u64::from(u32_at(body, 8, big_endian));
                    let captured = (u32_at(body, 12, big_endian) as usize).min(body.len() - 20);
                    let Some(interface) = self.interfaces.get(index).copied() else {
                        return Err(format_error("pcapng", self.offset, "a known interface"));
                    };
                    return Ok(Some(Frame {
                        linktype: interface.linktype,
                        at: ticks_to_timestamp(ticks, interface.ticks_per_second),
                        start: 20,
                        end: 20 + captured,
                    }));
                }
                PCAPNG_SIMPLE_PACKET => {
                    let Some(interface) = self.interfaces.first().copied() else {
                        return Err(format_error("pcapng", self.offset, "a known interface"));
                    };
                    let body = &self.buffer[..body_bytes];
                    if body.len() < 4 {
                        return Err(format_error("pcapng", self.offset, "a packet block"));
                    }
                    let original = u32_at(body, 0, big_endian) as usize;
                    return Ok(Some(Frame {
                        linktype: interface.linktype,
                        at: None,
                        start: 4,
                        end: 4 + original.min(body.len() - 4),
                    }));
                }
                // Statistics, name resolution, custom and obsolete blocks.
                _ => {}
            }
        }
    }

    fn big_endian(&self) -> bool {
        match self.format {
            Format::Pcapng { big_endian } | Format::Pcap { big_endian, .. } => big_endian,
        }
    }

    /// Reads a section header block whose type bytes were already read.
    fn read_section_header(&mut self, type_bytes: [u8; 4]) -> Result<(), ReplayError> {
        let mut length = [0; 4];
        self.reader.read_exact(&mut length)?;
        let mut head = [0; 8];
        head[..4].copy_from_slice(&type_bytes);
        head[4..].copy_from_slice(&length);
        self.offset += 8;
        self.read_section_header_after(head)
    }

    /// Reads the rest of a section header block after its type and length.
    fn read_section_header_after(&mut self, head: [u8; 8]) -> Result<(), ReplayError> {
        let mut magic = [0; 4];
        self.reader.read_exact(&mut magic)?;
        self.offset += 4;
        let big_endian = match u32::from_le_bytes(magic) {
            PCAPNG_BYTE_ORDER_MAGIC => false,
            m if m.swap_bytes() == PCAPNG_BYTE_ORDER_MAGIC => true,
            _ => {
                return Err(format_error(
                    "pcapng",
                    self.offset - 4,
                    "a byte-order magic",
                ))
            }
        };
        let total = u32_at(&head, 4, big_endian) as usize;
        if total < 28 || total % 4 != 0 {
            return Err(format_error("pcapng", self.offset - 8, "a section length"));
        }
        if !self.read_body(total - 12, "pcapng")? {
            return Err(format_error(
                "pcapng",
                self.offset,
                "a whole section header",
            ));
        }
        self.format = Format::Pcapng { big_endian };
        self.interfaces.clear();
        Ok(())
    }

    /// Fills `out`; `false` at a clean end of input before the first byte.
    fn read_or_end(&mut self, out: &mut [u8]) -> Result<bool, ReplayError> {
        let mut filled = 0;
        while filled < out.len() {
            match self.reader.read(&mut out[filled..]) {
                Ok(0) if filled == 0 => return Ok(false),
                // A record header cut at the end of the file: the end.
                Ok(0) => return Ok(false),
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.offset += out.len() as u64;
        Ok(true)
    }

    /// Reads `bytes` into the buffer; `false` when the input ends first.
    fn read_body(&mut self, bytes: usize, format: &'static str) -> Result<bool, ReplayError> {
        if bytes > MAX_BLOCK_BYTES {
            return Err(format_error(format, self.offset, "a record under 16 MiB"));
        }
        self.buffer.clear();
        let read = (&mut self.reader)
            .take(bytes as u64)
            .read_to_end(&mut self.buffer)?;
        self.offset += read as u64;
        Ok(read == bytes)
    }
}

/// A UDP payload that begins with `<` and a digit: the start of a PRI.
fn looks_like_syslog(payload: &[u8]) -> bool {
    matches!(payload, [b'<', digit, ..] if digit.is_ascii_digit())
}

fn parse_interface(body: &[u8], big_endian: bool) -> Option<Interface> {
    let linktype = u32::from(u16_at(body.get(..2)?, 0, big_endian));
    let mut ticks_per_second = 1_000_000;
    let mut options = body.get(8..)?;
    while options.len() >= 4 {
        let code = u16_at(options, 0, big_endian);
        let length = usize::from(u16_at(options, 2, big_endian));
        if code == PCAPNG_OPTION_END {
            break;
        }
        let value = options.get(4..4 + length)?;
        if code == PCAPNG_OPTION_TSRESOL && length == 1 {
            // High bit clear: a power of ten; set: a power of two.
            let exponent = u32::from(value[0] & 0x7f);
            ticks_per_second = if value[0] & 0x80 == 0 {
                10u64.checked_pow(exponent)?
            } else {
                1u64.checked_shl(exponent)?
            };
        }
        options = options
            .get(4 + length.div_ceil(4) * 4..)
            .unwrap_or_default();
    }
    Some(Interface {
        linktype,
        ticks_per_second,
    })
}

fn ticks_to_timestamp(ticks: u64, ticks_per_second: u64) -> Option<jiff::Timestamp> {
    if ticks_per_second == 0 {
        return None;
    }
    let seconds = ticks / ticks_per_second;
    let nanos = u128::from(ticks % ticks_per_second) * 1_000_000_000 / u128::from(ticks_per_second);
    jiff::Timestamp::new(i64::try_from(seconds).ok()?, nanos as i32).ok()
}

fn u32_at(bytes: &[u8], at: usize, big_endian: bool) -> u32 {
    let word = [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
    if big_endian {
        u32::from_be_bytes(word)
    } else {
        u32::from_le_bytes(word)
    }
}

fn u16_at(bytes: &[u8], at: usize, big_endian: bool) -> u16 {
    let half = [bytes[at], bytes[at + 1]];
    if big_endian {
        u16::from_be_bytes(half)
    } else {
        u16::from_le_bytes(half)
    }
}

fn format_error(format: &'static str, offset: u64, expected: &'static str) -> ReplayError {
    ReplayError::Format {
        format,
        offset,
        expected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Raw-IP frame (link type 101) of a UDP datagram from 192.0.2.9 to port 514.
    fn udp_frame(payload: &[u8]) -> Vec<u8> {
        let total = 28 + payload.len();
        let mut frame = vec![
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0,
            0,
            0,
            0,
            64,
            17,
            0,
            0,
        ];
        frame.extend_from_slice(&[192, 0, 2, 9, 127, 0, 0, 1, 0x9c, 0x40, 0x02, 0x02]);
        let udp = 8 + payload.len();
        frame.extend_from_slice(&[(udp >> 8) as u8, udp as u8, 0, 0]);
        frame.extend_from_slice(payload);
        frame
    }

    fn pcap(big_endian: bool, frames: &[(u32, u32, Vec<u8>)]) -> Vec<u8> {
        let word = |n: u32| {
            if big_endian {
                n.to_be_bytes()
            } else {
                n.to_le_bytes()
            }
        };
        let mut file = word(0xa1b2_c3d4).to_vec();
        file.extend_from_slice(&word(0x0004_0002)[..]); // Version, in two halves.
        file.extend_from_slice(&[0; 8]);
        file.extend_from_slice(&word(65535));
        file.extend_from_slice(&word(101));
        for (seconds, micros, frame) in frames {
            for n in [*seconds, *micros, frame.len() as u32, frame.len() as u32] {
                file.extend_from_slice(&word(n));
            }
            file.extend_from_slice(frame);
        }
        file
    }

    fn all(file: &[u8]) -> (Vec<Record>, u64) {
        let mut reader = CaptureReader::new(file).unwrap();
        let mut records = Vec::new();
        while let Some(record) = reader.next_record().unwrap() {
            records.push(record);
        }
        (records, reader.skipped())
    }

    #[test]
    fn reads_pcap_in_both_byte_orders() {
        for big_endian in [false, true] {
            let file = pcap(
                big_endian,
                &[
                    (1_753_236_672, 250_000, udp_frame(b"<13>first\n")),
                    (1_753_236_673, 0, udp_frame(b"not syslog")),
                    (1_753_236_674, 0, udp_frame(b"<14>second")),
                ],
            );
            let (records, skipped) = all(&file);
            assert_eq!(records.len(), 2);
            assert_eq!(records[0].line, b"<13>first");
            assert_eq!(
                records[0].received,
                Some("2025-07-23T02:11:12.25Z".parse().unwrap())
            );
            assert_eq!(records[0].peer, Some("192.0.2.9".parse().unwrap()));
            assert_eq!(records[1].line, b"<14>second");
            assert_eq!(skipped, 1);
        }
    }

    #[test]
    fn a_cut_last_record_ends_the_capture() {
        let mut file = pcap(
            false,
            &[(1, 0, udp_frame(b"<13>a")), (2, 0, udp_frame(b"<13>b"))],
        );
        file.truncate(file.len() - 3);
        let (records, _) = all(&file);
        assert_eq!(records.len(), 1);
    }

    fn pcapng_block(block_type: u32, body: &[u8]) -> Vec<u8> {
        let padded = body.len().div_ceil(4) * 4;
        let total = (12 + padded) as u32;
        let mut block = block_type.to_le_bytes().to_vec();
        block.extend_from_slice(&total.to_le_bytes());
        block.extend_from_slice(body);
        block.resize(8 + padded, 0);
        block.extend_from_slice(&total.to_le_bytes());
        block
    }

    #[test]
    fn reads_pcapng_with_nanosecond_interfaces() {
        let mut section = PCAPNG_BYTE_ORDER_MAGIC.to_le_bytes().to_vec();
        section.extend_from_slice(&[1, 0, 0, 0]);
        section.extend_from_slice(&u64::MAX.to_le_bytes());
        let mut interface = 101u16.to_le_bytes().to_vec();
        interface.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        interface.extend_from_slice(&[9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0]);
        let ticks: u64 = 1_753_236_672_000_000_001;
        let frame = udp_frame(b"<13>ng");
        let mut packet = 0u32.to_le_bytes().to_vec();
        packet.extend_from_slice(&((ticks >> 32) as u32).to_le_bytes());
        packet.extend_from_slice(&(ticks as u32).to_le_bytes());
        packet.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        packet.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        packet.extend_from_slice(&frame);

        let mut file = pcapng_block(PCAPNG_SECTION_HEADER, &section);
        file.extend(pcapng_block(PCAPNG_INTERFACE, &interface));
        file.extend(pcapng_block(5, &[0; 8])); // Statistics: skipped.
        file.extend(pcapng_block(PCAPNG_ENHANCED_PACKET, &packet));
        let (records, _) = all(&file);
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].line, b"<13>ng");
        assert_eq!(
            records[0].received,
            Some("2025-07-23T02:11:12.000000001Z".parse().unwrap())
        );
    }

    #[test]
    fn refuses_absurd_lengths() {
        let mut file = pcap(false, &[]);
        file.extend_from_slice(&[0; 8]);
        file.extend_from_slice(&u32::MAX.to_le_bytes());
        file.extend_from_slice(&u32::MAX.to_le_bytes());
        let mut reader = CaptureReader::new(&file[..]).unwrap();
        assert!(reader.next_record().is_err());
    }
}
