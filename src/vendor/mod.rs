//! Vendor grammars: which body grammar a message takes, and running it.
//!
//! Sits after the syslog header parser and before the document. Grammars are
//! declarative TOML files (`grammars/` in the source tree, compiled into the binary,
//! plus any directory the user names); each says which `MODULE/BRIEF` pairs it reads.
//! [`Grammars::choose`] picks one by the message code; a Huawei message no grammar
//! claims is a generic Huawei log, never a failure. Like the syslog parsers, nothing
//! here touches sockets or tokio.

mod compile;
mod exec;
mod grammar;
mod key_order;

use std::path::Path;

pub use compile::{Grammar, Kind, Target};
pub use exec::{parse_ip, run, Applied, ExecContext, GrammarFailure, Problem};
pub use grammar::{GrammarError, Origin, Sample, SampleContext};

/// The grammars shipped in the binary: (file name, text).
pub const BUILT_IN: &[(&str, &str)] = &[
    (
        "huawei-seclog-session.toml",
        include_str!("../../grammars/huawei-seclog-session.toml"),
    ),
    (
        "huawei-ar-session-log.toml",
        include_str!("../../grammars/huawei-ar-session-log.toml"),
    ),
];

/// The loaded grammars and the `MODULE/BRIEF` → grammar table.
#[derive(Debug)]
pub struct Grammars {
    grammars: Vec<Grammar>,
    /// (module, brief, index into `grammars`); later entries win.
    by_code: Vec<(Box<[u8]>, Box<[u8]>, usize)>,
}

impl Grammars {
    /// The built-in grammars only.
    pub fn built_in() -> Result<Grammars, GrammarError> {
        Grammars::load(None)
    }

    /// The built-in grammars, then every `*.toml` in `dir`: a file whose `name` matches a
    /// built-in replaces it, any other adds to them. Refuses the first bad file.
    pub fn load(dir: Option<&Path>) -> Result<Grammars, GrammarError> {
        let mut grammars: Vec<Grammar> = Vec::new();
        for (file, source) in BUILT_IN {
            let origin = Origin::BuiltIn(file);
            let parsed = grammar::read(&origin, source)?;
            grammars.push(compile::compile(parsed, origin, source)?);
        }
        if let Some(dir) = dir {
            let files = grammar::files_in(dir).map_err(|e| GrammarError {
                origin: dir.display().to_string(),
                line: 0,
                reason: format!("cannot list the directory: {e}"),
            })?;
            for path in files {
                let origin = Origin::File(path.clone());
                let source = std::fs::read_to_string(&path).map_err(|e| GrammarError {
                    origin: path.display().to_string(),
                    line: 0,
                    reason: format!("cannot read: {e}"),
                })?;
                let compiled = compile::compile(grammar::read(&origin, &source)?, origin, &source)?;
                match grammars.iter_mut().find(|g| g.name == compiled.name) {
                    Some(existing) => *existing = compiled,
                    None => grammars.push(compiled),
                }
            }
        }

        let mut by_code = Vec::new();
        for (index, grammar) in grammars.iter().enumerate() {
            for (module, brief) in &grammar.applies_to {
                by_code.retain(|(m, b, _): &(Box<[u8]>, Box<[u8]>, usize)| {
                    !(m == module && b == brief)
                });
                by_code.push((module.clone(), brief.clone(), index));
            }
        }
        Ok(Grammars { grammars, by_code })
    }

    /// The grammar for a message code, if any claims it.
    #[inline]
    pub fn choose(&self, module: &[u8], brief: &[u8]) -> Option<&Grammar> {
        // BRIEF first: the codes a grammar claims share their MODULE and differ in
        // BRIEF (and its length), so most entries are passed over without a byte
        // compare.
        self.by_code
            .iter()
            .find(|(m, b, _)| **b == *brief && **m == *module)
            .map(|(_, _, index)| &self.grammars[*index])
    }

    pub fn iter(&self) -> impl Iterator<Item = &Grammar> {
        self.grammars.iter()
    }
}
