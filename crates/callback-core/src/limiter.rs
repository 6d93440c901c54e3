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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorCode, Violation};

/// Client-side pacing that mirrors the portal's leaky bucket.
///
/// The presets also have names (`"standard"`, `"enterprise"`, `"off"`, see
/// [`RateLimit::PRESET_NAMES`]) for configuration files, command lines and bindings:
/// [`RateLimit::from_name`], `"enterprise".parse::<RateLimit>()` and [`RateLimit::name`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateLimit {
    /// Burst 50, drains 2 per second (every plan but Enterprise).
    Standard,
    /// Burst 250, drains 5 per second.
    Enterprise,
    Custom {
        burst: u32,
        per_second: f64,
    },
    Off,
}

impl RateLimit {
    /// The names of the presets, in the order `Standard`, `Enterprise`, `Off`.
    pub const PRESET_NAMES: [&'static str; 3] = ["standard", "enterprise", "off"];

    /// The preset called `name` (ASCII case-insensitive: `"Enterprise"` works), or `None`.
    /// No surrounding whitespace is stripped.
    pub fn from_name(name: &str) -> Option<RateLimit> {
        [RateLimit::Standard, RateLimit::Enterprise, RateLimit::Off]
            .into_iter()
            .find(|preset| preset.name().is_some_and(|n| n.eq_ignore_ascii_case(name)))
    }

    /// The bucket's `(burst, per_second)`; `None` when pacing is off.
    pub fn bucket(&self) -> Option<(u32, f64)> {
        match *self {
            RateLimit::Standard => Some((50, 2.0)),
            RateLimit::Enterprise => Some((250, 5.0)),
            RateLimit::Custom { burst, per_second } => Some((burst, per_second)),
            RateLimit::Off => None,
        }
    }

    /// The preset's name (`"standard"`, `"enterprise"`, `"off"`); `None` for `Custom`.
    pub fn name(&self) -> Option<&'static str> {
        match self {
            RateLimit::Standard => Some("standard"),
            RateLimit::Enterprise => Some("enterprise"),
            RateLimit::Off => Some("off"),
            RateLimit::Custom { .. } => None,
        }
    }
}

/// Parses a preset name like [`RateLimit::from_name`]. An unknown name is an `invalid_request`
/// error with one violation: field `rate_limit`, code `unknown_preset`, and a message listing
/// the accepted names (the refused text itself is not repeated).
impl std::str::FromStr for RateLimit {
    type Err = Error;

    fn from_str(name: &str) -> Result<RateLimit, Error> {
        RateLimit::from_name(name).ok_or_else(|| {
            Error::invalid(vec![Violation {
                field: "rate_limit".into(),
                code: "unknown_preset".into(),
                message: unknown_preset_message(),
            }])
        })
    }
}

/// The text of an `unknown_preset` violation: the accepted names (never the refused text).
pub(crate) fn unknown_preset_message() -> String {
    let names = RateLimit::PRESET_NAMES
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!("must be one of {names}")
}

/// Cancels a call that is still waiting (limiter, back-off). Clones share the flag.
#[derive(Debug, Clone, Default)]
pub struct CancelToken {
    flag: Arc<AtomicBool>,
}

impl CancelToken {
    pub fn new() -> CancelToken {
        CancelToken::default()
    }
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::SeqCst);
    }
    pub fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
}

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
        let (burst, per_second) = rate.bucket()?;
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

    #[test]
    fn rate_limit_presets_round_trip_by_name() {
        for (name, preset) in RateLimit::PRESET_NAMES.iter().zip([
            RateLimit::Standard,
            RateLimit::Enterprise,
            RateLimit::Off,
        ]) {
            assert_eq!(preset.name(), Some(*name));
            assert_eq!(RateLimit::from_name(name), Some(preset));
            assert_eq!(name.parse::<RateLimit>(), Ok(preset));
            assert_eq!(name.to_uppercase().parse::<RateLimit>(), Ok(preset));
        }
        assert_eq!(
            RateLimit::from_name("Enterprise"),
            Some(RateLimit::Enterprise)
        );
        let custom = RateLimit::Custom {
            burst: 5,
            per_second: 1.0,
        };
        assert_eq!(custom.name(), None);
    }

    #[test]
    fn unknown_rate_limit_names_are_invalid_requests() {
        for name in ["", "turbo", " standard", "standard ", "custom", "stándard"] {
            assert_eq!(RateLimit::from_name(name), None, "{name:?}");
            let e = name.parse::<RateLimit>().unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidRequest);
            let [v] = e.violations() else {
                panic!("one violation expected: {e}")
            };
            assert_eq!(
                (v.field.as_str(), v.code.as_str()),
                ("rate_limit", "unknown_preset")
            );
            for accepted in RateLimit::PRESET_NAMES {
                assert!(
                    v.message.contains(&format!("\"{accepted}\"")),
                    "{}",
                    v.message
                );
            }
        }
        let e = "turbo".parse::<RateLimit>().unwrap_err();
        assert!(!e.to_string().contains("turbo"), "{e}");
    }
}
