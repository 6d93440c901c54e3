//! The clients and the lanes that run the attempts, in this process.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use callback_core::{Auth, Client, DestinationPolicy, OAuthConfig, RateLimit};
use serde::{Deserialize, Serialize};

use crate::plan::{CLIENTS, Group, Job, LINE, Settings};

/// How long a lane pauses after `shared_state_unavailable`.
const STORE_DOWN_PAUSE: Duration = Duration::from_millis(100);

/// What one attempt did, as the worker saw it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Attempt {
    pub group: usize,
    pub attempt: usize,
    pub process: usize,
    pub thread: usize,
    pub client: usize,
    /// The portal's request counter right before the start and right after it returned.
    pub seq_start: u64,
    pub seq_end: u64,
    pub started_unix_us: u64,
    pub elapsed_us: u64,
    pub outcome: Outcome,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Outcome {
    Started {
        call_id: Option<String>,
        deduplicated: bool,
        requests: u32,
        moved: bool,
    },
    Failed {
        code: String,
        retry_safe: bool,
        http_status: Option<u16>,
        /// The library's own text (scrubbed by it: masked numbers, no secrets).
        description: String,
    },
}

impl Outcome {
    /// `started`, `deduplicated` or the error code.
    pub fn label(&self) -> &str {
        match self {
            Outcome::Started {
                deduplicated: false,
                ..
            } => "started",
            Outcome::Started { .. } => "started (deduplicated)",
            Outcome::Failed { code, .. } => code,
        }
    }
}

/// The portal's request counter.
pub trait Counter: Sync {
    fn requests(&self) -> u64;
}

impl Counter for callback_fake_portal::FakePortal {
    fn requests(&self) -> u64 {
        self.stats().requests
    }
}

/// The counter read over the admin endpoint (from a worker process).
pub struct AdminCounter {
    agent: ureq::Agent,
    url: String,
}

impl AdminCounter {
    pub fn new(admin_url: &str) -> AdminCounter {
        AdminCounter {
            agent: ureq::Agent::config_builder()
                .timeout_global(Some(Duration::from_secs(10)))
                .build()
                .into(),
            url: format!("{admin_url}stats"),
        }
    }
}

impl Counter for AdminCounter {
    fn requests(&self) -> u64 {
        let read = || -> Option<u64> {
            let mut answer = self.agent.get(&self.url).call().ok()?;
            let text = answer.body_mut().read_to_string().ok()?;
            let v: serde_json::Value = serde_json::from_str(&text).ok()?;
            v["requests"].as_u64()
        };
        // The admin endpoint never fails on a healthy portal; a failure here is the harness's.
        read().expect("the fake portal's admin endpoint answers")
    }
}

/// The clients of this process: two webhook clients and two OAuth clients, each with the
/// shared state when the run has one.
pub fn clients(s: &Settings) -> Result<Vec<Client>, String> {
    let mut out = Vec::with_capacity(CLIENTS);
    for c in 0..CLIENTS {
        let auth = if c < 2 {
            Auth::webhook(&s.webhook_url).map_err(|e| e.to_string())?
        } else {
            let o = &s.oauth[(c - 2) % s.oauth.len()];
            Auth::oauth(OAuthConfig {
                client_id: o.client_id.clone(),
                client_secret: o.client_secret.clone(),
                access_token: o.access_token.clone(),
                refresh_token: o.refresh_token.clone(),
                client_endpoint: o.client_endpoint.clone(),
                server_endpoint: o.server_endpoint.clone(),
            })
            .map_err(|e| e.to_string())?
        };
        let mut b = Client::builder(auth)
            .connect_timeout(Duration::from_millis(s.connect_timeout_ms))
            .timeout(Duration::from_millis(s.timeout_ms))
            .deadline(Duration::from_millis(s.deadline_ms))
            .rate_limit(RateLimit::Custom {
                burst: s.bucket.0,
                per_second: s.bucket.1,
            })
            .user_agent_suffix(format!("b24-soak/{c}"))
            .destination_policy(DestinationPolicy::default());
        if let Some(url) = &s.redis_url {
            b = b.shared_state(url.clone());
        }
        out.push(b.build().map_err(|e| e.to_string())?);
    }
    Ok(out)
}

fn unix_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// One attempt of `group`.
fn attempt(
    client: &Client,
    g: &Group,
    job: &Job,
    counter: &dyn Counter,
    process: usize,
    thread: usize,
) -> Attempt {
    let mut b = client
        .request()
        .from_line(LINE)
        .to_number(g.number.as_str())
        .text(g.text.as_str());
    if let Some(k) = &g.key {
        b = b.idempotency_key(k.as_str());
    }
    let request = b.build().expect("the soak's requests are valid");
    let seq_start = counter.requests();
    let started_unix_us = unix_us();
    let t0 = Instant::now();
    let result = client.start_callback(&request);
    let elapsed = t0.elapsed();
    let seq_end = counter.requests();
    let outcome = match result {
        Ok(s) => Outcome::Started {
            call_id: s.call_id,
            deduplicated: s.deduplicated,
            requests: s.timing.attempts,
            moved: s.portal_moved_to.is_some(),
        },
        Err(e) => Outcome::Failed {
            code: e.code().as_str().to_string(),
            retry_safe: e.retry_safe(),
            http_status: e.http_status(),
            description: e.description().to_string(),
        },
    };
    Attempt {
        group: job.group,
        attempt: job.attempt,
        process,
        thread,
        client: g.client,
        seq_start,
        seq_end,
        started_unix_us,
        elapsed_us: elapsed.as_micros() as u64,
        outcome,
    }
}

/// Runs this process's lanes (one thread each) and hands every attempt to `sink` as it ends.
pub fn lanes(
    groups: &[Group],
    lanes: &[Vec<Job>],
    clients: &[Client],
    counter: &dyn Counter,
    process: usize,
    sink: &(dyn Fn(Attempt) + Sync),
) {
    let clients = Arc::new(clients.to_vec());
    std::thread::scope(|scope| {
        for (thread, jobs) in lanes.iter().enumerate() {
            let clients = clients.clone();
            std::thread::Builder::new()
                .name(format!("soak-{process}-{thread}"))
                .spawn_scoped(scope, move || {
                    for job in jobs {
                        let g = &groups[job.group];
                        let a = attempt(&clients[g.client], g, job, counter, process, thread);
                        // A job runner whose store is down backs off instead of failing its
                        // whole queue in a few milliseconds (those fail before the limiter).
                        let store_down = matches!(&a.outcome,
                            Outcome::Failed { code, .. } if code == "shared_state_unavailable");
                        sink(a);
                        if store_down {
                            std::thread::sleep(STORE_DOWN_PAUSE);
                        }
                    }
                })
                .expect("a thread for a lane");
        }
    });
}
