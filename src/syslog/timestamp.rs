//! Timestamps as syslog senders write them, read into [`CivilTime`] without a zone.
//!
//! Forms, tried in this order:
//!
//! * `Mmm dd yyyy hh:mm:ss` — Huawei `date`, the year between day and time;
//! * `Mmm dd hh:mm:ss` — RFC 3164 and Huawei `short-date`, no year;
//! * `yyyy-mm-dd hh:mm:ss` — Huawei `format-date`, month and day maybe unpadded;
//! * `yyyy-mm-ddThh:mm:ss` — RFC 3339 / ISO 8601;
//! * `nnnnnn.nnnnnn` — Huawei `boot`, time since boot: no wall clock at all.
//!
//! The day of `Mmm dd` may be space-padded (`Jul  3`). Any of them may carry a fraction
//! (`.3`, `.345`; a second group as in `10:11:16.150.1` is skipped) and an offset written
//! right after it (`Z`, `+08:00`, `-0500`). Field ranges are checked here; whether a date
//! exists (Feb 30) is checked when the time is resolved, because a year-less date needs
//! the reference year first.

use nom::branch::alt;
use nom::bytes::complete::{take_while1, take_while_m_n};
use nom::character::complete::{char, one_of, space1};
use nom::combinator::{map_opt, opt, recognize, verify};
use nom::sequence::{preceded, terminated};
use nom::{IResult, Parser};

use crate::time::CivilTime;

/// Which layout a timestamp had; the relay rule of the Huawei header needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `Mmm dd yyyy hh:mm:ss`
    Date,
    /// `Mmm dd hh:mm:ss`
    ShortDate,
    /// `yyyy-mm-dd hh:mm:ss`
    FormatDate,
    /// `yyyy-mm-ddThh:mm:ss`
    Iso,
    /// Seconds since boot: not a wall-clock time.
    Boot,
}

/// A parsed timestamp. `time` is `None` for the boot layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub layout: Layout,
    pub time: Option<CivilTime>,
}

type Res<'a, T> = IResult<&'a [u8], T>;

/// Reads any timestamp form at the start of `input`, with its offset if one follows.
pub fn timestamp(input: &[u8]) -> Res<'_, Stamp> {
    if let Some(read) = fixed_width(input) {
        return Ok(read);
    }
    alt((month_first, year_first, boot)).parse(input)
}

/// The forms nearly every sender writes, read at fixed positions: `Mmm dd yyyy
/// hh:mm:ss`, `Mmm dd hh:mm:ss` (the day two digits or a space and one) and
/// `yyyy-mm-dd[T ]hh:mm:ss`, each maybe with a fraction and an offset. It answers
/// only when the combinators would answer the same (a property holds it to that),
/// and `None` for anything else, which the combinators then read; it exists because
/// it costs a tenth of them on the common forms.
fn fixed_width(input: &[u8]) -> Option<(&[u8], Stamp)> {
    let digit = |i: usize| {
        let d = input.get(i)?.wrapping_sub(b'0');
        (d <= 9).then_some(u32::from(d))
    };
    let two = |i: usize| Some(digit(i)? * 10 + digit(i + 1)?);

    let (mut civil, layout, time_at) = if input.first()?.is_ascii_alphabetic() {
        // `Mmm dd [yyyy ]`
        let (_, month) = month_name(input).ok()?;
        (input.get(3) == Some(&b' ')).then_some(())?;
        let day = match input.get(4)? {
            b' ' => digit(5)?,
            _ => two(4)?,
        };
        (1..=31).contains(&day).then_some(())?;
        (input.get(6) == Some(&b' ')).then_some(())?;
        let year = (|| Some(two(7)? * 100 + two(9)?))().filter(|_| input.get(11) == Some(&b' '));
        let civil = CivilTime {
            year: year.map(|y| y as i32),
            month,
            day: day as u8,
            ..CivilTime::default()
        };
        match year {
            Some(_) => (civil, Layout::Date, 12),
            None => (civil, Layout::ShortDate, 7),
        }
    } else {
        // `yyyy-mm-dd[T ]`
        let year = two(0)? * 100 + two(2)?;
        (input.get(4) == Some(&b'-') && input.get(7) == Some(&b'-')).then_some(())?;
        let (month, day) = (two(5)?, two(8)?);
        ((1..=12).contains(&month) && (1..=31).contains(&day)).then_some(())?;
        let layout = match input.get(10)? {
            b' ' => Layout::FormatDate,
            b'T' | b't' => Layout::Iso,
            _ => return None,
        };
        let civil = CivilTime {
            year: Some(year as i32),
            month: month as u8,
            day: day as u8,
            ..CivilTime::default()
        };
        (civil, layout, 11)
    };

    // `hh:mm:ss`, then what may follow it.
    let t = time_at;
    let (hour, minute, second) = (two(t)?, two(t + 3)?, two(t + 6)?);
    let colons = input.get(t + 2) == Some(&b':') && input.get(t + 5) == Some(&b':');
    (colons && hour < 24 && minute < 60 && second < 60 && digit(t + 8).is_none()).then_some(())?;
    (civil.hour, civil.minute, civil.second) = (hour as u8, minute as u8, second as u8);
    let mut rest = &input[t + 8..];
    if rest.first() == Some(&b'.') {
        let (after, (nanos, digits)) = fraction(rest).ok()?;
        (civil.nanos, civil.fraction_digits) = (nanos, digits);
        rest = after;
    }
    // An offset starts with one of these; anything else is no offset at all, and
    // the combinator is not worth calling.
    if matches!(rest.first(), Some(b'Z' | b'z' | b'+' | b'-')) {
        if let Ok((after, offset)) = utc_offset(rest) {
            civil.offset_seconds = Some(offset);
            rest = after;
        }
    }
    Some((
        rest,
        Stamp {
            layout,
            time: Some(civil),
        },
    ))
}

