//! The stream framer fed arbitrary bytes in arbitrary read sizes: no panic, no frame
//! over the limit, never more bytes out than in, and a bounded buffer.

#![no_main]

use arbitrary::Arbitrary;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use nat_ingest::framing::Framer;

/// A small limit, so that cutting is exercised often.
const MAX_FRAME_BYTES: usize = 64;

#[derive(Arbitrary, Debug)]
struct Input {
    reads: Vec<Vec<u8>>,
}

fuzz_target!(|input: Input| {
    let mut framer = Framer::new(MAX_FRAME_BYTES);
    let mut buffer = BytesMut::new();
    let (mut bytes_in, mut bytes_out) = (0usize, 0usize);
    for read in &input.reads {
        bytes_in += read.len();
        buffer.extend_from_slice(read);
        while let Some(frame) = framer.decode(&mut buffer) {
            assert!(frame.bytes.len() <= MAX_FRAME_BYTES);
            assert!(!frame.bytes.is_empty());
            bytes_out += frame.bytes.len();
        }
        assert!(
            buffer.len() <= read.len() + 2 * MAX_FRAME_BYTES + 16,
            "buffer grows unbounded"
        );
    }
    while let Some(frame) = framer.decode_eof(&mut buffer) {
        assert!(frame.bytes.len() <= MAX_FRAME_BYTES);
        bytes_out += frame.bytes.len();
    }
    assert!(bytes_out <= bytes_in);
    assert!(
        buffer.is_empty(),
        "bytes left over after the end of the stream"
    );
});
