//! `nat-ingest run --elasticsearch URL` end to end: syslog over TCP, from our
//! own writer and from syslog-ng's loggen, becomes searchable documents in the
//! dev OpenSearch and Elasticsearch, and an outage of the server in the middle
//! of the load loses nothing and duplicates nothing.
//!
//! The outage is made with a TCP relay of the test's own between nat-ingest and
//! OpenSearch: closing it (and every connection through it) looks to nat-ingest
//! exactly like a server that went away, without stopping the shared server
//! other tests use.
#![cfg(feature = "integration")]

mod bulk_support;
mod run_support;

use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bulk_support::Server;
use run_support::Running;
use serde_json::json;

const SESSIONS: &str = include_str!("../benches/data/huawei-sessions-20k.log");

/// Writes a config with the run's own index, template and dead-letter names.
fn config_file(dir: &std::path::Path, run: &str) -> std::path::PathBuf {
    let path = dir.join("nat-ingest.toml");
    let text = format!(
        "[parser]\ntimezone = \"+08:00\"\nreference_time = \"2025-07-24T00:00:00Z\"\n\n\
         [elasticsearch]\n\
         session_index = \"{run}-nat-%{{+yyyy.MM.dd}}\"\n\
         syslog_index = \"{run}-syslog-%{{+yyyy.MM.dd}}\"\n\
         template_name = \"{run}\"\n\
         policy_name = \"{run}\"\n\
         dead_letter_file = \"{}\"\n\
         retry_initial_backoff_ms = 50\n\
         retry_max_backoff_ms = 1000\n\
         health_check_interval_secs = 1\n",
        dir.join("dead-letter.ndjson").display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// `run` with one TCP listener, writing to the Elasticsearch API at `url` with
/// the run's own names (see `config_file`).
fn start_run(dir: &std::path::Path, run: &str, url: &str) -> Running {
    let config = config_file(dir, run);
    Running::start(
        &dir.join("archive"),
        &["tcp://127.0.0.1:0"],
        &["--config", config.to_str().unwrap(), "--elasticsearch", url],
    )
}

/// Sends the first `count` sample session lines, newline-framed, in chunks.
fn send_sessions(tcp: SocketAddr, count: usize) {
    let mut stream = TcpStream::connect(tcp).unwrap();
    let lines: Vec<&str> = SESSIONS.lines().take(count).collect();
    assert_eq!(lines.len(), count);
    for chunk in lines.chunks(500) {
        let mut buffer = String::new();
        for line in chunk {
            buffer.push_str(line);
            buffer.push('\n');
        }
        stream.write_all(buffer.as_bytes()).unwrap();
    }
}

#[test]
fn tcp_syslog_becomes_searchable_documents() {
    const COUNT: usize = 5000;
    let server = Server::opensearch();
    let run = bulk_support::run_id("e2e");
    let dir = tempfile::tempdir().unwrap();
    let running = start_run(dir.path(), &run, &server.url);

    send_sessions(running.tcp.unwrap(), COUNT);
    let indices = format!("{run}-*");
    server.wait_for_count(&indices, COUNT as u64);
    let found = server.count(&indices, json!({"term": {"source.ip": "192.168.0.0/16"}}));
    assert!(found > 0, "no session from 192.168.0.0/16 is searchable");
    assert_eq!(
        running.metric_sum("bulk_documents_indexed_total"),
        COUNT as f64
    );

    running.signal(libc::SIGTERM);
    let (status, log) = running.wait();
    assert!(status.success(), "exit status {status:?}");
    assert!(log.iter().any(|l| l.contains("Stopped.")), "no stop line");
    server.clean_up(&run);
}

/// A real sender (loggen reading the session file, lines as they are) through
/// `run` into `server`: every line is indexed once and found by a CIDR query.
fn loggen_sessions_become_searchable(server: Server) {
    let root = run_support::real_senders_root("usr/bin/loggen");
    let run = bulk_support::run_id("loggen");
    let dir = tempfile::tempdir().unwrap();
    let running = start_run(dir.path(), &run, &server.url);

    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/data/huawei-sessions-20k.log"
    );
    let lines = SESSIONS.lines().count();
    let args = ["-i", "-S", "-R", file, "-d", "-r", "20000", "-Q"];
    run_support::loggen(&root, &args, running.tcp.unwrap(), lines);

    let indices = format!("{run}-*");
    server.wait_for_count(&indices, lines as u64);
    let found = server.count(&indices, json!({"term": {"source.ip": "192.168.0.0/16"}}));
    assert!(found > 0, "no session from 192.168.0.0/16 is searchable");
    assert_eq!(
        running.metric_sum("bulk_documents_indexed_total"),
        lines as f64
    );
    running.signal(libc::SIGTERM);
    let (status, _) = running.wait();
    assert!(status.success(), "exit status {status:?}");
    server.clean_up(&run);
}

#[test]
fn loggen_into_opensearch() {
    loggen_sessions_become_searchable(Server::opensearch());
}

#[test]
fn loggen_into_elasticsearch() {
    loggen_sessions_become_searchable(Server::elasticsearch());
}

#[test]
fn an_outage_in_the_middle_of_a_load_loses_and_duplicates_nothing() {
    const COUNT: usize = 20_000;
    let server = Server::opensearch();
    let run = bulk_support::run_id("outage");
    let dir = tempfile::tempdir().unwrap();
    let upstream: SocketAddr = server.url.trim_start_matches("http://").parse().unwrap();
    let relay = Relay::start(upstream);
    let url = format!("http://{}", relay.address);
    let running = start_run(dir.path(), &run, &url);

    let tcp = running.tcp.unwrap();
    let sender = std::thread::spawn(move || send_sessions(tcp, COUNT));
    // Cut the server off once some documents are in, for a few seconds.
    running.wait_for_metric("bulk_documents_indexed_total", 1.0, Duration::from_secs(60));
    relay.close();
    std::thread::sleep(Duration::from_secs(4));
    relay.open();
    sender.join().unwrap();

    let indices = format!("{run}-*");
    server.wait_for_count(&indices, COUNT as u64);
    let retried = running.metric_sum("bulk_requests_retried_total");
    assert!(retried > 0.0, "the outage caused no retry");
    // Every document reached one final state once: created, or found already
    // there because the outage cut off the response to the request that
    // created it (a duplicate, not a copy: the count above is exact). The
    // server shows the documents before nat-ingest has read its responses, so
    // wait for the counters to catch up first.
    let settled = |running: &Running| {
        running.metric_sum("bulk_documents_indexed_total")
            + running.metric_sum("bulk_documents_duplicate_total")
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while settled(&running) < COUNT as f64 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(settled(&running), COUNT as f64);
    assert_eq!(
        running.metric_sum("bulk_documents_dead_lettered_total"),
        0.0
    );

    running.signal(libc::SIGTERM);
    let (status, _) = running.wait();
    assert!(status.success(), "exit status {status:?}");
    server.clean_up(&run);
}

/// A TCP relay to `upstream` that can be closed (listener and every open
/// connection) and opened again on the same port.
struct Relay {
    address: SocketAddr,
    upstream: SocketAddr,
    is_open: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<TcpStream>>>,
}

impl Relay {
    fn start(upstream: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let relay = Relay {
            address: listener.local_addr().unwrap(),
            upstream,
            is_open: Arc::new(AtomicBool::new(true)),
            connections: Arc::new(Mutex::new(Vec::new())),
        };
        relay.serve(listener);
        relay
    }

    fn serve(&self, listener: TcpListener) {
        listener.set_nonblocking(true).unwrap();
        let (is_open, connections, upstream) = (
            self.is_open.clone(),
            self.connections.clone(),
            self.upstream,
        );
        std::thread::spawn(move || {
            while is_open.load(Ordering::SeqCst) {
                let Ok((client, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                client.set_nonblocking(false).unwrap();
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                let mut kept = connections.lock().unwrap();
                kept.push(client.try_clone().unwrap());
                kept.push(server.try_clone().unwrap());
                pump(client.try_clone().unwrap(), server.try_clone().unwrap());
                pump(server, client);
            }
        });
    }

    /// Stops accepting and cuts every connection.
    fn close(&self) {
        self.is_open.store(false, Ordering::SeqCst);
        for stream in self.connections.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
        // Let the accept loop see the flag and drop the listener.
        std::thread::sleep(Duration::from_millis(50));
    }

    /// Accepts again on the same port.
    fn open(&self) {
        let listener = TcpListener::bind(self.address).unwrap();
        self.is_open.store(true, Ordering::SeqCst);
        self.serve(listener);
    }
}

/// Copies `from` to `to` until either side closes.
fn pump(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Write);
    });
}