/// `Mmm dd[ yyyy] hh:mm:ss[.f][offset]`
fn month_first(input: &[u8]) -> Res<'_, Stamp> {
    let (input, month) = month_name(input)?;
    let (input, _) = space1(input)?;
    let (input, day) = verify(number(1, 2), |d| (1..=31).contains(d)).parse(input)?;
    let (input, _) = space1(input)?;
    let (input, year) = opt(terminated(number(4, 4), space1)).parse(input)?;
    let (input, mut civil) = time_of_day(input)?;
    let (input, offset) = opt(utc_offset).parse(input)?;

    civil.year = year.map(|y| y as i32);
    civil.month = month;
    civil.day = day as u8;
    civil.offset_seconds = offset;
    let layout = if year.is_some() {
        Layout::Date
    } else {
        Layout::ShortDate
    };
    Ok((
        input,
        Stamp {
            layout,
            time: Some(civil),
        },
    ))
}

/// `yyyy-m-d hh:mm:ss[.f][offset]` and `yyyy-mm-ddThh:mm:ss[.f][offset]`
fn year_first(input: &[u8]) -> Res<'_, Stamp> {
    let (input, year) = number(4, 4)(input)?;
    let (input, month) =
        preceded(char('-'), verify(number(1, 2), |m| (1..=12).contains(m))).parse(input)?;
    let (input, day) =
        preceded(char('-'), verify(number(1, 2), |d| (1..=31).contains(d))).parse(input)?;
    let (input, separator) = alt((char('T'), char('t'), char(' '))).parse(input)?;
    let (input, mut civil) = time_of_day(input)?;
    let (input, offset) = opt(utc_offset).parse(input)?;

    civil.year = Some(year as i32);
    civil.month = month as u8;
    civil.day = day as u8;
    civil.offset_seconds = offset;
    let layout = if separator == ' ' {
        Layout::FormatDate
    } else {
        Layout::Iso
    };
    Ok((
        input,
        Stamp {
            layout,
            time: Some(civil),
        },
    ))
}

/// `nnnnnn.nnnnnn`: seconds since boot, which says nothing about the wall clock.
fn boot(input: &[u8]) -> Res<'_, Stamp> {
    let digits = || take_while1(|b: u8| b.is_ascii_digit());
    let (input, _) = recognize((digits(), char('.'), digits())).parse(input)?;
    Ok((
        input,
        Stamp {
            layout: Layout::Boot,
            time: None,
        },
    ))
}

/// `hh:mm:ss[.fraction[.ignored]]`
fn time_of_day(input: &[u8]) -> Res<'_, CivilTime> {
    let (input, hour) = verify(number(2, 2), |h| *h < 24).parse(input)?;
    let (input, minute) = preceded(char(':'), verify(number(2, 2), |m| *m < 60)).parse(input)?;
    let (input, second) = preceded(char(':'), verify(number(2, 2), |s| *s < 60)).parse(input)?;
    let (input, (nanos, fraction_digits)) = fraction(input)?;
    let civil = CivilTime {
        hour: hour as u8,
        minute: minute as u8,
        second: second as u8,
        nanos,
        fraction_digits,
        ..CivilTime::default()
    };
    Ok((input, civil))
}

