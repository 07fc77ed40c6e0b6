//! Time: civil date-times as syslog senders write them, and how they become instants.
//!
//! Parsers read a timestamp into a [`CivilTime`]: the fields as written, a year only
//! when the sender wrote one, a UTC offset only when the sender wrote one. Turning that
//! into an [`Instant`] needs context the line does not carry, gathered in a [`Clock`]:
//!
//! * an explicit offset wins;
//! * otherwise the configured [`Zone`] applies (a fixed offset, or an IANA zone where a
//!   local time in the repeated autumn hour takes the earlier instant and one in the
//!   skipped spring hour moves forward by the gap);
//! * a year-less time takes the latest year that puts it no more than 24 hours after
//!   the reference time (the receive time unless a fixed one is configured).
//!
//! Instants keep how many fraction digits the source had, so documents can print the
//! fraction the sender sent and nothing more. Nothing here allocates.

mod civil;
mod format;
mod zone;

pub use civil::{days_from_civil, is_valid_date, CivilTime};
pub use format::{render_rfc3339, write_rfc3339, RFC3339_MAX_BYTES};
pub use zone::{Zone, ZoneError};

/// A point in time, with the number of fraction digits its source carried (0–9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Instant {
    pub unix_seconds: i64,
    pub nanos: u32,
    pub fraction_digits: u8,
}

impl Instant {
    /// Whole seconds, no fraction.
    pub const fn from_unix_seconds(unix_seconds: i64) -> Instant {
        Instant {
            unix_seconds,
            nanos: 0,
            fraction_digits: 0,
        }
    }

    /// From a `jiff` timestamp; microsecond digits are kept when there is a fraction.
    pub fn from_timestamp(ts: jiff::Timestamp) -> Instant {
        let nanos = ts.subsec_nanosecond().max(0) as u32;
        Instant {
            unix_seconds: ts.as_second(),
            nanos,
            fraction_digits: if nanos == 0 { 0 } else { 6 },
        }
    }

    /// Nanoseconds between `self` and a later `end` (negative when `end` is earlier).
    pub fn nanos_until(self, end: Instant) -> i128 {
        let a = self.unix_seconds as i128 * 1_000_000_000 + self.nanos as i128;
        let b = end.unix_seconds as i128 * 1_000_000_000 + end.nanos as i128;
        b - a
    }

    /// The UTC calendar day, as days since 1970-01-01.
    pub fn utc_day(self) -> i64 {
        self.unix_seconds.div_euclid(86_400)
    }
}

/// Why a civil time could not become an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("no such date")]
    InvalidDate,
    #[error("time of day out of range")]
    InvalidTime,
    #[error("outside the supported range of years")]
    OutOfRange,
}

/// The context that resolves civil times: zone and reference time.
#[derive(Debug, Clone)]
pub struct Clock {
    pub zone: Zone,
    /// A fixed reference time for year inference; `None` uses each message's receive time.
    pub fixed_reference: Option<Instant>,
}

/// How far after the reference time a year-less timestamp may fall (R5: 24 hours).
const MAX_FUTURE_SECONDS: i64 = 24 * 3600;

impl Clock {
    /// The reference for year inference of a message received at `received`.
    pub fn reference(&self, received: Instant) -> Instant {
        self.fixed_reference.unwrap_or(received)
    }

    /// Resolves `civil` to an instant. `offset_seconds` overrides the zone when set
    /// (an explicit offset from the same line, e.g. the header's for AR begin/end).
    pub fn resolve(
        &self,
        civil: &CivilTime,
        offset_seconds: Option<i32>,
        reference: Instant,
    ) -> Result<Instant, TimeError> {
        if !civil.is_valid_time_of_day() {
            return Err(TimeError::InvalidTime);
        }
        let offset = civil.offset_seconds.or(offset_seconds);
        let Some(year) = civil.year else {
            return self.resolve_yearless(civil, offset, reference);
        };
        if !is_valid_date(year, civil.month, civil.day) {
            return Err(TimeError::InvalidDate);
        }
        self.resolve_in_year(civil, year, offset)
    }

    fn resolve_in_year(
        &self,
        civil: &CivilTime,
        year: i32,
        offset: Option<i32>,
    ) -> Result<Instant, TimeError> {
        if !(1..=9999).contains(&year) {
            return Err(TimeError::OutOfRange);
        }
        let local_seconds = civil.local_seconds(year);
        let unix_seconds = match offset {
            Some(offset) => local_seconds - offset as i64,
            None => self
                .zone
                .local_to_unix(local_seconds)
                .ok_or(TimeError::OutOfRange)?,
        };
        Ok(Instant {
            unix_seconds,
            nanos: civil.nanos,
            fraction_digits: civil.fraction_digits,
        })
    }

