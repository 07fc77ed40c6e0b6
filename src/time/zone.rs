//! The time zone applied to device-local times that carry no offset.

use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// A configured zone: a fixed UTC offset, or an IANA zone with its summer-time rules.
#[derive(Clone)]
pub enum Zone {
    Fixed {
        offset_seconds: i32,
    },
    Iana {
        name: String,
        zone: jiff::tz::TimeZone,
        /// Tells this zone's cached offset span from another's (see [`OffsetSpan`]).
        id: u64,
    },
}

/// Source of [`Zone::Iana`] ids, unique for the life of the process.
static NEXT_ZONE_ID: AtomicU64 = AtomicU64::new(1);

/// Local times that one offset converts: those whose instants lie between two of
/// a zone's transitions, kept a day clear of each, so that no local time in the
/// span is repeated or skipped. A device's clock moves slowly, so nearly every
/// conversion lands in the span of the one before; the zone's rules are consulted
/// only when it leaves it.
#[derive(Clone, Copy)]
struct OffsetSpan {
    zone_id: u64,
    /// Local seconds, `first..end`.
    first: i64,
    end: i64,
    offset_seconds: i64,
}

thread_local! {
    /// The span of the last conversion on this thread (zone id 0: none yet).
    static LAST_SPAN: Cell<OffsetSpan> = const {
        Cell::new(OffsetSpan { zone_id: 0, first: 0, end: 0, offset_seconds: 0 })
    };
}

/// How far a cached span keeps from a transition: more than any offset change.
const SPAN_MARGIN_SECONDS: i64 = 86_400;

#[derive(Debug, thiserror::Error)]
pub enum ZoneError {
    #[error("{0:?} is neither a UTC offset like +08:00 nor a known IANA time zone")]
    Unknown(String),
}

impl Zone {
    pub const UTC: Zone = Zone::Fixed { offset_seconds: 0 };

    /// Reads `+08:00`, `-0530`, `+8`, `Z`, `UTC`, or an IANA name like `Asia/Shanghai`.
    pub fn parse(text: &str) -> Result<Zone, ZoneError> {
        if let Some(offset_seconds) = parse_fixed_offset(text) {
            return Ok(Zone::Fixed { offset_seconds });
        }
        match jiff::tz::TimeZone::get(text) {
            Ok(zone) => Ok(Zone::iana(text.to_string(), zone)),
            Err(_) => Err(ZoneError::Unknown(text.to_string())),
        }
    }

    /// The host's zone (from `TZ` or /etc/localtime), UTC when it cannot be found.
    pub fn system() -> Zone {
        match jiff::tz::TimeZone::try_system() {
            Ok(zone) => {
                let name = zone.iana_name().unwrap_or("system").to_string();
                Zone::iana(name, zone)
            }
            Err(_) => Zone::UTC,
        }
    }

    fn iana(name: String, zone: jiff::tz::TimeZone) -> Zone {
        let id = NEXT_ZONE_ID.fetch_add(1, Ordering::Relaxed);
        Zone::Iana { name, zone, id }
    }

    /// Unix seconds of a wall-clock time given as seconds since the local epoch.
    ///
    /// A time in a repeated hour takes the earlier instant; one in a skipped hour moves
    /// forward by the gap (jiff's "compatible" disambiguation does exactly this).
    pub fn local_to_unix(&self, local_seconds: i64) -> Option<i64> {
        match self {
            Zone::Fixed { offset_seconds } => Some(local_seconds - *offset_seconds as i64),
            Zone::Iana { zone, id, .. } => {
                let span = LAST_SPAN.get();
                if span.zone_id == *id && (span.first..span.end).contains(&local_seconds) {
                    return Some(local_seconds - span.offset_seconds);
                }
                let unix = iana_local_to_unix(zone, local_seconds)?;
                if let Some(span) = offset_span(zone, *id, local_seconds, unix) {
                    LAST_SPAN.set(span);
                }
                Some(unix)
            }
        }
    }
}

/// [`Zone::local_to_unix`] by the zone's rules.
fn iana_local_to_unix(zone: &jiff::tz::TimeZone, local_seconds: i64) -> Option<i64> {
    let days = local_seconds.div_euclid(86_400);
    let (y, m, d) = super::civil::civil_from_days(days);
    let secs = local_seconds.rem_euclid(86_400);
    let dt = jiff::civil::DateTime::new(
        i16::try_from(y).ok()?,
        m as i8,
        d as i8,
        (secs / 3600) as i8,
        (secs / 60 % 60) as i8,
        (secs % 60) as i8,
        0,
    )
    .ok()?;
    let ts = zone.to_ambiguous_timestamp(dt).compatible().ok()?;
    Some(ts.as_second())
}