/// `[.fraction[.ignored]]` after the seconds: the fraction as (nanoseconds,
/// digits), (0, 0) when there is none.
fn fraction(input: &[u8]) -> Res<'_, (u32, u8)> {
    let (input, fraction) = opt(preceded(char('.'), digit_run)).parse(input)?;
    // A second fraction group has been seen on AR routers; it carries nothing we know.
    let (input, _) = opt(preceded(char('.'), digit_run)).parse(input)?;
    Ok((input, fraction.map(fraction_nanos).unwrap_or((0, 0))))
}

/// `Z`, `+HH:MM`, `-HH:MM`, `+HHMM`, directly after the time.
pub fn utc_offset(input: &[u8]) -> Res<'_, i32> {
    if let Ok((rest, _)) = one_of::<_, _, nom::error::Error<&[u8]>>("Zz").parse(input) {
        return Ok((rest, 0));
    }
    let (input, sign) = one_of("+-").parse(input)?;
    let (input, hours) = verify(number(2, 2), |h| *h <= 18).parse(input)?;
    let (input, _) = opt(char(':')).parse(input)?;
    let (input, minutes) = verify(number(2, 2), |m| *m < 60).parse(input)?;
    let seconds = (hours * 3600 + minutes * 60) as i32;
    Ok((input, if sign == '-' { -seconds } else { seconds }))
}

fn month_name(input: &[u8]) -> Res<'_, u8> {
    map_opt(
        take_while_m_n(3, 3, |b: u8| b.is_ascii_alphabetic()),
        |name: &[u8]| {
            const MONTHS: [&[u8; 3]; 12] = [
                b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct",
                b"nov", b"dec",
            ];
            let lower = [name[0] | 0x20, name[1] | 0x20, name[2] | 0x20];
            MONTHS
                .iter()
                .position(|m| **m == lower)
                .map(|i| i as u8 + 1)
        },
    )
    .parse(input)
}

fn number<'a>(min: usize, max: usize) -> impl Fn(&'a [u8]) -> Res<'a, u32> {
    move |input| {
        let (rest, digits) = take_while_m_n(min, max, |b: u8| b.is_ascii_digit())(input)?;
        Ok((
            rest,
            digits
                .iter()
                .fold(0u32, |acc, d| acc * 10 + (d - b'0') as u32),
        ))
    }
}

fn digit_run(input: &[u8]) -> Res<'_, &[u8]> {
    take_while1(|b: u8| b.is_ascii_digit())(input)
}

