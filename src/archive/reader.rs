//! Reading archive files back: one document per line, across all zstd frames.
//!
//! `replay` and the tests read through here so that the file format has one
//! reader. A finished file always decodes to the end; an `.open` file may end in a
//! cut frame, which `open_lenient` hides by reading only the complete frames.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};

use super::naming;
use super::recover;

/// A buffered reader over the decompressed NDJSON of a finished file.
pub fn open(path: &Path) -> io::Result<impl BufRead> {
    let decoder = zstd::stream::read::Decoder::new(File::open(path)?)?;
    Ok(BufReader::with_capacity(256 * 1024, decoder))
}

/// Like `open`, but stops quietly before a cut last frame, for files a crash or a
/// running writer left open. Reads the whole file into memory first.
pub fn open_lenient(path: &Path) -> io::Result<impl BufRead> {
    let mut data = fs::read(path)?;
    let prefix = recover::complete_frames(&data);
    data.truncate(prefix.bytes);
    let decoder = zstd::stream::read::Decoder::new(Cursor::new(data))?;
    Ok(BufReader::new(decoder))
}

/// Finished archive files in `dir`, in time order (day, then sequence).
pub fn finished_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(parsed) = name.to_str().and_then(naming::parse_name) else {
            continue;
        };
        if !parsed.is_open {
            files.push((parsed.date, parsed.sequence, entry.path()));
        }
    }
    files.sort();
    Ok(files.into_iter().map(|(_, _, path)| path).collect())
}

/// Every line of a reader, without its newline. A convenience for tests and tools;
/// `replay` streams instead.
pub fn read_lines(mut reader: impl Read) -> io::Result<Vec<String>> {
    let mut text = String::new();
    reader.read_to_string(&mut text)?;
    Ok(text.lines().map(str::to_owned).collect())
}