/// The span around `local_seconds`, which converted to `unix`, where that offset
/// holds (see [`OffsetSpan`]); `None` when it is too close to a transition.
fn offset_span(
    zone: &jiff::tz::TimeZone,
    zone_id: u64,
    local_seconds: i64,
    unix: i64,
) -> Option<OffsetSpan> {
    let instant = jiff::Timestamp::from_second(unix).ok()?;
    let offset_seconds = local_seconds - unix;
    if i64::from(zone.to_offset(instant).seconds()) != offset_seconds {
        // A skipped local time, moved forward: not a time of the offset's span.
        return None;
    }
    // The transitions at or before the instant, and after it.
    let before = zone
        .preceding(instant + jiff::SignedDuration::from_secs(1))
        .next()
        .map(|t| t.timestamp().as_second());
    let after = zone
        .following(instant)
        .next()
        .map(|t| t.timestamp().as_second());
    let first = before.map_or(i64::MIN, |t| t + offset_seconds + SPAN_MARGIN_SECONDS);
    let end = after.map_or(i64::MAX, |t| t + offset_seconds - SPAN_MARGIN_SECONDS);
    (first <= local_seconds && local_seconds < end).then_some(OffsetSpan {
        zone_id,
        first,
        end,
        offset_seconds,
    })
}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Zone::Fixed { offset_seconds } => {
                let sign = if *offset_seconds < 0 { '-' } else { '+' };
                let abs = offset_seconds.unsigned_abs();
                write!(f, "{sign}{:02}:{:02}", abs / 3600, abs / 60 % 60)
            }
            Zone::Iana { name, .. } => f.write_str(name),
        }
    }
}

/// `+HH:MM`, `+HHMM`, `+HH`, `+H`, `Z`, `UTC`, `GMT` into seconds east of UTC.
fn parse_fixed_offset(text: &str) -> Option<i32> {
    if matches!(text, "Z" | "z" | "UTC" | "utc" | "GMT") {
        return Some(0);
    }
    let bytes = text.as_bytes();
    let sign = match bytes.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: Vec<u8> = bytes[1..].iter().copied().filter(|b| *b != b':').collect();
    if !digits.iter().all(u8::is_ascii_digit) || digits.is_empty() || digits.len() > 4 {
        return None;
    }
    let number = |d: &[u8]| d.iter().fold(0i32, |acc, b| acc * 10 + (b - b'0') as i32);
    let (hours, minutes) = match digits.len() {
        1 | 2 => (number(&digits), 0),
        3 => (number(&digits[..1]), number(&digits[1..])),
        _ => (number(&digits[..2]), number(&digits[2..])),
    };
    if hours > 18 || minutes > 59 {
        return None;
    }
    Some(sign * (hours * 3600 + minutes * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_offsets() {
        assert_eq!(parse_fixed_offset("+08:00"), Some(28_800));
        assert_eq!(parse_fixed_offset("-0530"), Some(-19_800));
        assert_eq!(parse_fixed_offset("+8"), Some(28_800));
        assert_eq!(parse_fixed_offset("UTC"), Some(0));
        assert_eq!(parse_fixed_offset("+25:00"), None);
        assert_eq!(parse_fixed_offset("Asia/Shanghai"), None);
    }

    #[test]
    fn iana_names_and_garbage() {
        assert!(matches!(
            Zone::parse("Asia/Shanghai"),
            Ok(Zone::Iana { .. })
        ));
        assert!(Zone::parse("Mars/Olympus").is_err());
        assert_eq!(Zone::parse("+08:00").unwrap().to_string(), "+08:00");
    }

    /// Local seconds of a civil time, for the tests below.
    fn local(text: &str) -> i64 {
        let dt: jiff::civil::DateTime = text.parse().unwrap();
        let utc = jiff::tz::TimeZone::UTC.to_ambiguous_timestamp(dt);
        utc.compatible().unwrap().as_second()
    }

    #[test]
    fn summer_time_edges_convert_as_without_the_span_cache() {
        let zone = Zone::parse("Europe/Berlin").unwrap();
        // Walk across the 2025 spring gap and autumn repeat, one warm-up each.
        for start in ["2025-03-28T12:00:00", "2025-10-24T12:00:00"] {
            for step in (0..4 * 86_400).step_by(900) {
                let at = local(start) + step;
                let Zone::Iana { zone: rules, .. } = &zone else {
                    unreachable!()
                };
                assert_eq!(
                    zone.local_to_unix(at),
                    iana_local_to_unix(rules, at),
                    "{at}"
                );
            }
        }
        // 02:30 on 30 March 2025 does not exist: moved forward to 03:30 CEST.
        assert_eq!(
            zone.local_to_unix(local("2025-03-30T02:30:00")),
            Some(local("2025-03-30T01:30:00"))
        );
        // 02:30 on 26 October 2025 happens twice: the earlier (CEST) instant.
        assert_eq!(
            zone.local_to_unix(local("2025-10-26T02:30:00")),
            Some(local("2025-10-26T00:30:00"))
        );
    }

    proptest::proptest! {
        /// However the local times jump about (so that the cached span is reused,
        /// left and replaced), every conversion equals the zone rules' own.
        #[test]
        fn cached_spans_never_change_a_conversion(
            zone_index in 0..4usize,
            base in -2_000_000_000i64..4_000_000_000,
            steps in proptest::collection::vec(-40_000_000i64..40_000_000, 1..40),
        ) {
            let names = ["Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Shanghai"];
            let zone = Zone::parse(names[zone_index]).unwrap();
            let Zone::Iana { zone: rules, .. } = &zone else { unreachable!() };
            let mut at = base;
            for step in steps {
                at += step;
                proptest::prop_assert_eq!(zone.local_to_unix(at), iana_local_to_unix(rules, at));
            }
        }
    }
}
