//! TCP flows in a capture, reassembled and cut into syslog messages.
//!
//! Each direction of a connection is one flow, keyed by (sender, receiver).
//! Segments are put back in sequence order: a retransmitted or overlapping
//! segment contributes only the bytes not yet seen, and a segment ahead of a
//! gap waits until the gap fills. The contiguous bytes go through the same
//! [`Framer`] the TCP listener uses, so octet counting and LF/NUL framing are
//! told apart per flow exactly as `run` would.
//!
//! Only flows that start like syslog are kept: the first payload bytes must be
//! a PRI (`<` and a digit) or an octet count followed by one. Any other TCP
//! traffic in the capture is skipped and counted.
//!
//! What is lost, and why it is acceptable: when the capture missed a segment
//! (the gap never fills, or more than [`MAX_PENDING_BYTES`] wait behind it), the
//! flow skips over the gap and starts a fresh framer after it. The message cut
//! by the gap is lost and the gap is counted. An octet-counted flow whose next
//! count then lands in the middle of a message finds its footing again at the
//! next delimiter, as the listener's framer does, so the messages after a gap
//! (or after the start of a capture taken mid-connection) are kept.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;

use bytes::BytesMut;

use super::packet::Segment;
use super::{Record, MAX_MESSAGE_BYTES};
use crate::framing::Framer;

/// Bytes held behind a gap in one flow before the gap is given up on.
pub const MAX_PENDING_BYTES: usize = 4 * 1024 * 1024;

/// Flows tracked at once; past this, the oldest-started flow is closed.
const MAX_FLOWS: usize = 4096;

/// One direction of a TCP connection.
struct Flow {
    /// The sequence number of the next byte expected; `None` before any.
    next: Option<u32>,
    /// Segments ahead of `next`, by sequence number.
    pending: BTreeMap<u32, Vec<u8>>,
    pending_bytes: usize,
    buffer: BytesMut,
    framer: Framer,
    /// Whether the flow's first bytes looked like syslog; `None` until known.
    is_syslog: Option<bool>,
    /// Capture time of the segment being framed.
    at: Option<jiff::Timestamp>,
    /// Order in which flows started, for evicting the oldest.
    started: u64,
}

/// All the flows of one capture, and the messages cut from them.
#[derive(Default)]
pub struct Flows {
    flows: HashMap<(SocketAddr, SocketAddr), Flow>,
    ready: VecDeque<Record>,
    started: u64,
    /// Segments of flows that are not syslog.
    pub skipped: u64,
    /// Gaps skipped and flows whose framing broke.
    pub lost: u64,
}

impl Flows {
    /// Takes in one segment, captured at `at`.
    pub fn segment(&mut self, segment: &Segment<'_>, at: Option<jiff::Timestamp>) {
        let key = (segment.source, segment.destination);
        if !self.flows.contains_key(&key) && self.flows.len() >= MAX_FLOWS {
            self.evict_oldest();
        }
        let started = self.started;
        let flow = self.flows.entry(key).or_insert_with(|| Flow {
            next: None,
            pending: BTreeMap::new(),
            pending_bytes: 0,
            buffer: BytesMut::new(),
            framer: Framer::new(MAX_MESSAGE_BYTES),
            is_syslog: None,
            at: None,
            started,
        });
        self.started += 1;

        // A SYN fixes where the data starts; its own payload is not data.
        let mut sequence = segment.sequence;
        if segment.is_syn {
            flow.next = Some(sequence.wrapping_add(1));
            sequence = sequence.wrapping_add(1);
        }
        if !segment.payload.is_empty() && flow.is_syslog != Some(false) {
            flow.at = at;
            let next = *flow.next.get_or_insert(sequence);
            let ahead = sequence.wrapping_sub(next) as i32;
            if ahead > 0 {
                flow.pending_bytes += segment.payload.len();
                flow.pending.insert(sequence, segment.payload.to_vec());
            } else {
                accept(flow, next, sequence, segment.payload);
            }
            drain_pending(flow);
            if flow.pending_bytes > MAX_PENDING_BYTES {
                self.lost += 1;
                skip_gap(flow);
            }
            self.cut(key, false);
        }
        if self.flows.get(&key).and_then(|f| f.is_syslog) == Some(false) {
            self.skipped += 1;
        }

        if segment.is_end {
            self.close(key);
        }
    }

    /// Closes every flow: the end of the capture.
    pub fn finish(&mut self) {
        let keys: Vec<_> = self.flows.keys().copied().collect();
        for key in keys {
            self.close(key);
        }
    }

    /// The next message cut from any flow.
    pub fn pop(&mut self) -> Option<Record> {
        self.ready.pop_front()
    }

    /// Ends a flow: skips any gap left, then cuts the last messages.
    fn close(&mut self, key: (SocketAddr, SocketAddr)) {
        if let Some(flow) = self.flows.get_mut(&key) {
            while !flow.pending.is_empty() {
                self.lost += 1;
                skip_gap(flow);
            }
            self.cut(key, true);
        }
        self.flows.remove(&key);
    }

    fn evict_oldest(&mut self) {
        if let Some(key) = self
            .flows
            .iter()
            .min_by_key(|(_, flow)| flow.started)
            .map(|(key, _)| *key)
        {
            self.close(key);
        }
    }

