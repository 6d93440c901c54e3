//! The fake portal's weather during a run: scripted faults at random, one at a time so that
//! each can be traced to the request that met it; a tight bucket now and then (real
//! `QUERY_LIMIT_EXCEEDED`), short operating-limit blocks (real `OPERATION_TIME_LIMIT`), expired
//! access tokens, faults of the token endpoint, and (shared runs) a Redis restart.
//!
//! # Tracing a fault to its request
//!
//! The portal records a request and takes its fault in one critical section, and a fault for
//! any REST method goes to the first REST request recorded after it was queued. The injector
//! reads the portal's request counter right before and right after queueing a fault
//! (`before`, `after`), and queues the next one only once this one is used up. So the request
//! that met it is the first REST request numbered above `before`; when no REST request was
//! recorded in `(before, after]` that is exact, otherwise the candidates are narrowed by the
//! status each kind leaves (see [`crate::check`]).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use callback_fake_portal::redis_server::RedisServer;
use callback_fake_portal::{FakePortal, Fault, FaultKind, RecordedRequest};

/// What a fault means for a request that met it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// The portal may have executed the request: `outcome_unknown` is the right answer.
    MayExecute,
    /// The portal did not execute it, but the client cannot tell from what it received: the
    /// contract makes it `outcome_unknown` (a connection lost after the request was written, a
    /// gateway's 5xx, an answer that contradicts itself, a 303 "See Other").
    CannotTell,
    /// Nothing was executed and the answer says so: `outcome_unknown` would be wrong.
    Refused,
}

/// The status a request that met a fault is recorded with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusRule {
    /// The normal answer's status (or none, when the client gave up meanwhile).
    Normal,
    /// No answer: the connection was closed.
    Closed,
    Exact(u16),
}

/// Every fault the soak scripts: each `FaultKind`, and for `Delay`, `Respond` and `Redirect`
/// the variants that matter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Variant {
    /// A delay well within the client's timeout.
    DelayWithin,
    /// A delay past the client's timeout (the request still executes afterwards).
    DelayBeyond,
    CloseBeforeExecute,
    CloseAfterExecute,
    Html502,
    Html504,
    TruncatedJson,
    Overload,
    QueryLimit,
    OperationTimeLimit,
    /// 200 with both `result` and `error`, after executing.
    RespondBothExecuted,
    /// 200 with both `result` and `error`, nothing executed.
    RespondBothNotExecuted,
    /// 200 with `QUERY_LIMIT_EXCEEDED` (a limit code with the wrong status), nothing executed.
    RespondLimitWrongStatus,
    /// 200 with `RESULT: false`, after executing.
    RespondResultFalseExecuted,
    /// 500 with an error envelope, after executing.
    RespondServerErrorExecuted,
    /// 400 "Could not find line", nothing executed (a clear refusal).
    RespondLineNotFound,
    /// 303 See Other after executing.
    Redirect303Executed,
    /// 303 See Other, nothing executed.
    Redirect303NotExecuted,
    /// 307 to the same path on another host, nothing executed.
    Redirect307,
    /// 308 to the same path on host `localhost`, nothing executed (a rename the client
    /// follows, unless it is there already).
    Redirect308ToLocalhost,
    /// 308 to the same path on `127.0.0.1`, nothing executed (moves a renamed client back, so
    /// that renames keep meeting clients).
    Redirect308ToLoopback,
    /// 302 to host `localhost` for every request to another host while it lasts.
    Rename,
    /// A delay past the client's timeout for every request while it lasts (a portal that
    /// stalls): also queued right after each bucket squeeze, when the starts that backed off
    /// send again with little of their deadline left.
    DelayWindow,
}

pub const VARIANTS: [Variant; 23] = [
    Variant::DelayWithin,
    Variant::DelayBeyond,
    Variant::CloseBeforeExecute,
    Variant::CloseAfterExecute,
    Variant::Html502,
    Variant::Html504,
    Variant::TruncatedJson,
    Variant::Overload,
    Variant::QueryLimit,
    Variant::OperationTimeLimit,
    Variant::RespondBothExecuted,
    Variant::RespondBothNotExecuted,
    Variant::RespondLimitWrongStatus,
    Variant::RespondResultFalseExecuted,
    Variant::RespondServerErrorExecuted,
    Variant::RespondLineNotFound,
    Variant::Redirect303Executed,
    Variant::Redirect303NotExecuted,
    Variant::Redirect307,
    Variant::Redirect308ToLocalhost,
    Variant::Redirect308ToLoopback,
    Variant::Rename,
    Variant::DelayWindow,
];

