//! The invariants, checked against the portal's ledger and request log.
//!
//! # Evidence
//!
//! * the attempts (what each `start_callback` returned, how long it took, and the portal's
//!   request counter before and after it);
//! * every request the portal recorded: its number, status and body (the text names the
//!   logical start);
//! * the ledger: every call placed, with the number of the request that placed it;
//! * the fault log, traced to requests as described in [`crate::chaos`].
//!
//! # Which requests an attempt sent
//!
//! A logical start without a key has one attempt: every request naming its text is its own. A
//! keyed start has several attempts of one request; an attempt's requests are those numbered
//! within its counter window. Attempts of one key never send at the same time (the key is held
//! by one of them), but their windows may overlap (a repeat waiting for the key): a request
//! in the windows of two attempts is "shared", and the checks that need to know who sent it
//! say what they do then.
//!
//! # The rules
//!
//! * **I1** no logical start has more than one ledger entry, and every ledger entry belongs to
//!   a logical start of this run, to its number.
//! * **I2** every attempt returns within the deadline plus `slack` (scheduling on a loaded
//!   machine; the largest overrun is reported).
//! * **I3** an attempt that failed with `retry_safe = true` placed no call: its logical start
//!   has no ledger entry, or (keyed) the entry was placed by a request this attempt did not
//!   send; a shared request counts as another attempt's only if that attempt reported the
//!   call (started, or `outcome_unknown`). And every ledger entry is reported by some attempt
//!   of its start (started with its `CALL_ID`, or `outcome_unknown`).
//! * **I4** an attempt that failed with `outcome_unknown` is explained by its last request
//!   (all its requests when some are shared): that request placed a call, or met a fault
//!   that may have executed ([`Class::MayExecute`]), or a fault after which the client cannot
//!   tell ([`Class::CannotTell`]), or a delay within the timeout that the deadline cut short.
//!   An attempt that sent nothing (a keyed repeat that found the key in flight or unknown) is
//!   explained by its start: a placed call, or a request of the start that met such a fault.
//! * **I5** an attempt that started a call has a `CALL_ID` that names exactly one ledger
//!   entry, of its own logical start; a new start's entry was placed by one of its own
//!   requests, a deduplicated one repeats the `CALL_ID` of an attempt that started it.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::time::Duration;

use callback_core::mask_number;
use callback_fake_portal::{LedgerEntry, RecordedRequest};

use crate::chaos::{Class, FaultRecord, StatusRule, Variant};
use crate::plan::{Group, group_of};
use crate::run::{Attempt, Outcome};

/// What the checks are given.
pub struct Evidence<'a> {
    pub run: &'a str,
    pub groups: &'a [Group],
    pub attempts: &'a [Attempt],
    pub requests: &'a BTreeMap<u64, RecordedRequest>,
    pub ledger: &'a [LedgerEntry],
    pub faults: &'a [FaultRecord],
    pub deadline: Duration,
    pub slack: Duration,
}

/// How sure the tracing of a fault to a request is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Certainty {
    /// No other REST request was recorded while the fault was queued.
    Exact,
    /// Several candidates, one compatible with what the fault leaves.
    Narrowed,
    /// Several compatible candidates: each may have met it.
    Maybe,
}

#[derive(Debug, Default)]
pub struct FaultStat {
    pub queued: usize,
    /// Requests that met it (a rename meets many).
    pub met: usize,
    pub exact: usize,
    pub narrowed: usize,
    pub maybe: usize,
    /// Outcomes of the attempts whose last request met it.
    pub outcomes: BTreeMap<String, usize>,
}

#[derive(Debug)]
pub struct Violation {
    pub rule: &'static str,
    pub group: Option<usize>,
    pub what: String,
}

