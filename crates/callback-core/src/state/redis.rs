//! The state in Redis (the `shared_state` option): every process and machine that talks to one
//! portal shares its limiter, keys, numbers and OAuth pair.
//!
//! Each decision is one server-side script (one round trip, atomic), and every time comes
//! from the Redis server's clock (`TIME`), never from the machines'. Every key expires.
//! Keys live under a prefix derived from the portal (`bitrix24-callback:<host[:port]>:` unless
//! overridden), so two portals never share state; numbers and idempotency keys appear only as
//! digests, never in clear text:
//!
//! | key | type | what |
//! |---|---|---|
//! | `<prefix>bucket:<interval>:<tolerance>` | string | the leaky bucket's schedule (µs) |
//! | `<prefix>key:<digest>` | hash | an idempotency key: fingerprint, owner, state, answer |
//! | `<prefix>number:<digest>` | hash | a number's cooldown end |
//! | `<prefix>calls:<digest>` | sorted set | its calls of the last hour |
//! | `<prefix>inflight:<digest>` | sorted set | calls to it running now (with their expiry) |
//! | `<prefix>oauth:<client id>` | hash | the OAuth pair in force |
//! | `<prefix>oauth:<client id>:lock` | string | the refresh lock |
//!
//! When Redis cannot be reached, or answers something unexpected, every decision before a
//! call fails with `shared_state_unavailable` and nothing is sent; the client never falls
//! back to memory. A result that cannot be recorded after a call (Redis lost mid-call) is kept
//! in memory and written before this client's next decision; until then its key and number
//! stay "in progress" in Redis, so no other process calls again.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use redis::{Connection, RedisError, Script};
use serde_json::{Value, json};

use crate::error::{Error, ErrorCode};
use crate::limiter::{RateLimit, Schedule};
use crate::outcome::{CallbackStarted, Timing};
use crate::request::Fingerprint;
use crate::response::PortalTime;
use crate::state::{
    Claim, KeyEntry, KeyOutcome, KeyRecord, NumberRules, NumberVerdict, SharedPair, Slot, Store,
    Take, TokenShare,
};

/// Idle connections kept for reuse.
const POOL: usize = 16;
/// How long an OAuth pair is kept (Bitrix24's refresh tokens live up to 180 days).
const TOKEN_KEEP_MS: u64 = 180 * 24 * 3600 * 1000;

/// The script `$source` with its SHA-1 worked out once per process (`Script::new` hashes the
/// text, and every decision runs one).
macro_rules! script {
    ($source:ident) => {{
        static SCRIPT: OnceLock<Script> = OnceLock::new();
        SCRIPT.get_or_init(|| Script::new($source))
    }};
}

const ADMIT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local admit = tat - tonumber(ARGV[2])
if admit < now then admit = now end
local wait = admit - now
if wait > tonumber(ARGV[3]) then return {0, string.format('%.0f', wait)} end
local new = tat + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%.0f', new), 'PX', math.ceil((new - now) / 1000) + 1000)
return {1, string.format('%.0f', wait)}
";

const PORTAL_FULL: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local full = now + tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < full then
  redis.call('SET', KEYS[1], string.format('%.0f', full), 'PX', math.ceil((full - now) / 1000) + 1000)
end
return 1
";

const TAKE_KEY: &str = r"
local v = redis.call('HMGET', KEYS[1], 'fp', 'owner', 'state', 'payload')
if v[1] then return {v[1], v[2] or '', v[3] or '', v[4] or ''} end
redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'owner', ARGV[2], 'state', 'in_flight')
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {}
";

const SETTLE_KEY: &str = r"
local owner = redis.call('HGET', KEYS[1], 'owner')
if owner and owner ~= ARGV[2] then return 0 end
if ARGV[3] == 'free' then
  redis.call('DEL', KEYS[1])
  return 1
end
redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'owner', ARGV[2], 'state', ARGV[3], 'payload', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
";

