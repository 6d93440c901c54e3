//! `b24-soak`: thousands of callback starts from many threads (or processes sharing their
//! state in Redis) against a fake portal that misbehaves at random, then every promise of the
//! library checked against the portal's ledger of placed calls.
//!
//! ```text
//! cargo run --release -p callback-soak -- --starts 10000 --threads 16
//! cargo run --release -p callback-soak -- --starts 10000 --processes 4 --threads 4 --shared-state
//! cargo run -p callback-soak -- --quick      # the short version run by the test command
//! ```
//!
//! The exit status is non-zero when an invariant does not hold (the offending starts are
//! printed, numbers masked) or when the evidence could not be read. See `check` for the
//! invariants and `chaos` for the faults.

mod chaos;
mod check;
mod plan;
mod run;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use callback_core::{Auth, Client, ErrorCode};
use callback_fake_portal::redis_server::RedisServer;
use callback_fake_portal::{FakePortal, FakePortalConfig};
use clap::Parser;

use crate::chaos::{ChaosConfig, Class, VARIANTS};
use crate::check::{Evidence, Findings};
use crate::plan::{OAuthSeed, Settings};
use crate::run::Attempt;

#[derive(Parser, Debug, Clone)]
#[command(
    name = "b24-soak",
    about = "Starts thousands of callbacks against a faulty fake portal and checks every \
             promise against its ledger"
)]
struct Args {
    /// Logical starts (each with its own number and text; some keyed and repeated).
    #[arg(long, default_value_t = 10_000)]
    starts: usize,
    /// Threads per process.
    #[arg(long, default_value_t = 16)]
    threads: usize,
    /// Worker processes (more than one needs --shared-state).
    #[arg(long, default_value_t = 1)]
    processes: usize,
    /// Keep the clients' state in a redis-server started for the run (restarted once
    /// mid-run).
    #[arg(long)]
    shared_state: bool,
    /// Seed of the plan and the faults (random when not given; printed either way).
    #[arg(long)]
    seed: Option<u64>,
    /// The clients' deadline per start.
    #[arg(long, default_value_t = 3000)]
    deadline_ms: u64,
    /// The clients' timeout per request.
    #[arg(long, default_value_t = 2000)]
    timeout_ms: u64,
    /// How far past its deadline an attempt may return (thread scheduling).
    #[arg(long, default_value_t = 250)]
    slack_ms: u64,
    /// Share of logical starts with an idempotency key.
    #[arg(long, default_value_t = 0.3)]
    keyed_share: f64,
    /// Share of keyed starts started again from another thread or process.
    #[arg(long, default_value_t = 0.7)]
    repeat_share: f64,
    /// Mean pause between one fault being used up and the next one.
    #[arg(long, default_value_t = 10)]
    fault_gap_ms: u64,
    /// The short version: 300 starts from 8 threads, then 200 starts from 2 processes
    /// sharing their state, with a 1.5 s deadline and a 1 s timeout.
    #[arg(long)]
    quick: bool,
    /// Write every attempt as a JSON line to this file.
    #[arg(long)]
    records: Option<std::path::PathBuf>,
    /// Internal: run as worker process N (settings on standard input).
    #[arg(long, hide = true)]
    worker: Option<usize>,
}

