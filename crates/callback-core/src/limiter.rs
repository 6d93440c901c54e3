//! The client-side leaky bucket: it paces calls so the portal's own bucket never overflows.
//!
//! The portal adds 1 per request to a counter that drains at `per_second` and refuses requests
//! that would take it over `burst`. Here every caller *reserves* the earliest moment at which
//! its request fits (a virtual-scheduling form of the same bucket), then sleeps until then. A
//! reservation that would end after the caller's deadline is not made: the call fails at once
//! with `rate_limited` and nothing is sent.
//!
//! Buckets are shared process-wide per portal address and bucket numbers, so clones, threads
//! and separately built clients pointing at one portal pace together.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::client::{CancelToken, RateLimit};
use crate::error::{Error, ErrorCode};

/// A small safety margin: the portal's clock, rounding and requests in flight are not ours.
const RATE_MARGIN: f64 = 0.98;

#[derive(Debug)]
pub(crate) struct Limiter {
    /// Seconds between two requests once the burst is used.
    interval: Duration,
    /// How far ahead of "now" the schedule may run: the burst.
    tolerance: Duration,
    /// The theoretical time at which the bucket would be empty again.
    tat: Mutex<Option<Instant>>,
}

impl Limiter {
    fn new(burst: u32, per_second: f64) -> Limiter {
        let rate = (per_second * RATE_MARGIN).max(1e-6);
        let interval = Duration::from_secs_f64(1.0 / rate);
        // One slot is kept free for the margin (and for the occasional other request).
        let usable = burst.saturating_sub(1).max(1);
        Limiter {
            interval,
            tolerance: interval.mul_f64(f64::from(usable - 1)),
            tat: Mutex::new(None),
        }
    }

    /// The bucket for `portal` with these numbers (`None` when pacing is off).
    pub(crate) fn shared(portal: &str, rate: RateLimit) -> Option<Arc<Limiter>> {
        let (burst, per_second) = match rate {
            RateLimit::Standard => (50, 2.0),
            RateLimit::Enterprise => (250, 5.0),
            RateLimit::Custom { burst, per_second } => (burst, per_second),
            RateLimit::Off => return None,
        };
        static BUCKETS: OnceLock<Mutex<HashMap<String, Arc<Limiter>>>> = OnceLock::new();
        let key = format!("{portal}|{burst}|{per_second}");
        let mut map = BUCKETS
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        Some(
            map.entry(key)
                .or_insert_with(|| Arc::new(Limiter::new(burst, per_second)))
                .clone(),
        )
    }

    /// Waits for a slot. Returns the time waited.
    pub(crate) fn acquire(
        &self,
        deadline: Instant,
        cancel: Option<&CancelToken>,
    ) -> Result<Duration, Error> {
        let now = Instant::now();
        let admit_at = {
            let mut tat = self.tat.lock().unwrap_or_else(|p| p.into_inner());
            let base = tat.map_or(now, |t| t.max(now));
            let admit_at = base.checked_sub(self.tolerance).unwrap_or(now).max(now);
            if admit_at > deadline {
                let wait = admit_at - now;
                return Err(Error::new(
                    ErrorCode::RateLimited,
                    format!(
                        "the local rate limiter could not admit the call before the deadline \
                         (next slot in {} ms); nothing was sent",
                        wait.as_millis()
                    ),
                ));
            }
            *tat = Some(base + self.interval);
            admit_at
        };
        sleep_until(admit_at, cancel)?;
        Ok(admit_at.saturating_duration_since(now))
    }

    /// The portal said `QUERY_LIMIT_EXCEEDED`: its bucket is full, whatever ours thought.
    pub(crate) fn note_portal_full(&self) {
        let now = Instant::now();
        let mut tat = self.tat.lock().unwrap_or_else(|p| p.into_inner());
        let full = instant_after(now, self.tolerance + self.interval);
        if tat.is_none_or(|t| t < full) {
            *tat = Some(full);
        }
    }
}

/// `from + d`, saturating: a `Duration::MAX` deadline or cooldown from the caller, or an absurd
/// reset time from a portal, must not overflow `Instant` (which panics). What does not fit
/// becomes a moment about a century away.
pub(crate) fn instant_after(from: Instant, d: Duration) -> Instant {
    const FAR: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    from.checked_add(d)
        .or_else(|| from.checked_add(FAR))
        .unwrap_or(from)
}

/// Sleeps until `at`, waking every few milliseconds to look at `cancel`.
pub(crate) fn sleep_until(at: Instant, cancel: Option<&CancelToken>) -> Result<(), Error> {
    loop {
        if cancel.is_some_and(CancelToken::is_cancelled) {
            return Err(Error::new(
                ErrorCode::RateLimited,
                "cancelled while waiting to send; nothing was sent",
            ));
        }
        let now = Instant::now();
        if now >= at {
            return Ok(());
        }
        let slice = if cancel.is_some() {
            Duration::from_millis(10)
        } else {
            Duration::from_secs(1)
        };
        std::thread::sleep((at - now).min(slice));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_paced() {
        let l = Limiter::new(5, 50.0);
        let deadline = Instant::now() + Duration::from_secs(5);
        let start = Instant::now();
        for i in 0..4 {
            // The burst is admitted without any wait (asserted exactly, not by the wall clock,
            // which a loaded machine may stall at any moment).
            assert_eq!(
                l.acquire(deadline, None).unwrap(),
                Duration::ZERO,
                "call {i}"
            );
        }
        for _ in 0..5 {
            l.acquire(deadline, None).unwrap();
        }
        let e = start.elapsed().as_secs_f64();
        assert!((0.09..0.2).contains(&e), "{e}");
        let short = Instant::now() + Duration::from_millis(1);
        for _ in 0..3 {
            let _ = l.acquire(short, None);
        }
        assert_eq!(
            l.acquire(short, None).unwrap_err().code(),
            ErrorCode::RateLimited
        );
    }
}
