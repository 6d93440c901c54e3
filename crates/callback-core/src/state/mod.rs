//! Where a client keeps what must hold across calls: the limiter's schedule, the idempotency
//! keys, each number's cooldown and hourly cap, and (for OAuth) the token pair.
//!
//! In memory by default ([`memory`]): the limiter is shared by every client of the process
//! that talks to the same portal, keys and numbers by a client and its clones. With the
//! `shared_state` option everything lives in Redis ([`redis`]) instead, so that every process
//! and machine talking to one portal shares it. Either way the guard and the exchange see the
//! same [`Store`]: the rules are written once, above it.

pub(crate) mod memory;
pub(crate) mod redis;

use std::time::Duration;

use crate::error::Error;
use crate::outcome::CallbackStarted;
use crate::request::Fingerprint;

/// What a remembered idempotency key says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum KeyRecord {
    /// A call holding the key is running.
    InFlight,
    /// The call started; its answer is handed out again.
    Done(Box<CallbackStarted>),
    /// The call ended with an unknown outcome (the code's name).
    Unknown(String),
}

/// A remembered key: the fingerprint of the request that took it, and what it says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KeyEntry {
    pub(crate) fingerprint: Fingerprint,
    pub(crate) record: KeyRecord,
}

/// Who takes a key: the request's fingerprint, and a token unique to the one call (so that a
/// store that repeats an operation after a lost answer recognises its own reservation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claim {
    pub(crate) fingerprint: Fingerprint,
    pub(crate) owner: String,
}

impl Claim {
    pub(crate) fn new(fingerprint: Fingerprint) -> Claim {
        Claim {
            fingerprint,
            owner: format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..)),
        }
    }
}

/// Taking a key: this call owns it now, or somebody took it before.
#[derive(Debug)]
pub(crate) enum Take {
    Taken,
    Existing(KeyEntry),
}

/// How a call that held a key ended.
#[derive(Debug, Clone)]
pub(crate) enum KeyOutcome {
    /// Remember the answer for the dedupe window.
    Done(Box<CallbackStarted>),
    /// Remember that nobody knows (the code's name) for the dedupe window.
    Unknown(String),
    /// Nothing happened: forget the key.
    Free,
}

/// The per-number rules of the destination policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct NumberRules {
    pub(crate) cooldown: Duration,
    pub(crate) hourly_cap: u32,
    /// How long a reservation counts if its call never settles (a crashed process).
    pub(crate) hold: Duration,
}

impl NumberRules {
    /// True when no rule needs any memory of the number.
    pub(crate) fn off(&self) -> bool {
        self.cooldown.is_zero() && self.hourly_cap == 0
    }
}

/// What the memory of a number says about calling it now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum NumberVerdict {
    /// It may be called (and, from `reserve_number`, it is reserved for this call).
    Free,
    /// A call to it is running (with a cooldown set).
    InProgress,
    /// Called within the cooldown; it is free again after this long.
    CoolingDown(Duration),
    /// Its calls of the last hour reached the cap; a place frees after this long.
    Capped(Duration),
}

/// The limiter's answer to a request for a slot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Slot {
    /// Reserved: send after waiting this long.
    After(Duration),
    /// Nothing was reserved: the next slot is further away than the caller can wait.
    TooFar(Duration),
}

/// An OAuth token pair as shared between processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SharedPair {
    pub(crate) access: String,
    pub(crate) refresh: String,
}

/// Sharing one OAuth pair between processes: exactly one of them refreshes per expiry.
pub(crate) trait TokenShare: Send + Sync {
    /// The pair every process should use now, if one was published.
    fn load(&self) -> Result<Option<SharedPair>, Error>;
    /// Publishes `pair` unless one is there already; returns the pair in force.
    fn seed(&self, pair: &SharedPair) -> Result<SharedPair, Error>;
    /// Takes the refresh lock for `ttl`; `None` while another process holds it.
    fn lock(&self, ttl: Duration) -> Result<Option<String>, Error>;
    /// Releases the lock taken with this token (if it is still ours).
    fn unlock(&self, token: &str);
    /// Publishes a freshly rotated pair.
    fn publish(&self, pair: &SharedPair) -> Result<(), Error>;
}

/// The state behind a client. Every method answers before anything is sent (or reports the
/// store unusable with `shared_state_unavailable`); `settle_*` never fail from the caller's
/// view: a store that cannot record a result now keeps it and records it later.
pub(crate) trait Store: Send + Sync {
    /// Reserves the next slot of the portal's bucket if it comes within `max_wait`.
    fn reserve_slot(&self, max_wait: Duration) -> Result<Slot, Error>;
    /// The portal said its bucket is full, whatever the schedule thought.
    fn portal_full(&self);

    /// Takes `key` for `owner`'s request with `fingerprint` (held for `hold` at most), or
    /// reports who has it. Taking a key one already owns succeeds.
    fn take_key(&self, key: &str, claim: &Claim, hold: Duration) -> Result<Take, Error>;
    /// What `key` says now, without taking it.
    fn peek_key(&self, key: &str) -> Result<Option<KeyEntry>, Error>;
    /// Records how `claim`'s call that took `key` ended (kept for `keep`).
    fn settle_key(&self, key: &str, claim: &Claim, outcome: KeyOutcome, keep: Duration);

    /// Reserves `number` for `owner`'s call unless the rules refuse it now.
    fn reserve_number(
        &self,
        number: &str,
        owner: &str,
        rules: NumberRules,
    ) -> Result<NumberVerdict, Error>;
    /// What the rules say about `number` now, reserving nothing.
    fn peek_number(&self, number: &str, rules: NumberRules) -> Result<NumberVerdict, Error>;
    /// Ends `owner`'s reservation; `rang` when the call may have rung (it then counts).
    fn settle_number(&self, number: &str, owner: &str, rang: bool, rules: NumberRules);

    /// Where OAuth pairs are shared, if anywhere beyond this process.
    fn tokens(&self, client_id: &str) -> Option<Box<dyn TokenShare>>;
}
