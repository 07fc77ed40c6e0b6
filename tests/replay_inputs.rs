//! `nat-ingest replay --to pipeline` from every input kind, told from content:
//! plain, gzip and zstd text (raw lines and rsyslog's file format), stdin, the
//! archive's own NDJSON, pcap and pcapng. Each fixture is made here; each replay
//! must archive every message exactly once, with the times and senders the
//! input carried.

mod run_support;

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use run_support::{archived_tags, message};

const MESSAGES: usize = 300;

fn replay(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nat-ingest"))
        .arg("replay")
        .args(["--timezone", "UTC"])
        .args(args)
        .env("NAT_INGEST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        input.write_all(bytes).unwrap();
    }
    drop(input);
    let output = child.wait_with_output().unwrap();
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    output
}

fn assert_every_message_once(archive: &Path, stream: &str, copies: usize) {
    let (documents, tags) = archived_tags(archive);
    assert_eq!(documents, MESSAGES * copies);
    let expected: Vec<usize> = (0..MESSAGES)
        .flat_map(|n| std::iter::repeat_n(n, copies))
        .collect();
    assert_eq!(tags[stream], expected);
}

fn documents(archive: &Path) -> Vec<serde_json::Value> {
    let mut all = Vec::new();
    for path in nat_ingest::archive::reader::finished_files(archive).unwrap() {
        let reader = nat_ingest::archive::reader::open(&path).unwrap();
        for line in reader.lines() {
            all.push(serde_json::from_str(&line.unwrap()).unwrap());
        }
    }
    all
}

fn text(stream: &str) -> Vec<u8> {
    let mut text = String::new();
    for n in 0..MESSAGES {
        text.push_str(&message(stream, n));
        text.push('\n');
    }
    text.into_bytes()
}

fn summary(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    stderr
        .lines()
        .find(|l| l.starts_with("replay:"))
        .expect("a summary line")
        .to_owned()
}

#[test]
fn plain_gzip_and_zstd_text_and_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.log");
    std::fs::write(&plain, text("plain")).unwrap();
    // Names that say nothing: only the magic bytes tell the compression.
    let gzip = dir.path().join("gzip.bin");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&text("gzip")).unwrap();
    std::fs::write(&gzip, encoder.finish().unwrap()).unwrap();
    let zstd = dir.path().join("zstd.log");
    std::fs::write(&zstd, zstd::encode_all(&text("zstd")[..], 3).unwrap()).unwrap();
    let archive = dir.path().join("archive");

    let output = replay(
        &[
            "--archive",
            archive.to_str().unwrap(),
            plain.to_str().unwrap(),
            gzip.to_str().unwrap(),
            zstd.to_str().unwrap(),
            "-",
        ],
        Some(&text("stdin")),
    );
    assert!(output.status.success());
    let summary = summary(&output);
    assert!(summary.contains("read=1200 sent=1200"), "{summary}");
    assert!(
        summary.contains("parsed=1200 failed=0 written=1200"),
        "{summary}"
    );
    for stream in ["plain", "gzip", "zstd", "stdin"] {
        let (_, tags) = archived_tags(&archive);
        assert_eq!(tags[stream], (0..MESSAGES).collect::<Vec<_>>(), "{stream}");
    }
}

/// rsyslog's traditional file format: no PRI, the rest of the header kept. The
/// lines parse as they are; `--pri` puts an assumed PRI back in front.
#[test]
fn rsyslog_file_lines_with_and_without_an_assumed_pri() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("messages");
    let mut lines = String::new();
    for n in 0..MESSAGES {
        let raw = message("relayed", n);
        // What rsyslog writes for it: the line without `<134>`.
        lines.push_str(raw.split_once('>').unwrap().1);
        lines.push('\n');
    }
    std::fs::write(&file, lines).unwrap();

    let bare = dir.path().join("bare");
    let output = replay(
        &[
            "--archive",
            bare.to_str().unwrap(),
            "--reference-time",
            "2024-08-01T00:00:00Z",
            file.to_str().unwrap(),
        ],
        None,
    );
    assert!(output.status.success());
    assert_every_message_once(&bare, "relayed", 1);
    let first = &documents(&bare)[0];
    assert_eq!(first["@timestamp"], "2024-07-23T02:11:12Z");
    assert_eq!(first["log"]["syslog"]["hostname"], "router-7");
    assert!(first["log"]["syslog"].get("priority").is_none(), "{first}");

    let assumed = dir.path().join("assumed");
    let output = replay(
        &[
            "--archive",
            assumed.to_str().unwrap(),
            "--pri",
            "134",
            file.to_str().unwrap(),
        ],
        None,
    );
    assert!(output.status.success());
    let first = &documents(&assumed)[0];
    assert_eq!(first["log"]["syslog"]["priority"], 134);
}

