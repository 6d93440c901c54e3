//! What a soak run does: its settings, the logical starts and who runs each attempt.
//!
//! Everything follows from the settings (the seed included), so every worker process derives
//! the same plan and runs its own share of it.

use serde::{Deserialize, Serialize};

/// The client of a group: the first two are webhook clients, the others OAuth clients.
pub const CLIENTS: usize = 4;
/// The portal line every start uses (a cloud PBX line: every placed call has a `CALL_ID`).
pub const LINE: &str = "reg1";

/// An OAuth pair a client starts from.
#[derive(Clone, Serialize, Deserialize)]
pub struct OAuthSeed {
    pub client_id: String,
    pub client_secret: String,
    pub access_token: String,
    pub refresh_token: String,
    pub client_endpoint: String,
    pub server_endpoint: String,
}

/// Everything a worker needs. Holds credentials: never printed, handed to worker processes
/// on their standard input only.
#[derive(Clone, Serialize, Deserialize)]
pub struct Settings {
    /// A short random name of the run, part of every text sent.
    pub run: String,
    pub seed: u64,
    pub starts: usize,
    /// Threads per process.
    pub threads: usize,
    pub processes: usize,
    /// Share of logical starts that carry an idempotency key.
    pub keyed_share: f64,
    /// Share of keyed starts that are started again (a retried job) by another thread or
    /// process.
    pub repeat_share: f64,
    pub deadline_ms: u64,
    pub timeout_ms: u64,
    pub connect_timeout_ms: u64,
    /// The client-side leaky bucket.
    pub bucket: (u32, f64),
    /// Area codes whose 555-0100..0199 numbers the client accepts (one hundred starts each).
    pub areas: Vec<u16>,
    pub webhook_url: String,
    /// `http://127.0.0.1:PORT/_fake/`.
    pub admin_url: String,
    pub oauth: Vec<OAuthSeed>,
    pub redis_url: Option<String>,
}

/// One logical start: one request, started once or (with a key) a few times.
#[derive(Clone, Debug)]
pub struct Group {
    /// E.164. Never printed in full: see [`callback_core::mask_number`].
    pub number: String,
    /// Unique per group: the ledger entry and the requests name the group through it.
    pub text: String,
    pub key: Option<String>,
    pub client: usize,
    pub attempts: usize,
}

/// One attempt of a group, with its place in its lane's order.
#[derive(Clone, Copy, Debug)]
pub struct Job {
    pub group: usize,
    pub attempt: usize,
    order: f64,
}

/// The text of group `i`: the marker the checks read back from requests and the ledger.
pub fn text_of(run: &str, i: usize) -> String {
    format!("Soak {run} start {i}: a visitor asked for a call back")
}

/// The group a text names (the inverse of [`text_of`]).
pub fn group_of(run: &str, text: &str) -> Option<usize> {
    let rest = text.strip_prefix("Soak ")?.strip_prefix(run)?;
    let rest = rest.strip_prefix(" start ")?;
    let (digits, _) = rest.split_once(':')?;
    digits.parse().ok()
}

/// The destination of group `i`: a hundred per area code, in the NANP fictional range.
pub fn number_of(areas: &[u16], i: usize) -> Option<String> {
    let area = areas.get(i / 100)?;
    Some(format!("+1{area}55501{:02}", i % 100))
}

/// The jobs of every lane: `[process][thread]`, each in running order.
pub type Lanes = Vec<Vec<Vec<Job>>>;

