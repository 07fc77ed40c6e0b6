//! The dead-letter file: documents the server rejected for good, one NDJSON line
//! each, so that nothing the server refuses is lost and an operator can fix the
//! mapping and send them again.
//!
//! A line reads `{"at":…,"status":400,"reason":"…","action":{"create":{…}},
//! "document":{…}}`: the document is embedded as the JSON it was sent as. Lines
//! of one request are written with one `write` and synced before the request
//! counts as finished, so a crash cannot lose a rejected document silently.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::request::BulkBody;

/// The open dead-letter file. Opened lazily: most runs never write one.
#[derive(Debug)]
pub struct DeadLetterFile {
    path: PathBuf,
    file: Option<File>,
    line: Vec<u8>,
}

/// One rejected item.
pub struct Rejected<'a> {
    /// Index of the item in `body`.
    pub item: usize,
    pub status: u16,
    pub reason: &'a str,
}

impl DeadLetterFile {
    pub fn new(path: PathBuf) -> DeadLetterFile {
        DeadLetterFile {
            path,
            file: None,
            line: Vec::new(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends the rejected items of `body` and syncs the file.
    pub fn write(&mut self, body: &BulkBody, rejected: &[Rejected<'_>]) -> io::Result<()> {
        if rejected.is_empty() {
            return Ok(());
        }
        let at = jiff::Timestamp::now().to_string();
        self.line.clear();
        for item in rejected {
            self.line.extend_from_slice(b"{\"at\":\"");
            self.line.extend_from_slice(at.as_bytes());
            self.line.extend_from_slice(b"\",\"status\":");
            self.line
                .extend_from_slice(itoa::Buffer::new().format(item.status).as_bytes());
            self.line.extend_from_slice(b",\"reason\":");
            serde_json::to_writer(&mut self.line, item.reason).map_err(io::Error::other)?;
            self.line.extend_from_slice(b",\"action\":");
            self.line.extend_from_slice(body.action(item.item));
            self.line.extend_from_slice(b",\"document\":");
            self.line.extend_from_slice(body.document(item.item));
            self.line.extend_from_slice(b"}\n");
        }

        let file = match &mut self.file {
            Some(file) => file,
            None => {
                if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)?;
                }
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)?;
                self.file.insert(file)
            }
        };
        file.write_all(&self.line)?;
        file.sync_data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_one_json_line_per_rejected_item() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/dead.ndjson");
        let mut body = BulkBody::default();
        body.push("nat-x", 1, b"{\"source\":{\"port\":\"abc\"}}");
        body.push("nat-x", 2, b"{\"ok\":true}");
        let mut file = DeadLetterFile::new(path.clone());
        let rejected = [Rejected {
            item: 0,
            status: 400,
            reason: "mapper_parsing_exception: \"abc\"",
        }];
        file.write(&body, &rejected).unwrap();
        file.write(&body, &rejected).unwrap();

        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["status"], 400);
        assert_eq!(lines[0]["reason"], "mapper_parsing_exception: \"abc\"");
        assert_eq!(lines[0]["document"]["source"]["port"], "abc");
        assert_eq!(lines[0]["action"]["create"]["_index"], "nat-x");
    }
}