/// KEYS: number hash, calls, in flight. ARGV: cooldown ms, cap, hold ms, owner ('' = peek).
const RESERVE_NUMBER: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cooldown = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
local running = redis.call('ZCOUNT', KEYS[3], '(' .. string.format('%.0f', now), '+inf')
if running > 0 and cooldown > 0 then return {'in_progress', '0'} end
local untl = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
if untl > now then return {'cooling', string.format('%.0f', untl - now)} end
local hour_ago = string.format('%.0f', now - 3600000)
local calls = redis.call('ZCOUNT', KEYS[2], '(' .. hour_ago, '+inf')
if cap > 0 and calls + running >= cap then
  local first = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. hour_ago, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  local left = 3600000
  if first[2] then left = tonumber(first[2]) + 3600000 - now end
  return {'capped', string.format('%.0f', left)}
end
if ARGV[4] ~= '' then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', string.format('%.0f', now))
  redis.call('ZADD', KEYS[3], string.format('%.0f', now + tonumber(ARGV[3])), ARGV[4])
  redis.call('PEXPIRE', KEYS[3], ARGV[3])
end
return {'free', '0'}
";

/// KEYS: as RESERVE_NUMBER. ARGV: owner, rang (1/0), cooldown ms, cap.
const SETTLE_NUMBER: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREM', KEYS[3], ARGV[1])
if ARGV[2] == '1' then
  local cooldown = tonumber(ARGV[3])
  if cooldown > 0 then
    redis.call('HSET', KEYS[1], 'until', string.format('%.0f', now + cooldown))
    redis.call('PEXPIRE', KEYS[1], cooldown)
  end
  if tonumber(ARGV[4]) > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', string.format('%.0f', now - 3600000))
    redis.call('ZADD', KEYS[2], string.format('%.0f', now), ARGV[1])
    redis.call('PEXPIRE', KEYS[2], 3600000)
  end
end
return 1
";

