//! The guard in front of a paid call: the destination policy, the per-number cooldown and the
//! idempotency keys. Everything here happens before any network traffic.
//!
//! A start first takes its idempotency key ([`Guard::begin_key`]), then the policy is checked
//! and the number reserved ([`Guard::reserve_number`]); both reservations live in a
//! [`Reservation`] that settles them with the call's result, or as an unknown outcome if the
//! call unwinds.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::client::outcome::CallbackStarted;
use crate::error::{Error, ErrorCode, Violation};
use crate::limiter::instant_after;
use crate::request::CallbackRequest;

/// Which destinations the client refuses before any network traffic (`destination_blocked`).
#[derive(Debug, Clone, PartialEq)]
pub struct DestinationPolicy {
    /// ISO 3166 alpha-2 regions the business serves (`["GB", "DE"]`); empty = any region.
    pub allowed_regions: Vec<String>,
    /// Refuse premium-rate, shared-cost and personal numbers (toll fraud). Default `true`.
    pub block_costly_numbers: bool,
    /// A number that was called is refused for this long (a bot hammering one number, a
    /// double click). Default 60 s; zero turns it off.
    pub number_cooldown: Duration,
}

impl Default for DestinationPolicy {
    fn default() -> Self {
        DestinationPolicy {
            allowed_regions: Vec::new(),
            block_costly_numbers: true,
            number_cooldown: Duration::from_secs(60),
        }
    }
}

enum KeyEntry {
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

enum NumberEntry {
    InFlight,
    Until(Instant),
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

fn blocked(code: &str, message: String) -> Error {
    Error::new(
        ErrorCode::DestinationBlocked,
        format!("TO_NUMBER: {message}"),
    )
    .with_violations(vec![Violation {
        field: "TO_NUMBER".into(),
        code: code.into(),
        message,
    }])
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
        let policy = &self.policy;
        let masked = request.masked_number();
        if !policy.allowed_regions.is_empty() {
            let region = request.destination_region().unwrap_or("");
            if !policy
                .allowed_regions
                .iter()
                .any(|r| r.eq_ignore_ascii_case(region))
            {
                return Err(blocked(
                    "region_not_allowed",
                    format!(
                        "{masked} is in region {} which the destination policy does not allow",
                        if region.is_empty() { "(none)" } else { region }
                    ),
                ));
            }
        }
        if policy.block_costly_numbers
            && let Some(kind) = request.costly
        {
            return Err(blocked(
                kind,
                format!(
                    "{masked} is a {} number; the destination policy blocks costly numbers",
                    kind.replace('_', " ")
                ),
            ));
        }
        Ok(())
    }

    /// Takes `key` for this call: `Some(first answer)` for a repeat within the window, `None`
    /// when this call now owns the key. Waits (until `deadline`) while another call holds it.
    pub(crate) fn begin_key(
        &self,
        key: &str,
        deadline: Instant,
    ) -> Result<Option<CallbackStarted>, Error> {
        let window = self.dedupe_window;
        let mut map = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let now = Instant::now();
            if map.len() > SWEEP_ABOVE {
                map.retain(|_, e| match e {
                    KeyEntry::InFlight => true,
                    KeyEntry::Done { at, .. } | KeyEntry::Unknown { at, .. } => {
                        now.duration_since(*at) < window
                    }
                });
            }
            match map.get(key) {
                Some(KeyEntry::InFlight) => {
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
                Some(KeyEntry::Done { at, started }) if now.duration_since(*at) < window => {
                    return Ok(Some(started.clone()));
                }
                Some(KeyEntry::Unknown { at, error }) if now.duration_since(*at) < window => {
                    return Err(Error::new(
                        ErrorCode::OutcomeUnknown,
                        format!(
                            "an earlier call with the same idempotency key ended with an unknown \
                             outcome ({}); not sending again",
                            error.code()
                        ),
                    ));
                }
                _ => {
                    map.insert(key.to_owned(), KeyEntry::InFlight);
                    return Ok(None);
                }
            }
        }
    }

    fn settle_key(&self, key: &str, result: &Result<CallbackStarted, Error>) {
        let mut map = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        let at = Instant::now();
        match result {
            Ok(started) => {
                map.insert(
                    key.to_owned(),
                    KeyEntry::Done {
                        at,
                        started: started.clone(),
                    },
                );
            }
            Err(e) if !e.retry_safe() => {
                map.insert(
                    key.to_owned(),
                    KeyEntry::Unknown {
                        at,
                        error: e.clone(),
                    },
                );
            }
            Err(_) => {
                map.remove(key);
            }
        }
        drop(map);
        self.key_settled.notify_all();
    }

    /// Reserves the number for this call, or refuses it while it cools down (or is being
    /// called right now).
    pub(crate) fn reserve_number(&self, request: &CallbackRequest) -> Result<(), Error> {
        let window = self.policy.number_cooldown;
        if window.is_zero() {
            return Ok(());
        }
        let now = Instant::now();
        let mut map = self.numbers.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > SWEEP_ABOVE {
            map.retain(|_, e| match e {
                NumberEntry::InFlight => true,
                NumberEntry::Until(t) => *t > now,
            });
        }
        let busy = match map.get(request.to_number()) {
            Some(NumberEntry::InFlight) => Some("a call to it is in progress".to_owned()),
            Some(NumberEntry::Until(t)) if *t > now => Some(format!(
                "it was called less than {} s ago (retry in {} s)",
                window.as_secs(),
                (*t - now).as_secs() + 1
            )),
            _ => None,
        };
        if let Some(why) = busy {
            return Err(blocked(
                "cooldown",
                format!("{} is cooling down: {why}", request.masked_number()),
            ));
        }
        map.insert(request.to_number().to_owned(), NumberEntry::InFlight);
        Ok(())
    }

    fn settle_number(&self, number: &str, result: &Result<CallbackStarted, Error>) {
        let window = self.policy.number_cooldown;
        if window.is_zero() {
            return;
        }
        let mut map = self.numbers.lock().unwrap_or_else(|p| p.into_inner());
        if may_have_rung(result) {
            map.insert(
                number.to_owned(),
                NumberEntry::Until(instant_after(Instant::now(), window)),
            );
        } else {
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
