//! Helpers for the `kafka_*` tests: reach the dev broker of
//! `deploy/dev/servers.sh` (or fail naming it), make and remove per-run topics
//! and groups, read a topic back, and start `nat-ingest index` as a process.

#![allow(dead_code)] // Each test binary uses its own subset.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

use crate::run_support::Process;

/// What every "broker unreachable" failure tells the reader to do.
pub const START_HINT: &str = "start the dev servers with \
    `deploy/dev/servers.sh start kafka opensearch && deploy/dev/servers.sh wait`";

/// How long a test waits for the broker, a process or a topic's messages.
pub const TIMEOUT: Duration = Duration::from_secs(90);

#[path = "../dev_ports/mod.rs"]
mod dev_ports;

use dev_ports::port_from_env;

/// `127.0.0.1:PORT` of the dev broker; fails the test unless it listens.
pub fn bootstrap() -> String {
    let port = port_from_env("NAT_INGEST_KAFKA_PORT", 9092);
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    if let Err(e) = TcpStream::connect_timeout(&address, Duration::from_secs(3)) {
        panic!("Kafka is not reachable at {address} ({e}); {START_HINT}");
    }
    address.to_string()
}

/// A lower-case name part that differs between runs and concurrent binaries.
pub fn run_id(what: &str) -> String {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    format!("kafka-{what}-{millis}-{}", std::process::id())
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async { tokio::time::timeout(TIMEOUT, future).await })
        .expect("the broker did not answer in time")
}

fn admin(bootstrap: &str) -> AdminClient<DefaultClientContext> {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("create the Kafka admin client")
}

/// Creates `topic` with `partitions` partitions.
pub fn create_topic(bootstrap: &str, topic: &str, partitions: i32) {
    let admin = admin(bootstrap);
    let options = AdminOptions::new().operation_timeout(Some(TIMEOUT));
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let created = block_on(admin.create_topics(&[new], &options))
        .unwrap_or_else(|e| panic!("create topic {topic}: {e}; {START_HINT}"));
    for result in created {
        result.unwrap_or_else(|(name, code)| panic!("create topic {name}: {code}"));
    }
}

/// Deletes the topic and the groups, ignoring ones that do not exist.
pub fn clean_up(bootstrap: &str, topic: &str, groups: &[&str]) {
    let admin = admin(bootstrap);
    let options = AdminOptions::new().operation_timeout(Some(TIMEOUT));
    let _ = block_on(admin.delete_topics(&[topic], &options));
    if !groups.is_empty() {
        let _ = block_on(admin.delete_groups(groups, &options));
    }
}

/// One message as read back.
#[derive(Debug, Clone)]
pub struct Record {
    pub partition: i32,
    pub offset: i64,
    pub key: Vec<u8>,
    pub headers: Vec<(String, Vec<u8>)>,
    pub payload: Vec<u8>,
}

impl Record {
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_slice())
    }
}

/// Reads `topic` from the beginning until `expected` messages came and then
/// nothing more for a second; panics if fewer come within [`TIMEOUT`].
pub fn read_topic(bootstrap: &str, topic: &str, expected: usize) -> Vec<Record> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", run_id("reader"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("create the reading consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let deadline = Instant::now() + TIMEOUT;
    let mut records = Vec::new();
    let mut quiet_since = Instant::now();
    loop {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(message)) => {
                let headers = message
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|h| (h.key.to_owned(), h.value.unwrap_or_default().to_vec()))
                            .collect()
                    })
                    .unwrap_or_default();
                records.push(Record {
                    partition: message.partition(),
                    offset: message.offset(),
                    key: message.key().unwrap_or_default().to_vec(),
                    headers,
                    payload: message.payload().unwrap_or_default().to_vec(),
                });
                quiet_since = Instant::now();
            }
            Some(Err(e)) => panic!("reading {topic}: {e}"),
            None => {}
        }
        if records.len() >= expected && quiet_since.elapsed() > Duration::from_secs(1) {
            return records;
        }
        assert!(
            Instant::now() < deadline,
            "read {} of {expected} messages from {topic}",
            records.len()
        );
    }
}

/// How long a fresh broker may take to elect the coordinator of a new group.
const COORDINATOR_WAIT: Duration = Duration::from_secs(30);