    /// Cuts whatever whole messages the flow's buffer holds.
    fn cut(&mut self, key: (SocketAddr, SocketAddr), eof: bool) {
        let Some(flow) = self.flows.get_mut(&key) else {
            return;
        };
        if flow.is_syslog.is_none() && !flow.buffer.is_empty() {
            flow.is_syslog = Some(starts_like_syslog(&flow.buffer));
        }
        if flow.is_syslog != Some(true) {
            flow.buffer.clear();
            return;
        }
        loop {
            let frame = if eof {
                flow.framer.decode_eof(&mut flow.buffer)
            } else {
                flow.framer.decode(&mut flow.buffer)
            };
            match frame {
                Some(frame) => self.ready.push_back(Record {
                    line: frame.bytes.to_vec(),
                    received: flow.at,
                    peer: Some(key.0.ip()),
                }),
                None => return,
            }
        }
    }
}

/// Appends the part of a segment at `sequence` that lies at or after `next`.
fn accept(flow: &mut Flow, next: u32, sequence: u32, payload: &[u8]) {
    let seen = next.wrapping_sub(sequence) as usize;
    if seen < payload.len() {
        let fresh = &payload[seen..];
        flow.buffer.extend_from_slice(fresh);
        flow.next = Some(next.wrapping_add(fresh.len() as u32));
    }
}

/// Moves waiting segments that the data now reaches into the buffer.
fn drain_pending(flow: &mut Flow) {
    while let Some(next) = flow.next {
        let Some((&sequence, _)) = flow
            .pending
            .iter()
            .find(|(&sequence, _)| sequence.wrapping_sub(next) as i32 <= 0)
        else {
            return;
        };
        let payload = flow.pending.remove(&sequence).unwrap_or_default();
        flow.pending_bytes -= payload.len();
        accept(flow, next, sequence, &payload);
    }
}

/// Gives up on the bytes missing before the first waiting segment: the partial
/// message in the buffer is dropped and framing starts afresh after the gap.
fn skip_gap(flow: &mut Flow) {
    let Some(next) = flow.next else { return };
    let first = flow
        .pending
        .keys()
        .copied()
        .min_by_key(|sequence| sequence.wrapping_sub(next));
    if let Some(first) = first {
        flow.buffer.clear();
        flow.framer = Framer::new(MAX_MESSAGE_BYTES);
        flow.next = Some(first);
        drain_pending(flow);
    }
}

/// A PRI, or an octet count and a PRI.
fn starts_like_syslog(bytes: &[u8]) -> bool {
    let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    let rest = if digits > 0 && bytes.get(digits) == Some(&b' ') {
        &bytes[digits + 1..]
    } else {
        bytes
    };
    match rest {
        [b'<', digit, ..] => digit.is_ascii_digit(),
        [b'<'] | [] => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FROM: &str = "192.0.2.9:40000";
    const TO: &str = "127.0.0.1:601";

    fn segment(sequence: u32, payload: &[u8], is_syn: bool, is_end: bool) -> Segment<'_> {
        Segment {
            source: FROM.parse().unwrap(),
            destination: TO.parse().unwrap(),
            sequence,
            is_syn,
            is_end,
            payload,
        }
    }

    fn lines(flows: &mut Flows) -> Vec<String> {
        std::iter::from_fn(|| flows.pop())
            .map(|r| String::from_utf8(r.line).unwrap())
            .collect()
    }

    #[test]
    fn reorders_and_trims_retransmissions_across_the_wrap() {
        let start = u32::MAX - 3;
        let stream = b"6 <13>ab6 <13>cd6 <13>ef";
        let mut flows = Flows::default();
        flows.segment(&segment(start, b"", true, false), None);
        let base = start.wrapping_add(1);
        let at = |offset: usize| base.wrapping_add(offset as u32);
        flows.segment(&segment(at(10), &stream[10..20], false, false), None);
        flows.segment(&segment(at(0), &stream[0..12], false, false), None);
        flows.segment(&segment(at(5), &stream[5..12], false, false), None); // Retransmitted.
        flows.segment(&segment(at(20), &stream[20..], false, true), None);
        assert_eq!(lines(&mut flows), ["<13>ab", "<13>cd", "<13>ef"]);
        assert_eq!(flows.lost, 0);
    }

    #[test]
    fn lf_framing_and_a_missing_segment() {
        let mut flows = Flows::default();
        flows.segment(&segment(100, b"<13>one\n<13>tw", false, false), None);
        // Bytes 114..118 ("o\n<1") were never captured.
        flows.segment(&segment(118, b"3>three\n", false, true), None);
        let got = lines(&mut flows);
        assert_eq!(got[0], "<13>one");
        assert_eq!(flows.lost, 1);
    }

    #[test]
    fn other_tcp_traffic_is_skipped() {
        let mut flows = Flows::default();
        flows.segment(&segment(1, b"GET / HTTP/1.1\r\n\r\n", false, false), None);
        flows.segment(&segment(19, b"<13>not a syslog flow\n", false, true), None);
        assert!(lines(&mut flows).is_empty());
        assert_eq!(flows.skipped, 2);
    }
}