/// Buckets: the portal's (normal and squeezed) and the clients' own.
const PORTAL_BUCKET: (u32, f64) = (20, 100.0);
const SQUEEZED_BUCKET: (u32, f64) = (5, 25.0);
const CLIENT_BUCKET: (u32, f64) = (20, 100.0);
const OPERATING_LIMIT: Duration = Duration::from_secs(480);

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(k) = args.worker {
        return match worker(k) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("b24-soak worker {k}: {e}");
                ExitCode::from(2)
            }
        };
    }
    let runs: Vec<Args> = if args.quick {
        vec![
            Args {
                starts: 300,
                threads: 8,
                processes: 1,
                shared_state: false,
                deadline_ms: 1500,
                timeout_ms: 1000,
                ..args.clone()
            },
            Args {
                starts: 200,
                threads: 4,
                processes: 2,
                shared_state: true,
                deadline_ms: 1500,
                timeout_ms: 1000,
                ..args.clone()
            },
        ]
    } else {
        vec![args]
    };
    let mut ok = true;
    for a in &runs {
        match soak(a) {
            Ok(passed) => ok &= passed,
            Err(e) => {
                eprintln!("b24-soak: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Area codes whose 555-0100..0199 the client accepts and its default policy calls (US and
/// Canada), except 201, whose 555-0101..0106 are the fake portal's magic numbers.
fn usable_areas(webhook_url: &str) -> Result<Vec<u16>, String> {
    let client = Client::builder(Auth::webhook(webhook_url).map_err(|e| e.to_string())?)
        .build()
        .map_err(|e| e.to_string())?;
    let ok = |n: String| {
        client
            .request()
            .from_line(plan::LINE)
            .to_number(n)
            .text("check")
            .build()
            .ok()
            .and_then(|r| client.check(&r).ok())
            .is_some_and(|d| matches!(d.region.as_deref(), Some("US" | "CA")))
    };
    Ok((200u16..=999)
        .filter(|&a| a != 201)
        .filter(|a| ok(format!("+1{a}5550100")) && ok(format!("+1{a}5550199")))
        .collect())
}

fn random_run_name() -> String {
    format!("{:08x}", fastrand::u32(..))
}

/// One soak run; `Ok(true)` when every invariant held.
fn soak(args: &Args) -> Result<bool, String> {
    if args.processes > 1 && !args.shared_state {
        return Err("several processes share keys and limits only with --shared-state".into());
    }
    if args.starts == 0 || args.threads == 0 || args.processes == 0 {
        return Err("--starts, --threads and --processes must be positive".into());
    }
    let setup_started = Instant::now();
    callback_core::warm_up();
    let seed = args.seed.unwrap_or_else(|| fastrand::u64(..));
    let redis = args.shared_state.then(|| Mutex::new(RedisServer::start()));
    let portal = FakePortal::start(FakePortalConfig {
        stage_duration: Duration::from_millis(10),
        callback_processing: Duration::from_millis(2),
        burst: PORTAL_BUCKET.0,
        drain_per_second: PORTAL_BUCKET.1,
        operating_limit: OPERATING_LIMIT,
        ..FakePortalConfig::default()
    })
    .map_err(|e| format!("the fake portal does not start: {e}"))?;
    let oauth: Vec<OAuthSeed> = (0..2)
        .map(|_| {
            let grant = portal.issue_tokens();
            let cfg = portal.config();
            OAuthSeed {
                client_id: cfg.oauth_client_id,
                client_secret: cfg.oauth_client_secret,
                access_token: grant.access_token,
                refresh_token: grant.refresh_token,
                client_endpoint: portal.client_endpoint(),
                server_endpoint: portal.server_endpoint(),
            }
        })
        .collect();
    let settings = Settings {
        run: random_run_name(),
        seed,
        starts: args.starts,
        threads: args.threads,
        processes: args.processes,
        keyed_share: args.keyed_share,
        repeat_share: args.repeat_share,
        deadline_ms: args.deadline_ms,
        timeout_ms: args.timeout_ms,
        connect_timeout_ms: 1000,
        bucket: CLIENT_BUCKET,
        areas: usable_areas(&portal.webhook_url())?,
        webhook_url: portal.webhook_url(),
        admin_url: portal.admin_url(),
        oauth,
        redis_url: redis
            .as_ref()
            .map(|r| r.lock().unwrap_or_else(|e| e.into_inner()).url()),
    };
    let (groups, lanes) = plan::build(&settings)?;
    let total: usize = groups.iter().map(|g| g.attempts).sum();
    let short = args.starts <= 1000;
    let chaos_cfg = ChaosConfig {
        seed,
        timeout: Duration::from_millis(args.timeout_ms),
        fault_gap: Duration::from_millis(args.fault_gap_ms),
        expiry_every: Duration::from_millis(if short { 500 } else { 1000 }),
        bucket: PORTAL_BUCKET,
        squeezed_bucket: SQUEEZED_BUCKET,
        squeeze_for: Duration::from_millis(if short { 500 } else { 2000 }),
        operating_limit: OPERATING_LIMIT,
        block_for: Duration::from_millis(if short { 300 } else { 1000 }),
        rename_for: Duration::from_millis(150),
        slow_for: Duration::from_millis(250),
        redis_outage: Duration::from_millis(if short { 500 } else { 1500 }),
    };
    println!(
        "b24-soak run {}: {} logical starts ({} attempts) from {} {}, {}seed {seed}",
        settings.run,
        args.starts,
        total,
        args.processes * args.threads,
        if args.processes > 1 {
            format!("threads in {} processes", args.processes)
        } else {
            "threads".into()
        },
        if args.shared_state {
            "shared state in Redis, "
        } else {
            ""
        },
    );
    let setup_time = setup_started.elapsed();

    let done = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let attempts: Mutex<Vec<Attempt>> = Mutex::new(Vec::with_capacity(total));
    let progress = || done.load(Ordering::Relaxed) as f64 / total.max(1) as f64;
    let started = Instant::now();
    let (log, worker_error) = std::thread::scope(|scope| {
        let chaos =
            scope.spawn(|| chaos::run(&portal, redis.as_ref(), &chaos_cfg, &progress, &stop));
        let sink = |a: Attempt| {
            attempts.lock().unwrap_or_else(|e| e.into_inner()).push(a);
            done.fetch_add(1, Ordering::Relaxed);
        };
        let worker_error = if args.processes == 1 {
            match run::clients(&settings) {
                Ok(clients) => {
                    run::lanes(&groups, &lanes[0], &clients, &portal, 0, &sink);
                    None
                }
                Err(e) => Some(e),
            }
        } else {
            spawn_workers(&settings, &sink).err()
        };
        stop.store(true, Ordering::Release);
        (chaos.join().expect("the chaos thread"), worker_error)
    });
    let run_time = started.elapsed();
    if let Some(e) = worker_error {
        return Err(e);
    }
    let mut log = log;
    // Delayed requests still execute after their clients gave up: let them land.
    std::thread::sleep(Duration::from_millis(args.timeout_ms + 1200));
    for r in portal.requests() {
        log.requests.insert(r.number, r);
    }
    let ledger = portal.ledger();
    let stats = portal.stats();
    let attempts = attempts.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(path) = &args.records {
        let mut out = std::fs::File::create(path).map_err(|e| format!("--records: {e}"))?;
        for a in &attempts {
            let line = serde_json::to_string(a).map_err(|e| e.to_string())?;
            writeln!(out, "{line}").map_err(|e| format!("--records: {e}"))?;
        }
    }

    let evidence = Evidence {
        run: &settings.run,
        groups: &groups,
        attempts: &attempts,
        requests: &log.requests,
        ledger: &ledger,
        faults: &log.faults,
        deadline: Duration::from_millis(args.deadline_ms),
        slack: Duration::from_millis(args.slack_ms),
    };
    let findings = check::check(&evidence);
    report(&evidence, &findings, &log, &stats, setup_time, run_time);
    Ok(findings.violations.is_empty() && findings.harness.is_empty())
}

/// Runs every lane in worker processes of this binary; their attempts come back as JSON lines.
fn spawn_workers(settings: &Settings, sink: &(dyn Fn(Attempt) + Sync)) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let setup = serde_json::to_string(settings).map_err(|e| e.to_string())?;
    let mut children = Vec::new();
    for k in 0..settings.processes {
        let mut child = Command::new(&exe)
            .arg("--worker")
            .arg(k.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start worker {k}: {e}"))?;
        // The settings hold credentials: standard input, never the command line.
        let mut stdin = child.stdin.take().expect("piped");
        stdin
            .write_all(setup.as_bytes())
            .map_err(|e| format!("worker {k}: {e}"))?;
        drop(stdin);
        children.push(child);
    }
    let bad = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for (k, child) in children.iter_mut().enumerate() {
            let out = child.stdout.take().expect("piped");
            let bad = &bad;
            scope.spawn(move || {
                for line in BufReader::new(out).lines() {
                    let Ok(line) = line else { break };
                    match serde_json::from_str::<Attempt>(&line) {
                        Ok(a) => sink(a),
                        Err(e) => bad
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(format!("worker {k} wrote an unreadable line: {e}")),
                    }
                }
            });
        }
    });
    for (k, mut child) in children.into_iter().enumerate() {
        let status = child.wait().map_err(|e| format!("worker {k}: {e}"))?;
        if !status.success() {
            bad.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(format!("worker {k} ended with {status}"));
        }
    }
    let bad = bad.into_inner().unwrap_or_else(|e| e.into_inner());
    if bad.is_empty() {
        Ok(())
    } else {
        Err(bad.join("; "))
    }
}

/// A worker process: settings from standard input, attempts to standard output.
fn worker(k: usize) -> Result<(), String> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| e.to_string())?;
    let settings: Settings = serde_json::from_str(&input).map_err(|e| e.to_string())?;
    callback_core::warm_up();
    let (groups, lanes) = plan::build(&settings)?;
    let lanes = lanes.get(k).ok_or("no such worker")?;
    let clients = run::clients(&settings)?;
    let counter = run::AdminCounter::new(&settings.admin_url);
    let out = Arc::new(Mutex::new(std::io::stdout()));
    let sink = |a: Attempt| {
        let line = serde_json::to_string(&a).expect("an attempt serialises");
        let mut out = out.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    };
    run::lanes(&groups, lanes, &clients, &counter, k, &sink);
    Ok(())
}

