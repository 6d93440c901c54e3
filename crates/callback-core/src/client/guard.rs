//! The guard in front of a paid call: the destination policy, the per-number cooldown and
//! hourly cap, and the idempotency keys. Everything here happens before any network traffic
//! to the portal; the memory it needs is the client's [`Store`] (this process, or Redis).
//!
//! A start first takes its idempotency key ([`Guard::begin_key`]), then the policy is checked
//! and the number reserved ([`Reservation::take_number`]); both reservations live in a
//! [`Reservation`] that settles them with the call's result, or as an unknown outcome if the
//! call unwinds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorCode, Violation};
use crate::outcome::CallbackStarted;
use crate::policy::{DestinationPolicy, blocked};
use crate::request::{CallbackRequest, Fingerprint};
use crate::state::{Claim, KeyOutcome, KeyRecord, NumberRules, NumberVerdict, Store, Take};

/// How often a call waiting for another call's key looks again, at first and at most.
const KEY_POLL_FIRST: Duration = Duration::from_millis(5);
const KEY_POLL_MAX: Duration = Duration::from_millis(100);

/// The policy, and the rules for keys and numbers over the client's store.
pub(crate) struct Guard {
    policy: DestinationPolicy,
    dedupe_window: Duration,
    /// How long an in-flight reservation counts if its call never settles (at least a call's
    /// deadline).
    hold: Duration,
    store: Arc<dyn Store>,
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
fn key_unknown(code: &str) -> Error {
    Error::new(
        ErrorCode::OutcomeUnknown,
        format!(
            "an earlier call with the same idempotency key ended with an unknown outcome \
             ({code}); not sending again"
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
    pub(crate) fn new(
        policy: DestinationPolicy,
        dedupe_window: Duration,
        deadline: Duration,
        store: Arc<dyn Store>,
    ) -> Guard {
        let hold = deadline.saturating_add(Duration::from_secs(60));
        Guard {
            policy,
            dedupe_window,
            hold,
            store,
        }
    }

    fn rules(&self) -> NumberRules {
        NumberRules {
            cooldown: self.policy.number_cooldown,
            hourly_cap: self.policy.number_hourly_cap,
            hold: self.hold.max(self.policy.number_cooldown),
        }
    }

    /// Refuses what the destination policy does not allow (nothing is reserved).
    pub(crate) fn check_policy(&self, request: &CallbackRequest) -> Result<(), Error> {
        self.policy.check(request)
    }

    /// What [`Self::begin_key`] would do, without taking the key or waiting: `Ok(true)` when
    /// it would hand out a remembered answer, `Ok(false)` when the call would go ahead.
    pub(crate) fn peek_key(&self, key: &str, fingerprint: &Fingerprint) -> Result<bool, Error> {
        match self.store.peek_key(key)? {
            Some(e) if e.fingerprint != *fingerprint => Err(key_reused()),
            Some(e) => match e.record {
                KeyRecord::Unknown(code) => Err(key_unknown(&code)),
                KeyRecord::Done(_) => Ok(true),
                KeyRecord::InFlight => Ok(false),
            },
            None => Ok(false),
        }
    }

    /// Takes `key` for this call: `Some(first answer)` for a repeat within the window, `None`
    /// when this call now owns the key. Waits (until `deadline`) while another call holds it.
    pub(crate) fn begin_key(
        &self,
        key: &str,
        claim: &Claim,
        deadline: Instant,
    ) -> Result<Option<CallbackStarted>, Error> {
        let hold = self.hold.max(self.dedupe_window);
        let mut poll = KEY_POLL_FIRST;
        loop {
            let entry = match self.store.take_key(key, claim, hold)? {
                Take::Taken => return Ok(None),
                Take::Existing(entry) => entry,
            };
            if entry.fingerprint != claim.fingerprint {
                return Err(key_reused());
            }
            match entry.record {
                KeyRecord::Done(started) => return Ok(Some(*started)),
                KeyRecord::Unknown(code) => return Err(key_unknown(&code)),
                KeyRecord::InFlight => {}
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::new(
                    ErrorCode::OutcomeUnknown,
                    "a call with the same idempotency key is still in progress; its outcome \
                     is not known yet",
                ));
            }
            std::thread::sleep(poll.min(deadline - now));
            poll = (poll * 2).min(KEY_POLL_MAX);
        }
    }

    fn settle_key(&self, key: &str, claim: &Claim, result: &Result<CallbackStarted, Error>) {
        let outcome = match result {
            Ok(started) => KeyOutcome::Done(Box::new(started.clone())),
            Err(e) if !e.retry_safe() => KeyOutcome::Unknown(e.code().as_str().to_owned()),
            Err(_) => KeyOutcome::Free,
        };
        self.store
            .settle_key(key, claim, outcome, self.dedupe_window);
    }

    /// The refusal for what the number's memory says (`Ok` when it is free).
    fn number_refusal(
        &self,
        request: &CallbackRequest,
        verdict: NumberVerdict,
    ) -> Result<(), Error> {
        let masked = request.masked_number();
        let cap = self.policy.number_hourly_cap;
        match verdict {
            NumberVerdict::Free => Ok(()),
            NumberVerdict::InProgress => Err(blocked(
                "cooldown",
                format!("{masked} is cooling down: a call to it is in progress"),
            )),
            NumberVerdict::CoolingDown(left) => Err(blocked(
                "cooldown",
                format!(
                    "{masked} is cooling down: it was called less than {} s ago (retry in {} s)",
                    self.policy.number_cooldown.as_secs(),
                    left.as_secs() + 1
                ),
            )),
            NumberVerdict::Capped(left) => Err(blocked(
                "hourly_cap",
                format!(
                    "{masked} was called {cap} times within the last hour, the most the \
                     destination policy allows (retry in {} min)",
                    left.as_secs() / 60 + 1
                ),
            )),
        }
    }

    /// What [`Reservation::take_number`] would refuse, without reserving.
    pub(crate) fn peek_number(&self, request: &CallbackRequest) -> Result<(), Error> {
        let rules = self.rules();
        if rules.off() {
            return Ok(());
        }
        let verdict = self.store.peek_number(request.to_number(), rules)?;
        self.number_refusal(request, verdict)
    }
}

/// The reservations one start holds (its idempotency key, its number's in-flight entry). The
/// normal path settles them with the result; if the call unwinds instead (a panicking token
/// store, say), `Drop` settles them as an unknown outcome: the request may have been sent, so
/// nothing is resent, and no key or number stays "in progress".
pub(crate) struct Reservation<'a> {
    guard: &'a Guard,
    claim: &'a Claim,
    key: Option<&'a str>,
    number: Option<&'a str>,
}

impl<'a> Reservation<'a> {
    /// Holds `key` (already taken for `claim` with [`Guard::begin_key`]) until settled.
    pub(crate) fn new(guard: &'a Guard, claim: &'a Claim, key: Option<&'a str>) -> Reservation<'a> {
        Reservation {
            guard,
            claim,
            key,
            number: None,
        }
    }

    /// Checks the policy and reserves the number (settled with the key).
    pub(crate) fn take_number(&mut self, request: &'a CallbackRequest) -> Result<(), Error> {
        let guard = self.guard;
        guard.check_policy(request)?;
        let rules = guard.rules();
        if rules.off() {
            return Ok(());
        }
        let verdict = guard
            .store
            .reserve_number(request.to_number(), &self.claim.owner, rules)?;
        guard.number_refusal(request, verdict)?;
        self.number = Some(request.to_number());
        Ok(())
    }

    /// Records the call's result for the key and the number.
    pub(crate) fn settle(mut self, result: &Result<CallbackStarted, Error>) {
        self.settle_all(result);
    }

    fn settle_all(&mut self, result: &Result<CallbackStarted, Error>) {
        let guard = self.guard;
        if let Some(number) = self.number.take() {
            let rang = may_have_rung(result);
            guard
                .store
                .settle_number(number, &self.claim.owner, rang, guard.rules());
        }
        if let Some(key) = self.key.take() {
            guard.settle_key(key, self.claim, result);
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