/// The groups, and the jobs of every lane.
pub fn build(s: &Settings) -> Result<(Vec<Group>, Lanes), String> {
    if s.starts > s.areas.len() * 100 {
        return Err(format!(
            "at most {} starts: {} usable area codes, one hundred numbers each",
            s.areas.len() * 100,
            s.areas.len()
        ));
    }
    let mut rng = fastrand::Rng::with_seed(s.seed);
    let (procs, threads) = (s.processes.max(1), s.threads.max(1));
    let lanes = procs * threads;
    let mut plan: Lanes = vec![vec![Vec::new(); threads]; procs];
    let mut groups = Vec::with_capacity(s.starts);
    for i in 0..s.starts {
        let keyed = rng.f64() < s.keyed_share;
        let attempts = if keyed && rng.f64() < s.repeat_share {
            if rng.f64() < 0.2 { 3 } else { 2 }
        } else {
            1
        };
        groups.push(Group {
            number: number_of(&s.areas, i).expect("checked above"),
            text: text_of(&s.run, i),
            key: keyed.then(|| format!("soak-{}-{i}", s.run)),
            client: rng.usize(0..CLIENTS),
            attempts,
        });
        let first = (i % procs, rng.usize(0..threads));
        plan[first.0][first.1].push(Job {
            group: i,
            attempt: 0,
            order: i as f64,
        });
        for attempt in 1..attempts {
            // Another process when there are several, else another thread.
            let lane = if procs > 1 {
                (
                    (first.0 + 1 + rng.usize(0..procs - 1)) % procs,
                    rng.usize(0..threads),
                )
            } else if threads > 1 {
                (0, (first.1 + 1 + rng.usize(0..threads - 1)) % threads)
            } else {
                first
            };
            // Half run about when the first does (they meet the key in flight), half later
            // (they meet its remembered answer).
            let spread = if rng.bool() { 2 * lanes } else { 40 * lanes };
            plan[lane.0][lane.1].push(Job {
                group: i,
                attempt,
                order: i as f64 + rng.f64() * spread as f64,
            });
        }
    }
    for lane in plan.iter_mut().flatten() {
        lane.sort_by(|a, b| a.order.total_cmp(&b.order));
    }
    Ok((groups, plan))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(processes: usize, threads: usize) -> Settings {
        Settings {
            run: "ab12".into(),
            seed: 7,
            starts: 500,
            threads,
            processes,
            keyed_share: 0.5,
            repeat_share: 0.8,
            deadline_ms: 1,
            timeout_ms: 1,
            connect_timeout_ms: 1,
            bucket: (1, 1.0),
            areas: vec![202, 212, 213, 312, 415],
            webhook_url: String::new(),
            admin_url: String::new(),
            oauth: Vec::new(),
            redis_url: None,
        }
    }

    #[test]
    fn markers_round_trip() {
        assert_eq!(group_of("ab12", &text_of("ab12", 4711)), Some(4711));
        assert_eq!(group_of("ab13", &text_of("ab12", 4711)), None);
        assert_eq!(group_of("ab12", "Hello"), None);
        assert_eq!(number_of(&[202, 212], 105).as_deref(), Some("+12125550105"));
        assert_eq!(number_of(&[202], 100), None);
    }

    #[test]
    fn repeats_run_elsewhere() {
        for (procs, threads) in [(1, 8), (4, 4), (2, 1)] {
            let s = settings(procs, threads);
            let (groups, plan) = build(&s).unwrap();
            let mut seen = vec![Vec::new(); groups.len()];
            for (p, lanes) in plan.iter().enumerate() {
                for (t, jobs) in lanes.iter().enumerate() {
                    for j in jobs {
                        seen[j.group].push((j.attempt, p, t));
                    }
                }
            }
            for (g, places) in seen.iter_mut().enumerate() {
                places.sort();
                assert_eq!(places.len(), groups[g].attempts);
                let first = places[0];
                for &(_, p, t) in &places[1..] {
                    if procs > 1 {
                        assert_ne!(p, first.1, "a repeat runs in another process");
                    } else {
                        assert_ne!(t, first.2, "a repeat runs on another thread");
                    }
                }
            }
            let distinct: std::collections::HashSet<_> = groups.iter().map(|g| &g.number).collect();
            assert_eq!(distinct.len(), groups.len(), "one number per logical start");
        }
    }
}
