//! util-linux `logger` as a real sender: RFC 3164 and RFC 5424 over UDP, TCP
//! with octet counting, and TCP with newlines.
//!
//! `logger` ships in Debian's essential `bsdutils` package. Where it is missing
//! the tests say so and pass, since they check interoperability rather than
//! our own code paths, which the other listener tests cover.

mod listener_support;

use std::process::Command;

use listener_support::{config, start, texts};
use nat_ingest::config::listener::ListenerKind;

/// Runs `logger` with `args`, or returns false if it is not installed.
fn logger(args: &[&str]) -> bool {
    match Command::new("logger").args(args).status() {
        Ok(status) => {
            assert!(status.success(), "logger {args:?} failed: {status}");
            true
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("skipped: logger is not installed (Debian package bsdutils)");
            false
        }
        Err(error) => panic!("cannot run logger: {error}"),
    }
}

/// The one frame ending with `suffix`.
fn find<'a>(frames: &'a [String], suffix: &str) -> &'a str {
    let found: Vec<&String> = frames
        .iter()
        .filter(|text| text.ends_with(suffix))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one frame ending with {suffix:?} in {frames:?}"
    );
    found[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logger_over_udp_in_both_formats() {
    let mut listener = start(config(ListenerKind::Udp), "logger_udp", 8).await;
    let port = listener.addr().port().to_string();
    let base = [
        "-n",
        "127.0.0.1",
        "-P",
        &port,
        "--udp",
        "-t",
        "natfw",
        "-p",
        "local7.info",
    ];

    if !logger(&[&base[..], &["--rfc3164", "SESSION_TEARDOWN old format"]].concat()) {
        return;
    }
    logger(&[&base[..], &["--rfc5424", "SESSION_TEARDOWN new format"]].concat());

    // Two runs are two senders, which may land on different sockets: no order.
    let got = texts(&listener.frames(2).await);
    // local7.info is PRI 190.
    let old = find(&got, "natfw: SESSION_TEARDOWN old format");
    assert!(
        old.starts_with("<190>") && !old.starts_with("<190>1 "),
        "{old}"
    );
    assert!(
        find(&got, "SESSION_TEARDOWN new format").starts_with("<190>1 "),
        "{got:?}"
    );
    listener.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logger_over_tcp_octet_counted_and_newline() {
    let mut listener = start(config(ListenerKind::Tcp), "logger_tcp", 8).await;
    let port = listener.addr().port().to_string();
    let base = ["-n", "127.0.0.1", "-P", &port, "--tcp", "-t", "natfw"];

    let counted = [
        &base[..],
        &["--octet-count", "--rfc5424", "counted\nwith a newline"],
    ]
    .concat();
    if !logger(&counted) {
        return;
    }
    logger(&[&base[..], &["--rfc3164", "delimited line"]].concat());
    // Several lines in one run: one connection, one message per line.
    let mut child = Command::new("logger")
        .args([&base[..], &["--octet-count", "--rfc3164"]].concat())
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let stdin = child.stdin.as_mut().unwrap();
        stdin
            .write_all(b"line one\nline two\nline three\n")
            .unwrap();
    }
    assert!(child.wait().unwrap().success());

    // Each run is its own connection, and connections are not ordered.
    let got = texts(&listener.frames(5).await);
    assert!(
        find(&got, "counted\nwith a newline").starts_with("<13>1 "),
        "{got:?}"
    );
    assert!(
        find(&got, "natfw: delimited line").starts_with("<13>"),
        "{got:?}"
    );
    let lines: Vec<&String> = got
        .iter()
        .filter(|text| text.contains("natfw: line "))
        .collect();
    assert_eq!(lines.len(), 3, "{got:?}");
    for (frame, want) in lines.iter().zip(["line one", "line two", "line three"]) {
        assert!(frame.ends_with(&format!("natfw: {want}")), "{got:?}");
    }
    listener.stop().await;
}
