//! A real relay in front of nat-ingest: rsyslog (Debian's package, unpacked by
//! deploy/dev/real-senders.sh) reads Huawei AR session lines from a file and forwards
//! them over TCP, octet-counted, wrapped in RFC 5424, the way a site that already runs
//! rsyslog would hand logs on. Every line must arrive, once, as a session document
//! with the device's own host name.

#![cfg(feature = "integration")]

mod run_support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use run_support::Running;

const LINES: usize = 2_000;

fn rsyslog_root() -> PathBuf {
    let root = std::env::var_os("NAT_INGEST_REAL_SENDERS_DIR")
        .map(|d| PathBuf::from(d).join("root"))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/real-senders/root"));
    assert!(
        root.join("usr/sbin/rsyslogd").exists(),
        "rsyslog is not unpacked at {}; run deploy/dev/real-senders.sh",
        root.display()
    );
    root
}

fn start_rsyslog(root: &Path, work: &Path, input: &Path, port: u16) -> Child {
    let modules = root.join("usr/lib/x86_64-linux-gnu/rsyslog");
    let config = work.join("rsyslog.conf");
    std::fs::write(
        &config,
        format!(
            r#"global(workDirectory="{work}")
module(load="imfile" mode="polling" PollingInterval="1")
input(type="imfile" File="{input}" Tag="fwlog" Facility="local7" Severity="notice" freshStartTail="off")
action(type="omfwd" Target="127.0.0.1" Port="{port}" Protocol="tcp" TCP_Framing="octet-counted"
       Template="RSYSLOG_SyslogProtocol23Format")
"#,
            work = work.display(),
            input = input.display(),
        ),
    )
    .unwrap();
    Command::new(root.join("usr/sbin/rsyslogd"))
        .args(["-n", "-f"])
        .arg(&config)
        .arg("-M")
        .arg(&modules)
        .arg("-i")
        .arg(work.join("rsyslogd.pid"))
        .env("LD_LIBRARY_PATH", root.join("usr/lib/x86_64-linux-gnu"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("rsyslogd starts")
}

#[test]
fn rsyslog_forwarding_huawei_lines_over_tcp_loses_nothing() {
    let root = rsyslog_root();
    let work = tempfile::tempdir().unwrap();
    let archive = work.path().join("archive");
    let input = work.path().join("ar1220.log");
    let mut text = String::new();
    for n in 0..LINES {
        text.push_str(&format!(
            "Jul 23 2025 10:11:12 AR1220-EDGE %%01FW-LOG/5/SESSION_LOG(l)[{n}]:Protocol:<TCP> Operator:<Normal over> IPVer:<4> TOS:<0> Src:<192.168.10.23:{port}> Dst:<198.51.100.34:443> SrcNat:<203.0.113.7:10244> DstNat:<198.51.100.34:443> Begin:<2025/07/23 10:09:40> End:<2025/07/23 10:11:12> Duration:<92> PosPkts:<41> PosBytes:<5120> NegPkts:<38> NegBytes:<48213>\n",
            port = 1024 + n
        ));
    }
    std::fs::write(&input, text).unwrap();

    let running = Running::start(&archive, &["tcp://127.0.0.1:0"], &["--timezone", "+08:00"]);
    let port = running.tcp.unwrap().port();
    let mut rsyslog = start_rsyslog(&root, work.path(), &input, port);
    let waited = Instant::now();
    running.wait_for_metric(
        "pipeline_documents_parsed_total",
        LINES as f64,
        Duration::from_secs(90),
    );
    eprintln!("{LINES} lines through rsyslog in {:?}", waited.elapsed());
    let _ = rsyslog.kill();
    let _ = rsyslog.wait();
    running.signal(libc::SIGTERM);
    let (status, _) = running.wait();
    assert!(status.success());

    let mut sequences = Vec::new();
    for entry in std::fs::read_dir(&archive).unwrap() {
        let file = std::fs::File::open(entry.unwrap().path()).unwrap();
        let decoder = zstd::stream::read::Decoder::new(file).unwrap();
        for line in BufReader::new(decoder).lines() {
            let doc: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
            assert_eq!(doc["event"]["dataset"], "huawei.session", "{doc}");
            assert_eq!(doc["log"]["syslog"]["hostname"], "AR1220-EDGE");
            assert_eq!(doc["@timestamp"], "2025-07-23T02:11:12Z");
            assert_eq!(doc["source"]["nat"]["ip"], "203.0.113.7");
            sequences.push(doc["huawei"]["sequence"].as_u64().unwrap());
        }
    }
    sequences.sort_unstable();
    assert_eq!(sequences, (0..LINES as u64).collect::<Vec<_>>());
}
