//! Shared mutable state. Locks are only ever held for short, non-blocking sections: never across
//! an `.await`, never while a request sleeps or an event is delivered.

use crate::config::*;
use crate::util::*;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

/// Length of the operating window (10 one-minute buckets).
pub(crate) const OPERATING_WINDOW_SECS: f64 = 600.0;
const OPERATING_BUCKET_SECS: f64 = 60.0;
/// How many requests are kept for [`crate::FakePortal::requests`].
const MAX_RECORDED_REQUESTS: usize = 10_000;

pub(crate) struct Shared {
    pub config: Mutex<FakePortalConfig>,
    pub state: Mutex<State>,
    pub scheme: &'static str,
    pub port: u16,
    pub member_id: String,
    pub ca_pem: Option<String>,
}

impl Shared {
    pub fn config(&self) -> MutexGuard<'_, FakePortalConfig> {
        self.config.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn base_url(&self) -> String {
        format!("{}://127.0.0.1:{}", self.scheme, self.port)
    }
}

pub(crate) struct AccessToken {
    pub expires_at: f64,
    pub scopes: Vec<String>,
}

#[derive(Default)]
pub(crate) struct OperatingBucket {
    pub started: f64,
    pub seconds: f64,
}

pub(crate) struct ActiveFault {
    pub fault: Fault,
    pub remaining: u32,
}

pub(crate) struct State {
    pub bucket_level: f64,
    pub bucket_at: Instant,
    pub operating: HashMap<String, VecDeque<OperatingBucket>>,
    pub access_tokens: HashMap<String, AccessToken>,
    pub refresh_tokens: HashSet<String>,
    pub faults: Vec<ActiveFault>,
    pub ledger: Vec<LedgerEntry>,
    pub calls: HashMap<String, CallState>,
    pub call_order: Vec<String>,
    pub statistics: Vec<Map<String, Value>>,
    pub requests: VecDeque<RecordedRequest>,
    pub request_seq: u64,
    pub stats: Stats,
    pub events: Vec<DeliveredEvent>,
    pub statistic_seq: u64,
}

impl State {
    pub fn new() -> State {
        State {
            bucket_level: 0.0,
            bucket_at: Instant::now(),
            operating: HashMap::new(),
            access_tokens: HashMap::new(),
            refresh_tokens: HashSet::new(),
            faults: Vec::new(),
            ledger: Vec::new(),
            calls: HashMap::new(),
            call_order: Vec::new(),
            statistics: Vec::new(),
            requests: VecDeque::new(),
            request_seq: 0,
            stats: Stats::default(),
            events: Vec::new(),
            statistic_seq: 0,
        }
    }

    /// Everything except tokens goes back to the start state.
    pub fn reset(&mut self) {
        let access = std::mem::take(&mut self.access_tokens);
        let refresh = std::mem::take(&mut self.refresh_tokens);
        let seq = self.request_seq;
        *self = State::new();
        self.access_tokens = access;
        self.refresh_tokens = refresh;
        // Keep numbering monotonic so old and new requests are never confused.
        self.request_seq = seq;
    }

    /// The leaky bucket: drain by elapsed time, then admit one request if it fits.
    pub fn bucket_admit(&mut self, burst: u32, drain: f64) -> bool {
        let now = Instant::now();
        let elapsed = now.duration_since(self.bucket_at).as_secs_f64();
        self.bucket_at = now;
        self.bucket_level = (self.bucket_level - elapsed * drain.max(0.0)).max(0.0);
        if self.bucket_level + 1.0 > burst as f64 + 1e-9 {
            false
        } else {
            self.bucket_level += 1.0;
            true
        }
    }

    fn operating_prune(&mut self, key: &str, now: f64) -> Option<&mut VecDeque<OperatingBucket>> {
        let buckets = self.operating.get_mut(key)?;
        while buckets
            .front()
            .is_some_and(|b| b.started + OPERATING_WINDOW_SECS <= now)
        {
            buckets.pop_front();
        }
        Some(buckets)
    }

    /// Seconds used by `key` within the window.
    pub fn operating_used(&mut self, key: &str, now: f64) -> f64 {
        self.operating_prune(key, now)
            .map(|b| b.iter().map(|x| x.seconds).sum())
            .unwrap_or(0.0)
    }

