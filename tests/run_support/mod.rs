//! Helpers for the `run_*` tests: start the real `nat-ingest run` binary on
//! ephemeral loopback ports with a temporary archive, send it syslog, stop it
//! with a signal, and read its archive back.

#![allow(dead_code)] // Each test binary uses its own subset.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long the binary gets to print its start line or to exit after a signal.
const PROCESS_TIMEOUT: Duration = Duration::from_secs(60);

/// A child `nat-ingest` process with its stderr piped: a thread forwards the
/// lines (without colour codes), so that the pipe never fills up. Killed when
/// dropped.
pub struct Process {
    child: Child,
    log: mpsc::Receiver<String>,
    /// Prefixes the lines echoed to the test's output.
    name: &'static str,
    /// How long starting and exiting may take.
    timeout: Duration,
}

impl Process {
    /// Spawns `command` and waits for its "Started." line, which it returns.
    pub fn start(
        command: &mut Command,
        name: &'static str,
        timeout: Duration,
    ) -> (Process, String) {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (lines, log) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if lines.send(strip_ansi(&line)).is_err() {
                    break;
                }
            }
        });
        let process = Process {
            child,
            log,
            name,
            timeout,
        };

        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = process
                .log
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("{name} did not start"));
            eprintln!("{name}: {line}");
            if line.contains("Started.") {
                return (process, line);
            }
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Sends `signal` (e.g. `libc::SIGTERM`).
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
        assert_eq!(unsafe { libc::kill(self.pid(), signal) }, 0);
    }

    /// The lines logged since the last read, without waiting for more.
    pub fn new_lines(&self) -> Vec<String> {
        let lines: Vec<String> = self.log.try_iter().collect();
        for line in &lines {
            eprintln!("{}: {line}", self.name);
        }
        lines
    }

    /// Sends SIGTERM, waits, asserts a clean exit, and returns the lines logged
    /// since the last read.
    pub fn stop(self) -> Vec<String> {
        self.signal(libc::SIGTERM);
        let name = self.name;
        let (status, lines) = self.wait();
        assert!(status.success(), "{name} exited with {status}");
        lines
    }

    /// Waits for the process to exit; returns its status and the lines logged
    /// since the last read.
    pub fn wait(mut self) -> (ExitStatus, Vec<String>) {
        let deadline = Instant::now() + self.timeout;
        let mut lines = Vec::new();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "{} did not exit", self.name);
            lines.extend(self.new_lines());
            std::thread::sleep(Duration::from_millis(20));
        };
        while let Ok(line) = self.log.recv_timeout(Duration::from_secs(2)) {
            eprintln!("{}: {line}", self.name);
            lines.push(line);
        }
        (status, lines)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `nat-ingest run`.
pub struct Running {
    process: Process,
    pub udp: Option<SocketAddr>,
    pub tcp: Option<SocketAddr>,
    pub tls: Option<SocketAddr>,
    pub metrics: Option<SocketAddr>,
}

impl Running {
    /// Starts the binary with `args` appended to `run` and waits for "Started.".
    pub fn start(archive: &Path, listen: &[&str], extra: &[&str]) -> Running {
        let mut command = Command::new(env!("CARGO_BIN_EXE_nat-ingest"));
        command
            .arg("run")
            .arg("--archive")
            .arg(archive)
            .args(["--metrics", "127.0.0.1:0"]);
        for url in listen {
            command.args(["--listen", url]);
        }
        command.args(extra).env("NAT_INGEST_LOG", "info");
        let (process, line) = Process::start(&mut command, "nat-ingest", PROCESS_TIMEOUT);

        let listen = field(&line, "listen=").unwrap_or_default();
        let find = |scheme: &str| {
            listen
                .split(',')
                .find_map(|u| u.strip_prefix(scheme))
                .map(|a| a.parse().unwrap())
        };
        let (udp, tcp, tls) = (find("udp://"), find("tcp://"), find("tls://"));
        let metrics = field(&line, "metrics=").and_then(|a| a.parse().ok());
        Running {
            process,
            udp,
            tcp,
            tls,
            metrics,
        }
    }

    /// Starts `run` with one TCP listener and `extra` flags, sends it `lines` over
    /// one connection, and waits until it has received them all.
    pub fn start_fed(archive: &Path, extra: &[&str], lines: &[String]) -> Running {
        let running = Running::start(archive, &["tcp://127.0.0.1:0"], extra);
        send_lines(running.tcp.unwrap(), lines);
        running.wait_for_metric(
            "listener_received_messages_total",
            lines.len() as f64,
            Duration::from_secs(60),
        );
        running
    }

    pub fn pid(&self) -> i32 {
        self.process.pid()
    }

    /// Sends `signal` (e.g. `libc::SIGTERM`).
    pub fn signal(&self, signal: i32) {
        self.process.signal(signal);
    }

    /// SIGTERM, a clean exit asserted; returns the log after the start line.
    pub fn stop(self) -> Vec<String> {
        self.process.stop()
    }

    /// Waits for the process to exit and returns its status and the log after
    /// the start line.
    pub fn wait(self) -> (ExitStatus, Vec<String>) {
        self.process.wait()
    }

