//! Civil (wall-clock) date-times as written in a message, and calendar arithmetic.

/// A date-time as a sender wrote it: fields only, no zone applied yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CivilTime {
    /// `None` when the sender wrote no year (RFC 3164 `short-date`).
    pub year: Option<i32>,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub nanos: u32,
    /// How many fraction digits were written (0 when none).
    pub fraction_digits: u8,
    /// An explicit UTC offset written with the time (`+08:00`, `Z`).
    pub offset_seconds: Option<i32>,
}

impl CivilTime {
    /// Whether hour, minute and second are in range (a leap second 60 is refused).
    pub fn is_valid_time_of_day(&self) -> bool {
        self.hour < 24 && self.minute < 60 && self.second < 60
    }

    /// Seconds since 1970-01-01T00:00:00 of this wall-clock time in `year`, zone not applied.
    pub fn local_seconds(&self, year: i32) -> i64 {
        let days = days_from_civil(year, self.month, self.day);
        days * 86_400 + self.hour as i64 * 3600 + self.minute as i64 * 60 + self.second as i64
    }
}

pub fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

pub fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

pub fn is_valid_date(year: i32, month: u8, day: u8) -> bool {
    day >= 1 && day <= days_in_month(year, month)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (valid input assumed).
///
/// Counts in 400-year eras that start on March 1st, so that the leap day is the last
/// day of its year and needs no special case.
pub fn days_from_civil(year: i32, month: u8, day: u8) -> i64 {
    let year = year as i64 - (month <= 2) as i64;
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month as i64 + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day as i64 - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`]: (year, month, day).
pub fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u8;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + (month <= 2) as i64;
    (year, month as u8, day)
}

/// The UTC calendar year of a Unix time.
pub fn year_of_unix(unix_seconds: i64) -> i32 {
    civil_from_days(unix_seconds.div_euclid(86_400)).0 as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2025, 7, 23), 20_292);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
    }

    #[test]
    fn leap_years() {
        assert!(is_valid_date(2024, 2, 29));
        assert!(!is_valid_date(2025, 2, 29));
        assert!(!is_valid_date(1900, 2, 29));
        assert!(is_valid_date(2000, 2, 29));
        assert!(!is_valid_date(2025, 4, 31));
        assert!(!is_valid_date(2025, 13, 1));
        assert!(!is_valid_date(2025, 1, 0));
    }

    proptest! {
        #[test]
        fn days_round_trip(days in -800_000i64..3_000_000) {
            let (y, m, d) = civil_from_days(days);
            prop_assert!(is_valid_date(y as i32, m, d));
            prop_assert_eq!(days_from_civil(y as i32, m, d), days);
        }

        #[test]
        fn agrees_with_jiff(y in 1i16..9999, m in 1i8..=12, d in 1i8..=28) {
            let date = jiff::civil::date(y, m, d);
            prop_assert_eq!(days_from_civil(y as i32, m as u8, d as u8), jiff_days(date));
        }
    }

    fn jiff_days(date: jiff::civil::Date) -> i64 {
        date.to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .unwrap()
            .timestamp()
            .as_second()
            .div_euclid(86_400)
    }
}