/// The archive's own files replay from `event.original`, with the first receive
/// time kept: the second archive holds the same documents.
#[test]
fn archive_ndjson_reindexes_from_event_original() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.log");
    std::fs::write(&plain, text("again")).unwrap();
    let first = dir.path().join("first");
    let output = replay(
        &[
            "--archive",
            first.to_str().unwrap(),
            plain.to_str().unwrap(),
        ],
        None,
    );
    assert!(output.status.success());

    let files = nat_ingest::archive::reader::finished_files(&first).unwrap();
    let second = dir.path().join("second");
    let mut args = vec!["--archive", second.to_str().unwrap()];
    args.extend(files.iter().map(|p| p.to_str().unwrap()));
    let output = replay(&args, None);
    assert!(output.status.success());
    assert_every_message_once(&second, "again", 1);
    assert_eq!(documents(&first), documents(&second));
}

/// A pcap (Ethernet) and a pcapng (raw IP, nanosecond times) of the same
/// datagrams: every message once per capture, the year from the capture time,
/// the sender from the packet; other traffic skipped.
#[test]
fn pcap_and_pcapng_captures() {
    let dir = tempfile::tempdir().unwrap();
    let capture_start = 1_690_081_200; // 2023-07-23T03:00:00Z
    let mut packets = Vec::new();
    for n in 0..MESSAGES {
        let payload = message("captured", n);
        packets.push((
            capture_start + n as u64,
            udp_packet(payload.as_bytes(), 514),
        ));
    }
    packets.push((capture_start, udp_packet(b"\x01\x02 not syslog", 53)));

    let pcap = dir.path().join("capture.pcap");
    std::fs::write(&pcap, write_pcap(&packets)).unwrap();
    let pcapng = dir.path().join("capture.data");
    std::fs::write(&pcapng, write_pcapng(&packets)).unwrap();
    let archive = dir.path().join("archive");
    let output = replay(
        &[
            "--archive",
            archive.to_str().unwrap(),
            pcap.to_str().unwrap(),
            pcapng.to_str().unwrap(),
        ],
        None,
    );
    assert!(output.status.success());
    assert!(
        summary(&output).contains("skipped=2"),
        "{}",
        summary(&output)
    );
    assert_every_message_once(&archive, "captured", 2);
    for document in documents(&archive) {
        assert_eq!(document["@timestamp"], "2023-07-23T02:11:12Z");
        assert_eq!(document["observer"]["ip"], "192.0.2.33");
        let created = document["event"]["created"].as_str().unwrap();
        assert!(created.starts_with("2023-07-23T0"), "{created}");
    }
}

/// Syslog over TCP in a capture: two connections, one octet-counted and one
/// LF-framed, cut into 700-byte segments sent out of order and retransmitted,
/// plus an HTTP flow that must be skipped.
#[test]
fn pcap_with_tcp_flows_in_both_framings() {
    let dir = tempfile::tempdir().unwrap();
    let mut octets = Vec::new();
    let mut lf = Vec::new();
    for n in 0..MESSAGES {
        let line = message("octets", n);
        octets.extend_from_slice(format!("{} {line}", line.len()).as_bytes());
        lf.extend_from_slice(message("lf", n).as_bytes());
        lf.push(b'\n');
    }
    let capture_start = 1_690_081_200;
    let mut packets = Vec::new();
    for (port, stream) in [(40001, &octets), (40002, &lf)] {
        let first = 4_000_000_000u32; // Wraps within the stream.
        packets.push((capture_start, tcp_packet(port, first, 0x02, b"")));
        let chunks: Vec<(usize, &[u8])> = stream
            .chunks(700)
            .enumerate()
            .map(|(i, c)| (i * 700, c))
            .collect();
        for pair in chunks.chunks(2) {
            // Each pair goes out swapped, and its first half twice.
            for &(offset, chunk) in pair.iter().rev().chain(pair.first()) {
                let sequence = first.wrapping_add(1).wrapping_add(offset as u32);
                packets.push((capture_start, tcp_packet(port, sequence, 0x18, chunk)));
            }
        }
        let end = first.wrapping_add(1).wrapping_add(stream.len() as u32);
        packets.push((capture_start, tcp_packet(port, end, 0x11, b"")));
    }
    packets.push((
        capture_start,
        tcp_packet(40003, 7, 0x18, b"GET / HTTP/1.1\r\n\r\n"),
    ));

    let pcap = dir.path().join("tcp.pcap");
    std::fs::write(&pcap, write_pcap(&packets)).unwrap();
    let archive = dir.path().join("archive");
    let output = replay(
        &[
            "--archive",
            archive.to_str().unwrap(),
            pcap.to_str().unwrap(),
        ],
        None,
    );
    assert!(output.status.success());
    let (documents, tags) = archived_tags(&archive);
    assert_eq!(documents, 2 * MESSAGES);
    assert_eq!(tags["octets"], (0..MESSAGES).collect::<Vec<_>>());
    assert_eq!(tags["lf"], (0..MESSAGES).collect::<Vec<_>>());
}

