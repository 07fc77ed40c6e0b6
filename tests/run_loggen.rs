//! syslog-ng's load generator, loggen (Debian's syslog-ng-core, unpacked by
//! deploy/dev/real-senders.sh), against `nat-ingest run`: the framings and header
//! forms a syslog-ng shop would send, each into a fresh process and archive.
//!
//! loggen numbers its generated messages (`seq: 0000000041`, one run, one thread),
//! so every case checks that N messages sent became N documents with exactly the
//! sequence numbers 0..N: nothing lost, nothing doubled. The file case sends Huawei
//! lines as they are, and each must come back as a session document carrying its
//! line unchanged in `event.original`.

#![cfg(feature = "integration")]

mod run_support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use run_support::{loggen, Running};
use serde_json::Value;

/// Messages per generated case: enough to catch one lost or doubled, quick on two cores.
const GENERATED: usize = 5_000;

/// loggen's `-r`: messages per second, well below what one listener takes.
const RATE: &str = "20000";

/// How long the documents may take to come through after loggen has finished.
const ARRIVAL_TIMEOUT: Duration = Duration::from_secs(60);

/// 20,000 Huawei session lines (AR and USG, four message kinds), one per line.
const HUAWEI_FILE: &str = "benches/data/huawei-sessions-20k.log";

/// What a run may count besides clean documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sender {
    /// Every message well framed: no framing error, no tag.
    WellFramed,
    /// Some octet counts are wrong: those messages come tagged
    /// `_frame_octet_count_invalid` and are counted as framing errors.
    Miscounting,
}

