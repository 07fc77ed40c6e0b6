//! `nat-ingest parse`: files or stdin in, one NDJSON document per line out.
//!
//! The parsing core with nothing around it: useful to see what nat-ingest makes of a
//! capture, to check a grammar edit, and to measure the encoder on a whole file. Lines
//! end in LF or CRLF; empty lines are skipped; a line longer than `--max-line-bytes` is
//! cut there, tagged, and the rest of it skipped, so no input can exhaust memory.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::document::{Encoder, EncoderSettings, Received};

#[derive(Debug, Args)]
pub struct ParseArgs {
    /// Files to read; `-` or none reads standard input.
    pub files: Vec<PathBuf>,

    /// A directory of grammar files that add to or replace the built-in grammars.
    #[arg(long, value_name = "DIR")]
    pub grammars: Option<PathBuf>,

    /// Zone of device-local times without an offset: an IANA name (`Asia/Shanghai`) or a
    /// fixed offset (`+08:00`). Default: the host's zone.
    #[arg(long, value_name = "TZ")]
    pub timezone: Option<String>,

    /// A fixed "now" (RFC 3339) for year-less timestamps, instead of the read time.
    #[arg(long, value_name = "RFC3339")]
    pub reference_time: Option<String>,

    /// Leave `event.original` out of documents that parsed (failures always keep it).
    #[arg(long)]
    pub no_original: bool,

    /// Longest line read whole, in bytes; the rest of a longer line is cut and tagged.
    #[arg(long, value_name = "BYTES", default_value_t = 1024 * 1024)]
    pub max_line_bytes: usize,
}

/// Counts for the summary on stderr.
#[derive(Debug, Default)]
struct Summary {
    lines: u64,
    parsed: u64,
    failures: BTreeMap<&'static str, u64>,
    unreadable_files: u64,
}

/// How many lines share one receive time (reading the clock per line costs more).
const LINES_PER_CLOCK_READ: u64 = 256;

pub fn parse(args: ParseArgs) -> anyhow::Result<()> {
    let settings = EncoderSettings::from_options(
        args.timezone.as_deref(),
        args.reference_time.as_deref(),
        args.grammars.as_deref(),
        !args.no_original,
    )
    .context("cannot set up the parser")?;
    let encoder = Encoder::new(settings);

    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    let mut summary = Summary::default();
    let inputs = if args.files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        args.files.clone()
    };
    for path in &inputs {
        let reader: Box<dyn Read> = if path.as_os_str() == "-" {
            Box::new(io::stdin().lock())
        } else {
            match File::open(path) {
                Ok(file) => Box::new(file),
                Err(error) => {
                    tracing::error!(file = %path.display(), %error, "Cannot read an input file.");
                    summary.unreadable_files += 1;
                    continue;
                }
            }
        };
        let result = encode_lines(
            &encoder,
            reader,
            args.max_line_bytes,
            &mut out,
            &mut summary,
        );
        if let Err(error) = result {
            tracing::error!(file = %path.display(), %error, "Reading an input file failed.");
            summary.unreadable_files += 1;
        }
    }
    out.flush().context("cannot write to standard output")?;

    let failed: u64 = summary.failures.values().sum();
    let reasons: Vec<String> = summary
        .failures
        .iter()
        .map(|(tag, n)| format!("{tag}={n}"))
        .collect();
    eprintln!(
        "lines={} parsed={} failed={} {}",
        summary.lines,
        summary.parsed,
        failed,
        reasons.join(" ")
    );
    if summary.unreadable_files > 0 {
        anyhow::bail!(
            "{} input file(s) could not be read",
            summary.unreadable_files
        );
    }
    Ok(())
}

fn encode_lines(
    encoder: &Encoder,
    reader: impl Read,
    max_line_bytes: usize,
    out: &mut impl Write,
    summary: &mut Summary,
) -> io::Result<()> {
    let mut reader = BufReader::with_capacity(1 << 20, reader);
    let mut line = Vec::with_capacity(4096);
    let mut document = Vec::with_capacity(4096);
    let mut received = Received {
        at: jiff::Timestamp::now(),
        peer: None,
        truncated: false,
    };

    loop {
        line.clear();
        let (complete, truncated) = read_line(&mut reader, &mut line, max_line_bytes)?;
        if !complete && line.is_empty() {
            return Ok(());
        }
        if line.ends_with(b"\r") {
            line.pop();
        }
        if line.is_empty() {
            continue;
        }

        summary.lines += 1;
        if summary.lines % LINES_PER_CLOCK_READ == 0 {
            received.at = jiff::Timestamp::now();
        }
        received.truncated = truncated;
        document.clear();
        let encoded = encoder.encode(&line, &received, &mut document);
        document.push(b'\n');
        out.write_all(&document)?;
        match encoded.failure {
            Some(tag) => *summary.failures.entry(tag).or_default() += 1,
            None => summary.parsed += 1,
        }
    }
}

/// Reads one line without its LF into `line`, keeping at most `max` bytes.
/// Returns (ended by LF or had bytes, was cut).
fn read_line(
    reader: &mut impl BufRead,
    line: &mut Vec<u8>,
    max: usize,
) -> io::Result<(bool, bool)> {
    let mut truncated = false;
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Ok((!line.is_empty(), truncated));
        }
        let (chunk, found) = match memchr::memchr(b'\n', available) {
            Some(i) => (&available[..i], true),
            None => (available, false),
        };
        let room = max.saturating_sub(line.len());
        if chunk.len() > room {
            truncated = true;
        }
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let consumed = chunk.len() + found as usize;
        reader.consume(consumed);
        if found {
            return Ok((true, truncated));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_and_the_rest_skipped() {
        let input = b"abcdefghij\nxy\r\n\nlast";
        let mut reader = BufReader::with_capacity(4, &input[..]);
        let mut line = Vec::new();
        let mut got = Vec::new();
        loop {
            line.clear();
            let (complete, truncated) = read_line(&mut reader, &mut line, 5).unwrap();
            if !complete {
                break;
            }
            got.push((String::from_utf8(line.clone()).unwrap(), truncated));
        }
        assert_eq!(
            got,
            [
                ("abcde".into(), true),
                ("xy\r".into(), false),
                ("".into(), false),
                ("last".into(), false)
            ]
        );
    }
}