#[test]
fn an_unreadable_input_fails_the_run_but_not_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.log");
    std::fs::write(&plain, text("survivor")).unwrap();
    let archive = dir.path().join("archive");
    let missing = dir.path().join("missing.log");
    let output = replay(
        &[
            "--archive",
            archive.to_str().unwrap(),
            missing.to_str().unwrap(),
            plain.to_str().unwrap(),
        ],
        None,
    );
    assert!(!output.status.success());
    assert_every_message_once(&archive, "survivor", 1);
}

/// IPv4 + UDP from 192.0.2.33:40000 to `port`, without checksums.
fn udp_packet(payload: &[u8], port: u16) -> Vec<u8> {
    let total = 28 + payload.len();
    let mut packet = vec![
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        0,
        0x40,
        0,
        64,
        17,
        0,
        0,
    ];
    packet.extend_from_slice(&[192, 0, 2, 33, 127, 0, 0, 1]);
    let length = 8 + payload.len();
    packet.extend_from_slice(&40000u16.to_be_bytes());
    packet.extend_from_slice(&port.to_be_bytes());
    packet.extend_from_slice(&(length as u16).to_be_bytes());
    packet.extend_from_slice(&[0, 0]);
    packet.extend_from_slice(payload);
    packet
}

/// IPv4 + TCP from 192.0.2.33:`port` to port 601 with `flags`.
fn tcp_packet(port: u16, sequence: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let total = 40 + payload.len();
    let mut packet = vec![
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        0,
        0x40,
        0,
        64,
        6,
        0,
        0,
    ];
    packet.extend_from_slice(&[192, 0, 2, 33, 127, 0, 0, 1]);
    packet.extend_from_slice(&port.to_be_bytes());
    packet.extend_from_slice(&601u16.to_be_bytes());
    packet.extend_from_slice(&sequence.to_be_bytes());
    packet.extend_from_slice(&[0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    packet.extend_from_slice(payload);
    packet
}

/// A little-endian microsecond pcap with Ethernet framing.
fn write_pcap(packets: &[(u64, Vec<u8>)]) -> Vec<u8> {
    let mut file = Vec::new();
    for word in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65535, 1] {
        file.extend_from_slice(&word.to_le_bytes());
    }
    for (seconds, packet) in packets {
        let mut frame = vec![0; 12];
        frame.extend_from_slice(&[0x08, 0x00]);
        frame.extend_from_slice(packet);
        let length = frame.len() as u32;
        for word in [*seconds as u32, 500_000, length, length] {
            file.extend_from_slice(&word.to_le_bytes());
        }
        file.extend_from_slice(&frame);
    }
    file
}

/// A big-endian pcapng with one raw-IP interface at nanosecond resolution.
fn write_pcapng(packets: &[(u64, Vec<u8>)]) -> Vec<u8> {
    fn block(kind: u32, body: &[u8]) -> Vec<u8> {
        let padded = body.len().div_ceil(4) * 4;
        let total = (12 + padded) as u32;
        let mut block = kind.to_be_bytes().to_vec();
        block.extend_from_slice(&total.to_be_bytes());
        block.extend_from_slice(body);
        block.resize(8 + padded, 0);
        block.extend_from_slice(&total.to_be_bytes());
        block
    }
    let mut section = 0x1a2b_3c4du32.to_be_bytes().to_vec();
    section.extend_from_slice(&[0, 1, 0, 0]);
    section.extend_from_slice(&(-1i64).to_be_bytes());
    let mut interface = 101u16.to_be_bytes().to_vec();
    interface.extend_from_slice(&[0, 0, 0, 0, 0xff, 0xff]);
    interface.extend_from_slice(&[0, 9, 0, 1, 9, 0, 0, 0, 0, 0, 0, 0]);

    let mut file = block(0x0a0d_0d0a, &section);
    file.extend(block(1, &interface));
    for (seconds, packet) in packets {
        let ticks = seconds * 1_000_000_000 + 250_000_000;
        let mut body = 0u32.to_be_bytes().to_vec();
        body.extend_from_slice(&((ticks >> 32) as u32).to_be_bytes());
        body.extend_from_slice(&(ticks as u32).to_be_bytes());
        body.extend_from_slice(&(packet.len() as u32).to_be_bytes());
        body.extend_from_slice(&(packet.len() as u32).to_be_bytes());
        body.extend_from_slice(packet);
        file.extend(block(6, &body));
    }
    file
}