/// Starts nat-ingest on `listen`, has loggen send `expected` messages to it, stops it,
/// and returns the archived documents after checking there are exactly `expected`.
fn through_nat_ingest(listen: &str, args: &[&str], expected: usize, sender: Sender) -> Vec<Value> {
    let root = run_support::real_senders_root("usr/bin/loggen");
    let work = tempfile::tempdir().unwrap();
    let archive = work.path().join("archive");
    let running = Running::start(&archive, &[listen], &["--timezone", "UTC"]);
    let target = running.tcp.or(running.udp).expect("a listener");

    let started = Instant::now();
    loggen(&root, args, target, expected);
    // Until every message is parsed or counted as dropped, so that a loss is
    // reported as one rather than as a timeout.
    let deadline = Instant::now() + ARRIVAL_TIMEOUT;
    loop {
        let parsed = running.metric_sum("pipeline_documents_parsed_total");
        let dropped = running.metric_sum("listener_dropped_messages_total");
        if parsed + dropped >= expected as f64 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{parsed} of {expected} messages parsed, {dropped} dropped, after {ARRIVAL_TIMEOUT:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!(
        "{expected} messages through loggen {args:?} in {:?}",
        started.elapsed()
    );
    for counter in [
        "listener_dropped_messages_total",
        "pipeline_documents_failed_total",
    ] {
        assert_eq!(running.metric_sum(counter), 0.0, "{counter}");
    }
    let framing_errors = running.metric_sum("listener_framing_errors_total");
    match sender {
        Sender::WellFramed => assert_eq!(framing_errors, 0.0, "framing errors"),
        Sender::Miscounting => assert!(framing_errors > 0.0, "no framing error counted"),
    }
    running.signal(libc::SIGTERM);
    let (status, _) = running.wait();
    assert!(status.success(), "nat-ingest exited with {status}");

    let documents = run_support::archived_documents(&archive);
    assert_eq!(documents.len(), expected, "documents in the archive");
    let mut tagged = 0;
    for doc in &documents {
        match (sender, doc.get("tags")) {
            (_, None) => {}
            (Sender::Miscounting, Some(tags))
                if tags == &serde_json::json!(["_frame_octet_count_invalid"]) =>
            {
                tagged += 1
            }
            (_, Some(_)) => panic!("tagged document: {doc}"),
        }
    }
    assert_eq!(
        tagged as f64, framing_errors,
        "tagged documents and framing errors"
    );
    documents
}

/// Checks the documents of one generated run: syslog documents with loggen's header
/// fields, a body without frame or byte order mark leftovers, and `@timestamp` equal
/// to the stamp loggen repeats in the body. Returns the sorted sequence numbers.
fn generated_sequences(documents: &[Value]) -> Vec<usize> {
    let mut sequences = Vec::new();
    for doc in documents {
        assert_eq!(doc["event"]["dataset"], "syslog", "{doc}");
        assert_eq!(doc["log"]["syslog"]["hostname"], "localhost", "{doc}");
        assert_eq!(doc["log"]["syslog"]["appname"], "prg00000", "{doc}");
        assert_eq!(doc["log"]["syslog"]["procid"], "1234", "{doc}");
        assert_eq!(doc["log"]["syslog"]["priority"], 38, "{doc}");

        // "seq: 0000000041, thread: 0000, runid: 1796342847, stamp: 2026-12-04T00:07:27 PADD..."
        let message = doc["message"].as_str().expect("a message");
        assert!(message.starts_with("seq: "), "message start: {doc}");
        assert!(
            !message.contains(['\n', '\r']),
            "line ending left in: {doc}"
        );
        let field = |name: &str| {
            let start = message
                .find(name)
                .unwrap_or_else(|| panic!("no {name} in {doc}"));
            message[start + name.len()..]
                .split([',', ' '])
                .next()
                .unwrap()
        };
        assert_eq!(field("thread: "), "0000", "{doc}");
        assert_eq!(doc["@timestamp"], format!("{}Z", field("stamp: ")), "{doc}");
        sequences.push(field("seq: ").parse().unwrap());
    }
    sequences.sort_unstable();
    sequences
}

fn generated_case(listen: &str, framing_args: &[&str], sender: Sender) {
    let number = GENERATED.to_string();
    let mut args = framing_args.to_vec();
    args.extend(["-n", &number, "-r", RATE, "-Q"]);
    let documents = through_nat_ingest(listen, &args, GENERATED, sender);
    assert_eq!(
        generated_sequences(&documents),
        (0..GENERATED).collect::<Vec<_>>(),
        "loggen's sequence numbers, each once"
    );
}

#[test]
fn loggen_rfc3164_over_tcp_arrives_once() {
    generated_case("tcp://127.0.0.1:0", &["-i", "-S"], Sender::WellFramed);
}

#[test]
fn loggen_rfc5424_octet_counted_over_tcp_arrives_once() {
    generated_case("tcp://127.0.0.1:0", &["-i", "-S", "-P"], Sender::WellFramed);
}

/// Regression: loggen 3.38 counts an `-s 8192` RFC 5424 frame's own length
/// prefix into the length and cuts the LF off, so every other count lands
/// inside a message. The listener used to close the connection at the first
/// bad count and lose the rest of the stream without counting it; now every
/// message arrives, the ones read past a bad count tagged and counted.
#[test]
fn loggen_miscounted_large_frames_all_arrive() {
    generated_case(
        "tcp://127.0.0.1:0",
        &["-i", "-S", "-P", "-s", "8192"],
        Sender::Miscounting,
    );
}

#[test]
fn loggen_rfc3164_over_udp_arrives_once() {
    generated_case("udp://127.0.0.1:0", &["-i", "-D"], Sender::WellFramed);
}

#[test]
fn loggen_sending_huawei_lines_as_is_gives_session_documents() {
    let file: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join(HUAWEI_FILE);
    let text = std::fs::read_to_string(&file).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let path = file.display().to_string();
    let args = ["-i", "-S", "-R", &path, "-d", "-r", RATE, "-Q"];

    let documents = through_nat_ingest("tcp://127.0.0.1:0", &args, lines.len(), Sender::WellFramed);
    let mut originals = Vec::new();
    for doc in &documents {
        assert_eq!(doc["event"]["dataset"], "huawei.session", "{doc}");
        assert!(doc["source"]["ip"].is_string(), "{doc}");
        originals.push(doc["event"]["original"].as_str().expect("event.original"));
    }
    originals.sort_unstable();
    lines.sort_unstable();
    assert!(
        originals == lines,
        "the archive's lines differ from {HUAWEI_FILE}"
    );
}
