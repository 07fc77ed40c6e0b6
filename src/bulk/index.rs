//! Index names: a pattern with an optional date taken from `@timestamp`, and the
//! router that picks the pattern for a document's dataset.
//!
//! The date syntax is Logstash's: `nat-%{+yyyy.MM.dd}` names the index after the
//! UTC day of the document, so operators moving from Logstash keep their names.
//! Only the date part of Logstash's sprintf is understood (`%{+FORMAT}` with the
//! Joda letters `yyyy yy xxxx ww MM dd HH`); field references such as
//! `%{[host][name]}` are refused when the config is checked, because a name that
//! depends on a document's field cannot be checked before it arrives.
//!
//! Rendering a date costs a calendar computation, so each pattern caches the last
//! name it rendered together with the period it covers (a UTC day, or an hour
//! when the pattern has `HH`): documents of one day reuse one string.

use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::document::Dataset;

/// Seconds in the periods a cached name can cover.
const SECONDS_PER_DAY: i64 = 86_400;
const SECONDS_PER_HOUR: i64 = 3_600;

/// Why a pattern cannot name an index.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndexPatternError {
    #[error("index pattern is empty")]
    Empty,
    #[error("index pattern {pattern:?}: `%{{` at byte {offset} has no closing `}}`")]
    Unclosed { pattern: String, offset: usize },
    #[error(
        "index pattern {pattern:?}: only dates (`%{{+yyyy.MM.dd}}`) are supported, not {part:?}"
    )]
    NotADate { pattern: String, part: String },
    #[error("index pattern {pattern:?}: unknown date letters {letters:?} (use yyyy yy xxxx ww MM dd HH)")]
    DateLetters { pattern: String, letters: String },
    #[error("index pattern {pattern:?}: index names must be lower case without spaces or any of \\/*?\"<>|,#: and must not start with - _ +")]
    BadName { pattern: String },
}

/// One piece of a parsed pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    /// Four-digit calendar year (`yyyy`), two-digit (`yy`).
    Year,
    ShortYear,
    /// ISO week-based year (`xxxx`) and ISO week (`ww`).
    WeekYear,
    Week,
    Month,
    Day,
    Hour,
}

/// A parsed index pattern, with the last rendered name cached.
#[derive(Debug, Clone)]
pub struct IndexPattern {
    parts: Vec<Part>,
    /// Seconds per cached period; 0 when the name has no date.
    period_secs: i64,
    /// The period number the cached name belongs to, and the name.
    cached: Option<(i64, String)>,
}