/// Fraction digits into nanoseconds; digits past the ninth are dropped.
fn fraction_nanos(digits: &[u8]) -> (u32, u8) {
    let kept = &digits[..digits.len().min(9)];
    let mut nanos = kept
        .iter()
        .fold(0u32, |acc, d| acc * 10 + (d - b'0') as u32);
    for _ in kept.len()..9 {
        nanos *= 10;
    }
    (nanos, kept.len() as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Stamp, &str) {
        let (rest, stamp) = timestamp(text.as_bytes()).unwrap();
        (stamp, std::str::from_utf8(rest).unwrap())
    }

    #[test]
    fn huawei_date_form_has_the_year_before_the_time() {
        let (stamp, rest) = parse("Jul 23 2025 10:11:12 AR1220");
        assert_eq!(stamp.layout, Layout::Date);
        let t = stamp.time.unwrap();
        assert_eq!(
            (t.year, t.month, t.day, t.hour, t.minute, t.second),
            (Some(2025), 7, 23, 10, 11, 12)
        );
        assert_eq!(rest, " AR1220");
    }

    #[test]
    fn space_padded_day_and_offset() {
        let (stamp, rest) = parse("Jul  3 2025 10:11:12+08:00 DST x");
        let t = stamp.time.unwrap();
        assert_eq!((t.day, t.offset_seconds), (3, Some(28_800)));
        assert_eq!(rest, " DST x");
    }

    #[test]
    fn short_date_has_no_year() {
        let (stamp, _) = parse("Jul  3 10:11:12 host");
        assert_eq!(stamp.layout, Layout::ShortDate);
        assert_eq!(stamp.time.unwrap().year, None);
    }

    #[test]
    fn format_date_unpadded_with_two_fraction_groups() {
        let (stamp, rest) = parse("2025-7-3 10:11:16.150.1 AR3260");
        let t = stamp.time.unwrap();
        assert_eq!(stamp.layout, Layout::FormatDate);
        assert_eq!(
            (t.month, t.day, t.nanos, t.fraction_digits),
            (7, 3, 150_000_000, 3)
        );
        assert_eq!(rest, " AR3260");
    }

    #[test]
    fn iso_with_z_and_tenths() {
        let (stamp, _) = parse("2025-07-23T03:37:41.003Z host");
        let t = stamp.time.unwrap();
        assert_eq!(
            (stamp.layout, t.nanos, t.offset_seconds),
            (Layout::Iso, 3_000_000, Some(0))
        );
        let (stamp, _) = parse("Jul 23 2025 10:11:12.3 x");
        assert_eq!(stamp.time.unwrap().fraction_digits, 1);
    }

    #[test]
    fn boot_time_has_no_wall_clock() {
        let (stamp, rest) = parse("123456.789012 host");
        assert_eq!(
            stamp,
            Stamp {
                layout: Layout::Boot,
                time: None
            }
        );
        assert_eq!(rest, " host");
    }

    /// Timestamp-like text: each piece right or wrong in the ways senders get it
    /// wrong (unpadded, doubled spaces, out of range, cut short).
    fn timestamp_like() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::sample::select;
        use proptest::strategy::Strategy;
        let month_first = (
            select(vec!["Jan", "jul", "DEC", "Jul", "Foo"]),
            select(vec![" ", " ", " ", "  "]),
            select(vec!["23", "23", " 3", " 3", "3", "32", "00", "031"]),
            select(vec![" ", " ", " ", "  "]),
            select(vec!["", "", "2025 ", "2025", "202 ", "2025  "]),
        )
            .prop_map(|(m, s1, d, s2, y)| format!("{m}{s1}{d}{s2}{y}"));
        let year_first = (
            select(vec!["2025", "2025", "202"]),
            select(vec!["07", "07", "12", "7", "13", "00"]),
            select(vec!["23", "23", "01", "3", "32"]),
            select(vec![" ", "T", "t", "x"]),
        )
            .prop_map(|(y, mo, d, sep)| format!("{y}-{mo}-{d}{sep}"));
        let time = (
            select(vec!["11", "23", "00", "24", "1"]),
            select(vec!["18", "59", "60"]),
            select(vec!["06", "59", "06", "60", "065"]),
            select(vec!["", "", ".624", ".", ".1.2", ".1234567890", ".5."]),
            select(vec![
                "", "", "Z", "z", "+08:00", "-0500", "+1", "+19:00", "-",
            ]),
            select(vec!["", " x", "5", "."]),
        )
            .prop_map(|(h, m, s, f, o, t)| format!("{h}:{m}:{s}{f}{o}{t}"));
        (proptest::prop_oneof![month_first, year_first], time)
            .prop_map(|(date, time)| format!("{date}{time}"))
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(5000))]
        /// Where the fixed-width reader answers, the combinators answer the same.
        #[test]
        fn fixed_width_reads_what_the_combinators_read(text in timestamp_like()) {
            let input = text.as_bytes();
            if let Some(fast) = fixed_width(input) {
                let general = alt((month_first, year_first, boot)).parse(input);
                proptest::prop_assert_eq!(Some(fast), general.ok());
            }
        }
    }

    #[test]
    fn fixed_width_reads_the_common_forms() {
        for text in [
            "Jul 23 2025 10:11:12 x",
            "Jul  3 10:11:12+08:00 x",
            "2025-07-23 11:50:18.624 x",
            "2025-07-23T03:37:41.003Z x",
        ] {
            assert!(fixed_width(text.as_bytes()).is_some(), "{text}");
        }
    }

    #[test]
    fn out_of_range_fields_are_refused() {
        assert!(timestamp(b"Jul 32 10:11:12").is_err());
        assert!(timestamp(b"Jul 23 24:11:12").is_err());
        assert!(timestamp(b"2025-13-01 10:11:12").is_err());
        assert!(timestamp(b"Foo 23 10:11:12").is_err());
        // Feb 30 parses here; resolving it fails later.
        assert!(timestamp(b"Feb 30 10:11:12").is_ok());
    }
}