const BOTH: &str = r#"{"result":{"RESULT":true,"CALL_ID":"{call_id}"},"error":"ERROR_CORE","error_description":"Contradictory answer"}"#;

impl Variant {
    pub fn name(self) -> &'static str {
        match self {
            Variant::DelayWithin => "delay (within timeout)",
            Variant::DelayBeyond => "delay (beyond timeout)",
            Variant::CloseBeforeExecute => "close_before_execute",
            Variant::CloseAfterExecute => "close_after_execute",
            Variant::Html502 => "html_502",
            Variant::Html504 => "html_504",
            Variant::TruncatedJson => "truncated_json",
            Variant::Overload => "overload",
            Variant::QueryLimit => "query_limit",
            Variant::OperationTimeLimit => "operation_time_limit",
            Variant::RespondBothExecuted => "respond 200 result+error (executed)",
            Variant::RespondBothNotExecuted => "respond 200 result+error (not executed)",
            Variant::RespondLimitWrongStatus => "respond 200 QUERY_LIMIT_EXCEEDED",
            Variant::RespondResultFalseExecuted => "respond 200 RESULT:false (executed)",
            Variant::RespondServerErrorExecuted => "respond 500 envelope (executed)",
            Variant::RespondLineNotFound => "respond 400 line not found",
            Variant::Redirect303Executed => "redirect 303 (executed)",
            Variant::Redirect303NotExecuted => "redirect 303 (not executed)",
            Variant::Redirect307 => "redirect 307",
            Variant::Redirect308ToLocalhost => "redirect 308 to localhost",
            Variant::Redirect308ToLoopback => "redirect 308 to 127.0.0.1",
            Variant::Rename => "rename (302 to localhost)",
            Variant::DelayWindow => "delay window (every request)",
        }
    }

    /// The fault to script. `timeout` is the client's request timeout.
    pub fn kind(self, timeout: Duration, rng: &mut fastrand::Rng) -> FaultKind {
        let respond = |status: u16, body: &str, execute: bool| FaultKind::Respond {
            status,
            body: body.to_string(),
            content_type: None,
            execute,
        };
        let redirect = |status: u16, location: &str, execute: bool| FaultKind::Redirect {
            status,
            location: location.to_string(),
            execute,
        };
        let same_path = "{scheme}://localhost:{port}{path}";
        match self {
            Variant::DelayWithin => FaultKind::Delay(Duration::from_millis(rng.u64(20..=300))),
            Variant::DelayBeyond => {
                FaultKind::Delay(timeout + Duration::from_millis(rng.u64(200..=700)))
            }
            Variant::CloseBeforeExecute => FaultKind::CloseBeforeExecute,
            Variant::CloseAfterExecute => FaultKind::CloseAfterExecute,
            Variant::Html502 => FaultKind::Html502,
            Variant::Html504 => FaultKind::Html504,
            Variant::TruncatedJson => FaultKind::TruncatedJson,
            Variant::Overload => FaultKind::Overload,
            Variant::QueryLimit => FaultKind::QueryLimit,
            Variant::OperationTimeLimit => FaultKind::OperationTimeLimit,
            Variant::RespondBothExecuted => respond(200, BOTH, true),
            Variant::RespondBothNotExecuted => respond(200, BOTH, false),
            Variant::RespondLimitWrongStatus => respond(
                200,
                r#"{"error":"QUERY_LIMIT_EXCEEDED","error_description":"Too many requests"}"#,
                false,
            ),
            Variant::RespondResultFalseExecuted => {
                respond(200, r#"{"result":{"RESULT":false}}"#, true)
            }
            Variant::RespondServerErrorExecuted => respond(
                500,
                r#"{"error":"INTERNAL_SERVER_ERROR","error_description":"Internal server error"}"#,
                true,
            ),
            Variant::RespondLineNotFound => respond(
                400,
                r#"{"error":"ERROR_CORE","error_description":"Could not find line reg1"}"#,
                false,
            ),
            Variant::Redirect303Executed => {
                redirect(303, "{scheme}://localhost:{port}/done?id={call_id}", true)
            }
            Variant::Redirect303NotExecuted => {
                redirect(303, "{scheme}://localhost:{port}/done", false)
            }
            Variant::Redirect307 => redirect(307, same_path, false),
            Variant::Redirect308ToLocalhost => redirect(308, same_path, false),
            Variant::Redirect308ToLoopback => {
                redirect(308, "{scheme}://127.0.0.1:{port}{path}", false)
            }
            Variant::Rename => FaultKind::Rename,
            Variant::DelayWindow => FaultKind::Delay(timeout + Duration::from_millis(500)),
        }
    }

    pub fn class(self) -> Class {
        match self {
            Variant::DelayWithin => Class::Refused, // executes, but the answer arrives in time
            Variant::DelayBeyond
            | Variant::DelayWindow
            | Variant::CloseAfterExecute
            | Variant::Html504
            | Variant::TruncatedJson
            | Variant::RespondBothExecuted
            | Variant::RespondResultFalseExecuted
            | Variant::RespondServerErrorExecuted
            | Variant::Redirect303Executed => Class::MayExecute,
            Variant::CloseBeforeExecute
            | Variant::Html502
            | Variant::RespondBothNotExecuted
            | Variant::RespondLimitWrongStatus
            | Variant::Redirect303NotExecuted => Class::CannotTell,
            Variant::Overload
            | Variant::QueryLimit
            | Variant::OperationTimeLimit
            | Variant::RespondLineNotFound
            | Variant::Redirect307
            | Variant::Redirect308ToLocalhost
            | Variant::Redirect308ToLoopback
            | Variant::Rename => Class::Refused,
        }
    }

    /// Whether the portal runs the request (a `voximplant.callback.start` may place a call).
    pub fn executes(self) -> bool {
        matches!(
            self,
            Variant::DelayWithin
                | Variant::DelayBeyond
                | Variant::DelayWindow
                | Variant::CloseAfterExecute
                | Variant::Html504
                | Variant::TruncatedJson
                | Variant::RespondBothExecuted
                | Variant::RespondResultFalseExecuted
                | Variant::RespondServerErrorExecuted
                | Variant::Redirect303Executed
        )
    }

    pub fn status(self) -> StatusRule {
        match self {
            Variant::DelayWithin
            | Variant::DelayBeyond
            | Variant::DelayWindow
            | Variant::TruncatedJson => StatusRule::Normal,
            Variant::CloseBeforeExecute | Variant::CloseAfterExecute => StatusRule::Closed,
            Variant::Html502 => StatusRule::Exact(502),
            Variant::Html504 => StatusRule::Exact(504),
            Variant::Overload | Variant::QueryLimit => StatusRule::Exact(503),
            Variant::OperationTimeLimit => StatusRule::Exact(429),
            Variant::RespondBothExecuted
            | Variant::RespondBothNotExecuted
            | Variant::RespondLimitWrongStatus
            | Variant::RespondResultFalseExecuted => StatusRule::Exact(200),
            Variant::RespondServerErrorExecuted => StatusRule::Exact(500),
            Variant::RespondLineNotFound => StatusRule::Exact(400),
            Variant::Redirect303Executed | Variant::Redirect303NotExecuted => {
                StatusRule::Exact(303)
            }
            Variant::Redirect307 => StatusRule::Exact(307),
            Variant::Redirect308ToLocalhost | Variant::Redirect308ToLoopback => {
                StatusRule::Exact(308)
            }
            Variant::Rename => StatusRule::Exact(302),
        }
    }
}

