//! The guard in front of a paid call: the destination policy, the per-number cooldown and the
//! idempotency keys. Everything here happens before any network traffic.
//!
//! A start first takes its idempotency key ([`Guard::begin_key`]), then the policy is checked
//! and the number reserved ([`Guard::reserve_number`]); both reservations live in a
//! [`Reservation`] that settles them with the call's result, or as an unknown outcome if the
//! call unwinds.

use std::collections::{HashMap, VecDeque};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::client::outcome::CallbackStarted;
use crate::error::{Error, ErrorCode, Violation};
use crate::limiter::instant_after;
use crate::policy::{DestinationPolicy, blocked};
use crate::request::{CallbackRequest, Fingerprint};

/// What a key remembers, with the fingerprint of the request that took it.
struct KeyEntry {
    fingerprint: Fingerprint,
    state: KeyState,
}

enum KeyState {
    InFlight,
    Done {
        at: Instant,
        started: CallbackStarted,
    },
    Unknown {
        at: Instant,
        error: Error,
    },
}

/// What a number remembers: a call in progress, its cooldown, its calls of the last hour.
#[derive(Default)]
struct NumberEntry {
    /// Calls to it that are running now.
    in_flight: u32,
    cool_until: Option<Instant>,
    calls: VecDeque<Instant>,
}

const HOUR: Duration = Duration::from_secs(3600);

impl NumberEntry {
    /// Forgets what no longer counts at `now`; true when nothing is left.
    fn expire(&mut self, now: Instant) -> bool {
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
        self.in_flight == 0 && self.cool_until.is_none() && self.calls.is_empty()
    }
}

/// Remembered entries are swept once a map grows past this many.
const SWEEP_ABOVE: usize = 256;

/// The policy and the memory of keys and numbers (shared by a client's clones).
pub(crate) struct Guard {
    policy: DestinationPolicy,
    dedupe_window: Duration,
    keys: Mutex<HashMap<String, KeyEntry>>,
    key_settled: Condvar,
    numbers: Mutex<HashMap<String, NumberEntry>>,
}

/// The refusal of a key that an earlier, different request took.
fn key_reused() -> Error {
    Error::invalid(vec![Violation {
        field: "idempotency_key".into(),
        code: "reused".into(),
        message: "was already used for a different request (line, number, text or voice); \
                  idempotency keys must be unique per request"
            .into(),
    }])
}

/// The refusal of a key whose earlier call ended with an unknown outcome.
fn key_unknown(error: &Error) -> Error {
    Error::new(
        ErrorCode::OutcomeUnknown,
        format!(
            "an earlier call with the same idempotency key ended with an unknown outcome ({}); \
             not sending again",
            error.code()
        ),
    )
}

/// Whether a result may have rung somebody (so the number cools down and the key stays taken).
fn may_have_rung(result: &Result<CallbackStarted, Error>) -> bool {
    match result {
        Ok(_) => true,
        Err(e) => !e.retry_safe(),
    }
}

impl Guard {
    pub(crate) fn new(policy: DestinationPolicy, dedupe_window: Duration) -> Guard {
        Guard {
            policy,
            dedupe_window,
            keys: Mutex::new(HashMap::new()),
            key_settled: Condvar::new(),
            numbers: Mutex::new(HashMap::new()),
        }
    }

    /// Refuses what the destination policy does not allow (nothing is reserved).
    pub(crate) fn check_policy(&self, request: &CallbackRequest) -> Result<(), Error> {
        self.policy.check(request)
    }

    /// What [`Self::begin_key`] would do, without taking the key or waiting: `Ok(true)` when
    /// it would hand out a remembered answer, `Ok(false)` when the call would go ahead.
    pub(crate) fn peek_key(&self, key: &str, fingerprint: &Fingerprint) -> Result<bool, Error> {
        let map = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        match map.get(key).filter(|e| self.remembered(&e.state, now)) {
            Some(e) if e.fingerprint != *fingerprint => Err(key_reused()),
            Some(KeyEntry {
                state: KeyState::Unknown { error, .. },
                ..
            }) => Err(key_unknown(error)),
            Some(KeyEntry {
                state: KeyState::Done { .. },
                ..
            }) => Ok(true),
            _ => Ok(false),
        }
    }

