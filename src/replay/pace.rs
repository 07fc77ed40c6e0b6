//! When to send: a token bucket for `--rate`, a scaled schedule for `--speed`.
//!
//! Both answer "how long until this message may go" from instants the caller
//! passes in, so they are tested without sleeping. The sender sleeps only once
//! the wait reaches [`MIN_SLEEP`]: at a million messages per second a sleep per
//! message would cost more than the message, and the OS cannot sleep that
//! briefly anyway. Short waits are not lost but owed: the bucket goes into debt
//! and the next wait is longer, so the rate holds over seconds even though single
//! messages leave in small bursts.

use std::time::{Duration, Instant};

/// Shortest wait worth a sleep; shorter ones add up in the bucket's debt.
pub const MIN_SLEEP: Duration = Duration::from_millis(2);

/// Fraction of a second's worth of messages that may leave back to back after
/// an idle spell (the bucket's size).
const BURST_SECONDS: f64 = 0.01;

/// A token bucket: `per_second` tokens a second, at most `burst` saved up.
#[derive(Debug, Clone)]
pub struct Pacer {
    per_second: f64,
    burst: f64,
    /// Tokens available; negative while the sender is ahead of the rate.
    tokens: f64,
    last: Instant,
}

impl Pacer {
    /// A bucket that starts empty, so the first second is not a burst.
    pub fn new(per_second: f64, now: Instant) -> Pacer {
        Pacer {
            per_second,
            burst: (per_second * BURST_SECONDS).max(1.0),
            tokens: 0.0,
            last: now,
        }
    }

    /// Takes `n` tokens and says how long to wait before sending them.
    pub fn take(&mut self, n: u64, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        self.tokens -= n as f64;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.per_second)
        }
    }
}

/// Keeps the spacing of the original times, divided by `speed`.
#[derive(Debug, Clone)]
pub struct Schedule {
    speed: f64,
    /// The first message's original time and when it was sent.
    origin: Option<(jiff::Timestamp, Instant)>,
}

impl Schedule {
    pub fn new(speed: f64) -> Schedule {
        Schedule {
            speed,
            origin: None,
        }
    }

    /// How long to wait before sending a message first seen at `at`. A message
    /// without a time, or older than the first, goes at once.
    pub fn wait(&mut self, at: Option<jiff::Timestamp>, now: Instant) -> Duration {
        let Some(at) = at else {
            return Duration::ZERO;
        };
        let (first_at, first_sent) = *self.origin.get_or_insert((at, now));
        let Ok(spacing) = at.duration_since(first_at).try_into() else {
            return Duration::ZERO;
        };
        let spacing: Duration = spacing;
        let due = first_sent + spacing.div_f64(self.speed);
        due.saturating_duration_since(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sending as fast as the waits allow gives the asked rate over a second,
    /// however the messages are grouped.
    #[test]
    fn the_bucket_holds_the_rate_over_a_second() {
        let start = Instant::now();
        let mut pacer = Pacer::new(10_000.0, start);
        let mut now = start;
        let mut sent = 0u64;
        while now < start + Duration::from_secs(1) {
            let wait = pacer.take(1, now);
            if wait >= MIN_SLEEP {
                now += wait;
            }
            sent += 1;
        }
        assert!((9_900..=10_100).contains(&sent), "{sent}");
    }

    #[test]
    fn an_idle_spell_buys_only_a_small_burst() {
        let start = Instant::now();
        let mut pacer = Pacer::new(1_000.0, start);
        let later = start + Duration::from_secs(60);
        let free = (0..100)
            .take_while(|_| pacer.take(1, later).is_zero())
            .count();
        assert_eq!(free, 10);
    }

    #[test]
    fn the_schedule_scales_the_spacing() {
        let start = Instant::now();
        let mut schedule = Schedule::new(2.0);
        let t0: jiff::Timestamp = "2025-07-23T02:00:00Z".parse().unwrap();
        assert_eq!(schedule.wait(Some(t0), start), Duration::ZERO);
        let t1 = t0 + jiff::SignedDuration::from_secs(10);
        assert_eq!(schedule.wait(Some(t1), start), Duration::from_secs(5));
        let before = t0 - jiff::SignedDuration::from_secs(10);
        assert_eq!(schedule.wait(Some(before), start), Duration::ZERO);
        assert_eq!(schedule.wait(None, start), Duration::ZERO);
    }
}