/// Faults of the token endpoint (`oauth.token`): a refresh that is slow, or fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TokenVariant {
    Delay,
    Html502,
    CloseBeforeExecute,
}

impl TokenVariant {
    pub fn name(self) -> &'static str {
        match self {
            TokenVariant::Delay => "oauth.token delay",
            TokenVariant::Html502 => "oauth.token html_502",
            TokenVariant::CloseBeforeExecute => "oauth.token close_before_execute",
        }
    }

    fn kind(self, rng: &mut fastrand::Rng) -> FaultKind {
        match self {
            TokenVariant::Delay => FaultKind::Delay(Duration::from_millis(rng.u64(100..=800))),
            TokenVariant::Html502 => FaultKind::Html502,
            TokenVariant::CloseBeforeExecute => FaultKind::CloseBeforeExecute,
        }
    }
}

/// One scripted REST fault and the request counter around it.
#[derive(Clone, Debug)]
pub struct FaultRecord {
    pub variant: Variant,
    pub kind: FaultKind,
    /// The portal's request counter right before and right after queueing.
    pub before: u64,
    pub after: u64,
    /// The counter once the fault was seen used up (`None`: never used).
    pub used_by: Option<u64>,
    /// Windows (`Rename`, `DelayWindow`) only: the counter right before and after it was
    /// cleared.
    pub cleared: Option<(u64, u64)>,
}