    fn remembered(&self, state: &KeyState, now: Instant) -> bool {
        match state {
            KeyState::InFlight => true,
            KeyState::Done { at, .. } | KeyState::Unknown { at, .. } => {
                now.duration_since(*at) < self.dedupe_window
            }
        }
    }

    /// Takes `key` for this call: `Some(first answer)` for a repeat within the window, `None`
    /// when this call now owns the key. Waits (until `deadline`) while another call holds it.
    pub(crate) fn begin_key(
        &self,
        key: &str,
        fingerprint: &Fingerprint,
        deadline: Instant,
    ) -> Result<Option<CallbackStarted>, Error> {
        let mut map = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let now = Instant::now();
            if map.len() > SWEEP_ABOVE {
                map.retain(|_, e| self.remembered(&e.state, now));
            }
            match map.get(key).filter(|e| self.remembered(&e.state, now)) {
                Some(e) if e.fingerprint != *fingerprint => return Err(key_reused()),
                Some(KeyEntry {
                    state: KeyState::InFlight,
                    ..
                }) => {
                    if now >= deadline {
                        return Err(Error::new(
                            ErrorCode::OutcomeUnknown,
                            "a call with the same idempotency key is still in progress; its \
                             outcome is not known yet",
                        ));
                    }
                    map = self
                        .key_settled
                        .wait_timeout(map, deadline - now)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
                Some(KeyEntry {
                    state: KeyState::Done { started, .. },
                    ..
                }) => return Ok(Some(started.clone())),
                Some(KeyEntry {
                    state: KeyState::Unknown { error, .. },
                    ..
                }) => return Err(key_unknown(error)),
                None => {
                    map.insert(
                        key.to_owned(),
                        KeyEntry {
                            fingerprint: *fingerprint,
                            state: KeyState::InFlight,
                        },
                    );
                    return Ok(None);
                }
            }
        }
    }

    fn settle_key(&self, key: &str, result: &Result<CallbackStarted, Error>) {
        let mut map = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        let at = Instant::now();
        let state = match result {
            Ok(started) => Some(KeyState::Done {
                at,
                started: started.clone(),
            }),
            Err(e) if !e.retry_safe() => Some(KeyState::Unknown {
                at,
                error: e.clone(),
            }),
            Err(_) => None,
        };
        match (state, map.get_mut(key)) {
            (Some(state), Some(entry)) => entry.state = state,
            _ => {
                map.remove(key);
            }
        }
        drop(map);
        self.key_settled.notify_all();
    }

    /// What [`Self::reserve_number`] would refuse, without reserving.
    pub(crate) fn peek_number(&self, request: &CallbackRequest) -> Result<(), Error> {
        let mut map = self.numbers.lock().unwrap_or_else(|p| p.into_inner());
        self.number_refusal(&mut map, request, Instant::now())
    }