/// The offsets `group` committed for partitions `0..partitions` of `topic`
/// (`-1` for none), summed: the documents it consumed for good.
pub fn committed_total(bootstrap: &str, topic: &str, group: &str, partitions: i32) -> i64 {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("create the offset reader");
    let mut wanted = TopicPartitionList::new();
    for p in 0..partitions {
        wanted.add_partition(topic, p);
    }
    // A broker that has just started answers "not coordinator" or "coordinator
    // load in progress" until its offsets topic is ready: both pass, so retry.
    let deadline = Instant::now() + COORDINATOR_WAIT;
    let committed = loop {
        match consumer.committed_offsets(wanted.clone(), TIMEOUT) {
            Ok(committed) => break committed,
            Err(error) if Instant::now() < deadline => {
                eprintln!("reading committed offsets, retrying: {error}");
                std::thread::sleep(Duration::from_millis(250));
            }
            Err(error) => panic!("read committed offsets of {group}: {error}"),
        }
    };
    let total = committed
        .elements()
        .iter()
        .map(|e| match e.offset() {
            Offset::Offset(n) => n,
            _ => 0,
        })
        .sum();
    // Both lists go before the consumer (see deploy/dev/README.md).
    drop(committed);
    drop(wanted);
    total
}

/// Polls `committed_total` until `group` has committed at least `at_least`
/// messages of `topic`, draining the indexers' logs meanwhile; panics with
/// `what` after `within`.
pub fn wait_for_commits(
    (bootstrap, topic, group, partitions): (&str, &str, &str, i32),
    at_least: i64,
    within: Duration,
    indexers: &[&Indexer],
    what: &str,
) {
    let deadline = Instant::now() + within;
    while committed_total(bootstrap, topic, group, partitions) < at_least {
        assert!(Instant::now() < deadline, "{what}");
        for indexer in indexers {
            indexer.drain_log();
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `run` flags that ship to `topic`, reading the session fixtures' device-local
/// times with their zone and a reference time after them.
pub fn shipper_flags<'a>(bootstrap: &'a str, topic: &'a str) -> [&'a str; 8] {
    [
        "--kafka",
        bootstrap,
        "--kafka-topic",
        topic,
        "--timezone",
        "+08:00",
        "--reference-time",
        "2025-07-24T00:00:00Z",
    ]
}

/// A running `nat-ingest index`.
pub struct Indexer {
    process: Process,
    /// Every log line read so far.
    seen: std::cell::RefCell<Vec<String>>,
}

impl Indexer {
    /// Starts `nat-ingest index ARGS` and waits for its "Started." line.
    pub fn start(args: &[&str]) -> Indexer {
        let mut command = Command::new(env!("CARGO_BIN_EXE_nat-ingest"));
        command
            .arg("index")
            .args(args)
            .env("NAT_INGEST_LOG", "info,nat_ingest::telemetry::kafka=debug")
            .env("NO_COLOR", "1");
        let (process, started) = Process::start(&mut command, "index", TIMEOUT);
        Indexer {
            process,
            seen: std::cell::RefCell::new(vec![started]),
        }
    }

    /// Prints (and keeps) the log lines that came so far.
    pub fn drain_log(&self) {
        self.seen.borrow_mut().extend(self.process.new_lines());
    }

    pub fn signal(&self, signal: i32) {
        self.process.signal(signal);
    }

    /// SIGTERM, a clean exit asserted; returns the whole log.
    pub fn stop(self) -> Vec<String> {
        let rest = self.process.stop();
        let mut lines = self.seen.take();
        lines.extend(rest);
        lines
    }

    /// Waits for the process to exit; returns its status and its whole log.
    pub fn wait(self) -> (ExitStatus, Vec<String>) {
        let (status, rest) = self.process.wait();
        let mut lines = self.seen.take();
        lines.extend(rest);
        (status, lines)
    }
}

/// Every line of every finished archive file in `dir`, in file order.
pub fn archive_lines(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    let mut lines = Vec::new();
    for path in names {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.ends_with(".ndjson.zst"), "unfinished file: {name}");
        let decoder =
            zstd::stream::read::Decoder::new(std::fs::File::open(&path).unwrap()).unwrap();
        lines.extend(BufReader::new(decoder).lines().map(Result::unwrap));
    }
    lines
}

/// The archive's file names without their sequence numbers: the days.
pub fn archive_days(dir: &Path) -> Vec<String> {
    let mut days: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy()[..10].to_owned())
        .collect();
    days.sort();
    days.dedup();
    days
}
