//! `check-config` and start-up: the example config is valid, unknown keys are
//! refused with their line, and `run` with no arguments starts on the defaults.

mod run_support;

use std::process::Command;

fn nat_ingest() -> Command {
    Command::new(env!("CARGO_BIN_EXE_nat-ingest"))
}

/// The example config's path.
const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/nat-ingest.toml");

/// Runs `check-config EXAMPLE` with `flags`, asserts it succeeds, and returns the
/// effective settings it printed, as text and as a table.
fn effective_config(flags: &[&str]) -> (String, toml::Table) {
    let output = nat_ingest()
        .args(["check-config", EXAMPLE])
        .args(flags)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let table = toml::from_str(&text).unwrap();
    (text, table)
}

#[test]
fn example_config_checks_and_prints_every_section() {
    let (text, effective) = effective_config(&[]);
    for section in ["listener", "archive", "pipeline", "parser", "metrics"] {
        assert!(
            effective.contains_key(section),
            "{section} missing from:\n{text}"
        );
    }
    assert_eq!(effective["listener"].as_array().unwrap().len(), 2);
}

#[test]
fn flags_show_in_the_effective_settings() {
    let (_, effective) = effective_config(&[
        "--listen",
        "udp://127.0.0.1:1514",
        "--timezone",
        "Asia/Shanghai",
        "--archive",
        "/srv/archive",
        "--metrics",
        "127.0.0.1:9999",
    ]);
    let listeners = effective["listener"].as_array().unwrap();
    assert_eq!(listeners.len(), 1);
    assert_eq!(listeners[0]["address"].as_str(), Some("127.0.0.1:1514"));
    assert_eq!(
        effective["parser"]["timezone"].as_str(),
        Some("Asia/Shanghai")
    );
    assert_eq!(effective["archive"]["dir"].as_str(), Some("/srv/archive"));
    assert_eq!(
        effective["metrics"]["address"].as_str(),
        Some("127.0.0.1:9999")
    );
}

/// `--kafka` adds a `[kafka]` section with every key the example config
/// documents, each at its default.
#[test]
fn kafka_flags_show_every_documented_kafka_key() {
    let (_, effective) = effective_config(&["--kafka", "k1:9092,k2:9092", "--kafka-topic", "nat"]);
    let kafka = effective["kafka"].as_table().expect("a [kafka] section");
    assert_eq!(kafka["topic"].as_str(), Some("nat"));
    assert_eq!(kafka["brokers"].as_array().unwrap().len(), 2);
    assert_eq!(kafka["compression"].as_str(), Some("zstd"));

    // Every `# key = value` line after `# [kafka]` names a key that is shown.
    let text = std::fs::read_to_string(EXAMPLE).unwrap();
    let section = text.split("# [kafka]").nth(1).expect("a [kafka] block");
    let documented: Vec<&str> = section
        .lines()
        .filter_map(|l| l.strip_prefix("# ")?.split_once(" = ").map(|(k, _)| k))
        .filter(|k| !k.contains(' '))
        .collect();
    assert!(documented.len() >= 15, "{documented:?}");
    for key in documented {
        assert!(kafka.contains_key(key), "{key} missing from {kafka:#?}");
    }
}

#[test]
fn unknown_key_is_refused_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("typo.toml");
    std::fs::write(&file, "[archive]\ndir = \"x\"\nmax_file_size = 5\n").unwrap();
    for args in [
        vec!["check-config", file.to_str().unwrap()],
        vec!["run", "--config", file.to_str().unwrap()],
    ] {
        let output = nat_ingest().args(&args).output().unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("line 3") && stderr.contains("max_file_size"),
            "{stderr}"
        );
    }
}

/// `nat-ingest run` alone: UDP and TCP on 5514, archive in ./nat-ingest-data,
/// metrics on 127.0.0.1:9898. Needs those ports free.
#[test]
fn run_without_arguments_uses_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = nat_ingest()
        .arg("run")
        .current_dir(dir.path())
        .env("NAT_INGEST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr));
    let started = lines
        .find(|l| {
            l.as_ref()
                .map_or(true, |l| l.contains("Started.") || l.contains("Error"))
        })
        .expect("a start line")
        .unwrap();
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();

    assert!(
        started.contains("udp://0.0.0.0:5514") && started.contains("tcp://0.0.0.0:5514"),
        "{started}"
    );
    assert!(started.contains("127.0.0.1:9898"), "{started}");
    assert!(status.success());
    assert!(dir.path().join("nat-ingest-data").is_dir());
}
