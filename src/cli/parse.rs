//! `nat-ingest parse`: files or stdin in, one NDJSON document per line out.
//!
//! The parsing core with nothing around it: useful to see what nat-ingest makes of a
//! capture, to check a grammar edit, and to measure the encoder on a whole file. One
//! thread reads, one per core encodes chunks of lines, and the main thread writes the
//! documents back in input order; the queues between them are bounded, so memory stays
//! a few chunks deep whatever the input size. Lines
//! end in LF or CRLF; empty lines are skipped; a line longer than `--max-line-bytes` is
//! cut there, tagged, and the rest of it skipped, so no input can exhaust memory.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;
use std::sync::{mpsc, Mutex};

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

pub fn parse(args: ParseArgs) -> anyhow::Result<()> {
    let mut settings = EncoderSettings::from_options(
        args.timezone.as_deref(),
        args.reference_time.as_deref(),
        args.grammars.as_deref(),
        !args.no_original,
    )
    .context("cannot set up the parser")?;
    // Standard output names no documents.
    settings.document_ids = false;
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
        let reader: Box<dyn Read + Send> = if path.as_os_str() == "-" {
            Box::new(io::stdin())
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

/// Lines read before a chunk goes to a parser thread.
const CHUNK_LINES: usize = 4096;
/// Bytes read before a chunk goes to a parser thread.
const CHUNK_BYTES: usize = 1 << 20;

/// Lines on their way to a parser thread: one buffer, with where each line lies.
struct Chunk {
    sequence: u64,
    received: jiff::Timestamp,
    data: Vec<u8>,
    /// (start, end, cut at the line limit) in `data`.
    lines: Vec<(usize, usize, bool)>,
}

/// A chunk's documents and counts, on their way back to be written in order.
struct Encoded {
    sequence: u64,
    documents: Vec<u8>,
    lines: u64,
    parsed: u64,
    failures: Vec<(&'static str, u64)>,
}

/// Emptied buffers handed back for the next chunk. A fresh buffer of a few MiB
/// per chunk would be a fresh mapping whose pages fault in (zeroed) as the
/// documents fill them and are unmapped again when it is freed on another
/// thread: on two cores that cost as much as a third of the encoding.
#[derive(Default)]
struct BufferPool {
    free: Mutex<Vec<Vec<u8>>>,
}

/// Buffers kept in a [`BufferPool`]: enough for every chunk in flight.
const POOLED_BUFFERS: usize = 16;

impl BufferPool {
    /// An empty buffer with room for `capacity` bytes, reused when one is free.
    fn take(&self, capacity: usize) -> Vec<u8> {
        let reused = self.free.lock().ok().and_then(|mut free| free.pop());
        let mut buffer = reused.unwrap_or_default();
        buffer.reserve(capacity);
        buffer
    }

    fn give(&self, mut buffer: Vec<u8>) {
        buffer.clear();
        if let Ok(mut free) = self.free.lock() {
            if free.len() < POOLED_BUFFERS {
                free.push(buffer);
            }
        }
    }
}

/// Reads lines on one thread, encodes chunks of them on one thread per core, and
/// writes the documents here, in input order.
fn encode_lines(
    encoder: &Encoder,
    reader: Box<dyn Read + Send>,
    max_line_bytes: usize,
    out: &mut impl Write,
    summary: &mut Summary,
) -> io::Result<()> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (chunk_tx, chunk_rx) = mpsc::sync_channel::<Chunk>(workers * 2);
    let chunk_rx = Mutex::new(chunk_rx);
    let (done_tx, done_rx) = mpsc::sync_channel::<Encoded>(workers * 2);
    // Chunk data goes reader → parser → reader; documents parser → writer → parser.
    let (data_pool, document_pool) = (BufferPool::default(), BufferPool::default());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let (chunk_rx, done_tx) = (&chunk_rx, done_tx.clone());
            let (data_pool, document_pool) = (&data_pool, &document_pool);
            scope.spawn(move || {
                // The lock is held only to take the next chunk.
                while let Ok(chunk) = chunk_rx.lock().expect("no parser thread panics").recv() {
                    let encoded = encode_chunk(encoder, &chunk, document_pool);
                    data_pool.give(chunk.data);
                    if done_tx.send(encoded).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        let data_pool = &data_pool;
        let reading = scope.spawn(move || read_chunks(reader, max_line_bytes, chunk_tx, data_pool));

        // Chunks finish out of order; hold the early ones until their turn.
        let mut next = 0;
        let mut waiting = BTreeMap::new();
        let mut write_result = Ok(());
        for encoded in done_rx {
            waiting.insert(encoded.sequence, encoded);
            while let Some(encoded) = waiting.remove(&next) {
                next += 1;
                summary.lines += encoded.lines;
                summary.parsed += encoded.parsed;
                for (tag, count) in encoded.failures {
                    *summary.failures.entry(tag).or_default() += count;
                }
                if write_result.is_ok() {
                    write_result = out.write_all(&encoded.documents);
                }
                document_pool.give(encoded.documents);
            }
        }
        let read_result = reading.join().expect("the reader thread does not panic");
        write_result.and(read_result)
    })
}

/// Splits the input into chunks of lines and hands them to the parser threads.
fn read_chunks(
    reader: Box<dyn Read + Send>,
    max_line_bytes: usize,
    chunks: mpsc::SyncSender<Chunk>,
    data_pool: &BufferPool,
) -> io::Result<()> {
    let mut reader = BufReader::with_capacity(1 << 20, reader);
    let mut line = Vec::with_capacity(4096);
    let new_chunk = |sequence| Chunk {
        sequence,
        received: jiff::Timestamp::now(),
        data: data_pool.take(CHUNK_BYTES + 4096),
        lines: Vec::with_capacity(CHUNK_LINES),
    };
    let mut chunk = new_chunk(0);
    loop {
        line.clear();
        let (complete, truncated) = read_line(&mut reader, &mut line, max_line_bytes)?;
        if !complete && line.is_empty() {
            break;
        }
        if line.ends_with(b"\r") {
            line.pop();
        }
        if line.is_empty() {
            continue;
        }
        let start = chunk.data.len();
        chunk.data.extend_from_slice(&line);
        chunk.lines.push((start, chunk.data.len(), truncated));
        if chunk.lines.len() >= CHUNK_LINES || chunk.data.len() >= CHUNK_BYTES {
            let sequence = chunk.sequence + 1;
            if chunks
                .send(std::mem::replace(&mut chunk, new_chunk(sequence)))
                .is_err()
            {
                return Ok(());
            }
        }
    }
    if !chunk.lines.is_empty() {
        let _ = chunks.send(chunk);
    }
    Ok(())
}

fn encode_chunk(encoder: &Encoder, chunk: &Chunk, document_pool: &BufferPool) -> Encoded {
    let mut encoded = Encoded {
        sequence: chunk.sequence,
        documents: document_pool.take(chunk.data.len() * 3),
        lines: chunk.lines.len() as u64,
        parsed: 0,
        failures: Vec::new(),
    };
    for &(start, end, truncated) in &chunk.lines {
        let received = Received {
            at: chunk.received,
            peer: None,
            truncated,
            misframed: false,
        };
        let documents = &mut encoded.documents;
        let result = encoder.encode(&chunk.data[start..end], &received, documents);
        documents.push(b'\n');
        match result.failure {
            None => encoded.parsed += 1,
            Some(tag) => match encoded.failures.iter_mut().find(|(t, _)| *t == tag) {
                Some((_, count)) => *count += 1,
                None => encoded.failures.push((tag, 1)),
            },
        }
    }
    encoded
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
