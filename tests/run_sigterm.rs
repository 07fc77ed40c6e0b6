//! SIGTERM in the middle of a TCP flood: nat-ingest stops reading, drains its
//! queues and exits 0, and every message it took in is in the archive.
//!
//! "Taken in" cannot be counted from outside (some bytes are still in kernel
//! buffers when the listeners stop), so the test checks what loss would break:
//! per connection the archive holds an unbroken run `0..k` (TCP is ordered, so a
//! lost frame in the middle shows as a gap), no message twice, and as many lines
//! as the process reported parsing in its stop line.

mod run_support;

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use run_support::{archived_tags, message, Running};

/// Connections sending at once; half newline-framed, half octet-counted.
const CONNECTIONS: usize = 4;
/// Upper bound per connection, so the flood stops by itself.
const MAX_MESSAGES_PER_CONNECTION: usize = 400_000;
/// Upper bound on the flood's duration.
const MAX_FLOOD: Duration = Duration::from_secs(60);
/// Messages nat-ingest must have taken in before the signal.
const RECEIVED_BEFORE_SIGNAL: f64 = 20_000.0;
/// Messages written per `write` call.
const CHUNK: usize = 200;

#[test]
fn sigterm_during_tcp_load_loses_no_accepted_message() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let running = Running::start(&archive, &["tcp://127.0.0.1:0"], &[]);
    let tcp = running.tcp.unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let mut senders = Vec::new();
    for connection in 0..CONNECTIONS {
        let stop = stop.clone();
        senders.push(std::thread::spawn(move || {
            let name = format!("c{connection}");
            let is_octet = connection % 2 == 1;
            let mut stream = TcpStream::connect(tcp).unwrap();
            stream
                .set_write_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let started = Instant::now();
            let mut buffer = Vec::new();
            let mut sent = 0;
            while sent < MAX_MESSAGES_PER_CONNECTION
                && started.elapsed() < MAX_FLOOD
                && !stop.load(Ordering::Relaxed)
            {
                buffer.clear();
                for n in sent..sent + CHUNK {
                    let text = message(&name, n);
                    if is_octet {
                        write!(buffer, "{} {text}", text.len()).unwrap();
                    } else {
                        writeln!(buffer, "{text}").unwrap();
                    }
                }
                // After the signal the server stops reading and finally closes:
                // the write then fails or times out, which ends this sender.
                if stream.write_all(&buffer).is_err() {
                    break;
                }
                sent += CHUNK;
            }
            sent
        }));
    }

    running.wait_for_metric(
        "listener_received_messages_total",
        RECEIVED_BEFORE_SIGNAL,
        Duration::from_secs(60),
    );
    running.signal(libc::SIGTERM);
    let (status, log) = running.wait();
    stop.store(true, Ordering::Relaxed);
    let sent: usize = senders.into_iter().map(|s| s.join().unwrap()).sum();
    assert!(status.success(), "exit status {status:?}");

    let (lines, tags) = archived_tags(&archive);
    eprintln!("sent {sent}, archived {lines}");
    assert!(
        lines as f64 >= RECEIVED_BEFORE_SIGNAL,
        "only {lines} archived"
    );
    assert!(lines <= sent);
    for (stream, numbers) in &tags {
        let expected: Vec<usize> = (0..numbers.len()).collect();
        assert!(
            numbers == &expected,
            "connection {stream}: archived messages are not an unbroken run from 0"
        );
    }

    let stop_line = log
        .iter()
        .find(|l| l.contains("Stopped."))
        .expect("a stop line");
    let parsed: usize = stop_line
        .split("parsed=")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let written: usize = stop_line
        .split("written=")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(parsed, lines, "every parsed message is archived");
    assert_eq!(written, lines);
}
