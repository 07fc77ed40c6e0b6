//! Grammar files: the TOML that users edit, read and checked with line numbers.
//!
//! A grammar file says which Huawei messages it reads (`applies_to`), how their body
//! splits (`[body]`), which part fills which document field with which type
//! (`[[field]]`), and carries sample lines with the fields they must produce
//! (`[[sample]]`). `compile.rs` turns a checked file into a plan; nothing here runs on
//! the per-message path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

/// One grammar file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrammarFile {
    /// Identifies the grammar; a file in `--grammars DIR` with a built-in's name replaces it.
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// `event.dataset` of the documents it makes, e.g. `huawei.session`.
    pub dataset: String,
    /// The tag a record gets when this grammar cannot read it, e.g. `_nat_parse_failure`.
    pub failure_tag: String,
    /// Fields a record must have; a record without one of them is a failure.
    #[serde(default)]
    pub required: Vec<Spanned<String>>,
    /// The `MODULE`/`BRIEF` pairs it reads.
    pub applies_to: Vec<Spanned<AppliesTo>>,
    pub body: Spanned<BodySpec>,
    #[serde(rename = "field")]
    pub fields: Vec<Spanned<FieldSpec>>,
    /// Context the samples are parsed in.
    #[serde(default)]
    pub samples: Option<SampleContext>,
    #[serde(default, rename = "sample")]
    pub sample_lines: Vec<Spanned<Sample>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppliesTo {
    pub module: String,
    pub brief: String,
}

/// How a body splits into values.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum BodySpec {
    /// `Key=Value` pairs split at a comma followed by optional spaces and `Key=`. A body
    /// that does not start with `Key=` is not this grammar's (it stays a generic log).
    KeyValue {
        /// One trailing character stripped from the body first, e.g. `"."`.
        #[serde(default)]
        strip_suffix: Option<String>,
        /// Keys no field names go to `<prefix>.<key in snake_case>`; `None` drops them.
        #[serde(default)]
        unknown_keys_prefix: Option<String>,
    },
    /// `<value>` groups, each with an optional label before it.
    Groups {
        /// How many groups a record has; any other count is a failure.
        count: usize,
    },
}

/// One value of the body and where it goes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// The document field, or two (`[ip, port]`) for an `endpoint`.
    pub target: Targets,
    /// `text`, `lowercase`, `ip`, `port`, `integer`, `epoch_seconds`, `datetime`,
    /// `seconds`, `endpoint` or `enum`.
    #[serde(rename = "type")]
    pub kind: String,
    /// key_value bodies: the key spellings that name this field.
    #[serde(default)]
    pub keys: Vec<String>,
    /// groups bodies: labels that name this field (case, `_`, `-` and spaces ignored).
    #[serde(default)]
    pub labels: Vec<String>,
    /// groups bodies: the 1-based position an unlabelled group takes.
    #[serde(default)]
    pub position: Option<usize>,
    /// `datetime`: layouts tried in order (`%Y %m %d %H %M %S`, or `epoch`).
    #[serde(default)]
    pub layouts: Vec<String>,
    /// `enum`: value as sent → value written; other values are written as sent.
    #[serde(default)]
    pub values: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Targets {
    One(String),
    Two([String; 2]),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleContext {
    /// The listener zone samples are read in.
    pub timezone: String,
    /// The receive time (RFC 3339) samples are read at.
    pub received: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sample {
    /// Why the sample exists: the variant it pins.
    pub why: String,
    pub line: String,
    /// Fields and their expected values (dotted paths).
    #[serde(default)]
    pub expect: toml::Table,
    /// Fields that must be absent.
    #[serde(default)]
    pub absent: Vec<String>,
    /// The record must fail with this grammar's failure tag.
    #[serde(default)]
    pub failure: bool,
    /// Text `error.message` must contain.
    #[serde(default)]
    pub error_contains: Option<String>,
}

/// Where a grammar came from, for error messages.
#[derive(Debug, Clone)]
pub enum Origin {
    BuiltIn(&'static str),
    File(PathBuf),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::BuiltIn(name) => write!(f, "built-in grammars/{name}"),
            Origin::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// A grammar file that cannot be used: which file, which line, why.
#[derive(Debug, thiserror::Error)]
#[error("{origin}:{line}: {reason}")]
pub struct GrammarError {
    pub origin: String,
    /// 1-based; 0 when the error is about the file as a whole.
    pub line: usize,
    pub reason: String,
}

impl GrammarError {
    pub fn at(origin: &Origin, source: &str, byte: usize, reason: impl Into<String>) -> Self {
        GrammarError {
            origin: origin.to_string(),
            line: line_of(source, byte),
            reason: reason.into(),
        }
    }
}

/// The 1-based line holding byte `offset` of `source`.
pub fn line_of(source: &str, offset: usize) -> usize {
    source.as_bytes()[..offset.min(source.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Reads a grammar file's TOML.
pub fn read(origin: &Origin, source: &str) -> Result<GrammarFile, GrammarError> {
    toml::from_str(source).map_err(|e| {
        let byte = e.span().map_or(0, |span| span.start);
        GrammarError::at(origin, source, byte, e.message().to_string())
    })
}

/// The `*.toml` files of a directory, sorted by name.
pub fn files_in(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    Ok(files)
}
