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
    /// IANA time zone for device-local times (RFC 3164 headers, AR session times).
    ///
    /// For example `Asia/Shanghai`. Default: unset, which means the host's time zone.
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
    /// Refuses a time zone jiff does not know and a reference time that is not RFC 3339.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(name) = &self.timezone {
            jiff::tz::TimeZone::get(name)
                .map_err(|e| format!("parser.timezone {name:?} is unknown: {e}"))?;
        }
        if let Some(text) = &self.reference_time {
            text.parse::<jiff::Timestamp>()
                .map_err(|e| format!("parser.reference_time {text:?} is not RFC 3339: {e}"))?;
        }
        Ok(())
    }
}
