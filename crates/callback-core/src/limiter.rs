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
use crate::state::Slot;

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
    schedule: Schedule,
    /// The theoretical time at which the bucket would be empty again.
    tat: Mutex<Option<Instant>>,
}

/// The bucket's numbers as a schedule (virtual scheduling, the generic cell rate algorithm).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Schedule {
    /// Time between two requests once the burst is used.
    pub(crate) interval: Duration,
    /// How far ahead of "now" the schedule may run: the burst.
    pub(crate) tolerance: Duration,
}

impl Schedule {
    /// The schedule of a rate limit (`None` when pacing is off).
    pub(crate) fn of(rate: RateLimit) -> Option<Schedule> {
        let (burst, per_second) = rate.bucket()?;
        let rate = (per_second * RATE_MARGIN).max(1e-6);
        let interval = Duration::from_secs_f64(1.0 / rate);
        // A few slots are kept free (one per 25, at least two): requests do not reach the
        // portal exactly when they were scheduled, and the occasional other request counts too.
        let usable = burst.saturating_sub((burst / 25).max(2)).max(1);
        Some(Schedule {
            interval,
            tolerance: interval.mul_f64(f64::from(usable - 1)),
        })
    }
}

impl Limiter {
    /// The bucket for `portal` with these numbers (`None` when pacing is off), shared by every
    /// client of the process.
    pub(crate) fn shared(portal: &str, rate: RateLimit) -> Option<Arc<Limiter>> {
        let schedule = Schedule::of(rate)?;
        static BUCKETS: OnceLock<Mutex<HashMap<String, Arc<Limiter>>>> = OnceLock::new();
        let key = format!("{portal}|{schedule:?}");
        let mut map = BUCKETS
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        Some(
            map.entry(key)
                .or_insert_with(|| {
                    Arc::new(Limiter {
                        schedule,
                        tat: Mutex::new(None),
                    })
                })
                .clone(),
        )
    }

    /// Reserves the earliest slot if it comes within `max_wait`.
    pub(crate) fn reserve(&self, max_wait: Duration) -> Slot {
        let now = Instant::now();
        let mut tat = self.tat.lock().unwrap_or_else(|p| p.into_inner());
        let base = tat.map_or(now, |t| t.max(now));
        let admit_at = base
            .checked_sub(self.schedule.tolerance)
            .unwrap_or(now)
            .max(now);
        let wait = admit_at - now;
        if wait > max_wait {
            return Slot::TooFar(wait);
        }
        *tat = Some(base + self.schedule.interval);
        Slot::After(wait)
    }

    /// The portal said `QUERY_LIMIT_EXCEEDED`: its bucket is full, whatever ours thought.
    pub(crate) fn note_portal_full(&self) {
        let now = Instant::now();
        let mut tat = self.tat.lock().unwrap_or_else(|p| p.into_inner());
        let full = instant_after(now, self.schedule.tolerance + self.schedule.interval);
        if tat.is_none_or(|t| t < full) {
            *tat = Some(full);
        }
    }
}

/// The refusal of a slot the caller cannot wait for: nothing was sent.
pub(crate) fn too_far(next_slot: Duration) -> Error {
    Error::new(
        ErrorCode::RateLimited,
        format!(
            "the rate limiter could not admit the call before the deadline (next slot in {} ms); \
             nothing was sent",
            next_slot.as_millis()
        ),
    )
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
        let l = Limiter::shared(
            "test://burst_then_paced",
            RateLimit::Custom {
                burst: 5,
                per_second: 50.0,
            },
        )
        .unwrap();
        let long = Duration::from_secs(5);
        for i in 0..3 {
            // The burst is admitted without any wait (asserted exactly, not by the wall clock,
            // which a loaded machine may stall at any moment).
            assert_eq!(l.reserve(long), Slot::After(Duration::ZERO), "call {i}");
        }
        // Then one slot per interval: the waits grow by about 1/49 s each.
        let mut last = Duration::ZERO;
        for _ in 0..5 {
            let Slot::After(wait) = l.reserve(long) else {
                panic!("a slot within 5 s")
            };
            assert!(wait > last, "{wait:?} after {last:?}");
            last = wait;
        }
        assert!(
            last > Duration::from_millis(80) && last < Duration::from_millis(110),
            "{last:?}"
        );
        // A slot further away than the caller can wait is refused and not reserved.
        let Slot::TooFar(next) = l.reserve(Duration::from_millis(1)) else {
            panic!("refused")
        };
        assert!(next > last);
        // ... and the refusal reserved nothing: the next slot is no further away.
        assert!(matches!(l.reserve(Duration::from_millis(1)), Slot::TooFar(n) if n <= next));
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
