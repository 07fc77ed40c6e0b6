//! `[parser]`: what the encoder needs to turn frames into documents.
//!
//! The values pass through unchanged to `EncoderSettings` (see
//! `cli::run::encoder_settings`); only their syntax is checked here.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The `[parser]` section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ParserConfig {
    /// Time zone for device-local times without an offset (RFC 3164 headers, AR
    /// session times): an IANA name such as `Asia/Shanghai` or a fixed offset such as
    /// `+08:00`. Default: unset, which means the host's time zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,

    /// RFC 3339 instant standing in for "now" when a header has no year.
    ///
    /// Meant for re-reading old captures; a live listener leaves it unset so the
    /// receive time is used. Default: unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_time: Option<String>,

    /// Directory of vendor grammar files that replaces the built-in grammars.
    ///
    /// Default: unset, which uses the grammars compiled into the binary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grammars: Option<PathBuf>,

    /// Keep the raw line in `event.original`.
    ///
    /// Turning it off roughly halves the archive. Default true.
    pub keep_original: bool,
}

impl Default for ParserConfig {
    fn default() -> ParserConfig {
        ParserConfig {
            timezone: None,
            reference_time: None,
            grammars: None,
            keep_original: true,
        }
    }
}

impl ParserConfig {
    /// Refuses a zone that is neither a UTC offset nor a known IANA name, and a
    /// reference time that is not RFC 3339.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(name) = &self.timezone {
            crate::time::Zone::parse(name).map_err(|e| format!("parser.timezone: {e}"))?;
        }
        if let Some(text) = &self.reference_time {
            text.parse::<jiff::Timestamp>()
                .map_err(|e| format!("parser.reference_time {text:?} is not RFC 3339: {e}"))?;
        }
        Ok(())
    }
}
