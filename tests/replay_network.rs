//! `nat-ingest replay --to tcp://` and `--to udp://` against a real
//! `nat-ingest run`: every message arrives exactly once, in both TCP framings
//! and over paced UDP. Also: `--rate` paces (loosely; precision is measured in
//! the bench) and a refused destination fails the run.

mod run_support;

use std::net::TcpListener;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use run_support::{archived_tags, message, Running};

const TCP_MESSAGES: usize = 5000;
const UDP_MESSAGES: usize = 1000;
/// Slow enough that no datagram overflows the loopback socket buffer.
const UDP_RATE: &str = "4000";

fn replay(args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_nat-ingest"))
        .arg("replay")
        .args(args)
        .env("NAT_INGEST_LOG", "warn")
        .output()
        .unwrap();
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    output
}

fn write_messages(path: &std::path::Path, stream: &str, count: usize) {
    let mut text = String::new();
    for n in 0..count {
        text.push_str(&message(stream, n));
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn every_message_reaches_a_running_collector() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let running = Running::start(&archive, &["udp://127.0.0.1:0", "tcp://127.0.0.1:0"], &[]);
    let (udp, tcp) = (running.udp.unwrap(), running.tcp.unwrap());

    let octets = dir.path().join("octets.log");
    write_messages(&octets, "octets", TCP_MESSAGES);
    let lf = dir.path().join("lf.log");
    write_messages(&lf, "lf", TCP_MESSAGES);
    let datagrams = dir.path().join("datagrams.log");
    write_messages(&datagrams, "datagrams", UDP_MESSAGES);

    let to_tcp = format!("tcp://{tcp}");
    let output = replay(&["--to", &to_tcp, octets.to_str().unwrap()]);
    assert!(output.status.success());
    let output = replay(&["--to", &to_tcp, "--framing", "lf", lf.to_str().unwrap()]);
    assert!(output.status.success());
    let to_udp = format!("udp://{udp}");
    let output = replay(&[
        "--to",
        &to_udp,
        "--rate",
        UDP_RATE,
        datagrams.to_str().unwrap(),
    ]);
    assert!(output.status.success());
    let summary = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(summary.contains("read=1000 sent=1000"), "{summary}");

    let total = (2 * TCP_MESSAGES + UDP_MESSAGES) as f64;
    running.wait_for_metric(
        "pipeline_documents_parsed_total",
        total,
        Duration::from_secs(60),
    );
    running.signal(libc::SIGTERM);
    let (status, _) = running.wait();
    assert!(status.success());

    let (documents, tags) = archived_tags(&archive);
    assert_eq!(documents, 2 * TCP_MESSAGES + UDP_MESSAGES);
    for (stream, count) in [
        ("octets", TCP_MESSAGES),
        ("lf", TCP_MESSAGES),
        ("datagrams", UDP_MESSAGES),
    ] {
        assert_eq!(tags[stream], (0..count).collect::<Vec<_>>(), "{stream}");
    }
}

/// 1000 messages at 2000/s take about half a second: not much less (the bucket
/// allows only a 1 % burst), and not wildly more.
#[test]
fn rate_paces_the_sending() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("paced.log");
    write_messages(&file, "paced", 1000);
    let receiver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = format!("udp://{}", receiver.local_addr().unwrap());

    let started = Instant::now();
    let output = replay(&["--to", &to, "--rate", "2000", file.to_str().unwrap()]);
    let elapsed = started.elapsed();
    assert!(output.status.success());
    assert!(elapsed >= Duration::from_millis(450), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

#[test]
fn a_refused_destination_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nowhere.log");
    write_messages(&file, "nowhere", 10);
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let output = replay(&["--to", &format!("tcp://{closed}"), file.to_str().unwrap()]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot connect"), "{stderr}");
}