/// Everything the checks found.
#[derive(Debug, Default)]
pub struct Findings {
    pub violations: Vec<Violation>,
    /// Evidence that could not be read as expected (the run proves less than it should).
    pub harness: Vec<String>,
    pub by_outcome: BTreeMap<String, usize>,
    pub by_fault: BTreeMap<Variant, FaultStat>,
    pub unfaulted_outcomes: BTreeMap<String, usize>,
    pub unknown_reasons: BTreeMap<String, usize>,
    pub groups: usize,
    pub keyed_groups: usize,
    pub placed: usize,
    pub portal_requests: usize,
    pub start_requests: usize,
    pub latency_p50: Duration,
    pub latency_p99: Duration,
    pub latency_max: Duration,
    /// The largest `elapsed - deadline` (negative: every attempt ended that much early).
    pub max_over_deadline_ms: f64,
}

fn host_is_localhost(host: &str) -> bool {
    let name = host.rsplit_once(':').map_or(host, |(h, _)| h);
    name.eq_ignore_ascii_case("localhost")
}

fn compatible(v: Variant, r: &RecordedRequest, placed: bool) -> bool {
    let status_ok = match v.status() {
        StatusRule::Normal => true,
        StatusRule::Closed => r.status.is_none(),
        StatusRule::Exact(s) => r.status == Some(s),
    };
    status_ok && (v.executes() || !placed)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub fn check(e: &Evidence<'_>) -> Findings {
    let mut f = Findings {
        groups: e.groups.len(),
        keyed_groups: e.groups.iter().filter(|g| g.key.is_some()).count(),
        portal_requests: e.requests.len(),
        ..Findings::default()
    };
    let violate = |f: &mut Findings, rule: &'static str, group: Option<usize>, what: String| {
        f.violations.push(Violation { rule, group, what })
    };

    // The requests: which are REST requests, which logical start each start request names.
    if let Some((&max, _)) = e.requests.last_key_value()
        && max as usize != e.requests.len()
    {
        f.harness.push(format!(
            "{} of {max} requests were not recorded; faults and requests cannot all be traced",
            max as usize - e.requests.len()
        ));
    }
    let rest: Vec<u64> = e
        .requests
        .values()
        .filter(|r| r.rest_method.is_some())
        .map(|r| r.number)
        .collect();
    let mut group_requests: HashMap<usize, Vec<u64>> = HashMap::new();
    for r in e.requests.values() {
        if r.rest_method.as_deref() != Some("voximplant.callback.start") {
            continue;
        }
        f.start_requests += 1;
        let text = serde_json::from_str::<serde_json::Value>(&r.body)
            .ok()
            .and_then(|v| v["TEXT_TO_PRONOUNCE"].as_str().map(str::to_string));
        match text.and_then(|t| group_of(e.run, &t)) {
            Some(g) if g < e.groups.len() => group_requests.entry(g).or_default().push(r.number),
            _ => f.harness.push(format!(
                "request {} names no logical start of this run",
                r.number
            )),
        }
    }

    // The ledger.
    let mut placed_by: HashMap<u64, &LedgerEntry> = HashMap::new();
    let mut by_call_id: HashMap<&str, Vec<&LedgerEntry>> = HashMap::new();
    let mut group_calls: HashMap<usize, Vec<&LedgerEntry>> = HashMap::new();
    for entry in e.ledger {
        placed_by.insert(entry.request_number, entry);
        if let Some(id) = &entry.call_id {
            by_call_id.entry(id.as_str()).or_default().push(entry);
        }
        match group_of(e.run, &entry.text).filter(|&g| g < e.groups.len()) {
            Some(g) => {
                if entry.number != e.groups[g].number {
                    violate(
                        &mut f,
                        "I1",
                        Some(g),
                        format!(
                            "the call placed by request {} rang {} instead of the start's number",
                            entry.request_number,
                            mask_number(&entry.number)
                        ),
                    );
                }
                group_calls.entry(g).or_default().push(entry);
            }
            None => violate(
                &mut f,
                "I1",
                None,
                format!(
                    "a call no start of this run asked for was placed (request {}, {})",
                    entry.request_number,
                    mask_number(&entry.number)
                ),
            ),
        }
    }
    f.placed = group_calls.len();
    for (&g, calls) in &group_calls {
        if calls.len() > 1 {
            let by: Vec<String> = calls.iter().map(|c| c.request_number.to_string()).collect();
            violate(
                &mut f,
                "I1",
                Some(g),
                format!(
                    "{} calls placed for one logical start (requests {})",
                    calls.len(),
                    by.join(", ")
                ),
            );
        }
    }

    // The faults, traced to requests.
    let mut fault_of: HashMap<u64, Vec<(Variant, Certainty)>> = HashMap::new();
    let rest_in = |lo: u64, hi: u64| -> &[u64] {
        let a = rest.partition_point(|&n| n <= lo);
        let b = rest.partition_point(|&n| n <= hi);
        &rest[a..b]
    };
    for rec in e.faults {
        let stat = f.by_fault.entry(rec.variant).or_default();
        stat.queued += 1;
        if rec.variant == Variant::Rename {
            let (lo, hi) = (rec.before, rec.cleared.map_or(rec.after, |c| c.1));
            for &n in rest_in(lo, hi) {
                let r = &e.requests[&n];
                if !host_is_localhost(&r.host) && r.status == Some(302) {
                    fault_of
                        .entry(n)
                        .or_default()
                        .push((Variant::Rename, Certainty::Exact));
                    stat.met += 1;
                    stat.exact += 1;
                }
            }
            continue;
        }
        if rec.variant == Variant::DelayWindow {
            // Every REST request while it was queued; at both ends, maybe.
            let Some((clear_before, clear_after)) = rec.cleared else {
                continue;
            };
            for &n in rest_in(rec.before, clear_after) {
                let sure = n > rec.after && n <= clear_before;
                let c = if sure {
                    Certainty::Exact
                } else {
                    Certainty::Maybe
                };
                fault_of
                    .entry(n)
                    .or_default()
                    .push((Variant::DelayWindow, c));
                stat.met += 1;
                if sure {
                    stat.exact += 1;
                } else {
                    stat.maybe += 1;
                }
            }
            continue;
        }
        let Some(used_by) = rec.used_by else {
            continue;
        };
        let window = rest_in(rec.before, rec.after);
        let next = rest_in(rec.after, u64::MAX).first().copied();
        let mut candidates: Vec<u64> = window.to_vec();
        candidates.extend(next);
        candidates.retain(|&n| n <= used_by);
        let fits: Vec<u64> = candidates
            .iter()
            .copied()
            .filter(|n| compatible(rec.variant, &e.requests[n], placed_by.contains_key(n)))
            .collect();
        let traced: Vec<(u64, Certainty)> = if window.is_empty() {
            match candidates.first() {
                Some(&n) if fits.contains(&n) => vec![(n, Certainty::Exact)],
                Some(&n) => {
                    f.harness.push(format!(
                        "fault {} traced to request {n}, whose status {:?} it cannot leave",
                        rec.variant.name(),
                        e.requests[&n].status
                    ));
                    vec![(n, Certainty::Exact)]
                }
                None => {
                    f.harness.push(format!(
                        "fault {} was used up but no REST request took it",
                        rec.variant.name()
                    ));
                    Vec::new()
                }
            }
        } else if fits.len() == 1 {
            vec![(fits[0], Certainty::Narrowed)]
        } else {
            fits.iter().map(|&n| (n, Certainty::Maybe)).collect()
        };
        let stat = f.by_fault.entry(rec.variant).or_default();
        if !traced.is_empty() {
            stat.met += 1;
        }
        match traced.first().map(|t| t.1) {
            Some(Certainty::Exact) => stat.exact += 1,
            Some(Certainty::Narrowed) => stat.narrowed += 1,
            Some(Certainty::Maybe) => stat.maybe += 1,
            None => {}
        }
        for (n, c) in traced {
            fault_of.entry(n).or_default().push((rec.variant, c));
        }
    }

    // The attempts.
    let mut attempts_of: HashMap<usize, Vec<&Attempt>> = HashMap::new();
    for a in e.attempts {
        attempts_of.entry(a.group).or_default().push(a);
    }
    for (i, g) in e.groups.iter().enumerate() {
        let n = attempts_of.get(&i).map_or(0, Vec::len);
        if n != g.attempts {
            f.harness.push(format!(
                "logical start {i}: {n} attempts reported, {} planned",
                g.attempts
            ));
        }
    }
    let mut latencies: Vec<Duration> = Vec::with_capacity(e.attempts.len());
    let mut max_over = f64::NEG_INFINITY;
    let empty: Vec<u64> = Vec::new();
    let deadline_ms = e.deadline.as_secs_f64() * 1000.0;
    for a in e.attempts {
        let g = &e.groups[a.group];
        let label = a.outcome.label().to_string();
        *f.by_outcome.entry(label.clone()).or_default() += 1;
        let elapsed = Duration::from_micros(a.elapsed_us);
        latencies.push(elapsed);
        let over = elapsed.as_secs_f64() * 1000.0 - deadline_ms;
        max_over = max_over.max(over);

        // I2.
        if elapsed > e.deadline + e.slack {
            violate(
                &mut f,
                "I2",
                Some(a.group),
                format!(
                    "attempt {} took {} ms, deadline {} ms",
                    a.attempt,
                    elapsed.as_millis(),
                    e.deadline.as_millis()
                ),
            );
        }

        // Its requests.
        let all = group_requests.get(&a.group).unwrap_or(&empty);
        let siblings: Vec<&&Attempt> = attempts_of[&a.group]
            .iter()
            .filter(|b| b.attempt != a.attempt)
            .collect();
        let in_window = |b: &Attempt, n: u64| n > b.seq_start && n <= b.seq_end;
        let (own, shared): (Vec<u64>, Vec<u64>) = if g.key.is_none() {
            (all.clone(), Vec::new())
        } else {
            all.iter()
                .copied()
                .filter(|&n| in_window(a, n))
                .partition(|&n| !siblings.iter().any(|b| in_window(b, n)))
        };
        let mine: Vec<u64> = own.iter().chain(&shared).copied().collect();
        let last = mine.iter().max().copied();

        // The outcome matrix: the fault the last request met.
        let last_fault = last
            .and_then(|n| fault_of.get(&n))
            .and_then(|v| v.iter().find(|(_, c)| *c != Certainty::Maybe))
            .map(|(v, _)| *v);
        match last_fault {
            Some(v) => {
                *f.by_fault
                    .entry(v)
                    .or_default()
                    .outcomes
                    .entry(label.clone())
                    .or_default() += 1
            }
            None if last.is_some() => *f.unfaulted_outcomes.entry(label.clone()).or_default() += 1,
            None => {}
        }

        match &a.outcome {
            Outcome::Started {
                call_id,
                deduplicated,
                ..
            } => {
                // I5.
                let Some(id) = call_id else {
                    violate(
                        &mut f,
                        "I5",
                        Some(a.group),
                        format!("attempt {} started without a CALL_ID", a.attempt),
                    );
                    continue;
                };
                let entries = by_call_id.get(id.as_str()).map_or(&[][..], Vec::as_slice);
                if entries.len() != 1 {
                    violate(
                        &mut f,
                        "I5",
                        Some(a.group),
                        format!(
                            "attempt {}: its CALL_ID names {} ledger entries",
                            a.attempt,
                            entries.len()
                        ),
                    );
                    continue;
                }
                let entry = entries[0];
                if group_of(e.run, &entry.text) != Some(a.group) {
                    violate(
                        &mut f,
                        "I5",
                        Some(a.group),
                        format!(
                            "attempt {}: its CALL_ID is another start's call",
                            a.attempt
                        ),
                    );
                } else if !deduplicated && !mine.contains(&entry.request_number) {
                    violate(
                        &mut f,
                        "I5",
                        Some(a.group),
                        format!(
                            "attempt {}: started, but its call was placed by request {}, not \
                             one it sent",
                            a.attempt, entry.request_number
                        ),
                    );
                } else if *deduplicated
                    && !siblings.iter().any(|b| {
                        matches!(&b.outcome, Outcome::Started { call_id: Some(other), deduplicated: false, .. } if other == id)
                    })
                {
                    violate(
                        &mut f,
                        "I5",
                        Some(a.group),
                        format!(
                            "attempt {}: deduplicated to a CALL_ID no attempt started",
                            a.attempt
                        ),
                    );
                }
            }
            Outcome::Failed {
                retry_safe: true,
                code,
                ..
            } => {
                // I3.
                for entry in group_calls.get(&a.group).map_or(&[][..], Vec::as_slice) {
                    let r = entry.request_number;
                    let reported_by_sibling = siblings.iter().any(|b| {
                        in_window(b, r)
                            && match &b.outcome {
                                Outcome::Started {
                                    call_id,
                                    deduplicated: false,
                                    ..
                                } => call_id == &entry.call_id,
                                Outcome::Failed {
                                    retry_safe: false, ..
                                } => true,
                                _ => false,
                            }
                    });
                    let lied = if g.key.is_none() || own.contains(&r) {
                        true
                    } else if shared.contains(&r) {
                        !reported_by_sibling
                    } else {
                        false
                    };
                    if lied {
                        violate(
                            &mut f,
                            "I3",
                            Some(a.group),
                            format!(
                                "attempt {} failed with {code} (retry_safe = true), but request \
                                 {r} it sent placed a call",
                                a.attempt
                            ),
                        );
                    }
                }
            }
            Outcome::Failed {
                retry_safe: false,
                code,
                ..
            } => {
                if code != "outcome_unknown" {
                    violate(
                        &mut f,
                        "I4",
                        Some(a.group),
                        format!("attempt {}: {code} with retry_safe = false", a.attempt),
                    );
                    continue;
                }
                // I4.
                let near_deadline = elapsed + Duration::from_millis(150) >= e.deadline;
                let explain = |n: u64| -> Option<String> {
                    let placed = if placed_by.contains_key(&n) {
                        ", placed"
                    } else {
                        ", not placed"
                    };
                    for &(v, c) in fault_of.get(&n).map_or(&[][..], Vec::as_slice) {
                        let sure = if c == Certainty::Maybe {
                            " (traced among candidates)"
                        } else {
                            ""
                        };
                        match v.class() {
                            Class::MayExecute => {
                                return Some(format!(
                                    "may have executed: {}{sure}{placed}",
                                    v.name()
                                ));
                            }
                            Class::CannotTell => {
                                return Some(format!("cannot tell: {}{sure}{placed}", v.name()));
                            }
                            Class::Refused if v == Variant::DelayWithin && near_deadline => {
                                return Some(format!(
                                    "a delay within the timeout cut short by the deadline{placed}"
                                ));
                            }
                            Class::Refused => {}
                        }
                    }
                    placed_by
                        .contains_key(&n)
                        .then(|| "no fault, but its request placed the call".to_string())
                };
                let reason = if mine.is_empty() {
                    if g.key.is_some() {
                        let placed = group_calls.contains_key(&a.group);
                        let faulted = all.iter().any(|&n| {
                            fault_of
                                .get(&n)
                                .is_some_and(|v| v.iter().any(|(v, _)| v.class() != Class::Refused))
                        });
                        let cut = all.iter().any(|&n| {
                            fault_of
                                .get(&n)
                                .is_some_and(|v| v.iter().any(|(v, _)| *v == Variant::DelayWithin))
                        });
                        (placed || faulted || cut).then(|| {
                            "sent nothing: the key's earlier attempt may have executed".to_string()
                        })
                    } else {
                        None
                    }
                } else if shared.is_empty() {
                    last.and_then(explain)
                } else {
                    mine.iter().find_map(|&n| explain(n))
                };
                match reason {
                    Some(r) => *f.unknown_reasons.entry(r).or_default() += 1,
                    None => violate(
                        &mut f,
                        "I4",
                        Some(a.group),
                        format!(
                            "attempt {}: outcome_unknown, but {}",
                            a.attempt,
                            if mine.is_empty() {
                                "it sent nothing and its start met no fault that may have \
                                 executed"
                                    .to_string()
                            } else {
                                format!(
                                    "its last request ({}) met no fault that may have executed \
                                     and placed no call",
                                    last.unwrap_or(0)
                                )
                            }
                        ),
                    ),
                }
            }
        }
    }

    // I3, from the ledger's side: every placed call is reported by some attempt.
    for (&g, calls) in &group_calls {
        for entry in calls {
            let reported = attempts_of.get(&g).is_some_and(|v| {
                v.iter().any(|a| match &a.outcome {
                    Outcome::Started {
                        call_id,
                        deduplicated: false,
                        ..
                    } => call_id == &entry.call_id,
                    Outcome::Failed {
                        retry_safe: false, ..
                    } => true,
                    _ => false,
                })
            });
            if !reported {
                violate(
                    &mut f,
                    "I3",
                    Some(g),
                    format!(
                        "request {} placed a call that no attempt reported (every attempt said \
                         nothing was started)",
                        entry.request_number
                    ),
                );
            }
        }
    }

    latencies.sort();
    f.latency_p50 = percentile(&latencies, 0.50);
    f.latency_p99 = percentile(&latencies, 0.99);
    f.latency_max = latencies.last().copied().unwrap_or_default();
    f.max_over_deadline_ms = if max_over.is_finite() { max_over } else { 0.0 };
    f
}