#[derive(Clone, Debug)]
pub struct TokenFaultRecord {
    pub variant: TokenVariant,
    pub used: bool,
}

/// What happened besides the faults.
#[derive(Clone, Debug, Default)]
pub struct Weather {
    pub token_expiries: u32,
    pub bucket_squeezes: u32,
    pub operating_blocks: u32,
    pub redis_restarts: u32,
    pub redis_outage: Duration,
}

#[derive(Debug, Default)]
pub struct ChaosLog {
    pub faults: Vec<FaultRecord>,
    pub token_faults: Vec<TokenFaultRecord>,
    pub weather: Weather,
    /// Every request the portal recorded, by number (the portal keeps only the last 10 000).
    pub requests: BTreeMap<u64, RecordedRequest>,
}

/// How hard the weather is.
#[derive(Clone, Debug)]
pub struct ChaosConfig {
    pub seed: u64,
    /// The client's request timeout (for the delays).
    pub timeout: Duration,
    /// The mean pause between one fault being used up and the next being queued.
    pub fault_gap: Duration,
    pub expiry_every: Duration,
    /// Portal bucket in normal weather and while squeezed.
    pub bucket: (u32, f64),
    pub squeezed_bucket: (u32, f64),
    pub squeeze_for: Duration,
    pub operating_limit: Duration,
    pub block_for: Duration,
    pub rename_for: Duration,
    /// How long a delay window lasts.
    pub slow_for: Duration,
    pub redis_outage: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Phase {
    Squeeze,
    Block,
    RedisRestart,
}

/// The faults queued at the portal: `(method, remaining)`.
fn queued(agent: &ureq::Agent, url: &str) -> Vec<Option<String>> {
    let Ok(mut answer) = agent.get(url).call() else {
        return Vec::new();
    };
    let Some(v) = answer
        .body_mut()
        .read_to_string()
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
    else {
        return Vec::new();
    };
    v["faults"]
        .as_array()
        .map(|faults| {
            faults
                .iter()
                .map(|f| f["method"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Copies what the portal recorded into `into` (newer copies win: their status is final).
fn collect(portal: &FakePortal, into: &mut BTreeMap<u64, RecordedRequest>) -> u64 {
    let mut max = 0;
    for r in portal.requests() {
        max = max.max(r.number);
        into.insert(r.number, r);
    }
    max
}

/// Runs the weather until `stop` is set; `progress` says how far the run is (0 to 1).
pub fn run(
    portal: &FakePortal,
    redis: Option<&Mutex<RedisServer>>,
    cfg: &ChaosConfig,
    progress: &(dyn Fn() -> f64 + Sync),
    stop: &AtomicBool,
) -> ChaosLog {
    let mut rng = fastrand::Rng::with_seed(cfg.seed ^ 0x0005_eedc_4a05);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let faults_url = format!("{}faults", portal.admin_url());
    let mut log = ChaosLog::default();
    let mut deck: Vec<Variant> = Vec::new();
    let mut rest: Option<usize> = None;
    // A window fault (rename, delay window) and when it ends.
    let mut window: Option<(usize, Instant)> = None;
    // A delay window is due (a squeeze just ended).
    let mut slow_due = false;
    let mut token: Option<usize> = None;
    let mut applied = portal.stats().faults_applied;
    let gap = |rng: &mut fastrand::Rng| cfg.fault_gap.mul_f64(rng.f64() * 2.0);
    let mut next_fault = Instant::now() + gap(&mut rng);
    let mut next_expiry = Instant::now() + cfg.expiry_every;
    let mut collected = 0u64;
    let mut phases: Vec<(f64, Phase)> = vec![
        (0.15, Phase::Squeeze),
        (0.30, Phase::Block),
        (0.55, Phase::Squeeze),
        (0.80, Phase::Block),
    ];
    if redis.is_some() {
        phases.push((0.50, Phase::RedisRestart));
    }
    phases.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut phases = phases.into_iter().peekable();
    let mut phase: Option<(Phase, Instant)> = None;
    let restore = |p: Phase| match p {
        Phase::Squeeze => portal.update_config(|c| {
            c.burst = cfg.bucket.0;
            c.drain_per_second = cfg.bucket.1;
        }),
        Phase::Block => portal.update_config(|c| c.operating_limit = cfg.operating_limit),
        Phase::RedisRestart => {
            if let Some(r) = redis {
                r.lock().unwrap_or_else(|e| e.into_inner()).resume();
            }
        }
    };

    loop {
        let stopping = stop.load(Ordering::Acquire);
        let stats = portal.stats();
        if stats.requests > collected + 4000 {
            collected = collect(portal, &mut log.requests);
        }
        // Which pending fault was used up?
        if stats.faults_applied != applied || stopping {
            applied = stats.faults_applied;
            if window.is_none() && (rest.is_some() || token.is_some()) {
                let queue = queued(&agent, &faults_url);
                let now_seq = portal.stats().requests;
                if let Some(i) = rest
                    && !queue.iter().any(Option::is_none)
                {
                    log.faults[i].used_by = Some(now_seq);
                    rest = None;
                    next_fault = Instant::now() + gap(&mut rng);
                }
                if let Some(i) = token
                    && !queue.iter().any(Option::is_some)
                {
                    log.token_faults[i].used = true;
                    token = None;
                }
            }
        }
        if let Some((i, until)) = window
            && (Instant::now() >= until || stopping)
        {
            let before = portal.stats().requests;
            portal.clear_faults();
            let after = portal.stats().requests;
            log.faults[i].cleared = Some((before, after));
            log.faults[i].used_by = Some(after);
            window = None;
            next_fault = Instant::now() + gap(&mut rng);
        }
        if let Some((p, until)) = phase
            && (Instant::now() >= until || stopping)
        {
            restore(p);
            slow_due |= p == Phase::Squeeze;
            phase = None;
        }
        if stopping {
            break;
        }

        if rest.is_none() && window.is_none() && (slow_due || Instant::now() >= next_fault) {
            if deck.is_empty() {
                deck = VARIANTS.to_vec();
                rng.shuffle(&mut deck);
            }
            let variant = if slow_due {
                Variant::DelayWindow
            } else {
                deck[deck.len() - 1]
            };
            let windowed = matches!(variant, Variant::Rename | Variant::DelayWindow);
            // Clearing a window clears every fault: wait until no token fault is queued.
            if !windowed || token.is_none() {
                if slow_due {
                    slow_due = false;
                } else {
                    deck.pop();
                }
                let kind = variant.kind(cfg.timeout, &mut rng);
                let before = portal.stats().requests;
                portal.add_fault(Fault::once(kind.clone(), None).with_times(u32::from(!windowed)));
                let after = portal.stats().requests;
                log.faults.push(FaultRecord {
                    variant,
                    kind,
                    before,
                    after,
                    used_by: None,
                    cleared: None,
                });
                let i = log.faults.len() - 1;
                if windowed {
                    let lasts = if variant == Variant::Rename {
                        cfg.rename_for
                    } else {
                        cfg.slow_for
                    };
                    window = Some((i, Instant::now() + lasts));
                } else {
                    rest = Some(i);
                }
            }
        }

        if Instant::now() >= next_expiry {
            portal.expire_access_tokens();
            log.weather.token_expiries += 1;
            next_expiry += cfg.expiry_every;
            if token.is_none() && window.is_none() && rng.f64() < 0.3 {
                let variant = [
                    TokenVariant::Delay,
                    TokenVariant::Html502,
                    TokenVariant::CloseBeforeExecute,
                ][rng.usize(0..3)];
                portal.add_fault(Fault::once(variant.kind(&mut rng), Some("oauth.token")));
                log.token_faults.push(TokenFaultRecord {
                    variant,
                    used: false,
                });
                token = Some(log.token_faults.len() - 1);
            }
        }

        if phase.is_none()
            && let Some(&(at, p)) = phases.peek()
            && progress() >= at
        {
            phases.next();
            let until = match p {
                Phase::Squeeze => {
                    log.weather.bucket_squeezes += 1;
                    portal.update_config(|c| {
                        c.burst = cfg.squeezed_bucket.0;
                        c.drain_per_second = cfg.squeezed_bucket.1;
                    });
                    cfg.squeeze_for
                }
                Phase::Block => {
                    log.weather.operating_blocks += 1;
                    portal.update_config(|c| c.operating_limit = Duration::ZERO);
                    cfg.block_for
                }
                Phase::RedisRestart => {
                    log.weather.redis_restarts += 1;
                    log.weather.redis_outage = cfg.redis_outage;
                    if let Some(r) = redis {
                        r.lock().unwrap_or_else(|e| e.into_inner()).stop();
                    }
                    cfg.redis_outage
                }
            };
            phase = Some((p, Instant::now() + until));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    // Whatever is still queued was never used.
    portal.clear_faults();
    collect(portal, &mut log.requests);
    log
}
