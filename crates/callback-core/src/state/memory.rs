//! The state in this process's memory: the default.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::limiter::{Limiter, RateLimit, instant_after};
use crate::state::{
    Claim, KeyEntry, KeyOutcome, KeyRecord, NumberRules, NumberVerdict, Slot, Store, Take,
    TokenShare,
};

/// Remembered entries are swept once a map grows past this many.
const SWEEP_ABOVE: usize = 256;
const HOUR: Duration = Duration::from_secs(3600);

struct Key {
    entry: KeyEntry,
    owner: String,
    /// Until when the entry counts (an in-flight key: until settled, at most `hold`).
    until: Instant,
}

/// What a number remembers: calls to it running now, its cooldown, its calls of the last hour.
#[derive(Default)]
struct Number {
    /// Calls to it running now: their owner and until when each counts.
    in_flight: HashMap<String, Instant>,
    cool_until: Option<Instant>,
    calls: VecDeque<Instant>,
}

impl Number {
    /// Forgets what no longer counts at `now`; true when nothing is left.
    fn expire(&mut self, now: Instant) -> bool {
        self.in_flight.retain(|_, until| *until > now);
        if self.cool_until.is_some_and(|t| t <= now) {
            self.cool_until = None;
        }
        while self
            .calls
            .front()
            .is_some_and(|t| now.duration_since(*t) >= HOUR)
        {
            self.calls.pop_front();
        }
        self.in_flight.is_empty() && self.cool_until.is_none() && self.calls.is_empty()
    }

    fn verdict(&self, rules: NumberRules, now: Instant) -> NumberVerdict {
        if !self.in_flight.is_empty() && !rules.cooldown.is_zero() {
            return NumberVerdict::InProgress;
        }
        if let Some(until) = self.cool_until {
            return NumberVerdict::CoolingDown(until - now);
        }
        let counted = self.calls.len() + self.in_flight.len();
        if rules.hourly_cap > 0 && counted >= rules.hourly_cap as usize {
            // The call that leaves the hour first frees a place (calls in flight count too).
            let wait = self.calls.front().map_or(HOUR, |oldest| {
                HOUR.saturating_sub(now.duration_since(*oldest))
            });
            return NumberVerdict::Capped(wait);
        }
        NumberVerdict::Free
    }
}

/// Keys and numbers of one client (and its clones); the limiter of the whole process.
pub(crate) struct MemoryStore {
    limiter: Option<Arc<Limiter>>,
    keys: Mutex<HashMap<String, Key>>,
    numbers: Mutex<HashMap<String, Number>>,
}

impl MemoryStore {
    pub(crate) fn new(portal: &str, rate: RateLimit) -> MemoryStore {
        MemoryStore {
            limiter: Limiter::shared(portal, rate),
            keys: Mutex::new(HashMap::new()),
            numbers: Mutex::new(HashMap::new()),
        }
    }

    fn numbers(&self) -> std::sync::MutexGuard<'_, HashMap<String, Number>> {
        self.numbers.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn keys(&self) -> std::sync::MutexGuard<'_, HashMap<String, Key>> {
        self.keys.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn live_key<'m>(map: &'m mut HashMap<String, Key>, key: &str, now: Instant) -> Option<&'m Key> {
        if map.len() > SWEEP_ABOVE {
            map.retain(|_, k| k.until > now);
        }
        map.get(key).filter(|k| k.until > now)
    }
}

impl Store for MemoryStore {
    fn reserve_slot(&self, max_wait: Duration) -> Result<Slot, Error> {
        Ok(match &self.limiter {
            Some(l) => l.reserve(max_wait),
            None => Slot::After(Duration::ZERO),
        })
    }

    fn portal_full(&self) {
        if let Some(l) = &self.limiter {
            l.note_portal_full();
        }
    }

    fn take_key(&self, key: &str, claim: &Claim, hold: Duration) -> Result<Take, Error> {
        let now = Instant::now();
        let mut map = self.keys();
        if let Some(k) = Self::live_key(&mut map, key, now) {
            return Ok(if k.owner == claim.owner {
                Take::Taken
            } else {
                Take::Existing(k.entry.clone())
            });
        }
        map.insert(
            key.to_owned(),
            Key {
                entry: KeyEntry {
                    fingerprint: claim.fingerprint,
                    record: KeyRecord::InFlight,
                },
                owner: claim.owner.clone(),
                until: instant_after(now, hold),
            },
        );
        Ok(Take::Taken)
    }

    fn peek_key(&self, key: &str) -> Result<Option<KeyEntry>, Error> {
        let mut map = self.keys();
        Ok(Self::live_key(&mut map, key, Instant::now()).map(|k| k.entry.clone()))
    }

    fn settle_key(&self, key: &str, claim: &Claim, outcome: KeyOutcome, keep: Duration) {
        let mut map = self.keys();
        if map.get(key).is_some_and(|k| k.owner != claim.owner) {
            return;
        }
        let record = match outcome {
            KeyOutcome::Done(started) => KeyRecord::Done(started),
            KeyOutcome::Unknown(code) => KeyRecord::Unknown(code),
            KeyOutcome::Free => {
                map.remove(key);
                return;
            }
        };
        map.insert(
            key.to_owned(),
            Key {
                entry: KeyEntry {
                    fingerprint: claim.fingerprint,
                    record,
                },
                owner: claim.owner.clone(),
                until: instant_after(Instant::now(), keep),
            },
        );
    }

    fn reserve_number(
        &self,
        number: &str,
        owner: &str,
        rules: NumberRules,
    ) -> Result<NumberVerdict, Error> {
        if rules.off() {
            return Ok(NumberVerdict::Free);
        }
        let now = Instant::now();
        let mut map = self.numbers();
        if map.len() > SWEEP_ABOVE {
            map.retain(|_, n| !n.expire(now));
        }
        let entry = map.entry(number.to_owned()).or_default();
        entry.expire(now);
        let verdict = entry.verdict(rules, now);
        if verdict == NumberVerdict::Free {
            entry
                .in_flight
                .insert(owner.to_owned(), instant_after(now, rules.hold));
        } else if entry.expire(now) {
            map.remove(number);
        }
        Ok(verdict)
    }

    fn peek_number(&self, number: &str, rules: NumberRules) -> Result<NumberVerdict, Error> {
        let now = Instant::now();
        let mut map = self.numbers();
        Ok(match map.get_mut(number) {
            Some(n) => {
                n.expire(now);
                n.verdict(rules, now)
            }
            None => NumberVerdict::Free,
        })
    }

    fn settle_number(&self, number: &str, owner: &str, rang: bool, rules: NumberRules) {
        let now = Instant::now();
        let mut map = self.numbers();
        let entry = map.entry(number.to_owned()).or_default();
        entry.in_flight.remove(owner);
        if rang {
            if !rules.cooldown.is_zero() {
                entry.cool_until = Some(instant_after(now, rules.cooldown));
            }
            if rules.hourly_cap > 0 {
                entry.calls.push_back(now);
            }
        }
        if entry.expire(now) {
            map.remove(number);
        }
    }

    fn tokens(&self, _client_id: &str) -> Option<Box<dyn TokenShare>> {
        None
    }
}