impl IndexPattern {
    /// Parses a pattern such as `nat-%{+yyyy.MM.dd}` or a plain name.
    pub fn parse(pattern: &str) -> Result<IndexPattern, IndexPatternError> {
        if pattern.is_empty() {
            return Err(IndexPatternError::Empty);
        }
        let mut parts = Vec::new();
        let mut rest = pattern;
        while let Some(open) = rest.find("%{") {
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_string()));
            }
            let after = &rest[open + 2..];
            let close = after.find('}').ok_or_else(|| IndexPatternError::Unclosed {
                pattern: pattern.to_string(),
                offset: pattern.len() - rest.len() + open,
            })?;
            let inner = &after[..close];
            let format = inner
                .strip_prefix('+')
                .ok_or_else(|| IndexPatternError::NotADate {
                    pattern: pattern.to_string(),
                    part: inner.to_string(),
                })?;
            parse_date_format(pattern, format, &mut parts)?;
            rest = &after[close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_string()));
        }
        check_literals(pattern, &parts)?;

        let period_secs = if parts.contains(&Part::Hour) {
            SECONDS_PER_HOUR
        } else if parts.iter().any(|p| !matches!(p, Part::Literal(_))) {
            SECONDS_PER_DAY
        } else {
            0
        };
        Ok(IndexPattern {
            parts,
            period_secs,
            cached: None,
        })
    }

    /// True when the name does not depend on the document's time.
    pub fn is_fixed(&self) -> bool {
        self.period_secs == 0
    }

    /// A wildcard that matches every name the pattern renders (`nat-*`), for the
    /// index template.
    pub fn wildcard(&self) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                _ => {
                    out.push('*');
                    break;
                }
            }
        }
        out
    }

    /// The index name for a document with this `@timestamp`.
    pub fn render(&mut self, at: Timestamp) -> &str {
        let period = match self.period_secs {
            0 => 0,
            secs => at.as_second().div_euclid(secs),
        };
        let stale = !matches!(&self.cached, Some((p, _)) if *p == period);
        if stale {
            let name = self.render_uncached(at);
            self.cached = Some((period, name));
        }
        &self.cached.as_ref().expect("filled above").1
    }

    fn render_uncached(&self, at: Timestamp) -> String {
        let zoned = at.to_zoned_datetime(TimeZone::UTC);
        let date = zoned.date();
        let week = date.iso_week_date();
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Year => out.push_str(&format!("{:04}", date.year())),
                Part::ShortYear => out.push_str(&format!("{:02}", date.year().rem_euclid(100))),
                Part::WeekYear => out.push_str(&format!("{:04}", week.year())),
                Part::Week => out.push_str(&format!("{:02}", week.week())),
                Part::Month => out.push_str(&format!("{:02}", date.month())),
                Part::Day => out.push_str(&format!("{:02}", date.day())),
                Part::Hour => out.push_str(&format!("{:02}", zoned.hour())),
            }
        }
        out
    }
}

/// Reads the Joda letters of `%{+...}`; anything that is not a letter is literal.
fn parse_date_format(
    pattern: &str,
    format: &str,
    parts: &mut Vec<Part>,
) -> Result<(), IndexPatternError> {
    let bytes = format.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let letter = bytes[i];
        if !letter.is_ascii_alphabetic() {
            let start = i;
            while i < bytes.len() && !bytes[i].is_ascii_alphabetic() {
                i += 1;
            }
            parts.push(Part::Literal(format[start..i].to_string()));
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i] == letter {
            i += 1;
        }
        let part = match &format[start..i] {
            "yyyy" | "YYYY" => Part::Year,
            "yy" | "YY" => Part::ShortYear,
            "xxxx" => Part::WeekYear,
            "ww" => Part::Week,
            "MM" => Part::Month,
            "dd" => Part::Day,
            "HH" => Part::Hour,
            letters => {
                return Err(IndexPatternError::DateLetters {
                    pattern: pattern.to_string(),
                    letters: letters.to_string(),
                })
            }
        };
        parts.push(part);
    }
    Ok(())
}

/// Elasticsearch's rules for index names, applied to the literal parts.
fn check_literals(pattern: &str, parts: &[Part]) -> Result<(), IndexPatternError> {
    let bad = || IndexPatternError::BadName {
        pattern: pattern.to_string(),
    };
    for part in parts {
        if let Part::Literal(text) = part {
            let forbidden = |c: char| {
                c.is_ascii_uppercase() || c.is_whitespace() || "\\/*?\"<>|,#:".contains(c)
            };
            if text.chars().any(forbidden) {
                return Err(bad());
            }
        }
    }
    if let Some(Part::Literal(first)) = parts.first() {
        if first.starts_with(['-', '_', '+']) || first == "." || first == ".." {
            return Err(bad());
        }
    }
    Ok(())
}

/// Picks the target of each document: session records go to one pattern, every
/// other message (Huawei logs and plain syslog) to the other.
#[derive(Debug, Clone)]
pub struct IndexRouter {
    session: IndexPattern,
    other: IndexPattern,
}

impl IndexRouter {
    pub fn new(session: IndexPattern, other: IndexPattern) -> IndexRouter {
        IndexRouter { session, other }
    }

    /// The index (or data stream) for a document.
    pub fn target(&mut self, dataset: Dataset, at: Timestamp) -> &str {
        match dataset {
            Dataset::HuaweiSession => self.session.render(at),
            Dataset::HuaweiLog | Dataset::Syslog => self.other.render(at),
        }
    }