const SEED_TOKENS: &str = r"
local v = redis.call('HMGET', KEYS[1], 'access', 'refresh')
if v[1] and v[2] then return v end
redis.call('HSET', KEYS[1], 'access', ARGV[1], 'refresh', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {ARGV[1], ARGV[2]}
";

const UNLOCK: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// A result that could not be written yet.
enum Pending {
    Key {
        key: String,
        claim: Claim,
        outcome: KeyOutcome,
        keep: Duration,
    },
    Number {
        number: String,
        owner: String,
        rang: bool,
        rules: NumberRules,
    },
}

/// The connection side: a small pool over one Redis address.
struct Redis {
    client: redis::Client,
    /// `host:port` (never the password), for messages.
    address: String,
    timeout: Duration,
    pool: Mutex<Vec<Connection>>,
}

impl Redis {
    fn unavailable(&self, what: &str, e: &RedisError) -> Error {
        let why = if e.is_timeout() {
            "did not answer in time".to_owned()
        } else if e.is_connection_refusal() || e.is_io_error() {
            "cannot be reached".to_owned()
        } else {
            format!("answered unexpectedly ({:?})", e.kind())
        };
        Error::new(
            ErrorCode::SharedStateUnavailable,
            format!(
                "the shared state (Redis at {}) {why} while {what}; nothing was sent",
                self.address
            ),
        )
    }

    fn connect(&self, what: &str) -> Result<Connection, Error> {
        let con = self
            .client
            .get_connection_with_timeout(self.timeout)
            .map_err(|e| self.unavailable(what, &e))?;
        con.set_read_timeout(Some(self.timeout))
            .and_then(|()| con.set_write_timeout(Some(self.timeout)))
            .map_err(|e| self.unavailable(what, &e))?;
        Ok(con)
    }

    /// Runs `f` on a pooled connection. A pooled connection that turns out dead (a restarted
    /// server) is replaced once; every operation is safe to repeat (owners make a repeated
    /// reservation find itself).
    fn run<T>(
        &self,
        what: &str,
        f: impl Fn(&mut Connection) -> redis::RedisResult<T>,
    ) -> Result<T, Error> {
        let pooled = self.pool.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let from_pool = pooled.is_some();
        let mut con = match pooled {
            Some(c) => c,
            None => self.connect(what)?,
        };
        let result = match f(&mut con) {
            Err(e) if from_pool && e.is_connection_dropped() => {
                con = self.connect(what)?;
                f(&mut con)
            }
            other => other,
        };
        match result {
            Ok(v) => {
                let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
                if pool.len() < POOL {
                    pool.push(con);
                }
                Ok(v)
            }
            Err(e) => Err(self.unavailable(what, &e)),
        }
    }
}

/// The shared state of one portal in Redis.
pub(crate) struct RedisStore {
    redis: std::sync::Arc<Redis>,
    prefix: String,
    bucket: Option<(String, Schedule)>,
    pending: Mutex<Vec<Pending>>,
}

/// A short digest for a key name: what is stored in Redis instead of a number or a key.
fn digest(prefix: &str, text: &str) -> String {
    let d = ring::digest::digest(
        &ring::digest::SHA256,
        format!("{prefix}\u{0}{text}").as_bytes(),
    );
    d.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Fingerprint> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn time_json(t: &PortalTime) -> Value {
    json!({
        "start": t.start, "finish": t.finish, "duration": t.duration,
        "processing": t.processing, "date_start": t.date_start, "date_finish": t.date_finish,
        "operating": t.operating, "operating_reset_at": t.operating_reset_at,
    })
}

fn started_json(s: &CallbackStarted) -> String {
    json!({
        "call_id": s.call_id,
        "total_us": micros(s.timing.total),
        "limiter_wait_us": micros(s.timing.limiter_wait),
        "attempts": s.timing.attempts,
        "portal": s.timing.portal.as_ref().map(time_json),
        "portal_moved_to": s.portal_moved_to,
    })
    .to_string()
}

fn started_from_json(text: &str) -> Option<CallbackStarted> {
    let v: Value = serde_json::from_str(text).ok()?;
    let us = |k: &str| Duration::from_micros(v[k].as_u64().unwrap_or(0));
    let portal = v["portal"].as_object().map(|t| PortalTime {
        start: t.get("start").and_then(Value::as_f64),
        finish: t.get("finish").and_then(Value::as_f64),
        duration: t.get("duration").and_then(Value::as_f64),
        processing: t.get("processing").and_then(Value::as_f64),
        date_start: t
            .get("date_start")
            .and_then(Value::as_str)
            .map(str::to_owned),
        date_finish: t
            .get("date_finish")
            .and_then(Value::as_str)
            .map(str::to_owned),
        operating: t.get("operating").and_then(Value::as_f64),
        operating_reset_at: t.get("operating_reset_at").and_then(Value::as_i64),
    });
    Some(CallbackStarted {
        call_id: v["call_id"].as_str().map(str::to_owned),
        deduplicated: false,
        timing: Timing {
            total: us("total_us"),
            limiter_wait: us("limiter_wait_us"),
            attempts: u32::try_from(v["attempts"].as_u64().unwrap_or(0)).unwrap_or(u32::MAX),
            portal,
        },
        portal_moved_to: v["portal_moved_to"].as_str().map(str::to_owned),
    })
}

/// A stored key as Redis returned it: fingerprint, owner, state, payload.
fn key_entry(fields: &[String]) -> Option<KeyEntry> {
    let [fp, _owner, state, payload] = fields else {
        return None;
    };
    let record = match state.as_str() {
        "in_flight" => KeyRecord::InFlight,
        "done" => KeyRecord::Done(Box::new(started_from_json(payload)?)),
        "unknown" => KeyRecord::Unknown(payload.clone()),
        _ => return None,
    };
    Some(KeyEntry {
        fingerprint: unhex(fp)?,
        record,
    })
}

fn verdict(reply: &[String]) -> Option<NumberVerdict> {
    let [what, ms] = reply else {
        return None;
    };
    let left = Duration::from_millis(ms.parse::<u64>().ok()?);
    Some(match what.as_str() {
        "free" => NumberVerdict::Free,
        "in_progress" => NumberVerdict::InProgress,
        "cooling" => NumberVerdict::CoolingDown(left),
        "capped" => NumberVerdict::Capped(left),
        _ => return None,
    })
}

/// The refusal of a reply the scripts never give.
fn garbled(address: &str, what: &str) -> Error {
    Error::new(
        ErrorCode::SharedStateUnavailable,
        format!(
            "the shared state (Redis at {address}) answered unexpectedly while {what}; nothing \
             was sent"
        ),
    )
}

/// The default key prefix of a portal: `bitrix24-callback:<host[:port]>:`.
pub(crate) fn default_prefix(portal_base: &str) -> String {
    let host = portal_base
        .split_once("://")
        .map_or(portal_base, |(_, rest)| rest)
        .to_ascii_lowercase();
    format!("bitrix24-callback:{host}:")
}

/// Checks a `redis://` / `rediss://` URL (the message never repeats it: it may hold a
/// password).
pub(crate) fn check_url(url: &str) -> Result<(), &'static str> {
    let scheme_ok = url.starts_with("redis://") || url.starts_with("rediss://");
    if !scheme_ok {
        return Err("must be a redis:// or rediss:// URL");
    }
    redis::Client::open(url)
        .map(drop)
        .map_err(|_| "is not a usable redis:// or rediss:// URL")
}

impl RedisStore {
    /// A store for one portal. Nothing is contacted yet: the first decision connects.
    pub(crate) fn open(
        url: &str,
        prefix: String,
        rate: RateLimit,
        timeout: Duration,
    ) -> Result<RedisStore, Error> {
        let client = redis::Client::open(url).map_err(|_| {
            Error::new(
                ErrorCode::InvalidRequest,
                "shared_state is not a usable redis:// or rediss:// URL",
            )
        })?;
        let address = client.get_connection_info().addr().to_string();
        let bucket = Schedule::of(rate).map(|s| {
            (
                format!(
                    "{prefix}bucket:{}:{}",
                    micros(s.interval),
                    micros(s.tolerance)
                ),
                s,
            )
        });
        Ok(RedisStore {
            redis: std::sync::Arc::new(Redis {
                client,
                address,
                timeout,
                pool: Mutex::new(Vec::new()),
            }),
            prefix,
            bucket,
            pending: Mutex::new(Vec::new()),
        })
    }

    fn key_name(&self, key: &str) -> String {
        format!("{}key:{}", self.prefix, digest(&self.prefix, key))
    }

    fn number_names(&self, number: &str) -> [String; 3] {
        let d = digest(&self.prefix, number);
        let p = &self.prefix;
        [
            format!("{p}number:{d}"),
            format!("{p}calls:{d}"),
            format!("{p}inflight:{d}"),
        ]
    }

    /// Writes what could not be written before; a decision is refused until that succeeds.
    fn flush(&self) -> Result<(), Error> {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(first) = pending.first() {
            self.write(first)?;
            pending.remove(0);
            log::info!("shared state: a result recorded late (Redis answers again)");
        }
        Ok(())
    }

    fn write(&self, p: &Pending) -> Result<(), Error> {
        match p {
            Pending::Key {
                key,
                claim,
                outcome,
                keep,
            } => {
                let (state, payload) = match outcome {
                    KeyOutcome::Done(s) => ("done", started_json(s)),
                    KeyOutcome::Unknown(code) => ("unknown", code.clone()),
                    KeyOutcome::Free => ("free", String::new()),
                };
                let name = self.key_name(key);
                let script = script!(SETTLE_KEY);
                self.redis.run("recording an idempotency key", |con| {
                    script
                        .key(&name)
                        .arg(hex(&claim.fingerprint))
                        .arg(&claim.owner)
                        .arg(state)
                        .arg(&payload)
                        .arg(millis(*keep))
                        .invoke::<i64>(con)
                })?;
            }
            Pending::Number {
                number,
                owner,
                rang,
                rules,
            } => {
                let names = self.number_names(number);
                let script = script!(SETTLE_NUMBER);
                self.redis.run("recording a call to a number", |con| {
                    script
                        .key(&names[0])
                        .key(&names[1])
                        .key(&names[2])
                        .arg(owner)
                        .arg(if *rang { 1 } else { 0 })
                        .arg(rules.cooldown.as_millis() as u64)
                        .arg(rules.hourly_cap)
                        .invoke::<i64>(con)
                })?;
            }
        }
        Ok(())
    }

    /// Writes a result now, or keeps it for later when Redis does not answer.
    fn record(&self, p: Pending) {
        let first_try = self.flush().and_then(|()| self.write(&p));
        if let Err(e) = first_try {
            log::warn!(
                "shared state: a call's result could not be recorded ({}); kept in memory and \
                 written before the next decision",
                e.code()
            );
            self.pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(p);
        }
    }

    fn numbers(
        &self,
        number: &str,
        rules: NumberRules,
        owner: &str,
        what: &str,
    ) -> Result<NumberVerdict, Error> {
        self.flush()?;
        let names = self.number_names(number);
        let script = script!(RESERVE_NUMBER);
        let reply: Vec<String> = self.redis.run(what, |con| {
            script
                .key(&names[0])
                .key(&names[1])
                .key(&names[2])
                .arg(rules.cooldown.as_millis() as u64)
                .arg(rules.hourly_cap)
                .arg(millis(rules.hold))
                .arg(owner)
                .invoke(con)
        })?;
        verdict(&reply).ok_or_else(|| garbled(&self.redis.address, what))
    }
}

impl Drop for RedisStore {
    fn drop(&mut self) {
        // Last chance for results that could not be recorded during an outage.
        if let Err(e) = self.flush() {
            log::warn!(
                "shared state: {} results could not be recorded before the client closed ({})",
                self.pending.lock().map(|p| p.len()).unwrap_or(0),
                e.code()
            );
        }
    }
}

impl Store for RedisStore {
    fn reserve_slot(&self, max_wait: Duration) -> Result<Slot, Error> {
        let Some((name, schedule)) = &self.bucket else {
            return Ok(Slot::After(Duration::ZERO));
        };
        self.flush()?;
        let what = "pacing the call";
        let script = script!(ADMIT);
        let reply: (i64, String) = self.redis.run(what, |con| {
            script
                .key(name)
                .arg(micros(schedule.interval))
                .arg(micros(schedule.tolerance))
                .arg(micros(max_wait))
                .invoke(con)
        })?;
        let wait = Duration::from_micros(
            reply
                .1
                .parse::<u64>()
                .map_err(|_| garbled(&self.redis.address, what))?,
        );
        Ok(if reply.0 == 1 {
            Slot::After(wait)
        } else {
            Slot::TooFar(wait)
        })
    }

    fn portal_full(&self) {
        let Some((name, schedule)) = &self.bucket else {
            return;
        };
        let script = script!(PORTAL_FULL);
        let full = micros(schedule.tolerance + schedule.interval);
        if let Err(e) = self.redis.run("noting a full bucket", |con| {
            script.key(name).arg(full).invoke::<i64>(con)
        }) {
            log::warn!("shared state: {}", e.description());
        }
    }

    fn take_key(&self, key: &str, claim: &Claim, hold: Duration) -> Result<Take, Error> {
        self.flush()?;
        let what = "taking an idempotency key";
        let name = self.key_name(key);
        let script = script!(TAKE_KEY);
        let reply: Vec<String> = self.redis.run(what, |con| {
            script
                .key(&name)
                .arg(hex(&claim.fingerprint))
                .arg(&claim.owner)
                .arg(millis(hold))
                .invoke(con)
        })?;
        if reply.is_empty() || reply.get(1) == Some(&claim.owner) {
            // Taken now, or by this very call (a repeated script after a lost answer).
            return Ok(Take::Taken);
        }
        key_entry(&reply)
            .map(Take::Existing)
            .ok_or_else(|| garbled(&self.redis.address, what))
    }

    fn peek_key(&self, key: &str) -> Result<Option<KeyEntry>, Error> {
        self.flush()?;
        let what = "reading an idempotency key";
        let name = self.key_name(key);
        let reply: Vec<Option<String>> = self.redis.run(what, |con| {
            redis::cmd("HMGET")
                .arg(&name)
                .arg("fp")
                .arg("owner")
                .arg("state")
                .arg("payload")
                .query(con)
        })?;
        if reply.first().is_none_or(Option::is_none) {
            return Ok(None);
        }
        let fields: Vec<String> = reply.into_iter().map(Option::unwrap_or_default).collect();
        key_entry(&fields)
            .map(Some)
            .ok_or_else(|| garbled(&self.redis.address, what))
    }

    fn settle_key(&self, key: &str, claim: &Claim, outcome: KeyOutcome, keep: Duration) {
        self.record(Pending::Key {
            key: key.to_owned(),
            claim: claim.clone(),
            outcome,
            keep,
        });
    }

    fn reserve_number(
        &self,
        number: &str,
        owner: &str,
        rules: NumberRules,
    ) -> Result<NumberVerdict, Error> {
        self.numbers(number, rules, owner, "reserving a number")
    }

    fn peek_number(&self, number: &str, rules: NumberRules) -> Result<NumberVerdict, Error> {
        self.numbers(number, rules, "", "reading a number's cooldown")
    }

    fn settle_number(&self, number: &str, owner: &str, rang: bool, rules: NumberRules) {
        self.record(Pending::Number {
            number: number.to_owned(),
            owner: owner.to_owned(),
            rang,
            rules,
        });
    }

    fn tokens(&self, client_id: &str) -> Option<Box<dyn TokenShare>> {
        Some(Box::new(RedisTokens {
            redis: self.redis.clone(),
            key: format!("{}oauth:{client_id}", self.prefix),
        }))
    }
}

/// The OAuth pair of one application in Redis.
struct RedisTokens {
    redis: std::sync::Arc<Redis>,
    key: String,
}

impl RedisTokens {
    fn lock_name(&self) -> String {
        format!("{}:lock", self.key)
    }
}

impl TokenShare for RedisTokens {
    fn load(&self) -> Result<Option<SharedPair>, Error> {
        let (access, refresh): (Option<String>, Option<String>) =
            self.redis.run("reading the shared OAuth tokens", |con| {
                redis::cmd("HMGET")
                    .arg(&self.key)
                    .arg("access")
                    .arg("refresh")
                    .query(con)
            })?;
        Ok(match (access, refresh) {
            (Some(access), Some(refresh)) => Some(SharedPair { access, refresh }),
            _ => None,
        })
    }

    fn seed(&self, pair: &SharedPair) -> Result<SharedPair, Error> {
        let script = script!(SEED_TOKENS);
        let (access, refresh): (String, String) =
            self.redis.run("sharing the OAuth tokens", |con| {
                script
                    .key(&self.key)
                    .arg(&pair.access)
                    .arg(&pair.refresh)
                    .arg(TOKEN_KEEP_MS)
                    .invoke(con)
            })?;
        Ok(SharedPair { access, refresh })
    }

    fn lock(&self, ttl: Duration) -> Result<Option<String>, Error> {
        let token = Claim::new([0; 32]).owner;
        let name = self.lock_name();
        let taken: Option<String> = self.redis.run("taking the OAuth refresh lock", |con| {
            redis::cmd("SET")
                .arg(&name)
                .arg(&token)
                .arg("NX")
                .arg("PX")
                .arg(millis(ttl))
                .query(con)
        })?;
        Ok(taken.map(|_| token))
    }

    fn unlock(&self, token: &str) {
        let script = script!(UNLOCK);
        let name = self.lock_name();
        // If this fails the lock simply expires.
        let _ = self.redis.run("releasing the OAuth refresh lock", |con| {
            script.key(&name).arg(token).invoke::<i64>(con)
        });
    }

    fn publish(&self, pair: &SharedPair) -> Result<(), Error> {
        self.redis.run("publishing the OAuth tokens", |con| {
            redis::pipe()
                .atomic()
                .cmd("HSET")
                .arg(&self.key)
                .arg("access")
                .arg(&pair.access)
                .arg("refresh")
                .arg(&pair.refresh)
                .ignore()
                .cmd("PEXPIRE")
                .arg(&self.key)
                .arg(TOKEN_KEEP_MS)
                .ignore()
                .query::<()>(con)
        })
    }
}