fn ms(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

fn report(
    e: &Evidence<'_>,
    f: &Findings,
    log: &chaos::ChaosLog,
    stats: &callback_fake_portal::Stats,
    setup: Duration,
    run: Duration,
) {
    let attempts = e.attempts.len();
    println!(
        "  ran {} attempts in {:.1} s (setup {:.1} s); portal: {} requests ({} callback starts, \
         {} token requests), {} calls placed, {} faults applied",
        attempts,
        run.as_secs_f64(),
        setup.as_secs_f64(),
        f.portal_requests,
        f.start_requests,
        stats.token_requests,
        e.ledger.len(),
        stats.faults_applied
    );
    let injected_limits = log
        .faults
        .iter()
        .filter(|r| r.variant == chaos::Variant::QueryLimit && r.used_by.is_some())
        .count() as u64;
    let w = &log.weather;
    println!(
        "  weather: {} token expiries ({} refreshes), {} bucket squeezes ({} real \
         QUERY_LIMIT_EXCEEDED), {} operating-limit blocks ({} OPERATION_TIME_LIMIT in all), {} \
         Redis restarts{}",
        w.token_expiries,
        stats.refreshes,
        w.bucket_squeezes,
        stats.rate_limited.saturating_sub(injected_limits),
        w.operating_blocks,
        stats.operation_time_limited,
        w.redis_restarts,
        if w.redis_restarts > 0 {
            format!(" ({} down)", ms(w.redis_outage))
        } else {
            String::new()
        }
    );
    let token: Vec<String> = {
        let mut by: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
        for t in &log.token_faults {
            let e = by.entry(t.variant.name()).or_default();
            e.0 += 1;
            e.1 += usize::from(t.used);
        }
        by.iter()
            .map(|(k, (q, u))| format!("{k} {u}/{q}"))
            .collect()
    };
    if !token.is_empty() {
        println!(
            "  token endpoint faults (used/queued): {}",
            token.join(", ")
        );
    }
    println!(
        "  logical starts: {} ({} keyed), {} with a placed call",
        f.groups, f.keyed_groups, f.placed
    );
    println!("  outcomes of the attempts:");
    let order: Vec<String> = ["started", "started (deduplicated)"]
        .into_iter()
        .map(str::to_string)
        .chain(ErrorCode::ALL.iter().map(|c| c.as_str().to_string()))
        .collect();
    for label in &order {
        if let Some(n) = f.by_outcome.get(label) {
            println!("    {label:<26} {n:>6}");
        }
    }
    println!("  outcome_unknown explained by:");
    for (reason, n) in &f.unknown_reasons {
        println!("    {n:>6}  {reason}");
    }
    println!(
        "  faults: queued / met (exact, narrowed, among candidates) / outcomes of the attempts \
         whose last request met it"
    );
    for v in VARIANTS {
        let Some(s) = f.by_fault.get(&v) else {
            println!("    {:<42} never queued", v.name());
            continue;
        };
        let outcomes: Vec<String> = s.outcomes.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let class = match v.class() {
            Class::MayExecute => "may execute",
            Class::CannotTell => "cannot tell",
            Class::Refused => "refused",
        };
        println!(
            "    {:<42} {:>4} / {:>4} ({}, {}, {})  [{class}]  {}",
            v.name(),
            s.queued,
            s.met,
            s.exact,
            s.narrowed,
            s.maybe,
            outcomes.join(", ")
        );
    }
    let unfaulted: Vec<String> = f
        .unfaulted_outcomes
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    println!(
        "    {:<42} {}",
        "(last request met no fault)",
        unfaulted.join(", ")
    );
    println!(
        "  latency: p50 {}, p99 {}, max {} (deadline {}); max over deadline {:+.0} ms",
        ms(f.latency_p50),
        ms(f.latency_p99),
        ms(f.latency_max),
        ms(e.deadline),
        f.max_over_deadline_ms
    );
    let rules = [
        ("I1", "no call placed twice for one logical start"),
        ("I2", "every start ends within its deadline"),
        ("I3", "every retry_safe = true error matches no placed call"),
        (
            "I4",
            "every outcome_unknown matches a fault that could have executed",
        ),
        ("I5", "every success matches exactly one placed call"),
    ];
    println!("  invariants:");
    for (id, what) in rules {
        let n = f.violations.iter().filter(|v| v.rule == id).count();
        println!(
            "    {id} {what}: {}",
            if n == 0 {
                "ok".to_string()
            } else {
                format!("{n} VIOLATIONS")
            }
        );
    }
    for h in f.harness.iter().take(20) {
        println!("  evidence problem: {h}");
    }
    if f.harness.len() > 20 {
        println!("  ... {} more evidence problems", f.harness.len() - 20);
    }
    let mut shown = std::collections::HashSet::new();
    for v in f.violations.iter().take(30) {
        println!("  {} violated: {}", v.rule, v.what);
        if let Some(g) = v.group
            && shown.insert(g)
        {
            print!("{}", check::describe_group(e, g));
        }
    }
    if f.violations.len() > 30 {
        println!("  ... {} more violations", f.violations.len() - 30);
    }
    println!(
        "  result: {}",
        if f.violations.is_empty() && f.harness.is_empty() {
            "PASS"
        } else {
            "FAIL"
        }
    );
}