    /// The sum of every metric line starting with `prefix` (a name, maybe with
    /// labels); 0 when there is none yet.
    pub fn metric_sum(&self, prefix: &str) -> f64 {
        let page = http_get(self.metrics.expect("metrics enabled"), "/metrics").unwrap_or_default();
        page.lines()
            .filter(|l| l.starts_with(prefix))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// Polls `metric_sum(prefix)` until it reaches `at_least`; panics after `timeout`.
    pub fn wait_for_metric(&self, prefix: &str, at_least: f64, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let value = self.metric_sum(prefix);
            if value >= at_least {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{prefix} stayed at {value}, expected {at_least}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // Skip to the end of the escape sequence, a letter.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The value after `key` up to the next space, unquoted.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = line.find(key)? + key.len();
    Some(line[start..].split(' ').next()?.trim_matches('"'))
}

fn http_get(address: SocketAddr, path: &str) -> Option<String> {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect_timeout(&address, Duration::from_secs(5)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response.split_once("\r\n\r\n")?.1.to_owned())
}

/// The root deploy/dev/real-senders.sh unpacks the real syslog senders into
/// (`$NAT_INGEST_REAL_SENDERS_DIR/root`, else `target/real-senders/root`). Panics,
/// naming the script, when `binary` (a path under the root) is not there.
pub fn real_senders_root(binary: &str) -> PathBuf {
    let root = std::env::var_os("NAT_INGEST_REAL_SENDERS_DIR")
        .map(|d| PathBuf::from(d).join("root"))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/real-senders/root"));
    assert!(
        root.join(binary).exists(),
        "{binary} is not unpacked under {}; run deploy/dev/real-senders.sh",
        root.display()
    );
    root
}

/// Every line of the finished archive files, file by file in name order; each must
/// be one JSON document.
pub fn archived_lines(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    let mut lines = Vec::new();
    for path in names {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.ends_with(".ndjson.zst"),
            "unfinished file left behind: {name}"
        );
        let decoder =
            zstd::stream::read::Decoder::new(std::fs::File::open(&path).unwrap()).unwrap();
        for line in BufReader::new(decoder).lines() {
            let line = line.unwrap();
            if let Err(e) = serde_json::from_str::<serde_json::Value>(&line) {
                panic!("{name}: not one JSON document per line ({e}): {line}");
            }
            lines.push(line);
        }
    }
    lines
}

/// Every document in the finished archive files, file by file in name order.
pub fn archived_documents(dir: &Path) -> Vec<serde_json::Value> {
    archived_lines(dir)
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// A test message carrying `tag` (`[a-z]+-\d+`), which the archive check finds
/// again in whatever field the encoder keeps the text in.
pub fn message(stream: &str, n: usize) -> String {
    format!("<134>Jul 23 02:11:12 router-7 test: nat-ingest test message tag={stream}-{n:07} end")
}

/// Every tag in the finished archive files, counted per stream: stream → numbers.
pub fn archived_tags(dir: &Path) -> (usize, BTreeMap<String, Vec<usize>>) {
    let lines = archived_lines(dir);
    let mut tags: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for line in &lines {
        let at = line.find("tag=").expect("document keeps the tag") + 4;
        let tag: String = line[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        let (stream, number) = tag.rsplit_once('-').unwrap();
        tags.entry(stream.to_owned())
            .or_default()
            .push(number.parse().unwrap());
    }
    for numbers in tags.values_mut() {
        numbers.sort_unstable();
    }
    (lines.len(), tags)
}

/// How long one loggen run may take.
const LOGGEN_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs loggen with `args` against `target`; panics if it fails, hangs, or reports a
/// count of messages sent other than `expected`.
pub fn loggen(root: &Path, args: &[&str], target: SocketAddr, expected: usize) {
    let library_path = [
        "usr/lib/syslog-ng",
        "usr/lib/x86_64-linux-gnu",
        "lib/x86_64-linux-gnu",
    ]
    .map(|dir| root.join(dir).display().to_string())
    .join(":");
    let child = Command::new(root.join("usr/bin/loggen"))
        .args(args)
        .arg(target.ip().to_string())
        .arg(target.port().to_string())
        .env("LD_LIBRARY_PATH", library_path)
        .env("SYSLOGNG_PREFIX", root.join("usr"))
        // Its RFC 3164 stamps carry no offset; UTC keeps them comparable.
        .env("TZ", "UTC")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("loggen starts");
    let pid = child.id() as i32;

    // The output is collected on a thread, so that waiting can have a deadline.
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    let result = finished.recv_timeout(LOGGEN_TIMEOUT).unwrap_or_else(|_| {
        // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        panic!("loggen {args:?} did not finish within {LOGGEN_TIMEOUT:?}");
    });
    let result = result.expect("loggen's output");
    let output = String::from_utf8_lossy(&result.stdout) + String::from_utf8_lossy(&result.stderr);
    eprintln!("loggen {args:?}: {}", output.trim());
    assert!(result.status.success(), "loggen {args:?} failed: {output}");

    let count = output
        .split("count=")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or_else(|| panic!("loggen printed no count: {output}"));
    assert_eq!(count, expected, "loggen's own count of messages sent");
}

/// Sends `lines` over one TCP connection to `address`, LF-framed.
pub fn send_lines(address: SocketAddr, lines: &[String]) {
    use std::io::Write;
    let stream = std::net::TcpStream::connect(address).unwrap();
    let mut writer = std::io::BufWriter::new(stream);
    for line in lines {
        writer.write_all(line.as_bytes()).unwrap();
        writer.write_all(b"\n").unwrap();
    }
    writer.flush().unwrap();
}
