//! `nat-ingest run` end to end: messages over UDP, TCP with LF framing and TCP
//! with octet counting all reach the archive, exactly once, and SIGTERM exits 0
//! with every file finished.

mod run_support;

use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::time::Duration;

use run_support::{archived_tags, message, Running};

const TCP_LF_MESSAGES: usize = 3000;
const TCP_OCTET_MESSAGES: usize = 3000;
/// Sent in bursts with pauses, well below what the loopback buffer holds, so none
/// may be dropped.
const UDP_MESSAGES: usize = 1000;
const UDP_BURST: usize = 50;

#[test]
fn every_transport_reaches_the_archive_and_sigterm_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let running = Running::start(&archive, &["udp://127.0.0.1:0", "tcp://127.0.0.1:0"], &[]);
    let (udp, tcp) = (running.udp.unwrap(), running.tcp.unwrap());

    // TCP, newline-delimited.
    let mut lf = TcpStream::connect(tcp).unwrap();
    let mut buffer = Vec::new();
    for n in 0..TCP_LF_MESSAGES {
        buffer.extend_from_slice(message("lf", n).as_bytes());
        buffer.push(b'\n');
    }
    lf.write_all(&buffer).unwrap();

    // TCP, octet-counted (RFC 6587 3.4.1).
    let mut octet = TcpStream::connect(tcp).unwrap();
    buffer.clear();
    for n in 0..TCP_OCTET_MESSAGES {
        let text = message("octet", n);
        write!(buffer, "{} {text}", text.len()).unwrap();
    }
    octet.write_all(&buffer).unwrap();
    drop((lf, octet));

    // UDP, one message per datagram.
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    for n in 0..UDP_MESSAGES {
        socket.send_to(message("udp", n).as_bytes(), udp).unwrap();
        if n % UDP_BURST == UDP_BURST - 1 {
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    // Everything must have been taken in before the signal for "all" to be owed.
    let total = TCP_LF_MESSAGES + TCP_OCTET_MESSAGES + UDP_MESSAGES;
    running.wait_for_metric(
        "listener_received_messages_total",
        total as f64,
        Duration::from_secs(30),
    );

    running.signal(libc::SIGTERM);
    let (status, log) = running.wait();
    assert!(status.success(), "exit status {status:?}");
    assert!(log.iter().any(|l| l.contains("Stopped.")), "no stop line");

    let (lines, tags) = archived_tags(&archive);
    assert_eq!(lines, total);
    assert_eq!(tags["lf"], (0..TCP_LF_MESSAGES).collect::<Vec<_>>());
    assert_eq!(tags["octet"], (0..TCP_OCTET_MESSAGES).collect::<Vec<_>>());
    assert_eq!(tags["udp"], (0..UDP_MESSAGES).collect::<Vec<_>>());
}

/// SIGHUP finishes the open files without stopping intake; the next messages go
/// to a new file and nothing is lost across it.
#[test]
fn sighup_finishes_files_and_intake_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let running = Running::start(&archive, &["tcp://127.0.0.1:0"], &[]);
    let tcp = running.tcp.unwrap();

    let mut stream = TcpStream::connect(tcp).unwrap();
    for n in 0..100 {
        writeln!(stream, "{}", message("hup", n)).unwrap();
    }
    running.wait_for_metric(
        "archive_documents_written_total",
        100.0,
        Duration::from_secs(30),
    );
    running.signal(libc::SIGHUP);
    running.wait_for_metric("archive_files_closed_total", 1.0, Duration::from_secs(30));
    let finished = std::fs::read_dir(&archive).unwrap().filter(|e| {
        e.as_ref()
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".ndjson.zst")
    });
    assert_eq!(finished.count(), 1);

    for n in 100..200 {
        writeln!(stream, "{}", message("hup", n)).unwrap();
    }
    drop(stream);
    running.wait_for_metric(
        "listener_received_messages_total",
        200.0,
        Duration::from_secs(30),
    );
    running.signal(libc::SIGTERM);
    let (status, _) = running.wait();
    assert!(status.success());

    let (lines, tags) = archived_tags(&archive);
    assert_eq!(lines, 200);
    assert_eq!(tags["hup"], (0..200).collect::<Vec<_>>());
    assert_eq!(
        std::fs::read_dir(&archive).unwrap().count(),
        2,
        "one file before SIGHUP, one after"
    );
}
