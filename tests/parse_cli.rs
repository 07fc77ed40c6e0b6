//! `nat-ingest parse` as a user runs it: order kept across parser threads, empty lines
//! skipped, CRLF accepted, a summary on stderr, exit status for unreadable files.

use std::io::Write;
use std::process::{Command, Stdio};

fn nat_ingest() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_nat-ingest"));
    command.env("NAT_INGEST_LOG", "warn");
    command
}

#[test]
fn documents_come_out_in_input_order() {
    let mut input = String::new();
    for n in 0..20_000 {
        input.push_str(&format!(
            "<189>Jul 23 2025 10:11:12 AR1 %%01SHELL/5/X(l)[{n}]:line {n}\r\n"
        ));
        if n % 1000 == 0 {
            input.push('\n');
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.log");
    std::fs::write(&path, input).unwrap();

    let output = nat_ingest()
        .args(["parse", "--timezone", "UTC"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let sequences: Vec<u64> = stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["huawei"]["sequence"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(sequences, (0..20_000).collect::<Vec<_>>());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("lines=20000 parsed=20000 failed=0"),
        "{stderr}"
    );
}

#[test]
fn stdin_works_and_failures_are_counted_by_tag() {
    let mut child = nat_ingest()
        .args(["parse", "--timezone", "UTC"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"<999>bad\n<13>Jul 23 10:00:00 h a: ok\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout).lines().count(), 2);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("lines=2 parsed=1 failed=1 _syslog_parse_failure=1"),
        "{stderr}"
    );
}

#[test]
fn an_unreadable_file_fails_the_run_after_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.log");
    std::fs::write(&good, "<13>Jul 23 10:00:00 h a: ok\n").unwrap();
    let output = nat_ingest()
        .args(["parse"])
        .arg(dir.path().join("missing.log"))
        .arg(&good)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout).lines().count(), 1);
}

#[test]
fn a_bad_grammar_directory_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.toml"), "name = 1\n").unwrap();
    let output = nat_ingest()
        .args(["parse", "--grammars"])
        .arg(dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("broken.toml:1"), "{stderr}");
}
