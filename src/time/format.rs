//! RFC 3339 UTC rendering, written straight into an output buffer.

use std::cell::Cell;

use super::civil::civil_from_days;
use super::Instant;

/// Appends `YYYY-MM-DDTHH:MM:SS[.f]Z`, with as many fraction digits as the source had.
pub fn write_rfc3339(out: &mut Vec<u8>, instant: Instant) {
    let mut text = [0; RFC3339_MAX_BYTES];
    let len = render_rfc3339(instant, &mut text);
    out.extend_from_slice(&text[..len]);
}

/// Renders `YYYY-MM-DDTHH:MM:SS[.f]Z` into the start of `buf` and returns its
/// length; `buf` is of fixed size so that callers can hand over a window of their
/// output buffer and write the text in place.
pub fn render_rfc3339(instant: Instant, buf: &mut [u8; RFC3339_MAX_BYTES]) -> usize {
    let days = instant.unix_seconds.div_euclid(86_400);
    let secs = instant.unix_seconds.rem_euclid(86_400) as u32;

    buf[..10].copy_from_slice(&date_text(days));
    buf[10] = b'T';
    put2(&mut buf[11..13], secs / 3600);
    buf[13] = b':';
    put2(&mut buf[14..16], secs / 60 % 60);
    buf[16] = b':';
    put2(&mut buf[17..19], secs % 60);

    let digits = instant.fraction_digits.min(9) as usize;
    if digits == 0 {
        buf[19] = b'Z';
        return 20;
    }
    buf[19] = b'.';
    let mut n = instant.nanos / 10u32.pow(9 - digits as u32);
    for slot in buf[20..20 + digits].iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
    buf[20 + digits] = b'Z';
    21 + digits
}

/// Longest text [`render_rfc3339`] produces: nine fraction digits.
pub const RFC3339_MAX_BYTES: usize = 30;

/// `YYYY-MM-DD` of a day number. Documents carry three or four times of the same day,
/// so the last day rendered on this thread is remembered.
fn date_text(days: i64) -> [u8; 10] {
    thread_local! {
        static LAST: Cell<(i64, [u8; 10])> = const { Cell::new((i64::MIN, [0; 10])) };
    }
    let (last_day, last_text) = LAST.get();
    if last_day == days {
        return last_text;
    }
    let (year, month, day) = civil_from_days(days);
    let year = year.clamp(0, 9999) as u32;
    let mut text = *b"0000-00-00";
    put2(&mut text[0..2], year / 100);
    put2(&mut text[2..4], year % 100);
    put2(&mut text[5..7], month as u32);
    put2(&mut text[8..10], day as u32);
    LAST.set((days, text));
    text
}

fn put2(slot: &mut [u8], value: u32) {
    slot[0] = b'0' + (value / 10 % 10) as u8;
    slot[1] = b'0' + (value % 10) as u8;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(instant: Instant) -> String {
        let mut out = Vec::new();
        write_rfc3339(&mut out, instant);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn whole_seconds_and_fractions() {
        assert_eq!(
            render(Instant::from_unix_seconds(1_753_236_672)),
            "2025-07-23T02:11:12Z"
        );
        let ms = Instant {
            unix_seconds: 1_753_236_672,
            nanos: 345_000_000,
            fraction_digits: 3,
        };
        assert_eq!(render(ms), "2025-07-23T02:11:12.345Z");
        let tenth = Instant {
            unix_seconds: 0,
            nanos: 300_000_000,
            fraction_digits: 1,
        };
        assert_eq!(render(tenth), "1970-01-01T00:00:00.3Z");
        assert_eq!(
            render(Instant::from_unix_seconds(-1)),
            "1969-12-31T23:59:59Z"
        );
    }

    #[test]
    fn appends_after_what_is_there_for_every_fraction_length() {
        for digits in 0..=9u8 {
            let instant = Instant {
                unix_seconds: 1_753_236_672,
                nanos: 123_456_789,
                fraction_digits: digits,
            };
            let mut out = b"x".to_vec();
            write_rfc3339(&mut out, instant);
            let fraction = &"123456789"[..digits as usize];
            let dot = if digits == 0 { "" } else { "." };
            assert_eq!(
                String::from_utf8(out).unwrap(),
                format!("x2025-07-23T02:11:12{dot}{fraction}Z")
            );
        }
    }
}
