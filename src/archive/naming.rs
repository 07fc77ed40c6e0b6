//! Archive file names: `YYYY-MM-DD.NNNNN.ndjson.zst`, and `.open` while written.
//!
//! The day is the UTC day of the documents' `@timestamp`; `NNNNN` counts the files
//! of that day from 1, so a plain lexical sort lists the archive in time order.

use std::path::{Path, PathBuf};

use jiff::civil::Date;
use jiff::Timestamp;

/// Suffix of a finished archive file.
pub const FINISHED_SUFFIX: &str = ".ndjson.zst";

/// Suffix of a file still being written (or left behind by a crash).
pub const OPEN_SUFFIX: &str = ".ndjson.zst.open";

/// Seconds in a UTC day; the archive ignores leap seconds as `Timestamp` does.
const SECONDS_PER_DAY: i64 = 86_400;

/// Days since 1970-01-01 (UTC) of an instant: the key files are grouped by.
pub fn day_number(at: Timestamp) -> i64 {
    at.as_second().div_euclid(SECONDS_PER_DAY)
}

/// The calendar date of a day number (proleptic Gregorian, UTC).
pub fn date_of(day: i64) -> Date {
    // Shift the epoch to 0000-03-01 so that a leap day ends each 4-year cycle, then
    // split into 400-year eras of 146097 days.
    let shifted = day + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day_of_month = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    Date::new(year as i16, month as i8, day_of_month as i8).unwrap_or(Date::constant(1970, 1, 1))
}

/// The day number of a calendar date; the inverse of `date_of`.
pub fn day_of(date: Date) -> i64 {
    let (month, day) = (i64::from(date.month()), i64::from(date.day()));
    let year = i64::from(date.year()) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_index = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The name a file gets once it is closed.
pub fn finished_name(date: Date, sequence: u32) -> String {
    format!("{date}.{sequence:05}{FINISHED_SUFFIX}")
}

/// The name a file carries while it is open.
pub fn open_name(date: Date, sequence: u32) -> String {
    format!("{date}.{sequence:05}{OPEN_SUFFIX}")
}

/// A file name split into its day and sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedName {
    pub date: Date,
    pub sequence: u32,
    /// The file still has the `.open` suffix.
    pub is_open: bool,
}

/// Reads a name written by `finished_name` or `open_name`; `None` for anything else.
pub fn parse_name(name: &str) -> Option<ParsedName> {
    let (stem, is_open) = if let Some(stem) = name.strip_suffix(OPEN_SUFFIX) {
        (stem, true)
    } else {
        (name.strip_suffix(FINISHED_SUFFIX)?, false)
    };
    let (date, sequence) = stem.split_once('.')?;
    Some(ParsedName {
        date: date.parse().ok()?,
        sequence: sequence.parse().ok()?,
        is_open,
    })
}

/// The finished path for an open one: the same name without `.open`.
pub fn finished_path(open: &Path) -> PathBuf {
    let name = open
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let stem = name.strip_suffix(".open").unwrap_or(name);
    open.with_file_name(stem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let date = Date::constant(2025, 7, 23);
        assert_eq!(finished_name(date, 3), "2025-07-23.00003.ndjson.zst");
        assert_eq!(open_name(date, 3), "2025-07-23.00003.ndjson.zst.open");
        let parsed = parse_name(&open_name(date, 12)).unwrap();
        assert_eq!(
            parsed,
            ParsedName {
                date,
                sequence: 12,
                is_open: true
            }
        );
        assert!(!parse_name(&finished_name(date, 1)).unwrap().is_open);
        assert_eq!(parse_name("notes.txt"), None);
        assert_eq!(parse_name("2025-07-23.x.ndjson.zst"), None);
    }

    #[test]
    fn day_numbers_are_utc_days() {
        let at: Timestamp = "2025-07-23T23:59:59Z".parse().unwrap();
        let next: Timestamp = "2025-07-24T00:00:00Z".parse().unwrap();
        assert_eq!(day_number(at) + 1, day_number(next));
        assert_eq!(date_of(day_number(at)), Date::constant(2025, 7, 23));
        let before_epoch: Timestamp = "1969-12-31T12:00:00Z".parse().unwrap();
        assert_eq!(
            date_of(day_number(before_epoch)),
            Date::constant(1969, 12, 31)
        );
    }

    /// Checked against jiff's own calendar across leap years and century rules.
    #[test]
    fn dates_match_jiff() {
        for day in (-800_000..800_000).step_by(997).chain(10_950..11_050) {
            let at = Timestamp::from_second(day * SECONDS_PER_DAY).unwrap();
            let expected = at.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
            assert_eq!(date_of(day), expected, "day {day}");
            assert_eq!(day_of(expected), day);
        }
    }

    #[test]
    fn finished_path_drops_open_suffix() {
        let open = Path::new("/a/2025-07-23.00001.ndjson.zst.open");
        assert_eq!(
            finished_path(open),
            Path::new("/a/2025-07-23.00001.ndjson.zst")
        );
    }
}
