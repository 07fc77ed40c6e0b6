//! The TCP listener against real loopback connections.

mod listener_support;

use std::time::Duration;

use listener_support::{config, start, texts, wait_for_counter, DEADLINE};
use nat_ingest::config::listener::ListenerKind;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn messages(count: usize) -> Vec<String> {
    (0..count)
        .map(|i| format!("<134>Jul 23 02:11:12 fw1 NAT: session {i} built"))
        .collect()
}

/// Writes `stream` in pieces of awkward sizes, so frames straddle reads.
async fn write_in_pieces(conn: &mut TcpStream, stream: &[u8]) {
    let sizes = [1, 7, 300, 2, 4096, 13];
    let mut at = 0;
    for size in sizes.iter().cycle() {
        if at >= stream.len() {
            break;
        }
        let end = (at + size).min(stream.len());
        conn.write_all(&stream[at..end]).await.unwrap();
        at = end;
    }
    conn.flush().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_octet_counted_messages_arrive_whole() {
    let mut listener = start(config(ListenerKind::Tcp), "tcp_octets", 64).await;
    let sent = messages(500);
    let mut stream = Vec::new();
    for text in &sent {
        stream.extend_from_slice(format!("{} {text}", text.len()).as_bytes());
    }
    // An LF inside a counted message is data, not a delimiter.
    stream.extend_from_slice(b"9 <13>a\nb\nc");

    let mut conn = TcpStream::connect(listener.addr()).await.unwrap();
    write_in_pieces(&mut conn, &stream).await;
    let frames = listener.frames(sent.len() + 1).await;
    let mut want = sent.clone();
    want.push("<13>a\nb\nc".to_owned());
    assert_eq!(texts(&frames), want);
    assert!(frames
        .iter()
        .all(|f| f.received.peer == Some("127.0.0.1".parse().unwrap())));
    drop(conn);
    listener.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_newline_messages_arrive_whole() {
    let mut listener = start(config(ListenerKind::Tcp), "tcp_lines", 64).await;
    let sent = messages(500);
    let mut stream = Vec::new();
    for (i, text) in sent.iter().enumerate() {
        stream.extend_from_slice(text.as_bytes());
        stream.extend_from_slice([&b"\n"[..], b"\r\n", b"\0"][i % 3]);
    }
    // The last message has no delimiter; closing the connection ends it.
    stream.extend_from_slice(b"<13>last words");

    let mut conn = TcpStream::connect(listener.addr()).await.unwrap();
    write_in_pieces(&mut conn, &stream).await;
    conn.shutdown().await.unwrap();
    let frames = listener.frames(sent.len() + 1).await;
    let mut want = sent;
    want.push("<13>last words".to_owned());
    assert_eq!(texts(&frames), want);
    listener.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_cuts_an_oversized_message_and_keeps_the_connection() {
    let mut config = config(ListenerKind::Tcp);
    config.max_frame_bytes = 32;
    let mut listener = start(config, "tcp_oversize", 64).await;

    let mut lines = TcpStream::connect(listener.addr()).await.unwrap();
    lines.write_all(&[b'y'; 10_000]).await.unwrap();
    lines.write_all(b"\n<13>after\n").await.unwrap();
    let frames = listener.frames(2).await;
    assert_eq!(texts(&frames), ["y".repeat(32), "<13>after".to_owned()]);
    assert!(frames[0].received.truncated);
    assert!(!frames[1].received.truncated);

    let mut counted = TcpStream::connect(listener.addr()).await.unwrap();
    counted
        .write_all(format!("5000 {}", "z".repeat(5000)).as_bytes())
        .await
        .unwrap();
    counted.write_all(b"9 <13>after").await.unwrap();
    let frames = listener.frames(2).await;
    assert_eq!(texts(&frames), ["z".repeat(32), "<13>after".to_owned()]);
    assert!(frames[0].received.truncated);

    wait_for_counter(
        "listener_dropped_messages_total",
        "tcp_oversize",
        Some("oversize"),
        2,
    )
    .await;
    drop((lines, counted));
    listener.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_refuses_senders_outside_the_allow_list() {
    let mut config = config(ListenerKind::Tcp);
    config.allow = vec!["10.0.0.0/8".parse().unwrap()];
    let mut listener = start(config, "tcp_denied", 8).await;

    let mut conn = TcpStream::connect(listener.addr()).await.unwrap();
    let _ = conn.write_all(b"<13>not allowed\n").await;
    // The listener closes the connection without reading it.
    let mut buf = [0; 16];
    let read = tokio::time::timeout(DEADLINE, conn.read(&mut buf))
        .await
        .unwrap();
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "connection left open: {read:?}"
    );
    wait_for_counter(
        "listener_dropped_messages_total",
        "tcp_denied",
        Some("allow_list"),
        1,
    )
    .await;
    listener.no_frames(Duration::from_millis(50)).await;
    listener.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_pushes_back_instead_of_dropping() {
    // A queue of one batch, drained only after the sender is done: the listener
    // must hold the connection back, then deliver every message.
    let mut listener = start(config(ListenerKind::Tcp), "tcp_backpressure", 1).await;
    let sent = messages(20_000);
    let mut stream = Vec::new();
    for text in &sent {
        stream.extend_from_slice(format!("{text}\n").as_bytes());
    }
    let addr = listener.addr();
    let writer = tokio::spawn(async move {
        let mut conn = TcpStream::connect(addr).await.unwrap();
        for chunk in stream.chunks(1000) {
            conn.write_all(chunk).await.unwrap();
        }
        conn.shutdown().await.unwrap();
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let frames = listener.frames(sent.len()).await;
    assert_eq!(texts(&frames), sent);
    writer.await.unwrap();
    assert_eq!(
        listener_support::counter("listener_dropped_messages_total", "tcp_backpressure", None),
        0
    );
    listener.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_closes_idle_connections() {
    let mut config = config(ListenerKind::Tcp);
    config.idle_timeout_secs = 1;
    let mut listener = start(config, "tcp_idle", 8).await;
    let mut conn = TcpStream::connect(listener.addr()).await.unwrap();
    conn.write_all(b"<13>hello\n").await.unwrap();
    assert_eq!(texts(&listener.frames(1).await), ["<13>hello"]);

    let started = tokio::time::Instant::now();
    let mut buf = [0; 16];
    let read = tokio::time::timeout(DEADLINE, conn.read(&mut buf))
        .await
        .unwrap();
    assert!(matches!(read, Ok(0) | Err(_)));
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "closed too early"
    );
    listener.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_holds_connections_past_the_limit_until_one_closes() {
    let mut config = config(ListenerKind::Tcp);
    config.max_connections = 1;
    let mut listener = start(config, "tcp_limit", 8).await;

    let mut first = TcpStream::connect(listener.addr()).await.unwrap();
    first.write_all(b"<13>first\n").await.unwrap();
    assert_eq!(texts(&listener.frames(1).await), ["<13>first"]);

    // The kernel completes the second handshake, but nobody reads it yet.
    let mut second = TcpStream::connect(listener.addr()).await.unwrap();
    second.write_all(b"<13>second\n").await.unwrap();
    listener.no_frames(Duration::from_millis(200)).await;

    drop(first);
    assert_eq!(texts(&listener.frames(1).await), ["<13>second"]);
    drop(second);
    listener.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_shutdown_hands_off_and_closes_open_connections() {
    let mut listener = start(config(ListenerKind::Tcp), "tcp_shutdown", 8).await;
    let mut conn = TcpStream::connect(listener.addr()).await.unwrap();
    conn.write_all(b"<13>one\n<13>two\n<13>partial")
        .await
        .unwrap();
    assert_eq!(texts(&listener.frames(2).await), ["<13>one", "<13>two"]);

    // Stopping ends the connection although the sender keeps it open.
    assert!(listener.stop().await.is_empty());
    let mut buf = [0; 16];
    let read = tokio::time::timeout(DEADLINE, conn.read(&mut buf))
        .await
        .unwrap();
    assert!(matches!(read, Ok(0) | Err(_)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_keeps_what_follows_a_broken_octet_count() {
    let mut listener = start(config(ListenerKind::Tcp), "tcp_broken", 8).await;
    let mut conn = TcpStream::connect(listener.addr()).await.unwrap();
    // The count `12x` is broken: that message runs to its LF, then counting resumes.
    conn.write_all(b"8 <13>good12x <13>kept\n7 <13>bad")
        .await
        .unwrap();
    let frames = listener.frames(3).await;
    assert_eq!(texts(&frames), ["<13>good", "12x <13>kept", "<13>bad"]);
    let misframed: Vec<bool> = frames.iter().map(|f| f.received.misframed).collect();
    assert_eq!(misframed, [false, true, false]);
    wait_for_counter("listener_framing_errors_total", "tcp_broken", None, 1).await;

    // The connection is still open and still octet-counted.
    conn.write_all(b"8 <13>next").await.unwrap();
    assert_eq!(texts(&listener.frames(1).await), ["<13>next"]);
    drop(conn);
    listener.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_start_fails_on_a_busy_port() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut config = config(ListenerKind::Tcp);
    config.address = busy.local_addr().unwrap();
    let (tx, _rx) = tokio::sync::mpsc::channel(1);
    let shutdown = tokio_util::sync::CancellationToken::new();
    let error = nat_ingest::listener::spawn_listener(&config, "tcp_busy".into(), tx, shutdown)
        .await
        .unwrap_err();
    assert!(
        matches!(error, nat_ingest::listener::ListenerError::Bind { .. }),
        "{error:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_detects_the_framing_of_each_connection() {
    let mut listener = start(config(ListenerKind::Tcp), "tcp_mixed", 8).await;
    let mut counted = TcpStream::connect(listener.addr()).await.unwrap();
    let mut lines = TcpStream::connect(listener.addr()).await.unwrap();
    // The same bytes mean different things on the two connections.
    counted.write_all(b"11 <13>a\n2 b c").await.unwrap();
    lines.write_all(b"<13>a\n2 b c\n").await.unwrap();

    let mut got = texts(&listener.frames(3).await);
    got.sort();
    assert_eq!(got, ["2 b c", "<13>a", "<13>a\n2 b c"]);
    drop((counted, lines));
    listener.stop().await;
}

/// Not a check but a measurement: messages per second through one connection,
/// both framings. Run it with
/// `cargo test --release --test listener_tcp -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn tcp_throughput() {
    const SENT: usize = 1_000_000;
    let line =
        "<190>Jul 23 2025 11:37:44+08:00 AR1220-LAB 10.255.0.1 %%01SECLOG/6/SESSION_TEARDOWN(l)\
                [86829]:IPVer=4,Protocol=udp,SourceIP=192.168.16.16,DestinationIP=203.0.113.10,\
                SourcePort=40320,DestinationPort=1972,SourceNatIP=10.9.18.62,SourceNatPort=31428,\
                BeginTime=1753237438,EndTime=1753240686,SourceVpnID=3,DestinationVpnID=3";
    for octet_counting in [false, true] {
        let name = if octet_counting {
            "tcp_throughput_octets"
        } else {
            "tcp_throughput_lines"
        };
        let mut listener = start(config(ListenerKind::Tcp), name, 1024).await;
        let mut stream = Vec::new();
        for _ in 0..SENT {
            if octet_counting {
                stream.extend_from_slice(format!("{} {line}", line.len()).as_bytes());
            } else {
                stream.extend_from_slice(format!("{line}\n").as_bytes());
            }
        }
        let bytes = stream.len();
        let addr = listener.addr();
        let started = std::time::Instant::now();
        let writer = tokio::spawn(async move {
            let mut conn = TcpStream::connect(addr).await.unwrap();
            conn.write_all(&stream).await.unwrap();
            conn.shutdown().await.unwrap();
        });
        let mut received = 0;
        while received < SENT {
            received += listener.rx.recv().await.unwrap().len();
        }
        let elapsed = started.elapsed();
        writer.await.unwrap();
        println!(
            "{name}: {SENT} messages, {bytes} bytes in {elapsed:?}: {:.0} messages/s, {:.0} MB/s",
            SENT as f64 / elapsed.as_secs_f64(),
            bytes as f64 / elapsed.as_secs_f64() / 1e6
        );
        listener.stop().await;
    }
}