    fn number_refusal(
        &self,
        map: &mut HashMap<String, NumberEntry>,
        request: &CallbackRequest,
        now: Instant,
    ) -> Result<(), Error> {
        let Some(entry) = map.get_mut(request.to_number()) else {
            return Ok(());
        };
        if entry.expire(now) {
            map.remove(request.to_number());
            return Ok(());
        }
        let masked = request.masked_number();
        let window = self.policy.number_cooldown;
        if entry.in_flight > 0 && !window.is_zero() {
            return Err(blocked(
                "cooldown",
                format!("{masked} is cooling down: a call to it is in progress"),
            ));
        }
        if let Some(until) = entry.cool_until {
            return Err(blocked(
                "cooldown",
                format!(
                    "{masked} is cooling down: it was called less than {} s ago (retry in {} s)",
                    window.as_secs(),
                    (until - now).as_secs() + 1
                ),
            ));
        }
        let cap = self.policy.number_hourly_cap;
        let counted = entry.calls.len() + entry.in_flight as usize;
        if cap > 0 && counted >= cap as usize {
            // The call that leaves the hour first frees a place (calls in flight count too).
            let wait = entry.calls.front().map_or(HOUR, |oldest| {
                HOUR.saturating_sub(now.duration_since(*oldest))
            });
            return Err(blocked(
                "hourly_cap",
                format!(
                    "{masked} was called {cap} times within the last hour, the most the \
                     destination policy allows (retry in {} min)",
                    wait.as_secs() / 60 + 1
                ),
            ));
        }
        Ok(())
    }

    /// Reserves the number for this call, or refuses it while it cools down, is being called
    /// right now, or reached its hourly cap.
    pub(crate) fn reserve_number(&self, request: &CallbackRequest) -> Result<(), Error> {
        if self.policy.number_cooldown.is_zero() && self.policy.number_hourly_cap == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut map = self.numbers.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > SWEEP_ABOVE {
            map.retain(|_, e| !e.expire(now));
        }
        self.number_refusal(&mut map, request, now)?;
        map.entry(request.to_number().to_owned())
            .or_default()
            .in_flight += 1;
        Ok(())
    }

    fn settle_number(&self, number: &str, result: &Result<CallbackStarted, Error>) {
        let mut map = self.numbers.lock().unwrap_or_else(|p| p.into_inner());
        let Some(entry) = map.get_mut(number) else {
            return;
        };
        entry.in_flight = entry.in_flight.saturating_sub(1);
        if may_have_rung(result) {
            let now = Instant::now();
            let window = self.policy.number_cooldown;
            if !window.is_zero() {
                entry.cool_until = Some(instant_after(now, window));
            }
            if self.policy.number_hourly_cap > 0 {
                entry.calls.push_back(now);
            }
        }
        if entry.expire(Instant::now()) {
            map.remove(number);
        }
    }
}

/// The reservations one start holds (its idempotency key, its number's in-flight cooldown
/// entry). The normal path settles them with the result; if the call unwinds instead (a
/// panicking token store, say), `Drop` settles them as an unknown outcome: the request may have
/// been sent, so nothing is resent, and no key or number stays "in progress" for the life of
/// the client.
pub(crate) struct Reservation<'a> {
    guard: &'a Guard,
    key: Option<&'a str>,
    number: Option<&'a str>,
}

impl<'a> Reservation<'a> {
    /// Holds `key` (already taken with [`Guard::begin_key`]) until settled.
    pub(crate) fn new(guard: &'a Guard, key: Option<&'a str>) -> Reservation<'a> {
        Reservation {
            guard,
            key,
            number: None,
        }
    }

    /// Checks the policy and reserves the number (settled with the key).
    pub(crate) fn take_number(&mut self, request: &'a CallbackRequest) -> Result<(), Error> {
        self.guard.check_policy(request)?;
        self.guard.reserve_number(request)?;
        self.number = Some(request.to_number());
        Ok(())
    }

    /// Records the call's result for the key and the number.
    pub(crate) fn settle(mut self, result: &Result<CallbackStarted, Error>) {
        self.settle_all(result);
    }

    fn settle_all(&mut self, result: &Result<CallbackStarted, Error>) {
        if let Some(number) = self.number.take() {
            self.guard.settle_number(number, result);
        }
        if let Some(key) = self.key.take() {
            self.guard.settle_key(key, result);
        }
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if self.key.is_some() || self.number.is_some() {
            self.settle_all(&Err(Error::new(
                ErrorCode::OutcomeUnknown,
                "the call was interrupted by a panic; the request may have been sent",
            )));
        }
    }
}