    /// Adds `seconds` and returns `(operating, operating_reset_at)`.
    pub fn operating_add(&mut self, key: &str, now: f64, seconds: f64) -> (f64, i64) {
        self.operating_prune(key, now);
        let buckets = self.operating.entry(key.to_string()).or_default();
        match buckets.back_mut() {
            Some(b) if now - b.started < OPERATING_BUCKET_SECS => b.seconds += seconds,
            _ => buckets.push_back(OperatingBucket {
                started: now,
                seconds,
            }),
        }
        let used: f64 = buckets.iter().map(|b| b.seconds).sum();
        let oldest = buckets.front().map(|b| b.started).unwrap_or(now);
        (used, (oldest + OPERATING_WINDOW_SECS).ceil() as i64)
    }

    pub fn issue_tokens(&mut self, cfg: &FakePortalConfig) -> TokenGrant {
        let access = random_token();
        let refresh = random_token();
        let lifetime = cfg.access_token_lifetime.as_secs();
        self.access_tokens.insert(
            access.clone(),
            AccessToken {
                expires_at: now_unix() + cfg.access_token_lifetime.as_secs_f64(),
                scopes: cfg.oauth_scopes.clone(),
            },
        );
        self.refresh_tokens.insert(refresh.clone());
        TokenGrant {
            access_token: access,
            refresh_token: refresh,
            expires_in: lifetime,
        }
    }

    pub fn expire_access_tokens(&mut self) {
        let now = now_unix();
        for t in self.access_tokens.values_mut() {
            if t.expires_at > now {
                t.expires_at = now;
            }
        }
    }

    /// Records a new request and returns its number.
    pub fn record(&mut self, mut req: RecordedRequest) -> u64 {
        self.request_seq += 1;
        req.number = self.request_seq;
        if self.requests.len() >= MAX_RECORDED_REQUESTS {
            self.requests.pop_front();
        }
        self.requests.push_back(req);
        self.request_seq
    }

    pub fn set_status(&mut self, number: u64, status: u16) {
        if let Some(r) = self.requests.iter_mut().rev().find(|r| r.number == number) {
            r.status = Some(status);
        }
    }

    /// Takes the fault that applies to this request, if any. `host` is the host part of the
    /// request's `Host` header ([`host_part`]).
    ///
    /// A fault matches when its method matches (`None`: any REST method) and, if it names a
    /// host, `host` is that host. A matching `Rename` comes first and is reported without
    /// being consumed, except for host `localhost` (the portal's new name). Otherwise the
    /// oldest matching fault other than `Rename` is taken and its count used; faults that do
    /// not match stay queued as they are.
    pub fn take_fault(&mut self, method: &str, is_rest: bool, host: &str) -> Option<FaultKind> {
        let matches = |f: &Fault| {
            let method_ok = match &f.method {
                None => is_rest,
                Some(m) => normalize_method(m) == method,
            };
            method_ok && f.host.as_deref().is_none_or(|h| host_part(h) == host)
        };
        // The renamed portal answers under its new name; other faults still apply there.
        if host != "localhost"
            && self
                .faults
                .iter()
                .any(|f| f.fault.kind == FaultKind::Rename && matches(&f.fault))
        {
            self.stats.faults_applied += 1;
            return Some(FaultKind::Rename);
        }
        let idx = self
            .faults
            .iter()
            .position(|f| f.fault.kind != FaultKind::Rename && matches(&f.fault))?;
        let kind = self.faults[idx].fault.kind.clone();
        if self.faults[idx].fault.times != 0 {
            self.faults[idx].remaining -= 1;
            if self.faults[idx].remaining == 0 {
                self.faults.remove(idx);
            }
        }
        self.stats.faults_applied += 1;
        Some(kind)
    }
}

/// Lower-cases a REST method name and drops a `.json` suffix.
pub(crate) fn normalize_method(m: &str) -> String {
    let lower = m.trim().trim_end_matches('/').to_ascii_lowercase();
    lower
        .strip_suffix(".json")
        .map(str::to_string)
        .unwrap_or(lower)
}
