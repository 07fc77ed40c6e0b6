//! The UDP listener against real loopback sockets.

mod listener_support;

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::time::Duration;

use listener_support::{config, counter, start, texts, wait_for_counter};
use nat_ingest::config::listener::ListenerKind;

fn sender() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_delivers_every_datagram_below_capacity() {
    // Room for every datagram even if each arrives as a batch of its own: a
    // busy machine must not turn this into a queue-full test.
    let mut listener = start(config(ListenerKind::Udp), "udp_every", 512).await;
    let socket = sender();
    let sent: Vec<String> = (0..300)
        .map(|i| format!("<134>fw1 NAT session {i}"))
        .collect();
    for (i, text) in sent.iter().enumerate() {
        // Vary the trailer: none, LF, CR LF, NUL.
        let trailer = ["", "\n", "\r\n", "\0"][i % 4];
        socket
            .send_to(format!("{text}{trailer}").as_bytes(), listener.addr())
            .unwrap();
    }

    let frames = listener.frames(sent.len()).await;
    // One sender hashes to one socket, and one socket keeps its order.
    assert_eq!(texts(&frames), sent);
    for frame in &frames {
        assert_eq!(frame.received.peer, Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        assert!(!frame.received.truncated);
    }
    wait_for_counter("listener_received_messages_total", "udp_every", None, 300).await;
    assert!(listener.stop().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_spreads_senders_over_reuseport_sockets() {
    let mut config = config(ListenerKind::Udp);
    config.sockets = 4;
    let mut listener = start(config, "udp_spread", 64).await;
    let senders: Vec<UdpSocket> = (0..16).map(|_| sender()).collect();
    for (i, socket) in senders.iter().enumerate() {
        socket
            .send_to(format!("<13>from {i}").as_bytes(), listener.addr())
            .unwrap();
    }
    let mut got = texts(&listener.frames(16).await);
    got.sort();
    let mut want: Vec<String> = (0..16).map(|i| format!("<13>from {i}")).collect();
    want.sort();
    assert_eq!(got, want);
    listener.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_cuts_an_oversized_datagram() {
    let mut config = config(ListenerKind::Udp);
    config.max_frame_bytes = 16;
    let mut listener = start(config, "udp_oversize", 8).await;
    let socket = sender();
    socket.send_to(&[b'x'; 100], listener.addr()).unwrap();
    socket.send_to(b"<13>short\n", listener.addr()).unwrap();

    let frames = listener.frames(2).await;
    assert_eq!(texts(&frames), ["x".repeat(16), "<13>short".to_owned()]);
    assert!(frames[0].received.truncated);
    assert!(!frames[1].received.truncated);
    wait_for_counter(
        "listener_dropped_messages_total",
        "udp_oversize",
        Some("oversize"),
        1,
    )
    .await;
    listener.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_drops_senders_outside_the_allow_list() {
    let mut denying = config(ListenerKind::Udp);
    denying.allow = vec![
        "10.0.0.0/8".parse().unwrap(),
        "2001:db8::/32".parse().unwrap(),
    ];
    let mut denied = start(denying, "udp_denied", 8).await;
    let mut allowing = config(ListenerKind::Udp);
    allowing.allow = vec![
        "10.0.0.0/8".parse().unwrap(),
        "127.0.0.0/8".parse().unwrap(),
    ];
    let mut allowed = start(allowing, "udp_allowed", 8).await;

    let socket = sender();
    for i in 0..5 {
        socket
            .send_to(format!("<13>m{i}").as_bytes(), denied.addr())
            .unwrap();
        socket
            .send_to(format!("<13>m{i}").as_bytes(), allowed.addr())
            .unwrap();
    }
    assert_eq!(allowed.frames(5).await.len(), 5);
    wait_for_counter(
        "listener_dropped_messages_total",
        "udp_denied",
        Some("allow_list"),
        5,
    )
    .await;
    denied.no_frames(Duration::from_millis(50)).await;
    assert_eq!(
        counter("listener_dropped_messages_total", "udp_allowed", None),
        0
    );
    denied.stop().await;
    allowed.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_drops_batches_when_the_queue_is_full() {
    let mut config = config(ListenerKind::Udp);
    config.sockets = 1;
    // A queue of one batch that nobody drains: the first batch fills it.
    let listener = start(config, "udp_full", 1).await;
    let socket = sender();
    for i in 0..200 {
        socket
            .send_to(format!("<13>m{i}").as_bytes(), listener.addr())
            .unwrap();
        if i % 20 == 19 {
            // Let the reader take the burst in several calls.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    // Everything is either in the one queued batch or counted as dropped; the
    // reader never blocked, so it also stops promptly.
    let deadline = tokio::time::Instant::now() + listener_support::DEADLINE;
    loop {
        let received = counter("listener_received_messages_total", "udp_full", None);
        let dropped = counter(
            "listener_dropped_messages_total",
            "udp_full",
            Some("queue_full"),
        );
        if received + dropped == 200 {
            assert!(
                dropped > 0 && received > 0,
                "received {received}, dropped {dropped}"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "received {received}, dropped {dropped}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let queued = counter("listener_received_messages_total", "udp_full", None);
    assert_eq!(listener.stop().await.len() as u64, queued);
}

/// Datagrams held in the queue count against the listener's byte budget; once
/// the parsers (here the test) drop them, the room comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_drops_past_its_queued_bytes_and_recovers_when_drained() {
    let mut config = config(ListenerKind::Udp);
    config.sockets = 1;
    config.max_frame_bytes = 1024;
    // Below the floor of one full batch (64 slots of 1024 bytes): that floor applies.
    config.max_queued_bytes = 0;
    let budget = 64 * 1024;
    let mut listener = start(config, "udp_budget", 10_000).await;
    let socket = sender();
    let payload = |i: usize| format!("<13>{i:0>996}");
    for i in 0..100 {
        socket
            .send_to(payload(i).as_bytes(), listener.addr())
            .unwrap();
        if i % 10 == 9 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    wait_total("udp_budget", 100).await;
    let received = counter("listener_received_messages_total", "udp_budget", None);
    assert!(
        received > 0 && received as usize * 1000 <= budget,
        "received {received}"
    );

    // Taking the frames and dropping them releases the budget.
    drop(listener.frames(received as usize).await);
    for i in 0..10 {
        socket
            .send_to(payload(i).as_bytes(), listener.addr())
            .unwrap();
    }
    let frames = listener.frames(10).await;
    assert_eq!(frames[9].bytes.len(), 1000);
    drop(frames);
    listener.stop().await;
}

/// Waits until received plus queue-full drops on `name` reach `total`.
async fn wait_total(name: &str, total: u64) {
    let deadline = tokio::time::Instant::now() + listener_support::DEADLINE;
    loop {
        let received = counter("listener_received_messages_total", name, None);
        let dropped = counter("listener_dropped_messages_total", name, Some("queue_full"));
        if received + dropped == total {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "received {received}, dropped {dropped} of {total}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_receives_over_ipv6() {
    let mut config = config(ListenerKind::Udp);
    config.address = "[::1]:0".parse().unwrap();
    config.sockets = 1;
    let Ok(socket) = UdpSocket::bind("[::1]:0") else {
        eprintln!("skipped: no IPv6 loopback");
        return;
    };
    let mut listener = start(config, "udp_v6", 8).await;
    socket.send_to(b"<13>over v6", listener.addr()).unwrap();
    let frames = listener.frames(1).await;
    assert_eq!(frames[0].received.peer, Some("::1".parse().unwrap()));
    listener.stop().await;
}

/// Not a check but a measurement: datagrams per second through one socket, and
/// how many the kernel dropped. On a shared 2-core machine the sender competes
/// with the reader, so the number is a floor. Run it with
/// `cargo test --release --test listener_udp -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn udp_throughput() {
    const SENT: usize = 400_000;
    let mut config = config(ListenerKind::Udp);
    config.sockets = 1;
    let mut listener = start(config, "udp_throughput", 4096).await;
    let addr = listener.addr();
    let line =
        "<190>Jul 23 2025 11:37:44+08:00 AR1220-LAB 10.255.0.1 %%01SECLOG/6/SESSION_TEARDOWN(l)\
                [86829]:IPVer=4,Protocol=udp,SourceIP=192.168.16.16,DestinationIP=203.0.113.10,\
                SourcePort=40320,DestinationPort=1972,SourceNatIP=10.9.18.62,SourceNatPort=31428,\
                BeginTime=1753237438,EndTime=1753240686,SourceVpnID=3,DestinationVpnID=3";

    let started = std::time::Instant::now();
    let sender = std::thread::spawn(move || {
        let socket = sender();
        for _ in 0..SENT {
            socket.send_to(line.as_bytes(), addr).unwrap();
        }
    });
    let mut received = 0;
    while let Ok(Some(batch)) =
        tokio::time::timeout(Duration::from_millis(500), listener.rx.recv()).await
    {
        received += batch.len();
    }
    let elapsed = started.elapsed() - Duration::from_millis(500);
    sender.join().unwrap();
    let kernel = counter(
        "listener_dropped_messages_total",
        "udp_throughput",
        Some("kernel"),
    );
    let full = counter(
        "listener_dropped_messages_total",
        "udp_throughput",
        Some("queue_full"),
    );
    println!(
        "udp_throughput: sent {SENT}, received {received} in {elapsed:?} ({:.0}/s), \
         kernel drops {kernel}, queue_full drops {full}",
        received as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(
        received as u64 + kernel + full,
        SENT as u64,
        "every datagram accounted for"
    );
    listener.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_readers_stop_when_the_queue_is_dropped() {
    let listener = start(config(ListenerKind::Udp), "udp_orphaned", 8).await;
    // No shutdown: dropping the receiver alone must end the readers.
    drop(listener.rx);
    tokio::time::timeout(listener_support::DEADLINE, listener.handle.join())
        .await
        .expect("readers stopped")
        .unwrap();
}
