//! The time zone applied to device-local times that carry no offset.

use std::fmt;

/// A configured zone: a fixed UTC offset, or an IANA zone with its summer-time rules.
#[derive(Clone)]
pub enum Zone {
    Fixed {
        offset_seconds: i32,
    },
    Iana {
        name: String,
        zone: jiff::tz::TimeZone,
    },
}

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
            Ok(zone) => Ok(Zone::Iana {
                name: text.to_string(),
                zone,
            }),
            Err(_) => Err(ZoneError::Unknown(text.to_string())),
        }
    }

    /// The host's zone (from `TZ` or /etc/localtime), UTC when it cannot be found.
    pub fn system() -> Zone {
        match jiff::tz::TimeZone::try_system() {
            Ok(zone) => {
                let name = zone.iana_name().unwrap_or("system").to_string();
                Zone::Iana { name, zone }
            }
            Err(_) => Zone::UTC,
        }
    }

    /// Unix seconds of a wall-clock time given as seconds since the local epoch.
    ///
    /// A time in a repeated hour takes the earlier instant; one in a skipped hour moves
    /// forward by the gap (jiff's "compatible" disambiguation does exactly this).
    pub fn local_to_unix(&self, local_seconds: i64) -> Option<i64> {
        match self {
            Zone::Fixed { offset_seconds } => Some(local_seconds - *offset_seconds as i64),
            Zone::Iana { zone, .. } => {
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
        }
    }
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
}