/// The details of one logical start, for a violation (masked number only).
pub fn describe_group(e: &Evidence<'_>, g: usize) -> String {
    let mut out = String::new();
    let group = &e.groups[g];
    let _ = writeln!(
        out,
        "    logical start {g}: {} {}, client {}",
        mask_number(&group.number),
        if group.key.is_some() {
            "keyed"
        } else {
            "no key"
        },
        group.client
    );
    for a in e.attempts.iter().filter(|a| a.group == g) {
        let _ = writeln!(
            out,
            "      attempt {} (process {}, thread {}): {} in {} ms, requests ({}, {}] {}",
            a.attempt,
            a.process,
            a.thread,
            a.outcome.label(),
            a.elapsed_us / 1000,
            a.seq_start,
            a.seq_end,
            match &a.outcome {
                Outcome::Failed { description, .. } => format!("- {description}"),
                Outcome::Started { call_id, .. } =>
                    format!("- {}", call_id.as_deref().unwrap_or("no CALL_ID")),
            }
        );
    }
    for r in e.requests.values() {
        if r.rest_method.as_deref() != Some("voximplant.callback.start") {
            continue;
        }
        let names = serde_json::from_str::<serde_json::Value>(&r.body)
            .ok()
            .and_then(|v| {
                v["TEXT_TO_PRONOUNCE"]
                    .as_str()
                    .and_then(|t| group_of(e.run, t))
            });
        if names == Some(g) {
            let placed = e.ledger.iter().any(|l| l.request_number == r.number);
            let _ = writeln!(
                out,
                "      request {} to {}: status {:?}{}",
                r.number,
                if host_is_localhost(&r.host) {
                    "localhost"
                } else {
                    "127.0.0.1"
                },
                r.status,
                if placed { ", placed a call" } else { "" }
            );
        }
    }
    for rec in e.faults {
        if rec.variant != Variant::Rename
            && let Some(used) = rec.used_by
        {
            let ours = e.requests.range(rec.before + 1..=used).any(|(_, r)| {
                serde_json::from_str::<serde_json::Value>(&r.body)
                    .ok()
                    .and_then(|v| {
                        v["TEXT_TO_PRONOUNCE"]
                            .as_str()
                            .and_then(|t| group_of(e.run, t))
                    })
                    == Some(g)
            });
            if ours {
                let _ = writeln!(
                    out,
                    "      fault {} ({:?}) queued at {}..{}, used by {}",
                    rec.variant.name(),
                    rec.kind,
                    rec.before,
                    rec.after,
                    used
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::text_of;
    use callback_fake_portal::FaultKind;

    const RUN: &str = "t1";

    fn group(i: usize, keyed: bool, attempts: usize) -> Group {
        Group {
            number: format!("+1202555{:04}", 100 + i),
            text: text_of(RUN, i),
            key: keyed.then(|| format!("k{i}")),
            client: 0,
            attempts,
        }
    }

    fn request(number: u64, g: usize, status: Option<u16>) -> RecordedRequest {
        RecordedRequest {
            number,
            http_method: "POST".into(),
            path: "/rest/1/secret/voximplant.callback.start".into(),
            query: String::new(),
            host: "127.0.0.1:1".into(),
            rest_method: Some("voximplant.callback.start".into()),
            content_type: Some("application/json".into()),
            user_agent: None,
            body: serde_json::json!({ "TEXT_TO_PRONOUNCE": text_of(RUN, g) }).to_string(),
            status,
        }
    }

    fn placed(groups: &[Group], g: usize, request_number: u64) -> LedgerEntry {
        LedgerEntry {
            call_id: Some(format!("callback.{g}.{request_number}")),
            line: "reg1".into(),
            number: groups[g].number.clone(),
            text: text_of(RUN, g),
            voice: None,
            placed_at: 0.0,
            request_number,
        }
    }

    fn attempt(g: usize, n: usize, window: (u64, u64), ms: u64, outcome: Outcome) -> Attempt {
        Attempt {
            group: g,
            attempt: n,
            process: 0,
            thread: 0,
            client: 0,
            seq_start: window.0,
            seq_end: window.1,
            started_unix_us: 0,
            elapsed_us: ms * 1000,
            outcome,
        }
    }

    fn failed(code: &str) -> Outcome {
        Outcome::Failed {
            code: code.into(),
            retry_safe: code != "outcome_unknown",
            http_status: None,
            description: String::new(),
        }
    }

    fn started(call_id: &str, deduplicated: bool) -> Outcome {
        Outcome::Started {
            call_id: Some(call_id.into()),
            deduplicated,
            requests: 1,
            moved: false,
        }
    }

    fn fault(variant: Variant, before: u64) -> FaultRecord {
        FaultRecord {
            variant,
            kind: FaultKind::Html502,
            before,
            after: before,
            used_by: Some(before + 1),
            cleared: None,
        }
    }

    fn run(
        groups: &[Group],
        attempts: &[Attempt],
        requests: &[RecordedRequest],
        ledger: &[LedgerEntry],
        faults: &[FaultRecord],
    ) -> Findings {
        let requests: BTreeMap<u64, RecordedRequest> =
            requests.iter().map(|r| (r.number, r.clone())).collect();
        check(&Evidence {
            run: RUN,
            groups,
            attempts,
            requests: &requests,
            ledger,
            faults,
            deadline: Duration::from_millis(1000),
            slack: Duration::from_millis(100),
        })
    }

    fn rules(f: &Findings) -> Vec<&'static str> {
        assert!(f.harness.is_empty(), "{:?}", f.harness);
        f.violations.iter().map(|v| v.rule).collect()
    }

    #[test]
    fn a_clean_run_passes() {
        let groups = [group(0, false, 1), group(1, true, 2), group(2, false, 1)];
        let ledger = [placed(&groups, 0, 1), placed(&groups, 1, 2)];
        let f = run(
            &groups,
            &[
                attempt(0, 0, (0, 1), 10, started("callback.0.1", false)),
                attempt(1, 0, (1, 2), 10, started("callback.1.2", false)),
                attempt(1, 1, (1, 3), 10, started("callback.1.2", true)),
                attempt(2, 0, (2, 3), 10, failed("outcome_unknown")),
            ],
            &[
                request(1, 0, Some(200)),
                request(2, 1, Some(200)),
                request(3, 2, Some(504)),
            ],
            &ledger,
            &[fault(Variant::Html504, 2)],
        );
        assert_eq!(rules(&f), Vec::<&str>::new());
        assert_eq!(f.by_fault[&Variant::Html504].exact, 1);
        assert_eq!(f.unknown_reasons.values().sum::<usize>(), 1);
    }

    #[test]
    fn each_broken_promise_is_found() {
        let groups = [
            group(0, false, 1),
            group(1, false, 1),
            group(2, false, 1),
            group(3, false, 1),
            group(4, false, 1),
        ];
        let ledger = [
            placed(&groups, 0, 1),
            placed(&groups, 1, 2),
            placed(&groups, 1, 3),
        ];
        let f = run(
            &groups,
            &[
                // I3: a retry-safe error, but its request placed a call.
                attempt(0, 0, (0, 1), 10, failed("portal_error")),
                // I1: two calls for one start.
                attempt(1, 0, (1, 3), 10, failed("outcome_unknown")),
                // I4: unknown after a refusal that says nothing was executed.
                attempt(2, 0, (3, 4), 10, failed("outcome_unknown")),
                // I5: started, but no call in the ledger.
                attempt(3, 0, (4, 5), 10, started("callback.none", false)),
                // I2: past the deadline and the slack.
                attempt(4, 0, (5, 6), 1200, failed("rate_limited")),
            ],
            &[
                request(1, 0, Some(504)),
                request(2, 1, None),
                request(3, 1, None),
                request(4, 2, Some(503)),
                request(5, 3, Some(200)),
                request(6, 4, Some(503)),
            ],
            &ledger,
            &[fault(Variant::Overload, 3)],
        );
        let mut found = rules(&f);
        found.sort();
        assert_eq!(found, ["I1", "I2", "I3", "I3", "I4", "I5"]);
    }

    #[test]
    fn a_keyed_repeat_that_sent_nothing_needs_an_explanation() {
        let groups = [group(0, true, 2), group(1, true, 2)];
        // Start 0: the first attempt met a fault that may have executed; the repeat found
        // the key unknown. Start 1: the first attempt was refused cleanly, yet the repeat
        // claims an unknown outcome without sending anything.
        let f = run(
            &groups,
            &[
                attempt(0, 0, (0, 1), 10, failed("outcome_unknown")),
                attempt(0, 1, (1, 1), 1, failed("outcome_unknown")),
                attempt(1, 0, (1, 2), 10, failed("line_not_found")),
                attempt(1, 1, (2, 2), 1, failed("outcome_unknown")),
            ],
            &[request(1, 0, None), request(2, 1, Some(400))],
            &[],
            &[
                fault(Variant::CloseBeforeExecute, 0),
                fault(Variant::RespondLineNotFound, 1),
            ],
        );
        assert_eq!(rules(&f), ["I4"]);
        assert_eq!(f.violations[0].group, Some(1));
    }

    #[test]
    fn faults_are_traced_by_the_status_they_leave() {
        let groups = [group(0, false, 1), group(1, false, 1)];
        // Two REST requests while the fault was being queued (before 0, after 1): only
        // request 2 carries the 502 an Html502 leaves.
        let mut rec = fault(Variant::Html502, 0);
        rec.after = 1;
        rec.used_by = Some(2);
        let f = run(
            &groups,
            &[
                attempt(0, 0, (0, 1), 10, failed("portal_error")),
                attempt(1, 0, (1, 2), 10, failed("outcome_unknown")),
            ],
            &[request(1, 0, Some(503)), request(2, 1, Some(502))],
            &[],
            &[rec],
        );
        assert_eq!(rules(&f), Vec::<&str>::new());
        assert_eq!(f.by_fault[&Variant::Html502].narrowed, 1);
    }
}
