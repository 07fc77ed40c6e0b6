//! What to do with a failed request or item, and how long to wait before trying
//! again.
//!
//! The rules, by HTTP status:
//!
//! - whole request: a connection error, a timeout, 429 or any 5xx is sent again
//!   as it was; 401 and 403 stop the sink until the server accepts the
//!   credentials; 413 and other 4xx can never succeed, so every item is parked in
//!   the dead-letter file;
//! - item of a 200 response: 200/201 is done, 409 is a document that already
//!   exists (a retry or a replay: counted as a duplicate), 429 and 5xx are sent
//!   again in a smaller request with only the items that failed, anything else
//!   (400 mapping errors, 404 missing data stream ...) is parked.
//!
//! Retrying is unbounded while the process runs: the documents wait in the
//! bounded queues, and back-pressure reaches the listeners. The pause grows
//! exponentially to a cap, with "equal jitter" (half fixed, half random) so that
//! several senders that failed together do not come back together.

use std::time::Duration;

/// What a whole response's status means for its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestVerdict {
    /// 2xx: read the items.
    ReadItems,
    /// Send the same request again after a pause.
    Retry,
    /// 401/403: the credentials are refused; hold the data and stop.
    Unauthorized,
    /// Can never succeed: park every item.
    Reject,
}

/// What an item's status means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemVerdict {
    Indexed,
    Duplicate,
    Retry,
    Reject,
}

/// The verdict on a response to a whole request.
pub fn request_verdict(status: u16) -> RequestVerdict {
    match status {
        200..=299 => RequestVerdict::ReadItems,
        401 | 403 => RequestVerdict::Unauthorized,
        // 408: a proxy timed out waiting for us; harmless to resend.
        408 | 429 | 500..=599 => RequestVerdict::Retry,
        _ => RequestVerdict::Reject,
    }
}

/// The verdict on one item of a 2xx bulk response.
pub fn item_verdict(status: u16) -> ItemVerdict {
    match status {
        200..=299 => ItemVerdict::Indexed,
        409 => ItemVerdict::Duplicate,
        429 | 500..=599 => ItemVerdict::Retry,
        _ => ItemVerdict::Reject,
    }
}

/// Capped exponential backoff with equal jitter.
#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    /// Pauses start near `first` and double up to `max`.
    pub fn new(first: Duration, max: Duration) -> Backoff {
        Backoff {
            first: first.max(Duration::from_millis(1)),
            max: max.max(first),
            attempt: 0,
        }
    }

    /// The pause before the next attempt: half of the current step for sure, the
    /// other half at random.
    pub fn next_pause(&mut self) -> Duration {
        let step = self.step();
        self.attempt = self.attempt.saturating_add(1);
        let half = step / 2;
        let random = (half.as_nanos() as f64 * fastrand::f64()) as u64;
        half + Duration::from_nanos(random)
    }

    /// The uncapped-then-capped step of the current attempt, before jitter.
    fn step(&self) -> Duration {
        let factor = 1u32.checked_shl(self.attempt.min(31)).unwrap_or(u32::MAX);
        self.first.saturating_mul(factor).min(self.max)
    }

    /// Back to the first step after a success.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// Attempts made since the last reset.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_statuses() {
        assert_eq!(request_verdict(200), RequestVerdict::ReadItems);
        for status in [429, 500, 502, 503, 504, 408] {
            assert_eq!(request_verdict(status), RequestVerdict::Retry, "{status}");
        }
        assert_eq!(request_verdict(401), RequestVerdict::Unauthorized);
        assert_eq!(request_verdict(403), RequestVerdict::Unauthorized);
        for status in [400, 404, 413] {
            assert_eq!(request_verdict(status), RequestVerdict::Reject, "{status}");
        }
    }

    /// Only 429 and 5xx items are sent again; 409 is a duplicate, not an error.
    #[test]
    fn item_statuses() {
        assert_eq!(item_verdict(201), ItemVerdict::Indexed);
        assert_eq!(item_verdict(200), ItemVerdict::Indexed);
        assert_eq!(item_verdict(409), ItemVerdict::Duplicate);
        assert_eq!(item_verdict(429), ItemVerdict::Retry);
        assert_eq!(item_verdict(503), ItemVerdict::Retry);
        assert_eq!(item_verdict(400), ItemVerdict::Reject);
        assert_eq!(item_verdict(404), ItemVerdict::Reject);
    }

    #[test]
    fn pauses_double_up_to_the_cap_with_jitter() {
        let first = Duration::from_millis(100);
        let max = Duration::from_secs(2);
        let mut backoff = Backoff::new(first, max);
        let mut steps = Vec::new();
        for _ in 0..8 {
            let step = backoff.step();
            let pause = backoff.next_pause();
            assert!(pause >= step / 2 && pause <= step, "{pause:?} for {step:?}");
            steps.push(step.as_millis());
        }
        assert_eq!(steps, [100, 200, 400, 800, 1600, 2000, 2000, 2000]);
        assert_eq!(backoff.attempts(), 8);
        backoff.reset();
        assert_eq!(backoff.step(), first);
    }

    #[test]
    fn many_attempts_do_not_overflow() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        for _ in 0..200 {
            assert!(backoff.next_pause() <= Duration::from_secs(30));
        }
    }

    #[test]
    fn jitter_spreads_pauses() {
        let mut pauses = std::collections::HashSet::new();
        for _ in 0..20 {
            let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(1));
            pauses.insert(backoff.next_pause());
        }
        assert!(pauses.len() > 1);
    }
}