    /// Wildcards for the index template, without repeats.
    pub fn wildcards(&self) -> Vec<String> {
        let mut out = vec![self.session.wildcard()];
        let other = self.other.wildcard();
        if !out.contains(&other) {
            out.push(other);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn renders_the_logstash_default() {
        let mut pattern = IndexPattern::parse("nat-%{+yyyy.MM.dd}").unwrap();
        assert_eq!(pattern.render(at("2025-07-23T02:11:12Z")), "nat-2025.07.23");
        assert_eq!(pattern.wildcard(), "nat-*");
        assert!(!pattern.is_fixed());
    }

    /// The date is the UTC day: a Shanghai morning is still the previous UTC day.
    #[test]
    fn uses_the_utc_day_and_refreshes_the_cache_at_midnight() {
        let mut pattern = IndexPattern::parse("nat-%{+yyyy.MM.dd}").unwrap();
        assert_eq!(
            pattern.render(at("2025-07-23T07:59:59+08:00")),
            "nat-2025.07.22"
        );
        assert_eq!(pattern.render(at("2025-07-22T23:59:59Z")), "nat-2025.07.22");
        assert_eq!(pattern.render(at("2025-07-23T00:00:00Z")), "nat-2025.07.23");
        assert_eq!(pattern.render(at("1969-12-31T23:00:00Z")), "nat-1969.12.31");
    }

    #[test]
    fn renders_hours_weeks_and_short_years() {
        let mut hourly = IndexPattern::parse("nat-%{+yyyy.MM.dd.HH}").unwrap();
        assert_eq!(
            hourly.render(at("2025-07-23T02:11:12Z")),
            "nat-2025.07.23.02"
        );
        assert_eq!(
            hourly.render(at("2025-07-23T03:00:00Z")),
            "nat-2025.07.23.03"
        );
        // 2021-01-03 is a Sunday in ISO week 53 of 2020.
        let mut weekly = IndexPattern::parse("nat-%{+xxxx.ww}").unwrap();
        assert_eq!(weekly.render(at("2021-01-03T12:00:00Z")), "nat-2020.53");
        let mut short = IndexPattern::parse("n%{+yyMM}x").unwrap();
        assert_eq!(short.render(at("2025-07-23T00:00:00Z")), "n2507x");
    }

    #[test]
    fn fixed_names_and_data_streams() {
        let mut stream = IndexPattern::parse("logs-huawei.session-default").unwrap();
        assert!(stream.is_fixed());
        assert_eq!(
            stream.render(at("2025-07-23T00:00:00Z")),
            "logs-huawei.session-default"
        );
        assert_eq!(stream.wildcard(), "logs-huawei.session-default");
    }

    #[test]
    fn refuses_what_cannot_name_an_index() {
        let refused = [
            "",
            "nat-%{+yyyy.MM.dd",
            "nat-%{[host][name]}",
            "nat-%{+yyyy.MMM}",
            "Nat-%{+yyyy}",
            "_nat",
            "nat logs",
        ];
        for pattern in refused {
            assert!(IndexPattern::parse(pattern).is_err(), "{pattern:?}");
        }
    }

    #[test]
    fn routes_sessions_apart_from_other_syslog() {
        let mut router = IndexRouter::new(
            IndexPattern::parse("nat-%{+yyyy.MM.dd}").unwrap(),
            IndexPattern::parse("nat-syslog-%{+yyyy.MM.dd}").unwrap(),
        );
        let t = at("2025-07-23T00:00:00Z");
        assert_eq!(router.target(Dataset::HuaweiSession, t), "nat-2025.07.23");
        assert_eq!(
            router.target(Dataset::HuaweiLog, t),
            "nat-syslog-2025.07.23"
        );
        assert_eq!(router.target(Dataset::Syslog, t), "nat-syslog-2025.07.23");
        assert_eq!(router.wildcards(), vec!["nat-*", "nat-syslog-*"]);
    }
}
