//! Encodes every line of a file once, single-threaded, with a fixed receive time,
//! and writes the documents (NDJSON) to stdout: a deterministic workload for
//! instruction counts, and a way to check that an encoder change leaves the output
//! byte-identical.
//!
//! ```text
//! cargo build --release --example encode_file
//! valgrind --tool=callgrind target/release/examples/encode_file \
//!     benches/data/huawei-sessions-20k.log > /tmp/docs.ndjson
//! ```
//!
//! A second argument repeats the encoding that many times (for `perf record`); only
//! the last round is written. With a third argument, `time`, nothing is written:
//! each round encodes every line into a cleared buffer, as the criterion bench does,
//! and the best round's lines per second go to stderr (a quick A/B between builds).

use std::io::Write;

use nat_ingest::document::{Encoder, EncoderSettings, Received};

fn main() -> std::io::Result<()> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "benches/data/huawei-sessions-20k.log".into());
    let rounds: usize = match std::env::args().nth(2) {
        Some(n) => n.parse().expect("a number of rounds"),
        None => 1,
    };
    let data = std::fs::read(path)?;
    let received = Received {
        at: "2025-07-23T04:00:00Z".parse().expect("a valid time"),
        peer: None,
        truncated: false,
        misframed: false,
    };
    let mut settings =
        EncoderSettings::from_options(Some("+08:00"), None, None, true).expect("built-in settings");
    // As `parse` and the archive encode; NAT_INGEST_DOCUMENT_IDS=1 adds the
    // fingerprint the Elasticsearch and Kafka sinks need.
    settings.document_ids = std::env::var_os("NAT_INGEST_DOCUMENT_IDS").is_some_and(|v| v == "1");
    let encoder = Encoder::new(settings);

    if std::env::args().nth(3).as_deref() == Some("time") {
        let lines: Vec<&[u8]> = data
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        let mut out = Vec::with_capacity(1 << 20);
        let mut best = std::time::Duration::MAX;
        for _ in 0..rounds {
            let started = std::time::Instant::now();
            for line in &lines {
                out.clear();
                encoder.encode(line, &received, &mut out);
                std::hint::black_box(&out);
            }
            best = best.min(started.elapsed());
        }
        eprintln!("{:.0} lines/s", lines.len() as f64 / best.as_secs_f64());
        return Ok(());
    }

    let mut out = Vec::with_capacity(data.len() * 3);
    for _ in 0..rounds {
        out.clear();
        for line in data.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            encoder.encode(line, &received, &mut out);
            out.push(b'\n');
        }
    }
    std::io::stdout().lock().write_all(&out)
}