    /// The latest year that puts the time no more than 24 h after `reference`.
    fn resolve_yearless(
        &self,
        civil: &CivilTime,
        offset: Option<i32>,
        reference: Instant,
    ) -> Result<Instant, TimeError> {
        let limit = reference.unix_seconds + MAX_FUTURE_SECONDS;
        let reference_year = civil::year_of_unix(reference.unix_seconds);
        // Feb 29 may have to go back up to eight years to meet a leap year.
        let mut any_valid_date = false;
        for year in (reference_year - 8..=reference_year + 1).rev() {
            if !is_valid_date(year, civil.month, civil.day) {
                continue;
            }
            any_valid_date = true;
            let instant = self.resolve_in_year(civil, year, offset)?;
            if instant.unix_seconds <= limit {
                return Ok(instant);
            }
        }
        if any_valid_date {
            Err(TimeError::OutOfRange)
        } else {
            Err(TimeError::InvalidDate)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock(zone: &str) -> Clock {
        Clock {
            zone: Zone::parse(zone).unwrap(),
            fixed_reference: None,
        }
    }

    fn at(rfc3339: &str) -> Instant {
        Instant::from_timestamp(rfc3339.parse().unwrap())
    }

    fn yearless(month: u8, day: u8, h: u8, m: u8, s: u8) -> CivilTime {
        CivilTime {
            year: None,
            month,
            day,
            hour: h,
            minute: m,
            second: s,
            ..CivilTime::default()
        }
    }

    #[test]
    fn yearless_time_just_before_new_year_belongs_to_the_old_year() {
        let c = clock("UTC");
        let got = c.resolve(
            &yearless(12, 31, 23, 59, 59),
            None,
            at("2026-01-01T00:00:10Z"),
        );
        assert_eq!(got.unwrap(), at("2025-12-31T23:59:59Z"));
    }

    #[test]
    fn yearless_time_just_after_new_year_belongs_to_the_new_year() {
        let c = clock("UTC");
        let got = c.resolve(&yearless(1, 1, 0, 0, 30), None, at("2025-12-31T23:59:00Z"));
        assert_eq!(got.unwrap(), at("2026-01-01T00:00:30Z"));
    }

    #[test]
    fn feb_29_goes_back_to_the_last_leap_year() {
        let c = clock("UTC");
        let got = c.resolve(&yearless(2, 29, 12, 0, 0), None, at("2026-07-01T00:00:00Z"));
        assert_eq!(got.unwrap(), at("2024-02-29T12:00:00Z"));
    }

    #[test]
    fn feb_30_is_an_invalid_date() {
        let c = clock("UTC");
        let got = c.resolve(&yearless(2, 30, 12, 0, 0), None, at("2026-07-01T00:00:00Z"));
        assert_eq!(got, Err(TimeError::InvalidDate));
        let mut with_year = yearless(2, 30, 12, 0, 0);
        with_year.year = Some(2025);
        assert_eq!(
            c.resolve(&with_year, None, at("2026-07-01T00:00:00Z")),
            Err(TimeError::InvalidDate)
        );
    }

    #[test]
    fn explicit_offset_wins_over_the_zone() {
        let c = clock("America/New_York");
        let mut t = yearless(7, 23, 10, 11, 12);
        t.year = Some(2025);
        t.offset_seconds = Some(8 * 3600);
        assert_eq!(
            c.resolve(&t, None, at("2025-07-23T00:00:00Z")).unwrap(),
            at("2025-07-23T02:11:12Z")
        );
    }

    #[test]
    fn repeated_autumn_hour_takes_the_earlier_instant() {
        let c = clock("Europe/Berlin");
        let mut t = yearless(10, 26, 2, 30, 0);
        t.year = Some(2025);
        // 02:30 happens at +02:00 and again at +01:00; the earlier is 00:30Z.
        assert_eq!(
            c.resolve(&t, None, at("2025-10-26T12:00:00Z")).unwrap(),
            at("2025-10-26T00:30:00Z")
        );
    }

    #[test]
    fn skipped_spring_hour_moves_forward_by_the_gap() {
        let c = clock("Europe/Berlin");
        let mut t = yearless(3, 30, 2, 30, 0);
        t.year = Some(2025);
        // 02:30 does not exist; it reads as 03:30 +02:00 = 01:30Z.
        assert_eq!(
            c.resolve(&t, None, at("2025-03-30T12:00:00Z")).unwrap(),
            at("2025-03-30T01:30:00Z")
        );
    }

    #[test]
    fn fixed_reference_replaces_receive_time() {
        let c = Clock {
            zone: Zone::parse("+08:00").unwrap(),
            fixed_reference: Some(at("2020-06-01T00:00:00Z")),
        };
        let reference = c.reference(at("2026-12-01T00:00:00Z"));
        let got = c
            .resolve(&yearless(7, 23, 10, 0, 0), None, reference)
            .unwrap();
        assert_eq!(got, at("2019-07-23T02:00:00Z"));
    }
}
